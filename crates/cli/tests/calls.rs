//! `switchboard-cli` processes calling each other on 127.0.0.1 (ports the
//! kernel picks, read from the `listening` event): audio from a file
//! arrives, a configuration file's settings are what the agent does, and
//! the headless agent's call waiting and `--hold-others`.

mod support;

use serde_json::Value;
use support::{Agent, Scratch, run, tone_amplitude, write_tone};

fn call_of(v: &Value) -> u64 {
    v["call"]
        .as_u64()
        .unwrap_or_else(|| panic!("no call in {v}"))
}

#[test]
fn two_clis_call_each_other_and_the_callers_file_is_heard() {
    let dir = Scratch::new("pair");
    let said = dir.path("said.wav");
    let heard = dir.path("heard.wav");
    write_tone(&said, 1_000.0, 8_000.0, 2.0);
    let heard_arg = heard.to_string_lossy().into_owned();
    let mut desk = Agent::start(
        "desk",
        &[
            "--bind",
            "127.0.0.1:0",
            "--no-devices",
            "--speaker",
            &heard_arg,
            "listen",
            "--auto-answer",
        ],
    );
    let address = desk.listening();
    let said_arg = said.to_string_lossy().into_owned();
    let uri = format!("sip:switchboard@{address}");
    let mut caller = Agent::start(
        "caller",
        &[
            "--bind",
            "127.0.0.1:0",
            "--user",
            "caller",
            "--no-devices",
            "--codecs",
            "pcmu",
            "--mic",
            &said_arg,
            "call",
            &uri,
        ],
    );
    let incoming = desk.wait("incoming");
    assert!(
        incoming["from"]
            .as_str()
            .unwrap_or("")
            .contains("sip:caller@"),
        "{incoming}"
    );
    assert_eq!(caller.wait("established")["outgoing"], true);
    assert_eq!(caller.wait("media_started")["codec"], "pcmu");
    // The file ends, and with it the call the caller placed.
    caller.wait("mic_ended");
    assert_eq!(caller.wait("ended")["reason"], "local_hangup");
    assert_eq!(caller.exit_code(), Some(0), "{}", caller.stderr());
    let ended = desk.wait("ended");
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    assert!(
        ended["stats"]["packets_received"].as_u64().unwrap_or(0) >= 75,
        "two seconds of audio arrived: {ended}"
    );
    desk.command("quit");
    desk.wait("stopped");
    assert_eq!(desk.exit_code(), Some(0), "{}", desk.stderr());
    let amplitude = tone_amplitude(&heard, 1_000.0);
    assert!(
        amplitude > 2_000.0,
        "the desk heard the caller's tone: amplitude {amplitude:.0}"
    );
}

#[test]
fn a_config_file_sets_address_user_codecs_line_limit_and_busy_status() {
    let dir = Scratch::new("config");
    let config = dir.file(
        "switchboard.toml",
        "[sip]\n\
         bind = \"127.0.0.1:0\"\n\
         user = \"desk\"\n\
         max_calls = 1\n\
         [audio]\n\
         codecs = [\"pcma\"]\n\
         [desk]\n\
         busy_status = 600\n",
    );
    let mut desk = Agent::start(
        "desk",
        &[
            "--config",
            &config,
            "--no-devices",
            "listen",
            "--auto-answer",
        ],
    );
    let address = desk.listening();
    assert!(
        address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
        "the file's address, with the port the kernel gave: {address}"
    );
    let desk_uri = format!("sip:desk@{address}");
    let caller = |user: &str, target: &str| {
        vec![
            "--bind".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--user".to_owned(),
            user.to_owned(),
            "--no-devices".to_owned(),
            "call".to_owned(),
            target.to_owned(),
        ]
    };
    // The first call: the file's only codec is the one used, whatever the
    // caller prefers.
    let first_args = caller("first", &desk_uri);
    let first_args: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let mut first = Agent::start("first", &first_args);
    assert_eq!(first.wait("media_started")["codec"], "pcma");
    assert_eq!(desk.wait("media_started")["codec"], "pcma");

    // One call is the file's limit: the next gets the file's busy status.
    let second = caller("second", &desk_uri);
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    let out = run(&second);
    out.assert_refused(1, "switchboard-cli: call failed: rejected (600)");

    // The file's user: calls for anyone else are not for this agent.
    let nobody = caller("third", &format!("sip:nobody@{address}"));
    let nobody: Vec<&str> = nobody.iter().map(String::as_str).collect();
    let out = run(&nobody);
    out.assert_refused(1, "switchboard-cli: call failed: rejected (404)");

    assert_eq!(desk.count("incoming"), 1, "only the first call was offered");
    first.command("hangup");
    assert_eq!(first.wait("ended")["reason"], "local_hangup");
    assert_eq!(first.exit_code(), Some(0), "{}", first.stderr());
}

#[test]
fn without_auto_answer_a_second_call_beeps_and_hold_others_holds_the_first() {
    let mut desk = Agent::start(
        "desk",
        &[
            "--bind",
            "127.0.0.1:0",
            "--user",
            "desk",
            "--no-devices",
            "--levels",
            "--hold-others",
            "listen",
        ],
    );
    let address = desk.listening();
    let uri = format!("sip:desk@{address}");
    let caller = |name: &str| {
        Agent::start(
            name,
            &[
                "--bind",
                "127.0.0.1:0",
                "--user",
                name,
                "--no-devices",
                "call",
                &uri,
            ],
        )
    };
    let mut alice = caller("alice");
    let alice_call = call_of(&desk.wait("incoming"));
    desk.command("answer");
    desk.wait_for("media_started", |v| call_of(v) == alice_call);
    alice.wait("media_started");

    let mut carol = caller("carol");
    let carol_call = call_of(&desk.wait("incoming"));
    // The operator hears the call-waiting tone in Alice's call (Alice
    // herself is silent).
    desk.wait_for("levels", |v| {
        call_of(v) == alice_call && v["speaker_dbfs"].as_f64().unwrap_or(-120.0) > -35.0
    });
    // "answer" takes the newest ringing call: Carol's. Alice is held first.
    desk.command("answer");
    desk.wait_for("held", |v| {
        call_of(v) == alice_call && v["local"] == true && v["remote"] == false
    });
    desk.wait_for("media_started", |v| call_of(v) == carol_call);
    alice.wait_for("held", |v| v["local"] == false && v["remote"] == true);
    carol.wait("media_started");
    assert_eq!(
        carol.count("held"),
        0,
        "Carol is the call in hand: {:?}",
        carol.seen
    );
    desk.command("quit");
    desk.wait("stopped");
    assert_eq!(alice.wait("ended")["reason"], "remote_hangup");
    assert_eq!(carol.wait("ended")["reason"], "remote_hangup");
    assert_eq!(desk.exit_code(), Some(0), "{}", desk.stderr());
}
