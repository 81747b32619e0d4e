//! Desktop notifications for calls that ring while the window is covered:
//! `org.freedesktop.Notifications` on the session bus (any Linux desktop's
//! notification daemon), spoken to from a worker thread so a slow daemon
//! never holds up the window. The notice for a ringing call replaces the
//! previous one and is closed when the call is answered, declined or gone.

use std::collections::HashMap;
use std::sync::mpsc;

use zbus::zvariant::Value;

/// What the desk wants on the desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A call rings: title and text.
    Ringing {
        /// e.g. "Incoming call: Mari Maasikas".
        summary: String,
        /// Number, queue and other card fields, one per line.
        body: String,
    },
    /// The call no longer rings.
    Close,
}

/// Notification daemons may read the body as markup (links, images):
/// caller-supplied text is shown as text.
fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Handle of the notification thread.
#[derive(Debug)]
pub struct Notifier {
    tx: mpsc::Sender<Notice>,
}

impl Notifier {
    /// Connects to the session bus (`DBUS_SESSION_BUS_ADDRESS`).
    pub fn session() -> Result<Notifier, String> {
        let conn = zbus::blocking::Connection::session().map_err(|e| e.to_string())?;
        Notifier::with_connection(conn)
    }

    /// Connects to the bus at `address` (tests run their own bus).
    pub fn at(address: &str) -> Result<Notifier, String> {
        let conn = zbus::blocking::connection::Builder::address(address)
            .and_then(|b| b.build())
            .map_err(|e| e.to_string())?;
        Notifier::with_connection(conn)
    }

    fn with_connection(conn: zbus::blocking::Connection) -> Result<Notifier, String> {
        let (tx, rx) = mpsc::channel::<Notice>();
        std::thread::Builder::new()
            .name("notify".into())
            .spawn(move || {
                let mut shown: u32 = 0;
                for notice in rx {
                    match notice {
                        Notice::Ringing { summary, body } => {
                            let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
                            // Critical: stays until we close it.
                            hints.insert("urgency", Value::U8(2));
                            hints.insert("category", Value::from("call.incoming"));
                            let reply = conn.call_method(
                                Some("org.freedesktop.Notifications"),
                                "/org/freedesktop/Notifications",
                                Some("org.freedesktop.Notifications"),
                                "Notify",
                                &(
                                    "Switchboard",
                                    shown,
                                    "call-start",
                                    summary.as_str(),
                                    escape_markup(&body).as_str(),
                                    Vec::<&str>::new(),
                                    hints,
                                    0i32,
                                ),
                            );
                            // No daemon: the window still shows the call.
                            shown = reply
                                .ok()
                                .and_then(|m| m.body().deserialize::<u32>().ok())
                                .unwrap_or(0);
                        }
                        Notice::Close if shown != 0 => {
                            let _ = conn.call_method(
                                Some("org.freedesktop.Notifications"),
                                "/org/freedesktop/Notifications",
                                Some("org.freedesktop.Notifications"),
                                "CloseNotification",
                                &(shown,),
                            );
                            shown = 0;
                        }
                        Notice::Close => {}
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Notifier { tx })
    }

    /// Shows or closes (never blocks).
    pub fn send(&self, notice: Notice) {
        let _ = self.tx.send(notice);
    }
}
