//! The user agent: transactions, dialogs, INVITE sessions and registration
//! behind one sans-IO driver.
//!
//! Run loop (the engine's, or a test's):
//! 1. feed inputs: [`UserAgent::handle_datagram`], [`UserAgent::handle_timeout`],
//!    and commands ([`UserAgent::call`], [`UserAgent::answer`], ...);
//! 2. drain [`UserAgent::poll_transmit`] and [`UserAgent::poll_event`] until `None`;
//! 3. sleep until [`UserAgent::poll_timeout`] or the next datagram, and repeat.

mod control;

pub use control::{escape_header_value, split_refer_to};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::auth::{Challenge, DigestClient};
use crate::dialog::{Dialog, DialogId};
use crate::header::{CSeq, NameAddr, Via};
use crate::message::{
    Headers, Message, Method, ParseError, Request, Response, Version, reason_phrase,
    salvage_request_headers,
};
use crate::transaction::{Kind, ResponseAction, T1, T2, Transaction, TxEvent};
use crate::uri::{Host, SipUri, Uri};

/// Transport a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, the transaction layer retransmits.
    Udp,
    /// TCP: reliable, stream-framed.
    Tcp,
}

impl Transport {
    /// The transport a SIP URI asks for (`;transport=tcp`), UDP otherwise.
    pub fn of_uri(uri: &SipUri) -> Transport {
        if uri.transport() == "tcp" {
            Transport::Tcp
        } else {
            Transport::Udp
        }
    }

    fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
    fn reliable(self) -> bool {
        self == Transport::Tcp
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
        }
    }

    /// The reason named by [`EndReason::as_str`].
    pub fn from_name(s: &str) -> Option<EndReason> {
        const ALL: [EndReason; 8] = [
            EndReason::LocalHangup,
            EndReason::RemoteHangup,
            EndReason::Cancelled,
            EndReason::RemoteCancelled,
            EndReason::Declined,
            EndReason::Rejected,
            EndReason::Timeout,
            EndReason::AuthFailed,
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
}

/// A registrar account.
#[derive(Debug, Clone)]
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
}

const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY";
const SUPPORTED_EXT: &[&str] = &["replaces"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Call(CallHandle),
    Register,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallState {
    /// UAC: INVITE sent.
    Calling,
    /// UAC: a provisional response arrived.
    Early,
    /// UAC: we want to cancel as soon as a provisional arrives.
    CancelPending,
    /// UAC: CANCEL sent.
    Cancelling,
    /// UAS: ringing, waiting for the operator.
    Offered,
    /// UAS: 2xx sent, waiting for ACK.
    Answered,
    /// Both sides agree.
    Established,
    /// BYE sent.
    Terminating,
    /// Over; kept a while to absorb retransmissions.
    Ended,
}

/// A 2xx to an INVITE that the UAS core (not the transaction) re-sends,
/// doubling from T1 to T2, until the ACK comes or 64·T1 pass
/// (RFC 3261 §13.3.1.4).
#[derive(Debug, Clone)]
struct OkRetransmit {
    bytes: Vec<u8>,
    /// The next re-send; `None` on a reliable transport.
    next: Option<Instant>,
    interval: Duration,
    give_up: Instant,
}

/// What an [`OkRetransmit`] wants at `now`.
enum OkDue {
    Nothing,
    Resend(Vec<u8>),
    GiveUp,
}

impl OkRetransmit {
    fn new(now: Instant, bytes: Vec<u8>, reliable: bool) -> OkRetransmit {
        OkRetransmit {
            bytes,
            next: (!reliable).then(|| now + T1),
            interval: T1,
            give_up: now + 64 * T1,
        }
    }

    fn deadline(&self) -> Instant {
        self.next.map_or(self.give_up, |n| n.min(self.give_up))
    }

    fn due(&mut self, now: Instant) -> OkDue {
        if self.give_up <= now {
            return OkDue::GiveUp;
        }
        match self.next {
            Some(n) if n <= now => {
                self.interval = (self.interval * 2).min(T2);
                self.next = Some(now + self.interval);
                OkDue::Resend(self.bytes.clone())
            }
            _ => OkDue::Nothing,
        }
    }
}

#[derive(Debug)]
struct Call {
    state: CallState,
    uac: bool,
    call_id: String,
    local_tag: String,
    dialog: Option<Dialog>,
    peer: (Transport, SocketAddr),
    /// UAC: the INVITE as sent (for CANCEL and ACK); UAS: the INVITE received.
    invite: Request,
    invite_key: String,
    local_sdp: Vec<u8>,
    remote_sdp: Vec<u8>,
    auth_tries: u8,
    /// UAS: our 2xx to the INVITE, re-sent until the ACK (RFC 3261 §13.3.1.4).
    ok: Option<OkRetransmit>,
    /// Our 2xx to the peer's re-INVITE, re-sent until its ACK, with that
    /// INVITE's CSeq: the same duty, for the session's later offers.
    reoffer_ok: Option<(u32, OkRetransmit)>,
    /// UAC: the ACK for the 2xx, re-sent on 2xx retransmissions.
    ack: Option<Vec<u8>>,
    /// The ACK for our latest re-INVITE's 2xx, with that INVITE's CSeq.
    reack: Option<(u32, Vec<u8>)>,
    linger_until: Option<Instant>,
    /// A re-INVITE/UPDATE with an offer, waiting for `answer_reoffer`:
    /// its server transaction key and the request.
    reoffer: Option<(String, Request)>,
    /// Our own re-INVITE (hold, resume) in flight or waiting after a 491.
    local_reoffer: Option<control::LocalReoffer>,
    /// Our REFER (we transfer the peer) and its subscription.
    refer_out: Option<control::ReferOut>,
    /// The peer's REFER (it transfers us).
    refer_in: Option<control::ReferIn>,
}

impl Call {
    /// A call with nothing negotiated yet and no 2xx/ACK bookkeeping.
    fn new(
        state: CallState,
        uac: bool,
        call_id: String,
        local_tag: String,
        peer: (Transport, SocketAddr),
        invite: Request,
        invite_key: String,
    ) -> Call {
        Call {
            state,
            uac,
            call_id,
            local_tag,
            dialog: None,
            peer,
            invite,
            invite_key,
            local_sdp: Vec::new(),
            remote_sdp: Vec::new(),
            auth_tries: 0,
            ok: None,
            reoffer_ok: None,
            ack: None,
            reack: None,
            linger_until: None,
            reoffer: None,
            local_reoffer: None,
            refer_out: None,
            refer_in: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegState {
    Idle,
    Registering,
    Registered,
    Unregistering,
    Failed,
}

#[derive(Debug)]
struct Registration {
    account: Account,
    state: RegState,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestClient,
    auth_failures: u8,
    expires: u32,
    refresh_at: Option<Instant>,
}

/// A SIP user agent, sans-IO. See the module docs for the run loop.
#[derive(Debug)]
pub struct UserAgent {
    config: Config,
    rng: u64,
    next_call: u64,
    client: HashMap<String, ClientTx>,
    server: HashMap<String, ServerTx>,
    calls: HashMap<CallHandle, Call>,
    dialogs: HashMap<DialogId, CallHandle>,
    registration: Option<Registration>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

fn is_forbidden_destination(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_broadcast() || a.is_unspecified() || a.is_multicast(),
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
    }
}

/// The transaction key of a request (RFC 3261 §17.2.3), with the RFC 2543
/// fallback when the branch lacks the magic cookie.
fn server_key(req: &Request, via: &Via) -> String {
    let method = match req.method {
        Method::Ack => "INVITE".to_owned(),
        ref m => m.as_str().to_owned(),
    };
    let sent_by = format!("{}:{}", via.host, via.port.unwrap_or(5060));
    if via.has_rfc3261_branch() {
        format!("{}|{}|{}", via.branch().unwrap_or(""), sent_by, method)
    } else {
        let from_tag = req
            .from()
            .ok()
            .and_then(|f| f.tag().map(str::to_owned))
            .unwrap_or_default();
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        format!(
            "2543|{}|{}|{}|{}|{}",
            req.call_id(),
            from_tag,
            seq,
            sent_by,
            method
        )
    }
}

fn client_key(branch: &str, method: &Method) -> String {
    let m = if *method == Method::Ack {
        &Method::Invite
    } else {
        method
    };
    format!("{branch}|{m}")
}

/// Where a response to `req` goes (RFC 3261 §18.2.2, RFC 3581).
fn response_destination(via: &Via, transport: Transport, source: SocketAddr) -> SocketAddr {
    if transport.reliable() {
        return source;
    }
    if via.rport().is_some() {
        return source;
    }
    let port = via.port.unwrap_or(5060);
    SocketAddr::new(source.ip(), port)
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

/// The key of a DTMF INFO body: `application/dtmf-relay` (`Signal=5`) or
/// `application/dtmf` (`5`).
fn info_dtmf(req: &Request) -> Option<char> {
    let ct = req.headers.get("Content-Type")?.to_ascii_lowercase();
    let body = std::str::from_utf8(&req.body).ok()?;
    let raw = if ct.starts_with("application/dtmf-relay") {
        body.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?
    } else if ct.starts_with("application/dtmf") {
        body.trim()
    } else {
        return None;
    };
    let key = match raw {
        "10" => '*',
        "11" => '#',
        _ => {
            let mut chars = raw.chars();
            let c = chars.next()?.to_ascii_uppercase();
            if chars.next().is_some() {
                return None;
            }
            c
        }
    };
    matches!(key, '0'..='9' | '*' | '#' | 'A'..='D').then_some(key)
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

fn dest_of(uri: &Uri, fallback: (Transport, SocketAddr)) -> (Transport, SocketAddr) {
    let Some(sip) = uri.as_sip() else {
        return fallback;
    };
    let transport = Transport::of_uri(sip);
    match sip.host.ip() {
        // maddr and DNS resolution are not done in the sans-IO core: a host
        // name falls back to the address the dialog was set up through.
        Some(ip) => (transport, SocketAddr::new(ip, sip.port.unwrap_or(5060))),
        None => fallback,
    }
}

impl UserAgent {
    /// A user agent with this configuration.
    pub fn new(config: Config) -> UserAgent {
        UserAgent {
            rng: config.seed ^ 0x5EED_5EED_5EED_5EED,
            config,
            next_call: 1,
            client: HashMap::new(),
            server: HashMap::new(),
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            registration: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
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
        let t = if transport == Transport::Tcp {
            ";transport=tcp"
        } else {
            ""
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
        let tx = self
            .client
            .values()
            .filter_map(|t| t.tx.poll_timeout())
            .chain(self.server.values().filter_map(|t| t.tx.poll_timeout()));
        let calls = self
            .calls
            .values()
            .flat_map(|c| {
                [
                    c.ok.as_ref().map(OkRetransmit::deadline),
                    c.reoffer_ok.as_ref().map(|(_, o)| o.deadline()),
                    c.linger_until,
                ]
            })
            .flatten();
        let reg = self.registration.as_ref().and_then(|r| r.refresh_at);
        tx.chain(calls)
            .chain(reg)
            .chain(self.control_deadlines())
            .min()
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

    fn flush_tx(&mut self) {
        let mut out = Vec::new();
        for t in self.client.values_mut() {
            while let Some(p) = t.tx.poll_transmit() {
                out.push((t.dest, p));
            }
        }
        for t in self.server.values_mut() {
            while let Some(p) = t.tx.poll_transmit() {
                out.push((t.dest, p));
            }
        }
        for (d, p) in out {
            self.send(d, p);
        }
    }

    // ---------------------------------------------------------------- input

    /// A datagram (or a framed stream message) arrived from `source`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
    ) {
        match Message::parse(bytes) {
            Ok(Message::Request(req)) => self.handle_request(now, transport, source, req),
            Ok(Message::Response(resp)) => self.handle_response(now, resp),
            Err(e) => self.reject_unparsable(transport, source, bytes, &e),
        }
        self.flush_tx();
    }

    fn reject_unparsable(
        &mut self,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
        e: &ParseError,
    ) {
        let status = salvage_request_headers(bytes).map(|h| {
            let first = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
            let first = String::from_utf8_lossy(first);
            let version = first.trim_end().rsplit(' ').next().unwrap_or("");
            let status = if version.starts_with("SIP/") && version != "SIP/2.0" {
                505
            } else {
                400
            };
            let mut resp = response_from_headers(&h, status, None);
            resp.reason = match status {
                505 => reason_phrase(505).to_owned(),
                _ => format!("Bad Request ({e})"),
            };
            finish(&mut resp.headers, &[], None);
            let dest = h
                .list("Via")
                .next()
                .and_then(|v| Via::parse(v).ok())
                .map(|v| response_destination(&v, transport, source))
                .unwrap_or(source);
            self.send((transport, dest), resp.to_bytes());
            status
        });
        self.events.push_back(Event::Rejected {
            source,
            status,
            error: e.to_string(),
        });
    }

    fn respond(
        &mut self,
        now: Instant,
        key: &str,
        resp: &mut Response,
        body: &[u8],
        ct: Option<&str>,
    ) {
        resp.headers.push("Server", self.config.user_agent.clone());
        resp.body = body.to_vec();
        finish(&mut resp.headers, body, ct);
        if let Some(st) = self.server.get_mut(key) {
            st.tx.send_response(now, resp.status, resp.to_bytes());
        }
    }

    /// Answers statelessly-looking but through a server transaction, so that
    /// retransmissions of the request get the same answer.
    fn answer_simple(&mut self, now: Instant, key: &str, status: u16, extra: &[(&str, String)]) {
        let Some(request) = self.server.get(key).map(|s| s.request.clone()) else {
            return;
        };
        let tag = self.token();
        let mut resp = response_for(&request, status, Some(&tag));
        for (n, v) in extra {
            resp.headers.push(*n, v.clone());
        }
        self.respond(now, key, &mut resp, &[], None);
    }

    fn handle_request(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        req: Request,
    ) {
        let Ok(via) = req.top_via() else { return };
        let dest = (transport, response_destination(&via, transport, source));
        let key = server_key(&req, &via);

        // Retransmission, or the ACK / CANCEL of an existing transaction.
        if let Some(st) = self.server.get_mut(&key) {
            match req.method {
                Method::Ack => st.tx.handle_ack(now),
                _ => st.tx.handle_retransmitted_request(),
            }
            return;
        }
        if req.method == Method::Ack {
            self.handle_ack(now, &req);
            return;
        }
        if req.method == Method::Cancel {
            self.handle_cancel(now, dest, &req, &via);
            return;
        }
        let kind = if req.method == Method::Invite {
            Kind::ServerInvite
        } else {
            Kind::ServerNonInvite
        };
        self.server.insert(
            key.clone(),
            ServerTx {
                tx: Transaction::server(kind, transport.reliable()),
                dest,
                request: req.clone(),
                call: None,
            },
        );

        if let Some(status) = self.precheck(&req) {
            let extra: Vec<(&str, String)> = match status {
                405 => vec![("Allow", ALLOW.to_owned())],
                415 => vec![
                    (
                        "Accept",
                        if req.method == Method::Info {
                            "application/sdp, application/dtmf-relay, application/dtmf"
                        } else {
                            "application/sdp"
                        }
                        .to_owned(),
                    ),
                    ("Accept-Encoding", "identity".to_owned()),
                ],
                420 => {
                    let unsupported: Vec<&str> = req
                        .headers
                        .list("Require")
                        .filter(|t| {
                            !t.is_empty()
                                && !SUPPORTED_EXT.iter().any(|s| s.eq_ignore_ascii_case(t))
                        })
                        .collect();
                    vec![("Unsupported", unsupported.join(", "))]
                }
                _ => vec![],
            };
            self.answer_simple(now, &key, status, &extra);
            return;
        }

        // In-dialog requests.
        let to_tag = req.to().ok().and_then(|t| t.tag().map(str::to_owned));
        if let Some(to_tag) = to_tag {
            self.handle_in_dialog(now, &key, &req, &to_tag);
            return;
        }

        match req.method {
            Method::Invite => self.handle_invite(now, &key, dest, req),
            Method::Options => {
                let extra = vec![
                    ("Allow", ALLOW.to_owned()),
                    ("Accept", "application/sdp".to_owned()),
                    ("Supported", String::new()),
                ];
                self.answer_simple(now, &key, 200, &extra);
            }
            // No dialog, no subscription: nothing to act on.
            Method::Bye | Method::Info | Method::Update | Method::Notify | Method::Refer => {
                self.answer_simple(now, &key, 481, &[])
            }
            _ => self.answer_simple(now, &key, 405, &[("Allow", ALLOW.to_owned())]),
        }
    }

    /// RFC 3261 §8.2 checks, in its order. Returns the status to answer with.
    fn precheck(&self, req: &Request) -> Option<u16> {
        if req.version != Version::SIP_2_0 {
            return Some(505);
        }
        // §8.2.1 method inspection.
        match req.method {
            Method::Extension(_) => return Some(501),
            Method::Register
            | Method::Subscribe
            | Method::Message
            | Method::Publish
            | Method::Prack => {
                return Some(405);
            }
            _ => {}
        }
        // §8.2.2.1 To and Request-URI.
        let Uri::Sip(uri) = &req.uri else {
            return Some(416);
        };
        let in_dialog = req.to().ok().is_some_and(|t| t.tag().is_some());
        if !in_dialog
            && let Some(user) = uri.user_unescaped()
            && user != self.config.user
        {
            return Some(404);
        }
        // §8.2.2.3 Require.
        let unknown_required = req
            .headers
            .list("Require")
            .any(|t| !t.is_empty() && !SUPPORTED_EXT.iter().any(|s| s.eq_ignore_ascii_case(t)));
        if unknown_required && req.method != Method::Ack && req.method != Method::Cancel {
            return Some(420);
        }
        // §8.2.3 content processing.
        if !req.body.is_empty() {
            let ct = req.headers.get("Content-Type").unwrap_or("");
            let mime = ct.split(';').next().unwrap_or("").trim();
            let ok = mime.eq_ignore_ascii_case("application/sdp")
                || (req.method == Method::Info
                    && (mime.eq_ignore_ascii_case("application/dtmf-relay")
                        || mime.eq_ignore_ascii_case("application/dtmf")))
                || (req.method == Method::Notify && mime.eq_ignore_ascii_case("message/sipfrag"))
                || req.method != Method::Invite && mime.is_empty();
            if !ok {
                return Some(415);
            }
        }
        if req.method == Method::Invite && req.headers.count("Accept") > 0 {
            let sdp_ok = req.headers.list("Accept").any(|a| {
                let m = a.split(';').next().unwrap_or("").trim();
                m.eq_ignore_ascii_case("application/sdp")
                    || m == "*/*"
                    || m.eq_ignore_ascii_case("application/*")
            });
            if !sdp_ok {
                return Some(406);
            }
        }
        None
    }

    fn handle_invite(
        &mut self,
        now: Instant,
        key: &str,
        dest: (Transport, SocketAddr),
        req: Request,
    ) {
        // Replaces (RFC 3891): the call it names must exist; it may take
        // that call's place even at the call limit.
        let replaces = match self.match_replaces(&req) {
            Some(Ok(h)) => Some(h),
            Some(Err(status)) => {
                self.answer_simple(now, key, status, &[]);
                return;
            }
            None => None,
        };
        if replaces.is_none() && self.active_calls() >= self.config.max_calls {
            let busy = self.config.busy_status;
            self.answer_simple(now, key, busy, &[]);
            return;
        }
        let local_tag = self.token();
        let Some(dialog) = Dialog::from_uas(&req, &local_tag) else {
            // No usable Contact: we could never reach the caller in the dialog.
            self.answer_simple(now, key, 400, &[]);
            return;
        };
        let handle = CallHandle(self.next_call);
        self.next_call += 1;
        let mut trying = response_for(&req, 100, None);
        self.respond(now, key, &mut trying, &[], None);
        let mut ringing = response_for(&req, 180, Some(&local_tag));
        ringing.headers.push("Contact", self.contact(dest.0));
        self.respond(now, key, &mut ringing, &[], None);
        if let Some(st) = self.server.get_mut(key) {
            st.call = Some(handle);
        }
        self.dialogs.insert(dialog.id.clone(), handle);
        let mut call = Call::new(
            CallState::Offered,
            false,
            req.call_id().to_owned(),
            local_tag,
            dest,
            req.clone(),
            key.to_owned(),
        );
        call.dialog = Some(dialog);
        call.remote_sdp = req.body.clone();
        self.calls.insert(handle, call);
        self.events.push_back(Event::Incoming {
            call: handle,
            request: Box::new(req),
            replaces,
        });
    }

    fn handle_cancel(
        &mut self,
        now: Instant,
        dest: (Transport, SocketAddr),
        req: &Request,
        via: &Via,
    ) {
        // The CANCEL matches the INVITE server transaction with the same branch.
        let mut invite = req.clone();
        invite.method = Method::Invite;
        let ikey = server_key(&invite, via);
        let call = self.server.get(&ikey).and_then(|s| s.call);
        let mut resp = response_for(req, if call.is_some() { 200 } else { 481 }, None);
        resp.headers.push("Server", self.config.user_agent.clone());
        finish(&mut resp.headers, &[], None);
        self.send(dest, resp.to_bytes());
        let Some(handle) = call else { return };
        if self
            .calls
            .get(&handle)
            .is_some_and(|c| c.state == CallState::Offered)
        {
            let tag = self.calls.get(&handle).map(|c| c.local_tag.clone());
            // The 487 answers the INVITE: its CSeq, not the CANCEL's.
            let Some(original) = self.server.get(&ikey).map(|s| s.request.clone()) else {
                return;
            };
            let mut r = response_for(&original, 487, tag.as_deref());
            self.respond(now, &ikey, &mut r, &[], None);
            self.end_call(now, handle, EndReason::RemoteCancelled, None);
        }
    }

    fn handle_ack(&mut self, now: Instant, req: &Request) {
        let Some(id) = Self::dialog_id_of_request(req) else {
            return;
        };
        let Some(&handle) = self.dialogs.get(&id) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let seq = req.cseq().map(|c| c.seq).ok();
        if call
            .reoffer_ok
            .as_ref()
            .is_some_and(|(s, _)| Some(*s) == seq)
        {
            // The ACK for our answer to a re-INVITE.
            call.reoffer_ok = None;
            return;
        }
        if call.state == CallState::Answered {
            call.ok = None;
            call.state = CallState::Established;
            if !req.body.is_empty() {
                call.remote_sdp = req.body.clone();
            }
            let remote_sdp = call.remote_sdp.clone();
            self.events.push_back(Event::Established {
                call: handle,
                remote_sdp,
            });
        }
        let _ = now;
    }

    fn dialog_id_of_request(req: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.call_id().to_owned(),
            local_tag: req.to().ok()?.tag()?.to_owned(),
            remote_tag: req.from().ok()?.tag().unwrap_or("").to_owned(),
        })
    }

    fn handle_in_dialog(&mut self, now: Instant, key: &str, req: &Request, _to_tag: &str) {
        let handle = Self::dialog_id_of_request(req).and_then(|id| self.dialogs.get(&id).copied());
        let Some(handle) = handle else {
            self.answer_simple(now, key, 481, &[]);
            return;
        };
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        let in_order = self
            .calls
            .get_mut(&handle)
            .and_then(|c| c.dialog.as_mut())
            .is_some_and(|d| d.accept_remote_seq(seq));
        if !in_order {
            self.answer_simple(now, key, 500, &[]);
            return;
        }
        match req.method {
            Method::Bye => {
                self.answer_simple(now, key, 200, &[]);
                let live = self
                    .calls
                    .get(&handle)
                    .is_some_and(|c| c.state != CallState::Ended);
                if live {
                    self.end_call(now, handle, EndReason::RemoteHangup, None);
                }
            }
            Method::Invite | Method::Update => {
                // A target refresh, and with a body a new offer the application answers.
                // RFC 3261 §14.2: an offer is already pending, theirs or ours
                // (glare: both re-INVITEs get 491 and are retried later).
                let busy = self.calls.get(&handle).is_some_and(|c| {
                    c.reoffer.is_some() || c.local_reoffer.as_ref().is_some_and(|r| r.seq.is_some())
                });
                if busy {
                    self.answer_simple(now, key, 491, &[]);
                    return;
                }
                if !req.body.is_empty() {
                    if let Some(c) = self.calls.get_mut(&handle) {
                        if let Some(d) = c.dialog.as_mut() {
                            d.refresh_target(&req.headers);
                        }
                        c.remote_sdp = req.body.clone();
                        c.reoffer = Some((key.to_owned(), req.clone()));
                    }
                    self.events.push_back(Event::Reoffer {
                        call: handle,
                        offer: req.body.clone(),
                    });
                    return;
                }
                let (sdp, transport) = match self.calls.get_mut(&handle) {
                    Some(c) => {
                        if let Some(d) = c.dialog.as_mut() {
                            d.refresh_target(&req.headers);
                        }
                        (c.local_sdp.clone(), c.peer.0)
                    }
                    None => (Vec::new(), Transport::Udp),
                };
                let tag = self.calls.get(&handle).map(|c| c.local_tag.clone());
                let mut resp = response_for(req, 200, tag.as_deref());
                resp.headers.push("Contact", self.contact(transport));
                self.respond(now, key, &mut resp, &sdp, Some("application/sdp"));
            }
            Method::Info => {
                // DTMF over SIP INFO (application/dtmf-relay or application/dtmf),
                // the fallback for peers without RFC 4733.
                if let Some(key) = info_dtmf(req) {
                    self.events.push_back(Event::Dtmf { call: handle, key });
                }
                self.answer_simple(now, key, 200, &[]);
            }
            Method::Options => self.answer_simple(now, key, 200, &[]),
            Method::Notify => self.handle_notify(now, key, handle, req),
            Method::Refer => self.handle_refer(now, key, handle, req),
            _ => self.answer_simple(now, key, 405, &[("Allow", ALLOW.to_owned())]),
        }
    }

    fn handle_response(&mut self, now: Instant, resp: Response) {
        let Ok(via) = resp.top_via() else { return };
        let Ok(cseq) = resp.cseq() else { return };
        let Some(branch) = via.branch() else { return };
        let key = client_key(branch, &cseq.method);
        let Some(ct) = self.client.get_mut(&key) else {
            return; // stray response (RFC 3261 §18.1.2): drop it
        };
        let status = resp.status;
        let req = ct.request.clone();
        let dest = ct.dest;
        let action = ct
            .tx
            .handle_response(now, status, || build_ack_for_non_2xx(&req, &resp));
        let owner = ct.owner;
        if action == ResponseAction::Absorb {
            return;
        }
        match owner {
            Owner::Call(h) => self.call_response(now, h, &req, &resp, dest),
            Owner::Register => self.register_response(now, &resp),
            Owner::None => {}
        }
    }

    // ---------------------------------------------------------------- timers

    /// Runs everything due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut fired = Vec::new();
        for t in self.client.values_mut() {
            if t.tx.poll_timeout().is_some_and(|d| d <= now) {
                t.tx.handle_timeout(now);
            }
            while let Some(e) = t.tx.poll_event() {
                fired.push((
                    t.owner,
                    t.request.method.clone(),
                    t.request.call_id().to_owned(),
                    e,
                ));
            }
        }
        let mut no_ack = Vec::new();
        for t in self.server.values_mut() {
            if t.tx.poll_timeout().is_some_and(|d| d <= now) {
                t.tx.handle_timeout(now);
            }
            while let Some(e) = t.tx.poll_event() {
                if e == TxEvent::NoAck {
                    no_ack.push((t.call, t.dest.1));
                }
            }
        }
        self.flush_tx();
        for (owner, method, call_id, _) in fired {
            match owner {
                Owner::Call(h) if method == Method::Invite && self.reinvite_timed_out(now, h) => {}
                Owner::Call(h) if method == Method::Refer => self.refer_timed_out(h),
                Owner::Call(h) if method == Method::Invite => {
                    let state = self.calls.get(&h).map(|c| c.state);
                    let reason = match state {
                        Some(CallState::Cancelling) => EndReason::Cancelled,
                        _ => EndReason::Timeout,
                    };
                    self.end_call(now, h, reason, Some(408));
                }
                Owner::Call(h) if method == Method::Bye => {
                    if let Some(c) = self.calls.get_mut(&h) {
                        c.linger_until = Some(now);
                    }
                }
                Owner::Register
                    if self
                        .registration
                        .as_ref()
                        .is_some_and(|r| r.call_id == call_id) =>
                {
                    self.registration_failed(Some(408), "registrar did not answer".to_owned())
                }
                _ => {}
            }
        }
        for (call, peer) in no_ack {
            self.events.push_back(Event::AckMissing { call, peer });
        }
        self.client.retain(|_, t| !t.tx.is_terminated());
        self.server.retain(|_, t| !t.tx.is_terminated());

        // UAS 2xx retransmission (RFC 3261 §13.3.1.4).
        let mut give_up = Vec::new();
        let mut resend = Vec::new();
        for (h, c) in self.calls.iter_mut() {
            let first = c.ok.as_mut().map(|o| o.due(now));
            let later = c.reoffer_ok.as_mut().map(|(_, o)| o.due(now));
            if matches!(first, Some(OkDue::GiveUp)) {
                c.ok = None;
            }
            if matches!(later, Some(OkDue::GiveUp)) {
                c.reoffer_ok = None;
            }
            for due in [first, later].into_iter().flatten() {
                match due {
                    OkDue::Nothing => {}
                    OkDue::Resend(bytes) => resend.push((c.peer, bytes)),
                    OkDue::GiveUp => give_up.push(*h),
                }
            }
        }
        for (d, p) in resend {
            self.send(d, p);
        }
        for h in give_up {
            // No ACK: the session is not established; BYE it (§13.3.1.4).
            self.send_bye(now, h);
            self.end_call(now, h, EndReason::Timeout, None);
        }
        let expired: Vec<CallHandle> = self
            .calls
            .iter()
            .filter(|(_, c)| c.linger_until.is_some_and(|d| d <= now))
            .map(|(h, _)| *h)
            .collect();
        for h in expired {
            if let Some(c) = self.calls.remove(&h)
                && let Some(d) = c.dialog
            {
                self.dialogs.remove(&d.id);
            }
        }
        self.control_timeouts(now);
        if let Some(r) = self.registration.as_mut()
            && r.refresh_at.is_some_and(|d| d <= now)
        {
            r.refresh_at = None;
            self.send_register(now, false);
        }
        self.flush_tx();
    }

    // ---------------------------------------------------------------- calls

    /// Places a call to `target` through `next_hop`, offering `sdp`.
    /// `extra_headers` are added to the INVITE as given.
    pub fn call(
        &mut self,
        now: Instant,
        target: Uri,
        next_hop: (Transport, SocketAddr),
        sdp: Vec<u8>,
        extra_headers: &[(String, String)],
    ) -> Result<CallHandle, UaError> {
        if target.as_sip().is_none() {
            return Err(UaError::NotSipUri);
        }
        if is_forbidden_destination(next_hop.1.ip()) {
            return Err(UaError::ForbiddenDestination);
        }
        if self.active_calls() >= self.config.max_calls {
            return Err(UaError::TooManyCalls);
        }
        let handle = CallHandle(self.next_call);
        self.next_call += 1;
        let call_id = format!("{}@{}", self.token(), self.local_host());
        let local_tag = self.token();
        let from = self.local_identity(&local_tag);
        let to = NameAddr::new(target.clone()).to_string();
        let branch = self.branch();
        let mut req = Request {
            method: Method::Invite,
            uri: target,
            version: Version::SIP_2_0,
            headers: Headers::new(),
            body: sdp.clone(),
        };
        let h = &mut req.headers;
        h.push("Via", self.via(next_hop.0, &branch));
        h.push("Max-Forwards", "70");
        h.push("From", from);
        h.push("To", to);
        h.push("Call-ID", call_id.clone());
        h.push("CSeq", "1 INVITE");
        h.push("Contact", self.contact(next_hop.0));
        h.push("Allow", ALLOW);
        h.push("User-Agent", self.config.user_agent.clone());
        for (n, v) in extra_headers {
            h.push(n.clone(), v.clone());
        }
        finish(h, &sdp, Some("application/sdp"));
        let key = client_key(&branch, &Method::Invite);
        self.start_client(now, key.clone(), req.clone(), next_hop, Owner::Call(handle));
        let mut call = Call::new(
            CallState::Calling,
            true,
            call_id,
            local_tag,
            next_hop,
            req,
            key,
        );
        call.local_sdp = sdp;
        self.calls.insert(handle, call);
        self.flush_tx();
        Ok(handle)
    }

    fn local_identity(&self, tag: &str) -> String {
        let domain = match &self.registration {
            Some(r) => r.account.registrar.host.to_string(),
            None => self.local_host(),
        };
        let user = match &self.registration {
            Some(r) => r.account.username.clone(),
            None => self.config.user.clone(),
        };
        let mut na = NameAddr::new(Uri::Sip(SipUri::new(
            Some(&user),
            Host::parse(&domain).unwrap_or(Host::from(self.config.advertised.ip())),
            None,
        )));
        na.display = self.config.display_name.clone();
        na.params.set("tag", Some(tag));
        na.to_string()
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
        );
    }

    /// Answers an incoming call with `sdp`.
    pub fn answer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Vec<u8>,
    ) -> Result<(), UaError> {
        let call = self.calls.get_mut(&handle).ok_or(UaError::UnknownCall)?;
        if call.state != CallState::Offered {
            return Err(UaError::WrongState);
        }
        call.local_sdp = sdp.clone();
        let mut resp = response_for(&call.invite, 200, Some(&call.local_tag));
        let key = call.invite_key.clone();
        let transport = call.peer.0;
        resp.headers.push("Contact", self.contact(transport));
        resp.headers.push("Allow", ALLOW);
        resp.headers.push("Server", self.config.user_agent.clone());
        resp.body = sdp.clone();
        finish(&mut resp.headers, &sdp, Some("application/sdp"));
        let bytes = resp.to_bytes();
        if let Some(st) = self.server.get_mut(&key) {
            st.tx.send_response(now, 200, bytes.clone());
        }
        if let Some(call) = self.calls.get_mut(&handle) {
            call.state = CallState::Answered;
            call.ok = Some(OkRetransmit::new(now, bytes, transport.reliable()));
        }
        self.flush_tx();
        Ok(())
    }

    /// Answers a pending [`Event::Reoffer`]: `Ok(sdp)` sends 200 with our
    /// answer (which becomes the call's current description), `Err(status)`
    /// refuses the offer (488, or 500 …) and keeps the previous one.
    pub fn answer_reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        answer: Result<Vec<u8>, u16>,
    ) -> Result<(), UaError> {
        let call = self.calls.get_mut(&handle).ok_or(UaError::UnknownCall)?;
        let (key, req) = call.reoffer.take().ok_or(UaError::WrongState)?;
        let tag = call.local_tag.clone();
        let transport = call.peer.0;
        match answer {
            Ok(sdp) => {
                call.local_sdp = sdp.clone();
                let mut resp = response_for(&req, 200, Some(&tag));
                resp.headers.push("Contact", self.contact(transport));
                self.respond(now, &key, &mut resp, &sdp, Some("application/sdp"));
                // An INVITE's 2xx is ours to re-send until the ACK (an
                // UPDATE's is not: its transaction does it).
                if req.method == Method::Invite {
                    let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
                    let ok = OkRetransmit::new(now, resp.to_bytes(), transport.reliable());
                    if let Some(c) = self.calls.get_mut(&handle) {
                        c.reoffer_ok = Some((seq, ok));
                    }
                }
            }
            Err(status) => {
                let mut resp = response_for(&req, error_status(status, 488), Some(&tag));
                self.respond(now, &key, &mut resp, &[], None);
            }
        }
        self.flush_tx();
        Ok(())
    }

    /// Declines an incoming call with `status` (486 busy, 603 decline ...).
    pub fn reject(&mut self, now: Instant, handle: CallHandle, status: u16) -> Result<(), UaError> {
        let call = self.calls.get(&handle).ok_or(UaError::UnknownCall)?;
        if call.state != CallState::Offered || !(300..700).contains(&status) {
            return Err(UaError::WrongState);
        }
        let mut resp = response_for(&call.invite, status, Some(&call.local_tag));
        let key = call.invite_key.clone();
        self.respond(now, &key, &mut resp, &[], None);
        self.end_call(now, handle, EndReason::Declined, Some(status));
        self.flush_tx();
        Ok(())
    }

    /// Hangs up: BYE when up, CANCEL when ringing out, 603 when ringing in.
    pub fn hangup(&mut self, now: Instant, handle: CallHandle) -> Result<(), UaError> {
        let state = self.calls.get(&handle).ok_or(UaError::UnknownCall)?.state;
        match state {
            CallState::Established | CallState::Answered => {
                self.send_bye(now, handle);
                if let Some(c) = self.calls.get_mut(&handle) {
                    c.ok = None;
                    c.reoffer_ok = None;
                    c.state = CallState::Terminating;
                }
                self.end_call(now, handle, EndReason::LocalHangup, None);
            }
            CallState::Early => self.send_cancel(now, handle),
            CallState::Calling => {
                // RFC 3261 §9.1: no CANCEL before a provisional response.
                if let Some(c) = self.calls.get_mut(&handle) {
                    c.state = CallState::CancelPending;
                }
            }
            CallState::Offered => return self.reject(now, handle, 603),
            CallState::CancelPending
            | CallState::Cancelling
            | CallState::Terminating
            | CallState::Ended => {
                return Err(UaError::WrongState);
            }
        }
        self.flush_tx();
        Ok(())
    }

    fn send_cancel(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        call.state = CallState::Cancelling;
        let inv = &call.invite;
        let mut h = Headers::new();
        if let Some(v) = inv.headers.get_all("Via").next() {
            h.push("Via", v);
        }
        for n in ["Max-Forwards", "From", "To", "Call-ID"] {
            if let Some(v) = inv.headers.get(n) {
                h.push(n, v);
            }
        }
        for r in inv.headers.get_all("Route") {
            h.push("Route", r);
        }
        let seq = inv.cseq().map(|c| c.seq).unwrap_or(1);
        h.push("CSeq", format!("{seq} CANCEL"));
        h.push("Content-Length", "0");
        let req = Request {
            method: Method::Cancel,
            uri: inv.uri.clone(),
            version: Version::SIP_2_0,
            headers: h,
            body: Vec::new(),
        };
        let branch = inv
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        let dest = call.peer;
        self.start_client(
            now,
            client_key(&branch, &Method::Cancel),
            req,
            dest,
            Owner::None,
        );
    }

    /// Builds an in-dialog request (§12.2.1.1). `seq` is `None` to take the
    /// next CSeq, or the number to reuse (the ACK for a 2xx reuses the INVITE's).
    fn in_dialog_request(
        &mut self,
        handle: CallHandle,
        method: Method,
        seq: Option<u32>,
    ) -> Option<(Request, (Transport, SocketAddr))> {
        let branch = self.branch();
        let (dest, seq, ruri, routes, from, to, call_id) = {
            let call = self.calls.get_mut(&handle)?;
            let peer = call.peer;
            let d = call.dialog.as_mut()?;
            let seq = seq.unwrap_or_else(|| d.next_seq());
            let (ruri, routes) = d.request_target();
            let dest = dest_of(&d.next_hop_uri(), peer);
            (
                dest,
                seq,
                ruri,
                routes,
                d.local.to_string(),
                d.remote.to_string(),
                d.id.call_id.clone(),
            )
        };
        let mut h = Headers::new();
        h.push("Via", self.via(dest.0, &branch));
        h.push("Max-Forwards", "70");
        h.push("From", from);
        h.push("To", to);
        h.push("Call-ID", call_id);
        h.push(
            "CSeq",
            CSeq {
                seq,
                method: method.clone(),
            }
            .to_string(),
        );
        for r in routes {
            h.push("Route", r);
        }
        h.push("User-Agent", self.config.user_agent.clone());
        h.push("Content-Length", "0");
        let req = Request {
            method,
            uri: ruri,
            version: Version::SIP_2_0,
            headers: h,
            body: Vec::new(),
        };
        Some((req, dest))
    }

    fn send_bye(&mut self, now: Instant, handle: CallHandle) {
        let Some((req, dest)) = self.in_dialog_request(handle, Method::Bye, None) else {
            return;
        };
        self.start_in_dialog(now, handle, req, dest);
    }

    /// Starts the client transaction of an in-dialog request of `handle`'s.
    fn start_in_dialog(
        &mut self,
        now: Instant,
        handle: CallHandle,
        req: Request,
        dest: (Transport, SocketAddr),
    ) {
        let branch = req
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        let key = client_key(&branch, &req.method);
        self.start_client(now, key, req, dest, Owner::Call(handle));
    }

    /// The ACK for a 2xx is a request of its own (§13.2.2.4) with the INVITE's CSeq number.
    fn send_ack_2xx(&mut self, handle: CallHandle, invite: &Request) {
        let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
        let Some((ack, dest)) = self.in_dialog_request(handle, Method::Ack, Some(seq)) else {
            return;
        };
        let bytes = ack.to_bytes();
        if let Some(c) = self.calls.get_mut(&handle) {
            // Each 2xx gets the ACK of its own INVITE when it comes again.
            if c.ack.is_none() {
                c.ack = Some(bytes.clone());
            } else {
                c.reack = Some((seq, bytes.clone()));
            }
        }
        self.send(dest, bytes);
    }

    fn call_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        req: &Request,
        resp: &Response,
        dest: (Transport, SocketAddr),
    ) {
        let Some(call) = self.calls.get(&handle) else {
            return;
        };
        let state = call.state;
        let status = resp.status;
        let cseq_method = resp.cseq().map(|c| c.method).unwrap_or(Method::Invite);
        if cseq_method == Method::Bye {
            if status >= 200
                && let Some(c) = self.calls.get_mut(&handle)
            {
                c.linger_until = Some(now + 64 * T1 / 2);
            }
            return;
        }
        if cseq_method == Method::Refer {
            self.refer_response(handle, resp);
            return;
        }
        if cseq_method != Method::Invite {
            return;
        }
        if self.is_reinvite_response(handle, resp) {
            self.reinvite_response(now, handle, req, resp);
            return;
        }
        if (200..300).contains(&status) {
            if state == CallState::Ended || state == CallState::Established {
                // 2xx retransmission: re-send the ACK of that INVITE.
                let seq = resp.cseq().map(|c| c.seq).ok();
                let ack = match &call.reack {
                    Some((s, a)) if Some(*s) == seq => Some(a.clone()),
                    _ => call.ack.clone(),
                };
                if let Some(a) = ack {
                    self.send(dest, a);
                }
                return;
            }
            let Some(dialog) = Dialog::from_uac(req, resp) else {
                return;
            };
            self.dialogs.insert(dialog.id.clone(), handle);
            if let Some(c) = self.calls.get_mut(&handle) {
                c.dialog = Some(dialog);
                c.remote_sdp = resp.body.clone();
            }
            self.send_ack_2xx(handle, req);
            if matches!(state, CallState::Cancelling | CallState::CancelPending) {
                // CANCEL lost the race with the 2xx (§9.1): ACK, then BYE.
                self.send_bye(now, handle);
                self.end_call(now, handle, EndReason::Cancelled, Some(status));
                return;
            }
            if let Some(c) = self.calls.get_mut(&handle) {
                c.state = CallState::Established;
            }
            self.events.push_back(Event::Established {
                call: handle,
                remote_sdp: resp.body.clone(),
            });
            return;
        }
        if status < 200 {
            if status == 100 {
                return;
            }
            if state == CallState::CancelPending {
                self.send_cancel(now, handle);
                return;
            }
            if state == CallState::Calling {
                if let Some(c) = self.calls.get_mut(&handle) {
                    c.state = CallState::Early;
                }
                if status == 180 || status == 183 {
                    self.events.push_back(Event::Ringing {
                        call: handle,
                        status,
                    });
                }
            }
            return;
        }
        // Non-2xx final.
        if (status == 401 || status == 407)
            && !matches!(state, CallState::Cancelling | CallState::CancelPending)
            && self.retry_invite_with_auth(now, handle, req, resp)
        {
            return;
        }
        let reason = match state {
            CallState::Cancelling | CallState::CancelPending if status == 487 => {
                EndReason::Cancelled
            }
            _ if status == 401 || status == 407 => EndReason::AuthFailed,
            _ => EndReason::Rejected,
        };
        self.end_call(now, handle, reason, Some(status));
    }

    fn retry_invite_with_auth(
        &mut self,
        now: Instant,
        handle: CallHandle,
        req: &Request,
        resp: &Response,
    ) -> bool {
        let header = if resp.status == 407 {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let Some(ch) = Challenge::best(resp.headers.get_all(header)) else {
            return false;
        };
        let Some(reg) = &self.registration else {
            return false;
        };
        let realm = reg
            .account
            .realm
            .clone()
            .unwrap_or_else(|| reg.account.registrar.host.to_string());
        if ch.realm != realm {
            return false;
        }
        let mut digest = DigestClient::new(&reg.account.username, &reg.account.password);
        digest.set_challenge(ch);
        let tries = self.calls.get(&handle).map(|c| c.auth_tries).unwrap_or(9);
        if tries >= 2 {
            return false;
        }
        let cnonce = self.token();
        let Some(cred) = digest.credentials("INVITE", &req.uri.to_string(), &cnonce) else {
            return false;
        };
        let mut new = req.clone();
        let branch = self.branch();
        let seq = req.cseq().map(|c| c.seq + 1).unwrap_or(2);
        let dest = self.calls.get(&handle).map(|c| c.peer);
        let Some(dest) = dest else { return false };
        new.headers.set("CSeq", format!("{seq} INVITE"));
        let via = self.via(dest.0, &branch);
        let mut ordered = Headers::new();
        ordered.push("Via", via);
        for h in new
            .headers
            .iter()
            .filter(|h| !h.name.eq_ignore_ascii_case("Via") && !h.name.eq_ignore_ascii_case("v"))
        {
            ordered.push(h.name.clone(), h.value.clone());
        }
        let cred_header = if resp.status == 407 {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        ordered.set(cred_header, cred.to_string());
        // Content-Length last keeps the message tidy.
        ordered.set("Content-Length", new.body.len().to_string());
        new.headers = ordered;
        let key = client_key(&branch, &Method::Invite);
        self.start_client(now, key.clone(), new.clone(), dest, Owner::Call(handle));
        if let Some(c) = self.calls.get_mut(&handle) {
            c.auth_tries += 1;
            c.invite = new;
            c.invite_key = key;
        }
        true
    }

    fn end_call(
        &mut self,
        now: Instant,
        handle: CallHandle,
        reason: EndReason,
        status: Option<u16>,
    ) {
        let Some(c) = self.calls.get_mut(&handle) else {
            return;
        };
        if c.state == CallState::Ended {
            return;
        }
        c.state = CallState::Ended;
        c.ok = None;
        c.reoffer_ok = None;
        // Linger to absorb retransmissions (2xx → re-ACK, BYE → 200 from the server tx).
        c.linger_until = Some(now + 64 * T1);
        self.events.push_back(Event::Ended {
            call: handle,
            reason,
            status,
        });
    }

    /// The SIP Call-ID of a call.
    pub fn sip_call_id(&self, handle: CallHandle) -> Option<&str> {
        self.calls.get(&handle).map(|c| c.call_id.as_str())
    }

    /// Whether we placed this call.
    pub fn is_outgoing(&self, handle: CallHandle) -> Option<bool> {
        self.calls.get(&handle).map(|c| c.uac)
    }

    // ---------------------------------------------------------------- registration

    /// Starts registering `account` (and refreshing it before expiry).
    pub fn register(&mut self, now: Instant, account: Account) {
        let call_id = format!("{}@{}", self.token(), self.local_host());
        let from_tag = self.token();
        let digest = DigestClient::new(&account.username, &account.password);
        self.registration = Some(Registration {
            expires: account.expires,
            account,
            state: RegState::Idle,
            call_id,
            from_tag,
            cseq: 0,
            digest,
            auth_failures: 0,
            refresh_at: None,
        });
        self.send_register(now, false);
        self.flush_tx();
    }

    /// Removes our binding (Expires: 0).
    pub fn unregister(&mut self, now: Instant) {
        let registered = self
            .registration
            .as_ref()
            .is_some_and(|r| matches!(r.state, RegState::Registered | RegState::Registering));
        if registered {
            self.send_register(now, true);
            self.flush_tx();
        }
    }

    /// Whether a binding is currently in place.
    pub fn is_registered(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|r| r.state == RegState::Registered)
    }

    /// Whether a REGISTER is in flight or a binding is in place (shutdown waits for this).
    pub fn registration_active(&self) -> bool {
        self.registration.as_ref().is_some_and(|r| {
            matches!(
                r.state,
                RegState::Registering | RegState::Registered | RegState::Unregistering
            )
        })
    }

    fn send_register(&mut self, now: Instant, unregister: bool) {
        let branch = self.branch();
        let cnonce = self.token();
        let contact = {
            let Some(r) = &self.registration else { return };
            self.contact(r.account.transport)
        };
        let via_t = self
            .registration
            .as_ref()
            .map(|r| r.account.transport)
            .unwrap_or(Transport::Udp);
        let via = self.via(via_t, &branch);
        let ua = self.config.user_agent.clone();
        let Some(r) = self.registration.as_mut() else {
            return;
        };
        r.cseq += 1;
        r.state = if unregister {
            RegState::Unregistering
        } else {
            RegState::Registering
        };
        let a = &r.account;
        let aor = SipUri::new(Some(&a.username), a.registrar.host.clone(), None);
        let ruri = Uri::Sip(SipUri {
            user: None,
            password: None,
            params: Vec::new(),
            headers: None,
            ..a.registrar.clone()
        });
        let mut h = Headers::new();
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", format!("<{aor}>;tag={}", r.from_tag));
        h.push("To", format!("<{aor}>"));
        h.push("Call-ID", r.call_id.clone());
        h.push("CSeq", format!("{} REGISTER", r.cseq));
        h.push("Contact", contact);
        h.push(
            "Expires",
            if unregister {
                "0".to_owned()
            } else {
                r.expires.to_string()
            },
        );
        h.push("Allow", ALLOW);
        h.push("User-Agent", ua);
        if let Some(cred) = r.digest.credentials("REGISTER", &ruri.to_string(), &cnonce) {
            h.push("Authorization", cred.to_string());
        }
        h.push("Content-Length", "0");
        let req = Request {
            method: Method::Register,
            uri: ruri,
            version: Version::SIP_2_0,
            headers: h,
            body: Vec::new(),
        };
        let dest = (a.transport, a.registrar_addr);
        self.start_client(
            now,
            client_key(&branch, &Method::Register),
            req,
            dest,
            Owner::Register,
        );
    }

    fn registration_failed(&mut self, status: Option<u16>, reason: String) {
        if let Some(r) = self.registration.as_mut() {
            let was_unregistering = r.state == RegState::Unregistering;
            r.state = RegState::Failed;
            r.refresh_at = None;
            if was_unregistering {
                self.events.push_back(Event::Unregistered);
                return;
            }
        }
        self.events
            .push_back(Event::RegistrationFailed { status, reason });
    }

    fn register_response(&mut self, now: Instant, resp: &Response) {
        let status = resp.status;
        if status < 200 {
            return;
        }
        let Some(r) = self.registration.as_mut() else {
            return;
        };
        if resp.call_id() != r.call_id {
            // The answer to a registration since replaced (a new account):
            // it must not move the new one's state.
            return;
        }
        let unregistering = r.state == RegState::Unregistering;
        match status {
            200..=299 => {
                r.auth_failures = 0;
                if unregistering {
                    r.state = RegState::Idle;
                    self.events.push_back(Event::Unregistered);
                    return;
                }
                // Granted expiry: our Contact's expires param, else Expires, else what we asked.
                let ours = format!(
                    "{}:{}",
                    Host::from(self.config.advertised.ip()),
                    self.config.advertised.port()
                );
                let granted = resp
                    .headers
                    .list("Contact")
                    .filter_map(|c| NameAddr::parse(c).ok())
                    .find(|n| {
                        n.uri.as_sip().is_some_and(|u| {
                            format!("{}:{}", u.host, u.port.unwrap_or(5060)) == ours
                        })
                    })
                    .and_then(|n| {
                        n.param("expires")
                            .flatten()
                            .and_then(|e| e.parse::<u32>().ok())
                    })
                    .or_else(|| {
                        resp.headers
                            .get("Expires")
                            .and_then(|e| e.trim().parse().ok())
                    })
                    .unwrap_or(r.expires);
                r.state = RegState::Registered;
                let refresh =
                    u64::from(granted.saturating_sub(granted.min(30)).max(granted / 2)).max(1);
                r.refresh_at = Some(now + Duration::from_secs(refresh));
                self.events
                    .push_back(Event::Registered { expires: granted });
            }
            401 | 407 => {
                let header = if status == 407 {
                    "Proxy-Authenticate"
                } else {
                    "WWW-Authenticate"
                };
                let realm = r
                    .account
                    .realm
                    .clone()
                    .unwrap_or_else(|| r.account.registrar.host.to_string());
                let Some(ch) = Challenge::best(resp.headers.get_all(header)) else {
                    self.registration_failed(
                        Some(status),
                        "no supported digest challenge".to_owned(),
                    );
                    return;
                };
                if ch.realm != realm {
                    self.registration_failed(
                        Some(status),
                        format!(
                            "challenge for realm \"{}\", not the account's realm \"{realm}\"",
                            ch.realm
                        ),
                    );
                    return;
                }
                let had_credentials = r.digest.challenge().is_some();
                let stale = ch.stale;
                r.digest.set_challenge(ch);
                if had_credentials && !stale {
                    r.auth_failures += 1;
                }
                if r.auth_failures >= 2 {
                    self.registration_failed(Some(status), "credentials rejected".to_owned());
                    return;
                }
                self.send_register(now, unregistering);
            }
            423 => {
                let min = resp
                    .headers
                    .get("Min-Expires")
                    .and_then(|m| m.trim().parse::<u32>().ok());
                match min {
                    Some(m) if m > r.expires => {
                        r.expires = m;
                        self.send_register(now, unregistering);
                    }
                    _ => self.registration_failed(
                        Some(423),
                        "interval too brief without usable Min-Expires".to_owned(),
                    ),
                }
            }
            _ => self.registration_failed(Some(status), resp.reason.clone()),
        }
    }
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same branch and
/// Request-URI as the INVITE, To from the response.
fn build_ack_for_non_2xx(invite: &Request, resp: &Response) -> Vec<u8> {
    let mut h = Headers::new();
    if let Some(v) = invite.headers.get_all("Via").next() {
        h.push("Via", v);
    }
    for n in ["Max-Forwards", "From"] {
        if let Some(v) = invite.headers.get(n) {
            h.push(n, v);
        }
    }
    if let Some(v) = resp.headers.get("To") {
        h.push("To", v);
    }
    if let Some(v) = invite.headers.get("Call-ID") {
        h.push("Call-ID", v);
    }
    let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
    h.push("CSeq", format!("{seq} ACK"));
    for r in invite.headers.get_all("Route") {
        h.push("Route", r);
    }
    h.push("Content-Length", "0");
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: Version::SIP_2_0,
        headers: h,
        body: Vec::new(),
    }
    .to_bytes()
}
