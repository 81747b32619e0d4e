//! `switchboard` — the desktop binary: starts the engine, runs the egui window.
//!
//! `switchboard --demo` needs no PBX: the desk listens on 127.0.0.1:5060 as
//! `agent`, and a practice line inside the same process (see
//! `switchboard::practice`) rings it with simulated callers who speak.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchboard::{DeskApp, DeskConfig};
use switchboard_desk::store::Store;
use switchboard_engine::events::EventKind;
use switchboard_engine::{Command, DeviceNames, Engine, EngineConfig};

struct Gui {
    desk: DeskApp,
    events: mpsc::Receiver<EventKind>,
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    notifier: Option<switchboard::notify::Notifier>,
}

impl eframe::App for Gui {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let now = Instant::now();
        while let Ok(ev) = self.events.try_recv() {
            self.desk.handle_event(now, &ev);
        }
        egui::CentralPanel::default().show(ui, |ui| self.desk.ui(ui, now));
        for c in self.desk.take_commands() {
            let _ = self.commands.send(c);
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

/// The configuration file: `--config FILE`, else
/// `~/.config/switchboard/config.toml` (which need not exist yet: the
/// settings screen creates it). `None` only without a home directory.
fn config_path(args: &[String]) -> Option<std::path::PathBuf> {
    if let Some(p) = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1))
    {
        return Some(p.into());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("switchboard/config.toml"))
}

/// The engine's settings: the file's `[sip]`, `[account]` and `[audio]`
/// sections, `--bind` over them, and the embedded default (127.0.0.1:5060 as
/// `agent`, no registrar) for what is left out.
fn engine_config(
    args: &[String],
    file: &switchboard_desk::config::File,
) -> Result<EngineConfig, String> {
    let sip = file.sip.as_ref();
    let flag_bind = args
        .iter()
        .position(|a| a == "--bind")
        .and_then(|i| args.get(i + 1))
        .map(|b| {
            b.parse::<SocketAddr>()
                .map_err(|e| format!("--bind {b}: {e}"))
        })
        .transpose()?;
    let bind = flag_bind
        .or(sip.and_then(|s| s.bind))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 5060)));
    let account = match file
        .account
        .as_ref()
        .and_then(|a| a.registrar.clone().map(|r| (a, r)))
    {
        Some((a, registrar)) => Some(switchboard_engine::AccountConfig {
            registrar,
            username: a
                .username
                .clone()
                .ok_or("account.registrar needs account.username")?,
            password: std::env::var("SWITCHBOARD_PASSWORD")
                .map_err(|_| "registering needs the password in SWITCHBOARD_PASSWORD")?,
            realm: a.realm.clone(),
            expires: a.expires.unwrap_or(600),
        }),
        None => None,
    };
    let audio = file.audio.as_ref();
    let mut codecs = Vec::new();
    for name in audio.and_then(|a| a.codecs.clone()).unwrap_or_default() {
        let c = switchboard_engine::Codec::from_name(&name)
            .ok_or_else(|| format!("unknown codec {name:?} in audio.codecs"))?;
        if !codecs.contains(&c) {
            codecs.push(c);
        }
    }
    Ok(EngineConfig {
        bind,
        user: sip
            .and_then(|s| s.user.clone())
            .or_else(|| account.as_ref().map(|a| a.username.clone()))
            .unwrap_or_else(|| "agent".into()),
        display_name: sip.and_then(|s| s.display_name.clone()),
        max_calls: sip.and_then(|s| s.max_calls).unwrap_or(2),
        account,
        codecs,
        mic: None,
        speaker: None,
        devices: Some(DeviceNames {
            input: audio.and_then(|a| a.input_device.clone()),
            output: audio.and_then(|a| a.output_device.clone()),
        }),
        level_meter_ms: Some(100),
        ringer: audio.and_then(|a| a.ringer_device.clone()),
    })
}

fn main() -> eframe::Result {
    let args: Vec<String> = std::env::args().collect();
    let demo = args.iter().any(|a| a == "--demo");
    let path = config_path(&args);
    let explicit = args.iter().any(|a| a == "--config");
    let file = match &path {
        Some(p) if explicit || p.exists() => match switchboard_desk::config::load(p) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("switchboard: {e}");
                std::process::exit(2);
            }
        },
        _ => switchboard_desk::config::File::default(),
    };
    let current_settings = switchboard_desk::config::SettingsEdit::from_file(&file);
    let config = match engine_config(&args, &file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("switchboard: {e}");
            std::process::exit(2);
        }
    };
    let desk_user = config.user.clone();
    let (engine, mut engine_events) = match Engine::start(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("switchboard: {e}");
            std::process::exit(1);
        }
    };
    let dir = data_dir();
    let practice = if demo {
        match switchboard::practice::start(
            engine.local_addr(),
            &desk_user,
            &dir.join("practice"),
            switchboard::practice::Pacing::default(),
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("switchboard: {e}");
                None
            }
        }
    } else {
        None
    };
    let _ = std::fs::create_dir_all(&dir);
    let store = match Store::open(&dir.join("desk.db")) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("switchboard: {e}; notes will not be kept");
            None
        }
    };
    let crm = match file
        .desk
        .as_ref()
        .and_then(|d| d.crm.as_ref())
        .map(|c| c.build())
    {
        Some(Ok(c)) => Some(c),
        Some(Err(e)) => {
            eprintln!("switchboard: [desk.crm]: {e}");
            std::process::exit(2);
        }
        None => None,
    };
    let transfer_policy = match file
        .desk
        .as_ref()
        .and_then(|d| d.transfer_policy.as_deref())
    {
        Some(p) => match switchboard_engine::TransferPolicy::from_name(p) {
            Some(p) => p,
            None => {
                eprintln!("switchboard: [desk] transfer_policy {p:?}: use accept, ask or reject");
                std::process::exit(2);
            }
        },
        // The desk asks the operator unless told otherwise: a peer must not
        // redirect an agent's line on its own.
        None => switchboard_engine::TransferPolicy::Ask,
    };
    let _ = engine.send(Command::SetTransferPolicy(transfer_policy));
    let (desk_config, lang) = DeskConfig::from_file(file.desk);
    let mut desk = DeskApp::new(desk_config, store);
    desk.set_lang(lang);
    desk.set_settings_file(path, current_settings);
    if let Some(p) = &practice {
        // Practice callers can be put through to simulated colleagues.
        desk.set_practice_targets(p.colleagues.clone());
    }
    // The desk starts available in the demo; otherwise the operator chooses.
    if demo {
        desk.apply(
            Instant::now(),
            switchboard::Intent::SetState(switchboard_desk::agent::AgentState::Available),
        );
    }
    let (tx, rx) = mpsc::channel();
    let commands = engine.commander();
    eframe::run_native(
        "Switchboard",
        eframe::NativeOptions {
            viewport: egui::ViewportBuilder::default()
                .with_title("Switchboard")
                .with_inner_size([1040.0, 760.0])
                .with_min_inner_size([640.0, 420.0]),
            ..eframe::NativeOptions::default()
        },
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            if let Some(crm) = crm {
                let wake = ctx.clone();
                match switchboard::CrmWorker::spawn(crm, Box::new(move || wake.request_repaint())) {
                    Ok(w) => desk.set_crm(w),
                    Err(e) => eprintln!("switchboard: CRM lookups off: {e}"),
                }
            }
            // Forward engine events and wake the UI only when one arrives.
            std::thread::spawn(move || {
                while let Some(ev) = engine_events.blocking_recv() {
                    if tx.send(ev.kind).is_err() {
                        break;
                    }
                    ctx.request_repaint();
                }
            });
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
                commands,
                notifier,
            }))
        }),
    )
}
