//! Copies for the team database: queued when a call ends and when its
//! wrap-up is saved (in the wrap-up's transaction), and the team's earlier
//! interactions asked for as a call rings.

use super::tests::{ended, t0};
use super::*;
use crate::outbox::Delivery;
use crate::team::{Interaction, TeamView};

fn ring(ws: &mut Workspace, now: Now) {
    let mut h = Headers::new();
    h.push("From", "\"Mari Maasikas\" <sip:+3725551234@pbx>;tag=1");
    ws.handle(
        now,
        PhoneEvent::Incoming {
            call: CallRef(1),
            call_id: "team-1@test".into(),
            headers: h,
        },
    );
}

#[test]
fn a_call_is_copied_for_the_team_when_it_ends_and_again_with_its_wrap_up() {
    let now = t0();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.set_operator("anna", "et");
    ws.set_team(true);
    ws.apply(now, Op::SetState(AgentState::Available));
    ring(&mut ws, now);
    let asked: Vec<_> = ws
        .take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::LookupTeam { call_id, number } => Some((call_id, number)),
            _ => None,
        })
        .collect();
    assert_eq!(
        asked,
        [("team-1@test".to_owned(), "+3725551234".to_owned())]
    );
    assert_eq!(ws.calls()[0].team, Some(TeamView::Pending));
    let earlier = Interaction {
        key: "call:yesterday@test".into(),
        kind: "call".into(),
        agent: "boris".into(),
        number: "+3725551234".into(),
        name: Some("Mari Maasikas".into()),
        direction: "in".into(),
        outcome: Some("answered".into()),
        outcome_detail: None,
        started_ms: now.unix_ms - 86_400_000,
        answered_ms: None,
        ended_ms: None,
        disposition: Some("Complaint".into()),
        ticket: None,
        note: Some("Arve topelt; lubasin tagasi helistada".into()),
        transfers: None,
        script: None,
        form: None,
        updated_ms: now.unix_ms - 86_000_000,
    };
    ws.team_result("team-1@test", Ok(vec![earlier.clone()]));
    assert_eq!(ws.calls()[0].team, Some(TeamView::Found(vec![earlier])));

    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    let later = now.later(std::time::Duration::from_secs(40));
    ended(&mut ws, later, 1, EndReason::RemoteHangup, None);
    let wrap = ws.wrap_ups()[0].id;
    let draft = Draft {
        note: "Helistasin tagasi, arve parandatud".into(),
        disposition: Some("Complaint".into()),
        ..Draft::default()
    };
    ws.apply(later, Op::EditDraft(wrap, draft));
    ws.apply(later, Op::SaveWrapUp(wrap));

    let items = ws.store().unwrap().outbox_pending().unwrap();
    let team: Vec<Interaction> = items
        .iter()
        .filter(|i| i.delivery == Delivery::Team)
        .map(|i| serde_json::from_value(i.payload.clone()).unwrap())
        .collect();
    assert_eq!(team.len(), 2, "{items:?}");
    assert!(
        team.iter()
            .all(|i| i.key == "call:team-1@test" && i.agent == "anna")
    );
    assert_eq!(team[0].note, None, "the copy made when it ended");
    assert_eq!(team[0].outcome.as_deref(), Some("answered"));
    assert_eq!(
        team[1].note.as_deref(),
        Some("Helistasin tagasi, arve parandatud")
    );
    assert!(team[1].updated_ms >= team[0].updated_ms);
}

#[test]
fn without_a_team_database_nothing_is_queued_or_asked() {
    let now = t0();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.apply(now, Op::SetState(AgentState::Available));
    ring(&mut ws, now);
    assert!(
        !ws.take_actions()
            .iter()
            .any(|a| matches!(a, Action::LookupTeam { .. }))
    );
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    assert!(ws.store().unwrap().outbox_pending().unwrap().is_empty());
}

fn presences(ws: &mut Workspace) -> Vec<crate::team::AgentPresence> {
    ws.take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::TeamPresence(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn the_board_hears_of_each_change_once_and_a_raised_hand_comes_down_with_the_call() {
    let now = t0();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.set_operator("anna", "et");
    ws.set_extension(Some("204".into()));
    ws.set_team(true);
    ws.apply(now, Op::SetState(AgentState::Available));
    let p = presences(&mut ws);
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].state.as_str(), p[0].extension.as_deref()),
        ("available", Some("204"))
    );
    ws.tick(now.later(std::time::Duration::from_secs(5)));
    assert!(
        presences(&mut ws).is_empty(),
        "nothing changed: nothing sent"
    );

    let ringing = now.later(std::time::Duration::from_secs(10));
    ring(&mut ws, ringing);
    let p = presences(&mut ws);
    assert_eq!(p.last().map(|p| p.state.as_str()), Some("ringing"));
    assert_eq!(
        p.last().and_then(|p| p.call_number.as_deref()),
        Some("+3725551234")
    );
    ws.apply(ringing, Op::Answer);
    ws.handle(ringing, PhoneEvent::Established { call: CallRef(1) });
    let up = presences(&mut ws);
    assert_eq!(up.last().map(|p| p.state.as_str()), Some("in_call"));
    let since = up.last().unwrap().since_ms;

    let help = ringing.later(std::time::Duration::from_secs(30));
    ws.apply(help, Op::RaiseHand);
    assert_eq!(ws.hand_raised(), Some(help.unix_ms));
    let p = presences(&mut ws);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].help_since_ms, Some(help.unix_ms));
    assert_eq!(
        p[0].since_ms, since,
        "still in the same call since it was answered"
    );

    let over = help.later(std::time::Duration::from_secs(60));
    ended(&mut ws, over, 1, EndReason::RemoteHangup, None);
    assert_eq!(ws.hand_raised(), None);
    let p = presences(&mut ws);
    let last = p.last().expect("the end of the call is published");
    assert_eq!(last.state, "wrap_up");
    assert_eq!(
        (last.help_since_ms, last.call_number.as_deref()),
        (None, None)
    );
}

#[test]
fn without_the_team_nothing_is_published_and_no_hand_is_offered() {
    let now = t0();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.apply(now, Op::SetState(AgentState::Available));
    assert!(presences(&mut ws).is_empty());
    assert!(!ws.team_on());
}

#[test]
fn a_contact_change_goes_to_the_team_and_a_desk_without_one_learns_the_teams() {
    let now = t0();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.set_operator("anna", "et");
    ws.set_team(true);
    let mari = crate::store::Contact {
        name: "Mari Maasikas".into(),
        number: "+3725551234".into(),
        company: Some("Maasikas OÜ".into()),
        note: None,
        email: None,
    };
    ws.contact_changed(now, &mari, false);
    ws.contact_changed(now.later(std::time::Duration::from_secs(1)), &mari, true);
    let items = ws.store().unwrap().outbox_pending().unwrap();
    let copies: Vec<crate::team::TeamContact> = items
        .iter()
        .filter_map(|i| match serde_json::from_value(i.payload.clone()) {
            Ok(crate::team::TeamCopy::Contact(c)) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(copies.len(), 2, "an edit and a deletion, each its own copy");
    assert!(!copies[0].deleted && copies[1].deleted);
    assert!(copies[1].updated_ms > copies[0].updated_ms);

    // Another desk rings with Mari's number and has no contact: it learns
    // the team's (a deleted one teaches nothing).
    let mut other = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    other.set_team(true);
    other.apply(now, Op::SetState(AgentState::Available));
    let mut h = Headers::new();
    h.push("From", "<sip:+3725551234@pbx>;tag=1");
    other.handle(
        now,
        PhoneEvent::Incoming {
            call: CallRef(1),
            call_id: "learn@test".into(),
            headers: h,
        },
    );
    let mut deleted = copies[1].clone();
    other.team_contact(now, "learn@test", Some(deleted.clone()));
    assert!(other.calls()[0].contact.is_none());
    deleted.deleted = false;
    other.team_contact(now, "learn@test", Some(deleted));
    assert_eq!(
        other.calls()[0].contact.as_ref().map(|c| c.name.as_str()),
        Some("Mari Maasikas")
    );
    assert_eq!(other.calls()[0].card.name.as_deref(), Some("Mari Maasikas"));
    let kept = other
        .store()
        .unwrap()
        .contact_by_number("+3725551234")
        .unwrap();
    assert_eq!(kept.map(|c| c.company), Some(Some("Maasikas OÜ".into())));
}

#[test]
fn an_unchanged_presence_is_sent_again_each_minute_and_each_copy_is_newer() {
    let now = t0();
    let mut ws = Workspace::new(Rules::default(), Some(Store::in_memory().unwrap()), now);
    ws.set_operator("anna", "et");
    ws.set_team(true);
    ws.apply(now, Op::SetState(AgentState::Available));
    let first = presences(&mut ws).pop().expect("published");
    // A second change in the same millisecond still makes a newer copy.
    ws.apply(now, Op::SetState(AgentState::Offline));
    let second = presences(&mut ws).pop().expect("published");
    assert!(second.updated_ms > first.updated_ms);
    ws.tick(now.later(std::time::Duration::from_secs(30)));
    assert!(presences(&mut ws).is_empty());
    ws.tick(now.later(std::time::Duration::from_secs(61)));
    let beat = presences(&mut ws).pop().expect("the heartbeat");
    assert_eq!(beat.state, "offline");
    assert_eq!(
        beat.since_ms, second.since_ms,
        "the same state, still since then"
    );
    assert!(beat.updated_ms > second.updated_ms);
    // Closing says offline, whatever the state was.
    ws.apply(
        now.later(std::time::Duration::from_secs(62)),
        Op::SetState(AgentState::Available),
    );
    let _ = presences(&mut ws);
    ws.publish_closing(now.later(std::time::Duration::from_secs(63)));
    assert_eq!(
        presences(&mut ws).pop().map(|p| p.state),
        Some("offline".into())
    );
}
