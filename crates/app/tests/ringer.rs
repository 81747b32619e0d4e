//! The ringer plays on the sound card while the desk says a call rings, and
//! stops when told. Recorded from the headless PulseAudio null sink's monitor.

use std::time::Duration;

use switchboard_engine::{Command, DeviceNames, Engine, EngineConfig};
use switchboard_interop::{Guard, free_port, read_wav_8k, temp_dir};

fn rms(x: &[f64]) -> f64 {
    (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

#[test]
fn the_ringer_rings_on_the_sound_card_until_stopped() {
    if !switchboard_interop::sound_server_or_skip() {
        return;
    }
    let (engine, _events) = Engine::start(EngineConfig {
        bind: std::net::SocketAddr::from(([127, 0, 0, 1], free_port())),
        user: "agent".into(),
        display_name: None,
        max_calls: 2,
        account: None,
        codecs: Vec::new(),
        mic: None,
        speaker: None,
        devices: Some(DeviceNames::default()),
        level_meter_ms: None,
        ringer: None,
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

/// SIGINT, which makes parecord finish its WAV header.
const SIGINT: i32 = 2;
