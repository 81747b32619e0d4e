//! Knowledge: search the knowledge base while the caller talks, and read the
//! answer. Before anything is typed it suggests articles from the call
//! (the queue, the IVR data, the script's answers); as the operator types
//! it searches (ranked, the operator's language first, the matched words
//! in bold). An article opens with Enter or a click; Up/Down choose a result
//! or a paragraph, **Insert** puts the chosen paragraph into the call's
//! note (it goes on into the wrap-up), Esc goes back to the results. With
//! one of the operator's e-mails in the centre the paragraph goes into its
//! reply instead (**Ctrl+I**, even while the reply is being typed).
//!
//! Searches run on the UI thread against the index's own SQLite file (a
//! few milliseconds at 10,000 articles, see docs/performance.md), only
//! when the query, the call or the index changes.

use switchboard_desk::knowledge::{Article, Hit};
use switchboard_desk::workspace::{Focus, ItemId, MailOp, MailStatus, Op};

use super::ContextTab;
use crate::panels::{Cached, Cx};
use crate::{Intent, Lang};

/// What the results depend on: the text typed, the call's context words,
/// the index's version.
type Query = (String, Vec<String>, u64);

/// Results listed.
const HITS: usize = 12;

/// The search field's id.
const SEARCH_FIELD: &str = "knowledge-search";

/// The tab: what is typed, the results, the article open.
#[derive(Default)]
pub(crate) struct KnowledgeTab {
    query: String,
    /// (query, the call's context, index version) → results.
    cached: Cached<Query, Result<Vec<Hit>, String>>,
    /// The result chosen with ↑/↓.
    chosen: usize,
    /// The article open and the paragraph chosen in it.
    open: Option<(Article, usize)>,
    /// The Markdown viewer's state.
    md: egui_commonmark::CommonMarkCache,
}

impl ContextTab for KnowledgeTab {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-knowledge")
    }

    fn key(&self) -> &'static str {
        "knowledge"
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        let Some(index) = cx.knowledge else {
            ui.weak(l.tr("knowledge-none"));
            return;
        };
        let item = cx.ws.focused_interaction();
        // An e-mail of the operator's in the centre: paragraphs go into its reply.
        let mail = match cx.ws.focus() {
            Focus::Email(e) if e.status == MailStatus::Mine => Some(e),
            _ => None,
        };
        let field_id = egui::Id::unique(SEARCH_FIELD);
        let typing = ui.memory(|m| m.focused() == Some(field_id));
        let (up, down, enter, insert, esc) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::ArrowUp),
                i.key_pressed(egui::Key::ArrowDown),
                i.key_pressed(egui::Key::Enter),
                i.key_pressed(egui::Key::Insert),
                i.key_pressed(egui::Key::Escape),
            )
        });
        // Ctrl+I works from the reply being typed, too.
        let into_reply_key = mail.is_some()
            && self.open.is_some()
            && ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::I));
        // Keys belong to this tab unless another text field is typed in.
        let other_field = ui.ctx().text_edit_focused() && !typing;
        let md = &mut self.md;
        if let Some((article, at)) = self.open.as_mut() {
            let paragraphs = article.paragraphs();
            if !other_field {
                if up {
                    *at = at.saturating_sub(1);
                }
                if down && *at + 1 < paragraphs.len() {
                    *at += 1;
                }
            }
            let mut back = esc && !other_field;
            let mut into_note = None;
            if ui
                .button(l.tr("knowledge-back"))
                .on_hover_text("Esc")
                .clicked()
            {
                back = true;
            }
            // Wrapped, never wider than the pane: a long line here would
            // push the pane wider for the rest of the shift.
            let keys = if mail.is_some() {
                "knowledge-keys-mail"
            } else {
                "knowledge-keys"
            };
            ui.add(egui::Label::new(egui::RichText::new(l.tr(keys)).weak()).wrap());
            ui.heading(&article.title);
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("{} · {}", article.lang, article.tags.join(", ")))
                        .weak(),
                )
                .wrap(),
            );
            ui.separator();
            egui::ScrollArea::vertical()
                .id_salt("knowledge-article")
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    for (i, p) in paragraphs.iter().enumerate() {
                        let chosen = i == *at;
                        let frame = egui::Frame::group(ui.style()).fill(if chosen {
                            ui.visuals().selection.bg_fill.gamma_multiply(0.35)
                        } else {
                            egui::Color32::TRANSPARENT
                        });
                        let r = frame
                            .show(ui, |ui| {
                                ui.set_width(ui.available_width());
                                egui_commonmark::CommonMarkViewer::new().show(ui, md, p);
                                let (label, key) = if mail.is_some() {
                                    (l.tr("knowledge-into-reply"), "Ctrl+I")
                                } else {
                                    (l.tr("knowledge-into-note"), "Insert")
                                };
                                let can = item.is_some() || mail.is_some();
                                if ui
                                    .add_enabled(can, egui::Button::new(label))
                                    .on_hover_text(key)
                                    .clicked()
                                {
                                    into_note = Some(i);
                                }
                            })
                            .response;
                        if chosen && (up || down) {
                            r.scroll_to_me(None);
                        }
                    }
                });
            if insert && !other_field || into_reply_key {
                into_note = Some(*at);
            }
            if let Some(p) = into_note.and_then(|i| paragraphs.get(i)) {
                if let Some(e) = mail {
                    let mut draft = e.draft.clone();
                    draft.reply = append_paragraph(&draft.reply, &plain(p));
                    out.push(Op::Mail(e.id, MailOp::Edit(draft)).into());
                } else if let Some(id) = item {
                    out.push(Op::AppendNote(id, plain(p)).into());
                }
            }
            if back {
                self.open = None;
                ui.memory_mut(|m| m.request_focus(field_id));
            }
            return;
        }
        let r = ui.add(
            egui::TextEdit::singleline(&mut self.query)
                .id(field_id)
                .hint_text(l.tr("knowledge-search-hint"))
                .desired_width(f32::INFINITY),
        );
        r.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::SearchInput, true, l.tr("knowledge-search"))
        });
        if r.changed() {
            self.chosen = 0;
        }
        let mut context = context_words(cx, item);
        if let Some(e) = mail {
            // The mail's subject suggests articles as a call's data does.
            context.extend(subject_words(&e.listed.subject));
        }
        let queue = match cx.ws.focus() {
            Focus::Call(c) => c.queue().map(str::to_owned),
            _ => None,
        };
        // The caller's language (from the IVR: `lang=ru`) first, then the operator's.
        let caller_lang = caller_language(cx);
        let langs: Vec<&str> = caller_lang
            .as_deref()
            .into_iter()
            .chain(std::iter::once(l.code()))
            .collect();
        let key = (
            self.query.trim().to_owned(),
            context.clone(),
            cx.knowledge_version,
        );
        let hits = self
            .cached
            .get(key, |(q, ctx, _)| {
                let res = if q.is_empty() {
                    let words: Vec<&str> = ctx.iter().map(String::as_str).collect();
                    index.suggest(&words, queue.as_deref(), &langs, HITS)
                } else {
                    index.search(q, &langs, HITS)
                };
                res.map_err(|e| e.to_string())
            })
            .clone();
        let hits = match hits {
            Ok(h) => h,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        if !other_field {
            if down && self.chosen + 1 < hits.len() {
                self.chosen += 1;
            }
            if up {
                self.chosen = self.chosen.saturating_sub(1);
            }
        }
        ui.weak(if self.query.trim().is_empty() && mail.is_some() {
            l.tr("knowledge-suggested-mail")
        } else if self.query.trim().is_empty() {
            l.tr("knowledge-suggested")
        } else if hits.is_empty() {
            l.tr("knowledge-nothing")
        } else {
            l.tr_with("knowledge-found", &[("n", hits.len().to_string())])
        });
        let mut open =
            (enter && (typing || !other_field) && !hits.is_empty()).then_some(self.chosen);
        egui::ScrollArea::vertical()
            .id_salt("knowledge-hits")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for (i, h) in hits.iter().enumerate() {
                    let chosen = i == self.chosen;
                    let r = egui::Frame::group(ui.style())
                        .fill(if chosen {
                            ui.visuals().selection.bg_fill.gamma_multiply(0.35)
                        } else {
                            egui::Color32::TRANSPARENT
                        })
                        .show(ui, |ui| {
                            ui.set_width(ui.available_width());
                            ui.horizontal(|ui| {
                                if ui.link(egui::RichText::new(&h.title).strong()).clicked() {
                                    open = Some(i);
                                }
                                ui.weak(&h.lang);
                            });
                            ui.label(snippet(ui, &h.snippet));
                        })
                        .response;
                    if chosen && (up || down) {
                        r.scroll_to_me(None);
                    }
                }
            });
        if let Some(h) = open.and_then(|i| hits.get(i)) {
            match index.article(&h.id) {
                Ok(Some(a)) => {
                    self.open = Some((a, 0));
                    ui.memory_mut(|m| m.surrender_focus(field_id));
                }
                Ok(None) => {}
                Err(e) => {
                    ui.colored_label(ui.visuals().error_fg_color, e.to_string());
                }
            }
        }
    }
}

/// Words from the call that suggest articles: its queue, the IVR data, the
/// script's answers.
fn context_words(cx: &Cx<'_>, item: Option<ItemId>) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(Focus::Call(c)) = item.map(|_| cx.ws.focus()) {
        words.extend(c.card.fields.iter().map(|(_, v)| v.clone()));
    }
    if let Some(run) = item.and_then(|id| cx.ws.script_of(id)) {
        words.extend(run.fields().into_values());
    }
    words
}

/// The language the caller chose in the IVR (`lang=ru`, `language=et`),
/// from the call data the workspace gives scripts and forms.
fn caller_language(cx: &Cx<'_>) -> Option<String> {
    let Focus::Call(c) = cx.ws.focus() else {
        return None;
    };
    cx.ws
        .call_data(c.id)
        .into_iter()
        .find(|(k, _)| k.ends_with(".lang") || k.ends_with(".language"))
        .map(|(_, v)| v.to_lowercase())
        .filter(|v| switchboard_desk::knowledge::LANGUAGES.contains(&v.as_str()))
}

/// A snippet with its matched words (between \u{2} and \u{3}) in bold.
fn snippet(ui: &egui::Ui, s: &str) -> egui::text::LayoutJob {
    let mut job = egui::text::LayoutJob::default();
    let normal = egui::TextFormat {
        font_id: egui::TextStyle::Body.resolve(ui.style()),
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let strong = egui::TextFormat {
        color: ui.visuals().strong_text_color(),
        background: ui.visuals().selection.bg_fill.gamma_multiply(0.25),
        ..normal.clone()
    };
    for (i, part) in s.split(['\u{2}', '\u{3}']).enumerate() {
        let fmt = if i % 2 == 1 { &strong } else { &normal };
        job.append(part, 0.0, fmt.clone());
    }
    job
}

/// The words of a mail's subject that can suggest an article: none
/// shorter than four letters (so no `Re`, `Fwd`, `не`), no punctuation.
fn subject_words(subject: &str) -> Vec<String> {
    subject
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4)
        .map(str::to_owned)
        .collect()
}

/// `reply` with `paragraph` after it, a blank line between.
fn append_paragraph(reply: &str, paragraph: &str) -> String {
    let reply = reply.trim_end();
    if reply.is_empty() {
        paragraph.trim().to_owned()
    } else {
        format!("{reply}\n\n{}", paragraph.trim())
    }
}

/// A paragraph as note text: the Markdown marks taken off.
fn plain(p: &str) -> String {
    p.lines()
        .map(|line| {
            let t = line.trim_start_matches(['#', '>', ' ']);
            let t = t
                .strip_prefix("- ")
                .or_else(|| t.strip_prefix("* "))
                .map_or_else(|| t.to_owned(), |x| format!("– {x}"));
            t.replace("**", "").replace('`', "")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_subject_suggests_by_its_longer_words() {
        assert_eq!(
            super::subject_words("Re: Не работает вход в личный кабинет!"),
            ["работает", "вход", "личный", "кабинет"]
        );
    }

    #[test]
    fn a_paragraph_goes_after_the_reply_with_a_blank_line() {
        assert_eq!(super::append_paragraph("", "Reset it.\n"), "Reset it.");
        assert_eq!(
            super::append_paragraph("Hello,\n\n", "Reset it."),
            "Hello,\n\nReset it."
        );
    }

    #[test]
    fn a_paragraph_goes_into_the_note_without_its_markdown() {
        assert_eq!(
            super::plain("## Reset\n- Press **Forgot password**\n- Enter the `code`"),
            "Reset\n– Press Forgot password\n– Enter the code"
        );
    }
}
