//! A practice call's score, after its wrap-up is saved: each check right or
//! wrong with what was expected and what the trainee did, the points and
//! the handle time; Close (the next practice caller rings meanwhile).

use switchboard_desk::practice::{CheckKind, Score};
use switchboard_desk::workspace::Op;

use super::{ANSWER_GREEN, Cx, HANG_UP_RED};
use crate::Intent;

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, s: &Score, out: &mut Vec<Intent>) {
    let l = cx.l;
    let (ok, all) = s.points();
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        ui.heading(l.tr_with(
            "score-title",
            &[("who", s.who.clone()), ("percent", s.percent().to_string())],
        ));
        ui.label(l.tr_with(
            "score-points",
            &[("ok", ok.to_string()), ("all", all.to_string())],
        ));
        egui::Grid::new("score-checks")
            .num_columns(3)
            .striped(true)
            .show(ui, |ui| {
                for c in &s.checks {
                    let what = match &c.kind {
                        CheckKind::Script => l.tr("score-script"),
                        CheckKind::Asked { prompt, .. } => l.tr_with(
                            "score-asked",
                            &[("question", prompt.get(l.code()).to_owned())],
                        ),
                        CheckKind::Field(f) => {
                            l.tr_with("score-field", &[("field", f.replace('_', " "))])
                        }
                        CheckKind::Disposition => l.tr("score-disposition"),
                        CheckKind::Transfer => l.tr("score-transfer"),
                        CheckKind::HandleTime => l.tr("score-handle-time"),
                    };
                    ui.label(what);
                    let (word, colour) = if c.ok {
                        (l.tr("score-right"), ANSWER_GREEN)
                    } else {
                        (l.tr("score-wrong"), HANG_UP_RED)
                    };
                    ui.colored_label(colour, egui::RichText::new(word).strong());
                    let got = if c.got.is_empty() { "—" } else { &c.got };
                    ui.label(match &c.kind {
                        CheckKind::Asked { .. } => String::new(),
                        CheckKind::HandleTime => l.tr_with(
                            "score-time-of",
                            &[("got", got.to_owned()), ("target", c.expected.clone())],
                        ),
                        _ if c.ok => got.to_owned(),
                        _ => l.tr_with(
                            "score-expected",
                            &[("expected", c.expected.clone()), ("got", got.to_owned())],
                        ),
                    });
                    ui.end_row();
                }
            });
        if ui.button(l.tr("close")).clicked() {
            out.push(Op::DismissScore.into());
        }
    });
}
