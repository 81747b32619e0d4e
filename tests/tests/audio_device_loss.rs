//! The sound card goes away in the middle of a call (here: the PulseAudio
//! server dies and comes back, as when a USB headset is unplugged and the
//! system falls back to another output). The call must go on, the engine must
//! reopen the default device and say so. A test binary of its own: it stops
//! the sound server that other audio tests use.

use std::time::Duration;

use switchboard_interop::{Agent, free_port, temp_dir, write_test_signal};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_lost_sound_card_is_replaced_by_the_default_and_the_call_goes_on() {
    if !switchboard_interop::sound_server_or_skip() {
        return;
    }
    let dir = temp_dir("device-loss");
    let mic = dir.join("said.wav");
    write_test_signal(&mic, 8_000, 6.0);
    let bind = format!("127.0.0.1:{}", free_port());
    let mut desk = Agent::start_with_env(
        &["--bind", &bind, "--user", "desk", "listen", "--auto-answer"],
        &[("SWITCHBOARD_AUDIO", "device")],
    );
    desk.wait_for("listening", WAIT);
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        &format!("127.0.0.1:{}", free_port()),
        "--mic",
        &mic_arg,
        "call",
        &format!("sip:desk@{bind}"),
    ]);
    desk.wait_for("media_started", WAIT);
    std::thread::sleep(Duration::from_secs(1));
    // Pull the card: stop the sound server, then bring it back.
    let killed = std::process::Command::new("pulseaudio")
        .arg("--kill")
        .status()
        .is_ok_and(|s| s.success());
    assert!(killed, "could not stop PulseAudio");
    std::thread::sleep(Duration::from_millis(500));
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/headless-audio.sh");
    let restarted = std::process::Command::new("bash")
        .arg(script)
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        restarted && switchboard_interop::sound_server_up(),
        "could not restart PulseAudio"
    );
    let lost = desk.wait_for("audio_device", WAIT);
    let error = lost["message"].as_str().unwrap_or("");
    assert!(error.contains("failed; switching to the default"), "{lost}");
    let back = desk.wait_for("audio_device", WAIT);
    let error = back["message"].as_str().unwrap_or("");
    assert!(error.contains("now using"), "{back}");
    // The call went on to its natural end: the caller's file ran out.
    let ended = caller.wait_for("ended", Duration::from_secs(15));
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    let desk_ended = desk.wait_for("ended", WAIT);
    assert_eq!(desk_ended["reason"], "remote_hangup");
    assert!(
        desk_ended["stats"]["packets_received"]
            .as_u64()
            .unwrap_or(0)
            > 250,
        "six seconds of audio arrived: {desk_ended}"
    );
}
