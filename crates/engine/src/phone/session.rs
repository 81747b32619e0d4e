//! What the UA reports, and the calls it brings: an incoming INVITE gets
//! its port and our answer before it rings; a call that is up gets its
//! media; a call that ends leaves its conference, tells a transferor and
//! gives its port back.

use std::time::Instant;

use switchboard_sip::message::{Request, canonical_name};
use switchboard_sip::ua::{CallHandle, EndReason, Event};

use super::call::{Call, Link, Phase};
use super::offer::Session;
use super::transfer::TransferRequest;
use super::{Action, Ended, Phone, RtpSlot, SlotFor};
use crate::CallId;
use crate::error::SdpProblem;
use crate::events::EventKind;
use switchboard_media::offer_answer::NegotiationError;

impl Phone {
    /// An incoming INVITE has its port: offer/answer now, so a call we
    /// cannot carry is refused before it rings.
    pub(super) fn incoming(
        &mut self,
        now: Instant,
        slot: RtpSlot,
        port: u16,
        handle: CallHandle,
        request: &Request,
        replaces: Option<CallHandle>,
    ) {
        // SRTP keys are offered and accepted only over TLS (RFC 4568 §8.3).
        let secure = request
            .top_via()
            .is_ok_and(|v| v.transport.eq_ignore_ascii_case("TLS"));
        let local = self.local_media(port, secure);
        let refused = if !secure && self.policy.srtp == crate::SrtpPolicy::Mandatory {
            Err(SdpProblem::Unusable(NegotiationError::CryptoRequired))
        } else {
            Session::incoming(local, &request.body)
        };
        let session = match refused {
            Ok(s) => s,
            Err(e) => {
                let _ = self.ua.reject(now, handle, 488);
                self.out.push(Action::ReleaseRtp(slot));
                self.out.emit(EventKind::MessageRejected {
                    source: request.headers.get("Via").unwrap_or("").to_owned(),
                    status: Some(488),
                    error: format!("incoming call refused: {e}"),
                });
                return;
            }
        };
        let id = CallId::from(handle);
        let call_id = request.call_id().to_owned();
        self.calls.insert(
            id,
            Call::new(
                call_id.clone(),
                false,
                slot,
                session,
                Phase::Offered,
                Link::Alone,
            ),
        );
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|h| (canonical_name(&h.name).to_owned(), h.value.clone()))
            .collect();
        if let Some(old) = replaces {
            self.replaced(now, old.into(), id, call_id, headers);
            return;
        }
        self.out.emit(EventKind::Incoming {
            call: id,
            call_id,
            from: request.headers.get("From").unwrap_or("").to_owned(),
            to: request.headers.get("To").unwrap_or("").to_owned(),
            headers,
        });
        let others_up = self
            .calls
            .iter()
            .any(|(other, c)| *other != id && c.media_started);
        if self.policy.call_waiting_tone && others_up && !self.waiting_tone {
            self.waiting_tone = true;
            self.ring(true);
        }
    }

    /// Runs what the UA reports until it is quiet, then sends what waited.
    /// Bounded: each round consumes what the last produced.
    pub(super) fn settle(&mut self, now: Instant) {
        for _ in 0..64 {
            let mut busy = false;
            while let Some(t) = self.ua.poll_transmit() {
                busy = true;
                self.out.push(Action::Transmit(t));
            }
            while let Some(e) = self.ua.poll_event() {
                busy = true;
                self.ua_event(now, e);
            }
            busy |= self.send_queued_offers(now);
            if !busy {
                break;
            }
        }
        if self.stopping.is_some()
            && self.calls.is_empty()
            && self.slots.is_empty()
            && !self.ua.registration_active()
        {
            self.stop();
        }
    }

    /// Offers that had to wait for the dialog (the peer's own offer was
    /// being answered) go now if they can.
    pub(super) fn send_queued_offers(&mut self, now: Instant) -> bool {
        let queued: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.hold.offer_queued())
            .map(|(id, _)| *id)
            .collect();
        let mut sent = false;
        for id in queued {
            if let Ok(mut c) = self.call_mut(id) {
                sent |= c.send_queued_offer(now);
            }
        }
        sent
    }

    pub(super) fn ua_event(&mut self, now: Instant, e: Event) {
        match e {
            Event::Registered { expires } => {
                self.out.emit(EventKind::Registered { expires });
                self.subscribe_waiting(now);
            }
            Event::Subscribed { .. } => {}
            Event::Notified { subscription, body } => {
                self.presence_notified(now, subscription, &body)
            }
            Event::SubscriptionFailed {
                subscription,
                status,
                reason,
                retry_in,
            } => self.presence_failed(
                subscription,
                status,
                reason,
                retry_in.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
            ),
            Event::Unregistered => self.out.emit(EventKind::Unregistered),
            Event::RegistrationFailed {
                status,
                reason,
                retry_in,
            } => match self.fail_over(now, status) {
                // Another of the registrar's servers is tried now.
                Some(next) => self.out.emit(EventKind::RegistrationFailed {
                    status,
                    reason: format!("{reason}; trying the next server, {next}"),
                    retry_in_s: Some(0),
                }),
                None => self.out.emit(EventKind::RegistrationFailed {
                    status,
                    reason,
                    // Whole seconds, rounded up: "retry in 0 s" would be a lie.
                    retry_in_s: retry_in.map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
                }),
            },
            Event::Incoming {
                call,
                request,
                replaces,
            } => {
                let slot = RtpSlot(self.new_id());
                self.slots.insert(
                    slot,
                    SlotFor::Incoming {
                        handle: call,
                        request,
                        replaces,
                    },
                );
                self.out.push(Action::BindRtp(slot));
            }
            Event::Ringing { call, status } => {
                let id = CallId::from(call);
                self.report_to_transferor(now, id, status);
                if self.calls.get(&id).is_some_and(|c| c.outgoing) {
                    self.ringback(id, true);
                }
                self.out.emit(EventKind::Ringing { call: id, status });
            }
            Event::Established { call, remote_sdp } => {
                self.established(now, call.into(), &remote_sdp)
            }
            Event::Reoffer { call, offer } => match self.call_mut(call.into()) {
                Ok(mut c) => c.answer_reoffer(now, &offer),
                Err(_) => {
                    let _ = self.ua.answer_reoffer(now, call, Err(481));
                }
            },
            Event::ReofferAnswered { call, answer } => {
                let id = CallId::from(call);
                let consult = match self.call_mut(id) {
                    Ok(mut c) => c.offer_answered(now, &answer),
                    Err(_) => None,
                };
                if let Some(target) = consult {
                    self.consult_now(now, id, &target);
                }
            }
            Event::ReofferFailed { call, status } => {
                let id = CallId::from(call);
                let consult = match self.call_mut(id) {
                    Ok(mut c) => c.offer_refused(now, status),
                    Err(_) => None,
                };
                if let Some(target) = consult {
                    // The caller is held here either way: the consultation goes ahead.
                    self.consult_now(now, id, &target);
                }
            }
            Event::TransferProgress { call, status, done } => {
                self.transfer_progress(now, call.into(), status, done);
            }
            Event::Referred {
                call,
                target,
                replaces,
                referred_by,
            } => self.referred(
                now,
                call.into(),
                TransferRequest {
                    target,
                    replaces,
                    referred_by,
                },
            ),
            Event::Dtmf { call, key } => self.out.emit(EventKind::Dtmf {
                call: call.into(),
                digit: key.to_string(),
            }),
            Event::Ended {
                call,
                reason,
                status,
            } => self.ended(now, call.into(), reason, status),
            Event::Rejected {
                source,
                status,
                error,
            } => self.out.emit(EventKind::MessageRejected {
                source: source.to_string(),
                status,
                error,
            }),
            Event::AckMissing { call, peer } => self.out.emit(EventKind::AckMissing {
                call: call.map(CallId::from),
                peer: peer.to_string(),
            }),
            other => {
                debug_assert!(false, "the core does not handle the UA's {other:?}");
            }
        }
    }

    pub(super) fn established(&mut self, now: Instant, id: CallId, remote_sdp: &[u8]) {
        self.ringback(id, false);
        let seed = self.next_random();
        let Ok(mut c) = self.call_mut(id) else {
            debug_assert!(
                false,
                "the UA established call {id}, which the core never had"
            );
            return;
        };
        if let Err(e) = c.start_media(remote_sdp, seed) {
            let _ = c.ua.hangup(now, id.into());
            c.out.fail(format!("media {id}"), e);
            return;
        }
        let (call_id, outgoing) = (c.call.call_id.clone(), c.call.outgoing);
        self.report_to_transferor(now, id, 200);
        self.out.emit(EventKind::Established {
            call: id,
            call_id,
            outgoing,
        });
        self.ringing_settled();
    }

    pub(super) fn ended(
        &mut self,
        now: Instant,
        id: CallId,
        reason: EndReason,
        status: Option<u16>,
    ) {
        // An incoming call that went before its port came.
        let waiting: Vec<RtpSlot> = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(s, SlotFor::Incoming { handle, .. } if CallId::from(*handle) == id))
            .map(|(slot, _)| *slot)
            .collect();
        for slot in waiting {
            self.slots.remove(&slot);
        }
        if !self.calls.contains_key(&id) {
            return;
        }
        self.ringback(id, false);
        // A call placed for a transferor that never got up.
        self.report_to_transferor(now, id, status.filter(|s| *s >= 300).unwrap_or(487));
        self.leave_conference(id);
        let Some(call) = self.calls.remove(&id) else {
            unreachable!("call {id} was just found");
        };
        if !call.media_started {
            self.out.push(Action::ReleaseRtp(call.slot));
        }
        self.out.push(Action::Ended(Ended {
            call: id,
            call_id: call.call_id,
            reason,
            status,
            calls_left: self.calls.len(),
        }));
        self.ringing_settled();
    }
}
