//! Strips above the centre: a call that rings (or waits) while something
//! else is shown, with Answer and Decline; the call in hand while a
//! wrap-up or another item is shown, with its main controls.

use switchboard_desk::workspace::{Focus, Op, Phase};

use super::{Cx, timer};
use crate::Intent;

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, focus: &Focus<'_>, out: &mut Vec<Intent>) {
    let l = cx.l;
    let shown = match focus {
        Focus::Call(c) => Some(c.call),
        _ => None,
    };
    if let Some(r) = cx
        .ws
        .offered()
        .filter(|r| Some(r.call) != shown || cx.settings_open)
    {
        egui::Frame::group(ui.style())
            .fill(ui.visuals().faint_bg_color)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    let key = if r.phase == Phase::Waiting {
                        "call-waiting"
                    } else {
                        "incoming"
                    };
                    ui.strong(l.tr_with(key, &[("who", r.who().to_owned())]));
                    if let Some(q) = r.queue() {
                        ui.label(q);
                    }
                    if r.phase == Phase::Waiting {
                        ui.label(l.tr("call-waiting-tip"));
                    }
                    if ui
                        .button(l.tr("answer"))
                        .on_hover_text(l.tr("answer-tip"))
                        .clicked()
                    {
                        out.push(Op::Answer.into());
                    }
                    if ui.button(l.tr("decline")).clicked() {
                        out.push(Op::Decline.into());
                    }
                    if ui.button(l.tr("show")).clicked() {
                        out.push(Op::Select(r.id).into());
                        out.push(Intent::Settings(false));
                    }
                });
            });
    }
    if let Some(c) = cx
        .ws
        .in_hand()
        .filter(|c| Some(c.call) != shown || cx.settings_open)
    {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                let time = match c.answered {
                    Some(a) => timer(a, cx.now.at),
                    None => l.tr("calling-out"),
                };
                ui.strong(l.tr_with("in-hand", &[("who", c.who().to_owned()), ("time", time)]));
                if ui
                    .button(l.tr("hang-up"))
                    .on_hover_text(l.tr("hang-up-tip"))
                    .clicked()
                {
                    out.push(Op::Hangup.into());
                }
                if c.phase == Phase::Talking {
                    let mute = if c.muted { "unmute" } else { "mute" };
                    if ui.button(l.tr(mute)).clicked() {
                        out.push(Op::Mute(!c.muted).into());
                    }
                    let hold = if c.held { "resume" } else { "hold" };
                    if ui.button(l.tr(hold)).clicked() {
                        out.push(Op::Hold.into());
                    }
                }
                if ui.button(l.tr("back-to-call")).clicked() {
                    out.push(Op::Select(c.id).into());
                    out.push(Intent::Settings(false));
                }
            });
        });
    }
}
