//! `kill -9` while a reply to an e-mail is being typed loses nothing typed
//! more than a second before, and the restarted desk has the mail back as
//! the operator's, with the draft, readable with the mail server gone.
//!
//! As in `kill9.rs`, the binary runs twice. The parent starts the real
//! Dovecot of `recipes/mail.sh` and leaves its port and CA beside the
//! database. The child (`SB_KILL9_DB` set) is the desk: it takes the seeded
//! Estonian mail and types a reply into the real UI, ten characters a
//! second, printing how many it typed after each. The parent kills it with
//! SIGKILL, stops the mail server, and opens the database as the next
//! start of the desk would.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use switchboard::mail_worker::MailSettings;
use switchboard::{DeskApp, DeskConfig, Intent, Wake};
use switchboard_desk::agent::AgentState;
use switchboard_desk::email::builtin_templates;
use switchboard_desk::store::Store;
use switchboard_desk::workspace::{Focus, MailConfig, MailOp, MailStatus, Op};
use switchboard_interop::mail::MailServer;
use switchboard_mail::imap::{Account, Security};

const SUBJECT: &str = "Tellimus 4711 hilineb – palun abi";
const TYPED: &str = "Tere! Kuller on teel. ";

fn main() {
    common::kill9_main("kill9_email", operator, judge);
}

fn config() -> MailConfig {
    MailConfig {
        address: "agent@example.test".into(),
        name: Some("Klienditugi".into()),
        release_after: Duration::from_secs(30 * 60),
        forward_to: Vec::new(),
        templates: builtin_templates(),
    }
}

/// The mailbox as written beside the database by the parent: port, CA.
fn settings(db: &Path) -> MailSettings {
    let info = std::fs::read_to_string(db.with_extension("mail")).expect("the mail server's port");
    let (port, ca) = info.trim().split_once(' ').expect("port and CA");
    MailSettings {
        account: Account {
            host: "127.0.0.1".into(),
            port: port.parse().expect("a port"),
            security: Security::Tls,
            user: "agent@example.test".into(),
            password: "agent-secret".into(),
            ca_file: Some(PathBuf::from(ca)),
            inbox: "INBOX".into(),
            done: "Done".into(),
            sent: "Sent".into(),
        },
        agent: "anna".into(),
        list_limit: 50,
        max_bytes: 1 << 20,
    }
}

fn desk(db: &Path) -> Harness<'static, DeskApp> {
    let mut app = DeskApp::new(DeskConfig::default(), Some(Store::open(db).expect("store")));
    app.set_operator("anna");
    app.start_mail(settings(db), config(), Wake::none())
        .expect("the mailbox thread");
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

/// Frames until `done`, at most `secs`.
fn frames_until(
    h: &mut Harness<'static, DeskApp>,
    secs: u64,
    mut done: impl FnMut(&DeskApp) -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        h.run_steps(2);
        if done(h.state()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn seed(app: &DeskApp) -> Option<&switchboard_desk::workspace::Email> {
    app.workspace()
        .emails()
        .iter()
        .find(|e| e.listed.subject == SUBJECT)
}

/// The child: take the mail, type the reply until killed.
fn operator(db: &Path) {
    let mut h = desk(db);
    assert!(frames_until(&mut h, 30, |a| seed(a).is_some()), "listed");
    let id = seed(h.state()).unwrap().id;
    h.state_mut()
        .apply(Instant::now(), Intent::Op(Op::Mail(id, MailOp::Open)));
    assert!(
        frames_until(&mut h, 30, |a| seed(a)
            .is_some_and(|e| e.status == MailStatus::Mine && e.message.is_some())),
        "claimed and downloaded"
    );
    // The reply field takes the keys as the mail comes into the centre.
    h.run_steps(4);
    let mut out = std::io::stdout().lock();
    let mut typed = 0usize;
    for c in TYPED.chars().cycle() {
        h.event(egui::Event::Text(c.to_string()));
        h.run_steps(2);
        typed += 1;
        let on_screen = match h.state().workspace().focus() {
            Focus::Email(e) => e.draft.reply.chars().count(),
            _ => 0,
        };
        // What the workspace holds, so the parent compares like with like.
        let _ = writeln!(out, "{on_screen}");
        let _ = out.flush();
        assert!(
            on_screen == typed,
            "the reply field has the keys: {on_screen} of {typed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The parent: kill the typing desk, then look at the database.
fn judge() {
    let server = MailServer::start("kill9-email");
    let dir = std::env::temp_dir().join(format!("sb-kill9-email-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db");
    std::fs::write(
        db.with_extension("mail"),
        format!("{} {}", server.imaps_port, server.ca().display()),
    )
    .unwrap();
    let killed = common::run_and_kill_9(&db, "the typing desk");
    let count = |s: &str| s.trim().parse::<usize>().unwrap_or(0);
    assert!(
        killed.lines.len() > 10,
        "the desk typed only {} characters",
        killed.lines.len()
    );
    let must_have = killed.a_second_before().map_or(0, count);
    assert!(must_have >= 5, "typing did not last over a second");
    let last = count(killed.last());

    // The mail server goes too: the next start must read the mail from disk.
    drop(server);
    let store = Store::open(&db).expect("the database opens after kill -9");
    let saved = store.open_emails().unwrap();
    assert_eq!(saved.len(), 1, "the mail is still the operator's");
    let on_disk = saved[0].draft.reply.chars().count();
    assert!(
        on_disk >= must_have && on_disk <= last,
        "on disk {on_disk} characters; {must_have} were typed over a second before the kill, {last} at it"
    );
    let expected: String = TYPED.chars().cycle().take(on_disk).collect();
    assert_eq!(saved[0].draft.reply, expected);
    eprintln!(
        "kill9_email: {last} characters typed, {on_disk} on disk at the kill, {must_have} over a second before"
    );
    drop(store);

    // The next start, the mail server down: the mail is back, yours,
    // readable, with the draft in the reply field.
    let mut h = desk(&db);
    assert!(
        frames_until(&mut h, 10, |a| a.workspace().notices().iter().any(
            |n| matches!(
                n.kind,
                switchboard_desk::workspace::NoticeKind::MailRestored { count: 1 }
            )
        )),
        "the restart says so"
    );
    let e = seed(h.state()).expect("the mail came back");
    assert_eq!(e.status, MailStatus::Mine);
    assert_eq!(e.draft.reply, expected);
    assert!(
        e.message
            .as_ref()
            .is_some_and(|m| m.text.contains("Minu tellimus nr 4711")),
        "readable from the database"
    );
    let _ = std::fs::remove_dir_all(dir);
}
