//! Forms in the workspace: an Orders call starts with the order form,
//! prefilled; what is typed during the call survives a crash and goes on in
//! the wrap-up; a wrap-up whose form has mistakes stays open; a saved one
//! queues its webhook and e-mail in the outbox with the record, once.

use std::time::Duration;

use super::tests::{ended, t0};
use super::*;
use crate::form::FormDef;
use crate::outbox::{Delivery, State};

const ORDER: &str = r#"
id = "order"
title = { en = "Order", et = "Tellimus" }
queues = ["Orders"]
fields = [
  { name = "customer", label = "Customer", required = true, prefill = "{caller.name}" },
  { name = "phone", label = "Phone", type = "phone", prefill = "{caller.number}" },
  { name = "reference", label = "Order", prefill = "{ivr.order}" },
]
[lines]
label = "Items"
min = 1
quantity = "quantity"
price = "price"
fields = [
  { name = "item", label = "Item", required = true },
  { name = "quantity", label = "Quantity", type = "number", required = true },
  { name = "price", label = "Price", type = "money", required = true },
]
[webhook]
url = "http://127.0.0.1:9/orders"
result = "order.id"
[email]
to = "orders@example.test"
subject = "Order from {customer}"
"#;

fn desk(store: Store, now: Now) -> Workspace {
    let mut ws = Workspace::new(Rules::default(), Some(store), now);
    ws.set_forms(vec![toml::from_str::<FormDef>(ORDER).unwrap()]);
    ws.set_operator("agent", "en");
    ws.apply(now, Op::SetState(AgentState::Available));
    ws
}

fn ring(ws: &mut Workspace, now: Now) -> ItemId {
    let mut h = Headers::new();
    h.push("From", "\"Mari Maasikas\" <sip:+3725551234@pbx>;tag=1");
    h.push("X-Queue", "Orders");
    h.push("X-IVR-Data", "order=A-4711");
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

fn line(item: &str, q: &str, p: &str) -> std::collections::BTreeMap<String, String> {
    [("item", item), ("quantity", q), ("price", p)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn an_orders_call_starts_with_its_form_prefilled_and_a_saved_one_is_queued_once() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    let id = ring(&mut ws, now);
    let form = ws
        .draft_of(id)
        .unwrap()
        .form
        .clone()
        .expect("the Orders queue's form");
    assert_eq!(
        form.fields.get("customer").map(String::as_str),
        Some("Mari Maasikas")
    );
    assert_eq!(
        form.fields.get("reference").map(String::as_str),
        Some("A-4711")
    );
    let mut v = form;
    v.lines = vec![line("Tea", "3", "19.99")];
    ws.apply(now, Op::EditForm(id, Some(v)));
    ws.apply(
        now,
        Op::AppendNote(id, "Delivery takes 2–3 working days.".into()),
    );
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let w = ws.wrap_ups()[0].clone();
    assert_eq!(w.draft.note, "Delivery takes 2–3 working days.\n");
    assert_eq!(ws.form_mistakes(w.id), []);
    ws.take_actions();
    ws.apply(now, Op::SaveWrapUp(w.id));
    assert!(ws.wrap_ups().is_empty());
    assert!(ws.take_actions().contains(&Action::OutboxQueued));
    let store = ws.store().unwrap();
    let items = store.outbox_for_call("in-1").unwrap();
    assert_eq!(items.len(), 2, "the webhook and the e-mail");
    assert!(items.iter().all(|i| i.state == State::Queued));
    assert_eq!(items[0].payload["total"], "59.97");
    assert!(
        matches!(&items[1].delivery, Delivery::Email { subject, .. } if subject == "Order from Mari Maasikas")
    );
}

#[test]
fn a_wrap_up_whose_form_has_mistakes_stays_open_and_says_so() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    let id = ring(&mut ws, now);
    let mut v = ws.draft_of(id).unwrap().form.clone().unwrap();
    v.lines = vec![line("Tea", "three", "")];
    ws.apply(now, Op::EditForm(id, Some(v)));
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let w = ws.wrap_ups()[0].clone();
    assert_eq!(ws.form_mistakes(w.id).len(), 2);
    ws.apply(now, Op::SaveWrapUp(w.id));
    assert_eq!(ws.wrap_ups().len(), 1, "not saved");
    assert!(ws.notices().iter().any(|n| matches!(
        &n.kind,
        NoticeKind::FormIncomplete { form, mistakes: 2 } if form == "Order"
    )));
    assert!(
        ws.store().unwrap().outbox_pending().unwrap().is_empty(),
        "nothing sent"
    );
    // Removing the form lets the wrap-up go.
    ws.apply(now, Op::EditForm(w.id, None));
    ws.apply(now, Op::SaveWrapUp(w.id));
    assert!(ws.wrap_ups().is_empty());
}

#[test]
fn an_untouched_form_sends_nothing() {
    let now = t0();
    let mut ws = desk(Store::in_memory().unwrap(), now);
    ring(&mut ws, now);
    ended(&mut ws, now, 1, EndReason::RemoteHangup, None);
    let w = ws.wrap_ups()[0].clone();
    ws.apply(now, Op::SaveWrapUp(w.id));
    assert!(ws.wrap_ups().is_empty());
    assert!(ws.store().unwrap().outbox_pending().unwrap().is_empty());
}

#[test]
fn a_form_typed_during_the_call_survives_a_crash() {
    let dir = std::env::temp_dir().join(format!("sb-ws-form-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("desk.db");
    let now = t0();
    {
        let mut ws = desk(Store::open(&db).unwrap(), now);
        let id = ring(&mut ws, now);
        let mut v = ws.draft_of(id).unwrap().form.clone().unwrap();
        v.lines = vec![line("Tea", "3", "19.99")];
        ws.apply(now, Op::EditForm(id, Some(v)));
        // Written at most DRAFT_DELAY later.
        ws.tick(now.later(DRAFT_DELAY + Duration::from_millis(10)));
        std::mem::forget(ws);
    }
    let ws = desk(
        Store::open(&db).unwrap(),
        now.later(Duration::from_secs(60)),
    );
    let w = ws
        .wrap_ups()
        .first()
        .expect("the call comes back as a wrap-up");
    let form = w.draft.form.as_ref().expect("with its form");
    assert_eq!(form.lines[0].get("item").map(String::as_str), Some("Tea"));
    let _ = std::fs::remove_dir_all(&dir);
}
