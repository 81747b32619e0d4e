//! Two switchboard-cli processes calling each other directly on loopback.

use std::time::Duration;

use switchboard_interop::Agent;

const WAIT: Duration = Duration::from_secs(10);

fn listener(extra: &[&str]) -> (Agent, String) {
    let (agent, address) = Agent::listening("desk", extra);
    (agent, format!("sip:desk@{address}"))
}

fn caller(target: &str) -> Agent {
    Agent::calling("caller", target)
}

#[test]
fn call_rings_is_answered_and_the_caller_hangs_up() {
    let (mut desk, uri) = listener(&[]);
    let mut caller = caller(&uri);
    let inc = desk.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("caller"),
        "{inc}"
    );
    let ringing = caller.wait_for("ringing", WAIT);
    assert_eq!(ringing["status"], 180);
    desk.command("answer");
    assert_eq!(desk.wait_for("established", WAIT)["outgoing"], false);
    assert_eq!(caller.wait_for("established", WAIT)["outgoing"], true);
    caller.command("hangup");
    assert_eq!(caller.wait_for("ended", WAIT)["reason"], "local_hangup");
    assert_eq!(desk.wait_for("ended", WAIT)["reason"], "remote_hangup");
    assert_eq!(caller.wait_exit(WAIT), 0);
}

#[test]
fn the_callee_hangs_up() {
    let (mut desk, uri) = listener(&[]);
    let mut caller = caller(&uri);
    desk.wait_for("incoming", WAIT);
    desk.command("answer");
    caller.wait_for("established", WAIT);
    desk.command("hangup");
    assert_eq!(desk.wait_for("ended", WAIT)["reason"], "local_hangup");
    assert_eq!(caller.wait_for("ended", WAIT)["reason"], "remote_hangup");
    assert_eq!(caller.wait_exit(WAIT), 0);
}

#[test]
fn the_caller_cancels_while_it_rings() {
    let (mut desk, uri) = listener(&[]);
    let mut caller = caller(&uri);
    desk.wait_for("incoming", WAIT);
    caller.wait_for("ringing", WAIT);
    caller.command("hangup");
    assert_eq!(caller.wait_for("ended", WAIT)["reason"], "cancelled");
    assert_eq!(desk.wait_for("ended", WAIT)["reason"], "remote_cancelled");
    assert_ne!(
        caller.wait_exit(WAIT),
        0,
        "an unanswered call exits non-zero"
    );
}

#[test]
fn the_callee_declines() {
    let (mut desk, uri) = listener(&[]);
    let mut caller = caller(&uri);
    desk.wait_for("incoming", WAIT);
    desk.command("reject");
    let ended = caller.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "rejected", "{ended}");
    assert_eq!(ended["status"], 603, "{ended}");
    assert_eq!(desk.wait_for("ended", WAIT)["reason"], "declined");
}

#[test]
fn a_call_beyond_the_line_limit_gets_busy() {
    let (mut desk, uri) = listener(&["--auto-answer", "--max-calls", "1"]);
    let mut first = caller(&uri);
    first.wait_for("established", WAIT);
    let mut second = caller(&uri);
    let ended = second.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "rejected", "{ended}");
    assert_eq!(ended["status"], 486, "{ended}");
    assert_eq!(desk.count("incoming"), 1, "the busy call is never offered");
    first.command("hangup");
    first.wait_for("ended", WAIT);
}

/// The wrapper reading the listener's events goes away mid-call (its end of
/// the pipe closes): the listener hangs up its call and exits with a reason,
/// instead of panicking on the broken pipe.
#[test]
fn a_closed_stdout_hangs_up_the_call_and_exits_without_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = switchboard_interop::Guard::spawn(
        Command::new(switchboard_interop::cli_path())
            .args([
                "--bind",
                "127.0.0.1:0",
                "--user",
                "desk",
                "--events",
                "--no-devices",
            ])
            .args(["listen", "--auto-answer"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        "switchboard-cli",
    );
    let child = &mut child.0;
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut wait_line = |what: &str| {
        for line in lines.by_ref() {
            let line = line.expect("a line");
            if line.contains(&format!("\"event\":\"{what}\"")) {
                return serde_json::from_str::<serde_json::Value>(&line).expect("a JSON event");
            }
        }
        panic!("no {what}");
    };
    let listening = wait_line("listening");
    let bind = listening["address"].as_str().expect("address").to_owned();
    let mut caller = caller(&format!("sip:desk@{bind}"));
    wait_line("established");
    caller.wait_for("established", WAIT);
    // The reader goes away.
    drop(lines);
    // The next event the listener writes fails; it hangs up and leaves. The
    // caller's key press makes sure one comes (its media_started may have
    // gone into the pipe before the reader left).
    caller.command("dtmf 5");
    let ended = caller.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    let code = switchboard_interop::wait_child(child, WAIT);
    let mut stderr = String::new();
    use std::io::Read;
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("standard output closed"), "{stderr}");
    assert_ne!(code, 0);
}
