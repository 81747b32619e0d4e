//! Real audio between two switchboard-cli processes on loopback: a file
//! microphone on one side, a file speaker on the other, checked by
//! correlating what was heard with what was said.

use std::time::Duration;

use switchboard_interop::{
    Agent, find_in, free_port, read_wav_8k, share_heard, temp_dir, write_test_signal,
};

const WAIT: Duration = Duration::from_secs(10);

fn call_with_audio(codec: &str) {
    let dir = temp_dir(&format!("audio-{codec}"));
    let mic = dir.join("said.wav");
    let heard = dir.join("heard.wav");
    write_test_signal(&mic, 16_000, 3.0);
    let bind = format!("127.0.0.1:{}", free_port());
    let heard_arg = heard.to_string_lossy().into_owned();
    let mut desk = Agent::start(&[
        "--bind",
        &bind,
        "--user",
        "desk",
        "--speaker",
        &heard_arg,
        "listen",
        "--auto-answer",
    ]);
    desk.wait_for("listening", WAIT);
    let caller_bind = format!("127.0.0.1:{}", free_port());
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        &caller_bind,
        "--codecs",
        codec,
        "--mic",
        &mic_arg,
        "call",
        &format!("sip:desk@{bind}"),
    ]);
    let started = caller.wait_for("media_started", WAIT);
    assert_eq!(started["codec"], codec);
    let desk_started = desk.wait_for("media_started", WAIT);
    // The caller hangs up when its microphone file ends (3 s).
    let ended = caller.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    assert_eq!(caller.wait_exit(WAIT), 0);
    let desk_ended = desk.wait_for("ended", WAIT);
    let stats = &desk_ended["stats"];
    assert!(
        stats["packets_received"].as_u64().unwrap_or(0) >= 140,
        "about 150 packets in 3 s: {stats}"
    );
    assert_eq!(stats["codec"], codec);
    desk.terminate();
    desk.wait_exit(WAIT);
    let said = read_wav_8k(&mic);
    let got = read_wav_8k(&heard);
    assert!(got.len() >= 8000 * 2, "heard {} samples", got.len());
    let (lag, corr) = find_in(&said, &got, 4000);
    // Every half second of what was said is heard (each with its own lag: a
    // jitter buffer adapting to a scheduling hiccup may shift by a frame).
    let heard = share_heard(&said, &got, 4000, 0.9);
    assert!(
        heard >= 0.8,
        "{codec}: only {heard:.2} of the speech heard (first-window correlation {corr} at lag {lag})"
    );
    // Mouth-to-ear from the files and the start stamps (measured, not judged:
    // the bench reports it; here it must merely be causal and finite).
    let offset = desk_started["speaker_start"].as_f64().unwrap_or(0.0)
        - started["mic_start"].as_f64().unwrap_or(0.0);
    let delay_ms = (offset + lag as f64 / 8000.0) * 1000.0;
    eprintln!("{codec}: correlation {corr:.3}, mouth-to-ear {delay_ms:.1} ms");
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
    let bind = format!("127.0.0.1:{}", free_port());
    let mut desk = Agent::start(&["--bind", &bind, "--user", "desk", "listen", "--auto-answer"]);
    desk.wait_for("listening", WAIT);
    let caller_bind = format!("127.0.0.1:{}", free_port());
    let feedback = temp_dir("dtmf-feedback").join("heard.wav");
    let feedback_arg = feedback.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        &caller_bind,
        "--speaker",
        &feedback_arg,
        "call",
        &format!("sip:desk@{bind}"),
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
        .args(["--bind", &format!("127.0.0.1:{}", free_port()), "--mic"])
        .arg(&mic)
        .args(["call", "sip:x@127.0.0.1:9"])
        .output()
        .expect("run cli");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.wav") && err.contains("WAV"), "{err}");
}

/// The callee plays the call on the sound card (the headless PulseAudio null
/// sink set up by the test command); `parecord` records the card's monitor.
#[test]
fn the_callee_hears_the_call_on_the_sound_card() {
    if !switchboard_interop::sound_server_or_skip() {
        return;
    }
    let dir = temp_dir("audio-card");
    let mic = dir.join("said.wav");
    let rec = dir.join("card.wav");
    write_test_signal(&mic, 16_000, 4.0);
    let bind = format!("127.0.0.1:{}", free_port());
    let mut desk = Agent::start_with_env(
        &["--bind", &bind, "--user", "desk", "listen", "--auto-answer"],
        &[("SWITCHBOARD_AUDIO", "device")],
    );
    desk.wait_for("listening", WAIT);
    let mut recorder = switchboard_interop::Guard(
        std::process::Command::new("parecord")
            .args([
                "--device=switchboard_null.monitor",
                "--file-format=wav",
                "--rate=16000",
                "--channels=1",
            ])
            .arg(&rec)
            .spawn()
            .expect("parecord (pulseaudio-utils)"),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        &format!("127.0.0.1:{}", free_port()),
        "--codecs",
        "pcmu",
        "--mic",
        &mic_arg,
        "call",
        &format!("sip:desk@{bind}"),
    ]);
    caller.wait_for("ended", Duration::from_secs(15));
    let failures = desk.count("command_failed");
    assert_eq!(failures, 0, "the card opened: {:?}", desk.seen);
    std::thread::sleep(Duration::from_millis(1000));
    switchboard_interop::signal(i32::try_from(recorder.0.id()).unwrap_or(0), libc::SIGINT);
    let _ = switchboard_interop::wait_child(&mut recorder.0, Duration::from_secs(5));
    let said = read_wav_8k(&mic);
    let got = read_wav_8k(&rec);
    // Capture through PulseAudio starts late (1-2 s), so look for a second of
    // the later part of what was said anywhere in the recording.
    let middle = said.get(16_000..26_000).unwrap_or(&[]);
    let (lag, corr) = find_in(middle, &got, got.len());
    eprintln!("sound card: correlation {corr:.3} at lag {lag}");
    assert!(
        corr > 0.8,
        "the card played something else (correlation {corr})"
    );
}

#[test]
fn level_meters_show_who_is_speaking() {
    let dir = temp_dir("audio-levels");
    let mic = dir.join("said.wav");
    write_test_signal(&mic, 8_000, 2.0);
    let bind = format!("127.0.0.1:{}", free_port());
    let mut desk = Agent::start(&[
        "--bind",
        &bind,
        "--user",
        "desk",
        "--levels",
        "listen",
        "--auto-answer",
    ]);
    desk.wait_for("listening", WAIT);
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        &format!("127.0.0.1:{}", free_port()),
        "--levels",
        "--mic",
        &mic_arg,
        "call",
        &format!("sip:desk@{bind}"),
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
    write_test_signal(&mic, 8_000, 4.0);
    let bind = format!("127.0.0.1:{}", free_port());
    let heard_arg = heard.to_string_lossy().into_owned();
    let mut desk = Agent::start(&[
        "--bind",
        &bind,
        "--user",
        "desk",
        "--speaker",
        &heard_arg,
        "listen",
        "--auto-answer",
    ]);
    desk.wait_for("listening", WAIT);
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        &format!("127.0.0.1:{}", free_port()),
        "--codecs",
        "pcmu",
        "--mic",
        &mic_arg,
        "call",
        &format!("sip:desk@{bind}"),
    ]);
    caller.wait_for("media_started", WAIT);
    std::thread::sleep(Duration::from_millis(1200));
    caller.command("mute");
    std::thread::sleep(Duration::from_millis(1200));
    caller.command("unmute");
    caller.wait_for("ended", WAIT);
    desk.wait_for("ended", WAIT);
    desk.terminate();
    desk.wait_exit(WAIT);
    let got = read_wav_8k(&heard);
    // 200 ms windows: loud before, silent in the middle, loud again after.
    let rms = |from_ms: usize| {
        let w = got.get(from_ms * 8..(from_ms + 200) * 8).unwrap_or(&[]);
        (w.iter().map(|v| v * v).sum::<f64>() / w.len().max(1) as f64).sqrt()
    };
    let (before, muted, after) = (rms(600), rms(2050), rms(3100));
    assert!(before > 1000.0, "speech before mute: {before}");
    assert!(muted < 50.0, "silence while muted: {muted}");
    assert!(after > 1000.0, "speech after unmute: {after}");
}
