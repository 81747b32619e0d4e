//! E-mails in the workspace, driven as the mailbox worker and the operator
//! drive them: the queue, a claim won and lost, the reply that threads and
//! closes, the customer's answer that re-opens, blending with a call, and a
//! desk killed with a draft.

use std::time::Duration;

use super::tests::{ended, t0};
use super::*;
use crate::email::{ClaimedBy, Listed, MailCommand, MailDraft, MailEvent, Uid};
use crate::outbox::Delivery;

const RAW: &str = "From: =?utf-8?q?J=C3=BCri_=C3=95unapuu?= <juri@example.test>\r\n\
To: tugi@example.ee\r\n\
Subject: =?utf-8?q?Tellimus_4711_hilineb?=\r\n\
Date: Mon, 13 Nov 2023 10:00:00 +0200\r\n\
Message-ID: <seed-4711@example.test>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Tere! Minu tellimus nr 4711 ei ole veel kohale jõudnud.\r\n";

fn config() -> MailConfig {
    MailConfig {
        address: "tugi@example.ee".into(),
        name: Some("Klienditugi".into()),
        release_after: Duration::from_secs(30 * 60),
        forward_to: vec!["ladu@example.ee".into()],
        templates: crate::email::builtin_templates(),
    }
}

fn desk(store: Store, now: Now) -> Workspace {
    let mut ws = Workspace::new(Rules::default(), Some(store), now);
    ws.set_operator("anna", "et");
    ws.set_mail(now, Some(config()));
    ws.apply(now, Op::SetState(AgentState::Available));
    ws.mail_event(now, MailEvent::Connected);
    ws
}

fn listed(uid: u32, claimed_by: ClaimedBy, answers: &[&str]) -> Listed {
    Listed {
        uid: Uid(uid),
        modseq: 7,
        from: "Jüri Õunapuu <juri@example.test>".into(),
        subject: "Tellimus 4711 hilineb".into(),
        date_ms: Some(1_699_862_400_000 + i64::from(uid)),
        size: RAW.len() as u32,
        claimed_by,
        message_id: Some(format!("seed-{uid}@example.test")),
        answers: answers.iter().map(|a| (*a).to_owned()).collect(),
    }
}

fn mail_cmds(ws: &mut Workspace) -> Vec<MailCommand> {
    ws.take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Mail(c) => Some(c),
            _ => None,
        })
        .collect()
}

/// The queue lists one mail; the operator opens it and wins the claim.
fn claim_one(ws: &mut Workspace, now: Now) -> ItemId {
    ws.mail_event(
        now,
        MailEvent::Listed(vec![listed(1, ClaimedBy::Nobody, &[])]),
    );
    let row = ws
        .work_list()
        .into_iter()
        .find(|i| i.kind == WorkKind::MailQueued);
    let id = row.expect("the mail is a row of the work list").id;
    ws.take_actions();
    ws.apply(now, Op::Mail(id, MailOp::Open));
    assert_eq!(
        mail_cmds(ws),
        [MailCommand::Claim {
            uid: Uid(1),
            modseq: 7
        }]
    );
    ws.mail_event(
        now,
        MailEvent::Claimed {
            uid: Uid(1),
            won: true,
        },
    );
    assert_eq!(mail_cmds(ws), [MailCommand::Fetch(Uid(1))]);
    ws.mail_event(
        now,
        MailEvent::Fetched {
            uid: Uid(1),
            raw: RAW.as_bytes().to_vec(),
        },
    );
    id
}

#[test]
fn a_claimed_mail_is_answered_from_a_template_threads_and_goes_to_done() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    assert_eq!(ws.mail_stats().waiting, 0);
    ws.mail_event(
        now,
        MailEvent::Listed(vec![listed(1, ClaimedBy::Nobody, &[])]),
    );
    assert_eq!(ws.mail_stats().waiting, 1);
    assert_eq!(ws.mail_stats().oldest_ms, Some(1_699_862_400_001));
    let id = claim_one(&mut ws, now);
    assert!(matches!(ws.focus(), Focus::Email(e) if e.id == id && e.status == MailStatus::Mine));
    assert_eq!(ws.mail_stats().waiting, 0);
    assert_eq!(
        ws.work_list().iter().map(|i| i.kind).collect::<Vec<_>>(),
        [WorkKind::MailMine]
    );
    let e = ws.email(id).unwrap();
    assert_eq!(e.who(), "Jüri Õunapuu");
    assert!(
        e.message
            .as_ref()
            .unwrap()
            .text
            .contains("4711 ei ole veel")
    );

    // The reference, then the Estonian order template filled with it.
    let mut d = ws.email(id).unwrap().draft.clone();
    d.reference = "4711".into();
    ws.apply(now, Op::Mail(id, MailOp::Edit(d)));
    ws.apply(
        now,
        Op::Mail(
            id,
            MailOp::Template {
                id: "order".into(),
                lang: "et".into(),
            },
        ),
    );
    let mut d = ws.email(id).unwrap().draft.clone();
    assert!(
        d.reply.starts_with("Tere, Jüri Õunapuu!")
            && d.reply.contains("tellimus 4711")
            && d.reply.ends_with("anna"),
        "{}",
        d.reply
    );
    d.disposition = Some("Order".into());
    d.note = "Kuller hilineb, lubasin homme.".into();
    ws.apply(now, Op::Mail(id, MailOp::Edit(d)));
    ws.take_actions();
    ws.apply(now, Op::Mail(id, MailOp::Send));
    let actions = ws.take_actions();
    assert!(
        actions.contains(&Action::Mail(MailCommand::Done(Uid(1)))),
        "{actions:?}"
    );
    assert!(actions.contains(&Action::OutboxQueued));
    assert!(ws.email(id).is_none() && ws.emails().is_empty());

    // The reply is in the outbox, whole: to the customer, threaded.
    let store = ws.store().unwrap();
    let items = store.outbox_pending().unwrap();
    assert_eq!(items.len(), 1);
    let Delivery::Mail { from, to, raw } = &items[0].delivery else {
        panic!("{:?}", items[0].delivery)
    };
    assert_eq!(
        (from.as_str(), to.as_slice()),
        ("tugi@example.ee", &["juri@example.test".to_owned()][..])
    );
    let sent = switchboard_mail::message::parse(raw);
    assert_eq!(sent.in_reply_to.as_deref(), Some("seed-4711@example.test"));
    assert_eq!(sent.references, ["seed-4711@example.test"]);
    assert_eq!(sent.subject, "Re: Tellimus 4711 hilineb");
    assert!(
        sent.text.contains("tellimus 4711 on registreeritud"),
        "{}",
        sent.text
    );

    // Handled today; waiting for the customer.
    let stats = ws.mail_stats();
    assert_eq!(stats.handled, 1);
    assert!(stats.avg_first_reply_ms.is_some_and(|ms| ms > 0));
    let waiting: Vec<_> = ws.waiting_for_customer().collect();
    assert_eq!(waiting.len(), 1);
    assert!(
        ws.work_list()
            .iter()
            .any(|i| i.kind == WorkKind::MailWaiting)
    );

    // Until the move shows, the next list still holds it: it does not come back.
    ws.mail_event(now, MailEvent::Listed(vec![listed(1, ClaimedBy::Me, &[])]));
    assert!(ws.emails().is_empty());

    // The customer answers our reply: a new mail that re-opens the conversation.
    let reply_id = sent.message_id.clone().unwrap();
    ws.mail_event(
        now,
        MailEvent::Listed(vec![listed(2, ClaimedBy::Nobody, &[&reply_id])]),
    );
    let answer = ws.emails().iter().find(|e| e.listed.uid == Uid(2)).unwrap();
    let earlier = answer
        .earlier
        .as_ref()
        .expect("shown with the conversation it answers");
    assert!(earlier.text.contains("4711 ei ole veel"));
    assert!(earlier.reply.contains("registreeritud"));
    let answer = answer.id;
    ws.apply(now, Op::Mail(answer, MailOp::Open));
    ws.mail_event(
        now,
        MailEvent::Claimed {
            uid: Uid(2),
            won: true,
        },
    );
    // No longer waiting: the customer answered.
    assert_eq!(ws.waiting_for_customer().count(), 0);
    ws.apply(now, Op::Mail(answer, MailOp::Close));
    assert_eq!(ws.mail_stats().handled, 2);
}

#[test]
fn a_claim_lost_to_a_colleague_drops_the_mail_and_says_so() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    ws.mail_event(
        now,
        MailEvent::Listed(vec![
            listed(1, ClaimedBy::Nobody, &[]),
            listed(2, ClaimedBy::Other("boris".into()), &[]),
        ]),
    );
    // Boris's mail is not in Anna's list at all.
    assert_eq!(ws.emails().len(), 1);
    let id = ws.emails()[0].id;
    ws.apply(now, Op::Mail(id, MailOp::Open));
    ws.mail_event(
        now,
        MailEvent::Claimed {
            uid: Uid(1),
            won: false,
        },
    );
    assert!(ws.emails().is_empty());
    assert!(ws.notices().iter().any(|n| matches!(
        &n.kind,
        NoticeKind::MailTaken { subject } if subject == "Tellimus 4711 hilineb"
    )));
    assert!(matches!(ws.focus(), Focus::Idle));
    // A colleague's claim seen in a list while ours is under way counts the same.
    ws.mail_event(
        now,
        MailEvent::Listed(vec![listed(3, ClaimedBy::Nobody, &[])]),
    );
    let id = ws.emails()[0].id;
    ws.apply(now, Op::Mail(id, MailOp::Open));
    ws.mail_event(
        now,
        MailEvent::Listed(vec![listed(3, ClaimedBy::Other("boris".into()), &[])]),
    );
    assert!(ws.emails().is_empty());
}

#[test]
fn no_new_mail_on_a_break_or_in_calls_only_and_offline_gives_back_untyped_claims() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    ws.mail_event(
        now,
        MailEvent::Listed(vec![listed(1, ClaimedBy::Nobody, &[])]),
    );
    let id = ws.emails()[0].id;
    ws.apply(now, Op::CallsOnly(true));
    ws.take_actions();
    ws.apply(now, Op::Mail(id, MailOp::Open));
    assert!(mail_cmds(&mut ws).is_empty());
    assert!(
        ws.notices()
            .iter()
            .any(|n| n.kind == NoticeKind::MailNotNow)
    );
    ws.apply(now, Op::CallsOnly(false));
    ws.apply(
        now,
        Op::SetState(AgentState::Break {
            reason: "Lunch".into(),
        }),
    );
    ws.apply(now, Op::Mail(id, MailOp::Open));
    assert!(mail_cmds(&mut ws).is_empty());
    ws.apply(now, Op::SetState(AgentState::Available));

    // Two claimed: one with a draft, one untouched. Going offline gives back
    // only the untouched one; the draft stays the operator's.
    let a = claim_one(&mut ws, now);
    ws.mail_event(
        now,
        MailEvent::Listed(vec![
            listed(1, ClaimedBy::Me, &[]),
            listed(2, ClaimedBy::Nobody, &[]),
        ]),
    );
    let b = ws
        .emails()
        .iter()
        .find(|e| e.listed.uid == Uid(2))
        .unwrap()
        .id;
    ws.apply(now, Op::Mail(b, MailOp::Open));
    ws.mail_event(
        now,
        MailEvent::Claimed {
            uid: Uid(2),
            won: true,
        },
    );
    let d = MailDraft {
        reply: "Tere!".into(),
        ..MailDraft::default()
    };
    ws.apply(now, Op::Mail(a, MailOp::Edit(d)));
    ws.take_actions();
    ws.apply(now, Op::SetState(AgentState::Offline));
    assert_eq!(mail_cmds(&mut ws), [MailCommand::Release(Uid(2))]);
    assert_eq!(ws.email(a).unwrap().status, MailStatus::Mine);
    assert_eq!(ws.email(b).unwrap().status, MailStatus::Queued);
}

#[test]
fn a_claim_left_untouched_goes_back_to_the_queue_and_its_draft_comes_back_with_it() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    let id = claim_one(&mut ws, now);
    let d = MailDraft {
        reply: "Vastus pooleli".into(),
        ..MailDraft::default()
    };
    ws.apply(now, Op::Mail(id, MailOp::Edit(d.clone())));
    // Another item in the centre; the clock runs past the limit.
    ws.selected = None;
    ws.take_actions();
    let later = now.later(Duration::from_secs(31 * 60));
    ws.tick(later);
    assert_eq!(mail_cmds(&mut ws), [MailCommand::Release(Uid(1))]);
    assert!(
        ws.notices()
            .iter()
            .any(|n| n.kind == NoticeKind::MailReleased { count: 1 })
    );
    // Claimed again: the draft is back.
    ws.mail_event(
        later,
        MailEvent::Listed(vec![listed(1, ClaimedBy::Nobody, &[])]),
    );
    ws.apply(later, Op::Mail(id, MailOp::Open));
    ws.mail_event(
        later,
        MailEvent::Claimed {
            uid: Uid(1),
            won: true,
        },
    );
    assert_eq!(ws.email(id).unwrap().draft.reply, "Vastus pooleli");
}

#[test]
fn answering_a_call_parks_the_reply_and_the_wrap_up_saved_brings_it_back() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    let id = claim_one(&mut ws, now);
    let d = MailDraft {
        reply: "Tere! Uurisin järele:".into(),
        ..MailDraft::default()
    };
    ws.apply(now, Op::Mail(id, MailOp::Edit(d)));
    let mut h = Headers::new();
    h.push("From", "\"Mari\" <sip:+3725551234@pbx>;tag=1");
    ws.handle(
        now,
        PhoneEvent::Incoming {
            call: CallRef(1),
            call_id: "in-1".into(),
            headers: h,
        },
    );
    // Ringing: the caller's card takes the centre, the reply is parked.
    assert!(matches!(ws.focus(), Focus::Call(_)));
    assert_eq!(ws.work_list()[0].kind, WorkKind::Ringing);
    assert_eq!(ws.parked_email(), Some(id));
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    assert!(matches!(ws.focus(), Focus::Call(_)));
    assert_eq!(ws.parked_email(), Some(id));
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let wrap = ws.wrap_ups()[0].id;
    assert!(matches!(ws.focus(), Focus::WrapUp(_)));
    ws.apply(now, Op::SaveWrapUp(wrap));
    assert!(
        matches!(ws.focus(), Focus::Email(e) if e.id == id && e.draft.reply == "Tere! Uurisin järele:")
    );
    assert_eq!(ws.parked_email(), None);
}

#[test]
fn a_desk_killed_with_a_draft_comes_back_with_the_mail_readable_and_the_draft() {
    let dir = std::env::temp_dir().join(format!("sb-ws-mail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db");
    let _ = std::fs::remove_file(&db);
    let now = t0();
    {
        let mut ws = desk(Store::open(&db).unwrap(), now);
        let id = claim_one(&mut ws, now);
        let d = MailDraft {
            reply: "Tere! Kuller".into(),
            note: "pooleli".into(),
            ..MailDraft::default()
        };
        ws.apply(now, Op::Mail(id, MailOp::Edit(d)));
        ws.tick(now.later(DRAFT_DELAY + Duration::from_millis(10)));
        std::mem::forget(ws);
    }
    let later = now.later(Duration::from_secs(60));
    let mut ws = Workspace::new(Rules::default(), Some(Store::open(&db).unwrap()), later);
    ws.set_operator("anna", "et");
    // The server is down: the mail still reads.
    ws.set_mail(later, Some(config()));
    ws.mail_event(
        later,
        MailEvent::Offline {
            error: "connection refused".into(),
        },
    );
    let e = ws.emails().first().expect("the claimed mail came back");
    assert_eq!(e.status, MailStatus::Mine);
    assert_eq!(e.draft.reply, "Tere! Kuller");
    assert_eq!(e.draft.note, "pooleli");
    assert!(
        e.message
            .as_ref()
            .unwrap()
            .text
            .contains("4711 ei ole veel")
    );
    assert!(
        ws.notices()
            .iter()
            .any(|n| n.kind == NoticeKind::MailRestored { count: 1 })
    );
    // Back online, the list says it is ours: it is not claimed again.
    ws.mail_event(later, MailEvent::Connected);
    ws.take_actions();
    ws.mail_event(
        later,
        MailEvent::Listed(vec![listed(1, ClaimedBy::Me, &[])]),
    );
    assert!(mail_cmds(&mut ws).is_empty());
    assert_eq!(ws.emails().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_forward_needs_an_address_and_goes_to_it_with_the_note_and_the_original() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    let id = claim_one(&mut ws, now);
    let mut d = MailDraft {
        reply: "Palun kontrollige lao seisu.".into(),
        forward_to: "not an address".into(),
        ..MailDraft::default()
    };
    ws.apply(now, Op::Mail(id, MailOp::Edit(d.clone())));
    ws.apply(now, Op::Mail(id, MailOp::Forward));
    assert!(ws.email(id).is_some(), "refused: stays open");
    assert!(
        ws.notices()
            .iter()
            .any(|n| n.kind == NoticeKind::MailNoAddress)
    );
    d.forward_to = "ladu@example.ee".into();
    ws.apply(now, Op::Mail(id, MailOp::Edit(d)));
    ws.apply(now, Op::Mail(id, MailOp::Forward));
    assert!(ws.email(id).is_none());
    let items = ws.store().unwrap().outbox_pending().unwrap();
    let Delivery::Mail { to, raw, .. } = &items[0].delivery else {
        panic!()
    };
    assert_eq!(to, &["ladu@example.ee".to_owned()]);
    let text = String::from_utf8_lossy(raw);
    assert!(
        text.contains("Subject: Fwd: Tellimus 4711 hilineb"),
        "{text}"
    );
    // Forwarded, not replied: nothing waits for the customer.
    assert_eq!(ws.waiting_for_customer().count(), 0);
}

#[test]
fn a_move_to_done_that_failed_is_asked_again_and_a_closed_mail_is_never_taken_again() {
    let dir = std::env::temp_dir().join(format!("sb-ws-mail-done-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db");
    let _ = std::fs::remove_file(&db);
    let now = t0();
    {
        let mut ws = desk(Store::open(&db).unwrap(), now);
        let id = claim_one(&mut ws, now);
        ws.apply(now, Op::Mail(id, MailOp::Close));
        assert_eq!(mail_cmds(&mut ws), [MailCommand::Done(Uid(1))]);
        ws.mail_event(
            now,
            MailEvent::Failed {
                uid: Some(Uid(1)),
                command: "done",
                error: "the mailbox is offline".into(),
            },
        );
        // Still listed as ours: it does not come back into the list.
        ws.mail_event(now, MailEvent::Listed(vec![listed(1, ClaimedBy::Me, &[])]));
        assert!(ws.emails().is_empty());
        ws.take_actions();
        ws.mail_event(now, MailEvent::Connected);
        assert_eq!(mail_cmds(&mut ws), [MailCommand::Done(Uid(1))]);
        std::mem::forget(ws);
    }
    // After a restart the list still shows it as ours: moved, not taken again.
    let mut ws = desk(Store::open(&db).unwrap(), now);
    ws.take_actions();
    ws.mail_event(now, MailEvent::Listed(vec![listed(1, ClaimedBy::Me, &[])]));
    assert!(ws.emails().is_empty());
    assert_eq!(mail_cmds(&mut ws), [MailCommand::Done(Uid(1))]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_senders_crm_record_is_looked_up_by_address_and_a_cut_download_is_fetched_again() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    ws.set_crm(Some(
        crate::crm::Crm::new(
            "https://crm.example.ee/api/customer?email={email}",
            None,
            Vec::new(),
            Duration::from_secs(2),
        )
        .unwrap(),
    ));
    ws.mail_event(
        now,
        MailEvent::Listed(vec![listed(1, ClaimedBy::Nobody, &[])]),
    );
    let id = ws.emails()[0].id;
    ws.apply(now, Op::Mail(id, MailOp::Open));
    ws.take_actions();
    ws.mail_event(
        now,
        MailEvent::Claimed {
            uid: Uid(1),
            won: true,
        },
    );
    let actions = ws.take_actions();
    let url = actions
        .iter()
        .find_map(|a| match a {
            Action::LookupCrm { call_id, url } => Some((call_id.clone(), url.clone())),
            _ => None,
        })
        .expect("a CRM lookup");
    assert_eq!(
        url.1,
        "https://crm.example.ee/api/customer?email=juri%40example%2Etest"
    );
    assert!(actions.contains(&Action::Mail(MailCommand::Fetch(Uid(1)))));
    ws.crm_result(&url.0, Ok(vec![("Customer no.".into(), "K-77".into())]));
    assert!(matches!(
        &ws.email(id).unwrap().crm.as_ref().unwrap().state,
        CrmState::Fields(f) if f[0].1 == "K-77"
    ));
    // The download was cut off: the mailbox reconnects and fetches it again.
    ws.mail_event(
        now,
        MailEvent::Failed {
            uid: Some(Uid(1)),
            command: "fetch",
            error: "connection reset".into(),
        },
    );
    assert_eq!(
        ws.email(id).unwrap().error.as_deref(),
        Some("connection reset")
    );
    ws.mail_event(
        now,
        MailEvent::Offline {
            error: "connection reset".into(),
        },
    );
    ws.mail_event(now, MailEvent::Connected);
    assert_eq!(mail_cmds(&mut ws), [MailCommand::Fetch(Uid(1))]);
}

#[test]
fn with_the_team_a_mail_asks_for_the_senders_history_and_its_close_is_a_team_record() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    ws.set_team(true);
    let id = claim_one(&mut ws, now);
    let e = ws.email(id).unwrap();
    assert_eq!(e.team, Some(crate::team::TeamView::Pending));
    let row = e.row.expect("claimed: a row");
    let earlier = crate::team::Interaction {
        key: "call:last-week@test".into(),
        kind: "call".into(),
        agent: "boris".into(),
        number: "juri@example.test".into(),
        name: None,
        direction: "in".into(),
        outcome: Some("answered".into()),
        outcome_detail: None,
        started_ms: now.unix_ms - 7 * 86_400_000,
        answered_ms: None,
        ended_ms: None,
        disposition: Some("Order".into()),
        ticket: Some("4711".into()),
        note: Some("Ordered by phone".into()),
        transfers: None,
        script: None,
        form: None,
        updated_ms: now.unix_ms,
    };
    ws.mail_team_result(row, Ok(vec![earlier.clone()]));
    assert_eq!(
        ws.email(id).unwrap().team,
        Some(crate::team::TeamView::Found(vec![earlier]))
    );

    let mut d = ws.email(id).unwrap().draft.clone();
    d.note = "Lubasin kontrollida".into();
    d.disposition = Some("Order".into());
    ws.apply(now, Op::Mail(id, MailOp::Edit(d)));
    ws.apply(now, Op::Mail(id, MailOp::Close));
    let copies: Vec<crate::team::Interaction> = ws
        .store()
        .unwrap()
        .outbox_pending()
        .unwrap()
        .into_iter()
        .filter_map(|i| match serde_json::from_value(i.payload) {
            Ok(crate::team::TeamCopy::Interaction(i)) => Some(*i),
            _ => None,
        })
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let c = &copies[0];
    assert_eq!(c.key, "mail:seed-1@example.test");
    assert_eq!((c.kind.as_str(), c.agent.as_str()), ("mail", "anna"));
    assert_eq!(c.number, "juri@example.test");
    assert_eq!(c.note.as_deref(), Some("Lubasin kontrollida"));
    assert_eq!(c.outcome.as_deref(), Some("closed"));
}
