//! Directory: departments and people from the company directory (a file,
//! LDAP), searched as you type over name, department and title without
//! regard to case or diacritics; each row has Call, Transfer and Consult.
//! The sources and their age are shown, and why one could not be read.

use switchboard_desk::directory::{Entry, EntryKind, SourceKind, SourceState};
use switchboard_desk::workspace::Op;

use super::ContextTab;
use crate::panels::{Cached, Cx, lamp, row_button};
use crate::{Intent, Lang, text};

/// Rows shown at most.
const ROWS: usize = 200;

/// The tab: the search typed and its results, kept until either changes.
#[derive(Default)]
pub(crate) struct DirectoryTab {
    query: String,
    cached: Cached<(String, u64), Vec<Entry>>,
}

impl ContextTab for DirectoryTab {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-directory")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        ui.horizontal(|ui| {
            let label = ui.label(l.tr("directory-search"));
            ui.add(egui::TextEdit::singleline(&mut self.query).desired_width(f32::INFINITY))
                .labelled_by(label.id);
        });
        for s in cx.directory.sources() {
            let name = match &s.kind {
                SourceKind::File(p) if p.as_os_str() == "practice" => continue,
                SourceKind::File(p) => p.display().to_string(),
                SourceKind::Ldap(u) => u.clone(),
            };
            let age = s
                .fetched_ms
                .map(|at| text::ago(l, cx.now.unix_ms.saturating_sub(at)))
                .unwrap_or_default();
            match &s.state {
                SourceState::Loading => ui.weak(l.tr_with("source-loading", &[("source", name)])),
                SourceState::Fresh => ui.weak(l.tr_with(
                    "source-fresh",
                    &[
                        ("source", name),
                        ("age", age),
                        ("count", s.entries.len().to_string()),
                    ],
                )),
                SourceState::Cached { error } => ui.colored_label(
                    ui.visuals().warn_fg_color,
                    l.tr_with(
                        "source-cached",
                        &[("source", name), ("age", age), ("error", error.clone())],
                    ),
                ),
                SourceState::Failed { error } => ui.colored_label(
                    ui.visuals().error_fg_color,
                    l.tr_with(
                        "source-failed",
                        &[("source", name), ("error", error.clone())],
                    ),
                ),
            };
        }
        let rows = self
            .cached
            .get((self.query.clone(), cx.directory.version()), |(q, _)| {
                cx.directory.search(q, ROWS).into_iter().cloned().collect()
            });
        if cx.directory.is_empty() {
            ui.weak(l.tr("directory-empty"));
            return;
        }
        if rows.is_empty() {
            ui.weak(l.tr("directory-none"));
        }
        let in_call = cx.ws.talking().is_some();
        egui::ScrollArea::vertical()
            .id_salt("directory-rows")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for e in rows {
                    row(ui, cx, e, in_call, out);
                }
            });
    }
}

fn row(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Entry, in_call: bool, out: &mut Vec<Intent>) {
    let l = cx.l;
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        let mut title = egui::RichText::new(&e.name).strong();
        if e.kind == EntryKind::Department {
            title = title.italics();
        }
        let lamp = e.dial_string().and_then(|t| cx.ws.lamp(t));
        ui.horizontal(|ui| {
            if let Some(lamp) = lamp {
                lamp::dot(ui, l, lamp);
            }
            ui.label(title);
            if let Some(lamp) = lamp {
                ui.weak(lamp::word(l, lamp));
            }
        });
        let mut line = Vec::new();
        for part in [&e.title, &e.department, &e.extension]
            .into_iter()
            .flatten()
        {
            line.push(part.clone());
        }
        if let Some(m) = &e.mobile {
            line.push(l.tr_with("mobile", &[("number", m.clone())]));
        }
        if !line.is_empty() {
            ui.label(line.join(" · "));
        }
        if let Some(n) = &e.note {
            ui.colored_label(ui.visuals().warn_fg_color, n);
        }
        let Some(target) = e.dial_string() else {
            return;
        };
        ui.horizontal(|ui| {
            if row_button(ui, cx.ws.can_dial(), &l.tr("call"), &e.name)
                .on_hover_text(target)
                .clicked()
            {
                out.push(Intent::Dial {
                    input: target.to_owned(),
                    name: Some(e.name.clone()),
                });
            }
            if row_button(ui, in_call, &l.tr("transfer"), &e.name).clicked() {
                out.push(
                    Op::Transfer {
                        target: target.to_owned(),
                        label: Some(e.name.clone()),
                    }
                    .into(),
                );
            }
            if row_button(ui, in_call, &l.tr("consult"), &e.name).clicked() {
                out.push(
                    Op::Consult {
                        target: target.to_owned(),
                        label: Some(e.name.clone()),
                    }
                    .into(),
                );
            }
        });
    });
}
