//! A hostile caller ID (issue 13), as the operator sees it: line breaks,
//! escape sequences and a right-to-left override in the number, a 64 KB
//! display name full of bidi and zero-width characters, 5,000 Diversion
//! entries. The card on screen, the history in the store and the desktop
//! notification all show the cleaned text.

mod common;

use egui_kittest::kittest::{NodeT, Queryable};
use switchboard_desk::caller_text::{is_bidi_control, is_invisible};
use switchboard_desk::context::{MAX_FORWARDS, MAX_NAME};
use switchboard_desk::store::Store;
use switchboard_engine::CallId;
use switchboard_engine::events::EventKind;

/// What the user part decodes to: `+372⏎555ESC[31m RLO 1234`.
const HOSTILE_USER: &str = "+372%0A555%1B[31m%E2%80%AE1234";
/// What the card makes of it.
const CLEAN_NUMBER: &str = "+372 555[31m1234";

/// No character a caller could use to break a line, colour a terminal,
/// reorder or hide text.
fn safe(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || is_bidi_control(c) || is_invisible(c))
}

fn hostile_call(call: u64) -> EventKind {
    let name = "Õie Šmid\u{202E}\u{200D}\u{2066} Ёлка\u{FEFF}\u{1b}[2J ".repeat(64 * 1024 / 30);
    let diversions = (0..5000)
        .map(|i| format!("<sip:{i}%0A%1B[2J@pbx>;reason=no-answer"))
        .collect::<Vec<_>>()
        .join(", ");
    EventKind::Incoming {
        call: CallId(call),
        call_id: format!("call-{call}@test"),
        from: format!("<sip:{HOSTILE_USER}@pbx>;tag=1"),
        to: "<sip:agent@pbx>".into(),
        headers: vec![
            (
                "From".into(),
                format!("\"\u{202E}Bank\n\" <sip:{HOSTILE_USER}@pbx>;tag=1"),
            ),
            (
                "P-Asserted-Identity".into(),
                format!("\"{name}\" <sip:{HOSTILE_USER}@pbx>"),
            ),
            ("X-Queue".into(), "Billing\u{2067}\u{200B}\r\n".into()),
            ("Diversion".into(), diversions),
            (
                "Call-Info".into(),
                "<https://crm.example.ee/c/42>;purpose=info".into(),
            ),
        ],
    }
}

#[test]
fn a_hostile_caller_id_is_shown_stored_and_notified_clean() {
    let mut h = common::desk(Some(Store::in_memory().unwrap()));
    common::feed(&mut h, &[hostile_call(1)]);

    // The card: the number on one line, the name one capped line.
    h.get_by_label(&format!("Number: {CLEAN_NUMBER}"));
    h.get_by_label("Queue: Billing");
    let heading = {
        let node = h.get_by_label_contains("Incoming call: Õie Šmid Ёлка");
        let a = node.accesskit_node();
        a.value().or(a.label()).expect("a label has its text")
    };
    let name = heading
        .strip_prefix("Incoming call: ")
        .expect("the heading names the caller");
    assert_eq!(name.chars().count(), MAX_NAME, "{name}");
    assert!(name.ends_with('…'));
    assert_eq!(
        h.query_all_by_label_contains("Forwarded from: ").count(),
        MAX_FORWARDS,
        "5,000 Diversion entries are ten lines"
    );
    h.get_by_label("Forwarded from: 0 [2J (no-answer)");
    // Nothing anywhere on screen a caller could hide behind.
    let texts: Vec<String> = h
        .query_all_by(|_| true)
        .flat_map(|n| {
            let a = n.accesskit_node();
            [a.label(), a.value()]
        })
        .flatten()
        .collect();
    assert!(texts.iter().any(|t| t.contains(CLEAN_NUMBER)));
    for t in &texts {
        assert!(safe(t), "unsafe text on screen: {t:?}");
    }
    for t in texts.iter().filter(|t| t.contains("Õie")) {
        assert!(t.chars().count() < 2 * MAX_NAME, "a flood on screen: {t:?}");
    }

    // The history as stored.
    let r = h
        .state()
        .store()
        .unwrap()
        .call("call-1@test")
        .unwrap()
        .expect("the ringing call is recorded");
    assert_eq!(r.number, CLEAN_NUMBER);
    let stored = r.name.as_deref().expect("a name is stored");
    assert_eq!(stored, name, "the store holds what the screen shows");
    assert_eq!(r.queue.as_deref(), Some("Billing"));
    // The address as written (percent-encoded, harmless) to call back.
    assert_eq!(
        r.uri.as_deref(),
        Some(format!("sip:{HOSTILE_USER}@pbx").as_str())
    );
    for t in [&r.number, stored] {
        assert!(safe(t), "unsafe text stored: {t:?}");
    }

    // The desktop notification.
    let notices = h.state_mut().take_notices();
    let Some(switchboard::notify::Notice::Ringing { summary, body }) = notices.first() else {
        panic!("a ringing call is notified: {notices:?}");
    };
    assert_eq!(summary, &heading);
    assert_eq!(body, &format!("Number: {CLEAN_NUMBER}\nQueue: Billing"));
}
