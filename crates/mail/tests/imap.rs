//! The shared mailbox against the real Dovecot of `recipes/mail.sh` on
//! 127.0.0.1: TLS set-up and its failures, two operators claiming one mail,
//! closing it, appending a reply, and waiting for new mail.

mod common;

use std::time::{Duration, Instant};

use common::{Accounts, MailServer, raw_mail, unrelated_ca};
use switchboard_mail::imap::{Account, Claim, Error, Mailbox, Security, Summary};

const SEED_SUBJECT: &str = "Tellimus 4711 hilineb – palun abi";

async fn connect(account: &Account) -> Mailbox {
    Mailbox::connect(account)
        .await
        .unwrap_or_else(|e| panic!("connect {:?}: {e}", account.security))
}

fn the_seed(list: &[Summary]) -> &Summary {
    list.iter()
        .find(|s| s.subject == SEED_SUBJECT)
        .unwrap_or_else(|| panic!("the seeded Estonian mail in {list:#?}"))
}

#[tokio::test]
async fn imaps_and_starttls_trust_the_throwaway_ca_and_read_the_estonian_mail() {
    let server = MailServer::start("imap-tls");
    for security in [Security::Tls, Security::StartTls] {
        let mut mb = connect(&server.account(security)).await;
        let list = mb.list(50).await.unwrap();
        assert_eq!(list.len(), 1, "{list:#?}");
        let seed = the_seed(&list);
        assert_eq!(seed.from, "Jüri Õunapuu <juri.ounapuu@example.test>");
        assert_eq!(seed.date.as_deref(), Some("2023-11-13T10:00:00+02:00"));
        assert!(!seed.seen && seed.claimed_by.is_none() && seed.modseq > 0);

        let raw = mb.fetch(seed.uid, 1 << 20).await.unwrap();
        assert_eq!(raw.len(), seed.size as usize);
        let text = String::from_utf8(raw).expect("8bit UTF-8 body");
        assert!(text.contains("Minu tellimus nr 4711 ei ole veel kohale jõudnud."));
        assert!(text.contains("Message-ID: <seed-4711@example.test>"));
        // Fetched with PEEK: still unseen.
        assert!(!mb.list(50).await.unwrap()[0].seen);

        // Too small a limit: refused with the size, nothing downloaded.
        assert_eq!(
            mb.fetch(seed.uid, 100).await,
            Err(Error::TooLarge(u64::from(seed.size)))
        );
        assert_eq!(
            mb.fetch(999_999, 1 << 20).await,
            Err(Error::NotFound(999_999))
        );
        mb.logout().await;
    }
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_not_trusted() {
    let server = MailServer::start("imap-badca");
    let other = unrelated_ca(&server.dir);
    for (security, ca_file) in [
        (Security::Tls, Some(other.clone())),
        (Security::StartTls, Some(other)),
        (Security::Tls, None),
    ] {
        let account = Account {
            ca_file: ca_file.clone(),
            ..server.account(security)
        };
        match Mailbox::connect(&account).await {
            Err(Error::Tls(why)) => {
                assert!(why.contains("certificate not trusted"), "{why}");
                assert!(
                    Error::Tls(why.clone()).to_string().contains("not trusted"),
                    "{why}"
                );
            }
            other => panic!("{security:?} with {ca_file:?}: {:?}", other.map(|_| ())),
        }
    }
}

#[tokio::test]
async fn plain_imap_is_only_for_loopback_and_fails_before_connecting() {
    let account = Account {
        host: "192.0.2.1".into(), // TEST-NET-1: a connect attempt would hang
        port: 143,
        security: Security::Plain,
        user: "agent@example.test".into(),
        password: "agent-secret".into(),
        ca_file: None,
        inbox: "INBOX".into(),
        done: "Done".into(),
        sent: "Sent".into(),
    };
    let started = Instant::now();
    let got = Mailbox::connect(&account).await.map(|_| ());
    assert_eq!(got, Err(Error::PlainNotLoopback));
    assert!(started.elapsed() < Duration::from_millis(200));
    let named = Account {
        host: "mail.example.test".into(),
        ..account
    };
    assert_eq!(
        Mailbox::connect(&named).await.map(|_| ()),
        Err(Error::PlainNotLoopback)
    );
}

#[tokio::test]
async fn two_operators_claim_one_mail_only_the_first_wins_then_it_is_done_and_answered() {
    let server = MailServer::start("imap-claim");
    let mut a = connect(&server.account(Security::StartTls)).await;
    let mut b = connect(&server.account(Security::Plain)).await; // loopback
    let listed_a = the_seed(&a.list(50).await.unwrap()).clone();
    let listed_b = the_seed(&b.list(50).await.unwrap()).clone();
    assert_eq!(listed_a, listed_b);
    let uid = listed_a.uid;

    assert_eq!(
        a.claim(uid, listed_a.modseq, "A_anna").await,
        Ok(Claim::Won)
    );
    // B's modseq is stale now: Dovecot answers OK [MODIFIED uid], no FETCH.
    assert_eq!(
        b.claim(uid, listed_b.modseq, "B_boris").await,
        Ok(Claim::Lost)
    );
    let fresh_b = the_seed(&b.list(50).await.unwrap()).clone();
    assert_eq!(fresh_b.claimed_by.as_deref(), Some("A_anna"));
    assert!(fresh_b.modseq > listed_b.modseq);
    // With a fresh modseq B still loses: the mail carries A's keyword.
    assert_eq!(
        b.claim(uid, fresh_b.modseq, "B_boris").await,
        Ok(Claim::Lost)
    );
    // A asking again is still A's.
    assert_eq!(
        a.claim(uid, listed_a.modseq, "A_anna").await,
        Ok(Claim::Won)
    );

    // Released, it is free again; B's old modseq still loses (the mail
    // changed since: the UNCHANGEDSINCE store fails), a fresh one wins.
    a.release(uid, "A_anna").await.unwrap();
    let free = the_seed(&b.list(50).await.unwrap()).clone();
    assert_eq!(free.claimed_by, None);
    assert_eq!(
        b.claim(uid, listed_b.modseq, "B_boris").await,
        Ok(Claim::Lost)
    );
    assert_eq!(the_seed(&a.list(50).await.unwrap()).claimed_by, None);
    assert_eq!(b.claim(uid, free.modseq, "B_boris").await, Ok(Claim::Won));
    assert_eq!(
        the_seed(&a.list(50).await.unwrap()).claimed_by.as_deref(),
        Some("B_boris")
    );

    // Done: gone from the inbox, in Done.
    b.done(uid).await.unwrap();
    assert!(b.list(50).await.unwrap().is_empty());
    assert!(a.list(50).await.unwrap().is_empty());
    assert_eq!(b.done(uid).await, Err(Error::NotFound(uid)));
    let mut done = connect(&Account {
        inbox: "Done".into(),
        ..server.account(Security::Tls)
    })
    .await;
    let in_done = done.list(50).await.unwrap();
    assert_eq!(the_seed(&in_done).claimed_by.as_deref(), Some("B_boris"));

    // The reply goes to Sent, seen.
    let reply = raw_mail("Re: Tellimus 4711", "Tere, Jüri! Pakk jõuab homme.");
    b.append_sent(&reply).await.unwrap();
    let mut sent = connect(&Account {
        inbox: "Sent".into(),
        ..server.account(Security::Tls)
    })
    .await;
    let in_sent = sent.list(50).await.unwrap();
    assert_eq!(in_sent.len(), 1, "{in_sent:#?}");
    assert_eq!(in_sent[0].subject, "Re: Tellimus 4711");
    assert!(in_sent[0].seen);
    assert_eq!(sent.fetch(in_sent[0].uid, 1 << 20).await.unwrap(), reply);
    for mb in [a, b, done, sent] {
        mb.logout().await;
    }
}

#[tokio::test]
async fn wait_for_new_wakes_on_a_new_mail_and_times_out_when_quiet() {
    let server = MailServer::start("imap-idle");
    let mut desk = connect(&server.account(Security::Tls)).await;
    assert_eq!(desk.list(50).await.unwrap().len(), 1);

    let started = Instant::now();
    assert_eq!(
        desk.wait_for_new(Duration::from_millis(400)).await,
        Ok(false)
    );
    let quiet = started.elapsed();
    assert!(
        quiet >= Duration::from_millis(400) && quiet < Duration::from_secs(3),
        "{quiet:?}"
    );

    // A third connection delivers into the inbox (APPEND via an account
    // whose "Sent" is the inbox) while the desk waits.
    let mut other = connect(&Account {
        sent: "INBOX".into(),
        ..server.account(Security::StartTls)
    })
    .await;
    let started = Instant::now();
    let (woke, appended) = tokio::join!(desk.wait_for_new(Duration::from_secs(10)), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        other
            .append_sent(&raw_mail(
                "Uus tellimus",
                "Tere! Soovin tellida kaks kohvimasinat.",
            ))
            .await
    });
    appended.unwrap();
    assert_eq!(woke, Ok(true));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let list = desk.list(50).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].subject, "Uus tellimus", "newest first: {list:#?}");
    assert!(list[0].uid > list[1].uid);
    desk.logout().await;
    other.logout().await;
}

#[tokio::test]
async fn a_mailbox_of_five_thousand_mails_lists_in_batches_quickly() {
    let server = MailServer::start("imap-big");
    let new = server.dir.join("mail/example.test/agent/Maildir/new");
    for i in 0..5000 {
        let path = new.join(format!("1700000{i:03}.M{i}P1.bulk"));
        std::fs::write(&path, raw_mail(&format!("Tellimus {i}"), "Tere!")).unwrap();
    }
    let mut desk = connect(&server.account(Security::Plain)).await;
    let started = Instant::now();
    let all = desk.list(10_000).await.unwrap();
    let took = started.elapsed();
    assert_eq!(all.len(), 5001);
    assert!(all.windows(2).all(|w| w[0].uid > w[1].uid), "newest first");
    assert!(
        took < Duration::from_secs(10),
        "listing 5,001 mails took {took:?}"
    );
    let newest = desk.list(20).await.unwrap();
    assert_eq!(newest.len(), 20);
    assert_eq!(newest[0], all[0]);
    eprintln!("listed 5,001 mails in {took:?}");
    desk.logout().await;
}

#[tokio::test]
async fn desks_connecting_at_once_to_a_new_mailbox_both_get_their_folders() {
    // Done and Sent do not exist yet: both sessions LIST, both CREATE; the
    // one that comes second is told [ALREADYEXISTS] and must not fail.
    let server = MailServer::start("imap-create-race");
    let mut account = server.account(Security::Tls);
    account.done = "Done-race".into();
    account.sent = "Sent-race".into();
    let (a, b, c) = tokio::join!(
        Mailbox::connect(&account),
        Mailbox::connect(&account),
        Mailbox::connect(&account)
    );
    for (n, m) in [a, b, c].into_iter().enumerate() {
        let m = m.unwrap_or_else(|e| panic!("session {n}: {e}"));
        m.logout().await;
    }
}
