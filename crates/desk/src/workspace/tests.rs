//! The workspace driven as the phone and the operator drive it, with a real
//! (in-memory) store and a clock that moves only when the test says so.

use std::time::{Duration, Instant};

use super::*;
use crate::store::Outcome;

pub(super) fn t0() -> Now {
    Now {
        at: Instant::now(),
        // 2026-12-01 12:00 UTC: well inside a day in any time zone's noon ± 11 h.
        unix_ms: 1_796_126_400_000,
    }
}

fn workspace() -> (Workspace, Now) {
    let now = t0();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.set_dial_plan(DialPlan {
        domain: Some("pbx.example.ee".into()),
        ..DialPlan::default()
    });
    ws.apply(now, Op::SetState(AgentState::Available));
    (ws, now)
}

fn headers(name: &str, number: &str, queue: &str) -> Headers {
    let mut h = Headers::new();
    h.push("From", "<sip:anonymous@pbx>;tag=1");
    h.push(
        "P-Asserted-Identity",
        format!("\"{name}\" <sip:{number}@pbx>"),
    );
    h.push("X-Queue", queue);
    h
}

fn ring(ws: &mut Workspace, now: Now, call: u64, name: &str, number: &str) {
    ws.handle(
        now,
        PhoneEvent::Incoming {
            call: CallRef(call),
            call_id: format!("in-{call}"),
            headers: headers(name, number, "Billing"),
        },
    );
}

fn phone(actions: Vec<Action>) -> Vec<PhoneCommand> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            Action::Phone(c) => Some(c),
            Action::LookupCrm { .. }
            | Action::LookupTickets { .. }
            | Action::OutboxQueued
            | Action::Mail(_)
            | Action::LookupTeam { .. }
            | Action::LookupTeamMail { .. }
            | Action::TeamPresence(_) => None,
        })
        .collect()
}

pub(super) fn ended(
    ws: &mut Workspace,
    now: Now,
    call: u64,
    reason: EndReason,
    status: Option<u16>,
) {
    ws.handle(
        now,
        PhoneEvent::Ended {
            call: CallRef(call),
            reason,
            status,
        },
    );
}

#[test]
fn a_number_typed_is_dialled_and_the_call_has_a_panel_a_wrap_up_and_a_history_row() {
    let (mut ws, now) = workspace();
    assert!(ws.can_dial());
    ws.apply(
        now,
        Op::Dial {
            input: "+372 555 1234".into(),
            name: None,
        },
    );
    assert_eq!(
        phone(ws.take_actions()),
        [PhoneCommand::Dial("sip:+3725551234@pbx.example.ee".into())]
    );
    assert_eq!(ws.agent_state(), &AgentState::Dialing { call: None });
    ws.handle(
        now,
        PhoneEvent::Calling {
            call: CallRef(7),
            call_id: "out-7".into(),
            target: "sip:+3725551234@pbx.example.ee".into(),
        },
    );
    // The call is in hand at once, ringing out, and in the centre.
    let c = ws.in_hand().expect("our call is in hand while it rings");
    assert_eq!(c.direction, Direction::Out);
    assert_eq!(c.card.number, "+3725551234");
    assert_eq!(c.phase, Phase::Dialing { ringing: false });
    assert!(matches!(ws.focus(), Focus::Call(f) if f.call == CallRef(7)));
    assert_eq!(ws.work_list()[0].kind, WorkKind::Dialing);
    ws.handle(now, PhoneEvent::Ringing { call: CallRef(7) });
    assert_eq!(
        ws.in_hand().unwrap().phase,
        Phase::Dialing { ringing: true }
    );

    let answered = now.later(Duration::from_secs(5));
    ws.handle(answered, PhoneEvent::Established { call: CallRef(7) });
    assert_eq!(ws.agent_state(), &AgentState::InCall { call: CallRef(7) });
    assert_eq!(ws.work_list()[0].kind, WorkKind::InHand);
    ws.apply(answered, Op::Mute(true));
    ws.apply(answered, Op::Hangup);
    assert_eq!(
        phone(ws.take_actions()),
        [
            PhoneCommand::Mute(CallRef(7), true),
            PhoneCommand::Hangup(CallRef(7))
        ]
    );
    let end = now.later(Duration::from_secs(65));
    ended(&mut ws, end, 7, EndReason::LocalHangup, None);
    // The wrap-up says whose call it was, and is in the centre.
    let Focus::WrapUp(w) = ws.focus() else {
        panic!("the wrap-up comes up: {:?}", ws.focus());
    };
    assert_eq!(
        (w.number.as_str(), w.direction),
        ("+3725551234", Direction::Out)
    );
    let id = w.id;
    ws.apply(
        end,
        Op::EditDraft(
            id,
            Draft {
                note: "Called back about the invoice\nSecond line".into(),
                disposition: Some("Question answered".into()),
                ticket: None,
                form: None,
            },
        ),
    );
    let saved = now.later(Duration::from_secs(95));
    ws.apply(saved, Op::SaveWrapUp(id));
    assert_eq!(ws.agent_state(), &AgentState::Available);
    assert!(matches!(ws.focus(), Focus::Idle));

    let r = &ws.store().unwrap().history("+3725551234", 1).unwrap()[0];
    assert_eq!(r.direction, Direction::Out);
    assert_eq!(r.outcome, Some(Outcome::Answered));
    assert_eq!(r.talk_ms(), Some(60_000));
    assert_eq!(r.note_first_line(), Some("Called back about the invoice"));
    // Today's figures: one handled, 60 s talk + 30 s after-call work.
    let s = ws.stats();
    assert_eq!((s.handled, s.missed), (1, 0));
    assert_eq!(s.average_handle_ms, 90_000);
    assert_eq!(s.after_call_ms, 30_000);
}

#[test]
fn a_call_that_fails_says_why_and_a_cancelled_one_is_just_cancelled() {
    let (mut ws, now) = workspace();
    let dial = |ws: &mut Workspace, call: u64| {
        ws.apply(
            now,
            Op::Dial {
                input: "5551234".into(),
                name: Some("Mari".into()),
            },
        );
        ws.handle(
            now,
            PhoneEvent::Calling {
                call: CallRef(call),
                call_id: format!("out-{call}"),
                target: "sip:5551234@pbx.example.ee".into(),
            },
        );
        ws.take_actions();
    };
    dial(&mut ws, 1);
    ended(&mut ws, now, 1, EndReason::Rejected, Some(486));
    assert_eq!(ws.agent_state(), &AgentState::Available);
    assert!(ws.wrap_ups().is_empty(), "never connected: no wrap-up");
    assert!(matches!(
        &ws.notices().last().unwrap().kind,
        NoticeKind::CallFailed { status: Some(486), number, .. } if number == "5551234"
    ));
    let r = ws.store().unwrap().call("out-1").unwrap().unwrap();
    assert_eq!(r.outcome, Some(Outcome::Failed));
    assert_eq!(r.outcome_detail.as_deref(), Some("486"));
    assert_eq!(r.name.as_deref(), Some("Mari"));

    let notices = ws.notices().len();
    dial(&mut ws, 2);
    ws.apply(now, Op::Hangup);
    assert_eq!(phone(ws.take_actions()), [PhoneCommand::Hangup(CallRef(2))]);
    ended(&mut ws, now, 2, EndReason::Cancelled, Some(487));
    assert_eq!(ws.notices().len(), notices, "cancelling is no failure");
    let r = ws.store().unwrap().call("out-2").unwrap().unwrap();
    assert_eq!(r.outcome, Some(Outcome::Cancelled));
}

#[test]
fn what_cannot_be_dialled_or_placed_is_a_notice_and_the_agent_is_free_again() {
    let (mut ws, now) = workspace();
    ws.apply(
        now,
        Op::Dial {
            input: "Mari".into(),
            name: None,
        },
    );
    assert!(ws.take_actions().is_empty());
    assert!(matches!(
        ws.notices()[0].kind,
        NoticeKind::DialInvalid { .. }
    ));
    assert_eq!(ws.agent_state(), &AgentState::Available);
    ws.apply(
        now,
        Op::Dial {
            input: "204".into(),
            name: None,
        },
    );
    ws.handle(
        now,
        PhoneEvent::CommandFailed {
            command: "call sip:204@pbx.example.ee".into(),
            error: "cannot resolve pbx.example.ee".into(),
        },
    );
    assert_eq!(ws.agent_state(), &AgentState::Available);
    assert!(matches!(
        ws.notices().last().unwrap().kind,
        NoticeKind::CommandFailed { .. }
    ));
    // Notices stay until dismissed; the same one again counts up.
    for _ in 0..3 {
        ws.handle(
            now,
            PhoneEvent::RegistrationFailed {
                status: Some(408),
                reason: "registrar did not answer".into(),
                retry_in_s: Some(45),
            },
        );
    }
    // The phone tries again by itself: the desk knows when, and keeps its
    // clock running to count down to it.
    assert!(matches!(
        ws.registration(),
        Registration::Failed { retry_at: Some(at), .. } if *at == now.at + Duration::from_secs(45)
    ));
    assert!(ws.needs_clock());
    let last = ws.notices().last().unwrap().clone();
    assert_eq!(last.count, 3);
    assert_eq!(ws.notices().len(), 3);
    ws.apply(now, Op::DismissNotice(last.id));
    assert_eq!(ws.notices().len(), 2);
}

#[test]
fn a_caller_who_gives_up_is_a_missed_call_until_called_back_and_a_declined_one_is_not() {
    let (mut ws, now) = workspace();
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    assert_eq!(
        phone(ws.take_actions()),
        [PhoneCommand::Ring(true)],
        "the ringer rings"
    );
    assert!(matches!(ws.focus(), Focus::Call(c) if c.phase == Phase::Offered));
    ended(&mut ws, now, 1, EndReason::RemoteCancelled, Some(487));
    assert_eq!(phone(ws.take_actions()), [PhoneCommand::Ring(false)]);
    assert_eq!(ws.missed().len(), 1);
    let item = ws.work_list()[0].clone();
    assert_eq!(
        (item.kind, item.who.as_str()),
        (WorkKind::Missed, "Mari Maasikas")
    );
    assert_eq!(ws.stats().missed, 1);

    ring(&mut ws, now, 2, "Ivan Petrov", "+3725559876");
    ws.apply(now, Op::Decline);
    assert!(phone(ws.take_actions()).contains(&PhoneCommand::Reject(CallRef(2), 603)));
    ended(&mut ws, now, 2, EndReason::Declined, Some(603));
    assert_eq!(ws.missed().len(), 1, "declined is not missed");
    assert_eq!(
        ws.store().unwrap().call("in-2").unwrap().unwrap().outcome,
        Some(Outcome::Declined)
    );

    // Calling Mari back settles her missed call — once she answers: a
    // busy callback leaves it there.
    ws.apply(now, Op::Select(item.id));
    assert!(matches!(ws.focus(), Focus::Missed(m) if m.number == "+3725551234"));
    let call_back = |ws: &mut Workspace, call: u64| {
        let input = match ws.focus() {
            Focus::Missed(m) => m.dial_back(),
            other => panic!("the missed call is in the centre: {other:?}"),
        };
        ws.apply(
            now,
            Op::Dial {
                input,
                name: Some("Mari Maasikas".into()),
            },
        );
        ws.handle(
            now,
            PhoneEvent::Calling {
                call: CallRef(call),
                call_id: format!("out-{call}"),
                target: "sip:+3725551234@pbx.example.ee".into(),
            },
        );
    };
    call_back(&mut ws, 3);
    ended(&mut ws, now, 3, EndReason::Rejected, Some(486));
    assert_eq!(ws.missed().len(), 1, "a busy callback settles nothing");
    ws.apply(now, Op::Select(item.id));
    call_back(&mut ws, 4);
    ws.handle(now, PhoneEvent::Established { call: CallRef(4) });
    assert!(ws.missed().is_empty());
    let history = ws.store().unwrap().history("+3725551234", 5).unwrap();
    assert_eq!(history.len(), 3);
    let missed = ws
        .store()
        .unwrap()
        .history_rows(&crate::store::HistoryFilter {
            text: String::new(),
            missed_only: true,
            limit: 10,
        })
        .unwrap();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].call_id, "in-1");
}

#[test]
fn the_work_list_holds_a_held_call_a_waiting_one_and_a_held_callers_wrap_up() {
    let (mut ws, now) = workspace();
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ring(&mut ws, now, 2, "Ivan Petrov", "+3725559876");
    let kinds =
        |ws: &Workspace| -> Vec<WorkKind> { ws.work_list().iter().map(|i| i.kind).collect() };
    assert_eq!(kinds(&ws), [WorkKind::Waiting, WorkKind::InHand]);
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(2) });
    assert_eq!(kinds(&ws), [WorkKind::InHand, WorkKind::Held]);
    assert!(matches!(ws.focus(), Focus::Call(c) if c.call == CallRef(2)));
    // One click brings the held call into the centre; Switch resumes it.
    let held = ws.work_list()[1].id;
    ws.apply(now, Op::Select(held));
    assert!(matches!(ws.focus(), Focus::Call(c) if c.call == CallRef(1)));
    ws.take_actions();
    ws.apply(now, Op::Switch(CallRef(1)));
    assert_eq!(phone(ws.take_actions()), [PhoneCommand::Resume(CallRef(1))]);
    assert_eq!(ws.in_hand().unwrap().call, CallRef(1));
    // Ivan, now held, hangs up: his wrap-up waits in the list, Mari stays in the centre.
    ended(&mut ws, now, 2, EndReason::RemoteHangup, None);
    assert_eq!(kinds(&ws), [WorkKind::InHand, WorkKind::WrapUp]);
    assert!(matches!(ws.focus(), Focus::Call(c) if c.call == CallRef(1)));
    assert_eq!(ws.wrap_ups()[0].name.as_deref(), Some("Ivan Petrov"));
    // Mari's call ends: her form joins the queue; after-call work ends with the last.
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    assert!(matches!(ws.agent_state(), AgentState::WrapUp { .. }));
    let forms: Vec<_> = ws.wrap_ups().iter().map(|w| w.id).collect();
    assert_eq!(forms.len(), 2);
    ws.apply(now, Op::SaveWrapUp(forms[0]));
    assert!(matches!(ws.agent_state(), AgentState::WrapUp { .. }));
    assert!(matches!(ws.focus(), Focus::WrapUp(w) if w.id == forms[1]));
    ws.apply(now, Op::SaveWrapUp(forms[1]));
    assert_eq!(ws.agent_state(), &AgentState::Available);
    assert_eq!(ws.stats().handled, 2);
}

#[test]
fn a_transferred_call_is_recorded_as_transferred_to_whom() {
    let (mut ws, now) = workspace();
    ws.set_rules(Rules {
        quick_connect: vec![("Billing".into(), "sip:200@pbx".into())],
        ..Rules::default()
    });
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ws.take_actions();
    ws.apply(
        now,
        Op::Transfer {
            target: "sip:200@pbx".into(),
            label: None,
        },
    );
    assert_eq!(
        phone(ws.take_actions()),
        [PhoneCommand::Transfer(CallRef(1), "sip:200@pbx".into())]
    );
    ws.handle(
        now,
        PhoneEvent::TransferProgress {
            call: CallRef(1),
            status: 200,
            done: true,
        },
    );
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let r = ws.store().unwrap().call("in-1").unwrap().unwrap();
    assert_eq!(r.outcome, Some(Outcome::Transferred));
    assert_eq!(r.outcome_detail.as_deref(), Some("Billing"));
    assert_eq!(r.transfers.as_deref(), Some("blind to sip:200@pbx: 200"));
    // A number typed for a transfer goes through the dial plan.
    let form = ws.wrap_ups()[0].id;
    ws.apply(now, Op::SaveWrapUp(form));
    ring(&mut ws, now, 2, "Ivan Petrov", "+3725559876");
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(2) });
    ws.take_actions();
    ws.apply(
        now,
        Op::Transfer {
            target: "2 100".into(),
            label: None,
        },
    );
    assert_eq!(
        phone(ws.take_actions()),
        [PhoneCommand::Transfer(
            CallRef(2),
            "sip:2100@pbx.example.ee".into()
        )]
    );
}

#[test]
fn wrap_ups_left_by_a_crash_come_back_saying_whose_call_it_was() {
    let store = Store::in_memory().unwrap();
    store
        .record_call(&CallRecord {
            call_id: "c1".into(),
            number: "+3725551234".into(),
            name: Some("Mari Maasikas".into()),
            started_ms: 1_000,
            ..CallRecord::default()
        })
        .unwrap();
    store
        .save_draft(
            "c1",
            &Draft {
                note: "half a note".into(),
                ..Draft::default()
            },
            2_000,
        )
        .unwrap();
    store.save_draft("gone", &Draft::default(), 3_000).unwrap();
    let ws = Workspace::new(Rules::default(), Some(store), t0());
    assert!(matches!(
        ws.notices()[0].kind,
        NoticeKind::Restored { count: 2 }
    ));
    let w = ws
        .wrap_ups()
        .iter()
        .find(|w| w.call_id == "c1")
        .expect("restored");
    assert_eq!(w.number, "+3725551234");
    assert_eq!(w.name.as_deref(), Some("Mari Maasikas"));
    assert_eq!(w.started_ms, 1_000);
    assert_eq!(w.draft.note, "half a note");
    assert!(w.restored);
    // A draft whose call row is gone still comes back.
    assert!(ws.wrap_ups().iter().any(|w| w.call_id == "gone"));
}

#[test]
fn drafts_are_written_shortly_after_typing_stops() {
    let (mut ws, now) = workspace();
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let id = ws.wrap_ups()[0].id;
    let typed = Draft {
        note: "Parcel resent".into(),
        ..Draft::default()
    };
    // The form is on disk as soon as it opens (a crash brings it back).
    assert_eq!(
        ws.store().unwrap().draft("in-1").unwrap(),
        Some(Draft::default())
    );
    ws.apply(now, Op::EditDraft(id, typed.clone()));
    ws.tick(now.later(Duration::from_millis(100)));
    assert_eq!(
        ws.store().unwrap().draft("in-1").unwrap(),
        Some(Draft::default()),
        "not yet"
    );
    ws.tick(now.later(DRAFT_DELAY));
    assert_eq!(ws.store().unwrap().draft("in-1").unwrap(), Some(typed));
}

#[test]
fn the_form_of_the_call_that_just_ended_comes_up_even_when_others_wait() {
    let (mut ws, now) = workspace();
    // A held caller hangs up first: their form waits.
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ring(&mut ws, now, 2, "Ivan Petrov", "+3725559876");
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(2) });
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    // Ivan's call ends: his form is the one in the centre, not Mari's.
    ended(&mut ws, now, 2, EndReason::RemoteHangup, None);
    let Focus::WrapUp(w) = ws.focus() else {
        panic!("a form is in the centre: {:?}", ws.focus())
    };
    assert_eq!(w.name.as_deref(), Some("Ivan Petrov"));
}

fn consulting(ws: &mut Workspace, now: Now, up: bool) {
    ring(ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ws.apply(
        now,
        Op::Consult {
            target: "200".into(),
            label: Some("Billing".into()),
        },
    );
    ws.handle(
        now,
        PhoneEvent::Calling {
            call: CallRef(2),
            call_id: "consult-2".into(),
            target: "sip:200@pbx.example.ee".into(),
        },
    );
    ws.handle(
        now,
        PhoneEvent::Consulting {
            call: CallRef(1),
            consult: CallRef(2),
        },
    );
    if up {
        ws.handle(now, PhoneEvent::Established { call: CallRef(2) });
    }
    ws.take_actions();
}

#[test]
fn a_caller_who_hangs_up_during_a_consultation_leaves_the_colleague_in_hand() {
    let (mut ws, now) = workspace();
    consulting(&mut ws, now, true);
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    // Still talking to Billing: that call is in hand, with its controls.
    let c = ws.in_hand().expect("the colleague's call is in hand");
    assert_eq!((c.call, c.who()), (CallRef(2), "Billing"));
    assert_eq!(c.phase, Phase::Talking);
    assert_eq!(ws.agent_state(), &AgentState::InCall { call: CallRef(2) });
    // Mari's conversation has its wrap-up waiting.
    assert_eq!(ws.wrap_ups()[0].name.as_deref(), Some("Mari Maasikas"));
    ws.apply(now, Op::Hangup);
    assert_eq!(phone(ws.take_actions()), [PhoneCommand::Hangup(CallRef(2))]);
    ended(&mut ws, now, 2, EndReason::LocalHangup, None);
    assert!(matches!(ws.agent_state(), AgentState::WrapUp { .. }));

    // A consultation still ringing when the caller goes is called off.
    let (mut ws, now) = workspace();
    consulting(&mut ws, now, false);
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    assert_eq!(phone(ws.take_actions()), [PhoneCommand::Hangup(CallRef(2))]);
    assert!(matches!(ws.agent_state(), AgentState::WrapUp { .. }));
}

#[test]
fn a_dial_the_phone_never_places_is_given_up_and_one_cancelled_early_is_hung_up_if_it_comes() {
    let (mut ws, now) = workspace();
    ws.apply(
        now,
        Op::Dial {
            input: "204".into(),
            name: None,
        },
    );
    ws.tick(now.later(DIAL_TIMEOUT));
    assert_eq!(ws.agent_state(), &AgentState::Available);
    assert!(matches!(
        &ws.notices().last().unwrap().kind,
        NoticeKind::CommandFailed { error, .. } if error.contains("did not place")
    ));
    // Cancelled before the phone had it; it arrives anyway: hung up.
    ws.apply(
        now,
        Op::Dial {
            input: "205".into(),
            name: None,
        },
    );
    ws.apply(now, Op::Hangup);
    assert_eq!(ws.agent_state(), &AgentState::Available);
    ws.take_actions();
    ws.handle(
        now,
        PhoneEvent::Calling {
            call: CallRef(9),
            call_id: "late".into(),
            target: "sip:205@pbx.example.ee".into(),
        },
    );
    assert_eq!(phone(ws.take_actions()), [PhoneCommand::Hangup(CallRef(9))]);
    assert!(ws.calls().is_empty());
}

#[test]
fn a_break_refused_during_a_call_saves_no_form_and_a_failed_transfer_command_clears() {
    let (mut ws, now) = workspace();
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ring(&mut ws, now, 2, "Ivan Petrov", "+3725559876");
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(2) });
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let form = ws.wrap_ups()[0].id;
    ws.apply(
        now,
        Op::EditDraft(
            form,
            Draft {
                note: "half".into(),
                ..Draft::default()
            },
        ),
    );
    ws.apply(
        now,
        Op::SetState(AgentState::Break {
            reason: "Lunch".into(),
        }),
    );
    assert_eq!(ws.agent_state(), &AgentState::InCall { call: CallRef(2) });
    assert_eq!(ws.wrap_ups().len(), 1, "the half-typed form is still open");
    ws.apply(
        now,
        Op::Transfer {
            target: "200".into(),
            label: None,
        },
    );
    assert!(ws.in_hand().unwrap().transfer.is_some());
    ws.handle(
        now,
        PhoneEvent::CommandFailed {
            command: "transfer 2 sip:200@pbx.example.ee".into(),
            error: "no such call".into(),
        },
    );
    assert!(ws.in_hand().unwrap().transfer.is_none());
}

#[test]
fn a_call_ringing_out_takes_no_hold_mute_or_transfer() {
    let (mut ws, now) = workspace();
    ws.apply(
        now,
        Op::Dial {
            input: "204".into(),
            name: None,
        },
    );
    ws.handle(
        now,
        PhoneEvent::Calling {
            call: CallRef(1),
            call_id: "out-1".into(),
            target: "sip:204@pbx.example.ee".into(),
        },
    );
    ws.take_actions();
    for op in [
        Op::Hold,
        Op::Mute(true),
        Op::Dtmf('5'),
        Op::Transfer {
            target: "200".into(),
            label: None,
        },
    ] {
        ws.apply(now, op);
    }
    assert!(ws.take_actions().is_empty());
    ws.apply(now, Op::Hangup);
    assert_eq!(phone(ws.take_actions()), [PhoneCommand::Hangup(CallRef(1))]);
}

#[test]
fn a_form_a_crash_brought_back_counts_no_after_call_work_and_does_not_hold_the_agent() {
    let now = t0();
    let store = Store::in_memory().unwrap();
    // Today's call, its form left open by a crash.
    store
        .record_call(&CallRecord {
            call_id: "old".into(),
            number: "+3725550000".into(),
            started_ms: now.unix_ms - 60_000,
            answered_ms: Some(now.unix_ms - 50_000),
            ended_ms: Some(now.unix_ms - 40_000),
            ..CallRecord::default()
        })
        .unwrap();
    store
        .save_draft("old", &Draft::default(), now.unix_ms - 40_000)
        .unwrap();
    let mut ws = Workspace::new(
        Rules {
            policy: Policy {
                auto_available: false,
                ..Policy::default()
            },
            ..Rules::default()
        },
        Some(store),
        now,
    );
    ws.apply(now, Op::SetState(AgentState::Available));
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    let end = now.later(Duration::from_secs(60));
    ended(&mut ws, end, 1, EndReason::RemoteHangup, None);
    let mine = ws
        .wrap_ups()
        .iter()
        .find(|w| !w.restored)
        .map(|w| w.id)
        .unwrap();
    ws.apply(end.later(Duration::from_secs(20)), Op::SaveWrapUp(mine));
    assert_eq!(
        ws.agent_state(),
        &AgentState::Available,
        "the restored form waits on its own"
    );
    assert_eq!(ws.stats().after_call_ms, 20_000);
    let old = ws.wrap_ups()[0].id;
    ws.apply(end.later(Duration::from_secs(3600)), Op::SaveWrapUp(old));
    assert_eq!(
        ws.stats().after_call_ms,
        20_000,
        "an hour later counts nothing"
    );
}

#[test]
fn a_refer_target_is_cleaned_like_a_caller_id() {
    let (mut ws, now) = workspace();
    ring(&mut ws, now, 1, "Mari Maasikas", "+3725551234");
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ws.handle(
        now,
        PhoneEvent::TransferRequested {
            call: CallRef(1),
            target: "sip:+372\n555\u{202E}\u{200B}@pbx".into(),
        },
    );
    assert_eq!(
        ws.in_hand().unwrap().transfer_request.as_deref(),
        Some("sip:+372 555@pbx")
    );
    ws.handle(
        now,
        PhoneEvent::Transferred {
            call: CallRef(1),
            new_call: CallRef(2),
            target: "sip:\u{1b}[2J200\u{2066}@pbx".into(),
        },
    );
    assert_eq!(ws.in_hand().unwrap().card.number, "sip:[2J200@pbx");
    let r = ws.store().unwrap().call("in-1").unwrap().unwrap();
    assert_eq!(
        r.transfers.as_deref(),
        Some("put through to sip:[2J200@pbx")
    );
}
