//! `switchboard` — the desktop binary: starts the engine, runs the egui window.
//!
//! `switchboard --demo` needs no PBX: the desk listens on 127.0.0.1:5060 as
//! `agent`, and a practice line inside the same process (see
//! `switchboard::practice`) rings it with simulated callers who speak.
//!
//! Nothing found wrong at start stops the desk: a configuration error, a
//! port in use, a missing keyring or an unreachable registrar opens the
//! window with the reason in the notice area (and Settings at hand).

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchboard::{AccountSettings, DeskApp, DeskConfig, Wake};
use switchboard_desk::config::{ConfigError, File};
use switchboard_desk::store::Store;
use switchboard_desk::workspace::{NoticeKind, Severity};
use switchboard_engine::events::EventKind;
use switchboard_engine::{Command, DeviceNames, Engine, EngineConfig};

struct Gui {
    desk: DeskApp,
    events: mpsc::Receiver<EventKind>,
    engine: Option<switchboard_engine::EngineHandle>,
    notifier: Option<switchboard::notify::Notifier>,
    _practice: Option<switchboard::practice::PracticeLine>,
}

impl Drop for Gui {
    /// The window closes: calls are hung up and the account unregistered
    /// (the engine waits a few seconds for the answers at most).
    fn drop(&mut self) {
        if let Some(e) = self.engine.take() {
            let _ = e.send(Command::Shutdown);
            e.join();
        }
    }
}

impl eframe::App for Gui {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        while let Ok(ev) = self.events.try_recv() {
            self.desk.handle_event(now, &ev);
        }
        self.desk.ui(ui, now);
        for c in self.desk.take_commands() {
            if let Some(e) = &self.engine {
                let _ = e.send(c);
            }
        }
        for n in self.desk.take_notices() {
            if let Some(notifier) = &self.notifier {
                notifier.send(n);
            }
        }
        // Repaint on events (the forwarder wakes us); once a second only while
        // a timer is on screen. Otherwise the idle desktop does not repaint.
        if self.desk.needs_clock() {
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
    }
}

fn data_dir() -> std::path::PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("switchboard")
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
}

/// The configuration file: `--config FILE`, else
/// `~/.config/switchboard/config.toml` (which need not exist yet: the
/// settings screen creates it). `None` only without a home directory.
fn config_path(args: &[String]) -> Option<std::path::PathBuf> {
    if let Some(p) = flag(args, "--config") {
        return Some(p.into());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("switchboard/config.toml"))
}

/// The engine's settings: the file's `[sip]` and `[audio]` sections,
/// `--bind` over them, and the embedded default (127.0.0.1:5060 as `agent`)
/// for what is left out. The account is given later (its password may
/// come from the keyring), so none is set here.
fn engine_config(args: &[String], file: &File) -> (EngineConfig, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let sip = file.sip.as_ref();
    let flag_bind = flag(args, "--bind").and_then(|b| match b.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(e) => {
            errors.push(ConfigError::Value {
                key: "--bind".into(),
                message: format!("{b}: {e}"),
            });
            None
        }
    });
    let bind = flag_bind
        .or(sip.and_then(|s| s.bind))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)));
    let audio = file.audio.as_ref();
    let mut codecs = Vec::new();
    for name in audio.and_then(|a| a.codecs.clone()).unwrap_or_default() {
        match switchboard_engine::Codec::from_name(&name) {
            Some(c) if !codecs.contains(&c) => codecs.push(c),
            Some(_) => {}
            None => errors.push(ConfigError::Value {
                key: "audio.codecs".into(),
                message: format!("unknown codec {name:?} (known: opus, g722, pcmu, pcma)"),
            }),
        }
    }
    let username = file.account.as_ref().and_then(|a| a.username.clone());
    let config = EngineConfig {
        user: sip
            .and_then(|s| s.user.clone())
            .or(username)
            .unwrap_or_else(|| "agent".into()),
        display_name: sip.and_then(|s| s.display_name.clone()),
        max_calls: sip.and_then(|s| s.max_calls).unwrap_or(2),
        codecs,
        devices: Some(DeviceNames {
            input: audio.and_then(|a| a.input_device.clone()),
            output: audio.and_then(|a| a.output_device.clone()),
        }),
        level_meter_ms: Some(100),
        ringer: audio.and_then(|a| a.ringer_device.clone()),
        ..EngineConfig::headless(bind, "agent")
    };
    (config, errors)
}

/// The account to register, if the file has one.
fn account(file: &File) -> Result<Option<AccountSettings>, ConfigError> {
    let Some(a) = file.account.as_ref() else {
        return Ok(None);
    };
    let Some(registrar) = a.registrar.clone() else {
        return Ok(None);
    };
    let username = a.username.clone().ok_or_else(|| ConfigError::Value {
        key: "account.username".into(),
        message: "account.registrar needs account.username".into(),
    })?;
    Ok(Some(AccountSettings {
        registrar,
        username,
        realm: a.realm.clone(),
        expires: a.expires.unwrap_or(600),
    }))
}

fn config_notice(desk: &mut DeskApp, e: &ConfigError) {
    desk.notify(
        "config-error",
        vec![("error", e.to_string())],
        Severity::Error,
    );
}

fn main() -> eframe::Result {
    let args: Vec<String> = std::env::args().collect();
    let demo = args.iter().any(|a| a == "--demo");
    let path = config_path(&args);
    let explicit = args.iter().any(|a| a == "--config");
    let mut problems: Vec<ConfigError> = Vec::new();
    let file = match &path {
        Some(p) if explicit || p.exists() => match switchboard_desk::config::load(p) {
            Ok(f) => f,
            Err(e) => {
                // The desk opens anyway, with the defaults and the reason.
                problems.push(e);
                File::default()
            }
        },
        _ => File::default(),
    };
    let current_settings = switchboard_desk::config::SettingsEdit::from_file(&file);
    let (config, errors) = engine_config(&args, &file);
    problems.extend(errors);
    let account = account(&file).unwrap_or_else(|e| {
        problems.push(e);
        None
    });
    let desk_user = config.user.clone();
    let bind = config.bind;
    let engine = Engine::start(config);
    let dir = data_dir();
    let _ = std::fs::create_dir_all(&dir);
    let (store, store_error) = match Store::open(&dir.join("desk.db")) {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let registrar = account.as_ref().map(|a| a.registrar.clone());
    let (desk_config, lang) = DeskConfig::from_file(file.desk.as_ref(), registrar.as_deref());
    let (tx, rx) = mpsc::channel();
    let crm = file
        .desk
        .as_ref()
        .and_then(|d| d.crm.as_ref())
        .map(|c| c.build());
    let transfer_policy = file.desk.as_ref().and_then(|d| d.transfer_policy.clone());
    let directory = file.directory.clone();
    eframe::run_native(
        "Switchboard",
        eframe::NativeOptions {
            viewport: egui::ViewportBuilder::default()
                .with_title("Switchboard")
                .with_app_id("switchboard")
                .with_inner_size([1280.0, 720.0])
                .with_min_inner_size([800.0, 480.0]),
            persist_window: true,
            ..eframe::NativeOptions::default()
        },
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            // Light or dark, as the desktop is.
            ctx.set_theme(egui::ThemePreference::System);
            let wake = {
                let ctx = ctx.clone();
                Wake::new(move || ctx.request_repaint())
            };
            let mut desk = DeskApp::with_wake(desk_config, store, wake);
            desk.set_lang(lang);
            desk.set_settings_file(path, current_settings);
            for p in &problems {
                config_notice(&mut desk, p);
            }
            if let Some(e) = store_error {
                desk.notify_kind(NoticeKind::StoreUnavailable { error: e });
            }
            let (engine, engine_events) = match engine {
                Ok(e) => (Some(e.0), Some(e.1)),
                Err(e) => {
                    desk.notify(
                        "engine-failed",
                        vec![("error", e.to_string()), ("address", bind.to_string())],
                        Severity::Error,
                    );
                    (None, None)
                }
            };
            let policy = match transfer_policy.as_deref() {
                Some(p) => switchboard_engine::TransferPolicy::from_name(p).unwrap_or_else(|| {
                    config_notice(
                        &mut desk,
                        &ConfigError::Value {
                            key: "desk.transfer_policy".into(),
                            message: format!("{p:?}: use accept, ask or reject"),
                        },
                    );
                    switchboard_engine::TransferPolicy::Ask
                }),
                // The desk asks the operator unless told otherwise: a peer must not
                // redirect an agent's line on its own.
                None => switchboard_engine::TransferPolicy::Ask,
            };
            if let Some(e) = &engine {
                let _ = e.send(Command::SetTransferPolicy(policy));
            }
            match crm {
                Some(Ok(crm)) => {
                    let wake = ctx.clone();
                    match switchboard::CrmWorker::spawn(
                        crm,
                        Box::new(move || wake.request_repaint()),
                    ) {
                        Ok(w) => desk.set_crm(w),
                        Err(e) => desk.notify(
                            "crm-off",
                            vec![("error", e.to_string())],
                            Severity::Warning,
                        ),
                    }
                }
                Some(Err(e)) => config_notice(
                    &mut desk,
                    &ConfigError::Value {
                        key: "desk.crm".into(),
                        message: e.to_string(),
                    },
                ),
                None => {}
            }
            if let Some(d) = &directory {
                desk.set_directory(d);
            }
            let practice = match (&engine, demo) {
                (Some(e), true) => match switchboard::practice::start(
                    e.local_addr(),
                    &desk_user,
                    &dir.join("practice"),
                    switchboard::practice::Pacing::default(),
                ) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        desk.notify("practice-failed", vec![("error", e)], Severity::Warning);
                        None
                    }
                },
                _ => None,
            };
            if let Some(p) = &practice {
                // Practice callers can be put through to simulated colleagues.
                desk.set_practice(p.extensions.clone());
            }
            // The password: SWITCHBOARD_PASSWORD for headless use, else the keyring.
            desk.set_account(account, std::env::var("SWITCHBOARD_PASSWORD").ok());
            if !problems.is_empty() {
                desk.open_settings();
            }
            // The desk starts available in the demo; otherwise the operator chooses.
            if demo {
                desk.apply(
                    Instant::now(),
                    switchboard::Intent::SetState(switchboard_desk::agent::AgentState::Available),
                );
            }
            // Forward engine events and wake the UI only when one arrives.
            if let Some(mut events) = engine_events {
                let ctx = ctx.clone();
                std::thread::spawn(move || {
                    while let Some(ev) = events.blocking_recv() {
                        if tx.send(ev.kind).is_err() {
                            break;
                        }
                        ctx.request_repaint();
                    }
                });
            }
            let notifier = match switchboard::notify::Notifier::session() {
                Ok(n) => Some(n),
                Err(e) => {
                    eprintln!("switchboard: no desktop notifications ({e})");
                    None
                }
            };
            Ok(Box::new(Gui {
                desk,
                events: rx,
                engine,
                notifier,
                _practice: practice,
            }))
        }),
    )
}
