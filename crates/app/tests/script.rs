//! The Script tab as an operator uses it: a triage call answered with the
//! keyboard only — the address typed, the callback number taken as
//! prefilled with Enter, options picked by digit, a step back with
//! Backspace — decides the priority and the disposition, and the wrap-up
//! carries both into the record.

mod common;

use std::collections::BTreeMap;

use common::*;
use egui_kittest::kittest::Queryable;
use switchboard::DeskConfig;
use switchboard_desk::config::ScriptsSection;
use switchboard_desk::script::run::Step;
use switchboard_desk::store::Store;

/// The tests' desk, with calls from the Emergency queue starting triage
/// and from the Switchboard queue the greeting.
fn triage_desk() -> DeskConfig {
    let (scripts, errors) = ScriptsSection {
        queues: Some(BTreeMap::from([
            ("Emergency".to_owned(), "triage".to_owned()),
            ("Switchboard".to_owned(), "switchboard".to_owned()),
            ("Support".to_owned(), "it-support".to_owned()),
        ])),
        ..ScriptsSection::default()
    }
    .library();
    assert!(errors.is_empty(), "{errors:?}");
    DeskConfig {
        scripts,
        ..config()
    }
}

/// A desk that answered (F3) a call from `queue`.
fn answered_in(queue: &str) -> egui_kittest::Harness<'static, switchboard::DeskApp> {
    let mut h = desk_with(triage_desk(), Some(Store::in_memory().unwrap()));
    feed(&mut h, &[incoming_in_queue(1, queue)]);
    key(&mut h, egui::Key::F3);
    feed(&mut h, &[established(1)]);
    h.run();
    h
}

fn key(h: &mut egui_kittest::Harness<'static, switchboard::DeskApp>, k: egui::Key) {
    h.key_press(k);
    h.run();
    h.run();
}

#[test]
fn a_triage_script_driven_by_keys_fills_priority_and_disposition() {
    let mut h = answered_in("Emergency");
    // The Script tab came up with the first question, its field ready.
    h.get_by_label_contains("Where is the emergency?");
    h.event(egui::Event::Text("Pikk 1, Tallinn".into()));
    key(&mut h, egui::Key::Enter);
    h.get_by_label_contains("Which number can we call you back on?");
    assert!(
        h.query_all_by_value("+3725551234").next().is_some(),
        "the callback number is prefilled from the call"
    );
    key(&mut h, egui::Key::Enter);
    h.get_by_label_contains("What happened?");
    key(&mut h, egui::Key::Num1); // Sudden illness
    h.get_by_label_contains("Is the person awake");
    key(&mut h, egui::Key::Num2); // No
    h.get_by_label_contains("Is the person breathing normally?");
    key(&mut h, egui::Key::Num1); // Yes …
    h.get_by_label_contains("Keep the person still");
    key(&mut h, egui::Key::Backspace); // … no: back, and answer again
    h.get_by_label_contains("Is the person breathing normally?");
    key(&mut h, egui::Key::Num2);
    h.get_by_label_contains("start chest compressions");
    key(&mut h, egui::Key::Enter);
    h.get_by_label_contains("Triage done");
    // What the answers decided, on screen beside the call.
    h.get_by_label("Decided so far");
    assert!(h.query_by_label("Ambulance").is_some(), "the disposition");

    feed(&mut h, &[ended(1)]);
    // The wrap-up carries what the script decided.
    h.get_by_label_contains("priority 1 · disposition Ambulance");
    assert!(
        h.query_all_by_label("Ambulance").next().is_some(),
        "the disposition chosen in the form"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    let store = h.state().store().unwrap();
    let rec = store.call("call-1@test").unwrap().unwrap();
    assert_eq!(rec.disposition.as_deref(), Some("Ambulance"));
    assert!(rec.wrapped_ms.is_some(), "the wrap-up was saved");
    let run = store.script_run("call-1@test").unwrap().unwrap();
    assert_eq!(run.script_id, "triage");
    assert_eq!(run.fields.get("priority").map(String::as_str), Some("1"));
    assert_eq!(
        run.fields.get("address").map(String::as_str),
        Some("Pikk 1, Tallinn")
    );
    assert!(
        run.trail.iter().any(|s| matches!(s, Step::Back { .. })),
        "the step back is in the audit trail"
    );
}

#[test]
fn a_required_question_cannot_be_skipped_and_says_why() {
    let mut h = answered_in("Emergency");
    key(&mut h, egui::Key::Enter);
    h.get_by_label("This question must be answered.");
    h.get_by_label_contains("Where is the emergency?");
    // The operator picks another script for this call.
    h.get_by_label("Script for this call").click();
    h.run();
    click_text(&mut h, "Information line enquiry");
    h.get_by_label_contains("What would you like to know?");
}

fn click_text(h: &mut egui_kittest::Harness<'static, switchboard::DeskApp>, text: &str) {
    h.get_by_label(text).click();
    h.run();
    h.run();
}

/// `[desk.scripts]` in the configuration file: the folder's scripts (the
/// user guide's example among them, as printed) start by queue, and a
/// broken file or a queue naming no script is a notice that names it.
#[test]
fn scripts_from_the_configured_folder_start_by_queue_and_a_broken_one_is_named() {
    use switchboard_desk::workspace::{NoticeKind, Op};
    let dir = switchboard_interop::temp_dir("scripts-config");
    let folder = dir.join("scripts");
    std::fs::create_dir_all(&folder).unwrap();
    let guide = include_str!("../../../docs/user-guide.md");
    let example = guide
        .split("### Writing a script")
        .nth(1)
        .and_then(|s| s.split("```toml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the user guide shows a script");
    std::fs::write(folder.join("returns.toml"), example).unwrap();
    std::fs::write(
        folder.join("broken.toml"),
        "id = \"b\"\nstart = \"a\"\n\n[[node]]\nid = \"a\"\nkind = \"text\"\nfield = \"x\"\nnext = \"nowhere\"\n",
    )
    .unwrap();
    let cfg = dir.join("switchboard.toml");
    std::fs::write(
        &cfg,
        "[desk.scripts]\nfolder = \"scripts\"\nqueues = { Returns = \"returns\", Sales = \"gone\" }\n",
    )
    .unwrap();
    let args = desk_args(&cfg, &dir, &[]);
    let mut s = switchboard::startup::start(&args, switchboard::Wake::none());
    let said: Vec<String> = s
        .desk
        .workspace()
        .notices()
        .iter()
        .filter_map(|n| match &n.kind {
            NoticeKind::Desktop {
                key: "script-error",
                args,
                ..
            } => args.first().map(|(_, v)| v.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 2, "{said:?}");
    assert!(
        said.iter()
            .any(|m| m.contains("broken.toml:4: node \"a\"") && m.contains("nowhere")),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|m| m.contains("\"Sales\"") && m.contains("\"gone\"")),
        "{said:?}"
    );
    let desk = &mut s.desk;
    desk.apply(
        std::time::Instant::now(),
        switchboard::Intent::SetState(switchboard_desk::agent::AgentState::Available),
    );
    desk.handle_event(std::time::Instant::now(), &incoming_in_queue(1, "returns"));
    desk.apply(std::time::Instant::now(), Op::Answer.into());
    desk.handle_event(std::time::Instant::now(), &established(1));
    let ws = desk.workspace();
    let run = ws
        .in_hand()
        .and_then(|c| ws.script_of(c.id))
        .expect("the Returns queue starts its script");
    assert_eq!(run.script().id, "returns");
    assert!(run.prompt("et").starts_with("Milline tellimus?"));
    if let Some(e) = s.engine.take() {
        let _ = e.send(switchboard_engine::Command::Shutdown);
        e.join();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Typed into the answer field, then Enter.
fn answer(h: &mut egui_kittest::Harness<'static, switchboard::DeskApp>, text: &str) {
    h.event(egui::Event::Text(text.into()));
    key(h, egui::Key::Enter);
}

#[test]
fn the_greeting_chains_into_the_order_intake_and_numbers_and_dates_are_checked() {
    let mut h = answered_in("Switchboard");
    key(&mut h, egui::Key::Enter); // the greeting, read
    key(&mut h, egui::Key::Num4); // wants to order
    h.get_by_label("Go on with Order intake (Enter)");
    key(&mut h, egui::Key::Enter);
    h.get_by_label_contains("May I have your name or customer number?");
    // Back from the first question of the chained script is to the end
    // of the greeting; Enter goes on again.
    key(&mut h, egui::Key::Backspace);
    h.get_by_label("Go on with Order intake (Enter)");
    key(&mut h, egui::Key::Enter);
    answer(&mut h, "John Smith");
    key(&mut h, egui::Key::Num2); // the large pack
    h.get_by_label_contains("How many?");
    answer(&mut h, "two");
    h.get_by_label("Type a number.");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    answer(&mut h, "2");
    h.get_by_label_contains("When should it be delivered?");
    answer(&mut h, "15.12.2026");
    h.get_by_label("Type the date as YYYY-MM-DD.");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    answer(&mut h, "2026-12-15");
    answer(&mut h, "10 Downing Street, London");
    h.get_by_label_contains("Read the order back");
    key(&mut h, egui::Key::Num1);
    let ws = h.state().workspace();
    let run = ws.script_of(ws.in_hand().unwrap().id).unwrap();
    assert!(run.done());
    let f = run.fields();
    for (k, v) in [
        ("topic", "order"),
        ("customer", "John Smith"),
        ("product", "large"),
        ("quantity", "2"),
        ("delivery_date", "2026-12-15"),
        ("disposition", "Order"),
    ] {
        assert_eq!(f.get(k).map(String::as_str), Some(v), "{k}: {f:?}");
    }
}

#[test]
fn digits_tick_a_multi_choice_and_enter_takes_what_is_ticked() {
    let mut h = answered_in("Support");
    answer(&mut h, "ana.novak");
    h.get_by_label_contains("What have you tried already?");
    key(&mut h, egui::Key::Num1);
    key(&mut h, egui::Key::Num3);
    key(&mut h, egui::Key::Num1); // untick
    key(&mut h, egui::Key::Num2);
    key(&mut h, egui::Key::Enter);
    h.get_by_label_contains("What is the problem?");
    let ws = h.state().workspace();
    let f = ws.script_of(ws.in_hand().unwrap().id).unwrap().fields();
    assert_eq!(
        f.get("tried").map(String::as_str),
        Some("cable, colleague"),
        "in the script's order"
    );
}

/// In the wrap-up the note has the keys; once the operator clicks the
/// Script tab, digits answer the script again.
#[test]
fn keys_go_to_the_note_while_it_is_typed_in_and_to_the_script_after_a_click() {
    let mut h = answered_in("Emergency");
    answer(&mut h, "Pikk 1");
    key(&mut h, egui::Key::Enter);
    h.get_by_label_contains("What happened?");
    feed(&mut h, &[ended(1)]);
    h.run();
    // The wrap-up's note has the focus: a digit is typed there.
    h.event(egui::Event::Text("1".into()));
    key(&mut h, egui::Key::Num1);
    h.get_by_label_contains("What happened?");
    assert!(
        h.query_all_by_value("1").next().is_some(),
        "typed into the note"
    );
    h.get_by_label("Script").click();
    h.run();
    key(&mut h, egui::Key::Num2); // Injury or accident
    h.get_by_label_contains("Is the person awake");
    let ws = h.state().workspace();
    let w = &ws.wrap_ups()[0];
    let f = ws.script_of(w.id).unwrap().fields();
    assert_eq!(f.get("what").map(String::as_str), Some("injury"));
}
