//! `switchboard` — the desktop binary: puts the desk together
//! (`switchboard::startup`), forwards the engine's events, runs the window.
//!
//! `switchboard --demo` needs no PBX: the desk listens on 127.0.0.1:5060 as
//! `agent`, and a practice line inside the same process (see
//! `switchboard::practice`) rings it with simulated callers who speak.
//! Other flags: `--config FILE`, `--bind IP:PORT`, `--data-dir DIR`.

#![forbid(unsafe_code)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use switchboard::{DeskApp, Wake};
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;

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

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // Drafts written, untyped e-mail claims given back to the queue.
        self.desk.shutdown();
    }
}

fn main() -> eframe::Result {
    let args: Vec<String> = std::env::args().collect();
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
            let started = switchboard::startup::start(&args, wake);
            let (tx, rx) = mpsc::channel();
            // Forward engine events and wake the UI only when one arrives.
            if let Some(mut events) = started.events {
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
                desk: started.desk,
                events: rx,
                engine: started.engine,
                notifier,
                _practice: started.practice,
            }))
        }),
    )
}
