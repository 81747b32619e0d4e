//! E-mail beside the calls, through the real UI and a real Dovecot (from
//! `recipes/mail.sh`): two mails in the shared queue and a ringing call in
//! one work list; the operator takes the first mail, starts a reply, then
//! answers the call — the centre shows the call and the mail is parked with
//! its draft — and once the call's wrap-up is saved the mail is back in the
//! centre with what was typed. Then a reply written from a template and
//! sent queues one `mail` delivery, and the mail leaves the list and the
//! inbox once the worker moved it to Done.
//!
//! Every wait runs frames against a deadline; nothing sleeps a fixed time.

mod common;

use std::time::Duration;

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use switchboard::DeskApp;
use switchboard_desk::outbox::Delivery;
use switchboard_desk::store::Store;
use switchboard_desk::workspace::Focus;
use switchboard_interop::mail::MailServer;
use switchboard_mail::imap::{Account, Mailbox};

/// The seed mail of `mail.sh`.
const SEED_SUBJECT: &str = "Tellimus 4711 hilineb – palun abi";
const SEED_FROM: &str = "Jüri Õunapuu";
/// The second mail, a day younger.
const SECOND_SUBJECT: &str = "Arve on topelt";

/// How long the mailbox may take for anything (connect, list, claim, move).
const MAILBOX: Duration = Duration::from_secs(30);

/// Puts a customer's mail into the inbox (an APPEND, as delivery would).
fn deliver(account: &Account, from: &str, subject: &str, body: &str) {
    let raw = format!(
        "From: {from}\r\nTo: Klienditugi <agent@example.test>\r\nSubject: {subject}\r\n\
         Date: Tue, 14 Nov 2023 09:00:00 +0200\r\nMessage-ID: <second-{}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        subject.len()
    );
    imap(async {
        let inbox = Account {
            sent: "INBOX".into(),
            ..account.clone()
        };
        let mut mb = Mailbox::connect(&inbox).await.expect("connect");
        mb.append_sent(raw.as_bytes()).await.expect("append");
        mb.logout().await;
    });
}

/// The subjects in the inbox as another client lists them now.
fn inbox_subjects(account: &Account) -> Vec<String> {
    imap(async {
        let mut mb = Mailbox::connect(account).await.expect("connect");
        let list = mb.list(50).await.expect("list");
        mb.logout().await;
        list.into_iter().map(|s| s.subject).collect()
    })
}

/// Whether the reply field of a claimed, downloaded mail is on screen.
fn reply_editor(h: &Harness<'static, DeskApp>) -> bool {
    has_label(h, "Reply to ")
}

/// Whether the widget labelled `label` lies wholly inside the 1280×800 window.
fn on_screen(h: &Harness<'static, DeskApp>, label: &str) -> bool {
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    let r = h.get_by_label(label).rect();
    r.width() > 4.0 && r.height() > 4.0 && screen.contains_rect(r)
}

/// The mail in the centre, if one is.
fn mail_in_centre(h: &Harness<'static, DeskApp>) -> Option<(String, String)> {
    match h.state().workspace().focus() {
        Focus::Email(e) => Some((e.listed.subject.clone(), e.draft.reply.clone())),
        _ => None,
    }
}

/// The operator takes the seed mail from the queue; it is claimed and
/// downloaded (the reply field shows).
fn take_seed(h: &mut Harness<'static, DeskApp>) {
    h.get_by_label(&format!("E-mail · {SEED_FROM}")).click();
    h.run_steps(2);
    assert!(
        frames_until(h, MAILBOX, reply_editor),
        "the mail is claimed and downloaded: {:?}",
        h.state().workspace().emails()
    );
    assert!(has_label(h, "Minu tellimus nr 4711"), "its text is shown");
}

#[test]
fn a_call_parks_the_reply_being_written_and_its_wrap_up_brings_it_back() {
    let server = MailServer::start("email-ui-blend");
    deliver(
        &mail_account(&server, "INBOX", server.ca()),
        "Mari Maasikas <mari@example.test>",
        SECOND_SUBJECT,
        "Tere! Arve tuli kaks korda.",
    );
    let dir = switchboard_interop::temp_dir("email-ui-blend");
    let mut h = mail_desk(
        &server,
        Store::open(&dir.join("desk.db")).expect("the database"),
        &["billing@example.test"],
    );
    // Both mails in the queue, oldest first, with the mailbox's line above them.
    assert!(
        frames_until(&mut h, MAILBOX, |h| {
            has_label(h, &format!("E-mail · {SEED_FROM}")) && has_label(h, "E-mail · Mari Maasikas")
        }),
        "the queue is listed: {:?}",
        h.state().workspace().emails()
    );
    h.get_by_label_contains("E-mail: 2 waiting, oldest");
    // … and a call ringing in the same list.
    feed(
        &mut h,
        &[incoming_from(1, "Peeter Tamm", "+3725550001", "Support")],
    );
    h.get_by_label("Ringing · Peeter Tamm");
    h.get_by_label(&format!("E-mail · {SEED_FROM}"));
    h.get_by_label("E-mail · Mari Maasikas");

    take_seed(&mut h);
    h.get_by_label(&format!("Your e-mail · {SEED_FROM}"));
    // With the ringing call's strip above it, the reply and its buttons
    // are in the window, the thread scrolling above them.
    for control in [
        "Send reply",
        "Close without reply",
        "Give back to the queue",
    ] {
        assert!(on_screen(&h, control), "{control} is reachable");
    }
    let typed = "Tere, Jüri! Uurime kohe, kus teie pakk on.";
    h.get_by_label_contains("Reply to ").click();
    h.run();
    h.get_by_label_contains("Reply to ").type_text(typed);
    h.run();
    assert_eq!(
        mail_in_centre(&h),
        Some((SEED_SUBJECT.into(), typed.into()))
    );
    let mail = h
        .state()
        .workspace()
        .emails()
        .iter()
        .find(|e| e.listed.subject == SEED_SUBJECT)
        .expect("the seed mail")
        .id;

    // The call is answered: the centre has the call, the mail waits parked.
    h.key_press(egui::Key::F3);
    h.run();
    feed(&mut h, &[established(1)]);
    h.get_by_label_contains("In call with Peeter Tamm");
    assert!(!reply_editor(&h), "the reply is out of the centre");
    assert_eq!(h.state().workspace().parked_email(), Some(mail));

    // The call ends and its wrap-up is saved: the mail is back, as typed.
    feed(&mut h, &[ended(1)]);
    h.get_by_label_contains("Call with Peeter Tamm");
    click(&mut h, "Save wrap-up");
    h.run();
    assert_eq!(h.state().workspace().parked_email(), None);
    assert_eq!(
        mail_in_centre(&h),
        Some((SEED_SUBJECT.into(), typed.into()))
    );
    assert!(reply_editor(&h));
    assert!(
        h.query_all_by_value(typed).next().is_some(),
        "the reply field shows what was typed"
    );
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reply_from_a_template_is_queued_once_and_the_mail_leaves_list_and_inbox() {
    let server = MailServer::start("email-ui-send");
    let account = mail_account(&server, "INBOX", server.ca());
    let dir = switchboard_interop::temp_dir("email-ui-send");
    let mut h = mail_desk(
        &server,
        Store::open(&dir.join("desk.db")).expect("the database"),
        &["billing@example.test"],
    );
    assert!(
        frames_until(&mut h, MAILBOX, |h| has_label(
            h,
            &format!("E-mail · {SEED_FROM}")
        )),
        "the seed mail is listed"
    );
    take_seed(&mut h);
    // Nothing to send yet: the button says why.
    assert!(
        h.get_by_label("Send reply").accesskit_node().is_disabled(),
        "Send waits for a reply"
    );
    h.get_by_label("Order / ticket no.:").click();
    h.run();
    h.get_by_label("Order / ticket no.:").type_text("4711");
    h.run();
    h.get_by_label("Template:").click();
    h.run();
    h.get_by_label("Your order").click();
    h.run();
    let (_, reply) = mail_in_centre(&h).expect("the mail is in the centre");
    assert!(
        reply.contains("Jüri Õunapuu") && reply.contains("your order 4711 is registered"),
        "the template is filled in: {reply:?}"
    );
    click(&mut h, "Send reply");
    h.run();
    // One mail delivery queued, to the sender, with the answer in it.
    let pending = h.state().store().unwrap().outbox_pending().unwrap();
    let mails: Vec<_> = pending
        .iter()
        .filter(|i| i.delivery.kind() == "mail")
        .collect();
    assert_eq!(mails.len(), 1, "{pending:?}");
    let Delivery::Mail { to, raw, .. } = &mails[0].delivery else {
        unreachable!("filtered on the kind");
    };
    assert_eq!(to, &vec!["juri.ounapuu@example.test".to_owned()]);
    let text = String::from_utf8_lossy(raw);
    assert!(text.contains("4711"), "{text}");
    // Out of the list at once, and out of the inbox once moved to Done; a
    // fresh list from the server does not bring it back.
    assert!(mail_in_centre(&h).is_none());
    assert!(!has_label(&h, &format!("E-mail · {SEED_FROM}")));
    // It waits for the customer's answer now.
    h.get_by_label(&format!("Replied · {SEED_FROM}"));
    assert!(
        wait_until(MAILBOX, || !inbox_subjects(&account)
            .iter()
            .any(|s| s == SEED_SUBJECT)),
        "the worker moved it out of the inbox"
    );
    assert!(
        frames_until(&mut h, MAILBOX, |h| h
            .state()
            .workspace()
            .mail_stats()
            .waiting
            == 0
            && has_label(h, "E-mail: none waiting")),
        "the queue is empty"
    );
    assert!(
        !has_label(&h, &format!("E-mail · {SEED_FROM}")),
        "not listed again"
    );
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}
