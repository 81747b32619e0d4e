//! Call control inside a dialog: our own re-INVITEs (hold, resume), REFER
//! both ways with its implicit subscription (RFC 3515, RFC 5589), and the
//! Replaces header (RFC 3891).
//!
//! - A re-INVITE answered 491 (glare: both sides offered at once) is sent
//!   again after the random wait of RFC 3261 §14.1 — 2.1–4 s when we own the
//!   Call-ID (we placed the call), 0–2 s otherwise — so two agents that
//!   collided do not collide again.
//! - REFER from us: 202 or a refusal comes back as [`Event::TransferProgress`],
//!   and so does each NOTIFY's `message/sipfrag` status; the last one is
//!   `done`.
//! - REFER to us: [`Event::Referred`] carries the target without its URI
//!   headers and the Replaces value it asked for (unescaped); the application
//!   accepts (202 and a first NOTIFY `100 Trying`) or refuses, then reports
//!   the new call's progress with [`UserAgent::notify_transfer`].
//! - Replaces: [`UserAgent::replaces_for`] writes the value that names our
//!   dialog *as the receiving side sees it* (its to-tag is the peer's tag),
//!   the classic mistake being the other way round.
//!
//! The glare wait and the transfer's patience are call timers
//! ([`super::timer::CallTimer`]).

use std::time::{Duration, Instant};

use super::invite::CallState;
use super::timer::CallTimer;
use super::{
    ALLOW, CallHandle, EndReason, Event, Transport, UaError, UserAgent, error_status, response_for,
};
use crate::message::{Method, Request, Response};
use crate::uri::{Uri, unescape};

/// Our re-INVITE in flight or waiting to be sent again after a 491.
#[derive(Debug, Clone)]
pub(super) struct LocalReoffer {
    pub(super) sdp: Vec<u8>,
    /// CSeq of the re-INVITE in flight; `None` while waiting to retry
    /// (then [`CallTimer::GlareRetry`] is armed).
    pub(super) seq: Option<u32>,
    pub(super) tries: u8,
}

/// Our REFER and its subscription.
#[derive(Debug, Clone)]
pub(super) struct ReferOut {
    /// Our REFER's CSeq: the `id` its NOTIFYs carry.
    pub(super) seq: u32,
    /// The last report was given. Until then [`CallTimer::ReferPatience`]
    /// is armed: with no final report by its deadline the transfer is taken
    /// as failed (408).
    pub(super) done: bool,
}

/// How long a transfer may take to report its end (NOTIFY with a final
/// status) before we stop waiting.
const REFER_PATIENCE: Duration = Duration::from_secs(90);

/// A REFER we received: waiting for the application, or accepted.
#[derive(Debug, Clone)]
pub(super) struct ReferIn {
    /// Server transaction key and the request, until we answer it.
    pub(super) pending: Option<(String, Request)>,
    /// The REFER's CSeq (the NOTIFYs' `id`).
    pub(super) seq: u32,
}

/// Attempts after glare before we give up.
const MAX_GLARE_TRIES: u8 = 4;

/// The target of a Refer-To URI, without its `?headers`, and its Replaces
/// header value (unescaped), if it carries one.
pub fn split_refer_to(uri: &Uri) -> (Uri, Option<String>) {
    let Uri::Sip(s) = uri else {
        return (uri.clone(), None);
    };
    let mut target = s.clone();
    let headers = target.headers.take();
    let replaces = headers.as_deref().and_then(|h| {
        h.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            name.eq_ignore_ascii_case("replaces")
                .then(|| unescape(value))
        })
    });
    (Uri::Sip(target), replaces)
}

/// Escapes a header value for a URI's `?headers` (RFC 3261 §25.1 `hvalue`).
pub fn escape_header_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 2);
    for b in v.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b'/'
                    | b'?'
                    | b':'
                    | b'+'
                    | b'$'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The status line of a `message/sipfrag` body (`SIP/2.0 180 Ringing`).
fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    let status: u16 = parts.next()?.parse().ok()?;
    (100..700).contains(&status).then_some(status)
}

/// Puts Content-Length last, after the headers added to an in-dialog request.
fn seal(req: &mut Request) {
    req.headers.remove("Content-Length");
    req.headers
        .push("Content-Length", req.body.len().to_string());
}

impl UserAgent {
    /// Sends a new offer in the call (hold: `sendonly`; resume: `sendrecv`).
    /// The answer arrives as [`Event::ReofferAnswered`], a refusal as
    /// [`Event::ReofferFailed`]; a 491 is retried by itself.
    pub fn reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Vec<u8>,
    ) -> Result<(), UaError> {
        let call = self.calls.get(&handle).ok_or(UaError::UnknownCall)?;
        if call.state != CallState::Established {
            return Err(UaError::WrongState);
        }
        if call.local_reoffer.is_some() || call.reoffer.is_some() {
            return Err(UaError::Pending);
        }
        if let Some(c) = self.calls.get_mut(&handle) {
            c.local_reoffer = Some(LocalReoffer {
                sdp,
                seq: None,
                tries: 0,
            });
        }
        self.send_reinvite(now, handle);
        self.flush_tx();
        Ok(())
    }

    fn send_reinvite(&mut self, now: Instant, handle: CallHandle) {
        let Some(sdp) = self
            .calls
            .get(&handle)
            .and_then(|c| c.local_reoffer.as_ref())
            .map(|r| r.sdp.clone())
        else {
            return;
        };
        let Some((mut req, dest)) = self.in_dialog_request(handle, Method::Invite, None) else {
            return;
        };
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        req.headers.push("Contact", self.contact(dest.0));
        req.headers.push("Allow", ALLOW);
        req.headers.set("Content-Type", "application/sdp");
        req.body = sdp;
        seal(&mut req);
        self.start_in_dialog(now, handle, req, dest);
        if let Some(c) = self.calls.get_mut(&handle)
            && let Some(r) = c.local_reoffer.as_mut()
        {
            r.seq = Some(seq);
            c.timers.stop(CallTimer::GlareRetry);
            r.tries += 1;
        }
    }

    /// Replaces the SDP of a re-INVITE waiting to be sent again after a 491
    /// (the peer's own offer, answered meanwhile, moved our `o=` version on).
    pub fn refresh_reoffer(&mut self, handle: CallHandle, sdp: Vec<u8>) -> bool {
        match self
            .calls
            .get_mut(&handle)
            .and_then(|c| c.local_reoffer.as_mut())
            .filter(|r| r.seq.is_none())
        {
            Some(r) => {
                r.sdp = sdp;
                true
            }
            None => false,
        }
    }

    /// Whether `resp` answers our re-INVITE (rather than the initial INVITE).
    pub(super) fn is_reinvite_response(&self, handle: CallHandle, resp: &Response) -> bool {
        let seq = resp.cseq().map(|c| c.seq).ok();
        self.calls
            .get(&handle)
            .and_then(|c| c.local_reoffer.as_ref())
            .is_some_and(|r| r.seq.is_some() && r.seq == seq)
    }

    pub(super) fn reinvite_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        req: &Request,
        resp: &Response,
    ) {
        let status = resp.status;
        if status < 200 {
            return;
        }
        if (200..300).contains(&status) {
            // ACK it (a request of its own) and take the answer.
            self.send_ack_2xx(handle, req);
            if let Some(c) = self.calls.get_mut(&handle) {
                if let Some(d) = c.dialog.as_mut() {
                    d.refresh_target(&resp.headers);
                }
                c.local_reoffer = None;
                c.remote_sdp = resp.body.clone();
            }
            self.events.push_back(Event::ReofferAnswered {
                call: handle,
                answer: resp.body.clone(),
            });
            return;
        }
        if status == 491 {
            let owner = self.calls.get(&handle).is_some_and(|c| c.uac);
            let tries = self
                .calls
                .get(&handle)
                .and_then(|c| c.local_reoffer.as_ref())
                .map_or(0, |r| r.tries);
            if tries < MAX_GLARE_TRIES {
                // §14.1: the Call-ID's owner waits 2.1–4 s, the other 0–2 s,
                // in units of 10 ms.
                let r = self.random();
                let wait_ms = if owner {
                    2100 + (r % 191) * 10
                } else {
                    (r % 201) * 10
                };
                if let Some(c) = self.calls.get_mut(&handle)
                    && let Some(lr) = c.local_reoffer.as_mut()
                {
                    lr.seq = None;
                    c.timers
                        .set(CallTimer::GlareRetry, now + Duration::from_millis(wait_ms));
                }
                return;
            }
        }
        if let Some(c) = self.calls.get_mut(&handle) {
            c.local_reoffer = None;
        }
        self.events.push_back(Event::ReofferFailed {
            call: handle,
            status,
        });
        if status == 481 || status == 408 {
            // §12.2.1.2: the dialog is gone (after a 408 the peer may not
            // know it yet: tell it).
            if status == 408 {
                self.send_bye(now, handle);
            }
            self.end_call(now, handle, EndReason::RemoteHangup, Some(status));
        }
    }

    /// A re-INVITE waiting out a glare timer is due: sent again in an
    /// established call, unless the peer's own offer is still pending.
    pub(super) fn glare_retry_due(&mut self, now: Instant, handle: CallHandle) {
        let Some(c) = self.calls.get_mut(&handle) else {
            return;
        };
        if c.state != CallState::Established {
            // The call is ending: the offer has nothing left to change.
            c.local_reoffer = None;
            return;
        }
        // The peer's own offer may still be pending: wait for it.
        if c.reoffer.is_some() {
            c.timers
                .set(CallTimer::GlareRetry, now + Duration::from_millis(100));
            return;
        }
        self.send_reinvite(now, handle);
    }

    /// A re-INVITE of ours timed out (Timer B): the dialog is gone.
    pub(super) fn reinvite_timed_out(&mut self, now: Instant, handle: CallHandle) -> bool {
        let ours = self
            .calls
            .get(&handle)
            .is_some_and(|c| c.local_reoffer.as_ref().is_some_and(|r| r.seq.is_some()));
        if !ours {
            return false;
        }
        if let Some(c) = self.calls.get_mut(&handle) {
            c.local_reoffer = None;
        }
        self.events.push_back(Event::ReofferFailed {
            call: handle,
            status: 408,
        });
        self.send_bye(now, handle);
        self.end_call(now, handle, EndReason::Timeout, Some(408));
        true
    }

    // ------------------------------------------------------------ REFER out

    /// Asks the peer to call `refer_to` (blind transfer), or — with a
    /// `?Replaces=` header in it — to replace our consultation call
    /// (attended transfer; build it with [`UserAgent::replaces_for`]).
    pub fn refer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        refer_to: &Uri,
    ) -> Result<(), UaError> {
        let call = self.calls.get(&handle).ok_or(UaError::UnknownCall)?;
        if call.state != CallState::Established {
            return Err(UaError::WrongState);
        }
        if call.refer_out.as_ref().is_some_and(|r| !r.done) {
            return Err(UaError::Pending);
        }
        if refer_to.as_sip().is_none() {
            return Err(UaError::NotSipUri);
        }
        let Some((mut req, dest)) = self.in_dialog_request(handle, Method::Refer, None) else {
            return Err(UaError::WrongState);
        };
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        let local = self
            .calls
            .get(&handle)
            .and_then(|c| c.dialog.as_ref())
            .map(|d| {
                let mut me = d.local.clone();
                me.params = Default::default();
                me.to_string()
            })
            .unwrap_or_default();
        req.headers.push("Refer-To", format!("<{refer_to}>"));
        req.headers.push("Referred-By", local);
        req.headers.push("Contact", self.contact(dest.0));
        req.headers.push("Allow", ALLOW);
        seal(&mut req);
        self.start_in_dialog(now, handle, req, dest);
        if let Some(c) = self.calls.get_mut(&handle) {
            c.refer_out = Some(ReferOut { seq, done: false });
            c.timers.set(CallTimer::ReferPatience, now + REFER_PATIENCE);
        }
        self.flush_tx();
        Ok(())
    }

    pub(super) fn refer_response(&mut self, handle: CallHandle, resp: &Response) {
        let status = resp.status;
        if status < 200 {
            return;
        }
        self.report_transfer(handle, status, !(200..300).contains(&status));
    }

    /// One report on our transfer, unless its last one was already given.
    fn report_transfer(&mut self, handle: CallHandle, status: u16, done: bool) {
        let Some(c) = self.calls.get_mut(&handle) else {
            return;
        };
        let Some(r) = c.refer_out.as_mut().filter(|r| !r.done) else {
            return;
        };
        r.done = done;
        if done {
            c.timers.stop(CallTimer::ReferPatience);
        }
        self.events.push_back(Event::TransferProgress {
            call: handle,
            status,
            done,
        });
    }

    /// Our REFER timed out (Timer F), or its transfer never reported its end
    /// ([`CallTimer::ReferPatience`]).
    pub(super) fn refer_timed_out(&mut self, handle: CallHandle) {
        self.report_transfer(handle, 408, true);
    }

    /// A NOTIFY in the dialog: the progress of the transfer we asked for.
    pub(super) fn handle_notify(
        &mut self,
        now: Instant,
        key: &str,
        handle: CallHandle,
        req: &Request,
    ) {
        let event = req.headers.event().ok().flatten();
        let Some(event) = event.filter(|e| e.package == "refer") else {
            self.answer_simple(now, key, 489, &[]);
            return;
        };
        // `id` names the REFER (its CSeq); a NOTIFY for another one (an
        // earlier, finished transfer) must not be taken for this one's.
        let ours = self
            .calls
            .get(&handle)
            .and_then(|c| c.refer_out.as_ref())
            .map(|r| r.seq);
        let id = event
            .params
            .get("id")
            .flatten()
            .and_then(|v| v.parse::<u32>().ok());
        if let (Some(id), Some(seq)) = (id, ours)
            && id != seq
        {
            self.answer_simple(now, key, 481, &[]);
            return;
        }
        let Some(status) = sipfrag_status(&req.body) else {
            self.answer_simple(now, key, 400, &[]);
            return;
        };
        self.answer_simple(now, key, 200, &[]);
        let terminated = req
            .headers
            .subscription_state()
            .ok()
            .flatten()
            .is_some_and(|s| s.state == crate::typed::SubState::Terminated);
        self.report_transfer(handle, status, status >= 200 || terminated);
    }

    /// The Replaces header value that names this call's dialog to its peer
    /// (RFC 3891 §3: to-tag is the tag of the side that will receive it).
    pub fn replaces_for(&self, handle: CallHandle) -> Option<String> {
        let d = self.calls.get(&handle)?.dialog.as_ref()?;
        Some(format!(
            "{};to-tag={};from-tag={}",
            d.id.call_id, d.id.remote_tag, d.id.local_tag
        ))
    }

    /// The peer's address in this call (where a consultation call went).
    pub fn remote_uri(&self, handle: CallHandle) -> Option<Uri> {
        let d = self.calls.get(&handle)?.dialog.as_ref()?;
        let mut u = d.remote.uri.clone();
        if let Uri::Sip(s) = &mut u {
            s.headers = None;
        }
        Some(u)
    }

    // ------------------------------------------------------------ REFER in

    /// A REFER in the dialog: the peer wants us to call someone.
    pub(super) fn handle_refer(
        &mut self,
        now: Instant,
        key: &str,
        handle: CallHandle,
        req: &Request,
    ) {
        let source = self.server.get(key).map(|s| s.dest.1);
        if !source.is_some_and(|a| self.is_dialog_peer(handle, a.ip())) {
            // Someone who learned the dialog's tags is not its peer: only
            // the party we talk to (or the proxy between us) may transfer us.
            self.answer_simple(now, key, 403, &[]);
            if let Some(source) = source {
                let error = "REFER from outside the dialog's path".to_owned();
                self.report_rejected(now, source, Some(403), error);
            }
            return;
        }
        let target = match req.headers.refer_to() {
            Ok(Some(na)) if na.uri.as_sip().is_some() => na.uri,
            _ => {
                self.answer_simple(now, key, 400, &[]);
                return;
            }
        };
        let established = self
            .calls
            .get(&handle)
            .is_some_and(|c| c.state == CallState::Established);
        let busy = self
            .calls
            .get(&handle)
            .is_some_and(|c| c.refer_in.is_some());
        if !established || busy {
            // One transfer at a time.
            self.answer_simple(now, key, 491, &[]);
            return;
        }
        let (target, replaces) = split_refer_to(&target);
        // What goes into our INVITE must be a Replaces value and nothing else.
        if replaces.as_deref().is_some_and(|r| {
            r.chars().any(char::is_control) || crate::typed::Replaces::parse(r).is_err()
        }) {
            self.answer_simple(now, key, 400, &[]);
            return;
        }
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        if let Some(c) = self.calls.get_mut(&handle) {
            c.refer_in = Some(ReferIn {
                pending: Some((key.to_owned(), req.clone())),
                seq,
            });
        }
        self.events.push_back(Event::Referred {
            call: handle,
            target: target.to_string(),
            replaces,
            referred_by: req.headers.get("Referred-By").map(str::to_owned),
        });
    }

    /// Accepts the pending REFER: 202, then NOTIFY `100 Trying`.
    pub fn accept_refer(&mut self, now: Instant, handle: CallHandle) -> Result<(), UaError> {
        let (key, req, tag) = {
            let c = self.calls.get_mut(&handle).ok_or(UaError::UnknownCall)?;
            let r = c.refer_in.as_mut().ok_or(UaError::WrongState)?;
            let (key, req) = r.pending.take().ok_or(UaError::WrongState)?;
            (key, req, c.local_tag.clone())
        };
        let transport = self.calls.get(&handle).map_or(Transport::Udp, |c| c.peer.0);
        let mut resp = response_for(&req, 202, Some(&tag));
        resp.headers.push("Contact", self.contact(transport));
        self.respond(now, &key, &mut resp, &[], None);
        // The 202 leaves before the first NOTIFY (peers may insist on it).
        self.flush_tx();
        self.send_transfer_notify(now, handle, 100);
        self.flush_tx();
        Ok(())
    }

    /// Refuses the pending REFER (403, 603 …).
    pub fn reject_refer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        status: u16,
    ) -> Result<(), UaError> {
        let (key, req, tag) = {
            let c = self.calls.get_mut(&handle).ok_or(UaError::UnknownCall)?;
            let (key, req) = c
                .refer_in
                .take()
                .and_then(|r| r.pending)
                .ok_or(UaError::WrongState)?;
            (key, req, c.local_tag.clone())
        };
        let mut resp = response_for(&req, error_status(status, 603), Some(&tag));
        self.respond(now, &key, &mut resp, &[], None);
        self.flush_tx();
        Ok(())
    }

    /// Tells the transferor how the call we placed for it goes; a final
    /// status ends the subscription.
    pub fn notify_transfer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        status: u16,
    ) -> Result<(), UaError> {
        let c = self.calls.get(&handle).ok_or(UaError::UnknownCall)?;
        let accepted = c.refer_in.as_ref().is_some_and(|r| r.pending.is_none());
        if !accepted {
            return Err(UaError::WrongState);
        }
        self.send_transfer_notify(now, handle, status);
        if status >= 200
            && let Some(c) = self.calls.get_mut(&handle)
        {
            c.refer_in = None;
        }
        self.flush_tx();
        Ok(())
    }

    fn send_transfer_notify(&mut self, now: Instant, handle: CallHandle, status: u16) {
        let live = self
            .calls
            .get(&handle)
            .is_some_and(|c| matches!(c.state, CallState::Established));
        if !live {
            return;
        }
        let id = self
            .calls
            .get(&handle)
            .and_then(|c| c.refer_in.as_ref())
            .map_or(0, |r| r.seq);
        let Some((mut req, dest)) = self.in_dialog_request(handle, Method::Notify, None) else {
            return;
        };
        let body = format!(
            "SIP/2.0 {status} {}\r\n",
            crate::message::reason_phrase(status)
        )
        .into_bytes();
        req.headers.push("Event", format!("refer;id={id}"));
        req.headers.push(
            "Subscription-State",
            if status >= 200 {
                "terminated;reason=noresource".to_owned()
            } else {
                "active;expires=60".to_owned()
            },
        );
        req.headers.push("Contact", self.contact(dest.0));
        req.headers
            .set("Content-Type", "message/sipfrag;version=2.0");
        req.body = body;
        seal(&mut req);
        self.start_in_dialog(now, handle, req, dest);
    }

    // ------------------------------------------------------------ Replaces

    /// The call an INVITE with Replaces names, or the status to refuse it
    /// with (481: no such dialog; 603: it has ended; 486: early-only but
    /// confirmed).
    pub(super) fn match_replaces(&self, req: &Request) -> Option<Result<CallHandle, u16>> {
        let r = match req.headers.replaces() {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(_) => return Some(Err(400)),
        };
        let found = self.calls.iter().find(|(_, c)| {
            c.dialog.as_ref().is_some_and(|d| {
                d.id.call_id == r.call_id
                    && d.id.local_tag == r.to_tag
                    && d.id.remote_tag == r.from_tag
            })
        });
        Some(match found {
            None => Err(481),
            Some((_, c)) if c.state == CallState::Ended || c.state == CallState::Terminating => {
                Err(603)
            }
            Some((_, c)) if r.early_only && c.state == CallState::Established => Err(486),
            // Only a confirmed call can be taken over; an early dialog we
            // did not start (a call still ringing here) is not ours to
            // give away (RFC 3891 §3).
            Some((_, c)) if c.state != CallState::Established => Err(481),
            Some((h, _)) => Ok(*h),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_headers_are_split_and_unescaped() {
        let u = Uri::parse(
            "sip:carol@c.example?Replaces=abc%40host%3Bto-tag%3D7743%3Bfrom-tag%3D6472&Require=replaces",
        )
        .unwrap();
        let (t, r) = split_refer_to(&u);
        assert_eq!(t.to_string(), "sip:carol@c.example");
        assert_eq!(r.as_deref(), Some("abc@host;to-tag=7743;from-tag=6472"));
        let plain = Uri::parse("sip:200@pbx;transport=tcp").unwrap();
        assert_eq!(split_refer_to(&plain), (plain.clone(), None));
    }

    #[test]
    fn escaped_replaces_round_trips() {
        let v = "x y@h;to-tag=a;from-tag=b";
        let u = Uri::parse(&format!("sip:c@h?Replaces={}", escape_header_value(v))).unwrap();
        assert_eq!(split_refer_to(&u).1.as_deref(), Some(v));
    }

    #[test]
    fn sipfrag_status_lines() {
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\n"), Some(200));
        assert_eq!(sipfrag_status(b"SIP/2.0 180 Ringing"), Some(180));
        assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
        assert_eq!(sipfrag_status(b"SIP/2.0 999 Odd"), None);
        assert_eq!(sipfrag_status(&[0xff, 0xfe]), None);
    }
}
