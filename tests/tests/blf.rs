//! Busy lamps (RFC 4235 dialog events): a colleague's call seen by a
//! watcher, with kamailio's presence modules as the PBX, with SIPp playing
//! a presence server, and with a PBX that does not serve them.

use std::time::Duration;

use switchboard_interop::{Agent, Kamailio, sipp, sipp_errors, temp_dir, wait_child};

/// The next `presence` event for `target`: its state.
fn next_lamp(agent: &mut Agent, target: &str) -> String {
    let e = agent.wait_for("presence", Duration::from_secs(15));
    assert_eq!(e["target"], target, "{e}");
    e["state"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_colleagues_call_through_kamailio_turns_the_lamp_ringing_busy_and_idle_again() {
    let k = Kamailio::start_presence();
    let mut bob = k.agent("bob", &["listen", "--answer-after", "1500"]);
    bob.wait_for("registered", Duration::from_secs(10));
    let mut watcher = k.agent("anna", &["listen"]);
    watcher.wait_for("registered", Duration::from_secs(10));
    watcher.command("watch bob");
    assert_eq!(next_lamp(&mut watcher, "bob"), "idle", "before any call");

    let bob_uri = format!("sip:bob@127.0.0.1:{}", k.port);
    let mut carol = k.agent("carol", &["call", &bob_uri]);
    assert_eq!(next_lamp(&mut watcher, "bob"), "ringing");
    assert_eq!(next_lamp(&mut watcher, "bob"), "busy", "bob answered");
    carol.wait_for("established", Duration::from_secs(10));
    carol.command("hangup");
    carol.wait_for("ended", Duration::from_secs(10));
    assert_eq!(next_lamp(&mut watcher, "bob"), "idle", "the call is over");
    assert_eq!(watcher.count("presence_failed"), 0);

    // Unwatching ends the subscription politely: kamailio's last NOTIFY is
    // answered, and nothing more is reported.
    watcher.command("unwatch bob");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        watcher.count("presence"),
        4,
        "idle, ringing, busy, idle: no more"
    );
    assert!(
        !k.log_text().contains("ERROR"),
        "kamailio logged errors:\n{}",
        k.log_text()
    );
    for a in [&mut carol, &mut bob, &mut watcher] {
        a.terminate();
    }
}

#[test]
fn a_pbx_without_presence_turns_the_lamp_off_with_its_reason_and_is_not_asked_again() {
    // The plain registrar answers SUBSCRIBE 405.
    let k = Kamailio::start();
    let mut watcher = k.agent("anna", &["listen"]);
    watcher.wait_for("registered", Duration::from_secs(10));
    watcher.command("watch bob");
    let failed = watcher.wait_for("presence_failed", Duration::from_secs(10));
    assert_eq!(failed["target"], "bob");
    assert_eq!(failed["status"], 405, "{failed}");
    assert!(
        failed.get("retry_in_s").is_none(),
        "never retried: {failed}"
    );
    watcher.terminate();
}

#[test]
fn sipps_notifies_light_the_lamp_in_order_and_the_unsubscribe_takes_the_last_one() {
    let dir = temp_dir("blf-sipp");
    let port = switchboard_interop::free_port();
    let mut notifier = sipp(&dir, "blf-notifier.xml", port, &["-m", "1"]);
    // No account: the URI's address is subscribed directly.
    let (mut watcher, _) = Agent::listening("anna", &[]);
    let target = format!("sip:bob@127.0.0.1:{port}");
    watcher.command(&format!("watch {target}"));
    let seen: Vec<String> = (0..4).map(|_| next_lamp(&mut watcher, &target)).collect();
    assert_eq!(seen, ["idle", "ringing", "busy", "idle"]);
    watcher.command(&format!("unwatch {target}"));
    let status = wait_child(&mut notifier.0, Duration::from_secs(20));
    assert_eq!(status, 0, "SIPp's scenario: {}", sipp_errors(&dir));
    assert_eq!(watcher.count("presence_failed"), 0);
    watcher.terminate();
}
