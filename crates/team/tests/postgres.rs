//! The team database against a real PostgreSQL 15 (`recipes/postgres.sh`,
//! one throwaway cluster per test): migrations, the newest-wins upsert,
//! look-ups, a wrong password, a server that goes away and comes back, and
//! text beyond ASCII. Each test is bounded.

use std::future::Future;
use std::time::{Duration, Instant};

use switchboard_desk::team::{AgentPresence, Interaction, TeamContact};
use switchboard_interop::postgres::PgServer;
use switchboard_team::{Pushed, Settings, TeamDb, TeamError};

/// The most a test may take once its server runs.
const LIMIT: Duration = Duration::from_secs(60);

fn run(test: impl Future<Output = ()>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        tokio::time::timeout(LIMIT, test)
            .await
            .unwrap_or_else(|_| panic!("test did not finish within {LIMIT:?}"))
    });
}

fn settings(pg: &PgServer) -> Settings {
    Settings {
        url: pg.url(),
        password: Some(PgServer::PASSWORD.into()),
        ca_file: None,
    }
}

async fn connect(pg: &PgServer) -> TeamDb {
    TeamDb::connect(&settings(pg))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", pg.log_tail()))
}

/// A plain SQL connection of the test's own, to look behind the API.
async fn sql(pg: &PgServer) -> sqlx::PgPool {
    let url = format!(
        "postgresql://{}:{}@127.0.0.1:{}/{}",
        PgServer::USER,
        PgServer::PASSWORD,
        pg.port,
        PgServer::DATABASE
    );
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(3))
        .connect(&url)
        .await
        .expect("test's own connection")
}

async fn count(db: &sqlx::PgPool, query: &str) -> i64 {
    sqlx::query_scalar(query)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn call(key: &str, number: &str, started_ms: i64, updated_ms: i64) -> Interaction {
    Interaction {
        key: format!("call:{key}"),
        kind: "call".into(),
        agent: "anna".into(),
        number: number.into(),
        name: Some("Anna Smith".into()),
        direction: "in".into(),
        outcome: Some("answered".into()),
        outcome_detail: None,
        started_ms,
        answered_ms: Some(started_ms + 4_000),
        ended_ms: Some(started_ms + 95_000),
        disposition: Some("resolved".into()),
        ticket: Some("4711".into()),
        note: Some("Order late.\nPromised a call back.".into()),
        transfers: None,
        script: None,
        form: None,
        updated_ms,
    }
}

fn presence(agent: &str, state: &str, since_ms: i64, updated_ms: i64) -> AgentPresence {
    AgentPresence {
        agent: agent.into(),
        extension: Some("204".into()),
        state: state.into(),
        reason: None,
        since_ms,
        call_number: None,
        call_name: None,
        help_since_ms: None,
        updated_ms,
    }
}

#[test]
fn connect_runs_the_migrations_and_twice_is_fine() {
    let pg = PgServer::start("pg-migrate");
    run(async {
        let first = connect(&pg).await;
        let second = connect(&pg).await;
        assert_eq!(first.target(), format!("app@127.0.0.1:{}/app", pg.port));
        let db = sql(&pg).await;
        assert_eq!(
            count(&db, "SELECT count(*) FROM _sqlx_migrations WHERE success").await,
            2
        );
        for table in ["interactions", "agent_states", "contacts"] {
            let q = format!("SELECT count(*) FROM {table}");
            assert_eq!(count(&db, &q).await, 0, "{table}");
        }
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'interactions' \
                 AND indexname IN ('interactions_number_started', 'interactions_agent_started')"
            )
            .await,
            2
        );
        first.close().await;
        second.close().await;
        assert_eq!(
            first.push(&call("after-close", "+1", 1, 1)).await,
            Err(TeamError::Closed)
        );
    });
}

#[test]
fn push_then_earlier_gives_it_back_and_a_replay_is_kept_once() {
    let pg = PgServer::start("pg-push");
    run(async {
        let team = connect(&pg).await;
        let mut i = call("a1", "+3725550100", 1_700_000_000_000, 1_700_000_100_000);
        i.outcome_detail = Some("transferred to bob".into());
        i.transfers = Some("anna → bob".into());
        i.answered_ms = None;
        assert_eq!(team.push(&i).await, Ok(Pushed::Stored));
        assert_eq!(team.earlier(&i.number, 10).await, Ok(vec![i.clone()]));

        assert_eq!(team.push(&i).await, Ok(Pushed::Kept));
        let db = sql(&pg).await;
        assert_eq!(count(&db, "SELECT count(*) FROM interactions").await, 1);
        assert_eq!(team.earlier(&i.number, 10).await, Ok(vec![i]));
    });
}

#[test]
fn the_newer_copy_wins_an_older_or_equal_one_is_kept_out() {
    let pg = PgServer::start("pg-newest");
    run(async {
        let team = connect(&pg).await;
        let first = call("n1", "+3725550101", 1_000, 2_000);
        assert_eq!(team.push(&first).await, Ok(Pushed::Stored));

        let mut wrapped = first.clone();
        wrapped.updated_ms = 3_000;
        wrapped.note = Some("Refund sent.".into());
        wrapped.disposition = Some("refund".into());
        assert_eq!(team.push(&wrapped).await, Ok(Pushed::Stored));
        assert_eq!(
            team.earlier(&first.number, 5).await,
            Ok(vec![wrapped.clone()])
        );

        // A copy older than the stored one arrives late: it loses.
        let mut late = first.clone();
        late.updated_ms = 2_500;
        late.note = Some("stale".into());
        assert_eq!(team.push(&late).await, Ok(Pushed::Kept));
        // Equal times keep the stored copy.
        let mut tie = wrapped.clone();
        tie.note = Some("same time, other desk".into());
        assert_eq!(team.push(&tie).await, Ok(Pushed::Kept));
        assert_eq!(team.earlier(&first.number, 5).await, Ok(vec![wrapped]));
    });
}

#[test]
fn earlier_is_newest_first_limited_and_by_number() {
    let pg = PgServer::start("pg-earlier");
    run(async {
        let team = connect(&pg).await;
        let number = "+3725550102";
        for (n, started) in [
            (1, 10_000),
            (2, 50_000),
            (3, 30_000),
            (4, 40_000),
            (5, 20_000),
        ] {
            let i = call(&format!("e{n}"), number, started, started + 1);
            assert_eq!(team.push(&i).await, Ok(Pushed::Stored));
        }
        let other = call("other", "+3725550999", 99_000, 99_001);
        assert_eq!(team.push(&other).await, Ok(Pushed::Stored));

        let got = team.earlier(number, 3).await.expect("earlier");
        let started: Vec<i64> = got.iter().map(|i| i.started_ms).collect();
        assert_eq!(started, [50_000, 40_000, 30_000]);
        assert_eq!(team.earlier(number, 100).await.map(|v| v.len()), Ok(5));
        assert_eq!(team.earlier(number, 0).await, Ok(vec![]));
        assert_eq!(team.earlier(number, -3).await, Ok(vec![]));
        assert_eq!(team.earlier("+0000", 10).await, Ok(vec![]));
    });
}

#[test]
fn agent_presence_newest_wins_and_the_board_shows_it_with_todays_figures() {
    let pg = PgServer::start("pg-state");
    run(async {
        let team = connect(&pg).await;
        let state = |b: &switchboard_desk::team::Board| {
            b.agents
                .iter()
                .find(|a| a.agent == "jüri")
                .map(|a| (a.state.clone(), a.since_ms, a.updated_ms))
        };
        let pushed = team
            .set_presence(&presence("jüri", "available", 100, 100))
            .await;
        assert_eq!(pushed, Ok(Pushed::Stored));
        let mut on_call = presence("jüri", "in_call", 200, 210);
        on_call.call_number = Some("+3725550100".into());
        on_call.help_since_ms = Some(205);
        assert_eq!(team.set_presence(&on_call).await, Ok(Pushed::Stored));
        let late = team
            .set_presence(&presence("jüri", "break", 150, 150))
            .await;
        assert_eq!(late, Ok(Pushed::Kept), "an older copy arriving late");
        let board = team.board(0).await.unwrap();
        assert_eq!(state(&board), Some(("in_call".into(), 200, 210)));
        assert_eq!(board.help_requests().len(), 1);
        assert_eq!(
            board.help_requests()[0].call_number.as_deref(),
            Some("+3725550100")
        );

        // Today's figures: two answered calls (95 s and 30 s of talk), one
        // missed, one e-mail; yesterday's call is not counted.
        let today = 1_700_000_000_000;
        let mut a = call("f1", "+1", today + 1_000, today + 200_000);
        a.agent = "jüri".into();
        let mut b = call("f2", "+2", today + 2_000, today + 200_000);
        b.agent = "jüri".into();
        b.ended_ms = Some(today + 2_000 + 4_000 + 30_000);
        let mut missed = call("f3", "+3", today + 3_000, today + 200_000);
        missed.agent = "jüri".into();
        missed.answered_ms = None;
        missed.outcome = Some("missed".into());
        let mut mail = call("f4", "mari@example.ee", today + 4_000, today + 200_000);
        mail.key = "mail:<f4@example.ee>".into();
        mail.kind = "mail".into();
        mail.agent = "jüri".into();
        let mut old = call("f5", "+5", today - 86_400_000, today);
        old.agent = "jüri".into();
        for i in [&a, &b, &missed, &mail, &old] {
            assert_eq!(team.push(i).await, Ok(Pushed::Stored));
        }
        let board = team.board(today).await.unwrap();
        let f = board.figures_of("jüri").expect("figures");
        assert_eq!((f.calls, f.missed, f.emails), (2, 1, 1), "{f:?}");
        assert_eq!(f.talk_ms, 91_000 + 30_000);
        assert_eq!(f.avg_talk_ms(), Some(60_500));
    });
}

#[test]
fn a_contact_edited_on_two_desks_keeps_the_newest_edit_and_a_deletion_is_a_copy_too() {
    let pg = PgServer::start("pg-contacts");
    run(async {
        let team = connect(&pg).await;
        let contact = |name: &str, agent: &str, deleted: bool, at: i64| TeamContact {
            contact_number: "+3725550100".into(),
            name: name.into(),
            company: Some("Maasikas OÜ".into()),
            note: None,
            email: None,
            agent: agent.into(),
            deleted,
            updated_ms: at,
        };
        assert_eq!(team.contact("+3725550100").await, Ok(None));
        // Anna edits at 100, Boris at 300; Anna's copy arrives last.
        let boris = contact("Mari Maasikas (CEO)", "boris", false, 300);
        assert_eq!(team.push_contact(&boris).await, Ok(Pushed::Stored));
        let anna = contact("Mari Maasikas", "anna", false, 100);
        assert_eq!(team.push_contact(&anna).await, Ok(Pushed::Kept));
        assert_eq!(team.contact(" +3725550100 ").await, Ok(Some(boris.clone())));
        // A deletion later than both wins the same way; an older edit does not undo it.
        let gone = contact("Mari Maasikas", "anna", true, 400);
        assert_eq!(team.push_contact(&gone).await, Ok(Pushed::Stored));
        assert_eq!(team.push_contact(&boris).await, Ok(Pushed::Kept));
        assert_eq!(team.contact("+3725550100").await, Ok(Some(gone)));
    });
}

#[test]
fn script_answers_and_form_data_travel_with_the_interaction() {
    let pg = PgServer::start("pg-script");
    run(async {
        let team = connect(&pg).await;
        let mut i = call("s1", "+3725550199", 10, 20);
        i.script = Some("Is anyone hurt?: no\nWhere are you?: Tartu, Riia 5".into());
        i.form = Some(r#"[{"form":"order","fields":{"item":"Tõukeratas"}}]"#.into());
        assert_eq!(team.push(&i).await, Ok(Pushed::Stored));
        assert_eq!(team.earlier("+3725550199", 5).await, Ok(vec![i]));
    });
}

#[test]
fn a_wrong_password_is_an_auth_error_in_words() {
    let pg = PgServer::start("pg-auth");
    run(async {
        let mut s = settings(&pg);
        s.password = Some("not-the-password-x7".into());
        let t = Instant::now();
        let e = TeamDb::connect(&s).await.expect_err("wrong password");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        let text = e.to_string();
        assert!(matches!(e, TeamError::Auth(_)), "{e:?}");
        assert!(
            text.contains("password authentication failed") && text.contains("keyring"),
            "{text}"
        );
        assert!(!text.contains("not-the-password-x7"), "{text}");

        // The password given overrides a wrong one in the URL.
        let s = Settings {
            url: format!("postgresql://app:wrong-in-url@127.0.0.1:{}/app", pg.port),
            password: Some(PgServer::PASSWORD.into()),
            ca_file: None,
        };
        let team = TeamDb::connect(&s).await.expect("keyring password wins");
        assert_eq!(team.earlier("+1", 1).await, Ok(vec![]));
    });
}

#[test]
fn tls_required_of_a_server_without_it_is_a_tls_error() {
    let pg = PgServer::start("pg-tls");
    run(async {
        let mut s = settings(&pg);
        s.url.push_str("?sslmode=require");
        let e = TeamDb::connect(&s)
            .await
            .expect_err("the server has no TLS");
        assert!(matches!(e, TeamError::Tls(_)), "{e:?}");
        assert!(e.to_string().contains("does not support TLS"), "{e}");
    });
}

#[test]
fn nothing_listening_is_a_connect_error() {
    let port = switchboard_interop::free_port();
    run(async {
        let s = Settings {
            url: format!("postgres://app@127.0.0.1:{port}/app"),
            password: Some("x".into()),
            ca_file: None,
        };
        let t = Instant::now();
        let e = TeamDb::connect(&s).await.expect_err("nobody there");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(matches!(e, TeamError::Connect(_)), "{e:?}");
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    });
}

#[test]
fn a_stopped_server_fails_within_the_bound_and_a_restart_recovers() {
    let mut pg = PgServer::start("pg-restart");
    run(async {
        let team = connect(&pg).await;
        let before = call("r1", "+3725550103", 1_000, 1_001);
        assert_eq!(team.push(&before).await, Ok(Pushed::Stored));

        pg.stop();
        let during = call("r2", "+3725550103", 2_000, 2_001);
        let t = Instant::now();
        let e = team.push(&during).await.expect_err("the server is down");
        let took = t.elapsed();
        eprintln!("while down: push failed in {took:?}: {e}");
        assert!(
            matches!(e, TeamError::Connect(_) | TeamError::Timeout(_)),
            "{e:?}"
        );
        assert!(
            took <= Duration::from_millis(5_500),
            "push failed after {took:?}"
        );
        let t = Instant::now();
        let e = team
            .earlier("+3725550103", 5)
            .await
            .expect_err("still down");
        assert!(
            matches!(e, TeamError::Connect(_) | TeamError::Timeout(_)),
            "{e:?}"
        );
        assert!(
            t.elapsed() <= Duration::from_millis(2_500),
            "{:?}",
            t.elapsed()
        );
        eprintln!("while down: earlier failed in {:?}: {e}", t.elapsed());

        let t = Instant::now();
        pg.restart();
        eprintln!("restarted in {:?}", t.elapsed());
        assert_eq!(team.push(&during).await, Ok(Pushed::Stored));
        let got = team.earlier("+3725550103", 5).await.expect("earlier");
        assert_eq!(got, vec![during, before]);
    });
}

#[test]
fn names_and_notes_beyond_ascii_round_trip() {
    let pg = PgServer::start("pg-unicode");
    run(async {
        let team = connect(&pg).await;
        let mut juri = call("u1", "+372 5550 1234", 5_000, 5_001);
        juri.name = Some("Jüri Õunapuu".into());
        juri.agent = "Žiga Čebular".into();
        juri.note = Some("Tellimus 4711 hilineb – palun abi 📦\nÄra unusta!".into());
        let mut irina = call("u2", "+372 5550 1234", 6_000, 6_001);
        irina.name = Some("Ирина Смирнова".into());
        irina.note = Some("Перезвонить завтра".into());
        irina.transfers = Some("anna → Сергей\nСергей → Kaarel".into());
        assert_eq!(team.push(&juri).await, Ok(Pushed::Stored));
        assert_eq!(team.push(&irina).await, Ok(Pushed::Stored));
        assert_eq!(
            team.earlier("+372 5550 1234", 10).await,
            Ok(vec![irina, juri])
        );

        // NUL, which PostgreSQL text cannot hold, is stored as U+FFFD.
        let mut nul = call("u3", "+372 5550 9999", 7_000, 7_001);
        nul.note = Some("a\0b".into());
        assert_eq!(team.push(&nul).await, Ok(Pushed::Stored));
        let got = team.earlier("+372 5550 9999", 1).await.expect("earlier");
        assert_eq!(got[0].note.as_deref(), Some("a\u{FFFD}b"));
    });
}

#[test]
fn tls_to_the_database_is_verified_against_the_ca_and_the_host_name() {
    let pg = PgServer::start("pg-tls");
    let ca = pg.enable_tls();
    run(async {
        let url = |host: &str| {
            format!(
                "postgresql://{}@{host}:{}/{}",
                PgServer::USER,
                pg.port,
                PgServer::DATABASE
            )
        };
        // The CA given: verify-full (the crate's rule), the name matches.
        let good = Settings {
            url: url("localhost"),
            password: Some(PgServer::PASSWORD.into()),
            ca_file: Some(ca.clone()),
        };
        let team = TeamDb::connect(&good)
            .await
            .unwrap_or_else(|e| panic!("TLS connect: {e}\n{}", pg.log_tail()));
        assert_eq!(
            team.push(&call("tls1", "+3725550111", 1, 2)).await,
            Ok(Pushed::Stored)
        );
        let encrypted = pg.psql(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl AND application_name = 'switchboard-desk'",
        );
        assert!(
            encrypted.trim().parse::<i64>().unwrap_or(0) >= 1,
            "the desk's connection is not encrypted: {encrypted}"
        );
        team.close().await;

        // The same server by an address its certificate does not name.
        let by_ip = Settings {
            url: url("127.0.0.1"),
            ..good.clone()
        };
        let e = TeamDb::connect(&by_ip).await.expect_err("a name mismatch");
        assert!(matches!(e, TeamError::Tls(_)), "{e:?}");

        // A CA that signed nothing of the server's.
        let other = switchboard_interop::mail::unrelated_ca(&pg.dir.join("other"));
        let wrong_ca = Settings {
            ca_file: Some(other),
            ..good.clone()
        };
        let e = TeamDb::connect(&wrong_ca).await.expect_err("an unknown CA");
        assert!(matches!(e, TeamError::Tls(_)), "{e:?}");
        assert!(e.to_string().contains("TLS"), "{e}");
    });
}
