//! The practice line behind `switchboard --demo`: simulated callers ring the
//! desk on loopback, one after another, with what a real PBX would send —
//! P-Asserted-Identity, `X-Queue`, `X-IVR-Data` — and speak their request
//! (speech made by `scripts/make-practice-audio.sh`, compiled into the
//! binary and written out next to the database on start). Each caller is a
//! scenario of `assets/practice/scenarios.toml`, named in
//! `X-Practice-Scenario`: the desk starts the scenario's script and scores
//! the trainee when the wrap-up is saved.
//!
//! Each caller is its own engine with its own voice as microphone, so the
//! practice line is the real SIP and RTP path: what a new operator does here
//! is exactly what they will do with a PBX.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use switchboard_engine::events::EventKind;
use switchboard_engine::{Command, Engine, EngineConfig};

/// One simulated caller: a scenario of `assets/practice/scenarios.toml`
/// with its speech.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The scenario (sent as `X-Practice-Scenario`).
    pub scenario: String,
    /// Display name.
    pub name: String,
    /// Number (in P-Asserted-Identity).
    pub number: String,
    /// Queue (X-Queue).
    pub queue: String,
    /// What the IVR collected (X-IVR-Data).
    pub ivr: String,
    /// The caller's words (8 kHz WAV).
    pub speech: &'static [u8],
    /// File name for the speech.
    pub file: String,
}

/// The practice scenarios, checked against the shipped scripts.
const SCENARIOS: &str = include_str!("../../../assets/practice/scenarios.toml");

/// The speech files the scenarios may name.
const SPEECH: [(&str, &[u8]); 5] = [
    (
        "mari.wav",
        include_bytes!("../../../assets/practice/mari.wav"),
    ),
    (
        "ivan.wav",
        include_bytes!("../../../assets/practice/ivan.wav"),
    ),
    (
        "ana.wav",
        include_bytes!("../../../assets/practice/ana.wav"),
    ),
    (
        "john.wav",
        include_bytes!("../../../assets/practice/john.wav"),
    ),
    (
        "olga.wav",
        include_bytes!("../../../assets/practice/olga.wav"),
    ),
];

/// The practice scenarios (what a trainee is scored against).
pub fn scenarios() -> Vec<switchboard_desk::practice::Scenario> {
    let (lib, _) = switchboard_desk::script::library::Library::builtin();
    // The file and the scripts ship together; the desk's tests load both.
    switchboard_desk::practice::parse(SCENARIOS, |id| lib.get(id).cloned()).unwrap_or_else(|e| {
        debug_assert!(false, "the shipped scenarios do not load: {e}");
        Vec::new()
    })
}

/// The practice callers, one per scenario with speech, in the file's order.
pub fn callers() -> Vec<Caller> {
    scenarios()
        .into_iter()
        .filter_map(|s| {
            let speech = SPEECH.iter().find(|(f, _)| *f == s.speech)?.1;
            Some(Caller {
                scenario: s.id,
                name: s.name,
                number: s.number,
                queue: s.queue,
                ivr: s.ivr,
                speech,
                file: s.speech,
            })
        })
        .collect()
}

/// A simulated colleague (or customer): answers every call put through to
/// it, or placed to it, and says who it is.
#[derive(Debug, Clone, Copy)]
pub struct Colleague {
    /// Quick-connect label.
    pub label: &'static str,
    /// SIP user.
    pub user: &'static str,
    /// The extension the operator dials.
    pub extension: &'static str,
    /// A colleague callers are put through to (else a customer to call).
    pub colleague: bool,
    /// Greeting (8 kHz WAV).
    pub speech: &'static [u8],
    /// File name for the speech.
    pub file: &'static str,
}

/// The colleagues the operator can transfer practice callers to, and a
/// customer to call back: all dialable by extension.
pub const COLLEAGUES: [Colleague; 3] = [
    Colleague {
        label: "Billing (practice)",
        user: "billing",
        extension: "201",
        colleague: true,
        speech: include_bytes!("../../../assets/practice/billing.wav"),
        file: "billing.wav",
    },
    Colleague {
        label: "Supervisor (practice)",
        user: "supervisor",
        extension: "202",
        colleague: true,
        speech: include_bytes!("../../../assets/practice/supervisor.wav"),
        file: "supervisor.wav",
    },
    Colleague {
        label: "Customer Mari (practice)",
        user: "customer",
        extension: "300",
        colleague: false,
        speech: include_bytes!("../../../assets/practice/mari.wav"),
        file: "customer-mari.wav",
    },
];

/// How the practice line paces its calls.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// Quiet time between one call's end and the next ring.
    pub gap: Duration,
    /// A call is ended by the caller after this long.
    pub longest_call: Duration,
    /// A caller put through to a colleague hangs up after this long.
    pub after_transfer: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing {
            gap: Duration::from_secs(20),
            longest_call: Duration::from_secs(90),
            after_transfer: Duration::from_secs(8),
        }
    }
}

/// One of the practice line's numbers, as the desk offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Who answers.
    pub label: String,
    /// What the operator dials.
    pub extension: String,
    /// Where it rings.
    pub uri: String,
    /// A colleague to put callers through to (a quick-connect); else a
    /// customer to call back.
    pub colleague: bool,
}

/// The running practice line; dropping it stops the callers.
#[derive(Debug)]
pub struct PracticeLine {
    stop: Arc<AtomicBool>,
    /// The colleagues and the customer.
    pub extensions: Vec<Extension>,
    /// The practice fulfilment desk's address (`http://127.0.0.1:PORT`):
    /// the practice forms are POSTed there and get a number back.
    pub fulfilment: String,
}

impl Drop for PracticeLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts calling `sip:{user}@{desk}`; the callers' speech is written into `dir`.
pub fn start(
    desk: SocketAddr,
    user: &str,
    dir: &Path,
    pacing: Pacing,
) -> Result<PracticeLine, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let voice = |file: &str, speech: &[u8]| -> Result<std::path::PathBuf, String> {
        let path = dir.join(file);
        let fresh = std::fs::read(&path).is_ok_and(|b| b == speech);
        if !fresh {
            std::fs::write(&path, speech).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(path)
    };
    let engine = |user: &str, name: &str, mic: std::path::PathBuf, calls: usize| {
        let base = EngineConfig::headless(SocketAddr::from(([127, 0, 0, 1], 0)), user);
        Engine::start(EngineConfig {
            display_name: Some(name.into()),
            mic: Some(mic),
            policy: switchboard_engine::Policy {
                max_calls: calls,
                // A practice caller goes where the trainee puts it through
                // (a headless agent refuses transfers by default).
                transfer: switchboard_engine::TransferPolicy::Accept,
                ..base.policy
            },
            ..base
        })
        .map_err(|e| format!("practice line: {e}"))
    };
    let mut lines = Vec::new();
    for c in callers() {
        let (e, events) = engine("practice", &c.name, voice(&c.file, c.speech)?, 2)?;
        lines.push((c, e, events));
    }
    // Colleagues answer whatever is put through to them.
    let mut colleagues = Vec::new();
    let mut buttons = Vec::new();
    for c in COLLEAGUES {
        let (e, events) = engine(c.user, c.label, voice(c.file, c.speech)?, 8)?;
        buttons.push(Extension {
            label: c.label.to_owned(),
            extension: c.extension.to_owned(),
            uri: format!("sip:{}@{}", c.user, e.local_addr()),
            colleague: c.colleague,
        });
        colleagues.push((e, events));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let fulfilment = fulfilment_desk(stop.clone()).map_err(|e| format!("practice line: {e}"))?;
    let stopping = stop.clone();
    let target = format!("sip:{user}@{desk}");
    std::thread::Builder::new()
        .name("practice".into())
        .spawn(move || {
            for k in (0..lines.len()).cycle() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Some((c, engine, events)) = lines.get_mut(k) else {
                    break;
                };
                while events.try_recv().is_ok() {}
                let _ = engine.send(Command::Call {
                    target: target.clone(),
                    headers: vec![
                        (
                            "P-Asserted-Identity".into(),
                            format!("\"{}\" <sip:{}@practice.invalid>", c.name, c.number),
                        ),
                        ("X-Queue".into(), c.queue.clone()),
                        ("X-IVR-Data".into(), c.ivr.clone()),
                        (
                            switchboard_desk::workspace::SCENARIO_HEADER.into(),
                            c.scenario.clone(),
                        ),
                    ],
                });
                // Until the desk (or the caller, after a while) ends the call.
                let mut until = Instant::now() + pacing.longest_call;
                let mut ended = false;
                // A caller transferred to a colleague stays on with them.
                let mut live = 0usize;
                let mut started = false;
                while Instant::now() < until && !ended && !stopping.load(Ordering::Relaxed) {
                    while let Ok(ev) = events.try_recv() {
                        match ev.kind {
                            EventKind::Calling { .. } => {
                                if started {
                                    // Put through to a colleague: a few
                                    // words with them, then the next caller.
                                    until = until.min(Instant::now() + pacing.after_transfer);
                                }
                                live += 1;
                                started = true;
                            }
                            EventKind::Ended { .. } => {
                                live = live.saturating_sub(1);
                                ended = started && live == 0;
                            }
                            _ => {}
                        }
                    }
                    answer_colleagues(&mut colleagues);
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = engine.send(Command::HangupAll);
                let until = Instant::now() + pacing.gap;
                while Instant::now() < until && !stopping.load(Ordering::Relaxed) {
                    answer_colleagues(&mut colleagues);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            for engine in lines
                .into_iter()
                .map(|(_, e, _)| e)
                .chain(colleagues.into_iter().map(|(e, _)| e))
            {
                let _ = engine.send(Command::Shutdown);
                engine.join();
            }
        })
        .map_err(|e| format!("practice line: {e}"))?;
    Ok(PracticeLine {
        stop,
        extensions: buttons,
        fulfilment,
    })
}

/// The practice forms (`assets/practice/forms.toml`): an order and an IT
/// ticket, posted to the fulfilment desk at `base`.
pub fn forms(base: &str) -> Vec<switchboard_desk::form::FormDef> {
    #[derive(serde::Deserialize)]
    struct File {
        form: Vec<switchboard_desk::form::FormDef>,
    }
    let text = include_str!("../../../assets/practice/forms.toml").replace("FULFILMENT", base);
    match toml::from_str::<File>(&text) {
        Ok(f) => f.form,
        Err(e) => {
            debug_assert!(false, "the practice forms do not load: {e}");
            Vec::new()
        }
    }
}

/// A fulfilment desk on 127.0.0.1: every POST gets a number (`ORD-1001`,
/// `T-2001` …) as `{"id": …}`; the same Idempotency-Key gets the same
/// number again. Reads are bounded; it stops with the practice line.
pub fn fulfilment_desk(stop: Arc<AtomicBool>) -> std::io::Result<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("practice-fulfilment".into())
        .spawn(move || {
            let mut numbers: Vec<(String, String)> = Vec::new();
            let mut next = 1001u32;
            while !stop.load(Ordering::Relaxed) {
                let Ok((conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut reader = BufReader::new(conn.take(256 * 1024));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let tickets = line.contains("/tickets");
                let (mut length, mut key) = (0usize, String::new());
                for _ in 0..100 {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    let lower = h.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0).min(128 * 1024);
                    }
                    if lower.starts_with("idempotency-key:") {
                        key = h.get(16..).unwrap_or("").trim().to_owned();
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let number = match numbers.iter().find(|(k, _)| *k == key && !key.is_empty()) {
                    Some((_, n)) => n.clone(),
                    None => {
                        let n = if tickets {
                            format!("T-{}", next + 1000)
                        } else {
                            format!("ORD-{next}")
                        };
                        next += 1;
                        numbers.push((key, n.clone()));
                        n
                    }
                };
                let answer = format!("{{\"id\":\"{number}\"}}");
                let mut conn = reader.into_inner().into_inner();
                let _ = write!(
                    conn,
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        })?;
    Ok(format!("http://{addr}"))
}

type EngineEvents = tokio::sync::mpsc::Receiver<switchboard_engine::EngineEvent>;

/// Colleagues answer every call put through to them.
fn answer_colleagues(colleagues: &mut [(switchboard_engine::EngineHandle, EngineEvents)]) {
    for (engine, events) in colleagues.iter_mut() {
        while let Ok(ev) = events.try_recv() {
            if let EventKind::Incoming { call, .. } = ev.kind {
                let _ = engine.send(Command::Answer { call });
            }
        }
    }
}
