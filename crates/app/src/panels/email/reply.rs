//! The reply under an e-mail: a template, the order or ticket number, the
//! answer (it grows with its pane), a colleague to forward to, the
//! wrap-up's disposition and note, and the buttons — each enabled only
//! when it can work, saying why not.

use switchboard_desk::email::{MailDraft, TemplateDef, pick_template};
use switchboard_desk::workspace::{Email, ItemId, MailOp};

use crate::Lang;
use crate::panels::Cx;

/// The reply field's id (its mail's item is the salt).
const REPLY_FIELD: &str = "mail-reply";

/// The reply, the forward, the wrap-up and the buttons; what was pressed.
pub(super) fn form(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    e: &Email,
    d: &mut MailDraft,
    height: f32,
) -> Option<MailOp> {
    let l = cx.l;
    let mut pressed = None;
    let templates = cx
        .ws
        .mail_config()
        .map(|c| offered(&c.templates, l))
        .unwrap_or_default();
    ui.horizontal_wrapped(|ui| {
        if !templates.0.is_empty() {
            let label = ui.label(l.tr("mail-template"));
            egui::ComboBox::from_id_salt(("mail-template", e.id))
                .selected_text(l.tr("mail-template-choose"))
                .width(220.0)
                .show_ui(ui, |ui| {
                    let (mine, others) = &templates;
                    for t in mine {
                        if ui
                            .selectable_label(false, &t.title)
                            .on_hover_text(&t.text)
                            .clicked()
                        {
                            pressed = Some(template_op(t));
                        }
                    }
                    if !others.is_empty() {
                        ui.separator();
                        ui.weak(l.tr("mail-template-other-languages"));
                        for t in others {
                            let label = format!("{} ({})", t.title, t.lang);
                            if ui
                                .selectable_label(false, label)
                                .on_hover_text(&t.text)
                                .clicked()
                            {
                                pressed = Some(template_op(t));
                            }
                        }
                    }
                })
                .response
                .labelled_by(label.id);
            ui.add_space(12.0);
        }
        let label = ui.label(l.tr("mail-reference"));
        ui.add(
            egui::TextEdit::singleline(&mut d.reference)
                .id_salt(("mail-reference", e.id))
                .desired_width(140.0),
        )
        .labelled_by(label.id)
        .on_hover_text(l.tr("mail-reference-tip"));
    });
    let to = e
        .reply_to()
        .map(|a| match &a.name {
            Some(n) => format!("{n} <{}>", a.email),
            None => a.email.clone(),
        })
        .unwrap_or_else(|| e.who());
    let label = ui.label(l.tr_with("mail-reply-to", &[("who", to)]));
    let reply_id = egui::Id::unique((REPLY_FIELD, e.id));
    // The answer takes what the panel has beyond the rows under it: a
    // taller panel (dragged up) is a taller reply.
    let around = 190.0;
    ui.add(
        egui::TextEdit::multiline(&mut d.reply)
            .id(reply_id)
            .desired_rows(5)
            .min_size(egui::vec2(0.0, (height - around).max(90.0)))
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    focus_once(ui, e, reply_id);
    egui::Grid::new(("mail-reply-fields", e.id))
        .num_columns(2)
        .spacing([8.0, 6.0])
        .show(ui, |ui| {
            let label = ui.label(l.tr("mail-forward-to"));
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut d.forward_to)
                        .id_salt(("mail-forward-to", e.id))
                        .hint_text("name@example.com")
                        .desired_width(240.0),
                )
                .labelled_by(label.id);
                let colleagues = cx
                    .ws
                    .mail_config()
                    .map(|c| c.forward_to.as_slice())
                    .unwrap_or_default();
                if !colleagues.is_empty() {
                    ui.menu_button(l.tr("mail-forward-pick"), |ui| {
                        for a in colleagues {
                            if ui.button(a).clicked() {
                                d.forward_to = a.clone();
                                ui.close();
                            }
                        }
                    });
                }
            });
            ui.end_row();
            let label = ui.label(format!("{}:", l.tr("disposition")));
            disposition(ui, cx, e, d).labelled_by(label.id);
            ui.end_row();
            let label = ui.label(l.tr("mail-note"));
            ui.add(
                egui::TextEdit::singleline(&mut d.note)
                    .id_salt(("mail-note", e.id))
                    .desired_width(ui.available_width().clamp(200.0, 520.0)),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
    ui.add_space(4.0);
    if let Some(op) = buttons(ui, cx, e, d) {
        pressed = Some(op);
    }
    pressed
}

/// The wrap-up's disposition: none, the configured ones, and one that is
/// no longer configured when the draft has it.
fn disposition(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Email, d: &mut MailDraft) -> egui::Response {
    let current = d.disposition.clone().unwrap_or_default();
    egui::ComboBox::from_id_salt(("mail-disposition", e.id))
        .selected_text(if current.is_empty() { "—" } else { &current })
        .width(200.0)
        .show_ui(ui, |ui| {
            if ui.selectable_label(d.disposition.is_none(), "—").clicked() {
                d.disposition = None;
            }
            super::super::wrap_up::disposition_choices(ui, cx, &mut d.disposition);
        })
        .response
}

/// Send, Forward, Close, Give back: each enabled only when it can work,
/// and saying why not.
fn buttons(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Email, d: &MailDraft) -> Option<MailOp> {
    let l = cx.l;
    let big = egui::vec2(120.0, 30.0);
    let not_sendable = if e.gone {
        Some(l.tr("mail-gone"))
    } else if e.message.is_none() {
        Some(l.tr("mail-why-not-downloaded"))
    } else {
        None
    };
    let why_send = not_sendable
        .clone()
        .or_else(|| d.reply.trim().is_empty().then(|| l.tr("mail-why-empty")));
    let why_forward = not_sendable.or_else(|| {
        d.forward_to
            .trim()
            .is_empty()
            .then(|| l.tr("mail-why-forward"))
    });
    let mut pressed = None;
    let ctrl_enter = why_send.is_none()
        && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Enter));
    if ctrl_enter {
        pressed = Some(MailOp::Send);
    }
    ui.horizontal_wrapped(|ui| {
        let send = egui::Button::new(
            egui::RichText::new(l.tr("mail-send"))
                .strong()
                .color(egui::Color32::WHITE),
        )
        .fill(crate::panels::ANSWER_GREEN)
        .min_size(big);
        let r = ui
            .add_enabled(why_send.is_none(), send)
            .on_hover_text(l.tr("mail-send-tip"));
        if let Some(why) = &why_send {
            r.on_disabled_hover_text(why.as_str());
        } else if r.clicked() {
            pressed = Some(MailOp::Send);
        }
        let r = ui
            .add_enabled(
                why_forward.is_none(),
                egui::Button::new(l.tr("mail-forward")).min_size(big),
            )
            .on_hover_text(l.tr("mail-forward-tip"));
        if let Some(why) = &why_forward {
            r.on_disabled_hover_text(why.as_str());
        } else if r.clicked() {
            pressed = Some(MailOp::Forward);
        }
        ui.separator();
        if ui
            .add(egui::Button::new(l.tr("mail-close")).min_size(big))
            .on_hover_text(l.tr("mail-close-tip"))
            .clicked()
        {
            pressed = Some(MailOp::Close);
        }
        let r = ui
            .add_enabled(
                !e.gone,
                egui::Button::new(l.tr("mail-release")).min_size(big),
            )
            .on_hover_text(l.tr("mail-release-tip"));
        if r.clicked() {
            pressed = Some(MailOp::Release);
        }
    });
    if let Some(why) = &why_send {
        ui.weak(why.as_str());
    }
    pressed
}

/// The reply field takes the keyboard when its mail comes into the centre
/// readable (claimed, or back after a call), unless another field is being
/// typed in.
fn focus_once(ui: &egui::Ui, e: &Email, reply_id: egui::Id) {
    if e.message.is_none() {
        return;
    }
    let seen = egui::Id::unique("mail-reply-shown");
    let frame = ui.ctx().cumulative_frame_nr();
    let before = ui.data(|d| d.get_temp::<(ItemId, u64)>(seen));
    ui.data_mut(|d| d.insert_temp(seen, (e.id, frame)));
    let shown_just_before = before.is_some_and(|(id, f)| id == e.id && f + 1 >= frame);
    if !shown_just_before && !ui.ctx().text_edit_focused() {
        ui.memory_mut(|m| m.request_focus(reply_id));
    }
}

/// One template per answer in the desk's language (else English, else
/// any), then the rest in their own languages, for a customer who writes
/// in another one.
fn offered(templates: &[TemplateDef], l: Lang) -> (Vec<&TemplateDef>, Vec<&TemplateDef>) {
    let mut ids: Vec<&str> = Vec::new();
    for t in templates {
        if !ids.contains(&t.id.as_str()) {
            ids.push(&t.id);
        }
    }
    let mine: Vec<&TemplateDef> = ids
        .into_iter()
        .filter_map(|id| pick_template(templates, id, l.code()))
        .collect();
    let mut others: Vec<&TemplateDef> = templates
        .iter()
        .filter(|t| !mine.iter().any(|m| std::ptr::eq(*m, *t)))
        .collect();
    others.sort_by(|a, b| (&a.lang, &a.title).cmp(&(&b.lang, &b.title)));
    (mine, others)
}

fn template_op(t: &TemplateDef) -> MailOp {
    MailOp::Template {
        id: t.id.clone(),
        lang: t.lang.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, lang: &str) -> TemplateDef {
        TemplateDef {
            id: id.into(),
            lang: lang.into(),
            title: format!("{id}-{lang}"),
            text: String::new(),
        }
    }

    #[test]
    fn templates_are_offered_once_each_in_the_desk_language_else_english() {
        let all = [t("thanks", "en"), t("thanks", "et"), t("order", "en")];
        let (mine, others) = offered(&all, Lang::Et);
        let titles: Vec<&str> = mine.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, ["thanks-et", "order-en"]);
        let titles: Vec<&str> = others.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, ["thanks-en"]);
    }
}
