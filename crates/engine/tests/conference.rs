//! The local three-way conference with real engines and real RTP on
//! loopback: Alice and Carol each play a tone of their own as their
//! microphone and record what they hear; Bob, the operator, says nothing.
//! Mixed in Bob's bridge, each hears the other (and not herself), which
//! only the bridge can bring about: the two never talk to each other
//! directly.

mod live;

use live::{Live, Scratch, config, connect, read_wav, tone_amplitude, write_tone};
use switchboard_engine::events::EventKind;
use switchboard_engine::{Command, EngineConfig, Policy};

const ALICE_HZ: f64 = 1_000.0;
const CAROL_HZ: f64 = 1_700.0;
/// The tones' amplitude in the files (full scale 32 767).
const LOUD: f64 = 8_000.0;

#[test]
fn in_a_conference_each_caller_hears_the_other_and_not_herself() {
    let dir = Scratch::new("conference");
    let talker = |name: &'static str, hz: f64| {
        let mic = dir.path(&format!("{name}-says.wav"));
        write_tone(&mic, hz, LOUD, 60.0);
        let heard = dir.path(&format!("{name}-heard.wav"));
        let engine = Live::start(
            name,
            EngineConfig {
                mic: Some(mic),
                speaker: Some(heard.clone()),
                level_meter_ms: Some(100),
                ..config(name, Policy::headless())
            },
        );
        (engine, heard)
    };
    let (mut alice, alice_heard) = talker("alice", ALICE_HZ);
    let (mut carol, carol_heard) = talker("carol", CAROL_HZ);
    let mut bob = Live::start("bob", config("bob", Policy::desktop()));

    let (alice_call, bob_alice) = connect(&mut alice, &mut bob);
    bob.send(Command::Consult {
        call: bob_alice,
        target: carol.uri(),
    });
    let consult = match bob.wait("the consultation is placed", |e| {
        matches!(e, EventKind::Consulting { .. })
    }) {
        EventKind::Consulting { consult, .. } => consult,
        _ => unreachable!(),
    };
    let carol_call = carol.wait_incoming();
    carol.send(Command::Answer { call: carol_call });
    bob.wait_media(consult);
    carol.wait_media(carol_call);
    // Before the conference Carol talks to Bob only, who is silent.
    carol.wait_speaker(carol_call, "Carol hears Bob's silence", 5, |db| db < -60.0);

    bob.send(Command::Conference {
        call: bob_alice,
        other: consult,
    });
    bob.wait("the conference starts", |e| {
        matches!(e, EventKind::Conference { on: true, .. })
    });
    let resumed = alice.seen.len();
    alice.wait_from(resumed, "Alice is taken off hold", |e| {
        matches!(e, EventKind::Held { call, local: false, remote: false } if *call == alice_call)
    });
    carol.wait_speaker(carol_call, "Carol hears Alice", 10, |db| db > -30.0);
    alice.wait_speaker(alice_call, "Alice hears Carol", 10, |db| db > -30.0);

    bob.send(Command::HangupAll);
    alice.wait_ended(alice_call);
    carol.wait_ended(carol_call);
    // Stopped engines have closed their files.
    alice.stop();
    carol.stop();
    let alice_ear = read_wav(&alice_heard);
    let carol_ear = read_wav(&carol_heard);
    let (a_hears_c, a_hears_a) = (
        tone_amplitude(&alice_ear, CAROL_HZ),
        tone_amplitude(&alice_ear, ALICE_HZ),
    );
    let (c_hears_a, c_hears_c) = (
        tone_amplitude(&carol_ear, ALICE_HZ),
        tone_amplitude(&carol_ear, CAROL_HZ),
    );
    assert!(
        a_hears_c > LOUD / 4.0,
        "Alice hears Carol's tone: amplitude {a_hears_c:.0}"
    );
    assert!(
        c_hears_a > LOUD / 4.0,
        "Carol hears Alice's tone: amplitude {c_hears_a:.0}"
    );
    assert!(
        a_hears_a < LOUD / 20.0,
        "Alice does not hear herself: amplitude {a_hears_a:.0}"
    );
    assert!(
        c_hears_c < LOUD / 20.0,
        "Carol does not hear herself: amplitude {c_hears_c:.0}"
    );
    assert!(bob.failures().is_empty(), "{:?}", bob.failures());
}
