//! The whole product on loopback: the desktop's own engine (registered
//! nowhere) is called by `switchboard-cli` with queue headers; the operator
//! sees the caller card and answers in the UI (egui_kittest); the CLI hears
//! the desk's audio; the CLI hangs up and the operator saves the wrap-up.

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_engine::{Engine, EngineConfig};
use switchboard_interop::{
    Agent, WINDOW, heard_windows, read_wav_8k, sleep_until_wall, temp_dir, write_test_signal,
};

#[test]
fn the_cli_calls_the_desktop_the_operator_answers_and_the_cli_hears_the_desk() {
    let dir = temp_dir("e2e-desk");
    let desk_mic = dir.join("desk-says.wav");
    let heard = dir.join("cli-heard.wav");
    write_test_signal(&desk_mic, 16_000, 8.0);
    let (engine, mut events) = Engine::start(EngineConfig {
        mic: Some(desk_mic.clone()),
        ..EngineConfig::headless(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), "agent")
    })
    .expect("engine");
    let bind = engine.local_addr();
    let mut desk = DeskApp::new(DeskConfig::default(), None);
    desk.apply(Instant::now(), Intent::SetState(AgentState::Available));
    let mut h = Harness::new_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), desk);

    let heard_arg = heard.to_string_lossy().into_owned();
    let mut cli = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--display-name",
        "Mari Maasikas",
        "--speaker",
        &heard_arg,
        "--codecs",
        "pcmu",
        "call",
        &format!("sip:agent@{bind}"),
        "--header",
        "X-Queue: Billing",
    ]);
    // Pump engine events into the desk until a condition holds (bounded).
    let mut pump = |h: &mut Harness<'_, DeskApp>, until: &dyn Fn(&DeskApp) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            while let Ok(ev) = events.try_recv() {
                h.state_mut().handle_event(Instant::now(), &ev.kind);
            }
            for c in h.state_mut().take_commands() {
                assert!(engine.send(c), "engine stopped");
            }
            h.run();
            if until(h.state()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the desk did not get there in 10 s: {:?}",
            h.state().agent_state()
        );
    };
    pump(&mut h, &|d| {
        matches!(d.agent_state(), AgentState::Ringing { .. })
    });
    h.get_by_label("Incoming call: Mari Maasikas");
    h.get_by_label("Queue: Billing");
    h.get_by_label("Answer").click();
    h.run();
    pump(&mut h, &|d| {
        matches!(d.agent_state(), AgentState::InCall { .. })
    });
    // Four seconds of talk from when the caller's media started.
    let started = cli.wait_for("media_started", Duration::from_secs(10));
    sleep_until_wall(started["ts"].as_f64().unwrap() + 4.0);
    cli.command("hangup");
    cli.wait_for("ended", Duration::from_secs(10));
    assert_eq!(cli.wait_exit(Duration::from_secs(10)), 0);
    pump(&mut h, &|d| {
        matches!(d.agent_state(), AgentState::WrapUp { .. })
    });
    h.get_by_label("Save wrap-up").click();
    h.run();
    assert_eq!(h.state().agent_state(), &AgentState::Available);
    // What the desk said reached the caller: the first three seconds of it
    // (the call lasted four), a quarter second at a time, each found at its
    // own lag (a jitter buffer may adapt on a busy machine).
    let said = read_wav_8k(&desk_mic);
    let got = read_wav_8k(&heard);
    let h = heard_windows(&said, WINDOW..24_000, &got, 0..8000, 0.9);
    eprintln!("the caller hears the desk: {h}");
    h.assert_heard("the caller hears the desk");
    let _ = engine.send(switchboard_engine::Command::Shutdown);
    engine.join();
}
