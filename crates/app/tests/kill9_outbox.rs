//! `kill -9` while orders wait in the outbox loses none of them, and the
//! next start delivers each exactly once.
//!
//! As in `kill9.rs`, the binary runs twice. The child (`SB_KILL9_DB` set)
//! is a desk whose receiver is down: it queues an order every 50 ms (and
//! queues the first one again each time, which must not add an item),
//! printing how many are queued after each commit, while its outbox worker
//! keeps trying them (connection refused, back-off, again). The parent
//! kills it with SIGKILL — possibly in the middle of an attempt — then
//! starts the receiver and a new worker on the same database, as the next
//! start of the desk would, and counts what the receiver gets per
//! Idempotency-Key.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::{Answer, WebhookServer, wait_until};
use serde_json::json;
use switchboard::outbox_worker::{OutboxWorker, Pace};
use switchboard_desk::outbox::{Backoff, Delivery, NewItem, State};
use switchboard_desk::store::Store;
use switchboard_desk::time::unix_ms;

fn main() {
    common::kill9_main("kill9_outbox", desk, judge);
}

/// Attempts every 50–100 ms. The claim an attempt holds is a second long,
/// so an item whose attempt the kill cut short is due again a second later
/// (the desk's own pace holds it two minutes).
fn pace() -> Pace {
    Pace {
        poll: Duration::from_millis(20),
        backoff: Backoff {
            base_ms: 50,
            cap_ms: 100,
        },
        lease: Duration::from_secs(1),
    }
}

fn key(i: usize) -> String {
    format!("kill9-{i}@test/order/webhook")
}

fn order(i: usize, url: &str) -> NewItem {
    NewItem {
        key: key(i),
        call_id: Some(format!("kill9-{i}@test")),
        delivery: Delivery::Webhook {
            url: url.to_owned(),
            token_entry: None,
            result_field: Some("ticket.id".into()),
        },
        payload: json!({"order": i, "item": "Kohvimasin", "customer": "Ирина Смирнова"}),
    }
}

fn spawn_worker(db: &Path) -> OutboxWorker {
    OutboxWorker::spawn_with(
        db.to_owned(),
        None,
        Box::new(|_| None),
        Box::new(|| {}),
        pace(),
    )
    .expect("worker")
}

/// The child: queue orders for a dead receiver until killed.
fn desk(db: &Path) {
    let port = std::fs::read_to_string(db.with_file_name("port")).expect("the port file");
    let url = WebhookServer::url(port.trim().parse().expect("a port"), "/orders");
    let store = Store::open(db).expect("store");
    let w = spawn_worker(db);
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        assert!(store.enqueue(&order(i, &url), unix_ms()).expect("queued"));
        assert!(
            !store
                .enqueue(&order(0, &url), unix_ms())
                .expect("queued again")
                || i == 0,
            "the first order queued twice"
        );
        w.poke();
        let _ = writeln!(out, "{}", i + 1);
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The parent: kill the desk, restart with the receiver up, count.
fn judge() {
    let dir = switchboard_interop::temp_dir("kill9-outbox");
    let db = dir.join("desk.db");
    let port = switchboard_interop::free_port(); // closed while the child runs
    std::fs::write(dir.join("port"), port.to_string()).unwrap();
    let killed = common::run_and_kill_9(&db, "the queuing desk");
    let count = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
    let must_have = killed.a_second_before().map_or(0, count);
    let last = count(killed.last());
    assert!(
        must_have >= 10,
        "the desk queued only {must_have} orders a second before the kill"
    );

    let store = Store::open(&db).expect("the database opens after kill -9");
    let pending = store.outbox_pending().unwrap();
    let n = pending.len();
    assert!(
        n >= must_have && n <= last + 1,
        "{n} orders on disk; {must_have} were queued a second before the kill, {last} at it"
    );
    assert!(
        pending.iter().all(|i| i.state == State::Queued),
        "a dead receiver fails nothing"
    );
    let tried = pending.iter().filter(|i| i.attempts >= 1).count();
    assert!(
        tried >= must_have / 2,
        "the child's worker tried: {tried} of {n}"
    );
    assert!(
        pending
            .iter()
            .filter_map(|i| i.last_error.as_deref())
            .all(|e| e.to_lowercase().contains("refused")),
        "why they wait"
    );

    // The next start: the receiver is up, a new worker on the same file.
    let server = WebhookServer::start(port, Answer::new(200, r#"{"ticket":{"id":"T-1"}}"#));
    let started = std::time::Instant::now();
    let w = spawn_worker(&db);
    assert!(
        wait_until(Duration::from_secs(15), || {
            store.outbox_pending().is_ok_and(|p| p.is_empty())
        }),
        "still pending after 15 s: {:?}",
        store.outbox_pending().unwrap().len()
    );
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(500)); // a repeat would come now
    drop(w);
    for i in 0..n {
        let it = store.outbox_item(&key(i)).unwrap().expect("on disk");
        assert_eq!(it.state, State::Sent, "{it:?}");
        assert_eq!(it.result.as_deref(), Some("T-1"));
        assert_eq!(
            server.seen_for(&key(i)).len(),
            1,
            "order {i} reached the receiver once"
        );
    }
    assert_eq!(server.seen().len(), n, "nothing else was sent");
    eprintln!(
        "kill9_outbox: {last} queued, {n} on disk at the kill, {must_have} a second before; \
         all {n} delivered once in {took:?} after the restart"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
