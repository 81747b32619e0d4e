//! What this desk tells the team's board, and the operator's raised hand.
//!
//! With the team database on, every input that changes what the agent is
//! doing (state, the caller in hand, a hand raised) queues one
//! [`Action::TeamPresence`] with an [`AgentPresence`]; nothing is sent when
//! nothing changed, so a tick costs no write. "Since" moves only when the
//! state itself changes (a second call answered straight after the first
//! is still "in call since").
//!
//! [`Op::RaiseHand`] asks the supervisor for help on the call in hand; it
//! is lowered by [`Op::LowerHand`] or when that call leaves the operator's
//! hands (ends, is transferred, is held for another).

use super::*;
use crate::team::AgentPresence;

/// An unchanged presence is sent again this often, so the board can tell a
/// desk that is still there from one that closed or died.
pub(super) const PRESENCE_HEARTBEAT_MS: i64 = 60_000;

impl Workspace {
    /// The extension this desk is at (for the supervisor's listen codes).
    pub fn set_extension(&mut self, extension: Option<String>) {
        self.supervision.extension = extension.filter(|e| !e.trim().is_empty());
    }

    /// When the operator raised a hand on the call in hand, if they did.
    pub fn hand_raised(&self) -> Option<i64> {
        let (call, at) = self.supervision.help?;
        (self.in_hand()?.call == call).then_some(at)
    }

    /// The desk is closing: the board hears that this agent is offline.
    pub fn publish_closing(&mut self, now: Now) {
        if !self.team {
            return;
        }
        let p = self.presence_now(now, true);
        self.supervision.published = Some(p.clone());
        self.out.push(Action::TeamPresence(p));
    }

    pub(super) fn raise_hand(&mut self, now: Now, up: bool) {
        self.supervision.help = match (up, self.in_hand()) {
            (true, Some(c)) => Some((c.call, now.unix_ms)),
            _ => None,
        };
    }

    /// Queues the agent's presence for the team if it changed.
    pub(super) fn publish_presence(&mut self, now: Now) {
        if !self.team {
            return;
        }
        if self.supervision.help.is_some() && self.hand_raised().is_none() {
            self.supervision.help = None;
        }
        let p = self.presence_now(now, false);
        let last = self.supervision.published.as_ref();
        if last.is_some_and(|l| l.same_as(&p) && now.unix_ms - l.updated_ms < PRESENCE_HEARTBEAT_MS)
        {
            return;
        }
        self.supervision.published = Some(p.clone());
        self.out.push(Action::TeamPresence(p));
    }

    /// What the board is told now: the agent's state, the caller in hand
    /// and a raised hand (or, `closing`, offline with neither), each copy
    /// strictly newer than the last, even within one millisecond (the
    /// database keeps only a newer one).
    fn presence_now(&self, now: Now, closing: bool) -> AgentPresence {
        let (state, reason) = match self.agent.state() {
            _ if closing => ("offline", None),
            AgentState::Offline => ("offline", None),
            AgentState::Available => ("available", None),
            AgentState::Break { reason } => ("break", Some(reason.clone())),
            AgentState::Dialing { .. } => ("dialing", None),
            AgentState::Ringing { .. } => ("ringing", None),
            AgentState::InCall { .. } => ("in_call", None),
            AgentState::WrapUp { .. } => ("wrap_up", None),
        };
        let in_hand = match closing {
            true => None,
            false => self.in_hand().or_else(|| self.offered()),
        };
        let last = self.supervision.published.as_ref();
        let since_ms = match last {
            Some(p) if !closing && p.state == state && p.reason == reason => p.since_ms,
            _ => now.unix_ms,
        };
        AgentPresence {
            agent: self.operator.0.clone(),
            extension: self.supervision.extension.clone(),
            state: state.to_owned(),
            reason,
            since_ms,
            call_number: in_hand.map(|c| c.card.number.clone()),
            call_name: in_hand.and_then(|c| c.card.name.clone()),
            help_since_ms: if closing { None } else { self.hand_raised() },
            updated_ms: last.map_or(now.unix_ms, |l| now.unix_ms.max(l.updated_ms + 1)),
        }
    }
}

impl Workspace {
    /// A contact was added, changed (`deleted` false) or deleted here: the
    /// team gets the change through the outbox (the newest change of a
    /// number wins there, see `crate::team::TeamContact`).
    pub fn contact_changed(&mut self, now: Now, contact: &crate::store::Contact, deleted: bool) {
        if !self.team || contact.number.trim().is_empty() {
            return;
        }
        let c = crate::team::TeamContact::of(contact, &self.operator.0, deleted, now.unix_ms);
        let item = crate::team::contact_item(&c);
        self.store_do(now, |s| s.enqueue(&item, now.unix_ms).map(|_| ()));
        self.out.push(Action::OutboxQueued);
    }

    /// The team's contact for a ringing call's number: a desk that has
    /// none of its own learns it (kept in its store, shown on the card);
    /// its own contact stands otherwise.
    pub fn team_contact(
        &mut self,
        now: Now,
        call_id: &str,
        found: Option<crate::team::TeamContact>,
    ) {
        let Some(found) = found.filter(|c| !c.deleted) else {
            return;
        };
        let Some(call) = self.calls.iter().find(|c| c.call_id == call_id) else {
            return;
        };
        if call.contact.is_some() {
            return;
        }
        let contact = found.to_contact();
        self.store_do(now, |s| s.add_contact(&contact).map(|_| ()));
        if let Some(c) = self.calls.iter_mut().find(|c| c.call_id == call_id) {
            if c.card.name.is_none() {
                c.card.name = Some(contact.name.clone());
            }
            c.contact = Some(contact);
        }
    }
}

/// This desk's part of the team's board.
#[derive(Debug, Default)]
pub(super) struct Supervision {
    extension: Option<String>,
    /// A hand raised: on which call, since when (Unix ms).
    help: Option<(CallRef, i64)>,
    /// What was last queued.
    published: Option<AgentPresence>,
}
