//! History: every call, in and out — when (local time; today's as a time
//! of day), direction, who, how long, how it ended (answered, missed,
//! declined, transferred and to whom), the disposition and the note's first
//! line. Search by number, name or note; missed calls only; call back.

use switchboard_desk::store::{CallRecord, HistoryFilter};

use super::ContextTab;
use crate::panels::{Cached, Cx, row_button};
use crate::{Intent, Lang, text};

/// Rows listed.
const ROWS: usize = 100;

/// The tab: the filter and the rows it gave, kept until the filter or the history changes.
#[derive(Default)]
pub(crate) struct History {
    text: String,
    missed_only: bool,
    cached: Cached<(HistoryFilter, u64), Result<Vec<CallRecord>, String>>,
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
                store.history_rows(f).map_err(|e| e.to_string())
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
                for r in rows {
                    row(ui, cx, r, out);
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
