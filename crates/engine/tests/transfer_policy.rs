//! What the transferee does with a REFER under each [`TransferPolicy`],
//! with real engines on loopback: Alice talks to Bob, who asks her (REFER)
//! to call Carol. Bob's `transfer_progress` reports show what Alice
//! answered: the REFER's own final status first (202, or the refusal),
//! then her NOTIFYs (100, 180, 200 …, or 603).

mod live;

use live::{Live, config, connect};
use switchboard_engine::events::EventKind;
use switchboard_engine::{CallId, Command, EndReason, Policy, TransferPolicy};

/// Bob's transfer reports for `call`: (status, done).
fn progress(bob: &mut Live, call: CallId) -> Vec<(u16, bool)> {
    bob.count(|_| false);
    bob.seen
        .iter()
        .filter_map(|e| match e {
            EventKind::TransferProgress {
                call: c,
                status,
                done,
            } if *c == call => Some((*status, *done)),
            _ => None,
        })
        .collect()
}

/// Waits until Bob's transfer of `call` has had its last report; that
/// report's status.
fn transfer_done(bob: &mut Live, call: CallId, from: usize) -> u16 {
    match bob.wait_from(
        from,
        "the transfer's last report",
        |e| matches!(e, EventKind::TransferProgress { call: c, done: true, .. } if *c == call),
    ) {
        EventKind::TransferProgress { status, .. } => status,
        _ => unreachable!(),
    }
}

/// Calls `p` placed to `target`.
fn calls_to(p: &mut Live, target: &str) -> usize {
    p.count(|e| matches!(e, EventKind::Calling { target: t, .. } if t == target))
}

/// Commands reach the engine in order: once this one has failed, every
/// command before it has been carried out.
fn sync(p: &mut Live) {
    let before = p.count(|e| matches!(e, EventKind::CommandFailed { .. }));
    p.send(Command::Line("sync-marker".into()));
    p.until("the engine has read its commands", |seen| {
        seen.iter()
            .filter(|e| matches!(e, EventKind::CommandFailed { .. }))
            .count()
            > before
    });
}

#[test]
fn refused_a_refer_gets_603_and_nothing_is_dialled_accepted_it_is_dialled_at_once() {
    let mut alice = Live::start("alice", config("alice", Policy::headless()));
    let mut bob = Live::start("bob", config("bob", Policy::desktop()));
    let mut carol = Live::start("carol", config("carol", Policy::headless()));
    let (alice_call, bob_call) = connect(&mut alice, &mut bob);

    // Reject (set while running): the REFER itself is refused.
    alice.send(Command::SetTransferPolicy(TransferPolicy::Reject));
    sync(&mut alice);
    let from = bob.seen.len();
    bob.send(Command::Transfer {
        call: bob_call,
        target: carol.uri(),
    });
    assert_eq!(transfer_done(&mut bob, bob_call, from), 603);
    assert_eq!(
        progress(&mut bob, bob_call),
        [(603, true)],
        "refused outright, never accepted (no 202, no NOTIFY)"
    );
    assert_eq!(calls_to(&mut alice, &carol.uri()), 0, "nothing was dialled");
    assert!(!alice.saw(|e| matches!(
        e,
        EventKind::Transferred { .. } | EventKind::TransferRequested { .. }
    )));
    assert!(
        !alice.saw(|e| matches!(e, EventKind::Ended { .. }))
            && !bob.saw(|e| matches!(e, EventKind::Ended { .. })),
        "the call goes on"
    );

    // Accept: 202 at once, Carol is dialled without asking anyone, and
    // Bob's leg ends when she answers.
    alice.send(Command::SetTransferPolicy(TransferPolicy::Accept));
    sync(&mut alice);
    let from = bob.seen.len();
    bob.send(Command::Transfer {
        call: bob_call,
        target: carol.uri(),
    });
    let carol_call = carol.wait_incoming();
    let new_call = match alice.wait("Alice is transferred", |e| {
        matches!(e, EventKind::Transferred { .. })
    }) {
        EventKind::Transferred {
            call,
            new_call,
            target,
        } => {
            assert_eq!(call, alice_call);
            assert_eq!(target, carol.uri());
            new_call
        }
        _ => unreachable!(),
    };
    carol.send(Command::Answer { call: carol_call });
    assert_eq!(transfer_done(&mut bob, bob_call, from), 200);
    let reports = progress(&mut bob, bob_call);
    assert_eq!(
        reports.get(1),
        Some(&(202, false)),
        "accepted at once: {reports:?}"
    );
    alice.wait_media(new_call);
    carol.wait_media(carol_call);
    match bob.wait_ended(bob_call) {
        EventKind::Ended { reason, .. } => assert_eq!(reason, EndReason::LocalHangup),
        _ => unreachable!(),
    }
    alice.wait_ended(alice_call);
    assert!(!alice.saw(|e| matches!(e, EventKind::TransferRequested { .. })));
    assert_eq!(calls_to(&mut alice, &carol.uri()), 1, "one call: Carol");
    assert_eq!(
        carol.count(|e| matches!(e, EventKind::Incoming { .. })),
        1,
        "Carol rang once"
    );
}

#[test]
fn with_the_ask_policy_the_refer_is_accepted_but_nothing_is_dialled_until_the_user_agrees() {
    let mut alice = Live::start(
        "alice",
        config(
            "alice",
            Policy {
                transfer: TransferPolicy::Ask,
                ..Policy::headless()
            },
        ),
    );
    let mut bob = Live::start("bob", config("bob", Policy::desktop()));
    let mut carol = Live::start("carol", config("carol", Policy::headless()));
    let (alice_call, bob_call) = connect(&mut alice, &mut bob);

    bob.send(Command::Transfer {
        call: bob_call,
        target: carol.uri(),
    });
    match alice.wait("Alice is asked", |e| {
        matches!(e, EventKind::TransferRequested { .. })
    }) {
        EventKind::TransferRequested { call, target } => {
            assert_eq!(call, alice_call);
            assert_eq!(target, carol.uri());
        }
        _ => unreachable!(),
    }
    // The REFER must not wait for a person: 202 (and NOTIFY 100) already.
    bob.until("Bob hears the REFER was accepted", |seen| {
        seen.iter().any(|e| {
            matches!(e, EventKind::TransferProgress { call, status: 202, done: false } if *call == bob_call)
        })
    });
    // A round trip through Alice's engine: whatever the REFER made it do is done.
    sync(&mut alice);
    assert_eq!(
        calls_to(&mut alice, &carol.uri()),
        0,
        "nothing dialled before she agrees"
    );
    assert!(
        !progress(&mut bob, bob_call).iter().any(|(_, done)| *done),
        "the transfer waits for Alice"
    );

    alice.send(Command::AcceptTransfer { call: alice_call });
    let carol_call = carol.wait_incoming();
    carol.send(Command::Answer { call: carol_call });
    assert_eq!(transfer_done(&mut bob, bob_call, 0), 200);
    bob.wait_ended(bob_call);
    alice.wait_ended(alice_call);
    carol.wait_media(carol_call);
    assert_eq!(calls_to(&mut alice, &carol.uri()), 1);
}
