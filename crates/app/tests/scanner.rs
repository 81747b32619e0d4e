//! A registered desk scanned the way toll-fraud bots scan: in a private
//! network namespace (only `lo`), kamailio on 127.0.0.2 is the desk's
//! registrar, so the desk trusts that address alone; sipvicious (svmap,
//! svwar with INVITE, REGISTER and OPTIONS) scans it from 127.0.0.1. Nothing
//! rings on the desk, nothing reaches its history, and a call through the
//! registrar still rings.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use switchboard::{DeskApp, DeskConfig};
use switchboard_desk::agent::AgentState;
use switchboard_desk::store::{HistoryFilter, Store};
use switchboard_engine::events::EventKind;
use switchboard_engine::{AccountConfig, Engine, EngineConfig, Policy};
use switchboard_interop::{
    Agent, Kamailio, enter_private_netns, free_port, require, sipvicious, sipvicious_rows, temp_dir,
};

#[test]
fn a_scan_of_a_registered_desk_rings_nothing_and_leaves_no_history() {
    require("svwar");
    enter_private_netns();
    let dir = temp_dir("desk-scan");
    let registrar = Ipv4Addr::new(127, 0, 0, 2);
    let kamailio = Kamailio::start_at(registrar, free_port());
    let (engine, mut events) = Engine::start(EngineConfig {
        account: Some(AccountConfig {
            registrar: kamailio.uri(),
            username: "150".into(),
            password: "secret".into(),
            realm: None,
            expires: 600,
        }),
        policy: Policy::desktop(),
        ..EngineConfig::headless(SocketAddr::from(([127, 0, 0, 1], 0)), "150")
    })
    .expect("engine");
    let port = engine.local_addr().port();
    let store = Store::open(&dir.join("desk.db")).expect("store");
    let desk = DeskApp::new(DeskConfig::default(), Some(store));
    let mut h = Harness::new_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), desk);
    let mut seen: Vec<EventKind> = Vec::new();
    // Engine events into the desk (and the desk's commands out), bounded.
    let mut pump = |h: &mut Harness<'_, DeskApp>, seen: &mut Vec<EventKind>, secs: u64| {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            while let Ok(ev) = events.try_recv() {
                h.state_mut().handle_event(Instant::now(), &ev.kind);
                seen.push(ev.kind);
            }
            for c in h.state_mut().take_commands() {
                assert!(engine.send(c), "engine stopped");
            }
            h.run();
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    pump(&mut h, &mut seen, 2);
    assert!(
        seen.iter()
            .any(|e| matches!(e, EventKind::Registered { .. })),
        "{seen:?}"
    );
    h.state_mut().apply(
        Instant::now(),
        switchboard::Intent::SetState(AgentState::Available),
    );

    let sport = free_port();
    let (map, _) = sipvicious(&dir, &["svmap"], port, sport);
    eprintln!("svmap against the desk:\n{map}");
    for scan in [
        &["svwar", "-e100-200", "-m", "INVITE", "--force"][..],
        &["svwar", "-e100-200"][..],
        &["svwar", "-e100-200", "-m", "OPTIONS"][..],
    ] {
        let (out, err) = sipvicious(&dir, scan, port, sport);
        pump(&mut h, &mut seen, 0);
        assert!(
            sipvicious_rows(&out).is_empty(),
            "{scan:?} found an extension on the desk:\n{out}\n{err}"
        );
    }
    pump(&mut h, &mut seen, 1);
    assert!(
        !seen.iter().any(|e| matches!(e, EventKind::Incoming { .. })),
        "nothing rang: {seen:?}"
    );
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    let history = h
        .state()
        .store()
        .expect("store")
        .history_rows(&HistoryFilter {
            limit: 100,
            ..HistoryFilter::default()
        })
        .expect("history");
    assert!(history.is_empty(), "nothing in the history: {history:?}");

    // A real call through the registrar still rings on the desk.
    let mut caller = Agent::start_with_env(
        &[
            "--bind",
            "127.0.0.1:0",
            "--registrar",
            &kamailio.uri(),
            "--username",
            "alice",
            "call",
            &format!("sip:150@{registrar}:{}", kamailio.port),
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    caller.wait_for("ringing", Duration::from_secs(15));
    pump(&mut h, &mut seen, 1);
    assert!(
        matches!(h.state().agent_state(), AgentState::Ringing { .. }),
        "{:?}",
        h.state().agent_state()
    );
    drop(caller);
    let _ = engine.send(switchboard_engine::Command::Shutdown);
    engine.join();
}
