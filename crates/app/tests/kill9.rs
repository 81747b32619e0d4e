//! `kill -9` while the operator types a wrap-up note loses nothing typed
//! more than a second before.
//!
//! The same test binary runs twice. As the child (`SB_KILL9_DB` set) it is
//! the desk: a call ends, the operator types a note key by key through the
//! real UI (egui_kittest) and the desk runs its frames with the real SQLite
//! store, printing what is on screen after every key. The parent reads those
//! lines, kills the child with SIGKILL in the middle of a word, and opens the
//! database as the next start of the desk would: the draft must hold
//! everything on screen a second before the kill, and the restarted desk
//! shows it.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::store::Store;
use switchboard_engine::events::EventKind;
use switchboard_engine::{CallId, EndReason};

const NOTE: &str = "Customer reports the parcel 4711 never arrived; promised a callback tomorrow at 10:00 with the courier's answer. ";

fn main() {
    common::kill9_main("kill9", typist, judge);
}

/// The child: a desk whose operator types until killed.
fn typist(db: &std::path::Path) {
    let store = Store::open(db).expect("store");
    let mut app = DeskApp::new(DeskConfig::default(), Some(store));
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    let mut h = Harness::new_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app);
    let call_id = "kill9@test".to_owned();
    for ev in [
        EventKind::Incoming {
            call: CallId(1),
            call_id: call_id.clone(),
            from: "<sip:+3725551234@pbx>;tag=1".into(),
            to: "<sip:agent@pbx>".into(),
            headers: vec![("From".into(), "<sip:+3725551234@pbx>;tag=1".into())],
        },
        EventKind::Established {
            call: CallId(1),
            call_id: call_id.clone(),
            outgoing: false,
        },
        EventKind::Ended {
            call: CallId(1),
            call_id,
            reason: EndReason::RemoteHangup,
            status: None,
            stats: Default::default(),
            calls_left: 0,
        },
    ] {
        h.state_mut().handle_event(Instant::now(), &ev);
        h.run();
    }
    h.get_by_label("Note:").click();
    h.run();
    let mut out = std::io::stdout().lock();
    let mut typed = String::new();
    // Types forever (the parent kills us), about 15 keys a second.
    for c in NOTE.chars().cycle() {
        h.get_by_label("Note:").type_text(&c.to_string());
        h.run();
        typed.push(c);
        let _ = writeln!(out, "{typed}");
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(60));
    }
}

/// The parent: kill the typist mid-word, then look at the database.
fn judge() {
    let dir = std::env::temp_dir().join(format!("sb-kill9-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db");
    let killed = common::run_and_kill_9(&db, "the typing desk");
    assert!(
        killed.lines.len() > 10,
        "the desk typed only {} keys",
        killed.lines.len()
    );
    let last = killed.last();
    let must_have = killed.a_second_before().unwrap_or_default().to_owned();
    assert!(!must_have.is_empty(), "typing did not last over a second");

    let store = Store::open(&db).expect("the database opens after kill -9");
    let drafts = store.pending_drafts().unwrap();
    assert_eq!(drafts.len(), 1, "one wrap-up was open");
    let saved = &drafts[0].1.note;
    assert!(
        saved.starts_with(&must_have),
        "draft lost text typed over a second before the kill:\n saved: {saved:?}\n typed: {must_have:?}"
    );
    assert!(
        last.starts_with(saved.as_str()),
        "draft {saved:?} is not what was typed"
    );
    eprintln!(
        "kill9: {} keys typed, {} on disk at the kill, {} typed in the last second",
        last.chars().count(),
        saved.chars().count(),
        last.chars().count() - must_have.chars().count()
    );

    // The next start of the desk shows the note.
    drop(store);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(
            |ui, app: &mut DeskApp| app.ui(ui, Instant::now()),
            DeskApp::new(DeskConfig::default(), Some(Store::open(&db).unwrap())),
        );
    h.run();
    h.get_by_label("Wrap-ups restored after a restart: 1.");
    // What was on disk is on the screen, in the form, ready to finish.
    assert!(
        h.query_all_by_value(saved).next().is_some(),
        "the restored note is in the form"
    );
    let _ = std::fs::remove_dir_all(dir);
}
