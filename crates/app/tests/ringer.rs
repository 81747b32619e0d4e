//! The ringer plays on the sound card while the desk says a call rings, and
//! stops when told. Recorded from the headless PulseAudio null sink's monitor.

mod common;

use std::time::Duration;

use switchboard_engine::{Command, DeviceNames, Engine, EngineConfig};
use switchboard_interop::{Guard, read_wav_8k, temp_dir};

/// The two tests share the one sound card: they run one after the other.
static SOUND_CARD: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[test]
fn the_ringer_rings_on_the_sound_card_until_stopped() {
    if !switchboard_interop::sound_server_or_skip() {
        return;
    }
    let _one_at_a_time = SOUND_CARD.lock();
    let (engine, _events) = Engine::start(EngineConfig {
        devices: Some(DeviceNames::default()),
        ..EngineConfig::headless(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), "agent")
    })
    .expect("engine");
    let rec = temp_dir("ringer").join("ring.wav");
    let mut recorder = Guard(
        std::process::Command::new("parecord")
            .args([
                "--device=switchboard_null.monitor",
                "--file-format=wav",
                "--rate=16000",
                "--channels=1",
            ])
            .arg(&rec)
            .spawn()
            .expect("parecord"),
    );
    // Capture through PulseAudio starts late: ring through one whole cadence
    // (1.5 s tone, 3 s pause) and stop 0.5 s into the second tone.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(engine.send(Command::Ring { on: true }));
    std::thread::sleep(Duration::from_millis(5000));
    assert!(engine.send(Command::Ring { on: false }));
    std::thread::sleep(Duration::from_millis(2000));
    switchboard_interop::signal(i32::try_from(recorder.0.id()).unwrap_or(0), SIGINT);
    let _ = switchboard_interop::wait_child(&mut recorder.0, Duration::from_secs(5));
    let x = read_wav_8k(&rec);
    // Loud and quiet 100 ms chunks; the runs of loud ones are the tones heard.
    let loud: Vec<bool> = x.chunks(800).map(|c| rms(c) > 1000.0).collect();
    let mut runs = Vec::new();
    let mut n = 0;
    for l in &loud {
        if *l {
            n += 1;
        } else if n > 0 {
            runs.push(n);
            n = 0;
        }
    }
    assert_eq!(n, 0, "still ringing at the end of the recording");
    let last = *runs
        .last()
        .unwrap_or_else(|| panic!("the ring was never heard: {loud:?}"));
    // The second tone was cut short by the stop (a full tone is 1.5 s).
    assert!(
        (3..=9).contains(&last),
        "last tone lasted {last} × 100 ms: {loud:?}"
    );
    let _ = engine.send(Command::Shutdown);
    engine.join();
}

/// Playback streams the sound server has now.
fn playback_streams() -> usize {
    std::process::Command::new("pactl")
        .args(["list", "short", "sink-inputs"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0)
}

#[test]
fn a_separate_ringer_device_rings_and_the_headset_rings_too() {
    if !switchboard_interop::sound_server_or_skip() {
        return;
    }
    // The ringer is named (here the sound server, by part of its name); the
    // headset is the default output: two devices as far as the desk knows,
    // so both ring.
    let _one_at_a_time = SOUND_CARD.lock();
    let ringer = "pulseaudio sound server".to_owned();
    let (engine, mut events) = Engine::start(EngineConfig {
        devices: Some(DeviceNames::default()),
        ringer: Some(ringer),
        ..EngineConfig::headless(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), "agent")
    })
    .expect("engine");
    let before = playback_streams();
    assert!(engine.send(Command::Ring { on: true }));
    let until = std::time::Instant::now() + Duration::from_secs(5);
    let mut most = before;
    while std::time::Instant::now() < until && most < before + 2 {
        most = most.max(playback_streams());
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut said = Vec::new();
    while let Ok(e) = events.try_recv() {
        said.push(e.kind);
    }
    assert_eq!(
        most,
        before + 2,
        "the ringer and the headset each play the ring; engine said {said:?}"
    );
    assert!(engine.send(Command::Ring { on: false }));
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < until && playback_streams() > before {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(playback_streams(), before, "both stop");
    let _ = engine.send(Command::Shutdown);
    engine.join();
}

/// SIGINT, which makes parecord finish its WAV header.
const SIGINT: i32 = 2;

#[test]
fn our_call_that_rings_plays_ringback_on_the_headset_until_it_is_answered_or_refused() {
    if !switchboard_interop::sound_server_or_skip() {
        return;
    }
    let _one_at_a_time = SOUND_CARD.lock();
    let (mut far, far_addr) = switchboard_interop::Agent::listening("shop", &[]);
    let far_uri = format!("sip:shop@{far_addr}");
    let (engine, mut events) = Engine::start(EngineConfig {
        devices: Some(DeviceNames::default()),
        ..EngineConfig::headless(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), "agent")
    })
    .expect("engine");
    let before = playback_streams();
    assert!(engine.send(Command::Call {
        target: far_uri,
        headers: Vec::new()
    }));
    far.wait_for("incoming", Duration::from_secs(10));
    let until = std::time::Instant::now() + Duration::from_secs(5);
    let mut most = before;
    while std::time::Instant::now() < until && most <= before {
        most = most.max(playback_streams());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        most,
        before + 1,
        "ringback plays on the headset while it rings"
    );
    // The far end refuses: the ringback stops with the call.
    far.command("hangup");
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let mut ended = false;
    while std::time::Instant::now() < until && !(ended && playback_streams() == before) {
        while let Ok(e) = events.try_recv() {
            ended |= matches!(e.kind, switchboard_engine::events::EventKind::Ended { .. });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ended, "the call ended");
    assert_eq!(playback_streams(), before, "the ringback stopped");
    let _ = engine.send(Command::Shutdown);
    engine.join();
}
