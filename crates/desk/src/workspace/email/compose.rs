//! What the operator does with a mail: take it, type, fill a template,
//! send, forward, close, give it back.

use super::*;
use crate::email::{ClaimedBy, MailCommand, MailOutcome, pick_template};
use switchboard_mail::message::Address;

impl Workspace {
    // ------------------------------------------------------------ the operator

    pub(in crate::workspace) fn apply_mail(&mut self, now: Now, id: ItemId, op: MailOp) {
        if let Some(e) = self.email_mut(id) {
            e.touched = now.at;
        }
        match op {
            MailOp::Open => self.open_mail(now, id),
            MailOp::Edit(draft) => {
                if let Some(e) = self.email_mut(id)
                    && e.status == MailStatus::Mine
                    && e.draft != draft
                {
                    e.draft = draft;
                    e.dirty_since.get_or_insert(now.at);
                }
            }
            MailOp::Template { id: tid, lang } => self.template(now, id, &tid, &lang),
            MailOp::Send => self.close_mail(now, id, MailOutcome::Replied),
            MailOp::Forward => self.close_mail(now, id, MailOutcome::Forwarded),
            MailOp::Close => self.close_mail(now, id, MailOutcome::Closed),
            MailOp::Release => self.release(now, id),
        }
    }

    pub(in crate::workspace) fn open_mail(&mut self, now: Now, id: ItemId) {
        if self.item(id).is_some() {
            self.selected = Some(id);
        }
        let takes = self.takes_email();
        let online = self.mail.link == MailLink::Online;
        let Some(e) = self.email_mut(id) else { return };
        if e.status != MailStatus::Queued {
            return;
        }
        if !takes {
            self.notify(now, NoticeKind::MailNotNow);
            return;
        }
        if !online {
            let error = match &self.mail.link {
                MailLink::Offline(e) => e.clone(),
                _ => "not connected yet".to_owned(),
            };
            self.notify(now, NoticeKind::MailOffline { error });
            return;
        }
        e.status = MailStatus::Claiming;
        let (uid, modseq) = (e.listed.uid, e.listed.modseq);
        self.mail_cmd(MailCommand::Claim { uid, modseq });
    }

    pub(in crate::workspace) fn template(&mut self, now: Now, id: ItemId, tid: &str, lang: &str) {
        let Some(cfg) = &self.mail.config else { return };
        let found = cfg.templates.iter().find(|t| t.id == tid && t.lang == lang);
        let Some(t) = found
            .or_else(|| pick_template(&cfg.templates, tid, &self.operator.1))
            .cloned()
        else {
            return;
        };
        let operator = self.operator.0.clone();
        let Some(e) = self.email_mut(id) else { return };
        if e.status != MailStatus::Mine {
            return;
        }
        let name = e
            .message
            .as_ref()
            .and_then(|m| m.from.name.clone())
            .unwrap_or_else(|| e.who());
        let mut vars = std::collections::BTreeMap::new();
        vars.insert("customer.name".to_owned(), name);
        vars.insert("operator.name".to_owned(), operator);
        if !e.draft.reference.trim().is_empty() {
            vars.insert("ticket".to_owned(), e.draft.reference.trim().to_owned());
            vars.insert("order".to_owned(), e.draft.reference.trim().to_owned());
        }
        let text = crate::script::fill(&t.text, &vars);
        e.draft.reply = if e.draft.reply.trim().is_empty() {
            text
        } else {
            format!("{text}\n\n{}", e.draft.reply)
        };
        e.lang = Some(t.lang.clone());
        e.dirty_since.get_or_insert(now.at);
    }

    pub(in crate::workspace) fn release(&mut self, now: Now, id: ItemId) {
        let Some(e) = self.email_mut(id) else { return };
        if e.status != MailStatus::Mine {
            return;
        }
        e.status = MailStatus::Queued;
        e.listed.claimed_by = ClaimedBy::Nobody;
        let (uid, row, draft) = (e.listed.uid, e.row.take(), e.draft.clone());
        if let Some(row) = row {
            self.store_do(now, |s| {
                s.email_draft(row, &draft)?;
                s.release_email(row)
            });
        }
        if let Some(e) = self.email_mut(id) {
            e.dirty_since = None;
        }
        if self.mail.parked == Some(id) {
            self.mail.parked = None;
        }
        self.mail_cmd(MailCommand::Release(uid));
    }

    /// Sends (reply, forward) or not (close), records the wrap-up, moves the mail to Done.
    pub(in crate::workspace) fn close_mail(&mut self, now: Now, id: ItemId, outcome: MailOutcome) {
        let Some(cfg) = self.mail.config.clone() else {
            return;
        };
        let Some(e) = self.email(id).cloned() else {
            return;
        };
        let Some(row) = e.row.filter(|_| e.status == MailStatus::Mine) else {
            return;
        };
        let lang = e.lang.clone().unwrap_or_else(|| self.operator.1.clone());
        let from = Address {
            name: cfg.name.clone(),
            email: cfg.address.clone(),
        };
        let outgoing = match outcome {
            MailOutcome::Closed => None,
            MailOutcome::Replied | MailOutcome::Forwarded => {
                let Some(message) = &e.message else {
                    self.notify(now, NoticeKind::MailNotReady);
                    return;
                };
                if e.draft.reply.trim().is_empty() && outcome == MailOutcome::Replied {
                    self.notify(now, NoticeKind::MailNotReady);
                    return;
                }
                let (to, out) = if outcome == MailOutcome::Replied {
                    let Some(to) = e.reply_to().map(|a| a.email.clone()) else {
                        self.notify(now, NoticeKind::MailNoAddress);
                        return;
                    };
                    let out = switchboard_mail::reply::reply(message, &from, &e.draft.reply, &lang);
                    (to, out)
                } else {
                    let to = e.draft.forward_to.trim().to_owned();
                    if !plain_address(&to) {
                        self.notify(now, NoticeKind::MailNoAddress);
                        return;
                    }
                    let target = Address {
                        name: None,
                        email: to.clone(),
                    };
                    let raw = e.raw.as_deref().map_or(&[][..], |r| &r[..]);
                    let out = switchboard_mail::reply::forward(
                        message,
                        raw,
                        &from,
                        &target,
                        &e.draft.reply,
                        &lang,
                    );
                    (to, out)
                };
                Some((to, out))
            }
        };
        let key = outgoing
            .as_ref()
            .map(|_| format!("mail/{}/{}", row.0, outcome.as_str()));
        let items: Vec<crate::outbox::NewItem> = outgoing
            .iter()
            .map(|(to, out)| crate::outbox::NewItem {
                key: key.clone().unwrap_or_default(),
                call_id: None,
                delivery: crate::outbox::Delivery::Mail {
                    from: cfg.address.clone(),
                    to: vec![to.clone()],
                    raw: out.raw.clone(),
                },
                payload: serde_json::json!({
                    "subject": e.listed.subject,
                    "to": to,
                    "message_id": out.message_id,
                }),
            })
            .collect();
        let out_id = outgoing.as_ref().map(|(_, o)| o.message_id.clone());
        let team_item = self.team_mail_copy(&e, outcome, now);
        let Some(store) = &self.store else {
            self.notify(
                now,
                NoticeKind::WrapUpNotSaved {
                    error: "no database: the e-mail cannot be recorded".into(),
                },
            );
            return;
        };
        let saved = (|| {
            for item in items.iter().chain(&team_item) {
                store.enqueue(item, now.unix_ms)?;
            }
            store.close_email(
                row,
                &e.draft,
                outcome,
                out_id.as_deref(),
                key.as_deref(),
                now.unix_ms,
            )
        })();
        if let Err(err) = saved {
            self.notify(
                now,
                NoticeKind::WrapUpNotSaved {
                    error: err.to_string(),
                },
            );
            return;
        }
        self.records += 1;
        self.mail.emails.retain(|m| m.id != id);
        if !e.gone {
            self.mail.closed.insert(e.listed.uid);
            self.mail_cmd(MailCommand::Done(e.listed.uid));
        }
        if !items.is_empty() || team_item.is_some() {
            self.out.push(Action::OutboxQueued);
        }
        if self.selected == Some(id) {
            self.selected = None;
        }
        if self.mail.parked == Some(id) {
            self.mail.parked = None;
        }
        self.refresh_mail(now);
    }

    /// The team's copy of an e-mail being closed (sent, forwarded or
    /// closed): the sender's address stands where a call has the number.
    fn team_mail_copy(
        &self,
        e: &Email,
        outcome: MailOutcome,
        now: Now,
    ) -> Option<crate::outbox::NewItem> {
        if !self.team {
            return None;
        }
        let address = super::queue::sender_address(&e.listed.from);
        let key = match &e.listed.message_id {
            Some(id) => format!("mail:{id}"),
            None => format!(
                "mail:uid{}-{}@{}",
                e.listed.uid.0,
                e.claimed_ms.unwrap_or(0),
                self.operator.0
            ),
        };
        let i = crate::team::Interaction {
            key: key.clone(),
            kind: "mail".into(),
            agent: self.operator.0.clone(),
            number: address.to_lowercase(),
            name: Some(sender_name(&e.listed.from)).filter(|n| !n.is_empty()),
            direction: "in".into(),
            outcome: Some(outcome.as_str().to_owned()),
            outcome_detail: Some(e.draft.forward_to.clone()).filter(|f| !f.trim().is_empty()),
            started_ms: e.listed.date_ms.or(e.claimed_ms).unwrap_or(now.unix_ms),
            answered_ms: e.claimed_ms,
            ended_ms: Some(now.unix_ms),
            disposition: e.draft.disposition.clone(),
            ticket: Some(e.draft.reference.clone()).filter(|r| !r.trim().is_empty()),
            note: Some(e.draft.note.clone()).filter(|n| !n.trim().is_empty()),
            transfers: None,
            script: None,
            form: None,
            updated_ms: now.unix_ms,
        };
        Some(crate::team::outbox_item(&i, "closed", &key))
    }
}
