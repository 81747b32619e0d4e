//! Processes the tests start, and the ports and folders they use.
//!
//! Every program a test starts goes through [`prepare`]: it runs in a process
//! group of its own (so a daemon's forked workers can be stopped with it) and
//! dies with the test thread that started it (`PR_SET_PDEATHSIG`), so a test
//! binary killed by a timeout or Ctrl-C takes its peers along. [`stop`] ends
//! it: SIGTERM to the group, a grace period, SIGKILL to the group, and a wait
//! until no member of the group is alive — also from `Drop`, so a panicking
//! test stops what it started. What escapes a group (a daemon that calls
//! `setsid`) is caught after the suite by the `leftovers` check of
//! `scripts/test.sh`, which looks for the run's `SWITCHBOARD_TEST_RUN` mark
//! in every process's environment.
//!
//! Ports: programs of our own bind `127.0.0.1:0` and report the address
//! they got (the CLI's `listening` event). Peers that cannot (baresip,
//! kamailio, SIPp, slapd) get a port from [`free_port`], which hands out
//! ports below the kernel's ephemeral range — so an RTP socket some agent
//! binds to port 0 can never take the port a peer is about to bind — each
//! port once per test binary.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a daemon gets after SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// Sets up `cmd` the way every test process is started: its own process
/// group, and SIGKILL when the thread that starts it dies.
#[allow(unsafe_code)]
pub fn prepare(cmd: &mut Command) -> &mut Command {
    cmd.process_group(0);
    // SAFETY: the closure runs in the forked child before exec and calls
    // only prctl(2) and getppid(2), both async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() == 1 {
                return Err(std::io::Error::other("parent gone"));
            }
            Ok(())
        });
    }
    cmd
}

/// Starts `cmd` [`prepare`]d; panics naming `what` (and where to get it).
pub fn spawn(cmd: &mut Command, what: &str) -> Child {
    prepare(cmd)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"))
}

/// Sends a signal to a process (or, with a negative `pid`, to a group).
#[allow(unsafe_code)]
pub fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) with a pid or group we spawned; no memory is shared.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// The live (not zombie) processes of group `pgid`, from `/proc`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok()?.parse::<u32>().ok())
        .filter(|pid| {
            // After "(comm)": state, ppid, pgrp.
            stat_fields(*pid).is_some_and(|f| {
                f.first().is_some_and(|s| s != "Z" && s != "X")
                    && f.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
            })
        })
        .collect()
}

/// Stops a process started with [`prepare`] and everything in its group:
/// SIGTERM, up to `grace` for them to go, then SIGKILL; returns once the
/// child is reaped and no member of the group is alive (at most two more
/// seconds). A zero `grace` kills at once.
pub fn stop(child: &mut Child, grace: Duration) {
    let pid = child.id();
    let Ok(ipid) = i32::try_from(pid) else { return };
    let gone = |child: &mut Child| {
        matches!(child.try_wait(), Ok(Some(_))) && group_members(pid).is_empty()
    };
    if !grace.is_zero() {
        // A group of its own if it was prepared; its pid alone otherwise.
        if !signal(-ipid, libc::SIGTERM) {
            signal(ipid, libc::SIGTERM);
        }
        let until = Instant::now() + grace;
        while Instant::now() < until && !gone(child) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    signal(-ipid, libc::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
    let until = Instant::now() + Duration::from_secs(2);
    while !group_members(pid).is_empty() && Instant::now() < until {
        signal(-ipid, libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a short command to its end (stdin closed) and returns what it
/// wrote; panics naming `what` and its stderr if it cannot start or fails.
pub fn output_ok(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What a finished child wrote to its piped stdout and stderr (empty for
/// one not piped, or unreadable).
pub fn piped_output(child: &mut Child) -> (String, String) {
    use std::io::Read;
    let mut out = String::new();
    let mut err = String::new();
    if let Some(o) = child.stdout.as_mut() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(e) = child.stderr.as_mut() {
        let _ = e.read_to_string(&mut err);
    }
    (out, err)
}

/// Waits for a child with a deadline; stops it and panics if it overruns.
pub fn wait_child(child: &mut Child, timeout: Duration) -> i32 {
    let until = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() >= until {
            stop(child, Duration::ZERO);
            panic!("process {} did not exit within {timeout:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process stopped (SIGTERM, [`GRACE`], SIGKILL, to its group) when
/// dropped — also when the test panics.
#[derive(Debug)]
pub struct Guard(pub Child);

impl Guard {
    /// Starts `cmd` [`prepare`]d and guards it.
    pub fn spawn(cmd: &mut Command, what: &str) -> Guard {
        Guard(spawn(cmd, what))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Stops it now.
    pub fn stop(&mut self) {
        stop(&mut self.0, GRACE);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops a daemon the test started (see [`stop`]).
pub fn terminate(child: Option<Child>) {
    if let Some(mut c) = child {
        stop(&mut c, GRACE);
    }
}

/// The ports [`free_port`] may hand out: below the kernel's ephemeral range
/// (`ip_local_port_range`), or above it when that starts too low.
fn port_range() -> (u32, u32) {
    let text =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .filter_map(|v| v.parse::<u32>().ok());
    let (lo, hi) = (it.next().unwrap_or(32768), it.next().unwrap_or(60999));
    if lo >= 20_000 {
        (10_000, lo)
    } else {
        (hi + 1, 65_535)
    }
}

/// A UDP and TCP port (and the one above it, for RTCP) free on 127.0.0.1
/// now, outside the ephemeral range, never handed out twice by this process.
pub fn free_port() -> u16 {
    free_ports(2)
}

/// The first of `n` consecutive ports (`n` even, at least 2), each free for
/// UDP and TCP on 127.0.0.1 now, outside the ephemeral range; none of them
/// is handed out again by this process (a peer's RTP port range).
pub fn free_ports(n: u16) -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = u32::from(n.max(2)).next_multiple_of(2);
    let (lo, hi) = port_range();
    // Even offsets from an even base: blocks never overlap.
    let base = lo.next_multiple_of(2);
    let span = (hi.saturating_sub(base).saturating_sub(n) & !1).max(2);
    // Start where an earlier test binary of the same run is unlikely to be.
    let _ = NEXT.compare_exchange(
        0,
        (2 + std::process::id() * 7919 % span) & !1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    let free = |p: u32| {
        u16::try_from(p).is_ok_and(|p| {
            std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
        })
    };
    for _ in 0..span / n {
        let first = base + NEXT.fetch_add(n, Ordering::SeqCst) % span;
        if (first..first + n).all(free)
            && let Ok(port) = u16::try_from(first)
        {
            return port;
        }
    }
    panic!("no {n} free ports on 127.0.0.1 in {lo}..{hi}");
}

/// A fresh temporary directory (under `$TMPDIR`, which `scripts/test.sh`
/// points at a folder of the run that it removes afterwards).
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "switchboard-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

/// Whether a UDP socket is bound to `port` (on any local address), from
/// `/proc/net/udp` — looking, not binding, so the owner is never raced.
pub fn udp_bound(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/udp", "/proc/net/udp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| l.split_whitespace().nth(1))
                .any(|local| local.ends_with(&want))
        })
    })
}

/// Waits until something binds UDP `port` (a peer that cannot report its
/// address has started listening); panics after `timeout`.
pub fn wait_bound_udp(port: u16, timeout: Duration) {
    let until = Instant::now() + timeout;
    while !udp_bound(port) {
        assert!(
            Instant::now() < until,
            "nothing listens on UDP port {port} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether `pid` is alive (and not a zombie).
pub fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z" && s != "X"))
}

/// The parent of `pid`.
pub fn parent(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The live processes whose environment holds `name=value` — however they
/// were started, also daemons that left their process group — except this
/// process and its ancestors.
pub fn marked(name: &str, value: &str) -> Vec<u32> {
    let needle = format!("{name}={value}").into_bytes();
    let mut mine = vec![std::process::id()];
    while let Some(p) = mine.last().copied().and_then(parent) {
        if p == 0 || mine.contains(&p) {
            break;
        }
        mine.push(p);
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().into_string().ok()?.parse::<u32>().ok())
        .filter(|pid| !mine.contains(pid) && alive(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == needle.as_slice()))
        })
        .collect()
}

/// Stops every process [`marked`] `name=value`: SIGTERM, two seconds, SIGKILL.
/// Returns how many there were.
pub fn stop_marked(name: &str, value: &str) -> usize {
    let found = marked(name, value);
    let send = |sig| {
        for pid in &found {
            if let Ok(p) = i32::try_from(*pid) {
                signal(p, sig);
            }
        }
    };
    send(libc::SIGTERM);
    let until = Instant::now() + Duration::from_secs(2);
    while found.iter().any(|p| alive(*p)) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    send(libc::SIGKILL);
    found.len()
}

/// Waits until `done` holds, polling every 20 ms for at most `timeout`;
/// false if it never did.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
