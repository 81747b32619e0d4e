//! The desk driven as an operator drives it (egui_kittest: widgets found by
//! their labels, clicked, typed into), with engine events fed in, on the
//! 1280×720 screen a contact center's desk PC has.

mod common;

use std::time::{Duration, Instant};

use common::{click, desk, desk_with, ended, established, feed, feed_at};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::store::{Direction, Outcome, Store};
use switchboard_desk::workspace::Op;
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;
use switchboard_engine::{CallId, CommandError, EndReason};

fn incoming(call: u64) -> EventKind {
    common::incoming_in_queue(call, "Billing")
}

fn ivan(call: u64) -> EventKind {
    common::incoming_from(call, "Ivan Petrov", "+3725559876", "Orders")
}

#[test]
fn the_caller_card_shows_before_answering_and_answer_sends_the_command() {
    let mut h = desk(None);
    feed(&mut h, &[incoming(1)]);
    h.get_by_label("Incoming call: Mari Maasikas");
    h.get_by_label("Number: +3725551234");
    h.get_by_label("Queue: Billing");
    h.get_by_label("IVR: account=100200300");
    // The work list shows it ringing.
    h.get_by_label("Ringing · Mari Maasikas");
    click(&mut h, "Answer");
    // The ringer rang while the card showed; answering is sent to the engine.
    assert_eq!(
        h.state_mut().take_commands(),
        [
            Command::Ring { on: true },
            Command::Answer { call: CallId(1) }
        ]
    );
}

#[test]
fn a_whole_call_ends_in_a_saved_wrap_up_and_the_agent_is_available_again() {
    let store = Store::in_memory().unwrap();
    let mut h = desk(Some(store));
    feed(&mut h, &[incoming(2)]);
    click(&mut h, "Answer");
    feed(&mut h, &[established(2)]);
    click(&mut h, "Mute");
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Unmute");
    click(&mut h, "Unmute");
    h.get_by_label("Keypad (tones)").click();
    h.run();
    click(&mut h, "5");
    click(&mut h, "Hang up");
    let sent = h.state_mut().take_commands();
    assert_eq!(
        sent,
        [
            Command::Ring { on: true },
            Command::Answer { call: CallId(2) },
            Command::Ring { on: false },
            Command::Mute {
                call: CallId(2),
                muted: true
            },
            Command::Mute {
                call: CallId(2),
                muted: false
            },
            Command::Dtmf {
                call: CallId(2),
                digits: "5".into()
            },
            Command::Hangup { call: CallId(2) }
        ]
    );
    feed(&mut h, &[ended(2)]);
    assert!(matches!(h.state().agent_state(), AgentState::WrapUp { .. }));
    h.get_by_label("Call with Mari Maasikas (+3725551234)");
    // The note has the focus: the operator just types.
    h.event(egui::Event::Text("Parcel resent to the office".into()));
    h.run();
    h.get_by_label("Disposition").click();
    h.run();
    h.get_by_label("Complaint").click();
    h.run();
    // Ctrl+S saves, with the note still being typed into.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    let store = h.state().store().unwrap();
    let calls = store.history("+3725551234", 5).unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].note.as_deref(),
        Some("Parcel resent to the office")
    );
    assert_eq!(calls[0].disposition.as_deref(), Some("Complaint"));
    assert_eq!(calls[0].outcome, Some(Outcome::Answered));
    assert!(calls[0].answered_ms.is_some() && calls[0].ended_ms.is_some());
    assert!(
        store.pending_drafts().unwrap().is_empty(),
        "the draft is gone once saved"
    );
    // The form is gone, the top bar says so, and today's figures count it.
    assert!(!common::has_button(&h, "Save wrap-up"));
    h.get_by_label("State: Available");
    assert_eq!(common::figure(&h, "Handled"), "1");
}

#[test]
fn on_break_a_call_is_refused_with_486_and_never_shown() {
    let mut h = desk(None);
    h.state_mut().apply(
        Instant::now(),
        Intent::SetState(AgentState::Break {
            reason: "Lunch".into(),
        }),
    );
    h.run();
    h.get_by_label("State: Break (Lunch)");
    refused_as_busy(&mut h, 3);
}

#[test]
fn a_note_being_typed_is_saved_as_a_draft_and_comes_back_after_a_crash_saying_whose_call() {
    let dir = std::env::temp_dir().join(format!("sb-app-draft-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("desk.db");
    let _ = std::fs::remove_file(&path);
    {
        let mut h = desk(Some(Store::open(&path).unwrap()));
        feed(&mut h, &[incoming(4), established(4)]);
        h.state_mut().apply(Instant::now(), Intent::Op(Op::Hangup));
        feed(&mut h, &[ended(4)]);
        h.get_by_label("Note:").click();
        h.run();
        h.get_by_label("Note:")
            .type_text("Caller wants a callback at 15:00");
        h.run();
        // A moment later the draft is on disk …
        h.state_mut()
            .tick(Instant::now() + std::time::Duration::from_secs(1));
        let drafts = h.state().store().unwrap().pending_drafts().unwrap();
        assert_eq!(drafts.len(), 1);
        assert_eq!(drafts[0].1.note, "Caller wants a callback at 15:00");
        // … and the process dies without saving the wrap-up.
    }
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(
            |ui, app: &mut DeskApp| app.ui(ui, Instant::now()),
            DeskApp::new(DeskConfig::default(), Some(Store::open(&path).unwrap())),
        );
    h.run();
    h.get_by_label("Wrap-ups restored after a restart: 1.");
    // The form says whose call it was and when.
    h.get_by_label("Call with Mari Maasikas (+3725551234)");
    h.get_by_label_contains("incoming · ");
    h.get_by_label("Restored after a restart.");
    assert!(
        h.query_all_by_value("Caller wants a callback at 15:00")
            .next()
            .is_some()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_keyboard_answers_mutes_unmutes_and_hangs_up() {
    let mut h = desk(None);
    feed(&mut h, &[incoming(5)]);
    h.key_press(egui::Key::F3);
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [
            Command::Ring { on: true },
            Command::Answer { call: CallId(5) }
        ]
    );
    feed(&mut h, &[established(5)]);
    h.get_by_label_contains("In call with Mari Maasikas");
    h.state_mut().take_commands();
    h.key_press(egui::Key::F7);
    h.run();
    mute_reached_the_engine_and_shows(&mut h, 5, true);
    h.key_press(egui::Key::F7);
    h.run();
    mute_reached_the_engine_and_shows(&mut h, 5, false);
    h.key_press(egui::Key::F4);
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: CallId(5) }]
    );
}

#[test]
fn mute_reads_unmute_until_pressed_again_and_each_press_reaches_the_engine() {
    let mut h = desk(None);
    feed(&mut h, &[incoming(7), established(7)]);
    h.state_mut().take_commands();
    assert!(common::has_button(&h, "Mute") && !common::has_button(&h, "Unmute"));
    click(&mut h, "Mute");
    mute_reached_the_engine_and_shows(&mut h, 7, true);
    // It stays so, frame after frame.
    for _ in 0..3 {
        h.run();
    }
    assert!(common::has_button(&h, "Unmute"));
    click(&mut h, "Unmute");
    mute_reached_the_engine_and_shows(&mut h, 7, false);
}

#[test]
fn call_quality_and_levels_show_in_the_call_panel() {
    let mut h = desk(None);
    feed(
        &mut h,
        &[
            incoming(6),
            established(6),
            EventKind::Quality {
                call: CallId(6),
                stats: Default::default(),
                loss_percent: 1.5,
                mos: 4.1,
            },
            EventKind::Levels {
                call: CallId(6),
                mic_dbfs: -20.0,
                speaker_dbfs: -30.0,
            },
        ],
    );
    h.get_by_label("Quality: MOS 4.1 · loss 1.5 % · jitter 0.0 ms");
    // The meters show the levels as reported (−60 dBFS empty, 0 full):
    // the top bar's microphone, then the call panel's Mic and Headset.
    // −20 dBFS is two thirds full, −30 half.
    let near = |shown: Vec<f64>, want: [f64; 3]| {
        shown.len() == 3 && shown.iter().zip(want).all(|(s, w)| (s - w).abs() <= 1.0)
    };
    h.get_by_label("Mic");
    h.get_by_label("Headset");
    h.get_by_label("Microphone -20 dBFS");
    let shown = common::meters(&h);
    assert!(near(shown.clone(), [66.0, 66.0, 50.0]), "{shown:?}");
    // A quieter report falls 3 dB at a time, so a pause does not blank it:
    // −23 and −33 dBFS.
    feed(
        &mut h,
        &[EventKind::Levels {
            call: CallId(6),
            mic_dbfs: -120.0,
            speaker_dbfs: -120.0,
        }],
    );
    let shown = common::meters(&h);
    assert!(near(shown.clone(), [61.0, 61.0, 45.0]), "{shown:?}");
    h.get_by_label("Microphone -23 dBFS");
}

#[test]
fn the_desk_speaks_estonian_russian_and_slovenian() {
    use switchboard::Lang;
    for (lang, incoming_label, answer, work) in [
        (
            Lang::Et,
            "Sissetulev kõne: Mari Maasikas",
            "Vasta",
            "Töönimekiri",
        ),
        (
            Lang::Ru,
            "Входящий вызов: Mari Maasikas",
            "Ответить",
            "Список дел",
        ),
        (
            Lang::Sl,
            "Dohodni klic: Mari Maasikas",
            "Sprejmi",
            "Seznam opravil",
        ),
    ] {
        let mut h = desk(None);
        h.state_mut().set_lang(lang);
        feed(&mut h, &[incoming(8)]);
        h.get_by_label(incoming_label);
        h.get_by_label(work);
        click(&mut h, answer);
        assert_eq!(
            h.state_mut().take_commands(),
            [
                Command::Ring { on: true },
                Command::Answer { call: CallId(8) }
            ]
        );
    }
}

#[test]
fn a_known_caller_is_recognised_and_earlier_notes_show_before_answering_and_in_history() {
    let mut store = Store::in_memory().unwrap();
    store
        .import_contacts_csv(
            "name,number,company,email\nMari Maasikas,+3725551234,Acme OÜ,mari@example.test\n",
        )
        .unwrap();
    let mut h = desk(Some(store));
    feed(&mut h, &[incoming(9)]);
    h.get_by_label("Contact: Mari Maasikas (Acme OÜ)");
    // Where to write to her, under the contact in the Customer tab.
    h.get_by_label("mari@example.test");
    click(&mut h, "Answer");
    feed(&mut h, &[established(9), ended(9)]);
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:")
        .type_text("wants invoice copy\nsend by mail");
    h.run();
    click(&mut h, "Save wrap-up");
    // She calls again: the earlier note is on the card before answering,
    // and in the Customer tab.
    feed(&mut h, &[incoming(10)]);
    h.get_by_label_contains("· wants invoice copy");
    assert!(
        h.query_all_by_label("wants invoice copy\nsend by mail")
            .next()
            .is_some(),
        "the whole note in the Customer tab"
    );
    click(&mut h, "Decline");
    feed(&mut h, &[ended(10)]);
    // History: when, which way, who, how long, how it ended, the note's
    // first line; search by note text.
    h.get_by_label("History").click();
    h.run();
    h.get_by_label("Search:").click();
    h.run();
    h.get_by_label("Search:").type_text("invoice");
    h.run();
    h.get_by_label("Mari Maasikas · +3725551234");
    h.get_by_label_contains("answered · 0:00 · —");
    h.get_by_label("wants invoice copy");
    assert!(
        h.query_by_label_contains("declined").is_none(),
        "the search leaves out the declined call"
    );
    h.get_by_label("Search:").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run();
    h.get_by_label_contains("declined ·");
}

#[test]
fn the_ringer_stops_when_the_caller_gives_up_and_the_call_is_missed_until_called_back() {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    feed(&mut h, &[incoming(10), ended(10)]);
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Ring { on: true }, Command::Ring { on: false }]
    );
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    assert!(h.query_by_label("Incoming call: Mari Maasikas").is_none());
    assert_eq!(common::figure(&h, "Missed"), "1");
    // The missed call waits in the work list; one click shows it, Call back dials.
    h.get_by_label("Missed · Mari Maasikas").click();
    h.run();
    h.get_by_label("Missed call: Mari Maasikas");
    click(&mut h, "Call back");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: "sip:+3725551234@pbx.example.ee".into(),
            headers: Vec::new()
        }]
    );
    feed(
        &mut h,
        &[EventKind::Calling {
            call: CallId(11),
            call_id: "out-11@test".into(),
            target: "sip:+3725551234@pbx.example.ee".into(),
        }],
    );
    h.get_by_label("Calling Mari Maasikas…");
    assert!(
        h.query_by_label("Missed · Mari Maasikas").is_some(),
        "settled only when she answers"
    );
    feed(
        &mut h,
        &[EventKind::Established {
            call: CallId(11),
            call_id: "out-11@test".into(),
            outgoing: true,
        }],
    );
    assert!(h.query_by_label("Missed · Mari Maasikas").is_none());
    h.get_by_label_contains("In call with Mari Maasikas");
    // Still one missed today: calling back does not undo that she waited.
    assert_eq!(common::figure(&h, "Missed"), "1");
}

#[test]
fn the_configuration_file_sets_rules_buttons_dispositions_dial_plan_and_language() {
    let dir = std::env::temp_dir().join(format!("sb-app-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        r#"
[account]
registrar = "sip:pbx.example.ee"
username = "1001"

[desk]
wrap_up_secs = 5
dispositions = ["Arve", "Tellimus"]
header_rules = [{ header = "X-Queue", label = "Järjekord" }]
quick_connect = [{ label = "Arveldus", uri = "sip:200@pbx" }]
language = "et"

[desk.dial_plan]
outside_prefix = "0"
"#,
    )
    .unwrap();
    let file = switchboard_desk::config::load(&path).unwrap();
    let registrar = file.account.as_ref().and_then(|a| a.registrar.clone());
    let (config, lang) = DeskConfig::from_file(file.desk.as_ref(), registrar.as_deref());
    let clock = common::Clock::new();
    let mut h = common::desk_on(config, Some(Store::in_memory().unwrap()), &clock);
    h.state_mut().set_lang(lang);
    feed_at(&mut h, &clock, &[incoming(11)]);
    h.get_by_label("Järjekord: Billing");
    click(&mut h, "Vasta");
    feed_at(&mut h, &clock, &[established(11)]);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Arveldus");
    click(&mut h, "Lõpeta kõne");
    feed_at(&mut h, &clock, &[ended(11)]);
    // Five seconds of after-call work, not the default thirty.
    h.get_by_label("Olek: Järeltöö (5 s)");
    h.get_by_label("Järeltöö — 5 s jäänud");
    // The file's dispositions, and not the defaults.
    h.get_by_label("Tulemus").click();
    h.run();
    h.get_by_label("Tellimus");
    assert!(
        h.query_by_label("Kaebus").is_none(),
        "no default dispositions"
    );
    h.get_by_label("Arve").click();
    h.run();
    click(&mut h, "Salvesta");
    let saved = h
        .state()
        .store()
        .unwrap()
        .history("+3725551234", 1)
        .unwrap();
    assert_eq!(saved[0].disposition.as_deref(), Some("Arve"));
    // The dial plan: an outside number gets the prefix, at the registrar's domain.
    h.state_mut().take_commands();
    h.state_mut().apply(
        Instant::now(),
        Intent::Dial {
            input: "555 1234".into(),
            name: None,
        },
    );
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: "sip:05551234@pbx.example.ee".into(),
            headers: Vec::new()
        }]
    );
    // A typo in the file is an error naming the line and the key.
    std::fs::write(&path, "[desk]\nwrap_up_sec = 5\n").unwrap();
    let e = switchboard_desk::config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("wrap_up_sec"), "{e}");
}

fn in_call(h: &mut Harness<'static, DeskApp>, call: u64) {
    feed(h, &[incoming(call)]);
    click(h, "Answer");
    feed(h, &[established(call)]);
    h.state_mut().take_commands();
}

fn progress(call: u64, status: u16, done: bool) -> EventKind {
    EventKind::TransferProgress {
        call: CallId(call),
        status,
        done,
    }
}

fn with_billing(store: Option<Store>) -> Harness<'static, DeskApp> {
    desk_with(
        DeskConfig {
            quick_connect: vec![("Billing".into(), "sip:200@pbx".into())],
            ..common::config()
        },
        store,
    )
}

#[test]
fn hold_resume_and_a_one_click_transfer_whose_chain_is_kept_with_the_wrap_up() {
    let mut h = with_billing(Some(Store::in_memory().unwrap()));
    in_call(&mut h, 21);
    click(&mut h, "Hold");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hold { call: CallId(21) }]
    );
    feed(
        &mut h,
        &[EventKind::Held {
            call: CallId(21),
            local: true,
            remote: false,
        }],
    );
    h.get_by_label("On hold — the caller hears the hold tone.");
    click(&mut h, "Resume");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Resume { call: CallId(21) }]
    );
    // One click on a quick-connect: a blind transfer.
    click(&mut h, "Billing");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Transfer {
            call: CallId(21),
            target: "sip:200@pbx".into()
        }]
    );
    feed(
        &mut h,
        &[progress(21, 202, false), progress(21, 180, false)],
    );
    h.get_by_label("Transferring to Billing: 180");
    feed(&mut h, &[progress(21, 200, true), ended(21)]);
    // The wrap-up shows where the call went.
    h.get_by_label("Transfers: blind to sip:200@pbx: 200");
    click(&mut h, "Save wrap-up");
    let record = &h
        .state()
        .store()
        .unwrap()
        .history("+3725551234", 1)
        .unwrap()[0];
    assert_eq!(
        record.transfers.as_deref(),
        Some("blind to sip:200@pbx: 200")
    );
    assert_eq!(record.outcome, Some(Outcome::Transferred));
    assert_eq!(record.outcome_detail.as_deref(), Some("Billing"));
    assert_eq!(h.state().agent_state(), &AgentState::Available);
}

#[test]
fn consult_then_complete_or_go_back_to_the_caller() {
    let mut h = with_billing(None);
    in_call(&mut h, 31);
    h.get_by_label("consult first").click();
    h.run();
    click(&mut h, "Billing");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Consult {
            call: CallId(31),
            target: "sip:200@pbx".into()
        }]
    );
    feed(
        &mut h,
        &[EventKind::Consulting {
            call: CallId(31),
            consult: CallId(32),
        }],
    );
    h.get_by_label("Consulting Billing: ringing");
    h.get_by_label("Consulting · Mari Maasikas");
    feed(
        &mut h,
        &[EventKind::Established {
            call: CallId(32),
            call_id: "consult@test".into(),
            outgoing: true,
        }],
    );
    h.get_by_label("Consulting Billing: talking");
    // Still in the first call: the consultation is not a new customer call.
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 31
    ));
    click(&mut h, "Back to the caller");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::CancelConsult {
            consult: CallId(32)
        }]
    );
    click(&mut h, "Complete transfer");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::CompleteTransfer {
            call: CallId(31),
            consult: CallId(32)
        }]
    );
    // The consultation ending does not end the customer call.
    feed(&mut h, &[ended(32)]);
    assert!(matches!(h.state().agent_state(), AgentState::InCall { .. }));
}

#[test]
fn a_failed_transfer_leaves_the_caller_with_the_operator_and_the_notice_stays_until_read() {
    let mut h = with_billing(None);
    in_call(&mut h, 41);
    h.get_by_label("Transfer to:").click();
    h.run();
    h.get_by_label("Transfer to:").type_text("2100");
    h.run();
    click(&mut h, "Transfer");
    // A number typed goes through the dial plan.
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Transfer {
            call: CallId(41),
            target: "sip:2100@pbx.example.ee".into()
        }]
    );
    feed(&mut h, &[progress(41, 486, true)]);
    let notice = "The transfer failed (486); the caller is back with you.";
    h.get_by_label(notice);
    h.get_by_label("The caller is back with you: try another number or take a message.");
    assert!(matches!(h.state().agent_state(), AgentState::InCall { .. }));
    // It stays, frame after frame, until dismissed.
    for _ in 0..5 {
        h.run();
    }
    h.get_by_label(notice);
    click(&mut h, "Dismiss");
    assert!(h.query_by_label(notice).is_none());
}

#[test]
fn a_caller_put_through_to_us_replaces_the_consultation_on_screen() {
    let mut h = with_billing(None);
    in_call(&mut h, 51);
    feed(
        &mut h,
        &[
            EventKind::Replaced {
                old: CallId(51),
                new: CallId(52),
                call_id: "new@test".into(),
                headers: vec![(
                    "From".into(),
                    "\"Ivan Petrov\" <sip:+3725559876@pbx>;tag=9".into(),
                )],
            },
            ended(51),
        ],
    );
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 52
    ));
    h.get_by_label_contains("In call with Ivan Petrov");
    click(&mut h, "Hang up");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: CallId(52) }]
    );
}

#[test]
fn call_waiting_shows_the_second_caller_and_the_work_list_switches_between_the_two() {
    let mut h = with_billing(None);
    in_call(&mut h, 61);
    feed(&mut h, &[ivan(62)]);
    h.get_by_label("Call waiting: Ivan Petrov");
    h.get_by_label("Answering puts the current call on hold.");
    h.get_by_label("Waiting · Ivan Petrov");
    click(&mut h, "Answer");
    // The tone sounds while it waits; answering goes to the engine, which
    // holds the first call itself.
    assert_eq!(
        h.state_mut().take_commands(),
        [
            Command::Ring { on: true },
            Command::Answer { call: CallId(62) }
        ]
    );
    feed(&mut h, &[established(62)]);
    assert_eq!(h.state_mut().take_commands(), [Command::Ring { on: false }]);
    h.get_by_label_contains("In call with Ivan Petrov");
    // The work list has both; one click brings Mari into the centre,
    // where Resume takes her back (Ivan is held instead).
    h.get_by_label("In call · Ivan Petrov");
    h.get_by_label("On hold · Mari Maasikas").click();
    h.run();
    h.get_by_label("On hold: Mari Maasikas");
    click(&mut h, "Resume");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Resume { call: CallId(61) }]
    );
    h.get_by_label_contains("In call with Mari Maasikas");
    h.get_by_label("On hold · Ivan Petrov");
    // Alt+2 shows Ivan (the second row) without touching the calls.
    h.key_press_modifiers(egui::Modifiers::ALT, egui::Key::Num2);
    h.run();
    h.get_by_label("On hold: Ivan Petrov");
    assert!(h.state_mut().take_commands().is_empty());
    // Ivan gives up while held; Mari's call goes on.
    feed(&mut h, &[ended(62)]);
    assert!(h.query_by_label("On hold · Ivan Petrov").is_none());
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 61
    ));
}

#[test]
fn consult_into_a_conference_then_drop_the_colleague_or_leave_them_talking() {
    let mut h = with_billing(None);
    in_call(&mut h, 71);
    h.get_by_label("Transfer to:").click();
    h.run();
    h.get_by_label("Transfer to:").type_text("sip:200@pbx");
    h.run();
    click(&mut h, "Consult");
    h.state_mut().take_commands();
    feed(
        &mut h,
        &[
            EventKind::Consulting {
                call: CallId(71),
                consult: CallId(72),
            },
            EventKind::Established {
                call: CallId(72),
                call_id: "c72@test".into(),
                outgoing: true,
            },
        ],
    );
    click(&mut h, "Conference");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Conference {
            call: CallId(71),
            other: CallId(72)
        }]
    );
    feed(
        &mut h,
        &[EventKind::Conference {
            call: CallId(71),
            other: CallId(72),
            on: true,
        }],
    );
    h.get_by_label("Three-way conference with Billing");
    click(&mut h, "Drop Billing");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: CallId(72) }]
    );
    click(&mut h, "Leave them talking");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::CompleteTransfer {
            call: CallId(71),
            consult: CallId(72)
        }]
    );
}

#[test]
fn digits_typed_anywhere_go_to_the_dial_field_and_enter_dials_through_the_dial_plan() {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    h.run();
    // No field has the focus: the operator just types the number.
    h.key_press(egui::Key::Num5);
    h.event(egui::Event::Text("5551234".into()));
    h.run();
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: "sip:5551234@pbx.example.ee".into(),
            headers: Vec::new()
        }]
    );
    // The phone could not place it: the desk is free again and says why.
    feed(
        &mut h,
        &[EventKind::CommandFailed {
            command: "call sip:5551234@pbx.example.ee".into(),
            error: CommandError::Resolve {
                host: "pbx.example.ee".into(),
                error: "no such name".into(),
            },
        }],
    );
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    h.get_by_label_contains("cannot resolve pbx.example.ee");
    // The dialpad adds digits too.
    h.get_by_label("Dialpad").click();
    h.run();
    for k in ["1", "0", "0"] {
        click(&mut h, k);
    }
    click(&mut h, "Call");
    let target = "sip:100@pbx.example.ee";
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: target.into(),
            headers: Vec::new()
        }]
    );
    // The engine places it, it rings, it is answered, it ends: the panel
    // follows and the history has the call.
    feed(
        &mut h,
        &[
            EventKind::Calling {
                call: CallId(13),
                call_id: "out-13@test".into(),
                target: target.into(),
            },
            EventKind::Ringing {
                call: CallId(13),
                status: 180,
            },
        ],
    );
    h.get_by_label("Ringing at 100…");
    assert!(common::has_button(&h, "Cancel call") && !common::has_button(&h, "Hang up"));
    feed(
        &mut h,
        &[EventKind::Established {
            call: CallId(13),
            call_id: "out-13@test".into(),
            outgoing: true,
        }],
    );
    h.get_by_label_contains("In call with 100");
    assert!(common::has_button(&h, "Hang up") && !common::has_button(&h, "Cancel call"));
    click(&mut h, "Hang up");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: CallId(13) }]
    );
    feed(
        &mut h,
        &[EventKind::Ended {
            call: CallId(13),
            call_id: "out-13@test".into(),
            reason: EndReason::LocalHangup,
            status: None,
            stats: Default::default(),
            calls_left: 0,
        }],
    );
    h.get_by_label("Call with 100");
    click(&mut h, "Save wrap-up");
    h.get_by_label("History").click();
    h.run();
    h.get_by_label("100");
    h.get_by_label_contains("answered · 0:00");
    assert!(common::has_button(&h, "Call back 100"));
}

#[test]
fn what_cannot_be_dialled_is_explained_and_nothing_is_sent() {
    let mut h = desk_with(DeskConfig::default(), None);
    h.get_by_label("Dial:").click();
    h.run();
    h.get_by_label("Dial:").type_text("+372 555 1234");
    h.run();
    click(&mut h, "Call");
    assert!(h.state_mut().take_commands().is_empty());
    h.get_by_label("+372 555 1234 is a number, but there is no account to dial it through.");
    h.get_by_label("Check the registrar, user name and password in Settings.");
    h.get_by_label("Dial:").click();
    h.run();
    h.get_by_label("Dial:").type_text("Mari");
    h.run();
    click(&mut h, "Call");
    h.get_by_label("“Mari” is not a number or a SIP address.");
    assert!(h.state_mut().take_commands().is_empty());
}

/// An outgoing call placed by number, as the new user tried it: its panel
/// while it rings, hang up, the wrap-up, and the row in History.
#[test]
fn an_outgoing_call_has_its_panel_its_wrap_up_and_its_history_row() {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    h.get_by_label("Dial:").click();
    h.run();
    h.get_by_label("Dial:").type_text("+372 555 9876");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let target = "sip:+3725559876@pbx.example.ee";
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: target.into(),
            headers: Vec::new()
        }]
    );
    feed(
        &mut h,
        &[EventKind::Calling {
            call: CallId(81),
            call_id: "out-81@test".into(),
            target: target.into(),
        }],
    );
    // Placed, not ringing yet: the number, and Cancel instead of Hang up.
    h.get_by_label("Calling +3725559876…");
    assert!(common::has_button(&h, "Cancel call"));
    assert!(!common::has_button(&h, "Hang up") && !common::has_button(&h, "Mute"));
    feed(
        &mut h,
        &[EventKind::Ringing {
            call: CallId(81),
            status: 180,
        }],
    );
    h.get_by_label("Ringing at +3725559876…");
    h.get_by_label("Calling · +3725559876");
    h.get_by_label_contains("State: Calling");
    assert!(common::has_button(&h, "Cancel call"));
    assert!(!common::has_button(&h, "Hang up"));
    feed(
        &mut h,
        &[EventKind::Established {
            call: CallId(81),
            call_id: "out-81@test".into(),
            outgoing: true,
        }],
    );
    // Answered: the call panel, with Hang up and the call's controls.
    h.get_by_label_contains("In call with +3725559876");
    h.get_by_label_contains("outgoing · +3725559876");
    h.get_by_label("In call · +3725559876");
    h.get_by_label("State: In call");
    assert!(!common::has_button(&h, "Cancel call"));
    assert!(common::has_button(&h, "Hang up") && common::has_button(&h, "Mute"));
    click(&mut h, "Hold");
    click(&mut h, "Hang up");
    assert_eq!(
        h.state_mut().take_commands(),
        [
            Command::Hold { call: CallId(81) },
            Command::Hangup { call: CallId(81) }
        ]
    );
    feed(
        &mut h,
        &[EventKind::Ended {
            call: CallId(81),
            call_id: "out-81@test".into(),
            reason: EndReason::LocalHangup,
            status: None,
            stats: Default::default(),
            calls_left: 0,
        }],
    );
    h.get_by_label("Call with +3725559876");
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:")
        .type_text("Confirmed the delivery date");
    h.run();
    click(&mut h, "Save wrap-up");
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    let r = &h
        .state()
        .store()
        .unwrap()
        .history("+3725559876", 1)
        .unwrap()[0];
    assert_eq!(r.direction, Direction::Out);
    assert_eq!(r.outcome, Some(Outcome::Answered));
    assert_eq!(r.note.as_deref(), Some("Confirmed the delivery date"));
    h.get_by_label("History").click();
    h.run();
    h.get_by_label("outgoing");
    h.get_by_label("Confirmed the delivery date");
    h.get_by_label_contains("answered · 0:00");
    // Call back from History.
    click(&mut h, "Call back +3725559876");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: target.into(),
            headers: Vec::new()
        }]
    );
}

#[test]
fn an_outgoing_call_that_fails_says_why_and_a_cancelled_one_leaves_nothing_to_do() {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    h.state_mut().apply(
        Instant::now(),
        Intent::Dial {
            input: "204".into(),
            name: None,
        },
    );
    h.state_mut().take_commands();
    feed(
        &mut h,
        &[EventKind::Calling {
            call: CallId(91),
            call_id: "out-91@test".into(),
            target: "sip:204@pbx.example.ee".into(),
        }],
    );
    click(&mut h, "Cancel call");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: CallId(91) }]
    );
    feed(
        &mut h,
        &[EventKind::Ended {
            call: CallId(91),
            call_id: "out-91@test".into(),
            reason: EndReason::Cancelled,
            status: Some(487),
            stats: Default::default(),
            calls_left: 0,
        }],
    );
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    assert!(h.query_by_label("Save wrap-up").is_none());
    h.state_mut().apply(
        Instant::now(),
        Intent::Dial {
            input: "204".into(),
            name: None,
        },
    );
    feed(
        &mut h,
        &[
            EventKind::Calling {
                call: CallId(92),
                call_id: "out-92@test".into(),
                target: "sip:204@pbx.example.ee".into(),
            },
            EventKind::Ended {
                call: CallId(92),
                call_id: "out-92@test".into(),
                reason: EndReason::Rejected,
                status: Some(486),
                stats: Default::default(),
                calls_left: 0,
            },
        ],
    );
    h.get_by_label("204 is busy (486).");
    h.get_by_label("The line is busy: try again in a few minutes.");
    assert_eq!(h.state().agent_state(), &AgentState::Available);
}

/// The frames are drawn at a clock the test moves: thirty seconds of
/// after-call work pass without waiting for them.
#[test]
fn the_wrap_up_countdown_runs_down_in_the_top_bar_and_at_zero_the_note_is_kept_and_calls_come_again()
 {
    let clock = common::Clock::new();
    let mut h = common::desk_on(common::config(), Some(Store::in_memory().unwrap()), &clock);
    feed_at(&mut h, &clock, &[incoming(81)]);
    click(&mut h, "Answer");
    feed_at(&mut h, &clock, &[established(81), ended(81)]);
    // Thirty seconds by default, counted down where the state is shown
    // and above the form.
    h.get_by_label("State: Wrap-up (30 s)");
    h.get_by_label("Wrap-up — 30 s left");
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:")
        .type_text("Asked for the price list");
    h.run();
    clock.advance(Duration::from_secs(12));
    h.run();
    h.get_by_label("State: Wrap-up (18 s)");
    h.get_by_label("Wrap-up — 18 s left");
    // A call now is refused: the agent is still wrapping up.
    feed_at(&mut h, &clock, &[incoming(82)]);
    assert!(h.query_by_label("Incoming call: Mari Maasikas").is_none());
    assert!(h.state_mut().take_commands().contains(&Command::Reject {
        call: CallId(82),
        status: 486
    }));
    // Time is up: the note is saved as typed and the agent is available.
    clock.advance(Duration::from_secs(18));
    h.run();
    h.get_by_label("State: Available");
    assert!(h.query_by_label_contains("State: Wrap-up").is_none());
    assert!(!common::has_button(&h, "Save wrap-up"));
    assert!(h.query_by_label("Wrap-up · Mari Maasikas").is_none());
    let r = &h
        .state()
        .store()
        .unwrap()
        .history("+3725551234", 1)
        .unwrap()[0];
    assert_eq!(r.note.as_deref(), Some("Asked for the price list"));
    h.get_by_label("History").click();
    h.run();
    h.get_by_label("Asked for the price list");
    // The next call rings.
    feed_at(&mut h, &clock, &[incoming(83)]);
    h.get_by_label("Incoming call: Mari Maasikas");
    assert!(common::has_button(&h, "Answer"));
}

#[test]
fn when_the_other_side_puts_us_through_the_desk_follows_the_new_call() {
    let mut h = with_billing(None);
    in_call(&mut h, 91);
    // The transferor hangs up its leg; the conversation goes on.
    feed(
        &mut h,
        &[
            EventKind::Transferred {
                call: CallId(91),
                new_call: CallId(92),
                target: "sip:billing@pbx".into(),
            },
            ended(91),
        ],
    );
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 92
    ));
    h.get_by_label_contains("In call with sip:billing@pbx");
    click(&mut h, "Hang up");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: CallId(92) }]
    );
}

#[test]
fn a_waiting_call_rings_as_usual_when_the_call_in_hand_ends() {
    let mut h = with_billing(None);
    in_call(&mut h, 95);
    feed(&mut h, &[incoming(96)]);
    h.get_by_label_contains("Call waiting:");
    feed(&mut h, &[ended(95)]);
    h.get_by_label("Incoming call: Mari Maasikas");
    h.state_mut().take_commands();
    click(&mut h, "Answer");
    assert!(
        h.state_mut()
            .take_commands()
            .contains(&Command::Answer { call: CallId(96) })
    );
    // The first call's wrap-up waits in the work list.
    h.get_by_label("Wrap-up · Mari Maasikas");
}

#[test]
fn a_held_caller_who_hangs_up_gets_a_wrap_up_of_their_own() {
    let mut h = with_billing(Some(Store::in_memory().unwrap()));
    in_call(&mut h, 81);
    feed(&mut h, &[ivan(82)]);
    click(&mut h, "Answer");
    feed(&mut h, &[established(82)]);
    h.get_by_label("On hold · Mari Maasikas");
    // Mari, on hold, hangs up: her wrap-up waits in the work list while
    // Ivan's call stays in the centre.
    feed(&mut h, &[ended(81)]);
    h.get_by_label_contains("In call with Ivan Petrov");
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 82
    ));
    h.get_by_label("Wrap-up · Mari Maasikas").click();
    h.run();
    h.get_by_label("Call with Mari Maasikas (+3725551234)");
    // Ivan's call stays at hand above the form.
    h.get_by_label_contains("In hand: Ivan Petrov");
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:").type_text("Hung up while on hold");
    h.run();
    // Ivan's call ends before Mari's form is saved: his waits its turn.
    feed(&mut h, &[ended(82)]);
    assert!(matches!(h.state().agent_state(), AgentState::WrapUp { .. }));
    h.get_by_label("Call with Mari Maasikas (+3725551234)");
    h.get_by_label("Waiting to be wrapped up after this one: 1");
    click(&mut h, "Save wrap-up");
    // Mari's note is saved; Ivan's form is up and the agent still wraps up.
    h.get_by_label("Call with Ivan Petrov (+3725559876)");
    assert!(
        h.query_by_label_contains("Waiting to be wrapped up")
            .is_none()
    );
    assert!(matches!(h.state().agent_state(), AgentState::WrapUp { .. }));
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:").type_text("Order 4711 changed");
    h.run();
    h.get_by_label("Disposition").click();
    h.run();
    h.get_by_label("Complaint").click();
    h.run();
    click(&mut h, "Save wrap-up");
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    let store = h.state().store().unwrap();
    let mari = store.history("+3725551234", 5).unwrap();
    assert_eq!(mari[0].note.as_deref(), Some("Hung up while on hold"));
    let ivan = store.history("+3725559876", 5).unwrap();
    assert_eq!(ivan[0].note.as_deref(), Some("Order 4711 changed"));
    assert_eq!(ivan[0].disposition.as_deref(), Some("Complaint"));
    assert!(store.pending_drafts().unwrap().is_empty());
}

#[test]
fn every_wrap_up_left_open_by_a_crash_comes_back() {
    let store = Store::in_memory().unwrap();
    for (id, note, at) in [
        ("a@x", "first call's note", 1),
        ("b@x", "second call's note", 2),
    ] {
        let d = switchboard_desk::store::Draft {
            note: note.into(),
            ..Default::default()
        };
        store.save_draft(id, &d, at).unwrap();
    }
    let mut h = desk(Some(store));
    h.get_by_label("Wrap-ups restored after a restart: 2.");
    h.get_by_label("Waiting to be wrapped up after this one: 1");
    assert!(h.query_all_by_value("second call's note").next().is_some());
    click(&mut h, "Save wrap-up");
    assert!(h.query_all_by_value("first call's note").next().is_some());
    click(&mut h, "Save wrap-up");
    assert!(
        h.state()
            .store()
            .unwrap()
            .pending_drafts()
            .unwrap()
            .is_empty()
    );
    assert!(h.query_by_label("Save wrap-up").is_none());
}

#[test]
fn decline_refuses_the_ringing_call_and_history_has_it_as_declined_not_missed() {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    feed(&mut h, &[incoming(15)]);
    h.get_by_label("Incoming call: Mari Maasikas");
    click(&mut h, "Decline");
    // The phone refuses it with 603 Decline.
    assert_eq!(
        h.state_mut().take_commands(),
        [
            Command::Ring { on: true },
            Command::Reject {
                call: CallId(15),
                status: 603
            }
        ]
    );
    // The engine reports the call over, as it does once the 603 is sent.
    feed(
        &mut h,
        &[EventKind::Ended {
            call: CallId(15),
            call_id: "call-15@test".into(),
            reason: EndReason::Declined,
            status: Some(603),
            stats: Default::default(),
            calls_left: 0,
        }],
    );
    assert_eq!(h.state_mut().take_commands(), [Command::Ring { on: false }]);
    // The card and its row are gone; nothing to wrap up, nothing missed.
    assert!(h.query_by_label("Incoming call: Mari Maasikas").is_none());
    assert!(!common::has_button(&h, "Answer") && !common::has_button(&h, "Decline"));
    assert!(h.query_by_label("Ringing · Mari Maasikas").is_none());
    assert!(h.query_by_label("Missed · Mari Maasikas").is_none());
    assert!(!common::has_button(&h, "Save wrap-up"));
    h.get_by_label("State: Available");
    h.get_by_label("Ready");
    assert_eq!(common::figure(&h, "Missed"), "0");
    h.get_by_label("History").click();
    h.run();
    h.get_by_label("Mari Maasikas · +3725551234");
    h.get_by_label("declined · — · —");
}

#[test]
fn decline_on_a_waiting_call_refuses_it_and_the_call_in_hand_goes_on() {
    let mut h = with_billing(None);
    in_call(&mut h, 16);
    feed(&mut h, &[ivan(17)]);
    h.get_by_label("Call waiting: Ivan Petrov");
    h.state_mut().take_commands();
    click(&mut h, "Decline");
    // Refused, and the call-waiting tone stops at once.
    assert_eq!(
        h.state_mut().take_commands(),
        [
            Command::Reject {
                call: CallId(17),
                status: 603
            },
            Command::Ring { on: false }
        ]
    );
    feed(
        &mut h,
        &[EventKind::Ended {
            call: CallId(17),
            call_id: "call-17@test".into(),
            reason: EndReason::Declined,
            status: Some(603),
            stats: Default::default(),
            calls_left: 1,
        }],
    );
    assert!(h.query_by_label("Call waiting: Ivan Petrov").is_none());
    assert!(h.query_by_label("Waiting · Ivan Petrov").is_none());
    h.get_by_label_contains("In call with Mari Maasikas");
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 16
    ));
}

#[test]
fn the_other_side_asks_to_transfer_us_and_the_operator_declines_or_accepts() {
    let mut h = with_billing(None);
    in_call(&mut h, 101);
    let asked = EventKind::TransferRequested {
        call: CallId(101),
        target: "sip:sales@pbx".into(),
    };
    let prompt = "The other side asks to transfer you to sip:sales@pbx.";
    feed(&mut h, std::slice::from_ref(&asked));
    h.get_by_label(prompt);
    // Declined: the phone refuses the REFER, the question is gone and the
    // call goes on.
    click(&mut h, "Decline");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::RejectTransfer { call: CallId(101) }]
    );
    assert!(h.query_by_label(prompt).is_none());
    assert!(!common::has_button(&h, "Accept"));
    h.get_by_label_contains("In call with Mari Maasikas");
    // Asked again, accepted: the phone calls the target ...
    feed(&mut h, &[asked]);
    h.get_by_label(prompt);
    click(&mut h, "Accept");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::AcceptTransfer { call: CallId(101) }]
    );
    assert!(h.query_by_label(prompt).is_none());
    // ... and reports the new call; the old leg ends; the desk follows.
    feed(
        &mut h,
        &[
            EventKind::Transferred {
                call: CallId(101),
                new_call: CallId(102),
                target: "sip:sales@pbx".into(),
            },
            ended(101),
        ],
    );
    h.get_by_label_contains("In call with sip:sales@pbx");
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 102
    ));
    click(&mut h, "Hang up");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: CallId(102) }]
    );
}

#[test]
fn the_state_buttons_change_the_state_shown_and_whether_calls_are_offered() {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    h.get_by_label("State: Available");
    // A break, with its reason from the menu.
    click(&mut h, "Break");
    click(&mut h, "Lunch");
    h.get_by_label("State: Break (Lunch)");
    assert!(
        h.state_mut().take_commands().is_empty(),
        "the state is the desk's own"
    );
    // On a break a call is refused as busy and never shown.
    refused_as_busy(&mut h, 111);
    click(&mut h, "Offline");
    h.get_by_label("State: Offline");
    refused_as_busy(&mut h, 112);
    // Available again: calls ring.
    click(&mut h, "Available");
    h.get_by_label("State: Available");
    feed(&mut h, &[incoming(113)]);
    h.get_by_label("Incoming call: Mari Maasikas");
    assert_eq!(h.state_mut().take_commands(), [Command::Ring { on: true }]);
    click(&mut h, "Answer");
    feed(&mut h, &[established(113)]);
    h.state_mut().take_commands();
    // In a call the buttons do not take the operator away from it.
    click(&mut h, "Offline");
    h.get_by_label("State: In call");
    h.get_by_label_contains("In call with Mari Maasikas");
    // From a wrap-up, a break saves the form as typed.
    feed(&mut h, &[ended(113)]);
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:").type_text("Left for lunch mid-note");
    h.run();
    click(&mut h, "Break");
    click(&mut h, "Short break");
    h.get_by_label("State: Break (Short break)");
    assert!(!common::has_button(&h, "Save wrap-up"));
    let r = &h
        .state()
        .store()
        .unwrap()
        .history("+3725551234", 1)
        .unwrap()[0];
    assert_eq!(r.note.as_deref(), Some("Left for lunch mid-note"));
    assert!(
        h.state_mut().take_commands().is_empty(),
        "nothing for the phone"
    );
}

#[test]
fn the_registration_line_in_the_top_bar_follows_what_the_phone_reports() {
    let mut h = desk(None);
    h.get_by_label("Account: not registered");
    assert!(!common::has_button(&h, "Retry"));
    feed(&mut h, &[EventKind::Registered { expires: 600 }]);
    h.get_by_label("Account: registered (600 s)");
    assert!(!common::has_button(&h, "Retry"));
    feed(
        &mut h,
        &[EventKind::RegistrationFailed {
            status: Some(403),
            reason: "Forbidden".into(),
            retry_in_s: None,
        }],
    );
    h.get_by_label("Account: registration failed: Forbidden");
    assert!(common::has_button(&h, "Retry"));
    // The notice stays, with what to do about a refused account.
    h.get_by_label("Registration at the PBX failed (403): Forbidden");
    h.get_by_label("Check the registrar, user name and password in Settings.");
    // A timeout says to retry instead.
    feed(
        &mut h,
        &[EventKind::RegistrationFailed {
            status: None,
            reason: "no answer from the registrar".into(),
            retry_in_s: Some(47),
        }],
    );
    h.get_by_label("Account: registration failed: no answer from the registrar");
    // The phone tries again by itself; the bar says when, and Retry stays.
    h.get_by_label("next attempt in 47 s");
    assert!(common::has_button(&h, "Retry"));
    // An available operator is told that no call can come meanwhile; one
    // on a break is not waiting for calls and is not told.
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    h.get_by_label("— calls cannot reach you");
    h.state_mut()
        .apply(Instant::now(), Intent::SetState(AgentState::Offline));
    h.run();
    assert!(h.query_by_label("— calls cannot reach you").is_none());
    h.state_mut()
        .apply(Instant::now(), Intent::SetState(AgentState::Available));
    h.run();
    h.get_by_label("Registration at the PBX failed (—): no answer from the registrar");
    h.get_by_label("Calls will not reach you until it works: press Retry, or check the network.");
    feed(&mut h, &[EventKind::Registered { expires: 300 }]);
    h.get_by_label("Account: registered (300 s)");
    assert!(!common::has_button(&h, "Retry"));
    assert!(h.query_by_label("— calls cannot reach you").is_none());
    feed(&mut h, &[EventKind::Unregistered]);
    h.get_by_label("Account: not registered");
}

/// A call that comes now is refused as busy (486) and never shown: no card,
/// no work-list row, no ringer.
fn refused_as_busy(h: &mut Harness<'static, DeskApp>, call: u64) {
    feed(h, &[incoming(call)]);
    assert!(!common::has_button(h, "Answer"), "no card for call {call}");
    assert!(h.query_by_label("Incoming call: Mari Maasikas").is_none());
    assert!(h.query_by_label("Ringing · Mari Maasikas").is_none());
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Reject {
            call: CallId(call),
            status: 486
        }]
    );
}

/// The one command sent since the last look is `call`'s mute set to `muted`,
/// and the call panel's button now offers the other way (Unmute while muted).
fn mute_reached_the_engine_and_shows(h: &mut Harness<'static, DeskApp>, call: u64, muted: bool) {
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Mute {
            call: CallId(call),
            muted
        }]
    );
    let (offered, gone) = if muted {
        ("Unmute", "Mute")
    } else {
        ("Mute", "Unmute")
    };
    assert!(
        common::has_button(h, offered) && !common::has_button(h, gone),
        "muted {muted}: the button offers {offered}"
    );
}

#[test]
fn a_caller_gone_quiet_is_named_in_a_notice_and_so_is_the_hang_up() {
    let mut h = desk(None);
    feed(&mut h, &[incoming(1), established(1)]);
    feed(
        &mut h,
        &[EventKind::MediaTimeout {
            call: CallId(1),
            quiet_s: 30,
            hanging_up: false,
        }],
    );
    h.get_by_label("No sound from Mari Maasikas for 30 s");
    h.get_by_label(
        "The line may be broken: ask whether they hear you; if nothing comes back, the call ends by itself.",
    );
    feed(
        &mut h,
        &[EventKind::MediaTimeout {
            call: CallId(1),
            quiet_s: 60,
            hanging_up: true,
        }],
    );
    h.get_by_label("No sound from Mari Maasikas for 60 s: the call was ended");
    h.get_by_label("Call them back if the conversation was not finished.");
}

#[test]
fn a_number_no_trusted_pbx_vouched_for_is_marked_on_the_card() {
    let mut h = desk(None);
    // The PBX asserted Mari's identity: no mark.
    feed(&mut h, &[incoming(1)]);
    h.get_by_label("Number: +3725551234");
    assert!(h.query_by_label("(not verified by the PBX)").is_none());
    feed(&mut h, &[ended(1)]);
    // A caller straight from the network, only a From (the engine removed
    // any asserted identity it could not trust): marked.
    feed(
        &mut h,
        &[EventKind::Incoming {
            call: CallId(2),
            call_id: "call-2@test".into(),
            from: "\"Bank\" <sip:+3726000000@198.51.100.7>;tag=9".into(),
            to: "<sip:agent@pbx>".into(),
            headers: vec![(
                "From".into(),
                "\"Bank\" <sip:+3726000000@198.51.100.7>;tag=9".into(),
            )],
        }],
    );
    h.get_by_label("Number: +3726000000");
    h.get_by_label("(not verified by the PBX)");
}

/// The call's media has started, encrypted or not.
fn media_started(call: u64, encrypted: bool) -> EventKind {
    EventKind::MediaStarted {
        call: CallId(call),
        codec: "pcmu".into(),
        remote: "127.0.0.1:4000".into(),
        mic_start: 0.0,
        speaker_start: 0.0,
        encrypted,
    }
}

#[test]
fn the_lock_shows_only_on_a_call_whose_signalling_and_sound_are_encrypted() {
    let mut h = desk(None);
    feed(
        &mut h,
        &[incoming(1), established(1), media_started(1, false)],
    );
    h.get_by_label("Codec: pcmu");
    assert!(h.query_by_label("Encrypted").is_none(), "a plain call");
    let mut h = desk(None);
    feed(
        &mut h,
        &[incoming(2), established(2), media_started(2, true)],
    );
    h.get_by_label("Codec: pcmu");
    h.get_by_label("Encrypted").hover();
    h.run();
    h.get_by_label_contains("(TLS) and its sound (SRTP) are encrypted");
}
