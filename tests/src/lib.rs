//! Helpers for interop tests: start `switchboard-cli` and real peers, read
//! events with deadlines, find free loopback ports. Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod mail;
pub mod postgres;
pub mod procs;
pub mod signal;
pub use procs::{
    Guard, free_port, free_ports, signal, spawn, stop, temp_dir, terminate, wait_bound_udp,
    wait_child, wait_until,
};
pub use signal::{
    Capture, Heard, MIN_WINDOWS, TRACK, WINDOW, Window, find_in, heard_windows,
    read_finished_wav_8k, read_wav_8k, rms, sample_at, sleep_until_wall, tone_share, wall_now,
    write_test_signal, write_test_signal_channels, write_test_voice,
};

/// The `switchboard-cli` binary of the same build as this executable (a test in
/// `target/*/deps`, or the bench in `target/*`), built by `scripts/test.sh`.
pub fn cli_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let here = exe.parent().expect("target dir");
    let sibling = here.join("switchboard-cli");
    if sibling.exists() {
        return sibling;
    }
    let dir = here.parent().expect("target dir");
    let p = dir.join("switchboard-cli");
    assert!(
        p.exists(),
        "{} missing: run `cargo build --workspace --bins` (scripts/test.sh does)",
        p.display()
    );
    p
}

/// Panics with a clear message if a peer program is not installed, or if
/// any of the peers is not the version whose output these tests read.
pub fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` is not installed: scripts/install-deps.sh test installs it"
    );
    let problems = peer_versions();
    assert!(
        problems.is_empty(),
        "the interop tests read these peers' output formats and need their versions:\n{}",
        problems.join("\n")
    );
}

/// The peers whose output the tests parse, the command that prints their
/// version, and the version the parsers were written against (Debian 12).
const PEERS: &[(&str, &[&str], &str, &str)] = &[
    (
        "sipp",
        &["-v"],
        "SIPp v3.6.",
        "SIPp 3.6 (its -trace_stat columns and scenario XML)",
    ),
    (
        "baresip",
        &["-h"],
        "baresip v1.0.",
        "baresip 1.0 (its ctrl_tcp events and config keys)",
    ),
    (
        "kamailio",
        &["-v"],
        "version: kamailio 5.6.",
        "kamailio 5.6 (tests/peers/kamailio-registrar.cfg)",
    ),
];

/// Checks every installed peer's version once per test binary; what is wrong,
/// one line each (nothing when all are right).
fn peer_versions() -> &'static [String] {
    static CHECKED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| {
        let mut problems = Vec::new();
        for (program, args, want, what) in PEERS {
            let Ok(out) = Command::new(program).args(*args).output() else {
                continue; // not installed: `require` says so for the tests that need it
            };
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            if !text.contains(want) {
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                problems.push(format!(
                    "  {program}: want {what}, found {:?} (`{program} {}`); \
                     install Debian 12's package (scripts/install-deps.sh test)",
                    first.trim(),
                    args.join(" ")
                ));
            }
        }
        problems
    })
}

/// A running `switchboard-cli --events` with its event stream.
#[derive(Debug)]
pub struct Agent {
    child: Child,
    events: mpsc::Receiver<Value>,
    /// Every event seen so far.
    pub seen: Vec<Value>,
}

impl Agent {
    /// Starts the CLI with these arguments (`--events` is added).
    pub fn start(args: &[&str]) -> Agent {
        Self::start_with_env(args, &[])
    }

    /// Starts the CLI with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Agent {
        let mut cmd = Command::new(cli_path());
        // No sound card unless a test asks for one (SWITCHBOARD_AUDIO=device).
        cmd.env("SWITCHBOARD_AUDIO", "none");
        cmd.arg("--events")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = procs::spawn(&mut cmd, "switchboard-cli");
        let stdout = child.stdout.take().expect("stdout");
        Agent {
            child,
            events: json_lines(stdout, "switchboard-cli"),
            seen: Vec::new(),
        }
    }

    /// Waits up to `timeout` for an event named `name`; returns it.
    pub fn wait_for(&mut self, name: &str, timeout: Duration) -> Value {
        wait_matching(&self.events, &mut self.seen, timeout, |v| {
            v["event"] == name
        })
        .unwrap_or_else(|| {
            panic!(
                "no `{name}` event within {timeout:?}; saw: {:#?}",
                self.seen
            )
        })
    }

    /// Starts a CLI listening as `user` on a port of 127.0.0.1 the kernel
    /// picks, with the `listen` options `extra`, waits until it listens;
    /// returns it and the address it reported (`127.0.0.1:PORT`).
    pub fn listening(user: &str, extra: &[&str]) -> (Agent, String) {
        let mut args = vec!["--bind", "127.0.0.1:0", "--user", user, "listen"];
        args.extend_from_slice(extra);
        let mut agent = Agent::start(&args);
        let address = agent.wait_listening();
        (agent, address)
    }

    /// Waits for the `listening` event and returns the address it names.
    pub fn wait_listening(&mut self) -> String {
        let v = self.wait_for("listening", Duration::from_secs(10));
        v["address"]
            .as_str()
            .unwrap_or_else(|| panic!("`listening` without an address: {v}"))
            .to_owned()
    }

    /// Starts an agent as `user` on a port of 127.0.0.1 the kernel picks,
    /// calling `uri`.
    pub fn calling(user: &str, uri: &str) -> Agent {
        Agent::start(&["--bind", "127.0.0.1:0", "--user", user, "call", uri])
    }

    /// The status of the last report of a transfer we asked for (0 if it
    /// carried none).
    pub fn transfer_status(&mut self) -> u64 {
        self.wait_transfer_done()["status"].as_u64().unwrap_or(0)
    }

    /// Waits for the last `transfer_progress` report of a transfer we asked
    /// for and returns it (its `status` tells success or failure).
    pub fn wait_transfer_done(&mut self) -> Value {
        loop {
            let p = self.wait_for("transfer_progress", Duration::from_secs(10));
            if p["done"] == true {
                return p;
            }
        }
    }

    /// Waits for a `held` event saying we hold the peer (`local`) as given:
    /// holding is reported at once and again when the peer has agreed, so
    /// "the next `held`" is not enough to wait for a resume.
    pub fn wait_held_local(&mut self, local: bool) -> Value {
        wait_matching(&self.events, &mut self.seen, Duration::from_secs(10), |v| {
            v["event"] == "held" && v["local"] == local
        })
        .unwrap_or_else(|| panic!("no `held` with local={local}; saw: {:#?}", self.seen))
    }

    /// The `name` event of `call`: one seen already, or the next to come
    /// (within ten seconds).
    pub fn event_of(&mut self, name: &str, call: u64) -> Value {
        self.count(name);
        let of_call = |v: &Value| v["event"] == name && v["call"].as_u64() == Some(call);
        if let Some(v) = self.seen.iter().find(|v| of_call(v)) {
            return v.clone();
        }
        let timeout = Duration::from_secs(10);
        wait_matching(&self.events, &mut self.seen, timeout, of_call).unwrap_or_else(|| {
            panic!(
                "no `{name}` of call {call} within {timeout:?}; saw: {:#?}",
                self.seen
            )
        })
    }

    /// Counts events named `name` seen so far (after draining what has arrived).
    pub fn count(&mut self, name: &str) -> usize {
        while let Ok(v) = self.events.try_recv() {
            self.seen.push(v);
        }
        self.seen.iter().filter(|v| v["event"] == name).count()
    }

    /// Writes one stdin command line.
    pub fn command(&mut self, line: &str) {
        use std::io::Write;
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            signal(pid, libc::SIGTERM);
        }
    }

    /// Waits up to `timeout` for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        wait_child(&mut self.child, timeout)
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        // Our own program, one process, nothing to flush: no grace needed.
        stop(&mut self.child, Duration::ZERO);
    }
}

/// Reads one JSON object per line from a child's output on a thread of its
/// own; lines that are not JSON are reported and skipped.
pub fn json_lines(
    out: impl std::io::Read + Send + 'static,
    who: &'static str,
) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("non-JSON line from {who} ({e}): {line}"),
            }
        }
    });
    rx
}

/// Waits up to `timeout` for the first value that `matches`, keeping every
/// value received in `seen`; `None` when time runs out.
pub fn wait_matching(
    events: &mpsc::Receiver<Value>,
    seen: &mut Vec<Value>,
    timeout: Duration,
    matches: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let until = Instant::now() + timeout;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let v = events.recv_timeout(left).ok()?;
        seen.push(v.clone());
        if matches(&v) {
            return Some(v);
        }
    }
}

/// Whether a PulseAudio server answers (the headless sound card of the tests).
pub fn sound_server_up() -> bool {
    Command::new("pactl")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// For tests that need the sound card: true when it is there; otherwise says
/// loudly that the test is skipped — and fails instead when the test command
/// promised one (`SWITCHBOARD_REQUIRE_AUDIO`).
pub fn sound_server_or_skip() -> bool {
    if sound_server_up() {
        return true;
    }
    assert!(
        std::env::var_os("SWITCHBOARD_REQUIRE_AUDIO").is_none(),
        "no PulseAudio although the test command set one up"
    );
    switchboard_testkit::skip("no PulseAudio (run scripts/headless-audio.sh)");
    false
}

/// A SIPp scenario of `tests/peers/sipp/`.
pub fn sipp_scenario(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("peers/sipp")
        .join(name)
}

/// SIPp running scenario `name` on 127.0.0.1:`port`, its control and
/// media sockets on loopback ports of their own, logs in `dir`; `args` end
/// with the remote address, if any.
pub fn sipp(dir: &std::path::Path, name: &str, port: u16, args: &[&str]) -> Guard {
    require("sipp");
    let mut cmd = Command::new("sipp");
    cmd.arg("-sf")
        .arg(sipp_scenario(name))
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-ci", "127.0.0.1", "-cp", &free_port().to_string()])
        .args(["-mp", &free_ports(4).to_string()])
        .args(["-nostdin", "-timeout", "30", "-trace_err", "-trace_logs"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null());
    Guard::spawn(&mut cmd, "sipp")
}

/// What SIPp wrote to its error logs in `dir`.
pub fn sipp_errors(dir: &std::path::Path) -> String {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("errors"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

/// Runs a sipvicious tool (`tool` and its options) against 127.0.0.1:`port`
/// from 127.0.0.1:`sport` through the loopback wrapper; returns its stdout
/// and stderr.
pub fn sipvicious(dir: &std::path::Path, tool: &[&str], port: u16, sport: u16) -> (String, String) {
    let name = tool.join("_").replace(['-', ' '], "");
    let (out, err) = (
        dir.join(format!("{name}.out")),
        dir.join(format!("{name}.err")),
    );
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(recipes_with("sv-loopback.py"))
        .args(tool)
        .args([
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-P",
            &sport.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("scan output"))
        .stderr(std::fs::File::create(&err).expect("scan log"));
    let mut scan = Guard::spawn(&mut cmd, "sipvicious (scripts/install-deps.sh test)");
    let code = wait_child(&mut scan.0, Duration::from_secs(90));
    let (out, err) = (
        std::fs::read_to_string(out).unwrap_or_default(),
        std::fs::read_to_string(err).unwrap_or_default(),
    );
    assert_eq!(code, 0, "{tool:?} failed:\n{out}\n{err}");
    eprintln!("{tool:?}:\n{out}{err}");
    (out, err)
}

/// The rows of a sipvicious result table (below its `+===` line).
pub fn sipvicious_rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .skip_while(|l| !l.starts_with("+="))
        .skip(1)
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

/// A file of the shared recipes (start scripts, configs, the sipvicious
/// wrapper): `$SWITCHBOARD_RECIPES`, else `recipes/` beside the shared
/// test data (`scripts/test.sh` finds that for a clean clone too). Absent,
/// the test fails with the path: the recipes are part of the test setup.
pub fn recipes_with(file: &str) -> PathBuf {
    let dir = match std::env::var_os("SWITCHBOARD_RECIPES") {
        Some(d) => PathBuf::from(d),
        None => switchboard_testkit::corpus::testdata_dir()
            .and_then(|d| d.parent().map(|p| p.join("recipes")))
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/recipes")
            }),
    };
    let path = dir.join(file);
    assert!(
        path.is_file(),
        "{}: not there; set SWITCHBOARD_RECIPES to the shared recipes folder",
        path.display()
    );
    path
}

/// Moves the calling thread into a new network namespace whose only
/// interface is `lo` (brought up). Sockets this thread opens and processes it
/// spawns live there: nothing they send can leave the machine.
#[allow(unsafe_code)]
pub fn enter_private_netns() {
    // SAFETY: unshare(2) with CLONE_NEWNET affects only the calling thread's namespace set.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "cannot create a network namespace ({}); this test needs CAP_SYS_ADMIN (run as root)",
        std::io::Error::last_os_error()
    );
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("run ip (iproute2)");
    assert!(up.success(), "ip link set lo up failed");
}

/// How a baresip under test makes and keeps sound.
#[derive(Debug, Default, Clone)]
pub struct BaresipAudio {
    /// `audio_codecs` of the account (default `PCMU`), e.g. `opus/48000/2`.
    pub codecs: Option<String>,
    /// Play this WAV as baresip's microphone (aufile); default a 1 kHz sine.
    pub source_wav: Option<PathBuf>,
    /// Record what baresip sends and plays here (sndfile module).
    pub record_dir: Option<PathBuf>,
    /// A PEM file with a certificate and its key: baresip also serves SIP
    /// over TLS, on its SIP port + 1 ([`Baresip::tls_uri`]).
    pub tls_certificate: Option<PathBuf>,
    /// The account's media encryption (`srtp`, `srtp-mand`), srtp module loaded.
    pub mediaenc: Option<String>,
}

/// A running baresip 1.0 driven through its `ctrl_tcp` module (netstring JSON
/// on a loopback TCP port): commands in, call events out.
#[derive(Debug)]
pub struct Baresip {
    _child: Guard,
    ctrl: std::net::TcpStream,
    events: mpsc::Receiver<Value>,
    /// Every message seen from baresip so far (events and command responses).
    pub seen: Vec<Value>,
    /// The SIP port baresip listens on (UDP and TCP, 127.0.0.1).
    pub sip_port: u16,
    /// The account's user part.
    pub user: String,
}

impl Baresip {
    /// Starts baresip with a local account `user` (no registrar) and the PCMU codec,
    /// listening on a free loopback port; connects to its control socket.
    pub fn start(tag: &str, user: &str) -> Baresip {
        Self::start_with(tag, user, &BaresipAudio::default())
    }

    /// Starts baresip with a chosen codec list, audio source and recording.
    pub fn start_with(tag: &str, user: &str, audio: &BaresipAudio) -> Baresip {
        require("baresip");
        let dir = temp_dir(tag);
        let sip_port = free_port();
        let ctrl_port = free_port();
        let rtp = free_ports(22);
        let source = match &audio.source_wav {
            Some(p) => format!("aufile,{}", p.display()),
            None => "ausine,1000".to_owned(),
        };
        let record = match &audio.record_dir {
            Some(d) => format!("module\tsndfile.so\nsnd_path\t{}\n", d.display()),
            None => String::new(),
        };
        let (transports, certificate) = match &audio.tls_certificate {
            Some(c) => ("udp,tcp,tls", format!("sip_certificate\t{}\n", c.display())),
            None => ("udp,tcp", String::new()),
        };
        let (srtp_module, mediaenc) = match &audio.mediaenc {
            Some(m) => ("module\tsrtp.so\n", format!(";mediaenc={m}")),
            None => ("", String::new()),
        };
        let config = format!(
            "poll_method\tepoll\n\
             sip_listen\t127.0.0.1:{sip_port}\n\
             sip_transports\t{transports}\n\
             {certificate}\
             audio_player\taubridge,nil\n\
             audio_source\t{source}\n\
             ausrc_srate\t48000\n\
             ausrc_channels\t2\n\
             audio_alert\taubridge,nil\n\
             rtp_ports\t{rtp}-{}\n\
             module_path\t/usr/lib/baresip/modules\n\
             module\tg711.so\n\
             module\tg722.so\n\
             module\topus.so\n\
             module\tausine.so\n\
             module\taufile.so\n\
             module\taubridge.so\n\
             {record}\
             {srtp_module}\
             module_app\taccount.so\n\
             module_app\tmenu.so\n\
             module_app\tctrl_tcp.so\n\
             ctrl_tcp_listen\t127.0.0.1:{ctrl_port}\n",
            rtp.saturating_add(20)
        );
        std::fs::write(dir.join("config"), config).expect("write baresip config");
        std::fs::write(
            dir.join("accounts"),
            format!(
                "<sip:{user}@127.0.0.1:{sip_port}>;regint=0;audio_codecs={}{mediaenc}\n",
                audio.codecs.as_deref().unwrap_or("PCMU")
            ),
        )
        .expect("write baresip accounts");
        let log = std::fs::File::create(dir.join("baresip.log")).expect("baresip log");
        let child = Guard::spawn(
            Command::new("baresip")
                .arg("-f")
                .arg(&dir)
                .args(["-n", "127.0.0.1"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().map(Stdio::from).unwrap_or(Stdio::null()))
                .stderr(Stdio::from(log)),
            "baresip",
        );
        let until = Instant::now() + Duration::from_secs(10);
        let ctrl = loop {
            match std::net::TcpStream::connect(("127.0.0.1", ctrl_port)) {
                Ok(s) => break s,
                Err(e) if Instant::now() < until => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!(
                    "baresip control port {ctrl_port} not up within 10 s ({e}); log: {}",
                    std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default()
                ),
            }
        };
        let reader = ctrl.try_clone().expect("clone control socket");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || read_netstrings(reader, &tx));
        Baresip {
            _child: child,
            ctrl,
            events: rx,
            seen: Vec::new(),
            sip_port,
            user: user.to_owned(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self._child.pid()
    }

    /// The address to call this baresip at.
    pub fn uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.user, self.sip_port)
    }

    /// The WAV baresip's sndfile module wrote in `dir` (its
    /// [`BaresipAudio::record_dir`]) for what it received (`dec`: decoded)
    /// or sent (`enc`: what went into the encoder); there must be one.
    pub fn recording(dir: &std::path::Path, which: &str) -> PathBuf {
        let files: Vec<_> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        let found: Vec<&PathBuf> = files
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(&format!("-{which}.wav")))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one {which} recording from baresip: {files:?}"
        );
        found[0].clone()
    }

    /// The address to call it at over TLS (with [`BaresipAudio::tls_certificate`]).
    pub fn tls_uri(&self) -> String {
        format!("sips:{}@127.0.0.1:{}", self.user, self.sip_port + 1)
    }

    /// Sends a menu command (`dial`, `accept`, `hangup` ...) with parameters.
    pub fn command(&mut self, command: &str, params: &str) {
        use std::io::Write;
        let body =
            serde_json::json!({"command": command, "params": params, "token": command}).to_string();
        let frame = format!("{}:{body},", body.len());
        self.ctrl
            .write_all(frame.as_bytes())
            .expect("write to baresip control socket");
    }

    /// Waits up to `timeout` for a call event of this type (`CALL_INCOMING`,
    /// `CALL_ESTABLISHED`, `CALL_CLOSED` ...); returns it.
    pub fn wait_event(&mut self, kind: &str, timeout: Duration) -> Value {
        wait_matching(&self.events, &mut self.seen, timeout, |v| {
            v["event"] == true && v["type"] == kind
        })
        .unwrap_or_else(|| {
            panic!(
                "no baresip `{kind}` event within {timeout:?}; saw: {:#?}",
                self.seen
            )
        })
    }
}

fn read_netstrings(mut s: std::net::TcpStream, tx: &mpsc::Sender<Value>) {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
        }
        while let Some(colon) = buf.iter().position(|&b| b == b':') {
            let Some(len) = std::str::from_utf8(buf.get(..colon).unwrap_or(&[]))
                .ok()
                .and_then(|l| l.parse::<usize>().ok())
            else {
                eprintln!("baresip control stream out of sync");
                return;
            };
            let end = colon + 1 + len;
            if buf.len() < end + 1 {
                break;
            }
            if let Ok(v) = serde_json::from_slice::<Value>(buf.get(colon + 1..end).unwrap_or(&[]))
                && tx.send(v).is_err()
            {
                return;
            }
            buf.drain(..=end);
        }
    }
}

/// An OpenLDAP `slapd` of the test's own on 127.0.0.1, with `ldif` loaded
/// under `dc=switchboard,dc=test` (admin `cn=admin,dc=switchboard,dc=test`,
/// password `admin-secret`); stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Slapd {
    child: Option<Child>,
    /// `ldap://127.0.0.1:PORT`.
    pub url: String,
    /// Where its database and log are.
    pub dir: PathBuf,
}

impl Slapd {
    /// The base DN.
    pub const BASE: &'static str = "dc=switchboard,dc=test";
    /// The admin's DN.
    pub const ADMIN: &'static str = "cn=admin,dc=switchboard,dc=test";

    /// Starts slapd with `ldif` loaded (a fresh database every time).
    pub fn start(tag: &str, ldif: &std::path::Path) -> Slapd {
        require("slapd");
        let dir = temp_dir(tag);
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("slapd data dir");
        let conf = dir.join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 include /etc/ldap/schema/nis.schema\n\
                 pidfile {dir}/slapd.pid\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 loglevel none\n\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{base}\"\n\
                 rootdn \"{admin}\"\n\
                 rootpw admin-secret\n\
                 directory {data}\n\
                 index objectClass eq\n\
                 index cn,sn,displayName eq,sub\n\
                 access to * by * read\n",
                dir = dir.display(),
                base = Self::BASE,
                admin = Self::ADMIN,
                data = data.display()
            ),
        )
        .expect("slapd.conf");
        procs::output_ok(
            Command::new("/usr/sbin/slapadd")
                .args(["-q", "-f"])
                .arg(&conf)
                .arg("-l")
                .arg(ldif),
            "slapadd",
        );
        let port = free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join("slapd.log")).expect("slapd log");
        let child = spawn(
            Command::new("/usr/sbin/slapd")
                .args(["-d", "0", "-h", &format!("{url}/"), "-f"])
                .arg(&conf)
                .stdout(log.try_clone().expect("log"))
                .stderr(log),
            "slapd",
        );
        let mut s = Slapd {
            child: Some(child),
            url,
            dir,
        };
        // Up when it accepts connections (bounded).
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let dead = s
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            assert!(
                !dead && Instant::now() < until,
                "slapd did not come up: {}",
                std::fs::read_to_string(s.dir.join("slapd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    /// Stops it (its group: SIGTERM, a few seconds' grace, then SIGKILL).
    pub fn stop(&mut self) {
        terminate(self.child.take());
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// kamailio as registrar and proxy with digest auth (any user, password
/// `secret`) on a free port of 127.0.0.1, from `tests/peers/kamailio-registrar.cfg`.
/// Stopped with SIGTERM to its process group — the main process and every
/// worker it forked — then SIGKILL to the group if any linger.
#[derive(Debug)]
pub struct Kamailio {
    child: Option<Child>,
    /// Its address.
    pub ip: std::net::Ipv4Addr,
    /// Its SIP port.
    pub port: u16,
    /// Its log (what the cfg's `xlog` lines say).
    pub log: PathBuf,
}

impl Kamailio {
    /// Starts it and waits until it answers OPTIONS (bounded).
    pub fn start() -> Kamailio {
        Self::start_on(free_port())
    }

    /// [`Kamailio::start`] on a given port (a restart where the agents
    /// registered before: after [`Kamailio::stop`], the port of the one stopped).
    pub fn start_on(port: u16) -> Kamailio {
        Self::start_at(std::net::Ipv4Addr::LOCALHOST, port)
    }

    /// [`Kamailio::start_on`] at another local address (one added to `lo`
    /// in a test's network namespace).
    pub fn start_at(ip: std::net::Ipv4Addr, port: u16) -> Kamailio {
        Self::start_cfg(ip, port, include_str!("../peers/kamailio-registrar.cfg"))
    }

    /// [`Kamailio::start`] as a proxy that stays out of the dialogs it sets
    /// up (no Record-Route): in-dialog requests go between the phones.
    pub fn start_without_record_route() -> Kamailio {
        let cfg = include_str!("../peers/kamailio-registrar.cfg").replace("record_route();", "");
        Self::start_cfg(std::net::Ipv4Addr::LOCALHOST, free_port(), &cfg)
    }

    /// [`Kamailio::start`] as a presence server too (the dialog event
    /// package through `pua_dialoginfo` and `presence_dialoginfo`): a call
    /// it routes lights its parties' lamps for whoever SUBSCRIBEs. No digest
    /// auth. Its two db_text tables are copied from the Debian package.
    pub fn start_presence() -> Kamailio {
        require("kamailio");
        let tables = std::path::Path::new("/usr/share/kamailio/dbtext/kamailio");
        let modules = std::path::Path::new("/usr/lib/x86_64-linux-gnu/kamailio/modules");
        if !modules.join("presence_dialoginfo.so").exists() {
            panic!(
                "kamailio's presence modules are missing: apt-get install kamailio-presence-modules \
                 (scripts/install-deps.sh test installs them)"
            );
        }
        let db = temp_dir("kamailio-db");
        for t in ["version", "pua"] {
            std::fs::copy(tables.join(t), db.join(t)).expect("copy a db_text table");
        }
        let cfg = include_str!("../peers/kamailio-presence.cfg")
            .replace("DBDIR", &db.display().to_string());
        Self::start_cfg(std::net::Ipv4Addr::LOCALHOST, free_port(), &cfg)
    }

    fn start_cfg(ip: std::net::Ipv4Addr, port: u16, cfg: &str) -> Kamailio {
        require("kamailio");
        let dir = temp_dir("kamailio");
        let cfg = cfg.replace("127.0.0.1:PORT", &format!("{ip}:{port}"));
        let path = dir.join("kamailio.cfg");
        std::fs::write(&path, cfg).expect("write cfg");
        let log = dir.join("kamailio.log");
        let child = spawn(
            Command::new("kamailio")
                .arg("-f")
                .arg(&path)
                .args(["-DD", "-E", "-m", "32", "-M", "8", "-Y"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(&log).expect("kamailio log"),
                )),
            "kamailio",
        );
        let k = Kamailio {
            child: Some(child),
            ip,
            port,
            log,
        };
        let probe = UdpSocket::bind((ip, 0)).expect("bind");
        probe
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let options = format!(
            "OPTIONS sip:{ip}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {0};branch=z9hG4bKprobe\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            probe.local_addr().expect("addr")
        );
        for _ in 0..50 {
            let _ = probe.send_to(options.as_bytes(), (ip, port));
            let mut buf = [0u8; 2048];
            if probe.recv_from(&mut buf).is_ok() {
                return k;
            }
        }
        panic!("kamailio did not start on port {port}");
    }

    /// `sip:IP:PORT`.
    pub fn uri(&self) -> String {
        format!("sip:{}:{}", self.ip, self.port)
    }

    /// A CLI agent with an account `user` (password `secret`) here, bound
    /// to a port of the kernel's choice on 127.0.0.1 (kamailio learns it
    /// from the REGISTER); `args` are further options and the mode.
    pub fn agent(&self, user: &str, args: &[&str]) -> Agent {
        let registrar = self.uri();
        let mut all = vec![
            "--bind",
            "127.0.0.1:0",
            "--registrar",
            &registrar,
            "--username",
            user,
        ];
        all.extend_from_slice(args);
        Agent::start_with_env(&all, &[("SWITCHBOARD_PASSWORD", "secret")])
    }

    /// Stops it now (SIGTERM to its group, then SIGKILL), as its `Drop` does.
    pub fn stop(&mut self) {
        terminate(self.child.take());
    }

    /// What it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        terminate(self.child.take());
    }
}

/// A SIPp `-trace_stat` CSV: a header and one row per `-fd` period.
#[derive(Debug)]
pub struct SippStats {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl SippStats {
    /// Reads the file (empty if it is not there yet).
    pub fn read(path: &std::path::Path) -> SippStats {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let split = |l: &str| l.split(';').map(str::to_owned).collect::<Vec<_>>();
        let header = lines.next().map(split).unwrap_or_default();
        SippStats {
            header,
            rows: lines.map(split).collect(),
        }
    }

    /// A column's value in every row (0 where a row has none).
    pub fn column(&self, name: &str) -> Vec<f64> {
        let Some(col) = self.header.iter().position(|h| h == name) else {
            panic!("no {name} in SIPp stats: {:?}", self.header)
        };
        self.rows
            .iter()
            .map(|r| {
                r.get(col)
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0.0)
            })
            .collect()
    }

    /// A column's value in the last row.
    pub fn last(&self, name: &str) -> f64 {
        *self
            .column(name)
            .last()
            .unwrap_or_else(|| panic!("no rows in SIPp stats for {name}"))
    }

    /// The largest value a column took.
    pub fn peak(&self, name: &str) -> f64 {
        self.column(name).into_iter().fold(0.0, f64::max)
    }
}

/// What a process has used, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcUsage {
    /// User + system CPU time, seconds.
    pub cpu_secs: f64,
    /// Resident memory now, kB.
    pub rss_kb: u64,
    /// Peak resident memory (VmHWM), kB.
    pub peak_kb: u64,
}

/// utime + stime of a process in seconds, or `None` when it is gone (or
/// its stat cannot be read).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields start after the last ')'.
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // State is field 0, utime 11, stime 12 (clock ticks of 10 ms).
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// [`ProcUsage`] of `pid` (zeros for a process that is gone).
pub fn proc_usage(pid: u32) -> ProcUsage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    ProcUsage {
        cpu_secs: cpu_secs(pid).unwrap_or(0.0),
        rss_kb: kb("VmRSS:"),
        peak_kb: kb("VmHWM:"),
    }
}
