//! `kill -9` of a desk in the middle of syncing with the team database:
//! nothing lost, nothing doubled.
//!
//! As in `kill9_outbox.rs`, the binary runs twice. The child
//! (`SB_KILL9_DB` set) is a desk whose team database is up: it records a
//! call and queues its team copy every 20 ms, printing how many are queued
//! after each commit, while its outbox worker pushes them to PostgreSQL
//! through the team worker — so the kill lands among pushes in flight. The
//! parent kills it with SIGKILL, starts a new team worker and outbox worker
//! on the same file, as the next start of the desk would, and compares what
//! the team database holds with what the desk had queued.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::wait_until;
use switchboard::outbox_worker::{OutboxWorker, Pace};
use switchboard::team_worker::TeamWorker;
use switchboard_desk::outbox::{Backoff, Delivery, State};
use switchboard_desk::store::{CallRecord, Store};
use switchboard_desk::team::{Interaction, outbox_item};
use switchboard_desk::time::unix_ms;
use switchboard_interop::postgres::PgServer;
use switchboard_team::{Settings, TeamDb};

const NUMBER: &str = "+3725550042";

fn main() {
    common::kill9_main("kill9_team", desk, judge);
}

fn pace() -> Pace {
    Pace {
        poll: Duration::from_millis(10),
        backoff: Backoff {
            base_ms: 50,
            cap_ms: 100,
        },
        lease: Duration::from_secs(1),
    }
}

fn settings(url: &str) -> Settings {
    Settings {
        url: url.to_owned(),
        password: Some(PgServer::PASSWORD.into()),
        ca_file: None,
    }
}

/// The team worker and an outbox worker pushing through it.
fn spawn(db: &Path, url: &str) -> (TeamWorker, OutboxWorker) {
    let team = TeamWorker::spawn(settings(url), Box::new(|| {})).expect("team worker");
    let outbox = OutboxWorker::spawn_for_team(
        db.to_owned(),
        None,
        Box::new(|_| None),
        Some(team.pusher()),
        Box::new(|| {}),
        pace(),
    )
    .expect("outbox worker");
    (team, outbox)
}

fn call_id(i: usize) -> String {
    format!("kill9-team-{i}@test")
}

/// The child: a call recorded and its copy queued every 20 ms, until killed.
fn desk(db: &Path) {
    let url = std::fs::read_to_string(db.with_file_name("pg-url")).expect("the URL file");
    let store = Store::open(db).expect("store");
    let (_team, outbox) = spawn(db, url.trim());
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let now = unix_ms();
        let record = CallRecord {
            call_id: call_id(i),
            number: NUMBER.into(),
            name: Some("Ирина Смирнова".into()),
            started_ms: now,
            answered_ms: Some(now + 1),
            ended_ms: Some(now + 2),
            note: Some(format!("call {i}")),
            ..CallRecord::default()
        };
        store.record_call(&record).expect("recorded");
        let copy = Interaction::of_call(&record, "anna", now);
        assert!(
            store
                .enqueue(&outbox_item(&copy, "ended", &record.call_id), now)
                .expect("queued")
        );
        outbox.poke();
        let _ = writeln!(out, "{}", i + 1);
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What the team database holds for the test's number, by a client of its own.
fn in_team_db(url: &str) -> Vec<Interaction> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let db = TeamDb::connect(&settings(url)).await.expect("connect");
        let found = db.earlier(NUMBER, 200).await.expect("earlier");
        db.close().await;
        found
    })
}

/// The parent: kill the desk mid-sync, start again, compare.
fn judge() {
    let pg = PgServer::start("kill9-team");
    let dir = switchboard_interop::temp_dir("kill9-team");
    let db = dir.join("desk.db");
    std::fs::write(dir.join("pg-url"), pg.url()).unwrap();
    let killed = common::run_and_kill_9(&db, "the syncing desk");
    let count = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
    let must_have = killed.a_second_before().map_or(0, count);
    let last = count(killed.last());
    assert!(
        must_have >= 20,
        "only {must_have} calls a second before the kill"
    );

    let store = Store::open(&db).expect("the database opens after kill -9");
    let queued = |s: &Store| -> Vec<switchboard_desk::outbox::Item> {
        s.outbox_pending()
            .unwrap()
            .into_iter()
            .filter(|i| i.delivery == Delivery::Team)
            .collect()
    };
    let synced_before = in_team_db(&pg.url()).len();
    let left = queued(&store).len();
    assert!(
        synced_before > 0,
        "the desk was syncing when it was killed (nothing had reached the database)"
    );
    eprintln!(
        "kill9_team: {last} queued, {synced_before} in the team database at the kill, {left} still to send"
    );

    // The next start of the desk.
    let (team, outbox) = spawn(&db, &pg.url());
    assert!(
        wait_until(Duration::from_secs(30), || queued(&store).is_empty()),
        "still {} copies to send after 30 s",
        queued(&store).len()
    );
    std::thread::sleep(Duration::from_millis(300));
    drop(outbox);
    drop(team);

    let rows = in_team_db(&pg.url());
    let mut keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    keys.sort_unstable();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "a record stored twice");
    // Every call the desk recorded reached the team, once.
    let recorded: Vec<String> = (0..last + 1)
        .map(call_id)
        .filter(|id| store.call(id).ok().flatten().is_some())
        .collect();
    assert!(
        recorded.len() >= must_have,
        "{} calls on disk",
        recorded.len()
    );
    for id in &recorded {
        let key = format!("call:{id}");
        assert!(
            keys.contains(&key.as_str()),
            "{key} never reached the team database"
        );
        let item = store
            .outbox_item(&switchboard_desk::team::outbox_key(id, "ended"))
            .unwrap()
            .expect("its outbox item");
        assert_eq!(item.state, State::Sent, "{item:?}");
    }
    assert_eq!(rows.len(), recorded.len(), "nothing else arrived");
    let _ = std::fs::remove_dir_all(dir);
}
