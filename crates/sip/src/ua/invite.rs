//! The INVITE session machine (RFC 3261 §13–§15): one [`Call`] per INVITE
//! dialog, ours or the peer's, from the first request to the end of its
//! linger.
//!
//! ```text
//!  UAC: Calling ──1xx──▶ Early ──2xx, our ACK──▶ Established ──hangup: BYE──▶ Terminating ─▶ Ended
//!         │ hangup        │ hangup: CANCEL
//!         ▼               ▼
//!       CancelPending ─1xx─▶ Cancelling ──487 (a 2xx: ACK, then BYE)──▶ Ended
//!  UAS: Offered ──answer: 2xx──▶ Answered ──ACK──▶ Established
//!         └──reject or hangup (603), CANCEL (487)──▶ Ended
//! ```
//! Any call ends on a final refusal, a timeout or the peer's BYE; an ended
//! call lingers to absorb retransmissions, then is dropped.
//!
//! - [`uac`]: the calls we place (INVITE, CANCEL, the ACKs, digest retries).
//! - [`uas`]: the calls we receive, and every request inside a dialog.
//! - here: the call's state and 2xx re-sending, the commands common to both
//!   sides (hangup), the end of a call, and in-dialog requests of ours
//!   (§12.2.1.1).
//!
//! Re-INVITEs of ours, REFER and Replaces are in [`super::control`]; a call's
//! deadlines in [`super::timer`].

mod uac;
mod uas;

pub(super) use uac::build_ack_for_non_2xx;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::router::client_key;
use super::timer::{CallTimer, CallTimers};
use super::{CallHandle, EndReason, Event, Owner, Transport, UaError, UserAgent, control};
use crate::dialog::Dialog;
use crate::header::CSeq;
use crate::message::{Headers, Method, Request, Version};
use crate::transaction::{T1, T2};
use crate::uri::Uri;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallState {
    /// UAC: INVITE sent.
    Calling,
    /// UAC: a provisional response arrived.
    Early,
    /// UAC: we want to cancel as soon as a provisional arrives.
    CancelPending,
    /// UAC: CANCEL sent.
    Cancelling,
    /// UAS: ringing, waiting for the operator.
    Offered,
    /// UAS: 2xx sent, waiting for ACK.
    Answered,
    /// Both sides agree.
    Established,
    /// BYE sent.
    Terminating,
    /// Over; kept a while to absorb retransmissions.
    Ended,
}

/// A 2xx to an INVITE that the UAS core (not the transaction) re-sends,
/// doubling from T1 to T2, until the ACK comes or 64·T1 pass
/// (RFC 3261 §13.3.1.4). Its two deadlines are the call's timers
/// ([`CallTimer::OK`] or [`CallTimer::REOFFER_OK`]): the next re-send (never
/// on a reliable transport) and the give-up.
#[derive(Debug, Clone)]
pub(super) struct OkRetransmit {
    bytes: Vec<u8>,
    interval: Duration,
}

/// What an [`OkRetransmit`] wants at `now`.
pub(super) enum OkDue {
    Nothing,
    Resend(Vec<u8>),
    GiveUp,
}

impl OkRetransmit {
    /// The 2xx `bytes`, sent at `now`: arms its re-send and give-up timers.
    fn new(
        now: Instant,
        bytes: Vec<u8>,
        reliable: bool,
        [resend, give_up]: [CallTimer; 2],
        timers: &mut CallTimers,
    ) -> OkRetransmit {
        if reliable {
            timers.stop(resend);
        } else {
            timers.set(resend, now + T1);
        }
        timers.set(give_up, now + 64 * T1);
        OkRetransmit {
            bytes,
            interval: T1,
        }
    }

    /// Given the timers that `fired` at `now`: the give-up wins over a
    /// re-send due at the same time; a re-send arms the next one.
    fn due(
        &mut self,
        now: Instant,
        [resend, give_up]: [CallTimer; 2],
        fired: &[(CallTimer, Instant)],
        timers: &mut CallTimers,
    ) -> OkDue {
        let has_fired = |t: CallTimer| fired.iter().any(|(f, _)| *f == t);
        if has_fired(give_up) {
            return OkDue::GiveUp;
        }
        if has_fired(resend) {
            self.interval = (self.interval * 2).min(T2);
            timers.set(resend, now + self.interval);
            return OkDue::Resend(self.bytes.clone());
        }
        OkDue::Nothing
    }
}

#[derive(Debug)]
pub(super) struct Call {
    pub(super) state: CallState,
    pub(super) uac: bool,
    pub(super) call_id: String,
    pub(super) local_tag: String,
    pub(super) dialog: Option<Dialog>,
    pub(super) peer: (Transport, SocketAddr),
    /// UAC: the INVITE as sent (for CANCEL and ACK); UAS: the INVITE received.
    pub(super) invite: Request,
    pub(super) invite_key: String,
    pub(super) local_sdp: Vec<u8>,
    pub(super) remote_sdp: Vec<u8>,
    pub(super) auth_tries: u8,
    /// UAS: our 2xx to the INVITE, re-sent until the ACK (RFC 3261 §13.3.1.4).
    pub(super) ok: Option<OkRetransmit>,
    /// Our 2xx to the peer's re-INVITE, re-sent until its ACK, with that
    /// INVITE's CSeq: the same duty, for the session's later offers.
    pub(super) reoffer_ok: Option<(u32, OkRetransmit)>,
    /// UAC: the ACK for the 2xx, re-sent on 2xx retransmissions.
    pub(super) ack: Option<Vec<u8>>,
    /// The ACK for our latest re-INVITE's 2xx, with that INVITE's CSeq.
    pub(super) reack: Option<(u32, Vec<u8>)>,
    /// A re-INVITE/UPDATE with an offer, waiting for `answer_reoffer`:
    /// its server transaction key and the request.
    pub(super) reoffer: Option<(String, Request)>,
    /// Our own re-INVITE (hold, resume) in flight or waiting after a 491.
    pub(super) local_reoffer: Option<control::LocalReoffer>,
    /// Our REFER (we transfer the peer) and its subscription.
    pub(super) refer_out: Option<control::ReferOut>,
    /// The peer's REFER (it transfers us).
    pub(super) refer_in: Option<control::ReferIn>,
    /// This call's deadlines: 2xx re-sends and give-ups, linger, glare
    /// retry, transfer patience.
    pub(super) timers: CallTimers,
}

impl Call {
    /// A call with nothing negotiated yet and no 2xx/ACK bookkeeping.
    fn new(
        state: CallState,
        uac: bool,
        call_id: String,
        local_tag: String,
        peer: (Transport, SocketAddr),
        invite: Request,
        invite_key: String,
    ) -> Call {
        Call {
            state,
            uac,
            call_id,
            local_tag,
            dialog: None,
            peer,
            invite,
            invite_key,
            local_sdp: Vec::new(),
            remote_sdp: Vec::new(),
            auth_tries: 0,
            ok: None,
            reoffer_ok: None,
            ack: None,
            reack: None,
            reoffer: None,
            local_reoffer: None,
            refer_out: None,
            refer_in: None,
            timers: CallTimers::default(),
        }
    }

    /// Starts re-sending our 2xx to the INVITE, sent at `now`.
    pub(super) fn start_ok(&mut self, now: Instant, bytes: Vec<u8>, reliable: bool) {
        let ok = OkRetransmit::new(now, bytes, reliable, CallTimer::OK, &mut self.timers);
        self.ok = Some(ok);
    }

    /// Stops re-sending our 2xx to the INVITE.
    pub(super) fn stop_ok(&mut self) {
        self.ok = None;
        for t in CallTimer::OK {
            self.timers.stop(t);
        }
    }

    /// Starts re-sending our 2xx to the peer's re-INVITE with CSeq `seq`,
    /// sent at `now` (in place of an earlier one).
    pub(super) fn start_reoffer_ok(
        &mut self,
        now: Instant,
        seq: u32,
        bytes: Vec<u8>,
        reliable: bool,
    ) {
        let ok = OkRetransmit::new(
            now,
            bytes,
            reliable,
            CallTimer::REOFFER_OK,
            &mut self.timers,
        );
        self.reoffer_ok = Some((seq, ok));
    }

    /// Stops re-sending our 2xx to the peer's re-INVITE.
    pub(super) fn stop_reoffer_ok(&mut self) {
        self.reoffer_ok = None;
        for t in CallTimer::REOFFER_OK {
            self.timers.stop(t);
        }
    }

    /// UAS 2xx retransmission (RFC 3261 §13.3.1.4): what our 2xx to the
    /// INVITE and our 2xx to the peer's re-INVITE want, in that order, given
    /// the timers that `fired` at `now`. One that gives up is dropped.
    pub(super) fn ok_due(
        &mut self,
        now: Instant,
        fired: &[(CallTimer, Instant)],
    ) -> [Option<OkDue>; 2] {
        let first = self
            .ok
            .as_mut()
            .map(|o| o.due(now, CallTimer::OK, fired, &mut self.timers));
        let later = self
            .reoffer_ok
            .as_mut()
            .map(|(_, o)| o.due(now, CallTimer::REOFFER_OK, fired, &mut self.timers));
        if matches!(first, Some(OkDue::GiveUp)) {
            self.stop_ok();
        }
        if matches!(later, Some(OkDue::GiveUp)) {
            self.stop_reoffer_ok();
        }
        [first, later]
    }
}

fn dest_of(uri: &Uri, fallback: (Transport, SocketAddr)) -> (Transport, SocketAddr) {
    let Some(sip) = uri.as_sip() else {
        return fallback;
    };
    let transport = Transport::of_uri(sip);
    match sip.host.ip() {
        // maddr and DNS resolution are not done in the sans-IO core: a host
        // name falls back to the address the dialog was set up through.
        Some(ip) => (
            transport,
            SocketAddr::new(ip, sip.port.unwrap_or(transport.default_port())),
        ),
        None => fallback,
    }
}

impl UserAgent {
    /// Whether `ip` is on the call's signalling path: the address the call
    /// was set up through, or the next hop of its dialog (its first route,
    /// else the peer's Contact).
    pub(super) fn is_dialog_peer(&self, handle: CallHandle, ip: std::net::IpAddr) -> bool {
        let Some(call) = self.calls.get(&handle) else {
            return false;
        };
        let same = |a: std::net::IpAddr| a.to_canonical() == ip.to_canonical();
        same(call.peer.1.ip())
            || call
                .dialog
                .as_ref()
                .is_some_and(|d| same(dest_of(&d.next_hop_uri(), call.peer).1.ip()))
    }

    /// Hangs up: BYE when up, CANCEL when ringing out, 603 when ringing in.
    pub fn hangup(&mut self, now: Instant, handle: CallHandle) -> Result<(), UaError> {
        let state = self.calls.get(&handle).ok_or(UaError::UnknownCall)?.state;
        match state {
            CallState::Established | CallState::Answered => {
                self.send_bye(now, handle);
                if let Some(c) = self.calls.get_mut(&handle) {
                    c.stop_ok();
                    c.stop_reoffer_ok();
                    c.state = CallState::Terminating;
                }
                self.end_call(now, handle, EndReason::LocalHangup, None);
            }
            CallState::Early => self.send_cancel(now, handle),
            CallState::Calling => {
                // RFC 3261 §9.1: no CANCEL before a provisional response.
                if let Some(c) = self.calls.get_mut(&handle) {
                    c.state = CallState::CancelPending;
                }
            }
            CallState::Offered => return self.reject(now, handle, 603),
            CallState::CancelPending
            | CallState::Cancelling
            | CallState::Terminating
            | CallState::Ended => {
                return Err(UaError::WrongState);
            }
        }
        self.flush_tx();
        Ok(())
    }

    /// Builds an in-dialog request (§12.2.1.1). `seq` is `None` to take the
    /// next CSeq, or the number to reuse (the ACK for a 2xx reuses the INVITE's).
    pub(super) fn in_dialog_request(
        &mut self,
        handle: CallHandle,
        method: Method,
        seq: Option<u32>,
    ) -> Option<(Request, (Transport, SocketAddr))> {
        let branch = self.branch();
        let (dest, seq, ruri, routes, from, to, call_id) = {
            let call = self.calls.get_mut(&handle)?;
            let peer = call.peer;
            let d = call.dialog.as_mut()?;
            let seq = seq.unwrap_or_else(|| d.next_seq());
            let (ruri, routes) = d.request_target();
            let dest = dest_of(&d.next_hop_uri(), peer);
            (
                dest,
                seq,
                ruri,
                routes,
                d.local.to_string(),
                d.remote.to_string(),
                d.id.call_id.clone(),
            )
        };
        let mut h = Headers::new();
        h.push("Via", self.via(dest.0, &branch));
        h.push("Max-Forwards", "70");
        h.push("From", from);
        h.push("To", to);
        h.push("Call-ID", call_id);
        h.push(
            "CSeq",
            CSeq {
                seq,
                method: method.clone(),
            }
            .to_string(),
        );
        for r in routes {
            h.push("Route", r);
        }
        h.push("User-Agent", self.config.user_agent.clone());
        h.push("Content-Length", "0");
        let req = Request {
            method,
            uri: ruri,
            version: Version::SIP_2_0,
            headers: h,
            body: Vec::new(),
        };
        Some((req, dest))
    }

    pub(super) fn send_bye(&mut self, now: Instant, handle: CallHandle) {
        let Some((req, dest)) = self.in_dialog_request(handle, Method::Bye, None) else {
            return;
        };
        self.start_in_dialog(now, handle, req, dest);
    }

    /// Starts the client transaction of an in-dialog request of `handle`'s.
    pub(super) fn start_in_dialog(
        &mut self,
        now: Instant,
        handle: CallHandle,
        req: Request,
        dest: (Transport, SocketAddr),
    ) {
        let branch = req
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        let key = client_key(&branch, &req.method);
        self.start_client(now, key, req, dest, Owner::Call(handle));
    }

    pub(super) fn end_call(
        &mut self,
        now: Instant,
        handle: CallHandle,
        reason: EndReason,
        status: Option<u16>,
    ) {
        let Some(c) = self.calls.get_mut(&handle) else {
            return;
        };
        if c.state == CallState::Ended {
            return;
        }
        c.state = CallState::Ended;
        c.stop_ok();
        c.stop_reoffer_ok();
        // A re-INVITE waiting out a glare is never sent in an ended call.
        c.local_reoffer = None;
        c.timers.stop(CallTimer::GlareRetry);
        // Linger to absorb retransmissions (2xx → re-ACK, BYE → 200 from the server tx).
        c.timers.set(CallTimer::Linger, now + 64 * T1);
        self.events.push_back(Event::Ended {
            call: handle,
            reason,
            status,
        });
    }

    /// The SIP Call-ID of a call.
    pub fn sip_call_id(&self, handle: CallHandle) -> Option<&str> {
        self.calls.get(&handle).map(|c| c.call_id.as_str())
    }

    /// Whether we placed this call.
    pub fn is_outgoing(&self, handle: CallHandle) -> Option<bool> {
        self.calls.get(&handle).map(|c| c.uac)
    }
}
