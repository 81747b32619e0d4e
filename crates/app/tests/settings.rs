//! The settings screen as an operator uses it: change quick-connects and
//! dispositions, save, see them at work at once and in the file; a bad line
//! is named and nothing is written; the headset test plays a tone through
//! the real (headless) sound card and the microphone meter shows it coming
//! back.

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::config::{self, SettingsEdit};
use switchboard_engine::CallId;
use switchboard_engine::events::EventKind;
use switchboard_engine::{Command, DeviceNames, Engine, EngineConfig};
use switchboard_interop::{sound_server_or_skip, temp_dir};

fn desk(path: Option<std::path::PathBuf>) -> Harness<'static, DeskApp> {
    let mut app = DeskApp::new(DeskConfig::default(), None);
    app.set_settings_file(
        path,
        SettingsEdit {
            registrar: Some("sip:pbx.example.ee".into()),
            username: Some("1001".into()),
            ..SettingsEdit::default()
        },
    );
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    // A tall window: the whole settings screen is on it.
    Harness::builder()
        .with_size(egui::vec2(1000.0, 1600.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

const QUICK: &str = "Quick-connects (Label = sip:200@pbx, one per line):";
const DISPOSITIONS: &str = "Dispositions (one per line):";

#[test]
fn saved_settings_work_at_once_and_are_in_the_file() {
    let dir = temp_dir("settings-save");
    let path = dir.join("config.toml");
    std::fs::write(&path, "# written by IT\n[sip]\nbind = \"127.0.0.1:5070\"\n").unwrap();
    let mut h = desk(Some(path.clone()));
    h.get_by_label("Settings").click();
    h.run();
    // Opening the screen asks the engine for the devices.
    assert!(
        h.state_mut()
            .take_commands()
            .contains(&Command::ListDevices)
    );
    h.get_by_label(QUICK).click();
    h.run();
    h.get_by_label(QUICK)
        .type_text("Supervisor = sip:1100@pbx.example.ee");
    h.run();
    h.get_by_label(DISPOSITIONS).click();
    h.run();
    h.get_by_label(DISPOSITIONS)
        .type_text("\nCallback promised");
    h.run();
    h.get_by_label("Save settings").click();
    h.run();
    h.get_by_label("Settings saved.");
    assert!(
        h.state_mut()
            .take_commands()
            .contains(&Command::SetDevices {
                input: None,
                output: None,
                ringer: None
            })
    );

    // In the file, next to what IT wrote.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# written by IT"), "{text}");
    let f = config::load(&path).unwrap();
    assert_eq!(f.sip.unwrap().bind.unwrap().port(), 5070);
    let d = f.desk.unwrap();
    let q = d.quick_connect.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].label.as_str(), q[0].uri.as_str()),
        ("Supervisor", "sip:1100@pbx.example.ee")
    );
    assert!(
        d.dispositions
            .unwrap()
            .contains(&"Callback promised".to_owned())
    );
    assert_eq!(f.account.unwrap().username.as_deref(), Some("1001"));

    // At work at once: the next call shows the new quick-connect button.
    for ev in [
        EventKind::Incoming {
            call: CallId(1),
            call_id: "s1@test".into(),
            from: "<sip:+3725551234@pbx>;tag=1".into(),
            to: "<sip:agent@pbx>".into(),
            headers: vec![("From".into(), "<sip:+3725551234@pbx>;tag=1".into())],
        },
        EventKind::Established {
            call: CallId(1),
            call_id: "s1@test".into(),
            outgoing: false,
        },
    ] {
        h.state_mut().handle_event(Instant::now(), &ev);
        h.run();
    }
    h.get_by_label("Supervisor");
}

#[test]
fn a_bad_line_is_named_and_the_file_is_left_alone() {
    let dir = temp_dir("settings-bad");
    let path = dir.join("config.toml");
    std::fs::write(&path, "[sip]\nuser = \"agent\"\n").unwrap();
    let mut h = desk(Some(path.clone()));
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label(QUICK).click();
    h.run();
    h.get_by_label(QUICK)
        .type_text("Billing = sip:200@pbx\nSupervisor 1100");
    h.run();
    h.get_by_label("Save settings").click();
    h.run();
    h.get_by_label(
        "Settings not saved: Quick-connects, line 2: write it as “Label = sip:200@pbx”.",
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[sip]\nuser = \"agent\"\n"
    );
    // The screen stays open with what was typed, to be mended; nothing of
    // it is in effect.
    assert!(
        h.query_all_by_value("Billing = sip:200@pbx\nSupervisor 1100")
            .next()
            .is_some(),
        "the typed lines are still in the form"
    );
    h.get_by_role_and_label(egui::accesskit::Role::Button, "Save settings");
    assert!(h.state().workspace().rules().quick_connect.is_empty());
}

#[test]
fn a_file_that_cannot_be_written_is_a_visible_error_and_nothing_typed_is_lost() {
    let dir = temp_dir("settings-unwritable");
    // Where the file's directory should be there is a plain file: nothing
    // can be written under it.
    let blocker = dir.join("switchboard");
    std::fs::write(&blocker, "not a directory").unwrap();
    let path = blocker.join("config.toml");
    let mut h = desk(Some(path.clone()));
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label(QUICK).click();
    h.run();
    h.get_by_label(QUICK)
        .type_text("Supervisor = sip:1100@pbx.example.ee");
    h.run();
    h.get_by_label(DISPOSITIONS).click();
    h.run();
    h.get_by_label(DISPOSITIONS).type_text("Callback promised");
    h.run();
    h.get_by_label("Save settings").click();
    h.run();
    // The operator is told the file was not written, and where.
    h.get_by_label_contains("The settings are in effect but could not be written:");
    h.get_by_label_contains("switchboard/config.toml");
    assert!(h.query_by_label("Settings saved.").is_none());
    assert!(!blocker.join("config.toml").exists());
    // Nothing typed is lost: the settings screen has it all ...
    if h.query_by_role_and_label(egui::accesskit::Role::Button, "Save settings")
        .is_none()
    {
        h.get_by_label("Settings").click();
        h.run();
    }
    assert!(
        h.query_all_by_value("Supervisor = sip:1100@pbx.example.ee")
            .next()
            .is_some(),
        "the quick-connect typed is in the form"
    );
    assert!(
        h.query_all_by_value("Callback promised").next().is_some(),
        "the disposition typed is in the form"
    );
    // ... and once the directory can be made, Save writes it.
    std::fs::remove_file(&blocker).unwrap();
    h.get_by_label("Save settings").click();
    h.run();
    h.get_by_label("Settings saved.");
    let d = config::load(&path).unwrap().desk.unwrap();
    let q = d.quick_connect.unwrap();
    assert_eq!(
        (q[0].label.as_str(), q[0].uri.as_str()),
        ("Supervisor", "sip:1100@pbx.example.ee")
    );
    assert_eq!(d.dispositions.unwrap(), ["Callback promised"]);
}

#[test]
fn the_headset_test_plays_a_tone_that_the_microphone_meter_shows() {
    if !sound_server_or_skip() {
        return;
    }
    let (engine, mut events) = Engine::start(EngineConfig {
        devices: Some(DeviceNames::default()),
        ..EngineConfig::headless(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), "agent")
    })
    .expect("engine");
    let mut h = desk(None);
    // The device lists the engine reported, as it reported them.
    let listed = std::cell::RefCell::new(None::<(Vec<String>, Vec<String>)>);
    // Runs frames, passing commands to the engine and events to the desk,
    // until `done` (at most 15 s).
    let mut pump = |h: &mut Harness<'static, DeskApp>,
                    done: &dyn Fn(&Harness<'static, DeskApp>) -> bool| {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            for c in h.state_mut().take_commands() {
                assert!(engine.send(c));
            }
            while let Ok(ev) = events.try_recv() {
                if let EventKind::Devices { inputs, outputs } = &ev.kind {
                    *listed.borrow_mut() = Some((inputs.clone(), outputs.clone()));
                }
                h.state_mut().handle_event(Instant::now(), &ev.kind);
            }
            h.run();
            if done(h) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        false
    };
    h.get_by_label("Settings").click();
    // Opening the screen asks the engine for its devices; they arrive ...
    assert!(
        pump(&mut h, &|_| listed.borrow().is_some()),
        "the engine never listed the sound devices"
    );
    let (inputs, outputs) = listed.borrow().clone().unwrap_or_default();
    assert!(
        !inputs.is_empty() && !outputs.is_empty(),
        "{inputs:?} {outputs:?}"
    );
    // ... and the Microphone chooser offers each of them.
    h.get_by_label("Microphone").click();
    h.run();
    for name in &inputs {
        assert!(
            h.query_all_by_label(name).next().is_some(),
            "{name} is not offered: {inputs:?}"
        );
    }
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(
        inputs
            .iter()
            .all(|name| h.query_all_by_label(name).next().is_none()),
        "the chooser closed"
    );
    h.get_by_label("Test headset").click();
    h.run();
    // The null sink plays the tone back into the default input: the meter
    // must read well above silence (the tone is −10 dBFS RMS at the source).
    let loud = pump(&mut h, &|h| {
        h.query_all_by_label_contains("Microphone -").any(|n| {
            let text = n.value().unwrap_or_default();
            text.trim_start_matches("Microphone ")
                .trim_end_matches(" dBFS")
                .parse::<f32>()
                .is_ok_and(|db| db > -30.0)
        })
    });
    assert!(loud, "the microphone meter never showed the test tone");
    h.get_by_label("Stop test").click();
    h.run();
    for c in h.state_mut().take_commands() {
        engine.send(c);
    }
    assert!(
        h.query_all_by_label_contains("Microphone -")
            .next()
            .is_none()
    );
    let _ = engine.send(Command::Shutdown);
    engine.join();
}
