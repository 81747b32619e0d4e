//! The engine thread: the tokio driver around the sans-IO [`Phone`]. It
//! owns the sockets and the clock, feeds the core, and carries out the
//! core's [`Action`]s — sending bytes, binding RTP ports, resolving names,
//! starting and steering media pumps, playing the engine's own tones. It
//! decides nothing about calls.
//!
//! ## Channels between tasks and threads
//! Every one is bounded. What stream connections read: 1,024 messages,
//! then the connection waits (TCP backpressure). What we queue for one
//! connection: 256, then a peer that reads nothing is dropped. Lookups: 64.
//! The pumps' notes: 1,024 (a stalled engine loses meter readings, never
//! audio). Commands: 1,024 ([`EngineHandle::send`] says false beyond).
//! Events to the application: 4,096; meters (levels, quality, the headset
//! test) are dropped when it is full, anything else waits for room, so an
//! application that stopped reading slows the engine rather than losing an
//! `ended`. The network cannot fill it: the UA reports refusals at most 20
//! a second.

mod dns;
mod net;
mod pump;
mod tls;
mod tones;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdp};
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_codec::Settings;
use switchboard_media::offer_answer::Negotiated;
use switchboard_media::session::{RtpSession, SessionConfig};
use switchboard_sip::ua::{Transmit, Transport};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use crate::events::{EngineEvent, EventKind, MediaStats};
use crate::phone::{
    Action, BridgeId, DeviceRequest, LookupId, MediaNote, MediaOrder, Phone, PhoneConfig, RtpSlot,
};
use crate::{CallId, Command, DeviceNames, EngineConfig, EngineError};

use net::TcpIn;
use pump::{AudioPaths, Bridge, MediaCmd, MediaHandle};

/// Commands the engine has not taken yet.
const COMMAND_BACKLOG: usize = 1024;

/// Events the application has not read yet (see `Driver::flush_events`).
const EVENT_BACKLOG: usize = 4096;

/// Notes from the media pumps not yet taken by the engine (level meters
/// are the only ones that come often; those are dropped when it is full).
const NOTES_BACKLOG: usize = 1024;

/// Messages read from stream connections and not yet taken by the engine.
const STREAM_BACKLOG: usize = 1024;

/// How often the way to the registrar is looked at (a route lookup, no
/// packet sent).
const NETWORK_CHECK: Duration = Duration::from_secs(2);

/// A lookup's answer: every target and the host it was for, or why not.
type Found = (
    LookupId,
    String,
    Result<Vec<(Transport, SocketAddr)>, String>,
);

/// The thread the media pumps run on: their own current-thread runtime,
/// so that a flood of SIP (thousands of requests a second, each parsed and
/// answered on the engine's thread) cannot delay a 20 ms audio frame; and
/// a stall in media (a slow WAV file) cannot delay SIP. Ends when the
/// engine does (its stop signal is dropped).
struct MediaThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Every running pump holds a clone: the thread, told to stop, waits
    /// (up to two seconds) for the last to finish its speaker file.
    alive: Option<Arc<()>>,
}

impl MediaThread {
    fn start() -> Result<MediaThread, EngineError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(EngineError::Runtime)?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let alive = Arc::new(());
        let pumps = alive.clone();
        let thread = std::thread::Builder::new()
            .name("switchboard-media".into())
            .spawn(move || {
                rt.block_on(async {
                    let _ = stopped.await;
                    let until = tokio::time::Instant::now() + Duration::from_secs(2);
                    while Arc::strong_count(&pumps) > 1 && tokio::time::Instant::now() < until {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                });
            })
            .map_err(EngineError::Runtime)?;
        Ok(MediaThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
            alive: Some(alive),
        })
    }
}

impl Drop for MediaThread {
    /// The engine is done: the media thread lets the last pumps finish
    /// their speaker files, and the engine thread waits for it, so that
    /// `EngineHandle::join` returning means every file is complete.
    fn drop(&mut self) {
        drop(self.alive.take());
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts engines.
#[derive(Debug)]
pub struct Engine;

/// The application's side of a running engine.
#[derive(Debug)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    local: SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EngineHandle {
    /// Sends a command; false if the engine has stopped, or has 1,024
    /// commands it has not taken yet (then it is stuck, and one more would
    /// not help).
    pub fn send(&self, c: Command) -> bool {
        self.commands.try_send(c).is_ok()
    }

    /// A cloneable sender for commands (for timers and other tasks).
    pub fn commander(&self) -> mpsc::Sender<Command> {
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

/// A call's running media pump.
struct Pump {
    handle: MediaHandle,
    /// The codec it runs (for `quality` reports).
    negotiated: Negotiated,
}

/// Where calls' audio comes from and goes to.
struct Audio {
    mic: Option<std::path::PathBuf>,
    speaker: Option<std::path::PathBuf>,
    devices: Option<DeviceNames>,
    ringer: Option<String>,
    level_every: Option<u32>,
    /// Calls that have had a speaker file.
    speaker_calls: u32,
}

impl Audio {
    /// The speaker file of a call: the configured one for the first call,
    /// `NAME-CALL.wav` for every later one (a transfer or a second line never
    /// writes into a file another call still writes).
    fn speaker_path(&mut self, call: CallId) -> Option<std::path::PathBuf> {
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
}

struct Driver {
    phone: Phone,
    udp: UdpSocket,
    listener: TcpListener,
    /// Stream connections by transport and peer.
    conns: HashMap<(Transport, SocketAddr), mpsc::Sender<Vec<u8>>>,
    /// The TLS client configuration (roots and CA file, read at start).
    tls: Arc<rustls::ClientConfig>,
    /// Our certificate, when we serve TLS too.
    tls_server: Option<Arc<rustls::ServerConfig>>,
    /// The host each address was looked up for: the name a TLS
    /// certificate must carry there.
    names: HashMap<SocketAddr, String>,
    /// Our SIP address (TLS connections leave from it).
    local: SocketAddr,
    /// RTP inactivity timeout for the pumps.
    rtp_timeout: Option<Duration>,
    /// The DNS resolver (RFC 3263), or why there is none.
    resolver: Result<hickory_resolver::TokioResolver, String>,
    /// Where the media pumps run.
    media: MediaThread,
    tcp_tx: mpsc::Sender<TcpIn>,
    events: mpsc::Sender<EngineEvent>,
    /// Events emitted since the last flush (see `flush_events`).
    pending: std::collections::VecDeque<EngineEvent>,
    lookups_tx: mpsc::Sender<Found>,
    notes_tx: mpsc::Sender<(CallId, MediaNote)>,
    /// The address the SIP sockets are bound to; RTP binds there too.
    bind_ip: IpAddr,
    slots: HashMap<RtpSlot, (StdUdp, StdUdp)>,
    pumps: HashMap<CallId, Pump>,
    bridges: HashMap<BridgeId, Arc<Bridge>>,
    audio: Audio,
    ringing: Vec<tones::Playing>,
    ringback: Option<tones::Playing>,
    device_test: Option<tones::Playing>,
    stopped: bool,
}

impl Engine {
    /// Binds the sockets and starts the engine thread. Returns the handle and the event stream.
    pub fn start(
        config: EngineConfig,
    ) -> Result<(EngineHandle, mpsc::Receiver<EngineEvent>), EngineError> {
        let (udp, tcp, local) = net::bind_sip(config.bind)?;
        let tls = tls::client_config(config.tls_ca_file.as_deref()).map_err(EngineError::Tls)?;
        let tls_server = match (&config.tls_certificate, &config.tls_key) {
            (Some(c), Some(k)) => Some(tls::server_config(c, k).map_err(EngineError::Tls)?),
            (None, None) => None,
            _ => {
                return Err(EngineError::Tls(
                    "sip.tls_certificate and sip.tls_key go together".to_owned(),
                ));
            }
        };
        udp.set_nonblocking(true).map_err(EngineError::Runtime)?;
        tcp.set_nonblocking(true).map_err(EngineError::Runtime)?;
        // The registrar's address decides the address we advertise; one
        // given by name is looked up by the phone once it runs (never a
        // blocking lookup here), and we advertise towards the default route.
        let registrar = match &config.account {
            Some(a) => {
                let (sip, transport) = crate::phone::registrar_uri(a)?;
                sip.host
                    .ip()
                    .map(|ip| SocketAddr::new(ip, sip.port.unwrap_or(transport.default_port())))
            }
            None => None,
        };
        let advertised = net::advertised_for(local, registrar);
        let rtp_timeout = config.policy.rtp_timeout;
        let dns_server = config.dns_server;
        let phone = Phone::new(PhoneConfig {
            local,
            advertised,
            user: config.user.clone(),
            display_name: config.display_name.clone(),
            codecs: config.codecs.clone(),
            policy: config.policy,
            account: config.account.clone(),
            seed: getrandom::u64().unwrap_or(0x5157_0B0A_4D00_0001),
            trusted_sources: config.trusted_sources.clone(),
            transfer_allow: config.transfer_allow.clone(),
            register_retry: config.register_retry,
        });
        let audio = Audio {
            mic: config.mic.clone(),
            speaker: config.speaker.clone(),
            devices: config.devices.clone(),
            ringer: config.ringer.clone(),
            level_every: config.level_meter_ms.map(|ms| (ms / 20).max(1)),
            speaker_calls: 0,
        };
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_BACKLOG);
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_BACKLOG);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(EngineError::Runtime)?;
        let media = MediaThread::start()?;
        let thread = std::thread::Builder::new()
            .name("switchboard-engine".into())
            .spawn(move || {
                rt.block_on(async move {
                    // Bounded: what all stream connections read waits for
                    // the engine rather than piling up (see `net`).
                    let (tcp_tx, tcp_rx) = mpsc::channel(STREAM_BACKLOG);
                    let (notes_tx, notes_rx) = mpsc::channel(NOTES_BACKLOG);
                    let (lookups_tx, lookups_rx) = mpsc::channel(64);
                    let (Ok(udp), Ok(listener)) =
                        (UdpSocket::from_std(udp), TcpListener::from_std(tcp))
                    else {
                        let _ = ev_tx.send(EngineEvent::now(EventKind::Stopped)).await;
                        return;
                    };
                    let mut d = Driver {
                        phone,
                        udp,
                        listener,
                        conns: HashMap::new(),
                        tls,
                        tls_server,
                        names: HashMap::new(),
                        local,
                        rtp_timeout,
                        resolver: dns::resolver(dns_server),
                        media,
                        tcp_tx,
                        events: ev_tx,
                        pending: std::collections::VecDeque::new(),
                        lookups_tx,
                        notes_tx,
                        bind_ip: local.ip(),
                        slots: HashMap::new(),
                        pumps: HashMap::new(),
                        bridges: HashMap::new(),
                        audio,
                        ringing: Vec::new(),
                        ringback: None,
                        device_test: None,
                        stopped: false,
                    };
                    d.run(cmd_rx, tcp_rx, notes_rx, lookups_rx).await;
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
    fn emit(&mut self, kind: EventKind) {
        self.pending.push_back(EngineEvent::now(kind));
    }

    /// Hands the events over. Meters (levels, quality, the headset test)
    /// are dropped when the application has 4,096 events it has not read;
    /// anything else waits for room: an application that stopped reading
    /// slows the engine down rather than losing an `ended`.
    async fn flush_events(&mut self) {
        while let Some(ev) = self.pending.pop_front() {
            let meter = matches!(
                ev.kind,
                EventKind::Levels { .. } | EventKind::Quality { .. } | EventKind::MicTest { .. }
            );
            if meter {
                let _ = self.events.try_send(ev);
            } else if self.events.send(ev).await.is_err() {
                self.pending.clear();
            }
        }
    }

    async fn run(
        &mut self,
        mut cmd_rx: mpsc::Receiver<Command>,
        mut tcp_rx: mpsc::Receiver<TcpIn>,
        mut notes_rx: mpsc::Receiver<(CallId, MediaNote)>,
        mut lookups_rx: mpsc::Receiver<Found>,
    ) {
        self.phone.start(Instant::now());
        self.act().await;
        self.flush_events().await;
        let mut buf = vec![0u8; 65_536];
        let mut quality_tick = tokio::time::interval(Duration::from_secs(2));
        quality_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut network_tick = tokio::time::interval(NETWORK_CHECK);
        network_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut route: Option<Option<IpAddr>> = None;
        let mut commands_open = true;
        while !self.stopped {
            let far = tokio::time::Instant::now() + Duration::from_secs(3600);
            let deadline = self
                .phone
                .poll_timeout()
                .map(tokio::time::Instant::from_std)
                .unwrap_or(far);
            tokio::select! {
                r = self.udp.recv_from(&mut buf) => {
                    if let Ok((n, src)) = r {
                        let data = buf.get(..n).unwrap_or(&[]);
                        self.phone.handle_datagram(Instant::now(), Transport::Udp, src, data);
                    }
                }
                c = cmd_rx.recv(), if commands_open => match c {
                    Some(c) => self.phone.handle_command(Instant::now(), c),
                    // The application is gone: hang up and stop.
                    None => {
                        commands_open = false;
                        self.phone.handle_command(Instant::now(), Command::Shutdown);
                    }
                },
                Some(t) = tcp_rx.recv() => match t {
                    TcpIn::Frame(transport, peer, bytes) => {
                        self.phone.handle_datagram(Instant::now(), transport, peer, &bytes);
                    }
                    TcpIn::Closed { transport, peer, error } => {
                        self.conns.remove(&(transport, peer));
                        self.phone.connection_closed(Instant::now(), transport, peer, error);
                    }
                },
                Some((call, note)) = notes_rx.recv() => self.phone.handle_media(Instant::now(), call, note),
                Some((id, host, found)) = lookups_rx.recv() => {
                    // A TLS connection to any of them checks the name in
                    // the URI (RFC 5922 §4), not the SRV target's.
                    for (_, addr) in found.iter().flatten() {
                        self.names.insert(*addr, host.clone());
                    }
                    self.phone.handle_lookup(Instant::now(), id, found);
                }
                _ = quality_tick.tick(), if self.audio.level_every.is_some() => self.report_quality(),
                _ = network_tick.tick() => {
                    // Our way to the registrar: none (no route, the link is
                    // down) or the local address we would use. When one
                    // appears or changes, the network is back: register now
                    // instead of waiting out the back-off.
                    let now_route = self.phone.registrar_addr().and_then(|r| net::route_to(self.bind_ip, r));
                    if let Some(before) = route
                        && before != now_route
                        && now_route.is_some()
                    {
                        self.phone.network_back(Instant::now());
                    }
                    route = Some(now_route);
                }
                a = self.listener.accept() => {
                    if let Ok((stream, peer)) = a {
                        // A flood of connections is refused, not served.
                        self.conns.retain(|_, tx| !tx.is_closed());
                        if self.conns.len() < net::MAX_CONNECTIONS {
                            let tx = net::spawn_connection(
                                stream,
                                peer,
                                self.tls_server.clone(),
                                self.tcp_tx.clone(),
                            );
                            // Whichever it turns out to be: answers to what
                            // comes on it go back on it.
                            if self.tls_server.is_some() {
                                self.conns.insert((Transport::Tls, peer), tx.clone());
                            }
                            self.conns.insert((Transport::Tcp, peer), tx);
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => self.phone.handle_timeout(Instant::now()),
            }
            self.act().await;
            self.flush_events().await;
        }
        self.emit(EventKind::Stopped);
        self.flush_events().await;
    }

    /// Carries out what the core asks, until it asks nothing more (answers
    /// to `BindRtp` go back in at once and may ask more).
    async fn act(&mut self) {
        while let Some(a) = self.phone.poll_action() {
            match a {
                Action::Transmit(t) => self.transmit(t).await,
                Action::Emit(kind) => self.emit(kind),
                Action::Lookup {
                    id,
                    host,
                    port,
                    transport,
                    transport_given,
                } => {
                    let tx = self.lookups_tx.clone();
                    let resolver = self.resolver.clone();
                    tokio::spawn(async move {
                        let found = match resolver {
                            Ok(r) => dns::locate(&r, &host, transport, port, transport_given).await,
                            Err(e) => Err(e),
                        };
                        let _ = tx.send((id, host, found)).await;
                    });
                }
                Action::BindRtp(slot) => {
                    let port = net::bind_rtp_pair(self.bind_ip).and_then(|(rtp, rtcp)| {
                        let port = rtp.local_addr()?.port();
                        self.slots.insert(slot, (rtp, rtcp));
                        Ok(port)
                    });
                    self.phone
                        .handle_rtp(Instant::now(), slot, port.map_err(|e| e.kind()));
                }
                Action::ReleaseRtp(slot) => {
                    self.slots.remove(&slot);
                }
                Action::StartMedia {
                    call,
                    slot,
                    negotiated,
                    seed,
                } => self.start_media(call, slot, *negotiated, seed),
                Action::Media { call, order } => self.steer(call, order),
                Action::Ended(ended) => {
                    let stats = self.stop_media(ended.call);
                    self.emit(ended.event(stats));
                }
                Action::Ringer(on) => {
                    self.ringing.clear();
                    if let (true, Some(devices)) = (on, &self.audio.devices) {
                        self.ringing =
                            tones::ring(devices, self.audio.ringer.as_deref(), &self.events);
                    }
                }
                Action::Ringback { on, .. } => {
                    self.ringback = match (on, &self.audio.devices) {
                        (true, Some(devices)) => Some(tones::ringback(devices, &self.events)),
                        _ => None,
                    };
                }
                Action::Devices(r) => self.devices(r),
                Action::Stopped => self.stopped = true,
            }
        }
    }

    fn devices(&mut self, r: DeviceRequest) {
        match r {
            DeviceRequest::List => {
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
                        let _ = events.blocking_send(EngineEvent::now(EventKind::Devices {
                            inputs: names(|d| d.input),
                            outputs: names(|d| d.output),
                        }));
                    });
            }
            DeviceRequest::Use {
                input,
                output,
                ringer,
            } => {
                self.audio.devices = Some(DeviceNames { input, output });
                self.audio.ringer = ringer;
            }
            DeviceRequest::Test(on) => {
                self.device_test = on.then(|| {
                    tones::device_test(self.audio.devices.clone().unwrap_or_default(), &self.events)
                });
            }
        }
    }

    async fn transmit(&mut self, t: Transmit) {
        match t.transport {
            Transport::Udp => {
                if let Err(e) = self.udp.send_to(&t.payload, t.destination).await
                    && net::is_unreachable(&e)
                {
                    // No way there at all (no route, the link is down):
                    // what waits for an answer fails now, not after timer F.
                    self.phone.connection_closed(
                        Instant::now(),
                        Transport::Udp,
                        t.destination,
                        Some(format!("cannot send to {}: {e}", t.destination)),
                    );
                }
            }
            Transport::Tcp | Transport::Tls => {
                let key = (t.transport, t.destination);
                let tx = match self.conns.get(&key) {
                    Some(tx) if !tx.is_closed() => tx.clone(),
                    _ => {
                        let tls = (t.transport == Transport::Tls).then(|| {
                            let name = self
                                .names
                                .get(&t.destination)
                                .cloned()
                                .unwrap_or_else(|| t.destination.ip().to_string());
                            (self.tls.clone(), self.local, name)
                        });
                        let tx = net::spawn_outbound(t.destination, tls, self.tcp_tx.clone());
                        self.conns.insert(key, tx.clone());
                        tx
                    }
                };
                if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(t.payload) {
                    // The peer reads nothing of what we send: let it go
                    // rather than queue for it without end.
                    self.conns.remove(&key);
                }
            }
        }
    }

    fn start_media(&mut self, call: CallId, slot: RtpSlot, n: Negotiated, seed: u64) {
        let Some((rtp, rtcp)) = self.slots.remove(&slot) else {
            debug_assert!(
                false,
                "media for call {call} on slot {slot:?}, which was never bound"
            );
            return;
        };
        let now = Instant::now();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let rtcp = (!n.rtcp_mux).then_some(rtcp);
        let session = RtpSession::new(
            now,
            SessionConfig {
                negotiated: n.clone(),
                ssrc: (seed >> 32) as u32,
                initial_sequence: (seed >> 16) as u16,
                initial_timestamp: seed as u32,
                settings: Settings::default(),
                wall_at_epoch: wall,
                epoch: now,
                seed,
            },
        );
        let paths = AudioPaths {
            mic: self.audio.mic.clone(),
            speaker: self.audio.speaker_path(call),
            devices: self.audio.devices.clone(),
            level_every: self.audio.level_every,
            rtp_timeout: self.rtp_timeout,
            receives: n.direction.receives(),
        };
        // The pump's sockets and task belong to the media thread's runtime.
        let _media = self.media.handle.enter();
        let started = session.map_err(|e| e.to_string()).and_then(|s| {
            let alive = self.media.alive.clone().unwrap_or_default();
            pump::start(call, rtp, rtcp, s, paths, self.notes_tx.clone(), alive)
        });
        match started {
            Ok(handle) => {
                self.pumps.insert(
                    call,
                    Pump {
                        handle,
                        negotiated: n,
                    },
                );
            }
            Err(e) => self
                .phone
                .handle_media(Instant::now(), call, MediaNote::StartFailed(e)),
        }
    }

    fn steer(&mut self, call: CallId, order: MediaOrder) {
        let Some(p) = self.pumps.get_mut(&call) else {
            return;
        };
        let cmd = match order {
            MediaOrder::Dtmf(keys) => MediaCmd::Dtmf(keys),
            MediaOrder::Update(n) => {
                p.negotiated = (*n).clone();
                MediaCmd::Update(n)
            }
            MediaOrder::Mute(m) => MediaCmd::Mute(m),
            MediaOrder::HoldTone(on) => MediaCmd::Hold(on),
            MediaOrder::Alert(on) => MediaCmd::Alert(on),
            MediaOrder::Conference(Some(id)) => {
                let bridge = self.bridges.entry(id).or_default().clone();
                MediaCmd::Conference(Some(bridge))
            }
            MediaOrder::Conference(None) => MediaCmd::Conference(None),
        };
        let _ = p.handle.commands.send(cmd);
        // A bridge nobody uses any more goes.
        self.bridges.retain(|_, b| Arc::strong_count(b) > 1);
    }

    /// Stops a call's pump; its statistics (none if it never ran).
    fn stop_media(&mut self, call: CallId) -> MediaStats {
        let Some(p) = self.pumps.remove(&call) else {
            return MediaStats::default();
        };
        let _ = p.handle.commands.send(MediaCmd::Stop);
        p.handle
            .stats
            .lock()
            .map(|s| MediaStats::from_session(&p.negotiated.codec.to_string(), &s))
            .unwrap_or_default()
    }

    /// A `quality` event for every call with media.
    fn report_quality(&mut self) {
        let mut reports = Vec::new();
        for (call, p) in &self.pumps {
            let Ok(s) = p.handle.stats.lock().map(|s| *s) else {
                continue;
            };
            let expected = s.packets_received + s.packets_lost;
            let loss = if expected == 0 {
                0.0
            } else {
                s.packets_lost as f64 / expected as f64
            };
            let delay = s.rtt_ms.unwrap_or(0.0) / 2.0 + s.playout_delay_ms + 20.0;
            let codec = p.negotiated.codec;
            let mos = switchboard_media::quality::mos_estimate(codec, loss, delay);
            reports.push(EventKind::Quality {
                call: *call,
                stats: MediaStats::from_session(&codec.to_string(), &s),
                loss_percent: (loss * 1000.0).round() / 10.0,
                mos: (mos * 100.0).round() / 100.0,
            });
        }
        for r in reports {
            self.emit(r);
        }
    }
}
