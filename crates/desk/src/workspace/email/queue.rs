//! The mailbox worker's reports: the queue listed, claims won and lost,
//! mails downloaded; the CRM looked up for a claimed mail's sender.

use super::*;
use crate::email::{ClaimedBy, Listed, MailCommand, MailDraft, MailEvent, Uid};
use std::collections::HashSet;
use std::sync::Arc;
use switchboard_mail::message::parse;

impl Workspace {
    // ------------------------------------------------------------ settings

    /// The shared mailbox (None: no e-mail channel). Mails a crash left
    /// claimed come back with their drafts.
    pub fn set_mail(&mut self, now: Now, config: Option<MailConfig>) {
        let on = config.is_some();
        self.mail.config = config;
        self.mail.link = if on {
            MailLink::Connecting
        } else {
            MailLink::None
        };
        if on && self.mail.emails.is_empty() {
            self.recover_emails(now);
        }
        self.refresh_mail(now);
    }

    /// Calls only (no new e-mails), or both channels.
    pub fn set_calls_only(&mut self, on: bool) {
        self.mail.calls_only = on;
    }

    pub(in crate::workspace) fn recover_emails(&mut self, now: Now) {
        let Some(store) = &self.store else { return };
        let saved = match store.open_emails() {
            Ok(s) => s,
            Err(e) => {
                let error = e.to_string();
                self.notify(now, NoticeKind::StoreUnavailable { error });
                return;
            }
        };
        let count = saved.len();
        for s in saved {
            let id = self.id();
            let earlier = s.reopens.and_then(|r| {
                self.store
                    .as_ref()
                    .and_then(|st| st.earlier_email(r).ok().flatten())
            });
            let message = s.raw.as_deref().map(parse);
            self.mail.emails.push(Email {
                id,
                listed: Listed {
                    uid: s.uid,
                    modseq: 0,
                    from: s.from,
                    subject: s.subject,
                    date_ms: s.received_ms,
                    size: s.raw.as_ref().map_or(0, |r| r.len() as u32),
                    claimed_by: ClaimedBy::Me,
                    message_id: s.message_id,
                    answers: Vec::new(),
                },
                status: MailStatus::Mine,
                row: Some(s.row),
                message,
                raw: s.raw.map(Arc::new),
                error: None,
                draft: s.draft,
                lang: None,
                earlier,
                reopens: s.reopens,
                claimed_ms: Some(s.claimed_ms),
                gone: false,
                crm: None,
                team: None,
                touched: now.at,
                dirty_since: None,
            });
        }
        if count > 0 {
            self.notify(now, NoticeKind::MailRestored { count });
        }
        self.crm_for_mine();
    }

    /// The day's figures and the waiting-for-customer list, from the store.
    pub(in crate::workspace) fn refresh_mail(&mut self, now: Now) {
        let Some(store) = &self.store else { return };
        let day = store.mail_day_stats(self.day_start_ms);
        let waiting = store.waiting_emails(now.unix_ms, WAITING_ROWS);
        match (day, waiting) {
            (Ok(day), Ok(waiting)) => {
                self.mail.day = day;
                let old = std::mem::take(&mut self.mail.waiting);
                for w in waiting {
                    let id = old
                        .iter()
                        .find(|(_, o)| o.row == w.row)
                        .map(|(i, _)| *i)
                        .unwrap_or_else(|| self.id());
                    self.mail.waiting.push((id, w));
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                let error = e.to_string();
                self.notify(now, NoticeKind::StoreUnavailable { error });
            }
        }
    }

    pub(in crate::workspace) fn mail_cmd(&mut self, c: MailCommand) {
        self.out.push(Action::Mail(c));
    }

    // ------------------------------------------------------------ the worker's reports

    /// What the mailbox worker reported.
    pub fn mail_event(&mut self, now: Now, ev: MailEvent) {
        self.clock = now;
        match ev {
            MailEvent::Connected => {
                self.mail.link = MailLink::Online;
                self.mail.appending.clear();
                let mut again: Vec<Uid> = self.mail.closed.iter().copied().collect();
                again.sort();
                for uid in again {
                    self.mail_cmd(MailCommand::Done(uid));
                }
                // Mails of ours whose download was cut off (or never
                // happened) are fetched again.
                let fetch: Vec<Uid> = self
                    .mail
                    .emails
                    .iter()
                    .filter(|e| e.status == MailStatus::Mine && e.raw.is_none() && !e.gone)
                    .map(|e| e.listed.uid)
                    .collect();
                for uid in fetch {
                    self.mail_cmd(MailCommand::Fetch(uid));
                }
                self.sent_copies(now);
            }
            MailEvent::Offline { error } => {
                if self.mail.link != MailLink::Offline(error.clone()) {
                    self.notify(
                        now,
                        NoticeKind::MailOffline {
                            error: error.clone(),
                        },
                    );
                }
                self.mail.link = MailLink::Offline(error);
                // What was asked of the server is asked again once it is back.
                for e in &mut self.mail.emails {
                    if e.status == MailStatus::Claiming {
                        e.status = MailStatus::Queued;
                    }
                }
            }
            MailEvent::Listed(list) => self.listed(now, list),
            MailEvent::Claimed { uid, won } => self.claimed(now, uid, won),
            MailEvent::Fetched { uid, raw } => {
                let Some(e) = self.mail.emails.iter_mut().find(|e| e.listed.uid == uid) else {
                    return;
                };
                e.message = Some(parse(&raw));
                e.error = None;
                let row = e.row;
                let raw = Arc::new(raw);
                e.raw = Some(raw.clone());
                if let Some(row) = row {
                    self.store_do(now, |s| s.email_raw(row, &raw));
                }
            }
            MailEvent::Failed {
                uid,
                command,
                error,
            } => {
                if let Some(e) =
                    uid.and_then(|u| self.mail.emails.iter_mut().find(|e| e.listed.uid == u))
                {
                    match command {
                        "claim" => e.status = MailStatus::Queued,
                        "fetch" => e.error = Some(error.clone()),
                        _ => {}
                    }
                }
                // A move to Done that failed stays closed here and is asked
                // again when the mailbox is back (see Connected).
                self.notify(
                    now,
                    NoticeKind::MailFailed {
                        command: command.to_owned(),
                        error,
                    },
                );
            }
            MailEvent::Appended(row) => {
                self.mail.appending.remove(&row);
                self.store_do(now, |s| s.sent_copy_done(row, now.unix_ms));
            }
            MailEvent::Moved(_) => {}
        }
    }

    pub(in crate::workspace) fn listed(&mut self, now: Now, list: Vec<Listed>) {
        self.mail.link = MailLink::Online;
        let present: HashSet<Uid> = list.iter().map(|l| l.uid).collect();
        self.mail.closed.retain(|u| present.contains(u));
        // Mails that left the inbox: the queue's go; the operator's stay
        // readable, marked gone.
        self.mail.emails.retain_mut(|e| {
            if present.contains(&e.listed.uid) {
                return true;
            }
            e.gone = true;
            e.status == MailStatus::Mine
        });
        let mut taken = Vec::new();
        // One pass over the list, by UID (5,000 mails are 5,000 look-ups).
        let index: std::collections::HashMap<Uid, usize> = self
            .mail
            .emails
            .iter()
            .enumerate()
            .map(|(i, e)| (e.listed.uid, i))
            .collect();
        let mut dropped: HashSet<Uid> = HashSet::new();
        let mut ours = Vec::new();
        let mut fresh = Vec::new();
        for l in list {
            if self.mail.closed.contains(&l.uid) {
                continue;
            }
            if let Some(e) = index.get(&l.uid).and_then(|&i| self.mail.emails.get_mut(i)) {
                e.gone = false;
                match (&l.claimed_by, e.status) {
                    (ClaimedBy::Other(_), MailStatus::Claiming) => {
                        taken.push(e.listed.subject.clone());
                        dropped.insert(l.uid);
                    }
                    (ClaimedBy::Other(_), MailStatus::Queued) => {
                        dropped.insert(l.uid);
                    }
                    (ClaimedBy::Me, MailStatus::Queued) => {
                        // Ours (claimed before a restart, or from this desk
                        // before the claim's answer was lost).
                        ours.push(l.uid);
                        e.listed = l;
                    }
                    _ => {
                        e.listed.modseq = l.modseq;
                        e.listed.claimed_by = l.claimed_by;
                        if e.listed.answers.is_empty() {
                            e.listed.answers = l.answers;
                        }
                        if e.listed.message_id.is_none() {
                            e.listed.message_id = l.message_id;
                        }
                    }
                }
                continue;
            }
            if l.claimed_by == ClaimedBy::Me
                && self
                    .store
                    .as_ref()
                    .is_some_and(|s| s.email_closed(&l).unwrap_or(false))
            {
                // Handled here before a restart; its move to Done was lost.
                self.mail.closed.insert(l.uid);
                self.mail_cmd(MailCommand::Done(l.uid));
                continue;
            }
            fresh.push(l);
        }
        if !dropped.is_empty() {
            self.mail
                .emails
                .retain(|e| !dropped.contains(&e.listed.uid));
        }
        for l in fresh {
            if matches!(l.claimed_by, ClaimedBy::Other(_)) {
                continue;
            }
            let mine = l.claimed_by == ClaimedBy::Me;
            let reopens = self
                .store
                .as_ref()
                .and_then(|s| s.email_answered(&l.answers).ok().flatten());
            let earlier = reopens.and_then(|r| {
                self.store
                    .as_ref()
                    .and_then(|s| s.earlier_email(r).ok().flatten())
            });
            let id = self.id();
            let uid = l.uid;
            self.mail.emails.push(Email {
                id,
                listed: l,
                status: MailStatus::Queued,
                row: None,
                message: None,
                raw: None,
                error: None,
                draft: MailDraft::default(),
                lang: None,
                earlier,
                reopens,
                claimed_ms: None,
                gone: false,
                crm: None,
                team: None,
                touched: now.at,
                dirty_since: None,
            });
            if mine {
                ours.push(uid);
            }
        }
        for uid in ours {
            self.adopt(now, uid);
        }
        for subject in taken {
            self.notify(now, NoticeKind::MailTaken { subject });
        }
        if self.selected.is_some_and(|s| self.item(s).is_none()) {
            self.selected = None;
        }
    }

    pub(in crate::workspace) fn claimed(&mut self, now: Now, uid: Uid, won: bool) {
        let Some(i) = self.mail.emails.iter().position(|e| e.listed.uid == uid) else {
            return;
        };
        if !won {
            let e = self.mail.emails.remove(i);
            if self.selected == Some(e.id) {
                self.selected = None;
            }
            self.notify(
                now,
                NoticeKind::MailTaken {
                    subject: e.listed.subject,
                },
            );
            return;
        }
        self.adopt(now, uid);
    }

    /// A mail that is ours: recorded (with a draft typed before, if any) and downloaded.
    pub(in crate::workspace) fn adopt(&mut self, now: Now, uid: Uid) {
        let agent = self.operator.0.clone();
        let Some(e) = self.mail.emails.iter_mut().find(|e| e.listed.uid == uid) else {
            return;
        };
        e.status = MailStatus::Mine;
        e.listed.claimed_by = ClaimedBy::Me;
        e.touched = now.at;
        e.claimed_ms.get_or_insert(now.unix_ms);
        if e.row.is_none()
            && let Some(store) = &self.store
        {
            match store.claim_email(&e.listed, now.unix_ms, e.reopens, &agent) {
                Ok((row, draft)) => {
                    e.row = Some(row);
                    if e.draft == MailDraft::default() {
                        e.draft = draft;
                    }
                    if e.reopens.is_some() {
                        // The conversation it answers waits no more.
                        self.refresh_mail(now);
                    }
                }
                Err(err) => {
                    let error = err.to_string();
                    self.notify(now, NoticeKind::StoreUnavailable { error });
                }
            }
        }
        let Some(e) = self.mail.emails.iter().find(|e| e.listed.uid == uid) else {
            return;
        };
        if e.raw.is_none() {
            self.mail_cmd(MailCommand::Fetch(uid));
        }
        self.crm_for_email(uid);
        self.team_for_email(uid);
    }

    /// Asks the CRM for the senders of the operator's mails not yet looked up
    /// (a CRM configured after the mails came back from a restart).
    pub(in crate::workspace) fn crm_for_mine(&mut self) {
        let mine: Vec<Uid> = self
            .mail
            .emails
            .iter()
            .filter(|e| e.status == MailStatus::Mine)
            .map(|e| e.listed.uid)
            .collect();
        for uid in mine {
            self.crm_for_email(uid);
            self.team_for_email(uid);
        }
    }

    /// The team's look-up for the mail `row` ([`Action::LookupTeamMail`]) answered.
    pub fn mail_team_result(
        &mut self,
        row: EmailRow,
        result: Result<Vec<crate::team::Interaction>, String>,
    ) {
        if let Some(e) = self.mail.emails.iter_mut().find(|e| e.row == Some(row)) {
            e.team = Some(match result {
                Ok(found) => crate::team::TeamView::Found(found),
                Err(e) => crate::team::TeamView::Failed(e),
            });
        }
    }

    /// Asks the team database for its interactions with the sender of a
    /// claimed mail, once (answered through [`Workspace::mail_team_result`]).
    pub(in crate::workspace) fn team_for_email(&mut self, uid: Uid) {
        if !self.team {
            return;
        }
        let Some(e) = self.mail.emails.iter_mut().find(|e| e.listed.uid == uid) else {
            return;
        };
        let (Some(row), None) = (e.row, &e.team) else {
            return;
        };
        let address = sender_address(&e.listed.from);
        if !plain_address(&address) {
            return;
        }
        e.team = Some(crate::team::TeamView::Pending);
        self.out.push(Action::LookupTeamMail {
            row,
            address: address.to_lowercase(),
        });
    }

    /// Asks the CRM for the sender of a claimed mail, once.
    pub(in crate::workspace) fn crm_for_email(&mut self, uid: Uid) {
        let Some(crm) = self.crm.as_ref().filter(|c| c.by_email()) else {
            return;
        };
        let Some(e) = self.mail.emails.iter_mut().find(|e| e.listed.uid == uid) else {
            return;
        };
        let (Some(row), None) = (e.row, &e.crm) else {
            return;
        };
        let address = sender_address(&e.listed.from);
        if !plain_address(&address) {
            return;
        }
        let card = crate::context::CallerCard {
            name: Some(sender_name(&e.listed.from)),
            email: Some(address),
            ..Default::default()
        };
        let key = mail_crm_key(row);
        let url = crm.url_for(&card, &key);
        e.crm = Some(CrmView {
            link: crm.link_for(&card, &key),
            state: CrmState::Pending,
        });
        self.out.push(Action::LookupCrm { call_id: key, url });
    }

    /// A CRM answer for an e-mail's sender (`call_id` as [`mail_crm_key`]).
    pub(in crate::workspace) fn mail_crm_result(
        &mut self,
        key: &str,
        result: &Result<Vec<(String, String)>, String>,
    ) {
        for e in &mut self.mail.emails {
            if e.row.map(mail_crm_key).as_deref() == Some(key)
                && let Some(v) = e.crm.as_mut()
            {
                v.state = match result {
                    Ok(f) => CrmState::Fields(f.clone()),
                    Err(err) => CrmState::Failed(err.clone()),
                };
            }
        }
    }
}

/// The address in a From line (`Name <a@b>`, or the bare address).
pub(in crate::workspace) fn sender_address(from: &str) -> String {
    match from.rsplit_once('<') {
        Some((_, rest)) => rest.trim_end_matches('>').trim().to_owned(),
        None => from.trim().to_owned(),
    }
}
