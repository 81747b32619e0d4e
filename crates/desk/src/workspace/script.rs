//! The call script of each interaction: started when a call rings (the
//! queue's script, or a practice scenario's), answered while the caller
//! talks, carried into the wrap-up, and saved on every answer.
//!
//! A run lives on its [`Call`] and then on its [`WrapUp`]. Each change is
//! written at once ([`Store::save_script_run`]): answers are a few a
//! minute, and a crash must lose none. A live call with a run also gets an
//! (empty) draft, so a desk killed mid-call brings the call back as a
//! wrap-up with its run. What the run decides as `disposition` becomes the
//! draft's disposition each time the script decides it anew; the operator
//! may still choose another.

use std::collections::BTreeMap;

use super::*;
use crate::practice::{Attempt, Scenario, Score, score};
use crate::script::library::Library;
use crate::script::run::{Answer, Run};

/// The header the practice line names its scenario in.
pub const SCENARIO_HEADER: &str = "X-Practice-Scenario";

/// What the operator does with a script.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptOp {
    /// Answer the current question.
    Answer(Answer),
    /// Back to the previous question.
    Back,
    /// Start this script instead (the operator's choice).
    Pick(String),
    /// Go on with the script the end chains to.
    Chain,
}

/// The call data a script's prompts and prefills may name: `caller.number`,
/// `caller.name`, each caller-card field by its label (`queue`, `ivr`) and
/// the `key=value` pairs in it (`ivr.account`).
pub(super) fn call_data(card: &CallerCard) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    data.insert("caller.number".to_owned(), card.number.clone());
    if let Some(n) = &card.name {
        data.insert("caller.name".to_owned(), n.clone());
    }
    for (label, value) in &card.fields {
        let key = data_key(label);
        for pair in value.split([';', '&', ',']) {
            if let Some((k, v)) = pair.split_once('=') {
                data.insert(format!("{key}.{}", data_key(k)), v.trim().to_owned());
            }
        }
        data.insert(key, value.clone());
    }
    data
}

/// `Customer Name` → `customer_name`.
fn data_key(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

impl Workspace {
    /// The scripts calls start with; wrap-ups a crash brought back get
    /// their saved runs.
    pub fn set_scripts(&mut self, scripts: Library) {
        self.scripts = scripts;
        self.attach_saved_runs();
    }

    /// The scripts loaded.
    pub fn scripts(&self) -> &Library {
        &self.scripts
    }

    /// The practice line's scenarios (the desk of `--demo`).
    pub fn set_scenarios(&mut self, scenarios: Vec<Scenario>) {
        self.scenarios = scenarios;
    }

    /// The score of the last practice call, until dismissed.
    pub fn score(&self) -> Option<&Score> {
        self.score.as_ref()
    }

    /// The call data of a call or wrap-up, as scripts, forms and the
    /// knowledge base's suggestions name it (`caller.number`, `ivr.lang` …).
    pub fn call_data(&self, id: ItemId) -> BTreeMap<String, String> {
        match self.item(id) {
            Some(Focus::Call(c)) => call_data(&c.card),
            Some(Focus::WrapUp(w)) => call_data(&w.card()),
            _ => BTreeMap::new(),
        }
    }

    /// The script run of a call or wrap-up.
    pub fn script_of(&self, id: ItemId) -> Option<&Run> {
        match self.item(id)? {
            Focus::Call(c) => c.script.as_ref(),
            Focus::WrapUp(w) => w.script.as_ref(),
            _ => None,
        }
    }

    /// A ringing call's script: its practice scenario's, else its queue's.
    pub(super) fn start_script(&self, c: &mut Call, headers: &Headers) {
        c.scenario = headers
            .get(SCENARIO_HEADER)
            .map(str::trim)
            .filter(|id| self.scenarios.iter().any(|s| s.id == *id))
            .map(str::to_owned);
        let scenario = c
            .scenario
            .as_ref()
            .and_then(|id| self.scenarios.iter().find(|s| s.id == *id));
        let script = match scenario {
            Some(s) => self.scripts.get(&s.script),
            None => self.scripts.for_queue(c.queue()),
        };
        c.script = script.map(|s| Run::new(s.clone(), call_data(&c.card)));
    }

    /// The CRM's fields, for prompts and prefills (`crm.name`).
    pub(super) fn script_crm_data(&mut self, call_id: &str, fields: &[(String, String)]) {
        if let Some(run) = self
            .calls
            .iter_mut()
            .find(|c| c.call_id == call_id)
            .and_then(|c| c.script.as_mut())
        {
            run.add_data(
                fields
                    .iter()
                    .map(|(k, v)| (format!("crm.{}", data_key(k)), v.clone())),
            );
        }
    }

    /// Carries out a script operation on a call or wrap-up.
    pub(super) fn apply_script(&mut self, now: Now, id: ItemId, op: ScriptOp) {
        let live = self.calls.iter().any(|c| c.id == id);
        let lib = &self.scripts;
        let (slot, call_id, card) = if let Some(c) = self.calls.iter_mut().find(|c| c.id == id) {
            (&mut c.script, c.call_id.clone(), c.card.clone())
        } else if let Some(w) = self.wraps.iter_mut().find(|w| w.id == id) {
            let card = w.card();
            (&mut w.script, w.call_id.clone(), card)
        } else {
            return;
        };
        let before = slot
            .as_ref()
            .and_then(|r| r.fields().get("disposition").cloned());
        let changed = match op {
            ScriptOp::Answer(a) => slot
                .as_mut()
                .is_some_and(|r| r.answer(a, now.unix_ms).is_ok()),
            ScriptOp::Back => slot.as_mut().is_some_and(|r| r.back(now.unix_ms).is_ok()),
            ScriptOp::Chain => match slot
                .as_ref()
                .and_then(|r| r.chain_target())
                .and_then(|t| lib.get(t))
            {
                Some(next) => slot
                    .as_mut()
                    .is_some_and(|r| r.chain(next.clone(), now.unix_ms).is_ok()),
                None => false,
            },
            ScriptOp::Pick(script) => match lib.get(&script) {
                Some(s) if slot.as_ref().is_none_or(|r| r.first_script().id != s.id) => {
                    *slot = Some(Run::new(s.clone(), call_data(&card)));
                    true
                }
                _ => false,
            },
        };
        if !changed {
            return;
        }
        let Some(run) = slot.clone() else { return };
        let after = run.fields().get("disposition").cloned();
        if let Some(w) = self.wraps.iter_mut().find(|w| w.id == id)
            && after != before
            && after.is_some()
        {
            w.draft.disposition = after;
            w.dirty_since.get_or_insert(now.at);
        }
        self.store_do(now, |s| {
            if live {
                // A crash mid-call brings the call back as a wrap-up.
                s.open_draft(&call_id, now.unix_ms)?;
            }
            s.save_script_run(&call_id, &run, now.unix_ms)
        });
    }

    /// Closes the draft a live call's script or form opened, when the call
    /// gets no wrap-up: its record keeps what was written and the script's
    /// disposition.
    pub(super) fn close_call_draft(
        &mut self,
        now: Now,
        call_id: &str,
        mut draft: Draft,
        run: Option<&Run>,
    ) {
        if draft.disposition.is_none() {
            draft.disposition = run.and_then(|r| r.fields().get("disposition").cloned());
        }
        if let Some(s) = self.store.as_mut()
            && let Err(e) = s.finish_wrap_up_at(call_id, &draft, None, None)
        {
            self.notify(
                now,
                NoticeKind::StoreUnavailable {
                    error: e.to_string(),
                },
            );
        }
    }

    /// Wrap-ups a crash brought back, with the script run their call had.
    pub(super) fn attach_saved_runs(&mut self) {
        let Some(store) = &self.store else { return };
        for w in self.wraps.iter_mut().filter(|w| w.script.is_none()) {
            let Ok(Some(saved)) = store.script_run(&w.call_id) else {
                continue;
            };
            let Some(first) = self.scripts.get(&saved.script_id) else {
                continue;
            };
            let lib = &self.scripts;
            let (run, _) = Run::resume(first.clone(), BTreeMap::new(), &saved.trail, |id| {
                lib.get(id).cloned()
            });
            w.script = Some(run);
        }
    }

    /// A practice call's wrap-up was saved: its score.
    pub(super) fn score_practice(&mut self, now: Now, w: &WrapUp) {
        let Some(s) = w
            .scenario
            .as_ref()
            .and_then(|id| self.scenarios.iter().find(|s| s.id == *id))
        else {
            return;
        };
        let Some(script) = self.scripts.get(&s.script) else {
            return;
        };
        let handle_ms = w
            .talk_ms
            .map(|t| t + now.unix_ms.saturating_sub(w.opened_ms).max(0));
        let attempt = Attempt {
            run: w.script.as_ref(),
            disposition: w.draft.disposition.as_deref(),
            transferred_to: w.transferred_to.as_deref(),
            handle_ms,
        };
        self.score = Some(score(s, script, attempt, |t| self.transfer_target(t)));
    }
}
