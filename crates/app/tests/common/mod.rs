//! What the desk's tests share: a call as the engine reports it, and a desk
//! on a 1280×720 screen, driven through egui_kittest.
#![allow(dead_code)] // each test file uses some of these

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use switchboard::{DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::dialplan::DialPlan;
use switchboard_desk::store::Store;
use switchboard_engine::events::EventKind;
use switchboard_engine::{CallId, EndReason};

/// Mari Maasikas calls through the `queue` queue, as a PBX would announce
/// her (P-Asserted-Identity over an anonymous From, queue and IVR headers);
/// the SIP Call-ID is `call-CALL@test`.
pub(crate) fn incoming_in_queue(call: u64, queue: &str) -> EventKind {
    incoming_from(call, "Mari Maasikas", "+3725551234", queue)
}

/// A call from `name` at `number` through `queue`.
pub(crate) fn incoming_from(call: u64, name: &str, number: &str, queue: &str) -> EventKind {
    EventKind::Incoming {
        call: CallId(call),
        call_id: format!("call-{call}@test"),
        from: "<sip:anonymous@pbx>;tag=1".into(),
        to: "<sip:agent@pbx>".into(),
        headers: vec![
            ("From".into(), "<sip:anonymous@pbx>;tag=1".into()),
            (
                "P-Asserted-Identity".into(),
                format!("\"{name}\" <sip:{number}@pbx>"),
            ),
            ("X-Queue".into(), queue.into()),
            ("X-IVR-Data".into(), "account=100200300".into()),
        ],
    }
}

pub(crate) fn established(call: u64) -> EventKind {
    EventKind::Established {
        call: CallId(call),
        call_id: format!("call-{call}@test"),
        outgoing: false,
    }
}

pub(crate) fn ended(call: u64) -> EventKind {
    EventKind::Ended {
        call: CallId(call),
        call_id: format!("call-{call}@test"),
        reason: EndReason::RemoteHangup,
        status: None,
        stats: Default::default(),
        calls_left: 0,
    }
}

/// The desk's configuration in the tests: numbers go to `pbx.example.ee`.
pub(crate) fn config() -> DeskConfig {
    DeskConfig {
        dial_plan: DialPlan {
            domain: Some("pbx.example.ee".into()),
            ..DialPlan::default()
        },
        ..DeskConfig::default()
    }
}

/// An available desk on a 1280×720 screen.
pub(crate) fn desk_with(config: DeskConfig, store: Option<Store>) -> Harness<'static, DeskApp> {
    let mut app = DeskApp::new(config, store);
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

/// The time a desk's frames and events happen at: it moves only when the
/// test moves it, so a 30-second countdown runs out in no time at all.
#[derive(Clone)]
pub(crate) struct Clock(Rc<Cell<Instant>>);

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock(Rc::new(Cell::new(Instant::now())))
    }

    pub(crate) fn now(&self) -> Instant {
        self.0.get()
    }

    pub(crate) fn advance(&self, d: Duration) {
        self.0.set(self.0.get() + d);
    }
}

/// [`desk_with`], its frames drawn at `clock`'s time.
pub(crate) fn desk_on(
    config: DeskConfig,
    store: Option<Store>,
    clock: &Clock,
) -> Harness<'static, DeskApp> {
    let mut app = DeskApp::new(config, store);
    app.apply(clock.now(), Intent::SetState(AgentState::Available));
    let c = clock.clone();
    Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .build_ui_state(move |ui, app: &mut DeskApp| app.ui(ui, c.now()), app)
}

/// Feeds engine events at `clock`'s time and runs a frame.
pub(crate) fn feed_at(h: &mut Harness<'static, DeskApp>, clock: &Clock, events: &[EventKind]) {
    for ev in events {
        h.state_mut().handle_event(clock.now(), ev);
    }
    h.run();
}

/// [`desk_with`] the tests' configuration.
pub(crate) fn desk(store: Option<Store>) -> Harness<'static, DeskApp> {
    desk_with(config(), store)
}

/// Clicks the button labelled `label` (there may be text with the same words).
pub(crate) fn click(h: &mut Harness<'static, DeskApp>, label: &str) {
    h.get_by_role_and_label(egui::accesskit::Role::Button, label)
        .click();
    h.run();
}

/// Whether a button labelled exactly `label` is on screen.
pub(crate) fn has_button(h: &Harness<'static, DeskApp>, label: &str) -> bool {
    h.query_all_by_role_and_label(Role::Button, label)
        .next()
        .is_some()
}

/// What one of today's figures under the work list reads ("Handled" → "1").
pub(crate) fn figure(h: &Harness<'static, DeskApp>, name: &str) -> String {
    let text = |n: &egui_kittest::Node<'_>| {
        let a = n.accesskit_node();
        a.value().or(a.label()).unwrap_or_default()
    };
    let label = h.get_by_label(name);
    let row: Vec<_> = label
        .parent()
        .expect("a figure is in a grid")
        .children()
        .collect();
    let at = row
        .iter()
        .position(|n| n.accesskit_node().id() == label.accesskit_node().id())
        .expect("the label is one of its grid's children");
    row.get(at + 1).map(text).expect("a value beside the name")
}

/// How full each level meter on screen is, in per cent, in screen order.
pub(crate) fn meters(h: &Harness<'static, DeskApp>) -> Vec<f64> {
    h.query_all_by_role(Role::ProgressIndicator)
        .map(|n| n.accesskit_node().numeric_value().unwrap_or(f64::NAN))
        .collect()
}

/// Feeds engine events and runs a frame.
pub(crate) fn feed(h: &mut Harness<'static, DeskApp>, events: &[EventKind]) {
    for ev in events {
        h.state_mut().handle_event(Instant::now(), ev);
    }
    h.run();
}

/// Runs frames until a label containing `label` shows (at most 20 s):
/// background work (files, the keyring, LDAP, the CRM) answers on other
/// threads. False if it never did.
pub(crate) fn wait_for_label(h: &mut Harness<'static, DeskApp>, label: &str) -> bool {
    let until = Instant::now() + std::time::Duration::from_secs(20);
    while Instant::now() < until {
        h.run();
        if h.query_by_label_contains(label).is_some() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// The desktop's command line for a test: `config` as the file, `dir` for
/// the database, a free port, no sound card, then `extra`.
pub(crate) fn desk_args(
    config: &std::path::Path,
    dir: &std::path::Path,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "switchboard",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--data-dir",
        dir.to_str().expect("utf-8 path"),
        "--no-devices",
    ]
    .map(String::from)
    .to_vec();
    if !extra.contains(&"--bind") {
        args.extend(["--bind".into(), "127.0.0.1:0".into()]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// What a `kill -9` test's child printed, each line with when it was read,
/// and when the child was killed.
pub(crate) struct Killed {
    pub(crate) lines: Vec<(Instant, String)>,
    pub(crate) at: Instant,
}

impl Killed {
    /// The last line read at least a second before the kill: what must be
    /// on disk.
    pub(crate) fn a_second_before(&self) -> Option<&str> {
        self.lines
            .iter()
            .rev()
            .find(|(t, _)| self.at.duration_since(*t) >= Duration::from_secs(1))
            .map(|(_, s)| s.as_str())
    }

    /// The last line read.
    pub(crate) fn last(&self) -> &str {
        self.lines.last().map_or("", |(_, s)| s.as_str())
    }
}

/// The `main` of a kill -9 test binary (`harness = false`): run again by
/// [`run_and_kill_9`] it is the child, `child(db)`; asked by the test runner
/// to list its tests it names `name`; otherwise it runs `judge`, the test.
pub(crate) fn kill9_main(name: &str, child: impl FnOnce(&std::path::Path), judge: impl FnOnce()) {
    if let Some(db) = std::env::var_os("SB_KILL9_DB") {
        child(std::path::Path::new(&db));
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        println!("{name}: test");
        return;
    }
    judge();
    println!("test {name} ... ok");
}

/// Runs this test binary again as the child (`SB_KILL9_DB` = `db`), reads
/// what it prints for three seconds (at most a minute for the first
/// line), then kills it with SIGKILL: no destructor, no flush, no chance
/// to save.
pub(crate) fn run_and_kill_9(db: &std::path::Path, what: &str) -> Killed {
    use std::io::{BufRead, BufReader};
    let mut guard = switchboard_interop::Guard::spawn(
        std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .env("SB_KILL9_DB", db)
            .stdout(std::process::Stdio::piped()),
        what,
    );
    let child = &mut guard.0;
    let out = BufReader::new(child.stdout.take().expect("piped"));
    let mut lines: Vec<(Instant, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in out.lines() {
        let Ok(line) = line else { break };
        lines.push((Instant::now(), line));
        if lines
            .first()
            .is_some_and(|(t, _)| t.elapsed() >= Duration::from_secs(3))
            || Instant::now() > deadline
        {
            break;
        }
    }
    child.kill().expect("kill -9");
    let at = Instant::now();
    let _ = child.wait();
    Killed { lines, at }
}

/// One request a [`WebhookServer`] received, and what it answered.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// When it arrived (Unix ms).
    pub(crate) at_ms: i64,
    /// The request line (`POST /orders HTTP/1.1`).
    pub(crate) request_line: String,
    /// Its `Idempotency-Key`.
    pub(crate) key: Option<String>,
    /// Its `Authorization`.
    pub(crate) authorization: Option<String>,
    /// Its `Content-Type`.
    pub(crate) content_type: Option<String>,
    /// Its body.
    pub(crate) body: String,
    /// The status answered.
    pub(crate) status: u16,
}

/// What a [`WebhookServer`] answers.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn new(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A small HTTP/1.1 receiver on 127.0.0.1 (std only, one connection at a
/// time, `Connection: close`): records every request and answers each
/// with the current [`Answer`]. Every read is bounded (64 KiB of head,
/// 1 MiB of body, a 2 s read timeout); dropping it stops and joins its
/// thread.
pub(crate) struct WebhookServer {
    pub(crate) port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
    answer: std::sync::Arc<std::sync::Mutex<Answer>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WebhookServer {
    /// Listens on 127.0.0.1:`port` (a port the test picked while it was closed).
    pub(crate) fn start(port: u16, answer: Answer) -> WebhookServer {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("webhook port");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(Mutex::new(answer));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, answer, stop) = (seen.clone(), answer.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let a = answer.lock().expect("answer").clone();
                            let _ = serve_one(conn, &a, &seen);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        WebhookServer {
            port,
            seen,
            answer,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/PATH`.
    pub(crate) fn url(port: u16, path: &str) -> String {
        format!("http://127.0.0.1:{port}{path}")
    }

    /// Answers the next requests with `a`.
    pub(crate) fn answer(&self, a: Answer) {
        *self.answer.lock().expect("answer") = a;
    }

    /// Every request so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    /// The requests with idempotency key `key`.
    pub(crate) fn seen_for(&self, key: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.key.as_deref() == Some(key))
            .collect()
    }

    /// How many requests with `key` were answered 2xx (delivered).
    pub(crate) fn delivered(&self, key: &str) -> usize {
        self.seen_for(key)
            .iter()
            .filter(|s| (200..300).contains(&s.status))
            .count()
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request from `conn` (bounded), records it, then answers it
/// (recorded first: whoever reads the answer finds the request recorded).
fn serve_one(
    mut conn: std::net::TcpStream,
    a: &Answer,
    seen: &std::sync::Mutex<Vec<Seen>>,
) -> Option<()> {
    use std::io::{Read, Write};
    conn.set_nonblocking(false).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(1 << 20);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut reply = format!(
        "HTTP/1.1 {} Test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        a.status,
        a.body.len()
    );
    for (k, v) in &a.headers {
        reply.push_str(&format!("{k}: {v}\r\n"));
    }
    reply.push_str("\r\n");
    reply.push_str(&a.body);
    seen.lock().expect("seen").push(Seen {
        at_ms: switchboard_desk::time::unix_ms(),
        request_line,
        key: header("idempotency-key"),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: a.status,
    });
    let _ = conn.write_all(reply.as_bytes());
    let _ = conn.flush();
    Some(())
}

/// Waits until `done` holds (polled every 20 ms, at most `timeout`).
#[allow(unused_imports)] // each test file uses some of these
pub(crate) use switchboard_interop::wait_until;

// ------------------------------------------------------------ the shared mailbox

/// The shared support mailbox of `server` (recipes/mail.sh's `agent`), over
/// IMAPS trusting `ca`, with `folder` as its inbox.
pub(crate) fn mail_account(
    server: &switchboard_interop::mail::MailServer,
    folder: &str,
    ca: std::path::PathBuf,
) -> switchboard_mail::imap::Account {
    switchboard_mail::imap::Account {
        host: "127.0.0.1".into(),
        port: server.imaps_port,
        security: switchboard_mail::imap::Security::Tls,
        user: "agent@example.test".into(),
        password: "agent-secret".into(),
        ca_file: Some(ca),
        inbox: folder.into(),
        done: "Done".into(),
        sent: "Sent".into(),
    }
}

/// The mailbox as the desks of the tests work it: Klienditugi's address,
/// the shipped templates, `forward_to` offered.
pub(crate) fn mail_config(forward_to: &[&str]) -> switchboard_desk::workspace::MailConfig {
    switchboard_desk::workspace::MailConfig {
        address: "agent@example.test".into(),
        name: Some("Klienditugi".into()),
        release_after: Duration::from_secs(30 * 60),
        forward_to: forward_to.iter().map(|s| (*s).to_owned()).collect(),
        templates: switchboard_desk::email::builtin_templates(),
    }
}

/// One exchange of an IMAP client that is not the desk.
pub(crate) fn imap<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(fut)
}

/// Puts `raw` into the shared inbox, as delivery would (an APPEND).
pub(crate) fn mail_deliver(server: &switchboard_interop::mail::MailServer, raw: &[u8]) {
    imap(async {
        let mut a = mail_account(server, "INBOX", server.ca());
        a.sent = "INBOX".into();
        let mut mb = switchboard_mail::imap::Mailbox::connect(&a)
            .await
            .expect("connect");
        mb.append_sent(raw).await.expect("append to INBOX");
        mb.logout().await;
    });
}

/// The subjects of a folder of the shared mailbox, as another client lists them now.
pub(crate) fn mail_folder(
    server: &switchboard_interop::mail::MailServer,
    name: &str,
) -> Vec<String> {
    imap(async {
        let mut mb =
            switchboard_mail::imap::Mailbox::connect(&mail_account(server, name, server.ca()))
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        let list = mb.list(100).await.expect("list");
        mb.logout().await;
        list.into_iter().map(|s| s.subject).collect()
    })
}

/// Runs frames until `done` holds or `within` passes (a mailbox answers
/// on its own thread; a spinner while it works never settles, so frames
/// are run two at a time, not to rest).
pub(crate) fn frames_until<T>(
    h: &mut Harness<'static, T>,
    within: Duration,
    mut done: impl FnMut(&Harness<'static, T>) -> bool,
) -> bool {
    wait_until(within, || {
        h.run_steps(2);
        done(h)
    })
}

/// An available desk of operator `anna` on a 1280×800 screen, with `store`
/// as its database, working the shared mailbox of `server` (`forward_to`
/// offered for Forward).
pub(crate) fn mail_desk(
    server: &switchboard_interop::mail::MailServer,
    store: Store,
    forward_to: &[&str],
) -> Harness<'static, DeskApp> {
    let mut app = DeskApp::new(config(), Some(store));
    app.set_operator("anna");
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    let settings = switchboard::mail_worker::MailSettings {
        account: mail_account(server, "INBOX", server.ca()),
        agent: "anna".into(),
        list_limit: 50,
        max_bytes: 1 << 20,
    };
    app.start_mail(settings, mail_config(forward_to), switchboard::Wake::none())
        .expect("the mailbox thread");
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

/// Whether some widget's label contains `text`.
pub(crate) fn has_label(h: &Harness<'static, DeskApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}
