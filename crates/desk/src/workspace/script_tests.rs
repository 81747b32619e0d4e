//! Scripts in the workspace: a call's script from its queue, answered while
//! talking, carried into the wrap-up (its disposition with it), saved on
//! every answer, back after a crash, and a practice call scored.

use std::collections::BTreeMap;
use std::time::Duration;

use super::tests::{ended, t0};
use super::*;
use crate::practice::CheckKind;
use crate::script::library::Library;
use crate::script::run::Answer;

fn library() -> Library {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/scripts");
    let (mut lib, errors) = Library::load_dir(&dir);
    assert!(errors.is_empty(), "{errors:?}");
    let queues = BTreeMap::from([("Emergency".to_owned(), "triage".to_owned())]);
    assert!(lib.route(&queues, None).is_empty());
    lib
}

fn desk(store: Store, now: Now) -> Workspace {
    let mut ws = Workspace::new(Rules::default(), Some(store), now);
    ws.set_scripts(library());
    ws.apply(now, Op::SetState(AgentState::Available));
    ws
}

fn ring(ws: &mut Workspace, now: Now, queue: &str, extra: &[(&str, &str)]) -> ItemId {
    let mut h = Headers::new();
    h.push("From", "<sip:+3725554321@pbx>;tag=1");
    h.push("X-Queue", queue);
    for (k, v) in extra {
        h.push(*k, *v);
    }
    ws.handle(
        now,
        PhoneEvent::Incoming {
            call: CallRef(1),
            call_id: "in-1".into(),
            headers: h,
        },
    );
    ws.apply(now, Op::Answer);
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    ws.in_hand().expect("answered").id
}

fn say(ws: &mut Workspace, now: Now, id: ItemId, a: Answer) {
    ws.apply(now, Op::Script(id, ScriptOp::Answer(a)));
}

fn node(ws: &Workspace, id: ItemId) -> String {
    ws.script_of(id).expect("a script").current().id.clone()
}

#[test]
fn the_queues_script_is_answered_in_the_call_and_its_outcome_fills_the_wrap_up() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    let id = ring(&mut ws, now, "Emergency", &[]);
    let run = ws.script_of(id).expect("the Emergency queue starts triage");
    assert_eq!(run.script().id, "triage");
    say(&mut ws, now, id, Answer::Text("Pikk 1".into()));
    assert_eq!(
        ws.script_of(id).unwrap().prefill().as_deref(),
        Some("+3725554321"),
        "the callback number comes from the call"
    );
    say(&mut ws, now, id, Answer::Text("+3725554321".into()));
    say(&mut ws, now, id, Answer::Chosen(vec!["illness".into()]));
    say(&mut ws, now, id, Answer::YesNo(false));
    // A wrong answer is not taken; Back keeps the trail.
    say(&mut ws, now, id, Answer::Text("x".into()));
    assert_eq!(node(&ws, id), "breathing");
    ws.apply(now, Op::Script(id, ScriptOp::Back));
    assert_eq!(node(&ws, id), "conscious");
    say(&mut ws, now, id, Answer::YesNo(false));
    say(&mut ws, now, id, Answer::YesNo(true));
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let w = ws.wrap_ups()[0].clone();
    assert_eq!(w.draft.disposition.as_deref(), Some("Ambulance"));
    assert_eq!(node(&ws, w.id), "advice", "the run goes on in the wrap-up");
    say(&mut ws, now, w.id, Answer::Next);
    assert!(ws.script_of(w.id).unwrap().done());
    ws.apply(now, Op::SaveWrapUp(w.id));
    let store = ws.store().unwrap();
    let saved = store
        .script_run("in-1")
        .unwrap()
        .expect("saved with the call");
    assert_eq!(saved.fields.get("priority").map(String::as_str), Some("2"));
    assert_eq!(saved.trail.len(), 8, "every answer and the step back");
    let rec = store.call("in-1").unwrap().unwrap();
    assert_eq!(rec.disposition.as_deref(), Some("Ambulance"));
}

#[test]
fn a_desk_killed_mid_script_brings_the_call_back_as_a_wrap_up_where_the_script_stood() {
    let dir = std::env::temp_dir().join(format!("sb-ws-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db");
    let now = t0();
    {
        let mut ws = desk(Store::open(&db).unwrap(), now);
        let id = ring(&mut ws, now, "Emergency", &[]);
        say(&mut ws, now, id, Answer::Text("Pikk 1".into()));
        say(&mut ws, now, id, Answer::Text("+3725554321".into()));
        say(&mut ws, now, id, Answer::Chosen(vec!["fire".into()]));
        // The process dies: nothing runs after the last answer.
        std::mem::forget(ws);
    }
    let later = now.later(Duration::from_secs(30));
    let ws = desk(Store::open(&db).unwrap(), later);
    let w = ws
        .wrap_ups()
        .first()
        .expect("the call comes back as a wrap-up");
    assert!(w.restored);
    assert_eq!(node(&ws, w.id), "fire_inside");
    let f = ws.script_of(w.id).unwrap().fields();
    assert_eq!(f.get("address").map(String::as_str), Some("Pikk 1"));
    assert_eq!(
        f.get("disposition").map(String::as_str),
        Some("Fire brigade")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_call_that_gets_no_wrap_up_closes_the_draft_its_script_opened() {
    let now = t0();
    let rules = Rules {
        policy: crate::agent::Policy {
            wrap_up_outgoing: false,
            ..Default::default()
        },
        ..Rules::default()
    };
    let mut ws = Workspace::new(rules, Some(Store::in_memory().unwrap()), now);
    ws.set_scripts(library());
    ws.set_dial_plan(DialPlan {
        domain: Some("pbx".into()),
        ..DialPlan::default()
    });
    ws.apply(now, Op::SetState(AgentState::Available));
    ws.apply(
        now,
        Op::Dial {
            input: "5551234".into(),
            name: None,
        },
    );
    ws.handle(
        now,
        PhoneEvent::Calling {
            call: CallRef(1),
            call_id: "out-1".into(),
            target: "sip:5551234@pbx".into(),
        },
    );
    ws.handle(now, PhoneEvent::Established { call: CallRef(1) });
    let id = ws.in_hand().unwrap().id;
    assert!(ws.script_of(id).is_none(), "our calls start without one");
    ws.apply(now, Op::Script(id, ScriptOp::Pick("info-line".into())));
    say(&mut ws, now, id, Answer::Chosen(vec!["hours".into()]));
    say(&mut ws, now, id, Answer::YesNo(true));
    let store = ws.store().unwrap();
    assert_eq!(
        store.pending_drafts().unwrap().len(),
        1,
        "while the call is up"
    );
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    assert!(ws.wrap_ups().is_empty());
    let store = ws.store().unwrap();
    assert!(
        store.pending_drafts().unwrap().is_empty(),
        "no wrap-up waits for a restart"
    );
    assert_eq!(
        store.call("out-1").unwrap().unwrap().disposition.as_deref(),
        Some("Question answered")
    );
}

fn scenarios(lib: &Library) -> Vec<crate::practice::Scenario> {
    crate::practice::parse(
        include_str!("../../../../assets/practice/scenarios.toml"),
        |id| lib.get(id).cloned(),
    )
    .unwrap()
}

#[test]
fn a_practice_call_is_scored_when_its_wrap_up_is_saved() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    ws.set_scenarios(scenarios(&library()));
    ws.set_dial_plan(DialPlan {
        extensions: vec![("201".into(), "sip:billing@127.0.0.1:5071".into())],
        ..DialPlan::default()
    });
    // The queue maps to no script; the scenario names its own.
    let id = ring(
        &mut ws,
        now,
        "Switchboard",
        &[(SCENARIO_HEADER, "mari-billing")],
    );
    assert_eq!(ws.script_of(id).unwrap().script().id, "switchboard");
    say(&mut ws, now, id, Answer::Next);
    say(&mut ws, now, id, Answer::Chosen(vec!["billing".into()]));
    let to = ws.script_of(id).unwrap().transfer().unwrap();
    assert_eq!(to, "201");
    ws.apply(
        now,
        Op::Transfer {
            target: to,
            label: None,
        },
    );
    let talk = now.later(Duration::from_secs(20));
    ws.handle(
        talk,
        PhoneEvent::TransferProgress {
            call: CallRef(1),
            status: 200,
            done: true,
        },
    );
    ended(&mut ws, talk, 1, EndReason::RemoteHangup, None);
    let w = ws.wrap_ups()[0].clone();
    assert_eq!(w.draft.disposition.as_deref(), Some("Put through"));
    ws.apply(talk.later(Duration::from_secs(5)), Op::SaveWrapUp(w.id));
    let score = ws.score().expect("scored");
    assert_eq!(score.percent(), 100, "{:#?}", score.checks);
    ws.apply(talk, Op::DismissScore);
    assert!(ws.score().is_none());

    // The next trainee forgets the question and picks no disposition.
    let mut ws = desk(Store::in_memory().unwrap(), now);
    ws.set_scenarios(scenarios(&library()));
    let id = ring(
        &mut ws,
        now,
        "Switchboard",
        &[(SCENARIO_HEADER, "mari-billing")],
    );
    say(&mut ws, now, id, Answer::Next);
    ws.apply(now, Op::Hangup);
    ended(&mut ws, now, 1, EndReason::LocalHangup, None);
    let w = ws.wrap_ups()[0].clone();
    ws.apply(now, Op::SaveWrapUp(w.id));
    let s = ws.score().unwrap();
    let wrong: Vec<&CheckKind> = s.checks.iter().filter(|c| !c.ok).map(|c| &c.kind).collect();
    assert!(wrong.contains(&&CheckKind::Disposition), "{wrong:?}");
    assert!(wrong.contains(&&CheckKind::Transfer), "{wrong:?}");
    assert!(
        wrong
            .iter()
            .any(|k| matches!(k, CheckKind::Asked { node, .. } if node == "topic")),
        "{wrong:?}"
    );
    assert!(s.percent() < 50, "{}", s.percent());
}
