//! The notice area: every error and notice stays until it is read — when
//! it happened, what it says, what to do — newest first.

use switchboard_desk::workspace::{Op, Severity};

use super::Cx;
use crate::{Intent, text};

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
    let l = cx.l;
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            if cx.ws.notices().is_empty() {
                ui.weak(l.tr("notices-none"));
            }
            for n in cx.ws.notices().iter().rev() {
                let (message, advice) = text::notice(l, &n.kind);
                let color = match n.kind.severity() {
                    Severity::Error => ui.visuals().error_fg_color,
                    Severity::Warning => ui.visuals().warn_fg_color,
                    Severity::Info => ui.visuals().text_color(),
                };
                ui.horizontal_wrapped(|ui| {
                    if ui
                        .small_button(l.tr("dismiss"))
                        .on_hover_text(l.tr("dismiss-tip"))
                        .clicked()
                    {
                        out.push(Op::DismissNotice(n.id).into());
                    }
                    ui.weak(text::when(l, n.at_ms, cx.now.unix_ms));
                    ui.colored_label(color, message);
                    if n.count > 1 {
                        ui.weak(l.tr_with("times", &[("n", n.count.to_string())]));
                    }
                    if let Some(a) = advice {
                        ui.label(a);
                    }
                });
            }
        });
}
