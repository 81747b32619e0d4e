//! The desk at work behind a PBX: kamailio with digest auth as registrar
//! and proxy; `switchboard-cli listen` registered as extension 204. The
//! operator's desk registers (the account set at run time, as Settings
//! does), types `204` in Dial — the dial plan makes it `sip:204@<the
//! registrar's domain>` — passes the proxy's 407 challenge, and both sides
//! hear each other; the operator hangs up, the call is in History.

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{AccountSettings, DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::store::{Direction, Outcome, Store};
use switchboard_engine::{Engine, EngineConfig};
use switchboard_interop::{
    Agent, Kamailio, WINDOW, heard_windows, read_wav_8k, sleep_until_wall, temp_dir,
    write_test_voice,
};

#[test]
fn the_desk_dials_an_extension_through_kamailio_and_both_sides_hear_each_other() {
    let pbx = Kamailio::start();
    let dir = temp_dir("desk-pbx");
    let (desk_says, desk_hears) = (dir.join("desk-says.wav"), dir.join("desk-hears.wav"));
    let (ext_says, ext_hears) = (dir.join("ext-says.wav"), dir.join("ext-hears.wav"));
    write_test_voice(&desk_says, 16_000, 10.0, 0);
    write_test_voice(&ext_says, 16_000, 10.0, 1);
    let wait = Duration::from_secs(10);

    // Extension 204: the headless agent, registered, answering by itself.
    let registrar = pbx.uri();
    let mut ext = Agent::start_with_env(
        &[
            "--bind",
            "127.0.0.1:0",
            "--registrar",
            &registrar,
            "--username",
            "204",
            "--mic",
            ext_says.to_str().unwrap(),
            "--speaker",
            ext_hears.to_str().unwrap(),
            "--codecs",
            "pcmu",
            "listen",
            "--auto-answer",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    ext.wait_for("registered", wait);

    // The desk: its phone with files for microphone and headset.
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let (engine, mut events) = Engine::start(EngineConfig {
        mic: Some(desk_says.clone()),
        speaker: Some(desk_hears.clone()),
        codecs: vec![switchboard_engine::Codec::Pcmu],
        ..EngineConfig::headless(bind, "1001")
    })
    .expect("engine");
    let (config, _) = DeskConfig::from_file(None, Some(&registrar));
    let mut app = DeskApp::new(config, Some(Store::in_memory().unwrap()));
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    app.set_account(
        Some(AccountSettings {
            registrar: registrar.clone(),
            username: "1001".into(),
            realm: None,
            expires: 60,
        }),
        Some("secret".into()),
    );
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app);
    // Frames, with the phone's commands and events passed along, until `done` (bounded).
    let mut pump = |h: &mut Harness<'static, DeskApp>,
                    what: &str,
                    done: &dyn Fn(&Harness<'static, DeskApp>) -> bool| {
        let until = Instant::now() + wait;
        while Instant::now() < until {
            for c in h.state_mut().take_commands() {
                assert!(engine.send(c), "the engine stopped");
            }
            while let Ok(ev) = events.try_recv() {
                h.state_mut().handle_event(Instant::now(), &ev.kind);
            }
            h.run();
            if done(h) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{what}: not within {wait:?}; kamailio log:\n{}",
            pbx.log_text()
        );
    };
    pump(&mut h, "registered", &|h| {
        h.query_by_label_contains("Account: registered").is_some()
    });
    h.get_by_label("Dial:").click();
    h.run();
    h.get_by_label("Dial:").type_text("204");
    h.run();
    h.key_press(egui::Key::Enter);
    pump(&mut h, "talking", &|h| {
        matches!(h.state().agent_state(), AgentState::InCall { .. })
            && h.query_by_label_contains("In call with 204").is_some()
    });
    // Five seconds of talk from when the extension's media started.
    let started = ext.wait_for("media_started", wait);
    sleep_until_wall(started["ts"].as_f64().unwrap() + 5.0);
    h.get_by_label("Hang up").click();
    pump(&mut h, "wrap-up", &|h| {
        matches!(h.state().agent_state(), AgentState::WrapUp { .. })
    });
    let ended = ext.wait_for("ended", wait);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    h.get_by_label("Call with 204");
    h.get_by_label("Save wrap-up").click();
    h.run();

    // Through the proxy, challenged: the number went to the registrar's domain.
    let log = pbx.log_text();
    let challenged = log.find("INVITE challenged sip:1001@");
    let accepted = log.find("INVITE ok sip:1001@");
    assert!(
        challenged.is_some() && accepted > challenged,
        "the desk's INVITE passed the 407 challenge; kamailio log:\n{log}"
    );
    // Both heard each other: the first four seconds of each side's speech
    // (the call lasted five), a quarter second at a time.
    for (what, said, heard) in [
        ("the extension heard the desk", &desk_says, &ext_hears),
        ("the desk heard the extension", &ext_says, &desk_hears),
    ] {
        let said = read_wav_8k(said);
        let got = read_wav_8k(heard);
        let h = heard_windows(&said, WINDOW..4 * 8000, &got, 0..16_000, 0.9);
        eprintln!("{what}: {h}");
        h.assert_heard(what);
    }
    let r = &h.state().store().unwrap().history("204", 1).unwrap()[0];
    assert_eq!(
        (r.direction, r.outcome),
        (Direction::Out, Some(Outcome::Answered))
    );
    assert!(r.talk_ms().unwrap_or(0) >= 4000, "{r:?}");
    ext.terminate();
    let _ = ext.wait_exit(wait);
    let _ = engine.send(switchboard_engine::Command::Shutdown);
    engine.join();
}
