//! Transfers between three switchboard-cli agents on loopback: Alice calls
//! Bob, Bob transfers Alice to Carol — blind (REFER) and attended (hold,
//! consult Carol, REFER with Replaces). Alice and Carol then hear each other
//! (checked by correlation of real RTP audio) and Bob's calls end cleanly.
//! Also: hold and resume between two agents, and a blind transfer to a busy
//! target that returns the caller to Bob.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use switchboard_interop::{
    Agent, TRACK, WINDOW, heard_windows, read_wav_8k, sample_at, sleep_until_wall, temp_dir,
    tone_share, wall_now, write_test_voice,
};

const WAIT: Duration = Duration::from_secs(10);

struct Party {
    agent: Agent,
    /// Where to call it (listeners only).
    uri: String,
    heard: PathBuf,
    said: PathBuf,
}

/// An agent with a file microphone (a test signal) and a file speaker.
/// The headless agent refuses transfers unless told (the callers here are
/// transferred on purpose).
const ACCEPT: &str = "--transfer-policy";

fn party(dir: &Path, user: &str, mode: &[&str]) -> Party {
    party_with_voice(dir, user, mode, 0)
}

/// [`party`] speaking with its own test voice. `mode` is the CLI's
/// arguments from the mode on (`listen …` or `call URI`), global options
/// before it if any; a listener is started on a port of the kernel's choice
/// and is listening when this returns.
fn party_with_voice(dir: &Path, user: &str, mode: &[&str], voice: u32) -> Party {
    let said = dir.join(format!("{user}-says.wav"));
    let heard = dir.join(format!("{user}-heard.wav"));
    write_test_voice(&said, 16_000, 20.0, voice);
    let (s, h) = (
        said.to_string_lossy().into_owned(),
        heard.to_string_lossy().into_owned(),
    );
    let media = ["--codecs", "pcmu", "--mic", &s, "--speaker", &h];
    let (agent, uri) = match mode.iter().position(|a| *a == "listen") {
        Some(at) => {
            // Global options may follow the mode.
            let mut extra: Vec<&str> = mode[..at].to_vec();
            extra.extend_from_slice(&mode[at + 1..]);
            extra.extend_from_slice(&media);
            let (agent, bind) = Agent::listening(user, &extra);
            (agent, format!("sip:{user}@{bind}"))
        }
        None => {
            let mut args = vec!["--bind", "127.0.0.1:0", "--user", user];
            args.extend_from_slice(&media);
            args.extend_from_slice(mode);
            (Agent::start(&args), String::new())
        }
    };
    Party {
        agent,
        uri,
        heard,
        said,
    }
}

/// The speaker file of a party's newest call (the first call writes NAME.wav,
/// later ones NAME-CALL.wav).
fn newest_heard(p: &Party, call: u64) -> PathBuf {
    let stem = p.heard.file_stem().unwrap().to_string_lossy().into_owned();
    let later = p.heard.with_file_name(format!("{stem}-{call}.wav"));
    if later.exists() {
        later
    } else {
        p.heard.clone()
    }
}

/// A number field of an event.
fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Lets a call whose media started with these `media_started` events run
/// four seconds, counted from the later of them.
fn talk(started: &[&Value]) {
    let from = started.iter().map(|v| num(v, "ts")).fold(0.0, f64::max);
    sleep_until_wall(from + 4.0);
}

/// Everything of the first three seconds `said` (a call's microphone file
/// starts with the call) is in `heard`, a quarter second at a time.
fn assert_heard(what: &str, said: &Path, heard: &Path) {
    let said = read_wav_8k(said);
    let got = read_wav_8k(heard);
    let h = heard_windows(&said, WINDOW..24_000, &got, 0..16_000, 0.9);
    eprintln!("{what}: {h}");
    h.assert_heard(what);
}

fn carol_and_bob(dir: &Path) -> (Party, Party) {
    let carol = party(dir, "carol", &["listen", "--auto-answer"]);
    let bob = party(dir, "bob", &["listen", "--auto-answer"]);
    (carol, bob)
}

/// Alice calls Bob, who answers; Alice and Bob's handle of the call, once
/// media flows.
fn alice_calls(dir: &Path, bob: &mut Party) -> (Party, u64) {
    let mut alice = party(dir, "alice", &[ACCEPT, "accept", "call", &bob.uri.clone()]);
    alice.agent.wait_for("established", WAIT);
    let call = bob.agent.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    bob.agent.wait_for("media_started", WAIT);
    (alice, call)
}

#[test]
fn blind_transfer_connects_alice_to_carol_and_ends_bobs_call() {
    let dir = temp_dir("transfer-blind");
    let (mut carol, mut bob) = carol_and_bob(&dir);
    let (mut alice, b_call) = alice_calls(&dir, &mut bob);

    bob.agent
        .command(&format!("transfer {} {b_call}", carol.uri));
    // Alice is asked, calls Carol, Carol answers.
    let t = alice.agent.wait_for("transferred", WAIT);
    assert_eq!(t["target"], carol.uri.as_str(), "{t}");
    let new_call = t["new_call"].as_u64().unwrap();
    let inc = carol.agent.wait_for("incoming", WAIT);
    assert!(
        inc["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "Referred-By" && h[1].as_str().unwrap_or("").contains("bob")),
        "Carol sees who referred Alice: {inc}"
    );
    // Bob hears of the progress up to 200 and leaves.
    let done = bob.agent.wait_transfer_done();
    assert_eq!(done["status"], 200, "{done}");
    assert_eq!(bob.agent.wait_for("ended", WAIT)["reason"], "local_hangup");
    assert_eq!(
        alice.agent.wait_for("ended", WAIT)["reason"],
        "remote_hangup"
    );

    // Alice and Carol talk.
    let carol_media = carol.agent.wait_for("media_started", WAIT);
    let alice_media = alice.agent.event_of("media_started", new_call);
    talk(&[&carol_media, &alice_media]);
    alice.agent.command(&format!("hangup {new_call}"));
    alice.agent.wait_for("ended", WAIT);
    assert_eq!(
        alice.agent.wait_exit(WAIT),
        0,
        "Alice's call went on and ended well"
    );
    carol.agent.wait_for("ended", WAIT);
    carol.agent.terminate();
    carol.agent.wait_exit(WAIT);
    bob.agent.terminate();
    bob.agent.wait_exit(WAIT);
    assert_heard("Carol hears Alice", &alice.said, &carol.heard);
    assert_heard(
        "Alice hears Carol",
        &carol.said,
        &newest_heard(&alice, new_call),
    );
}

#[test]
fn attended_transfer_replaces_bobs_consultation_with_alice() {
    let dir = temp_dir("transfer-attended");
    let (mut carol, mut bob) = carol_and_bob(&dir);
    let (mut alice, b_call) = alice_calls(&dir, &mut bob);

    bob.agent
        .command(&format!("consult {} {b_call}", carol.uri));
    // Alice is held first (she hears the hold tone, not Bob) …
    let held = bob.agent.wait_for("held", WAIT);
    assert_eq!(
        (held["local"].as_bool(), held["remote"].as_bool()),
        (Some(true), Some(false)),
        "{held}"
    );
    let a_held = alice.agent.wait_for("held", WAIT);
    assert_eq!(a_held["remote"], true, "{a_held}");
    // … then Bob talks to Carol.
    let c = bob.agent.wait_for("consulting", WAIT);
    assert_eq!(c["call"].as_u64(), Some(b_call));
    let consult = c["consult"].as_u64().unwrap();
    let carol_first = carol.agent.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    // Bob and Carol talk before he puts Alice through.
    carol.agent.event_of("media_started", carol_first);

    bob.agent.command("complete-transfer");
    // Carol's call with Bob is replaced by Alice's.
    let r = carol.agent.wait_for("replaced", WAIT);
    assert_eq!(r["old"].as_u64(), Some(carol_first), "{r}");
    let carol_new = r["new"].as_u64().unwrap();
    let t = alice.agent.wait_for("transferred", WAIT);
    let new_call = t["new_call"].as_u64().unwrap();
    let done = bob.agent.wait_transfer_done();
    assert_eq!(done["status"], 200, "{done}");
    // Both of Bob's calls end (the consultation, replaced at Carol's, may
    // end before the last progress report).
    let until = std::time::Instant::now() + WAIT;
    while bob.agent.count("ended") < 2 && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut ended: Vec<u64> = bob
        .agent
        .seen
        .iter()
        .filter(|v| v["event"] == "ended")
        .filter_map(|v| v["call"].as_u64())
        .collect();
    ended.sort();
    let mut expect = vec![b_call, consult];
    expect.sort();
    assert_eq!(ended, expect, "Bob's two calls ended");

    // Alice and Carol talk.
    let alice_media = alice.agent.event_of("media_started", new_call);
    let carol_media = carol.agent.event_of("media_started", carol_new);
    talk(&[&alice_media, &carol_media]);
    alice.agent.command(&format!("hangup {new_call}"));
    assert_eq!(alice.agent.wait_exit(WAIT), 0);
    carol.agent.terminate();
    carol.agent.wait_exit(WAIT);
    bob.agent.terminate();
    bob.agent.wait_exit(WAIT);
    assert_heard(
        "Carol hears Alice",
        &alice.said,
        &newest_heard(&carol, carol_new),
    );
    assert_heard(
        "Alice hears Carol",
        &carol.said,
        &newest_heard(&alice, new_call),
    );
}

#[test]
fn a_blind_transfer_to_a_busy_target_gives_the_caller_back() {
    let dir = temp_dir("transfer-busy");
    // Carol declines every call.
    let mut carol = party(&dir, "carol", &["listen"]);
    let mut bob = party(&dir, "bob", &["listen", "--auto-answer"]);
    let mut alice = party(&dir, "alice", &[ACCEPT, "accept", "call", &bob.uri.clone()]);
    alice.agent.wait_for("established", WAIT);
    let b_call = bob.agent.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    // Bob holds Alice, then transfers her.
    bob.agent.command(&format!("hold {b_call}"));
    bob.agent.wait_for("held", WAIT);
    bob.agent
        .command(&format!("transfer {} {b_call}", carol.uri));
    carol.agent.wait_for("incoming", WAIT);
    carol.agent.command("reject");
    let done = bob.agent.wait_transfer_done();
    assert_eq!(done["status"], 603, "{done}");
    // The caller is back with Bob, off hold.
    let back = bob.agent.wait_held_local(false);
    assert_eq!(back["local"], false, "{back}");
    assert_eq!(bob.agent.count("ended"), 0, "Bob still has Alice");
    alice.agent.command("hangup");
    assert_eq!(alice.agent.wait_exit(WAIT), 0);
    bob.agent.wait_for("ended", WAIT);
    bob.agent.terminate();
    carol.agent.terminate();
}

#[test]
fn hold_sends_the_hold_tone_and_resume_brings_the_voice_back() {
    let dir = temp_dir("transfer-hold");
    let mut bob = party(&dir, "bob", &["listen", "--auto-answer"]);
    let mut alice = party(&dir, "alice", &[ACCEPT, "accept", "call", &bob.uri.clone()]);
    alice.agent.wait_for("media_started", WAIT);
    let b_call = bob.agent.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    let bob_media = bob.agent.event_of("media_started", b_call);
    // Bob talks for three seconds of his microphone file, holds Alice for
    // three and a half, then talks for four and a half more.
    let bob_mic = num(&bob_media, "mic_start");
    sleep_until_wall(bob_mic + 3.0);
    bob.agent.command(&format!("hold {b_call}"));
    let held = bob.agent.wait_for("held", WAIT);
    assert_eq!(held["local"], true);
    let upd = alice.agent.wait_for("media_updated", WAIT);
    assert_eq!(
        upd["direction"], "recvonly",
        "Alice answers a hold with recvonly: {upd}"
    );
    assert_eq!(alice.agent.wait_for("held", WAIT)["remote"], true);
    // Held here at once (Bob's `held`): from then on Alice gets the tune.
    let held_at = num(&held, "ts");
    sleep_until_wall(held_at + 3.5);
    bob.agent.command(&format!("resume {b_call}"));
    // Resumed when Alice agreed (Bob's `held` with local false): the tune
    // plays until then.
    let resumed_at = num(&bob.agent.wait_held_local(false), "ts");
    assert_eq!(alice.agent.wait_for("held", WAIT)["remote"], false);
    sleep_until_wall(resumed_at + 4.5);
    alice.agent.command("hangup");
    assert_eq!(alice.agent.wait_exit(WAIT), 0);
    bob.agent.wait_for("ended", WAIT);
    bob.agent.terminate();
    bob.agent.wait_exit(WAIT);
    // What Alice heard: Bob's voice, then the hold tune (not Bob), then Bob
    // again — placed by Bob's events in what he said and, by the lag
    // measured before the hold, in what Alice heard (her speaker file starts
    // with her media; the lag takes that in).
    let heard = read_wav_8k(&alice.heard);
    let bob_said = read_wav_8k(&bob.said);
    let at = |t: f64| sample_at(bob_mic, t);
    let (hold, resume) = (at(held_at), at(resumed_at));
    // A second for a change to reach Alice's ear (her jitter buffer plays
    // out what it has; a busy machine makes that more).
    let grace = 8000;
    let before = heard_windows(&bob_said, WINDOW..hold, &heard, 0..8000, 0.9);
    eprintln!("before the hold: {before}");
    before.assert_heard("Bob's voice before the hold");
    let lag = before.last_lag().unwrap();
    let near = lag.saturating_sub(TRACK)..lag + TRACK;
    let during = heard_windows(
        &bob_said,
        hold + grace..resume - WINDOW / 2,
        &heard,
        near.clone(),
        0.9,
    );
    eprintln!("during the hold: {during}");
    during.assert_not_heard("Bob's voice while Alice is held");
    let after = heard_windows(
        &bob_said,
        // (to the end of what Alice's recording holds)
        resume + grace..heard.len().saturating_sub(lag + WINDOW),
        &heard,
        0..8000,
        0.9,
    );
    eprintln!("after resuming: {after}");
    after.assert_heard("Bob's voice after resuming");
    // The tune: its first note (440 Hz) stands out in some 100 ms of every
    // two seconds of it (it plays 0.9 s of notes, then pauses 1.1 s).
    let tune = heard
        .get(hold + grace + lag..resume + lag - WINDOW / 2)
        .unwrap_or(&[]);
    assert!(tune.len() >= 2 * 8000, "{} samples held", tune.len());
    for (i, two) in tune.chunks_exact(2 * 8000).enumerate() {
        let best = two
            .chunks(800)
            .map(|w| tone_share(w, 440.0, 8000.0))
            .fold(0.0, f64::max);
        assert!(
            best > 0.3,
            "the held caller hears the hold tune in seconds {}-{} of the hold \
             (440 Hz share {best:.2})",
            2 * i,
            2 * i + 2
        );
    }
}

#[test]
fn call_waiting_beeps_in_the_call_and_answering_holds_the_first_caller() {
    let dir = temp_dir("call-waiting");
    // Bob works like the desk: one call in hand.
    let mut bob = party(&dir, "bob", &["--hold-others", "listen"]);
    let mut alice = party(&dir, "alice", &[ACCEPT, "accept", "call", &bob.uri.clone()]);
    let first = bob.agent.wait_for("incoming", WAIT)["call"]
        .as_u64()
        .unwrap();
    bob.agent.command(&format!("answer {first}"));
    alice.agent.wait_for("established", WAIT);
    // Bob's ear in the first call: his speaker file starts here.
    let ear = num(&bob.agent.event_of("media_started", first), "speaker_start");
    sleep_until_wall(ear + 2.0);
    // Carol calls while Bob talks to Alice: Bob hears the call-waiting tone
    // (played here, into his ear: no network delay) while she rings.
    let mut carol = party(&dir, "carol", &["call", &bob.uri.clone()]);
    let incoming = bob.agent.wait_for("incoming", WAIT);
    let second = incoming["call"].as_u64().unwrap();
    let rang_at = num(&incoming, "ts");
    sleep_until_wall(rang_at + 2.0);
    let answered_at = wall_now();
    bob.agent.command(&format!("answer {second}"));
    // Answering the second call holds the first (--hold-others).
    let held = alice.agent.wait_for("held", WAIT);
    assert_eq!(held["remote"], true, "{held}");
    carol.agent.wait_for("established", WAIT);
    carol.agent.command("hangup");
    assert_eq!(carol.agent.wait_exit(WAIT), 0);
    bob.agent.command(&format!("resume {first}"));
    assert_eq!(alice.agent.wait_for("held", WAIT)["remote"], false);
    alice.agent.command("hangup");
    assert_eq!(alice.agent.wait_exit(WAIT), 0);
    bob.agent.terminate();
    bob.agent.wait_exit(WAIT);

    // No 425 Hz before Carol called, the call-waiting beeps while she rang.
    let heard = read_wav_8k(&bob.heard);
    let share = |from: f64, to: f64| -> f64 {
        let (a, b) = (sample_at(ear, from), sample_at(ear, to));
        heard
            .get(a..b.min(heard.len()))
            .unwrap_or(&[])
            .chunks(800)
            .map(|w| tone_share(w, 425.0, 8000.0))
            .fold(0.0, f64::max)
    };
    let before = share(ear + 0.5, rang_at - 0.1);
    let ringing = share(rang_at, answered_at);
    assert!(before < 0.1, "425 Hz before the second call: {before:.2}");
    assert!(
        ringing > 0.3,
        "no call-waiting tone while Carol rang: {ringing:.2}"
    );
}

/// The mean share of `freq` over the 100 ms windows of `x` (a voice's
/// steady partial stands out; passing mixing products do not).
fn mean_share(x: &[f64], freq: f64) -> f64 {
    let shares: Vec<f64> = x.chunks(800).map(|w| tone_share(w, freq, 8000.0)).collect();
    shares.iter().sum::<f64>() / shares.len().max(1) as f64
}

#[test]
fn a_three_way_conference_lets_everyone_hear_everyone_and_one_can_be_dropped() {
    let dir = temp_dir("conference");
    // Voices: Bob 0 (partial 770 Hz), Alice 1 (1000 Hz), Carol 2 (1230 Hz).
    let mut carol = party_with_voice(&dir, "carol", &["listen", "--auto-answer"], 2);
    let mut bob = party_with_voice(&dir, "bob", &["listen", "--auto-answer"], 0);
    let mut alice = party_with_voice(
        &dir,
        "alice",
        &[ACCEPT, "accept", "call", &bob.uri.clone()],
        1,
    );
    let alice_start = alice.agent.wait_for("media_started", WAIT)["speaker_start"]
        .as_f64()
        .unwrap();
    let call = bob.agent.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    bob.agent.command(&format!("consult {} {call}", carol.uri));
    let consult = bob.agent.wait_for("consulting", WAIT)["consult"]
        .as_u64()
        .unwrap();
    let carol_start = carol.agent.wait_for("media_started", WAIT)["speaker_start"]
        .as_f64()
        .unwrap();
    // Bob and Carol talk a moment first.
    sleep_until_wall(carol_start + 2.0);
    bob.agent.command(&format!("conference {call} {consult}"));
    let c = bob.agent.wait_for("conference", WAIT);
    assert_eq!(c["on"], true, "{c}");
    let conf_start = c["ts"].as_f64().unwrap();
    // Alice comes off hold into the conference.
    loop {
        let h = alice.agent.wait_for("held", WAIT);
        if h["remote"] == false {
            break;
        }
    }
    // Four seconds of the conference (placed below by the events' times).
    sleep_until_wall(conf_start + 4.0);
    // Bob mutes himself: Alice and Carol still hear each other.
    let muted_at = wall_now();
    bob.agent.command(&format!("mute {call}"));
    bob.agent.command(&format!("mute {consult}"));
    sleep_until_wall(muted_at + 4.0);
    // Bob drops Carol; Alice and Bob go on.
    bob.agent.command(&format!("hangup {consult}"));
    assert_eq!(
        carol.agent.wait_for("ended", WAIT)["reason"],
        "remote_hangup"
    );
    let off = bob.agent.wait_for("conference", WAIT);
    assert_eq!(off["on"], false, "{off}");
    let conf_end = off["ts"].as_f64().unwrap();
    alice.agent.command("hangup");
    assert_eq!(alice.agent.wait_exit(WAIT), 0);
    bob.agent.terminate();
    carol.agent.terminate();
    bob.agent.wait_exit(WAIT);
    carol.agent.wait_exit(WAIT);

    // The conference in each recording, by the events' wall-clock times
    // (a second to settle after it starts, a quarter before it ends).
    let part = |file: &Path, start: f64, from: f64, to: f64| -> Vec<f64> {
        let x = read_wav_8k(file);
        let a = ((from - start) * 8000.0) as usize;
        let b = ((to - start) * 8000.0) as usize;
        x.get(a..b.min(x.len())).unwrap_or(&[]).to_vec()
    };
    let alice_conf = part(&alice.heard, alice_start, conf_start + 1.0, muted_at - 0.25);
    let carol_conf = part(&carol.heard, carol_start, conf_start + 1.0, muted_at - 0.25);
    // What was already in Alice's jitter buffer when Bob muted still plays
    // out; on a loaded machine that buffer has grown, so judge from 1.5 s on.
    let alice_muted = part(&alice.heard, alice_start, muted_at + 1.5, conf_end - 0.25);
    assert!(alice_conf.len() > 8000, "Alice's recording is too short");
    let a_hears_carol = mean_share(&alice_conf, 1230.0);
    let a_hears_bob = mean_share(&alice_conf, 770.0);
    let a_hears_self = mean_share(&alice_conf, 1000.0);
    let c_hears_alice = mean_share(&carol_conf, 1000.0);
    let c_hears_bob = mean_share(&carol_conf, 770.0);
    let c_hears_self = mean_share(&carol_conf, 1230.0);
    eprintln!(
        "conference: Alice hears Carol {a_hears_carol:.3}, Bob {a_hears_bob:.3}, herself {a_hears_self:.3}; \
         Carol hears Alice {c_hears_alice:.3}, Bob {c_hears_bob:.3}, herself {c_hears_self:.3}"
    );
    assert!(a_hears_carol > 0.05, "Alice does not hear Carol");
    assert!(a_hears_bob > 0.05, "Alice does not hear Bob");
    assert!(c_hears_alice > 0.05, "Carol does not hear Alice");
    assert!(c_hears_bob > 0.05, "Carol does not hear Bob");
    assert!(a_hears_self < 0.01, "Alice hears her own voice back");
    assert!(c_hears_self < 0.01, "Carol hears her own voice back");
    // With Bob muted, Alice still hears Carol, and no longer Bob.
    let m_carol = mean_share(&alice_muted, 1230.0);
    let m_bob = mean_share(&alice_muted, 770.0);
    eprintln!("Bob muted: Alice hears Carol {m_carol:.3}, Bob {m_bob:.3}");
    assert!(m_carol > 0.05, "muting Bob cut Carol off from Alice");
    // (unmuted his voice scores about 0.12 here; mixing products stay under 0.01)
    let windows: Vec<String> = alice_muted
        .chunks(800)
        .map(|w| format!("{:.2}", tone_share(w, 770.0, 8000.0)))
        .collect();
    assert!(
        m_bob < 0.03,
        "Bob is heard although muted (100 ms windows: {})",
        windows.join(" ")
    );
}

#[test]
fn with_the_ask_policy_the_transferee_decides() {
    let dir = temp_dir("transfer-ask");
    let (mut carol, mut bob) = carol_and_bob(&dir);
    let mut alice = party(
        &dir,
        "alice",
        &["--transfer-policy", "ask", "call", &bob.uri.clone()],
    );
    alice.agent.wait_for("established", WAIT);
    let call = bob.agent.wait_for("established", WAIT)["call"]
        .as_u64()
        .unwrap();
    // First request: Alice declines; Bob keeps her.
    bob.agent.command(&format!("transfer {} {call}", carol.uri));
    let asked = alice.agent.wait_for("transfer_requested", WAIT);
    assert_eq!(asked["target"], carol.uri.as_str(), "{asked}");
    alice.agent.command("reject-transfer");
    let done = bob.agent.wait_transfer_done();
    assert_eq!(done["status"], 603, "{done}");
    assert_eq!(carol.agent.count("incoming"), 0);
    // Second request: Alice accepts and is put through to Carol.
    bob.agent.command(&format!("transfer {} {call}", carol.uri));
    alice.agent.wait_for("transfer_requested", WAIT);
    alice.agent.command("accept-transfer");
    carol.agent.wait_for("established", WAIT);
    let done = bob.agent.wait_transfer_done();
    assert_eq!(done["status"], 200, "{done}");
    let t = alice.agent.wait_for("transferred", WAIT);
    alice.agent.command(&format!("hangup {}", t["new_call"]));
    assert_eq!(alice.agent.wait_exit(WAIT), 0);
    bob.agent.terminate();
    carol.agent.terminate();
}
