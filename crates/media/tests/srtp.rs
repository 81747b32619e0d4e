//! SRTP: the shared whole-packet vectors (../shared/testdata/srtp), and two
//! sessions keyed by one SDES offer/answer talking through testkit's network
//! emulator in virtual time.

mod common;

use std::time::Duration;

use common::{addr, correlate, signal};
use switchboard_codec::{Codec, Settings};
use switchboard_media::offer_answer::{
    LocalMedia, LocalSrtp, Negotiated, accept_answer, answer, offer,
};
use switchboard_media::sdp::SessionDescription;
use switchboard_media::session::{RtpSession, SessionConfig, Transmit};
use switchboard_media::srtp::{MasterKey, Srtp, SrtpError, SrtpKeys, Suite};
use switchboard_testkit::corpus::testdata_dir;
use switchboard_testkit::{Impairment, NetEm, VirtualClock};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

/// One row of srtp-packets.tsv.
struct Vector {
    profile: String,
    key: Vec<u8>,
    salt: Vec<u8>,
    plain: Vec<u8>,
    protected: Vec<u8>,
}

fn vectors() -> Option<Vec<Vector>> {
    let path = testdata_dir()?.join("srtp/srtp-packets.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<Vector> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("profile\t") && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "malformed row {l}");
            Vector {
                profile: f[0].to_owned(),
                key: hex(f[1]),
                salt: hex(f[2]),
                plain: hex(f[3]),
                protected: hex(f[4]),
            }
        })
        .collect();
    assert_eq!(rows.len(), 2, "the AES_CM_128 and AES_256 rows");
    Some(rows)
}

fn row<'a>(rows: &'a [Vector], profile: &str) -> &'a Vector {
    rows.iter()
        .find(|r| r.profile == profile)
        .unwrap_or_else(|| panic!("no {profile} row"))
}

#[test]
fn aes_cm_128_hmac_sha1_80_vector_protects_exactly_and_detects_every_flipped_bit() {
    let Some(rows) = vectors() else { return };
    let v = row(&rows, "AES_CM_128_HMAC_SHA1_80");
    let key = MasterKey::from_slice(&[v.key.clone(), v.salt.clone()].concat()).unwrap();
    let keys = SrtpKeys {
        suite: Suite::AesCm128HmacSha1_80,
        local: key.clone(),
        remote: key,
    };
    let mut s = Srtp::new(&keys).unwrap();
    assert_eq!(s.protect_rtp(&v.plain).unwrap(), v.protected);
    assert_eq!(s.unprotect_rtp(&v.protected).unwrap(), v.plain);
    for bit in 0..v.protected.len() * 8 {
        let mut bad = v.protected.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        // A fresh receiver, so the replay window cannot be what refuses it.
        let mut fresh = Srtp::new(&keys).unwrap();
        let got = fresh.unprotect_rtp(&bad);
        assert!(got.is_err(), "bit {bit} flipped was accepted");
        if bit >= 12 * 8 {
            assert_eq!(got, Err(SrtpError::Authentication), "bit {bit}");
        }
    }
}

#[test]
fn aes_256_cm_vector_through_rtc_srtp_directly() {
    // We do not offer AES_256_CM_HMAC_SHA1_80, but rtc-srtp has it: check the
    // library against the second row too.
    use rtc_crypto::providers::RingCrypto;
    use rtc_srtp::context::Context;
    use rtc_srtp::protection_profile::ProtectionProfile;
    let Some(rows) = vectors() else { return };
    let v = row(&rows, "AES_256_CM_HMAC_SHA1_80");
    let context = || {
        Context::new(
            &v.key,
            &v.salt,
            ProtectionProfile::Aes256CmHmacSha1_80,
            None,
            None,
            &RingCrypto,
        )
        .unwrap()
    };
    assert_eq!(
        &context().encrypt_rtp(&v.plain).unwrap()[..],
        &v.protected[..]
    );
    assert_eq!(
        &context().decrypt_rtp(&v.protected).unwrap()[..],
        &v.plain[..]
    );
    let mut bad = v.protected.clone();
    bad[20] ^= 0x01;
    assert!(context().decrypt_rtp(&bad).is_err());
}

// ---- two sessions -------------------------------------------------------

const A: &str = "127.0.0.1:40000";
const B: &str = "127.0.0.1:50000";
const S80: Suite = Suite::AesCm128HmacSha1_80;

fn key(b: u8) -> MasterKey {
    MasterKey::from_bytes([b; 30])
}

fn local(at: &str, srtp: Option<(bool, u8)>) -> LocalMedia {
    let a = addr(at);
    let mut l = LocalMedia::new(vec![Codec::Pcmu], a.ip(), a.port(), 1);
    l.srtp = srtp.map(|(required, k)| LocalSrtp {
        required,
        keys: vec![(S80, key(k))],
    });
    l
}

fn reparse(sd: &SessionDescription) -> SessionDescription {
    SessionDescription::parse(&sd.to_bytes()).unwrap()
}

/// A offers, B answers, A reads the answer: (A's stream, B's stream).
fn negotiate(a: &LocalMedia, b: &LocalMedia) -> (Negotiated, Negotiated) {
    let (ans, nb) = answer(b, &reparse(&offer(a))).unwrap();
    let na = accept_answer(a, &reparse(&ans)).unwrap();
    (na, nb)
}

fn session(clock: &VirtualClock, n: Negotiated, ssrc: u32) -> RtpSession {
    RtpSession::new(
        clock.now(),
        SessionConfig {
            negotiated: n,
            ssrc,
            initial_sequence: 65_500, // the rollover counter moves early
            initial_timestamp: u32::MAX - 5_000,
            settings: Settings::default(),
            wall_at_epoch: Duration::from_secs(1_800_000_000),
            epoch: clock.now(),
            seed: u64::from(ssrc),
        },
    )
    .unwrap()
}

/// A talks to B through `net`; B plays every 20 ms.
struct Call {
    clock: VirtualClock,
    net: NetEm,
    a: RtpSession,
    b: RtpSession,
    sent_by_a: Vec<i16>,
    heard_by_b: Vec<i16>,
    /// What A put on the wire, in order.
    wire_from_a: Vec<Transmit>,
}

impl Call {
    fn new(na: Negotiated, nb: Negotiated, net: NetEm) -> Call {
        let clock = VirtualClock::new();
        let a = session(&clock, na, 0xA);
        let b = session(&clock, nb, 0xB);
        Call {
            clock,
            net,
            a,
            b,
            sent_by_a: Vec::new(),
            heard_by_b: Vec::new(),
            wire_from_a: Vec::new(),
        }
    }

    /// `frames` frame periods of A speaking (B sends silence back).
    fn talk(&mut self, frames: usize) {
        let pcm = signal(8000, self.sent_by_a.len() + frames * 160);
        let silence = [0i16; 160];
        let mut out = [0i16; 160];
        for _ in 0..frames {
            let now = self.clock.now();
            let start = self.sent_by_a.len();
            let frame = &pcm[start..start + 160];
            self.a.send_frame(now, frame);
            self.sent_by_a.extend_from_slice(frame);
            self.b.send_frame(now, &silence);
            self.a.handle_timeout(now);
            self.b.handle_timeout(now);
            while let Some(t) = self.a.poll_transmit() {
                self.net
                    .send(now, addr(A), t.destination, t.payload.clone());
                self.wire_from_a.push(t);
            }
            while let Some(t) = self.b.poll_transmit() {
                self.net.send(now, addr(B), t.destination, t.payload);
            }
            let end = now + Duration::from_millis(20);
            while let Some(at) = self.net.next_delivery().filter(|t| *t <= end) {
                self.clock.advance_to(at);
                let d = self.net.deliver(at).unwrap();
                // RTP on the port, RTCP on port + 1 (our offers do not ask for rtcp-mux).
                match d.to.port() {
                    50000 | 50001 => self.b.handle_datagram(at, d.from, &d.payload),
                    40000 | 40001 => self.a.handle_datagram(at, d.from, &d.payload),
                    p => panic!("datagram to port {p}"),
                }
            }
            self.clock.advance_to(end);
            self.b.poll_playout(self.clock.now(), &mut out);
            self.heard_by_b.extend_from_slice(&out);
        }
    }
}

fn srtp_pair() -> (Negotiated, Negotiated) {
    negotiate(&local(A, Some((true, 0xa1))), &local(B, Some((true, 0xb1))))
}

#[test]
fn two_sessions_talk_over_srtp_and_the_wire_hides_the_audio() {
    let (na, nb) = srtp_pair();
    assert!(na.srtp.is_some() && nb.srtp.is_some());
    // A plain twin of A: same SSRC, sequence numbers and timestamps, so its
    // packets are exactly A's plaintext.
    let mut plain_na = na.clone();
    plain_na.srtp = None;
    let twin_clock = VirtualClock::new();
    let mut twin = session(&twin_clock, plain_na, 0xA);

    let mut call = Call::new(na, nb, NetEm::clean(1));
    call.talk(12 * 50);

    let pcm = signal(8000, call.sent_by_a.len());
    let mut plain_rtp = Vec::new();
    for frame in pcm.chunks(160) {
        twin.send_frame(twin_clock.now(), frame);
        while let Some(t) = twin.poll_transmit() {
            plain_rtp.push(t.payload);
        }
    }
    let wire_rtp: Vec<&Vec<u8>> = call
        .wire_from_a
        .iter()
        .filter(|t| !t.rtcp)
        .map(|t| &t.payload)
        .collect();
    assert_eq!(wire_rtp.len(), plain_rtp.len());
    assert!(wire_rtp.len() >= 600);
    for (wire, plain) in wire_rtp.iter().zip(&plain_rtp) {
        assert_eq!(wire.len(), plain.len() + 10, "80-bit tag");
        assert_eq!(wire[..12], plain[..12], "the RTP header is in clear");
        let payload = &plain[12..];
        assert!(
            !wire
                .windows(16)
                .any(|w| payload.windows(16).any(|p| p == w)),
            "16 plaintext payload bytes on the wire"
        );
    }
    let wire_rtcp: Vec<&Vec<u8>> = call
        .wire_from_a
        .iter()
        .filter(|t| t.rtcp)
        .map(|t| &t.payload)
        .collect();
    assert!(wire_rtcp.len() >= 2, "reports were sent");
    for p in wire_rtcp {
        let e_index = p[p.len() - 14];
        assert!(e_index & 0x80 != 0, "SRTCP with the E flag set");
        assert!(matches!(p[1], 200 | 201), "an SR or RR header in clear");
    }

    // And B heard A, through both contexts.
    let c = correlate(&call.sent_by_a, &call.heard_by_b, 800).0;
    assert!(c > 0.99, "correlation {c}");
    let sb = call.b.stats();
    assert_eq!((sb.srtp_rejected, sb.malformed, sb.packets_lost), (0, 0, 0));
    assert!(sb.packets_received >= 600, "{sb:?}");
    // SRTCP both ways: A has a round-trip time and B's loss report.
    let sa = call.a.stats();
    assert!(sa.rtt_ms.is_some_and(|r| r < 15.0), "{sa:?}");
    assert_eq!(sa.remote_loss, Some(0.0));
    assert_eq!(sa.srtp_rejected, 0);
}

#[test]
fn a_session_with_the_wrong_key_hears_nothing_and_latches_nothing() {
    let (na, nb) = srtp_pair();
    let mut wrong = nb.clone();
    if let Some(k) = wrong.srtp.as_mut() {
        k.remote = key(0x66);
    }
    let clock = VirtualClock::new();
    let mut eve = session(&clock, wrong, 0xE);
    let mut call = Call::new(na, nb, NetEm::clean(2));
    call.talk(8 * 50);
    let natted = addr("127.0.0.1:41234");
    for t in &call.wire_from_a {
        eve.handle_datagram(clock.now(), natted, &t.payload);
    }
    let s = eve.stats();
    assert_eq!(s.srtp_rejected, call.wire_from_a.len() as u64, "{s:?}");
    assert!(call.wire_from_a.iter().filter(|t| t.rtcp).count() >= 1);
    assert_eq!((s.packets_received, s.malformed, s.rtt_ms), (0, 0, None));
    assert_eq!(eve.peer(), Some(addr(A)), "no latching on forged packets");
    assert_eq!(eve.poll_event(), None);
    let mut out = [1i16; 160];
    eve.poll_playout(clock.now(), &mut out);
    assert!(out.iter().all(|s| *s == 0));
    assert_eq!(eve.stats().frames_decoded, 0);

    // Plain RTP sent to a protected stream is refused the same way.
    let (plain_na, _) = negotiate(&local(A, None), &local(B, None));
    let mut plain = session(&clock, plain_na, 0xF);
    plain.send_frame(clock.now(), &[500; 160]);
    let t = plain.poll_transmit().unwrap();
    eve.handle_datagram(clock.now(), addr(A), &t.payload);
    assert_eq!(eve.stats().srtp_rejected, s.srtp_rejected + 1);
    assert_eq!(eve.stats().packets_received, 0);
}

#[test]
fn replays_and_tampering_are_dropped_and_counted() {
    let (na, nb) = srtp_pair();
    let clock = VirtualClock::new();
    let mut a = session(&clock, na, 1);
    let mut b = session(&clock, nb, 2);
    a.send_frame(clock.now(), &[700; 160]);
    let t = a.poll_transmit().unwrap();
    b.handle_datagram(clock.now(), addr(A), &t.payload);
    b.handle_datagram(clock.now(), addr(A), &t.payload);
    let mut tampered = t.payload.clone();
    *tampered.last_mut().unwrap() ^= 0x40;
    b.handle_datagram(clock.now(), addr(A), &tampered);
    // A stranger is dropped before any crypto.
    b.handle_datagram(clock.now(), addr("10.9.9.9:40000"), &t.payload);
    let s = b.stats();
    assert_eq!(s.packets_received, 1);
    assert_eq!(s.srtp_rejected, 2, "{s:?}");
    assert_eq!(s.strangers, 1);
    // Garbage is still malformed, not a panic.
    b.handle_datagram(clock.now(), addr(A), &[0x80]);
    b.handle_datagram(clock.now(), addr(A), &[]);
    assert_eq!(b.stats().malformed, 2);
}

#[test]
fn network_duplicates_are_replays_and_reordering_is_absorbed() {
    let (na, nb) = srtp_pair();
    let net = NetEm::new(
        7,
        Impairment {
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(30),
            duplicate: 0.05,
            ..Impairment::default()
        },
    );
    let mut call = Call::new(na, nb, net);
    call.talk(10 * 50);
    let dups = call.net.stats().duplicated;
    assert!(dups >= 20, "{dups} duplicates");
    let rejected = call.a.stats().srtp_rejected + call.b.stats().srtp_rejected;
    assert_eq!(
        rejected, dups,
        "every duplicate, and nothing else, is a replay"
    );
    let half = call.sent_by_a.len() / 2;
    let c = correlate(&call.sent_by_a[half..], &call.heard_by_b[half..], 1600).0;
    assert!(c > 0.95, "correlation {c}");
}

#[test]
fn a_reinvite_rekeys_and_a_plain_one_turns_srtp_off() {
    let a_first = local(A, Some((true, 0xa1)));
    let (na, nb) = negotiate(&a_first, &local(B, Some((true, 0xb1))));
    let mut call = Call::new(na, nb, NetEm::clean(3));
    call.talk(100); // both sequence numbers have wrapped: ROC 1

    // B re-offers with a new key, A keeps its own: each side rebuilds only
    // the context whose key changed.
    let (nb2, na2) = negotiate(&local(B, Some((true, 0xb2))), &a_first);
    assert_eq!(na2.srtp.as_ref().map(|k| &k.remote), Some(&key(0xb2)));
    assert_eq!(na2.srtp.as_ref().map(|k| &k.local), Some(&key(0xa1)));
    call.a.update(&na2, &Settings::default()).unwrap();
    call.b.update(&nb2, &Settings::default()).unwrap();
    let before = (call.a.stats(), call.b.stats());
    call.talk(100);
    let (sa, sb) = (call.a.stats(), call.b.stats());
    assert_eq!((sa.srtp_rejected, sb.srtp_rejected), (0, 0));
    assert!(sb.packets_received >= before.1.packets_received + 99);
    assert!(sa.packets_received >= before.0.packets_received + 99);

    // Both sides re-key.
    let (na3, nb3) = negotiate(&local(A, Some((true, 0xa3))), &local(B, Some((true, 0xb3))));
    call.a.update(&na3, &Settings::default()).unwrap();
    call.b.update(&nb3, &Settings::default()).unwrap();
    call.talk(100);
    assert_eq!(
        (call.a.stats().srtp_rejected, call.b.stats().srtp_rejected),
        (0, 0)
    );

    // A plain re-INVITE: plain RTP from then on.
    let (na4, nb4) = negotiate(&local(A, None), &local(B, None));
    assert!(na4.srtp.is_none() && nb4.srtp.is_none());
    call.a.update(&na4, &Settings::default()).unwrap();
    call.b.update(&nb4, &Settings::default()).unwrap();
    let received = call.b.stats().packets_received;
    call.wire_from_a.clear();
    call.talk(100);
    let rtp: Vec<&Transmit> = call.wire_from_a.iter().filter(|t| !t.rtcp).collect();
    assert!(
        rtp.iter().all(|t| t.payload.len() == 12 + 160),
        "plain PCMU"
    );
    assert!(call.b.stats().packets_received >= received + 99);
    assert_eq!(call.b.stats().srtp_rejected, 0);
    let c = correlate(&call.sent_by_a, &call.heard_by_b, 800).0;
    assert!(
        c > 0.99,
        "one signal across all re-keyings: correlation {c}"
    );
}

#[test]
fn sessions_stay_send() {
    fn send<T: Send>() {}
    send::<RtpSession>();
    send::<Srtp>();
}
