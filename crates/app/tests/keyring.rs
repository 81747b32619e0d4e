//! The account password in a real Secret Service: gnome-keyring on a
//! private D-Bus session that this test starts (`dbus-run-session`, an
//! unlocked throwaway keyring in a temporary HOME), so nothing touches the
//! user's own keyring.
//!
//! The parent starts the session and runs this same binary inside it
//! (harness = false: one binary, both roles). Inside: the operator types
//! the password in Settings and saves; the desk registers at once with it,
//! the keyring has it, the configuration file does not; a desk started
//! afterwards finds it in the keyring; `SWITCHBOARD_PASSWORD` wins over it.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{AccountSettings, DeskApp, DeskConfig, Intent};
use switchboard_desk::config::SettingsEdit;
use switchboard_engine::Command as Engine;
use switchboard_interop::temp_dir;

const ROLE: &str = "SWITCHBOARD_KEYRING_TEST";
/// Marks every process of one keyring session.
const SESSION: &str = "SWITCHBOARD_KEYRING_SESSION";

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("settings") => settings_store_the_password_in_the_keyring(),
        Ok("override") => the_environment_overrides_the_keyring(),
        _ => parent(),
    }
}

/// Runs both roles in a private session bus with an unlocked gnome-keyring.
fn parent() {
    switchboard_interop::require("dbus-run-session");
    switchboard_interop::require("gnome-keyring-daemon");
    let home = temp_dir("keyring-home");
    let run = home.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let me = std::env::current_exe().unwrap();
    // Unlock (creating) the login keyring with a throwaway password, wait
    // until the daemon owns org.freedesktop.secrets, then run the role.
    let script = r#"
        printf %s throwaway | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 90
        i=0
        until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
              org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; do
            i=$((i + 1)); [ "$i" -lt 200 ] || exit 91
            sleep 0.05
        done
        exec "$@"
    "#;
    for (role, extra) in [
        ("settings", None),
        (
            "override",
            Some(("SWITCHBOARD_PASSWORD", "from-the-environment")),
        ),
    ] {
        // The keyring daemon forks away from the session's process group:
        // this mark in its environment finds it afterwards.
        let session = format!("{}-{role}", std::process::id());
        let mut c = Command::new("dbus-run-session");
        c.args(["--", "sh", "-c", script, "keyring-session"])
            .arg(&me)
            .env(ROLE, role)
            .env(SESSION, &session)
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("SWITCHBOARD_PASSWORD");
        if let Some((k, v)) = extra {
            c.env(k, v);
        }
        let mut child = switchboard_interop::Guard::spawn(&mut c, "dbus-run-session");
        let code = switchboard_interop::wait_child(&mut child.0, Duration::from_secs(120));
        drop(child);
        // Whatever of the session outlived it (gnome-keyring-daemon, the bus).
        let left = switchboard_interop::procs::stop_marked(SESSION, &session);
        eprintln!("keyring: {role}: stopped {left} process(es) the session left");
        assert_eq!(
            code, 0,
            "the {role} check failed inside the keyring session (exit {code})"
        );
        eprintln!("keyring: {role}: ok");
    }
    let _ = std::fs::remove_dir_all(home);
}

fn harness(app: DeskApp) -> Harness<'static, DeskApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

fn account_command(cmds: &[Engine]) -> Option<switchboard_engine::AccountConfig> {
    cmds.iter().find_map(|c| match c {
        Engine::SetAccount(Some(a)) => Some(a.clone()),
        _ => None,
    })
}

fn settings_store_the_password_in_the_keyring() {
    let dir = temp_dir("keyring-settings");
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        "[account]\nregistrar = \"sip:pbx.example.ee\"\nusername = \"1001\"\n",
    )
    .unwrap();
    let mut app = DeskApp::new(DeskConfig::default(), None);
    app.set_settings_file(
        Some(path.clone()),
        SettingsEdit {
            registrar: Some("sip:pbx.example.ee".into()),
            username: Some("1001".into()),
            ..SettingsEdit::default()
        },
    );
    let mut h = harness(app);
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label("Password:").click();
    h.run();
    h.get_by_label("Password:").type_text("s3cret ü");
    h.run();
    assert!(
        h.query_all_by_value("s3cret ü").next().is_none(),
        "the password is masked on screen"
    );
    h.get_by_label("Save settings").click();
    h.run();
    // Registered at once with it.
    let sent = h.state_mut().take_commands();
    let account = account_command(&sent).expect("re-registered on save");
    assert_eq!(
        (
            account.registrar.as_str(),
            account.username.as_str(),
            account.password.as_str()
        ),
        ("sip:pbx.example.ee", "1001", "s3cret ü")
    );
    assert!(
        common::wait_for_label(&mut h, "The password is kept in the keyring."),
        "the keyring took it"
    );
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        !file.contains("s3cret"),
        "the password is not in the file:\n{file}"
    );
    let key = AccountSettings {
        registrar: "sip:pbx.example.ee".into(),
        username: "1001".into(),
        realm: None,
        expires: 600,
    };
    assert_eq!(
        switchboard::secrets::load(&key.key()).unwrap().as_deref(),
        Some("s3cret ü")
    );
    // The next start finds it in the keyring and registers with it.
    let mut h = harness(DeskApp::new(DeskConfig::default(), None));
    h.state_mut().set_account(Some(key), None);
    let until = Instant::now() + Duration::from_secs(20);
    let mut found = None;
    while found.is_none() && Instant::now() < until {
        h.run();
        found = account_command(&h.state_mut().take_commands());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        found.expect("registered from the keyring").password,
        "s3cret ü"
    );
    // An account the keyring has nothing for says so.
    let mut h = harness(DeskApp::new(DeskConfig::default(), None));
    h.state_mut().set_account(
        Some(AccountSettings {
            registrar: "sip:other.example.ee".into(),
            username: "2002".into(),
            realm: None,
            expires: 600,
        }),
        None,
    );
    assert!(common::wait_for_label(
        &mut h,
        "No password for 2002@sip:other.example.ee."
    ));
    h.get_by_label("Enter it in Settings: it is kept in the keyring.");
    let _ = std::fs::remove_dir_all(dir);
}

fn the_environment_overrides_the_keyring() {
    let dir = temp_dir("keyring-override");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "[account]\nregistrar = \"sip:127.0.0.1:9\"\nusername = \"1001\"\n",
    )
    .unwrap();
    let args = common::desk_args(&config, &dir, &[]);
    let mut started = switchboard::startup::start(&args, switchboard::Wake::none());
    let sent = started.desk.take_commands();
    let account = account_command(&sent).expect("registers at start");
    assert_eq!(account.password, "from-the-environment");
    started.desk.apply(Instant::now(), Intent::Settings(false));
    if let Some(e) = started.engine.take() {
        let _ = e.send(Engine::Shutdown);
        e.join();
    }
    let _ = std::fs::remove_dir_all(dir);
}
