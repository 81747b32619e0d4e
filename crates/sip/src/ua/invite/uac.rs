//! The calls we place (RFC 3261 §13.2, the UAC side): the INVITE, CANCEL
//! (§9.1: only after a provisional response), the responses to our INVITE,
//! at most two digest retries with the account's credentials (§22.2), and
//! the ACKs: the transaction's for a non-2xx (§17.1.1.3), ours for a 2xx
//! (§13.2.2.4).

use std::net::SocketAddr;
use std::time::Instant;

use super::{Call, CallState};
use crate::auth::{Challenge, DigestClient};
use crate::dialog::Dialog;
use crate::header::NameAddr;
use crate::message::{Headers, Method, Request, Response, Version};
use crate::transaction::T1;
use crate::ua::checks::is_forbidden_destination;
use crate::ua::router::client_key;
use crate::ua::timer::CallTimer;
use crate::ua::{
    ALLOW, CallHandle, EndReason, Event, Owner, Transport, UaError, UserAgent, finish,
};
use crate::uri::{Host, SipUri, Uri};

impl UserAgent {
    /// Places a call to `target` through `next_hop`, offering `sdp`.
    /// `extra_headers` are added to the INVITE as given.
    pub fn call(
        &mut self,
        now: Instant,
        target: Uri,
        next_hop: (Transport, SocketAddr),
        sdp: Vec<u8>,
        extra_headers: &[(String, String)],
    ) -> Result<CallHandle, UaError> {
        if target.as_sip().is_none() {
            return Err(UaError::NotSipUri);
        }
        if is_forbidden_destination(next_hop.1.ip()) {
            return Err(UaError::ForbiddenDestination);
        }
        if self.active_calls() >= self.config.max_calls {
            return Err(UaError::TooManyCalls);
        }
        let handle = CallHandle(self.next_call);
        self.next_call += 1;
        let call_id = format!("{}@{}", self.token(), self.local_host());
        let local_tag = self.token();
        let from = self.local_identity(&local_tag);
        let to = NameAddr::new(target.clone()).to_string();
        let branch = self.branch();
        let mut req = Request {
            method: Method::Invite,
            uri: target,
            version: Version::SIP_2_0,
            headers: Headers::new(),
            body: sdp.clone(),
        };
        let h = &mut req.headers;
        h.push("Via", self.via(next_hop.0, &branch));
        h.push("Max-Forwards", "70");
        h.push("From", from);
        h.push("To", to);
        h.push("Call-ID", call_id.clone());
        h.push("CSeq", "1 INVITE");
        h.push("Contact", self.contact(next_hop.0));
        h.push("Allow", ALLOW);
        h.push("User-Agent", self.config.user_agent.clone());
        for (n, v) in extra_headers {
            h.push(n.clone(), v.clone());
        }
        finish(h, &sdp, Some("application/sdp"));
        let key = client_key(&branch, &Method::Invite);
        self.start_client(now, key.clone(), req.clone(), next_hop, Owner::Call(handle));
        let mut call = Call::new(
            CallState::Calling,
            true,
            call_id,
            local_tag,
            next_hop,
            req,
            key,
        );
        call.local_sdp = sdp;
        self.calls.insert(handle, call);
        self.flush_tx();
        Ok(handle)
    }

    fn local_identity(&self, tag: &str) -> String {
        let domain = match &self.registration {
            Some(r) => r.account.registrar.host.to_string(),
            None => self.local_host(),
        };
        let user = match &self.registration {
            Some(r) => r.account.username.clone(),
            None => self.config.user.clone(),
        };
        let mut na = NameAddr::new(Uri::Sip(SipUri::new(
            Some(&user),
            Host::parse(&domain).unwrap_or(Host::from(self.config.advertised.ip())),
            None,
        )));
        na.display = self.config.display_name.clone();
        na.params.set("tag", Some(tag));
        na.to_string()
    }

    pub(in crate::ua) fn send_cancel(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        call.state = CallState::Cancelling;
        let inv = &call.invite;
        let mut h = Headers::new();
        if let Some(v) = inv.headers.get_all("Via").next() {
            h.push("Via", v);
        }
        for n in ["Max-Forwards", "From", "To", "Call-ID"] {
            if let Some(v) = inv.headers.get(n) {
                h.push(n, v);
            }
        }
        for r in inv.headers.get_all("Route") {
            h.push("Route", r);
        }
        let seq = inv.cseq().map(|c| c.seq).unwrap_or(1);
        h.push("CSeq", format!("{seq} CANCEL"));
        h.push("Content-Length", "0");
        let req = Request {
            method: Method::Cancel,
            uri: inv.uri.clone(),
            version: Version::SIP_2_0,
            headers: h,
            body: Vec::new(),
        };
        let branch = inv
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        let dest = call.peer;
        self.start_client(
            now,
            client_key(&branch, &Method::Cancel),
            req,
            dest,
            Owner::None,
        );
    }

    /// The ACK for a 2xx is a request of its own (§13.2.2.4) with the INVITE's CSeq number.
    pub(in crate::ua) fn send_ack_2xx(&mut self, handle: CallHandle, invite: &Request) {
        let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
        let Some((ack, dest)) = self.in_dialog_request(handle, Method::Ack, Some(seq)) else {
            return;
        };
        let bytes = ack.to_bytes();
        if let Some(c) = self.calls.get_mut(&handle) {
            // Each 2xx gets the ACK of its own INVITE when it comes again.
            if c.ack.is_none() {
                c.ack = Some(bytes.clone());
            } else {
                c.reack = Some((seq, bytes.clone()));
            }
        }
        self.send(dest, bytes);
    }

    pub(in crate::ua) fn call_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        req: &Request,
        resp: &Response,
        dest: (Transport, SocketAddr),
    ) {
        let Some(call) = self.calls.get(&handle) else {
            return;
        };
        let state = call.state;
        let status = resp.status;
        let cseq_method = resp.cseq().map(|c| c.method).unwrap_or(Method::Invite);
        if cseq_method == Method::Bye {
            if status >= 200
                && let Some(c) = self.calls.get_mut(&handle)
            {
                c.timers.set(CallTimer::Linger, now + 64 * T1 / 2);
            }
            return;
        }
        if cseq_method == Method::Refer {
            self.refer_response(handle, resp);
            return;
        }
        if cseq_method != Method::Invite {
            return;
        }
        if self.is_reinvite_response(handle, resp) {
            self.reinvite_response(now, handle, req, resp);
            return;
        }
        if (200..300).contains(&status) {
            if state == CallState::Ended || state == CallState::Established {
                // 2xx retransmission: re-send the ACK of that INVITE.
                let seq = resp.cseq().map(|c| c.seq).ok();
                let ack = match &call.reack {
                    Some((s, a)) if Some(*s) == seq => Some(a.clone()),
                    _ => call.ack.clone(),
                };
                if let Some(a) = ack {
                    self.send(dest, a);
                }
                return;
            }
            let Some(dialog) = Dialog::from_uac(req, resp) else {
                return;
            };
            self.dialogs.insert(dialog.id.clone(), handle);
            if let Some(c) = self.calls.get_mut(&handle) {
                c.dialog = Some(dialog);
                c.remote_sdp = resp.body.clone();
            }
            self.send_ack_2xx(handle, req);
            if matches!(state, CallState::Cancelling | CallState::CancelPending) {
                // CANCEL lost the race with the 2xx (§9.1): ACK, then BYE.
                self.send_bye(now, handle);
                self.end_call(now, handle, EndReason::Cancelled, Some(status));
                return;
            }
            if let Some(c) = self.calls.get_mut(&handle) {
                c.state = CallState::Established;
            }
            self.events.push_back(Event::Established {
                call: handle,
                remote_sdp: resp.body.clone(),
            });
            return;
        }
        if status < 200 {
            if status == 100 {
                return;
            }
            if state == CallState::CancelPending {
                self.send_cancel(now, handle);
                return;
            }
            if state == CallState::Calling {
                if let Some(c) = self.calls.get_mut(&handle) {
                    c.state = CallState::Early;
                }
                if status == 180 || status == 183 {
                    self.events.push_back(Event::Ringing {
                        call: handle,
                        status,
                    });
                }
            }
            return;
        }
        // Non-2xx final.
        if (status == 401 || status == 407)
            && !matches!(state, CallState::Cancelling | CallState::CancelPending)
            && self.retry_invite_with_auth(now, handle, req, resp)
        {
            return;
        }
        let reason = match state {
            CallState::Cancelling | CallState::CancelPending if status == 487 => {
                EndReason::Cancelled
            }
            _ if status == 401 || status == 407 => EndReason::AuthFailed,
            _ => EndReason::Rejected,
        };
        self.end_call(now, handle, reason, Some(status));
    }

    fn retry_invite_with_auth(
        &mut self,
        now: Instant,
        handle: CallHandle,
        req: &Request,
        resp: &Response,
    ) -> bool {
        let header = if resp.status == 407 {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let Some(ch) = Challenge::best(resp.headers.get_all(header)) else {
            return false;
        };
        let Some(reg) = &self.registration else {
            return false;
        };
        let realm = reg
            .account
            .realm
            .clone()
            .unwrap_or_else(|| reg.account.registrar.host.to_string());
        if ch.realm != realm {
            return false;
        }
        let mut digest = DigestClient::new(&reg.account.username, &reg.account.password);
        digest.set_challenge(ch);
        let tries = self.calls.get(&handle).map(|c| c.auth_tries).unwrap_or(9);
        if tries >= 2 {
            return false;
        }
        let cnonce = self.token();
        let Some(cred) = digest.credentials("INVITE", &req.uri.to_string(), &cnonce) else {
            return false;
        };
        let mut new = req.clone();
        let branch = self.branch();
        let seq = req.cseq().map(|c| c.seq + 1).unwrap_or(2);
        let dest = self.calls.get(&handle).map(|c| c.peer);
        let Some(dest) = dest else { return false };
        new.headers.set("CSeq", format!("{seq} INVITE"));
        let via = self.via(dest.0, &branch);
        let mut ordered = Headers::new();
        ordered.push("Via", via);
        for h in new
            .headers
            .iter()
            .filter(|h| !h.name.eq_ignore_ascii_case("Via") && !h.name.eq_ignore_ascii_case("v"))
        {
            ordered.push(h.name.clone(), h.value.clone());
        }
        let cred_header = if resp.status == 407 {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        ordered.set(cred_header, cred.to_string());
        // Content-Length last keeps the message tidy.
        ordered.set("Content-Length", new.body.len().to_string());
        new.headers = ordered;
        let key = client_key(&branch, &Method::Invite);
        self.start_client(now, key.clone(), new.clone(), dest, Owner::Call(handle));
        if let Some(c) = self.calls.get_mut(&handle) {
            c.auth_tries += 1;
            c.invite = new;
            c.invite_key = key;
        }
        true
    }
}

/// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same branch and
/// Request-URI as the INVITE, To from the response.
pub(in crate::ua) fn build_ack_for_non_2xx(invite: &Request, resp: &Response) -> Vec<u8> {
    let mut h = Headers::new();
    if let Some(v) = invite.headers.get_all("Via").next() {
        h.push("Via", v);
    }
    for n in ["Max-Forwards", "From"] {
        if let Some(v) = invite.headers.get(n) {
            h.push(n, v);
        }
    }
    if let Some(v) = resp.headers.get("To") {
        h.push("To", v);
    }
    if let Some(v) = invite.headers.get("Call-ID") {
        h.push("Call-ID", v);
    }
    let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
    h.push("CSeq", format!("{seq} ACK"));
    for r in invite.headers.get_all("Route") {
        h.push("Route", r);
    }
    h.push("Content-Length", "0");
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: Version::SIP_2_0,
        headers: h,
        body: Vec::new(),
    }
    .to_bytes()
}
