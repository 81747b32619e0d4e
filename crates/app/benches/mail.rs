//! `cargo bench -p switchboard --bench mail`: the shared mailbox against the
//! real Dovecot of `recipes/mail.sh`, through the desk's own mailbox worker
//! and workspace.
//!
//! 1. **arrival**: a mail APPENDed to the inbox by another client, until it
//!    is a row of the desk's work list (the worker's IDLE connection sees
//!    it, the command connection lists, the workspace takes the list): 30
//!    mails one after another, median / p90 / max.
//! 2. **5,000 mails**: the inbox filled to 5,000 mails, then a fresh
//!    desk's worker started: time to the first full list in the work list
//!    (connect, TLS, login, CONDSTORE set-up, UID SEARCH, FETCH of 5,000
//!    summaries in batches), and the workspace's own share (taking the
//!    list, building the work list).
//!
//! Prints figures; asserts nothing about speed.

use std::time::{Duration, Instant};

use switchboard::mail_worker::{MailSettings, MailWorker};
use switchboard_desk::email::{MailEvent, builtin_templates};
use switchboard_desk::store::Store;
use switchboard_desk::workspace::{MailConfig, Now, Rules, Workspace};
use switchboard_interop::mail::MailServer;
use switchboard_mail::imap::{Account, Mailbox, Security};

const ARRIVALS: usize = 30;
const MAILS: usize = 5_000;

fn account(server: &MailServer, sent: &str) -> Account {
    Account {
        host: "127.0.0.1".into(),
        port: server.imaps_port,
        security: Security::Tls,
        user: "agent@example.test".into(),
        password: "agent-secret".into(),
        ca_file: Some(server.ca()),
        inbox: "INBOX".into(),
        done: "Done".into(),
        sent: sent.into(),
    }
}

fn mail(n: usize) -> Vec<u8> {
    format!(
        "From: Klient {n} <klient{n}@example.test>\r\n\
         To: agent@example.test\r\n\
         Subject: =?utf-8?q?K=C3=BCsimus_nr_{n}?=\r\n\
         Date: Tue, 14 Nov 2023 09:00:00 +0200\r\n\
         Message-ID: <bench-{n}@example.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Tere! Küsimus number {n}: kas tellimus on teel?\r\n"
    )
    .into_bytes()
}

struct Desk {
    ws: Workspace,
    worker: MailWorker,
}

fn desk(server: &MailServer, limit: usize) -> Desk {
    let now = Now::system();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.set_operator("anna", "et");
    ws.set_mail(
        now,
        Some(MailConfig {
            address: "agent@example.test".into(),
            name: None,
            release_after: Duration::from_secs(1800),
            forward_to: Vec::new(),
            templates: builtin_templates(),
        }),
    );
    let worker = MailWorker::spawn(
        MailSettings {
            account: account(server, "Sent"),
            agent: "anna".into(),
            list_limit: limit,
            max_bytes: 25 << 20,
        },
        Box::new(|| {}),
    )
    .expect("worker");
    Desk { ws, worker }
}

impl Desk {
    /// Feeds the worker's events until `done` or 60 s; the time the
    /// workspace spent on them is added to `spent`.
    fn until(&mut self, spent: &mut Duration, mut done: impl FnMut(&Workspace) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            for ev in self.worker.poll() {
                if let MailEvent::Offline { error } = &ev {
                    panic!("the mailbox is offline: {error}");
                }
                let t = Instant::now();
                self.ws.mail_event(Now::system(), ev);
                let _ = self.ws.work_list();
                *spent += t.elapsed();
            }
            if done(&self.ws) {
                return true;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        false
    }
}

fn append_all(server: &MailServer, from: usize, to: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut mb = Mailbox::connect(&account(server, "INBOX"))
            .await
            .expect("connect");
        for n in from..to {
            mb.append_sent(&mail(n)).await.expect("append");
        }
        mb.logout().await;
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("mail: bench");
        return;
    }
    let server = MailServer::start("bench-mail");

    // 1. Arrival through IDLE.
    let mut d = desk(&server, 500);
    let mut spent = Duration::ZERO;
    assert!(
        d.until(&mut spent, |ws| !ws.emails().is_empty()),
        "the seed is listed"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut client = rt
        .block_on(Mailbox::connect(&account(&server, "INBOX")))
        .expect("client");
    let mut times = Vec::new();
    for n in 0..ARRIVALS {
        let subject = format!("Küsimus nr {n}");
        let raw = mail(n);
        let t = Instant::now();
        rt.block_on(client.append_sent(&raw)).expect("append");
        // In the queue (the work list shows its oldest 20 as rows and
        // counts the rest, so the newest is in the count, not a row).
        let seen = d.until(&mut spent, |ws| {
            ws.emails().iter().any(|e| e.listed.subject == subject)
        });
        assert!(seen, "mail {n} reached the work list");
        times.push(t.elapsed());
    }
    let each: Vec<String> = times.iter().map(|t| format!("{:.0}", ms(*t))).collect();
    println!("arrival, each (ms): {}", each.join(" "));
    times.sort();
    println!(
        "arrival (APPEND -> work list, IDLE), {ARRIVALS} mails: median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(times[ARRIVALS / 2]),
        ms(times[ARRIVALS * 9 / 10]),
        ms(times[ARRIVALS - 1]),
    );
    d.worker.stop(Vec::new());

    // 2. A 5,000-mail inbox, listed by a desk that starts.
    let have = 1 + ARRIVALS;
    let t = Instant::now();
    append_all(&server, ARRIVALS, ARRIVALS + MAILS - have);
    println!(
        "(filled the inbox to {MAILS} mails in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    rt.block_on(client.logout());
    for round in 1..=3 {
        let t = Instant::now();
        let mut d = desk(&server, MAILS);
        let mut spent = Duration::ZERO;
        let listed = d.until(&mut spent, |ws| ws.mail_stats().waiting == MAILS);
        assert!(listed, "all {MAILS} listed: {}", d.ws.mail_stats().waiting);
        let total = t.elapsed();
        let t = Instant::now();
        let rows = d.ws.work_list().len();
        let frame = t.elapsed();
        println!(
            "list {MAILS} (round {round}): worker start -> all in the work list {:.0} ms; \
             of which the workspace {:.1} ms; one work_list() of {rows} rows {:.2} ms",
            ms(total),
            ms(spent),
            ms(frame)
        );
        d.worker.stop(Vec::new());
    }
}
