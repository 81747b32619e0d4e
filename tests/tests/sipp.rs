//! SIPp (Debian `sip-tester`) against switchboard-cli on loopback.

use std::process::Command;
use std::time::Duration;

use switchboard_interop::{
    Agent, Guard, SippStats, free_port, require, spawn, temp_dir, wait_bound_udp, wait_child,
};

/// SIPp's UAC places 200 calls at 20 a second against a headless agent,
/// each held `hold_ms` (SIPp's `-d`); returns the agent after it exited and
/// SIPp's successful and failed counts.
fn sipp_load(tag: &str, hold_ms: u32) -> (Agent, u64, u64) {
    require("sipp");
    let mut agent = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--user",
        "service",
        "--no-devices",
        "listen",
        "--auto-answer",
        "--max-calls",
        "150",
    ]);
    let bind = agent.wait_listening();
    let dir = temp_dir(tag);
    let stats = dir.join("stats.csv");
    let sipp_port = free_port().to_string();
    let hold = hold_ms.to_string();
    let mut sipp = spawn(
        Command::new("sipp")
            .args([
                "-sn",
                "uac",
                &bind,
                "-i",
                "127.0.0.1",
                "-p",
                &sipp_port,
                "-m",
                "200",
                "-r",
                "20",
                "-l",
                "150",
                "-d",
                &hold,
            ])
            .args([
                "-nostdin",
                "-timeout",
                "90",
                "-trace_stat",
                "-fd",
                "1",
                "-stf",
            ])
            .arg(&stats)
            .current_dir(&dir)
            .stdout(std::process::Stdio::null()),
        "sipp",
    );
    let code = wait_child(&mut sipp, Duration::from_secs(120));
    let s = SippStats::read(&stats);
    let ok = s.last("SuccessfulCall(C)") as u64;
    let failed = s.last("FailedCall(C)") as u64;
    let retrans = s.last("Retransmissions(C)") as u64;
    let peak = s.peak("CurrentCall") as u64;
    eprintln!(
        "SIPp uac, calls held {hold_ms} ms: {ok} successful, {failed} failed, {retrans} retransmissions, {peak} at once at the peak"
    );
    assert_eq!(code, 0, "sipp exit code");
    agent.terminate();
    assert_eq!(agent.wait_exit(Duration::from_secs(10)), 0);
    (agent, ok, failed)
}

#[test]
fn sipp_uac_places_200_calls_at_20_per_second_without_failure() {
    let (mut agent, ok, failed) = sipp_load("sipp-uac", 0);
    assert_eq!((ok, failed), (200, 0));
    assert_eq!(agent.count("established"), 200);
}

/// A headless agent talks on every call at once: ten, then a hundred calls
/// up together, none put on hold (SIPp's plain UAC does not expect a re-INVITE).
#[test]
fn the_headless_agent_holds_a_hundred_calls_at_once_and_holds_none_of_them() {
    for (tag, hold_ms) in [("sipp-uac-500", 500), ("sipp-uac-5000", 5000)] {
        let (mut agent, ok, failed) = sipp_load(tag, hold_ms);
        assert_eq!((ok, failed), (200, 0), "calls held {hold_ms} ms");
        assert_eq!(agent.count("established"), 200);
        assert_eq!(agent.count("held"), 0, "no call was put on hold");
    }
}

#[test]
fn switchboard_calls_sipp_uas_and_hangs_up() {
    require("sipp");
    let sipp_port = free_port();
    let dir = temp_dir("sipp-uas");
    let _sipp = Guard::spawn(
        Command::new("sipp")
            .args([
                "-sn",
                "uas",
                "-i",
                "127.0.0.1",
                "-p",
                &sipp_port.to_string(),
                "-m",
                "1",
                "-nostdin",
                "-timeout",
                "30",
            ])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null()),
        "sipp",
    );
    wait_bound_udp(sipp_port, Duration::from_secs(10));
    let target = format!("sip:service@127.0.0.1:{sipp_port}");
    let mut agent = Agent::start(&["--bind", "127.0.0.1:0", "call", &target, "--duration", "1"]);
    agent.wait_for("established", Duration::from_secs(10));
    let ended = agent.wait_for("ended", Duration::from_secs(10));
    assert_eq!(ended["reason"], "local_hangup");
    assert_eq!(agent.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_rejected_call_exits_nonzero_with_a_reason() {
    let (_callee, address) = Agent::listening("bob", &[]);
    let target = format!("sip:nobody@{address}");
    let mut caller = Agent::start(&["--bind", "127.0.0.1:0", "call", &target]);
    let ended = caller.wait_for("ended", Duration::from_secs(10));
    assert_eq!(ended["status"], 404);
    assert_ne!(caller.wait_exit(Duration::from_secs(10)), 0);
}
