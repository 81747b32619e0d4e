//! Busy lamps on the desk: kamailio with its presence modules is the PBX;
//! the operator's quick-connect to colleague "bob" (`blf = true`) shows
//! free, ringing, on the phone and free again while a caller rings bob,
//! bob answers, and the caller hangs up.

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{AccountSettings, DeskApp, DeskConfig};
use switchboard_engine::{Engine, EngineConfig};
use switchboard_interop::Kamailio;

#[test]
fn the_quick_connect_lamp_follows_a_colleagues_call() {
    let pbx = Kamailio::start_presence();
    let wait = Duration::from_secs(15);
    let mut bob = pbx.agent("bob", &["listen", "--answer-after", "1500"]);
    bob.wait_for("registered", wait);

    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let (engine, mut events) = Engine::start(EngineConfig::headless(bind, "anna")).expect("engine");
    let registrar = pbx.uri();
    let (mut config, _) = DeskConfig::from_file(None, Some(&registrar));
    config.quick_connect = vec![("Bob".into(), "bob".into())];
    config.blf = vec!["bob".into()];
    let mut app = DeskApp::new(config, None);
    app.set_account(
        Some(AccountSettings {
            registrar: registrar.clone(),
            username: "anna".into(),
            realm: None,
            expires: 60,
        }),
        Some("secret".into()),
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app);
    let mut pump = |h: &mut Harness<'static, DeskApp>, label: &str| {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            for c in h.state_mut().take_commands() {
                assert!(engine.send(c), "the engine stopped");
            }
            while let Ok(ev) = events.try_recv() {
                h.state_mut().handle_event(Instant::now(), &ev.kind);
            }
            h.run();
            if h.query_by_label(label).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no {label:?} within {wait:?}; kamailio log:\n{}",
            pbx.log_text()
        );
    };
    pump(&mut h, "Bob (free)");
    let bob_uri = format!("sip:bob@127.0.0.1:{}", pbx.port);
    let mut carol = pbx.agent("carol", &["call", &bob_uri]);
    pump(&mut h, "Bob (ringing)");
    pump(&mut h, "Bob (on the phone)");
    carol.wait_for("established", wait);
    carol.command("hangup");
    pump(&mut h, "Bob (free)");
    carol.terminate();
    bob.terminate();
}
