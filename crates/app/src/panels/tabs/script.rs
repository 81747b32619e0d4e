//! Script: the call script of the interaction in the centre — the current
//! question, large enough to read aloud, the answer field or the numbered
//! options, and what the answers have decided so far (priority,
//! disposition …). Keyboard first: digits pick options (and toggle them in
//! a multi-choice), Enter goes on, Backspace goes back (in a text answer,
//! when it is empty). At an end that transfers, Enter puts the caller
//! through; at one that chains, Enter goes on with the next script.

use switchboard_desk::script::Kind;
use switchboard_desk::script::run::{Answer, Run, RunError};
use switchboard_desk::workspace::{ItemId, Op, ScriptOp};

use super::ContextTab;
use crate::panels::Cx;
use crate::{Intent, Lang};

/// The id of the answer field (focused when a question that takes text comes up).
const ANSWER_FIELD: &str = "script-answer";

/// The tab: what is being typed for the current question.
#[derive(Default)]
pub(crate) struct ScriptTab {
    /// The question the typing is for: (item, trail length).
    at: Option<(ItemId, usize)>,
    text: String,
    ticked: Vec<String>,
    error: Option<RunError>,
}

impl ContextTab for ScriptTab {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-script")
    }

    fn key(&self) -> &'static str {
        "script"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        let Some(id) = cx.ws.focused_interaction() else {
            ui.weak(l.tr("script-none"));
            return;
        };
        picker(ui, cx, id, out);
        let Some(run) = cx.ws.script_of(id) else {
            ui.weak(l.tr("script-pick"));
            return;
        };
        // A new question: its field starts from its prefill.
        let here = (id, run.trail().len());
        let fresh = self.at != Some(here);
        if fresh {
            self.at = Some(here);
            self.text = run.prefill().unwrap_or_default();
            self.ticked.clear();
            self.error = None;
        }
        ui.separator();
        self.question(ui, cx, id, run, fresh, out);
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error_text(l, e));
        }
        decided(ui, l, run);
    }
}

impl ScriptTab {
    fn question(
        &mut self,
        ui: &mut egui::Ui,
        cx: &Cx<'_>,
        id: ItemId,
        run: &Run,
        fresh: bool,
        out: &mut Vec<Intent>,
    ) {
        let l = cx.l;
        let node = run.current();
        let lang = l.code();
        let title = run.script().title.get(lang).to_owned();
        ui.weak(if node.kind == Kind::End {
            l.tr_with("script-end", &[("title", title)])
        } else {
            // Questions on the path taken, this one included.
            let n = run.answered().count() + 1;
            l.tr_with("script-step", &[("title", title), ("n", n.to_string())])
        });
        // Large enough to read aloud from half a metre.
        ui.label(egui::RichText::new(run.prompt(lang)).size(22.0).strong());
        // What the keys do here, for whoever is new.
        let how = match node.kind {
            Kind::Text | Kind::Number | Kind::Date => "script-how-text",
            Kind::YesNo | Kind::Choice => "script-how-choice",
            Kind::MultiChoice => "script-how-multi",
            Kind::Info => "script-how-info",
            Kind::End if run.transfer().is_some() => "script-how-transfer",
            Kind::End if run.chain_target().is_some() => "script-how-chain",
            Kind::End => "script-how-end",
        };
        let how = l.tr(how);
        if node.required && node.kind.asks() {
            ui.weak(format!("{} · {how}", l.tr("script-required")));
        } else {
            ui.weak(how);
        }
        let field_focused = ui.memory(|m| m.focused() == Some(egui::Id::unique(ANSWER_FIELD)));
        // Keys when no other text field is being typed into (a button
        // clicked may keep the focus: keys still reach the script).
        let other_field = ui.ctx().text_edit_focused() && !field_focused;
        let (enter, backspace, digit) = if other_field {
            (false, false, None)
        } else {
            ui.input(|i| {
                let digit = [
                    egui::Key::Num1,
                    egui::Key::Num2,
                    egui::Key::Num3,
                    egui::Key::Num4,
                    egui::Key::Num5,
                    egui::Key::Num6,
                    egui::Key::Num7,
                    egui::Key::Num8,
                    egui::Key::Num9,
                ]
                .iter()
                .position(|k| i.key_pressed(*k) && i.modifiers.is_none());
                (
                    i.key_pressed(egui::Key::Enter),
                    i.key_pressed(egui::Key::Backspace),
                    digit,
                )
            })
        };
        let mut answer: Option<Answer> = None;
        let mut back = backspace && !field_focused;
        match node.kind {
            Kind::Text | Kind::Number | Kind::Date => {
                let hint = match node.kind {
                    Kind::Date => "YYYY-MM-DD".to_owned(),
                    Kind::Number => "0".to_owned(),
                    _ => String::new(),
                };
                let was_empty = self.text.is_empty();
                let r = ui.add(
                    egui::TextEdit::singleline(&mut self.text)
                        .id(egui::Id::unique(ANSWER_FIELD))
                        .hint_text(hint)
                        .font(egui::TextStyle::Heading)
                        .desired_width(f32::INFINITY),
                );
                r.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::TextInput, true, l.tr("script-answer"))
                });
                if fresh {
                    r.request_focus();
                }
                if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                    answer = Some(self.typed(node.kind));
                    r.request_focus();
                }
                if field_focused && backspace && was_empty {
                    back = true;
                }
            }
            Kind::YesNo => {
                ui.horizontal(|ui| {
                    for (i, (key, yes)) in [("script-yes", true), ("script-no", false)]
                        .into_iter()
                        .enumerate()
                    {
                        if option_button(ui, i + 1, &l.tr(key)).clicked() || digit == Some(i) {
                            answer = Some(Answer::YesNo(yes));
                        }
                    }
                });
            }
            Kind::Choice => {
                for (i, o) in node.options.iter().enumerate() {
                    if option_button(ui, i + 1, o.label.get(lang)).clicked() || digit == Some(i) {
                        answer = Some(Answer::Chosen(vec![o.value.clone()]));
                    }
                }
            }
            Kind::MultiChoice => {
                for (i, o) in node.options.iter().enumerate() {
                    let mut on = self.ticked.contains(&o.value);
                    let text = format!("{}  {}", i + 1, o.label.get(lang));
                    let flipped = ui
                        .checkbox(&mut on, egui::RichText::new(text).size(17.0))
                        .changed()
                        || digit == Some(i);
                    if flipped {
                        if self.ticked.contains(&o.value) {
                            self.ticked.retain(|v| *v != o.value);
                        } else {
                            self.ticked.push(o.value.clone());
                        }
                    }
                }
                if enter {
                    answer = Some(Answer::Chosen(self.ticked_in_order(node)));
                }
            }
            Kind::Info => {
                if enter {
                    answer = Some(Answer::Next);
                }
            }
            Kind::End => {
                self.end(ui, cx, id, run, enter, out);
            }
        }
        ui.horizontal(|ui| {
            let can_back = !run.trail().is_empty();
            if ui
                .add_enabled(can_back, egui::Button::new(l.tr("script-back")))
                .on_hover_text(l.tr("script-back-tip"))
                .clicked()
            {
                back = true;
            }
            let goes_on = !matches!(node.kind, Kind::End | Kind::Choice | Kind::YesNo);
            if goes_on
                && ui
                    .button(l.tr("script-next"))
                    .on_hover_text(l.tr("script-next-tip"))
                    .clicked()
            {
                answer = Some(match node.kind {
                    Kind::Info => Answer::Next,
                    Kind::MultiChoice => Answer::Chosen(self.ticked_in_order(node)),
                    k => self.typed(k),
                });
            }
        });
        if let Some(a) = answer {
            match run.check(&a) {
                Ok(()) => out.push(Op::Script(id, ScriptOp::Answer(a)).into()),
                Err(e) => self.error = Some(e),
            }
        } else if back && !run.trail().is_empty() {
            out.push(Op::Script(id, ScriptOp::Back).into());
        }
    }

    /// An end: what it says, and the transfer or chain it leads to.
    fn end(
        &self,
        ui: &mut egui::Ui,
        cx: &Cx<'_>,
        id: ItemId,
        run: &Run,
        enter: bool,
        out: &mut Vec<Intent>,
    ) {
        let l = cx.l;
        if let Some(next) = run.chain_target() {
            let title = cx
                .ws
                .scripts()
                .get(next)
                .map_or(next.to_owned(), |s| s.title.get(l.code()).to_owned());
            if ui
                .button(l.tr_with("script-chain", &[("title", title)]))
                .clicked()
                || enter
            {
                out.push(Op::Script(id, ScriptOp::Chain).into());
            }
            return;
        }
        let Some(target) = run.transfer() else {
            ui.weak(l.tr("script-done"));
            return;
        };
        let label = cx.ws.target_label(&target);
        let talking = cx.ws.talking().is_some_and(|c| c.id == id);
        let put_through = ui
            .add_enabled(
                talking,
                egui::Button::new(
                    egui::RichText::new(l.tr_with("script-transfer", &[("target", label.clone())]))
                        .size(17.0),
                )
                .min_size(egui::vec2(160.0, 32.0)),
            )
            .clicked()
            || (enter && talking);
        if put_through {
            out.push(
                Op::Transfer {
                    target,
                    label: Some(label),
                }
                .into(),
            );
        }
    }

    /// The options ticked, in the script's order (not the order pressed).
    fn ticked_in_order(&self, node: &switchboard_desk::script::Node) -> Vec<String> {
        node.options
            .iter()
            .filter(|o| self.ticked.contains(&o.value))
            .map(|o| o.value.clone())
            .collect()
    }

    /// The typed answer as its question takes it.
    fn typed(&self, kind: Kind) -> Answer {
        let t = self.text.trim();
        match kind {
            Kind::Number => match t.replace(',', ".").parse::<f64>() {
                Ok(n) if n.is_finite() => Answer::Number(n),
                // Not a number: the check says so.
                _ => Answer::Text(t.to_owned()),
            },
            _ if t.is_empty() => Answer::Next,
            _ => Answer::Text(t.to_owned()),
        }
    }
}

/// The operator's choice of script for this interaction.
fn picker(ui: &mut egui::Ui, cx: &Cx<'_>, id: ItemId, out: &mut Vec<Intent>) {
    let l = cx.l;
    let current = cx.ws.script_of(id).map(|r| r.first_script().id.clone());
    let lib = cx.ws.scripts();
    let shown = current
        .as_deref()
        .and_then(|c| lib.get(c))
        .map_or_else(|| "—".to_owned(), |s| s.title.get(l.code()).to_owned());
    egui::ComboBox::from_label(l.tr("script-choose"))
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for s in lib.all() {
                let on = current.as_deref() == Some(s.id.as_str());
                if ui.selectable_label(on, s.title.get(l.code())).clicked() && !on {
                    out.push(Op::Script(id, ScriptOp::Pick(s.id.clone())).into());
                }
            }
        });
}

/// What the answers have decided so far.
fn decided(ui: &mut egui::Ui, l: Lang, run: &Run) {
    let fields = run.fields();
    if fields.is_empty() {
        return;
    }
    ui.separator();
    ui.strong(l.tr("script-decided"));
    egui::Grid::new("script-fields")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            // The ones that decide the call first.
            let first = ["priority", "disposition"];
            let ordered = first
                .iter()
                .filter_map(|k| fields.get_key_value(*k))
                .chain(fields.iter().filter(|(k, _)| !first.contains(&k.as_str())));
            for (k, v) in ordered {
                ui.label(k.replace('_', " "));
                if first.contains(&k.as_str()) {
                    ui.strong(v);
                } else {
                    ui.label(v);
                }
                ui.end_row();
            }
        });
}

fn option_button(ui: &mut egui::Ui, n: usize, text: &str) -> egui::Response {
    ui.add(
        egui::Button::new(egui::RichText::new(format!("{n}  {text}")).size(17.0))
            .min_size(egui::vec2(120.0, 32.0)),
    )
}

fn error_text(l: Lang, e: &RunError) -> String {
    l.tr(match e {
        RunError::Required => "script-error-required",
        RunError::BadDate => "script-error-date",
        RunError::WrongKind => "script-error-kind",
        RunError::NoSuchOption(_) | RunError::Done | RunError::AtStart | RunError::NoChain => {
            "script-error-other"
        }
    })
}
