//! Desktop notifications for calls that ring while the window is covered:
//! `org.freedesktop.Notifications` on the session bus (any Linux desktop's
//! notification daemon), spoken to from a worker thread so a slow daemon
//! never holds up the window. The notice for a ringing call replaces the
//! previous one and is closed when the call is answered, declined or gone.
//!
//! The summary and body carry caller-supplied text (name, number, queue).
//! The desk cleans it when the call arrives; what is sent is cleaned again
//! here, line by line ([`switchboard_desk::caller_text::clean`]: no control,
//! bidi or invisible characters, capped), and markup-escaped in the summary
//! as well as the body: the specification makes the summary plain text,
//! but some daemons render markup there too.

use std::collections::HashMap;
use std::sync::mpsc;

use switchboard_desk::caller_text::clean;
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

/// Longest summary sent (one line on every daemon).
const MAX_SUMMARY: usize = 120;
/// Longest line of the body.
const MAX_LINE: usize = 200;
/// Most lines of the body.
const MAX_LINES: usize = 12;

/// Notification daemons may read the body (and some the summary) as
/// markup (links, images): caller-supplied text is shown as text.
fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The summary and body as sent to the daemon: the summary one clean,
/// escaped line; the body its lines, each cleaned and escaped, blank ones
/// dropped, at most [`MAX_LINES`].
fn on_the_wire(summary: &str, body: &str) -> (String, String) {
    let summary = escape_markup(&clean(summary, MAX_SUMMARY));
    let body = body
        .lines()
        .map(|l| clean(l, MAX_LINE))
        .filter(|l| !l.is_empty())
        .take(MAX_LINES)
        .map(|l| escape_markup(&l))
        .collect::<Vec<_>>()
        .join("\n");
    (summary, body)
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
                            let (summary, body) = on_the_wire(&summary, &body);
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
                                    body.as_str(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ordinary_notice_is_sent_as_it_is() {
        assert_eq!(
            on_the_wire(
                "Incoming call: Õie Šmid",
                "Number: +3725551234\nQueue: Billing"
            ),
            (
                "Incoming call: Õie Šmid".to_owned(),
                "Number: +3725551234\nQueue: Billing".to_owned()
            )
        );
    }

    #[test]
    fn the_summary_is_one_clean_escaped_line() {
        let (summary, _) = on_the_wire(
            "Incoming call: <b>Mari</b>\n\u{1b}[31m\u{202E}gnp.exe & <a href=\"x\">",
            "",
        );
        assert_eq!(
            summary,
            "Incoming call: &lt;b&gt;Mari&lt;/b&gt; [31mgnp.exe &amp; &lt;a href=\"x\"&gt;"
        );
        let (long, _) = on_the_wire(&"x".repeat(64 * 1024), "");
        assert_eq!(long.chars().count(), MAX_SUMMARY);
    }

    #[test]
    fn the_body_keeps_its_lines_and_loses_controls_bidi_and_markup() {
        let (_, body) = on_the_wire(
            "",
            "Number: +372\r555\u{200B}1234\n\n\u{202E}Queue: <i>Billing</i>\u{7}\r\n\t\n",
        );
        assert_eq!(
            body,
            "Number: +372 5551234\nQueue: &lt;i&gt;Billing&lt;/i&gt;"
        );
        let many = "line\n".repeat(1000);
        assert_eq!(on_the_wire("", &many).1.lines().count(), MAX_LINES);
    }
}
