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
                    // Scripts by their titles, not their file ids.
                    let title = |id: &str| {
                        cx.ws
                            .scripts()
                            .get(id)
                            .map_or_else(|| id.to_owned(), |s| s.title.get(l.code()).to_owned())
                    };
                    let (got, expected) = match c.kind {
                        CheckKind::Script => (title(&c.got), title(&c.expected)),
                        _ => (c.got.clone(), c.expected.clone()),
                    };
                    let got = if got.is_empty() {
                        "—".to_owned()
                    } else {
                        got
                    };
                    ui.label(match &c.kind {
                        CheckKind::Asked { .. } => String::new(),
                        CheckKind::HandleTime => {
                            l.tr_with("score-time-of", &[("got", got), ("target", expected)])
                        }
                        _ if c.ok => got,
                        _ => l.tr_with("score-expected", &[("expected", expected), ("got", got)]),
                    });
                    ui.end_row();
                }
            });
        if ui.button(l.tr("close")).clicked() {
            out.push(Op::DismissScore.into());
        }
    });
}
