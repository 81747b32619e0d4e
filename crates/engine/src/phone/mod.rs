//! # The call-control core: sans-IO
//!
//! [`Phone`] owns the [`UserAgent`], every call's state and the [`Policy`].
//! It decides everything the engine decides — which call to hold when
//! another is answered, offer and answer, transfer bookkeeping, consultation
//! and conference — and does no I/O: no sockets, no tokio, no clock. Time
//! comes in with each input; what to do comes out as [`Action`]s.
//!
//! ```text
//!   handle_command(now, Command)          ┌───────────── Phone ─────────────┐
//!   handle_datagram(now, transport, …) ─▶ │ UserAgent ──events──▶ calls      │
//!   handle_timeout(now)                   │   (router, INVITE     (hold,     │ ─▶ poll_action():
//!   handle_lookup(now, id, addr)          │    sessions,           link,     │    Transmit, Emit, Lookup,
//!   handle_rtp(now, slot, port)           │    registration)       transfer) │    BindRtp, StartMedia,
//!   handle_media(now, call, note)         └──────────────────────────────────┘    Media, Ended, Ringer …
//!                                                                               poll_timeout()
//! ```
//!
//! ## Run loop
//!
//! Feed an input, then drain [`Phone::poll_action`] until it returns `None`
//! and sleep until [`Phone::poll_timeout`] (or the next input), then call
//! [`Phone::handle_timeout`]. The tokio driver does exactly that with real
//! sockets; the tests in `crates/engine/tests/` do it with
//! `switchboard_testkit::Sim` in virtual time.
//!
//! Work that needs the outside world is asked for and answered: a host name
//! ([`Action::Lookup`] → [`Phone::handle_lookup`]) and an RTP port pair
//! ([`Action::BindRtp`] → [`Phone::handle_rtp`]). A call's audio is a media
//! pump the driver starts ([`Action::StartMedia`]) and steers
//! ([`Action::Media`]); what it notices comes back through
//! [`Phone::handle_media`].
//!
//! ## Modules
//!
//! - `call`: one call's state — its phase, its [`hold`] state, its link to
//!   other calls — and the borrowed [`call::CallMut`] handle on it.
//! - `hold`: hold and resume as one state machine (live, holding, held,
//!   resuming).
//! - `offer`: offer/answer (RFC 3264) for the first INVITE and re-offers.
//! - `place`: placing a call (next hop, port, INVITE).
//! - `presence`: colleagues' lines watched for the busy lamp (RFC 4235).
//! - `register`: the account and its registrar.
//! - `session`: what the UA reports — calls arriving, coming up, ending.
//! - `transfer`: blind and attended transfer both ways, consultation,
//!   Replaces, the local conference.
//! - `line`: the CLI's text commands, resolved against the core's calls.

mod call;
mod hold;
mod line;
mod offer;
mod place;
mod presence;
mod register;
mod session;
mod transfer;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard_codec::Codec;
use switchboard_media::offer_answer::{LocalMedia, LocalSrtp, Negotiated};
use switchboard_media::srtp::{MasterKey, Suite};
use switchboard_sip::message::Request;
use switchboard_sip::ua::{CallHandle, Config, EndReason, Transmit, Transport, UserAgent};

use crate::error::CommandError;
use crate::events::{EventKind, MediaStats};
use crate::{AccountConfig, CallId, Command, Policy, SrtpPolicy};

use call::{Call, CallMut, Phase};
use place::{Placement, Purpose};
use register::Registration;

pub use register::registrar_uri;

pub use transfer::TransferRequest;

/// How long `Shutdown` waits for BYEs and the unregistration to be answered.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// An RTP/RTCP port pair the driver binds for a call (or a call being
/// placed), until the call's media pump takes it or it is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RtpSlot(u64);

/// A host name the driver resolves for the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LookupId(u64);

/// A local conference: the pumps of its calls share one mixing bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BridgeId(u64);

/// What the core asks the driver to do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Send a SIP message.
    Transmit(Transmit),
    /// Report an event (the driver stamps it with the wall-clock time).
    Emit(EventKind),
    /// Resolve `host` (answer with [`Phone::handle_lookup`]).
    Lookup {
        /// Which lookup.
        id: LookupId,
        /// The host name.
        host: String,
        /// The port the URI names (then only A/AAAA are asked, RFC 3263 §4.2).
        port: Option<u16>,
        /// The transport the URI asks for, or UDP by default.
        transport: switchboard_sip::ua::Transport,
        /// The URI said its transport (`sips:`, `;transport=`): no NAPTR.
        transport_given: bool,
    },
    /// Bind an even RTP port and the RTCP port above it (answer with
    /// [`Phone::handle_rtp`]).
    BindRtp(RtpSlot),
    /// Close a slot's sockets: its call never got media.
    ReleaseRtp(RtpSlot),
    /// Start the call's media pump on the slot's sockets.
    StartMedia {
        /// The call.
        call: CallId,
        /// Its sockets.
        slot: RtpSlot,
        /// What offer/answer settled.
        negotiated: Box<Negotiated>,
        /// Randomness for SSRC, first sequence number and timestamp.
        seed: u64,
    },
    /// Steer a call's running pump.
    Media {
        /// The call.
        call: CallId,
        /// What to do.
        order: MediaOrder,
    },
    /// A call is over: stop its pump (if any) and report `ended` with its
    /// media statistics ([`Ended::event`]).
    Ended(Ended),
    /// Ring the ringer device (`true`) or stop.
    Ringer(bool),
    /// Play ringback on the headset for our call that rings, or stop it.
    Ringback {
        /// The call.
        call: CallId,
        /// Play or stop.
        on: bool,
    },
    /// Work on the sound devices themselves.
    Devices(DeviceRequest),
    /// Everything is hung up and unregistered (or the grace time is over):
    /// the driver reports `stopped` and ends.
    Stopped,
}

/// A call that is over, as [`Action::Ended`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    /// The call.
    pub call: CallId,
    /// Its SIP Call-ID.
    pub call_id: String,
    /// Why.
    pub reason: EndReason,
    /// The final status, where one ended it.
    pub status: Option<u16>,
    /// Calls left.
    pub calls_left: usize,
}

impl Ended {
    /// The `ended` event, with the statistics of the call's pump.
    pub fn event(self, stats: MediaStats) -> EventKind {
        EventKind::Ended {
            call: self.call,
            call_id: self.call_id,
            reason: self.reason,
            status: self.status,
            stats,
            calls_left: self.calls_left,
        }
    }
}

/// An order to a call's media pump.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaOrder {
    /// Send these DTMF keys (RFC 4733), with a feedback tone in our ear.
    Dtmf(String),
    /// The session was renegotiated.
    Update(Box<Negotiated>),
    /// Mute our microphone (or not).
    Mute(bool),
    /// We hold the peer: it hears the hold tune instead of our microphone,
    /// and we no longer hear it (or the reverse).
    HoldTone(bool),
    /// The call-waiting tone in our ear while another call rings (or off).
    Alert(bool),
    /// Join a local conference's bridge (`None`: leave it).
    Conference(Option<BridgeId>),
}

/// Work on the sound devices, which the driver does on its own threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRequest {
    /// Report the devices (`devices` event).
    List,
    /// Use these devices from the next call on.
    Use {
        /// Microphone.
        input: Option<String>,
        /// Speaker.
        output: Option<String>,
        /// Ringer.
        ringer: Option<String>,
    },
    /// Start or stop the headset test.
    Test(bool),
}

/// What a call's media pump noticed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaNote {
    /// The first microphone frame went out and the first speaker frame was
    /// played (wall-clock Unix seconds).
    Started {
        /// When the microphone started.
        mic_start: f64,
        /// When the speaker started.
        speaker_start: f64,
    },
    /// A DTMF key from the peer.
    Dtmf(char),
    /// The file microphone has played to its end.
    MicEnded,
    /// Level meters (dBFS).
    Levels {
        /// What the microphone sends.
        mic_dbfs: f32,
        /// What the speaker plays.
        speaker_dbfs: f32,
    },
    /// The sound card changed (lost, replaced, restored).
    Device(String),
    /// Something went wrong; the call goes on.
    Failed(String),
    /// The pump could not start: the call cannot carry audio and is hung up.
    StartFailed(String),
    /// Nothing has come from the peer for this long although it should be
    /// sending (RTP inactivity).
    Quiet {
        /// Seconds without a packet.
        quiet_s: u64,
    },
    /// Still nothing, twice as long: the call is given up.
    Dead {
        /// Seconds without a packet.
        quiet_s: u64,
    },
    /// Packets come again after [`MediaNote::Quiet`].
    Flowing,
}

/// The registrar's connection closing makes us register again at most this often.
const RECONNECT_GAP: std::time::Duration = std::time::Duration::from_secs(10);

/// A master key from the operating system's CSPRNG (never the core's
/// generator, which only has to be unpredictable enough for tags); `None`
/// if the OS has none, and then SRTP is not offered.
fn fresh_key() -> Option<MasterKey> {
    let mut bytes = [0u8; MasterKey::LEN];
    getrandom::fill(&mut bytes).ok()?;
    Some(MasterKey::from_bytes(bytes))
}

/// What the core needs to start.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// The bound SIP address (reported as `listening`).
    pub local: SocketAddr,
    /// The address put in Via, Contact and SDP.
    pub advertised: SocketAddr,
    /// Our user part.
    pub user: String,
    /// Our display name.
    pub display_name: Option<String>,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// The rules.
    pub policy: Policy,
    /// The account. A registrar given by name is looked up (by the driver,
    /// asynchronously) when the phone starts, and again at each retry.
    pub account: Option<AccountConfig>,
    /// Randomness for the UA's tags and the media.
    pub seed: u64,
    /// Sources trusted besides the registrar.
    pub trusted_sources: Vec<switchboard_sip::ua::Cidr>,
    /// Transfer targets a peer may send us to (empty: any).
    pub transfer_allow: Vec<String>,
    /// Registration retry back-off.
    pub register_retry: switchboard_sip::ua::Backoff,
}

/// What an RTP slot is for.
#[derive(Debug)]
enum SlotFor {
    /// A call being placed.
    Placement(Box<Placement>),
    /// An incoming call waiting for its port before it rings.
    Incoming {
        handle: CallHandle,
        request: Box<Request>,
        replaces: Option<CallHandle>,
    },
}

/// What a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LookupFor {
    Placement(RtpSlot),
    Registrar,
}

/// The output queue every part of the core writes to.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    actions: VecDeque<Action>,
}

impl Outbox {
    pub(crate) fn push(&mut self, a: Action) {
        self.actions.push_back(a);
    }

    pub(crate) fn emit(&mut self, kind: EventKind) {
        self.push(Action::Emit(kind));
    }

    pub(crate) fn fail(&mut self, command: impl Into<String>, error: CommandError) {
        self.emit(EventKind::CommandFailed {
            command: command.into(),
            error,
        });
    }

    pub(crate) fn media(&mut self, call: CallId, order: MediaOrder) {
        self.push(Action::Media { call, order });
    }
}

/// The call-control core. See the [module documentation](self).
#[derive(Debug)]
pub struct Phone {
    ua: UserAgent,
    calls: BTreeMap<CallId, Call>,
    out: Outbox,
    policy: Policy,
    local: SocketAddr,
    advertised: SocketAddr,
    codecs: Vec<Codec>,
    registration: Registration,
    slots: BTreeMap<RtpSlot, SlotFor>,
    lookups: BTreeMap<LookupId, LookupFor>,
    next_id: u64,
    rng: u64,
    /// The call our ringback plays for.
    ringback: Option<CallId>,
    /// The call-waiting tone plays (policy `call_waiting_tone`).
    waiting_tone: bool,
    /// `Shutdown` came: stop by then at the latest.
    stopping: Option<Instant>,
    stopped: bool,
    /// Sources trusted besides the registrar.
    trusted_sources: Vec<switchboard_sip::ua::Cidr>,
    /// Transfer targets a peer may send us to (empty: any).
    transfer_allow: Vec<String>,
    /// Registration retry back-off (also for a registrar that does not resolve).
    register_retry: switchboard_sip::ua::Backoff,
    /// An unresolved registrar is looked up again then.
    resolve_at: Option<Instant>,
    /// Lookups of the registrar that failed in a row.
    resolve_failures: u32,
    /// When the registrar's connection last closed and we registered again.
    reconnected_at: Option<Instant>,
    /// The registrar's other servers (SRV), in the order to try them when
    /// the one in use does not answer or says 503.
    registrar_alternates: Vec<(switchboard_sip::ua::Transport, SocketAddr)>,
    /// Watched lines (busy lamps).
    presence: presence::Presence,
}

impl Phone {
    /// A phone that has not started yet (see [`Phone::start`]).
    pub fn new(config: PhoneConfig) -> Phone {
        let ua = UserAgent::new(Config {
            display_name: config.display_name,
            max_calls: config.policy.max_calls,
            busy_status: config.policy.busy_status,
            ring_timeout: config.policy.ring_timeout,
            ..Config::new(config.advertised, config.user, config.seed)
        });
        let codecs = if config.codecs.is_empty() {
            Codec::ALL.to_vec()
        } else {
            config.codecs
        };
        // The account registers when the phone starts (`register_configured`:
        // an address at once, a name through a lookup, a bad URI reported).
        let registration = config
            .account
            .map_or(Registration::None, Registration::Unresolved);
        let mut phone = Phone {
            ua,
            calls: BTreeMap::new(),
            out: Outbox::default(),
            policy: config.policy,
            local: config.local,
            advertised: config.advertised,
            codecs,
            registration,
            slots: BTreeMap::new(),
            lookups: BTreeMap::new(),
            next_id: 1,
            rng: config.seed ^ 0x9E37_79B9_7F4A_7C15,
            ringback: None,
            waiting_tone: false,
            stopping: None,
            stopped: false,
            trusted_sources: config.trusted_sources,
            transfer_allow: config.transfer_allow,
            register_retry: config.register_retry,
            resolve_at: None,
            resolve_failures: 0,
            reconnected_at: None,
            registrar_alternates: Vec::new(),
            presence: presence::Presence::default(),
        };
        phone.update_trust();
        phone
    }

    /// Reports `listening` and starts registering.
    pub fn start(&mut self, now: Instant) {
        self.out.emit(EventKind::Listening {
            address: self.local.to_string(),
        });
        self.register_configured(now);
        self.settle(now);
    }

    /// The next thing to do.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.actions.pop_front()
    }

    /// When to call [`Phone::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        [self.ua.poll_timeout(), self.stopping, self.resolve_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// Calls in progress (ringing, placed or up).
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Whether the core has stopped (after `Shutdown`).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// A datagram or a framed stream message arrived.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
    ) {
        self.ua.handle_datagram(now, transport, source, bytes);
        self.settle(now);
    }

    /// Time passed (at or after [`Phone::poll_timeout`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
        if self.resolve_at.is_some_and(|at| at <= now) {
            self.resolve_at = None;
            if matches!(self.registration, Registration::Unresolved(_)) {
                self.register_configured(now);
            }
        }
        self.settle(now);
        if self.stopping.is_some_and(|s| now >= s) {
            self.stop();
        }
    }

    /// A stream connection (TCP, TLS) to `peer` is gone. With `error` it
    /// never came up or broke: what was sent on it fails now, with that
    /// reason. The registrar's connection closing under a binding means
    /// calls can no longer reach us on it: register again at once (a new
    /// connection; the back-off applies if that fails).
    pub fn connection_closed(
        &mut self,
        now: Instant,
        transport: switchboard_sip::ua::Transport,
        peer: SocketAddr,
        error: Option<String>,
    ) {
        if let Some(reason) = &error {
            self.ua.transport_failed(now, transport, peer, reason);
        }
        let registrar = match &self.registration {
            Registration::Active(a, _) => a.transport == transport && a.registrar_addr == peer,
            _ => false,
        };
        // At most once in RECONNECT_GAP: a registrar that drops every
        // connection at once must not make us spin; the refresh still comes.
        let recent = self
            .reconnected_at
            .is_some_and(|at| now.saturating_duration_since(at) < RECONNECT_GAP);
        if registrar && error.is_none() && self.ua.is_registered() && !recent {
            self.reconnected_at = Some(now);
            self.ua.register_now(now);
        }
        self.settle(now);
    }

    /// Where the registrar is, once resolved.
    pub fn registrar_addr(&self) -> Option<SocketAddr> {
        match &self.registration {
            Registration::Active(a, _) => Some(a.registrar_addr),
            _ => None,
        }
    }

    /// The way to the registrar came back (a route appeared, the local
    /// address changed): a registration waiting out its back-off is tried
    /// now (RFC 5626 §4.5: on a network change, at once).
    pub fn network_back(&mut self, now: Instant) {
        if self.ua.registration_retry_at().is_some() {
            self.ua.register_now(now);
        } else if self.resolve_at.is_some() {
            self.resolve_at = None;
            self.register_configured(now);
        }
        self.settle(now);
    }

    /// The answer to [`Action::Lookup`]: every target, in the order to try them.
    pub fn handle_lookup(
        &mut self,
        now: Instant,
        id: LookupId,
        targets: Result<Vec<(switchboard_sip::ua::Transport, SocketAddr)>, String>,
    ) {
        match self.lookups.remove(&id) {
            Some(LookupFor::Registrar) => self.registrar_resolved(now, id, targets),
            Some(LookupFor::Placement(slot)) => {
                let first =
                    targets.and_then(|t| t.first().copied().ok_or_else(|| "no address".to_owned()));
                self.placement_resolved(now, slot, first)
            }
            // Given up meanwhile (a new account, a shutdown).
            None => {}
        }
        self.settle(now);
    }

    /// The answer to [`Action::BindRtp`]: the RTP port, or why none could be
    /// bound.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        slot: RtpSlot,
        port: Result<u16, std::io::ErrorKind>,
    ) {
        match (self.slots.get_mut(&slot), port) {
            (Some(SlotFor::Placement(p)), Ok(port)) => {
                p.set_port(port);
                self.place_if_ready(now, slot);
            }
            (Some(SlotFor::Placement(_)), Err(e)) => {
                self.give_up_placement(now, slot, CommandError::NoRtpPort(e));
            }
            (Some(SlotFor::Incoming { .. }), port) => {
                if let Some(SlotFor::Incoming {
                    handle,
                    request,
                    replaces,
                }) = self.slots.remove(&slot)
                {
                    match port {
                        Ok(port) => self.incoming(now, slot, port, handle, &request, replaces),
                        Err(e) => {
                            let _ = self.ua.reject(now, handle, 500);
                            self.out.fail("incoming", CommandError::NoRtpPort(e));
                        }
                    }
                }
            }
            // Given up before the port came: close it again.
            (None, Ok(_)) => self.out.push(Action::ReleaseRtp(slot)),
            (None, Err(_)) => {}
        }
        self.settle(now);
    }

    /// What a call's media pump noticed.
    pub fn handle_media(&mut self, now: Instant, call: CallId, note: MediaNote) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        match note {
            MediaNote::Started {
                mic_start,
                speaker_start,
            } => {
                let (codec, remote) = c
                    .session
                    .negotiated()
                    .map(|n| {
                        (
                            n.codec.to_string(),
                            n.remote.map(|r| r.to_string()).unwrap_or_default(),
                        )
                    })
                    .unwrap_or_default();
                let encrypted = c.session.negotiated().is_some_and(|n| n.srtp.is_some());
                self.out.emit(EventKind::MediaStarted {
                    call,
                    codec,
                    remote,
                    mic_start,
                    speaker_start,
                    encrypted,
                });
            }
            MediaNote::Dtmf(key) => self.out.emit(EventKind::Dtmf {
                call,
                digit: key.to_string(),
            }),
            MediaNote::MicEnded => {
                self.out.emit(EventKind::MicEnded { call });
                if self.policy.hang_up_when_mic_ends && c.outgoing {
                    let _ = self.ua.hangup(now, call.into());
                }
            }
            MediaNote::Levels {
                mic_dbfs,
                speaker_dbfs,
            } => self.out.emit(EventKind::Levels {
                call,
                mic_dbfs,
                speaker_dbfs,
            }),
            MediaNote::Device(message) => self.out.emit(EventKind::AudioDevice {
                call: Some(call),
                message,
            }),
            MediaNote::Failed(e) => self
                .out
                .fail(format!("media {call}"), CommandError::Media(e)),
            MediaNote::StartFailed(e) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.media_started = false;
                }
                let _ = self.ua.hangup(now, call.into());
                self.out
                    .fail(format!("media {call}"), CommandError::Media(e));
            }
            MediaNote::Quiet { quiet_s } => self.out.emit(EventKind::MediaTimeout {
                call,
                quiet_s,
                hanging_up: false,
            }),
            MediaNote::Dead { quiet_s } => {
                self.out.emit(EventKind::MediaTimeout {
                    call,
                    quiet_s,
                    hanging_up: true,
                });
                // The peer is gone (a crashed phone, a broken path): free the line.
                let _ = self.ua.hangup(now, call.into());
            }
            MediaNote::Flowing => self.out.emit(EventKind::MediaResumed { call }),
        }
        self.settle(now);
    }

    /// A command from the application.
    pub fn handle_command(&mut self, now: Instant, c: Command) {
        let what = c.to_string();
        if let Err(e) = self.command(now, c) {
            self.out.fail(what, e);
        }
        self.settle(now);
    }

    fn command(&mut self, now: Instant, c: Command) -> Result<(), CommandError> {
        match c {
            Command::Call { target, headers } => {
                self.hold_others(now, None);
                self.place(now, &target, headers, Purpose::Plain);
                Ok(())
            }
            Command::Answer { call } => {
                let sdp = self.call(call)?.session.local_sdp().to_vec();
                // A second call: the one in progress goes on hold first.
                self.hold_others(now, Some(call));
                self.ua.answer(now, call.into(), sdp)?;
                if let Some(c) = self.calls.get_mut(&call) {
                    c.phase = Phase::Answered;
                }
                Ok(())
            }
            Command::Reject { call, status } => Ok(self.ua.reject(now, call.into(), status)?),
            Command::Hangup { call } => Ok(self.ua.hangup(now, call.into())?),
            Command::HangupAll => {
                self.hang_up_all(now);
                Ok(())
            }
            Command::Dtmf { call, digits } => {
                self.with_media(call)?.order(MediaOrder::Dtmf(digits));
                Ok(())
            }
            Command::Mute { call, muted } => {
                self.with_media(call)?.order(MediaOrder::Mute(muted));
                Ok(())
            }
            Command::Ring { on } => {
                self.ring(on);
                Ok(())
            }
            Command::ListDevices => {
                self.out.push(Action::Devices(DeviceRequest::List));
                Ok(())
            }
            Command::SetDevices {
                input,
                output,
                ringer,
            } => {
                self.out.push(Action::Devices(DeviceRequest::Use {
                    input,
                    output,
                    ringer,
                }));
                Ok(())
            }
            Command::DeviceTest { on } => {
                self.out.push(Action::Devices(DeviceRequest::Test(on)));
                Ok(())
            }
            Command::Hold { call } => self.call_mut(call)?.hold(now),
            Command::Resume { call } => {
                self.call(call)?;
                // Back to a held call: the one in progress waits instead.
                self.hold_others(now, Some(call));
                self.call_mut(call)?.resume(now)
            }
            Command::Transfer { call, target } => self.transfer(now, call, &target),
            Command::Consult { call, target } => self.consult(now, call, &target),
            Command::CompleteTransfer { call, consult } => {
                self.complete_transfer(now, call, consult)
            }
            Command::Conference { call, other } => self.conference(now, call, other),
            Command::CancelConsult { consult } => self.cancel_consult(now, consult),
            Command::AcceptTransfer { call } => self.accept_transfer(now, call),
            Command::RejectTransfer { call } => self.reject_transfer(now, call),
            Command::SetTransferPolicy(p) => {
                self.policy.transfer = p;
                Ok(())
            }
            Command::SetAccount(a) => {
                if self.ua.registration_active() {
                    self.ua.unregister(now);
                }
                if let Registration::Resolving(_, id) = &self.registration {
                    self.lookups.remove(id);
                }
                self.presence_account_changed(now);
                self.registration = match a {
                    Some(a) => Registration::Unresolved(a),
                    None => Registration::None,
                };
                self.register_configured(now);
                // Without an account, lines with an address are watched directly.
                if matches!(self.registration, Registration::None) {
                    self.subscribe_waiting(now);
                }
                Ok(())
            }
            Command::Register => {
                if self.registration.config().is_none() {
                    return Err(CommandError::NoAccount);
                }
                self.register_configured(now);
                Ok(())
            }
            Command::Line(text) => {
                let command = self.read_line(&text)?;
                self.command(now, command)
            }
            Command::Watch { target } => self.watch(now, &target),
            Command::Unwatch { target } => {
                self.unwatch(now, &target);
                Ok(())
            }
            Command::Shutdown => {
                self.begin_shutdown(now);
                Ok(())
            }
        }
    }

    // ------------------------------------------------------------ calls

    fn call(&self, id: CallId) -> Result<&Call, CommandError> {
        self.calls.get(&id).ok_or(CommandError::NoSuchCall)
    }

    /// A short-lived handle on one call and what it may touch.
    fn call_mut(&mut self, id: CallId) -> Result<CallMut<'_>, CommandError> {
        let call = self.calls.get_mut(&id).ok_or(CommandError::NoSuchCall)?;
        Ok(CallMut {
            id,
            call,
            ua: &mut self.ua,
            out: &mut self.out,
        })
    }

    /// [`Phone::call_mut`] for a call whose media runs.
    fn with_media(&mut self, id: CallId) -> Result<CallMut<'_>, CommandError> {
        let c = self.call_mut(id)?;
        if !c.call.media_started {
            return Err(CommandError::NoMedia);
        }
        Ok(c)
    }

    /// Holds every call that is in hand except `except`, when the policy says
    /// one call is in hand at a time.
    fn hold_others(&mut self, now: Instant, except: Option<CallId>) {
        if !self.policy.hold_others_on_answer {
            return;
        }
        let in_hand: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(id, c)| Some(**id) != except && c.media_started && !c.hold.wants_held())
            .map(|(id, _)| *id)
            .collect();
        for id in in_hand {
            if let Err(e) = self.call_mut(id).and_then(|mut c| c.hold(now)) {
                self.out.fail(format!("hold {id}"), e);
            }
        }
    }

    fn hang_up_all(&mut self, now: Instant) {
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            let _ = self.ua.hangup(now, id.into());
        }
        let slots: Vec<RtpSlot> = self.slots.keys().copied().collect();
        for slot in slots {
            match self.slots.remove(&slot) {
                Some(SlotFor::Incoming { handle, .. }) => {
                    let _ = self.ua.reject(now, handle, 503);
                }
                // A call not placed yet is given up; a port it had goes back.
                Some(SlotFor::Placement(p)) if p.has_port() => {
                    self.out.push(Action::ReleaseRtp(slot));
                }
                Some(SlotFor::Placement(_)) | None => {}
            }
        }
        self.lookups.retain(|_, l| *l == LookupFor::Registrar);
    }

    /// Rings (or stops): the call-waiting tone in every call in hand, the
    /// ringer only when no call is (the ringer stays quiet beside a talking
    /// operator).
    fn ring(&mut self, on: bool) {
        let mut in_call = false;
        for (id, c) in &self.calls {
            if c.media_started {
                let alert = on && !c.hold.held_here();
                in_call |= alert;
                self.out.media(*id, MediaOrder::Alert(alert));
            }
        }
        self.out.push(Action::Ringer(on && !in_call));
    }

    /// The call-waiting tone stops when no call rings any more.
    fn ringing_settled(&mut self) {
        if self.waiting_tone && !self.calls.values().any(|c| c.phase == Phase::Offered) {
            self.waiting_tone = false;
            self.ring(false);
        }
    }

    fn ringback(&mut self, call: CallId, on: bool) {
        if on && self.ringback.is_none() {
            self.ringback = Some(call);
            self.out.push(Action::Ringback { call, on: true });
        } else if !on && self.ringback == Some(call) {
            self.ringback = None;
            self.out.push(Action::Ringback { call, on: false });
        }
    }

    /// A number in [0, 1) for jitter (the generator's top 53 bits).
    fn random_unit(&mut self) -> f64 {
        (self.next_random() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The next value of the core's generator (an LCG seeded from the OS by
    /// the driver): SDP session ids and the media's randomness.
    fn next_random(&mut self) -> u64 {
        self.rng = self
            .rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.rng
    }

    /// Our side of a call's media; `secure` when its signalling is TLS,
    /// the only case where SRTP keys are offered (see [`SrtpPolicy`]).
    fn local_media(&mut self, port: u16, secure: bool) -> LocalMedia {
        let session_id = self.next_random() >> 16;
        let mut local =
            LocalMedia::new(self.codecs.clone(), self.advertised.ip(), port, session_id);
        if secure && self.policy.srtp != SrtpPolicy::Off {
            local.srtp = Some(LocalSrtp {
                required: self.policy.srtp == SrtpPolicy::Mandatory,
                keys: Suite::ALL
                    .into_iter()
                    .filter_map(|s| fresh_key().map(|k| (s, k)))
                    .collect(),
            });
        }
        local
    }

    // ------------------------------------------------------------ shutdown

    fn begin_shutdown(&mut self, now: Instant) {
        if self.stopping.is_some() {
            return;
        }
        self.stopping = Some(now + SHUTDOWN_GRACE);
        self.hang_up_all(now);
        self.presence_account_changed(now);
        self.ua.unregister(now);
    }

    fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            self.out.push(Action::Stopped);
        }
    }
}
