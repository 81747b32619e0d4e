//! `bench --load`: the headless agent as SIPp's load target, with media.
//!
//! The agent (`listen --auto-answer`, a speech file as every call's
//! microphone) answers SIPp's UAC; SIPp echoes each call's RTP back
//! (`-rtp_echo`), so every call encodes, sends, receives and decodes audio.
//!
//! 1. **Answer rate**: SIPp starts at 50 calls/s and adds 50 every two
//!    seconds (`-rate_increase`) up to 2,000, each call held one second. The
//!    figure is the highest rate SIPp measured in a second before the first
//!    failed call, and before the first retransmitted INVITE (an answer that
//!    took longer than 500 ms).
//! 2. **A hundred at once**: 200 calls at 20/s, each held 5 s (up to 100 up
//!    at the same time): CPU seconds per call and per call-minute, and the
//!    agent's resident memory while they are up.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_interop::{Agent, SippStats, free_port, proc_usage};

fn agent(mic: &Path) -> (Agent, String) {
    let bind = format!("127.0.0.1:{}", free_port());
    let mic = mic.to_str().unwrap_or_default().to_owned();
    let mut a = Agent::start(&[
        "--bind",
        &bind,
        "--user",
        "service",
        "--no-devices",
        "--codecs",
        "pcmu",
        "--mic",
        &mic,
        "listen",
        "--auto-answer",
        "--max-calls",
        "10000",
    ]);
    a.wait_for("listening", Duration::from_secs(10));
    (a, bind)
}

fn sipp(target: &str, stats: &Path, extra: &[&str]) -> std::process::Child {
    let port = free_port().to_string();
    let media = free_port().to_string();
    Command::new("sipp")
        .args([
            "-sn",
            "uac",
            target,
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-mp",
            &media,
            "-rtp_echo",
            "-l",
            "10000",
            "-trace_stat",
            "-stf",
        ])
        .arg(stats)
        .args(["-fd", "1", "-nostdin"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp (scripts/bench.sh installs sip-tester)")
}

/// Waits for SIPp to finish (bounded), then stops it by its PID.
fn stop_sipp(child: &mut std::process::Child, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Ramps the rate up and reports where it first fails.
fn ramp(dir: &Path, mic: &Path) {
    let (mut a, bind) = agent(mic);
    let stats = dir.join("ramp.csv");
    let mut child = sipp(
        &bind,
        &stats,
        &[
            "-r",
            "50",
            "-rate_increase",
            "50",
            "-rate_interval",
            "2",
            "-rate_max",
            "2000",
            "-d",
            "1000",
            "-m",
            "30000",
        ],
    );
    // SIPp quits when the rate reaches its maximum; the first failures end it sooner.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(150) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        let failing = SippStats::read(&stats)
            .column("FailedCall(P)")
            .into_iter()
            .filter(|f| *f > 0.0)
            .count();
        if failing >= 3 {
            break;
        }
    }
    stop_sipp(&mut child, Duration::ZERO);
    let s = SippStats::read(&stats);
    let (rates, targets) = (s.column("CallRate(P)"), s.column("TargetRate"));
    let (failures, retransmissions) = (s.column("FailedCall(P)"), s.column("Retransmissions(P)"));
    let mut best_clean = 0.0f64;
    let mut best_before_failure = 0.0f64;
    let mut first_failure = None;
    let mut first_retransmission = None;
    for (((rate, target), failed), retrans) in rates
        .into_iter()
        .zip(targets)
        .zip(failures)
        .zip(retransmissions)
    {
        if failed > 0.0 && first_failure.is_none() {
            first_failure = Some(target);
        }
        if retrans > 0.0 && first_retransmission.is_none() {
            first_retransmission = Some(target);
        }
        if first_failure.is_none() {
            best_before_failure = best_before_failure.max(rate);
        }
        if first_failure.is_none() && first_retransmission.is_none() {
            best_clean = best_clean.max(rate);
        }
    }
    let used = proc_usage(a.pid());
    let fmt = |r: Option<f64>| r.map(|r| format!("{r:.0}/s")).unwrap_or("none".into());
    println!(
        "answer rate: {best_before_failure:.0} calls/s before the first failure (first failure at a target of {}), \
         {best_clean:.0} calls/s before the first retransmitted INVITE (first at {}); agent CPU {:.1} s, peak RSS {:.1} MB",
        fmt(first_failure),
        fmt(first_retransmission),
        used.cpu_secs,
        used.peak_kb as f64 / 1024.0
    );
    a.terminate();
}

/// 200 calls of 5 s at 20/s: up to a hundred at once.
fn hundred(dir: &Path, mic: &Path) {
    let (mut a, bind) = agent(mic);
    let stats = dir.join("hundred.csv");
    let before = proc_usage(a.pid());
    let started = Instant::now();
    let mut child = sipp(&bind, &stats, &["-r", "20", "-d", "5000", "-m", "200"]);
    // Sample memory while the calls are up.
    let mut rss_max = 0;
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        rss_max = rss_max.max(proc_usage(a.pid()).rss_kb);
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_sipp(&mut child, Duration::from_secs(5));
    let after = proc_usage(a.pid());
    let s = SippStats::read(&stats);
    let (ok, failed, concurrent) = (
        s.peak("SuccessfulCall(C)"),
        s.peak("FailedCall(C)"),
        s.peak("CurrentCall"),
    );
    let held = a.count("held");
    let cpu = after.cpu_secs - before.cpu_secs;
    println!(
        "a hundred at once: {ok:.0} calls ok, {failed:.0} failed, {concurrent:.0} up at the peak, {held} held; \
         agent CPU {cpu:.2} s = {:.1} ms per call ({:.2} s per call-minute); RSS {:.1} MB idle, {:.1} MB with the calls up \
         ({:.0} kB per call), peak {:.1} MB",
        1000.0 * cpu / ok.max(1.0),
        60.0 * cpu / (ok.max(1.0) * 5.0),
        before.rss_kb as f64 / 1024.0,
        rss_max as f64 / 1024.0,
        (rss_max.saturating_sub(before.rss_kb)) as f64 / concurrent.max(1.0),
        after.peak_kb as f64 / 1024.0
    );
    a.terminate();
}

/// Both measurements; figures on stdout.
pub(crate) fn run(dir: &Path, mic: &Path) {
    hundred(dir, mic);
    ramp(dir, mic);
}
