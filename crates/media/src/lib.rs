//! # switchboard-media — sans-IO media for a softphone
//!
//! ```text
//!  SDP offer/answer ──▶ Negotiated { codec, payload type, peer, direction }
//!                                   │
//!  PCM frame ──▶ RtpSession::send_frame ──▶ poll_transmit ──▶ datagram
//!  datagram ──▶ RtpSession::handle_datagram ──▶ jitter buffer ──▶ poll_playout ──▶ PCM frame
//!                                   └──▶ statistics, RTCP SR/RR, DTMF events
//! ```
//!
//! - [`sdp`]: RFC 8866 parse/print, keeping what it does not interpret.
//! - [`offer_answer`]: RFC 3264 for one audio stream (codec by preference,
//!   directions, telephone-event, rtcp-mux).
//! - [`session`]: one call's RTP/RTCP stream (symmetric latching, SSRC changes,
//!   RFC 3550 statistics, SR/RR with RTT), built on webrtc-rs `rtc-rtp`/`rtc-rtcp`.
//! - [`jitter`]: the adaptive jitter buffer feeding the decoder and concealment.
//! - [`dtmf`]: RFC 4733 events, sent with end redundancy, reported once.
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
pub mod sdp;
pub mod session;
