//! Transfers with baresip 1.0 on loopback: baresip as the transferee (we
//! REFER it to a third agent), as the transfer target (we put a caller
//! through to it), and as the transferor (it REFERs us), plus hold by us
//! answered by baresip.

use std::time::Duration;

use switchboard_interop::{Agent, Baresip};

const WAIT: Duration = Duration::from_secs(10);

/// A CLI listening as `user`; its SIP URI.
fn listener(user: &str, extra: &[&str]) -> (Agent, String) {
    let (agent, bind) = Agent::listening(user, extra);
    (agent, format!("sip:{user}@{bind}"))
}

#[test]
fn we_transfer_baresip_to_a_third_agent() {
    let (mut carol, carol_uri) = listener("carol", &["--auto-answer"]);
    let (mut bob, bob_uri) = listener("bob", &["--auto-answer"]);
    let mut bs = Baresip::start("bs-transferee", "alice");
    bs.command("dial", &bob_uri);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    bob.command(&format!("transfer {carol_uri} {call}"));
    // baresip follows the REFER and calls Carol.
    let inc = carol.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "{inc}"
    );
    carol.wait_for("established", WAIT);
    assert_eq!(bob.transfer_status(), 200);
    assert_eq!(bob.wait_for("ended", WAIT)["call"].as_u64(), Some(call));
    bs.command("hangup", "");
    carol.wait_for("ended", WAIT);
}

#[test]
fn we_put_a_caller_through_to_baresip() {
    let (mut bob, bob_uri) = listener("bob", &["--auto-answer"]);
    let mut bs = Baresip::start("bs-target", "carol");
    let mut alice = Agent::calling("alice", &bob_uri);
    alice.wait_for("established", WAIT);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bob.command(&format!("transfer {} {call}", bs.uri()));
    bs.wait_event("CALL_INCOMING", WAIT);
    bs.command("accept", "");
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    assert_eq!(bob.transfer_status(), 200);
    assert_eq!(
        alice.wait_for("transferred", WAIT)["target"],
        bs.uri().as_str()
    );
    bs.command("hangup", "");
    assert_eq!(alice.wait_exit(WAIT), 0);
}

#[test]
fn baresip_transfers_us_to_a_third_agent() {
    let (mut carol, carol_uri) = listener("carol", &["--auto-answer"]);
    let (mut alice, alice_uri) = listener("alice", &["--auto-answer"]);
    let mut bs = Baresip::start("bs-transferor", "bob");
    bs.command("dial", &alice_uri);
    alice.wait_for("established", WAIT);
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    bs.command("transfer", &carol_uri);
    let t = alice.wait_for("transferred", WAIT);
    assert_eq!(t["target"], carol_uri.as_str(), "{t}");
    // (baresip's REFER carries no Referred-By, so none is passed on.)
    let inc = carol.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "{inc}"
    );
    carol.wait_for("established", WAIT);
    // baresip hears of the success and leaves; we stay with Carol.
    bs.wait_event("CALL_CLOSED", WAIT);
    let ended = alice.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    assert_eq!(alice.count("ended"), 1, "the call with Carol goes on");
}

#[test]
fn baresip_answers_our_hold_and_resume() {
    let (mut bob, bob_uri) = listener("bob", &["--auto-answer"]);
    let mut bs = Baresip::start("bs-held", "alice");
    bs.command("dial", &bob_uri);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    bob.command(&format!("hold {call}"));
    let held = bob.wait_for("held", WAIT);
    assert_eq!(
        (held["local"].as_bool(), held["remote"].as_bool()),
        (Some(true), Some(false)),
        "{held}"
    );
    bob.command(&format!("resume {call}"));
    bob.wait_held_local(false);
    bs.command("hangup", "");
    bob.wait_for("ended", WAIT);
}
