//! The work list: every interaction the operator has — ringing, in hand,
//! held, consulting, wrap-ups waiting, e-mails (theirs, the shared queue's,
//! replies waiting for the customer), missed calls of the shift — one
//! click (or Alt+1…9) brings one into the centre; a click on a queued
//! e-mail takes it. Above the e-mails, the queue in one line (how many,
//! the oldest's age, the mailbox's state). Under it all, today's figures.

use switchboard_desk::time::clock;
use switchboard_desk::workspace::{
    Focus, ItemId, MailLink, MailOp, MailStatus, Op, QUEUE_ROWS, WorkItem, WorkKind,
};

use super::{Cx, warn_color};
use crate::{Intent, text};

fn kind_key(k: WorkKind) -> &'static str {
    match k {
        WorkKind::Ringing => "work-ringing",
        WorkKind::Waiting => "work-waiting",
        WorkKind::Dialing => "work-dialing",
        WorkKind::InHand => "work-in-hand",
        WorkKind::Held => "work-held",
        WorkKind::Consulting => "work-consulting",
        WorkKind::Conference => "work-conference",
        WorkKind::WrapUp => "work-wrap-up",
        WorkKind::Missed => "work-missed",
        WorkKind::MailMine => "work-mail-mine",
        WorkKind::MailQueued => "work-mail-queued",
        WorkKind::MailWaiting => "work-mail-waiting",
    }
}

fn is_mail(k: WorkKind) -> bool {
    matches!(
        k,
        WorkKind::MailMine | WorkKind::MailQueued | WorkKind::MailWaiting
    )
}

fn focused(cx: &Cx<'_>) -> Option<ItemId> {
    match cx.ws.focus() {
        Focus::Call(c) => Some(c.id),
        Focus::WrapUp(w) => Some(w.id),
        Focus::Missed(m) => Some(m.id),
        Focus::Email(e) => Some(e.id),
        Focus::MailWaiting(id, _) => Some(id),
        Focus::Idle => None,
    }
}

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
    let l = cx.l;
    ui.heading(l.tr("work-list"));
    let items = cx.ws.work_list();
    let shown = focused(cx);
    let mail = cx.ws.mail_config().is_some();
    let figures = if mail { 150.0 } else { 110.0 };
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .max_height(ui.available_height() - figures)
        .show(ui, |ui| {
            if items.is_empty() && !mail {
                ui.weak(l.tr("work-empty"));
            }
            // The e-mail line goes above the e-mails (after the calls and
            // wrap-ups, before the missed calls).
            let mail_at = items
                .iter()
                .position(|i| is_mail(i.kind) || i.kind == WorkKind::Missed)
                .unwrap_or(items.len());
            let last_queued = items.iter().rposition(|i| i.kind == WorkKind::MailQueued);
            for (n, item) in items.iter().enumerate() {
                if mail && n == mail_at {
                    mail_line(ui, cx);
                }
                row(ui, cx, n, item, shown == Some(item.id), out);
                if Some(n) == last_queued {
                    more_in_queue(ui, cx);
                }
            }
            if mail && mail_at == items.len() {
                mail_line(ui, cx);
            }
        });
    ui.separator();
    today(ui, cx);
}

/// One row: what and who, then its detail; a click brings it in (a queued
/// e-mail is taken).
fn row(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    n: usize,
    item: &WorkItem,
    selected: bool,
    out: &mut Vec<Intent>,
) {
    let l = cx.l;
    let urgent = matches!(item.kind, WorkKind::Ringing | WorkKind::Waiting);
    let mut head = egui::RichText::new(format!("{} · {}", l.tr(kind_key(item.kind)), item.who));
    if urgent {
        head = head.strong().color(ui.visuals().warn_fg_color);
    }
    if item.kind == WorkKind::MailMine {
        head = head.strong();
    }
    let subject = item.detail.clone().unwrap_or_default();
    let detail = match item.kind {
        WorkKind::Missed | WorkKind::WrapUp => text::when(l, item.at_ms, cx.now.unix_ms),
        WorkKind::MailQueued if claiming(cx, item.id) => {
            format!("{} · {subject}", l.tr("mail-claiming"))
        }
        WorkKind::MailMine if parked(cx, item.id) => {
            format!("{} · {subject}", l.tr("mail-parked"))
        }
        WorkKind::MailQueued | WorkKind::MailMine if item.at_ms > 0 => {
            format!("{subject} · {}", text::when(l, item.at_ms, cx.now.unix_ms))
        }
        WorkKind::MailWaiting => format!(
            "{subject} · {}",
            l.tr_with(
                "mail-replied-ago",
                &[("ago", text::ago(l, cx.now.unix_ms - item.at_ms))]
            )
        ),
        _ => subject,
    };
    let r = ui
        .selectable_label(selected, head)
        .on_hover_text(l.tr_with("work-shortcut", &[("n", (n + 1).to_string())]));
    if !detail.is_empty() {
        ui.add(egui::Label::new(egui::RichText::new(detail).weak()).truncate());
    }
    if r.clicked() {
        out.push(match item.kind {
            WorkKind::MailQueued => Op::Mail(item.id, MailOp::Open).into(),
            _ => Op::Select(item.id).into(),
        });
    }
}

/// The e-mail a call pushed out of the centre (and the centre is not
/// showing another e-mail): it comes back by itself.
fn parked(cx: &Cx<'_>, id: ItemId) -> bool {
    cx.ws.parked_email() == Some(id) && !matches!(cx.ws.focus(), Focus::Email(_))
}

fn claiming(cx: &Cx<'_>, id: ItemId) -> bool {
    cx.ws
        .email(id)
        .is_some_and(|e| e.status == MailStatus::Claiming)
}

/// "E-mail: 3 waiting, oldest 2 h 10 min", and the mailbox's state when it
/// is not online.
fn mail_line(ui: &mut egui::Ui, cx: &Cx<'_>) {
    let l = cx.l;
    ui.add_space(4.0);
    let s = cx.ws.mail_stats();
    let line = match s.oldest_ms {
        _ if s.waiting == 0 => l.tr("mail-summary-none"),
        Some(oldest) => l.tr_with(
            "mail-summary",
            &[
                ("n", s.waiting.to_string()),
                ("age", text::duration(l, cx.now.unix_ms - oldest)),
            ],
        ),
        None => l.tr_with("mail-summary-undated", &[("n", s.waiting.to_string())]),
    };
    ui.strong(line);
    match cx.ws.mail_link() {
        MailLink::Connecting => {
            ui.weak(l.tr("mail-link-connecting"));
        }
        MailLink::Offline(error) => {
            // One line (the full reason on hover and in the notice).
            let text = l.tr_with("mail-link-offline", &[("error", error.clone())]);
            ui.add(egui::Label::new(egui::RichText::new(&text).color(warn_color(ui))).truncate())
                .on_hover_text(text);
        }
        MailLink::Online | MailLink::None => {}
    }
    if cx.ws.calls_only() {
        ui.weak(l.tr("mail-calls-only-on"));
    }
}

/// "+K more in the queue", under its last row, when it holds more than shown.
fn more_in_queue(ui: &mut egui::Ui, cx: &Cx<'_>) {
    let waiting = cx.ws.mail_stats().waiting;
    if waiting > QUEUE_ROWS {
        let more = (waiting - QUEUE_ROWS).to_string();
        ui.weak(cx.l.tr_with("mail-more", &[("n", more)]));
    }
}

/// Today's figures: the calls', and the e-mails' when there is a mailbox.
fn today(ui: &mut egui::Ui, cx: &Cx<'_>) {
    let l = cx.l;
    let s = cx.ws.stats();
    ui.strong(l.tr("today"));
    let mut rows = vec![
        ("today-handled", s.handled.to_string()),
        ("today-missed", s.missed.to_string()),
        ("today-aht", clock(s.average_handle_ms)),
        ("today-acw", clock(s.after_call_ms)),
    ];
    if cx.ws.mail_config().is_some() {
        let m = cx.ws.mail_stats();
        rows.push(("today-mail-handled", m.handled.to_string()));
        rows.push((
            "today-mail-reply",
            m.avg_first_reply_ms
                .map(|ms| text::duration(l, ms))
                .unwrap_or_else(|| "—".into()),
        ));
    }
    egui::Grid::new("today").num_columns(2).show(ui, |ui| {
        for (key, value) in rows {
            ui.label(l.tr(key));
            ui.label(value);
            ui.end_row();
        }
    });
}
