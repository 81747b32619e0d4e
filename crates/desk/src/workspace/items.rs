//! The work list: every interaction the operator has, and which one is in
//! the centre.

use super::{Call, ItemId, Phase, Workspace};
use crate::store::{Direction, Draft};

/// A wrap-up form.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapUp {
    /// Its work-list item.
    pub id: ItemId,
    /// The call's Call-ID.
    pub call_id: String,
    /// Which way the call went.
    pub direction: Direction,
    /// Whose call it was.
    pub number: String,
    /// Their name.
    pub name: Option<String>,
    /// When the call started (Unix ms; 0 when unknown).
    pub started_ms: i64,
    /// Where the call was transferred.
    pub transfers: Option<String>,
    /// What is typed so far.
    pub draft: Draft,
    /// Came back after a crash (not part of this after-call work).
    pub restored: bool,
    /// When the form opened (Unix ms): after-call work is counted from here.
    pub opened_ms: i64,
    /// The call's script run, carried on from the call.
    pub script: Option<crate::script::run::Run>,
    /// The practice scenario the call played.
    pub scenario: Option<String>,
    /// How long the call was up, ms (None: never answered, or unknown).
    pub talk_ms: Option<i64>,
    /// Where the call was put through (as dialled), if it was.
    pub transferred_to: Option<String>,
    pub(super) dirty_since: Option<std::time::Instant>,
}

impl WrapUp {
    /// Who the call was with, as a caller card (a wrap-up keeps the number
    /// and name, not the INVITE's fields).
    pub(crate) fn card(&self) -> crate::context::CallerCard {
        crate::context::CallerCard {
            number: self.number.clone(),
            name: self.name.clone(),
            ..crate::context::CallerCard::default()
        }
    }
}

/// A call that rang and was not answered, this shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// Its work-list item.
    pub id: ItemId,
    /// The call's Call-ID.
    pub call_id: String,
    /// The caller's address.
    pub uri: Option<String>,
    /// Who.
    pub number: String,
    /// Their name.
    pub name: Option<String>,
    /// Through which queue.
    pub queue: Option<String>,
    /// When it rang (Unix ms).
    pub at_ms: i64,
}

impl Missed {
    /// What to dial to call them back: the number, else their address.
    pub fn dial_back(&self) -> String {
        match (crate::dialplan::clean_number(&self.number), &self.uri) {
            (None, Some(uri)) => uri.clone(),
            _ => self.number.clone(),
        }
    }
}

/// What a work-list row shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// Ringing, offered.
    Ringing,
    /// Ringing while the operator talks.
    Waiting,
    /// Our call, not answered yet.
    Dialing,
    /// In hand.
    InHand,
    /// On hold behind the one in hand.
    Held,
    /// In hand, with a consultation under way.
    Consulting,
    /// In a three-way conference.
    Conference,
    /// A wrap-up to write.
    WrapUp,
    /// Missed.
    Missed,
    /// An e-mail this operator claimed.
    MailMine,
    /// An e-mail in the shared queue.
    MailQueued,
    /// A reply waiting for the customer's answer.
    MailWaiting,
}

/// One row of the work list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    /// Its id.
    pub id: ItemId,
    /// What it is.
    pub kind: WorkKind,
    /// Name or number.
    pub who: String,
    /// Queue or number, when there is one.
    pub detail: Option<String>,
    /// When it began: a call's start, a wrap-up's call, a missed call's ring (Unix ms).
    pub at_ms: i64,
}

/// What is in the centre.
#[derive(Debug, Clone, Copy)]
pub enum Focus<'a> {
    /// A call.
    Call(&'a Call),
    /// A wrap-up form.
    WrapUp(&'a WrapUp),
    /// A missed call.
    Missed(&'a Missed),
    /// An e-mail.
    Email(&'a super::Email),
    /// A reply waiting for the customer (its item, and it).
    MailWaiting(ItemId, &'a crate::email::Waiting),
    /// Nothing: dial.
    Idle,
}

impl Workspace {
    /// The work list: ringing first, then the call in hand, held calls,
    /// wrap-ups and missed calls.
    pub fn work_list(&self) -> Vec<WorkItem> {
        let hand = self.in_hand().map(|c| c.call);
        let mut out = Vec::new();
        let row = |c: &Call, kind| WorkItem {
            id: c.id,
            kind,
            who: c.who().to_owned(),
            detail: c
                .queue()
                .map(str::to_owned)
                .or_else(|| c.card.name.as_ref().map(|_| c.card.number.clone())),
            at_ms: c.started_ms,
        };
        for c in &self.calls {
            match c.phase {
                Phase::Offered => out.push(row(c, WorkKind::Ringing)),
                Phase::Waiting => out.push(row(c, WorkKind::Waiting)),
                _ => {}
            }
        }
        for c in &self.calls {
            let kind = match c.phase {
                Phase::Dialing { .. } => WorkKind::Dialing,
                Phase::Talking if Some(c.call) == hand => match &c.consult {
                    Some(k) if k.conference => WorkKind::Conference,
                    Some(_) => WorkKind::Consulting,
                    None => WorkKind::InHand,
                },
                _ => continue,
            };
            out.push(row(c, kind));
        }
        out.extend(self.held().map(|c| row(c, WorkKind::Held)));
        out.extend(self.wraps.iter().map(|w| WorkItem {
            id: w.id,
            kind: WorkKind::WrapUp,
            who: w.name.clone().unwrap_or_else(|| w.number.clone()),
            detail: w.name.as_ref().map(|_| w.number.clone()),
            at_ms: w.started_ms,
        }));
        self.mail_rows(&mut out);
        out.extend(self.missed.iter().map(|m| WorkItem {
            id: m.id,
            kind: WorkKind::Missed,
            who: m.name.clone().unwrap_or_else(|| m.number.clone()),
            detail: m.queue.clone(),
            at_ms: m.at_ms,
        }));
        out
    }

    /// What is in the centre: the item chosen, else the call in hand, the
    /// ringing call, the first wrap-up, or nothing.
    pub fn focus(&self) -> Focus<'_> {
        if let Some(id) = self.selected
            && let Some(f) = self.item(id)
        {
            return f;
        }
        if let Some(c) = self.in_hand() {
            return Focus::Call(c);
        }
        if let Some(c) = self.offered() {
            return Focus::Call(c);
        }
        match self.wraps.first() {
            Some(w) => Focus::WrapUp(w),
            None => Focus::Idle,
        }
    }

    pub(super) fn item(&self, id: ItemId) -> Option<Focus<'_>> {
        if let Some(c) = self.calls.iter().find(|c| c.id == id) {
            return Some(Focus::Call(c));
        }
        if let Some(w) = self.wraps.iter().find(|w| w.id == id) {
            return Some(Focus::WrapUp(w));
        }
        if let Some(m) = self.missed.iter().find(|m| m.id == id) {
            return Some(Focus::Missed(m));
        }
        self.mail_item(id)
    }

    /// The interaction in the centre — a call or a wrap-up — whose script,
    /// form and note the context tabs work on.
    pub fn focused_interaction(&self) -> Option<ItemId> {
        match self.focus() {
            Focus::Call(c) => Some(c.id),
            Focus::WrapUp(w) => Some(w.id),
            Focus::Missed(_) | Focus::Email(_) | Focus::MailWaiting(..) | Focus::Idle => None,
        }
    }

    /// The wrap-up in the centre, if one is.
    pub fn focused_wrap_up(&self) -> Option<&WrapUp> {
        match self.focus() {
            Focus::WrapUp(w) => Some(w),
            _ => None,
        }
    }
}
