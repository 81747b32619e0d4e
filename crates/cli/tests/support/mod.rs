//! Running the built `switchboard-cli`: one-shot runs with a deadline, and
//! agents whose `--events` JSON lines are read on a thread of their own.
//! Every process is killed and reaped when its guard drops (a failing
//! assertion included); every wait has a deadline.
#![allow(dead_code)] // each test file uses some of these

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_switchboard-cli");

/// How long any one step may take (generous: the machine is shared).
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A child process, killed and reaped when dropped.
pub(crate) struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to [`WAIT`] for the child to exit; its exit code (`None`: killed
/// by a signal). Panics (and the guard kills it) when it overruns.
fn wait_exit(child: &mut Child, what: &str) -> Option<i32> {
    let deadline = Instant::now() + WAIT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => panic!("{what}: still running after {WAIT:?}"),
            Err(e) => panic!("{what}: cannot wait: {e}"),
        }
    }
}

/// Collects a pipe's text on a thread of its own.
fn collect(pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let t = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Ok(mut t) = t.lock() {
                t.push_str(&line);
                t.push('\n');
            }
        }
    });
    text
}

fn text_of(t: &Arc<Mutex<String>>) -> String {
    t.lock().map(|t| t.clone()).unwrap_or_default()
}

/// The command with no sound card and a clean environment for the things
/// the CLI reads from it.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("SWITCHBOARD_AUDIO", "none")
        .env_remove("SWITCHBOARD_PASSWORD")
        .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// How a one-shot run ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Exit code (`None`: a signal).
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Outcome {
    /// It failed cleanly: a non-zero exit (not a panic's 101), no panic
    /// message, and `fragment` in what it said on standard error.
    pub(crate) fn assert_refused(&self, code: i32, fragment: &str) {
        assert_eq!(self.code, Some(code), "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        assert!(self.stderr.contains(fragment), "{fragment:?} in {self:#?}");
    }
}

/// Runs the CLI to its end (at most [`WAIT`]) with stdin closed.
pub(crate) fn run(args: &[&str]) -> Outcome {
    run_env(args, &[])
}

/// [`run`] with extra environment variables.
pub(crate) fn run_env(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = command(args, env);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard(cmd.spawn().expect("switchboard-cli starts"));
    let stdout = collect(child.0.stdout.take().expect("stdout"));
    let stderr = collect(child.0.stderr.take().expect("stderr"));
    let code = wait_exit(&mut child.0, &format!("switchboard-cli {args:?}"));
    // The readers finish when the pipes close, right after the exit.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Arc::strong_count(&stdout) + Arc::strong_count(&stderr) > 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    Outcome {
        code,
        stdout: text_of(&stdout),
        stderr: text_of(&stderr),
    }
}

/// What the reader makes of a line of `--events` output that is not JSON.
const NOT_JSON: &str = "(not json)";

/// A running `switchboard-cli --events`.
pub(crate) struct Agent {
    name: String,
    child: Guard,
    events: mpsc::Receiver<Value>,
    stderr: Arc<Mutex<String>>,
    /// Every event so far.
    pub(crate) seen: Vec<Value>,
}

impl Agent {
    /// Starts the CLI with `--events` and these arguments.
    pub(crate) fn start(name: &str, args: &[&str]) -> Agent {
        let mut cmd = command(&["--events"], &[]);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = Guard(cmd.spawn().expect("switchboard-cli starts"));
        let stdout = child.0.stdout.take().expect("stdout");
        let stderr = collect(child.0.stderr.take().expect("stderr"));
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // `--events` output is JSON lines and nothing else.
                let v = serde_json::from_str::<Value>(&line).unwrap_or_else(
                    |e| serde_json::json!({ "event": NOT_JSON, "line": line, "error": e.to_string() }),
                );
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Agent {
            name: name.to_owned(),
            child,
            events,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Waits for the next event named `name` for which `pred` holds.
    pub(crate) fn wait_for(&mut self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    assert_ne!(v["event"], NOT_JSON, "{}: {v}", self.name);
                    self.seen.push(v.clone());
                    if v["event"] == name && pred(&v) {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "{}: no `{name}` event within {WAIT:?}; saw {:#?}\nstderr: {}",
                    self.name,
                    self.seen,
                    text_of(&self.stderr)
                ),
            }
        }
    }

    /// Waits for the next event named `name`.
    pub(crate) fn wait(&mut self, name: &str) -> Value {
        self.wait_for(name, |_| true)
    }

    /// Waits for `listening`; the address it names.
    pub(crate) fn listening(&mut self) -> String {
        let v = self.wait("listening");
        v["address"].as_str().expect("an address").to_owned()
    }

    /// How many events named `name` arrived so far.
    pub(crate) fn count(&mut self, name: &str) -> usize {
        while let Ok(v) = self.events.try_recv() {
            self.seen.push(v);
        }
        self.seen.iter().filter(|v| v["event"] == name).count()
    }

    /// One line on its standard input.
    pub(crate) fn command(&mut self, line: &str) {
        if let Some(stdin) = self.child.0.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }

    /// Waits (bounded) for it to exit; its exit code.
    pub(crate) fn exit_code(&mut self) -> Option<i32> {
        let name = self.name.clone();
        wait_exit(&mut self.child.0, &name)
    }

    /// What it wrote on standard error so far.
    pub(crate) fn stderr(&self) -> String {
        text_of(&self.stderr)
    }
}

/// A scratch directory, removed when dropped.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(tag: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("switchboard-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    /// A file in it with `text`; its path as a string.
    pub(crate) fn file(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("file written");
        p.to_string_lossy().into_owned()
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

/// Writes `secs` of a sine at `freq` Hz as 8 kHz mono WAV.
pub(crate) fn write_tone(path: &Path, freq: f64, amp: f64, secs: f64) {
    let rate = 8_000u32;
    let mut sink = switchboard_audio::wav::WavSink::create(path, rate).expect("WAV created");
    let total = (secs * f64::from(rate)) as usize;
    let mut frame = [0i16; 160];
    let mut n = 0usize;
    while n < total {
        for s in frame.iter_mut() {
            let t = n as f64 / f64::from(rate);
            *s = (amp * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
            n += 1;
        }
        sink.write_frame(&frame).expect("WAV written");
    }
    sink.finish().expect("WAV finished");
}

/// The strongest amplitude of `freq` Hz in any 200 ms window of a WAV file
/// read at 8 kHz (Goertzel): about the sine's amplitude when it is there.
pub(crate) fn tone_amplitude(path: &Path, freq: f64) -> f64 {
    let mut src = switchboard_audio::wav::WavSource::open(path, 8_000)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut samples = Vec::new();
    let mut frame = [0i16; 160];
    while src.read_frame(&mut frame).expect("WAV reads") {
        samples.extend_from_slice(&frame);
    }
    let n = 1_600;
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / 8_000.0).cos();
    samples
        .chunks_exact(n)
        .map(|w| {
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for x in w {
                let s = f64::from(*x) + coeff * s1 - s2;
                s2 = s1;
                s1 = s;
            }
            2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0).sqrt() / n as f64
        })
        .fold(0.0, f64::max)
}
