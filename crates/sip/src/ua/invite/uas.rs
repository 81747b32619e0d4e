//! The calls we receive (RFC 3261 §13.3, the UAS side): a new INVITE (with
//! Replaces, RFC 3891, allowed past the call limit), CANCEL, the ACK for our
//! 2xx, the answer or refusal the application gives, and every request that
//! arrives inside a dialog (§12.2.2): BYE, re-INVITE and UPDATE (new offers
//! or target refreshes, 491 while an offer is pending), INFO (DTMF),
//! OPTIONS, and NOTIFY/REFER, which go on to [`crate::ua::control`].

use std::net::SocketAddr;
use std::time::Instant;

use super::{Call, CallState};
use crate::dialog::Dialog;
use crate::header::Via;
use crate::message::{Method, Request};
use crate::ua::router::server_key;
use crate::ua::timer::CallTimer;
use crate::ua::{
    ALLOW, CallHandle, EndReason, Event, Transport, UaError, UserAgent, error_status, finish,
    response_for,
};

/// The key of a DTMF INFO body: `application/dtmf-relay` (`Signal=5`) or
/// `application/dtmf` (`5`).
fn info_dtmf(req: &Request) -> Option<char> {
    let ct = req.headers.get("Content-Type")?.to_ascii_lowercase();
    let body = std::str::from_utf8(&req.body).ok()?;
    let raw = if ct.starts_with("application/dtmf-relay") {
        body.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
        })?
    } else if ct.starts_with("application/dtmf") {
        body.trim()
    } else {
        return None;
    };
    let key = match raw {
        "10" => '*',
        "11" => '#',
        _ => {
            let mut chars = raw.chars();
            let c = chars.next()?.to_ascii_uppercase();
            if chars.next().is_some() {
                return None;
            }
            c
        }
    };
    matches!(key, '0'..='9' | '*' | '#' | 'A'..='D').then_some(key)
}

impl UserAgent {
    pub(in crate::ua) fn handle_invite(
        &mut self,
        now: Instant,
        key: &str,
        dest: (Transport, SocketAddr),
        req: Request,
    ) {
        // Replaces (RFC 3891): the call it names must exist; it may take
        // that call's place even at the call limit.
        let replaces = match self.match_replaces(&req) {
            Some(Ok(h)) => Some(h),
            Some(Err(status)) => {
                self.answer_simple(now, key, status, &[]);
                return;
            }
            None => None,
        };
        if replaces.is_none() && self.active_calls() >= self.config.max_calls {
            let busy = self.config.busy_status;
            self.answer_simple(now, key, busy, &[]);
            return;
        }
        let local_tag = self.token();
        let Some(dialog) = Dialog::from_uas(&req, &local_tag) else {
            // No usable Contact: we could never reach the caller in the dialog.
            self.answer_simple(now, key, 400, &[]);
            return;
        };
        let handle = CallHandle(self.next_call);
        self.next_call += 1;
        let mut trying = response_for(&req, 100, None);
        self.respond(now, key, &mut trying, &[], None);
        let mut ringing = response_for(&req, 180, Some(&local_tag));
        ringing.headers.push("Contact", self.contact(dest.0));
        self.respond(now, key, &mut ringing, &[], None);
        if let Some(st) = self.server.get_mut(key) {
            st.call = Some(handle);
        }
        self.dialogs.insert(dialog.id.clone(), handle);
        let mut call = Call::new(
            CallState::Offered,
            false,
            req.call_id().to_owned(),
            local_tag,
            dest,
            req.clone(),
            key.to_owned(),
        );
        call.dialog = Some(dialog);
        call.remote_sdp = req.body.clone();
        if let Some(after) = self.config.ring_timeout {
            call.timers.set(CallTimer::RingTimeout, now + after);
        }
        self.calls.insert(handle, call);
        self.events.push_back(Event::Incoming {
            call: handle,
            request: Box::new(req),
            replaces,
        });
    }

    pub(in crate::ua) fn handle_cancel(
        &mut self,
        now: Instant,
        dest: (Transport, SocketAddr),
        req: &Request,
        via: &Via,
    ) {
        // The CANCEL matches the INVITE server transaction with the same branch.
        let mut invite = req.clone();
        invite.method = Method::Invite;
        let ikey = server_key(&invite, via);
        let call = self.server.get(&ikey).and_then(|s| s.call);
        let mut resp = response_for(req, if call.is_some() { 200 } else { 481 }, None);
        resp.headers.push("Server", self.config.user_agent.clone());
        finish(&mut resp.headers, &[], None);
        self.send(dest, resp.to_bytes());
        let Some(handle) = call else { return };
        if self
            .calls
            .get(&handle)
            .is_some_and(|c| c.state == CallState::Offered)
        {
            let tag = self.calls.get(&handle).map(|c| c.local_tag.clone());
            // The 487 answers the INVITE: its CSeq, not the CANCEL's.
            let Some(original) = self.server.get(&ikey).map(|s| s.request.clone()) else {
                return;
            };
            let mut r = response_for(&original, 487, tag.as_deref());
            self.respond(now, &ikey, &mut r, &[], None);
            self.end_call(now, handle, EndReason::RemoteCancelled, None);
        }
    }

    pub(in crate::ua) fn handle_ack(&mut self, req: &Request) {
        let Some(id) = Self::dialog_id_of_request(req) else {
            return;
        };
        let Some(&handle) = self.dialogs.get(&id) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let seq = req.cseq().map(|c| c.seq).ok();
        if call
            .reoffer_ok
            .as_ref()
            .is_some_and(|(s, _)| Some(*s) == seq)
        {
            // The ACK for our answer to a re-INVITE.
            call.stop_reoffer_ok();
            return;
        }
        if call.state == CallState::Answered {
            call.stop_ok();
            call.state = CallState::Established;
            if !req.body.is_empty() {
                call.remote_sdp = req.body.clone();
            }
            let remote_sdp = call.remote_sdp.clone();
            self.events.push_back(Event::Established {
                call: handle,
                remote_sdp,
            });
        }
    }

    pub(in crate::ua) fn handle_in_dialog(
        &mut self,
        now: Instant,
        key: &str,
        req: &Request,
        _to_tag: &str,
    ) {
        let handle = Self::dialog_id_of_request(req).and_then(|id| self.dialogs.get(&id).copied());
        let Some(handle) = handle else {
            self.answer_simple(now, key, 481, &[]);
            return;
        };
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        let in_order = self
            .calls
            .get_mut(&handle)
            .and_then(|c| c.dialog.as_mut())
            .is_some_and(|d| d.accept_remote_seq(seq));
        if !in_order {
            self.answer_simple(now, key, 500, &[]);
            return;
        }
        match req.method {
            Method::Bye => {
                self.answer_simple(now, key, 200, &[]);
                let live = self
                    .calls
                    .get(&handle)
                    .is_some_and(|c| c.state != CallState::Ended);
                if live {
                    self.end_call(now, handle, EndReason::RemoteHangup, None);
                }
            }
            Method::Invite | Method::Update => {
                // A target refresh, and with a body a new offer the application answers.
                // RFC 3261 §14.2: an offer is already pending, theirs or ours
                // (glare: both re-INVITEs get 491 and are retried later).
                let busy = self.calls.get(&handle).is_some_and(|c| {
                    c.reoffer.is_some() || c.local_reoffer.as_ref().is_some_and(|r| r.seq.is_some())
                });
                if busy {
                    self.answer_simple(now, key, 491, &[]);
                    return;
                }
                if !req.body.is_empty() {
                    if let Some(c) = self.calls.get_mut(&handle) {
                        if let Some(d) = c.dialog.as_mut() {
                            d.refresh_target(&req.headers);
                        }
                        c.remote_sdp = req.body.clone();
                        c.reoffer = Some((key.to_owned(), req.clone()));
                    }
                    self.events.push_back(Event::Reoffer {
                        call: handle,
                        offer: req.body.clone(),
                    });
                    return;
                }
                let (sdp, transport) = match self.calls.get_mut(&handle) {
                    Some(c) => {
                        if let Some(d) = c.dialog.as_mut() {
                            d.refresh_target(&req.headers);
                        }
                        (c.local_sdp.clone(), c.peer.0)
                    }
                    None => (Vec::new(), Transport::Udp),
                };
                let tag = self.calls.get(&handle).map(|c| c.local_tag.clone());
                let mut resp = response_for(req, 200, tag.as_deref());
                resp.headers.push("Contact", self.contact(transport));
                self.respond(now, key, &mut resp, &sdp, Some("application/sdp"));
            }
            Method::Info => {
                // DTMF over SIP INFO (application/dtmf-relay or application/dtmf),
                // the fallback for peers without RFC 4733.
                if let Some(key) = info_dtmf(req) {
                    self.events.push_back(Event::Dtmf { call: handle, key });
                }
                self.answer_simple(now, key, 200, &[]);
            }
            Method::Options => self.answer_simple(now, key, 200, &[]),
            Method::Notify => self.handle_notify(now, key, handle, req),
            Method::Refer => self.handle_refer(now, key, handle, req),
            _ => self.answer_simple(now, key, 405, &[("Allow", ALLOW.to_owned())]),
        }
    }

    /// Answers an incoming call with `sdp`.
    pub fn answer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Vec<u8>,
    ) -> Result<(), UaError> {
        let call = self.calls.get_mut(&handle).ok_or(UaError::UnknownCall)?;
        if call.state != CallState::Offered {
            return Err(UaError::WrongState);
        }
        call.local_sdp = sdp.clone();
        let mut resp = response_for(&call.invite, 200, Some(&call.local_tag));
        let key = call.invite_key.clone();
        let transport = call.peer.0;
        resp.headers.push("Contact", self.contact(transport));
        resp.headers.push("Allow", ALLOW);
        resp.headers.push("Server", self.config.user_agent.clone());
        resp.body = sdp.clone();
        finish(&mut resp.headers, &sdp, Some("application/sdp"));
        let bytes = resp.to_bytes();
        if let Some(st) = self.server.get_mut(&key) {
            st.tx.send_response(now, 200, bytes.clone());
        }
        if let Some(call) = self.calls.get_mut(&handle) {
            call.state = CallState::Answered;
            call.start_ok(now, bytes, transport.reliable());
        }
        self.flush_tx();
        Ok(())
    }

    /// Answers a pending [`Event::Reoffer`]: `Ok(sdp)` sends 200 with our
    /// answer (which becomes the call's current description), `Err(status)`
    /// refuses the offer (488, or 500 …) and keeps the previous one.
    pub fn answer_reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        answer: Result<Vec<u8>, u16>,
    ) -> Result<(), UaError> {
        let call = self.calls.get_mut(&handle).ok_or(UaError::UnknownCall)?;
        let (key, req) = call.reoffer.take().ok_or(UaError::WrongState)?;
        let tag = call.local_tag.clone();
        let transport = call.peer.0;
        match answer {
            Ok(sdp) => {
                call.local_sdp = sdp.clone();
                let mut resp = response_for(&req, 200, Some(&tag));
                resp.headers.push("Contact", self.contact(transport));
                self.respond(now, &key, &mut resp, &sdp, Some("application/sdp"));
                // An INVITE's 2xx is ours to re-send until the ACK (an
                // UPDATE's is not: its transaction does it).
                if req.method == Method::Invite {
                    let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
                    let ok = resp.to_bytes();
                    if let Some(c) = self.calls.get_mut(&handle) {
                        c.start_reoffer_ok(now, seq, ok, transport.reliable());
                    }
                }
            }
            Err(status) => {
                let mut resp = response_for(&req, error_status(status, 488), Some(&tag));
                self.respond(now, &key, &mut resp, &[], None);
            }
        }
        self.flush_tx();
        Ok(())
    }

    /// Nobody answered in the ring timeout: 480 Temporarily Unavailable.
    pub(in crate::ua) fn ring_timed_out(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get(&handle) else {
            return;
        };
        if call.state != CallState::Offered {
            return;
        }
        let mut resp = response_for(&call.invite, 480, Some(&call.local_tag));
        let key = call.invite_key.clone();
        self.respond(now, &key, &mut resp, &[], None);
        self.end_call(now, handle, EndReason::NoAnswer, Some(480));
        self.flush_tx();
    }

    /// Declines an incoming call with `status` (486 busy, 603 decline ...).
    pub fn reject(&mut self, now: Instant, handle: CallHandle, status: u16) -> Result<(), UaError> {
        let call = self.calls.get(&handle).ok_or(UaError::UnknownCall)?;
        if call.state != CallState::Offered || !(300..700).contains(&status) {
            return Err(UaError::WrongState);
        }
        let mut resp = response_for(&call.invite, status, Some(&call.local_tag));
        let key = call.invite_key.clone();
        self.respond(now, &key, &mut resp, &[], None);
        self.end_call(now, handle, EndReason::Declined, Some(status));
        self.flush_tx();
        Ok(())
    }
}
