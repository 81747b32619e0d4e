//! Practice that trains: a practice caller (as the practice line announces
//! one, naming its scenario) is taken by a trainee through the real UI,
//! with the keyboard, and scored when the wrap-up is saved. Doing it right
//! scores 100; forgetting the script's required question and choosing the
//! wrong disposition costs what docs/user-guide.md says it costs.

mod common;

use std::time::Instant;

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::DeskApp;
use switchboard::practice::Extension;
use switchboard_desk::store::Store;
use switchboard_engine::events::EventKind;
use switchboard_engine::{CallId, Command};

const BILLING: &str = "sip:billing@127.0.0.1:5071";

/// A trainee's desk beside the practice line's colleagues.
fn trainee() -> Harness<'static, DeskApp> {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    h.state_mut().set_practice(vec![Extension {
        label: "Billing (practice)".into(),
        extension: "201".into(),
        uri: BILLING.into(),
        colleague: true,
    }]);
    h.run();
    h
}

/// Mari rings as the practice line sends her, and is answered with F3.
fn mari_rings(h: &mut Harness<'static, DeskApp>, call: u64) {
    let EventKind::Incoming {
        call: c,
        call_id,
        from,
        to,
        mut headers,
    } = incoming_from(call, "Mari Maasikas", "+3725551234", "Switchboard")
    else {
        unreachable!()
    };
    headers.push(("X-Practice-Scenario".into(), "mari-billing".into()));
    feed(
        h,
        &[EventKind::Incoming {
            call: c,
            call_id,
            from,
            to,
            headers,
        }],
    );
    key(h, egui::Key::F3);
    feed(h, &[established(call)]);
    h.run();
    h.state_mut().take_commands();
}

fn key(h: &mut Harness<'static, DeskApp>, k: egui::Key) {
    h.key_press(k);
    h.run();
    h.run();
}

/// The transfer reached the colleague and the caller's leg ended.
fn put_through(h: &mut Harness<'static, DeskApp>, call: u64) {
    feed(
        h,
        &[
            EventKind::TransferProgress {
                call: CallId(call),
                status: 200,
                done: true,
            },
            ended(call),
        ],
    );
}

#[test]
fn a_trainee_who_follows_the_script_scores_100() {
    let mut h = trainee();
    let started = Instant::now();
    mari_rings(&mut h, 1);
    h.get_by_label_contains("Good day, you have reached the company");
    key(&mut h, egui::Key::Enter);
    h.get_by_label_contains("Who should take the call?");
    key(&mut h, egui::Key::Num2); // Billing
    // The script's end puts the caller through, with Enter.
    h.get_by_label("Put through to Billing (practice) (Enter)");
    key(&mut h, egui::Key::Enter);
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Transfer {
            call: CallId(1),
            target: BILLING.into()
        }]
    );
    put_through(&mut h, 1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Practice score for Mari Maasikas: 100 / 100");
    h.get_by_label("7 of 7 checks right");
    assert!(h.query_by_label("wrong").is_none(), "nothing marked wrong");
    assert!(started.elapsed().as_secs() < 60, "within the target time");
    click(&mut h, "Close");
    assert!(h.query_by_label_contains("Practice score").is_none());
}

#[test]
fn a_missed_required_question_and_a_wrong_disposition_lower_the_score() {
    let mut h = trainee();
    mari_rings(&mut h, 2);
    key(&mut h, egui::Key::Enter); // the greeting, read
    // The trainee does not ask whom she wants, and transfers by hand.
    h.get_by_label("Transfer to:").click();
    h.run();
    h.get_by_label("Transfer to:").type_text("201");
    h.run();
    click(&mut h, "Transfer");
    put_through(&mut h, 2);
    // … and files the call as a complaint.
    h.get_by_label("Disposition").click();
    h.run();
    h.get_by_label("Complaint").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    // 7 checks: the script (right), the question "Who should take the
    // call?" (not asked), its answer and the department it sets (both
    // missing), the disposition (wrong), the transfer (right), the handle
    // time (right): 3 of 7.
    h.get_by_label("Practice score for Mari Maasikas: 42 / 100");
    h.get_by_label("3 of 7 checks right");
    h.get_by_label("Asked: Who should take the call?");
    h.get_by_label("expected Put through, you: Complaint");
    assert_eq!(h.query_all_by_label("wrong").count(), 4);
}
