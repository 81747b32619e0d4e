//! A missed call: who, when, through which queue; Call back or Dismiss.

use switchboard_desk::workspace::{Missed, Op};

use super::Cx;
use crate::{Intent, text};

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, m: &Missed, out: &mut Vec<Intent>) {
    let l = cx.l;
    let who = m.name.clone().unwrap_or_else(|| m.number.clone());
    ui.heading(l.tr_with("missed-call", &[("who", who)]));
    ui.label(l.tr_with("number", &[("number", m.number.clone())]));
    if let Some(q) = &m.queue {
        ui.label(l.tr_with("queue", &[("queue", q.clone())]));
    }
    ui.label(l.tr_with(
        "rang-at",
        &[("time", text::when(l, m.at_ms, cx.now.unix_ms))],
    ));
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                cx.ws.can_dial(),
                egui::Button::new(l.tr("call-back")).min_size(egui::vec2(120.0, 32.0)),
            )
            .clicked()
        {
            out.push(Intent::Dial {
                input: m.dial_back(),
                name: m.name.clone(),
            });
        }
        if ui.button(l.tr("dismiss")).clicked() {
            out.push(Op::DismissMissed(m.id).into());
        }
    });
}
