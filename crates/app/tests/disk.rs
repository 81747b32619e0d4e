//! When the database refuses to write (a read-only or full disk): the
//! operator is told, what was typed stays on screen, and saving again once
//! the disk is back keeps every word.

mod common;

use std::time::Duration;

use common::{Clock, click, desk_on, ended, established, feed_at};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::DeskApp;
use switchboard_desk::agent::AgentState;
use switchboard_desk::store::Store;
use switchboard_desk::workspace::DRAFT_DELAY;

const NOTE: &str = "Wants the invoice by post";
const ADVICE: &str = "What you typed is still on screen; check the disk, then save again.";

/// A desk on a database file, with Mari's call over and its form open.
fn in_wrap_up(clock: &Clock) -> Harness<'static, DeskApp> {
    let dir = switchboard_interop::temp_dir("disk-refuses");
    let store = Store::open(&dir.join("desk.db")).unwrap();
    let mut h = desk_on(common::config(), Some(store), clock);
    feed_at(&mut h, clock, &[common::incoming_in_queue(1, "Billing")]);
    click(&mut h, "Answer");
    feed_at(&mut h, clock, &[established(1), ended(1)]);
    h.get_by_label("Call with Mari Maasikas (+3725551234)");
    h
}

fn refuse(h: &Harness<'static, DeskApp>, refuse: bool) {
    h.state()
        .store()
        .expect("a database")
        .refuse_writes(refuse)
        .unwrap();
}

/// Clicks into the wrap-up's note and types [`NOTE`].
fn type_note(h: &mut Harness<'static, DeskApp>) {
    h.get_by_label("Note:").click();
    h.run();
    h.get_by_label("Note:").type_text(NOTE);
    h.run();
}

fn note_on_screen(h: &Harness<'static, DeskApp>) -> bool {
    h.query_all_by_value(NOTE).next().is_some()
}

#[test]
fn a_draft_the_disk_refuses_is_a_notice_and_the_note_stays_on_screen() {
    let clock = Clock::new();
    let mut h = in_wrap_up(&clock);
    refuse(&h, true);
    type_note(&mut h);
    // The draft is due a moment later: the disk refuses it.
    clock.advance(DRAFT_DELAY + Duration::from_millis(50));
    h.run();
    h.get_by_label_contains("The note could not be saved to disk: database error:");
    h.get_by_label_contains("readonly database");
    h.get_by_label(ADVICE);
    assert!(note_on_screen(&h), "the note is still in the form");
    assert!(matches!(h.state().agent_state(), AgentState::WrapUp { .. }));
    // The disk is back: the next write of the draft goes through.
    refuse(&h, false);
    clock.advance(Duration::from_secs(1));
    h.run();
    let drafts = h.state().store().unwrap().pending_drafts().unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].1.note, NOTE);
    assert!(note_on_screen(&h));
}

#[test]
fn a_wrap_up_the_disk_refuses_stays_open_with_its_note_until_it_is_saved() {
    let clock = Clock::new();
    let mut h = in_wrap_up(&clock);
    type_note(&mut h);
    refuse(&h, true);
    click(&mut h, "Save wrap-up");
    // Not saved, and the operator is told; the form stays with the note,
    // the agent still wraps up.
    h.get_by_label_contains("The wrap-up could not be saved: database error:");
    // (The draft written on Save was refused too: each notice says what to do.)
    assert!(h.query_all_by_label(ADVICE).next().is_some());
    assert!(note_on_screen(&h), "the note is still in the form");
    assert!(common::has_button(&h, "Save wrap-up"));
    h.get_by_label("Wrap-up · Mari Maasikas");
    assert!(matches!(h.state().agent_state(), AgentState::WrapUp { .. }));
    let record = h
        .state()
        .store()
        .unwrap()
        .history("+3725551234", 1)
        .unwrap();
    assert_eq!(record[0].note, None, "nothing half-written");
    // The disk is back: Save again keeps every word.
    refuse(&h, false);
    click(&mut h, "Save wrap-up");
    h.get_by_label("State: Available");
    assert!(!common::has_button(&h, "Save wrap-up"));
    let store = h.state().store().unwrap();
    assert_eq!(
        store.history("+3725551234", 1).unwrap()[0].note.as_deref(),
        Some(NOTE)
    );
    assert!(store.pending_drafts().unwrap().is_empty());
}

#[test]
fn when_the_wrap_up_time_runs_out_on_a_refusing_disk_the_form_and_its_note_are_kept() {
    let clock = Clock::new();
    let mut h = in_wrap_up(&clock);
    type_note(&mut h);
    refuse(&h, true);
    // Thirty seconds on: the agent takes calls again, but the form could
    // not be saved, so it stays in the work list with its note.
    clock.advance(Duration::from_secs(31));
    h.run();
    h.get_by_label("State: Available");
    h.get_by_label_contains("The wrap-up could not be saved: database error:");
    h.get_by_label("Wrap-up · Mari Maasikas").click();
    h.run();
    assert!(note_on_screen(&h), "the note is still in the form");
    refuse(&h, false);
    click(&mut h, "Save wrap-up");
    assert!(h.query_by_label("Wrap-up · Mari Maasikas").is_none());
    assert_eq!(
        h.state()
            .store()
            .unwrap()
            .history("+3725551234", 1)
            .unwrap()[0]
            .note
            .as_deref(),
        Some(NOTE)
    );
}
