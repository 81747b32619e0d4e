//! The media pump of one call (part of the driver: it owns sockets and
//! reads the clock): a task on the engine thread that owns the
//! call's RTP/RTCP sockets, its [`RtpSession`] and its audio source and sink.
//!
//! Every 20 ms (deadlines that advance by exactly one period, so a file
//! microphone keeps real time even after a late wake-up) it reads one
//! microphone frame and hands it to the session; on its own 20 ms clock it
//! takes one playout frame from the jitter buffer and writes it to the
//! speaker — exactly what a headset's capture and playback callbacks would do,
//! so delay measured on files is the real one. RTP is read at that speaker
//! tick, with each packet's kernel arrival time, rather than waking the pump
//! once more for every datagram; RTCP wakes it when it comes. The speaker's
//! clock is moved once, on the first packet, so that its ticks fall just
//! after frames are due (up to a frame later, when the first packet came long
//! before the tick that read it; the jitter buffer then starts a frame on).

use std::net::UdpSocket as StdUdp;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchboard_audio::Level;
use switchboard_audio::device::DeviceIo;
use switchboard_audio::tones::{Tone, ToneGenerator};
use switchboard_audio::wav::{WavSink, WavSource};
use switchboard_codec::resample::FrameResampler;
use switchboard_media::session::{MediaEvent, RtpSession, Stats};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use crate::CallId;
use crate::phone::MediaNote;

/// The far-end audio of each call in a local three-way conference, at
/// 48 kHz, so every call can send the others' voices with the operator's.
/// Each pump publishes what it decodes and takes what the others published;
/// a queue keeps at most a few frames, so a stalled call adds no delay.
#[derive(Debug, Default)]
pub(crate) struct Bridge {
    frames: Mutex<std::collections::HashMap<CallId, std::collections::VecDeque<Vec<i16>>>>,
}

/// Frames a conference queue keeps (60 ms).
const BRIDGE_DEPTH: usize = 3;
/// The bridge's sample rate.
const BRIDGE_RATE: u32 = 48_000;

impl Bridge {
    fn publish(&self, call: CallId, frame: &[i16]) {
        if let Ok(mut f) = self.frames.lock() {
            let q = f.entry(call).or_default();
            q.push_back(frame.to_vec());
            while q.len() > BRIDGE_DEPTH {
                q.pop_front();
            }
        }
    }

    /// Adds one frame of every other call's far end into `out`.
    fn mix_others(&self, call: CallId, out: &mut [i16]) {
        if let Ok(mut f) = self.frames.lock() {
            for (c, q) in f.iter_mut() {
                if *c == call {
                    continue;
                }
                if let Some(frame) = q.pop_front() {
                    for (o, x) in out.iter_mut().zip(frame) {
                        *o = o.saturating_add(x);
                    }
                }
            }
        }
    }

    fn leave(&self, call: CallId) {
        if let Ok(mut f) = self.frames.lock() {
            f.remove(&call);
        }
    }
}

/// A pump's seat in a conference: the bridge and its rate converters.
struct Seat {
    bridge: Arc<Bridge>,
    up: FrameResampler,
    down: FrameResampler,
    wide: Vec<i16>,
    narrow: Vec<i16>,
}

/// Commands to a running pump.
#[derive(Debug)]
pub(crate) enum MediaCmd {
    Dtmf(String),
    Update(Box<switchboard_media::offer_answer::Negotiated>),
    Mute(bool),
    /// We hold the peer: it hears the hold tone instead of our microphone,
    /// and we no longer hear it.
    Hold(bool),
    /// The call-waiting tone in our ear while another call rings (or off).
    Alert(bool),
    /// Join a local conference: the other calls' far ends are mixed into
    /// what this call sends; `None` leaves it.
    Conference(Option<Arc<Bridge>>),
    Stop,
}

/// Where a call's audio comes from and goes to: a file, the sound card
/// (`devices`, by name or the default), or nothing.
#[derive(Debug, Default)]
pub(crate) struct AudioPaths {
    pub(crate) mic: Option<PathBuf>,
    pub(crate) speaker: Option<PathBuf>,
    pub(crate) devices: Option<crate::DeviceNames>,
    /// Report microphone and speaker levels this often (frames of 20 ms).
    pub(crate) level_every: Option<u32>,
    /// No packet for this long while the peer should be sending: say so,
    /// and after twice as long give the call up.
    pub(crate) rtp_timeout: Option<Duration>,
    /// The negotiated direction has the peer sending to us.
    pub(crate) receives: bool,
}

/// How long nothing has come from the peer.
struct Quiet {
    timeout: Option<Duration>,
    receives: bool,
    last: Instant,
    /// The operator was told (and the call is given up at twice the time).
    told: bool,
}

impl Quiet {
    /// Something arrived: the stream is alive (and was it quiet?).
    fn heard(&mut self, now: Instant) -> bool {
        self.last = now;
        std::mem::take(&mut self.told)
    }

    /// What to report at `now`, if anything.
    fn check(&mut self, now: Instant) -> Option<MediaNote> {
        let timeout = self.timeout?;
        if !self.receives {
            // Held (or sendonly): silence is expected; count from now on.
            self.last = now;
            return None;
        }
        let quiet = now.saturating_duration_since(self.last);
        if quiet >= timeout * 2 {
            self.timeout = None; // once
            return Some(MediaNote::Dead {
                quiet_s: quiet.as_secs(),
            });
        }
        if quiet >= timeout && !self.told {
            self.told = true;
            return Some(MediaNote::Quiet {
                quiet_s: quiet.as_secs(),
            });
        }
        None
    }
}

/// The sound card of a call and the converters to and from the codec rate.
struct Card {
    io: DeviceIo,
    to_codec: FrameResampler,
    from_codec: FrameResampler,
    dev_in: Vec<i16>,
    dev_out: Vec<i16>,
}

impl Card {
    fn open(names: &crate::DeviceNames, codec_rate: u32) -> Result<Card, String> {
        let io = DeviceIo::open(names.input.as_deref(), names.output.as_deref())
            .map_err(|e| e.to_string())?;
        let to_codec =
            FrameResampler::new(io.input_rate(), codec_rate).map_err(|e| e.to_string())?;
        let from_codec =
            FrameResampler::new(codec_rate, io.output_rate()).map_err(|e| e.to_string())?;
        Ok(Card {
            dev_in: vec![0; to_codec.input_frame()],
            dev_out: vec![0; from_codec.output_frame()],
            io,
            to_codec,
            from_codec,
        })
    }

    /// One microphone frame at the codec rate (backlog bounded to 60 ms).
    fn read(&mut self, out: &mut [i16]) {
        let n = self.dev_in.len();
        self.io.read(&mut self.dev_in, 3 * n);
        if self.to_codec.process(&self.dev_in, out).is_err() {
            out.fill(0);
        }
    }

    /// One speaker frame from the codec rate (at most 120 ms queued: the pulse
    /// plugin pulls in large periods).
    fn write(&mut self, frame: &[i16]) {
        if self.from_codec.process(frame, &mut self.dev_out).is_ok() {
            let n = self.dev_out.len();
            self.io.write(&self.dev_out, 6 * n);
        }
    }
}

/// A call's RTCP socket, registered for reading only (RTCP comes every few
/// seconds, and a report's arrival time is the round trip's end). A tokio
/// `UdpSocket` also asks for writability, and on Linux every datagram sent
/// then wakes the thread once more when the send buffer drains; RTP is sent
/// without waiting (a full send buffer drops the packet, which would be late
/// anyway), so only arrivals wake the pump.
struct MediaSocket(AsyncFd<StdUdp>);

impl MediaSocket {
    // The engine's one unsafe call: tokio cannot check that the descriptor
    // stays valid while registered.
    #[allow(unsafe_code)]
    fn new(s: StdUdp) -> std::io::Result<MediaSocket> {
        s.set_nonblocking(true)?;
        // SAFETY: `StdUdp` owns a valid descriptor; it moves into the
        // `AsyncFd`, which is its only owner, and nothing replaces or closes
        // it while registered (it closes when the `AsyncFd` drops, after
        // deregistering).
        let fd = unsafe { AsyncFd::register_with_interest(s, Interest::READABLE) }?;
        Ok(MediaSocket(fd))
    }

    async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, std::net::SocketAddr)> {
        loop {
            let mut ready = self.0.readable().await?;
            match ready.try_io(|fd| fd.get_ref().recv_from(buf)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    fn send_to(&self, payload: &[u8], to: std::net::SocketAddr) {
        let _ = self.0.get_ref().send_to(payload, to);
    }
}

/// A call's RTP socket, not registered with the runtime at all: it is read
/// at the speaker's tick, when its frames are needed, instead of waking the
/// pump for every datagram (a third of a call's wake-ups). What the jitter
/// buffer must know, when each packet came, is the kernel's receive
/// timestamp (`SO_TIMESTAMPNS`), so reading late changes no arrival time:
/// the playout delay, the RFC 3550 jitter and the speaker's phase are
/// computed from the instants the packets reached the machine.
struct RtpSocket {
    socket: StdUdp,
    /// Room for one timestamp control message.
    cmsg: Vec<u8>,
}

/// One datagram read from an [`RtpSocket`].
struct Arrival {
    len: usize,
    from: std::net::SocketAddr,
    at: Instant,
}

/// At most this many datagrams are read at one tick (a stream of 10-ms
/// packets brings two; a flood waits in the kernel, which drops the rest).
const READS_PER_TICK: usize = 64;

/// How long after the first frame is due the speaker's ticks fall. The jitter
/// buffer's delay when the first packet comes is its margin alone (one packet
/// shows no jitter yet); a sender's 20-ms ticks wander by a millisecond or
/// two and, on a busy machine, now and then by several, and a target that
/// grows past the ticks' phase costs a whole inserted frame for the rest of
/// the call (the buffer skips only at one and a half frames too many). With
/// 5 ms a clean 60-s bench call grew by two frames; 10 ms keeps a clean
/// link's delay flat and still 5 ms under what the old phasing left.
const PHASE_HEADROOM: Duration = Duration::from_millis(10);

impl RtpSocket {
    fn new(s: StdUdp) -> std::io::Result<RtpSocket> {
        s.set_nonblocking(true)?;
        nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::ReceiveTimestampns, &true)
            .map_err(std::io::Error::from)?;
        Ok(RtpSocket {
            socket: s,
            cmsg: nix::cmsg_space!(nix::sys::time::TimeSpec),
        })
    }

    /// The next datagram waiting, if any, and when it arrived. `now` and
    /// `wall` are this instant on the monotonic and the wall clock: the
    /// kernel stamps arrivals with the wall clock, and a stamp that does not
    /// fit (the wall clock was set meanwhile, or no stamp) counts as `now`.
    fn recv(&mut self, buf: &mut [u8], now: Instant, wall: SystemTime) -> Option<Arrival> {
        use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};
        use std::os::fd::AsRawFd;
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(&mut self.cmsg),
            MsgFlags::MSG_DONTWAIT,
        )
        .ok()?;
        let from = msg.address.and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| std::net::SocketAddr::V4((*v4).into()))
                .or_else(|| {
                    a.as_sockaddr_in6()
                        .map(|v6| std::net::SocketAddr::V6((*v6).into()))
                })
        })?;
        let stamped = msg.cmsgs().ok().and_then(|mut c| {
            c.find_map(|m| match m {
                ControlMessageOwned::ScmTimestampns(ts) => Some(
                    UNIX_EPOCH
                        + Duration::new(
                            u64::try_from(ts.tv_sec()).ok()?,
                            u32::try_from(ts.tv_nsec()).ok()?,
                        ),
                ),
                _ => None,
            })
        });
        let at = stamped
            .and_then(|t| wall.duration_since(t).ok())
            .filter(|ago| *ago < Duration::from_secs(1))
            .and_then(|ago| now.checked_sub(ago))
            .unwrap_or(now);
        Some(Arrival {
            len: msg.bytes,
            from,
            at,
        })
    }

    fn send_to(&self, payload: &[u8], to: std::net::SocketAddr) {
        let _ = self.socket.send_to(payload, to);
    }
}

/// The driver's handle on a pump.
#[derive(Debug)]
pub(crate) struct MediaHandle {
    pub(crate) commands: mpsc::UnboundedSender<MediaCmd>,
    pub(crate) stats: Arc<Mutex<Stats>>,
}

fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Starts the pump. The sockets must already be bound (RTP, and RTCP on the next port).
pub(crate) fn start(
    call: CallId,
    rtp: StdUdp,
    rtcp: Option<StdUdp>,
    session: RtpSession,
    paths: AudioPaths,
    notes: mpsc::Sender<(CallId, MediaNote)>,
    alive: Arc<()>,
) -> Result<MediaHandle, String> {
    let rate = session.codec().sample_rate();
    let mic = match &paths.mic {
        Some(p) => Some(WavSource::open(p, rate).map_err(|e| e.to_string())?),
        None => None,
    };
    let speaker = match &paths.speaker {
        Some(p) => Some(WavSink::create(p, rate).map_err(|e| e.to_string())?),
        None => None,
    };
    // The sound card serves whichever side has no file. A chosen headset
    // that cannot be opened is replaced by the default device, as one lost
    // mid-call is; with none at all the call goes on without audio and a
    // reopen is tried every second. Each case is reported for the call.
    let mut card_retry = None;
    let card = match &paths.devices {
        Some(names) if mic.is_none() || speaker.is_none() => {
            let device = |n: &crate::DeviceNames| Card::open(n, rate);
            let chosen = names.input.is_some() || names.output.is_some();
            let opened = device(names).or_else(|e| {
                if !chosen {
                    return Err(e);
                }
                let c = device(&crate::DeviceNames::default()).map_err(|d| format!("{e}; {d}"))?;
                let (i, o) = c.io.names();
                let _ = notes.try_send((
                    call,
                    MediaNote::Device(format!(
                        "audio device {:?} / {:?} cannot be opened ({e}); using the default device {i:?} / {o:?}",
                        names.input.as_deref().unwrap_or("default"),
                        names.output.as_deref().unwrap_or("default"),
                    )),
                ));
                Ok(c)
            });
            match opened {
                Ok(c) => Some(c),
                Err(e) => {
                    let _ = notes.try_send((
                        call,
                        MediaNote::Device(format!(
                            "no sound card, the call goes on without audio ({e}); trying again every second"
                        )),
                    ));
                    card_retry = Some(Instant::now() + Duration::from_secs(1));
                    None
                }
            }
        }
        _ => None,
    };
    let rtp = RtpSocket::new(rtp).map_err(|e| e.to_string())?;
    let rtcp = match rtcp {
        Some(s) => Some(MediaSocket::new(s).map_err(|e| e.to_string())?),
        None => None,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(Mutex::new(Stats::default()));
    let pump = Pump {
        quiet: Quiet {
            timeout: paths.rtp_timeout,
            receives: paths.receives,
            last: Instant::now(),
            told: false,
        },
        level_every: paths.level_every,
        levels: (Level::default(), Level::default(), 0),
        feedback: std::collections::VecDeque::new(),
        tone: None,
        hold: None,
        alert: None,
        seat: None,
        muted: false,
        card,
        card_retry,
        call,
        rtp,
        first_arrival: None,
        rtcp,
        session,
        mic,
        speaker,
        notes,
        stats: stats.clone(),
    };
    tokio::spawn(async move {
        pump.run(rx).await;
        drop(alive);
    });
    Ok(MediaHandle {
        commands: tx,
        stats,
    })
}

struct Pump {
    /// RTP inactivity.
    quiet: Quiet,
    /// Level meters: the loudest frame of each direction since the last report.
    level_every: Option<u32>,
    levels: (Level, Level, u32),
    /// Keys whose feedback tone is still to be heard, and the one playing.
    feedback: std::collections::VecDeque<char>,
    tone: Option<ToneGenerator>,
    /// While we hold the peer: what it hears instead of the microphone.
    hold: Option<ToneGenerator>,
    /// While another call waits: the call-waiting tone in our ear.
    alert: Option<ToneGenerator>,
    /// In a local conference.
    seat: Option<Seat>,
    /// The operator's microphone is muted (in a conference the other
    /// party's voice still goes out).
    muted: bool,
    card: Option<Card>,
    /// When to try to reopen a lost card.
    card_retry: Option<Instant>,
    call: CallId,
    rtp: RtpSocket,
    /// When the first packet the session took arrived.
    first_arrival: Option<Instant>,
    rtcp: Option<MediaSocket>,
    session: RtpSession,
    mic: Option<WavSource>,
    speaker: Option<WavSink>,
    notes: mpsc::Sender<(CallId, MediaNote)>,
    stats: Arc<Mutex<Stats>>,
}

impl Pump {
    /// Tells the engine. The channel is bounded; only a stalled engine
    /// fills it, and then a note is dropped rather than the audio stopped
    /// (meters are most of what a pump says).
    fn note(&self, n: MediaNote) {
        let _ = self.notes.try_send((self.call, n));
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<MediaCmd>) {
        let frame = self.session.frame_samples();
        let rate = u64::from(self.session.codec().sample_rate());
        let mut mic_frame = vec![0i16; frame];
        let mut out = vec![0i16; frame];
        let mut buf = vec![0u8; 2048];
        let mut rtcp_buf = vec![0u8; 2048];
        // Two clocks, like a sound card's capture and playback: the microphone
        // ticks from the start; the speaker is re-phased once, when the first
        // packet arrives, so frames are played just after they are due instead
        // of up to a frame later (the gap is played as silence, as a device would).
        let period = Duration::from_millis(20);
        let start = Instant::now();
        let mut mic_next = start;
        let mut play_next = start;
        let mut phased = false;
        let mut started = false;
        let mut mic_open = self.mic.is_some();
        let mut watch = tokio::time::interval(Duration::from_secs(1));
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The three timers live across iterations and are re-armed only when
        // their deadline moves: a timer made anew each time round registers
        // again, and one due earlier than the runtime's next wake-up makes it
        // wake itself through its eventfd (a file-only caller: 1,557 eventfd
        // writes in 10 s with timers made anew, 965 with these).
        let at = tokio::time::Instant::from_std;
        let mut armed = (mic_next, play_next, self.session.poll_timeout());
        let mic_sleep = tokio::time::sleep_until(at(armed.0));
        let play_sleep = tokio::time::sleep_until(at(armed.1));
        let rtcp_sleep = tokio::time::sleep_until(at(armed.2));
        tokio::pin!(mic_sleep, play_sleep, rtcp_sleep);
        loop {
            let rtcp_due = self.session.poll_timeout();
            if armed.0 != mic_next {
                armed.0 = mic_next;
                mic_sleep.as_mut().reset(at(mic_next));
            }
            if armed.1 != play_next {
                armed.1 = play_next;
                play_sleep.as_mut().reset(at(play_next));
            }
            if armed.2 != rtcp_due {
                armed.2 = rtcp_due;
                rtcp_sleep.as_mut().reset(at(rtcp_due));
            }
            tokio::select! {
                _ = mic_sleep.as_mut() => {
                    mic_next += period;
                    let now = Instant::now();
                    let mut ended = false;
                    match self.mic.as_mut() {
                        Some(m) => match m.read_frame(&mut mic_frame) {
                            Ok(true) => {}
                            Ok(false) => ended = true,
                            Err(e) => {
                                self.note(MediaNote::Failed(e.to_string()));
                                mic_frame.fill(0);
                                ended = true;
                            }
                        },
                        None => match self.card.as_mut() {
                            Some(c) => c.read(&mut mic_frame),
                            None => mic_frame.fill(0),
                        },
                    }
                    self.check_card(now);
                    if let Some(h) = self.hold.as_mut() {
                        h.fill(&mut mic_frame);
                    } else {
                        if self.muted && self.seat.is_some() {
                            mic_frame.fill(0);
                        }
                        self.mix_conference(&mut mic_frame);
                    }
                    let mic_time = wall();
                    self.meter(Some(&mic_frame), None);
                    self.session.send_frame(now, &mic_frame);
                    if !started {
                        started = true;
                        // The speaker's first frame is played in this same instant.
                        self.play(now, &mut out);
                        play_next += period;
                        self.note(MediaNote::Started {
                            mic_start: mic_time,
                            speaker_start: wall(),
                        });
                    }
                    if ended && mic_open {
                        mic_open = false;
                        self.note(MediaNote::MicEnded);
                    }
                    self.flush();
                }
                _ = play_sleep.as_mut() => {
                    let now = Instant::now();
                    self.receive(now, &mut buf);
                    if !phased && started && self.session.stats().packets_received > 0 {
                        // The first packet is in: the speaker's clock moves
                        // once, so frames are played just after they are due.
                        phased = true;
                        let due = self.first_arrival.unwrap_or(now)
                            + self.session.playout_delay()
                            + PHASE_HEADROOM;
                        // RTP is read at this tick, so the first packet may
                        // have come up to a frame before it, and its frame
                        // may be due already. Then the tick that suits the
                        // stream is a period after `due`: the speaker moves
                        // to it, and the jitter buffer, not yet playing,
                        // starts from the frame due there, a frame late
                        // (otherwise every frame of the call would be played
                        // up to a frame later than it could be).
                        let p = period.as_micros();
                        let early = play_next.saturating_duration_since(due);
                        let shift_us = if early <= Duration::from_millis(1) {
                            due.saturating_duration_since(play_next).as_micros() % p
                        } else {
                            (p - early.as_micros() % p) % p
                        } as u64;
                        let gap = (shift_us * rate / 1_000_000) as usize;
                        if gap > 0 {
                            let silence = vec![0i16; gap];
                            self.write_speaker(&silence);
                            play_next += Duration::from_micros(shift_us);
                            self.flush();
                            continue;
                        }
                    }
                    play_next += period;
                    self.play(now, &mut out);
                    self.flush();
                }
                _ = watch.tick() => {
                    if let Some(n) = self.quiet.check(Instant::now()) {
                        self.note(n);
                    }
                }
                r = recv_opt(self.rtcp.as_ref(), &mut rtcp_buf) => {
                    if let Some((n, src)) = r {
                        self.session.handle_rtcp(Instant::now(), src, rtcp_buf.get(..n).unwrap_or(&[]));
                    }
                }
                _ = rtcp_sleep.as_mut() => {
                    self.session.handle_timeout(Instant::now());
                    self.flush();
                }
                c = commands.recv() => match c {
                    Some(MediaCmd::Dtmf(keys)) => {
                        self.feedback.extend(keys.chars().filter(|k| Tone::dtmf(*k).is_some()));
                        if self.session.send_dtmf(&keys, 100) == 0 {
                            self.note(MediaNote::Failed(format!(
                                "cannot send DTMF {keys:?}: no telephone-event negotiated or no valid key"
                            )));
                        }
                    }
                    Some(MediaCmd::Mute(m)) => {
                        self.muted = m;
                        self.apply_mute();
                    }
                    Some(MediaCmd::Conference(bridge)) => self.join(bridge),
                    Some(MediaCmd::Alert(on)) => {
                        self.alert = on.then(|| ToneGenerator::new(Tone::call_waiting(), self.session.codec().sample_rate()));
                    }
                    Some(MediaCmd::Hold(on)) => {
                        self.hold = on.then(|| ToneGenerator::new(Tone::on_hold(), self.session.codec().sample_rate()));
                    }
                    Some(MediaCmd::Update(n)) => {
                        self.quiet.receives = n.direction.receives();
                        if let Err(e) = self.session.update(&n, &switchboard_codec::Settings::default()) {
                            self.note(MediaNote::Failed(e.to_string()));
                        }
                    }
                    Some(MediaCmd::Stop) | None => break,
                },
            }
        }
        self.publish();
        if let Some(seat) = self.seat.take() {
            seat.bridge.leave(self.call);
        }
        if let Some(mut s) = self.speaker.take() {
            let _ = s.finish();
        }
    }

    /// Mute silences what is sent, except in a conference: there only our
    /// microphone is silenced, and the other party's voice still goes out.
    fn apply_mute(&mut self) {
        self.session.set_muted(self.muted && self.seat.is_none());
    }

    fn join(&mut self, bridge: Option<Arc<Bridge>>) {
        if let Some(old) = self.seat.take() {
            old.bridge.leave(self.call);
        }
        self.join_bridge(bridge);
        self.apply_mute();
    }

    fn join_bridge(&mut self, bridge: Option<Arc<Bridge>>) {
        let Some(bridge) = bridge else { return };
        let rate = self.session.codec().sample_rate();
        match (
            FrameResampler::new(rate, BRIDGE_RATE),
            FrameResampler::new(BRIDGE_RATE, rate),
        ) {
            (Ok(up), Ok(down)) => {
                self.seat = Some(Seat {
                    bridge,
                    wide: vec![0; up.output_frame()],
                    narrow: vec![0; down.output_frame()],
                    up,
                    down,
                });
            }
            _ => {
                self.note(MediaNote::Failed(format!("no conference at {rate} Hz")));
            }
        }
    }

    /// The other conference calls' voices join what we send.
    fn mix_conference(&mut self, mic: &mut [i16]) {
        let Some(seat) = self.seat.as_mut() else {
            return;
        };
        seat.wide.fill(0);
        seat.bridge.mix_others(self.call, &mut seat.wide);
        if seat.down.process(&seat.wide, &mut seat.narrow).is_ok() {
            for (m, x) in mic.iter_mut().zip(seat.narrow.iter()) {
                *m = m.saturating_add(*x);
            }
        }
    }

    /// What this call's far end says goes to the other conference calls.
    fn publish_conference(&mut self, far: &[i16]) {
        let Some(seat) = self.seat.as_mut() else {
            return;
        };
        if seat.up.process(far, &mut seat.wide).is_ok() {
            seat.bridge.publish(self.call, &seat.wide);
        }
    }

    /// One playout frame to the speaker, with the feedback tone of keys the
    /// agent pressed mixed in (quietly, as a phone does).
    fn play(&mut self, now: Instant, out: &mut [i16]) {
        self.session.poll_playout(now, out);
        if self.hold.is_some() {
            // A held caller is not heard (even before the peer agrees).
            out.fill(0);
        }
        self.publish_conference(out);
        if self.tone.as_ref().is_none_or(ToneGenerator::is_done)
            && let Some(k) = self.feedback.pop_front()
        {
            let rate = self.session.codec().sample_rate();
            self.tone = Tone::dtmf(k).map(|t| ToneGenerator::new(t, rate));
        }
        for g in [self.tone.as_mut(), self.alert.as_mut()]
            .into_iter()
            .flatten()
        {
            if g.is_done() {
                continue;
            }
            let mut beep = [0i16; 960];
            let n = out.len().min(beep.len());
            if let Some(b) = beep.get_mut(..n) {
                g.fill(b);
            }
            for (o, b) in out.iter_mut().zip(beep.iter()) {
                *o = o.saturating_add(*b);
            }
        }
        self.write_speaker(out);
        if self.speaker.is_none()
            && let Some(c) = self.card.as_mut()
        {
            c.write(out);
        }
        self.meter(None, Some(out));
    }

    /// Level meters per direction, reported every `level_every` frames.
    fn meter(&mut self, mic: Option<&[i16]>, speaker: Option<&[i16]>) {
        let Some(every) = self.level_every else {
            return;
        };
        let louder = |a: Level, b: Level| if b.rms > a.rms { b } else { a };
        if let Some(m) = mic {
            self.levels.0 = louder(self.levels.0, Level::of(m));
            self.levels.2 += 1;
        }
        if let Some(s) = speaker {
            self.levels.1 = louder(self.levels.1, Level::of(s));
        }
        if self.levels.2 >= every {
            let db = |l: Level| (l.rms_dbfs() * 10.0).round() / 10.0;
            self.note(MediaNote::Levels {
                mic_dbfs: db(self.levels.0),
                speaker_dbfs: db(self.levels.1),
            });
            self.levels = (Level::default(), Level::default(), 0);
        }
    }

    /// A card that failed (headset unplugged) is replaced by the default one;
    /// until one opens, the call goes on without it and a reopen is tried
    /// every second. Both the loss and the recovery are reported.
    fn check_card(&mut self, now: Instant) {
        if self.card.as_ref().is_some_and(|c| c.io.failed()) {
            let lost = self
                .card
                .take()
                .map(|c| {
                    let (i, o) = c.io.names();
                    format!("{i:?} / {o:?}")
                })
                .unwrap_or_default();
            self.note(MediaNote::Device(format!(
                "audio device {lost} failed; switching to the default device"
            )));
            self.card_retry = Some(now);
        }
        let Some(due) = self.card_retry else {
            return;
        };
        if now < due {
            return;
        }
        let rate = self.session.codec().sample_rate();
        match Card::open(&crate::DeviceNames::default(), rate) {
            Ok(c) => {
                let (i, o) = c.io.names();
                self.note(MediaNote::Device(format!(
                    "audio device restored: now using {i:?} / {o:?}"
                )));
                self.card = Some(c);
                self.card_retry = None;
            }
            Err(_) => self.card_retry = Some(now + Duration::from_secs(1)),
        }
    }

    /// Hands the session what the RTP socket holds (read once a frame, at
    /// the speaker's tick), each datagram with the instant it arrived.
    fn receive(&mut self, now: Instant, buf: &mut [u8]) {
        let wall = SystemTime::now();
        for _ in 0..READS_PER_TICK {
            let Some(a) = self.rtp.recv(buf, now, wall) else {
                break;
            };
            let before = self.session.stats().packets_received;
            self.session
                .handle_datagram(a.at, a.from, buf.get(..a.len).unwrap_or(&[]));
            // Only a packet the session took counts as life (not a
            // stranger's, not one that fails to parse).
            if self.session.stats().packets_received > before {
                self.first_arrival.get_or_insert(a.at);
                if self.quiet.heard(a.at) {
                    self.note(MediaNote::Flowing);
                }
            }
        }
    }

    fn write_speaker(&mut self, samples: &[i16]) {
        if let Some(s) = self.speaker.as_mut()
            && let Err(e) = s.write_frame(samples)
        {
            self.note(MediaNote::Failed(e.to_string()));
            self.speaker = None;
        }
    }

    fn publish(&self) {
        if let Ok(mut s) = self.stats.lock() {
            *s = self.session.stats();
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            match (&self.rtcp, t.rtcp) {
                (Some(s), true) => s.send_to(&t.payload, t.destination),
                _ => self.rtp.send_to(&t.payload, t.destination),
            }
        }
        while let Some(e) = self.session.poll_event() {
            if let MediaEvent::Dtmf(key) = e {
                self.note(MediaNote::Dtmf(key));
            }
        }
        self.publish();
    }
}

async fn recv_opt(
    s: Option<&MediaSocket>,
    buf: &mut [u8],
) -> Option<(usize, std::net::SocketAddr)> {
    match s {
        Some(s) => s.recv_from(buf).await.ok(),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RTP is read once a frame; the jitter buffer must still learn when
    /// each packet came, not when it was read.
    #[test]
    fn a_datagram_read_late_keeps_the_instant_it_arrived() {
        let mut rtp = RtpSocket::new(StdUdp::bind("127.0.0.1:0").unwrap()).unwrap();
        let to = rtp.socket.local_addr().unwrap();
        let peer = StdUdp::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 64];
        // The first socket on a machine to ask for timestamps switches the
        // kernel's receive stamping on through deferred work (a busy machine
        // may run it late); until then a datagram is stamped when it is read.
        // A call's socket is made during the SDP exchange, well before its
        // first packet; here, probe until stamping is on (2 s at most).
        let give_up = Instant::now() + Duration::from_secs(2);
        loop {
            peer.send_to(b"probe", to).unwrap();
            std::thread::sleep(Duration::from_millis(10));
            let read = Instant::now();
            let p = rtp
                .recv(&mut buf, read, SystemTime::now())
                .expect("the probe");
            if read.duration_since(p.at) >= Duration::from_millis(5) {
                break;
            }
            assert!(
                Instant::now() < give_up,
                "the kernel never stamped a datagram on arrival"
            );
        }
        assert!(
            rtp.recv(&mut buf, Instant::now(), SystemTime::now())
                .is_none(),
            "nothing waiting"
        );
        let before = Instant::now();
        peer.send_to(b"first", to).unwrap();
        let sent = Instant::now();
        std::thread::sleep(Duration::from_millis(60));
        peer.send_to(b"second", to).unwrap();
        let now = Instant::now();
        let wall = SystemTime::now();
        let a = rtp.recv(&mut buf, now, wall).expect("the first datagram");
        assert_eq!(&buf[..a.len], b"first");
        assert_eq!(a.from, peer.local_addr().unwrap());
        // The stamp is the kernel's, converted between clocks: allow the
        // two clock readings' skew, and no more.
        let slack = Duration::from_millis(2);
        assert!(
            a.at + slack >= before && a.at <= sent + slack,
            "arrived {:?} after sending began, read {:?} after",
            a.at.saturating_duration_since(before),
            now.saturating_duration_since(before)
        );
        let b = rtp.recv(&mut buf, now, wall).expect("the second datagram");
        assert_eq!(&buf[..b.len], b"second");
        assert!(
            b.at >= a.at + Duration::from_millis(55),
            "{:?}",
            b.at - a.at
        );
        assert!(rtp.recv(&mut buf, now, wall).is_none(), "both read");
    }
}
