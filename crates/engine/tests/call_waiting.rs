//! Call waiting: a second call while one is up. With real engines on
//! loopback (the call-waiting tone is heard in the operator's ear, the
//! first caller is held and hears the hold tune, a call over the limit gets
//! the configured busy status) and, for the cases that need no audio, the
//! core in virtual time.

mod common;
mod live;

use live::{Live, config, connect};
use switchboard_engine::events::EventKind;
use switchboard_engine::{Command, EndReason, EngineConfig, Policy};

/// Whether a `held` event for `call` said (we hold, they hold us).
fn held_as(seen: &[EventKind], call: switchboard_engine::CallId, state: (bool, bool)) -> bool {
    seen.iter().any(|e| {
        matches!(e, EventKind::Held { call: c, local, remote } if *c == call && (*local, *remote) == state)
    })
}

#[test]
fn a_second_call_beeps_in_the_first_answering_it_holds_the_first_and_a_third_is_busy() {
    let operator = Policy {
        call_waiting_tone: true,
        hold_others_on_answer: true,
        max_calls: 2,
        busy_status: 600,
        ..Policy::headless()
    };
    let mut bob = Live::start(
        "bob",
        EngineConfig {
            level_meter_ms: Some(100),
            ..config("bob", operator)
        },
    );
    let mut alice = Live::start(
        "alice",
        EngineConfig {
            level_meter_ms: Some(100),
            ..config("alice", Policy::headless())
        },
    );
    let mut carol = Live::start("carol", config("carol", Policy::headless()));
    let mut dave = Live::start("dave", config("dave", Policy::headless()));

    let (alice_call, bob_alice) = connect(&mut alice, &mut bob);
    // Alice says nothing: Bob's ear is quiet.
    bob.wait_speaker(bob_alice, "Bob hears Alice's silence", 3, |db| db < -60.0);

    // Carol calls: it rings, and Bob hears the call-waiting tone in Alice's call.
    let carol_call = carol.call(&bob.uri());
    let bob_carol = bob.wait_incoming();
    bob.wait_speaker(bob_alice, "the call-waiting tone in Bob's ear", 1, |db| {
        db > -35.0
    });

    // Two calls is Bob's limit: Dave is turned away with the configured status.
    let dave_call = dave.call(&bob.uri());
    match dave.wait_ended(dave_call) {
        EventKind::Ended { reason, status, .. } => {
            assert_eq!((reason, status), (EndReason::Rejected, Some(600)));
        }
        _ => unreachable!(),
    }
    assert_eq!(
        bob.count(|e| matches!(e, EventKind::Incoming { .. })),
        2,
        "Alice's and Carol's calls were offered to Bob, the busy one never"
    );

    // Bob answers Carol: Alice is held first, and hears the hold tune.
    bob.send(Command::Answer { call: bob_carol });
    carol.wait_media(carol_call);
    bob.wait_media(bob_carol);
    bob.until("Bob holds Alice", |seen| {
        held_as(seen, bob_alice, (true, false))
    });
    alice.until("Alice learns she is held", |seen| {
        held_as(seen, alice_call, (false, true))
            && seen.iter().any(|e| {
                matches!(e, EventKind::MediaUpdated { call, direction, .. }
                    if *call == alice_call && direction == "recvonly")
            })
    });
    alice.wait_speaker(alice_call, "Alice hears the hold tune", 2, |db| db > -35.0);
    assert!(
        !carol.saw(|e| matches!(e, EventKind::Held { .. })),
        "Carol is the call in hand"
    );
    assert!(bob.failures().is_empty(), "{:?}", bob.failures());
}

// ---------------------------------------------------------------- core only

use common::{TestPhone, clean, headless, until};

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

/// Alice talks to Bob (with `bob`'s policy); Carol's call to Bob then rings.
/// Bob's handle of Alice's call, and Carol's and Bob's of Carol's.
fn carol_rings_while_bob_talks_to_alice(
    bob: Policy,
    before: impl FnOnce(&mut switchboard_testkit::Sim<TestPhone>, switchboard_engine::CallId),
) -> (
    switchboard_testkit::Sim<TestPhone>,
    switchboard_engine::CallId,
    switchboard_engine::CallId,
    switchboard_engine::CallId,
) {
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, headless()),
        TestPhone::new("bob", 2, bob),
        TestPhone::new("carol", 3, headless()),
    ]);
    let (_, bob_alice) = common::connect(&mut sim, ALICE, BOB);
    before(&mut sim, bob_alice);
    let now = sim.now();
    let target = sim.nodes[BOB].uri();
    sim.nodes[CAROL].command(
        now,
        Command::Call {
            target,
            headers: Vec::new(),
        },
    );
    until(&mut sim, "Carol's call rings at Bob", |n| {
        n[BOB].incoming().is_some_and(|c| c != bob_alice)
    });
    let carol_call = sim.nodes[CAROL].calling().expect("placed");
    let bob_carol = sim.nodes[BOB].incoming().expect("rang");
    (sim, bob_alice, carol_call, bob_carol)
}

fn waiting_tone() -> Policy {
    Policy {
        call_waiting_tone: true,
        hold_others_on_answer: true,
        ..headless()
    }
}

#[test]
fn without_the_call_waiting_policy_the_second_call_rings_silently() {
    let (mut sim, bob_alice, _, bob_carol) =
        carol_rings_while_bob_talks_to_alice(headless(), |_, _| {});
    sim.run_for(std::time::Duration::from_secs(1));
    let bob = &sim.nodes[BOB];
    assert!(!bob.pumps[&bob_alice].alert, "no tone in Alice's call");
    assert!(
        !bob.ringer,
        "the engine rings only when told (Command::Ring)"
    );
    // Answering it holds nobody either (the headless policy).
    let now = sim.now();
    sim.nodes[BOB].command(now, Command::Answer { call: bob_carol });
    until(&mut sim, "Carol is up", |n| n[BOB].up(bob_carol));
    sim.run_for(std::time::Duration::from_secs(2));
    assert!(!sim.nodes[BOB].pumps[&bob_alice].hold_tone);
    assert_eq!(sim.nodes[BOB].held(bob_alice), (false, false));
}

#[test]
fn the_tone_stops_when_the_waiting_caller_gives_up_and_nobody_is_held() {
    let (mut sim, bob_alice, carol_call, bob_carol) =
        carol_rings_while_bob_talks_to_alice(waiting_tone(), |_, _| {});
    assert!(sim.nodes[BOB].pumps[&bob_alice].alert, "the tone plays");
    let now = sim.now();
    sim.nodes[CAROL].command(now, Command::Hangup { call: carol_call });
    until(&mut sim, "Carol's call is gone at Bob", |n| {
        n[BOB].ended(bob_carol)
    });
    assert_eq!(
        sim.nodes[BOB].end_reason(bob_carol),
        Some(EndReason::RemoteCancelled)
    );
    let bob = &sim.nodes[BOB];
    assert!(!bob.pumps[&bob_alice].alert, "the tone stops");
    assert!(!bob.pumps[&bob_alice].hold_tone, "Alice was never held");
    assert_eq!(bob.held(bob_alice), (false, false));
}

#[test]
fn a_held_call_gets_no_tone_and_the_ringer_rings_instead() {
    let (mut sim, bob_alice, carol_call, bob_carol) =
        carol_rings_while_bob_talks_to_alice(waiting_tone(), |sim, bob_alice| {
            let now = sim.now();
            sim.nodes[BOB].command(now, Command::Hold { call: bob_alice });
            until(sim, "Alice is held", |n| {
                n[BOB].held(bob_alice) == (true, false)
            });
        });
    let bob = &sim.nodes[BOB];
    assert!(
        !bob.pumps[&bob_alice].alert,
        "nobody listens in a held call"
    );
    assert!(bob.ringer, "no call in hand: the ringer rings");
    let now = sim.now();
    sim.nodes[CAROL].command(now, Command::Hangup { call: carol_call });
    until(&mut sim, "Carol's call is gone at Bob", |n| {
        n[BOB].ended(bob_carol)
    });
    assert!(!sim.nodes[BOB].ringer, "the ringer stops with the call");
}
