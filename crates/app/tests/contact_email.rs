//! An e-mail's sender matched to a contact by address, through the real UI
//! and a real Dovecot (from `recipes/mail.sh`): Jüri Õunapuu is in the
//! desk's contacts with his address in other letter case; the operator
//! takes his mail from the work list and the Customer tab shows the
//! contact — company, note, number with Call — above the earlier e-mails.
//! Once the contact's address changes he is not in the contacts any more;
//! once it is back, Call dials his number.
//!
//! Every wait runs frames against a deadline; nothing sleeps a fixed time.

mod common;

use std::time::{Duration, Instant};

use common::*;
use egui_kittest::kittest::Queryable;
use switchboard::Intent;
use switchboard_desk::store::{Contact, Store};
use switchboard_desk::workspace::{Focus, Op};
use switchboard_engine::Command;
use switchboard_interop::mail::MailServer;

/// The sender of the seed mail of `mail.sh`, as the work list names him.
const SEED_FROM: &str = "Jüri Õunapuu";

/// How long the mailbox may take for anything (connect, list, claim).
const MAILBOX: Duration = Duration::from_secs(30);

/// Jüri as the desk's contacts have him: the address in other letter case
/// than his mail's `From`, with blanks around it.
fn juri() -> Contact {
    Contact {
        name: "Jüri Õunapuu".into(),
        number: "+372 5550 0009".into(),
        company: Some("Õunapuu Aed OÜ".into()),
        note: Some("Tellib igal kevadel seemneid".into()),
        email: Some(" Juri.Ounapuu@Example.TEST ".into()),
    }
}

#[test]
fn the_customer_tab_shows_the_contact_with_the_senders_address() {
    let server = MailServer::start("contact-email");
    let dir = switchboard_interop::temp_dir("contact-email");
    let store = Store::open(&dir.join("desk.db")).expect("the database");
    let id = store.add_contact(&juri()).expect("the contact");
    store
        .add_contact(&Contact {
            name: "Mari Maasikas".into(),
            number: "+3725551234".into(),
            company: Some("Acme OÜ".into()),
            email: Some("mari@example.test".into()),
            ..Contact::default()
        })
        .expect("another contact");
    let mut h = mail_desk(&server, store, &[]);
    assert!(
        frames_until(&mut h, MAILBOX, |h| has_label(
            h,
            &format!("E-mail · {SEED_FROM}")
        )),
        "the seed mail is listed: {:?}",
        h.state().workspace().emails()
    );

    // The operator takes it: claimed, downloaded, the Customer tab up.
    h.get_by_label(&format!("E-mail · {SEED_FROM}")).click();
    h.run_steps(2);
    assert!(
        frames_until(&mut h, MAILBOX, |h| has_label(h, "Reply to ")),
        "the mail is claimed and downloaded: {:?}",
        h.state().workspace().emails()
    );
    let Focus::Email(e) = h.state().workspace().focus() else {
        panic!("the mail is in the centre");
    };
    assert_eq!(
        e.message.as_ref().map(|m| m.from.email.as_str()),
        Some("juri.ounapuu@example.test")
    );
    // The sender, then the contact with that address, then earlier e-mails.
    h.get_by_label("juri.ounapuu@example.test");
    h.get_by_label("Contact: Jüri Õunapuu (Õunapuu Aed OÜ)");
    h.get_by_label("Tellib igal kevadel seemneid");
    h.get_by_label("+372 5550 0009");
    h.get_by_label("Call Jüri Õunapuu");
    h.get_by_label("No earlier e-mails.");
    assert!(!has_label(&h, "Not in the contacts."));
    assert!(!has_label(&h, "Acme OÜ"), "only the sender's contact");

    // His address changes in the contacts: the tab follows at once.
    h.state_mut().apply(
        Instant::now(),
        Intent::SaveContact(
            Some(id),
            Contact {
                email: Some("juri@aed.example".into()),
                ..juri()
            },
        ),
    );
    h.run_steps(2);
    h.get_by_label("Not in the contacts.");
    assert!(!has_label(&h, "Õunapuu Aed OÜ"));
    h.state_mut()
        .apply(Instant::now(), Intent::SaveContact(Some(id), juri()));
    h.run_steps(2);
    h.get_by_label("Contact: Jüri Õunapuu (Õunapuu Aed OÜ)");

    // Call dials the contact's number, through the dial plan.
    h.get_by_label("Call Jüri Õunapuu").click();
    h.run_steps(2);
    assert_eq!(
        h.state_mut().take_commands(),
        [Command::Call {
            target: "sip:+37255500009@pbx.example.ee".into(),
            headers: Vec::new()
        }]
    );
    h.state_mut().apply(Instant::now(), Intent::Op(Op::Hangup));
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}
