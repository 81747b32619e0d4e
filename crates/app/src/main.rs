//! `switchboard` — the desktop binary: starts the engine, runs the egui window.
//!
//! `switchboard --demo` needs no PBX: the desk listens on 127.0.0.1:5060 as
//! `agent`, and a practice line inside the same process calls it every
//! 20 seconds with a simulated caller (name, queue, IVR data in headers).

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

fn practice_line(desk_addr: SocketAddr, desk_user: String) {
    let config = EngineConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        user: "practice".into(),
        display_name: Some("Practice line".into()),
        max_calls: 4,
        account: None,
        codecs: Vec::new(),
        mic: None,
        speaker: None,
        devices: None,
        level_meter_ms: None,
        ringer: None,
    };
    let Ok((engine, mut events)) = Engine::start(config) else {
        eprintln!("switchboard: the practice line could not start");
        return;
    };
    let callers = [
        (
            "Mari Maasikas",
            "+3725551234",
            "Billing",
            "account=100200300",
        ),
        ("Ivan Petrov", "+3725559876", "Orders", "order=A-4711"),
        ("Ana Novak", "+38615551234", "Support", "ticket=T-88"),
    ];
    std::thread::spawn(move || {
        let mut k = 0usize;
        loop {
            let (name, number, queue, ivr) = callers[k % callers.len()];
            k += 1;
            let _ = engine.send(Command::Call {
                target: format!("sip:{desk_user}@{desk_addr}"),
                headers: vec![
                    (
                        "P-Asserted-Identity".into(),
                        format!("\"{name}\" <sip:{number}@practice.invalid>"),
                    ),
                    ("X-Queue".into(), queue.into()),
                    ("X-IVR-Data".into(), ivr.into()),
                ],
            });
            // Each practice call lasts up to a minute; then wait and ring again.
            let until = Instant::now() + Duration::from_secs(80);
            while Instant::now() < until {
                while events.try_recv().is_ok() {}
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = engine.send(Command::HangupAll);
            std::thread::sleep(Duration::from_secs(20));
        }
    });
}

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
    let p = base.join("switchboard/config.toml");
    p.exists().then_some(p)
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
        ringer: None,
    })
}

fn main() -> eframe::Result {
    let args: Vec<String> = std::env::args().collect();
    let demo = args.iter().any(|a| a == "--demo");
    let file = match config_path(&args) {
        Some(p) => match switchboard_desk::config::load(&p) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("switchboard: {e}");
                std::process::exit(2);
            }
        },
        None => switchboard_desk::config::File::default(),
    };
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
    if demo {
        practice_line(engine.local_addr(), desk_user);
    }
    let dir = data_dir();
    let _ = std::fs::create_dir_all(&dir);
    let store = match Store::open(&dir.join("desk.db")) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("switchboard: {e}; notes will not be kept");
            None
        }
    };
    let (desk_config, lang) = DeskConfig::from_file(file.desk);
    let mut desk = DeskApp::new(desk_config, store);
    desk.set_lang(lang);
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
        eframe::NativeOptions::default(),
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            // Forward engine events and wake the UI only when one arrives.
            std::thread::spawn(move || {
                while let Some(ev) = engine_events.blocking_recv() {
                    if tx.send(ev.kind).is_err() {
                        break;
                    }
                    ctx.request_repaint();
                }
            });
            Ok(Box::new(Gui {
                desk,
                events: rx,
                commands,
            }))
        }),
    )
}
