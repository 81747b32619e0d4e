//! The wrap-up form: whose call it was and when, where it was transferred,
//! the note (saved as a draft while typing), the disposition, a ticket or
//! order number; Save (Ctrl+S). Forms waiting after this one are counted.

use switchboard_desk::workspace::{Op, WrapUp};

use super::{Cx, View};
use crate::{Intent, text};

pub(crate) fn ui(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    w: &WrapUp,
    view: &mut View,
    out: &mut Vec<Intent>,
) {
    let l = cx.l;
    let note_id = egui::Id::unique("wrap-up-note");
    if view.draft.as_ref().map(|(id, _)| *id) != Some(w.id) {
        view.draft = Some((w.id, w.draft.clone()));
        view.disposition_seen = w.draft.disposition.clone();
        // A form coming into the centre is typed into at once.
        ui.memory_mut(|m| m.request_focus(note_id));
    }
    let Some((_, d)) = view.draft.as_mut() else {
        return;
    };
    // The script decided a disposition (answered in the Script tab): the
    // form shows it; the operator may still choose another.
    if w.draft.disposition != view.disposition_seen {
        view.disposition_seen = w.draft.disposition.clone();
        d.disposition = w.draft.disposition.clone();
    }
    let in_acw = cx.ws.wrap_up_left(cx.now.at);
    ui.heading(match in_acw {
        Some(left) => l.tr_with("wrap-up-left", &[("seconds", left.as_secs().to_string())]),
        None => l.tr("wrap-up"),
    });
    let who = match &w.name {
        Some(n) if !w.number.is_empty() => format!("{n} ({})", w.number),
        Some(n) => n.clone(),
        None if w.number.is_empty() => l.tr("unknown-caller"),
        None => w.number.clone(),
    };
    ui.label(l.tr_with("call-with", &[("who", who)]));
    if w.started_ms > 0 {
        ui.weak(format!(
            "{} · {}",
            text::direction(l, w.direction),
            text::when(l, w.started_ms, cx.now.unix_ms)
        ));
    }
    if w.restored {
        ui.colored_label(ui.visuals().warn_fg_color, l.tr("wrap-up-restored"));
    }
    if let Some(t) = &w.transfers {
        ui.label(l.tr_with("transfers", &[("chain", t.replace('\n', " · "))]));
    }
    let waiting = cx.ws.wrap_ups().len().saturating_sub(1);
    if waiting > 0 {
        ui.label(l.tr_with("wrap-up-more", &[("n", waiting.to_string())]));
    }
    if let Some((run, fields)) = w
        .script
        .as_ref()
        .map(|r| (r, r.fields()))
        .filter(|(_, f)| !f.is_empty())
    {
        let shown: Vec<String> = ["priority", "disposition"]
            .iter()
            .filter_map(|k| fields.get(*k).map(|v| format!("{k} {v}")))
            .chain(
                fields
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "priority" | "disposition"))
                    .map(|(k, v)| format!("{} {v}", k.replace('_', " "))),
            )
            .collect();
        ui.label(l.tr_with(
            "script-wrap-up",
            &[
                ("title", run.first_script().title.get(l.code()).to_owned()),
                ("fields", shown.join(" · ")),
            ],
        ));
    }
    // The order or ticket form, as it will be sent (edited in the Form tab).
    if let Some(v) = &w.draft.form
        && let Some(def) = cx.ws.form_def(&v.form)
        && !def.is_empty(v)
    {
        let lines = v
            .lines
            .iter()
            .filter(|l| l.values().any(|x| !x.trim().is_empty()))
            .count();
        let total = def
            .total(v)
            .map(switchboard_desk::form::money)
            .unwrap_or_else(|| "—".into());
        let mistakes = cx.ws.form_mistakes(w.id).len();
        let text = l.tr_with(
            "wrap-up-form",
            &[
                ("form", def.title.get(l.code()).to_owned()),
                ("lines", lines.to_string()),
                ("total", total),
            ],
        );
        if mistakes > 0 {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "{text} · {}",
                    l.tr_with("form-mistakes", &[("n", mistakes.to_string())])
                ),
            );
        } else {
            ui.label(text);
        }
    }
    let label = ui.label(l.tr("note"));
    let mut changed = ui
        .add(
            egui::TextEdit::multiline(&mut d.note)
                .id(note_id)
                .desired_rows(6)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id)
        .changed();
    let current = d.disposition.clone().unwrap_or_default();
    egui::ComboBox::from_label(l.tr("disposition"))
        .selected_text(if current.is_empty() { "—" } else { &current })
        .show_ui(ui, |ui| {
            changed |= disposition_choices(ui, cx, &mut d.disposition);
        });
    ui.horizontal(|ui| {
        let label = ui.label(l.tr("ticket"));
        let mut ticket = d.ticket.clone().unwrap_or_default();
        if ui
            .text_edit_singleline(&mut ticket)
            .labelled_by(label.id)
            .changed()
        {
            d.ticket = (!ticket.is_empty()).then_some(ticket);
            changed = true;
        }
    });
    if changed {
        out.push(Op::EditDraft(w.id, d.clone()).into());
    }
    if ui
        .add(egui::Button::new(l.tr("save-wrap-up")).min_size(egui::vec2(140.0, 32.0)))
        .on_hover_text(l.tr("save-wrap-up-tip"))
        .clicked()
    {
        out.push(Op::SaveWrapUp(w.id).into());
    }
}

/// The dispositions to choose from in a combo box: the configured ones, and
/// the one chosen when it is not among them (a script set it, or the
/// configuration changed). `true` when one was picked.
pub(super) fn disposition_choices(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    disposition: &mut Option<String>,
) -> bool {
    let extra = disposition.clone().filter(|x| !cx.dispositions.contains(x));
    let mut picked = false;
    for disp in cx.dispositions.iter().chain(extra.as_ref()) {
        if ui
            .selectable_label(disposition.as_deref() == Some(disp), disp)
            .clicked()
        {
            *disposition = Some(disp.clone());
            picked = true;
        }
    }
    picked
}
