//! Hold and resume as one state machine.
//!
//! ```text
//!            hold                    answer
//!   Live ──────────▶ Holding ───────────────▶ Held
//!    ▲                 │  ▲ resume / hold        │
//!    │   answer        ▼  │ (remembered)         │ resume
//!    └──────────── Resuming ◀────────────────────┘
//! ```
//!
//! Holding takes effect here at once — the caller hears the hold tune and
//! we no longer hear them — and the peer is told with a `sendonly`
//! re-offer. Resuming waits for the peer's answer: until then the caller
//! keeps hearing the tune. One offer is in flight at a time; a wish that
//! changes meanwhile is remembered (`then_resume`, `then_hold`) and offered
//! when the answer comes. An offer that must wait for the dialog (the
//! peer's own offer is being answered) is `Queued` and goes as soon as it
//! can. A refused offer leaves the call held here: a caller is never put
//! back on the line by a peer's refusal.

use std::time::Instant;

use switchboard_media::sdp::Direction;
use switchboard_sip::ua::UaError;

use super::MediaOrder;
use super::call::CallMut;
use crate::error::CommandError;
use crate::events::EventKind;

/// Whether our re-offer has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// On its way: the answer decides.
    Sent,
    /// Waiting for the dialog to be free.
    Queued,
}

/// Whether we hold the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Talking.
    Live,
    /// Held, and the peer was told (or refused to hear of it).
    Held,
    /// Held here; the `sendonly` offer is under way.
    Holding {
        turn: Turn,
        /// Resume was asked for meanwhile.
        then_resume: bool,
        /// A consultation call waits for this hold (attended transfer).
        then_consult: Option<String>,
    },
    /// Still held here; the `sendrecv` offer is under way.
    Resuming {
        turn: Turn,
        /// Hold was asked for meanwhile.
        then_hold: bool,
    },
}

impl Hold {
    /// The caller hears the hold tune and is not heard.
    pub(crate) fn held_here(&self) -> bool {
        !matches!(self, Hold::Live)
    }

    /// What the operator last asked for: held or not.
    pub(crate) fn wants_held(&self) -> bool {
        match self {
            Hold::Live => false,
            Hold::Held => true,
            Hold::Holding { then_resume, .. } => !then_resume,
            Hold::Resuming { then_hold, .. } => *then_hold,
        }
    }

    /// An offer waits for the dialog.
    pub(crate) fn offer_queued(&self) -> bool {
        matches!(
            self,
            Hold::Holding {
                turn: Turn::Queued,
                ..
            } | Hold::Resuming {
                turn: Turn::Queued,
                ..
            }
        )
    }

    /// An offer is on its way (or waits to be sent again after a 491).
    pub(crate) fn offer_sent(&self) -> bool {
        matches!(
            self,
            Hold::Holding {
                turn: Turn::Sent,
                ..
            } | Hold::Resuming {
                turn: Turn::Sent,
                ..
            }
        )
    }
}

fn direction(hold: bool) -> Direction {
    if hold {
        Direction::SendOnly
    } else {
        Direction::SendRecv
    }
}

impl CallMut<'_> {
    /// Sends (or queues) our re-offer with direction `sendonly` (hold) or
    /// `sendrecv`.
    fn offer(&mut self, now: Instant, hold: bool) -> Result<Turn, CommandError> {
        let sdp = self.call.session.reoffer(direction(hold));
        match self.ua.reoffer(now, self.id.into(), sdp.clone()) {
            Ok(()) => {
                self.call.session.offered(sdp);
                Ok(Turn::Sent)
            }
            Err(UaError::Pending) => Ok(Turn::Queued),
            Err(e) => Err(e.into()),
        }
    }

    /// Reports the hold state when it changed.
    pub(crate) fn report_hold(&mut self) {
        let now = (self.call.hold.held_here(), self.call.remote_held);
        if self.call.reported_hold != now {
            self.call.reported_hold = now;
            self.out.emit(EventKind::Held {
                call: self.id,
                local: now.0,
                remote: now.1,
            });
        }
    }

    fn hold_tone(&mut self, on: bool) {
        self.order(MediaOrder::HoldTone(on));
    }

    /// Holds the call: at once here, then the peer is told. Should the peer
    /// not be told (the dialog refuses), the call is held here all the same
    /// and the error says why.
    pub(crate) fn hold(&mut self, now: Instant) -> Result<(), CommandError> {
        if !self.call.media_started {
            return Err(CommandError::NoMedia);
        }
        let mut result = Ok(());
        self.call.hold = match std::mem::replace(&mut self.call.hold, Hold::Live) {
            Hold::Live => {
                self.hold_tone(true);
                match self.offer(now, true) {
                    Ok(turn) => Hold::Holding {
                        turn,
                        then_resume: false,
                        then_consult: None,
                    },
                    Err(e) => {
                        result = Err(e);
                        Hold::Held
                    }
                }
            }
            Hold::Held => Hold::Held,
            Hold::Holding {
                turn, then_consult, ..
            } => Hold::Holding {
                turn,
                then_resume: false,
                then_consult,
            },
            Hold::Resuming { turn, .. } => Hold::Resuming {
                turn,
                then_hold: true,
            },
        };
        self.report_hold();
        result
    }

    /// Takes the call off hold once the peer agrees (until then the caller
    /// keeps hearing the hold tune).
    pub(crate) fn resume(&mut self, now: Instant) -> Result<(), CommandError> {
        if !self.call.media_started {
            return Err(CommandError::NoMedia);
        }
        let mut result = Ok(());
        self.call.hold = match std::mem::replace(&mut self.call.hold, Hold::Live) {
            Hold::Live => Hold::Live,
            Hold::Held => match self.offer(now, false) {
                Ok(turn) => Hold::Resuming {
                    turn,
                    then_hold: false,
                },
                Err(e) => {
                    self.call.session.set_direction(direction(true));
                    result = Err(e);
                    Hold::Held
                }
            },
            Hold::Holding {
                turn, then_consult, ..
            } => Hold::Holding {
                turn,
                then_resume: true,
                then_consult,
            },
            Hold::Resuming { turn, .. } => Hold::Resuming {
                turn,
                then_hold: false,
            },
        };
        result
    }

    /// After our offer ended (answered or refused) the call is `Held` or
    /// `Live`; a wish changed meanwhile is offered now.
    fn settle_wish(&mut self, now: Instant, wish_held: bool) {
        let held = self.call.hold.held_here();
        if wish_held == held {
            return;
        }
        let r = if wish_held {
            self.hold(now)
        } else {
            self.resume(now)
        };
        if let Err(e) = r {
            self.out.fail(format!("re-offer on call {}", self.id), e);
        }
    }

    /// The peer answered our re-offer. Returns the consultation target that
    /// waited for this hold, if any.
    pub(crate) fn offer_answered(&mut self, now: Instant, answer: &[u8]) -> Option<String> {
        let n = match self.call.session.accept_reanswer(answer) {
            Ok(n) => n,
            Err(e) => {
                self.out.fail(
                    format!("re-offer on call {}", self.id),
                    CommandError::Sdp(e),
                );
                return self.offer_over(now, false);
            }
        };
        self.order(MediaOrder::Update(Box::new(n)));
        self.call.remote_held = self.call.session.remote_holds();
        self.offer_over(now, true)
    }

    /// The peer refused our re-offer: what was agreed before still holds,
    /// and the call stays held here.
    pub(crate) fn offer_refused(&mut self, now: Instant, status: u16) -> Option<String> {
        self.out.fail(
            format!("re-offer on call {}", self.id),
            CommandError::Refused(status),
        );
        self.offer_over(now, false)
    }

    fn offer_over(&mut self, now: Instant, agreed: bool) -> Option<String> {
        let (wish, consult) = match std::mem::replace(&mut self.call.hold, Hold::Held) {
            Hold::Holding {
                then_resume,
                then_consult,
                ..
            } => (!then_resume, then_consult),
            Hold::Resuming { then_hold, .. } if agreed => {
                // Live again; a hold asked for meanwhile is offered anew
                // (the tune keeps playing: the caller is never heard).
                self.call.hold = Hold::Live;
                if !then_hold {
                    self.hold_tone(false);
                }
                (then_hold, None)
            }
            // Refused: the caller stays held (the wish is not offered again:
            // the peer just said no).
            Hold::Resuming { .. } => (true, None),
            other => {
                debug_assert!(false, "an answer to an offer we did not make ({other:?})");
                self.call.hold = other;
                return None;
            }
        };
        self.call
            .session
            .set_direction(direction(self.call.hold.held_here()));
        self.settle_wish(now, wish);
        self.report_hold();
        consult
    }

    /// Sends an offer that waited for the dialog; true if it left (or
    /// failed for good).
    pub(crate) fn send_queued_offer(&mut self, now: Instant) -> bool {
        let hold = match &self.call.hold {
            Hold::Holding {
                turn: Turn::Queued, ..
            } => true,
            Hold::Resuming {
                turn: Turn::Queued, ..
            } => false,
            _ => return false,
        };
        match self.offer(now, hold) {
            Ok(Turn::Queued) => false,
            Ok(Turn::Sent) => {
                match &mut self.call.hold {
                    Hold::Holding { turn, .. } | Hold::Resuming { turn, .. } => *turn = Turn::Sent,
                    Hold::Live | Hold::Held => {
                        unreachable!("the offer was queued for a hold state just matched")
                    }
                }
                true
            }
            Err(e) => {
                // The dialog will not take it: held here, as after a refusal.
                self.call.hold = Hold::Held;
                self.out.fail(format!("re-offer on call {}", self.id), e);
                self.report_hold();
                true
            }
        }
    }

    /// The peer's new offer (re-INVITE or UPDATE): answered with our side's
    /// direction as we hold it.
    pub(crate) fn answer_reoffer(&mut self, now: Instant, offer: &[u8]) {
        match self.call.session.answer_peer(offer) {
            Ok((sdp, n)) => {
                let (codec, dir) = (n.codec.to_string(), n.direction.as_str().to_owned());
                self.order(MediaOrder::Update(Box::new(n)));
                let _ = self.ua.answer_reoffer(now, self.id.into(), Ok(sdp));
                // Our own offer, waiting after a 491, goes with the
                // description's new version.
                if self.call.hold.offer_sent() {
                    let hold = matches!(self.call.hold, Hold::Holding { .. });
                    let again = self.call.session.reoffer(direction(hold));
                    if self.ua.refresh_reoffer(self.id.into(), again.clone()) {
                        self.call.session.offered(again);
                    }
                }
                self.out.emit(EventKind::MediaUpdated {
                    call: self.id,
                    codec,
                    direction: dir,
                });
                self.call.remote_held = self.call.session.remote_holds();
                self.report_hold();
            }
            Err(e) => {
                let _ = self.ua.answer_reoffer(now, self.id.into(), Err(488));
                self.out.fail(
                    format!("the peer's re-offer on call {} (refused 488)", self.id),
                    CommandError::Sdp(e),
                );
            }
        }
    }

    /// The call is up: the media pump starts with what was agreed.
    pub(crate) fn start_media(&mut self, remote_sdp: &[u8], seed: u64) -> Result<(), CommandError> {
        let n = self.call.session.establish(remote_sdp)?;
        self.call.phase = super::call::Phase::Up;
        self.call.media_started = true;
        self.out.push(super::Action::StartMedia {
            call: self.id,
            slot: self.call.slot,
            negotiated: Box::new(n),
            seed,
        });
        Ok(())
    }
}
