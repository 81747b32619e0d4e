//! One call as the core sees it: where it is in its life ([`Phase`]), its
//! session description ([`Session`]), whether we hold it ([`Hold`]), how it
//! is tied to other calls ([`Link`]) and a transfer under way
//! ([`Transfer`]). Each of these is one enum, so a call cannot be both
//! "resuming" and "held", or a consultation for two calls.
//!
//! [`CallMut`] is a short-lived handle on one call together with what it may
//! touch (the UA and the outbox): the methods that change one call live on
//! it, so they need no lookups and cannot act on a stale id.

use switchboard_sip::ua::UserAgent;

use super::hold::Hold;
use super::offer::Session;
use super::transfer::{Transfer, TransferRequest};
use super::{BridgeId, MediaOrder, Outbox, RtpSlot};
use crate::CallId;

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Incoming and ringing: not answered yet.
    Offered,
    /// Incoming, answered: waiting for the ACK.
    Answered,
    /// Outgoing: the INVITE is on its way or ringing.
    Dialling,
    /// Established.
    Up,
}

/// How a call is tied to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// On its own.
    Alone,
    /// The consultation call of an attended transfer of that held call.
    ConsultationFor(CallId),
    /// We placed it because the peer of that call asked us to (we are being
    /// transferred); its progress is reported there until it is final.
    PlacedFor(CallId),
    /// In a local conference with `with`, mixed in `bridge`; a
    /// consultation that became one keeps its held call for the transfer.
    Conference {
        with: CallId,
        bridge: BridgeId,
        consultation_for: Option<CallId>,
    },
}

impl Link {
    /// The held call this is a consultation for, in a conference or not.
    pub(crate) fn consultation_for(&self) -> Option<CallId> {
        match self {
            Link::ConsultationFor(c) => Some(*c),
            Link::Conference {
                consultation_for, ..
            } => *consultation_for,
            Link::Alone | Link::PlacedFor(_) => None,
        }
    }

    /// The other call of a conference.
    pub(crate) fn conference(&self) -> Option<(CallId, BridgeId)> {
        match self {
            Link::Conference { with, bridge, .. } => Some((*with, *bridge)),
            _ => None,
        }
    }

    /// What is left when the conference ends.
    pub(crate) fn without_conference(self) -> Link {
        match self {
            Link::Conference {
                consultation_for: Some(c),
                ..
            } => Link::ConsultationFor(c),
            Link::Conference {
                consultation_for: None,
                ..
            } => Link::Alone,
            other => other,
        }
    }
}

/// One call.
#[derive(Debug)]
pub(crate) struct Call {
    /// Its SIP Call-ID.
    pub(crate) call_id: String,
    /// We placed it.
    pub(crate) outgoing: bool,
    /// Its RTP/RTCP sockets (the pump's once media runs).
    pub(crate) slot: RtpSlot,
    pub(crate) phase: Phase,
    pub(crate) session: Session,
    /// The media pump runs.
    pub(crate) media_started: bool,
    pub(crate) hold: Hold,
    /// The peer holds us (our side of the session does not send).
    pub(crate) remote_held: bool,
    /// The hold state last reported (`held` event): here, by the peer.
    pub(crate) reported_hold: (bool, bool),
    pub(crate) link: Link,
    /// Our REFER to the peer, under way.
    pub(crate) transfer: Option<Transfer>,
    /// The peer's REFER to us, waiting for the operator (policy `ask`).
    pub(crate) referral: Option<TransferRequest>,
}

impl Call {
    pub(crate) fn new(
        call_id: String,
        outgoing: bool,
        slot: RtpSlot,
        session: Session,
        phase: Phase,
        link: Link,
    ) -> Call {
        Call {
            call_id,
            outgoing,
            slot,
            phase,
            session,
            media_started: false,
            hold: Hold::Live,
            remote_held: false,
            reported_hold: (false, false),
            link,
            transfer: None,
            referral: None,
        }
    }
}

/// A borrowed handle on one call and what it may touch.
pub(crate) struct CallMut<'a> {
    pub(crate) id: CallId,
    pub(crate) call: &'a mut Call,
    pub(crate) ua: &'a mut UserAgent,
    pub(crate) out: &'a mut Outbox,
}

impl CallMut<'_> {
    /// An order to the call's pump, if it runs.
    pub(crate) fn order(&mut self, order: MediaOrder) {
        if self.call.media_started {
            self.out.media(self.id, order);
        }
    }
}
