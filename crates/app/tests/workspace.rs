//! The workspace as a whole: what a broken start-up shows, the company
//! directory (call, transfer, consult from a row), the contacts (add, edit
//! with an e-mail address, find, delete, call, import, export), and the
//! 1280×720 layout with nothing cut off.

mod common;

use std::time::{Duration, Instant};

use common::{click, desk, established, feed};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use switchboard::{DeskApp, DeskConfig, Intent, Wake};
use switchboard_desk::config::DirectorySection;
use switchboard_desk::store::Store;
use switchboard_engine::CallId;
use switchboard_engine::Command;
use switchboard_interop::temp_dir;

fn harness(app: DeskApp) -> Harness<'static, DeskApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

#[test]
fn a_broken_configuration_opens_the_desk_with_the_reason_and_settings_at_hand() {
    let dir = temp_dir("startup-bad-config");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[sip]\nuser = \"agent\"\nbnd = \"127.0.0.1:5060\"\n",
    )
    .unwrap();
    let args = common::desk_args(&config, &dir, &[]);
    let started = switchboard::startup::start(&args, Wake::none());
    assert!(started.engine.is_some(), "the phone runs anyway");
    let mut h = harness(started.desk);
    h.run();
    h.get_by_label_contains("The configuration has a mistake:");
    h.get_by_label_contains("config.toml, line 3");
    h.get_by_label_contains("bnd");
    h.get_by_label("The desk runs with the defaults for it; fix it in Settings or in the file.");
    // Settings are open, ready to fix it.
    h.get_by_role_and_label(Role::Button, "Save settings");
    let e = started.engine.unwrap();
    let _ = e.send(Command::Shutdown);
    e.join();
}

#[test]
fn a_port_in_use_and_an_unreachable_registrar_are_notices_not_exits() {
    let dir = temp_dir("startup-port");
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let args = common::desk_args(&dir.join("none.toml"), &dir, &["--bind", &bind]);
    // The named file does not exist: that is a configuration error too.
    let started = switchboard::startup::start(&args, Wake::none());
    assert!(started.engine.is_none());
    let mut h = harness(started.desk);
    h.run();
    h.get_by_label_contains(&format!("The phone could not start on 127.0.0.1:{port}"));
    h.get_by_label_contains("none.toml");
    // Dialling with no phone fails at once, and the desk is free again.
    h.state_mut().apply(
        Instant::now(),
        Intent::Dial {
            input: "sip:shop@127.0.0.1:9".into(),
            name: None,
        },
    );
    assert_eq!(
        h.state().agent_state(),
        &switchboard_desk::agent::AgentState::Offline
    );
    assert!(
        !h.state_mut()
            .take_commands()
            .iter()
            .any(|c| matches!(c, Command::Call { .. })),
        "nothing to send it to"
    );
    h.run();
    h.get_by_label_contains("Could not call sip:shop@127.0.0.1:9");
    drop(taken);

    // A desk whose registrar does not resolve: the top bar says so and offers Retry.
    let (engine, mut events) = switchboard_engine::Engine::start(
        switchboard_engine::EngineConfig::headless("127.0.0.1:0".parse().unwrap(), "1001"),
    )
    .unwrap();
    let mut h = desk(None);
    h.state_mut().set_account(
        Some(switchboard::AccountSettings {
            registrar: "sip:pbx.does-not-exist.invalid".into(),
            username: "1001".into(),
            realm: None,
            expires: 60,
        }),
        Some("secret".into()),
    );
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until && h.query_by_label("Retry").is_none() {
        for c in h.state_mut().take_commands() {
            engine.send(c);
        }
        while let Ok(ev) = events.try_recv() {
            h.state_mut().handle_event(Instant::now(), &ev.kind);
        }
        h.run();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.get_by_label_contains(
        "Account: registration failed: cannot resolve pbx.does-not-exist.invalid",
    );
    h.get_by_label_contains("Registration at the PBX failed");
    h.get_by_label("Calls will not reach you until it works: press Retry, or check the network.");
    click(&mut h, "Retry");
    assert_eq!(h.state_mut().take_commands(), [Command::Register]);
    h.get_by_label("Account: registering…");
    assert!(h.query_by_label("Retry").is_none());
    let _ = engine.send(Command::Shutdown);
    engine.join();
}

fn company_directory() -> std::path::PathBuf {
    let dir = temp_dir("directory-file");
    let path = dir.join("directory.toml");
    std::fs::write(
        &path,
        r#"
[[department]]
name = "Arveldus"
extension = "200"
note = "E–R 8–17"

[[person]]
name = "Jüri Õunapuu"
extension = "1234"
title = "Klienditeeninduse juht"
department = "Klienditeenindus"
mobile = "+372 5551 0001"

[[person]]
name = "Ирина Смирнова"
extension = "2345"
title = "Бухгалтер"
department = "Бухгалтерия"

[[person]]
name = "Žiga Čebular"
extension = "0199"
title = "Tehnik"
department = "Podpora"
note = "Na dopustu do 12. 12."
"#,
    )
    .unwrap();
    path
}

fn directory_desk() -> Harness<'static, DeskApp> {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    h.state_mut().set_directory(&DirectorySection {
        file: Some(company_directory()),
        ldap: None,
    });
    h.get_by_label("Directory").click();
    h.run();
    assert!(
        common::wait_for_label(&mut h, "4 entries"),
        "the directory file was read"
    );
    h
}

#[test]
fn the_directory_is_searched_without_diacritics_and_a_row_calls_transfers_or_consults() {
    let mut h = directory_desk();
    h.get_by_label("Name, department or title:").click();
    h.run();
    h.get_by_label("Name, department or title:")
        .type_text("juri");
    h.run();
    h.get_by_label("Jüri Õunapuu");
    h.get_by_label("Klienditeeninduse juht · Klienditeenindus · 1234 · mobile +372 5551 0001");
    assert!(h.query_by_label("Ирина Смирнова").is_none());
    // One row left: its Call dials the extension.
    click(&mut h, "Call Jüri Õunapuu");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: "sip:1234@pbx.example.ee".into(),
            headers: Vec::new()
        }]
    );
    // Russian and Slovenian names, by title and without diacritics.
    for (typed, found) in [("бухгалтер", "Ирина Смирнова"), ("cebular", "Žiga Čebular")]
    {
        h.get_by_label("Name, department or title:").focus();
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.key_press(egui::Key::Backspace);
        h.get_by_label("Name, department or title:")
            .type_text(typed);
        h.run();
        h.get_by_label(found);
        assert!(
            h.query_by_label("Jüri Õunapuu").is_none(),
            "{typed:?} leaves out the others"
        );
    }
    h.get_by_label("Na dopustu do 12. 12.");
}

#[test]
fn during_a_call_a_directory_row_transfers_or_consults_with_the_name_shown() {
    let mut h = directory_desk();
    feed(&mut h, &[common::incoming_in_queue(1, "Billing")]);
    click(&mut h, "Answer");
    feed(&mut h, &[established(1)]);
    h.state_mut().take_commands();
    // The ringing call brought the Customer tab up; back to the directory.
    h.get_by_label_contains("Not in the contacts.");
    h.get_by_label("Directory").click();
    h.run();
    h.get_by_label("Name, department or title:").click();
    h.run();
    h.get_by_label("Name, department or title:")
        .type_text("arveldus");
    h.run();
    click(&mut h, "Consult Arveldus");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Consult {
            call: CallId(1),
            target: "sip:200@pbx.example.ee".into()
        }]
    );
    h.get_by_label("Consulting Arveldus: ringing");
}

#[test]
fn contacts_are_added_edited_called_deleted_imported_and_exported() {
    let dir = temp_dir("contacts-tab");
    let mut h = desk(Some(Store::in_memory().unwrap()));
    h.get_by_label("Contacts").click();
    h.run();
    click(&mut h, "Add contact");
    for (field, value) in [("Name:", "Tamm, Jaan"), ("Number:", "+372 5550 0001")] {
        h.get_by_label(field).click();
        h.run();
        h.get_by_label(field).type_text(value);
        h.run();
    }
    click(&mut h, "Save contact");
    h.get_by_label("Tamm, Jaan");
    click(&mut h, "Edit Tamm, Jaan");
    h.get_by_label("Company:").click();
    h.run();
    h.get_by_label("Company:").type_text("Acme OÜ");
    h.run();
    // An address that is not one cannot be saved; a real one can.
    h.get_by_label("E-mail:").click();
    h.run();
    h.get_by_label("E-mail:").type_text("jaan tamm");
    h.run();
    h.get_by_label("Not an e-mail address");
    assert!(
        h.get_by_label("Save contact")
            .accesskit_node()
            .is_disabled(),
        "a bad address is not saved"
    );
    h.get_by_label("E-mail:").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.get_by_label("E-mail:")
        .type_text("Jaan.Tamm@acme.example");
    h.run();
    assert!(h.query_by_label("Not an e-mail address").is_none());
    click(&mut h, "Save contact");
    h.get_by_label("+372 5550 0001 · Jaan.Tamm@acme.example · Acme OÜ");
    assert_eq!(
        h.state()
            .store()
            .unwrap()
            .contact_by_email("jaan.tamm@ACME.example")
            .unwrap()
            .map(|(_, c)| c.name),
        Some("Tamm, Jaan".to_owned())
    );
    // The search finds it by its address too.
    h.get_by_label("Find:").click();
    h.run();
    h.get_by_label("Find:").type_text("tamm@acme");
    h.run();
    h.get_by_label("Tamm, Jaan");
    h.get_by_label("Find:").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run();
    // Call from the list: the number goes through the dial plan.
    click(&mut h, "Call Tamm, Jaan");
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: "sip:+37255500001@pbx.example.ee".into(),
            headers: Vec::new()
        }]
    );
    h.state_mut().apply(
        Instant::now(),
        Intent::Op(switchboard_desk::workspace::Op::Hangup),
    );
    // Export, then import what was exported (a worker reads the file).
    let csv = dir.join("contacts.csv");
    h.get_by_label("CSV file:").click();
    h.run();
    h.get_by_label("CSV file:").type_text(csv.to_str().unwrap());
    h.run();
    click(&mut h, "Export");
    assert!(common::wait_for_label(&mut h, "1 contacts written to"));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text,
        "name,number,company,note,email\n\"Tamm, Jaan\",+372 5550 0001,Acme OÜ,,Jaan.Tamm@acme.example\n"
    );
    click(&mut h, "Delete Tamm, Jaan");
    assert!(h.query_by_label("Tamm, Jaan").is_none());
    click(&mut h, "Import");
    assert!(common::wait_for_label(&mut h, "Imported 1 contacts."));
    h.get_by_label("Tamm, Jaan");
    h.get_by_label("+372 5550 0001 · Jaan.Tamm@acme.example · Acme OÜ");
    // A bad file imports nothing and names the line.
    std::fs::write(&csv, "name,number\nJaan\n").unwrap();
    click(&mut h, "Import");
    assert!(common::wait_for_label(
        &mut h,
        "contacts CSV line 2: name or number missing"
    ));
    h.get_by_label("Nothing was imported; fix the line named and import again.");
    // So does an address that is not one, in an `email` column anywhere.
    std::fs::write(
        &csv,
        "email,name,number\nana@example.test,Ana,+386\njaan at acme,Jaan,+372\n",
    )
    .unwrap();
    click(&mut h, "Import");
    assert!(common::wait_for_label(
        &mut h,
        "contacts CSV line 3: \"jaan at acme\" is not an e-mail address"
    ));
    assert_eq!(h.state().store().unwrap().contacts("").unwrap().len(), 1);
}

/// Every control a user can reach: inside the window, and none over another.
fn assert_nothing_cut_off(h: &Harness<'static, DeskApp>, size: egui::Vec2, what: &str) {
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    let mut rects = Vec::new();
    for role in [
        Role::Button,
        Role::TextInput,
        Role::CheckBox,
        Role::ComboBox,
    ] {
        for n in h.query_all_by_role(role) {
            let r = n.rect();
            let name = n.accesskit_node().label().unwrap_or_default();
            assert!(
                r.width() > 4.0 && r.height() > 4.0,
                "{what}: {role:?} {name:?} has no room: {r:?}"
            );
            assert!(
                screen.contains_rect(r),
                "{what}: {role:?} {name:?} at {r:?} is outside the {size:?} window"
            );
            rects.push((name, r));
        }
    }
    for (i, (a, ra)) in rects.iter().enumerate() {
        for (b, rb) in rects.iter().skip(i + 1) {
            let overlap = ra.intersect(*rb);
            assert!(
                overlap.width() <= 1.0 || overlap.height() <= 1.0,
                "{what}: {a:?} {ra:?} and {b:?} {rb:?} overlap"
            );
        }
    }
}

#[test]
fn at_1280_by_720_and_1920_by_1080_no_control_is_cut_off() {
    for size in [egui::vec2(1280.0, 720.0), egui::vec2(1920.0, 1080.0)] {
        let config = DeskConfig {
            quick_connect: vec![
                ("Billing".into(), "sip:200@pbx".into()),
                ("Supervisor".into(), "sip:1100@pbx".into()),
                ("IT support".into(), "sip:300@pbx".into()),
                ("Orders desk".into(), "sip:400@pbx".into()),
            ],
            ..common::config()
        };
        let mut app = DeskApp::new(config, Some(Store::in_memory().unwrap()));
        app.apply(
            Instant::now(),
            Intent::SetState(switchboard_desk::agent::AgentState::Available),
        );
        let mut h = Harness::builder()
            .with_size(size)
            .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app);
        h.run();
        assert_nothing_cut_off(&h, size, "idle");
        // The busiest screen: a call in hand with quality and levels, a
        // consultation, a second call waiting, a notice.
        feed(
            &mut h,
            &[
                common::incoming_in_queue(1, "Billing"),
                established(1),
                switchboard_engine::events::EventKind::Levels {
                    call: CallId(1),
                    mic_dbfs: -20.0,
                    speaker_dbfs: -25.0,
                },
                switchboard_engine::events::EventKind::Quality {
                    call: CallId(1),
                    stats: Default::default(),
                    loss_percent: 0.5,
                    mos: 4.3,
                },
            ],
        );
        click(&mut h, "Supervisor");
        feed(
            &mut h,
            &[
                switchboard_engine::events::EventKind::Consulting {
                    call: CallId(1),
                    consult: CallId(2),
                },
                common::incoming_from(3, "Ivan Petrov", "+3725559876", "Orders"),
                switchboard_engine::events::EventKind::TransferProgress {
                    call: CallId(1),
                    status: 486,
                    done: true,
                },
            ],
        );
        h.get_by_label("Call waiting: Ivan Petrov");
        assert_nothing_cut_off(&h, size, "in call");
        for tab in ["Directory", "History", "Contacts"] {
            h.get_by_label(tab).click();
            h.run();
            assert_nothing_cut_off(&h, size, tab);
        }
    }
}

#[test]
fn an_account_without_a_password_anywhere_is_a_notice_not_a_silent_desk() {
    // No SWITCHBOARD_PASSWORD is given: the keyring is asked on a worker.
    // Here (no keyring daemon, or one without the entry) the desk says
    // what is missing and does not pretend to register.
    let mut h = desk(None);
    h.state_mut().set_account(
        Some(switchboard::AccountSettings {
            registrar: "sip:pbx.example.ee".into(),
            username: "1001".into(),
            realm: None,
            expires: 600,
        }),
        None,
    );
    let until = Instant::now() + Duration::from_secs(20);
    let mut said = None;
    while said.is_none() && Instant::now() < until {
        h.run();
        said = [
            "The keyring could not be used",
            "No password for 1001@sip:pbx.example.ee",
        ]
        .into_iter()
        .find(|l| h.query_by_label_contains(l).is_some());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(said.is_some(), "the desk says the password is missing");
    assert!(
        !h.state_mut()
            .take_commands()
            .iter()
            .any(|c| matches!(c, Command::SetAccount(Some(_)))),
        "nothing registers without a password"
    );
    h.get_by_label_contains("Account: not registered");
}
