//! The mailbox worker against the real Dovecot of `recipes/mail.sh` on
//! 127.0.0.1, as a desk uses it: it lists the shared inbox, sees new mail
//! by IDLE, two operators claim one mail and only one gets it, the winner
//! reads it and closes it, a stopping desk gives its claims back, and a
//! server with a certificate nobody trusts leaves the desk offline, saying
//! why. Last, the outbox sends a reply the desk built whole to the SMTP
//! sink byte for byte.
//!
//! Every wait polls the worker with a deadline; nothing sleeps a fixed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard::mail_worker::{MailSettings, MailWorker, STOP_WAIT};
use switchboard::outbox_worker::{OutboxWorker, Pace, SmtpSettings, SmtpTls};
use switchboard_desk::email::{ClaimedBy, EmailRow, Listed, MailCommand, MailEvent, Uid};
use switchboard_desk::outbox::{Backoff, Delivery, NewItem, State};
use switchboard_desk::store::Store;
use switchboard_desk::time::unix_ms;
use switchboard_interop::mail::MailServer;
use switchboard_interop::{temp_dir, wait_until};
use switchboard_mail::imap::{Account, Mailbox, Security, Summary};

const SEED_SUBJECT: &str = "Tellimus 4711 hilineb – palun abi";
/// The seed's Date, Mon, 13 Nov 2023 10:00:00 +0200, in Unix ms.
const SEED_DATE_MS: i64 = 1_699_862_400_000;

/// The shared support mailbox of `server` over `security`.
fn account(server: &MailServer, security: Security) -> Account {
    Account {
        host: "127.0.0.1".into(),
        port: match security {
            Security::Tls => server.imaps_port,
            Security::StartTls | Security::Plain => server.imap_port,
        },
        security,
        user: "agent@example.test".into(),
        password: "agent-secret".into(),
        ca_file: Some(server.ca()),
        inbox: "INBOX".into(),
        done: "Done".into(),
        sent: "Sent".into(),
    }
}

fn settings(account: Account, agent: &str) -> MailSettings {
    MailSettings {
        account,
        agent: agent.into(),
        list_limit: 50,
        max_bytes: 1 << 20,
    }
}

/// One IMAP exchange of a client that is not the worker.
fn imap<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(fut)
}

/// The inbox as another client lists it now.
fn fresh_list(account: &Account) -> Vec<Summary> {
    imap(async {
        let mut mb = Mailbox::connect(account).await.expect("connect");
        let list = mb.list(50).await.expect("list");
        mb.logout().await;
        list
    })
}

/// Delivers `raw` into the inbox, as a mail server would (an APPEND by an
/// account whose "Sent" is the inbox).
fn deliver(account: &Account, raw: &[u8]) {
    imap(async {
        let inbox = Account {
            sent: "INBOX".into(),
            ..account.clone()
        };
        let mut mb = Mailbox::connect(&inbox).await.expect("connect");
        mb.append_sent(raw).await.expect("append");
        mb.logout().await;
    });
}

/// A small customer mail.
fn raw_mail(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Mari Maasikas <mari@example.test>\r\n\
         To: Klienditugi <agent@example.test>\r\n\
         Subject: {subject}\r\n\
         Date: Tue, 14 Nov 2023 09:00:00 +0200\r\n\
         Message-ID: <{}@example.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         {body}\r\n",
        subject.len()
    )
    .into_bytes()
}

/// A desk's mailbox worker and what it reported, read in order.
struct Desk {
    name: &'static str,
    worker: MailWorker,
    /// Reported, not yet looked at.
    queue: std::collections::VecDeque<MailEvent>,
    /// Everything reported, for failure messages and "never" checks.
    log: Vec<MailEvent>,
    woken: Arc<AtomicUsize>,
}

impl Desk {
    fn start(name: &'static str, settings: MailSettings) -> Desk {
        let woken = Arc::new(AtomicUsize::new(0));
        let counted = woken.clone();
        let worker = MailWorker::spawn(
            settings,
            Box::new(move || {
                counted.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .expect("the mailbox thread");
        Desk {
            name,
            worker,
            queue: Default::default(),
            log: Vec::new(),
            woken,
        }
    }

    fn take(&mut self) {
        for ev in self.worker.poll() {
            self.log.push(ev.clone());
            self.queue.push_back(ev);
        }
    }

    /// The first event from now on that `wanted` picks (those before it are
    /// passed over), within `within`.
    fn next<T>(
        &mut self,
        what: &str,
        within: Duration,
        mut wanted: impl FnMut(&MailEvent) -> Option<T>,
    ) -> T {
        let mut found = None;
        wait_until(within, || {
            self.take();
            while let Some(ev) = self.queue.pop_front() {
                if let Some(t) = wanted(&ev) {
                    found = Some(t);
                    return true;
                }
            }
            false
        });
        found.unwrap_or_else(|| {
            panic!(
                "{}: no {what} within {within:?}; reported: {:#?}",
                self.name,
                self.log
                    .iter()
                    .map(|e| match e {
                        MailEvent::Fetched { uid, raw } =>
                            format!("Fetched {{ {uid:?}, {} bytes }}", raw.len()),
                        other => format!("{other:?}"),
                    })
                    .collect::<Vec<_>>()
            )
        })
    }

    /// The next list that `wanted` accepts.
    fn listed(&mut self, what: &str, mut wanted: impl FnMut(&[Listed]) -> bool) -> Vec<Listed> {
        self.next(what, Duration::from_secs(15), |ev| match ev {
            MailEvent::Listed(l) if wanted(l) => Some(l.clone()),
            _ => None,
        })
    }

    /// The next list, whatever it shows.
    fn next_list(&mut self) -> Vec<Listed> {
        self.listed("list", |_| true)
    }

    fn connected(&mut self) {
        self.next("Connected", Duration::from_secs(15), |ev| {
            matches!(ev, MailEvent::Connected).then_some(())
        });
    }

    fn send(&self, cmd: MailCommand) {
        self.worker.send(cmd);
    }

    /// Stops the worker (releasing `release`) and returns how long it took.
    fn stop(self, release: Vec<Uid>) -> Duration {
        let started = Instant::now();
        self.worker.stop(release);
        started.elapsed()
    }
}

fn the_seed(list: &[Listed]) -> &Listed {
    list.iter()
        .find(|l| l.subject == SEED_SUBJECT)
        .unwrap_or_else(|| panic!("the seeded Estonian mail in {list:#?}"))
}

fn has_seed(list: &[Listed]) -> bool {
    list.iter().any(|l| l.subject == SEED_SUBJECT)
}

#[test]
fn the_worker_lists_the_estonian_mail_and_sees_a_new_one_by_idle() {
    let server = MailServer::start("worker-idle");
    let acct = account(&server, Security::Tls);
    let mut desk = Desk::start(
        "anna",
        MailSettings {
            max_bytes: 400, // the seed is larger: Fetch must refuse it
            ..settings(acct.clone(), "anna")
        },
    );
    desk.connected();
    let list = desk.next_list();
    assert_eq!(list.len(), 1, "{list:#?}");
    let seed = the_seed(&list).clone();
    assert_eq!(seed.from, "Jüri Õunapuu <juri.ounapuu@example.test>");
    assert_eq!(seed.date_ms, Some(SEED_DATE_MS));
    assert_eq!(seed.claimed_by, ClaimedBy::Nobody);
    assert_eq!(seed.message_id.as_deref(), Some("seed-4711@example.test"));
    assert!(seed.modseq > 0 && seed.size > 400);
    assert!(desk.woken.load(Ordering::SeqCst) >= 2, "woken per event");

    // Too large for this desk: refused with its size and the limit.
    desk.send(MailCommand::Fetch(seed.uid));
    let error = desk.next("failed fetch", Duration::from_secs(10), |ev| match ev {
        MailEvent::Failed {
            uid: Some(u),
            command: "fetch",
            error,
        } if *u == seed.uid => Some(error.clone()),
        _ => None,
    });
    assert!(
        error.contains(&format!("the mail is {} bytes", seed.size))
            && error.contains("larger than the 400 bytes allowed"),
        "{error}"
    );

    // Another client delivers a mail; the worker lists it, unasked.
    let arrived = Instant::now();
    deliver(
        &acct,
        &raw_mail("Uus tellimus", "Tere! Soovin tellida kaks kohvimasinat."),
    );
    let list = desk.listed("a list with the new mail", |l| l.len() == 2);
    let took = arrived.elapsed();
    assert_eq!(list[0].subject, "Uus tellimus", "newest first: {list:#?}");
    assert!(list[0].uid > seed.uid);
    assert_eq!(list[1].uid, seed.uid);
    assert!(took < Duration::from_secs(5), "seen after {took:?}");
    eprintln!("a new mail was listed {took:?} after its delivery");

    // A claim made on an old listing (the mail changed since) is not lost
    // while nobody has the mail: tried again with the fresh state, it wins.
    let new = list[0].clone();
    desk.send(MailCommand::Claim {
        uid: new.uid,
        modseq: new.modseq - 1,
    });
    let won = desk.next("Claimed", Duration::from_secs(10), |ev| match ev {
        MailEvent::Claimed { uid, won } if *uid == new.uid => Some(*won),
        _ => None,
    });
    assert!(won, "claimed on the second try");
    let mine = desk.next_list();
    assert_eq!(mine[0].uid, new.uid);
    assert_eq!(mine[0].claimed_by, ClaimedBy::Me);

    let stopped = desk.stop(Vec::new());
    assert!(stopped < STOP_WAIT, "stopped in {stopped:?}");
}

#[test]
fn two_operators_claim_one_mail_only_one_gets_it_reads_it_and_closes_it() {
    let server = MailServer::start("worker-claim");
    let mut anna = Desk::start("anna", settings(account(&server, Security::Tls), "anna"));
    let mut boris = Desk::start(
        "boris",
        settings(account(&server, Security::StartTls), "boris"),
    );
    anna.connected();
    boris.connected();
    let seed_a = the_seed(&anna.next_list()).clone();
    let seed_b = the_seed(&boris.next_list()).clone();
    assert_eq!(seed_a, seed_b);
    let uid = seed_a.uid;

    // Both click "Claim" on the same listing.
    anna.send(MailCommand::Claim {
        uid,
        modseq: seed_a.modseq,
    });
    boris.send(MailCommand::Claim {
        uid,
        modseq: seed_b.modseq,
    });
    let claimed = |d: &mut Desk| {
        d.next("Claimed", Duration::from_secs(10), |ev| match ev {
            MailEvent::Claimed { uid: u, won } if *u == uid => Some(*won),
            _ => None,
        })
    };
    let (a_won, b_won) = (claimed(&mut anna), claimed(&mut boris));
    assert!(
        a_won ^ b_won,
        "exactly one wins: anna {a_won}, boris {b_won}"
    );
    let (mut winner, mut loser) = if a_won { (anna, boris) } else { (boris, anna) };
    eprintln!("{} won the claim", winner.name);

    // The loser's next list names the colleague who has it; the winner's, "me".
    let after = loser.next_list();
    assert_eq!(
        the_seed(&after).claimed_by,
        ClaimedBy::Other(winner.name.into())
    );
    assert_eq!(the_seed(&winner.next_list()).claimed_by, ClaimedBy::Me);

    // The winner reads it: the bytes as stored.
    winner.send(MailCommand::Fetch(uid));
    let raw = winner.next("Fetched", Duration::from_secs(10), |ev| match ev {
        MailEvent::Fetched { uid: u, raw } if *u == uid => Some(raw.clone()),
        _ => None,
    });
    assert_eq!(raw.len(), seed_a.size as usize);
    let text = String::from_utf8(raw).expect("8bit UTF-8");
    assert!(
        text.contains("Message-ID: <seed-4711@example.test>"),
        "{text}"
    );
    assert!(text.contains("Minu tellimus nr 4711 ei ole veel kohale jõudnud."));

    // The reply's copy goes to Sent.
    let reply = raw_mail("Re: Tellimus 4711", "Tere, Jüri! Pakk jõuab homme.");
    winner.send(MailCommand::AppendSent {
        row: EmailRow(7),
        raw: reply.clone(),
    });
    winner.next("Appended", Duration::from_secs(10), |ev| {
        matches!(ev, MailEvent::Appended(EmailRow(7))).then_some(())
    });
    let sent = fresh_list(&Account {
        inbox: "Sent".into(),
        ..account(&server, Security::Plain)
    });
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].subject, "Re: Tellimus 4711");

    // Done: moved, gone from the winner's next list and (by IDLE) from the loser's.
    winner.send(MailCommand::Done(uid));
    winner.next("Moved", Duration::from_secs(10), |ev| {
        matches!(ev, MailEvent::Moved(u) if *u == uid).then_some(())
    });
    assert!(
        !has_seed(&winner.next_list()),
        "the winner's list still has it"
    );
    loser.listed("a list without the closed mail", |l| !has_seed(l));
    let done = fresh_list(&Account {
        inbox: "Done".into(),
        ..account(&server, Security::Plain)
    });
    assert_eq!(done.len(), 1, "{done:#?}");
    assert_eq!(done[0].subject, SEED_SUBJECT);

    // A second mail, claimed by the loser this time; its desk stops and
    // gives it back: another client finds it unclaimed, the winner's desk
    // sees it back in the queue.
    deliver(
        &account(&server, Security::Plain),
        &raw_mail("Arve küsimus", "Tere! Mul on küsimus arve kohta."),
    );
    let list = loser.listed("the second mail", |l| {
        l.iter().any(|m| m.subject == "Arve küsimus")
    });
    assert_eq!(list.len(), 1, "{list:#?}");
    let second = list[0].clone();
    assert_eq!(second.claimed_by, ClaimedBy::Nobody);
    loser.send(MailCommand::Claim {
        uid: second.uid,
        modseq: second.modseq,
    });
    let won = loser.next("Claimed", Duration::from_secs(10), |ev| match ev {
        MailEvent::Claimed { uid, won } if *uid == second.uid => Some(*won),
        _ => None,
    });
    assert!(won, "nobody else wanted it");
    let loser_name = loser.name;
    winner.listed("the second mail claimed by the colleague", |l| {
        l.iter()
            .any(|m| m.uid == second.uid && m.claimed_by == ClaimedBy::Other(loser_name.into()))
    });
    let stopped = loser.stop(vec![second.uid]);
    assert!(stopped < STOP_WAIT, "stopped in {stopped:?}");
    let fresh = fresh_list(&account(&server, Security::Plain));
    let again = fresh
        .iter()
        .find(|s| s.uid == second.uid.0)
        .expect("still in the inbox");
    assert_eq!(again.claimed_by, None, "released: {again:#?}");
    winner.listed("the second mail back in the queue", |l| {
        l.iter()
            .any(|m| m.uid == second.uid && m.claimed_by == ClaimedBy::Nobody)
    });
    eprintln!("{loser_name}'s desk stopped in {stopped:?}, its claim released");
    let stopped = winner.stop(Vec::new());
    assert!(stopped < STOP_WAIT, "stopped in {stopped:?}");
}

#[test]
fn a_server_certificate_from_an_unknown_ca_leaves_the_desk_offline_saying_so() {
    let server = MailServer::start("worker-badca");
    let other = switchboard_interop::mail::unrelated_ca(&server.dir);
    let mut desk = Desk::start(
        "anna",
        settings(
            Account {
                ca_file: Some(other),
                ..account(&server, Security::Tls)
            },
            "anna",
        ),
    );
    let offline = |d: &mut Desk| {
        d.next("Offline", Duration::from_secs(15), |ev| match ev {
            MailEvent::Offline { error } => Some(error.clone()),
            _ => None,
        })
    };
    let error = offline(&mut desk);
    assert!(error.contains("certificate is not trusted"), "{error}");
    assert!(error.contains(&server.imaps_port.to_string()), "{error}");

    // Meanwhile a command is answered at once, not kept waiting; a refresh
    // is answered by the list after the next connect, if any.
    desk.send(MailCommand::Refresh);
    desk.send(MailCommand::Claim {
        uid: Uid(1),
        modseq: 1,
    });
    let why = desk.next("a refused claim", Duration::from_secs(5), |ev| match ev {
        MailEvent::Failed {
            uid: Some(Uid(1)),
            command: "claim",
            error,
        } => Some(error.clone()),
        _ => None,
    });
    assert!(
        why.contains("offline") && why.contains("not trusted"),
        "{why}"
    );

    // It tries again (after a second) and fails the same way; never connected.
    let again = offline(&mut desk);
    assert!(again.contains("certificate is not trusted"), "{again}");
    assert!(
        !desk
            .log
            .iter()
            .any(|e| matches!(e, MailEvent::Connected | MailEvent::Listed(_))),
        "{:#?}",
        desk.log
    );
    let stopped = desk.stop(vec![Uid(1)]);
    assert!(stopped < STOP_WAIT, "stopped in {stopped:?}");
}

/// A reply the desk built, threading on the customer's mail: headers and
/// body as they must arrive.
const REPLY: &str = "From: Klienditugi <agent@example.test>\r\n\
To: =?utf-8?q?J=C3=BCri_=C3=95unapuu?= <customer@example.test>\r\n\
Subject: =?utf-8?q?Re=3A_Tellimus_4711_hilineb_=E2=80=93_palun_abi?=\r\n\
Date: Tue, 14 Nov 2023 09:30:00 +0200\r\n\
Message-ID: <reply-4711.7@switchboard>\r\n\
In-Reply-To: <seed-4711@example.test>\r\n\
References: <seed-4711@example.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Tere, Jüri!\r\n\
\r\n\
Teie pakk jõuab homme.\r\n\
.\r\n\
..kaks punkti rea alguses\r\n\
\r\n\
Lugupidamisega\r\n\
Anna\r\n";

#[test]
fn the_outbox_sends_a_mail_the_desk_built_to_the_smtp_sink_unchanged() {
    let sink = MailServer::start("worker-outbox");
    let db = temp_dir("worker-outbox-db").join("desk.db");
    let store = Store::open(&db).unwrap();
    let mail = |key: &str, to: Vec<&str>| NewItem {
        key: key.into(),
        call_id: None,
        delivery: Delivery::Mail {
            from: "Klienditugi <agent@example.test>".into(),
            to: to.into_iter().map(str::to_owned).collect(),
            raw: REPLY.as_bytes().to_vec(),
        },
        payload: json!({}),
    };
    store
        .enqueue(
            &mail("email-7/reply", vec!["customer@example.test"]),
            unix_ms(),
        )
        .unwrap();
    store
        .enqueue(&mail("email-8/reply", vec!["Jüri"]), unix_ms())
        .unwrap();
    store
        .enqueue(&mail("email-9/reply", Vec::new()), unix_ms())
        .unwrap();
    let worker = OutboxWorker::spawn_with(
        db.clone(),
        Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port: sink.smtp_port,
            tls: SmtpTls::None,
            user: None,
            password: None,
            from: "Klienditugi <agent@example.test>".into(),
            ca_file: None,
        }),
        Box::new(|_| None),
        Box::new(|| {}),
        Pace {
            poll: Duration::from_millis(50),
            backoff: Backoff {
                base_ms: 100,
                cap_ms: 200,
            },
            lease: Duration::from_secs(10),
        },
    )
    .expect("outbox worker");
    worker.poke();
    let item = |key: &str| store.outbox_item(key).unwrap().expect("queued");
    assert!(
        wait_until(Duration::from_secs(10), || {
            item("email-7/reply").state == State::Sent
                && item("email-8/reply").state == State::Failed
                && item("email-9/reply").state == State::Failed
        }),
        "{:?}",
        store.outbox_pending().unwrap()
    );
    let reason = |key: &str| item(key).last_error.unwrap_or_default();
    assert!(
        reason("email-8/reply").contains("Jüri is not an address"),
        "{}",
        reason("email-8/reply")
    );
    assert!(
        reason("email-9/reply").contains("cannot be sent"),
        "{}",
        reason("email-9/reply")
    );

    assert!(
        wait_until(Duration::from_secs(5), || !sink.customer_inbox().is_empty()),
        "the message is in the Maildir"
    );
    let files = sink.customer_inbox();
    assert_eq!(files.len(), 1, "exactly one message: {files:?}");
    let got = String::from_utf8(std::fs::read(&files[0]).unwrap()).expect("UTF-8 as sent");
    let got = got.replace("\r\n", "\n");
    let (head, body) = got.split_once("\n\n").expect("a header and a body");
    // The sink adds the envelope as headers of its own (aiosmtpd's Mailbox).
    let envelope: Vec<&str> = head.lines().filter(|l| l.starts_with("X-")).collect();
    assert!(
        envelope.contains(&"X-MailFrom: agent@example.test"),
        "{envelope:?}"
    );
    assert!(
        envelope.contains(&"X-RcptTo: customer@example.test"),
        "{envelope:?}"
    );
    let head: Vec<&str> = head.lines().filter(|l| !l.starts_with("X-")).collect();
    let sent = REPLY.replace("\r\n", "\n");
    let (sent_head, sent_body) = sent.split_once("\n\n").unwrap();
    assert_eq!(
        head,
        sent_head.lines().collect::<Vec<_>>(),
        "headers unchanged"
    );
    assert!(head.contains(&"Message-ID: <reply-4711.7@switchboard>"));
    assert!(head.contains(&"In-Reply-To: <seed-4711@example.test>"));
    assert_eq!(body, sent_body, "the body unchanged, dots and all");
    drop(worker);
    drop(sink);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}
