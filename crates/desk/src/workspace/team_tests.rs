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
