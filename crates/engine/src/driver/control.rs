//! Call control in the engine: hold and resume (our re-offers and the
//! peer's), blind and attended transfer as transferor, being transferred
//! (REFER to us, by policy), and incoming INVITEs with Replaces.
//!
//! The SIP side is the UA's (`switchboard_sip::ua` control); here the SDP is
//! built and read, the media pump is told (hold tone instead of the
//! microphone while we hold), calls are linked (consultation ↔ held call,
//! new call ↔ the call whose peer asked for it) and reported as events.

use std::time::Instant;

use switchboard_media::offer_answer;
use switchboard_media::sdp::{Direction, SessionDescription};
use switchboard_sip::ua::{CallHandle, UaError, escape_header_value};
use switchboard_sip::uri::{SipUri, Uri};

use super::{Deferred, Driver, TransferRequest};
use crate::TransferPolicy;
use crate::events::EventKind;
use crate::media::MediaCmd;

impl Driver {
    /// A transfer target as typed: a SIP URI as is; a number becomes
    /// `sip:NUMBER@` the registrar's domain, or the host of `call`'s peer.
    pub(super) fn target_uri(&self, target: &str, call: u64) -> Result<Uri, String> {
        let t = target.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("sip:") || lower.starts_with("sips:") {
            return Uri::parse(t).map_err(|e| format!("bad target {t:?}: {e}"));
        }
        let dialable = !t.is_empty()
            && t.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '#' | '.' | '-' | '_')
            });
        if !dialable {
            return Err(format!("bad target {t:?}: not a SIP URI or a number"));
        }
        let (host, port) = match &self.account {
            Some((a, _)) => (a.registrar.host.clone(), a.registrar.port),
            None => {
                let peer = self
                    .ua
                    .remote_uri(CallHandle(call))
                    .and_then(|u| u.as_sip().cloned())
                    .ok_or("no peer to dial the number at")?;
                (peer.host, peer.port)
            }
        };
        let user = t.trim_start_matches('+');
        let user = if t.starts_with('+') {
            format!("+{user}")
        } else {
            user.to_owned()
        };
        Ok(Uri::Sip(SipUri::new(Some(&user), host, port)))
    }

    /// Sends a re-offer for `call` with our direction `want`.
    fn reoffer_direction(
        &mut self,
        now: Instant,
        call: u64,
        want: Direction,
        hold: bool,
    ) -> Result<(), String> {
        let info = self.calls.get_mut(&call).ok_or("no such call")?;
        if info.negotiated.is_none() {
            return Err("the call has no media yet".into());
        }
        let before = info.local.direction;
        info.local.direction = want;
        info.local.version += 1;
        let sdp = offer_answer::offer(&info.local).to_bytes();
        match self.ua.reoffer(now, CallHandle(call), sdp.clone()) {
            Ok(()) => {
                info.local_sdp = sdp;
                info.pending_hold = Some(hold);
                Ok(())
            }
            Err(UaError::Pending) => {
                // One offer at a time: this one goes when the current ends.
                info.local.direction = before;
                info.reoffer_again = true;
                Ok(())
            }
            Err(e) => {
                info.local.direction = before;
                Err(e.to_string())
            }
        }
    }

    /// Holds at once here (the caller hears the hold tune, we no longer hear
    /// them), then tells the peer with a `sendonly` re-offer (the answer is
    /// `inactive` if they hold us too). Should the peer not agree, the call
    /// stays held here all the same.
    pub(super) fn hold(&mut self, now: Instant, call: u64) -> Result<(), String> {
        let info = self.calls.get_mut(&call).ok_or("no such call")?;
        info.want_hold = true;
        if !info.hold_local {
            info.hold_local = true;
            if let Some(m) = &info.media {
                let _ = m.commands.send(MediaCmd::Hold(true));
            }
            let ev = EventKind::Held {
                call,
                local: true,
                remote: info.hold_remote,
            };
            self.emit(ev);
        }
        self.reoffer_direction(now, call, Direction::SendOnly, true)
    }

    /// Holds every call with media except `except` that is not held yet —
    /// when the configuration says one call is in hand at a time.
    pub(super) fn hold_others(&mut self, now: Instant, except: u64) {
        if !self.hold_others {
            return;
        }
        let others: Vec<u64> = self
            .calls
            .iter()
            .filter(|(c, i)| {
                // A call being resumed counts as live: it is held again.
                **c != except && i.negotiated.is_some() && i.media.is_some() && !i.want_hold
            })
            .map(|(c, _)| *c)
            .collect();
        for c in others {
            if let Err(e) = self.hold(now, c) {
                self.fail(format!("hold {c}"), e);
            }
        }
    }

    /// Takes the call off hold once the peer agrees (until then the caller
    /// keeps hearing the hold tune).
    pub(super) fn resume(&mut self, now: Instant, call: u64) -> Result<(), String> {
        if let Some(info) = self.calls.get_mut(&call) {
            info.want_hold = false;
        }
        self.reoffer_direction(now, call, Direction::SendRecv, false)
    }

    /// After an offer of ours ends (answered or refused): if the operator's
    /// wish changed meanwhile, offer again.
    fn offer_again_if_wished(&mut self, now: Instant, call: u64) {
        let Some(info) = self.calls.get_mut(&call) else {
            return;
        };
        if !std::mem::take(&mut info.reoffer_again) {
            return;
        }
        let (want, hold) = if info.want_hold {
            (Direction::SendOnly, true)
        } else {
            (Direction::SendRecv, false)
        };
        if let Err(e) = self.reoffer_direction(now, call, want, hold) {
            self.fail(format!("re-offer on call {call}"), e);
        }
    }

    /// The peer answered our re-offer.
    pub(super) fn reoffer_answered(&mut self, call: u64, answer: &[u8]) {
        let Some(info) = self.calls.get_mut(&call) else {
            return;
        };
        let accepted = SessionDescription::parse(answer)
            .map_err(|e| e.to_string())
            .and_then(|sd| {
                offer_answer::accept_answer(&info.local, &sd).map_err(|e| e.to_string())
            });
        let n = match accepted {
            Ok(n) => n,
            Err(e) => {
                info.pending_hold = None;
                self.fail(
                    format!("re-offer on call {call}"),
                    format!("unusable answer: {e}"),
                );
                return;
            }
        };
        info.pending_hold = None;
        // The operator's latest wish decides what is heard; the answer tells
        // whether the peer holds us (our side came out receive-only or
        // inactive although we did not ask for that).
        let mismatch =
            info.want_hold != matches!(n.direction, Direction::SendOnly | Direction::Inactive);
        info.hold_local = info.want_hold;
        let remote = match n.direction {
            Direction::Inactive => true,
            Direction::RecvOnly => true,
            Direction::SendOnly | Direction::SendRecv => false,
        };
        info.hold_remote = remote;
        if let Some(m) = &info.media {
            let _ = m.commands.send(MediaCmd::Update(Box::new(n.clone())));
            let _ = m.commands.send(MediaCmd::Hold(info.hold_local));
        }
        let held = EventKind::Held {
            call,
            local: info.hold_local,
            remote: info.hold_remote,
        };
        if mismatch {
            info.reoffer_again = true;
        }
        info.negotiated = Some(n);
        self.emit(held);
        self.after_hold_change(call);
        self.offer_again_if_wished(Instant::now(), call);
    }

    pub(super) fn reoffer_failed(&mut self, call: u64, status: u16) {
        if let Some(info) = self.calls.get_mut(&call) {
            info.pending_hold = None;
            // What we offered did not happen; what is negotiated still holds.
            info.local.direction = if info.want_hold {
                Direction::SendOnly
            } else {
                Direction::SendRecv
            };
        }
        self.fail(
            format!("re-offer on call {call}"),
            format!("the peer refused with {status}"),
        );
        // A consultation waiting for this hold goes ahead: the caller is
        // held here either way.
        self.after_hold_change(call);
        self.offer_again_if_wished(Instant::now(), call);
    }

    /// The peer's re-offer changed its direction: are we held?
    pub(super) fn remote_direction(&mut self, call: u64, ours: Direction) {
        let Some(info) = self.calls.get_mut(&call) else {
            return;
        };
        let remote = if info.hold_local {
            // We hold them, so our side is sendonly; inactive means they
            // hold us too.
            ours == Direction::Inactive
        } else {
            matches!(ours, Direction::RecvOnly | Direction::Inactive)
        };
        if remote != info.hold_remote {
            info.hold_remote = remote;
            let ev = EventKind::Held {
                call,
                local: info.hold_local,
                remote,
            };
            self.emit(ev);
        }
    }

    /// Things waiting for a hold to take effect (a consultation call).
    fn after_hold_change(&mut self, call: u64) {
        let Some(pos) = self.waiting_consult.iter().position(|(c, _)| *c == call) else {
            return;
        };
        let (_, target) = self.waiting_consult.swap_remove(pos);
        self.deferred.push(Deferred::Consult { call, target });
    }

    // ------------------------------------------------------------ transferor

    pub(super) fn transfer(&mut self, now: Instant, call: u64, target: &str) -> Result<(), String> {
        let uri = self.target_uri(target, call)?;
        self.ua
            .refer(now, CallHandle(call), &uri)
            .map_err(|e| e.to_string())?;
        if let Some(info) = self.calls.get_mut(&call) {
            info.transfer = Some(None);
        }
        Ok(())
    }

    /// Consult: hold the caller first, then call the target.
    pub(super) fn consult(&mut self, now: Instant, call: u64, target: &str) -> Result<(), String> {
        let info = self.calls.get(&call).ok_or("no such call")?;
        let target = target.to_owned();
        if info.want_hold && info.pending_hold.is_none() {
            self.deferred.push(Deferred::Consult { call, target });
            return Ok(());
        }
        match self.hold(now, call) {
            // The peer's answer comes first, then the consultation call.
            Ok(())
                if self
                    .calls
                    .get(&call)
                    .is_some_and(|i| i.pending_hold.is_some()) =>
            {
                self.waiting_consult.push((call, target));
            }
            // Held here already; the peer hears of it when it can.
            Ok(()) => self.deferred.push(Deferred::Consult { call, target }),
            Err(e) => {
                self.fail(format!("hold {call}"), e);
                self.deferred.push(Deferred::Consult { call, target });
            }
        }
        Ok(())
    }

    pub(super) fn complete_transfer(
        &mut self,
        now: Instant,
        call: u64,
        consult: u64,
    ) -> Result<(), String> {
        let replaces = self
            .ua
            .replaces_for(CallHandle(consult))
            .ok_or("the consultation call is not up")?;
        let target = self
            .ua
            .remote_uri(CallHandle(consult))
            .ok_or("the consultation call is not up")?;
        let refer_to = Uri::parse(&format!(
            "{target}?Replaces={}",
            escape_header_value(&replaces)
        ))
        .map_err(|e| format!("cannot build Refer-To: {e}"))?;
        self.ua
            .refer(now, CallHandle(call), &refer_to)
            .map_err(|e| e.to_string())?;
        if let Some(info) = self.calls.get_mut(&call) {
            info.transfer = Some(Some(consult));
        }
        Ok(())
    }

    pub(super) fn cancel_consult(&mut self, now: Instant, consult: u64) -> Result<(), String> {
        let original = self
            .calls
            .get(&consult)
            .ok_or("no such call")?
            .consult_of
            .ok_or("not a consultation call")?;
        let _ = self.ua.hangup(now, CallHandle(consult));
        self.resume(now, original)
    }

    /// A report on our transfer of `call`.
    pub(super) fn transfer_progress(&mut self, now: Instant, call: u64, status: u16, done: bool) {
        self.emit(EventKind::TransferProgress { call, status, done });
        if !done {
            return;
        }
        let consult = self
            .calls
            .get_mut(&call)
            .and_then(|i| i.transfer.take())
            .flatten();
        if (200..300).contains(&status) {
            // They talk to each other now: our legs end (RFC 5589 §6, §7).
            let _ = self.ua.hangup(now, CallHandle(call));
            if let Some(c) = consult {
                let _ = self.ua.hangup(now, CallHandle(c));
            }
        } else if consult.is_none() && self.calls.get(&call).is_some_and(|i| i.hold_local) {
            // A failed blind transfer gives the caller back to us.
            if let Err(e) = self.resume(now, call) {
                self.fail(format!("resume {call}"), e);
            }
        }
    }

    // ------------------------------------------------------------ conference

    /// Joins two calls into a conference mixed here.
    pub(super) fn conference(&mut self, now: Instant, call: u64, other: u64) -> Result<(), String> {
        if call == other {
            return Err("a conference needs two calls".into());
        }
        for c in [call, other] {
            let info = self.calls.get(&c).ok_or(format!("no call {c}"))?;
            if info.media.is_none() {
                return Err(format!("call {c} has no media yet"));
            }
            if info.conference_with.is_some() {
                return Err(format!("call {c} is already in a conference"));
            }
        }
        let bridge = std::sync::Arc::new(crate::media::Bridge::default());
        for (c, o) in [(call, other), (other, call)] {
            let held = match self.calls.get_mut(&c) {
                Some(info) => {
                    info.conference_with = Some(o);
                    if let Some(m) = &info.media {
                        let _ = m.commands.send(MediaCmd::Conference(Some(bridge.clone())));
                    }
                    info.hold_local
                }
                None => false,
            };
            if held && let Err(e) = self.resume(now, c) {
                self.fail(format!("resume {c}"), e);
            }
        }
        self.emit(EventKind::Conference {
            call,
            other,
            on: true,
        });
        Ok(())
    }

    /// `call` ends: its partner leaves the conference and goes on alone.
    pub(super) fn leave_conference(&mut self, call: u64) {
        let Some(other) = self
            .calls
            .get_mut(&call)
            .and_then(|i| i.conference_with.take())
        else {
            return;
        };
        if let Some(info) = self.calls.get_mut(&other) {
            info.conference_with = None;
            if let Some(m) = &info.media {
                let _ = m.commands.send(MediaCmd::Conference(None));
            }
        }
        self.emit(EventKind::Conference {
            call,
            other,
            on: false,
        });
    }

    // ------------------------------------------------------------ transferee

    /// The peer of `call` asks us to call another party.
    pub(super) fn referred(&mut self, now: Instant, call: u64, request: TransferRequest) {
        if self.transfer_policy == TransferPolicy::Reject {
            let _ = self.ua.reject_refer(now, CallHandle(call), 603);
            return;
        }
        // Accepted at once under both other policies (the REFER must not
        // wait for a person); with Ask the operator's answer follows as
        // NOTIFY: the call, or 603.
        if let Err(e) = self.ua.accept_refer(now, CallHandle(call)) {
            self.fail(format!("transfer on call {call}"), e.to_string());
            return;
        }
        if self.transfer_policy == TransferPolicy::Accept {
            self.place_transfer_call(call, request);
            return;
        }
        let target = request.target.clone();
        if let Some(info) = self.calls.get_mut(&call) {
            info.refer_request = Some(request);
        }
        self.emit(EventKind::TransferRequested { call, target });
    }

    pub(super) fn accept_transfer(&mut self, call: u64) -> Result<(), String> {
        let request = self
            .calls
            .get_mut(&call)
            .and_then(|i| i.refer_request.take())
            .ok_or("no transfer request on this call")?;
        self.place_transfer_call(call, request);
        Ok(())
    }

    pub(super) fn reject_transfer(&mut self, now: Instant, call: u64) -> Result<(), String> {
        self.calls
            .get_mut(&call)
            .and_then(|i| i.refer_request.take())
            .ok_or("no transfer request on this call")?;
        self.ua
            .notify_transfer(now, CallHandle(call), 603)
            .map_err(|e| e.to_string())
    }

    /// Calls the transfer target for the peer of `call`.
    fn place_transfer_call(&mut self, call: u64, request: TransferRequest) {
        let mut headers = Vec::new();
        if let Some(r) = request.replaces {
            headers.push(("Replaces".to_owned(), r));
        }
        if let Some(b) = request.referred_by {
            headers.push(("Referred-By".to_owned(), b));
        }
        self.deferred.push(Deferred::TransferCall {
            from: call,
            target: request.target,
            headers,
        });
    }

    /// Tells the transferor how our call for it goes.
    pub(super) fn report_to_transferor(&mut self, new_call: u64, status: u16) {
        let Some(from) = self.calls.get(&new_call).and_then(|i| i.transfer_for) else {
            return;
        };
        let now = Instant::now();
        let _ = self.ua.notify_transfer(now, CallHandle(from), status);
        if status >= 200
            && let Some(i) = self.calls.get_mut(&new_call)
        {
            i.transfer_for = None;
        }
    }

    // ------------------------------------------------------------ Replaces

    /// An INVITE replaced `old`: answer it at once and end the old call.
    pub(super) fn replaced(
        &mut self,
        now: Instant,
        old: u64,
        new: u64,
        call_id: String,
        headers: Vec<(String, String)>,
    ) {
        let sdp = self
            .calls
            .get(&new)
            .map(|c| c.local_sdp.clone())
            .unwrap_or_default();
        if let Err(e) = self.ua.answer(now, CallHandle(new), sdp) {
            self.fail(format!("replace {old}"), e.to_string());
            return;
        }
        self.emit(EventKind::Replaced {
            old,
            new,
            call_id,
            headers,
        });
        let _ = self.ua.hangup(now, CallHandle(old));
    }
}
