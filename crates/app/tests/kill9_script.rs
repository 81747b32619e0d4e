//! `kill -9` in the middle of a call script loses no answer given more than
//! a second before, and the restarted desk brings the call back as a
//! wrap-up with the script where it stood.
//!
//! As in `kill9.rs`, the binary runs twice. The child (`SB_KILL9_DB` set) is
//! the desk: a triage call is answered and the operator answers its
//! questions through the real UI with keys — the address, the callback
//! number, then back and forth over the last questions, about ten keys a
//! second — printing the number of steps the script has recorded after
//! every key. The parent kills it with SIGKILL and opens the database as
//! the next start of the desk would.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::config::ScriptsSection;
use switchboard_desk::store::Store;
use switchboard_engine::CallId;
use switchboard_engine::events::EventKind;

const CALL_ID: &str = "kill9-script@test";

fn main() {
    common::kill9_main("kill9_script", operator, judge);
}

fn config() -> DeskConfig {
    let (scripts, errors) = ScriptsSection {
        queues: Some(BTreeMap::from([(
            "Emergency".to_owned(),
            "triage".to_owned(),
        )])),
        ..ScriptsSection::default()
    }
    .library();
    assert!(errors.is_empty(), "{errors:?}");
    DeskConfig {
        scripts,
        ..DeskConfig::default()
    }
}

/// The steps the script of the call in hand has recorded.
fn steps(app: &DeskApp) -> usize {
    let ws = app.workspace();
    ws.in_hand()
        .and_then(|c| ws.script_of(c.id))
        .map_or(0, |r| r.trail().len())
}

/// The child: a desk whose operator answers until killed.
fn operator(db: &std::path::Path) {
    let store = Store::open(db).expect("store");
    let mut app = DeskApp::new(config(), Some(store));
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app);
    for ev in [
        EventKind::Incoming {
            call: CallId(1),
            call_id: CALL_ID.into(),
            from: "<sip:+3725554321@pbx>;tag=1".into(),
            to: "<sip:agent@pbx>".into(),
            headers: vec![
                ("From".into(), "<sip:+3725554321@pbx>;tag=1".into()),
                ("X-Queue".into(), "Emergency".into()),
            ],
        },
        EventKind::Established {
            call: CallId(1),
            call_id: CALL_ID.into(),
            outgoing: false,
        },
    ] {
        h.state_mut().handle_event(Instant::now(), &ev);
        h.run();
    }
    h.run();
    let mut out = std::io::stdout().lock();
    let mut press = |h: &mut Harness<'_, DeskApp>, k: egui::Key| {
        h.key_press(k);
        h.run();
        h.run();
        let _ = writeln!(out, "{}", steps(h.state()));
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(100));
    };
    h.event(egui::Event::Text("Pikk 1".into()));
    press(&mut h, egui::Key::Enter);
    press(&mut h, egui::Key::Enter); // the callback number, as prefilled
    press(&mut h, egui::Key::Num1); // sudden illness
    // Awake? No, then back, then yes, then back … until killed.
    loop {
        press(&mut h, egui::Key::Num2);
        press(&mut h, egui::Key::Backspace);
    }
}

/// The parent: kill the operator mid-script, then look at the database.
fn judge() {
    let dir = std::env::temp_dir().join(format!("sb-kill9-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db");
    let killed = common::run_and_kill_9(&db, "the answering desk");
    let steps = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
    assert!(
        killed.lines.len() > 10,
        "the desk pressed only {} keys",
        killed.lines.len()
    );
    let must_have = killed.a_second_before().map_or(0, steps);
    assert!(must_have >= 4, "answering did not last over a second");
    let last = steps(killed.last());

    let store = Store::open(&db).expect("the database opens after kill -9");
    let saved = store
        .script_run(CALL_ID)
        .unwrap()
        .expect("the run is on disk");
    assert!(
        saved.trail.len() >= must_have && saved.trail.len() <= last,
        "on disk {} steps; {must_have} were recorded over a second before the kill, {last} at it",
        saved.trail.len()
    );
    assert_eq!(
        saved.fields.get("address").map(String::as_str),
        Some("Pikk 1")
    );
    eprintln!(
        "kill9_script: {last} steps answered, {} on disk at the kill, {must_have} over a second before",
        saved.trail.len()
    );

    // The next start: the call comes back as a wrap-up, its script where
    // it stood, the answers shown.
    drop(store);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(
            |ui, app: &mut DeskApp| app.ui(ui, Instant::now()),
            DeskApp::new(config(), Some(Store::open(&db).unwrap())),
        );
    h.run();
    h.get_by_label("Wrap-ups restored after a restart: 1.");
    let ws = h.state().workspace();
    let w = ws.wrap_ups().first().expect("the call's wrap-up");
    let run = ws.script_of(w.id).expect("with its script");
    assert_eq!(run.trail().len(), saved.trail.len(), "every step replayed");
    h.get_by_label_contains("address Pikk 1");
    let _ = std::fs::remove_dir_all(dir);
}
