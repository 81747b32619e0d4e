//! The e-mail channel end to end, headless: two desks (Anna and Boris) on
//! one shared mailbox in the real Dovecot of `recipes/mail.sh`, replies
//! through its SMTP sink into the customer's mailbox. Each desk has its own
//! database, mailbox worker and outbox worker, as two operators' PCs do.
//!
//! - a customer's Estonian mail is in the queue of both; both take it at
//!   once: one wins, the other's list drops it with a notice;
//! - the winner answers from the Estonian template; the customer's mailbox
//!   receives it threaded (`In-Reply-To`, `References`) with its UTF-8
//!   subject; the mail is in Done and the reply in Sent;
//! - the customer's answer re-opens the conversation on the other desk;
//! - a desk whose SMTP server is down keeps the reply queued and sends it
//!   once after a restart; a desk that does not trust the server's
//!   certificate says so and sends nothing.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{mail_account, mail_config, mail_deliver, mail_folder};
use switchboard::mail_worker::MailSettings;
use switchboard::outbox_worker::{Pace, SmtpSettings, SmtpTls};
use switchboard::{DeskApp, DeskConfig, Intent, Wake};
use switchboard_desk::agent::AgentState;
use switchboard_desk::email::MailDraft;
use switchboard_desk::outbox::{Backoff, State};
use switchboard_desk::store::Store;
use switchboard_desk::workspace::{MailOp, MailStatus, NoticeKind, Op};
use switchboard_interop::mail::MailServer;
use switchboard_interop::{free_port, temp_dir};

const SEED_SUBJECT: &str = "Tellimus 4711 hilineb – palun abi";

fn smtp(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        user: None,
        password: None,
        from: "Klienditugi <agent@example.test>".into(),
        ca_file: None,
    }
}

fn fast() -> Pace {
    Pace {
        poll: Duration::from_millis(50),
        backoff: Backoff {
            base_ms: 100,
            cap_ms: 200,
        },
        lease: Duration::from_secs(10),
    }
}

/// A desk for `agent` on its own database in `dir`, working the shared
/// mailbox (trusting `ca`) and sending through the SMTP server on `smtp_port`.
fn desk(server: &MailServer, dir: &Path, agent: &str, ca: PathBuf, smtp_port: u16) -> DeskApp {
    std::fs::create_dir_all(dir).unwrap();
    let db = dir.join("desk.db");
    let mut desk = DeskApp::new(DeskConfig::default(), Some(Store::open(&db).unwrap()));
    desk.set_operator(agent);
    desk.start_outbox(
        db,
        Some(smtp(smtp_port)),
        fast(),
        Box::new(|_| None),
        Wake::none(),
    )
    .expect("outbox");
    let settings = MailSettings {
        account: mail_account(server, "INBOX", ca),
        agent: agent.into(),
        list_limit: 500,
        max_bytes: 25 << 20,
    };
    let config = mail_config(&[]);
    desk.start_mail(settings, config, Wake::none())
        .expect("mail worker");
    desk.apply(
        Instant::now(),
        Intent::Op(Op::SetState(AgentState::Available)),
    );
    desk
}

/// Ticks `desks` until `done` holds for them, or `secs` pass.
fn run_until(
    desks: &mut [&mut DeskApp],
    secs: u64,
    mut done: impl FnMut(&[&mut DeskApp]) -> bool,
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        for d in desks.iter_mut() {
            d.tick(Instant::now());
        }
        if done(desks) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn seed_id(d: &DeskApp) -> Option<switchboard_desk::workspace::ItemId> {
    d.workspace()
        .emails()
        .iter()
        .find(|e| e.listed.subject == SEED_SUBJECT)
        .map(|e| e.id)
}

fn op(d: &mut DeskApp, op: Op) {
    d.apply(Instant::now(), Intent::Op(op));
}

/// The customer's mails as the sink stored them: the raw text of each.
fn customer_mails(server: &MailServer) -> Vec<String> {
    server
        .customer_inbox()
        .iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
        .collect()
}

#[test]
fn two_desks_one_mail_one_reply_that_threads_and_the_customers_answer_reopens_it() {
    let server = MailServer::start("email-desks");
    let dir = temp_dir("email-desks");
    let mut anna = desk(
        &server,
        &dir.join("anna"),
        "anna",
        server.ca(),
        server.smtp_port,
    );
    let mut boris = desk(
        &server,
        &dir.join("boris"),
        "boris",
        server.ca(),
        server.smtp_port,
    );

    // The Estonian mail is in both queues.
    assert!(
        run_until(&mut [&mut anna, &mut boris], 20, |d| d
            .iter()
            .all(|d| seed_id(d).is_some())),
        "both desks list the seeded mail: {:?} / {:?}",
        anna.workspace().notices(),
        boris.workspace().notices()
    );
    // Both take it in the same instant.
    let (a, b) = (seed_id(&anna).unwrap(), seed_id(&boris).unwrap());
    op(&mut anna, Op::Mail(a, MailOp::Open));
    op(&mut boris, Op::Mail(b, MailOp::Open));
    let settled = |d: &DeskApp| {
        d.workspace()
            .emails()
            .iter()
            .find(|e| e.listed.subject == SEED_SUBJECT)
            .map(|e| e.status)
    };
    assert!(
        run_until(&mut [&mut anna, &mut boris], 20, |d| {
            let s: Vec<_> = d.iter().map(|d| settled(d)).collect();
            s.contains(&Some(MailStatus::Mine)) && s.contains(&None)
        }),
        "one desk has it, the other dropped it: {:?} / {:?}",
        settled(&anna),
        settled(&boris)
    );
    let (winner, loser) = if settled(&anna) == Some(MailStatus::Mine) {
        (&mut anna, &mut boris)
    } else {
        (&mut boris, &mut anna)
    };
    assert!(
        loser.workspace().notices().iter().any(
            |n| matches!(&n.kind, NoticeKind::MailTaken { subject } if subject == SEED_SUBJECT)
        ),
        "the loser is told: {:?}",
        loser.workspace().notices()
    );

    // The winner reads it (downloaded) and answers from the order template.
    let id = seed_id(winner).unwrap();
    assert!(
        run_until(&mut [&mut *winner], 10, |d| d[0]
            .workspace()
            .email(id)
            .is_some_and(|e| e.message.is_some())),
        "downloaded"
    );
    let text = &winner
        .workspace()
        .email(id)
        .unwrap()
        .message
        .as_ref()
        .unwrap()
        .text;
    assert!(
        text.contains("Minu tellimus nr 4711 ei ole veel kohale jõudnud."),
        "{text}"
    );
    winner.set_lang(switchboard::Lang::Et);
    op(
        winner,
        Op::Mail(
            id,
            MailOp::Edit(MailDraft {
                reference: "4711".into(),
                disposition: Some("Order".into()),
                note: "Kuller hilineb".into(),
                ..MailDraft::default()
            }),
        ),
    );
    op(
        winner,
        Op::Mail(
            id,
            MailOp::Template {
                id: "order".into(),
                lang: "et".into(),
            },
        ),
    );
    let reply = winner.workspace().email(id).unwrap().draft.reply.clone();
    assert!(reply.contains("tellimus 4711 on registreeritud"), "{reply}");
    op(winner, Op::Mail(id, MailOp::Send));

    // The customer's mailbox has it, threaded, with its UTF-8 subject.
    assert!(
        run_until(&mut [&mut *winner], 20, |_| !server
            .customer_inbox()
            .is_empty()),
        "the reply reached the customer"
    );
    let mails = customer_mails(&server);
    assert_eq!(mails.len(), 1);
    let got = switchboard_mail::message::parse(mails[0].as_bytes());
    assert_eq!(got.subject, format!("Re: {SEED_SUBJECT}"));
    assert_eq!(got.in_reply_to.as_deref(), Some("seed-4711@example.test"));
    assert!(
        got.references
            .contains(&"seed-4711@example.test".to_owned()),
        "{:?}",
        got.references
    );
    assert!(got.text.contains("Tere, Jüri Õunapuu!"), "{}", got.text);
    assert!(
        mails[0].contains("Subject: =?utf-8?"),
        "the subject is encoded: {}",
        &mails[0][..mails[0].len().min(600)]
    );
    // In Done, its copy in Sent, gone from both lists.
    assert!(
        run_until(&mut [&mut *winner, &mut *loser], 20, |d| {
            d.iter().all(|d| seed_id(d).is_none())
                && mail_folder(&server, "Sent").contains(&format!("Re: {SEED_SUBJECT}"))
        }),
        "moved and copied"
    );
    assert_eq!(mail_folder(&server, "Done"), [SEED_SUBJECT]);
    assert_eq!(winner.workspace().mail_stats().handled, 1);
    assert_eq!(winner.workspace().waiting_for_customer().count(), 1);

    // The customer answers: the answer re-opens the conversation.
    let reply_id = got.message_id.clone().expect("the reply has a Message-ID");
    let answer = format!(
        "From: =?utf-8?q?J=C3=BCri_=C3=95unapuu?= <juri.ounapuu@example.test>\r\n\
         To: agent@example.test\r\n\
         Subject: Re: Re: Tellimus 4711\r\n\
         Date: Wed, 15 Nov 2023 09:00:00 +0200\r\n\
         Message-ID: <answer-4711@example.test>\r\n\
         In-Reply-To: <{reply_id}>\r\n\
         References: <seed-4711@example.test> <{reply_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Aitäh, ootan homseni.\r\n"
    );
    mail_deliver(&server, answer.as_bytes());
    let reopened = |d: &DeskApp| {
        d.workspace()
            .emails()
            .iter()
            .find(|e| e.listed.message_id.as_deref() == Some("answer-4711@example.test"))
            .and_then(|e| e.earlier.clone())
    };
    let lists = |d: &DeskApp| {
        d.workspace()
            .emails()
            .iter()
            .any(|e| e.listed.message_id.as_deref() == Some("answer-4711@example.test"))
    };
    // Both queues get it (IDLE); the desk that replied shows it with the
    // conversation (the other desk's own database has no record of it).
    assert!(
        run_until(&mut [&mut *winner, &mut *loser], 20, |d| reopened(&*d[0])
            .is_some()
            && lists(&*d[1])),
        "the answer arrives as part of the conversation: {:#?}",
        winner
            .workspace()
            .emails()
            .iter()
            .map(|e| &e.listed)
            .collect::<Vec<_>>()
    );
    // The winner's own desk knows its reply; shown above the answer.
    let earlier = reopened(winner).expect("on the desk that replied");
    assert!(earlier.reply.contains("registreeritud"), "{earlier:?}");
    assert!(earlier.text.contains("4711 ei ole veel"), "{earlier:?}");
}

#[test]
fn a_reply_sent_while_smtp_is_down_waits_and_goes_out_once_after_a_restart() {
    let server = MailServer::start("email-smtp-down");
    let dir = temp_dir("email-smtp-down");
    let dead = free_port();
    let mut d = desk(&server, &dir, "anna", server.ca(), dead);
    assert!(
        run_until(&mut [&mut d], 20, |d| seed_id(d[0]).is_some()),
        "listed"
    );
    let id = seed_id(&d).unwrap();
    op(&mut d, Op::Mail(id, MailOp::Open));
    assert!(
        run_until(&mut [&mut d], 20, |d| d[0]
            .workspace()
            .email(id)
            .is_some_and(|e| e.message.is_some())),
        "claimed and downloaded"
    );
    op(
        &mut d,
        Op::Mail(
            id,
            MailOp::Edit(MailDraft {
                reply: "Tere! Vaatame üle.".into(),
                ..MailDraft::default()
            }),
        ),
    );
    op(&mut d, Op::Mail(id, MailOp::Send));
    let key = |d: &DeskApp| {
        d.store()
            .unwrap()
            .outbox_pending()
            .unwrap()
            .into_iter()
            .find(|i| i.key.starts_with("mail/"))
    };
    assert!(
        run_until(&mut [&mut d], 10, |d| key(d[0])
            .is_some_and(|i| i.attempts >= 1)),
        "tried and kept"
    );
    let item = key(&d).unwrap();
    assert_eq!(item.state, State::Queued, "{item:?}");
    assert!(item.last_error.is_some(), "{item:?}");
    assert!(server.customer_inbox().is_empty());
    // The mail itself is handled: in Done, nothing waits on the SMTP server.
    assert!(
        run_until(&mut [&mut d], 20, |d| seed_id(d[0]).is_none()),
        "moved to Done"
    );
    assert!(
        !mail_folder(&server, "Sent")
            .iter()
            .any(|s| s.starts_with("Re: ")),
        "no copy before it is sent"
    );
    d.shutdown();
    drop(d);

    // Restarted with the SMTP server back: sent, once; then its copy in Sent.
    let mut d = desk(&server, &dir, "anna", server.ca(), server.smtp_port);
    assert!(
        run_until(&mut [&mut d], 20, |d| {
            d[0].store()
                .unwrap()
                .outbox_item(&item.key)
                .unwrap()
                .is_some_and(|i| i.state == State::Sent)
        }),
        "sent after the restart"
    );
    assert!(
        run_until(&mut [&mut d], 20, |_| mail_folder(&server, "Sent")
            .iter()
            .any(|s| s == &format!("Re: {SEED_SUBJECT}"))),
        "its copy is in Sent"
    );
    let mails = customer_mails(&server);
    assert_eq!(mails.len(), 1, "exactly once");
    assert!(mails[0].contains("Vaatame"), "{}", mails[0]);
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_in_words_and_nothing_is_listed() {
    let server = MailServer::start("email-wrong-ca");
    let dir = temp_dir("email-wrong-ca");
    let other = switchboard_interop::mail::unrelated_ca(&dir);
    let mut d = desk(&server, &dir, "anna", other, server.smtp_port);
    assert!(
        run_until(&mut [&mut d], 20, |d| d[0]
            .workspace()
            .notices()
            .iter()
            .any(|n| matches!(&n.kind, NoticeKind::MailOffline { .. }))),
        "a notice"
    );
    let n = d
        .workspace()
        .notices()
        .iter()
        .find_map(|n| match &n.kind {
            NoticeKind::MailOffline { error } => Some(error.clone()),
            _ => None,
        })
        .unwrap();
    assert!(n.contains("certificate"), "{n}");
    assert!(d.workspace().emails().is_empty());
    assert!(server.customer_inbox().is_empty());
}

/// A TCP relay to the IMAPS port that, while `cut` is set, drops any
/// connection once the server has sent it more than 1 MB (a download).
struct CuttingRelay {
    port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CuttingRelay {
    fn start(to: u16) -> CuttingRelay {
        use std::io::{Read, Write};
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(AtomicBool::new(true));
        let cuts = std::sync::Arc::new(AtomicUsize::new(0));
        let (c, n) = (cut.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(k) = c_in.read(&mut buf) {
                        if k == 0 || s_out.write_all(&buf[..k]).is_err() {
                            break;
                        }
                    }
                    let _ = s_out.shutdown(Shutdown::Both);
                });
                let (cut, cuts) = (c.clone(), n.clone());
                std::thread::spawn(move || {
                    let (mut s_in, mut c_out) = (server, client);
                    let mut buf = [0u8; 16 * 1024];
                    let mut sent = 0usize;
                    while let Ok(k) = s_in.read(&mut buf) {
                        sent += k;
                        if cut.load(Ordering::SeqCst) && sent > 1 << 20 {
                            cuts.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if k == 0 || c_out.write_all(&buf[..k]).is_err() {
                            break;
                        }
                    }
                    let _ = c_out.shutdown(Shutdown::Both);
                    let _ = s_in.shutdown(Shutdown::Both);
                });
            }
        });
        CuttingRelay { port, cut, cuts }
    }
}

/// `n` bytes that do not compress (xorshift).
fn noise(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_20_mb_attachment_cut_off_mid_download_is_fetched_again_and_saved_byte_exact() {
    use base64::Engine as _;
    let server = MailServer::start("email-big");
    let dir = temp_dir("email-big");
    let payload = noise(20 << 20);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&payload);
    let mut body = String::with_capacity(b64.len() + b64.len() / 76 * 2 + 1024);
    body.push_str(
        "From: Mari Maasikas <mari@example.test>\r\n\
         To: agent@example.test\r\n\
         Subject: Arve koopia\r\n\
         Date: Wed, 15 Nov 2023 09:00:00 +0200\r\n\
         Message-ID: <big-1@example.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Saadan arve skaneeritud koopia.\r\n\
         --b1\r\n\
         Content-Type: application/pdf; name=\"arve 2023-11.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"arve 2023-11.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    for line in b64.as_bytes().chunks(76) {
        body.push_str(std::str::from_utf8(line).unwrap());
        body.push_str("\r\n");
    }
    body.push_str("--b1--\r\n");
    mail_deliver(&server, body.as_bytes());

    let relay = CuttingRelay::start(server.imaps_port);
    let db = dir.join("desk.db");
    let mut d = DeskApp::new(DeskConfig::default(), Some(Store::open(&db).unwrap()));
    d.set_operator("anna");
    let mut account = mail_account(&server, "INBOX", server.ca());
    account.port = relay.port;
    d.start_mail(
        MailSettings {
            account,
            agent: "anna".into(),
            list_limit: 500,
            max_bytes: 40 << 20,
        },
        mail_config(&[]),
        Wake::none(),
    )
    .unwrap();
    op(&mut d, Op::SetState(AgentState::Available));
    let big = |d: &DeskApp| {
        d.workspace()
            .emails()
            .iter()
            .find(|e| e.listed.subject == "Arve koopia")
            .cloned()
    };
    assert!(
        run_until(&mut [&mut d], 20, |d| big(d[0]).is_some()),
        "listed"
    );
    let id = big(&d).unwrap().id;
    op(&mut d, Op::Mail(id, MailOp::Open));
    // Claimed, then the download is cut: the mail stays the operator's.
    assert!(
        run_until(&mut [&mut d], 30, |_| relay
            .cuts
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0),
        "the download was cut"
    );
    assert!(
        run_until(&mut [&mut d], 20, |d| d[0]
            .workspace()
            .notices()
            .iter()
            .any(|n| matches!(
                n.kind,
                NoticeKind::MailOffline { .. } | NoticeKind::MailFailed { .. }
            ))),
        "the operator is told"
    );
    let e = big(&d).unwrap();
    assert_eq!(e.status, MailStatus::Mine);
    assert!(e.raw.is_none());
    // The line is good again: the worker reconnects and fetches it whole.
    relay.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(
        run_until(&mut [&mut d], 60, |d| big(d[0])
            .is_some_and(|e| e.message.is_some())),
        "downloaded after the reconnect: {:?}",
        d.workspace().notices()
    );
    let e = big(&d).unwrap();
    let m = e.message.as_ref().unwrap();
    assert!(
        m.text.contains("Saadan arve skaneeritud koopia."),
        "{}",
        m.text
    );
    assert_eq!(
        m.attachments.len(),
        1,
        "{:?} raw {} bytes",
        m.warnings,
        e.raw.as_ref().unwrap().len()
    );
    assert_eq!(m.attachments[0].name, "arve 2023-11.pdf");
    assert_eq!(m.attachments[0].size, payload.len());
    let bytes = m
        .attachment_bytes(e.raw.as_ref().unwrap(), &m.attachments[0])
        .expect("the attachment's bytes");
    assert!(bytes == payload, "byte-exact");
    // A reply begun on it keeps it this operator's across a restart, with
    // its bytes (readable with the server gone) and the draft.
    op(
        &mut d,
        Op::Mail(
            id,
            MailOp::Edit(MailDraft {
                reply: "Tere, Mari! Arve on käes.".into(),
                ..MailDraft::default()
            }),
        ),
    );
    d.shutdown();
    drop(d);
    let saved = Store::open(&db).unwrap().open_emails().unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].draft.reply, "Tere, Mari! Arve on käes.");
    assert_eq!(
        saved[0].raw.as_ref().map(Vec::len),
        e.raw.as_ref().map(|r| r.len())
    );
}
