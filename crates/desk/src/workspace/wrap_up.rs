//! Wrap-up forms: drafts written while typing, saved one by one, every one
//! a crash left open brought back.

use super::*;

impl Workspace {
    pub(super) fn recover_drafts(&mut self, now: Now) {
        let Some(store) = &self.store else { return };
        let pending = match store.pending_wrap_ups() {
            Ok(p) => p,
            Err(e) => {
                self.notify(
                    now,
                    NoticeKind::StoreUnavailable {
                        error: e.to_string(),
                    },
                );
                return;
            }
        };
        let count = pending.len();
        // Every form left open comes back, the newest first.
        for (record, draft) in pending.into_iter().rev() {
            let id = self.id();
            self.wraps.push(WrapUp {
                id,
                call_id: record.call_id,
                direction: record.direction,
                number: record.number,
                name: record.name,
                started_ms: record.started_ms,
                transfers: record.transfers,
                draft,
                restored: true,
                opened_ms: now.unix_ms,
                script: None,
                scenario: None,
                talk_ms: None,
                transferred_to: None,
                dirty_since: None,
            });
        }
        self.attach_saved_runs();
        if count > 0 {
            self.notify(now, NoticeKind::Restored { count });
        }
    }

    // ------------------------------------------------------------ wrap-ups

    /// Time passed: drafts written, the wrap-up deadline.
    pub fn tick(&mut self, now: Now) {
        self.clock = now;
        self.flush_drafts(now, false);
        self.flush_call_drafts(now, false);
        self.give_up_dials(now);
        let fx = self.agent.apply(now.at, Input::Tick);
        if fx.iter().any(|e| matches!(e, Effect::StateChanged(_)))
            && !matches!(self.agent.state(), AgentState::WrapUp { .. })
        {
            // Auto-return: what was typed is kept as the note.
            self.finish_all_wrap_ups(now);
        }
        self.effects(fx);
        self.tick_mail(now, false);
        if crate::time::local_midnight(now.unix_ms) != self.day_start_ms {
            self.refresh_stats(now);
        }
        self.publish_presence(now);
    }

    pub(super) fn flush_drafts(&mut self, now: Now, force: bool) {
        let mut failed = None;
        for w in &mut self.wraps {
            let Some(since) = w.dirty_since else { continue };
            if !force && now.at.duration_since(since) < DRAFT_DELAY {
                continue;
            }
            match &self.store {
                Some(s) => match s.save_draft(&w.call_id, &w.draft, now.unix_ms) {
                    Ok(()) => w.dirty_since = None,
                    Err(e) => failed = Some(e.to_string()),
                },
                None => w.dirty_since = None,
            }
        }
        if let Some(error) = failed {
            self.notify(now, NoticeKind::DraftNotSaved { error });
        }
    }

    /// Saves one form; false when the store refused it (it stays open and
    /// a notice says why).
    pub(super) fn finish_wrap_up(&mut self, now: Now, id: ItemId) -> bool {
        let Some(pos) = self.wraps.iter().position(|w| w.id == id) else {
            return false;
        };
        // A form with mistakes keeps the wrap-up open: nothing half right
        // reaches fulfilment, and nothing typed is lost.
        let items = match self.wraps.get(pos).map(|w| self.form_deliveries(now, w)) {
            Some(Ok(mut items)) => {
                // The team's copy, in the same transaction as the record.
                if let Some(w) = self.wraps.get(pos)
                    && let Some(t) = self.team_copy(&w.call_id, Some(&w.draft), "wrapped", now)
                {
                    items.push(t);
                }
                items
            }
            Some(Err((form, mistakes))) => {
                self.notify(now, NoticeKind::FormIncomplete { form, mistakes });
                return false;
            }
            None => return false,
        };
        let w = self.wraps.remove(pos);
        // After-call work: from the form's opening to its saving; a form a
        // crash brought back counts none (its time is unknown).
        let acw = (!w.restored).then(|| now.unix_ms.saturating_sub(w.opened_ms).max(0));
        if let Some(s) = self.store.as_mut()
            && let Err(e) =
                s.finish_wrap_up_with(&w.call_id, &w.draft, &items, Some(now.unix_ms), acw)
        {
            self.wraps.insert(pos, w);
            self.notify(
                now,
                NoticeKind::WrapUpNotSaved {
                    error: e.to_string(),
                },
            );
            return false;
        }
        self.records += 1;
        if !items.is_empty() {
            self.out.push(Action::OutboxQueued);
        }
        if let Some(run) = &w.script {
            let (call_id, at) = (w.call_id.clone(), now.unix_ms);
            self.store_do(now, |s| s.save_script_run(&call_id, run, at));
        }
        self.score_practice(now, &w);
        if self.selected == Some(id) {
            self.selected = None;
        }
        self.refresh_stats(now);
        true
    }

    /// Every form of this after-call work saved as typed (the shift moves
    /// on: auto-return, break, offline), up to one the store refuses. Forms
    /// a crash brought back stay until the operator saves them.
    pub(super) fn finish_all_wrap_ups(&mut self, now: Now) {
        while let Some(id) = self.wraps.iter().find(|w| !w.restored).map(|w| w.id) {
            if !self.finish_wrap_up(now, id) {
                break;
            }
        }
    }

    /// Dials the phone never placed (no engine, a command lost) are given
    /// up after [`DIAL_TIMEOUT`]: the agent is free again and a notice says so.
    fn give_up_dials(&mut self, now: Now) {
        let expired: Vec<String> = self
            .dials
            .iter()
            .filter(|d| now.at.saturating_duration_since(d.at) >= DIAL_TIMEOUT)
            .map(|d| d.uri.clone())
            .collect();
        for uri in expired {
            self.dials.retain(|d| d.uri != uri);
            self.abandoned.push(uri.clone());
            let fx = self.agent.apply(now.at, Input::DialFailed);
            self.effects(fx);
            self.notify(
                now,
                NoticeKind::CommandFailed {
                    command: format!("call {uri}"),
                    error: "the phone did not place the call".into(),
                },
            );
        }
    }
}
