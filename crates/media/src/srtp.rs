//! SRTP (RFC 3711) keyed by SDP Security Descriptions (SDES, RFC 4568).
//!
//! ```text
//!  offer/answer ── a=crypto:TAG SUITE inline:BASE64(key‖salt) ──▶ SrtpKeys { suite, local, remote }
//!                                                                     │
//!  plain RTP/RTCP ──▶ Srtp::protect_rtp / protect_rtcp ──(our key)────▶ wire
//!  wire ──▶ Srtp::unprotect_rtp / unprotect_rtcp ──(the peer's key, replay window)──▶ plain
//! ```
//!
//! Design:
//!
//! - **Keys come from the caller.** Nothing here draws random numbers: the
//!   caller fills [`MasterKey::from_bytes`] from a CSPRNG, one key per suite
//!   and call (see [`crate::offer_answer::LocalSrtp`]). `Debug` never prints
//!   key bytes; only [`CryptoAttribute::to_sdp_value`] writes them, into the SDP.
//! - **Parse once, refuse what we cannot honour.** [`CryptoAttribute::parse`]
//!   reads one `a=crypto` value and refuses (the caller skips that line) an
//!   unknown suite, a key that is not exactly 30 bytes of canonical base64,
//!   an MKI, several keys, and session parameters that would change the
//!   transform (`UNENCRYPTED_SRTP`, `UNENCRYPTED_SRTCP`, `UNAUTHENTICATED_SRTP`,
//!   `KDR` other than 0, `FEC_KEY`, anything unknown). `WSH` (a hint; our
//!   window is 64) and `FEC_ORDER` (we send no FEC) are accepted. A lifetime
//!   is kept as read but not enforced: 2^31 packets last 497 days of 20 ms audio,
//!   and shorter lifetimes are rare enough that we accept them as is.
//! - **Two one-way contexts.** [`Srtp`] wraps two `rtc_srtp` contexts: one
//!   keyed with our key for what we send, one with the peer's key, with a
//!   64-packet replay window (RTP and RTCP), for what we receive. Crypto is
//!   ring's, through `rtc-crypto`.
//! - **Re-keying never reuses keystream.** [`Srtp::rekey`] rebuilds only the
//!   direction whose key changed. A rebuilt context starts its rollover counter
//!   and SRTCP index again, which is only safe under a new key; so a suite
//!   change under the same local key (the AES-CM suites derive the same session
//!   keys) is refused as [`SrtpError::KeyReuse`].
//! - **SRTCP is always encrypted and authenticated.** `rtc_srtp` returns an
//!   SRTCP packet whose E flag is clear without checking its tag; we never
//!   negotiate `UNENCRYPTED_SRTCP`, so such a packet is refused here before
//!   it reaches the context.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rtc_crypto::providers::RingCrypto;
use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;

/// An SDES crypto suite we support (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag (SRTP and SRTCP).
    AesCm128HmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    AesCm128HmacSha1_32,
}

impl Suite {
    /// Every suite, strongest first.
    pub const ALL: [Suite; 2] = [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32];

    /// The suite's name in `a=crypto`.
    pub fn sdp_name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite named in an `a=crypto` line, if we support it.
    pub fn from_sdp_name(name: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.sdp_name() == name)
    }

    /// Bytes the SRTP authentication tag adds to each RTP packet.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Suite::AesCm128HmacSha1_80 => 10,
            Suite::AesCm128HmacSha1_32 => 4,
        }
    }

    /// Bytes SRTCP adds to each RTCP packet: the E flag and index word, then the tag.
    pub fn rtcp_overhead(self) -> usize {
        SRTCP_INDEX_LEN + SRTCP_TAG_LEN
    }

    fn profile(self) -> ProtectionProfile {
        match self {
            Suite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            Suite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sdp_name())
    }
}

/// Both AES-CM suites end SRTCP packets with a 32-bit E‖index word and an 80-bit tag.
const SRTCP_INDEX_LEN: usize = 4;
const SRTCP_TAG_LEN: usize = 10;

/// A 128-bit master key and 112-bit master salt (the AES_CM_128 suites).
///
/// `Debug` prints no key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey {
    key: [u8; MasterKey::KEY_LEN],
    salt: [u8; MasterKey::SALT_LEN],
}

impl MasterKey {
    /// Master key bytes.
    pub const KEY_LEN: usize = 16;
    /// Master salt bytes.
    pub const SALT_LEN: usize = 14;
    /// Key and salt together, as `inline:` carries them.
    pub const LEN: usize = MasterKey::KEY_LEN + MasterKey::SALT_LEN;

    /// A key from 30 bytes (key ‖ salt) that the caller drew from a CSPRNG.
    pub fn from_bytes(bytes: [u8; MasterKey::LEN]) -> MasterKey {
        let (key, salt) = bytes.split_at(MasterKey::KEY_LEN);
        let mut k = MasterKey {
            key: [0; MasterKey::KEY_LEN],
            salt: [0; MasterKey::SALT_LEN],
        };
        k.key.copy_from_slice(key);
        k.salt.copy_from_slice(salt);
        k
    }

    /// A key from a slice of exactly [`MasterKey::LEN`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<MasterKey> {
        <[u8; MasterKey::LEN]>::try_from(bytes)
            .ok()
            .map(MasterKey::from_bytes)
    }

    /// The master key.
    pub fn key(&self) -> &[u8; MasterKey::KEY_LEN] {
        &self.key
    }

    /// The master salt.
    pub fn salt(&self) -> &[u8; MasterKey::SALT_LEN] {
        &self.salt
    }

    fn to_base64(&self) -> String {
        let mut both = [0u8; MasterKey::LEN];
        let (k, s) = both.split_at_mut(MasterKey::KEY_LEN);
        k.copy_from_slice(&self.key);
        s.copy_from_slice(&self.salt);
        BASE64.encode(both)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// The keys agreed for one stream, from our point of view.
///
/// `Debug` prints the suite only (the keys print redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The agreed suite (both directions use it).
    pub suite: Suite,
    /// Our key: protects what we send.
    pub local: MasterKey,
    /// The peer's key: unprotects what we receive.
    pub remote: MasterKey,
}

/// Why an `a=crypto` value was refused (the line is skipped, never a panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoAttributeError {
    /// The peer's line does not follow the RFC 4568 grammar.
    Syntax,
    /// Longer than any line we would accept (over 1024 bytes).
    TooLong,
    /// A suite we do not support (e.g. AES_256_CM_HMAC_SHA1_80, F8_128_HMAC_SHA1_80).
    UnknownSuite,
    /// A key method other than `inline`.
    UnsupportedKeyMethod,
    /// The key is not canonical base64 of exactly 30 bytes.
    BadKey,
    /// The line carries an MKI, or several keys (which need MKIs); we use neither.
    Mki,
    /// A session parameter we cannot honour (UNENCRYPTED_*, UNAUTHENTICATED_SRTP,
    /// KDR other than 0, FEC_KEY, or one we do not know).
    UnsupportedParameter,
}

impl fmt::Display for CryptoAttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CryptoAttributeError::Syntax => "malformed a=crypto line",
            CryptoAttributeError::TooLong => "a=crypto line too long",
            CryptoAttributeError::UnknownSuite => "unsupported crypto suite",
            CryptoAttributeError::UnsupportedKeyMethod => "key method other than inline",
            CryptoAttributeError::BadKey => "key is not base64 of 30 bytes",
            CryptoAttributeError::Mki => "MKI or several keys are not supported",
            CryptoAttributeError::UnsupportedParameter => "unsupported SRTP session parameter",
        })
    }
}

impl std::error::Error for CryptoAttributeError {}

/// One `a=crypto` attribute value (RFC 4568 §9.1), as far as we use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttribute {
    /// The tag (1 to 9 digits) that an answer repeats.
    pub tag: u32,
    /// The suite.
    pub suite: Suite,
    /// The key this line's sender protects its packets with.
    pub key: MasterKey,
    /// The key's lifetime in packets, if given (kept, not enforced).
    pub lifetime: Option<u64>,
}

/// Longest `a=crypto` value we read: a real line is under 100 bytes.
const MAX_VALUE_LEN: usize = 1024;
/// Base64 of 30 bytes.
const KEY_BASE64_LEN: usize = 40;

impl CryptoAttribute {
    /// Reads the value of an `a=crypto:` attribute (without the `crypto:` name).
    pub fn parse(value: &str) -> Result<CryptoAttribute, CryptoAttributeError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(CryptoAttributeError::TooLong);
        }
        let mut fields = value.split([' ', '\t']).filter(|f| !f.is_empty());
        let tag = fields.next().ok_or(CryptoAttributeError::Syntax)?;
        if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CryptoAttributeError::Syntax);
        }
        let tag: u32 = tag.parse().map_err(|_| CryptoAttributeError::Syntax)?;
        let suite = fields.next().ok_or(CryptoAttributeError::Syntax)?;
        let suite = Suite::from_sdp_name(suite).ok_or(CryptoAttributeError::UnknownSuite)?;
        let key_params = fields.next().ok_or(CryptoAttributeError::Syntax)?;
        let (key, lifetime) = parse_key_params(key_params)?;
        for p in fields {
            check_session_parameter(p)?;
        }
        Ok(CryptoAttribute {
            tag,
            suite,
            key,
            lifetime,
        })
    }

    /// The attribute value to put after `a=crypto:`. It contains the key.
    pub fn to_sdp_value(&self) -> String {
        let mut v = format!(
            "{} {} inline:{}",
            self.tag,
            self.suite,
            self.key.to_base64()
        );
        match self.lifetime {
            Some(l) if l.is_power_of_two() => v.push_str(&format!("|2^{}", l.trailing_zeros())),
            Some(l) => v.push_str(&format!("|{l}")),
            None => {}
        }
        v
    }
}

/// `inline:KEY‖SALT[|LIFETIME][|MKI:LEN]`, one key only.
fn parse_key_params(s: &str) -> Result<(MasterKey, Option<u64>), CryptoAttributeError> {
    if s.contains(';') {
        // Several key-params only make sense with MKIs.
        return Err(CryptoAttributeError::Mki);
    }
    let (method, info) = s.split_once(':').ok_or(CryptoAttributeError::Syntax)?;
    // ABNF string literals are case-insensitive.
    if !method.eq_ignore_ascii_case("inline") {
        return Err(CryptoAttributeError::UnsupportedKeyMethod);
    }
    let mut parts = info.split('|');
    let key_salt = parts.next().ok_or(CryptoAttributeError::Syntax)?;
    let mut lifetime = None;
    for (i, p) in parts.enumerate() {
        if p.contains(':') {
            return Err(CryptoAttributeError::Mki);
        }
        if i > 0 {
            return Err(CryptoAttributeError::Syntax);
        }
        lifetime = Some(parse_lifetime(p)?);
    }
    if key_salt.len() != KEY_BASE64_LEN {
        return Err(CryptoAttributeError::BadKey);
    }
    let bytes = BASE64
        .decode(key_salt)
        .map_err(|_| CryptoAttributeError::BadKey)?;
    let key = MasterKey::from_slice(&bytes).ok_or(CryptoAttributeError::BadKey)?;
    Ok((key, lifetime))
}

/// `["2^"] 1*DIGIT`, in packets.
fn parse_lifetime(s: &str) -> Result<u64, CryptoAttributeError> {
    let digits = |d: &str| !d.is_empty() && d.len() <= 20 && d.bytes().all(|b| b.is_ascii_digit());
    let n = if let Some(exp) = s.strip_prefix("2^") {
        if !digits(exp) {
            return Err(CryptoAttributeError::Syntax);
        }
        let exp: u32 = exp.parse().map_err(|_| CryptoAttributeError::Syntax)?;
        1u64.checked_shl(exp)
            .filter(|_| exp < 64)
            .ok_or(CryptoAttributeError::Syntax)?
    } else {
        if !digits(s) {
            return Err(CryptoAttributeError::Syntax);
        }
        s.parse().map_err(|_| CryptoAttributeError::Syntax)?
    };
    if n == 0 {
        return Err(CryptoAttributeError::Syntax);
    }
    Ok(n)
}

fn check_session_parameter(p: &str) -> Result<(), CryptoAttributeError> {
    let (name, value) = match p.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (p, None),
    };
    let number = |v: Option<&str>| -> Result<u32, CryptoAttributeError> {
        v.filter(|v| !v.is_empty() && v.len() <= 9 && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .ok_or(CryptoAttributeError::Syntax)
    };
    match name {
        // Key derivation once per key is the only rate rtc-srtp implements.
        "KDR" if number(value)? == 0 => Ok(()),
        // A window size hint of at least 64 (RFC 4568); ours is 64.
        "WSH" if number(value)? >= 64 => Ok(()),
        "WSH" => Err(CryptoAttributeError::Syntax),
        // We send and accept no FEC, so the order is moot.
        "FEC_ORDER" if matches!(value, Some("FEC_SRTP" | "SRTP_FEC")) => Ok(()),
        "FEC_ORDER" => Err(CryptoAttributeError::Syntax),
        _ => Err(CryptoAttributeError::UnsupportedParameter),
    }
}

/// Why a packet could not be protected or unprotected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SrtpError {
    /// The packet is too short or its header does not parse (the peer's, or garbage).
    Malformed,
    /// The authentication tag does not match: forged, corrupted, or another key.
    Authentication,
    /// The packet was already received, or is older than the replay window.
    Replay,
    /// An SRTCP packet with the E flag clear: we never agree to unencrypted SRTCP.
    Unencrypted,
    /// The key has protected 2^48 RTP packets: a new key must be negotiated.
    KeyExhausted,
    /// Our misuse: a new suite under the same local key would reuse keystream.
    KeyReuse,
    /// The crypto provider refused a key or operation (a bug here or in rtc-srtp).
    Crypto,
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SrtpError::Malformed => "malformed SRTP/SRTCP packet",
            SrtpError::Authentication => "SRTP authentication failed",
            SrtpError::Replay => "replayed SRTP packet",
            SrtpError::Unencrypted => "unencrypted SRTCP packet",
            SrtpError::KeyExhausted => "SRTP key exhausted",
            SrtpError::KeyReuse => "same SRTP key for another suite",
            SrtpError::Crypto => "SRTP crypto provider failure",
        })
    }
}

impl std::error::Error for SrtpError {}

fn map_error(e: shared::error::Error) -> SrtpError {
    use shared::error::Error;
    match e {
        Error::RtpFailedToVerifyAuthTag | Error::RtcpFailedToVerifyAuthTag => {
            SrtpError::Authentication
        }
        Error::SrtpSsrcDuplicated(..) | Error::SrtcpSsrcDuplicated(..) => SrtpError::Replay,
        Error::ErrExceededMaxPackets => SrtpError::KeyExhausted,
        Error::Crypto(_)
        | Error::SrtpMasterKeyLength(..)
        | Error::SrtpSaltLength(..)
        | Error::Other(_) => SrtpError::Crypto,
        // Length checks and header parse errors.
        _ => SrtpError::Malformed,
    }
}

/// SRTP and SRTCP for one stream: our key out, the peer's key in.
pub struct Srtp {
    keys: SrtpKeys,
    outbound: Context,
    inbound: Context,
}

impl fmt::Debug for Srtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Srtp")
            .field("suite", &self.keys.suite)
            .finish_non_exhaustive()
    }
}

/// The replay window, in packets (RFC 3711 §3.3.2's minimum).
pub const REPLAY_WINDOW: usize = 64;

fn outbound_context(suite: Suite, key: &MasterKey) -> Result<Context, SrtpError> {
    Context::new(
        &key.key,
        &key.salt,
        suite.profile(),
        None,
        None,
        &RingCrypto,
    )
    .map_err(map_error)
}

fn inbound_context(suite: Suite, key: &MasterKey) -> Result<Context, SrtpError> {
    Context::new(
        &key.key,
        &key.salt,
        suite.profile(),
        Some(srtp_replay_protection(REPLAY_WINDOW)),
        Some(srtcp_replay_protection(REPLAY_WINDOW)),
        &RingCrypto,
    )
    .map_err(map_error)
}

impl Srtp {
    /// Contexts for negotiated keys.
    pub fn new(keys: &SrtpKeys) -> Result<Srtp, SrtpError> {
        Ok(Srtp {
            outbound: outbound_context(keys.suite, &keys.local)?,
            inbound: inbound_context(keys.suite, &keys.remote)?,
            keys: keys.clone(),
        })
    }

    /// The suite in use.
    pub fn suite(&self) -> Suite {
        self.keys.suite
    }

    /// Whether these are the keys in use.
    pub fn is_keyed_with(&self, keys: &SrtpKeys) -> bool {
        self.keys == *keys
    }

    /// Applies renegotiated keys, rebuilding only the direction whose key
    /// (or suite) changed: an unchanged direction keeps its rollover counter,
    /// SRTCP index and replay window. On error nothing changes.
    pub fn rekey(&mut self, keys: &SrtpKeys) -> Result<(), SrtpError> {
        let suite_changed = keys.suite != self.keys.suite;
        let outbound = if suite_changed || keys.local != self.keys.local {
            if keys.local == self.keys.local {
                return Err(SrtpError::KeyReuse);
            }
            Some(outbound_context(keys.suite, &keys.local)?)
        } else {
            None
        };
        let inbound = if suite_changed || keys.remote != self.keys.remote {
            Some(inbound_context(keys.suite, &keys.remote)?)
        } else {
            None
        };
        if let Some(o) = outbound {
            self.outbound = o;
        }
        if let Some(i) = inbound {
            self.inbound = i;
        }
        self.keys = keys.clone();
        Ok(())
    }

    /// Encrypts and authenticates one RTP packet of ours.
    pub fn protect_rtp(&mut self, plain: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.outbound
            .encrypt_rtp(plain)
            .map(Vec::from)
            .map_err(map_error)
    }

    /// Authenticates, replay-checks and decrypts one SRTP packet from the peer.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.inbound
            .decrypt_rtp(packet)
            .map(Vec::from)
            .map_err(map_error)
    }

    /// Encrypts and authenticates one (compound) RTCP packet of ours (RFC 3711 §3.4).
    pub fn protect_rtcp(&mut self, plain: &[u8]) -> Result<Vec<u8>, SrtpError> {
        self.outbound
            .encrypt_rtcp(plain)
            .map(Vec::from)
            .map_err(map_error)
    }

    /// Authenticates, replay-checks and decrypts one SRTCP packet from the peer.
    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<Vec<u8>, SrtpError> {
        // Header (8) + E‖index (4) + tag (10).
        let Some(e_index) = packet
            .len()
            .checked_sub(SRTCP_INDEX_LEN + SRTCP_TAG_LEN)
            .filter(|&at| at >= 8)
            .and_then(|at| packet.get(at))
        else {
            return Err(SrtpError::Malformed);
        };
        if e_index & 0x80 == 0 {
            // rtc-srtp would hand this back unauthenticated.
            return Err(SrtpError::Unencrypted);
        }
        self.inbound
            .decrypt_rtcp(packet)
            .map(Vec::from)
            .map_err(map_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> MasterKey {
        MasterKey::from_bytes([b; MasterKey::LEN])
    }

    fn keys(local: u8, remote: u8) -> SrtpKeys {
        SrtpKeys {
            suite: Suite::AesCm128HmacSha1_80,
            local: key(local),
            remote: key(remote),
        }
    }

    /// An RTP packet: header (seq, ts, ssrc) + payload.
    fn rtp(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0x00];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&1000u32.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// An empty receiver report from `ssrc`.
    fn rr(ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 201, 0, 1];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p
    }

    const RFC_EXAMPLE: &str = "1 AES_CM_128_HMAC_SHA1_80 \
                               inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";

    #[test]
    fn suite_names_round_trip() {
        for s in Suite::ALL {
            assert_eq!(Suite::from_sdp_name(s.sdp_name()), Some(s));
        }
        assert_eq!(Suite::from_sdp_name("AES_256_CM_HMAC_SHA1_80"), None);
        assert_eq!(Suite::from_sdp_name("aes_cm_128_hmac_sha1_80"), None);
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let k = MasterKey::from_bytes([0x5a; 30]);
        let text = format!(
            "{k:?} {:?}",
            SrtpKeys {
                suite: Suite::AesCm128HmacSha1_32,
                local: k.clone(),
                remote: k.clone()
            }
        );
        assert!(!text.contains("90") && !text.contains("5a") && !text.contains("5A"));
        assert!(!text.contains(&k.to_base64()));
        let line = CryptoAttribute {
            tag: 1,
            suite: Suite::AesCm128HmacSha1_80,
            key: k.clone(),
            lifetime: None,
        };
        assert!(!format!("{line:?}").contains(&k.to_base64()));
        let srtp = Srtp::new(&keys(1, 2)).unwrap();
        assert_eq!(
            format!("{srtp:?}"),
            "Srtp { suite: AesCm128HmacSha1_80, .. }"
        );
    }

    #[test]
    fn parse_and_format_round_trip() {
        let k = MasterKey::from_bytes(core::array::from_fn(|i| i as u8 * 7));
        for (suite, lifetime) in [
            (Suite::AesCm128HmacSha1_80, None),
            (Suite::AesCm128HmacSha1_32, Some(1u64 << 31)),
            (Suite::AesCm128HmacSha1_80, Some(1_000_000)),
        ] {
            let line = CryptoAttribute {
                tag: 42,
                suite,
                key: k.clone(),
                lifetime,
            };
            let text = line.to_sdp_value();
            assert_eq!(CryptoAttribute::parse(&text), Ok(line), "{text}");
        }
        let text = CryptoAttribute {
            tag: 1,
            suite: Suite::AesCm128HmacSha1_80,
            key: k.clone(),
            lifetime: None,
        }
        .to_sdp_value();
        assert_eq!(
            text,
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{}", k.to_base64())
        );
        // Known base64: 30 bytes 0..29 (decoded by hand with Python's base64 module).
        let k = MasterKey::from_bytes(core::array::from_fn(|i| i as u8));
        assert_eq!(k.to_base64(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd");
    }

    #[test]
    fn reads_what_real_peers_send() {
        // RFC 4568's example without its MKI, and lifetimes in both notations.
        let a = CryptoAttribute::parse(
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20",
        )
        .unwrap();
        assert_eq!(a.tag, 1);
        assert_eq!(a.lifetime, Some(1 << 20));
        assert_eq!(a.key.key()[0], 0x3d, "'PS1u' starts 3d 2d 6e");
        let b = CryptoAttribute::parse(
            "2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|1048576 \
             KDR=0 WSH=128 FEC_ORDER=FEC_SRTP",
        )
        .unwrap();
        assert_eq!(b.suite, Suite::AesCm128HmacSha1_32);
        assert_eq!(b.lifetime, Some(1 << 20));
        assert_eq!(a.key, b.key);
        // Tabs and repeated spaces between fields; `INLINE` in capitals.
        assert!(
            CryptoAttribute::parse(
                "7\tAES_CM_128_HMAC_SHA1_80  INLINE:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
            )
            .is_ok()
        );
    }

    #[test]
    fn hostile_lines_are_refused_not_panicked_on() {
        use CryptoAttributeError::*;
        let k = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let cases: Vec<(String, CryptoAttributeError)> = vec![
            (RFC_EXAMPLE.to_owned(), Mki),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:4"), Mki),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k};inline:{k}"),
                Mki,
            ),
            (
                format!("1 AES_256_CM_HMAC_SHA1_80 inline:{k}"),
                UnknownSuite,
            ),
            (format!("1 F8_128_HMAC_SHA1_80 inline:{k}"), UnknownSuite),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 uri:{k}"),
                UnsupportedKeyMethod,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!QCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
                    .to_owned(),
                BadKey,
            ),
            // 24 bytes, 32 bytes, and 40 characters of padded (28-byte, non-canonical) base64.
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0m".to_owned(),
                BadKey,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRAAA="
                    .to_owned(),
                BadKey,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaV=="
                    .to_owned(),
                BadKey,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} UNENCRYPTED_SRTP"),
                UnsupportedParameter,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} UNENCRYPTED_SRTCP"),
                UnsupportedParameter,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} UNAUTHENTICATED_SRTP"),
                UnsupportedParameter,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} KDR=1"),
                UnsupportedParameter,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} FEC_KEY=inline:{k}"),
                UnsupportedParameter,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} SOMETHING_NEW"),
                UnsupportedParameter,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} KDR="), Syntax),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} WSH=32"),
                Syntax,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^64"), Syntax),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^99999999999999999999999"),
                Syntax,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|0"), Syntax),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|99999999999999999999999"),
                Syntax,
            ),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^20|2^20"),
                Syntax,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|"), Syntax),
            (
                format!("1234567890 AES_CM_128_HMAC_SHA1_80 inline:{k}"),
                Syntax,
            ),
            (format!("x AES_CM_128_HMAC_SHA1_80 inline:{k}"), Syntax),
            (format!("-1 AES_CM_128_HMAC_SHA1_80 inline:{k}"), Syntax),
            ("1 AES_CM_128_HMAC_SHA1_80".to_owned(), Syntax),
            ("1 AES_CM_128_HMAC_SHA1_80 inline".to_owned(), Syntax),
            ("1".to_owned(), Syntax),
            (String::new(), Syntax),
            ("   ".to_owned(), Syntax),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:é".to_owned(), BadKey),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{}", "A".repeat(100_000)),
                TooLong,
            ),
            (
                format!(
                    "1 AES_CM_128_HMAC_SHA1_80 inline:{k} {}",
                    "WSH=64 ".repeat(200)
                ),
                TooLong,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(CryptoAttribute::parse(&line), Err(want), "{line:.80}");
        }
    }

    #[test]
    fn a_round_trip_through_both_contexts() {
        let mut a = Srtp::new(&keys(1, 2)).unwrap();
        let mut b = Srtp::new(&keys(2, 1)).unwrap();
        let plain = rtp(7, 0xabc, b"hello, secure world");
        let wire = a.protect_rtp(&plain).unwrap();
        assert_eq!(wire.len(), plain.len() + 10);
        assert_eq!(wire.get(..12), plain.get(..12), "the header stays in clear");
        assert_ne!(wire.get(12..plain.len()), plain.get(12..));
        assert_eq!(b.unprotect_rtp(&wire), Ok(plain.clone()));
        assert_eq!(b.unprotect_rtp(&wire), Err(SrtpError::Replay));
        // The sender's own context cannot read it: it holds the other key.
        assert_eq!(a.unprotect_rtp(&wire), Err(SrtpError::Authentication));

        let report = rr(0xabc);
        let wire = a.protect_rtcp(&report).unwrap();
        assert_eq!(wire.len(), report.len() + 14);
        assert_eq!(wire.get(..8), report.get(..8));
        assert_eq!(b.unprotect_rtcp(&wire), Ok(report.clone()));
        assert_eq!(b.unprotect_rtcp(&wire), Err(SrtpError::Replay));
    }

    #[test]
    fn the_32_bit_suite_adds_4_bytes_to_rtp_and_14_to_rtcp() {
        let k = SrtpKeys {
            suite: Suite::AesCm128HmacSha1_32,
            local: key(3),
            remote: key(3),
        };
        let mut s = Srtp::new(&k).unwrap();
        let plain = rtp(1, 5, &[0; 160]);
        let wire = s.protect_rtp(&plain).unwrap();
        assert_eq!(
            wire.len(),
            plain.len() + Suite::AesCm128HmacSha1_32.rtp_tag_len()
        );
        assert_eq!(s.unprotect_rtp(&wire), Ok(plain));
        let wire = s.protect_rtcp(&rr(5)).unwrap();
        assert_eq!(wire.len(), 8 + Suite::AesCm128HmacSha1_32.rtcp_overhead());
        assert_eq!(s.unprotect_rtcp(&wire), Ok(rr(5)));
    }

    #[test]
    fn unencrypted_srtcp_is_refused() {
        // A forger sends plain RTCP, an index word with E = 0 and any 10 bytes.
        let mut s = Srtp::new(&keys(1, 1)).unwrap();
        let mut forged = rr(9);
        forged.extend_from_slice(&[0, 0, 0, 1]);
        forged.extend_from_slice(&[0xee; 10]);
        assert_eq!(s.unprotect_rtcp(&forged), Err(SrtpError::Unencrypted));
        // A genuine packet with the E flag cleared fails too.
        let mut wire = s.protect_rtcp(&rr(9)).unwrap();
        let at = wire.len() - 14;
        wire[at] &= 0x7f;
        assert!(s.unprotect_rtcp(&wire).is_err());
    }

    #[test]
    fn rekeying_rebuilds_only_the_changed_direction() {
        let mut a = Srtp::new(&keys(1, 2)).unwrap();
        let mut b = Srtp::new(&keys(2, 1)).unwrap();
        // Run A's sequence numbers across a wrap: ROC becomes 1 on both sides.
        for i in 0..40u16 {
            let seq = 65_520u16.wrapping_add(i);
            let wire = a.protect_rtp(&rtp(seq, 1, &[i as u8; 20])).unwrap();
            assert!(b.unprotect_rtp(&wire).is_ok(), "{seq}");
        }
        // Only the peer's key changes: A's outbound context (and its ROC) stays.
        a.rekey(&keys(1, 3)).unwrap();
        b.rekey(&SrtpKeys {
            local: key(3),
            ..keys(2, 1)
        })
        .unwrap();
        for i in 40..80u16 {
            let seq = 65_520u16.wrapping_add(i);
            let wire = a.protect_rtp(&rtp(seq, 1, &[0; 20])).unwrap();
            assert_eq!(b.unprotect_rtp(&wire).map(|_| ()), Ok(()), "{seq}");
        }
        // A new suite under the same local key would restart the keystream.
        let same_key_other_suite = SrtpKeys {
            suite: Suite::AesCm128HmacSha1_32,
            ..keys(1, 3)
        };
        assert_eq!(a.rekey(&same_key_other_suite), Err(SrtpError::KeyReuse));
        assert!(
            a.is_keyed_with(&keys(1, 3)),
            "a failed rekey changes nothing"
        );
    }

    #[test]
    fn fuzz_bodies_take_seeds() {
        crate::fuzzing::crypto_attribute(RFC_EXAMPLE.as_bytes());
        crate::fuzzing::crypto_attribute(
            b"9 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^31 KDR=0",
        );
        crate::fuzzing::crypto_attribute(&[0xff, 0xfe]);
        // A packet the fuzz session's key protects, then garbage.
        let mut s = Srtp::new(&keys(0x11, 0x11)).unwrap();
        let mut input = s.protect_rtp(&rtp(3, 7, &[0; 160])).unwrap();
        input.retain(|b| *b != 0xff);
        input.extend_from_slice(&[0xff, 0x80, 0xc9, 0, 1, 0xff]);
        crate::fuzzing::srtp_session_datagrams(&input);
        crate::fuzzing::session_datagrams(&input);
    }

    #[test]
    fn garbage_never_panics() {
        let mut s = Srtp::new(&keys(1, 1)).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..200usize {
            for _ in 0..20 {
                let mut p = Vec::with_capacity(len);
                for _ in 0..len {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    p.push(x as u8);
                }
                if let Some(b) = p.first_mut() {
                    *b = (*b & 0x3f) | 0x80;
                }
                assert!(s.unprotect_rtp(&p).is_err());
                assert!(s.unprotect_rtcp(&p).is_err());
            }
        }
    }
}
