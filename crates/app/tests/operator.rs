//! The desk driven as an operator drives it (egui_kittest: widgets found by
//! their labels, clicked, typed into), with engine events fed in.

mod common;

use std::time::Instant;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::store::Store;
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;

fn incoming(call: u64) -> EventKind {
    common::incoming_in_queue(call, "Billing")
}

fn established(call: u64) -> EventKind {
    EventKind::Established {
        call,
        call_id: format!("call-{call}@test"),
        outgoing: false,
    }
}

fn ended(call: u64) -> EventKind {
    EventKind::Ended {
        call,
        call_id: format!("call-{call}@test"),
        reason: "remote_hangup".into(),
        status: None,
        stats: Default::default(),
    }
}

fn harness(store: Option<Store>) -> Harness<'static, DeskApp> {
    let mut app = DeskApp::new(DeskConfig::default(), store);
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    Harness::new_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

#[test]
fn the_caller_card_shows_before_answering_and_answer_sends_the_command() {
    let mut h = harness(None);
    h.state_mut().handle_event(Instant::now(), &incoming(1));
    h.run();
    h.get_by_label("Incoming call: Mari Maasikas");
    h.get_by_label("Number: +3725551234");
    h.get_by_label("Queue: Billing");
    h.get_by_label("IVR: account=100200300");
    h.get_by_label("Answer").click();
    h.run();
    // The ringer rang while the banner showed; answering is sent to the engine.
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Ring { on: true }, Command::Answer { call: 1 }]
    );
}

#[test]
fn a_whole_call_ends_in_a_saved_wrap_up_and_the_agent_is_available_again() {
    let store = Store::in_memory().unwrap();
    let mut h = harness(Some(store));
    h.state_mut().handle_event(Instant::now(), &incoming(2));
    h.run();
    h.get_by_label("Answer").click();
    h.run();
    h.state_mut().handle_event(Instant::now(), &established(2));
    h.run();
    h.get_by_label("Mute").click();
    h.run();
    h.get_by_label("5").click();
    h.run();
    h.get_by_label("Hang up").click();
    h.run();
    let sent = h.state_mut().take_commands();
    assert_eq!(
        sent,
        [
            Command::Ring { on: true },
            Command::Answer { call: 2 },
            Command::Ring { on: false },
            Command::Mute {
                call: 2,
                muted: true
            },
            Command::Dtmf {
                call: 2,
                digits: "5".into()
            },
            Command::Hangup { call: 2 }
        ]
    );
    h.state_mut().handle_event(Instant::now(), &ended(2));
    h.run();
    assert!(matches!(h.state().agent_state(), AgentState::WrapUp { .. }));
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:")
        .type_text("Parcel resent to the office");
    h.run();
    h.get_by_label("Disposition").click();
    h.run();
    h.get_by_label("Complaint").click();
    h.run();
    h.get_by_label("Save wrap-up").click();
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
    assert!(calls[0].answered_ms.is_some() && calls[0].ended_ms.is_some());
    assert!(
        store.pending_drafts().unwrap().is_empty(),
        "the draft is gone once saved"
    );
}

#[test]
fn on_break_a_call_is_refused_with_486_and_never_shown() {
    let mut h = harness(None);
    h.state_mut().apply(
        Instant::now(),
        Intent::SetState(AgentState::Break {
            reason: "Lunch".into(),
        }),
    );
    h.state_mut().handle_event(Instant::now(), &incoming(3));
    h.run();
    assert!(h.query_by_label("Answer").is_none(), "no banner on break");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Reject {
            call: 3,
            status: 486
        }]
    );
}

#[test]
fn a_note_being_typed_is_saved_as_a_draft_and_comes_back_after_a_crash() {
    let dir = std::env::temp_dir().join(format!("sb-app-draft-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("desk.db");
    let _ = std::fs::remove_file(&path);
    {
        let mut h = harness(Some(Store::open(&path).unwrap()));
        for ev in [incoming(4), established(4)] {
            h.state_mut().handle_event(Instant::now(), &ev);
        }
        h.state_mut().apply(Instant::now(), Intent::Hangup);
        h.state_mut().handle_event(Instant::now(), &ended(4));
        h.run();
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
    let mut h = Harness::new_ui_state(
        |ui, app: &mut DeskApp| app.ui(ui, Instant::now()),
        DeskApp::new(DeskConfig::default(), Some(Store::open(&path).unwrap())),
    );
    h.run();
    h.get_by_label("A wrap-up note was restored after a restart.");
    h.get_by_label("Save wrap-up");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_keyboard_answers_and_hangs_up() {
    let mut h = harness(None);
    h.state_mut().handle_event(Instant::now(), &incoming(5));
    h.run();
    h.key_press(egui::Key::F3);
    h.run();
    h.state_mut().handle_event(Instant::now(), &established(5));
    h.run();
    h.key_press(egui::Key::F7);
    h.run();
    h.key_press(egui::Key::F4);
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [
            Command::Ring { on: true },
            Command::Answer { call: 5 },
            Command::Ring { on: false },
            Command::Mute {
                call: 5,
                muted: true
            },
            Command::Hangup { call: 5 }
        ]
    );
}

#[test]
fn call_quality_and_levels_show_in_the_call_panel() {
    let mut h = harness(None);
    for ev in [incoming(6), established(6)] {
        h.state_mut().handle_event(Instant::now(), &ev);
    }
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Quality {
            call: 6,
            stats: Default::default(),
            loss_percent: 1.5,
            mos: 4.1,
        },
    );
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Levels {
            call: 6,
            mic_dbfs: -20.0,
            speaker_dbfs: -30.0,
        },
    );
    h.run();
    h.get_by_label("Quality: MOS 4.1 · loss 1.5 % · jitter 0.0 ms");
    h.get_by_label("Mic");
}

#[test]
fn the_desk_speaks_estonian_russian_and_slovenian() {
    use switchboard::Lang;
    for (lang, incoming_label, answer) in [
        (Lang::Et, "Sissetulev kõne: Mari Maasikas", "Vasta"),
        (Lang::Ru, "Входящий вызов: Mari Maasikas", "Ответить"),
        (Lang::Sl, "Dohodni klic: Mari Maasikas", "Sprejmi"),
    ] {
        let mut h = harness(None);
        h.state_mut().set_lang(lang);
        h.state_mut().handle_event(Instant::now(), &incoming(8));
        h.run();
        h.get_by_label(incoming_label);
        h.get_by_label(answer).click();
        h.run();
        assert_eq!(
            h.state_mut().take_commands(),
            [Command::Ring { on: true }, Command::Answer { call: 8 }]
        );
    }
}

#[test]
fn a_known_caller_is_recognised_and_past_calls_are_searchable() {
    let mut store = Store::in_memory().unwrap();
    store
        .import_contacts_csv("name,number,company\nMari Maasikas,+3725551234,Acme OÜ\n")
        .unwrap();
    let mut h = harness(Some(store));
    h.state_mut().handle_event(Instant::now(), &incoming(9));
    h.run();
    h.get_by_label("Contact: Mari Maasikas (Acme OÜ)");
    h.get_by_label("Answer").click();
    h.run();
    for ev in [established(9), ended(9)] {
        h.state_mut().handle_event(Instant::now(), &ev);
    }
    h.run();
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:").type_text("wants invoice copy");
    h.run();
    h.get_by_label("Save wrap-up").click();
    h.run();
    h.get_by_label("History").click();
    h.run();
    h.get_by_label("Search:").click();
    h.run();
    h.get_by_label("Search:").type_text("invoice");
    h.run();
    h.get_by_label("+3725551234 Mari Maasikas · — · wants invoice copy");
}

#[test]
fn the_ringer_stops_when_the_caller_gives_up() {
    let mut h = harness(None);
    h.state_mut().handle_event(Instant::now(), &incoming(10));
    h.run();
    h.state_mut().handle_event(Instant::now(), &ended(10));
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Ring { on: true }, Command::Ring { on: false }]
    );
    assert_eq!(h.state().agent_state(), &AgentState::Available);
}

#[test]
fn the_configuration_file_sets_rules_buttons_dispositions_and_language() {
    let dir = std::env::temp_dir().join(format!("sb-app-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        r#"
[desk]
wrap_up_secs = 5
dispositions = ["Arve", "Tellimus"]
header_rules = [{ header = "X-Queue", label = "Järjekord" }]
quick_connect = [{ label = "Arveldus", uri = "sip:200@pbx" }]
language = "et"
"#,
    )
    .unwrap();
    let file = switchboard_desk::config::load(&path).unwrap();
    let (config, lang) = DeskConfig::from_file(file.desk);
    let mut app = DeskApp::new(config, None);
    app.set_lang(lang);
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    let mut h = Harness::new_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app);
    h.state_mut().handle_event(Instant::now(), &incoming(11));
    h.run();
    h.get_by_label("Järjekord: Billing");
    h.get_by_label("Vasta").click();
    h.run();
    h.state_mut().handle_event(Instant::now(), &established(11));
    h.run();
    h.get_by_label("Arveldus");
    // A typo in the file is an error naming the line and the key.
    std::fs::write(&path, "[desk]\nwrap_up_sec = 5\n").unwrap();
    let e = switchboard_desk::config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2") && e.contains("wrap_up_sec"), "{e}");
}

#[test]
fn contacts_are_imported_from_a_csv_file_and_bad_files_are_explained() {
    let dir = std::env::temp_dir().join(format!("sb-app-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("contacts.csv");
    std::fs::write(
        &good,
        "name,number,company\nMari Maasikas,+3725551234,Acme OÜ\n",
    )
    .unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "name,number\nJaan\n").unwrap();
    let import = |path: &std::path::Path, shown: &str| {
        let mut h = harness(Some(Store::in_memory().unwrap()));
        h.get_by_label("Contacts").click();
        h.run();
        h.get_by_label("CSV file:").click();
        h.run();
        h.get_by_label("CSV file:")
            .type_text(&path.to_string_lossy());
        h.run();
        h.get_by_label("Import").click();
        h.run();
        h.get_by_label(shown);
        h
    };
    import(&bad, "contacts CSV line 2: name or number missing");
    let mut h = import(&good, "Imported 1 contacts.");
    h.state_mut().handle_event(Instant::now(), &incoming(12));
    h.run();
    h.get_by_label("Contact: Mari Maasikas (Acme OÜ)");
}

fn desk_with_quick_connect(store: Option<Store>) -> Harness<'static, DeskApp> {
    let config = DeskConfig {
        quick_connect: vec![("Billing".into(), "sip:200@pbx".into())],
        ..DeskConfig::default()
    };
    let mut app = DeskApp::new(config, store);
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    Harness::builder()
        .with_size(egui::vec2(1000.0, 1200.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

fn in_call(h: &mut Harness<'static, DeskApp>, call: u64) {
    h.state_mut().handle_event(Instant::now(), &incoming(call));
    h.run();
    h.get_by_label("Answer").click();
    h.run();
    h.state_mut()
        .handle_event(Instant::now(), &established(call));
    h.run();
    h.state_mut().take_commands();
}

fn progress(call: u64, status: u16, done: bool) -> EventKind {
    EventKind::TransferProgress { call, status, done }
}

#[test]
fn hold_resume_and_a_one_click_transfer_whose_chain_is_kept_with_the_wrap_up() {
    let mut h = desk_with_quick_connect(Some(Store::in_memory().unwrap()));
    in_call(&mut h, 21);
    h.get_by_label("Hold").click();
    h.run();
    assert_eq!(h.state_mut().take_commands(), [Command::Hold { call: 21 }]);
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Held {
            call: 21,
            local: true,
            remote: false,
        },
    );
    h.run();
    h.get_by_label("On hold — the caller hears the hold tone.");
    h.get_by_label("Resume").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Resume { call: 21 }]
    );

    // One click on a quick-connect: a blind transfer.
    h.get_by_label("Billing").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Transfer {
            call: 21,
            target: "sip:200@pbx".into()
        }]
    );
    for ev in [progress(21, 202, false), progress(21, 180, false)] {
        h.state_mut().handle_event(Instant::now(), &ev);
    }
    h.run();
    h.get_by_label("Transferring to Billing: 180");
    h.state_mut()
        .handle_event(Instant::now(), &progress(21, 200, true));
    h.state_mut().handle_event(Instant::now(), &ended(21));
    h.run();
    // The wrap-up shows where the call went.
    h.get_by_label("Transfers: blind to sip:200@pbx: 200");
    h.get_by_label("Save wrap-up").click();
    h.run();
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
    assert_eq!(h.state().agent_state(), &AgentState::Available);
}

#[test]
fn consult_then_complete_or_go_back_to_the_caller() {
    let mut h = desk_with_quick_connect(None);
    in_call(&mut h, 31);
    h.get_by_label("consult first").click();
    h.run();
    h.get_by_label("Billing").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Consult {
            call: 31,
            target: "sip:200@pbx".into()
        }]
    );
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Consulting {
            call: 31,
            consult: 32,
        },
    );
    h.run();
    h.get_by_label("Consulting Billing: ringing");
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Established {
            call: 32,
            call_id: "consult@test".into(),
            outgoing: true,
        },
    );
    h.run();
    h.get_by_label("Consulting Billing: talking");
    // Still in the first call: the consultation is not a new customer call.
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 31
    ));
    h.get_by_label("Back to the caller").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::CancelConsult { consult: 32 }]
    );
    h.get_by_label("Complete transfer").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::CompleteTransfer {
            call: 31,
            consult: 32
        }]
    );
    // The consultation ending does not end the customer call.
    h.state_mut().handle_event(Instant::now(), &ended(32));
    h.run();
    assert!(matches!(h.state().agent_state(), AgentState::InCall { .. }));
}

#[test]
fn a_failed_transfer_leaves_the_caller_with_the_operator() {
    let mut h = desk_with_quick_connect(None);
    in_call(&mut h, 41);
    h.get_by_label("Transfer to:").click();
    h.run();
    h.get_by_label("Transfer to:").type_text("2100");
    h.run();
    h.get_by_label("Transfer").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Transfer {
            call: 41,
            target: "2100".into()
        }]
    );
    h.state_mut()
        .handle_event(Instant::now(), &progress(41, 486, true));
    h.run();
    h.get_by_label("The transfer failed (486); the caller is back with you.");
    assert!(matches!(h.state().agent_state(), AgentState::InCall { .. }));
}

#[test]
fn a_caller_put_through_to_us_replaces_the_consultation_on_screen() {
    let mut h = desk_with_quick_connect(None);
    in_call(&mut h, 51);
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Replaced {
            old: 51,
            new: 52,
            call_id: "new@test".into(),
            headers: vec![(
                "From".into(),
                "\"Ivan Petrov\" <sip:+3725559876@pbx>;tag=9".into(),
            )],
        },
    );
    h.state_mut().handle_event(Instant::now(), &ended(51));
    h.run();
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 52
    ));
    h.get_by_label_contains("In call with Ivan Petrov");
    h.get_by_label("Hang up").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: 52 }]
    );
}

#[test]
fn call_waiting_shows_the_second_caller_and_answering_keeps_the_first_on_hold() {
    let mut h = desk_with_quick_connect(None);
    in_call(&mut h, 61);
    let mut second = incoming(62);
    if let EventKind::Incoming { headers, .. } = &mut second {
        headers[1].1 = "\"Ivan Petrov\" <sip:+3725559876@pbx>".into();
    }
    h.state_mut().handle_event(Instant::now(), &second);
    h.run();
    h.get_by_label("Call waiting: Ivan Petrov");
    h.get_by_label("Answering puts the current call on hold.");
    h.get_by_label("Answer").click();
    h.run();
    // The tone sounds while it waits; answering goes to the engine, which
    // holds the first call itself.
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Ring { on: true }, Command::Answer { call: 62 }]
    );
    h.state_mut().handle_event(Instant::now(), &established(62));
    h.run();
    assert_eq!(h.state_mut().take_commands(), [Command::Ring { on: false }]);
    h.get_by_label_contains("In call with Ivan Petrov");
    h.get_by_label("On hold: Mari Maasikas");
    // Back to Mari: Ivan waits on hold instead.
    h.get_by_label("Resume").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Resume { call: 61 }]
    );
    h.get_by_label_contains("In call with Mari Maasikas");
    h.get_by_label("On hold: Ivan Petrov");
    // Ivan gives up while held; Mari's call goes on.
    h.state_mut().handle_event(Instant::now(), &ended(62));
    h.run();
    assert!(h.query_by_label("On hold: Ivan Petrov").is_none());
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 61
    ));
}

#[test]
fn consult_into_a_conference_then_drop_the_colleague_or_leave_them_talking() {
    let mut h = desk_with_quick_connect(None);
    in_call(&mut h, 71);
    h.get_by_label("Transfer to:").click();
    h.run();
    h.get_by_label("Transfer to:").type_text("sip:200@pbx");
    h.run();
    h.get_by_label("Consult").click();
    h.run();
    h.state_mut().take_commands();
    for ev in [
        EventKind::Consulting {
            call: 71,
            consult: 72,
        },
        EventKind::Established {
            call: 72,
            call_id: "c72@test".into(),
            outgoing: true,
        },
    ] {
        h.state_mut().handle_event(Instant::now(), &ev);
    }
    h.run();
    h.get_by_label("Conference").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Conference {
            call: 71,
            other: 72
        }]
    );
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Conference {
            call: 71,
            other: 72,
            on: true,
        },
    );
    h.run();
    h.get_by_label("Three-way conference with Billing");
    h.get_by_label("Drop Billing").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: 72 }]
    );
    h.get_by_label("Leave them talking").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::CompleteTransfer {
            call: 71,
            consult: 72
        }]
    );
}

#[test]
fn digits_typed_anywhere_go_to_the_dial_field_and_enter_dials() {
    let mut h = harness(None);
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
            target: "5551234".into(),
            headers: Vec::new()
        }]
    );
    // The dialpad adds digits too.
    h.get_by_label("Dialpad").click();
    h.run();
    for k in ["1", "0", "0"] {
        h.get_by_label(k).click();
        h.run();
    }
    h.get_by_label("Call").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: "100".into(),
            headers: Vec::new()
        }]
    );
}

#[test]
fn the_wrap_up_countdown_shows_in_the_top_bar() {
    let mut h = harness(None);
    h.state_mut().handle_event(Instant::now(), &incoming(81));
    h.state_mut().apply(Instant::now(), Intent::Answer);
    h.state_mut().handle_event(Instant::now(), &established(81));
    h.state_mut().handle_event(Instant::now(), &ended(81));
    h.run();
    h.get_by_label_contains("State: Wrap-up (");
}

#[test]
fn when_the_other_side_puts_us_through_the_desk_follows_the_new_call() {
    let mut h = desk_with_quick_connect(None);
    in_call(&mut h, 91);
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Transferred {
            call: 91,
            new_call: 92,
            target: "sip:billing@pbx".into(),
        },
    );
    // The transferor hangs up its leg; the conversation goes on.
    h.state_mut().handle_event(Instant::now(), &ended(91));
    h.run();
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 92
    ));
    h.get_by_label_contains("In call with sip:billing@pbx");
    h.get_by_label("Hang up").click();
    h.run();
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Hangup { call: 92 }]
    );
}

#[test]
fn a_waiting_call_rings_as_usual_when_the_call_in_hand_ends() {
    let mut h = desk_with_quick_connect(None);
    in_call(&mut h, 95);
    h.state_mut().handle_event(Instant::now(), &incoming(96));
    h.run();
    h.get_by_label_contains("Call waiting:");
    h.state_mut().handle_event(Instant::now(), &ended(95));
    h.run();
    h.get_by_label("Incoming call: Mari Maasikas");
    h.state_mut().take_commands();
    h.get_by_label("Answer").click();
    h.run();
    assert!(
        h.state_mut()
            .take_commands()
            .contains(&Command::Answer { call: 96 })
    );
}

#[test]
fn a_held_caller_who_hangs_up_gets_a_wrap_up_of_their_own() {
    let mut h = desk_with_quick_connect(Some(Store::in_memory().unwrap()));
    in_call(&mut h, 81);
    let mut second = incoming(82);
    if let EventKind::Incoming { headers, .. } = &mut second {
        headers[1].1 = "\"Ivan Petrov\" <sip:+3725559876@pbx>".into();
    }
    h.state_mut().handle_event(Instant::now(), &second);
    h.run();
    h.get_by_label("Answer").click();
    h.run();
    h.state_mut().handle_event(Instant::now(), &established(82));
    h.run();
    h.get_by_label("On hold: Mari Maasikas");
    // Mari, on hold, hangs up: her wrap-up opens while Ivan's call goes on.
    h.state_mut().handle_event(Instant::now(), &ended(81));
    h.run();
    h.get_by_label("Call with +3725551234");
    h.get_by_label_contains("In call with Ivan Petrov");
    assert!(matches!(
        h.state().agent_state(),
        AgentState::InCall { call } if call.0 == 82
    ));
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:").type_text("Hung up while on hold");
    h.run();
    // Ivan's call ends before Mari's form is saved: his waits its turn.
    h.state_mut().handle_event(Instant::now(), &ended(82));
    h.run();
    assert!(matches!(h.state().agent_state(), AgentState::WrapUp { .. }));
    h.get_by_label("Call with +3725551234");
    h.get_by_label("Waiting to be wrapped up after this one: 1");
    h.get_by_label("Save wrap-up").click();
    h.run();
    // Mari's note is saved; Ivan's form is up and the agent still wraps up.
    h.get_by_label("Call with +3725559876");
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
    h.get_by_label("Save wrap-up").click();
    h.run();
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
    let mut h = Harness::new_ui_state(
        |ui, app: &mut DeskApp| app.ui(ui, Instant::now()),
        DeskApp::new(DeskConfig::default(), Some(store)),
    );
    h.run();
    h.get_by_label("A wrap-up note was restored after a restart.");
    h.get_by_label("Waiting to be wrapped up after this one: 1");
    assert!(h.query_all_by_value("second call's note").next().is_some());
    h.get_by_label("Save wrap-up").click();
    h.run();
    assert!(h.query_all_by_value("first call's note").next().is_some());
    h.get_by_label("Save wrap-up").click();
    h.run();
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
