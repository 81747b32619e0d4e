//! The work list: every interaction the operator has — ringing, in hand,
//! held, consulting, wrap-ups waiting, missed calls of the shift — one
//! click (or Alt+1…9) brings one into the centre. Under it, today's figures.

use switchboard_desk::time::clock;
use switchboard_desk::workspace::{Focus, ItemId, Op, WorkKind};

use super::Cx;
use crate::Intent;

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
    }
}

fn focused(cx: &Cx<'_>) -> Option<ItemId> {
    match cx.ws.focus() {
        Focus::Call(c) => Some(c.id),
        Focus::WrapUp(w) => Some(w.id),
        Focus::Missed(m) => Some(m.id),
        Focus::Idle => None,
    }
}

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
    let l = cx.l;
    ui.heading(l.tr("work-list"));
    let items = cx.ws.work_list();
    let shown = focused(cx);
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .max_height(ui.available_height() - 110.0)
        .show(ui, |ui| {
            if items.is_empty() {
                ui.weak(l.tr("work-empty"));
            }
            for (n, item) in items.iter().enumerate() {
                let urgent = matches!(item.kind, WorkKind::Ringing | WorkKind::Waiting);
                let mut head =
                    egui::RichText::new(format!("{} · {}", l.tr(kind_key(item.kind)), item.who));
                if urgent {
                    head = head.strong().color(ui.visuals().warn_fg_color);
                }
                let detail = match (&item.detail, item.kind) {
                    (_, WorkKind::Missed | WorkKind::WrapUp) => {
                        crate::text::when(l, item.at_ms, cx.now.unix_ms)
                    }
                    (Some(d), _) => d.clone(),
                    (None, _) => String::new(),
                };
                let r = ui
                    .selectable_label(shown == Some(item.id), head)
                    .on_hover_text(l.tr_with("work-shortcut", &[("n", (n + 1).to_string())]));
                if !detail.is_empty() {
                    ui.weak(detail);
                }
                if r.clicked() {
                    out.push(Op::Select(item.id).into());
                }
            }
        });
    ui.separator();
    let s = cx.ws.stats();
    ui.strong(l.tr("today"));
    egui::Grid::new("today").num_columns(2).show(ui, |ui| {
        for (key, value) in [
            ("today-handled", s.handled.to_string()),
            ("today-missed", s.missed.to_string()),
            ("today-aht", clock(s.average_handle_ms)),
            ("today-acw", clock(s.after_call_ms)),
        ] {
            ui.label(l.tr(key));
            ui.label(value);
            ui.end_row();
        }
    });
}
