//! The team's shared history against a real PostgreSQL (recipes/postgres.sh
//! on 127.0.0.1): two desks, each with its own database file, one team
//! database.
//!
//! - Anna takes a call and saves a note; Boris gets a call from the same
//!   number and sees Anna's note, with her name, before answering.
//! - The team database is stopped while Anna takes three calls, then
//!   started again: every record arrives, once, and the desk never stopped
//!   working meanwhile.

mod common;

use std::time::{Duration, Instant};

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::outbox_worker::Pace;
use switchboard::{DeskApp, Intent, Wake};
use switchboard_desk::outbox::{Backoff, Delivery, State};
use switchboard_desk::store::{Draft, Store};
use switchboard_desk::team::TeamView;
use switchboard_desk::workspace::Op;
use switchboard_interop::postgres::PgServer;
use switchboard_interop::temp_dir;
use switchboard_team::{Settings, TeamDb};

const NUMBER: &str = "+3725551234";

fn settings(pg: &PgServer) -> Settings {
    Settings {
        url: pg.url(),
        password: Some("app-secret".into()),
        ca_file: None,
    }
}

fn fast() -> Pace {
    Pace {
        poll: Duration::from_millis(50),
        backoff: Backoff {
            base_ms: 200,
            cap_ms: 500,
        },
        lease: Duration::from_secs(10),
    }
}

/// An available desk of `agent` with its own database in `dir`, sharing
/// its history through `pg`.
fn team_desk(pg: &PgServer, dir: &std::path::Path, agent: &str) -> Harness<'static, DeskApp> {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("desk.db");
    let mut app = DeskApp::new(config(), Some(Store::open(&db).unwrap()));
    app.set_operator(agent);
    app.start_team(settings(pg), Wake::none())
        .expect("team worker");
    app.start_outbox(db, None, fast(), Box::new(|_| None), Wake::none())
        .expect("outbox");
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

use switchboard_desk::agent::AgentState;

/// A call from Mari: answered, ended, its wrap-up saved with `note`.
fn take_call(h: &mut Harness<'static, DeskApp>, call: u64, note: &str) {
    feed(
        h,
        &[incoming_from(call, "Mari Maasikas", NUMBER, "Billing")],
    );
    h.state_mut().apply(Instant::now(), Intent::Op(Op::Answer));
    feed(h, &[established(call), ended(call)]);
    let wrap = h.state().workspace().wrap_ups()[0].id;
    let draft = Draft {
        note: note.into(),
        disposition: Some("Complaint".into()),
        ..Draft::default()
    };
    let now = Instant::now();
    h.state_mut()
        .apply(now, Intent::Op(Op::EditDraft(wrap, draft)));
    h.state_mut().apply(now, Intent::Op(Op::SaveWrapUp(wrap)));
    h.run();
}

/// The desk's team copies still waiting in its outbox.
fn team_pending(h: &Harness<'static, DeskApp>) -> Vec<switchboard_desk::outbox::Item> {
    h.state()
        .store()
        .unwrap()
        .outbox_pending()
        .unwrap()
        .into_iter()
        .filter(|i| i.delivery == Delivery::Team)
        .collect()
}

/// What the team database holds for `NUMBER`, asked by a client of its own.
fn in_team_db(pg: &PgServer) -> Vec<switchboard_desk::team::Interaction> {
    imap(async {
        let db = TeamDb::connect(&settings(pg)).await.expect("connect");
        let found = db.earlier(NUMBER, 100).await.expect("earlier");
        db.close().await;
        found
    })
}

#[test]
fn a_note_saved_on_one_desk_is_on_the_next_desks_screen_before_it_answers() {
    let pg = PgServer::start("team-two-desks");
    let dir = temp_dir("team-two-desks");
    let mut anna = team_desk(&pg, &dir.join("anna"), "anna");
    let mut boris = team_desk(&pg, &dir.join("boris"), "boris");

    take_call(
        &mut anna,
        1,
        "Arve tuli topelt; lubasin homme tagasi helistada.",
    );
    assert!(
        frames_until(&mut anna, Duration::from_secs(20), |h| team_pending(h)
            .is_empty()),
        "the copies reached the team database: {:?}",
        team_pending(&anna)
    );

    // The next day Mari calls again and reaches Boris.
    feed(
        &mut boris,
        &[incoming_from(7, "Mari Maasikas", NUMBER, "Billing")],
    );
    assert!(
        frames_until(&mut boris, Duration::from_secs(10), |h| {
            matches!(
                &h.state().workspace().calls()[0].team,
                Some(TeamView::Found(f)) if !f.is_empty()
            )
        }),
        "the team's history came: {:?}",
        boris.state().workspace().calls()[0].team
    );
    // Still ringing: the Customer tab shows Anna's note and her name.
    assert!(boris.state().workspace().in_hand().is_none());
    boris.run();
    boris.get_by_label_contains("lubasin homme tagasi helistada");
    boris.get_by_label_contains("handled by anna");
}

#[test]
fn calls_taken_while_the_team_database_is_down_arrive_once_when_it_is_back() {
    let mut pg = PgServer::start("team-down");
    let dir = temp_dir("team-down");
    let mut anna = team_desk(&pg, &dir, "anna");
    // The first call goes through at once (the pool is open).
    take_call(&mut anna, 1, "Esimene kõne");
    assert!(
        frames_until(&mut anna, Duration::from_secs(20), |h| team_pending(h)
            .is_empty()),
        "first copy sent"
    );

    pg.stop();
    for (call, note) in [(2, "Teine kõne"), (3, "Kolmas kõne"), (4, "Neljas kõne")] {
        take_call(&mut anna, call, note);
    }
    // The desk worked on: every wrap-up is saved locally, the copies wait
    // with the reason.
    assert_eq!(anna.state().workspace().stats().handled, 4);
    assert!(
        frames_until(&mut anna, Duration::from_secs(20), |h| {
            let p = team_pending(h);
            p.len() == 6 && p.iter().all(|i| i.attempts >= 1 && i.last_error.is_some())
        }),
        "three calls' copies (ended, wrapped) wait: {:?}",
        team_pending(&anna)
    );

    pg.restart();
    assert!(
        frames_until(&mut anna, Duration::from_secs(30), |h| team_pending(h)
            .is_empty()),
        "sent after the restart: {:?}",
        team_pending(&anna)
    );
    let rows = in_team_db(&pg);
    let mut notes: Vec<&str> = rows.iter().filter_map(|r| r.note.as_deref()).collect();
    notes.sort_unstable();
    assert_eq!(
        notes,
        ["Esimene kõne", "Kolmas kõne", "Neljas kõne", "Teine kõne"],
        "each call once, with its note: {rows:#?}"
    );
    assert!(rows.iter().all(|r| r.agent == "anna"));
    let sent = anna
        .state()
        .store()
        .unwrap()
        .outbox_sent_since(0)
        .unwrap()
        .into_iter()
        .filter(|i| i.delivery == Delivery::Team && i.state == State::Sent)
        .count();
    assert_eq!(sent, 8, "two copies a call, each sent once");
}

#[test]
fn a_raised_hand_is_on_the_supervisors_board_with_the_caller_and_listen_dials_the_pbx_code() {
    let pg = PgServer::start("team-board");
    let dir = temp_dir("team-board");
    let mut anna = team_desk(&pg, &dir.join("anna"), "anna");
    anna.state_mut().set_extension(Some("204".into()));
    let mut sille = team_desk(&pg, &dir.join("sille"), "sille");
    sille
        .state_mut()
        .set_supervisor(Some(switchboard_desk::config::FeatureCodes {
            listen: Some("*222{ext}".into()),
            whisper: Some("*223{ext}".into()),
            barge: Some("*224{ext}".into()),
        }));
    let _ = sille.state_mut().take_commands();

    // Anna is on a call with Mari and asks for help.
    feed(
        &mut anna,
        &[incoming_from(1, "Mari Maasikas", NUMBER, "Billing")],
    );
    anna.state_mut()
        .apply(Instant::now(), Intent::Op(Op::Answer));
    feed(&mut anna, &[established(1)]);
    anna.get_by_label("Raise hand").click();
    anna.run();
    assert!(anna.state().workspace().hand_raised().is_some());
    assert!(
        anna.query_by_label_contains("Your hand is up").is_some(),
        "the operator sees the hand is up"
    );

    // Sille's Team tab shows it, with the caller, at the top.
    sille.run();
    sille.get_by_label("Team").click();
    let help = "anna asks for help, on a call with Mari Maasikas (+3725551234)";
    assert!(
        frames_until(&mut sille, Duration::from_secs(20), |h| {
            h.query_by_label_contains(help).is_some()
        }),
        "the supervisor never saw the raised hand; board: {:?}",
        sille.state().board()
    );
    assert!(
        sille.query_by_label_contains("204").is_some(),
        "the extension"
    );
    sille.get_by_label("Listen anna").click();
    sille.run();
    let dialled: Vec<String> = sille
        .state_mut()
        .take_commands()
        .into_iter()
        .filter_map(|c| match c {
            switchboard_engine::Command::Call { target, .. } => Some(target),
            _ => None,
        })
        .collect();
    assert_eq!(dialled.len(), 1, "{dialled:?}");
    assert!(
        dialled[0].contains("*222204"),
        "the listen code for 204: {dialled:?}"
    );

    // The hand comes down with the call.
    feed(&mut anna, &[ended(1)]);
    assert!(anna.state().workspace().hand_raised().is_none());
    assert!(
        frames_until(&mut sille, Duration::from_secs(20), |h| {
            h.query_by_label_contains("asks for help").is_none()
        }),
        "the request stayed on the board after the call"
    );
}
