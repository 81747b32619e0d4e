//! Form: the order or ticket form of the interaction in the centre — its
//! fields (a mistake in red beside the field), its repeating lines with
//! Add line and Remove, the total, and where it goes when the wrap-up is
//! saved. What is typed is the workspace's draft (written like the note,
//! so a crash loses nothing); the wrap-up cannot be saved while the form
//! has mistakes.

use std::collections::BTreeMap;

use switchboard_desk::form::{FieldDef, FieldKind, FormDef, FormValues, Mistake, Problem, money};
use switchboard_desk::workspace::{ItemId, Op};

use super::ContextTab;
use crate::panels::Cx;
use crate::{Intent, Lang};

/// The tab: the form being typed into, and the workspace's copy last seen
/// (a change there — a form started, a crash's draft — is taken over).
#[derive(Default)]
pub(crate) struct FormTab {
    editing: Option<(ItemId, Option<FormValues>)>,
    seen: Option<FormValues>,
}

impl ContextTab for FormTab {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-form")
    }

    fn key(&self) -> &'static str {
        "form"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        let Some(id) = cx.ws.focused_interaction() else {
            ui.weak(l.tr("form-none"));
            return;
        };
        if cx.ws.forms().is_empty() {
            ui.weak(l.tr("form-not-set-up"));
            return;
        }
        let current = cx.ws.draft_of(id).and_then(|d| d.form.clone());
        if self.editing.as_ref().map(|(i, _)| *i) != Some(id) || current != self.seen {
            self.editing = Some((id, current.clone()));
            self.seen = current;
        }
        let Some((_, values)) = self.editing.as_mut() else {
            return;
        };
        let before = values.clone();
        picker(ui, cx, id, values);
        let Some(v) = values.as_mut() else {
            ui.weak(l.tr("form-pick"));
            return;
        };
        let Some(def) = cx.ws.form_def(&v.form) else {
            ui.colored_label(ui.visuals().error_fg_color, l.tr("form-unknown"));
            return;
        };
        // An untouched form (prefills only) is not sent, so it shows no
        // mistakes; once something is typed, every one shows.
        let mistakes = if def.is_empty(v) {
            Vec::new()
        } else {
            cx.ws.form_mistakes(id)
        };
        ui.separator();
        fields(ui, l, def, v, &mistakes);
        if let Some(lines) = &def.lines {
            ui.add_space(6.0);
            ui.strong(lines.label.get(l.code()));
            let mut remove = None;
            // The pane's width shared out: text and choices get more than
            // numbers (measured here: inside the grid a cell is narrow).
            let room = (ui.available_width() - 90.0).max(120.0);
            egui::Grid::new("form-lines")
                .num_columns(lines.fields.len() + 1)
                .striped(true)
                .show(ui, |ui| {
                    for f in &lines.fields {
                        ui.weak(label(l, f));
                    }
                    ui.end_row();
                    let weight = |f: &FieldDef| match f.kind {
                        FieldKind::Number | FieldKind::Money | FieldKind::Date => 1.0,
                        _ => 2.5,
                    };
                    let total: f32 = lines.fields.iter().map(weight).sum();
                    for (i, line) in v.lines.iter_mut().enumerate() {
                        for f in &lines.fields {
                            let wrong = mistake_at(&mistakes, &f.name, Some(i));
                            let width = (room * weight(f) / total - 8.0).max(40.0);
                            input(ui, l, f, line, wrong, width, Some(i));
                        }
                        if ui.small_button(l.tr("form-remove-line")).clicked() {
                            remove = Some(i);
                        }
                        ui.end_row();
                    }
                });
            if let Some(i) = remove {
                v.lines.remove(i);
            }
            // What is wrong in a line, under the lines: "Quantity 2: Not a number".
            for m in &mistakes {
                if let (Some(i), Some(f)) =
                    (m.line, lines.fields.iter().find(|f| f.name == m.field))
                {
                    ui.colored_label(
                        ui.visuals().error_fg_color,
                        format!(
                            "{} {}: {}",
                            f.label.get(l.code()),
                            i + 1,
                            problem_text(l, &m.problem)
                        ),
                    );
                }
            }
            ui.horizontal(|ui| {
                if ui.button(l.tr("form-add-line")).clicked() {
                    v.lines.push(BTreeMap::new());
                }
                if let Some(t) = def.total(v) {
                    ui.strong(l.tr_with("form-total", &[("total", money(t))]));
                }
            });
            if let Some(m) = mistakes
                .iter()
                .find(|m| matches!(m.problem, Problem::TooFewLines(_)))
            {
                ui.colored_label(ui.visuals().error_fg_color, problem_text(l, &m.problem));
            }
        }
        ui.separator();
        let goes: Vec<String> = def
            .webhook
            .iter()
            .map(|_| l.tr("form-goes-webhook"))
            .chain(def.email.iter().map(|e| e.to.clone()))
            .collect();
        if !goes.is_empty() {
            ui.weak(l.tr_with("form-goes", &[("where", goes.join(", "))]));
        }
        if !mistakes.is_empty() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                l.tr_with("form-mistakes", &[("n", mistakes.len().to_string())]),
            );
        }
        if *values != before {
            self.seen = values.clone();
            out.push(Op::EditForm(id, values.clone()).into());
        }
    }
}

/// The form for this interaction (or none).
fn picker(ui: &mut egui::Ui, cx: &Cx<'_>, id: ItemId, values: &mut Option<FormValues>) {
    let l = cx.l;
    let shown = values
        .as_ref()
        .and_then(|v| cx.ws.form_def(&v.form))
        .map_or_else(|| "—".to_owned(), |d| d.title.get(l.code()).to_owned());
    egui::ComboBox::from_label(l.tr("form-choose"))
        .selected_text(shown)
        .show_ui(ui, |ui| {
            if ui.selectable_label(values.is_none(), "—").clicked() {
                *values = None;
            }
            for d in cx.ws.forms() {
                let on = values.as_ref().is_some_and(|v| v.form == d.id);
                if ui.selectable_label(on, d.title.get(l.code())).clicked() && !on {
                    *values = cx.ws.new_form(id, &d.id);
                }
            }
        });
}

fn fields(ui: &mut egui::Ui, l: Lang, def: &FormDef, v: &mut FormValues, mistakes: &[Mistake]) {
    egui::Grid::new("form-fields")
        .num_columns(2)
        .show(ui, |ui| {
            for f in &def.fields {
                let name = ui.label(label(l, f));
                let wrong = mistake_at(mistakes, &f.name, None);
                ui.vertical(|ui| {
                    input(ui, l, f, &mut v.fields, wrong, 220.0, None).labelled_by(name.id);
                    if let Some(p) = wrong {
                        ui.colored_label(ui.visuals().error_fg_color, problem_text(l, p));
                    }
                });
                ui.end_row();
            }
        });
}

fn label(l: Lang, f: &FieldDef) -> String {
    let text = f.label.get(l.code());
    if f.required {
        format!("{text} *")
    } else {
        text.to_owned()
    }
}

fn mistake_at<'a>(
    mistakes: &'a [Mistake],
    field: &str,
    line: Option<usize>,
) -> Option<&'a Problem> {
    mistakes
        .iter()
        .find(|m| m.field == field && m.line == line)
        .map(|m| &m.problem)
}

/// One value's widget; a wrong one is outlined in red.
fn input(
    ui: &mut egui::Ui,
    l: Lang,
    f: &FieldDef,
    values: &mut BTreeMap<String, String>,
    wrong: Option<&Problem>,
    width: f32,
    line: Option<usize>,
) -> egui::Response {
    let mut text = values.get(&f.name).cloned().unwrap_or_default();
    let salt = (f.name.as_str(), line);
    let r = if f.kind == FieldKind::Choice {
        let r = egui::ComboBox::from_id_salt(salt)
            .width(width)
            .selected_text(if text.is_empty() { "—" } else { &text })
            .show_ui(ui, |ui| {
                for c in &f.choices {
                    if ui.selectable_label(text == *c, c).clicked() {
                        text = c.clone();
                    }
                }
            })
            .response;
        let label = f.label.get(l.code()).to_owned();
        r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, &label));
        r
    } else {
        let hint = match f.kind {
            FieldKind::Date => "YYYY-MM-DD",
            FieldKind::Money => "0.00",
            FieldKind::Email => "name@example.com",
            _ => "",
        };
        let edit = if f.kind == FieldKind::Multiline {
            egui::TextEdit::multiline(&mut text).desired_rows(3)
        } else {
            egui::TextEdit::singleline(&mut text)
        };
        let mut edit = edit.id_salt(salt).hint_text(hint).desired_width(width);
        if wrong.is_some() {
            edit = edit.text_color(ui.visuals().error_fg_color);
        }
        // A grid's cell is as wide as its column was last frame: the size
        // is given outright, or the column never grows.
        let height = ui.spacing().interact_size.y;
        let r = if f.kind == FieldKind::Multiline {
            ui.add(edit)
        } else {
            ui.add_sized([width, height], edit)
        };
        if line.is_some() {
            let label = format!("{} {}", f.label.get(l.code()), line.map_or(0, |i| i + 1));
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, &label));
        }
        r
    };
    if values
        .get(&f.name)
        .map_or(!text.is_empty(), |old| *old != text)
    {
        values.insert(f.name.clone(), text);
    }
    r
}

fn problem_text(l: Lang, p: &Problem) -> String {
    match p {
        Problem::Missing => l.tr("form-missing"),
        Problem::NotNumber => l.tr("form-not-number"),
        Problem::NotMoney => l.tr("form-not-money"),
        Problem::NotDate => l.tr("form-not-date"),
        Problem::NotAChoice => l.tr("form-not-choice"),
        Problem::NotEmail => l.tr("form-not-email"),
        Problem::NotPhone => l.tr("form-not-phone"),
        Problem::TooFewLines(n) => l.tr_with("form-too-few-lines", &[("n", n.to_string())]),
    }
}
