//! Sound devices that fail: the call goes on and the operator is told.
//!
//! With real engines: a headset that cannot be opened when a call starts
//! is replaced by the default device (without one, the call goes on with
//! no card and its file microphone still talks), reported for that call; the ringer and the headset test report theirs
//! as `audio_device`. A card lost in the middle of a call (the pump's
//! `MediaNote::Device`, which the pump sends when cpal reports the stream
//! dead and again when the default device has taken over) is exercised at
//! the core, in virtual time: a real unplug needs the sound server, which
//! `tests/tests/audio_device_loss.rs` stops and restarts.

mod common;
mod live;

use live::{Live, Scratch, config, connect, write_tone};
use switchboard_engine::events::EventKind;
use switchboard_engine::phone::MediaNote;
use switchboard_engine::{Command, DeviceNames, EndReason, EngineConfig, Policy};

/// No sound card has this in its name.
const NOWHERE: &str = "switchboard-no-such-headset";

#[test]
fn a_headset_that_cannot_be_opened_gives_way_to_the_default_device_and_says_so() {
    let dir = Scratch::new("devices");
    let mic = dir.path("bob-says.wav");
    write_tone(&mic, 1_000.0, 8_000.0, 60.0);
    // Bob's microphone is a file; his speaker is the sound card, chosen
    // while running: from the next call on.
    let mut bob = Live::start(
        "bob",
        EngineConfig {
            mic: Some(mic),
            ..config("bob", Policy::headless())
        },
    );
    bob.send(Command::SetDevices {
        input: Some(NOWHERE.into()),
        output: Some(NOWHERE.into()),
        ringer: None,
    });
    let mut alice = Live::start(
        "alice",
        EngineConfig {
            level_meter_ms: Some(100),
            ..config("alice", Policy::headless())
        },
    );
    let (alice_call, bob_call) = connect(&mut alice, &mut bob);
    let note = bob.wait_from(0, "the missing headset is reported", |e| {
        matches!(e, EventKind::AudioDevice { call: Some(_), .. })
    });
    let EventKind::AudioDevice { call, message } = note else {
        unreachable!()
    };
    assert_eq!(call, Some(bob_call), "reported for the call");
    assert!(message.contains(NOWHERE), "names the headset: {message}");
    if std::env::var_os("SWITCHBOARD_REQUIRE_AUDIO").is_some() {
        // The test command has a sound server: its default device takes over.
        assert!(
            message.contains("using the default device"),
            "falls back to the default device: {message}"
        );
    } else {
        assert!(
            message.contains("using the default device")
                || message.contains("no sound card, the call goes on without audio"),
            "{message}"
        );
    }
    assert!(
        !bob.saw(|e| matches!(e, EventKind::CommandFailed { .. })),
        "a missing headset is not a failed command"
    );
    // The call goes on: Alice hears Bob's file.
    alice.wait_speaker(alice_call, "Alice hears Bob", 10, |db| db > -30.0);
    assert!(!bob.saw(|e| matches!(e, EventKind::Ended { .. })));
    bob.send(Command::Hangup { call: bob_call });
    match alice.wait_ended(alice_call) {
        EventKind::Ended { reason, stats, .. } => {
            assert_eq!(reason, EndReason::RemoteHangup);
            assert!(stats.packets_received > 25, "{stats:?}");
        }
        _ => unreachable!(),
    }
}

#[test]
fn a_ringer_or_headset_test_that_cannot_open_is_reported_as_audio_device() {
    let mut bob = Live::start(
        "bob",
        EngineConfig {
            devices: Some(DeviceNames {
                input: Some(NOWHERE.into()),
                output: Some(NOWHERE.into()),
            }),
            ringer: Some(NOWHERE.into()),
            ..config("bob", Policy::desktop())
        },
    );
    let audio_device = |e: &EventKind, what: &str| {
        matches!(e, EventKind::AudioDevice { call: None, message }
            if message.starts_with(what) && message.contains(NOWHERE))
    };
    bob.send(Command::Ring { on: true });
    bob.wait("the ringer's failure", |e| audio_device(e, "cannot ring"));
    bob.send(Command::Ring { on: false });
    bob.send(Command::DeviceTest { on: true });
    bob.wait("the headset test's failure", |e| {
        audio_device(e, "headset test")
    });
    bob.send(Command::DeviceTest { on: false });
    // The engine goes on: it still takes a call.
    let mut alice = Live::start("alice", config("alice", Policy::headless()));
    let (alice_call, bob_call) = connect(&mut alice, &mut bob);
    bob.send(Command::Hangup { call: bob_call });
    alice.wait_ended(alice_call);
}

// ---------------------------------------------------------------- core only

use common::{TestPhone, clean, headless};

#[test]
fn a_card_lost_mid_call_is_reported_for_that_call_and_the_call_goes_on() {
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, headless()),
        TestPhone::new("bob", 2, headless()),
    ]);
    let (alice_call, bob_call) = common::connect(&mut sim, 0, 1);
    let lost = "audio device \"Jabra\" / \"Jabra\" failed; switching to the default device";
    let restored = "audio device restored: now using \"default\" / \"default\"";
    for note in [lost, restored] {
        let now = sim.now();
        sim.nodes[1]
            .phone
            .handle_media(now, bob_call, MediaNote::Device(note.into()));
        sim.flush();
    }
    let messages: Vec<(Option<switchboard_engine::CallId>, String)> = sim.nodes[1]
        .events
        .iter()
        .filter_map(|e| match e {
            EventKind::AudioDevice { call, message } => Some((*call, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages,
        [
            (Some(bob_call), lost.to_owned()),
            (Some(bob_call), restored.to_owned())
        ]
    );
    // Something else going wrong in the pump is reported, and is no reason
    // to hang up either.
    let now = sim.now();
    sim.nodes[1].phone.handle_media(
        now,
        bob_call,
        MediaNote::Failed("speaker file: disk full".into()),
    );
    sim.run_for(std::time::Duration::from_secs(30));
    assert_eq!(
        sim.nodes[1].failures(),
        [(
            format!("media {bob_call}"),
            "speaker file: disk full".to_owned()
        )]
    );
    assert!(sim.nodes[1].up(bob_call) && sim.nodes[0].up(alice_call));
    assert!(sim.nodes[1].pumps.contains_key(&bob_call));
    assert_eq!(sim.nodes[0].held(alice_call), (false, false));
}
