//! Time and the two channels: drafts written, claims left sitting given
//! back, the e-mail parked while a call has the centre, copies for Sent.

use super::*;
use crate::email::{EmailRow, MailCommand, MailDraft};

impl Workspace {
    // ------------------------------------------------------------ time and blending

    /// Drafts written, untouched claims given back, a call's arrival parks
    /// the e-mail in the centre and its end brings it back.
    pub(in crate::workspace) fn tick_mail(&mut self, now: Now, force: bool) {
        // Drafts.
        let due: Vec<(EmailRow, MailDraft)> = self
            .mail
            .emails
            .iter_mut()
            .filter(|e| {
                e.dirty_since
                    .is_some_and(|t| force || now.at.duration_since(t) >= DRAFT_DELAY)
            })
            .filter_map(|e| {
                e.dirty_since = None;
                e.row.map(|r| (r, e.draft.clone()))
            })
            .collect();
        for (row, draft) in due {
            if let Some(s) = &self.store
                && let Err(err) = s.email_draft(row, &draft)
            {
                let error = err.to_string();
                self.notify(now, NoticeKind::DraftNotSaved { error });
            }
        }
        // Claims left sitting.
        if let Some(after) = self.mail.config.as_ref().map(|c| c.release_after) {
            let keep = [self.selected, self.mail.parked];
            let stale: Vec<ItemId> = self
                .mail
                .emails
                .iter()
                .filter(|e| e.status == MailStatus::Mine && !e.gone)
                .filter(|e| !keep.contains(&Some(e.id)))
                .filter(|e| now.at.duration_since(e.touched) >= after)
                .map(|e| e.id)
                .collect();
            if !stale.is_empty() {
                let count = stale.len();
                for id in stale {
                    self.release(now, id);
                }
                self.notify(now, NoticeKind::MailReleased { count });
            }
        }
        // A wrap-up ended by its deadline brings the parked e-mail back.
        self.blend(self.selected);
    }

    /// Parks the e-mail that was in the centre when a call takes it (rings
    /// to the operator, or is answered), and brings it back when the calls
    /// and their wrap-ups are done. `before`: what was selected before the input.
    pub(in crate::workspace) fn blend(&mut self, before: Option<ItemId>) {
        let calling = self.in_hand().is_some() || self.offered().is_some();
        if calling
            && self.mail.parked.is_none()
            && let Some(id) = before
            && self.selected != Some(id)
            // The call took the centre (not the operator moving to another e-mail).
            && self
                .selected
                .is_none_or(|s| self.calls.iter().any(|c| c.id == s))
            && self.email(id).is_some_and(|e| e.status == MailStatus::Mine)
        {
            self.mail.parked = Some(id);
        }
        if calling
            && let Some(id) = self.mail.parked
            && self.selected == Some(id)
        {
            // The operator went back to the e-mail during the call.
            self.mail.parked = None;
        }
        if !calling
            && self.wraps.is_empty()
            && !matches!(self.agent.state(), AgentState::WrapUp { .. })
            && let Some(id) = self.mail.parked.take()
            && self.email(id).is_some()
            && self.selected.is_none_or(|s| self.item(s).is_none())
        {
            self.selected = Some(id);
        }
    }

    /// The agent went offline: the mails without typed text go back to the
    /// queue (those with a draft stay claimed, so nothing typed is lost).
    pub(in crate::workspace) fn mail_offline(&mut self, now: Now) {
        self.tick_mail(now, true);
        let idle: Vec<ItemId> = self
            .mail
            .emails
            .iter()
            .filter(|e| e.status == MailStatus::Mine && !e.gone && e.draft == MailDraft::default())
            .map(|e| e.id)
            .collect();
        let count = idle.len();
        for id in idle {
            self.release(now, id);
        }
        if count > 0 {
            self.notify(now, NoticeKind::MailReleased { count });
        }
    }

    /// The desk is closing: drafts written, untyped claims given back.
    pub fn mail_shutdown(&mut self, now: Now) {
        self.mail_offline(now);
    }

    /// The outbox moved: copies of sent replies go to the Sent folder.
    pub fn outbox_changed(&mut self, now: Now) {
        self.sent_copies(now);
        self.refresh_mail(now);
        self.records += 1;
    }

    pub(in crate::workspace) fn sent_copies(&mut self, now: Now) {
        if self.mail.link != MailLink::Online {
            return;
        }
        let Some(store) = &self.store else { return };
        let due = match store.sent_copies_due() {
            Ok(d) => d,
            Err(e) => {
                let error = e.to_string();
                self.notify(now, NoticeKind::StoreUnavailable { error });
                return;
            }
        };
        let mut cmds = Vec::new();
        for c in due {
            if self.mail.appending.contains(&c.row) {
                continue;
            }
            if let Ok(Some(item)) = store.outbox_item(&c.outbox_key)
                && let crate::outbox::Delivery::Mail { raw, .. } = item.delivery
            {
                cmds.push(MailCommand::AppendSent { row: c.row, raw });
            }
        }
        for c in cmds {
            if let MailCommand::AppendSent { row, .. } = &c {
                self.mail.appending.insert(*row);
            }
            self.mail_cmd(c);
        }
    }
}
