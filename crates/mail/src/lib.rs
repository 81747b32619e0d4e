//! # switchboard-mail — the e-mail channel (no UI)
//!
//! ```text
//!  IMAP server ──▶ imap::Mailbox (async-imap over tokio + rustls) ──▶ list, fetch, claim, move, IDLE
//!  raw RFC 5322 ──▶ message::parse (mail-parser) ──▶ Message: headers, safe text, attachments
//!  Message + template ──▶ reply::reply / reply::forward (mail-builder) ──▶ bytes to send and to append to Sent
//! ```
//!
//! - [`imap`]: one shared mailbox worked by several operators. A mail is
//!   claimed atomically with `UID STORE … (UNCHANGEDSINCE modseq)` of a
//!   claim keyword (RFC 7162 CONDSTORE): exactly one desk wins; the loser
//!   learns it and drops the mail from its list.
//! - [`message`]: a received mail as the desk shows it: HTML made safe text,
//!   no remote content, attachments listed (saved only on request).
//! - [`reply`]: replies and forwards that thread (`In-Reply-To`,
//!   `References`), from templates per language.
#![deny(unsafe_code)]

#[cfg(feature = "imap")]
pub mod imap;
pub mod message;
pub mod reply;
