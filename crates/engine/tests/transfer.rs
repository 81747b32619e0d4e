//! Transfer, consultation, conference and the ask policy, three phones in
//! virtual time: Alice calls Bob (the operator), who puts her through to
//! Carol. The same scenarios run against real processes in
//! `tests/tests/transfer.rs` (with audio); here every path and a bad link
//! are cheap.

mod common;

use common::*;
use switchboard_engine::events::EventKind;
use switchboard_engine::{CallId, Command, EndReason, TransferPolicy};
use switchboard_media::sdp::Direction;
use switchboard_testkit::{Impairment, Sim};

const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

fn three(impairment: Option<(u64, Impairment)>, alice: TransferPolicy) -> Sim<TestPhone> {
    let mut policy = headless();
    policy.transfer = alice;
    let mut carol = TestPhone::new("carol", 3, headless());
    carol.auto_answer = true;
    let phones = vec![
        TestPhone::new("alice", 1, policy),
        TestPhone::new("bob", 2, desktop()),
        carol,
    ];
    match impairment {
        Some((seed, i)) => network(seed, i, phones),
        None => clean(phones),
    }
}

/// Alice's newest call other than `old`, once it is up.
fn new_call(p: &TestPhone, old: CallId) -> Option<CallId> {
    p.events.iter().rev().find_map(|e| match e {
        EventKind::Established { call, .. } if *call != old && p.up(*call) => Some(*call),
        _ => None,
    })
}

/// Bob asks the peer of `call` to call Carol (blind transfer).
fn bob_transfers_to_carol(sim: &mut Sim<TestPhone>, call: CallId) {
    let now = sim.now();
    let target = sim.nodes[CAROL].uri();
    sim.nodes[BOB].command(now, Command::Transfer { call, target });
}

fn blind(sim: &mut Sim<TestPhone>) {
    let (alice_old, bob_call) = connect(sim, ALICE, BOB);
    bob_transfers_to_carol(sim, bob_call);
    until(sim, "Alice talks to Carol and Bob's leg ends", |n| {
        new_call(&n[ALICE], alice_old).is_some()
            && n[CAROL].pumps.len() == 1
            && n[BOB].ended(bob_call)
            && n[ALICE].ended(alice_old)
    });
    let bob = &sim.nodes[BOB];
    assert!(bob.saw(|e| matches!(
        e,
        EventKind::TransferProgress {
            status: 200,
            done: true,
            ..
        }
    )));
    assert_eq!(bob.end_reason(bob_call), Some(EndReason::LocalHangup));
    let alice = &sim.nodes[ALICE];
    let new = new_call(alice, alice_old).expect("checked");
    assert!(alice.saw(|e| matches!(e, EventKind::Transferred { call, new_call, .. } if *call == alice_old && *new_call == new)));
    assert_eq!(alice.pumps[&new].direction, Direction::SendRecv);
    assert_eq!(sim.nodes[CAROL].pumps.len(), 1);
    assert_eq!(bob.ports_in_use(), 0, "Bob's ports all went back");
    assert_eq!(
        alice.ports_in_use(),
        1,
        "Alice has her new call's ports only"
    );
}

#[test]
fn blind_transfer_connects_alice_to_carol_and_ends_bobs_call() {
    let mut sim = three(None, TransferPolicy::Accept);
    blind(&mut sim);
}

/// Runs `scenario` on a lossy, reordering link once per seed.
fn on_lossy_links(seeds: std::ops::RangeInclusive<u64>, scenario: fn(&mut Sim<TestPhone>)) {
    for seed in seeds {
        let mut sim = three(Some((seed, lossy())), TransferPolicy::Accept);
        scenario(&mut sim);
    }
}

#[test]
fn blind_transfer_on_a_lossy_reordering_link() {
    on_lossy_links(11..=15, blind);
}

#[test]
fn a_blind_transfer_to_a_busy_target_gives_the_caller_back() {
    let mut sim = three(None, TransferPolicy::Accept);
    // Carol's phone takes no call at all: 486 Busy Here.
    let mut busy = headless();
    busy.max_calls = 0;
    sim.nodes[CAROL] = TestPhone::new("carol", 3, busy);
    sim.run_for(std::time::Duration::from_millis(1));
    let (alice_call, bob_call) = connect(&mut sim, ALICE, BOB);
    let now = sim.now();
    sim.nodes[BOB].command(now, Command::Hold { call: bob_call });
    until(&mut sim, "Alice is held", |n| {
        n[ALICE].held(alice_call) == (false, true)
    });
    bob_transfers_to_carol(&mut sim, bob_call);
    until(
        &mut sim,
        "the failed transfer gives Alice back to Bob",
        |n| {
            n[BOB].saw(|e| {
                matches!(
                    e,
                    EventKind::TransferProgress {
                        status: 486,
                        done: true,
                        ..
                    }
                )
            }) && n[ALICE].held(alice_call) == (false, false)
                && !n[BOB].pumps[&bob_call].hold_tone
        },
    );
    assert!(sim.nodes[BOB].up(bob_call) && sim.nodes[ALICE].up(alice_call));
}

fn attended(sim: &mut Sim<TestPhone>) {
    let (alice_call, bob_alice) = connect(sim, ALICE, BOB);
    let now = sim.now();
    let target = sim.nodes[CAROL].uri();
    sim.nodes[BOB].command(
        now,
        Command::Consult {
            call: bob_alice,
            target,
        },
    );
    // Alice is held (and told) before Carol's phone rings.
    until(sim, "the consultation is placed", |n| {
        n[BOB].saw(|e| matches!(e, EventKind::Consulting { .. }))
    });
    assert_eq!(sim.nodes[ALICE].held(alice_call), (false, true));
    assert!(sim.nodes[BOB].pumps[&bob_alice].hold_tone);
    let consult = sim.nodes[BOB]
        .events
        .iter()
        .find_map(|e| match e {
            EventKind::Consulting { call, consult } if *call == bob_alice => Some(*consult),
            _ => None,
        })
        .expect("consulting");
    until(sim, "Bob talks to Carol", |n| n[BOB].up(consult));
    let carol_bob = sim.nodes[CAROL].incoming().expect("Carol rang");
    let now = sim.now();
    // Through the CLI's words: the newest consultation and its held call.
    sim.nodes[BOB].command(now, Command::Line("complete-transfer".into()));
    until(sim, "Alice talks to Carol; both Bob's legs end", |n| {
        n[BOB].ended(bob_alice)
            && n[BOB].ended(consult)
            && n[ALICE].ended(alice_call)
            && new_call(&n[ALICE], alice_call).is_some()
    });
    let carol = &sim.nodes[CAROL];
    assert!(carol.saw(|e| matches!(e, EventKind::Replaced { old, .. } if *old == carol_bob)));
    assert!(carol.ended(carol_bob));
    assert_eq!(carol.pumps.len(), 1, "Carol has one call: Alice's");
    assert!(sim.nodes[BOB].pumps.is_empty());
}

#[test]
fn attended_transfer_replaces_bobs_consultation_with_alice() {
    let mut sim = three(None, TransferPolicy::Accept);
    attended(&mut sim);
}

#[test]
fn attended_transfer_on_a_lossy_reordering_link() {
    on_lossy_links(21..=24, attended);
}

/// Alice calls Bob, who holds her and consults Carol: Alice's and Bob's
/// handles of their call, once Bob talks to Carol.
fn consulting_carol() -> (Sim<TestPhone>, CallId, CallId) {
    let mut sim = three(None, TransferPolicy::Accept);
    let (alice_call, bob_alice) = connect(&mut sim, ALICE, BOB);
    let now = sim.now();
    let target = sim.nodes[CAROL].uri();
    sim.nodes[BOB].command(
        now,
        Command::Consult {
            call: bob_alice,
            target,
        },
    );
    until(&mut sim, "Bob talks to Carol", |n| {
        n[BOB].pumps.len() == 2 && n[CAROL].pumps.len() == 1
    });
    (sim, alice_call, bob_alice)
}

#[test]
fn cancelling_the_consultation_brings_the_caller_back() {
    let (mut sim, alice_call, bob_alice) = consulting_carol();
    let now = sim.now();
    sim.nodes[BOB].command(now, Command::Line("cancel-consult".into()));
    until(&mut sim, "Alice is back with Bob", |n| {
        n[ALICE].held(alice_call) == (false, false)
            && n[CAROL].pumps.is_empty()
            && !n[BOB].pumps[&bob_alice].hold_tone
    });
    assert_eq!(sim.nodes[BOB].pumps.len(), 1);
}

#[test]
fn a_three_way_conference_resumes_both_and_one_can_be_dropped() {
    let (mut sim, alice_call, bob_alice) = consulting_carol();
    let now = sim.now();
    sim.nodes[BOB].command(now, Command::Line("conference".into()));
    until(&mut sim, "everyone talks", |n| {
        n[ALICE].held(alice_call) == (false, false)
            && n[BOB]
                .pumps
                .values()
                .all(|p| !p.hold_tone && p.bridge.is_some())
    });
    let bridges: Vec<_> = sim.nodes[BOB].pumps.values().map(|p| p.bridge).collect();
    assert_eq!(bridges[0], bridges[1], "one bridge mixes both calls");
    assert!(sim.nodes[BOB].saw(|e| matches!(e, EventKind::Conference { on: true, .. })));
    // Carol leaves: Alice stays with Bob, out of the bridge.
    let carol_call = sim.nodes[CAROL].incoming().expect("rang");
    let now = sim.now();
    sim.nodes[CAROL].command(now, Command::Hangup { call: carol_call });
    until(&mut sim, "the conference ends", |n| {
        n[BOB].saw(|e| matches!(e, EventKind::Conference { on: false, .. }))
    });
    assert_eq!(sim.nodes[BOB].pumps.len(), 1);
    assert_eq!(sim.nodes[BOB].pumps[&bob_alice].bridge, None);
    assert!(sim.nodes[ALICE].up(alice_call));
}

#[test]
fn with_the_ask_policy_the_transferee_decides() {
    let mut sim = three(None, TransferPolicy::Ask);
    let (alice_call, bob_call) = connect(&mut sim, ALICE, BOB);
    bob_transfers_to_carol(&mut sim, bob_call);
    until(&mut sim, "Alice is asked", |n| {
        n[ALICE].saw(|e| matches!(e, EventKind::TransferRequested { .. }))
    });
    assert!(
        sim.nodes[CAROL].incoming().is_none(),
        "nothing dialled before she agrees"
    );
    // She says no: Bob hears 603 and has her back.
    let now = sim.now();
    sim.nodes[ALICE].command(now, Command::RejectTransfer { call: alice_call });
    until(&mut sim, "Bob hears the refusal", |n| {
        n[BOB].saw(|e| {
            matches!(
                e,
                EventKind::TransferProgress {
                    status: 603,
                    done: true,
                    ..
                }
            )
        })
    });
    assert!(sim.nodes[BOB].up(bob_call) && sim.nodes[ALICE].up(alice_call));
    // Asked again, she agrees.
    bob_transfers_to_carol(&mut sim, bob_call);
    until(&mut sim, "Alice is asked again", |n| {
        n[ALICE].count(|e| matches!(e, EventKind::TransferRequested { .. })) == 2
    });
    let now = sim.now();
    sim.nodes[ALICE].command(now, Command::AcceptTransfer { call: alice_call });
    until(&mut sim, "Alice talks to Carol", |n| {
        new_call(&n[ALICE], alice_call).is_some() && n[BOB].ended(bob_call)
    });
    // Nothing to accept any more.
    let now = sim.now();
    sim.nodes[ALICE].command(now, Command::AcceptTransfer { call: alice_call });
    sim.flush();
    assert!(
        sim.nodes[ALICE]
            .failures()
            .iter()
            .any(|(c, _)| c.starts_with("accept-transfer"))
    );
}

#[test]
fn with_the_reject_policy_the_caller_stays() {
    let mut sim = three(None, TransferPolicy::Reject);
    let (alice_call, bob_call) = connect(&mut sim, ALICE, BOB);
    bob_transfers_to_carol(&mut sim, bob_call);
    until(&mut sim, "Bob hears the refusal", |n| {
        n[BOB].saw(|e| {
            matches!(
                e,
                EventKind::TransferProgress {
                    status: 603,
                    done: true,
                    ..
                }
            )
        })
    });
    assert!(sim.nodes[ALICE].up(alice_call));
    assert!(sim.nodes[CAROL].incoming().is_none());
}

#[test]
fn commands_on_calls_that_are_not_there_fail_with_a_reason() {
    let mut sim = three(None, TransferPolicy::Accept);
    let now = sim.now();
    let bob = &mut sim.nodes[BOB];
    bob.command(now, Command::Hold { call: CallId(42) });
    bob.command(now, Command::Line("hangup".into()));
    bob.command(now, Command::Line("transfer".into()));
    bob.command(now, Command::Line("dance".into()));
    bob.command(now, Command::CancelConsult { consult: CallId(7) });
    bob.command(
        now,
        Command::Call {
            target: "not a uri".into(),
            headers: Vec::new(),
        },
    );
    bob.command(
        now,
        Command::Call {
            target: "sip:carol@pbx.invalid".into(),
            headers: Vec::new(),
        },
    );
    sim.flush();
    let failures = sim.nodes[BOB].failures();
    let errors: Vec<&str> = failures.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(
        errors,
        [
            "no such call",
            "no call to act on",
            "usage: transfer TARGET [CALL]",
            "unknown command",
            "no such call",
            "bad target \"not a uri\": not a SIP URI or a number",
            "cannot resolve pbx.invalid: no DNS here for pbx.invalid",
        ],
        "{failures:?}"
    );
    assert_eq!(failures[0].0, "hold 42");
    assert_eq!(failures[3].0, "dance");
    assert_eq!(failures[6].0, "call sip:carol@pbx.invalid");
    assert_eq!(
        sim.nodes[BOB].ports_in_use(),
        0,
        "the port bound for the call went back"
    );
}

/// Bob's REFER is refused with `status`: Alice says why, nobody is
/// dialled, and both keep their call.
fn refused(sim: &mut Sim<TestPhone>, status: u16, why: &str) {
    let (alice_call, bob_call) = connect(sim, ALICE, BOB);
    bob_transfers_to_carol(sim, bob_call);
    until(sim, "Bob hears the refusal", |n| {
        n[BOB].saw(|e| matches!(e, EventKind::TransferProgress { status: s, done: true, .. } if *s == status))
    });
    let carol = sim.nodes[CAROL].uri();
    assert!(sim.nodes[ALICE].saw(|e| matches!(
        e,
        EventKind::TransferRefused { call, target, reason }
            if *call == alice_call && *target == carol && reason.contains(why)
    )));
    assert!(sim.nodes[CAROL].incoming().is_none(), "nothing dialled");
    assert!(sim.nodes[BOB].up(bob_call) && sim.nodes[ALICE].up(alice_call));
}

#[test]
fn a_headless_agent_refuses_transfers_unless_told_to_accept() {
    let mut carol = TestPhone::new("carol", 3, headless());
    carol.auto_answer = true;
    let mut sim = clean(vec![
        TestPhone::new("alice", 1, switchboard_engine::Policy::headless()),
        TestPhone::new("bob", 2, desktop()),
        carol,
    ]);
    refused(&mut sim, 603, "policy is reject");
}

#[test]
fn a_target_off_the_allow_list_is_refused_and_one_on_it_is_called() {
    let mut policy = headless();
    policy.transfer = TransferPolicy::Accept;
    let mut carol = TestPhone::new("carol", 3, headless());
    carol.auto_answer = true;
    let only_pbx = |c: &mut switchboard_engine::phone::PhoneConfig| {
        c.transfer_allow = vec!["sip:*@pbx.example.com".into()];
    };
    let mut sim = clean(vec![
        TestPhone::configured("alice", 1, policy, only_pbx),
        TestPhone::new("bob", 2, desktop()),
        carol,
    ]);
    refused(&mut sim, 403, "allow-list");

    let mut carol = TestPhone::new("carol", 3, headless());
    carol.auto_answer = true;
    let carols_host = |c: &mut switchboard_engine::phone::PhoneConfig| {
        c.transfer_allow = vec!["sip:carol@10.0.0.3*".into()];
    };
    let mut sim = clean(vec![
        TestPhone::configured("alice", 1, policy, carols_host),
        TestPhone::new("bob", 2, desktop()),
        carol,
    ]);
    blind(&mut sim);
}
