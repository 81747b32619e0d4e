//! # switchboard-media — sans-IO media for a softphone
//!
//! ```text
//!  SDP offer/answer ──▶ Negotiated { codec, payload type, peer, direction, SRTP keys }
//!                                   │
//!  PCM frame ──▶ RtpSession::send_frame ──▶ (SRTP protect) ──▶ poll_transmit ──▶ datagram
//!  datagram ──▶ RtpSession::handle_datagram ──▶ (SRTP unprotect) ──▶ jitter buffer
//!                                   ──▶ poll_playout ──▶ PCM frame
//!                                   └──▶ statistics, RTCP SR/RR, DTMF events
//! ```
//!
//! - [`sdp`]: RFC 8866 parse/print, keeping what it does not interpret.
//! - [`offer_answer`]: RFC 3264 for one audio stream (codec by preference,
//!   directions, telephone-event, rtcp-mux).
//! - [`session`]: one call's RTP/RTCP stream (symmetric latching, SSRC changes,
//!   RFC 3550 statistics, SR/RR with RTT; the peer's loss reports size the
//!   encoder's FEC), built on webrtc-rs `rtc-rtp`/`rtc-rtcp`.
//! - [`srtp`]: SRTP/SRTCP (RFC 3711) keyed by SDES `a=crypto` lines (RFC 4568),
//!   on webrtc-rs `rtc-srtp` with ring.
//! - [`jitter`]: the adaptive jitter buffer feeding the decoder and concealment,
//!   with a frame of look-ahead after a loss, added and removed in pauses.
//! - [`dtmf`]: RFC 4733 events, sent with end redundancy, reported once.
//! - [`quality`]: a live MOS estimate (simplified E-model) for the operator.
//!
//! Nothing here opens a socket or reads a clock: callers pass `Instant`s in and
//! take datagrams and frames out, so every behaviour is testable in virtual time.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod dtmf;
pub mod jitter;
pub mod offer_answer;
pub mod quality;
pub mod sdp;
pub mod session;
pub mod srtp;

#[doc(hidden)]
pub mod fuzzing {
    //! Bodies of the fuzz targets in `fuzz/` (kept here so they build and test with the crate).

    use std::time::{Duration, Instant};

    use crate::offer_answer::{LocalMedia, LocalSrtp, Negotiated, accept_answer, answer};
    use crate::sdp::{Direction, SessionDescription};
    use crate::session::{RtpSession, SessionConfig};
    use crate::srtp::{CryptoAttribute, MasterKey, SrtpKeys, Suite};

    /// Parse → print → parse must give the same description; answering any
    /// description that parses must not panic.
    pub fn sdp_round_trip(data: &[u8]) {
        let Ok(sd) = SessionDescription::parse(data) else {
            return;
        };
        let again = SessionDescription::parse(&sd.to_bytes());
        assert_eq!(
            again.as_ref(),
            Ok(&sd),
            "round trip changed the description"
        );
        let local = LocalMedia::new(
            switchboard_codec::Codec::ALL.to_vec(),
            std::net::Ipv4Addr::LOCALHOST.into(),
            4000,
            1,
        );
        let _ = answer(&local, &sd);
        let mut secure = local;
        secure.srtp = Some(LocalSrtp {
            required: false,
            keys: vec![
                (Suite::AesCm128HmacSha1_80, MasterKey::from_bytes([1; 30])),
                (Suite::AesCm128HmacSha1_32, MasterKey::from_bytes([2; 30])),
            ],
        });
        let _ = answer(&secure, &sd);
        let _ = accept_answer(&secure, &sd);
    }

    /// An `a=crypto` value that parses must print back to one that parses the same.
    pub fn crypto_attribute(data: &[u8]) {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let Ok(line) = CryptoAttribute::parse(text) else {
            return;
        };
        assert_eq!(
            CryptoAttribute::parse(&line.to_sdp_value()).as_ref(),
            Ok(&line),
            "round trip changed the crypto line"
        );
    }

    /// Arbitrary datagrams (RTP, RTCP, garbage) into a running session, then
    /// playout: nothing may panic.
    pub fn session_datagrams(data: &[u8]) {
        run_session(data, None);
    }

    /// The same into an SRTP-keyed session (key 0x11…, which the peer also
    /// uses, so a fuzzer can protect its own inputs with it).
    pub fn srtp_session_datagrams(data: &[u8]) {
        run_session(
            data,
            Some(SrtpKeys {
                suite: Suite::AesCm128HmacSha1_80,
                local: MasterKey::from_bytes([0x11; 30]),
                remote: MasterKey::from_bytes([0x11; 30]),
            }),
        );
    }

    fn run_session(data: &[u8], srtp: Option<SrtpKeys>) {
        let now = Instant::now();
        let Ok(mut s) = RtpSession::new(
            now,
            SessionConfig {
                negotiated: Negotiated {
                    codec: switchboard_codec::Codec::Pcmu,
                    payload_type: 0,
                    telephone_event: Some(101),
                    remote: Some(([127, 0, 0, 1], 4000).into()),
                    direction: Direction::SendRecv,
                    ptime: 20,
                    rtcp_mux: true,
                    max_playback_rate: None,
                    max_average_bitrate: None,
                    srtp,
                },
                ssrc: 1,
                initial_sequence: 0,
                initial_timestamp: 0,
                settings: switchboard_codec::Settings::default(),
                wall_at_epoch: Duration::from_secs(1),
                epoch: now,
                seed: 1,
            },
        ) else {
            return;
        };
        let from = ([127, 0, 0, 1], 4000).into();
        let mut out = [0i16; 160];
        for (i, chunk) in data.split(|b| *b == 0xff).enumerate() {
            let t = now + Duration::from_millis(i as u64 * 7);
            s.handle_datagram(t, from, chunk);
            s.poll_playout(t, &mut out);
            s.handle_timeout(t + Duration::from_secs(6));
            while s.poll_transmit().is_some() {}
            while s.poll_event().is_some() {}
        }
    }
}
