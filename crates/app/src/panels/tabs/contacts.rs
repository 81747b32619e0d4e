//! Contacts: the desk's own address book — search, add, edit, delete,
//! call; import a CSV file (name, number, company, note, email) and export
//! one.

use switchboard_desk::store::{Contact, ContactId, looks_like_email};

use super::ContextTab;
use crate::panels::{Cached, Cx, row_button};
use crate::{Intent, Lang};

/// The contacts listed.
type Rows = Vec<(ContactId, Contact)>;

/// The tab: search, the form being edited, the file paths typed.
#[derive(Default)]
pub(crate) struct Contacts {
    query: String,
    cached: Cached<(String, u64), Result<Rows, String>>,
    /// The contact being edited (`None` id: a new one).
    editing: Option<(Option<ContactId>, Contact)>,
    path: String,
}

impl ContextTab for Contacts {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-contacts")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        let Some(store) = cx.ws.store() else {
            ui.weak(l.tr("no-database"));
            return;
        };
        if let Some((id, c)) = &mut self.editing {
            let mut done = false;
            ui.group(|ui| {
                egui::Grid::new("contact-form")
                    .num_columns(2)
                    .show(ui, |ui| {
                        let mut company = c.company.clone().unwrap_or_default();
                        let mut note = c.note.clone().unwrap_or_default();
                        let mut email = c.email.clone().unwrap_or_default();
                        for (key, value) in [
                            ("contact-name", &mut c.name),
                            ("contact-number", &mut c.number),
                            ("contact-email", &mut email),
                            ("contact-company", &mut company),
                            ("contact-note", &mut note),
                        ] {
                            let label = ui.label(l.tr(key));
                            ui.text_edit_singleline(value).labelled_by(label.id);
                            ui.end_row();
                        }
                        c.company = Some(company).filter(|s| !s.trim().is_empty());
                        c.note = Some(note).filter(|s| !s.trim().is_empty());
                        c.email = Some(email).filter(|s| !s.trim().is_empty());
                    });
                // Checked as loosely as the CSV import checks it.
                let email_ok = c
                    .email
                    .as_deref()
                    .is_none_or(|e| looks_like_email(e.trim()));
                if !email_ok {
                    ui.colored_label(ui.visuals().error_fg_color, l.tr("form-not-email"));
                }
                ui.horizontal(|ui| {
                    let ok = !c.name.trim().is_empty() && !c.number.trim().is_empty() && email_ok;
                    if ui
                        .add_enabled(ok, egui::Button::new(l.tr("save-contact")))
                        .clicked()
                    {
                        out.push(Intent::SaveContact(*id, c.clone()));
                        done = true;
                    }
                    if ui.button(l.tr("cancel")).clicked() {
                        done = true;
                    }
                });
            });
            if done {
                self.editing = None;
            }
        }
        ui.horizontal(|ui| {
            let label = ui.label(l.tr("contacts-search"));
            ui.add(egui::TextEdit::singleline(&mut self.query).desired_width(140.0))
                .labelled_by(label.id);
            if ui.button(l.tr("add-contact")).clicked() {
                self.editing = Some((None, Contact::default()));
            }
        });
        let key = (self.query.clone(), cx.contacts_version);
        let rows = match self
            .cached
            .get(key, |(q, _)| store.contacts(q).map_err(|e| e.to_string()))
        {
            Ok(rows) => rows.clone(),
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        {
            if rows.is_empty() {
                ui.weak(l.tr("contacts-empty"));
            }
            egui::ScrollArea::vertical()
                .id_salt("contact-rows")
                .max_height(ui.available_height() - 80.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for (id, c) in &rows {
                        ui.group(|ui| {
                            ui.set_width(ui.available_width());
                            ui.strong(&c.name);
                            let mut line = vec![c.number.clone()];
                            line.extend(c.email.clone());
                            line.extend(c.company.clone());
                            ui.label(line.join(" · "));
                            if let Some(n) = &c.note {
                                ui.weak(n);
                            }
                            ui.horizontal(|ui| {
                                if row_button(ui, cx.ws.can_dial(), &l.tr("call"), &c.name)
                                    .clicked()
                                {
                                    out.push(Intent::Dial {
                                        input: c.number.clone(),
                                        name: Some(c.name.clone()),
                                    });
                                }
                                if row_button(ui, true, &l.tr("edit"), &c.name).clicked() {
                                    self.editing = Some((Some(*id), c.clone()));
                                }
                                if row_button(ui, true, &l.tr("delete"), &c.name).clicked() {
                                    out.push(Intent::DeleteContact(*id));
                                }
                            });
                        });
                    }
                });
        }
        ui.separator();
        ui.horizontal_wrapped(|ui| {
            let label = ui.label(l.tr("csv-file"));
            ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(160.0))
                .labelled_by(label.id);
            let path = self.path.trim();
            if ui
                .add_enabled(!path.is_empty(), egui::Button::new(l.tr("import")))
                .clicked()
            {
                out.push(Intent::ImportContacts(path.into()));
            }
            if ui
                .add_enabled(!path.is_empty(), egui::Button::new(l.tr("export")))
                .clicked()
            {
                out.push(Intent::ExportContacts(path.into()));
            }
        });
    }
}
