//! The outbox's worker against real receivers on 127.0.0.1: an HTTP server
//! written here (std only) that records every request, and the aiosmtpd
//! sink of `recipes/mail.sh`, whose Maildir is read back through Python's
//! own e-mail parser.
//!
//! Back-offs are milliseconds here (`OutboxWorker::spawn_with` and a
//! [`Pace`]), so a dead receiver, a busy one and the one that finally
//! answers take about two seconds; the receiver's `Retry-After: 1` is
//! honoured all the same, which is what makes the busy phase last a second.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Answer, WebhookServer, wait_until};
use serde_json::json;
use switchboard::outbox_worker::{OutboxWorker, Pace, SmtpSettings, SmtpTls};
use switchboard_desk::outbox::{Backoff, Delivery, Item, NewItem, State, message_id};
use switchboard_desk::store::Store;
use switchboard_desk::time::unix_ms;
use switchboard_interop::{free_port, temp_dir};

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

/// A worker on `db`; the keyring knows one entry, `fulfilment`.
fn worker(db: &Path, smtp: Option<SmtpSettings>) -> (OutboxWorker, Arc<AtomicUsize>) {
    let changes = Arc::new(AtomicUsize::new(0));
    let counted = changes.clone();
    let w = OutboxWorker::spawn_with(
        db.to_owned(),
        smtp,
        Box::new(|entry| (entry == "fulfilment").then(|| "s3cret-token".to_owned())),
        Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }),
        fast(),
    )
    .expect("worker");
    (w, changes)
}

fn order(key: &str, url: &str, token_entry: Option<&str>) -> NewItem {
    NewItem {
        key: key.into(),
        call_id: Some("call-7@test".into()),
        delivery: Delivery::Webhook {
            url: url.into(),
            token_entry: token_entry.map(str::to_owned),
            result_field: Some("ticket.id".into()),
        },
        payload: json!({"customer": "Jüri Õunapuu", "item": "Kohvimasin", "qty": 2}),
    }
}

fn item(store: &Store, key: &str) -> Item {
    store.outbox_item(key).unwrap().expect("queued")
}

#[test]
fn a_webhook_waits_out_a_dead_and_a_busy_receiver_then_is_delivered_once_with_its_token() {
    let db = temp_dir("outbox-webhook").join("desk.db");
    let store = Store::open(&db).unwrap();
    let port = free_port(); // closed: nothing listens there yet
    let url = WebhookServer::url(port, "/orders");
    let key = "call-7@test/order/webhook";
    assert!(
        store
            .enqueue(&order(key, &url, Some("fulfilment")), unix_ms())
            .unwrap()
    );
    let (w, changes) = worker(&db, None);
    w.poke();

    // The receiver is down: queued, with the reason and a time to try again.
    assert!(
        wait_until(Duration::from_secs(5), || item(&store, key).attempts >= 1),
        "tried"
    );
    let it = item(&store, key);
    assert_eq!(it.state, State::Queued);
    let reason = it.last_error.clone().unwrap_or_default();
    assert!(reason.to_lowercase().contains("refused"), "{reason}");
    assert!(it.next_ms > it.created_ms, "a retry time: {it:?}");
    assert!(changes.load(Ordering::SeqCst) >= 1, "the desk was told");

    // Up, but busy for a second: still queued, attempts counted, and the
    // next attempt waits for the Retry-After (not our 100 ms back-off).
    let server = WebhookServer::start(
        port,
        Answer::new(503, "{\"error\":\"busy\"}").with_header("Retry-After", "1"),
    );
    assert!(
        wait_until(Duration::from_secs(5), || {
            item(&store, key)
                .last_error
                .is_some_and(|e| e.contains("503"))
        }),
        "the 503 was recorded: {:?}",
        item(&store, key)
    );
    server.answer(Answer::new(
        201,
        r#"{"ticket":{"id":"T-1042","queue":"ladu"}}"#,
    ));
    let busy = item(&store, key);
    assert_eq!(busy.state, State::Queued);
    assert!(busy.attempts >= 2, "{busy:?}");
    let answered_503 = server.seen()[0].at_ms;
    assert!(
        busy.next_ms >= answered_503 + 900,
        "Retry-After honoured: next try {} ms after the 503",
        busy.next_ms - answered_503
    );

    // Then it answers: sent, the ticket number kept.
    assert!(
        wait_until(Duration::from_secs(5), || item(&store, key).state
            == State::Sent),
        "delivered: {:?}",
        item(&store, key)
    );
    std::thread::sleep(Duration::from_millis(300)); // a repeat would come now
    let sent = item(&store, key);
    assert_eq!(sent.result.as_deref(), Some("T-1042"));
    assert!(sent.sent_ms.is_some() && sent.last_error.is_none());
    let seen = server.seen_for(key);
    assert_eq!(
        seen.iter().map(|s| s.status).collect::<Vec<_>>(),
        [503, 201],
        "one 503, one delivery, nothing after it"
    );
    assert_eq!(server.delivered(key), 1);
    assert!(
        seen[1].at_ms - seen[0].at_ms >= 900,
        "the second attempt came {} ms after the 503",
        seen[1].at_ms - seen[0].at_ms
    );
    for s in &seen {
        assert_eq!(s.request_line, "POST /orders HTTP/1.1");
        assert_eq!(s.authorization.as_deref(), Some("Bearer s3cret-token"));
        assert_eq!(s.content_type.as_deref(), Some("application/json"));
        let body: serde_json::Value = serde_json::from_str(&s.body).expect("JSON body");
        assert_eq!(body, order(key, &url, None).payload);
    }

    // Queued again (the wrap-up saved twice): the first item stands, nothing resent.
    assert!(
        !store
            .enqueue(&order(key, &url, Some("fulfilment")), unix_ms())
            .unwrap()
    );
    w.poke();

    // A 400 is final: failed, with the status and the body's first line.
    server.answer(Answer::new(400, "missing field: qty\n{\"detail\":\"…\"}"));
    let bad = "call-7@test/ticket/webhook";
    store.enqueue(&order(bad, &url, None), unix_ms()).unwrap();
    // No token for the entry: failed before anything is sent.
    let no_token = "call-7@test/order/webhook-2";
    store
        .enqueue(&order(no_token, &url, Some("nobody")), unix_ms())
        .unwrap();
    // An e-mail with no SMTP server configured: failed, saying so.
    let mail = "call-7@test/order/email";
    store
        .enqueue(
            &NewItem {
                key: mail.into(),
                call_id: Some("call-7@test".into()),
                delivery: Delivery::Email {
                    to: "ladu@example.test".into(),
                    subject: "Tellimus".into(),
                    body: "Kohvimasin × 2".into(),
                },
                payload: json!({}),
            },
            unix_ms(),
        )
        .unwrap();
    w.poke();
    assert!(
        wait_until(Duration::from_secs(5), || {
            [bad, no_token, mail]
                .iter()
                .all(|k| item(&store, k).state == State::Failed)
        }),
        "all three failed: {:?}",
        store.outbox_pending().unwrap()
    );
    let reason = |k| item(&store, k).last_error.unwrap_or_default();
    assert_eq!(reason(bad), "HTTP 400: missing field: qty");
    assert_eq!(item(&store, bad).attempts, 1, "not retried");
    assert_eq!(reason(no_token), "no token in the keyring for nobody");
    assert_eq!(reason(mail), "no SMTP server configured");
    assert_eq!(server.seen_for(bad).len(), 1);
    assert!(
        server.seen_for(no_token).is_empty(),
        "nothing sent without its token"
    );
    assert_eq!(
        server.seen_for(key).len(),
        2,
        "the sent item was left alone"
    );

    // What the wrap-up and History show: every item of the call, oldest first.
    let of_call: Vec<String> = store
        .outbox_for_call("call-7@test")
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(of_call, [key, bad, no_token, mail]);

    // The operator tries the 400 again; the receiver now takes it.
    server.answer(Answer::new(200, "{}"));
    store
        .outbox_requeue(item(&store, bad).id, unix_ms())
        .unwrap();
    w.poke();
    assert!(
        wait_until(Duration::from_secs(5), || item(&store, bad).state
            == State::Sent),
        "requeued and sent"
    );
    let again = item(&store, bad);
    assert_eq!((again.attempts, again.result.as_deref()), (2, None));
    drop(w);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

/// The aiosmtpd sink of `recipes/mail.sh` (with Dovecot beside it, as the
/// recipe starts both): `switchboard_interop::mail`.
type MailSink = switchboard_interop::mail::MailServer;

/// A mail file as Python's `email` package (policy `default`) reads it:
/// an independent decoder of the headers and body lettre encoded.
fn parse_mail(path: &Path) -> serde_json::Value {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            "import email, json, sys\n\
             from email import policy\n\
             m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)\n\
             print(json.dumps({'subject': str(m['subject']), 'message_id': str(m['message-id']),\n\
                'from': str(m['from']), 'to': str(m['to']), 'rcpt': str(m['x-rcptto']),\n\
                'type': m.get_content_type(), 'charset': m.get_content_charset(),\n\
                'body': m.get_content()}))",
        )
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

#[test]
fn an_order_email_in_estonian_and_russian_reaches_the_smtp_sink_intact_with_its_key_as_message_id()
{
    let sink = MailSink::start("outbox-mail");
    let db = temp_dir("outbox-mail-db").join("desk.db");
    let store = Store::open(&db).unwrap();
    let key = "call-8@test/order/email";
    let subject = "Tellimus 4711: kohvimasin – заказ кофемашины «Jura»";
    let body = "Tere!\n\n\
                Klient: Jüri Õunapuu\n\
                Toode: Kohvimasin Jura E8\n\
                Kogus: 2\n\
                Aadress: Pikk 1, Tallinn\n\
                Комментарий: позвонить за час до доставки, ёлка у входа\n";
    store
        .enqueue(
            &NewItem {
                key: key.into(),
                call_id: Some("call-8@test".into()),
                delivery: Delivery::Email {
                    to: "Ladu <customer@example.test>".into(),
                    subject: subject.into(),
                    body: body.into(),
                },
                payload: json!({"item": "Kohvimasin Jura E8", "qty": 2}),
            },
            unix_ms(),
        )
        .unwrap();
    let (w, _) = worker(
        &db,
        Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port: sink.smtp_port,
            tls: SmtpTls::None,
            user: None,
            password: None,
            from: "Klienditugi <tugi@example.test>".into(),
            ca_file: None,
        }),
    );
    w.poke();
    assert!(
        wait_until(Duration::from_secs(10), || item(&store, key).state
            == State::Sent),
        "sent: {:?}",
        item(&store, key)
    );
    assert!(
        wait_until(Duration::from_secs(5), || !sink.customer_inbox().is_empty()),
        "the message is in the Maildir"
    );
    let files = sink.customer_inbox();
    assert_eq!(files.len(), 1, "exactly one message");
    let raw = std::fs::read(&files[0]).unwrap();
    let raw_subject = raw
        .split(|b| *b == b'\n')
        .find(|l| l.to_ascii_lowercase().starts_with(b"subject:"))
        .expect("a Subject header");
    assert!(
        raw_subject.is_ascii(),
        "the subject is encoded on the wire: {}",
        String::from_utf8_lossy(raw_subject)
    );
    let m = parse_mail(&files[0]);
    assert_eq!(m["subject"], subject);
    assert_eq!(m["message_id"], message_id(key));
    assert_eq!(m["message_id"], "<call-8=40test/order/email@switchboard>");
    assert_eq!(m["from"], "Klienditugi <tugi@example.test>");
    assert_eq!(m["rcpt"], "customer@example.test");
    assert_eq!(
        (&m["type"], &m["charset"]),
        (&json!("text/plain"), &json!("utf-8"))
    );
    let got = m["body"].as_str().unwrap_or_default().replace("\r\n", "\n");
    for line in body.lines().filter(|l| !l.is_empty()) {
        assert!(got.lines().any(|g| g == line), "{line:?} not in:\n{got}");
    }
    drop(w);
    drop(sink);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

/// An aiosmtpd sink that requires STARTTLS, with mail.sh's throwaway CA's
/// certificate for `localhost`; stopped by PID when dropped.
struct TlsSink {
    port: u16,
    maildir: PathBuf,
    child: std::process::Child,
}

impl TlsSink {
    /// Starts the sink on a free port; a port taken meanwhile (another
    /// test's daemon got it first) is tried again on another, at most
    /// three times. What the sink said is in the failure.
    fn start(tls: &Path) -> TlsSink {
        let base = temp_dir("outbox-starttls");
        let mut said = String::new();
        for attempt in 0..3 {
            let port = free_port();
            let maildir = base.join(format!("Maildir{attempt}"));
            let log = base.join(format!("aiosmtpd{attempt}.log"));
            let mut cmd = Command::new("/usr/bin/python3");
            cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
                .arg("--tlscert")
                .arg(tls.join("server.pem"))
                .arg("--tlskey")
                .arg(tls.join("server.key"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("a log file"));
            let mut child = switchboard_interop::spawn(&mut cmd, "aiosmtpd with STARTTLS");
            let up = wait_until(Duration::from_secs(20), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                    || child.try_wait().ok().flatten().is_some()
            });
            if up && child.try_wait().ok().flatten().is_none() {
                return TlsSink {
                    port,
                    maildir,
                    child,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            said = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("the STARTTLS sink did not listen: {said}");
    }

    fn delivered(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for TlsSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// STARTTLS with the company's CA as `ca_file`: delivered, encrypted; the
/// same server without that CA: not delivered, the reason names the
/// certificate, nothing reaches the sink.
#[test]
fn smtp_over_starttls_checks_the_certificate_against_the_configured_ca() {
    let sink = MailSink::start("outbox-mail");
    let tls = TlsSink::start(&sink.dir.join("tls"));
    let db = temp_dir("outbox-starttls-db").join("desk.db");
    let store = Store::open(&db).unwrap();
    let mail = |key: &str| NewItem {
        key: key.into(),
        call_id: None,
        delivery: Delivery::Email {
            to: "customer@example.test".into(),
            subject: "Tellimus 4712".into(),
            body: "Kogus: 1\n".into(),
        },
        payload: json!({}),
    };
    let settings = |ca: Option<PathBuf>| SmtpSettings {
        host: "localhost".into(),
        port: tls.port,
        tls: SmtpTls::StartTls,
        user: None,
        password: None,
        from: "tugi@example.test".into(),
        ca_file: ca,
    };
    // Without the CA: the certificate is not trusted, nothing is sent.
    store.enqueue(&mail("untrusted"), unix_ms()).unwrap();
    let (w, _) = worker(&db, Some(settings(None)));
    w.poke();
    assert!(
        wait_until(Duration::from_secs(10), || item(&store, "untrusted").state
            == State::Failed
            || item(&store, "untrusted").attempts > 0),
        "tried: {:?}",
        item(&store, "untrusted")
    );
    let why = item(&store, "untrusted").last_error.unwrap_or_default();
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    assert_eq!(tls.delivered(), 0, "nothing reached the server");
    drop(w);
    // With the company's CA: delivered.
    store.enqueue(&mail("trusted"), unix_ms()).unwrap();
    let (w, _) = worker(&db, Some(settings(Some(sink.ca()))));
    w.poke();
    assert!(
        wait_until(Duration::from_secs(10), || item(&store, "trusted").state
            == State::Sent),
        "sent: {:?}",
        item(&store, "trusted")
    );
    assert!(wait_until(Duration::from_secs(5), || tls.delivered() == 1));
    drop(w);
}
