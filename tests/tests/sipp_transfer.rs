//! Transfers against SIPp scenarios written for them (tests/peers/sipp):
//! SIPp as the transferee (we REFER it; it answers 202 and NOTIFYs), as the
//! transferor (it REFERs us; we must report our new call with NOTIFY
//! sipfrag), and as the target of an attended transfer, where it logs the
//! Replaces header it received so the tags are checked against the dialog
//! SIPp itself made.

use std::time::Duration;

use switchboard_interop::{
    Agent, free_port, sipp, sipp_errors, temp_dir, wait_bound_udp, wait_child,
};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn we_transfer_sipp_and_read_its_notify_progress() {
    let dir = temp_dir("sipp-transferee");
    let (mut bob, bind) = Agent::listening("service", &["--auto-answer"]);
    let sipp_port = free_port();
    let mut sipp = sipp(&dir, "refer-transferee.xml", sipp_port, &["-m", "1", &bind]);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bob.command(&format!("transfer sip:carol@127.0.0.1:5999 {call}"));
    let mut reports = Vec::new();
    loop {
        let p = bob.wait_for("transfer_progress", WAIT);
        reports.push((p["status"].as_u64().unwrap(), p["done"] == true));
        if p["done"] == true {
            break;
        }
    }
    assert!(reports.contains(&(202, false)), "{reports:?}");
    assert!(reports.contains(&(100, false)), "{reports:?}");
    assert_eq!(reports.last(), Some(&(200, true)), "{reports:?}");
    assert_eq!(bob.wait_for("ended", WAIT)["reason"], "local_hangup");
    let code = wait_child(&mut sipp.0, Duration::from_secs(20));
    assert_eq!(code, 0, "SIPp's scenario failed: {}", sipp_errors(&dir));
}

#[test]
fn sipp_transfers_us_and_gets_our_notify_reports() {
    let dir = temp_dir("sipp-transferor");
    let (mut carol, carol_bind) = Agent::listening("carol", &["--auto-answer"]);
    let (mut alice, alice_bind) =
        Agent::listening("service", &["--auto-answer", "--transfer-policy", "accept"]);
    let target = format!("sip:carol@{carol_bind}");
    let mut sipp = sipp(
        &dir,
        "refer-transferor.xml",
        free_port(),
        &["-m", "1", "-key", "target", &target, &alice_bind],
    );
    let t = alice.wait_for("transferred", WAIT);
    assert_eq!(t["target"], target.as_str());
    let inc = carol.wait_for("incoming", WAIT);
    assert!(
        inc["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "Referred-By" && h[1].as_str().unwrap_or("").contains("sipp@")),
        "Referred-By is passed on: {inc}"
    );
    carol.wait_for("established", WAIT);
    let code = wait_child(&mut sipp.0, Duration::from_secs(20));
    assert_eq!(code, 0, "SIPp's scenario failed: {}", sipp_errors(&dir));
    // SIPp hung up its call; ours with Carol goes on.
    assert_eq!(alice.wait_for("ended", WAIT)["reason"], "remote_hangup");
    assert_eq!(carol.count("ended"), 0);
}

#[test]
fn our_replaces_names_sipps_dialog_with_the_tags_the_right_way_round() {
    let dir = temp_dir("sipp-replaces");
    let sipp_port = free_port();
    let mut sipp = sipp(&dir, "replaces-target.xml", sipp_port, &["-m", "2"]);
    // SIPp answers once it has bound its port.
    wait_bound_udp(sipp_port, WAIT);
    let (mut bob, bob_bind) = Agent::listening("bob", &["--auto-answer"]);
    let target = format!("sip:bob@{bob_bind}");
    let mut alice = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--user",
        "alice",
        "--transfer-policy",
        "accept",
        "call",
        &target,
    ]);
    alice.wait_for("established", WAIT);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bob.command(&format!("consult sip:carol@127.0.0.1:{sipp_port} {call}"));
    let consult = bob.wait_for("consulting", WAIT)["consult"]
        .as_u64()
        .unwrap();
    // The consultation is up with SIPp.
    loop {
        let e = bob.wait_for("established", WAIT);
        if e["call"].as_u64() == Some(consult) {
            break;
        }
    }
    bob.command("complete-transfer");
    let t = alice.wait_for("transferred", WAIT);
    let new_call = t["new_call"].as_u64().unwrap();
    let done = bob.wait_transfer_done();
    assert_eq!(done["status"], 200, "{done}");
    // Alice's call with SIPp is up (SIPp has our ACK); then she hangs up.
    alice.count("established");
    let up =
        |v: &serde_json::Value| v["event"] == "established" && v["call"].as_u64() == Some(new_call);
    if !alice.seen.iter().any(up) {
        loop {
            if up(&alice.wait_for("established", WAIT)) {
                break;
            }
        }
    }
    alice.command(&format!("hangup {new_call}"));
    let code = wait_child(&mut sipp.0, Duration::from_secs(20));
    assert_eq!(code, 0, "SIPp's scenario failed: {}", sipp_errors(&dir));

    // SIPp's log: the consultation dialog first, then the INVITE with Replaces.
    let log: String = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("_logs.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let dialogs: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("dialog call_id="))
        .collect();
    assert_eq!(dialogs.len(), 2, "{log}");
    let field = |line: &str, name: &str| -> String {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or("")
            .to_owned()
    };
    let consult_line = dialogs[0];
    let replacing = dialogs[1];
    let replaces = replacing
        .split("replaces=")
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_owned();
    let expected = format!(
        "{};to-tag={};from-tag={}",
        field(consult_line, "call_id"),
        field(consult_line, "local_tag"),
        field(consult_line, "remote_tag")
    );
    assert_eq!(replaces, expected, "SIPp's log:\n{log}");
    assert!(field(consult_line, "replaces").is_empty());
}
