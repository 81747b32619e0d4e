//! # switchboard-engine — call control and the driver that runs it
//!
//! Two halves, split the way quinn splits quinn-proto from its runtime:
//!
//! - [`phone`]: the **call-control core**, sans-IO. A [`phone::Phone`] owns
//!   the SIP [`UserAgent`](switchboard_sip::ua::UserAgent), every call's
//!   state (one state machine per call: hold, links to other calls,
//!   transfer) and the [`Policy`]. Commands, datagrams, media notes and time
//!   go in; [`phone::Action`]s and the next deadline come out. It is tested
//!   in virtual time (`crates/engine/tests/`).
//! - the **driver** (`driver.rs`): one thread running a current-thread tokio
//!   runtime that owns the sockets and the clock. It feeds the core and
//!   carries out its actions: bytes to sockets, RTP ports bound, names
//!   resolved, media pumps started and steered, tones played.
//!
//! ```text
//!  Command ──▶ ┌────────────── engine thread (tokio, current-thread) ──────────────┐
//!              │ UDP / TCP ──datagrams──▶ ┌───────┐ ──Transmit──▶ UDP / TCP          │
//!              │ sleep_until(deadline) ──▶│ Phone │ ──Emit──────▶ EngineEvent ───────┼──▶
//!              │ pumps ──MediaNote───────▶│ (core)│ ──StartMedia / Media──▶ pumps    │
//!              │ DNS ──addresses─────────▶└───────┘ ──Lookup / BindRtp──▶ DNS, ports │
//!              └────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Each established call gets a media pump (a task on the media thread, so
//! that a SIP flood cannot delay a frame) that owns its RTP/RTCP sockets, a
//! [`switchboard_media::session::RtpSession`] (SRTP when the call is over
//! TLS), and its audio source and sink, paced every 20 ms like a sound
//! card; a three-way conference is mixed in a bridge between two pumps.
//!
//! On a hostile network the driver speaks TLS (rustls) and locates servers
//! by RFC 3263 (hickory), and every channel between its tasks is bounded;
//! the core trusts only its registrar for new calls on the desk, refuses
//! transfers on the headless agent, and retries a failed registration with
//! back-off (see `driver` and `phone::register`).
//!
//! The public interface is typed: [`CallId`] handles, [`events::EventKind`]
//! with [`EndReason`](switchboard_sip::ua::EndReason) and
//! [`CommandError`]; the CLI's `--events` JSON lines are one serialisation
//! of it.

mod driver;
pub mod error;
pub mod events;
pub mod phone;
pub mod settings;

pub use driver::{Engine, EngineHandle};
pub use error::{CommandError, SdpProblem};
pub use events::{EngineEvent, MediaStats};
pub use switchboard_sip::ua::EndReason;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use switchboard_sip::ua::{Backoff, Cidr};

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
    /// Register here, if set. A registrar that is not a SIP URI is an error
    /// at start; one that does not resolve is reported as
    /// `registration_failed` and can be retried ([`Command::Register`]).
    pub account: Option<AccountConfig>,
    /// Codecs in preference order (empty: every codec, best first).
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
    /// How calls are handled: what the desktop and a headless agent do
    /// differently.
    pub policy: Policy,
    /// Where new calls may come from besides the registrar (a PBX's other
    /// addresses, an outbound proxy). See [`Policy::trust_registrar`].
    pub trusted_sources: Vec<Cidr>,
    /// Transfer targets a peer may send us to (`*` any run of characters,
    /// `?` one: `sip:*@pbx.example.com`, `sip:1???@*`); empty: any.
    pub transfer_allow: Vec<String>,
    /// How long to wait before registering again after a failure.
    pub register_retry: Backoff,
    /// CA certificates (PEM) trusted for SIP over TLS besides the system's.
    pub tls_ca_file: Option<PathBuf>,
    /// The DNS server for SIP names (NAPTR, SRV, A/AAAA); `None`: the system's.
    pub dns_server: Option<SocketAddr>,
    /// Our certificate chain (PEM), to serve SIP over TLS on our SIP port
    /// to peers that call us directly; with [`EngineConfig::tls_key`].
    pub tls_certificate: Option<PathBuf>,
    /// The private key (PEM) of [`EngineConfig::tls_certificate`].
    pub tls_key: Option<PathBuf>,
}

impl EngineConfig {
    /// `user` on `bind` with nothing else: no registrar, the default codecs,
    /// no files and no sound card, the headless [`Policy`]. Callers set what
    /// they need on top (`EngineConfig { mic, ..EngineConfig::headless(..) }`).
    pub fn headless(bind: SocketAddr, user: impl Into<String>) -> EngineConfig {
        EngineConfig {
            bind,
            user: user.into(),
            display_name: None,
            account: None,
            codecs: Vec::new(),
            mic: None,
            speaker: None,
            devices: None,
            ringer: None,
            level_meter_ms: None,
            policy: Policy::headless(),
            trusted_sources: Vec::new(),
            transfer_allow: Vec::new(),
            register_retry: Backoff::default(),
            tls_ca_file: None,
            dns_server: None,
            tls_certificate: None,
            tls_key: None,
        }
    }
}

/// The rules the call-control core follows: configuration, not code paths.
/// The desktop and a headless agent (an IVR, a recorder, a load target)
/// differ only here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Answering, placing or resuming a call first holds the one in
    /// progress: an operator has one conversation in hand (the desktop). Off
    /// for a headless agent, which talks on every call at once and holds none
    /// unless told.
    pub hold_others_on_answer: bool,
    /// How many calls at once; one more is answered with `busy_status`.
    pub max_calls: usize,
    /// The status for a call over the limit (486 Busy Here, 600 Busy
    /// Everywhere, 503 Service Unavailable).
    pub busy_status: u16,
    /// What to do when a peer asks us to call someone else (REFER).
    pub transfer: TransferPolicy,
    /// A call offered while another is up plays the call-waiting tone in
    /// it until no call rings (the desktop decides that itself with
    /// [`Command::Ring`]; a CLI operator has nothing else).
    pub call_waiting_tone: bool,
    /// A call we placed hangs up when its file microphone has played to the
    /// end (the CLI's `call --mic FILE`).
    pub hang_up_when_mic_ends: bool,
    /// With an account, new calls come only through the registrar (and
    /// [`EngineConfig::trusted_sources`]): anything else outside a dialog
    /// gets 403 and never rings, and only they may assert an identity. Off:
    /// only the configured sources restrict (none: from anywhere).
    pub trust_registrar: bool,
    /// A call nobody answers is refused (480) after this long.
    pub ring_timeout: Option<Duration>,
    /// An established, unheld call from which no packet comes for this
    /// long is reported (`media_timeout`), and hung up after twice as long.
    pub rtp_timeout: Option<Duration>,
    /// Encrypted media (SRTP keyed by SDES), which is only ever offered or
    /// accepted on a call whose signalling is TLS: SDES keys travel in the
    /// SDP, so over UDP or TCP they would be readable by anyone on the path.
    pub srtp: SrtpPolicy,
}

/// Whether calls' sound is encrypted (SRTP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Never: plain RTP; an offer that insists on SRTP is refused (488).
    Off,
    /// On TLS calls: offered (RTP/AVP with keys, so a peer without SRTP
    /// still answers) and accepted; plain RTP otherwise.
    #[default]
    Optional,
    /// Required: a call that is not over TLS, or whose peer will not key
    /// SRTP, is not made (refused with 488 when it comes in).
    Mandatory,
}

impl SrtpPolicy {
    /// From a configuration word: off, optional or mandatory.
    pub fn from_name(s: &str) -> Option<SrtpPolicy> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" => SrtpPolicy::Off,
            "optional" => SrtpPolicy::Optional,
            "mandatory" => SrtpPolicy::Mandatory,
            _ => return None,
        })
    }
}

impl Policy {
    /// A headless agent: a hundred calls at once, none held unless told,
    /// transfers refused (it has no operator to ask, and a caller's REFER
    /// would dial on the account's credentials), calls from anywhere.
    pub fn headless() -> Policy {
        Policy {
            hold_others_on_answer: false,
            max_calls: 100,
            busy_status: 486,
            transfer: TransferPolicy::Reject,
            call_waiting_tone: false,
            hang_up_when_mic_ends: false,
            trust_registrar: false,
            ring_timeout: Some(switchboard_sip::ua::DEFAULT_RING_TIMEOUT),
            rtp_timeout: Some(DEFAULT_RTP_TIMEOUT),
            srtp: SrtpPolicy::Optional,
        }
    }

    /// An operator's desk: two lines, one call in hand, a transfer request
    /// asked about.
    pub fn desktop() -> Policy {
        Policy {
            hold_others_on_answer: true,
            max_calls: 2,
            busy_status: 486,
            transfer: TransferPolicy::Ask,
            call_waiting_tone: false,
            hang_up_when_mic_ends: false,
            trust_registrar: true,
            ring_timeout: Some(switchboard_sip::ua::DEFAULT_RING_TIMEOUT),
            rtp_timeout: Some(DEFAULT_RTP_TIMEOUT),
            srtp: SrtpPolicy::Optional,
        }
    }
}

/// Default RTP inactivity timeout.
pub const DEFAULT_RTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A call's handle in commands and events (not the SIP Call-ID, which
/// events carry as `call_id`). Serialised as the bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for CallId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(CallId)
    }
}

impl From<switchboard_sip::ua::CallHandle> for CallId {
    fn from(h: switchboard_sip::ua::CallHandle) -> Self {
        CallId(h.0)
    }
}

impl From<CallId> for switchboard_sip::ua::CallHandle {
    fn from(c: CallId) -> Self {
        switchboard_sip::ua::CallHandle(c.0)
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
        call: CallId,
    },
    /// Decline a ringing incoming call with a status (486, 603 ...).
    Reject {
        /// Call handle.
        call: CallId,
        /// Status code.
        status: u16,
    },
    /// Hang up (BYE, CANCEL or decline, as the call's state requires).
    Hangup {
        /// Call handle.
        call: CallId,
    },
    /// Hang up every call.
    HangupAll,
    /// Send DTMF keys (RFC 4733) on a call.
    Dtmf {
        /// Call handle.
        call: CallId,
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
        call: CallId,
        /// Muted or not.
        muted: bool,
    },
    /// Put a call on hold (re-INVITE `sendonly`, or `inactive` when the
    /// peer holds us too); the caller hears the hold tone, not us.
    Hold {
        /// Call handle.
        call: CallId,
    },
    /// Take a call off hold.
    Resume {
        /// Call handle.
        call: CallId,
    },
    /// Blind transfer: ask the peer (REFER) to call `target`; our leg ends
    /// when the transfer succeeds, and the caller stays with us if it fails.
    Transfer {
        /// Call handle.
        call: CallId,
        /// A SIP URI, or a number (dialled at the registrar, or at the peer's host).
        target: String,
    },
    /// Attended transfer, first step: hold `call` and call `target`
    /// (a `consulting` event gives the new call's handle).
    Consult {
        /// The call to transfer.
        call: CallId,
        /// Whom to consult.
        target: String,
    },
    /// Attended transfer, last step: the held caller is connected to the
    /// consulted party (REFER with Replaces); both our legs end on success.
    CompleteTransfer {
        /// The held call.
        call: CallId,
        /// The consultation call.
        consult: CallId,
    },
    /// Three-way conference, mixed here: `call` and `other` come off hold
    /// and each hears the other and us. Hang up either to drop it, or
    /// `CompleteTransfer` to leave the two talking.
    Conference {
        /// One call.
        call: CallId,
        /// The other (usually the consultation).
        other: CallId,
    },
    /// End the consultation and return to the held caller.
    CancelConsult {
        /// The consultation call.
        consult: CallId,
    },
    /// Accept the peer's transfer request (with [`TransferPolicy::Ask`]).
    AcceptTransfer {
        /// Call handle.
        call: CallId,
    },
    /// Refuse the peer's transfer request (with [`TransferPolicy::Ask`]).
    RejectTransfer {
        /// Call handle.
        call: CallId,
    },
    /// What to do when a peer asks us to call someone else (REFER).
    SetTransferPolicy(TransferPolicy),
    /// Use this account from now on (`None`: none). The current binding is
    /// removed and the new account registers at once; a registrar that does
    /// not resolve is a `registration_failed` event, not an error.
    SetAccount(Option<AccountConfig>),
    /// Register the account again now (after a failure: Retry).
    Register,
    /// Watch a colleague's line for the busy lamp (a number at the
    /// registrar, or a SIP URI): `presence` events say idle, ringing or
    /// busy. Needs an account; subscribed once it registers.
    Watch {
        /// The line, as the desk names it (events carry the same text).
        target: String,
    },
    /// Stop watching a line.
    Unwatch {
        /// As given to `Watch`.
        target: String,
    },
    /// A command line as the CLI's standard input takes it (`answer`,
    /// `hold 3`, `transfer sip:carol@pbx` …, see `docs/cli.md`): a call not
    /// named is the newest (for `answer`, the newest ringing; for
    /// `complete-transfer`, `conference` and `cancel-consult`, the newest
    /// consultation), chosen from the core's own calls.
    Line(String),
    /// Hang up everything, unregister, and stop.
    Shutdown,
}

impl fmt::Display for Command {
    /// The command as `command_failed` names it: its CLI spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Call { target, .. } => write!(f, "call {target}"),
            Command::Answer { call } => write!(f, "answer {call}"),
            Command::Reject { call, status } => write!(f, "reject {call} {status}"),
            Command::Hangup { call } => write!(f, "hangup {call}"),
            Command::HangupAll => write!(f, "hangup-all"),
            Command::Dtmf { call, digits } => write!(f, "dtmf {digits} {call}"),
            Command::ListDevices => write!(f, "list-devices"),
            Command::SetDevices { .. } => write!(f, "set-devices"),
            Command::DeviceTest { on } => write!(f, "device-test {}", on_off(*on)),
            Command::Ring { on } => write!(f, "ring {}", on_off(*on)),
            Command::Mute { call, muted: true } => write!(f, "mute {call}"),
            Command::Mute { call, muted: false } => write!(f, "unmute {call}"),
            Command::Hold { call } => write!(f, "hold {call}"),
            Command::Resume { call } => write!(f, "resume {call}"),
            Command::Transfer { call, target } => write!(f, "transfer {target} {call}"),
            Command::Consult { call, target } => write!(f, "consult {target} {call}"),
            Command::CompleteTransfer { call, consult } => {
                write!(f, "complete-transfer {call} {consult}")
            }
            Command::Conference { call, other } => write!(f, "conference {call} {other}"),
            Command::CancelConsult { consult } => write!(f, "cancel-consult {consult}"),
            Command::AcceptTransfer { call } => write!(f, "accept-transfer {call}"),
            Command::RejectTransfer { call } => write!(f, "reject-transfer {call}"),
            Command::SetTransferPolicy(p) => write!(f, "transfer-policy {p:?}"),
            Command::SetAccount(_) => write!(f, "set-account"),
            Command::Register => write!(f, "register"),
            Command::Watch { target } => write!(f, "watch {target}"),
            Command::Unwatch { target } => write!(f, "unwatch {target}"),
            Command::Line(line) => write!(f, "{line}"),
            Command::Shutdown => write!(f, "quit"),
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
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
    /// The TLS configuration cannot be used (the CA file).
    Tls(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Bind(a, e) => write!(f, "cannot bind {a}: {e}"),
            EngineError::BadRegistrar(r) => {
                write!(f, "registrar {r:?} is not a sip: URI with a host")
            }
            EngineError::Runtime(e) => write!(f, "cannot start the engine: {e}"),
            EngineError::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EngineError {}
