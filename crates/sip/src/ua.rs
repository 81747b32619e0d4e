//! The user agent: transactions, dialogs, INVITE sessions and registration
//! behind one sans-IO driver.
//!
//! Run loop (the engine's, or a test's):
//! 1. feed inputs: [`UserAgent::handle_datagram`], [`UserAgent::handle_timeout`],
//!    and commands ([`UserAgent::call`], [`UserAgent::answer`], ...);
//! 2. drain [`UserAgent::poll_transmit`] and [`UserAgent::poll_event`] until `None`;
//! 3. sleep until [`UserAgent::poll_timeout`] or the next datagram, and repeat.
//!
//! ## Modules
//! The split is quinn-proto's endpoint above its connections: a router that
//! only finds where an input belongs, above per-call machines that own their
//! state. This file keeps the public types, the [`UserAgent`] itself, its
//! outputs (`poll_*`) and the plumbing they share (transactions, sending).
//! - `router`: the input side: parses a datagram and finds its transaction,
//!   call or registration; runs the timers of each when they are due.
//! - `checks`: the RFC 3261 §8.2 checks on a new request, in their order and
//!   with the status each gives, and the destinations we never send to.
//! - `registration`: REGISTER, its refresh and digest authentication.
//! - `subscription`: our SUBSCRIBEs to colleagues' dialog state (RFC 6665,
//!   RFC 4235: the busy lamp), their refreshes and NOTIFYs.
//! - `invite`: the INVITE session machine, one `Call` per dialog (`uac`: the
//!   calls we place; `uas`: the calls we receive and requests in a dialog).
//! - `control`: call control inside a dialog: our re-INVITEs with 491 glare
//!   retries, REFER both ways, Replaces.
//! - `timer`: each call's deadlines in one table (`CallTimer`).
//! - `table`: the transactions, found by key and by deadline and never
//!   scanned; the server side capped ([`Config::max_server_transactions`]).
//! - `trust`: the sources that may reach us outside a dialog and assert an
//!   identity ([`Config::trusted`], [`Cidr`]).

mod checks;
mod control;
mod invite;
mod registration;
mod router;
mod subscription;
mod table;
mod timer;
mod trust;

pub use control::{escape_header_value, split_refer_to};
pub use registration::Backoff;
pub use subscription::{
    DEFAULT_SUBSCRIPTION_EXPIRES, DIALOG_EVENT, DIALOG_INFO, SubscriptionHandle, Watch,
};
pub use trust::{Cidr, CidrError};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use self::checks::is_forbidden_destination;
use self::invite::{Call, CallState};
use self::registration::Registration;
use self::subscription::Subscription;
use self::table::{HoldsTx, TxTable};
use crate::dialog::DialogId;
use crate::header::NameAddr;
use crate::message::{Headers, Method, Request, Response, Version, reason_phrase};
use crate::transaction::{Kind, Transaction};
use crate::uri::{Host, SipUri};

/// Transport a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, the transaction layer retransmits.
    Udp,
    /// TCP: reliable, stream-framed.
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2): what `sips:` and `;transport=tls`
    /// ask for, never downgraded.
    Tls,
}

impl Transport {
    /// The transport a SIP URI asks for: TLS for `sips:` and
    /// `;transport=tls`, TCP for `;transport=tcp`, UDP otherwise.
    pub fn of_uri(uri: &SipUri) -> Transport {
        match uri.transport().as_str() {
            "tls" => Transport::Tls,
            "tcp" => Transport::Tcp,
            _ => Transport::Udp,
        }
    }

    /// The port when a URI names none (RFC 3261 §19.1.2): 5061 for TLS.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        }
    }

    fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// Stream transports: the transaction layer does not retransmit.
    pub fn reliable(self) -> bool {
        self != Transport::Udp
    }
}

/// A datagram (or stream message) to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Transport.
    pub transport: Transport,
    /// Where to.
    pub destination: SocketAddr,
    /// The message bytes.
    pub payload: Vec<u8>,
}

/// Our handle for a call (not the SIP Call-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallHandle(pub u64);

impl fmt::Display for CallHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// We hung up an established call.
    LocalHangup,
    /// The peer sent BYE.
    RemoteHangup,
    /// We cancelled an outgoing call before it was answered.
    Cancelled,
    /// The caller cancelled an incoming call before we answered.
    RemoteCancelled,
    /// We declined an incoming call.
    Declined,
    /// The peer refused our call with a final response (status in the event).
    Rejected,
    /// No final response (Timer B), or no ACK for our 2xx.
    Timeout,
    /// The peer did not authenticate us (wrong credentials or foreign realm).
    AuthFailed,
    /// An incoming call rang for the ring timeout and nobody answered (480).
    NoAnswer,
}

impl EndReason {
    /// Stable name for events.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::LocalHangup => "local_hangup",
            EndReason::RemoteHangup => "remote_hangup",
            EndReason::Cancelled => "cancelled",
            EndReason::RemoteCancelled => "remote_cancelled",
            EndReason::Declined => "declined",
            EndReason::Rejected => "rejected",
            EndReason::Timeout => "timeout",
            EndReason::AuthFailed => "auth_failed",
            EndReason::NoAnswer => "no_answer",
        }
    }

    /// The reason named by [`EndReason::as_str`].
    pub fn from_name(s: &str) -> Option<EndReason> {
        const ALL: [EndReason; 9] = [
            EndReason::LocalHangup,
            EndReason::RemoteHangup,
            EndReason::Cancelled,
            EndReason::RemoteCancelled,
            EndReason::Declined,
            EndReason::Rejected,
            EndReason::Timeout,
            EndReason::AuthFailed,
            EndReason::NoAnswer,
        ];
        ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the UA reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The registrar accepted our binding for this many seconds.
    Registered {
        /// Granted expiry.
        expires: u32,
    },
    /// The binding was removed.
    Unregistered,
    /// Registration failed; `status` is the final response, if any.
    RegistrationFailed {
        /// Final status, if one came.
        status: Option<u16>,
        /// What went wrong, in words.
        reason: String,
        /// When it is tried again on its own (see `registration`).
        retry_in: Option<Duration>,
    },
    /// A call arrives. `request` is the whole INVITE (caller context lives in its headers).
    Incoming {
        /// Our handle.
        call: CallHandle,
        /// The INVITE.
        request: Box<Request>,
        /// It carries Replaces naming this call of ours (attended transfer:
        /// answer it and hang up the old one).
        replaces: Option<CallHandle>,
    },
    /// Our outgoing call is ringing (180/183).
    Ringing {
        /// Handle.
        call: CallHandle,
        /// 180 or 183.
        status: u16,
    },
    /// The call is up: 2xx and ACK exchanged.
    Established {
        /// Handle.
        call: CallHandle,
        /// The peer's SDP (answer for our offer, or the offer we answered).
        remote_sdp: Vec<u8>,
    },
    /// The peer sent a new offer in the dialog (re-INVITE or UPDATE: hold,
    /// resume, a new address or codec). Answer it with
    /// [`UserAgent::answer_reoffer`]; until then the request waits.
    Reoffer {
        /// Handle.
        call: CallHandle,
        /// The offered SDP.
        offer: Vec<u8>,
    },
    /// The peer answered our re-INVITE ([`UserAgent::reoffer`]).
    ReofferAnswered {
        /// Handle.
        call: CallHandle,
        /// Its SDP answer.
        answer: Vec<u8>,
    },
    /// The peer refused our re-INVITE; the previous description stays.
    ReofferFailed {
        /// Handle.
        call: CallHandle,
        /// Its final status (408 when it never answered).
        status: u16,
    },
    /// How the transfer we asked for goes: 202 when the REFER is accepted,
    /// then the status of the transfer target's call from each NOTIFY
    /// (100, 180, 200 …). `done` on the last report; success is a 2xx.
    TransferProgress {
        /// Handle of the call we transfer.
        call: CallHandle,
        /// Status.
        status: u16,
        /// No more reports follow.
        done: bool,
    },
    /// The peer asks us to call `target` (we are being transferred). Answer
    /// with [`UserAgent::accept_refer`] or [`UserAgent::reject_refer`].
    Referred {
        /// Handle of the call the REFER came in.
        call: CallHandle,
        /// Whom to call (the Refer-To URI without its headers).
        target: String,
        /// The Replaces header the new INVITE must carry (attended transfer).
        replaces: Option<String>,
        /// Referred-By, to pass on.
        referred_by: Option<String>,
    },
    /// A DTMF key arrived in a SIP INFO request.
    Dtmf {
        /// Handle.
        call: CallHandle,
        /// The key: 0-9, *, #, A-D.
        key: char,
    },
    /// The call is over.
    Ended {
        /// Handle.
        call: CallHandle,
        /// Why.
        reason: EndReason,
        /// The final status that ended it, where one did.
        status: Option<u16>,
    },
    /// The peer never acknowledged our final refusal of its INVITE (Timer H,
    /// 64·T1 after the response: RFC 3261 §17.2.1). The call had ended; the
    /// peer may still think it rings (a broken or overloaded client).
    AckMissing {
        /// The call that was refused, if it got that far.
        call: Option<CallHandle>,
        /// The peer that did not acknowledge.
        peer: SocketAddr,
    },
    /// A subscription is accepted (or refreshed) for this many seconds.
    Subscribed {
        /// Handle.
        subscription: SubscriptionHandle,
        /// Granted expiry.
        expires: u32,
    },
    /// A NOTIFY of a subscription brought a dialog-info body (answered 200
    /// already): parse it with [`crate::dialog_info::DialogInfo::parse`].
    Notified {
        /// Handle.
        subscription: SubscriptionHandle,
        /// The body.
        body: Vec<u8>,
    },
    /// A subscription failed or was ended by the notifier.
    SubscriptionFailed {
        /// Handle.
        subscription: SubscriptionHandle,
        /// The final status, if a response said it.
        status: Option<u16>,
        /// What went wrong, in words.
        reason: String,
        /// When it is tried again; `None`: never (refused for good).
        retry_in: Option<Duration>,
    },
    /// A message was refused before reaching a transaction (our answer, if any, is sent).
    Rejected {
        /// Where it came from.
        source: SocketAddr,
        /// The status we answered, if we could answer.
        status: Option<u16>,
        /// What was wrong.
        error: String,
    },
}

/// Errors from commands: always the caller's misuse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UaError {
    /// No call with this handle (or it has ended).
    UnknownCall,
    /// The call is not in a state where this command applies.
    WrongState,
    /// The target is not a SIP URI.
    NotSipUri,
    /// The call limit is reached.
    TooManyCalls,
    /// A destination is a broadcast or unspecified address.
    ForbiddenDestination,
    /// A request of this kind is still in progress in the call.
    Pending,
}

impl fmt::Display for UaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UaError::UnknownCall => "no such call",
            UaError::WrongState => "command does not apply in the call's state",
            UaError::NotSipUri => "target is not a sip: or sips: URI",
            UaError::TooManyCalls => "call limit reached",
            UaError::ForbiddenDestination => "destination is a broadcast or unspecified address",
            UaError::Pending => "the previous request of this kind is still in progress",
        })
    }
}

impl std::error::Error for UaError {}

/// Static configuration of a user agent.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address we put in Via and Contact.
    pub advertised: SocketAddr,
    /// Our user part; requests for other users get 404.
    pub user: String,
    /// Display name in From.
    pub display_name: Option<String>,
    /// User-Agent / Server header value.
    pub user_agent: String,
    /// How many calls at once; more are answered with `busy_status`.
    pub max_calls: usize,
    /// The status for a call over the limit (486 Busy Here, 600 Busy
    /// Everywhere, 503 Service Unavailable).
    pub busy_status: u16,
    /// Seed for tags, branches and Call-IDs (the engine passes OS randomness).
    pub seed: u64,
    /// At most this many server transactions live at once. When full, the
    /// oldest non-INVITE one makes room; when every one is an INVITE, a new
    /// request gets 503 with Retry-After, statelessly.
    pub max_server_transactions: usize,
    /// An incoming call nobody answers is refused with 480 after this long
    /// (a phantom INVITE that is never cancelled must not hold a line).
    pub ring_timeout: Option<Duration>,
    /// Where requests outside a dialog may come from (the registrar, the
    /// outbound proxy, a PBX's addresses); others get 403 and never ring.
    /// `None`: from anywhere (a lab, a headless agent called directly).
    /// P-Asserted-Identity is believed only from these sources (with
    /// `None`: only from this machine) and removed from other INVITEs
    /// (RFC 3325 §5: it is dropped at the trust boundary).
    pub trusted: Option<Vec<Cidr>>,
}

impl Config {
    /// `user` at `advertised` with the defaults: four calls, 486 when busy,
    /// 4,096 server transactions, a 60 s ring timeout, requests from anywhere.
    pub fn new(advertised: SocketAddr, user: impl Into<String>, seed: u64) -> Config {
        Config {
            advertised,
            user: user.into(),
            display_name: None,
            user_agent: format!("Switchboard/{}", env!("CARGO_PKG_VERSION")),
            max_calls: 4,
            busy_status: 486,
            seed,
            max_server_transactions: DEFAULT_MAX_SERVER_TRANSACTIONS,
            ring_timeout: Some(DEFAULT_RING_TIMEOUT),
            trusted: None,
        }
    }
}

/// Default cap on live server transactions: a flood of 5,000 requests a
/// second keeps under it about a second's worth (a few MB).
pub const DEFAULT_MAX_SERVER_TRANSACTIONS: usize = 4096;

/// Default ring timeout (RFC 3261 leaves it to the UAS; 60 s is what PBXs use).
pub const DEFAULT_RING_TIMEOUT: Duration = Duration::from_secs(60);

/// A registrar account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Registrar URI (Request-URI of REGISTER); its host is the domain of our AOR.
    pub registrar: SipUri,
    /// Where to send REGISTER.
    pub registrar_addr: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// Auth user name (and user part of the AOR).
    pub username: String,
    /// Password.
    pub password: String,
    /// The only realm we answer challenges for; `None`: the registrar's host.
    pub realm: Option<String>,
    /// Requested expiry in seconds.
    pub expires: u32,
    /// How long to wait before trying again after a failure.
    pub retry: Backoff,
}

const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY";
const SUPPORTED_EXT: &[&str] = &["replaces"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Call(CallHandle),
    Register,
    Subscribe(SubscriptionHandle),
    None,
}

#[derive(Debug)]
struct ClientTx {
    tx: Transaction,
    dest: (Transport, SocketAddr),
    owner: Owner,
    request: Request,
}

#[derive(Debug)]
struct ServerTx {
    tx: Transaction,
    dest: (Transport, SocketAddr),
    request: Request,
    call: Option<CallHandle>,
}

impl HoldsTx for ClientTx {
    fn tx(&self) -> &Transaction {
        &self.tx
    }
    fn tx_mut(&mut self) -> &mut Transaction {
        &mut self.tx
    }
}

impl HoldsTx for ServerTx {
    fn tx(&self) -> &Transaction {
        &self.tx
    }
    fn tx_mut(&mut self) -> &mut Transaction {
        &mut self.tx
    }
}

/// A SIP user agent, sans-IO. See the module docs for the run loop.
#[derive(Debug)]
pub struct UserAgent {
    config: Config,
    rng: u64,
    next_call: u64,
    client: TxTable<ClientTx>,
    server: TxTable<ServerTx>,
    calls: HashMap<CallHandle, Call>,
    dialogs: HashMap<DialogId, CallHandle>,
    registration: Option<Registration>,
    subscriptions: HashMap<SubscriptionHandle, Subscription>,
    /// Each subscription's current Call-ID (a NOTIFY finds its subscription by it).
    subscription_calls: HashMap<String, SubscriptionHandle>,
    next_subscription: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// How many refusals were reported in the current second.
    reports: Reports,
}

/// The rate limit of [`Event::Rejected`] (see `router`).
#[derive(Debug, Default)]
struct Reports {
    since: Option<Instant>,
    shown: u32,
    hidden: u32,
}

/// `status` if it is an error (4xx–6xx), else `fallback`: what the caller
/// of a refusing API passed is never sent as a success or a provisional.
pub(crate) fn error_status(status: u16, fallback: u16) -> u16 {
    if (400..700).contains(&status) {
        status
    } else {
        fallback
    }
}

/// Builds a response to `req` (RFC 3261 §8.2.6).
pub fn response_for(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    response_from_headers(&req.headers, status, to_tag)
}

fn response_from_headers(h: &Headers, status: u16, to_tag: Option<&str>) -> Response {
    let mut headers = Headers::new();
    for v in h.get_all("Via") {
        headers.push("Via", v);
    }
    if let Some(f) = h.get("From") {
        headers.push("From", f);
    }
    if let Some(t) = h.get("To") {
        let has_tag = NameAddr::parse(t)
            .ok()
            .and_then(|n| n.tag().map(|_| ()))
            .is_some();
        match to_tag {
            Some(tag) if !has_tag && status > 100 => headers.push("To", format!("{t};tag={tag}")),
            _ => headers.push("To", t),
        }
    }
    if let Some(c) = h.get("Call-ID") {
        headers.push("Call-ID", c);
    }
    if let Some(c) = h.get("CSeq") {
        headers.push("CSeq", c);
    }
    // RFC 3261 §12.1.1: a response that may set up a dialog (an early one
    // with a 1xx, the dialog with a 2xx) carries the request's Record-Route,
    // so the peer routes its in-dialog requests through the same proxies.
    // (Over UDP a missing route set went unnoticed: the peer reached us
    // directly. Over TLS it cannot: we serve no TLS of our own.)
    if (101..300).contains(&status) && to_tag.is_some() {
        for rr in h.get_all("Record-Route") {
            headers.push("Record-Route", rr);
        }
    }
    Response {
        version: Version::SIP_2_0,
        status,
        reason: reason_phrase(status).to_owned(),
        headers,
        body: Vec::new(),
    }
}

fn finish(headers: &mut Headers, body: &[u8], content_type: Option<&str>) {
    if !body.is_empty()
        && let Some(ct) = content_type
    {
        headers.set("Content-Type", ct);
    }
    headers.set("Content-Length", body.len().to_string());
}

impl UserAgent {
    /// A user agent with this configuration.
    pub fn new(config: Config) -> UserAgent {
        UserAgent {
            rng: config.seed ^ 0x5EED_5EED_5EED_5EED,
            config,
            next_call: 1,
            client: TxTable::default(),
            server: TxTable::default(),
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            registration: None,
            subscriptions: HashMap::new(),
            subscription_calls: HashMap::new(),
            next_subscription: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            reports: Reports::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes who may reach us outside a dialog (see [`Config::trusted`]):
    /// the registrar's address is known only once it resolves.
    pub fn set_trusted(&mut self, trusted: Option<Vec<Cidr>>) {
        self.config.trusted = trusted;
    }

    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn token(&mut self) -> String {
        format!("{:016x}", self.random())
    }

    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token())
    }

    fn local_host(&self) -> String {
        Host::from(self.config.advertised.ip()).to_string()
    }

    fn contact(&self, transport: Transport) -> String {
        let t = match transport {
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
            Transport::Udp => "",
        };
        format!(
            "<sip:{}@{}:{}{t}>",
            self.config.user,
            self.local_host(),
            self.config.advertised.port()
        )
    }

    fn via(&self, transport: Transport, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {}:{};branch={branch};rport",
            transport.via_name(),
            self.local_host(),
            self.config.advertised.port()
        )
    }

    /// Number of calls not yet ended.
    pub fn active_calls(&self) -> usize {
        self.calls
            .values()
            .filter(|c| c.state != CallState::Ended)
            .count()
    }

    // ---------------------------------------------------------------- output

    /// Next message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest deadline at which [`UserAgent::handle_timeout`] must run.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = self.client.next_deadline().into_iter();
        let tx = tx.chain(self.server.next_deadline());
        let calls = self.calls.values().filter_map(|c| c.timers.next());
        let reg = self.registration.as_ref().and_then(|r| r.next_deadline());
        let subs = self
            .subscriptions
            .values()
            .filter_map(|s| s.next_deadline());
        tx.chain(calls).chain(reg).chain(subs).min()
    }

    fn send(&mut self, dest: (Transport, SocketAddr), payload: Vec<u8>) {
        if is_forbidden_destination(dest.1.ip()) {
            // RFC 4475 §3.3.10: never transmit to a broadcast address.
            return;
        }
        self.transmits.push_back(Transmit {
            transport: dest.0,
            destination: dest.1,
            payload,
        });
    }

    /// Sends what the transactions touched since the last flush queued
    /// (the others have nothing new: see `table`).
    fn flush_tx(&mut self) {
        let mut out = Vec::new();
        self.client.settle(&mut |t, p| out.push((t.dest, p)));
        self.server.settle(&mut |t, p| out.push((t.dest, p)));
        for (d, p) in out {
            self.send(d, p);
        }
    }

    /// How many server transactions are live (bounded by
    /// [`Config::max_server_transactions`]).
    pub fn server_transactions(&self) -> usize {
        self.server.len()
    }

    fn start_client(
        &mut self,
        now: Instant,
        key: String,
        req: Request,
        dest: (Transport, SocketAddr),
        owner: Owner,
    ) {
        let kind = if req.method == Method::Invite {
            Kind::ClientInvite
        } else {
            Kind::ClientNonInvite
        };
        let tx = Transaction::client(kind, now, req.to_bytes(), dest.0.reliable());
        self.client.insert(
            key,
            ClientTx {
                tx,
                dest,
                owner,
                request: req,
            },
            false,
        );
    }
}
