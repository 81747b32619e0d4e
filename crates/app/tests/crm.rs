//! CRM lookup while the call rings, against a real HTTP server on
//! 127.0.0.1: the banner shows the record's fields and a link before the
//! operator answers; a dead CRM shows one line of error and the call can
//! still be answered.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::{CrmWorker, DeskApp, DeskConfig, Intent};
use switchboard_desk::agent::AgentState;
use switchboard_desk::crm::Crm;
use switchboard_engine::CallId;
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;

fn incoming() -> EventKind {
    common::incoming_in_queue(1, "Billing & Payments")
}

/// Serves one request with `status` and `body`; sends the request line back.
fn one_shot_server(status: &'static str, body: &'static str) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        let _ = reader.read_line(&mut request_line);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let _ = tx.send(request_line.trim_end().to_owned());
        let mut stream = reader.into_inner();
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    (port, rx)
}

fn desk_with_crm(url: &str) -> Harness<'static, DeskApp> {
    let crm = Crm::new(
        url,
        Some("https://crm.example.ee/customer?phone={number}"),
        vec![
            "name".into(),
            "customer.segment".into(),
            "open_tickets".into(),
        ],
        Duration::from_secs(2),
    )
    .unwrap();
    let mut app = DeskApp::new(DeskConfig::default(), None);
    app.set_crm(CrmWorker::spawn(crm, Box::new(|| {})).unwrap());
    app.apply(Instant::now(), Intent::SetState(AgentState::Available));
    Harness::new_ui_state(|ui, app: &mut DeskApp| app.ui(ui, Instant::now()), app)
}

#[test]
fn the_crm_record_shows_on_the_banner_before_answering() {
    let (port, requests) = one_shot_server(
        "200 OK",
        r#"{"name":"Mari Maasikas","customer":{"segment":"Gold"},"open_tickets":2,"internal":"x"}"#,
    );
    let mut h = desk_with_crm(&format!(
        "http://127.0.0.1:{port}/lookup?phone={{number}}&queue={{field:Queue}}"
    ));
    h.state_mut().handle_event(Instant::now(), &incoming());
    h.run();
    h.get_by_label("Incoming call: Mari Maasikas");
    assert!(
        common::wait_for_label(&mut h, "customer.segment: Gold"),
        "the CRM fields did not show"
    );
    h.get_by_label("name: Mari Maasikas");
    h.get_by_label("open_tickets: 2");
    assert!(
        h.query_by_label("internal: x").is_none(),
        "only configured fields show"
    );
    h.get_by_label("Open in CRM");
    // The caller's values arrived percent-encoded in the path we asked for.
    let line = requests.recv_timeout(Duration::from_secs(1)).unwrap();
    assert_eq!(
        line,
        "GET /lookup?phone=%2B3725551234&queue=Billing%20%26%20Payments HTTP/1.1"
    );
    // The record stays on the card after answering.
    h.get_by_label("Answer").click();
    h.run();
    h.state_mut().handle_event(
        Instant::now(),
        &EventKind::Established {
            call: CallId(1),
            call_id: "call-1@test".into(),
            outgoing: false,
        },
    );
    h.run();
    h.get_by_label("customer.segment: Gold");
}

#[test]
fn a_dead_crm_is_one_line_of_error_and_the_call_still_answers() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut h = desk_with_crm(&format!("http://127.0.0.1:{port}/lookup?phone={{number}}"));
    h.state_mut().handle_event(Instant::now(), &incoming());
    h.run();
    let until = Instant::now() + Duration::from_secs(5);
    let mut shown = false;
    while Instant::now() < until && !shown {
        h.run();
        shown = h
            .query_by_label_contains("CRM: CRM not reachable")
            .is_some();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(shown, "the dead CRM was not reported on the card");
    // The card is there all the same, and Answer works.
    h.get_by_label("Incoming call: Mari Maasikas");
    h.get_by_label("Number: +3725551234");
    h.get_by_label("Answer").click();
    h.run();
    assert!(
        h.state_mut()
            .take_commands()
            .contains(&Command::Answer { call: CallId(1) })
    );
    h.state_mut()
        .handle_event(Instant::now(), &common::established(1));
    h.run();
    h.get_by_label_contains("In call with Mari Maasikas");
}

#[test]
fn a_crm_error_status_is_reported() {
    let (port, _requests) = one_shot_server("503 Service Unavailable", "{}");
    let mut h = desk_with_crm(&format!("http://127.0.0.1:{port}/lookup?phone={{number}}"));
    h.state_mut().handle_event(Instant::now(), &incoming());
    assert!(
        common::wait_for_label(&mut h, "CRM: CRM answered HTTP 503"),
        "the 503 was not reported"
    );
}
