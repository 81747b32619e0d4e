//! `bench` — call quality and cost, measured on loopback.
//!
//! For each codec and network condition, a caller plays synthetic speech
//! (espeak-ng) from a file microphone to a callee that records its speaker to
//! a file, through an impairment relay that sits in the SIP path (rewriting
//! SDP ports) and impairs the caller→callee RTP: clean, 3 % random loss,
//! 10 % loss in bursts (Gilbert-Elliott: bursts of 4 packets on average), or
//! 40 ± 20 ms jitter (uniform 20–60 ms delay, reordering allowed). It prints,
//! per run: mouth-to-ear delay (start stamps + cross-correlation, in the
//! first two seconds and, window by window, over the whole call), PESQ
//! MOS-LQO (PyPI `pesq`, narrowband for G.711, wideband for Opus), the
//! CPU of each end (the callee's, and for Switchboard and baresip the
//! caller's, which reads the microphone file and sends) and the callee's
//! peak RSS. Both ends are file-only (`--no-devices`; baresip's player is
//! `aubridge,nil`), so CPU compares like with like. With `--peers` it measures
//! baresip the same way (PESQ, CPU, RSS; baresip stamps no start times, so no
//! delay). `--nets clean,bursts` picks profiles; `--seeds N` runs each random
//! profile with N loss patterns and ends with the median and range of each.
//!
//! With `--load` it measures the headless agent as a load target instead
//! (SIPp: the answer rate until the first failure, CPU per call, memory at a
//! hundred calls with media; see `load.rs` beside it).
//!
//! With `--knowledge` it measures the knowledge base's index instead
//! (10,000 generated articles: build, sync, search and suggest times; see
//! `knowledge.rs`).
//!
//! `scripts/bench.sh` installs what it needs and runs it in release mode.

mod flood;
mod knowledge;
mod load;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard_interop::{
    Agent, Baresip, BaresipAudio, cpu_secs, find_in, free_port, heard_windows, read_wav_8k,
};

#[derive(Clone, Copy, Debug)]
struct Net {
    name: &'static str,
    loss: f64,
    delay_ms: (u64, u64),
    /// Gilbert-Elliott bursts instead of random loss: the chance to go from
    /// the good state to the bad one (where every packet is lost) and back,
    /// per packet.
    burst: Option<(f64, f64)>,
    /// The relay's random seed: each seed is another loss pattern.
    seed: u64,
}

const NETS: [Net; 4] = [
    Net {
        name: "clean",
        loss: 0.0,
        delay_ms: (0, 0),
        burst: None,
        seed: 0x5EED,
    },
    Net {
        name: "loss 3 %",
        loss: 0.03,
        delay_ms: (0, 0),
        burst: None,
        seed: 0x5EED,
    },
    // 10 % lost on average, in bursts of 4 on average: back to good with
    // 1/4 per packet, into bad with 0.1·0.25/0.9.
    Net {
        name: "bursts 10 %",
        loss: 0.0,
        delay_ms: (0, 0),
        burst: Some((0.1 * 0.25 / 0.9, 0.25)),
        seed: 0x5EED,
    },
    Net {
        name: "jitter 40±20 ms",
        loss: 0.0,
        delay_ms: (20, 60),
        burst: None,
        seed: 0x5EED,
    },
];

struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The relay: SIP in on `sip_in` (caller side), out to the callee; SDP ports
/// rewritten so RTP flows through two relay sockets; caller→callee RTP impaired.
struct Relay {
    sip_port: u16,
    stop: Arc<Mutex<bool>>,
}

fn rewrite_sdp(msg: &str, new_port: u16) -> (String, Option<u16>) {
    let Some(body_at) = msg.find("\r\n\r\n") else {
        return (msg.to_owned(), None);
    };
    let (head, body) = msg.split_at(body_at + 4);
    let mut old = None;
    let new_body: String = body
        .split_inclusive("\r\n")
        .map(|l| {
            if let Some(rest) = l.strip_prefix("m=audio ") {
                let (port, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                old = port.parse().ok();
                format!("m=audio {new_port} {tail}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    if old.is_none() {
        return (msg.to_owned(), None);
    }
    let head: String = head
        .split_inclusive("\r\n")
        .map(|l| {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("content-length:") || lower.starts_with("l:") {
                format!("Content-Length: {}\r\n", new_body.len())
            } else {
                l.to_owned()
            }
        })
        .collect();
    (head + &new_body, old)
}

impl Relay {
    fn start(callee_sip: SocketAddr, net: Net, seed: u64) -> Relay {
        let sip_in = std::net::UdpSocket::bind("127.0.0.1:0").expect("relay sip in");
        let sip_out = std::net::UdpSocket::bind("127.0.0.1:0").expect("relay sip out");
        let pa = std::net::UdpSocket::bind("127.0.0.1:0").expect("relay rtp a");
        let pb = std::net::UdpSocket::bind("127.0.0.1:0").expect("relay rtp b");
        for s in [&sip_in, &sip_out, &pa, &pb] {
            s.set_nonblocking(true).expect("nonblocking");
        }
        let sip_port = sip_in.local_addr().expect("addr").port();
        let pa_port = pa.local_addr().expect("addr").port();
        let pb_port = pb.local_addr().expect("addr").port();
        let stop = Arc::new(Mutex::new(false));
        let stop2 = stop.clone();
        std::thread::spawn(move || {
            let mut rng = Rng(seed | 1);
            // The Gilbert-Elliott state (bursts profile).
            let mut bad = false;
            let mut caller_sip: Option<SocketAddr> = None;
            let mut caller_rtp: Option<SocketAddr> = None;
            let mut callee_rtp: Option<SocketAddr> = None;
            // Delayed caller→callee packets: (due, payload).
            let mut queue: Vec<(Instant, Vec<u8>)> = Vec::new();
            let mut buf = vec![0u8; 65_536];
            loop {
                if stop2.lock().map(|s| *s).unwrap_or(true) {
                    return;
                }
                let mut idle = true;
                if let Ok((n, from)) = sip_in.recv_from(&mut buf) {
                    idle = false;
                    caller_sip = Some(from);
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    // The callee sends its RTP to pa.
                    let (out, old) = rewrite_sdp(&text, pa_port);
                    if let Some(p) = old {
                        caller_rtp = Some(SocketAddr::from(([127, 0, 0, 1], p)));
                    }
                    let _ = sip_out.send_to(out.as_bytes(), callee_sip);
                }
                if let Ok((n, _)) = sip_out.recv_from(&mut buf) {
                    idle = false;
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    // The caller sends its RTP to pb.
                    let (out, old) = rewrite_sdp(&text, pb_port);
                    if let Some(p) = old {
                        callee_rtp = Some(SocketAddr::from(([127, 0, 0, 1], p)));
                    }
                    if let Some(c) = caller_sip {
                        let _ = sip_in.send_to(out.as_bytes(), c);
                    }
                }
                // Caller → callee (impaired): arrives on pb, leaves from pa.
                while let Ok((n, _)) = pb.recv_from(&mut buf) {
                    idle = false;
                    if let Some((into_bad, back)) = net.burst {
                        bad = if bad {
                            rng.unit() >= back
                        } else {
                            rng.unit() < into_bad
                        };
                        if bad {
                            continue;
                        }
                    } else if rng.unit() < net.loss {
                        continue;
                    }
                    let (lo, hi) = net.delay_ms;
                    let d = lo as f64 + rng.unit() * (hi - lo) as f64;
                    queue.push((
                        Instant::now() + Duration::from_secs_f64(d / 1000.0),
                        buf[..n].to_vec(),
                    ));
                }
                // Callee → caller (clean): arrives on pa, leaves from pb.
                while let Ok((n, _)) = pa.recv_from(&mut buf) {
                    idle = false;
                    if let Some(c) = caller_rtp {
                        let _ = pb.send_to(&buf[..n], c);
                    }
                }
                let now = Instant::now();
                let mut i = 0;
                while i < queue.len() {
                    if queue[i].0 <= now {
                        let (_, p) = queue.swap_remove(i);
                        if let Some(c) = callee_rtp {
                            let _ = pa.send_to(&p, c);
                        }
                    } else {
                        i += 1;
                    }
                }
                if idle {
                    std::thread::sleep(Duration::from_micros(300));
                }
            }
        });
        Relay { sip_port, stop }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Ok(mut s) = self.stop.lock() {
            *s = true;
        }
    }
}

/// utime + stime of a process in seconds, and its peak RSS in kB.
fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let u = switchboard_interop::proc_usage(pid);
    (u.cpu_secs, u.peak_kb)
}

fn sox(args: &[&str]) {
    let ok = Command::new("sox")
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "sox {args:?} failed (scripts/bench.sh installs sox)");
}

/// PESQ MOS-LQO of `deg` against `reference` (both mono WAV at `rate`).
fn pesq(reference: &Path, deg: &Path, rate: u32) -> Option<f64> {
    let mode = if rate == 8000 { "nb" } else { "wb" };
    let script = format!(
        "import sys,wave\nimport numpy as np\nfrom pesq import pesq\n\
         def r(p):\n w=wave.open(p); return np.frombuffer(w.readframes(w.getnframes()),dtype='<i2').astype(np.float32)\n\
         a=r(sys.argv[1]); b=r(sys.argv[2]); n=min(len(a),len(b))\n\
         print(pesq({rate}, a[:n], b[:n], '{mode}'))\n"
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(reference)
        .arg(deg)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("pesq failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

struct Row {
    agent: &'static str,
    codec: String,
    net: &'static str,
    delay_ms: Option<f64>,
    /// Mouth-to-ear over the whole call: median and 95th percentile of the
    /// delays of the quarter-second windows heard (the first two seconds
    /// alone miss the look-ahead frame a loss adds later).
    delay_call_ms: Option<(f64, f64)>,
    pesq: Option<f64>,
    cpu_percent: f64,
    /// The caller's CPU over the same call, where it was measured.
    caller_cpu_percent: Option<f64>,
    rss_mb: f64,
}

/// Samples a process's CPU every 200 ms until told to stop; the last
/// reading before it exited (or was stopped) comes back from `finish`.
struct CpuWatch {
    stop: Arc<Mutex<bool>>,
    last: Arc<Mutex<Option<f64>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CpuWatch {
    fn start(pid: u32) -> CpuWatch {
        let stop = Arc::new(Mutex::new(false));
        let last = Arc::new(Mutex::new(cpu_secs(pid)));
        let (s, l) = (stop.clone(), last.clone());
        let thread = std::thread::spawn(move || {
            while !s.lock().map(|g| *g).unwrap_or(true) {
                match cpu_secs(pid) {
                    Some(c) => {
                        if let Ok(mut g) = l.lock() {
                            *g = Some(c);
                        }
                    }
                    None => break,
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        CpuWatch {
            stop,
            last,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> Option<f64> {
        if let Ok(mut s) = self.stop.lock() {
            *s = true;
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.last.lock().ok().and_then(|g| *g)
    }
}

/// Speech material: espeak-ng sentences with pauses, repeated to `secs`, as
/// 48 kHz stereo (the microphone for everyone) and 8/16 kHz mono references
/// for PESQ.
fn make_speech(dir: &Path, secs: u32) -> (PathBuf, PathBuf, PathBuf) {
    let raw = dir.join("speech-raw.wav");
    let text = "The caller reports that the order from last Tuesday has not arrived. \
                She asks whether the parcel can be sent again, to the office address. \
                Please confirm the ticket number, and the preferred delivery time. \
                Thank you for calling, an agent will follow up by email today.";
    let ok = Command::new("espeak-ng")
        .args(["-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "espeak-ng failed (scripts/bench.sh installs it)");
    let mic = dir.join("mic-48k-stereo.wav");
    let secs_s = secs.to_string();
    sox(&[
        raw.to_str().unwrap_or(""),
        "-r",
        "48000",
        "-c",
        "2",
        "-b",
        "16",
        mic.to_str().unwrap_or(""),
        "pad",
        "0.5",
        "0",
        // The sentences are about 18 s: repeated, so a call lasts `secs`
        // (CPU ticks of 10 ms need a minute to rise above noise).
        "repeat",
        &(secs / 15 + 1).to_string(),
        "trim",
        "0",
        &secs_s,
    ]);
    let ref8 = dir.join("ref-8k.wav");
    let ref16 = dir.join("ref-16k.wav");
    for (r, p) in [("8000", &ref8), ("16000", &ref16)] {
        sox(&[
            mic.to_str().unwrap_or(""),
            "-r",
            r,
            "-c",
            "1",
            p.to_str().unwrap_or(""),
        ]);
    }
    (mic, ref8, ref16)
}

/// Cuts `heard` so it starts where the reference starts (`lag` at 8 kHz) and
/// converts it to `rate` mono.
fn aligned(heard: &Path, lag_8k: usize, rate: u32, out: &Path) {
    let secs = format!("{}", lag_8k as f64 / 8000.0);
    sox(&[
        heard.to_str().unwrap_or(""),
        "-r",
        &rate.to_string(),
        "-c",
        "1",
        "-b",
        "16",
        out.to_str().unwrap_or(""),
        "trim",
        &secs,
    ]);
}

fn run_switchboard(
    dir: &Path,
    codec: &str,
    net: Net,
    secs: u32,
    mic: &Path,
    refs: (&Path, &Path),
) -> Row {
    let heard = dir.join(format!(
        "heard-{codec}-{}.wav",
        net.name.split(' ').next().unwrap_or("x")
    ));
    let callee_bind = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let heard_arg = heard.to_string_lossy().into_owned();
    let mut callee = Agent::start(&[
        "--bind",
        &callee_bind.to_string(),
        "--user",
        "desk",
        "--codecs",
        codec,
        "--speaker",
        &heard_arg,
        // File-only, as baresip's `aubridge,nil`: without this the side with
        // no file would open the sound card (or retry it every second).
        "--no-devices",
        "listen",
        "--auto-answer",
    ]);
    callee.wait_for("listening", Duration::from_secs(10));
    let relay = Relay::start(callee_bind, net, net.seed);
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        &format!("127.0.0.1:{}", free_port()),
        "--codecs",
        codec,
        "--mic",
        &mic_arg,
        "--no-devices",
        "call",
        &format!("sip:desk@127.0.0.1:{}", relay.sip_port),
    ]);
    let started = caller.wait_for("media_started", Duration::from_secs(10));
    let callee_started = callee.wait_for("media_started", Duration::from_secs(10));
    let (cpu0, _) = cpu_and_rss(callee.pid());
    let caller_cpu0 = cpu_secs(caller.pid());
    let caller_watch = CpuWatch::start(caller.pid());
    let t0 = Instant::now();
    let ended = callee.wait_for("ended", Duration::from_secs(u64::from(secs) + 20));
    let caller_cpu = caller_watch.finish().zip(caller_cpu0).map(|(b, a)| b - a);
    if has_flag("--verbose") {
        eprintln!("callee stats: {}", ended["stats"]);
    }
    let call_secs = t0.elapsed().as_secs_f64();
    let (cpu1, rss_kb) = cpu_and_rss(callee.pid());
    callee.terminate();
    callee.wait_exit(Duration::from_secs(10));
    caller.wait_exit(Duration::from_secs(10));
    drop(relay);
    let said = read_wav_8k(refs.0);
    let got = read_wav_8k(&heard);
    let (lag, corr) = find_in(&said, &got, 4000);
    let offset = callee_started["speaker_start"].as_f64().unwrap_or(0.0)
        - started["mic_start"].as_f64().unwrap_or(0.0);
    let delay = (corr > 0.3).then(|| (offset + lag as f64 / 8000.0) * 1000.0);
    let delay_call = delay_over_call(&said, &got, offset);
    let (reference, rate) = if codec == "opus" || codec == "g722" {
        (refs.1, 16_000)
    } else {
        (refs.0, 8_000)
    };
    // One file per seed, so a run's outputs can be compared afterwards.
    let deg = dir.join(format!(
        "deg-{codec}-{}-{}.wav",
        net.name.split(' ').next().unwrap_or("x"),
        net.seed
    ));
    aligned(&heard, lag, rate, &deg);
    Row {
        agent: "switchboard",
        codec: codec.to_owned(),
        net: net.name,
        delay_ms: delay,
        delay_call_ms: delay_call,
        pesq: pesq(reference, &deg, rate),
        cpu_percent: (cpu1 - cpu0) / call_secs * 100.0,
        caller_cpu_percent: caller_cpu.map(|c| c / call_secs * 100.0),
        rss_mb: rss_kb as f64 / 1024.0,
    }
}

fn run_baresip(
    dir: &Path,
    codec: &str,
    net: Net,
    secs: u32,
    mic: &Path,
    refs: (&Path, &Path),
) -> Row {
    let bs_codec = if codec == "opus" {
        "opus/48000/2"
    } else {
        "PCMU"
    };
    let rec = dir.join(format!(
        "baresip-{codec}-{}",
        net.name.split(' ').next().unwrap_or("x")
    ));
    let _ = std::fs::remove_dir_all(&rec);
    std::fs::create_dir_all(&rec).expect("rec dir");
    let mut callee = Baresip::start_with(
        "bench-bs-callee",
        "desk",
        &BaresipAudio {
            codecs: Some(bs_codec.to_owned()),
            record_dir: Some(rec.clone()),
            ..BaresipAudio::default()
        },
    );
    let callee_sip = SocketAddr::from(([127, 0, 0, 1], callee.sip_port));
    let relay = Relay::start(callee_sip, net, net.seed);
    let mut caller = Baresip::start_with(
        "bench-bs-caller",
        "caller",
        &BaresipAudio {
            codecs: Some(bs_codec.to_owned()),
            source_wav: Some(mic.to_owned()),
            ..BaresipAudio::default()
        },
    );
    caller.command("dial", &format!("sip:desk@127.0.0.1:{}", relay.sip_port));
    callee.wait_event("CALL_INCOMING", Duration::from_secs(10));
    callee.command("accept", "");
    callee.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    let pid = callee.pid();
    let (cpu0, _) = cpu_and_rss(pid);
    let caller_cpu0 = cpu_secs(caller.pid());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(u64::from(secs)));
    let call_secs = t0.elapsed().as_secs_f64();
    let (cpu1, rss_kb) = cpu_and_rss(pid);
    let caller_cpu = cpu_secs(caller.pid()).zip(caller_cpu0).map(|(b, a)| b - a);
    caller.command("hangup", "");
    callee.wait_event("CALL_CLOSED", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    drop(relay);
    let heard = std::fs::read_dir(&rec)
        .ok()
        .and_then(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().contains("dec"))
        })
        .expect("baresip's decoded recording");
    let said = read_wav_8k(refs.0);
    let got = read_wav_8k(&heard);
    let (lag, _) = find_in(&said, &got, 8000);
    let (reference, rate) = if codec == "opus" || codec == "g722" {
        (refs.1, 16_000)
    } else {
        (refs.0, 8_000)
    };
    let deg = rec.join("deg.wav");
    aligned(&heard, lag, rate, &deg);
    Row {
        agent: "baresip 1.0",
        codec: codec.to_owned(),
        net: net.name,
        delay_ms: None,
        delay_call_ms: None,
        pesq: pesq(reference, &deg, rate),
        cpu_percent: (cpu1 - cpu0) / call_secs * 100.0,
        caller_cpu_percent: caller_cpu.map(|c| c / call_secs * 100.0),
        rss_mb: rss_kb as f64 / 1024.0,
    }
}

/// Mouth-to-ear over the whole call, from where each quarter second of what
/// was said (8 kHz) is heard: the median and the 95th percentile over the
/// windows heard whole (a window split by a delay change has no one delay),
/// with `offset` the seconds between the mic's and the speaker's first
/// samples. Not the maximum: a concealed stretch that repeats a pitch period
/// can match one window a frame off (seen once in 120 windows).
fn delay_over_call(said: &[f64], got: &[f64], offset: f64) -> Option<(f64, f64)> {
    let heard = heard_windows(said, 0..said.len(), got, 0..4000, 0.6);
    let mut ms: Vec<f64> = heard
        .windows
        .iter()
        .filter(|w| w.heard && !w.split)
        .map(|w| (offset + w.lag as f64 / 8000.0) * 1000.0)
        .collect();
    if ms.len() < switchboard_interop::MIN_WINDOWS {
        return None;
    }
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let p95 = ms[(ms.len() * 95 / 100).min(ms.len() - 1)];
    Some((median, p95))
}

fn has_flag(f: &str) -> bool {
    std::env::args().any(|a| a == f)
}

/// A PJSIP agent (tests/peers/pjsua_agent.py) with its JSON-line events.
struct Pjsua {
    child: std::process::Child,
    events: std::sync::mpsc::Receiver<serde_json::Value>,
}

impl Pjsua {
    fn start(args: &[&str]) -> Pjsua {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/pjsua_agent.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with pjsua2 (scripts/bench.sh installs pjsua2-python)");
        let out = child.stdout.take().expect("stdout");
        let rx = switchboard_interop::json_lines(out, "pjsua_agent.py");
        Pjsua { child, events: rx }
    }

    fn wait_for(&mut self, name: &str, timeout: Duration) -> Option<serde_json::Value> {
        let mut seen = Vec::new();
        switchboard_interop::wait_matching(&self.events, &mut seen, timeout, |v| v["event"] == name)
    }
}

impl Drop for Pjsua {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_pjsip(dir: &Path, net: Net, secs: u32, refs: (&Path, &Path)) -> Option<Row> {
    let mic16 = dir.join("mic-16k-mono.wav");
    if !mic16.exists() {
        sox(&[
            refs.1.to_str().unwrap_or(""),
            "-r",
            "16000",
            "-c",
            "1",
            mic16.to_str().unwrap_or(""),
        ]);
    }
    let heard = dir.join(format!(
        "pjsip-{}.wav",
        net.name.split(' ').next().unwrap_or("x")
    ));
    let callee_port = free_port();
    let secs_s = secs.to_string();
    let mut callee = Pjsua::start(&[
        "callee",
        "--port",
        &callee_port.to_string(),
        "--file",
        heard.to_str().unwrap_or(""),
        "--secs",
        &(secs + 5).to_string(),
    ]);
    std::thread::sleep(Duration::from_millis(800));
    let relay = Relay::start(
        SocketAddr::from(([127, 0, 0, 1], callee_port)),
        net,
        net.seed,
    );
    let target = format!("sip:pjsua@127.0.0.1:{}", relay.sip_port);
    let mut caller = Pjsua::start(&[
        "caller",
        "--port",
        &free_port().to_string(),
        "--file",
        mic16.to_str().unwrap_or(""),
        "--target",
        &target,
        "--secs",
        &secs_s,
    ]);
    let started = caller.wait_for("media_started", Duration::from_secs(10))?;
    let callee_started = callee.wait_for("media_started", Duration::from_secs(10))?;
    let pid = callee.child.id();
    let (cpu0, _) = cpu_and_rss(pid);
    let t0 = Instant::now();
    callee.wait_for("ended", Duration::from_secs(u64::from(secs) + 15))?;
    let call_secs = t0.elapsed().as_secs_f64();
    let (cpu1, rss_kb) = cpu_and_rss(pid);
    std::thread::sleep(Duration::from_millis(500));
    drop(caller);
    drop(callee);
    drop(relay);
    let said = read_wav_8k(refs.0);
    let got = read_wav_8k(&heard);
    let (lag, corr) = find_in(&said, &got, 4000);
    let offset = callee_started["speaker_start"].as_f64().unwrap_or(0.0)
        - started["mic_start"].as_f64().unwrap_or(0.0);
    let deg = dir.join(format!(
        "deg-pjsip-{}.wav",
        net.name.split(' ').next().unwrap_or("x")
    ));
    aligned(&heard, lag, 8000, &deg);
    Some(Row {
        agent: "PJSIP 2.15",
        codec: "pcmu".into(),
        net: net.name,
        delay_ms: (corr > 0.3).then(|| (offset + lag as f64 / 8000.0) * 1000.0),
        delay_call_ms: delay_over_call(&said, &got, offset),
        pesq: pesq(refs.0, &deg, 8000),
        cpu_percent: (cpu1 - cpu0) / call_secs * 100.0,
        caller_cpu_percent: None,
        rss_mb: rss_kb as f64 / 1024.0,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |f: &str| args.iter().any(|a| a == f);
    let value = |f: &str| {
        args.iter()
            .position(|a| a == f)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let secs: u32 = value("--secs").and_then(|v| v.parse().ok()).unwrap_or(12);
    let peers = has("--peers");
    let codecs: Vec<String> = value("--codecs")
        .unwrap_or_else(|| "pcmu,g722,opus".into())
        .split(',')
        .map(str::to_owned)
        .collect();
    let dir = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    if has("--flood") {
        flood::run();
        return;
    }
    if has("--knowledge") {
        knowledge::run(&dir);
        return;
    }
    if has("--load") {
        // A synthetic voice is enough for load: no PESQ is taken.
        let mic = dir.join("voice-8k.wav");
        switchboard_interop::write_test_voice(&mic, 8000, f64::from(secs), 1);
        load::run(&dir, &mic);
        return;
    }
    // `--nets clean,bursts` runs only those profiles (by first word);
    // `--seeds N` runs each profile with N loss patterns (seeds).
    let nets: Vec<Net> = match value("--nets") {
        Some(list) => NETS
            .into_iter()
            .filter(|n| list.split(',').any(|w| n.name.starts_with(w)))
            .collect(),
        None => NETS.to_vec(),
    };
    let seeds: u64 = value("--seeds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let (mic, ref8, ref16) = make_speech(&dir, secs);
    // Without the pjsua2 module every PJSIP run would wait out its call: ask once.
    let pjsua2 = peers
        && Command::new("python3")
            .args(["-c", "import pjsua2"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if peers && !pjsua2 {
        eprintln!(
            "PJSIP rows skipped: python3 cannot import pjsua2 (scripts/bench.sh installs it)"
        );
    }
    let mut rows = Vec::new();
    let runs: Vec<Net> = nets
        .iter()
        .flat_map(|n| {
            // A clean link has no randomness: once is enough.
            let random = n.loss > 0.0 || n.burst.is_some() || n.delay_ms != (0, 0);
            let k = if random { seeds } else { 1 };
            (0..k).map(move |k| Net {
                seed: n.seed + 7919 * k,
                ..*n
            })
        })
        .collect();
    for codec in &codecs {
        for &net in &runs {
            let row = run_switchboard(&dir, codec, net, secs, &mic, (&ref8, &ref16));
            print_row(&row);
            rows.push(row);
            if peers {
                let row = run_baresip(&dir, codec, net, secs, &mic, (&ref8, &ref16));
                print_row(&row);
                rows.push(row);
                // The pjsua2 wheel has no Opus or G.722 worth comparing: PCMU only.
                if codec == "pcmu" && pjsua2 {
                    match run_pjsip(&dir, net, secs, (&ref8, &ref16)) {
                        Some(row) => {
                            print_row(&row);
                            rows.push(row);
                        }
                        None => eprintln!("PJSIP run failed ({})", net.name),
                    }
                }
            }
        }
    }
    println!(
        "\n| agent | codec | network | mouth-to-ear ms | over the call: median / p95 ms | PESQ | callee CPU % of a core | caller CPU % | callee peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {} | {:.1} |",
            r.agent,
            r.codec,
            r.net,
            r.delay_ms.map(|d| format!("{d:.1}")).unwrap_or("–".into()),
            over_call(r),
            r.pesq.map(|p| format!("{p:.2}")).unwrap_or("–".into()),
            r.cpu_percent,
            r.caller_cpu_percent
                .map(|c| format!("{c:.2}"))
                .unwrap_or("–".into()),
            r.rss_mb
        );
    }
    if seeds > 1 {
        summarise(&rows, seeds);
    }
    println!("\nfiles in {}", dir.display());
}

/// Median and range per agent, codec and profile over the seeds.
fn summarise(rows: &[Row], seeds: u64) {
    fn median(mut v: Vec<f64>) -> Option<f64> {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }
    fn spread(v: &[f64]) -> String {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if v.is_empty() {
            "–".into()
        } else {
            format!("{lo:.2}–{hi:.2}")
        }
    }
    println!(
        "\nOver {seeds} seeds: median (range)\n\n| agent | codec | network | PESQ | mouth-to-ear ms | over the call, median ms | over the call, p95 ms | callee CPU % | caller CPU % |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut keys: Vec<(&str, &str, &str)> = Vec::new();
    for r in rows {
        let k = (r.agent, r.codec.as_str(), r.net);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    for (agent, codec, net) in keys {
        let of = |f: &dyn Fn(&Row) -> Option<f64>| -> Vec<f64> {
            rows.iter()
                .filter(|r| r.agent == agent && r.codec == codec && r.net == net)
                .filter_map(f)
                .collect()
        };
        let pesq = of(&|r| r.pesq);
        let delay = of(&|r| r.delay_ms);
        let call_median = of(&|r| r.delay_call_ms.map(|d| d.0));
        let call_p95 = of(&|r| r.delay_call_ms.map(|d| d.1));
        let cpu = of(&|r| Some(r.cpu_percent));
        let caller = of(&|r| r.caller_cpu_percent);
        let show = |v: &[f64], digits: usize| {
            median(v.to_vec())
                .map(|m| format!("{m:.digits$} ({})", spread(v)))
                .unwrap_or("–".into())
        };
        println!(
            "| {agent} | {codec} | {net} | {} | {} | {} | {} | {} | {} |",
            show(&pesq, 2),
            show(&delay, 1),
            show(&call_median, 1),
            show(&call_p95, 1),
            show(&cpu, 2),
            show(&caller, 2)
        );
    }
}

/// "median / p95" of the delay over the call, or "–".
fn over_call(r: &Row) -> String {
    r.delay_call_ms
        .map(|(m, x)| format!("{m:.1} / {x:.1}"))
        .unwrap_or("–".into())
}

fn print_row(r: &Row) {
    eprintln!(
        "{:12} {:5} {:16} delay {:>7} ms (call {:>11})  PESQ {:>5}  CPU callee {:5.2} % caller {:>5} %  RSS {:5.1} MB",
        r.agent,
        r.codec,
        r.net,
        r.delay_ms.map(|d| format!("{d:.1}")).unwrap_or("–".into()),
        over_call(r),
        r.pesq.map(|p| format!("{p:.2}")).unwrap_or("–".into()),
        r.cpu_percent,
        r.caller_cpu_percent
            .map(|c| format!("{c:.2}"))
            .unwrap_or("–".into()),
        r.rss_mb
    );
}
