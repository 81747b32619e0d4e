//! Transfers with baresip 1.0 on loopback: baresip as the transferee (we
//! REFER it to a third agent), as the transfer target (we put a caller
//! through to it), and as the transferor (it REFERs us), plus hold by us
//! answered by baresip. Each transfer is judged by the call it makes: the
//! parties of the new call hear each other (real RTP, checked by
//! correlation); the hold by what baresip received while held.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use switchboard_interop::{
    Agent, Baresip, BaresipAudio, TRACK, WINDOW, heard_windows, read_finished_wav_8k, read_wav_8k,
    sample_at, sleep_until_wall, temp_dir, write_test_signal, write_test_signal_channels,
};

const WAIT: Duration = Duration::from_secs(10);

/// A CLI listening as `user` with these options; its SIP URI.
fn listener(user: &str, extra: &[&str]) -> (Agent, String) {
    let (agent, bind) = Agent::listening(user, extra);
    (agent, format!("sip:{user}@{bind}"))
}

/// A test signal for a CLI's microphone (`--mic`) in `dir`.
fn cli_voice(dir: &Path) -> PathBuf {
    let p = dir.join("cli-says.wav");
    write_test_signal(&p, 16_000, 20.0);
    p
}

/// A test signal for baresip's microphone (48 kHz stereo, as it is set up).
fn baresip_voice(dir: &Path) -> PathBuf {
    let p = dir.join("baresip-says.wav");
    write_test_signal_channels(&p, 48_000, 20.0, 2);
    p
}

/// What baresip received (one call's).
fn received_by_baresip(dir: &Path) -> PathBuf {
    Baresip::recording(dir, "dec")
}

/// baresip's `kind` event about a call with `peer` (part of its URI): one
/// seen already, or the next to come.
fn baresip_event(bs: &mut Baresip, kind: &str, peer: &str) -> Value {
    let about = |v: &Value| {
        v["event"] == true
            && v["type"] == kind
            && v["peeruri"].as_str().unwrap_or("").contains(peer)
    };
    if let Some(v) = bs.seen.iter().find(|v| about(v)) {
        return v.clone();
    }
    let until = std::time::Instant::now() + WAIT;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        let v = bs.wait_event(kind, left);
        if about(&v) {
            return v;
        }
    }
}

/// A number field of an event.
fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// The first three seconds of `said` (a call's microphone starts with the
/// call) are in `got`, a quarter second at a time.
fn assert_heard(what: &str, said: &[f64], got: &[f64]) {
    let h = heard_windows(said, WINDOW..24_000, got, 0..16_000, 0.85);
    eprintln!("{what}: {h}");
    h.assert_heard(what);
}

#[test]
fn we_transfer_baresip_to_a_third_agent() {
    let dir = temp_dir("bs-transferee");
    let carol_heard = dir.join("carol-heard.wav");
    let (mut carol, carol_uri) = listener(
        "carol",
        &["--auto-answer", "--speaker", carol_heard.to_str().unwrap()],
    );
    let (mut bob, bob_uri) = listener("bob", &["--auto-answer"]);
    let voice = baresip_voice(&dir);
    let mut bs = Baresip::start_with(
        "bs-transferee",
        "alice",
        &BaresipAudio {
            source_wav: Some(voice.clone()),
            ..BaresipAudio::default()
        },
    );
    bs.command("dial", &bob_uri);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    bob.event_of("media_started", call);
    bob.command(&format!("transfer {carol_uri} {call}"));
    // baresip follows the REFER and calls Carol.
    let inc = carol.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "{inc}"
    );
    let c_call = carol.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    // (baresip's new call is with Carol)
    baresip_event(&mut bs, "CALL_ESTABLISHED", "carol");
    // Bob hears of Carol's 200 and leaves; baresip's call with him closes.
    assert_eq!(bob.transfer_status(), 200);
    let ended = bob.wait_for("ended", WAIT);
    assert_eq!(ended["call"].as_u64(), Some(call), "{ended}");
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    baresip_event(&mut bs, "CALL_CLOSED", "bob");
    // baresip and Carol talk: Carol hears baresip's microphone.
    let media = carol.event_of("media_started", c_call);
    sleep_until_wall(num(&media, "ts") + 4.0);
    bs.command("hangup", "");
    let ended = carol.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    carol.terminate();
    carol.wait_exit(WAIT);
    assert_heard(
        "Carol hears baresip",
        &read_wav_8k(&voice),
        &read_wav_8k(&carol_heard),
    );
}

#[test]
fn we_put_a_caller_through_to_baresip() {
    let dir = temp_dir("bs-target");
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).expect("rec dir");
    let (mut bob, bob_uri) = listener("bob", &["--auto-answer"]);
    let mut bs = Baresip::start_with(
        "bs-target",
        "carol",
        &BaresipAudio {
            record_dir: Some(rec.clone()),
            ..BaresipAudio::default()
        },
    );
    let voice = cli_voice(&dir);
    let mut alice = Agent::start(&[
        "--transfer-policy",
        "accept",
        "--bind",
        "127.0.0.1:0",
        "--user",
        "alice",
        "--codecs",
        "pcmu",
        "--mic",
        voice.to_str().unwrap(),
        "call",
        &bob_uri,
    ]);
    alice.wait_for("established", WAIT);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bob.command(&format!("transfer {} {call}", bs.uri()));
    let inc = bs.wait_event("CALL_INCOMING", WAIT);
    assert!(
        inc["peeruri"].as_str().unwrap_or("").contains("alice"),
        "Alice calls baresip: {inc}"
    );
    bs.command("accept", "");
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    assert_eq!(bob.transfer_status(), 200);
    let t = alice.wait_for("transferred", WAIT);
    assert_eq!(t["target"], bs.uri().as_str(), "{t}");
    let new_call = t["new_call"].as_u64().unwrap();
    // Bob is out; Alice talks to baresip.
    let ended = bob.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    let media = alice.event_of("media_started", new_call);
    sleep_until_wall(num(&media, "ts") + 4.0);
    bs.command("hangup", "");
    let ended = alice.event_of("ended", new_call);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    assert_eq!(alice.wait_exit(WAIT), 0);
    bs.wait_event("CALL_CLOSED", WAIT);
    assert_heard(
        "baresip hears Alice",
        &read_wav_8k(&voice),
        &read_finished_wav_8k(&received_by_baresip(&rec), WAIT),
    );
}

#[test]
fn baresip_transfers_us_to_a_third_agent() {
    let dir = temp_dir("bs-transferor");
    let carol_heard = dir.join("carol-heard.wav");
    let (mut carol, carol_uri) = listener(
        "carol",
        &["--auto-answer", "--speaker", carol_heard.to_str().unwrap()],
    );
    let voice = cli_voice(&dir);
    let (mut alice, alice_uri) = listener(
        "alice",
        &[
            "--auto-answer",
            "--transfer-policy",
            "accept",
            "--codecs",
            "pcmu",
            "--mic",
            voice.to_str().unwrap(),
        ],
    );
    let mut bs = Baresip::start("bs-transferor", "bob");
    bs.command("dial", &alice_uri);
    let first = alice.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    bs.command("transfer", &carol_uri);
    let t = alice.wait_for("transferred", WAIT);
    assert_eq!(t["target"], carol_uri.as_str(), "{t}");
    assert_eq!(t["call"].as_u64(), Some(first), "{t}");
    let new_call = t["new_call"].as_u64().unwrap();
    // (baresip's REFER carries no Referred-By, so none is passed on.)
    let inc = carol.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "{inc}"
    );
    let c_call = carol.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    // baresip hears of the success (our NOTIFY) and leaves; we stay with Carol.
    bs.wait_event("CALL_CLOSED", WAIT);
    let ended = alice.event_of("ended", first);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    // Alice and Carol talk.
    let media = carol.event_of("media_started", c_call);
    alice.event_of("media_started", new_call);
    sleep_until_wall(num(&media, "ts") + 4.0);
    assert_eq!(alice.count("ended"), 1, "the call with Carol went on");
    alice.command(&format!("hangup {new_call}"));
    let ended = alice.event_of("ended", new_call);
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    carol.wait_for("ended", WAIT);
    carol.terminate();
    carol.wait_exit(WAIT);
    assert_heard(
        "Carol hears Alice",
        &read_wav_8k(&voice),
        &read_wav_8k(&carol_heard),
    );
}

/// The `packets_received` of each `quality` report of `agent` so far, with
/// the report's time.
fn packets_over_time(agent: &mut Agent) -> Vec<(f64, u64)> {
    agent.count("quality");
    agent
        .seen
        .iter()
        .filter(|v| v["event"] == "quality")
        .map(|v| {
            (
                num(v, "ts"),
                v["stats"]["packets_received"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn baresip_answers_our_hold_and_resume() {
    let dir = temp_dir("bs-held");
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).expect("rec dir");
    let bob_says = cli_voice(&dir);
    let bob_hears = dir.join("bob-heard.wav");
    // Bob reports his call's statistics every two seconds (--levels).
    let (mut bob, bob_uri) = listener(
        "bob",
        &[
            "--auto-answer",
            "--levels",
            "--codecs",
            "pcmu",
            "--mic",
            bob_says.to_str().unwrap(),
            "--speaker",
            bob_hears.to_str().unwrap(),
        ],
    );
    let mut bs = Baresip::start_with(
        "bs-held",
        "alice",
        &BaresipAudio {
            source_wav: Some(baresip_voice(&dir)),
            record_dir: Some(rec.clone()),
            ..BaresipAudio::default()
        },
    );
    bs.command("dial", &bob_uri);
    let call = bob.wait_for("established", WAIT)["call"].as_u64().unwrap();
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    let media = bob.event_of("media_started", call);
    let (mic, ear) = (num(&media, "mic_start"), num(&media, "speaker_start"));
    // Three seconds of talk (by Bob's microphone file) …
    sleep_until_wall(mic + 3.0);
    bob.command(&format!("hold {call}"));
    let held = bob.wait_for("held", WAIT);
    assert_eq!(
        (held["local"].as_bool(), held["remote"].as_bool()),
        (Some(true), Some(false)),
        "{held}"
    );
    let held_at = num(&held, "ts");
    // … baresip gets our `sendonly` re-offer …
    let offer = bs.wait_event("CALL_REMOTE_SDP", WAIT);
    assert_eq!(offer["param"], "offer", "{offer}");
    // … five seconds on hold …
    sleep_until_wall(held_at + 5.0);
    bob.command(&format!("resume {call}"));
    // (off hold once baresip answered the `sendrecv` one)
    let resumed_at = num(&bob.wait_held_local(false), "ts");
    // … and four and a half more seconds of talk.
    sleep_until_wall(resumed_at + 4.5);
    bs.command("hangup", "");
    let ended = bob.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    bs.wait_event("CALL_CLOSED", WAIT);

    // baresip agreed to be held: answering `recvonly`, it sent nothing
    // while held (a second's grace for its answer), and sent again once
    // resumed.
    let reports = packets_over_time(&mut bob);
    let during: Vec<u64> = reports
        .iter()
        .filter(|(t, _)| *t > held_at + 1.0 && *t < resumed_at)
        .map(|r| r.1)
        .collect();
    let before = reports
        .iter()
        .filter(|(t, _)| *t < held_at)
        .map(|r| r.1)
        .max();
    let after = reports
        .iter()
        .filter(|(t, _)| *t > resumed_at + 1.0)
        .map(|r| r.1)
        .max();
    let shown = format!("hold {held_at:.2}-{resumed_at:.2}, packets received: {reports:?}");
    assert!(during.len() >= 2, "two reports while held: {shown}");
    assert!(
        before.is_some_and(|n| n > 0),
        "baresip sends before the hold: {shown}"
    );
    assert!(
        during.iter().all(|n| *n == during[0]),
        "baresip sends while held: {shown}"
    );
    assert!(
        after.is_some_and(|n| n > during[0]),
        "baresip sends again after the resume: {shown}"
    );

    // baresip heard Bob before the hold. (It records only until the
    // re-offer: baresip 1.0 rebuilds its receive pipeline without its
    // recording filter.)
    let said = read_wav_8k(&bob_says);
    let got = read_finished_wav_8k(&received_by_baresip(&rec), WAIT);
    let hold = sample_at(mic, held_at);
    let h = heard_windows(&said, WINDOW..hold - WINDOW, &got, 0..8000, 0.85);
    eprintln!("baresip hears Bob before the hold: {h}");
    h.assert_heard("baresip hears Bob before the hold");

    // Bob heard baresip before the hold and again after it — compared with
    // what baresip sent (its encoder's input: after the re-offers baresip
    // 1.0 sends its file a little garbled, which is not ours to judge),
    // placed by Bob's events in his recording and, by the lag measured
    // before the hold, in baresip's (which runs on through the hold).
    let sent = read_finished_wav_8k(&Baresip::recording(&rec, "enc"), WAIT);
    let got = read_wav_8k(&bob_hears);
    let (hold, resume) = (sample_at(ear, held_at), sample_at(ear, resumed_at));
    let before = heard_windows(
        &sent,
        WINDOW..hold.saturating_sub(WINDOW),
        &got,
        0..8000,
        0.9,
    );
    eprintln!("Bob hears baresip before the hold: {before}");
    before.assert_heard("Bob hears baresip before the hold");
    let lag = before.last_lag().unwrap();
    let grace = 8000;
    let after = heard_windows(
        &sent,
        (resume + grace).saturating_sub(lag)..got.len().saturating_sub(lag + WINDOW),
        &got,
        lag.saturating_sub(TRACK)..lag + TRACK,
        0.9,
    );
    eprintln!("Bob hears baresip after the resume: {after}");
    after.assert_heard("Bob hears baresip after the resume");
}
