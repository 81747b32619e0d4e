//! `cargo bench -p switchboard-team --bench team`: one team database of
//! `recipes/postgres.sh` (PostgreSQL 15 on 127.0.0.1) taking a shift.
//!
//! 1. **A shift**: 20 desks, each with its own pool, each pushing 400
//!    calls, every call twice as a desk does (when it ends, and again with
//!    its wrap-up), all desks at once: wall time, pushes per second, and
//!    the latency of one push (p50 / p99 / max).
//! 2. **Earlier interactions at 1 million rows**: the table filled to
//!    1,000,000 interactions over 100,000 numbers (generate_series, in the
//!    server), then 2,000 look-ups of the 20 newest for a random number,
//!    one after another, as a ringing call makes them: p50 / p99 / max.
//!
//! Prints figures; asserts nothing about speed.

use std::time::{Duration, Instant};

use switchboard_desk::team::Interaction;
use switchboard_interop::postgres::PgServer;
use switchboard_team::{Settings, TeamDb};

const DESKS: usize = 20;
const CALLS: usize = 400;
const ROWS: i64 = 1_000_000;
const NUMBERS: i64 = 100_000;
const LOOKUPS: usize = 2_000;

fn settings(pg: &PgServer) -> Settings {
    Settings {
        url: pg.url(),
        password: Some(PgServer::PASSWORD.into()),
        ca_file: None,
    }
}

fn call(desk: usize, i: usize, stage: i64) -> Interaction {
    let started = 1_700_000_000_000 + (i as i64) * 60_000;
    Interaction {
        key: format!("call:bench-{desk}-{i}@test"),
        kind: "call".into(),
        agent: format!("agent{desk:02}"),
        number: format!("+37255{:06}", (desk * CALLS + i) % 5_000),
        name: Some("Mari Maasikas".into()),
        direction: "in".into(),
        outcome: Some("answered".into()),
        outcome_detail: None,
        started_ms: started,
        answered_ms: Some(started + 5_000),
        ended_ms: Some(started + 180_000),
        disposition: (stage == 2).then(|| "Question answered".into()),
        ticket: None,
        note: (stage == 2).then(|| "Asked about the invoice; explained the late fee.".into()),
        transfers: None,
        script: None,
        form: None,
        updated_ms: started + 180_000 + stage,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let pg = PgServer::start("bench-team");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        // 1. A shift.
        let mut desks = Vec::new();
        for _ in 0..DESKS {
            desks.push(TeamDb::connect(&settings(&pg)).await.expect("connect"));
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (d, db) in desks.iter().enumerate() {
            let db = db.clone();
            tasks.push(tokio::task::spawn_local(async move {
                let mut took = Vec::with_capacity(CALLS * 2);
                for i in 0..CALLS {
                    for stage in [1, 2] {
                        let t = Instant::now();
                        let _ = db.push(&call(d, i, stage)).await.expect("push");
                        took.push(t.elapsed());
                    }
                }
                took
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("a desk"));
        }
        let wall = started.elapsed();
        all.sort_unstable();
        let pushes = all.len();
        println!(
            "shift: {DESKS} desks x {CALLS} calls, {pushes} pushes in {:.2} s = {:.0} pushes/s; \
             one push p50 {} p99 {} max {}",
            wall.as_secs_f64(),
            pushes as f64 / wall.as_secs_f64(),
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
            ms(all.last().copied().unwrap_or_default()),
        );
        for db in &desks {
            db.close().await;
        }

        // 2. Earlier interactions at 1 million rows.
        let fill = Instant::now();
        pg.psql_in(
            PgServer::DATABASE,
            &format!(
                "INSERT INTO interactions (key, kind, agent, number, name, direction, outcome, \
             started_ms, answered_ms, ended_ms, note, updated_ms) \
             SELECT 'call:fill-' || g || '@test', 'call', 'agent' || (g % 20), \
             '+3726' || lpad((g % {NUMBERS})::text, 6, '0'), 'Caller ' || g, 'in', 'answered', \
             1600000000000 + g * 1000, 1600000000000 + g * 1000 + 5000, \
             1600000000000 + g * 1000 + 90000, 'note ' || g, 1600000000000 + g * 1000 + 90000 \
             FROM generate_series(1, {ROWS}) AS g"
            ),
        );
        pg.psql_in(PgServer::DATABASE, "ANALYZE interactions");
        let rows = pg.psql_in(PgServer::DATABASE, "SELECT count(*) FROM interactions");
        println!(
            "filled to {} rows in {:.1} s",
            rows.trim(),
            fill.elapsed().as_secs_f64()
        );
        let db = TeamDb::connect(&settings(&pg)).await.expect("connect");
        let mut took = Vec::with_capacity(LOOKUPS);
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut found = 0;
        for _ in 0..LOOKUPS {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let number = format!("+3726{:06}", seed % NUMBERS as u64);
            let t = Instant::now();
            found += db.earlier(&number, 20).await.expect("earlier").len();
            took.push(t.elapsed());
        }
        took.sort_unstable();
        println!(
            "earlier (20 newest) at {} rows: {LOOKUPS} look-ups, {:.1} rows each; \
             p50 {} p99 {} max {}",
            rows.trim(),
            found as f64 / LOOKUPS as f64,
            ms(percentile(&took, 0.5)),
            ms(percentile(&took, 0.99)),
            ms(took.last().copied().unwrap_or_default()),
        );
        db.close().await;
    });
}
