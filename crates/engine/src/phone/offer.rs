//! Offer/answer (RFC 3264) for one call: the first exchange (our offer in
//! the INVITE, or our answer to the peer's; an INVITE without SDP gets our
//! offer in the 200), our re-offers (hold, resume) and the peer's.
//!
//! The SDP's `o=` version goes up by one with every description we send
//! (RFC 3264 §8); an offer that has to wait for the dialog is only counted
//! when it leaves.

use switchboard_media::offer_answer::{self, LocalMedia, Negotiated};
use switchboard_media::sdp::{Direction, SessionDescription};

use crate::error::{CommandError, SdpProblem};

/// Our side of a call's session description and what was agreed.
#[derive(Debug)]
pub(crate) struct Session {
    local: LocalMedia,
    /// The description we sent last (or will send with the 200).
    local_sdp: Vec<u8>,
    /// The first exchange was our offer (an outgoing call, or an incoming
    /// INVITE without SDP): the peer's description at establishment is the
    /// answer.
    we_offered: bool,
    negotiated: Option<Negotiated>,
}

impl Session {
    /// A call we place: our offer goes in the INVITE.
    pub(crate) fn outgoing(local: LocalMedia) -> Session {
        Session {
            local_sdp: offer_answer::offer(&local).to_bytes(),
            local,
            we_offered: true,
            negotiated: None,
        }
    }

    /// An incoming INVITE with `body`: our answer to its offer, or our
    /// offer when it had none. `Err`: its offer cannot be carried (488).
    pub(crate) fn incoming(local: LocalMedia, body: &[u8]) -> Result<Session, SdpProblem> {
        if body.is_empty() {
            return Ok(Session::outgoing(local));
        }
        let offer = SessionDescription::parse(body)?;
        let (sdp, n) = offer_answer::answer(&local, &offer)?;
        Ok(Session {
            local,
            local_sdp: sdp.to_bytes(),
            we_offered: false,
            negotiated: Some(n),
        })
    }

    /// The description to send now (offer in the INVITE, answer in the 200).
    pub(crate) fn local_sdp(&self) -> &[u8] {
        &self.local_sdp
    }

    /// What was agreed, once it was.
    pub(crate) fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The call is up: the peer's description answers our offer (or we
    /// answered theirs already). What the media runs with.
    pub(crate) fn establish(&mut self, remote_sdp: &[u8]) -> Result<Negotiated, CommandError> {
        if self.we_offered {
            let sd = SessionDescription::parse(remote_sdp).map_err(SdpProblem::from)?;
            let n = offer_answer::accept_answer(&self.local, &sd).map_err(SdpProblem::from)?;
            self.negotiated = Some(n);
        }
        self.negotiated
            .clone()
            .ok_or(CommandError::Sdp(SdpProblem::Missing))
    }

    /// Our next offer, with our side's direction `direction` (which is also
    /// how we answer the peer's offers from now on). Counted by
    /// [`Session::offered`] when it leaves.
    pub(crate) fn reoffer(&mut self, direction: Direction) -> Vec<u8> {
        self.local.direction = direction;
        let mut next = self.local.clone();
        next.version += 1;
        offer_answer::offer(&next).to_bytes()
    }

    /// Our side's direction from now on (in the next offer and answers),
    /// without offering it.
    pub(crate) fn set_direction(&mut self, direction: Direction) {
        self.local.direction = direction;
    }

    /// The offer from [`Session::reoffer`] left.
    pub(crate) fn offered(&mut self, sdp: Vec<u8>) {
        self.local.version += 1;
        self.local_sdp = sdp;
    }

    /// The peer answered our re-offer.
    pub(crate) fn accept_reanswer(&mut self, answer: &[u8]) -> Result<Negotiated, SdpProblem> {
        let sd = SessionDescription::parse(answer)?;
        let n = offer_answer::accept_answer(&self.local, &sd)?;
        self.negotiated = Some(n.clone());
        Ok(n)
    }

    /// Our answer to the peer's new offer.
    pub(crate) fn answer_peer(
        &mut self,
        offer: &[u8],
    ) -> Result<(Vec<u8>, Negotiated), SdpProblem> {
        let o = SessionDescription::parse(offer)?;
        let mut next = self.local.clone();
        next.version += 1;
        let (sdp, n) = offer_answer::answer(&next, &o)?;
        self.local = next;
        let bytes = sdp.to_bytes();
        self.local_sdp = bytes.clone();
        self.negotiated = Some(n.clone());
        Ok((bytes, n))
    }

    /// Whether the peer holds us: our side of what was agreed does not send
    /// (`recvonly` when only they hold, `inactive` when we hold too).
    pub(crate) fn remote_holds(&self) -> bool {
        self.negotiated
            .as_ref()
            .is_some_and(|n| matches!(n.direction, Direction::RecvOnly | Direction::Inactive))
    }
}
