//! History: every call, in and out — when (local time; today's as a time
//! of day), direction, who, how long, how it ended (answered, missed,
//! declined, transferred and to whom), the disposition and the note's first
//! line. Search by number, name or note; missed calls only; call back.

use switchboard_desk::outbox::{Item, State};
use switchboard_desk::store::{CallRecord, HistoryFilter};

use super::ContextTab;
use crate::panels::{Cached, Cx, row_button};
use crate::{Intent, Lang, text};

/// A call, and what its form sent.
type Row = (CallRecord, Vec<Item>);

/// Rows listed.
const ROWS: usize = 100;

/// The tab: the filter and the rows it gave, kept until the filter or the history changes.
#[derive(Default)]
pub(crate) struct History {
    text: String,
    missed_only: bool,
    cached: Cached<(HistoryFilter, u64), Result<Vec<Row>, String>>,
}

impl ContextTab for History {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-history")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        let Some(store) = cx.ws.store() else {
            ui.weak(l.tr("no-database"));
            return;
        };
        ui.horizontal(|ui| {
            let label = ui.label(l.tr("search"));
            ui.add(egui::TextEdit::singleline(&mut self.text).desired_width(160.0))
                .labelled_by(label.id);
            ui.checkbox(&mut self.missed_only, l.tr("missed-only"));
        });
        let filter = HistoryFilter {
            text: self.text.trim().to_owned(),
            missed_only: self.missed_only,
            limit: ROWS,
        };
        let rows = self
            .cached
            .get((filter, cx.ws.records_version()), |(f, _)| {
                let rows = store.history_rows(f).map_err(|e| e.to_string())?;
                // What each call's form sent, and how that went.
                rows.into_iter()
                    .map(|r| {
                        let sent = store.outbox_for_call(&r.call_id).unwrap_or_default();
                        Ok((r, sent))
                    })
                    .collect()
            });
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        if rows.is_empty() {
            ui.weak(l.tr("history-empty"));
        }
        egui::ScrollArea::vertical()
            .id_salt("history-rows")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for (r, sent) in rows {
                    row(ui, cx, r, out);
                    deliveries(ui, cx, sent, out);
                }
            });
    }
}

fn row(ui: &mut egui::Ui, cx: &Cx<'_>, r: &CallRecord, out: &mut Vec<Intent>) {
    let l = cx.l;
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        let who = match &r.name {
            Some(n) => format!("{n} · {}", r.number),
            None => r.number.clone(),
        };
        ui.horizontal_wrapped(|ui| {
            ui.weak(text::stamp(l, r.started_ms, cx.now.unix_ms));
            ui.label(text::direction(l, r.direction));
            ui.strong(who);
        });
        let duration = r
            .talk_ms()
            .map(switchboard_desk::time::clock)
            .unwrap_or_else(|| "—".into());
        ui.label(format!(
            "{} · {duration} · {}",
            text::outcome(l, r),
            r.disposition.as_deref().unwrap_or("—")
        ));
        if let Some(n) = r.note_first_line() {
            ui.label(n);
        }
        if let Some(t) = &r.transfers {
            ui.weak(t.replace('\n', " · "));
        }
        let whose = r.name.as_deref().unwrap_or(&r.number);
        if row_button(ui, cx.ws.can_dial(), &l.tr("call-back"), whose)
            .on_hover_text(&r.number)
            .clicked()
        {
            out.push(Intent::Dial {
                input: r.dial_back(),
                name: r.name.clone(),
            });
        }
    });
}

/// Where a call's form went: each delivery's state — queued (with why it
/// waits and when it is tried again), sent (with the number the receiver
/// gave), failed (with the reason, and Try again).
pub(crate) fn deliveries(ui: &mut egui::Ui, cx: &Cx<'_>, items: &[Item], out: &mut Vec<Intent>) {
    let l = cx.l;
    for i in items {
        let to = i.delivery.target().to_owned();
        let kind = l.tr(match i.delivery.kind() {
            "email" => "delivery-email",
            _ => "delivery-webhook",
        });
        ui.horizontal_wrapped(|ui| match i.state {
            State::Sent => {
                let text = match &i.result {
                    Some(r) => l.tr_with(
                        "delivery-sent-result",
                        &[("kind", kind), ("to", to), ("result", r.clone())],
                    ),
                    None => l.tr_with("delivery-sent", &[("kind", kind), ("to", to)]),
                };
                ui.colored_label(crate::panels::ANSWER_GREEN, text);
            }
            State::Queued => {
                let secs = ((i.next_ms - cx.now.unix_ms) / 1000).max(0);
                let mut text = l.tr_with(
                    "delivery-queued",
                    &[("kind", kind), ("to", to), ("seconds", secs.to_string())],
                );
                if let Some(e) = &i.last_error {
                    text.push_str(&format!(" — {e}"));
                }
                ui.colored_label(ui.visuals().warn_fg_color, text);
            }
            State::Failed => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    l.tr_with(
                        "delivery-failed",
                        &[
                            ("kind", kind),
                            ("to", to),
                            ("error", i.last_error.clone().unwrap_or_default()),
                        ],
                    ),
                );
                if ui.small_button(l.tr("delivery-retry")).clicked() {
                    out.push(Intent::RetryDelivery(i.id));
                }
            }
        });
    }
}
