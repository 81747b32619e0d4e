//! The outbox's delivery thread: it takes due items from the database,
//! posts webhooks and sends e-mail, and records each outcome, so a slow or
//! dead receiver never holds up the window and nothing queued is lost when
//! the desk stops (see [`switchboard_desk::outbox`] for the rules).
//!
//! ```text
//!  desk: wrap-up saved + items queued (one transaction) ─▶ poke()
//!                                                           │
//!  outbox thread (own Store connection):  every 500 ms or when poked
//!    outbox_due ─▶ claim ─▶ POST url (Idempotency-Key, Bearer token)  ─┐
//!                         └▶ SMTP (Message-ID from the key)            ─┴▶ judge ─▶ sent │ retry │ failed ─▶ changed()
//! ```
//!
//! The thread owns its own SQLite connection, so its writes never wait for
//! the window's. It reads the due items in small batches and claims each
//! before sending it; an item whose attempt was cut short by a crash is
//! tried again once its claim runs out ([`Pace::lease`]), with the same
//! idempotency key, so the receiver can tell it is a repeat.
//!
//! Every wait is bounded: a webhook connects within 5 s and is done within
//! 15 s, an SMTP conversation waits at most 15 s for any one step, and
//! dropping the worker waits at most [`STOP_WAIT`] for the attempt in
//! progress (an attempt cut off there is repeated on the next start).
//! Whatever the receiver sends back is network input: bodies are read up
//! to 64 KiB and judged by [`switchboard_desk::outbox::judge_response`];
//! nothing a receiver sends can panic this thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, Message, SmtpTransport, Transport};
use switchboard_desk::caller_text;
use switchboard_desk::outbox::{
    Backoff, Delivery, Item, MAX_REMOTE_TEXT, Verdict, judge_response, message_id,
};
use switchboard_desk::store::Store;
use switchboard_desk::time::unix_ms;

/// A webhook's longest wait for its connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A webhook's longest time from start to the end of the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest wait for any one step of an SMTP conversation.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long dropping the worker waits for the attempt in progress.
pub const STOP_WAIT: Duration = Duration::from_secs(3);
/// The largest answer body read.
const MAX_BODY: u64 = 64 * 1024;
/// Items taken from the database per round.
const BATCH: usize = 16;

/// Resolves a keyring entry's name to its secret (a bearer token); none
/// when the keyring has no such entry.
pub type TokenLookup = Box<dyn Fn(&str) -> Option<String> + Send>;

/// Pushes one interaction to the team database (blocking, bounded by the
/// team worker); `Err` with the reason when it could not.
pub type TeamPush = Box<dyn Fn(&switchboard_desk::team::TeamCopy) -> Result<(), String> + Send>;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on this machine or a trusted network.
    None,
    /// Plain connection upgraded with STARTTLS; refused if the server does
    /// not offer it (never falls back to plain text).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where e-mail is sent from.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The server's name (also the name its certificate must carry).
    pub host: String,
    /// Its port (25, 587, 465 …).
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// The account to log in with, if the server wants one.
    pub user: Option<String>,
    /// Its password (from the keyring).
    pub password: Option<String>,
    /// The sender (`Klienditugi <tugi@example.ee>`).
    pub from: String,
    /// A CA (PEM) trusted beside the system's roots, for a server with a
    /// certificate of the company's own CA.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("from", &self.from)
            .finish()
    }
}

/// How often the worker looks and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// How often due items are looked for when nobody pokes.
    pub poll: Duration,
    /// The waits between attempts ([`Backoff::STANDARD`]: 5 s doubling to
    /// 10 min); tests shorten them.
    pub backoff: Backoff,
    /// How long an item is held by the attempt that claimed it: longer than
    /// any attempt takes, so a second desk on the same database does not
    /// send it at the same time; after a crash, the wait before the item is
    /// tried again.
    pub lease: Duration,
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            poll: Duration::from_millis(500),
            backoff: Backoff::STANDARD,
            lease: Duration::from_secs(120),
        }
    }
}

/// Handle of the delivery thread; dropping it stops the thread.
#[derive(Debug)]
pub struct OutboxWorker {
    wake: mpsc::Sender<()>,
    stop: Arc<AtomicBool>,
    /// Disconnected when the thread ends.
    ended: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl OutboxWorker {
    /// A thread that delivers the outbox of the database at `db` (its own
    /// Store connection): due items every 500 ms or at once when poked;
    /// `token` resolves a keyring entry name to a bearer token (the desktop
    /// passes a closure over crate::secrets; tests pass a fixed one);
    /// `changed` is called after every state change (the desk re-reads what
    /// it shows; it wakes the window).
    pub fn spawn(
        db: PathBuf,
        smtp: Option<SmtpSettings>,
        token: TokenLookup,
        changed: Box<dyn Fn() + Send>,
    ) -> std::io::Result<OutboxWorker> {
        Self::spawn_with(db, smtp, token, changed, Pace::default())
    }

    /// [`OutboxWorker::spawn`] at another pace (tests: back-offs of
    /// milliseconds instead of seconds). The database is opened here, so an
    /// error opening it comes back from this call.
    pub fn spawn_with(
        db: PathBuf,
        smtp: Option<SmtpSettings>,
        token: TokenLookup,
        changed: Box<dyn Fn() + Send>,
        pace: Pace,
    ) -> std::io::Result<OutboxWorker> {
        Self::spawn_for_team(db, smtp, token, None, changed, pace)
    }

    /// [`OutboxWorker::spawn_with`], also carrying copies to the team
    /// database through `team`.
    pub fn spawn_for_team(
        db: PathBuf,
        smtp: Option<SmtpSettings>,
        token: TokenLookup,
        team: Option<TeamPush>,
        changed: Box<dyn Fn() + Send>,
        pace: Pace,
    ) -> std::io::Result<OutboxWorker> {
        let store = Store::open(&db)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", db.display())))?;
        let (wake, woken) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel::<()>();
        let stop = Arc::new(AtomicBool::new(false));
        let mut courier = Courier {
            store,
            agent: http_agent(),
            smtp: smtp.map(Mailer::new),
            token,
            team,
            changed,
            pace,
            stop: Arc::clone(&stop),
            last_store_error: None,
        };
        let thread = std::thread::Builder::new()
            .name("outbox".into())
            .spawn(move || {
                let _ended = ended_tx;
                courier.run(&woken);
            })?;
        Ok(OutboxWorker {
            wake,
            stop,
            ended,
            thread: Some(thread),
        })
    }

    /// Something was queued: look now.
    pub fn poke(&self) {
        // The thread is gone only after a drop began; nothing to wake then.
        let _ = self.wake.send(());
    }
}

impl Drop for OutboxWorker {
    /// Stops the thread after the attempt in progress and joins it, waiting
    /// at most [`STOP_WAIT`]; a thread still inside an attempt then is left
    /// to finish on its own (its item stays claimed and is tried again).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.send(());
        match self.ended.recv_timeout(STOP_WAIT) {
            Err(mpsc::RecvTimeoutError::Disconnected) | Ok(()) => {
                if let Some(t) = self.thread.take()
                    && t.join().is_err()
                {
                    eprintln!("switchboard: outbox: the delivery thread panicked");
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                eprintln!(
                    "switchboard: outbox: a delivery still in progress after {STOP_WAIT:?}; \
                     it is tried again on the next start"
                );
            }
        }
    }
}

fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(REQUEST_TIMEOUT))
        .http_status_as_error(false)
        // A webhook that moved is a configuration to fix, not to follow
        // (a redirected POST turns into a GET, or loses its body).
        .max_redirects(0)
        .user_agent(concat!("Switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The SMTP side, built once from the settings.
struct Mailer {
    from: String,
    /// The transport, or why the settings cannot make one.
    transport: Result<SmtpTransport, String>,
}

impl Mailer {
    fn new(s: SmtpSettings) -> Mailer {
        Mailer {
            transport: smtp_transport(&s),
            from: s.from,
        }
    }
}

fn smtp_transport(s: &SmtpSettings) -> Result<SmtpTransport, String> {
    let extra = match &s.ca_file {
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| format!("SMTP CA file {}: {e}", path.display()))?;
            Some(
                lettre::transport::smtp::client::Certificate::from_pem(&pem)
                    .map_err(|e| format!("SMTP CA file {}: {e}", path.display()))?,
            )
        }
        None => None,
    };
    let tls = |host: &str| {
        let mut b = TlsParameters::builder(host.to_owned());
        if let Some(c) = extra.clone() {
            b = b.add_root_certificate(c);
        }
        b.build_rustls()
            .map_err(|e| format!("SMTP TLS settings for {host}: {e}"))
    };
    let mut b = SmtpTransport::builder_dangerous(&s.host)
        .port(s.port)
        .timeout(Some(SMTP_TIMEOUT))
        .tls(match s.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls(&s.host)?),
            SmtpTls::Tls => Tls::Wrapper(tls(&s.host)?),
        });
    match (&s.user, &s.password) {
        (Some(user), Some(password)) => {
            b = b.credentials(Credentials::new(user.clone(), password.clone()));
        }
        (Some(user), None) => {
            return Err(format!("no password for the SMTP user {user}"));
        }
        (None, _) => {}
    }
    Ok(b.build())
}

/// The thread's side: the store, the clients, the callbacks.
struct Courier {
    store: Store,
    agent: ureq::Agent,
    smtp: Option<Mailer>,
    token: TokenLookup,
    team: Option<TeamPush>,
    changed: Box<dyn Fn() + Send>,
    pace: Pace,
    stop: Arc<AtomicBool>,
    /// The last database error reported (a broken disk is said once, not
    /// twice a second).
    last_store_error: Option<String>,
}

impl Courier {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(&mut self, woken: &mpsc::Receiver<()>) {
        while !self.stopping() {
            let more = self.round();
            if self.stopping() {
                break;
            }
            let wait = if more { Duration::ZERO } else { self.pace.poll };
            match woken.recv_timeout(wait) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Pokes that came in meanwhile are served by this round.
                    while woken.try_recv().is_ok() {}
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    /// One look at the due items; true when the batch was full (more may
    /// be due at once).
    fn round(&mut self) -> bool {
        let due = match self.store.outbox_due(unix_ms(), BATCH) {
            Ok(due) => due,
            Err(e) => {
                self.store_error("reading the due items", &e);
                return false;
            }
        };
        for item in &due {
            if self.stopping() {
                return false;
            }
            let now = unix_ms();
            let lease = i64::try_from(self.pace.lease.as_millis()).unwrap_or(i64::MAX);
            match self
                .store
                .outbox_claim(item.id, now, now.saturating_add(lease))
            {
                Ok(true) => {}
                // Another desk on the same database took it.
                Ok(false) => continue,
                Err(e) => {
                    self.store_error("claiming an item", &e);
                    continue;
                }
            }
            let verdict = self.deliver(item);
            self.record(item, verdict);
            (self.changed)();
        }
        due.len() == BATCH
    }

    fn record(&mut self, item: &Item, verdict: Verdict) {
        let now = unix_ms();
        let done = match verdict {
            Verdict::Sent { result } => self.store.outbox_sent(item.id, now, result.as_deref()),
            Verdict::Retry {
                reason,
                retry_after_s,
            } => {
                let attempts = item.attempts.saturating_add(1);
                let seed = (item.id as u64) ^ u64::from(attempts).rotate_left(32) ^ (now as u64);
                let wait = self.pace.backoff.delay_ms(attempts, retry_after_s, seed);
                self.store
                    .outbox_retry(item.id, now.saturating_add(wait), &reason)
            }
            Verdict::Failed { reason } => self.store.outbox_failed(item.id, &reason),
        };
        if let Err(e) = done {
            // The item stays claimed and is tried again when the claim
            // runs out; the receiver drops the repeat by its key.
            self.store_error("recording an outcome", &e);
        } else {
            self.last_store_error = None;
        }
    }

    fn store_error(&mut self, doing: &str, e: &switchboard_desk::store::StoreError) {
        let text = format!("{doing}: {e}");
        if self.last_store_error.as_deref() != Some(text.as_str()) {
            eprintln!("switchboard: outbox: {text}");
            self.last_store_error = Some(text);
        }
    }

    fn deliver(&self, item: &Item) -> Verdict {
        match &item.delivery {
            Delivery::Webhook {
                url,
                token_entry,
                result_field,
            } => self.webhook(item, url, token_entry.as_deref(), result_field.as_deref()),
            Delivery::Email { to, subject, body } => self.email(item, to, subject, body),
            Delivery::Mail { from, to, raw } => self.mail(from, to, raw),
            Delivery::Team => self.team(item),
        }
    }

    /// A copy for the team database: the database down is worth waiting
    /// for (it comes back); a copy that cannot be read never will be.
    fn team(&self, item: &Item) -> Verdict {
        let Some(push) = &self.team else {
            return Verdict::Failed {
                reason: "no team database configured ([team] database)".into(),
            };
        };
        let copy: switchboard_desk::team::TeamCopy =
            match serde_json::from_value(item.payload.clone()) {
                Ok(c) => c,
                Err(e) => {
                    return Verdict::Failed {
                        reason: format!("the team copy cannot be read: {e}"),
                    };
                }
            };
        match push(&copy) {
            Ok(()) => Verdict::Sent { result: None },
            Err(reason) => Verdict::Retry {
                reason,
                retry_after_s: None,
            },
        }
    }

    fn webhook(
        &self,
        item: &Item,
        url: &str,
        token_entry: Option<&str>,
        result_field: Option<&str>,
    ) -> Verdict {
        let failed = |reason: String| Verdict::Failed { reason };
        let token = match token_entry {
            None => None,
            Some(entry) => match (self.token)(entry) {
                None => return failed(format!("no token in the keyring for {entry}")),
                Some(t) if !is_header_value(t.trim()) || t.trim().is_empty() => {
                    return failed(format!(
                        "the token in the keyring for {entry} cannot be sent in a header"
                    ));
                }
                Some(t) => Some(t.trim().to_owned()),
            },
        };
        let body = match serde_json::to_vec(&item.payload) {
            Ok(b) => b,
            Err(e) => return failed(format!("the payload cannot be written as JSON: {e}")),
        };
        let mut req = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header("Idempotency-Key", header_safe(&item.key));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        match req.send(&body[..]) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // A body cut short still leaves the status to judge by.
                let text = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_BODY)
                    .read_to_vec()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                judge_response(status, retry_after.as_deref(), &text, result_field)
            }
            Err(e) => judge_http_error(&e),
        }
    }

    fn email(&self, item: &Item, to: &str, subject: &str, body: &str) -> Verdict {
        let failed = |reason: String| Verdict::Failed { reason };
        let Some(mailer) = &self.smtp else {
            return failed("no SMTP server configured".into());
        };
        let transport = match &mailer.transport {
            Ok(t) => t,
            Err(reason) => return failed(reason.clone()),
        };
        let from: Mailbox = match mailer.from.parse() {
            Ok(m) => m,
            Err(e) => return failed(format!("the sender {} is not an address: {e}", mailer.from)),
        };
        let rcpt: Mailbox = match to.parse() {
            Ok(m) => m,
            Err(e) => return failed(format!("{to} is not an address: {e}")),
        };
        // One line: a subject must not start headers of its own.
        let subject: String = subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let message = Message::builder()
            .from(from)
            .to(rcpt)
            .subject(subject)
            .message_id(Some(message_id(&item.key)))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned());
        let message = match message {
            Ok(m) => m,
            Err(e) => return failed(format!("the e-mail cannot be built: {e}")),
        };
        match transport.send(&message) {
            Ok(_) => Verdict::Sent { result: None },
            Err(e) => judge_smtp_error(&e),
        }
    }

    /// A mail the desk built whole (a reply that threads, CRLF lines): sent
    /// byte for byte (dot-stuffed on the wire only), to the envelope given.
    fn mail(&self, from: &str, to: &[String], raw: &[u8]) -> Verdict {
        let failed = |reason: String| Verdict::Failed { reason };
        let Some(mailer) = &self.smtp else {
            return failed("no SMTP server configured".into());
        };
        let transport = match &mailer.transport {
            Ok(t) => t,
            Err(reason) => return failed(reason.clone()),
        };
        let sender = match envelope_address(from) {
            Ok(a) => a,
            Err(e) => {
                return failed(format!(
                    "the sender {} is not an address: {e}",
                    caller_text::clean(from, MAX_REMOTE_TEXT)
                ));
            }
        };
        let mut rcpts = Vec::with_capacity(to.len());
        for t in to {
            match envelope_address(t) {
                Ok(a) => rcpts.push(a),
                Err(e) => {
                    return failed(format!(
                        "{} is not an address: {e}",
                        caller_text::clean(t, MAX_REMOTE_TEXT)
                    ));
                }
            }
        }
        let envelope = match Envelope::new(Some(sender), rcpts) {
            Ok(e) => e,
            Err(e) => return failed(format!("the mail cannot be sent: {e}")),
        };
        // lettre ends the data with CRLF "." CRLF, the first CRLF its own:
        // the message's last line break is left to it, so what arrives is
        // exactly `raw`, not `raw` and an empty line.
        let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        match transport.send_raw(&envelope, raw) {
            Ok(_) => Verdict::Sent { result: None },
            Err(e) => judge_smtp_error(&e),
        }
    }
}

/// The bare address of `a@b` or `Name <a@b>`, for the SMTP envelope.
fn envelope_address(s: &str) -> Result<Address, lettre::address::AddressError> {
    let s = s.trim();
    s.parse::<Address>()
        .or_else(|e| s.parse::<Mailbox>().map(|m| m.email).map_err(|_| e))
}

/// A request that got no answer: the network and the receiver's side may
/// recover (retry); a URL, TLS certificate or header that is wrong will not
/// until someone fixes it (failed).
fn judge_http_error(e: &ureq::Error) -> Verdict {
    use ureq::Error as E;
    let reason = caller_text::clean(&e.to_string(), MAX_REMOTE_TEXT);
    match e {
        E::BadUri(_)
        | E::Http(_)
        | E::RequireHttpsOnly(_)
        | E::InvalidProxyUrl
        | E::Tls(_)
        | E::Pem(_)
        | E::Rustls(_) => Verdict::Failed {
            reason: format!("cannot send: {reason}"),
        },
        _ => Verdict::Retry {
            reason: format!("no answer: {reason}"),
            retry_after_s: None,
        },
    }
}

/// An SMTP server's 4xx and a lost connection may pass (retry); its 5xx,
/// a TLS failure or a mismatch with what the server offers will not (failed).
fn judge_smtp_error(e: &lettre::transport::smtp::Error) -> Verdict {
    let reason = caller_text::clean(&format!("SMTP: {e}"), MAX_REMOTE_TEXT);
    if e.is_permanent() || e.is_client() || e.is_tls() {
        Verdict::Failed { reason }
    } else {
        Verdict::Retry {
            reason,
            retry_after_s: None,
        }
    }
}

/// Whether `v` can go in an HTTP header as it is (visible ASCII and spaces).
fn is_header_value(v: &str) -> bool {
    v.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// `v` with everything but visible ASCII percent-encoded (an idempotency
/// key is ASCII in practice; a Call-ID from a hostile peer might not be).
fn header_safe(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses_are_bare_or_taken_from_a_name() {
        let bare = |s: &str| envelope_address(s).map(|a| a.to_string());
        assert_eq!(bare(" tugi@example.ee ").as_deref(), Ok("tugi@example.ee"));
        assert_eq!(
            bare("Klienditugi <tugi@example.ee>").as_deref(),
            Ok("tugi@example.ee")
        );
        assert!(bare("tugi").is_err());
        assert!(bare("").is_err());
    }

    #[test]
    fn keys_and_tokens_are_kept_fit_for_a_header() {
        assert_eq!(
            header_safe("call-1@test/order/webhook"),
            "call-1@test/order/webhook"
        );
        assert_eq!(header_safe("a b\r\n%ä"), "a%20b%0D%0A%25%C3%A4");
        assert!(is_header_value("abc.DEF-123_~+/="));
        assert!(!is_header_value("abc\ndef"));
    }

    #[test]
    fn the_password_is_not_in_the_debug_output() {
        let s = SmtpSettings {
            host: "smtp.example.ee".into(),
            port: 587,
            tls: SmtpTls::StartTls,
            user: Some("tugi".into()),
            password: Some("hunter2".into()),
            from: "tugi@example.ee".into(),
            ca_file: None,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(
            Mailer::new(SmtpSettings {
                password: None,
                ..s
            })
            .transport
            .err()
            .as_deref(),
            Some("no password for the SMTP user tugi")
        );
    }
}
