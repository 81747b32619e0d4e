//! Orders and tickets through the real UI: an order typed into the Form tab
//! during an Orders call is checked, saved with the wrap-up and POSTed to a
//! real HTTP server, whose order number the History shows; a form with a
//! mistake keeps the wrap-up open and says where; the caller's open tickets
//! from a real HTTP server are on screen before answering; the knowledge
//! base is searched by typing, an article opened with Enter and a paragraph
//! put into the note with Insert; an article edited on disk is found by
//! its new words within seconds.

mod common;

use std::time::{Duration, Instant};

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::outbox_worker::Pace;
use switchboard::{DeskApp, DeskConfig, TicketsWorker, Wake};
use switchboard_desk::form::FormDef;
use switchboard_desk::outbox::{Backoff, State};
use switchboard_desk::store::Store;
use switchboard_desk::tickets::Tickets;

const ORDER: &str = r#"
id = "order"
title = { en = "Order", et = "Tellimus" }
queues = ["Orders"]
fields = [
  { name = "customer", label = "Customer", required = true, prefill = "{caller.name}" },
  { name = "delivery", label = "Delivery", type = "choice", choices = ["Courier", "Pick-up"] },
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
url = "URL"
result = "order.id"
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A desk with the order form posting to `url`, its outbox delivering from
/// the database in `dir`.
fn order_desk(dir: &std::path::Path, url: &str) -> Harness<'static, DeskApp> {
    form_desk(dir, ORDER, url)
}

/// A desk with the form `toml` posting to `url` (its `URL`), its outbox
/// delivering from the database in `dir` with back-offs of milliseconds.
fn form_desk(dir: &std::path::Path, toml: &str, url: &str) -> Harness<'static, DeskApp> {
    let def: FormDef = toml::from_str(&toml.replace("URL", url)).unwrap();
    let config = DeskConfig {
        forms: vec![def],
        ..config()
    };
    let db = dir.join("desk.db");
    let mut h = desk_with(config, Some(Store::open(&db).unwrap()));
    let pace = Pace {
        poll: Duration::from_millis(50),
        backoff: Backoff {
            base_ms: 100,
            cap_ms: 500,
        },
        lease: Duration::from_secs(5),
    };
    h.state_mut()
        .start_outbox(db, None, pace, Box::new(|_| None), Wake::none())
        .unwrap();
    h
}

fn key(h: &mut Harness<'static, DeskApp>, k: egui::Key) {
    h.key_press(k);
    h.run();
    h.run();
}

fn type_into(h: &mut Harness<'static, DeskApp>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

fn answered(h: &mut Harness<'static, DeskApp>, queue: &str) {
    feed(h, &[incoming_in_queue(1, queue)]);
    key(h, egui::Key::F3);
    feed(h, &[established(1)]);
    h.run();
}

#[test]
fn an_order_taken_in_the_form_tab_reaches_fulfilment_once_with_its_number_shown() {
    let dir = switchboard_interop::temp_dir("forms-order");
    let port = free_port();
    let server = WebhookServer::start(port, Answer::new(201, r#"{"order":{"id":"A-77"}}"#));
    let mut h = order_desk(&dir, &WebhookServer::url(port, "/orders"));
    answered(&mut h, "Orders");
    // The Form tab came up with the order form, prefilled from the call.
    assert!(
        h.query_all_by_value("Mari Maasikas").next().is_some(),
        "prefilled"
    );
    type_into(&mut h, "Item 1", "Tea, green");
    type_into(&mut h, "Quantity 1", "3");
    type_into(&mut h, "Price 1", "19,99");
    h.get_by_label("Total 59.97");
    feed(&mut h, &[ended(1)]);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert!(h.state().workspace().wrap_ups().is_empty(), "saved");
    let key = "call-1@test/order/webhook";
    assert!(
        wait_until(Duration::from_secs(10), || server.delivered(key) == 1),
        "the fulfilment server got the order: {:?}",
        server.seen()
    );
    let seen = &server.seen_for(key)[0];
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body["total"], "59.97");
    assert_eq!(body["lines"][0]["item"], "Tea, green");
    assert_eq!(body["caller"]["number"], "+3725551234");
    // The number it gave shows as a notice and in the History.
    assert!(wait_for_label(
        &mut h,
        "Number A-77 received for Mari Maasikas."
    ));
    h.get_by_label("History").click();
    h.run();
    assert!(wait_for_label(&mut h, "sent, number A-77"));
    let store = h.state().store().unwrap();
    let items = store.outbox_for_call("call-1@test").unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].state, State::Sent);
    assert_eq!(server.seen_for(key).len(), 1, "sent once");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_form_with_a_mistake_keeps_the_wrap_up_open_and_says_where() {
    let dir = switchboard_interop::temp_dir("forms-mistake");
    let mut h = order_desk(&dir, "http://127.0.0.1:9/orders");
    answered(&mut h, "Orders");
    type_into(&mut h, "Item 1", "Tea");
    type_into(&mut h, "Quantity 1", "three");
    type_into(&mut h, "Price 1", "2");
    h.get_by_label("Quantity 1: Not a number");
    feed(&mut h, &[ended(1)]);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("The Order form has 1 mistake(s): the wrap-up stays open.");
    assert_eq!(h.state().workspace().wrap_ups().len(), 1);
    h.get_by_label("Form").click();
    h.run();
    h.get_by_label("Quantity 1").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Quantity 1").type_text("3");
    h.run();
    h.run();
    assert!(h.query_by_label("Quantity 1: Not a number").is_none());
    common::click(&mut h, "Save wrap-up");
    assert!(
        h.state().workspace().wrap_ups().is_empty(),
        "saved once right"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_callers_open_tickets_show_before_answering() {
    let port = free_port();
    let server = WebhookServer::start(
        port,
        Answer::new(
            200,
            r#"{"tickets":[{"id":"T-88","title":"Laptop does not connect","status":"open"}]}"#,
        ),
    );
    let tickets = Tickets::new(
        &WebhookServer::url(port, "/tickets?phone={number}"),
        Some("tickets".into()),
        ["id".into(), "title".into(), "status".into()],
        Duration::from_secs(2),
    )
    .unwrap();
    let mut h = desk(None);
    h.state_mut()
        .set_tickets(TicketsWorker::spawn(tickets, Box::new(|| {})).unwrap());
    feed(&mut h, &[incoming_in_queue(1, "Support")]);
    assert!(wait_for_label(&mut h, "Laptop does not connect"));
    h.get_by_label("Open tickets");
    h.get_by_label("T-88");
    assert!(
        server.seen()[0]
            .request_line
            .contains("phone=%2B3725551234"),
        "{:?}",
        server.seen()
    );
    assert!(
        matches!(
            h.state().agent_state(),
            switchboard_desk::agent::AgentState::Ringing { .. }
        ),
        "still ringing"
    );
}

/// A desk with the knowledge base of `folder`.
fn knowing_desk(folder: &std::path::Path, dir: &std::path::Path) -> Harness<'static, DeskApp> {
    let mut h = desk(Some(Store::in_memory().unwrap()));
    let (worker, index) = switchboard::knowledge_worker::KnowledgeWorker::spawn(
        folder.to_path_buf(),
        &dir.join("knowledge.db"),
        Box::new(|| {}),
    )
    .unwrap();
    // The first index is built on the worker's thread as the desk starts.
    assert!(
        wait_until(Duration::from_secs(20), || index.len().unwrap_or(0) > 0),
        "the folder was indexed"
    );
    h.state_mut().set_knowledge(worker, index);
    h.run();
    h
}

#[test]
fn an_article_found_by_typing_goes_into_the_note_a_paragraph_at_a_time() {
    let dir = switchboard_interop::temp_dir("knowledge-tab");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/knowledge");
    let mut h = knowing_desk(&shipped, &dir);
    answered(&mut h, "Support");
    h.get_by_label("Knowledge").click();
    h.run();
    h.get_by_label("Search the knowledge base").click();
    h.run();
    h.get_by_label("Search the knowledge base")
        .type_text("vpn conn");
    h.run();
    h.get_by_label("VPN does not connect");
    key(&mut h, egui::Key::Enter);
    h.get_by_label("Back to the results");
    // The second paragraph, into the note with one key.
    key(&mut h, egui::Key::ArrowDown);
    key(&mut h, egui::Key::Insert);
    feed(&mut h, &[ended(1)]);
    let w = h.state().workspace().wrap_ups()[0].clone();
    assert!(
        w.draft
            .note
            .starts_with("If web pages open, check with the caller:\n– the VPN client"),
        "{:?}",
        w.draft.note
    );
    assert!(
        h.query_all_by_value(&w.draft.note).next().is_some(),
        "in the form"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_article_edited_on_disk_is_found_by_its_new_words_within_seconds() {
    let dir = switchboard_interop::temp_dir("knowledge-edit");
    let folder = dir.join("articles");
    std::fs::create_dir_all(&folder).unwrap();
    let article =
        |title: &str, body: &str| format!("---\ntitle: {title}\nlanguage: en\n---\n{body}\n");
    std::fs::write(
        folder.join("hours.md"),
        article("Opening hours", "Open 9 to 17."),
    )
    .unwrap();
    let mut h = knowing_desk(&folder, &dir);
    h.get_by_label("Knowledge").click();
    h.run();
    h.get_by_label("Search the knowledge base").click();
    h.run();
    h.get_by_label("Search the knowledge base")
        .type_text("saturday");
    h.run();
    h.get_by_label("Nothing found.");
    let started = Instant::now();
    std::fs::write(
        folder.join("hours.md"),
        article("Opening hours", "Open 9 to 17, and on Saturday 10 to 14."),
    )
    .unwrap();
    assert!(
        wait_for_label(&mut h, "Opening hours"),
        "found by its new words"
    );
    eprintln!("re-indexed in {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The practice line's forms load, and its fulfilment desk gives an order
/// or ticket number, the same again for the same idempotency key.
#[test]
fn the_practice_fulfilment_desk_numbers_orders_and_tickets_once_per_key() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let base = switchboard::practice::fulfilment_desk(stop.clone()).unwrap();
    let forms = switchboard::practice::forms(&base);
    let (ok, errors) = switchboard_desk::form::check_defs(forms);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        ok.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["order", "ticket"]
    );
    let post = |path: &str, key: &str| -> String {
        let mut r = ureq::post(&format!("{base}{path}"))
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .send("{\"form\":\"x\"}")
            .unwrap();
        let text = r.body_mut().read_to_string().unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["id"].as_str().unwrap_or_default().to_owned()
    };
    let first = post("/orders", "a/order/webhook");
    assert!(first.starts_with("ORD-"), "{first}");
    assert_eq!(
        post("/orders", "a/order/webhook"),
        first,
        "the same key, the same number"
    );
    assert_ne!(post("/orders", "b/order/webhook"), first);
    assert!(post("/tickets", "c/ticket/webhook").starts_with("T-"));
    stop.store(true, Ordering::Relaxed);
}

/// An IT ticket opened from the Form tab of a Support call: the ticket
/// system's webhook answers the new ticket's number, which the History
/// and a notice show on the interaction.
#[test]
fn a_ticket_opened_from_the_form_tab_shows_the_number_the_ticket_system_gave() {
    const TICKET: &str = r#"
id = "ticket"
title = "IT ticket"
queues = ["Support"]
fields = [
  { name = "user", label = "User", required = true, prefill = "{caller.name}" },
  { name = "summary", label = "Summary", required = true },
]
[webhook]
url = "URL"
result = "ticket.id"
"#;
    let dir = switchboard_interop::temp_dir("forms-ticket");
    let port = free_port();
    let server = WebhookServer::start(port, Answer::new(201, r#"{"ticket":{"id":"T-5150"}}"#));
    let mut h = form_desk(&dir, TICKET, &WebhookServer::url(port, "/tickets"));
    answered(&mut h, "Support");
    h.get_by_label("Summary *");
    h.get_by_label("Summary *").click();
    h.run();
    h.event(egui::Event::Text("VPN does not connect from home".into()));
    h.run();
    feed(&mut h, &[ended(1)]);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert!(wait_until(Duration::from_secs(10), || server
        .delivered("call-1@test/ticket/webhook")
        == 1));
    let body: serde_json::Value =
        serde_json::from_str(&server.seen_for("call-1@test/ticket/webhook")[0].body).unwrap();
    assert_eq!(body["fields"]["summary"], "VPN does not connect from home");
    assert!(wait_for_label(
        &mut h,
        "Number T-5150 received for Mari Maasikas."
    ));
    h.get_by_label("History").click();
    h.run();
    assert!(wait_for_label(&mut h, "sent, number T-5150"));
    let _ = std::fs::remove_dir_all(&dir);
}
