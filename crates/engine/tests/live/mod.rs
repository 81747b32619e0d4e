//! Real engines in this process: [`Engine::start`] with
//! [`EngineConfig::headless`] on 127.0.0.1, port 0 — the real driver, real
//! UDP for SIP and RTP, real media pumps paced by the clock. Each [`Live`]
//! keeps every event it reported; waits poll the event stream with a
//! deadline and fail with what was seen.
#![allow(dead_code)] // each test file uses some of these

use std::f64::consts::PI;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchboard_engine::events::EventKind;
use switchboard_engine::{
    CallId, Codec, Command, Engine, EngineConfig, EngineEvent, EngineHandle, Policy,
};
use tokio::sync::mpsc::Receiver;
use tokio::sync::mpsc::error::TryRecvError;

/// How long any one exchange may take on loopback (generous: the machine
/// is shared and the tests run in parallel).
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// A running engine and what it reported.
pub(crate) struct Live {
    pub(crate) name: &'static str,
    pub(crate) addr: SocketAddr,
    handle: Option<EngineHandle>,
    events: Receiver<EngineEvent>,
    /// Every event so far, in order.
    pub(crate) seen: Vec<EventKind>,
    stopped: bool,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.name, self.addr)
    }
}

/// `name` on 127.0.0.1 (a port the kernel picks), G.711 µ-law only (cheap
/// and 8 kHz everywhere), no files, no sound card, with `policy`.
pub(crate) fn config(name: &'static str, policy: Policy) -> EngineConfig {
    EngineConfig {
        codecs: vec![Codec::Pcmu],
        policy,
        ..EngineConfig::headless(SocketAddr::from(([127, 0, 0, 1], 0)), name)
    }
}

impl Live {
    /// Starts the engine and waits until it listens.
    pub(crate) fn start(name: &'static str, config: EngineConfig) -> Live {
        let (handle, events) = Engine::start(config).expect("the engine starts");
        let addr = handle.local_addr();
        let mut live = Live {
            name,
            addr,
            handle: Some(handle),
            events,
            seen: Vec::new(),
            stopped: false,
        };
        let listening = live.wait("it listens", |e| matches!(e, EventKind::Listening { .. }));
        assert!(
            matches!(&listening, EventKind::Listening { address } if *address == addr.to_string()),
            "{listening:?}"
        );
        live
    }

    /// Its SIP URI.
    pub(crate) fn uri(&self) -> String {
        format!("sip:{}@{}", self.name, self.addr)
    }

    /// Gives the engine a command.
    pub(crate) fn send(&self, c: Command) {
        let sent = self.handle.as_ref().is_some_and(|h| h.send(c));
        assert!(sent, "{}: the engine has stopped", self.name);
    }

    /// Places a call to `target`; its handle once the engine reports `calling`.
    pub(crate) fn call(&mut self, target: &str) -> CallId {
        let before = self.count(|e| matches!(e, EventKind::Calling { .. }));
        self.send(Command::Call {
            target: target.to_owned(),
            headers: Vec::new(),
        });
        self.until("the call is placed", |seen| {
            seen.iter()
                .filter(|e| matches!(e, EventKind::Calling { .. }))
                .count()
                > before
        });
        self.calling().expect("checked")
    }

    /// Takes in whatever has arrived; true once the engine has stopped.
    fn drain(&mut self) -> bool {
        loop {
            match self.events.try_recv() {
                Ok(ev) => {
                    if ev.kind == EventKind::Stopped {
                        self.stopped = true;
                    }
                    self.seen.push(ev.kind);
                }
                Err(TryRecvError::Empty) => return self.stopped,
                Err(TryRecvError::Disconnected) => {
                    self.stopped = true;
                    return true;
                }
            }
        }
    }

    /// Waits until `pred` holds over everything seen so far; panics with
    /// the events after [`WAIT`].
    pub(crate) fn until(&mut self, what: &str, mut pred: impl FnMut(&[EventKind]) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let stopped = self.drain();
            if pred(&self.seen) {
                return;
            }
            if stopped || Instant::now() >= deadline {
                panic!(
                    "{}: {what} did not happen within {WAIT:?}; it reported:\n{:#?}",
                    self.name, self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the first event from now on that matches; returns it.
    pub(crate) fn wait(&mut self, what: &str, pred: impl Fn(&EventKind) -> bool) -> EventKind {
        let from = self.seen.len();
        self.wait_from(from, what, pred)
    }

    /// Waits for the first event at or after index `from` of [`Live::seen`]
    /// that matches; returns it.
    pub(crate) fn wait_from(
        &mut self,
        from: usize,
        what: &str,
        pred: impl Fn(&EventKind) -> bool,
    ) -> EventKind {
        let mut found = None;
        self.until(what, |seen| {
            found = seen
                .get(from..)
                .and_then(|s| s.iter().find(|e| pred(e)).cloned());
            found.is_some()
        });
        found.expect("checked")
    }

    /// Whether an event so far matched (after taking in what has arrived).
    pub(crate) fn saw(&mut self, pred: impl Fn(&EventKind) -> bool) -> bool {
        self.drain();
        self.seen.iter().any(pred)
    }

    /// How many events so far matched (after taking in what has arrived).
    pub(crate) fn count(&mut self, pred: impl Fn(&EventKind) -> bool) -> usize {
        self.drain();
        self.seen.iter().filter(|e| pred(e)).count()
    }

    /// The newest incoming call.
    pub(crate) fn incoming(&self) -> Option<CallId> {
        self.seen.iter().rev().find_map(|e| match e {
            EventKind::Incoming { call, .. } => Some(*call),
            _ => None,
        })
    }

    /// The newest call we placed.
    pub(crate) fn calling(&self) -> Option<CallId> {
        self.seen.iter().rev().find_map(|e| match e {
            EventKind::Calling { call, .. } => Some(*call),
            _ => None,
        })
    }

    /// Waits for the next incoming call; its handle.
    pub(crate) fn wait_incoming(&mut self) -> CallId {
        match self.wait("a call rings in", |e| {
            matches!(e, EventKind::Incoming { .. })
        }) {
            EventKind::Incoming { call, .. } => call,
            _ => unreachable!(),
        }
    }

    /// Waits until `call` is established and its audio flows.
    pub(crate) fn wait_media(&mut self, call: CallId) {
        self.until(&format!("call {call} has media"), |seen| {
            seen.iter()
                .any(|e| matches!(e, EventKind::MediaStarted { call: c, .. } if *c == call))
        });
    }

    /// Waits until `call` has ended; the `ended` event.
    pub(crate) fn wait_ended(&mut self, call: CallId) -> EventKind {
        self.wait_from(
            0,
            &format!("call {call} ends"),
            |e| matches!(e, EventKind::Ended { call: c, .. } if *c == call),
        )
    }

    /// Waits for `n` level reports of `call` in a row (from now on) whose
    /// speaker level satisfies `ok`; fails on the deadline.
    pub(crate) fn wait_speaker(
        &mut self,
        call: CallId,
        what: &str,
        n: usize,
        ok: impl Fn(f32) -> bool,
    ) {
        let from = self.seen.len();
        self.until(what, |seen| {
            let mut run = 0;
            for e in seen.get(from..).unwrap_or(&[]) {
                if let EventKind::Levels {
                    call: c,
                    speaker_dbfs,
                    ..
                } = e
                    && *c == call
                {
                    run = if ok(*speaker_dbfs) { run + 1 } else { 0 };
                    if run >= n {
                        return true;
                    }
                }
            }
            false
        });
    }

    /// The speaker levels of `call` reported so far, in order.
    pub(crate) fn speaker_levels(&mut self, call: CallId) -> Vec<f32> {
        self.drain();
        self.seen
            .iter()
            .filter_map(|e| match e {
                EventKind::Levels {
                    call: c,
                    speaker_dbfs,
                    ..
                } if *c == call => Some(*speaker_dbfs),
                _ => None,
            })
            .collect()
    }

    /// Commands that failed so far: (command, error).
    pub(crate) fn failures(&mut self) -> Vec<(String, String)> {
        self.drain();
        self.seen
            .iter()
            .filter_map(|e| match e {
                EventKind::CommandFailed { command, error } => {
                    Some((command.clone(), error.to_string()))
                }
                _ => None,
            })
            .collect()
    }

    /// Hangs up everything and stops, waiting (bounded) for the engine
    /// thread; files its pumps wrote are complete afterwards.
    pub(crate) fn stop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        let _ = handle.send(Command::Shutdown);
        let deadline = Instant::now() + WAIT;
        while !self.drain() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.stopped {
            // `stopped` is the thread's last word: joining is immediate.
            handle.join();
        } else {
            // Never block a test on a stuck engine; it dies with the process.
            eprintln!("{}: the engine did not stop within {WAIT:?}", self.name);
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Calls `to` from `from`; `to` answers. Both handles once both sides have
/// media.
pub(crate) fn connect(from: &mut Live, to: &mut Live) -> (CallId, CallId) {
    let target = to.uri();
    let caller = from.call(&target);
    let callee = to.wait_incoming();
    to.send(Command::Answer { call: callee });
    from.wait_media(caller);
    to.wait_media(callee);
    (caller, callee)
}

/// A scratch directory of this test process, removed when dropped.
#[derive(Debug)]
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(tag: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("switchboard-engine-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `secs` of a sine at `freq` Hz (amplitude `amp`) as 8 kHz mono WAV.
pub(crate) fn write_tone(path: &Path, freq: f64, amp: f64, secs: f64) {
    let rate = 8_000u32;
    let mut sink = switchboard_audio::wav::WavSink::create(path, rate).expect("WAV created");
    let total = (secs * f64::from(rate)) as usize;
    let mut frame = [0i16; 160];
    let mut n = 0usize;
    while n < total {
        for s in frame.iter_mut() {
            *s = (amp * (2.0 * PI * freq * n as f64 / f64::from(rate)).sin()) as i16;
            n += 1;
        }
        sink.write_frame(&frame).expect("WAV written");
    }
    sink.finish().expect("WAV finished");
}

/// A WAV file's samples at 8 kHz.
pub(crate) fn read_wav(path: &Path) -> Vec<i16> {
    let mut src = switchboard_audio::wav::WavSource::open(path, 8_000)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut all = Vec::new();
    let mut frame = [0i16; 160];
    while src.read_frame(&mut frame).expect("WAV reads") {
        all.extend_from_slice(&frame);
    }
    all
}

/// The strongest amplitude of `freq` Hz in any 200 ms window of 8 kHz
/// `samples` (Goertzel): about the sine's amplitude when it is there.
pub(crate) fn tone_amplitude(samples: &[i16], freq: f64) -> f64 {
    let n = 1_600;
    let coeff = 2.0 * (2.0 * PI * freq / 8_000.0).cos();
    samples
        .chunks_exact(n)
        .map(|w| {
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for x in w {
                let s = f64::from(*x) + coeff * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
            2.0 * power.max(0.0).sqrt() / n as f64
        })
        .fold(0.0, f64::max)
}
