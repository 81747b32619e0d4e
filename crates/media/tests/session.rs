//! Two RTP sessions talking through testkit's network emulator in virtual time:
//! what one side "says" must come out of the other side's speaker.

mod common;

use std::time::Duration;

use common::{addr, correlate, signal};
use switchboard_codec::{Codec, Settings};
use switchboard_media::offer_answer::Negotiated;
use switchboard_media::sdp::Direction;
use switchboard_media::session::{MediaEvent, RtpSession, SessionConfig};
use switchboard_testkit::{Impairment, NetEm, VirtualClock};

const A: &str = "127.0.0.1:40000";
const B: &str = "127.0.0.1:50000";

fn session(clock: &VirtualClock, codec: Codec, remote: &str, ssrc: u32) -> RtpSession {
    let pt = codec.static_payload_type().unwrap_or(111);
    RtpSession::new(
        clock.now(),
        SessionConfig {
            negotiated: Negotiated {
                codec,
                payload_type: pt,
                telephone_event: Some(101),
                remote: Some(addr(remote)),
                direction: Direction::SendRecv,
                ptime: 20,
                rtcp_mux: true,
                max_playback_rate: None,
                max_average_bitrate: None,
                srtp: None,
            },
            ssrc,
            initial_sequence: 65_500, // wraps early in every test
            initial_timestamp: u32::MAX - 5_000,
            settings: Settings::default(),
            wall_at_epoch: Duration::from_secs(1_800_000_000),
            epoch: clock.now(),
            seed: u64::from(ssrc),
        },
    )
    .unwrap()
}

/// Best normalised cross-correlation of `got` against `sent` over lags up to
/// `max_lag` samples; returns (correlation, lag in samples). Signals above
/// 8 kHz are compared at 8 kHz (every n-th sample: the test signal is below 1 kHz).
fn best_correlation(sent: &[i16], got: &[i16], max_lag: usize) -> (f64, usize) {
    let step = if max_lag > 2000 { 6 } else { 1 };
    let sent: Vec<i16> = sent.iter().step_by(step).copied().collect();
    let got: Vec<i16> = got.iter().step_by(step).copied().collect();
    let (c, lag) = correlate(&sent, &got, max_lag / step);
    (c, lag * step)
}

struct Run {
    heard_by_b: Vec<i16>,
    sent_by_a: Vec<i16>,
    a: RtpSession,
    b: RtpSession,
    events_b: Vec<MediaEvent>,
    net: NetEm,
}

/// A talks to B for `secs` seconds over `net`; B plays every 20 ms.
fn talk(codec: Codec, net: NetEm, secs: u32, before: impl FnOnce(&mut RtpSession)) -> Run {
    let mut clock = VirtualClock::new();
    let mut net = net;
    let mut a = session(&clock, codec, B, 0xA);
    let mut b = session(&clock, codec, A, 0xB);
    before(&mut a);
    let frame = codec.frame_samples();
    let frames = (secs * 50) as usize;
    let sent = signal(codec.sample_rate(), frames * frame);
    let mut heard = Vec::with_capacity(sent.len());
    let mut out = vec![0i16; frame];
    let mut events_b = Vec::new();
    let silence = vec![0i16; frame];
    for k in 0..frames + 25 {
        let now = clock.now();
        let pcm = sent.get(k * frame..(k + 1) * frame).unwrap_or(&silence);
        a.send_frame(now, pcm);
        b.send_frame(now, &silence);
        for s in [&mut a, &mut b] {
            s.handle_timeout(now);
        }
        while let Some(t) = a.poll_transmit() {
            net.send(now, addr(A), t.destination, t.payload);
        }
        while let Some(t) = b.poll_transmit() {
            net.send(now, addr(B), t.destination, t.payload);
        }
        // Deliver everything due within this frame period, at its own time.
        let end = now + Duration::from_millis(20);
        while let Some(at) = net.next_delivery().filter(|t| *t <= end) {
            clock.advance_to(at);
            let d = net.deliver(at).unwrap();
            if d.to == addr(B) {
                b.handle_datagram(at, d.from, &d.payload);
            } else if d.to == addr(A) {
                a.handle_datagram(at, d.from, &d.payload);
            }
        }
        clock.advance_to(end);
        b.poll_playout(clock.now(), &mut out);
        heard.extend_from_slice(&out);
        while let Some(e) = b.poll_event() {
            events_b.push(e);
        }
        while a.poll_event().is_some() {}
    }
    Run {
        heard_by_b: heard,
        sent_by_a: sent,
        a,
        b,
        events_b,
        net,
    }
}

fn delay(ms: u64) -> Impairment {
    Impairment {
        delay: Duration::from_millis(ms),
        ..Impairment::default()
    }
}

#[test]
fn pcmu_on_a_clean_link_arrives_intact_and_early() {
    let r = talk(Codec::Pcmu, NetEm::new(1, delay(1)), 4, |_| {});
    let (c, lag) = best_correlation(&r.sent_by_a, &r.heard_by_b, 1600);
    assert!(c > 0.99, "correlation {c}");
    // Frame-period playout: at most a couple of frames behind.
    assert!(lag <= 8 * 60, "lag {lag} samples = {} ms", lag / 8);
    let s = r.b.stats();
    assert_eq!(s.packets_lost, 0);
    assert_eq!(s.frames_concealed, 0, "{s:?}");
    assert!(s.packets_received >= 200);
    assert!(r.events_b.contains(&MediaEvent::Latched(addr(A))));
}

#[test]
fn opus_on_a_clean_link_arrives_intact() {
    let r = talk(Codec::Opus, NetEm::new(2, delay(1)), 4, |_| {});
    let (c, _) = best_correlation(&r.sent_by_a, &r.heard_by_b, 9600);
    assert!(c > 0.9, "correlation {c}");
}

#[test]
fn three_percent_loss_is_concealed_and_counted() {
    for codec in [Codec::Pcmu, Codec::Opus] {
        let net = NetEm::new(
            3,
            Impairment {
                delay: Duration::from_millis(5),
                loss: 0.03,
                ..Impairment::default()
            },
        );
        let r = talk(codec, net, 8, |_| {});
        let s = r.b.stats();
        assert!(s.packets_lost >= 4, "{codec}: {s:?}");
        assert!(s.frames_concealed >= s.packets_lost / 2, "{codec}: {s:?}");
        let max_lag = codec.sample_rate() as usize / 4;
        let (c, _) = best_correlation(&r.sent_by_a, &r.heard_by_b, max_lag);
        assert!(c > 0.8, "{codec}: correlation {c} under 3 % loss");
    }
}

#[test]
fn jitter_of_40_ms_is_absorbed_by_a_deeper_buffer() {
    let net = NetEm::new(
        4,
        Impairment {
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(40),
            ..Impairment::default()
        },
    );
    let r = talk(Codec::Pcmu, net, 10, |_| {});
    let s = r.b.stats();
    assert!(s.jitter_ms > 3.0, "jitter measured: {s:?}");
    assert!(
        (35.0..=120.0).contains(&s.playout_delay_ms),
        "playout delay {} ms",
        s.playout_delay_ms
    );
    // After adapting, (almost) nothing is concealed.
    assert!(s.frames_concealed < 25, "{s:?}");
    // Judge the second half, after the buffer has settled (an insertion while
    // adapting shifts everything after it by a frame).
    let half = r.sent_by_a.len() / 2;
    let (c, _) = best_correlation(&r.sent_by_a[half..], &r.heard_by_b[half..], 1600);
    assert!(c > 0.95, "correlation {c}; {s:?}");
}

#[test]
fn dtmf_keys_arrive_once_each_in_order_despite_loss() {
    let net = NetEm::new(
        5,
        Impairment {
            delay: Duration::from_millis(5),
            loss: 0.1,
            ..Impairment::default()
        },
    );
    let r = talk(Codec::Opus, net, 3, |a| {
        assert_eq!(a.send_dtmf("1234*#", 80), 6);
    });
    let keys: String = r
        .events_b
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Dtmf(k) => Some(*k),
            _ => None,
        })
        .collect();
    assert_eq!(keys, "1234*#");
}

#[test]
fn rtcp_reports_give_round_trip_time_and_loss() {
    let r = talk(Codec::Pcmu, NetEm::new(6, delay(30)), 16, |_| {});
    let rtt = r.a.stats().rtt_ms.expect("RTT after several reports");
    assert!((55.0..=70.0).contains(&rtt), "rtt {rtt} ms for 2 × 30 ms");
    assert_eq!(r.a.stats().remote_loss, Some(0.0));
    assert!(r.net.stats().delivered > 1500);
}

#[test]
fn strangers_are_dropped_after_latching() {
    let clock = VirtualClock::new();
    let mut a = session(&clock, Codec::Pcmu, B, 1);
    let mut b = session(&clock, Codec::Pcmu, A, 2);
    let mut intruder = session(&clock, Codec::Pcmu, B, 3);
    let pcm = vec![1000i16; 160];
    a.send_frame(clock.now(), &pcm);
    let t = a.poll_transmit().unwrap();
    // A's packets come from another port than its SDP said (a NAT): B latches onto it.
    let natted = addr("127.0.0.1:41234");
    b.handle_datagram(clock.now(), natted, &t.payload);
    assert_eq!(b.peer(), Some(natted));
    intruder.send_frame(clock.now(), &pcm);
    let t = intruder.poll_transmit().unwrap();
    b.handle_datagram(clock.now(), addr("127.0.0.1:45000"), &t.payload);
    b.handle_datagram(clock.now(), addr("10.9.9.9:40000"), &t.payload);
    assert_eq!(b.stats().strangers, 2);
    assert_eq!(b.stats().packets_received, 1);
    // B now sends to where A really is.
    b.send_frame(clock.now(), &pcm);
    assert_eq!(b.poll_transmit().unwrap().destination, natted);
    // Garbage is counted, not a panic.
    b.handle_datagram(clock.now(), natted, &[0x80]);
    b.handle_datagram(clock.now(), natted, &[]);
    assert_eq!(b.stats().malformed, 2);
}

#[test]
fn a_new_ssrc_resets_reception_and_keeps_playing() {
    let mut clock = VirtualClock::new();
    let mut a = session(&clock, Codec::Pcmu, B, 10);
    let mut b = session(&clock, Codec::Pcmu, A, 20);
    let pcm = vec![2000i16; 160];
    let mut out = vec![0i16; 160];
    let mut changed = false;
    for k in 0..100 {
        if k == 50 {
            // The peer restarts its stream (e.g. a PBX switching media source).
            a = session(&clock, Codec::Pcmu, B, 11);
        }
        a.send_frame(clock.now(), &pcm);
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(clock.now(), addr(A), &t.payload);
        }
        clock.advance(Duration::from_millis(20));
        b.poll_playout(clock.now(), &mut out);
        while let Some(e) = b.poll_event() {
            changed |= e == MediaEvent::SsrcChanged(11);
        }
    }
    assert!(changed);
    assert!(
        out.iter().all(|s| (*s - 2000).abs() < 100),
        "still playing after the change"
    );
}

#[test]
fn on_hold_nothing_is_sent() {
    let clock = VirtualClock::new();
    let mut a = session(&clock, Codec::Pcmu, B, 1);
    let mut n = Negotiated {
        codec: Codec::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        remote: Some(addr(B)),
        direction: Direction::RecvOnly,
        ptime: 20,
        rtcp_mux: true,
        max_playback_rate: None,
        max_average_bitrate: None,
        srtp: None,
    };
    a.update(&n, &Settings::default()).unwrap();
    a.send_frame(clock.now(), &[0; 160]);
    assert!(a.poll_transmit().is_none());
    n.direction = Direction::SendRecv;
    a.update(&n, &Settings::default()).unwrap();
    a.send_frame(clock.now(), &[0; 160]);
    assert!(a.poll_transmit().is_some());
}

/// Mean RTP payload bytes a frame over two seconds of the test voice, from an
/// Opus session set up (or switched to Opus by a re-INVITE, `switched`) with
/// the peer's `maxaveragebitrate`.
fn opus_bytes_per_frame(max_average_bitrate: Option<u32>, switched: bool) -> f64 {
    let clock = VirtualClock::new();
    let n = Negotiated {
        codec: Codec::Opus,
        payload_type: 111,
        telephone_event: None,
        remote: Some(addr(B)),
        direction: Direction::SendRecv,
        ptime: 20,
        rtcp_mux: true,
        max_playback_rate: None,
        max_average_bitrate,
        srtp: None,
    };
    let mut a = if switched {
        let mut a = session(&clock, Codec::Pcmu, B, 1);
        a.update(&n, &Settings::default()).unwrap();
        a
    } else {
        RtpSession::new(
            clock.now(),
            SessionConfig {
                negotiated: n.clone(),
                ssrc: 2,
                initial_sequence: 0,
                initial_timestamp: 0,
                settings: Settings::default(),
                wall_at_epoch: Duration::from_secs(1_800_000_000),
                epoch: clock.now(),
                seed: 2,
            },
        )
        .unwrap()
    };
    let frame = Codec::Opus.frame_samples();
    let voice = signal(48_000, 100 * frame);
    let (mut bytes, mut packets) = (0usize, 0usize);
    for pcm in voice.chunks_exact(frame) {
        a.send_frame(clock.now(), pcm);
        while let Some(t) = a.poll_transmit() {
            if !t.rtcp {
                bytes += t.payload.len() - 12;
                packets += 1;
            }
        }
    }
    assert_eq!(packets, 100, "one packet a frame");
    bytes as f64 / packets as f64
}

#[test]
fn the_peers_maxaveragebitrate_caps_what_opus_sends() {
    // 16 kbit/s is 40 bytes a 20-ms frame; libopus's VBR may overshoot its
    // target by a few bytes over two seconds (up to a fifth is allowed).
    let capped = opus_bytes_per_frame(Some(16_000), false);
    let switched = opus_bytes_per_frame(Some(16_000), true);
    let ours = opus_bytes_per_frame(None, false);
    assert!(
        capped <= 48.0,
        "{capped:.1} bytes a frame at a 16 kbit/s cap"
    );
    assert!(
        switched <= 48.0,
        "{switched:.1} bytes a frame after a re-INVITE to Opus with a 16 kbit/s cap"
    );
    assert!(
        ours > 2.0 * capped,
        "without a cap the voice gets our bitrate: {ours:.1} against {capped:.1} bytes"
    );
}
