//! Who calls and why, before answering: name and number, queue and IVR
//! data from the PBX's headers, who forwarded it, the last call's note;
//! Answer and Decline. (The contact, the CRM record and the whole history
//! are in the Customer tab beside it.)

use switchboard_desk::workspace::{Call, CrmState, CrmView, Op, Phase};

use super::Cx;
use crate::{Intent, Lang, text};

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, r: &Call, out: &mut Vec<Intent>) {
    let l = cx.l;
    let waiting = r.phase == Phase::Waiting;
    ui.label(
        egui::RichText::new(l.tr_with(
            if waiting { "call-waiting" } else { "incoming" },
            &[("who", r.who().to_owned())],
        ))
        .size(22.0)
        .strong(),
    );
    if waiting {
        ui.label(l.tr("call-waiting-tip"));
    }
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let answer = egui::Button::new(
            egui::RichText::new(l.tr("answer"))
                .strong()
                .color(egui::Color32::WHITE),
        )
        .fill(super::ANSWER_GREEN)
        .min_size(egui::vec2(140.0, 40.0));
        if ui.add(answer).on_hover_text(l.tr("answer-tip")).clicked() {
            out.push(Op::Answer.into());
        }
        if ui
            .add(egui::Button::new(l.tr("decline")).min_size(egui::vec2(100.0, 40.0)))
            .clicked()
        {
            out.push(Op::Decline.into());
        }
    });
    ui.separator();
    card(ui, l, r);
    // The last call, at a glance; the whole history is in the Customer tab.
    if let Some(h) = r.earlier.first() {
        let note = h
            .note_first_line()
            .map(str::to_owned)
            .unwrap_or_else(|| l.tr("no-note"));
        ui.label(l.tr_with(
            "last-call",
            &[
                (
                    "when",
                    text::ago(l, cx.now.unix_ms.saturating_sub(h.started_ms)),
                ),
                (
                    "disposition",
                    h.disposition.clone().unwrap_or_else(|| "—".into()),
                ),
                ("note", note),
                ("n", r.earlier.len().to_string()),
            ],
        ));
    }
}

/// The call's own lines: number, header fields, forwarding, links.
pub(crate) fn card(ui: &mut egui::Ui, l: Lang, r: &Call) {
    ui.label(l.tr_with("number", &[("number", r.card.number.clone())]));
    if r.direction == switchboard_desk::store::Direction::In && !r.card.asserted {
        // The number is what the caller's side wrote (From), not what a
        // trusted PBX vouched for (P-Asserted-Identity).
        ui.weak(l.tr("number-unverified"))
            .on_hover_text(l.tr("number-unverified-tip"));
    }
    for (k, v) in &r.card.fields {
        ui.label(format!("{k}: {v}"));
    }
    for f in &r.card.forwarded_from {
        ui.label(l.tr_with("forwarded", &[("from", f.clone())]));
    }
    for link in &r.card.links {
        ui.hyperlink(link);
    }
}

/// The CRM record: a link to open it, then its fields, or why there are none.
pub(crate) fn crm(ui: &mut egui::Ui, l: Lang, c: &CrmView) {
    ui.hyperlink_to(l.tr("crm-record"), &c.link);
    match &c.state {
        CrmState::Pending => {
            ui.label(l.tr("crm-looking"));
        }
        CrmState::Fields(f) => {
            for (k, v) in f {
                ui.label(format!("{k}: {v}"));
            }
        }
        CrmState::Failed(e) => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                l.tr_with("crm-failed", &[("error", e.clone())]),
            );
        }
    }
}
