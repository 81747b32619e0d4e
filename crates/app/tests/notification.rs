//! Desktop notifications over a real D-Bus: the test runs its own session
//! bus (`dbus-daemon`) and a notification daemon on it; a call that rings at
//! the desk shows a notification with the caller card, and answering the
//! call closes it.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command as Proc, Stdio};

use std::sync::mpsc;
use std::time::{Duration, Instant};
use switchboard_interop::Guard;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::notify::Notifier;
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_engine::CallId;
use switchboard_engine::events::EventKind;
use zbus::zvariant::OwnedValue;

#[derive(Debug, PartialEq)]
enum Seen {
    Notify {
        app: String,
        summary: String,
        body: String,
        urgency: Option<u8>,
    },
    Close(u32),
}

struct Daemon {
    tx: mpsc::Sender<Seen>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Daemon {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        let _ = self.tx.send(Seen::Notify {
            app: app_name,
            summary,
            body,
            urgency,
        });
        7
    }

    fn close_notification(&mut self, id: u32) {
        let _ = self.tx.send(Seen::Close(id));
    }
}

/// The test's own session bus, stopped (its process group) when dropped.
fn private_bus() -> (Guard, String) {
    let mut bus = Guard::spawn(
        Proc::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped()),
        "dbus-daemon (Debian package dbus-daemon; scripts/install-deps.sh test installs it)",
    );
    let mut line = String::new();
    BufReader::new(bus.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (bus, line.trim().to_owned())
}

#[test]
fn a_ringing_call_shows_a_desktop_notification_and_answering_closes_it() {
    let (_bus, address) = private_bus();
    let (tx, seen) = mpsc::channel();
    let _daemon = zbus::blocking::connection::Builder::address(address.as_str())
        .unwrap()
        .name("org.freedesktop.Notifications")
        .unwrap()
        .serve_at("/org/freedesktop/Notifications", Daemon { tx })
        .unwrap()
        .build()
        .expect("notification daemon on the private bus");
    let notifier = Notifier::at(&address).expect("desk connects to the bus");

    let mut desk = DeskApp::new(DeskConfig::default(), None);
    desk.apply(Instant::now(), Intent::SetState(AgentState::Available));
    let mut h = Harness::new_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), desk);
    h.state_mut()
        .handle_event(Instant::now(), &common::incoming_in_queue(1, "Billing"));
    h.run();
    for n in h.state_mut().take_notices() {
        notifier.send(n);
    }
    let got = seen
        .recv_timeout(Duration::from_secs(5))
        .expect("the daemon got a notification");
    assert_eq!(
        got,
        Seen::Notify {
            app: "Switchboard".into(),
            summary: "Incoming call: Mari Maasikas".into(),
            body: "Number: +3725551234\nQueue: Billing\nIVR: account=100200300".into(),
            urgency: Some(2),
        }
    );
    // Nothing new while it keeps ringing.
    h.run();
    assert!(h.state_mut().take_notices().is_empty());

    h.get_by_label("Answer").click();
    h.run();
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Established {
            call: CallId(1),
            call_id: "call-1@test".into(),
            outgoing: false,
        },
    );
    h.run();
    for n in h.state_mut().take_notices() {
        notifier.send(n);
    }
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(5)).unwrap(),
        Seen::Close(7),
        "the notification the daemon handed out is closed"
    );
}
