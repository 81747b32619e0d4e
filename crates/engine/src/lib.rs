//! # switchboard-engine — the thin I/O driver around the sans-IO core
//!
//! One thread runs a current-thread tokio runtime that owns the sockets and
//! the clock. It feeds datagrams, stream frames, timeouts and [`Command`]s into
//! [`switchboard_sip::ua::UserAgent`], and turns what the UA polls out into
//! packets and [`EngineEvent`]s.
//!
//! ```text
//!  Command ──▶ ┌──────────── engine thread (tokio, current-thread) ────────────┐
//!              │  UDP socket ─┐                                                │
//!              │  TCP listener/connections ─ StreamFramer ─┼─▶ UserAgent ─▶ poll_transmit ─▶ sockets
//!              │  sleep_until(poll_timeout) ──────────────┘        └─▶ poll_event ─▶ EngineEvent
//!              └────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Each established call gets a media pump (a task on the same thread) that
//! owns its RTP/RTCP sockets, a [`switchboard_media::session::RtpSession`], and
//! its audio source and sink, paced every 20 ms like a sound card.
//!
//! Call control (hold with a hold tune, blind and attended transfer, being
//! transferred by policy, Replaces, call waiting, a three-way conference mixed
//! in a bridge between the pumps) lives in `driver/control.rs` and the pump's
//! bridge; the SIP side of it is the UA's.
//!
//! Host names in targets are resolved here (the sans-IO core takes socket
//! addresses). Responses follow RFC 3581: the core answers to the source
//! port when the request asked for `rport`.

mod driver;
pub mod events;
mod media;

pub use driver::{Engine, EngineHandle};
pub use events::{EngineEvent, MediaStats};

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use switchboard_codec::Codec;

/// A registrar account as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountConfig {
    /// Registrar URI, e.g. `sip:pbx.example.com:5060` (`;transport=tcp` for TCP).
    pub registrar: String,
    /// Auth user name (also the user part of our address-of-record).
    pub username: String,
    /// Password (from the environment or a keyring, never from a file).
    pub password: String,
    /// The realm we answer challenges for; default: the registrar's host.
    pub realm: Option<String>,
    /// Requested registration lifetime in seconds.
    pub expires: u32,
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password never reaches a log.
        f.debug_struct("AccountConfig")
            .field("registrar", &self.registrar)
            .field("username", &self.username)
            .field("password", &"…")
            .field("realm", &self.realm)
            .field("expires", &self.expires)
            .finish()
    }
}

/// What the engine needs to start.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Local address for UDP and TCP.
    pub bind: SocketAddr,
    /// Our user part.
    pub user: String,
    /// Our display name.
    pub display_name: Option<String>,
    /// How many calls at once (the desktop uses 2, a load target dozens).
    pub max_calls: usize,
    /// Register here, if set. A registrar that is not a SIP URI is an error
    /// at start; one that does not resolve is reported as
    /// `registration_failed` and can be retried ([`Command::Register`]).
    pub account: Option<AccountConfig>,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// A WAV file used as every call's microphone (else the sound card).
    pub mic: Option<PathBuf>,
    /// A WAV file receiving what the first call plays (every later call
    /// writes `NAME-CALL.wav`, CALL being its handle); else the sound card
    /// plays it.
    pub speaker: Option<PathBuf>,
    /// The sound card for the sides without a file; `None`: no audio device
    /// (headless load generation, tests).
    pub devices: Option<DeviceNames>,
    /// The ringer device for `Command::Ring` (part of its name; `None`: the
    /// default output). Without `devices`, ringing is silent.
    pub ringer: Option<String>,
    /// Emit `levels` events (RMS of each direction) this often, for meters;
    /// and `quality` events every two seconds.
    pub level_meter_ms: Option<u32>,
    /// Answering, placing or resuming a call first holds the one in
    /// progress: an operator has one conversation in hand (the desktop).
    /// Off for a headless agent — an IVR, a recorder, a load target —
    /// which talks on every call at once and holds none unless told.
    pub hold_others: bool,
}

impl EngineConfig {
    /// `user` on `bind` with nothing else: no registrar, the default codecs,
    /// no files and no sound card, two calls at once. Callers set what they
    /// need on top (`EngineConfig { mic, ..EngineConfig::headless(..) }`).
    pub fn headless(bind: SocketAddr, user: impl Into<String>) -> EngineConfig {
        EngineConfig {
            bind,
            user: user.into(),
            display_name: None,
            max_calls: 2,
            account: None,
            codecs: Vec::new(),
            mic: None,
            speaker: None,
            devices: None,
            ringer: None,
            level_meter_ms: None,
            hold_others: false,
        }
    }
}

/// Which sound devices to use: a case-insensitive part of their names, or the
/// system default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceNames {
    /// Microphone (headset input).
    pub input: Option<String>,
    /// Speaker (headset output).
    pub output: Option<String>,
}

/// Commands to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Place a call to a SIP URI, with extra headers for the INVITE.
    Call {
        /// `sip:user@host[:port]`.
        target: String,
        /// Extra header fields.
        headers: Vec<(String, String)>,
    },
    /// Answer a ringing incoming call.
    Answer {
        /// Call handle from the `incoming` event.
        call: u64,
    },
    /// Decline a ringing incoming call with a status (486, 603 ...).
    Reject {
        /// Call handle.
        call: u64,
        /// Status code.
        status: u16,
    },
    /// Hang up (BYE, CANCEL or decline, as the call's state requires).
    Hangup {
        /// Call handle.
        call: u64,
    },
    /// Hang up every call.
    HangupAll,
    /// Send DTMF keys (RFC 4733) on a call.
    Dtmf {
        /// Call handle.
        call: u64,
        /// Keys: 0-9 * # A-D.
        digits: String,
    },
    /// Report the sound devices (a `devices` event).
    ListDevices,
    /// Use these devices from the next call (and for ringing and the device
    /// test) on: parts of device names, `None` for the system default.
    SetDevices {
        /// Headset microphone.
        input: Option<String>,
        /// Headset speaker.
        output: Option<String>,
        /// Ringer.
        ringer: Option<String>,
    },
    /// Start or stop the headset test: a tone on the output and `mic_test`
    /// level events from the input, ten a second (stops by itself after a
    /// minute).
    DeviceTest {
        /// Start or stop.
        on: bool,
    },
    /// Start or stop the ring tone on the ringer device (the desk decides
    /// whether a call is offered, so it decides when to ring).
    Ring {
        /// Ring or stop ringing.
        on: bool,
    },
    /// Mute or unmute a call's microphone.
    Mute {
        /// Call handle.
        call: u64,
        /// Muted or not.
        muted: bool,
    },
    /// Put a call on hold (re-INVITE `sendonly`, or `inactive` when the
    /// peer holds us too); the caller hears the hold tone, not us.
    Hold {
        /// Call handle.
        call: u64,
    },
    /// Take a call off hold.
    Resume {
        /// Call handle.
        call: u64,
    },
    /// Blind transfer: ask the peer (REFER) to call `target`; our leg ends
    /// when the transfer succeeds, and the caller stays with us if it fails.
    Transfer {
        /// Call handle.
        call: u64,
        /// A SIP URI, or a number (dialled at the registrar, or at the peer's host).
        target: String,
    },
    /// Attended transfer, first step: hold `call` and call `target`
    /// (a `consulting` event gives the new call's handle).
    Consult {
        /// The call to transfer.
        call: u64,
        /// Whom to consult.
        target: String,
    },
    /// Attended transfer, last step: the held caller is connected to the
    /// consulted party (REFER with Replaces); both our legs end on success.
    CompleteTransfer {
        /// The held call.
        call: u64,
        /// The consultation call.
        consult: u64,
    },
    /// Three-way conference, mixed here: `call` and `other` come off hold
    /// and each hears the other and us. Hang up either to drop it, or
    /// `CompleteTransfer` to leave the two talking.
    Conference {
        /// One call.
        call: u64,
        /// The other (usually the consultation).
        other: u64,
    },
    /// End the consultation and return to the held caller.
    CancelConsult {
        /// The consultation call.
        consult: u64,
    },
    /// Accept the peer's transfer request (with [`TransferPolicy::Ask`]).
    AcceptTransfer {
        /// Call handle.
        call: u64,
    },
    /// Refuse the peer's transfer request (with [`TransferPolicy::Ask`]).
    RejectTransfer {
        /// Call handle.
        call: u64,
    },
    /// What to do when a peer asks us to call someone else (REFER).
    SetTransferPolicy(TransferPolicy),
    /// Use this account from now on (`None`: none). The current binding is
    /// removed and the new account registers at once; a registrar that does
    /// not resolve is a `registration_failed` event, not an error.
    SetAccount(Option<AccountConfig>),
    /// Register the account again now (after a failure: Retry).
    Register,
    /// Hang up everything, unregister, and stop.
    Shutdown,
}

/// What to do when the peer of a call asks us to call someone else (we are
/// being transferred).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransferPolicy {
    /// Go along (the request comes from the peer we are talking to).
    #[default]
    Accept,
    /// Report `transfer_requested` and wait for `AcceptTransfer` or `RejectTransfer`.
    Ask,
    /// Refuse with 603.
    Reject,
}

impl TransferPolicy {
    /// From a configuration word: accept, ask or reject.
    pub fn from_name(s: &str) -> Option<TransferPolicy> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "accept" => TransferPolicy::Accept,
            "ask" => TransferPolicy::Ask,
            "reject" => TransferPolicy::Reject,
            _ => return None,
        })
    }
}

/// Errors starting the engine. Local I/O or configuration, never the network.
#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// Could not bind the SIP sockets.
    Bind(SocketAddr, std::io::Error),
    /// The registrar URI is not a usable SIP URI.
    BadRegistrar(String),
    /// The engine thread or runtime could not start.
    Runtime(std::io::Error),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Bind(a, e) => write!(f, "cannot bind {a}: {e}"),
            EngineError::BadRegistrar(r) => {
                write!(f, "registrar {r:?} is not a sip: URI with a host")
            }
            EngineError::Runtime(e) => write!(f, "cannot start the engine: {e}"),
        }
    }
}

impl std::error::Error for EngineError {}
