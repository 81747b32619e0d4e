//! Nothing in hand: dial by typing (digits typed anywhere come here), with
//! the dialpad, Enter or Call; numbers with spaces, `+`, extensions and
//! SIP addresses all work (the dial plan makes them URIs).

use super::{Cx, DIAL_FIELD, View};
use crate::Intent;

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, view: &mut View, out: &mut Vec<Intent>) {
    let l = cx.l;
    ui.heading(l.tr("ready"));
    ui.label(l.tr("ready-tip"));
    ui.add_space(8.0);
    let can = cx.ws.can_dial();
    ui.horizontal(|ui| {
        let label = ui.label(l.tr("dial"));
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut view.dial)
                    .id(egui::Id::unique(DIAL_FIELD))
                    .hint_text(l.tr("dial-hint"))
                    .desired_width(240.0),
            )
            .labelled_by(label.id);
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let call = ui.add_enabled(
            can && !view.dial.trim().is_empty(),
            egui::Button::new(l.tr("call")).min_size(egui::vec2(80.0, 28.0)),
        );
        if (call.clicked() || enter) && can && !view.dial.trim().is_empty() {
            out.push(Intent::Dial {
                input: std::mem::take(&mut view.dial),
                name: None,
            });
        }
    });
    egui::CollapsingHeader::new(l.tr("dialpad"))
        .default_open(false)
        .show(ui, |ui| {
            egui::Grid::new("dialpad").show(ui, |ui| {
                for row in ["123", "456", "789", "*0#"] {
                    for k in row.chars() {
                        if ui
                            .add(egui::Button::new(k.to_string()).min_size(egui::vec2(44.0, 36.0)))
                            .clicked()
                        {
                            view.dial.push(k);
                        }
                    }
                    ui.end_row();
                }
            });
        });
    if !cx.quick.is_empty() {
        ui.add_space(8.0);
        ui.label(l.tr("quick-call"));
        ui.horizontal_wrapped(|ui| {
            for (label, target) in cx.quick {
                let lamp = cx.ws.lamp(target);
                if super::lamp::quick_button(ui, l, can, label, target, lamp).clicked() {
                    out.push(Intent::Dial {
                        input: target.clone(),
                        name: Some(label.clone()),
                    });
                }
            }
        });
    }
}
