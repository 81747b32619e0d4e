//! Each interaction's order or ticket form and its note while the call is
//! up: started from the queue when the call rings, edited in the Form tab,
//! written as a draft like the wrap-up's (at most [`DRAFT_DELAY`] after a
//! change, so a crash loses nothing older), carried into the wrap-up, checked
//! when the wrap-up is saved, and then sent through the outbox in the same
//! transaction as the record.

use super::script::call_data;
use super::*;
use crate::form::{CallInfo, FormDef, FormValues, Mistake};

impl Workspace {
    /// The form configured as `id`.
    pub fn form_def(&self, id: &str) -> Option<&FormDef> {
        self.forms.iter().find(|f| f.id == id)
    }

    /// What has been typed for a call or wrap-up (note so far, form).
    pub fn draft_of(&self, id: ItemId) -> Option<&Draft> {
        match self.item(id)? {
            Focus::Call(c) => Some(&c.draft),
            Focus::WrapUp(w) => Some(&w.draft),
            _ => None,
        }
    }

    /// A form for `id` as the Form tab starts it: `form`'s fields prefilled
    /// from the call.
    pub fn new_form(&self, id: ItemId, form: &str) -> Option<FormValues> {
        let def = self.form_def(form)?;
        Some(match self.item(id)? {
            Focus::Call(c) => def.start(&call_data(&c.card)),
            Focus::WrapUp(w) => def.start(&call_data(&w.card())),
            _ => return None,
        })
    }

    /// The mistakes in the form of `id` (empty: none, or no form).
    pub fn form_mistakes(&self, id: ItemId) -> Vec<Mistake> {
        let Some(v) = self.draft_of(id).and_then(|d| d.form.as_ref()) else {
            return Vec::new();
        };
        self.form_def(&v.form)
            .map(|def| def.check(v))
            .unwrap_or_default()
    }

    /// A ringing call's form: the first whose queues hold the call's.
    pub(super) fn start_form(&self, c: &mut Call) {
        let Some(queue) = c.queue().map(|q| q.trim().to_lowercase()) else {
            return;
        };
        let def = self
            .forms
            .iter()
            .find(|f| f.queues.iter().any(|q| q.trim().to_lowercase() == queue));
        if let Some(def) = def {
            c.draft.form = Some(def.start(&call_data(&c.card)));
        }
    }

    pub(super) fn edit_form(&mut self, now: Now, id: ItemId, form: Option<FormValues>) {
        if let Some(c) = self.calls.iter_mut().find(|c| c.id == id) {
            if c.draft.form != form {
                c.draft.form = form;
                c.draft_dirty.get_or_insert(now.at);
            }
        } else if let Some(w) = self.wraps.iter_mut().find(|w| w.id == id)
            && w.draft.form != form
        {
            w.draft.form = form;
            w.dirty_since.get_or_insert(now.at);
        }
    }

    pub(super) fn append_note(&mut self, now: Now, id: ItemId, text: &str) {
        let add = |note: &mut String| {
            if !note.is_empty() && !note.ends_with('\n') {
                note.push('\n');
            }
            note.push_str(text.trim());
            note.push('\n');
        };
        if let Some(c) = self.calls.iter_mut().find(|c| c.id == id) {
            add(&mut c.draft.note);
            c.draft_dirty.get_or_insert(now.at);
        } else if let Some(w) = self.wraps.iter_mut().find(|w| w.id == id) {
            add(&mut w.draft.note);
            w.dirty_since.get_or_insert(now.at);
        }
    }

    /// Live calls' drafts written (their row comes back as a wrap-up after
    /// a crash).
    pub(super) fn flush_call_drafts(&mut self, now: Now, force: bool) {
        let mut failed = None;
        for c in &mut self.calls {
            let Some(since) = c.draft_dirty else { continue };
            if !force && now.at.duration_since(since) < DRAFT_DELAY {
                continue;
            }
            match &self.store {
                Some(s) => match s.save_draft(&c.call_id, &c.draft, now.unix_ms) {
                    Ok(()) => c.draft_dirty = None,
                    Err(e) => failed = Some(e.to_string()),
                },
                None => c.draft_dirty = None,
            }
        }
        if let Some(error) = failed {
            self.notify(now, NoticeKind::DraftNotSaved { error });
        }
    }

    /// What a wrap-up's form sends, or why it cannot be saved yet. An
    /// untouched form (prefills only) sends nothing.
    pub(super) fn form_deliveries(
        &self,
        now: Now,
        w: &WrapUp,
    ) -> Result<Vec<crate::outbox::NewItem>, (String, usize)> {
        let Some(v) = &w.draft.form else {
            return Ok(Vec::new());
        };
        let Some(def) = self.form_def(&v.form) else {
            return Ok(Vec::new());
        };
        if def.is_empty(v) {
            return Ok(Vec::new());
        }
        let mistakes = def.check(v);
        if !mistakes.is_empty() {
            let (_, lang) = &self.operator;
            return Err((def.title.get(lang).to_owned(), mistakes.len()));
        }
        let (operator, lang) = &self.operator;
        let call = CallInfo {
            call_id: w.call_id.clone(),
            number: w.number.clone(),
            name: w.name.clone(),
            operator: operator.clone(),
            at_ms: now.unix_ms,
        };
        Ok(def.deliveries(v, &call, lang))
    }
}
