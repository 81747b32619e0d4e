//! Real audio between two switchboard-cli processes on loopback: a file
//! microphone on one side, a file speaker on the other, checked by
//! correlating what was heard with what was said.

use std::time::Duration;

use switchboard_interop::{
    Agent, Capture, WINDOW, find_in, heard_windows, read_wav_8k, rms, sample_at, sleep_until_wall,
    temp_dir, wall_now, write_test_signal,
};

const WAIT: Duration = Duration::from_secs(10);

/// A CLI listening as `user` with these options (global ones too, such as
/// `--speaker`); its SIP URI.
fn listener(user: &str, extra: &[&str]) -> (Agent, String) {
    let (agent, bind) = Agent::listening(user, extra);
    (agent, format!("sip:{user}@{bind}"))
}

/// How alike a quarter second heard must be to what was said: the
/// waveform codecs (G.711, G.722) give it back sample for sample (0.99 and
/// more); Opus keeps how it sounds, not the waveform, and scores 0.7 to 1
/// on the test signal — still far from anything else (silence, another
/// test voice, the hold tune: under 0.35).
fn likeness(codec: &str) -> f64 {
    if codec == "opus" { 0.6 } else { 0.9 }
}

fn call_with_audio(codec: &str) {
    let dir = temp_dir(&format!("audio-{codec}"));
    let mic = dir.join("said.wav");
    let heard = dir.join("heard.wav");
    write_test_signal(&mic, 16_000, 4.0);
    let heard_arg = heard.to_string_lossy().into_owned();
    let (mut desk, uri) = listener("desk", &["--auto-answer", "--speaker", &heard_arg]);
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--codecs",
        codec,
        "--mic",
        &mic_arg,
        "call",
        &uri,
    ]);
    let started = caller.wait_for("media_started", WAIT);
    assert_eq!(started["codec"], codec);
    let desk_started = desk.wait_for("media_started", WAIT);
    // The caller hangs up when its microphone file ends (4 s).
    let ended = caller.wait_for("ended", Duration::from_secs(20));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    assert_eq!(caller.wait_exit(WAIT), 0);
    let desk_ended = desk.wait_for("ended", WAIT);
    let stats = &desk_ended["stats"];
    assert!(
        stats["packets_received"].as_u64().unwrap_or(0) >= 190,
        "200 packets in 4 s: {stats}"
    );
    assert_eq!(stats["codec"], codec);
    desk.terminate();
    desk.wait_exit(WAIT);
    let said = read_wav_8k(&mic);
    let got = read_wav_8k(&heard);
    let (lag, corr) = find_in(&said, &got, 4000);
    // All of it was played (but the last quarter second, which the hang-up
    // at the end of the file may cut off) …
    assert!(
        got.len() + WINDOW >= said.len() + lag,
        "{codec}: heard {} samples of {} said (lag {lag})",
        got.len(),
        said.len()
    );
    // … and every quarter second of it is what was said (each found at its
    // own lag: a jitter buffer adapting to a scheduling hiccup may shift by
    // a frame).
    let heard = heard_windows(
        &said,
        WINDOW..said.len() - WINDOW,
        &got,
        0..4000,
        likeness(codec),
    );
    heard.assert_heard(&format!("{codec}: the desk hears the caller"));
    // Mouth-to-ear from the files and the start stamps (measured, not judged:
    // the bench reports it; here it must merely be causal and finite).
    let offset = desk_started["speaker_start"].as_f64().unwrap_or(0.0)
        - started["mic_start"].as_f64().unwrap_or(0.0);
    let delay_ms = (offset + lag as f64 / 8000.0) * 1000.0;
    eprintln!("{codec}: correlation {corr:.3}, mouth-to-ear {delay_ms:.1} ms; {heard}");
    assert!(
        delay_ms > 0.0,
        "audio cannot arrive before it is said: {delay_ms} ms"
    );
}

#[test]
fn pcmu_audio_arrives_as_it_was_said() {
    call_with_audio("pcmu");
}

#[test]
fn pcma_audio_arrives_as_it_was_said() {
    call_with_audio("pcma");
}

#[test]
fn g722_audio_arrives_as_it_was_said() {
    call_with_audio("g722");
}

#[test]
fn opus_audio_arrives_as_it_was_said() {
    call_with_audio("opus");
}

#[test]
fn dtmf_keys_reach_the_other_side_in_order() {
    let (mut desk, uri) = listener("desk", &["--auto-answer"]);
    let feedback = temp_dir("dtmf-feedback").join("heard.wav");
    let feedback_arg = feedback.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--speaker",
        &feedback_arg,
        "call",
        &uri,
        "--dtmf",
        "4711*#",
    ]);
    let mut keys = String::new();
    while keys.len() < 6 {
        let e = desk.wait_for("dtmf", WAIT);
        keys.push_str(e["digit"].as_str().unwrap_or("?"));
    }
    assert_eq!(keys, "4711*#");
    // And back the other way through the stdin command.
    desk.command("dtmf 9");
    assert_eq!(caller.wait_for("dtmf", WAIT)["digit"], "9");
    caller.command("hangup");
    caller.wait_for("ended", WAIT);
    caller.wait_exit(WAIT);
    // The caller heard its own keys as quiet feedback tones (the far end is silent).
    let heard = read_wav_8k(&feedback);
    let peak = heard.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        peak > 1000.0,
        "no key feedback in the caller's speaker (peak {peak})"
    );
}

#[test]
fn a_broken_microphone_file_is_refused_at_start_with_a_clear_reason() {
    let dir = temp_dir("audio-broken");
    let mic = dir.join("broken.wav");
    std::fs::write(&mic, b"RIFF....WAVEnot really").expect("write");
    let out = std::process::Command::new(switchboard_interop::cli_path())
        .args(["--bind", "127.0.0.1:0", "--mic"])
        .arg(&mic)
        .args(["call", "sip:x@127.0.0.1:9"])
        .output()
        .expect("run cli");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.wav") && err.contains("WAV"), "{err}");
}

/// The callee plays the call on the sound card (the headless PulseAudio null
/// sink set up by the test command); `parec` records the card's monitor.
#[test]
fn the_callee_hears_the_call_on_the_sound_card() {
    if !switchboard_interop::sound_server_or_skip() {
        return;
    }
    let dir = temp_dir("audio-card");
    let mic = dir.join("said.wav");
    write_test_signal(&mic, 16_000, 4.0);
    // Recording before the call starts, so all of it is on the record.
    let card = Capture::start("switchboard_null.monitor", &[]);
    let mut desk = Agent::start_with_env(
        &[
            "--bind",
            "127.0.0.1:0",
            "--user",
            "desk",
            "listen",
            "--auto-answer",
        ],
        &[("SWITCHBOARD_AUDIO", "device")],
    );
    let address = desk.wait_listening();
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--codecs",
        "pcmu",
        "--mic",
        &mic_arg,
        "call",
        &format!("sip:desk@{address}"),
    ]);
    let played = desk.wait_for("media_started", WAIT)["speaker_start"]
        .as_f64()
        .unwrap_or(0.0);
    caller.wait_for("ended", Duration::from_secs(20));
    let failures = desk.count("command_failed");
    assert_eq!(failures, 0, "the card opened: {:?}", desk.seen);
    // What the card still had buffered when the call ended is recorded
    // within a second of recording time.
    card.wait_len(card.len() + 8000);
    let from = card.sample_of(played).saturating_sub(4000);
    let got = card.stop();
    let said = read_wav_8k(&mic);
    // The desk's first sample reached the card at `played` (give or take
    // half a second of the recorder's own start); from there, through the
    // card's buffers, every quarter second of what was said is on it.
    let heard = heard_windows(
        &said,
        WINDOW..said.len() - WINDOW,
        &got,
        from..from + 3 * 8000,
        0.8,
    );
    eprintln!("sound card: {heard}");
    heard.assert_heard_through_a_sound_card("the card plays the call");
}

#[test]
fn level_meters_show_who_is_speaking() {
    let dir = temp_dir("audio-levels");
    let mic = dir.join("said.wav");
    write_test_signal(&mic, 8_000, 2.0);
    let (mut desk, uri) = listener("desk", &["--levels", "--auto-answer"]);
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--levels",
        "--mic",
        &mic_arg,
        "call",
        &uri,
    ]);
    caller.wait_for("ended", Duration::from_secs(10));
    desk.wait_for("ended", WAIT);
    let loudest = |a: &mut Agent, key: &str| {
        a.count("levels");
        a.seen
            .iter()
            .filter(|e| e["event"] == "levels")
            .filter_map(|e| e[key].as_f64())
            .fold(-120.0f64, f64::max)
    };
    assert!(
        loudest(&mut caller, "mic_dbfs") > -30.0,
        "the caller's microphone meter moves"
    );
    assert!(
        loudest(&mut desk, "speaker_dbfs") > -30.0,
        "the desk hears it"
    );
    assert!(
        loudest(&mut desk, "mic_dbfs") <= -119.0,
        "the desk's silent microphone stays at the floor"
    );
    let quality: Vec<f64> = desk
        .seen
        .iter()
        .filter(|e| e["event"] == "quality")
        .filter_map(|e| e["mos"].as_f64())
        .collect();
    assert!(
        !quality.is_empty(),
        "quality reports every 2 s with --levels"
    );
    assert!(
        quality.iter().all(|m| *m > 4.0),
        "a clean loopback call: {quality:?}"
    );
}

#[test]
fn mute_silences_what_the_other_side_hears_and_unmute_brings_it_back() {
    let dir = temp_dir("audio-mute");
    let mic = dir.join("said.wav");
    let heard = dir.join("heard.wav");
    write_test_signal(&mic, 8_000, 12.0);
    let heard_arg = heard.to_string_lossy().into_owned();
    let (mut desk, uri) = listener("desk", &["--auto-answer", "--speaker", &heard_arg]);
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--codecs",
        "pcmu",
        "--mic",
        &mic_arg,
        "call",
        &uri,
    ]);
    // Talk for three seconds of the microphone file, mute for three and a
    // half, then talk until the file ends (twelve seconds: the caller hangs
    // up).
    let mic_start = caller.wait_for("media_started", WAIT)["mic_start"]
        .as_f64()
        .unwrap();
    sleep_until_wall(mic_start + 3.0);
    let muted_at = wall_now();
    caller.command("mute");
    sleep_until_wall(muted_at + 3.5);
    let unmuted_at = wall_now();
    caller.command("unmute");
    caller.wait_for("ended", Duration::from_secs(20));
    desk.wait_for("ended", WAIT);
    desk.terminate();
    desk.wait_exit(WAIT);
    let said = read_wav_8k(&mic);
    let got = read_wav_8k(&heard);
    // Where the commands fell in what was said (the file plays in real time
    // from `mic_start`), and — by the lag measured before the mute — in what
    // was heard. A command takes effect a little after it is given: a
    // second's grace after each.
    let (mute, unmute) = (
        sample_at(mic_start, muted_at),
        sample_at(mic_start, unmuted_at),
    );
    let grace = 8000;
    let before = heard_windows(&said, WINDOW..mute, &got, 0..8000, 0.9);
    before.assert_heard("speech before the mute");
    let lag = before.last_lag().unwrap();
    let during = heard_windows(
        &said,
        mute + grace..unmute - WINDOW / 2,
        &got,
        lag.saturating_sub(switchboard_interop::TRACK)..lag + switchboard_interop::TRACK,
        0.9,
    );
    during.assert_not_heard("speech while muted");
    // Not just other sound: silence, a quarter second at a time.
    let quiet: Vec<f64> = (mute + grace + lag..unmute + lag - WINDOW / 2)
        .step_by(WINDOW)
        .map(|a| rms(got.get(a..a + WINDOW).unwrap_or(&[])))
        .collect();
    assert!(
        quiet.len() >= switchboard_interop::MIN_WINDOWS && quiet.iter().all(|r| *r < 50.0),
        "silence while muted (RMS of each quarter second): {quiet:.0?}"
    );
    let after = heard_windows(
        &said,
        unmute + grace..said.len() - WINDOW,
        &got,
        0..8000,
        0.9,
    );
    after.assert_heard("speech after the unmute");
    eprintln!("mute: before {before}; during {during}; after {after}");
}
