//! Helpers for interop tests: start `switchboard-cli` and real peers, read
//! events with deadlines, find free loopback ports. Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `switchboard-cli` binary next to the test executable (built by `scripts/test.sh`).
pub fn cli_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join("switchboard-cli");
    assert!(
        p.exists(),
        "{} missing: run `cargo build --workspace --bins` (scripts/test.sh does)",
        p.display()
    );
    p
}

/// Panics with a clear message if a peer program is not installed.
pub fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` is not installed: scripts/install-deps.sh test installs it"
    );
}

/// A UDP and TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    loop {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = s.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
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
        cmd.arg("--events")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn switchboard-cli");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(e) => eprintln!("non-JSON line from switchboard-cli ({e}): {line}"),
                }
            }
        });
        Agent {
            child,
            events: rx,
            seen: Vec::new(),
        }
    }

    /// Waits up to `timeout` for an event named `name`; returns it.
    pub fn wait_for(&mut self, name: &str, timeout: Duration) -> Value {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if v["event"] == name {
                        return v;
                    }
                }
                Err(_) => panic!(
                    "no `{name}` event within {timeout:?}; saw: {:#?}",
                    self.seen
                ),
            }
        }
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a signal to a process.
#[allow(unsafe_code)]
pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a pid we spawned; no memory is shared.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Waits for a child with a deadline; kills it and panics if it overruns.
pub fn wait_child(child: &mut Child, timeout: Duration) -> i32 {
    let until = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "switchboard-{tag}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
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
