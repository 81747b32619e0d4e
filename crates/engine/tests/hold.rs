//! Hold, resume, call waiting and glare, phone to phone in virtual time on
//! clean and bad links. Each test reads as what the operator does and what
//! each side then hears.

mod common;

use std::time::Duration;

use common::*;
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;
use switchboard_media::sdp::Direction;

fn hold_and_resume(sim: &mut switchboard_testkit::Sim<TestPhone>) {
    let (alice_call, bob_call) = connect(sim, 0, 1);
    let now = sim.now();
    sim.nodes[1].command(now, Command::Hold { call: bob_call });
    // At once here: Alice hears the hold tune, Bob no longer hears her.
    sim.flush();
    assert!(sim.nodes[1].pumps[&bob_call].hold_tone);
    assert_eq!(sim.nodes[1].held(bob_call), (true, false));
    until(sim, "Alice learns she is held", |n| {
        n[0].held(alice_call) == (false, true)
            && n[1].pumps.get(&bob_call).map(|p| p.direction) == Some(Direction::SendOnly)
    });
    assert_eq!(
        sim.nodes[0].pumps[&alice_call].direction,
        Direction::RecvOnly
    );

    let now = sim.now();
    sim.nodes[1].command(now, Command::Resume { call: bob_call });
    // The tune plays until Alice's phone agrees.
    sim.flush();
    assert!(sim.nodes[1].pumps[&bob_call].hold_tone);
    until(sim, "both talk again", |n| {
        n[1].pumps.get(&bob_call).is_some_and(|p| !p.hold_tone)
            && n[1].held(bob_call) == (false, false)
            && n[0].held(alice_call) == (false, false)
    });
    assert_eq!(
        sim.nodes[0].pumps[&alice_call].direction,
        Direction::SendRecv
    );
    assert_eq!(sim.nodes[1].pumps[&bob_call].direction, Direction::SendRecv);
    assert!(
        sim.nodes[1].failures().is_empty(),
        "{:?}",
        sim.nodes[1].failures()
    );
}

#[test]
fn hold_plays_the_tune_at_once_and_resume_waits_for_the_peer() {
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, headless()),
        TestPhone::new("bob", 2, headless()),
    ]);
    hold_and_resume(&mut sim);
}

#[test]
fn hold_and_resume_survive_loss_and_reordering() {
    let mut lost = 0;
    for seed in 1..=8 {
        let mut sim = network(
            seed,
            lossy(),
            vec![
                TestPhone::new("alice", 1, headless()),
                TestPhone::new("bob", 2, headless()),
            ],
        );
        hold_and_resume(&mut sim);
        lost += sim.net.stats().lost;
    }
    assert!(lost >= 5, "the link lost only {lost} datagrams");
}

#[test]
fn hold_then_resume_before_the_answer_ends_live_and_hold_again_ends_held() {
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, headless()),
        TestPhone::new("bob", 2, headless()),
    ]);
    let (alice_call, bob_call) = connect(&mut sim, 0, 1);
    let now = sim.now();
    // Hold and at once resume: the second wish waits for the first answer.
    sim.nodes[1].command(now, Command::Hold { call: bob_call });
    sim.nodes[1].command(now, Command::Resume { call: bob_call });
    until(&mut sim, "the call is live again", |n| {
        !n[1].pumps[&bob_call].hold_tone && n[0].held(alice_call) == (false, false)
    });
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.nodes[1].pumps[&bob_call].direction, Direction::SendRecv);
    // Resume, hold, resume, hold: the last wish wins.
    let now = sim.now();
    sim.nodes[1].command(now, Command::Hold { call: bob_call });
    sim.run_for(Duration::from_secs(1));
    let now = sim.now();
    sim.nodes[1].command(now, Command::Resume { call: bob_call });
    sim.nodes[1].command(now, Command::Hold { call: bob_call });
    sim.run_for(Duration::from_secs(5));
    assert!(
        sim.nodes[1].pumps[&bob_call].hold_tone,
        "the caller is held"
    );
    assert_eq!(sim.nodes[0].held(alice_call), (false, true));
    assert_eq!(sim.nodes[1].pumps[&bob_call].direction, Direction::SendOnly);
}

#[test]
fn both_holding_at_once_resolve_the_glare_and_each_holds_the_other() {
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, headless()),
        TestPhone::new("bob", 2, headless()),
    ]);
    let (alice_call, bob_call) = connect(&mut sim, 0, 1);
    let now = sim.now();
    // Both re-INVITE at the same instant: each answers the other 491 and
    // tries again after its random wait (RFC 3261 §14.1).
    sim.nodes[0].command(now, Command::Hold { call: alice_call });
    sim.nodes[1].command(now, Command::Hold { call: bob_call });
    until(&mut sim, "both hold each other", |n| {
        n[0].held(alice_call) == (true, true) && n[1].held(bob_call) == (true, true)
    });
    assert_eq!(
        sim.nodes[0].pumps[&alice_call].direction,
        Direction::Inactive
    );
    assert_eq!(sim.nodes[1].pumps[&bob_call].direction, Direction::Inactive);
    let glare = |p: &TestPhone| p.failures().iter().any(|(_, e)| e.contains("491"));
    assert!(
        !glare(&sim.nodes[0]) && !glare(&sim.nodes[1]),
        "a 491 is retried, not reported"
    );
}

#[test]
fn the_desk_holds_the_first_caller_when_it_answers_the_second() {
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, headless()),
        TestPhone::new("bob", 2, desktop()),
        TestPhone::new("carol", 3, headless()),
    ]);
    let (alice_call, bob_alice) = connect(&mut sim, 0, 1);
    let (carol_call, bob_carol) = connect(&mut sim, 2, 1);
    until(&mut sim, "Alice is held", |n| {
        n[0].held(alice_call) == (false, true)
    });
    assert!(sim.nodes[1].pumps[&bob_alice].hold_tone);
    assert!(!sim.nodes[1].pumps[&bob_carol].hold_tone);
    assert_eq!(sim.nodes[2].held(carol_call), (false, false));
    // Back to Alice: Carol waits instead.
    let now = sim.now();
    sim.nodes[1].command(now, Command::Resume { call: bob_alice });
    until(&mut sim, "Carol is held and Alice is back", |n| {
        n[2].held(carol_call) == (false, true) && n[0].held(alice_call) == (false, false)
    });
}

#[test]
fn a_headless_agent_talks_on_every_call_and_holds_none() {
    let callers = ["c1", "c2", "c3", "c4", "c5"];
    let mut phones = vec![TestPhone::new("ivr", 1, headless())];
    phones[0].auto_answer = true;
    for (i, name) in callers.iter().enumerate() {
        phones.push(TestPhone::new(name, 10 + i as u8, headless()));
    }
    let mut sim = clean(phones);
    for i in 1..=callers.len() {
        connect(&mut sim, i, 0);
    }
    sim.run_for(Duration::from_secs(5));
    let ivr = &sim.nodes[0];
    assert_eq!(ivr.pumps.len(), callers.len());
    assert!(
        ivr.pumps
            .values()
            .all(|p| !p.hold_tone && p.direction == Direction::SendRecv)
    );
    assert_eq!(ivr.count(|e| matches!(e, EventKind::Held { .. })), 0);
    for n in &sim.nodes[1..] {
        assert_eq!(
            n.count(|e| matches!(e, EventKind::Held { .. })),
            0,
            "{}",
            n.name
        );
    }
}

#[test]
fn a_call_offered_beside_a_call_in_hand_beeps_in_it_until_answered() {
    let mut policy = headless();
    policy.call_waiting_tone = true;
    policy.hold_others_on_answer = true;
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, headless()),
        TestPhone::new("bob", 2, policy),
        TestPhone::new("carol", 3, headless()),
    ]);
    let (_, bob_alice) = connect(&mut sim, 0, 1);
    let now = sim.now();
    let target = sim.nodes[1].uri();
    sim.nodes[2].command(
        now,
        Command::Call {
            target,
            headers: Vec::new(),
        },
    );
    until(&mut sim, "Carol's call rings at Bob", |n| {
        n[1].incoming() != Some(bob_alice)
    });
    assert!(
        sim.nodes[1].pumps[&bob_alice].alert,
        "the call-waiting tone plays"
    );
    assert!(
        !sim.nodes[1].ringer,
        "the ringer stays quiet beside a talking operator"
    );
    let carol = sim.nodes[1].incoming().expect("rang");
    // Answered through the CLI's words: the newest ringing call.
    let now = sim.now();
    sim.nodes[1].command(now, Command::Line("answer".into()));
    until(&mut sim, "Carol is up", |n| n[1].up(carol));
    assert!(!sim.nodes[1].pumps[&bob_alice].alert, "the tone stops");
    assert!(sim.nodes[1].pumps[&bob_alice].hold_tone, "and Alice waits");
}
