//! The ringer plays on the sound card while the desk says a call rings, and
//! stops when told. Recorded from the headless PulseAudio null sink's monitor.

mod common;

use std::time::Duration;

use switchboard_engine::{Command, DeviceNames, Engine, EngineConfig};
use switchboard_interop::{Capture, rms, tone_share};

/// The two tests share the one sound card: they run one after the other.
static SOUND_CARD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// 100 ms at 8 kHz: the grain the ring is judged in.
const CHUNK: usize = 800;

/// Whether a 100 ms chunk is the ring: loud, and mostly its two
/// frequencies (800 and 1000 Hz together) — not some other sound on the
/// card.
fn ringing(c: &[f64]) -> bool {
    rms(c) > 1000.0 && tone_share(c, 800.0, 8000.0) > 0.3 && tone_share(c, 1000.0, 8000.0) > 0.3
}

/// The tones of the ring in a recording from chunk `from` on: runs of ringing 100 ms
/// chunks (start, end), a gap of up to two quiet chunks (a scheduling
/// hiccup of the sound server) not ending one. The last one is still open
/// (`None` end) if the recording ends in it or less than three quiet chunks
/// after it.
fn tones(x: &[f64], from: usize) -> Vec<(usize, Option<usize>)> {
    let loud: Vec<bool> = x.chunks_exact(CHUNK).skip(from).map(ringing).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < loud.len() {
        if !loud[i] {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        loop {
            while end < loud.len() && loud[end] {
                end += 1;
            }
            let quiet = loud[end..].iter().take_while(|l| !**l).count();
            if end + quiet < loud.len() && quiet <= 2 {
                end += quiet;
                continue;
            }
            let closed = quiet >= 3;
            out.push((from + start, closed.then_some(from + end)));
            i = end + quiet;
            break;
        }
    }
    out
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
    // The card's monitor, recorded as it plays: how much has been recorded
    // is the clock the ring is judged by (the sound server's, not the test's).
    let card = Capture::start("switchboard_null.monitor", &[]);
    let from = card.len() / CHUNK;
    let wait = Duration::from_secs(15);
    assert!(engine.send(Command::Ring { on: true }));
    // A whole tone (1.5 s), then the pause (3 s), then the next tone: stop
    // the ring as soon as that one is heard.
    card.wait_until("the first tone and the start of the second", wait, |x| {
        tones(x, from).len() >= 2
    });
    assert!(engine.send(Command::Ring { on: false }));
    let stopped = card.len();
    // Longer than a whole tone after the stop: a ring that went on would be
    // on the record.
    card.wait_len(stopped + 25 * CHUNK);
    let x = card.stop();
    let heard = tones(&x, from);
    let shown = format!("tones (start, end) in 100 ms from {from}: {heard:?}");
    let [(on1, Some(off1)), (on2, Some(off2))] = heard[..] else {
        panic!("two tones, the second ended, and silence after: {shown}");
    };
    // The cadence, in the recording's own time (generous: the server may
    // stretch a pause by a hiccup or two).
    assert!(
        (10..=20).contains(&(off1 - on1)),
        "the first tone lasts its 1.5 s: {shown}"
    );
    assert!(
        (20..=45).contains(&(on2 - off1)),
        "the pause lasts its 3 s: {shown}"
    );
    // The stop cut the second tone short (a whole one is 15 chunks) and
    // nothing came after it.
    assert!(off2 - on2 <= 12, "the stop cut the tone short: {shown}");
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
