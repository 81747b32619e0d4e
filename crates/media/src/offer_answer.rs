//! The offer/answer model (RFC 3264) for one audio stream.
//!
//! [`offer`] describes what we can do; [`answer`] answers a peer's offer
//! (one `m=` line per offered line, in order; the first usable audio stream is
//! accepted, every other line is rejected with port 0); [`accept_answer`] reads
//! the peer's answer to our offer. All three give a [`Negotiated`] stream from
//! our point of view: which codec and payload type to send, where, in which
//! direction, and whether RFC 4733 telephone events are on.
//!
//! Directions follow RFC 3264 §6.1: an offer of `sendonly` is answered
//! `recvonly`, `recvonly` with `sendonly`, `inactive` with `inactive`; our own
//! wish (hold) narrows what we answer. `c=0.0.0.0` (RFC 2543 hold) is read as
//! the peer not wanting to receive.
//!
//! SRTP with SDES (RFC 4568): with [`LocalMedia::srtp`] set, our offer
//! carries one `a=crypto` line per key (tags 1, 2, … in order) on `RTP/SAVP`
//! when SRTP is required, or on `RTP/AVP` when it is only preferred (a
//! best-effort offer a plain peer can still answer, as baresip's `srtp` mode
//! does). An answer picks the first offered line whose suite we have a key
//! for, repeats its tag and suite with our key, and keeps the offer's
//! profile. An `RTP/SAVP` stream we cannot key is rejected
//! ([`NegotiationError::NoCommonCrypto`]); a plain stream when we require SRTP
//! too ([`NegotiationError::CryptoRequired`]). Lines we cannot honour (MKI,
//! unknown suites, unsupported session parameters, bad keys) are skipped.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use switchboard_codec::Codec;

use crate::sdp::{Attribute, Connection, Direction, Media, Origin, SessionDescription};
use crate::srtp::{CryptoAttribute, MasterKey, SrtpKeys, Suite};

/// Our SRTP wish for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSrtp {
    /// Refuse plain RTP (offer `RTP/SAVP`, reject offers and answers without
    /// usable crypto); otherwise SRTP is used when the peer keys it.
    pub required: bool,
    /// Our keys in preference order, offered with tags 1, 2, …; at most one
    /// per suite is used. Draw each from a CSPRNG, a different one per suite
    /// (the AES-CM suites derive the same session keys from one master key),
    /// and keep them for the call's re-offers. Empty means no usable SRTP.
    pub keys: Vec<(Suite, MasterKey)>,
}

impl LocalSrtp {
    fn key_for(&self, suite: Suite) -> Option<&MasterKey> {
        self.keys
            .iter()
            .find_map(|(s, k)| (*s == suite).then_some(k))
    }
}

/// Our side of the negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// The address RTP is reachable at.
    pub address: IpAddr,
    /// The RTP port (RTCP on port + 1 unless rtcp-mux).
    pub port: u16,
    /// Our direction wish: `SendRecv`, or `SendOnly` when we hold the peer.
    pub direction: Direction,
    /// Payload type for telephone-event in our offers.
    pub telephone_event_pt: u8,
    /// Payload type for Opus in our offers.
    pub opus_pt: u8,
    /// `o=` session id, fixed for the call.
    pub session_id: u64,
    /// `o=` version, increased for each new description we send.
    pub version: u64,
    /// SRTP with SDES keys, or `None` for plain RTP only.
    pub srtp: Option<LocalSrtp>,
}

impl LocalMedia {
    /// Defaults for a call: sendrecv, telephone-event 101, Opus 111.
    pub fn new(codecs: Vec<Codec>, address: IpAddr, port: u16, session_id: u64) -> LocalMedia {
        LocalMedia {
            codecs,
            address,
            port,
            direction: Direction::SendRecv,
            telephone_event_pt: 101,
            opus_pt: 111,
            session_id,
            version: 1,
            srtp: None,
        }
    }
}

/// The agreed audio stream, from our point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The codec both sides use.
    pub codec: Codec,
    /// Its payload type on the wire.
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, if both support it.
    pub telephone_event: Option<u8>,
    /// Where to send RTP: an IP address and port, or `None` when the peer
    /// gave no usable address (hold with 0.0.0.0, or a host name we do not resolve).
    pub remote: Option<SocketAddr>,
    /// Our direction.
    pub direction: Direction,
    /// Packet time in ms (20 unless the peer asks otherwise).
    pub ptime: u32,
    /// RTP and RTCP share one port.
    pub rtcp_mux: bool,
    /// The peer's Opus `maxplaybackrate` (RFC 7587), if it gave one.
    pub max_playback_rate: Option<u32>,
    /// The peer's Opus `maxaveragebitrate` (RFC 7587: the most it wants to
    /// receive, in bit/s), if it gave one.
    pub max_average_bitrate: Option<u32>,
    /// SRTP keys when the stream is protected, `None` for plain RTP.
    pub srtp: Option<SrtpKeys>,
}

/// A numeric parameter (`maxplaybackrate`, `maxaveragebitrate`) of an Opus
/// fmtp line.
fn opus_parameter(m: &Media, pt: u8, name: &str) -> Option<u32> {
    m.fmtp(pt)?.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

fn max_playback_rate(m: &Media, pt: u8) -> Option<u32> {
    opus_parameter(m, pt, "maxplaybackrate")
}

fn max_average_bitrate(m: &Media, pt: u8) -> Option<u32> {
    opus_parameter(m, pt, "maxaveragebitrate")
}

/// Why no audio stream could be agreed (the UA answers 488 then).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The description has no audio stream with a non-zero port.
    NoAudio,
    /// No offered codec is one we have.
    NoCommonCodec,
    /// The peer wants SRTP (`RTP/SAVP`) but no crypto line is one we can key:
    /// no SRTP configured here, no suite in common, or lines we cannot honour.
    NoCommonCrypto,
    /// We require SRTP and the peer's description has no usable crypto line.
    CryptoRequired,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::NoAudio => f.write_str("no audio stream offered"),
            NegotiationError::NoCommonCodec => f.write_str("no codec in common"),
            NegotiationError::NoCommonCrypto => f.write_str("no SRTP crypto suite in common"),
            NegotiationError::CryptoRequired => f.write_str("SRTP required but not offered"),
        }
    }
}

impl std::error::Error for NegotiationError {}

fn origin(local: &LocalMedia) -> Origin {
    Origin {
        username: "-".to_owned(),
        session_id: local.session_id.to_string(),
        version: local.version,
        address: Connection::ip(local.address),
    }
}

fn rtpmap_line(codec: Codec, pt: u8) -> Attribute {
    let ch = codec
        .sdp_channels()
        .map(|c| format!("/{c}"))
        .unwrap_or_default();
    Attribute::value(
        "rtpmap",
        format!("{pt} {}/{}{ch}", codec.encoding_name(), codec.clock_rate()),
    )
}

fn codec_attributes(codec: Codec, pt: u8, out: &mut Vec<Attribute>) {
    out.push(rtpmap_line(codec, pt));
    if codec == Codec::Opus {
        // We decode FEC and want wideband voice; stereo is never needed.
        out.push(Attribute::value(
            "fmtp",
            format!("{pt} useinbandfec=1;maxplaybackrate=16000;stereo=0;sprop-stereo=0"),
        ));
    }
}

fn session(local: &LocalMedia, media: Vec<Media>) -> SessionDescription {
    SessionDescription {
        origin: origin(local),
        name: "Switchboard".to_owned(),
        connection: Some(Connection::ip(local.address)),
        bandwidth: Vec::new(),
        timing: "0 0".to_owned(),
        attributes: Vec::new(),
        media,
    }
}

/// Our offer: every codec we have, in preference order, plus telephone-event.
pub fn offer(local: &LocalMedia) -> SessionDescription {
    let mut formats = Vec::new();
    let mut attributes = Vec::new();
    for &c in &local.codecs {
        let pt = c.static_payload_type().unwrap_or(local.opus_pt);
        formats.push(pt.to_string());
        codec_attributes(c, pt, &mut attributes);
    }
    formats.push(local.telephone_event_pt.to_string());
    attributes.push(Attribute::value(
        "rtpmap",
        format!("{} telephone-event/8000", local.telephone_event_pt),
    ));
    attributes.push(Attribute::value(
        "fmtp",
        format!("{} 0-16", local.telephone_event_pt),
    ));
    attributes.push(Attribute::value("ptime", "20"));
    let mut proto = PLAIN;
    if let Some(srtp) = local.srtp.as_ref().filter(|s| !s.keys.is_empty()) {
        if srtp.required {
            proto = SECURE;
        }
        for (tag, (suite, key)) in (1..).zip(&srtp.keys) {
            let line = CryptoAttribute {
                tag,
                suite: *suite,
                key: key.clone(),
                lifetime: None,
            };
            attributes.push(Attribute::value("crypto", line.to_sdp_value()));
        }
    }
    attributes.push(Attribute::flag(local.direction.as_str()));
    session(
        local,
        vec![Media {
            kind: "audio".to_owned(),
            port: local.port,
            port_count: None,
            proto: proto.to_owned(),
            formats,
            connection: None,
            bandwidth: Vec::new(),
            attributes,
        }],
    )
}

const PLAIN: &str = "RTP/AVP";
const SECURE: &str = "RTP/SAVP";

fn is_rtp_audio(m: &Media) -> bool {
    m.kind == "audio"
        && m.port != 0
        && matches!(
            m.proto.as_str(),
            "RTP/AVP" | "RTP/AVPF" | "RTP/SAVP" | "RTP/SAVPF"
        )
}

/// `RTP/SAVP` or `RTP/SAVPF`: the peer will only do SRTP.
fn is_secure_profile(m: &Media) -> bool {
    matches!(m.proto.as_str(), "RTP/SAVP" | "RTP/SAVPF")
}

/// The `a=crypto` lines of a stream we can honour, in order; the others are skipped.
fn crypto_lines(m: &Media) -> impl Iterator<Item = CryptoAttribute> + '_ {
    m.attributes
        .iter()
        .filter(|a| a.name == "crypto")
        .filter_map(|a| CryptoAttribute::parse(a.value.as_deref()?).ok())
}

/// How the answerer keys an offered stream: `Ok(None)` is plain RTP,
/// `Ok(Some((tag, keys)))` SRTP with the offered line `tag`.
fn answer_crypto(
    local: &LocalMedia,
    m: &Media,
) -> Result<Option<(u32, SrtpKeys)>, NegotiationError> {
    let chosen = local.srtp.as_ref().and_then(|srtp| {
        crypto_lines(m).find_map(|line| {
            srtp.key_for(line.suite).map(|ours| {
                (
                    line.tag,
                    SrtpKeys {
                        suite: line.suite,
                        local: ours.clone(),
                        remote: line.key,
                    },
                )
            })
        })
    });
    match chosen {
        Some(c) => Ok(Some(c)),
        None if is_secure_profile(m) => Err(NegotiationError::NoCommonCrypto),
        None if local.srtp.as_ref().is_some_and(|s| s.required) => {
            Err(NegotiationError::CryptoRequired)
        }
        None => Ok(None),
    }
}

/// The keys an answer to our offer gives: its line whose tag is one of ours
/// with the same suite.
fn accepted_crypto(local: &LocalMedia, m: &Media) -> Result<Option<SrtpKeys>, NegotiationError> {
    let chosen = local.srtp.as_ref().and_then(|srtp| {
        crypto_lines(m).find_map(|line| {
            let index = usize::try_from(line.tag).ok()?.checked_sub(1)?;
            let (suite, ours) = srtp.keys.get(index)?;
            (*suite == line.suite).then(|| SrtpKeys {
                suite: line.suite,
                local: ours.clone(),
                remote: line.key,
            })
        })
    });
    match chosen {
        Some(k) => Ok(Some(k)),
        None if local.srtp.as_ref().is_some_and(|s| s.required) => {
            Err(NegotiationError::CryptoRequired)
        }
        None if is_secure_profile(m) => Err(NegotiationError::NoCommonCrypto),
        None => Ok(None),
    }
}

/// The peer's payload type for a codec, if it offers it.
fn find_codec(m: &Media, codec: Codec) -> Option<u8> {
    m.payload_types().find(|&pt| {
        m.rtpmap(pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case(codec.encoding_name())
                && map.clock_rate == codec.clock_rate()
        })
    })
}

fn find_telephone_event(m: &Media) -> Option<u8> {
    m.payload_types().find(|&pt| {
        m.rtpmap(pt).is_some_and(|map| {
            map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
        })
    })
}

/// The direction a peer's description asks for (c=0.0.0.0 means it will not receive).
fn peer_direction(sd: &SessionDescription, m: &Media) -> Direction {
    let d = sd.direction_of(m);
    if sd
        .connection_for(m)
        .is_some_and(Connection::is_hold_address)
    {
        d.intersect(Direction::SendOnly)
    } else {
        d
    }
}

fn remote_of(sd: &SessionDescription, m: &Media) -> Option<SocketAddr> {
    let ip = sd.connection_for(m)?.ip_addr()?;
    (!ip.is_unspecified() && m.port != 0).then(|| SocketAddr::new(ip, m.port))
}

fn rejected(m: &Media) -> Media {
    Media {
        kind: m.kind.clone(),
        port: 0,
        port_count: None,
        proto: m.proto.clone(),
        formats: m.formats.clone(),
        connection: None,
        bandwidth: Vec::new(),
        attributes: Vec::new(),
    }
}

/// Answers an offer. Errors when no audio stream can be accepted.
pub fn answer(
    local: &LocalMedia,
    offer: &SessionDescription,
) -> Result<(SessionDescription, Negotiated), NegotiationError> {
    let mut media = Vec::new();
    let mut agreed = None;
    // Why the first audio stream we could not accept was refused.
    let mut refused = None;
    for m in &offer.media {
        if agreed.is_some() || !is_rtp_audio(m) {
            media.push(rejected(m));
            continue;
        }
        let choice = local
            .codecs
            .iter()
            .find_map(|&c| find_codec(m, c).map(|pt| (c, pt)));
        let Some((codec, pt)) = choice else {
            refused.get_or_insert(NegotiationError::NoCommonCodec);
            media.push(rejected(m));
            continue;
        };
        let crypto = match answer_crypto(local, m) {
            Ok(c) => c,
            Err(e) => {
                refused.get_or_insert(e);
                media.push(rejected(m));
                continue;
            }
        };
        let te = find_telephone_event(m);
        let direction = local
            .direction
            .intersect(peer_direction(offer, m).reversed());
        let rtcp_mux = m.has_attribute("rtcp-mux");
        let mut formats = vec![pt.to_string()];
        let mut attributes = Vec::new();
        codec_attributes(codec, pt, &mut attributes);
        if let Some(te) = te {
            formats.push(te.to_string());
            attributes.push(Attribute::value(
                "rtpmap",
                format!("{te} telephone-event/8000"),
            ));
            attributes.push(Attribute::value("fmtp", format!("{te} 0-16")));
        }
        attributes.push(Attribute::value("ptime", "20"));
        if rtcp_mux {
            attributes.push(Attribute::flag("rtcp-mux"));
        }
        if let Some((tag, keys)) = &crypto {
            let line = CryptoAttribute {
                tag: *tag,
                suite: keys.suite,
                key: keys.local.clone(),
                lifetime: None,
            };
            attributes.push(Attribute::value("crypto", line.to_sdp_value()));
        }
        attributes.push(Attribute::flag(direction.as_str()));
        media.push(Media {
            kind: "audio".to_owned(),
            port: local.port,
            port_count: None,
            proto: m.proto.clone(),
            formats,
            connection: None,
            bandwidth: Vec::new(),
            attributes,
        });
        agreed = Some(Negotiated {
            codec,
            payload_type: pt,
            telephone_event: te,
            remote: remote_of(offer, m),
            direction,
            ptime: m.ptime().unwrap_or(20),
            rtcp_mux,
            max_playback_rate: (codec == Codec::Opus)
                .then(|| max_playback_rate(m, pt))
                .flatten(),
            max_average_bitrate: (codec == Codec::Opus)
                .then(|| max_average_bitrate(m, pt))
                .flatten(),
            srtp: crypto.map(|(_, keys)| keys),
        });
    }
    match agreed {
        Some(n) => Ok((session(local, media), n)),
        None => Err(refused.unwrap_or(NegotiationError::NoAudio)),
    }
}

/// Reads the answer to our offer.
pub fn accept_answer(
    local: &LocalMedia,
    answer: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    let m = answer
        .media
        .iter()
        .find(|m| is_rtp_audio(m))
        .ok_or(NegotiationError::NoAudio)?;
    // The answer should carry one codec; take the first one we have, in its order.
    let (codec, pt) = m
        .payload_types()
        .find_map(|pt| {
            let map = m.rtpmap(pt)?;
            local
                .codecs
                .iter()
                .find(|c| {
                    map.encoding.eq_ignore_ascii_case(c.encoding_name())
                        && map.clock_rate == c.clock_rate()
                })
                .map(|&c| (c, pt))
        })
        .ok_or(NegotiationError::NoCommonCodec)?;
    let srtp = accepted_crypto(local, m)?;
    Ok(Negotiated {
        codec,
        payload_type: pt,
        telephone_event: find_telephone_event(m),
        remote: remote_of(answer, m),
        direction: local
            .direction
            .intersect(peer_direction(answer, m).reversed()),
        ptime: m.ptime().unwrap_or(20),
        rtcp_mux: m.has_attribute("rtcp-mux"),
        max_playback_rate: (codec == Codec::Opus)
            .then(|| max_playback_rate(m, pt))
            .flatten(),
        max_average_bitrate: (codec == Codec::Opus)
            .then(|| max_average_bitrate(m, pt))
            .flatten(),
        srtp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(codecs: &[Codec]) -> LocalMedia {
        LocalMedia::new(codecs.to_vec(), "192.0.2.10".parse().unwrap(), 40000, 77)
    }

    #[test]
    fn two_switchboards_agree_on_opus_with_dtmf() {
        let a = local(&[Codec::Opus, Codec::Pcmu]);
        let b = LocalMedia::new(
            vec![Codec::Opus, Codec::Pcma],
            "192.0.2.20".parse().unwrap(),
            50000,
            5,
        );
        let o = offer(&a);
        let reparsed = SessionDescription::parse(&o.to_bytes()).unwrap();
        let (ans, nb) = answer(&b, &reparsed).unwrap();
        assert_eq!(nb.codec, Codec::Opus);
        assert_eq!(nb.payload_type, 111);
        assert_eq!(nb.telephone_event, Some(101));
        assert_eq!(nb.remote, Some("192.0.2.10:40000".parse().unwrap()));
        let na = accept_answer(&a, &SessionDescription::parse(&ans.to_bytes()).unwrap()).unwrap();
        assert_eq!(na.codec, Codec::Opus);
        assert_eq!(na.remote, Some("192.0.2.20:50000".parse().unwrap()));
        assert_eq!(na.direction, Direction::SendRecv);
        assert!(ans.to_string().contains("useinbandfec=1"));
        assert_eq!(na.max_playback_rate, Some(16000), "ours, read by the peer");
    }

    #[test]
    fn a_narrowband_opus_peer_is_noticed() {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                    m=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n\
                    a=fmtp:96 maxplaybackrate=8000; useinbandfec=1; maxaveragebitrate=20000\r\n";
        let offer = SessionDescription::parse(text.as_bytes()).unwrap();
        let (_, n) = answer(&local(&[Codec::Opus]), &offer).unwrap();
        assert_eq!(
            n.payload_type, 96,
            "the peer's dynamic payload type is used"
        );
        assert_eq!(n.max_playback_rate, Some(8000));
        assert_eq!(n.max_average_bitrate, Some(20000));
    }

    #[test]
    fn hold_offers_are_answered_with_the_reverse_direction() {
        let mut a = local(&[Codec::Pcmu]);
        a.direction = Direction::SendOnly;
        let b = local(&[Codec::Pcmu]);
        let (ans, nb) = answer(&b, &offer(&a)).unwrap();
        assert_eq!(nb.direction, Direction::RecvOnly);
        assert!(ans.to_string().contains("a=recvonly"));
        let na = accept_answer(&a, &ans).unwrap();
        assert_eq!(na.direction, Direction::SendOnly);
        // An inactive offer gets an inactive answer.
        a.direction = Direction::Inactive;
        assert_eq!(
            answer(&b, &offer(&a)).unwrap().1.direction,
            Direction::Inactive
        );
    }

    #[test]
    fn no_common_codec_is_an_error() {
        let a = local(&[Codec::Opus]);
        let b = local(&[Codec::Pcma]);
        assert_eq!(
            answer(&b, &offer(&a)).unwrap_err(),
            NegotiationError::NoCommonCodec
        );
    }
    fn key(b: u8) -> MasterKey {
        MasterKey::from_bytes([b; 30])
    }

    fn secure(required: bool, keys: &[(Suite, u8)]) -> LocalMedia {
        let mut l = local(&[Codec::Pcmu]);
        l.srtp = Some(LocalSrtp {
            required,
            keys: keys.iter().map(|&(s, b)| (s, key(b))).collect(),
        });
        l
    }

    fn crypto_values(m: &Media) -> Vec<String> {
        m.attributes
            .iter()
            .filter(|a| a.name == "crypto")
            .filter_map(|a| a.value.clone())
            .collect()
    }

    fn reparse(sd: &SessionDescription) -> SessionDescription {
        SessionDescription::parse(&sd.to_bytes()).unwrap()
    }

    const S80: Suite = Suite::AesCm128HmacSha1_80;
    const S32: Suite = Suite::AesCm128HmacSha1_32;

    /// A PCMU offer on `proto` with these crypto values.
    fn offer_text(proto: &str, crypto: &[String]) -> SessionDescription {
        let mut text = format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
             m=audio 5000 {proto} 0\r\na=rtpmap:0 PCMU/8000\r\n"
        );
        for c in crypto {
            text.push_str(&format!("a=crypto:{c}\r\n"));
        }
        SessionDescription::parse(text.as_bytes()).unwrap()
    }

    fn line(tag: u32, suite: Suite, b: u8) -> String {
        CryptoAttribute {
            tag,
            suite,
            key: key(b),
            lifetime: None,
        }
        .to_sdp_value()
    }

    #[test]
    fn our_savp_offer_is_answered_by_an_sdes_answerer() {
        let a = secure(true, &[(S80, 0xa8), (S32, 0xa3)]);
        let b = secure(false, &[(S32, 0xb3), (S80, 0xb8)]);
        let o = reparse(&offer(&a));
        assert_eq!(o.media[0].proto, "RTP/SAVP");
        assert_eq!(
            crypto_values(&o.media[0]),
            vec![line(1, S80, 0xa8), line(2, S32, 0xa3)]
        );
        let (ans, nb) = answer(&b, &o).unwrap();
        let ans = reparse(&ans);
        assert_eq!(ans.media[0].proto, "RTP/SAVP", "the offer's profile");
        // The offerer's order wins: its first line (80) is one B supports.
        assert_eq!(crypto_values(&ans.media[0]), vec![line(1, S80, 0xb8)]);
        assert_eq!(
            nb.srtp,
            Some(SrtpKeys {
                suite: S80,
                local: key(0xb8),
                remote: key(0xa8)
            })
        );
        let na = accept_answer(&a, &ans).unwrap();
        assert_eq!(
            na.srtp,
            Some(SrtpKeys {
                suite: S80,
                local: key(0xa8),
                remote: key(0xb8)
            })
        );
        assert_eq!(na.codec, Codec::Pcmu);
    }

    #[test]
    fn a_best_effort_avp_offer_with_crypto_is_answered_with_crypto() {
        let a = secure(false, &[(S80, 1)]);
        let o = reparse(&offer(&a));
        assert_eq!(o.media[0].proto, "RTP/AVP");
        assert_eq!(crypto_values(&o.media[0]).len(), 1);
        let (ans, nb) = answer(&secure(false, &[(S80, 2)]), &o).unwrap();
        assert_eq!(ans.media[0].proto, "RTP/AVP");
        assert_eq!(crypto_values(&ans.media[0]), vec![line(1, S80, 2)]);
        assert_eq!(nb.srtp.as_ref().map(|k| &k.remote), Some(&key(1)));
        assert_eq!(
            accept_answer(&a, &reparse(&ans)).unwrap().srtp,
            Some(SrtpKeys {
                suite: S80,
                local: key(1),
                remote: key(2)
            })
        );
        // A plain answerer ignores the lines, and the offerer falls back to RTP.
        let (ans, nb) = answer(&local(&[Codec::Pcmu]), &o).unwrap();
        assert!(crypto_values(&ans.media[0]).is_empty());
        assert_eq!(nb.srtp, None);
        assert_eq!(accept_answer(&a, &reparse(&ans)).unwrap().srtp, None);
    }

    #[test]
    fn a_required_answerer_refuses_plain_offers() {
        let b = secure(true, &[(S80, 2)]);
        let plain = offer(&local(&[Codec::Pcmu]));
        assert_eq!(
            answer(&b, &plain).unwrap_err(),
            NegotiationError::CryptoRequired
        );
        // Crypto lines we cannot honour count as none.
        let k = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let o = offer_text(
            "RTP/AVP",
            &[
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^20|1:4"),
                format!("2 AES_CM_128_HMAC_SHA1_80 inline:{k} UNENCRYPTED_SRTP"),
            ],
        );
        assert_eq!(
            answer(&b, &o).unwrap_err(),
            NegotiationError::CryptoRequired
        );
        // The same offer to a best-effort answerer: plain RTP.
        let (ans, n) = answer(&secure(false, &[(S80, 2)]), &o).unwrap();
        assert_eq!(n.srtp, None);
        assert!(crypto_values(&ans.media[0]).is_empty());
    }

    #[test]
    fn a_savp_offer_we_cannot_key_is_no_common_crypto() {
        let o = reparse(&offer(&secure(true, &[(S80, 1)])));
        assert_eq!(
            answer(&local(&[Codec::Pcmu]), &o).unwrap_err(),
            NegotiationError::NoCommonCrypto,
            "no SRTP configured"
        );
        assert_eq!(
            answer(&secure(false, &[(S32, 2)]), &o).unwrap_err(),
            NegotiationError::NoCommonCrypto,
            "no suite in common"
        );
        let aes256 = offer_text(
            "RTP/SAVP",
            &["1 AES_256_CM_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR".into()],
        );
        assert_eq!(
            answer(&secure(true, &[(S80, 2)]), &aes256).unwrap_err(),
            NegotiationError::NoCommonCrypto
        );
        // A codec mismatch is still reported as one.
        let mut opus_only = secure(false, &[(S80, 2)]);
        opus_only.codecs = vec![Codec::Opus];
        assert_eq!(
            answer(&opus_only, &o).unwrap_err(),
            NegotiationError::NoCommonCodec
        );
    }

    #[test]
    fn a_savp_stream_we_cannot_key_is_rejected_and_a_later_one_accepted() {
        let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                    m=audio 5000 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n\
                    m=audio 5002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        let o = SessionDescription::parse(text.as_bytes()).unwrap();
        let (ans, n) = answer(&local(&[Codec::Pcmu]), &o).unwrap();
        assert_eq!(ans.media[0].port, 0);
        assert_eq!(ans.media[1].port, 40000);
        assert_eq!(n.remote, Some("192.0.2.9:5002".parse().unwrap()));
        assert_eq!(n.srtp, None);
    }

    #[test]
    fn the_first_usable_offered_line_wins_and_32_bit_tags_work() {
        let k = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let o = offer_text(
            "RTP/SAVP",
            &[
                format!("1 AES_256_CM_HMAC_SHA1_80 inline:{k}"),
                format!("2 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:4"),
                format!("7 AES_CM_128_HMAC_SHA1_32 inline:{k}"),
                format!("8 AES_CM_128_HMAC_SHA1_80 inline:{k}"),
            ],
        );
        let b = secure(true, &[(S80, 8), (S32, 3)]);
        let (ans, n) = answer(&b, &o).unwrap();
        assert_eq!(crypto_values(&ans.media[0]), vec![line(7, S32, 3)]);
        let keys = n.srtp.unwrap();
        assert_eq!(keys.suite, S32);
        assert_eq!(keys.local, key(3));
        assert_eq!(
            keys.remote,
            CryptoAttribute::parse(&format!("7 AES_CM_128_HMAC_SHA1_32 inline:{k}"))
                .unwrap()
                .key
        );
        // The 32-bit suite as the only one offered.
        let o = reparse(&offer(&secure(true, &[(S32, 1)])));
        let (_, n) = answer(&b, &o).unwrap();
        assert_eq!(n.srtp.map(|k| k.suite), Some(S32));
    }

    #[test]
    fn answers_must_key_one_of_our_lines() {
        let a = secure(true, &[(S80, 1), (S32, 2)]);
        let answer_with = |proto: &str, crypto: &[String]| {
            let mut sd = offer_text(proto, crypto);
            sd.media[0].port = 6000;
            sd
        };
        // Tag 2 is our 32-bit line.
        let n = accept_answer(&a, &answer_with("RTP/SAVP", &[line(2, S32, 9)])).unwrap();
        assert_eq!(
            n.srtp,
            Some(SrtpKeys {
                suite: S32,
                local: key(2),
                remote: key(9)
            })
        );
        // A tag we never sent, a suite that does not match its tag, tag 0.
        for bad in [line(3, S80, 9), line(2, S80, 9), line(0, S80, 9)] {
            assert_eq!(
                accept_answer(&a, &answer_with("RTP/SAVP", &[bad])).unwrap_err(),
                NegotiationError::CryptoRequired
            );
        }
        assert_eq!(
            accept_answer(&a, &answer_with("RTP/AVP", &[])).unwrap_err(),
            NegotiationError::CryptoRequired
        );
        // Best effort: plain is fine, but a SAVP answer without keys is not.
        let a = secure(false, &[(S80, 1)]);
        assert_eq!(
            accept_answer(&a, &answer_with("RTP/AVP", &[]))
                .unwrap()
                .srtp,
            None
        );
        assert_eq!(
            accept_answer(&a, &answer_with("RTP/SAVP", &[])).unwrap_err(),
            NegotiationError::NoCommonCrypto
        );
        assert_eq!(
            accept_answer(
                &local(&[Codec::Pcmu]),
                &answer_with("RTP/SAVP", &[line(1, S80, 9)])
            )
            .unwrap_err(),
            NegotiationError::NoCommonCrypto,
            "we offered no SRTP"
        );
    }

    #[test]
    fn without_srtp_offers_stay_plain() {
        let o = offer(&local(&[Codec::Pcmu]));
        assert_eq!(o.media[0].proto, "RTP/AVP");
        assert!(crypto_values(&o.media[0]).is_empty());
        // Configured but keyless is the same as not configured.
        let o = offer(&secure(true, &[]));
        assert_eq!(o.media[0].proto, "RTP/AVP");
        assert!(!o.to_string().contains("crypto"));
    }
}
