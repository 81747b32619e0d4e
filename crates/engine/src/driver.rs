//! The engine thread: sockets, the run loop, and command handling.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdp};
use std::time::{Duration, Instant};

use switchboard_codec::Settings;
use switchboard_media::offer_answer::{self, LocalMedia, Negotiated};
use switchboard_media::sdp::{Direction, SessionDescription};
use switchboard_media::session::{RtpSession, SessionConfig};
use switchboard_sip::message::Limits;
use switchboard_sip::stream::{Frame, StreamFramer};
use switchboard_sip::ua::{Account, CallHandle, Config, Event, Transmit, Transport, UserAgent};
use switchboard_sip::uri::{SipUri, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::events::{EngineEvent, EventKind, MediaStats};
use crate::media::{self, AudioPaths, MediaCmd, MediaHandle, MediaNote};
use crate::{AccountConfig, Command, EngineConfig, EngineError, TransferPolicy};

mod control;

/// Keep-alive interval on TCP connections we opened (RFC 5626 §4.4.1 CRLF pings).
const KEEPALIVE: Duration = Duration::from_secs(30);
/// How long `Shutdown` waits for BYEs and the unregistration to be answered.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Starts engines.
#[derive(Debug)]
pub struct Engine;

/// The application's side of a running engine.
#[derive(Debug)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    local: SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EngineHandle {
    /// Sends a command; false if the engine has stopped.
    pub fn send(&self, c: Command) -> bool {
        self.commands.send(c).is_ok()
    }

    /// A cloneable sender for commands (for timers and other tasks).
    pub fn commander(&self) -> mpsc::UnboundedSender<Command> {
        self.commands.clone()
    }

    /// The bound SIP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits for the engine thread to finish (after `Shutdown`).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum TcpIn {
    Frame(SocketAddr, Vec<u8>),
    Closed(SocketAddr),
}

/// What the peer asked when it referred us to another party.
struct TransferRequest {
    /// Whom to call.
    target: String,
    /// The Replaces header the new INVITE carries (attended transfer).
    replaces: Option<String>,
    /// Referred-By, passed on.
    referred_by: Option<String>,
}

struct CallInfo {
    /// RTP and RTCP sockets until the media pump takes them.
    sockets: Option<(StdUdp, StdUdp)>,
    call_id: String,
    outgoing: bool,
    local: LocalMedia,
    /// The SDP we sent or will send (offer, or answer to the peer's offer).
    local_sdp: Vec<u8>,
    /// We made the offer (outgoing call, or an incoming INVITE without SDP).
    we_offered: bool,
    negotiated: Option<Negotiated>,
    media: Option<MediaHandle>,
    /// We hold the peer / the peer holds us.
    hold_local: bool,
    hold_remote: bool,
    /// Our re-offer in flight: hold (true) or resume (false).
    pending_hold: Option<bool>,
    /// What the operator last asked for: held or not.
    want_hold: bool,
    /// The wish changed while an offer was in flight: offer again after it.
    reoffer_again: bool,
    /// This is a consultation call for that held call.
    consult_of: Option<u64>,
    /// We asked the peer to transfer (REFER sent); `Some(consult)` when it
    /// replaces our consultation call.
    transfer: Option<Option<u64>>,
    /// We placed this call because the peer of that call asked us to.
    transfer_for: Option<u64>,
    /// A transfer request waiting for the operator.
    refer_request: Option<TransferRequest>,
    /// In a local conference with that call.
    conference_with: Option<u64>,
}

impl CallInfo {
    fn new(
        sockets: (StdUdp, StdUdp),
        call_id: String,
        outgoing: bool,
        local: LocalMedia,
        local_sdp: Vec<u8>,
        we_offered: bool,
        negotiated: Option<Negotiated>,
    ) -> CallInfo {
        CallInfo {
            sockets: Some(sockets),
            call_id,
            outgoing,
            local,
            local_sdp,
            we_offered,
            negotiated,
            media: None,
            hold_local: false,
            hold_remote: false,
            pending_hold: None,
            want_hold: false,
            reoffer_again: false,
            consult_of: None,
            transfer: None,
            transfer_for: None,
            refer_request: None,
            conference_with: None,
        }
    }
}

/// Work an event asks for that needs the async side (placing a call may
/// resolve a host name).
#[derive(Debug)]
enum Deferred {
    /// Call `target` as the consultation for held `call`.
    Consult { call: u64, target: String },
    /// Call `target` because the peer of `from` asked us to.
    TransferCall {
        from: u64,
        target: String,
        headers: Vec<(String, String)>,
    },
}

struct Driver {
    ua: UserAgent,
    udp: UdpSocket,
    listener: TcpListener,
    conns: HashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>,
    tcp_tx: mpsc::UnboundedSender<TcpIn>,
    events: mpsc::UnboundedSender<EngineEvent>,
    calls: HashMap<u64, CallInfo>,
    /// The account registered (its registrar resolved).
    account: Option<(Account, AccountConfig)>,
    /// The account configured, resolved or not (Retry resolves it again).
    account_config: Option<AccountConfig>,
    /// Why registration could not start (reported once the loop runs).
    start_failure: Option<String>,
    /// The ringback tone playing on the headset for our call that rings.
    ringback: Option<(u64, std::sync::Arc<std::sync::atomic::AtomicBool>)>,
    advertised: SocketAddr,
    /// The address the SIP sockets are bound to; RTP binds there too.
    bind_ip: IpAddr,
    codecs: Vec<switchboard_codec::Codec>,
    mic: Option<std::path::PathBuf>,
    speaker: Option<std::path::PathBuf>,
    devices: Option<crate::DeviceNames>,
    ringer: Option<String>,
    ringing: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    device_test: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    level_every: Option<u32>,
    notes_tx: mpsc::UnboundedSender<MediaNote>,
    seed: u64,
    stopping: Option<Instant>,
    transfer_policy: TransferPolicy,
    deferred: Vec<Deferred>,
    /// Consultations waiting for their held call's hold to take effect.
    waiting_consult: Vec<(u64, String)>,
    /// Calls that have had a speaker file.
    speaker_calls: u32,
    /// Answering, placing or resuming holds the call in progress.
    hold_others: bool,
}

/// Opens sound devices for a tone of the engine's own (ring, headset test);
/// a failure is reported as an `audio_device` event, prefixed with `what`.
fn open_or_report(
    input: Option<&str>,
    output: Option<&str>,
    events: &mpsc::UnboundedSender<EngineEvent>,
    what: &str,
) -> Option<switchboard_audio::device::DeviceIo> {
    match switchboard_audio::device::DeviceIo::open(input, output) {
        Ok(io) => Some(io),
        Err(e) => {
            let _ = events.send(EngineEvent::now(EventKind::AudioDevice {
                call: 0,
                message: format!("{what}: {e}"),
            }));
            None
        }
    }
}

/// Plays `tone` on `io`'s output in 20 ms frames, paced by the clock, until
/// `flag` is cleared (or `limit` passes); `tick` runs after each frame with
/// its number (the headset test reads the microphone there).
fn tone_loop(
    io: &mut switchboard_audio::device::DeviceIo,
    tone: switchboard_audio::tones::Tone,
    flag: &std::sync::atomic::AtomicBool,
    limit: Option<Duration>,
    mut tick: impl FnMut(&mut switchboard_audio::device::DeviceIo, u32),
) {
    let rate = io.output_rate();
    let mut tone = switchboard_audio::tones::ToneGenerator::new(tone, rate);
    let mut frame = vec![0i16; (rate / 50) as usize];
    let start = Instant::now();
    let mut k = 0u32;
    while flag.load(std::sync::atomic::Ordering::Relaxed)
        && limit.is_none_or(|l| start.elapsed() < l)
    {
        tone.fill(&mut frame);
        io.write(&frame, frame.len() * 5);
        k += 1;
        tick(io, k);
        let due = start + Duration::from_millis(20 * u64::from(k));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

/// The registrar's URI and transport; an error when it is not a SIP URI.
fn registrar_uri(a: &AccountConfig) -> Result<(SipUri, Transport), EngineError> {
    let uri = Uri::parse(a.registrar.trim())
        .map_err(|_| EngineError::BadRegistrar(a.registrar.clone()))?;
    let sip = uri
        .as_sip()
        .cloned()
        .ok_or_else(|| EngineError::BadRegistrar(a.registrar.clone()))?;
    let transport = Transport::of_uri(&sip);
    Ok((sip, transport))
}

/// The account as the UA takes it, with the registrar's address.
fn account_at(a: &AccountConfig, sip: SipUri, addr: SocketAddr, transport: Transport) -> Account {
    Account {
        registrar: sip,
        registrar_addr: addr,
        transport,
        username: a.username.clone(),
        password: a.password.clone(),
        realm: a.realm.clone(),
        expires: a.expires,
    }
}

/// Resolves the registrar at start (blocking: the engine is not running
/// yet). `Err` is the reason registration cannot start, reported as an event.
fn resolve_at_start(sip: &SipUri) -> Result<SocketAddr, String> {
    let port = sip.port.unwrap_or(5060);
    match sip.host.ip() {
        Some(ip) => Ok(SocketAddr::new(ip, port)),
        None => {
            let host = sip.host.to_string();
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .next()
                .ok_or_else(|| format!("{host} has no address"))
        }
    }
}

/// The address to advertise when bound to the unspecified address: the local
/// address the kernel would use towards `peer` (the registrar), else towards the
/// default route, else loopback. Connecting a UDP socket only looks the route up;
/// it sends nothing (the documentation prefixes of RFC 5737/3849 stand for "anywhere").
fn advertised_for(bind: SocketAddr, peer: Option<SocketAddr>) -> SocketAddr {
    if !bind.ip().is_unspecified() {
        return bind;
    }
    let anywhere: SocketAddr = if bind.is_ipv4() {
        SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 5060))
    } else {
        SocketAddr::from((
            std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            5060,
        ))
    };
    let route_to = |p: SocketAddr| {
        let s = StdUdp::bind(SocketAddr::new(bind.ip(), 0)).ok()?;
        s.connect(p).ok()?;
        s.local_addr().ok().map(|a| a.ip())
    };
    let loopback = if bind.is_ipv4() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
    };
    let ip = peer
        .and_then(route_to)
        .or_else(|| route_to(anywhere))
        .unwrap_or(loopback);
    SocketAddr::new(ip, bind.port())
}

/// An even RTP port and the RTCP port above it (RFC 3550 §11).
fn bind_rtp_pair(ip: IpAddr) -> std::io::Result<(StdUdp, StdUdp)> {
    let mut last = None;
    for _ in 0..32 {
        let rtp = bind_rtp(ip)?;
        let port = rtp.local_addr()?.port();
        match StdUdp::bind(SocketAddr::new(ip, port.wrapping_add(1))) {
            Ok(rtcp) => return Ok((rtp, rtcp)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into()))
}

fn bind_rtp(ip: IpAddr) -> std::io::Result<StdUdp> {
    // RTP ports are even (RFC 3550 §11); a few tries find one.
    let mut last = None;
    for _ in 0..16 {
        let s = StdUdp::bind(SocketAddr::new(ip, 0))?;
        if s.local_addr()?.port() % 2 == 0 {
            return Ok(s);
        }
        last = Some(s);
    }
    last.ok_or_else(|| std::io::ErrorKind::AddrNotAvailable.into())
}

impl Engine {
    /// Binds the sockets and starts the engine thread. Returns the handle and the event stream.
    pub fn start(
        config: EngineConfig,
    ) -> Result<(EngineHandle, mpsc::UnboundedReceiver<EngineEvent>), EngineError> {
        let udp = StdUdp::bind(config.bind).map_err(|e| EngineError::Bind(config.bind, e))?;
        let local = udp
            .local_addr()
            .map_err(|e| EngineError::Bind(config.bind, e))?;
        let tcp = std::net::TcpListener::bind(local).map_err(|e| EngineError::Bind(local, e))?;
        udp.set_nonblocking(true).map_err(EngineError::Runtime)?;
        tcp.set_nonblocking(true).map_err(EngineError::Runtime)?;
        let mut start_failure = None;
        let account = match &config.account {
            Some(a) => {
                let (sip, transport) = registrar_uri(a)?;
                match resolve_at_start(&sip) {
                    Ok(addr) => Some((account_at(a, sip, addr, transport), a.clone())),
                    Err(e) => {
                        start_failure = Some(e);
                        None
                    }
                }
            }
            None => None,
        };
        let advertised = advertised_for(local, account.as_ref().map(|(a, _)| a.registrar_addr));
        let seed = getrandom::u64().unwrap_or(0x5157_0B0A_4D00_0001);
        let ua = UserAgent::new(Config {
            advertised,
            user: config.user.clone(),
            display_name: config.display_name.clone(),
            user_agent: format!("Switchboard/{}", env!("CARGO_PKG_VERSION")),
            max_calls: config.max_calls,
            seed,
        });
        let codecs = if config.codecs.is_empty() {
            switchboard_codec::Codec::ALL.to_vec()
        } else {
            config.codecs.clone()
        };
        let (mic, speaker) = (config.mic.clone(), config.speaker.clone());
        let devices = config.devices.clone();
        let ringer = config.ringer.clone();
        let level_every = config.level_meter_ms.map(|ms| (ms / 20).max(1));
        let hold_others = config.hold_others;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(EngineError::Runtime)?;
        let thread = std::thread::Builder::new()
            .name("switchboard-engine".into())
            .spawn(move || {
                rt.block_on(async move {
                    let (tcp_tx, tcp_rx) = mpsc::unbounded_channel();
                    let (notes_tx, notes_rx) = mpsc::unbounded_channel();
                    let (Ok(udp), Ok(listener)) =
                        (UdpSocket::from_std(udp), TcpListener::from_std(tcp))
                    else {
                        let _ = ev_tx.send(EngineEvent::now(EventKind::Stopped));
                        return;
                    };
                    let mut d = Driver {
                        ua,
                        udp,
                        listener,
                        conns: HashMap::new(),
                        tcp_tx,
                        events: ev_tx,
                        calls: HashMap::new(),
                        account,
                        account_config: config.account.clone(),
                        start_failure,
                        ringback: None,
                        advertised,
                        bind_ip: local.ip(),
                        codecs,
                        mic,
                        speaker,
                        devices,
                        ringer,
                        ringing: None,
                        device_test: None,
                        level_every,
                        notes_tx,
                        seed,
                        stopping: None,
                        transfer_policy: TransferPolicy::default(),
                        deferred: Vec::new(),
                        waiting_consult: Vec::new(),
                        speaker_calls: 0,
                        hold_others,
                    };
                    d.run(cmd_rx, tcp_rx, notes_rx, local).await;
                });
            })
            .map_err(EngineError::Runtime)?;
        Ok((
            EngineHandle {
                commands: cmd_tx,
                local,
                thread: Some(thread),
            },
            ev_rx,
        ))
    }
}

impl Driver {
    fn emit(&self, kind: EventKind) {
        let _ = self.events.send(EngineEvent::now(kind));
    }

    async fn run(
        &mut self,
        mut cmd_rx: mpsc::UnboundedReceiver<Command>,
        mut tcp_rx: mpsc::UnboundedReceiver<TcpIn>,
        mut notes_rx: mpsc::UnboundedReceiver<MediaNote>,
        local: SocketAddr,
    ) {
        self.emit(EventKind::Listening {
            address: local.to_string(),
        });
        if let Some((a, _)) = &self.account {
            self.ua.register(Instant::now(), a.clone());
        }
        if let Some(reason) = self.start_failure.take() {
            self.emit(EventKind::RegistrationFailed {
                status: None,
                reason,
            });
        }
        self.drain().await;
        let mut buf = vec![0u8; 65_536];
        let mut quality_tick = tokio::time::interval(Duration::from_secs(2));
        quality_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let far = tokio::time::Instant::now() + Duration::from_secs(3600);
            let deadline = self
                .ua
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or(far);
            let deadline = match self.stopping {
                Some(s) => deadline.min(tokio::time::Instant::from_std(s)),
                None => deadline,
            };
            tokio::select! {
                r = self.udp.recv_from(&mut buf) => {
                    if let Ok((n, src)) = r {
                        let data = buf.get(..n).unwrap_or(&[]);
                        self.ua.handle_datagram(Instant::now(), Transport::Udp, src, data);
                    }
                }
                c = cmd_rx.recv() => match c {
                    Some(c) => self.command(c).await,
                    None => self.begin_shutdown(),
                },
                Some(t) = tcp_rx.recv() => match t {
                    TcpIn::Frame(peer, bytes) => self.ua.handle_datagram(Instant::now(), Transport::Tcp, peer, &bytes),
                    TcpIn::Closed(peer) => { self.conns.remove(&peer); }
                },
                Some(n) = notes_rx.recv() => self.media_note(n),
                _ = quality_tick.tick(), if self.level_every.is_some() => self.report_quality(),
                a = self.listener.accept() => {
                    if let Ok((stream, peer)) = a {
                        let tx = spawn_connection(stream, peer, self.tcp_tx.clone(), false);
                        self.conns.insert(peer, tx);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.ua.handle_timeout(Instant::now());
                }
            }
            self.drain().await;
            if let Some(until) = self.stopping {
                let done = self.calls.is_empty() && !self.ua.registration_active();
                if done || Instant::now() >= until {
                    break;
                }
            }
        }
        self.emit(EventKind::Stopped);
    }

    fn begin_shutdown(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        let now = Instant::now();
        self.stopping = Some(now + SHUTDOWN_GRACE);
        let handles: Vec<u64> = self.calls.keys().copied().collect();
        for h in handles {
            let _ = self.ua.hangup(now, CallHandle(h));
        }
        self.ua.unregister(now);
    }

    async fn command(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Call { target, headers } => {
                self.hold_others(now, u64::MAX);
                if let Err(e) = self.place_call(now, &target, &headers).await {
                    self.emit(EventKind::CommandFailed {
                        command: format!("call {target}"),
                        error: e,
                    });
                }
            }
            Command::Answer { call } => {
                // A second call: the one in progress goes on hold first.
                self.hold_others(now, call);
                let sdp = self
                    .calls
                    .get(&call)
                    .map(|c| c.local_sdp.clone())
                    .unwrap_or_default();
                if let Err(e) = self.ua.answer(now, CallHandle(call), sdp) {
                    self.fail(format!("answer {call}"), e.to_string());
                }
            }
            Command::Reject { call, status } => {
                if let Err(e) = self.ua.reject(now, CallHandle(call), status) {
                    self.fail(format!("reject {call}"), e.to_string());
                }
            }
            Command::Hangup { call } => {
                if let Err(e) = self.ua.hangup(now, CallHandle(call)) {
                    self.fail(format!("hangup {call}"), e.to_string());
                }
            }
            Command::HangupAll => {
                let handles: Vec<u64> = self.calls.keys().copied().collect();
                for h in handles {
                    let _ = self.ua.hangup(now, CallHandle(h));
                }
            }
            Command::Dtmf { call, digits } => self.to_media(
                call,
                &format!("dtmf {digits}"),
                MediaCmd::Dtmf(digits.clone()),
            ),
            Command::Mute { call, muted } => {
                let what = if muted { "mute" } else { "unmute" };
                self.to_media(call, what, MediaCmd::Mute(muted))
            }
            Command::Ring { on } => self.ring(on),
            Command::ListDevices => {
                // Enumerating ALSA can take a while: not on the SIP thread.
                let events = self.events.clone();
                let _ = std::thread::Builder::new()
                    .name("switchboard-devices".into())
                    .spawn(move || {
                        let all = switchboard_audio::device::list_devices();
                        let names = |f: fn(&switchboard_audio::device::DeviceInfo) -> bool| {
                            all.iter()
                                .filter(|d| f(d))
                                .map(|d| d.name.clone())
                                .collect()
                        };
                        let _ = events.send(EngineEvent::now(EventKind::Devices {
                            inputs: names(|d| d.input),
                            outputs: names(|d| d.output),
                        }));
                    });
            }
            Command::SetDevices {
                input,
                output,
                ringer,
            } => {
                self.devices = Some(crate::DeviceNames { input, output });
                self.ringer = ringer;
            }
            Command::DeviceTest { on } => self.device_test(on),
            Command::Hold { call } => {
                if let Err(e) = self.hold(now, call) {
                    self.fail(format!("hold {call}"), e);
                }
            }
            Command::Resume { call } => {
                // Back to a held call: the one in progress waits instead.
                self.hold_others(now, call);
                if let Err(e) = self.resume(now, call) {
                    self.fail(format!("resume {call}"), e);
                }
            }
            Command::Transfer { call, target } => {
                if let Err(e) = self.transfer(now, call, &target) {
                    self.fail(format!("transfer {call} {target}"), e);
                }
            }
            Command::Consult { call, target } => {
                if let Err(e) = self.consult(now, call, &target) {
                    self.fail(format!("consult {call} {target}"), e);
                }
            }
            Command::CompleteTransfer { call, consult } => {
                if let Err(e) = self.complete_transfer(now, call, consult) {
                    self.fail(format!("complete-transfer {call} {consult}"), e);
                }
            }
            Command::Conference { call, other } => {
                if let Err(e) = self.conference(now, call, other) {
                    self.fail(format!("conference {call} {other}"), e);
                }
            }
            Command::CancelConsult { consult } => {
                if let Err(e) = self.cancel_consult(now, consult) {
                    self.fail(format!("cancel-consult {consult}"), e);
                }
            }
            Command::AcceptTransfer { call } => {
                if let Err(e) = self.accept_transfer(call) {
                    self.fail(format!("accept-transfer {call}"), e);
                }
            }
            Command::RejectTransfer { call } => {
                if let Err(e) = self.reject_transfer(now, call) {
                    self.fail(format!("reject-transfer {call}"), e);
                }
            }
            Command::SetTransferPolicy(p) => self.transfer_policy = p,
            Command::SetAccount(a) => {
                if self.ua.registration_active() {
                    self.ua.unregister(now);
                }
                self.account = None;
                self.account_config = a;
                self.register_configured(now).await;
            }
            Command::Register => {
                if self.account_config.is_none() {
                    self.fail("register".into(), "no account is configured".into());
                }
                self.register_configured(now).await;
            }
            Command::Shutdown => self.begin_shutdown(),
        }
    }

    /// Plays the ring cadence on the ringer device from its own thread until
    /// told to stop. Without sound devices configured, ringing is silent.
    /// While a call is up, the operator hears the call-waiting tone in that
    /// call instead (the ringer stays quiet beside a talking operator).
    fn ring(&mut self, on: bool) {
        if let Some(flag) = self.ringing.take() {
            flag.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        let mut in_call = false;
        for info in self.calls.values() {
            if let Some(m) = &info.media {
                let alert = on && !info.hold_local;
                in_call |= alert;
                let _ = m.commands.send(MediaCmd::Alert(alert));
            }
        }
        let Some(devices) = self.devices.clone() else {
            return;
        };
        if !on || in_call {
            return;
        }
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        self.ringing = Some(flag.clone());
        // The ringer device rings; a separate headset rings too, softly in
        // the ear, so an operator wearing it hears the call either way.
        let mut outputs = vec![(self.ringer.clone(), switchboard_audio::tones::Tone::ring())];
        if self.ringer.is_some() && self.ringer != devices.output {
            let mut soft = switchboard_audio::tones::Tone::ring();
            soft.level = 0.2;
            outputs.push((devices.output.clone(), soft));
        }
        for (device, tone) in outputs {
            let flag = flag.clone();
            let events = self.events.clone();
            let _ = std::thread::Builder::new()
                .name("switchboard-ringer".into())
                .spawn(move || {
                    let Some(mut io) =
                        open_or_report(None, device.as_deref(), &events, "cannot ring")
                    else {
                        return;
                    };
                    tone_loop(&mut io, tone, &flag, None, |_, _| {});
                });
        }
    }

    /// The headset test: a tone on the output, the microphone's level as
    /// `mic_test` events, from its own thread until told to stop (or a minute).
    fn device_test(&mut self, on: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(flag) = self.device_test.take() {
            flag.store(false, Relaxed);
        }
        if !on {
            return;
        }
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        self.device_test = Some(flag.clone());
        let names = self.devices.clone().unwrap_or_default();
        let events = self.events.clone();
        let _ = std::thread::Builder::new()
            .name("switchboard-device-test".into())
            .spawn(move || {
                let Some(mut io) = open_or_report(
                    names.input.as_deref(),
                    names.output.as_deref(),
                    &events,
                    "headset test",
                ) else {
                    return;
                };
                let (input, output) = {
                    let (i, o) = io.names();
                    (i.to_owned(), o.to_owned())
                };
                let mut mic = vec![0i16; (io.input_rate() / 50) as usize];
                let mut loudest = -120f32;
                tone_loop(
                    &mut io,
                    switchboard_audio::tones::Tone::test(),
                    &flag,
                    Some(Duration::from_secs(60)),
                    |io, k| {
                        let backlog = mic.len() * 10;
                        loop {
                            let n = io.read(&mut mic, backlog);
                            if let Some(got) = mic.get(..n).filter(|g| !g.is_empty()) {
                                loudest = loudest.max(switchboard_audio::Level::of(got).rms_dbfs());
                            }
                            if n < mic.len() {
                                break;
                            }
                        }
                        if k.is_multiple_of(5) {
                            let _ = events.send(EngineEvent::now(EventKind::MicTest {
                                mic_dbfs: loudest,
                                input: input.clone(),
                                output: output.clone(),
                            }));
                            loudest = -120.0;
                        }
                    },
                );
            });
    }

    fn to_media(&self, call: u64, what: &str, cmd: MediaCmd) {
        match self.calls.get(&call).and_then(|c| c.media.as_ref()) {
            Some(m) => {
                let _ = m.commands.send(cmd);
            }
            None => self.fail(format!("{what} {call}"), "no media on this call".into()),
        }
    }

    fn media_note(&mut self, n: MediaNote) {
        match n {
            MediaNote::Started {
                call,
                mic_start,
                speaker_start,
            } => {
                let Some(info) = self.calls.get(&call) else {
                    return;
                };
                let (codec, remote) = info
                    .negotiated
                    .as_ref()
                    .map(|n| {
                        (
                            n.codec.to_string(),
                            n.remote.map(|r| r.to_string()).unwrap_or_default(),
                        )
                    })
                    .unwrap_or_default();
                self.emit(EventKind::MediaStarted {
                    call,
                    codec,
                    remote,
                    mic_start,
                    speaker_start,
                });
            }
            MediaNote::Dtmf { call, key } => self.emit(EventKind::Dtmf {
                call,
                digit: key.to_string(),
            }),
            // The application decides: the CLI hangs up a call it placed
            // when its file ends; the practice line's callers stay on.
            MediaNote::MicEnded { call } => self.emit(EventKind::MicEnded { call }),
            MediaNote::Failed { call, error } => self.fail(format!("media {call}"), error),
            MediaNote::Device { call, message } => {
                self.emit(EventKind::AudioDevice { call, message })
            }
            MediaNote::Levels { call, mic, speaker } => {
                let db = |l: switchboard_audio::Level| (l.rms_dbfs() * 10.0).round() / 10.0;
                self.emit(EventKind::Levels {
                    call,
                    mic_dbfs: db(mic),
                    speaker_dbfs: db(speaker),
                });
            }
        }
    }

    /// A `quality` event for every call with media.
    fn report_quality(&self) {
        for (call, info) in &self.calls {
            let (Some(m), Some(n)) = (&info.media, &info.negotiated) else {
                continue;
            };
            let Ok(s) = m.stats.lock().map(|s| *s) else {
                continue;
            };
            let expected = s.packets_received + s.packets_lost;
            let loss = if expected == 0 {
                0.0
            } else {
                s.packets_lost as f64 / expected as f64
            };
            let delay = s.rtt_ms.unwrap_or(0.0) / 2.0 + s.playout_delay_ms + 20.0;
            let mos = switchboard_media::quality::mos_estimate(n.codec, loss, delay);
            self.emit(EventKind::Quality {
                call: *call,
                stats: MediaStats::from_session(&n.codec.to_string(), &s),
                loss_percent: (loss * 1000.0).round() / 10.0,
                mos: (mos * 100.0).round() / 100.0,
            });
        }
    }

    /// The next value of the driver's generator (an LCG seeded from the OS):
    /// SDP session ids, SSRCs, first sequence numbers and timestamps.
    fn next_random(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.seed
    }

    /// Binds the RTP/RTCP pair and describes our side of a new call.
    fn new_call_media(&mut self) -> Result<((StdUdp, StdUdp), LocalMedia), String> {
        let (rtp, rtcp) = bind_rtp_pair(self.bind_ip).map_err(|e| format!("no RTP port: {e}"))?;
        let port = rtp.local_addr().map(|a| a.port()).unwrap_or(0);
        let session_id = self.next_random() >> 16;
        let local = LocalMedia::new(self.codecs.clone(), self.advertised.ip(), port, session_id);
        Ok(((rtp, rtcp), local))
    }

    /// The speaker file of a call: the configured one for the first call,
    /// `NAME-CALL.wav` for every later one (a transfer or a second line never
    /// writes into a file another call still writes).
    fn speaker_path(&mut self, call: u64) -> Option<std::path::PathBuf> {
        let p = self.speaker.as_ref()?;
        self.speaker_calls += 1;
        if self.speaker_calls == 1 {
            return Some(p.clone());
        }
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext = p
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or("wav".into());
        Some(p.with_file_name(format!("{stem}-{call}.{ext}")))
    }

    fn start_media(&mut self, call: u64, remote_sdp: &[u8]) {
        let speaker = self.speaker_path(call);
        let Some(info) = self.calls.get_mut(&call) else {
            return;
        };
        if info.we_offered {
            let answer = SessionDescription::parse(remote_sdp)
                .map_err(|e| e.to_string())
                .and_then(|sd| {
                    offer_answer::accept_answer(&info.local, &sd).map_err(|e| e.to_string())
                });
            match answer {
                Ok(n) => info.negotiated = Some(n),
                Err(e) => {
                    let _ = self.ua.hangup(Instant::now(), CallHandle(call));
                    self.fail(format!("media {call}"), format!("unusable SDP answer: {e}"));
                    return;
                }
            }
        }
        let (Some(n), Some((rtp, rtcp))) = (info.negotiated.clone(), info.sockets.take()) else {
            return;
        };
        let r = self.next_random();
        let now = Instant::now();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let rtcp = (!n.rtcp_mux).then_some(rtcp);
        let session = RtpSession::new(
            now,
            SessionConfig {
                negotiated: n,
                ssrc: (r >> 32) as u32,
                initial_sequence: (r >> 16) as u16,
                initial_timestamp: r as u32,
                settings: Settings::default(),
                wall_at_epoch: wall,
                epoch: now,
                seed: r,
            },
        );
        let paths = AudioPaths {
            mic: self.mic.clone(),
            speaker,
            devices: self.devices.clone(),
            level_every: self.level_every,
        };
        let started = session
            .map_err(|e| e.to_string())
            .and_then(|s| media::start(call, rtp, rtcp, s, paths, self.notes_tx.clone()));
        match started {
            Ok(h) => {
                if let Some(info) = self.calls.get_mut(&call) {
                    info.media = Some(h);
                }
            }
            Err(e) => {
                let _ = self.ua.hangup(Instant::now(), CallHandle(call));
                self.fail(format!("media {call}"), e);
            }
        }
    }

    /// Registers the configured account: resolves its registrar (a failure
    /// is a `registration_failed` event) and starts the REGISTER.
    async fn register_configured(&mut self, now: Instant) {
        let Some(cfg) = self.account_config.clone() else {
            return;
        };
        let (sip, transport) = match registrar_uri(&cfg) {
            Ok(r) => r,
            Err(e) => {
                self.emit(EventKind::RegistrationFailed {
                    status: None,
                    reason: e.to_string(),
                });
                return;
            }
        };
        let port = sip.port.unwrap_or(5060);
        let addr = match sip.host.ip() {
            Some(ip) => Ok(SocketAddr::new(ip, port)),
            None => match tokio::net::lookup_host((sip.host.to_string(), port)).await {
                Ok(mut a) => a
                    .next()
                    .ok_or_else(|| format!("{} has no address", sip.host)),
                Err(e) => Err(format!("cannot resolve {}: {e}", sip.host)),
            },
        };
        match addr {
            Ok(addr) => {
                let account = account_at(&cfg, sip, addr, transport);
                self.ua.register(now, account.clone());
                self.account = Some((account, cfg));
            }
            Err(reason) => self.emit(EventKind::RegistrationFailed {
                status: None,
                reason,
            }),
        }
    }

    /// Plays ringback on the headset while our call `call` rings (we have
    /// no early media to play instead); stops on answer or end.
    fn ringback(&mut self, call: u64, on: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        if !on {
            if let Some((_, flag)) = self.ringback.take_if(|(c, _)| *c == call) {
                flag.store(false, Relaxed);
            }
            return;
        }
        if self.ringback.as_ref().is_some_and(|(c, _)| *c == call) {
            return;
        }
        let Some(devices) = self.devices.clone() else {
            return;
        };
        if let Some((_, old)) = self.ringback.take() {
            old.store(false, Relaxed);
        }
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        self.ringback = Some((call, flag.clone()));
        let events = self.events.clone();
        let _ = std::thread::Builder::new()
            .name("switchboard-ringback".into())
            .spawn(move || {
                let Some(mut io) =
                    open_or_report(None, devices.output.as_deref(), &events, "ringback")
                else {
                    return;
                };
                tone_loop(
                    &mut io,
                    switchboard_audio::tones::Tone::ringback(),
                    &flag,
                    Some(Duration::from_secs(180)),
                    |_, _| {},
                );
            });
    }

    fn fail(&self, command: String, error: String) {
        self.emit(EventKind::CommandFailed { command, error });
    }

    async fn place_call(
        &mut self,
        now: Instant,
        target: &str,
        headers: &[(String, String)],
    ) -> Result<u64, String> {
        let uri = Uri::parse(target.trim()).map_err(|e| format!("bad target URI: {e}"))?;
        let sip = uri.as_sip().ok_or("target is not a sip: URI")?.clone();
        let next_hop = match &self.account {
            // Registered: the registrar is our outbound proxy.
            Some((a, _)) => (a.transport, a.registrar_addr),
            None => {
                let transport = Transport::of_uri(&sip);
                let port = sip.port.unwrap_or(5060);
                let addr = match sip.host.ip() {
                    Some(ip) => SocketAddr::new(ip, port),
                    None => tokio::net::lookup_host((sip.host.to_string(), port))
                        .await
                        .map_err(|e| format!("cannot resolve {}: {e}", sip.host))?
                        .next()
                        .ok_or_else(|| format!("{} has no address", sip.host))?,
                };
                (transport, addr)
            }
        };
        let (sockets, local) = self.new_call_media()?;
        let sdp = offer_answer::offer(&local).to_bytes();
        let info = CallInfo::new(sockets, String::new(), true, local, sdp, true, None);
        let handle = self
            .ua
            .call(now, uri, next_hop, info.local_sdp.clone(), headers)
            .map_err(|e| e.to_string())?;
        let call_id = self.ua.sip_call_id(handle).unwrap_or("").to_owned();
        self.emit(EventKind::Calling {
            call: handle.0,
            call_id: call_id.clone(),
            target: target.to_owned(),
        });
        self.calls.insert(handle.0, CallInfo { call_id, ..info });
        Ok(handle.0)
    }

    async fn drain(&mut self) {
        // Events may queue output, more events and deferred work; until quiet
        // (bounded: each round consumes what the last produced).
        for _ in 0..64 {
            let mut busy = false;
            while let Some(t) = self.ua.poll_transmit() {
                busy = true;
                self.transmit(t).await;
            }
            while let Some(e) = self.ua.poll_event() {
                busy = true;
                self.event(e);
            }
            for d in std::mem::take(&mut self.deferred) {
                busy = true;
                self.run_deferred(d).await;
            }
            if !busy {
                break;
            }
        }
    }

    async fn run_deferred(&mut self, d: Deferred) {
        let now = Instant::now();
        match d {
            Deferred::Consult { call, target } => {
                let placed = match self.target_uri(&target, call) {
                    Ok(uri) => self.place_call(now, &uri.to_string(), &[]).await,
                    Err(e) => Err(e),
                };
                match placed {
                    Ok(consult) => {
                        if let Some(i) = self.calls.get_mut(&consult) {
                            i.consult_of = Some(call);
                        }
                        self.emit(EventKind::Consulting { call, consult });
                    }
                    Err(e) => self.fail(format!("consult {call} {target}"), e),
                }
            }
            Deferred::TransferCall {
                from,
                target,
                headers,
            } => match self.place_call(now, &target, &headers).await {
                Ok(new_call) => {
                    if let Some(i) = self.calls.get_mut(&new_call) {
                        i.transfer_for = Some(from);
                    }
                    self.emit(EventKind::Transferred {
                        call: from,
                        new_call,
                        target,
                    });
                }
                Err(e) => {
                    let _ = self.ua.notify_transfer(now, CallHandle(from), 503);
                    self.fail(format!("transfer to {target}"), e);
                }
            },
        }
    }

    async fn transmit(&mut self, t: Transmit) {
        match t.transport {
            Transport::Udp => {
                let _ = self.udp.send_to(&t.payload, t.destination).await;
            }
            Transport::Tcp => {
                let tx = match self.conns.get(&t.destination) {
                    Some(tx) if !tx.is_closed() => tx.clone(),
                    _ => {
                        let tx = spawn_outbound(t.destination, self.tcp_tx.clone());
                        self.conns.insert(t.destination, tx.clone());
                        tx
                    }
                };
                let _ = tx.send(t.payload);
            }
        }
    }

    fn event(&mut self, e: Event) {
        let kind = match e {
            Event::Registered { expires } => EventKind::Registered { expires },
            Event::Unregistered => EventKind::Unregistered,
            Event::RegistrationFailed { status, reason } => {
                EventKind::RegistrationFailed { status, reason }
            }
            Event::Incoming {
                call,
                request,
                replaces,
            } => {
                let (sockets, local) = match self.new_call_media() {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = self.ua.reject(Instant::now(), call, 500);
                        self.fail("incoming".into(), e);
                        return;
                    }
                };
                // Offer/answer now, so a call we cannot carry is refused before it rings.
                let (local_sdp, negotiated, we_offered) = if request.body.is_empty() {
                    (offer_answer::offer(&local).to_bytes(), None, true)
                } else {
                    let answered = SessionDescription::parse(&request.body)
                        .map_err(|e| e.to_string())
                        .and_then(|offer| {
                            offer_answer::answer(&local, &offer).map_err(|e| e.to_string())
                        });
                    match answered {
                        Ok((sdp, n)) => (sdp.to_bytes(), Some(n), false),
                        Err(e) => {
                            let _ = self.ua.reject(Instant::now(), call, 488);
                            self.emit(EventKind::MessageRejected {
                                source: request.headers.get("Via").unwrap_or("").to_owned(),
                                status: Some(488),
                                error: format!("incoming call refused: {e}"),
                            });
                            return;
                        }
                    }
                };
                let call_id = request.call_id().to_owned();
                self.calls.insert(
                    call.0,
                    CallInfo::new(
                        sockets,
                        call_id.clone(),
                        false,
                        local,
                        local_sdp,
                        we_offered,
                        negotiated,
                    ),
                );
                let headers: Vec<(String, String)> = request
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            switchboard_sip::message::canonical_name(&h.name).to_owned(),
                            h.value.clone(),
                        )
                    })
                    .collect();
                if let Some(old) = replaces {
                    // Attended transfer to us: it takes the place of the call
                    // in hand, never of a held one (that caller would hear
                    // the operator's other conversation).
                    let in_hand = self
                        .calls
                        .get(&old.0)
                        .is_some_and(|i| i.media.is_some() && !i.want_hold);
                    if in_hand {
                        self.replaced(Instant::now(), old.0, call.0, call_id, headers);
                    } else {
                        let _ = self.ua.reject(Instant::now(), call, 603);
                        self.calls.remove(&call.0);
                    }
                    return;
                }
                EventKind::Incoming {
                    call: call.0,
                    call_id,
                    from: request.headers.get("From").unwrap_or("").to_owned(),
                    to: request.headers.get("To").unwrap_or("").to_owned(),
                    headers,
                }
            }
            Event::Ringing { call, status } => {
                self.report_to_transferor(call.0, status);
                if self.calls.get(&call.0).is_some_and(|c| c.outgoing) {
                    self.ringback(call.0, true);
                }
                EventKind::Ringing {
                    call: call.0,
                    status,
                }
            }
            Event::ReofferAnswered { call, answer } => {
                self.reoffer_answered(call.0, &answer);
                return;
            }
            Event::ReofferFailed { call, status } => {
                self.reoffer_failed(call.0, status);
                return;
            }
            Event::TransferProgress { call, status, done } => {
                self.transfer_progress(Instant::now(), call.0, status, done);
                return;
            }
            Event::Referred {
                call,
                target,
                replaces,
                referred_by,
            } => {
                let request = TransferRequest {
                    target,
                    replaces,
                    referred_by,
                };
                self.referred(Instant::now(), call.0, request);
                return;
            }
            Event::Established { call, remote_sdp } => {
                self.ringback(call.0, false);
                self.start_media(call.0, &remote_sdp);
                self.report_to_transferor(call.0, 200);
                let (call_id, outgoing) = self
                    .calls
                    .get(&call.0)
                    .map(|c| (c.call_id.clone(), c.outgoing))
                    .unwrap_or_default();
                EventKind::Established {
                    call: call.0,
                    call_id,
                    outgoing,
                }
            }
            Event::Ended {
                call,
                reason,
                status,
            } => {
                self.ringback(call.0, false);
                // A call placed for a transferor that never got up.
                self.report_to_transferor(call.0, status.filter(|s| *s >= 300).unwrap_or(487));
                self.waiting_consult.retain(|(c, _)| *c != call.0);
                self.leave_conference(call.0);
                let info = self.calls.remove(&call.0);
                let stats = info
                    .as_ref()
                    .and_then(|i| {
                        let m = i.media.as_ref()?;
                        let _ = m.commands.send(MediaCmd::Stop);
                        let codec = i.negotiated.as_ref()?.codec.to_string();
                        let s = m.stats.lock().ok()?;
                        Some(MediaStats::from_session(&codec, &s))
                    })
                    .unwrap_or_default();
                EventKind::Ended {
                    call: call.0,
                    call_id: info.map(|i| i.call_id).unwrap_or_default(),
                    reason: reason.as_str().to_owned(),
                    status,
                    stats,
                }
            }
            Event::Dtmf { call, key } => EventKind::Dtmf {
                call: call.0,
                digit: key.to_string(),
            },
            Event::Reoffer { call, offer } => {
                let Some(info) = self.calls.get_mut(&call.0) else {
                    let _ = self.ua.answer_reoffer(Instant::now(), call, Err(481));
                    return;
                };
                info.local.version += 1;
                let answered = SessionDescription::parse(&offer)
                    .map_err(|e| e.to_string())
                    .and_then(|o| offer_answer::answer(&info.local, &o).map_err(|e| e.to_string()));
                match answered {
                    Ok((sdp, n)) => {
                        let bytes = sdp.to_bytes();
                        info.local_sdp = bytes.clone();
                        if let Some(m) = &info.media {
                            let _ = m.commands.send(MediaCmd::Update(Box::new(n.clone())));
                        }
                        let kind = EventKind::MediaUpdated {
                            call: call.0,
                            codec: n.codec.to_string(),
                            direction: n.direction.as_str().to_owned(),
                        };
                        let ours = n.direction;
                        info.negotiated = Some(n);
                        let _ = self.ua.answer_reoffer(Instant::now(), call, Ok(bytes));
                        // Our own offer, waiting after a 491, goes with the
                        // description's new version.
                        if info.pending_hold.is_some() {
                            let mut again = info.local.clone();
                            again.direction = if info.want_hold {
                                Direction::SendOnly
                            } else {
                                Direction::SendRecv
                            };
                            again.version += 1;
                            if self
                                .ua
                                .refresh_reoffer(call, offer_answer::offer(&again).to_bytes())
                            {
                                info.local = again;
                            }
                        }
                        self.emit(kind);
                        self.remote_direction(call.0, ours);
                        return;
                    }
                    Err(e) => {
                        let _ = self.ua.answer_reoffer(Instant::now(), call, Err(488));
                        EventKind::CommandFailed {
                            command: format!("re-offer on call {}", call.0),
                            error: format!("refused with 488: {e}"),
                        }
                    }
                }
            }
            Event::Rejected {
                source,
                status,
                error,
            } => EventKind::MessageRejected {
                source: source.to_string(),
                status,
                error,
            },
            _ => return,
        };
        self.emit(kind);
    }
}

fn spawn_outbound(
    peer: SocketAddr,
    tcp_tx: mpsc::UnboundedSender<TcpIn>,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        match tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(peer)).await {
            Ok(Ok(stream)) => connection(stream, peer, rx, tcp_tx, true).await,
            _ => {
                let _ = tcp_tx.send(TcpIn::Closed(peer));
            }
        }
    });
    tx
}

fn spawn_connection(
    stream: TcpStream,
    peer: SocketAddr,
    tcp_tx: mpsc::UnboundedSender<TcpIn>,
    keepalive: bool,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(connection(stream, peer, rx, tcp_tx, keepalive));
    tx
}

/// One TCP connection: frames what it reads, writes what it is given, pings
/// when it is ours. Closes on a framing error (no way to resynchronise).
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    mut out: mpsc::UnboundedReceiver<Vec<u8>>,
    tcp_tx: mpsc::UnboundedSender<TcpIn>,
    keepalive: bool,
) {
    let (mut r, mut w) = stream.into_split();
    let mut framer = StreamFramer::new(Limits::default());
    let mut buf = vec![0u8; 16_384];
    let mut ping = tokio::time::interval(KEEPALIVE);
    ping.tick().await;
    'conn: loop {
        tokio::select! {
            n = r.read(&mut buf) => {
                let n = match n { Ok(0) | Err(_) => break, Ok(n) => n };
                framer.push(buf.get(..n).unwrap_or(&[]));
                while let Some(f) = framer.next_frame() {
                    match f {
                        Ok(Frame::Message(m)) => { let _ = tcp_tx.send(TcpIn::Frame(peer, m)); }
                        Ok(Frame::Ping) => { if w.write_all(b"\r\n").await.is_err() { break 'conn; } }
                        Ok(Frame::Pong) => {}
                        Err(_) => break 'conn,
                    }
                }
            }
            m = out.recv() => match m {
                Some(m) => { if w.write_all(&m).await.is_err() { break; } }
                None => break,
            },
            _ = ping.tick(), if keepalive => {
                if w.write_all(b"\r\n\r\n").await.is_err() { break; }
            }
        }
    }
    let _ = tcp_tx.send(TcpIn::Closed(peer));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertises_a_concrete_address_never_the_unspecified_one() {
        let bound: SocketAddr = "127.0.0.1:5099".parse().unwrap();
        assert_eq!(advertised_for(bound, None), bound);
        let any: SocketAddr = "0.0.0.0:5098".parse().unwrap();
        let towards_loopback = advertised_for(any, Some("127.0.0.1:5060".parse().unwrap()));
        assert_eq!(towards_loopback, "127.0.0.1:5098".parse().unwrap());
        let no_peer = advertised_for(any, None);
        assert!(!no_peer.ip().is_unspecified(), "{no_peer}");
        assert_eq!(no_peer.port(), 5098);
    }
}
