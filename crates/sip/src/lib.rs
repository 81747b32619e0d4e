//! # switchboard-sip — a sans-IO SIP user agent core
//!
//! Everything SIP that a softphone needs, with no sockets, no clock and no
//! threads: bytes and `Instant`s go in, datagrams to send, events and the next
//! deadline come out. The engine (or a test in virtual time) drives it.
//!
//! ```text
//!  bytes ──▶ message::Message::parse ──▶ ua::UserAgent ──▶ poll_transmit ──▶ bytes
//!                (strict, typed)            │  transactions (timers A–M as data)
//!  commands (call/answer/hangup/register) ─▶│  dialogs, calls, registration+digest
//!                                            └─▶ poll_event / poll_timeout
//! ```
//!
//! Layers, bottom up:
//! - [`uri`], [`method`], [`header`], [`message`]: the RFC 3261 grammar (folding,
//!   compact names, quoted strings, RFC 5118 IPv6 references) with size limits; a
//!   message that parses has usable Via, From, To, Call-ID, CSeq, Max-Forwards.
//!   Each depends only on those before it.
//! - [`typed`]: typed accessors for the other headers a UA and a desktop read
//!   (Contact, Route, Refer-To, Replaces, Event, P-Asserted-Identity, Call-Info ...),
//!   errors naming the header.
//! - [`stream`]: framing of SIP over TCP (split and merged reads, keep-alives).
//! - [`transaction`]: the four RFC 3261 §17 machines (+RFC 6026).
//! - [`dialog`]: RFC 3261 §12 dialog state.
//! - [`dialog_info`]: the dialog event package's body (RFC 4235) and the busy
//!   lamp it lights (idle, ringing, on the phone).
//! - [`auth`]: digest (MD5, SHA-256, qop=auth, nonce counting).
//! - [`ua`]: the user agent tying them together, with the §8.2 UAS checks, and
//!   call control inside a dialog (our re-INVITEs with 491 glare retries,
//!   REFER both ways with NOTIFY sipfrag, Replaces matched the right way round).
//!
//! ## Run loop
//! ```text
//! loop {
//!     ua.handle_datagram(now, transport, source, &bytes);   // or handle_timeout(now), or a command
//!     while let Some(t) = ua.poll_transmit() { send(t) }
//!     while let Some(e) = ua.poll_event() { report(e) }
//!     sleep_until(ua.poll_timeout());                        // or until the next datagram
//! }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod auth;
pub mod dialog;
pub mod dialog_info;
pub mod header;
pub mod message;
pub mod method;
pub mod stream;
pub mod transaction;
pub mod typed;
pub mod ua;
pub mod uri;

#[doc(hidden)]
pub mod fuzzing {
    //! Bodies of the fuzz targets in `fuzz/` (kept here so they build and test with the crate).

    use crate::message::Message;

    /// Parse → print → parse must give the same message, and nothing may panic.
    pub fn parse_round_trip(data: &[u8]) {
        if let Ok(m) = Message::parse(data) {
            let printed = m.to_bytes();
            let again = Message::parse(&printed);
            assert_eq!(again.as_ref(), Ok(&m), "round trip changed the message");
        }
        let _ = crate::message::salvage_request_headers(data);
    }

    /// Feeds arbitrary bytes to a stream framer in two pieces.
    pub fn stream_framing(data: &[u8]) {
        let mut f = crate::stream::StreamFramer::new(crate::message::Limits::default());
        let cut = data
            .first()
            .map(|b| usize::from(*b) % (data.len() + 1))
            .unwrap_or(0);
        let (a, b) = data.split_at(cut.min(data.len()));
        for part in [a, b] {
            f.push(part);
            while let Some(item) = f.next_frame() {
                if item.is_err() {
                    return;
                }
            }
        }
    }
}
