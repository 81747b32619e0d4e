//! The call panel, for a call in either direction: who and how long,
//! quality and levels, hang up (cancel while it rings out), mute, hold,
//! keypad, transfer and consult (typed, or one click on a quick-connect),
//! the consultation and conference, and the other side's transfer request.
//! A held call shows who waits and Resume.

use switchboard_desk::workspace::{Call, Op, Phase};

use super::{Cx, TRANSFER_FIELD, View, caller_card, meter, timer, warn_color};
use crate::Intent;

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, c: &Call, view: &mut View, out: &mut Vec<Intent>) {
    let l = cx.l;
    let in_hand = cx.ws.in_hand().map(|h| h.call) == Some(c.call);
    if !in_hand {
        ui.heading(l.tr_with("held-call", &[("who", c.who().to_owned())]));
        ui.label(l.tr("held-call-tip"));
        if ui
            .add(egui::Button::new(l.tr("resume")).min_size(egui::vec2(120.0, 32.0)))
            .clicked()
        {
            out.push(Op::Switch(c.call).into());
        }
        caller_card::card(ui, l, c);
        return;
    }
    if let Phase::Dialing { ringing } = c.phase {
        ui.heading(l.tr_with(
            if ringing {
                "dialing-ringing"
            } else {
                "dialing"
            },
            &[("who", c.who().to_owned())],
        ));
        if c.card.name.is_some() {
            ui.label(l.tr_with("number", &[("number", c.card.number.clone())]));
        }
        if ui
            .add(egui::Button::new(l.tr("cancel-call")).min_size(egui::vec2(120.0, 32.0)))
            .on_hover_text(l.tr("hang-up-tip"))
            .clicked()
        {
            out.push(Op::Hangup.into());
        }
        return;
    }
    let time = c.answered.map(|a| timer(a, cx.now.at)).unwrap_or_default();
    ui.heading(l.tr_with("in-call", &[("who", c.who().to_owned()), ("time", time)]));
    // The caller's context stays in view while talking.
    let mut context = vec![
        crate::text::direction(l, c.direction),
        c.card.number.clone(),
    ];
    context.extend(c.card.fields.iter().map(|(k, v)| format!("{k}: {v}")));
    ui.label(context.join(" · "));
    ui.horizontal_wrapped(|ui| {
        if c.encrypted {
            // Only when both the signalling and the sound are encrypted.
            ui.label(l.tr("call-encrypted"))
                .on_hover_text(l.tr("call-encrypted-tip"));
        }
        if let Some(codec) = &c.codec {
            ui.label(l.tr_with("codec", &[("codec", codec.clone())]));
        }
        if let Some(q) = c.quality {
            ui.label(l.tr_with(
                "quality",
                &[
                    ("mos", format!("{:.1}", q.mos)),
                    ("loss", format!("{:.1}", q.loss_percent)),
                    ("jitter", format!("{:.1}", q.jitter_ms)),
                ],
            ));
        }
    });
    if let Some(lv) = c.levels {
        ui.horizontal(|ui| {
            ui.label(l.tr("mic"));
            ui.add(egui::ProgressBar::new(meter(lv.mic_dbfs)).desired_width(120.0));
            ui.label(l.tr("headset"));
            ui.add(egui::ProgressBar::new(meter(lv.speaker_dbfs)).desired_width(120.0));
        });
    }
    controls(ui, cx, c, out);
    if c.held {
        ui.colored_label(warn_color(ui), l.tr("on-hold"));
    }
    if c.remote_held {
        ui.label(l.tr("held-by-peer"));
    }
    egui::CollapsingHeader::new(l.tr("keypad"))
        .default_open(false)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for k in "123456789*0#".chars() {
                    if ui
                        .add(egui::Button::new(k.to_string()).min_size(egui::vec2(32.0, 28.0)))
                        .clicked()
                    {
                        out.push(Op::Dtmf(k).into());
                    }
                }
            });
        });
    ui.separator();
    transfer(ui, cx, c, view, out);
}

fn controls(ui: &mut egui::Ui, cx: &Cx<'_>, c: &Call, out: &mut Vec<Intent>) {
    let l = cx.l;
    let big = egui::vec2(100.0, 32.0);
    ui.horizontal_wrapped(|ui| {
        let hang_up = egui::Button::new(
            egui::RichText::new(l.tr("hang-up"))
                .strong()
                .color(egui::Color32::WHITE),
        )
        .fill(super::HANG_UP_RED)
        .min_size(big);
        if ui.add(hang_up).on_hover_text(l.tr("hang-up-tip")).clicked() {
            out.push(Op::Hangup.into());
        }
        let mute = if c.muted {
            l.tr("unmute")
        } else {
            l.tr("mute")
        };
        if ui
            .add(egui::Button::new(mute).min_size(big))
            .on_hover_text(l.tr("mute-tip"))
            .clicked()
        {
            out.push(Op::Mute(!c.muted).into());
        }
        let hold = if c.held { l.tr("resume") } else { l.tr("hold") };
        if ui
            .add(egui::Button::new(hold).min_size(big))
            .on_hover_text(l.tr("hold-tip"))
            .clicked()
        {
            out.push(Op::Hold.into());
        }
        if cx.ws.team_on() {
            let raised = cx.ws.hand_raised().is_some();
            let (text, op) = if raised {
                (l.tr("lower-hand"), Op::LowerHand)
            } else {
                (l.tr("raise-hand"), Op::RaiseHand)
            };
            if ui
                .add(egui::Button::new(text).min_size(big).selected(raised))
                .on_hover_text(l.tr("raise-hand-tip"))
                .clicked()
            {
                out.push(op.into());
            }
        }
    });
    if cx.ws.hand_raised().is_some() {
        ui.colored_label(ui.visuals().warn_fg_color, l.tr("hand-raised"));
    }
}

fn transfer(ui: &mut egui::Ui, cx: &Cx<'_>, c: &Call, view: &mut View, out: &mut Vec<Intent>) {
    let l = cx.l;
    let send = |target: String, label: Option<String>, consult: bool| -> Intent {
        if consult {
            Op::Consult { target, label }.into()
        } else {
            Op::Transfer { target, label }.into()
        }
    };
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(l.tr("transfer-to"));
        ui.add(
            egui::TextEdit::singleline(&mut view.transfer_to)
                .id(egui::Id::unique(TRANSFER_FIELD))
                .desired_width(180.0),
        )
        .labelled_by(label.id);
        if ui
            .button(l.tr("transfer"))
            .on_hover_text(l.tr("transfer-tip"))
            .clicked()
        {
            out.push(send(view.transfer_to.clone(), None, view.consult_first));
        }
        if ui.button(l.tr("consult")).clicked() {
            out.push(send(view.transfer_to.clone(), None, true));
        }
        ui.checkbox(&mut view.consult_first, l.tr("consult-first"));
    });
    if !cx.quick.is_empty() {
        ui.horizontal_wrapped(|ui| {
            for (label, target) in cx.quick {
                let lamp = cx.ws.lamp(target);
                if super::lamp::quick_button(ui, l, true, label, target, lamp).clicked() {
                    out.push(send(
                        target.clone(),
                        Some(label.clone()),
                        view.consult_first,
                    ));
                }
            }
        });
    }
    if let Some(k) = &c.consult {
        ui.group(|ui| {
            if k.conference {
                ui.label(l.tr_with("conference-on", &[("target", k.label.clone())]));
                ui.horizontal(|ui| {
                    if ui.button(l.tr("leave-talking")).clicked() {
                        out.push(Op::CompleteTransfer.into());
                    }
                    if ui
                        .button(l.tr_with("drop", &[("who", k.label.clone())]))
                        .clicked()
                    {
                        out.push(Op::DropConsult.into());
                    }
                });
                return;
            }
            let state = if k.up {
                l.tr("consult-talking")
            } else {
                l.tr("consult-ringing")
            };
            ui.label(l.tr_with(
                "consulting",
                &[("target", k.label.clone()), ("state", state)],
            ));
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(k.up, egui::Button::new(l.tr("complete-transfer")))
                    .clicked()
                {
                    out.push(Op::CompleteTransfer.into());
                }
                if ui
                    .add_enabled(k.up, egui::Button::new(l.tr("conference")))
                    .clicked()
                {
                    out.push(Op::Conference.into());
                }
                if ui.button(l.tr("back-to-caller")).clicked() {
                    out.push(Op::CancelConsult.into());
                }
            });
        });
    }
    if let Some(t) = &c.transfer {
        ui.label(
            l.tr_with(
                "transferring",
                &[
                    ("target", t.label.clone()),
                    (
                        "status",
                        t.status
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "…".into()),
                    ),
                ],
            ),
        );
    }
    if let Some(target) = &c.transfer_request {
        ui.group(|ui| {
            ui.label(l.tr_with("transfer-request", &[("target", target.clone())]));
            ui.horizontal(|ui| {
                if ui.button(l.tr("accept")).clicked() {
                    out.push(Op::AnswerTransferRequest(true).into());
                }
                if ui.button(l.tr("decline")).clicked() {
                    out.push(Op::AnswerTransferRequest(false).into());
                }
            });
        });
    }
}
