//! The input side of the user agent: it only finds where an input belongs.
//!
//! - A datagram is parsed once ([`Message::parse`]); one that does not parse
//!   is answered 400 (505 for another SIP version) from its salvaged headers
//!   where it can be, and reported as [`Event::Rejected`].
//! - A request that its server transaction knows (a retransmission, the ACK
//!   for a non-2xx) is absorbed there. An ACK for a 2xx and a CANCEL go to
//!   their call ([`super::invite`]). Any other request opens a server
//!   transaction, then meets the §8.2 checks ([`super::checks`]); one with a
//!   To tag goes to its dialog's call (481 when there is none), and outside
//!   a dialog an INVITE starts a call, OPTIONS is answered here, and the
//!   rest gets 481 or 405.
//! - A response goes through its client transaction to that transaction's
//!   owner: a call or the registration ([`super::registration`]); a stray
//!   one is dropped.
//! - A timeout runs the transactions' timers, then each call's deadlines
//!   ([`super::timer`]), then the registration refresh.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::checks::refusal_headers;
use super::invite::{CallState, OkDue, build_ack_for_non_2xx};
use super::timer::CallTimer;
use super::trust::{admits, vouches};
use super::{
    ALLOW, EndReason, Event, Owner, ServerTx, Transport, UserAgent, finish, response_for,
    response_from_headers,
};
use crate::dialog::DialogId;
use crate::header::Via;
use crate::message::{
    Message, Method, ParseError, Request, Response, reason_phrase, salvage_request_headers,
};
use crate::transaction::{Kind, ResponseAction, Transaction, TxEvent};

/// Refused messages reported one by one each second; the rest are counted.
pub(super) const REPORTS_PER_SECOND: u32 = 20;

/// Seconds a peer is asked to wait when we are full of INVITEs.
const OVERLOAD_RETRY_AFTER: u32 = 5;

/// The transaction key of a request (RFC 3261 §17.2.3), with the RFC 2543
/// fallback when the branch lacks the magic cookie.
pub(super) fn server_key(req: &Request, via: &Via) -> String {
    let method = match req.method {
        Method::Ack => "INVITE".to_owned(),
        ref m => m.as_str().to_owned(),
    };
    let sent_by = format!("{}:{}", via.host, via.port.unwrap_or(5060));
    if via.has_rfc3261_branch() {
        format!("{}|{}|{}", via.branch().unwrap_or(""), sent_by, method)
    } else {
        let from_tag = req
            .from()
            .ok()
            .and_then(|f| f.tag().map(str::to_owned))
            .unwrap_or_default();
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        format!(
            "2543|{}|{}|{}|{}|{}",
            req.call_id(),
            from_tag,
            seq,
            sent_by,
            method
        )
    }
}

pub(super) fn client_key(branch: &str, method: &Method) -> String {
    let m = if *method == Method::Ack {
        &Method::Invite
    } else {
        method
    };
    format!("{branch}|{m}")
}

/// Where a response to `req` goes (RFC 3261 §18.2.2, RFC 3581).
fn response_destination(via: &Via, transport: Transport, source: SocketAddr) -> SocketAddr {
    if transport.reliable() {
        return source;
    }
    if via.rport().is_some() {
        return source;
    }
    let port = via.port.unwrap_or(5060);
    SocketAddr::new(source.ip(), port)
}

impl UserAgent {
    /// A datagram (or a framed stream message) arrived from `source`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
    ) {
        match Message::parse(bytes) {
            Ok(Message::Request(req)) => self.handle_request(now, transport, source, req),
            Ok(Message::Response(resp)) => self.handle_response(now, resp),
            Err(e) => self.reject_unparsable(now, transport, source, bytes, &e),
        }
        self.flush_tx();
    }

    fn reject_unparsable(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        bytes: &[u8],
        e: &ParseError,
    ) {
        let status = salvage_request_headers(bytes).map(|h| {
            let first = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
            let first = String::from_utf8_lossy(first);
            let version = first.trim_end().rsplit(' ').next().unwrap_or("");
            let status = if version.starts_with("SIP/") && version != "SIP/2.0" {
                505
            } else {
                400
            };
            let mut resp = response_from_headers(&h, status, None);
            resp.reason = match status {
                505 => reason_phrase(505).to_owned(),
                _ => format!("Bad Request ({e})"),
            };
            finish(&mut resp.headers, &[], None);
            let dest = h
                .list("Via")
                .next()
                .and_then(|v| Via::parse(v).ok())
                .map(|v| response_destination(&v, transport, source))
                .unwrap_or(source);
            self.send((transport, dest), resp.to_bytes());
            status
        });
        self.report_rejected(now, source, status, e.to_string());
    }

    /// Reports a refused message, at most [`REPORTS_PER_SECOND`] a second:
    /// a flood must not become a flood of events for the application. The
    /// rest are counted and reported as one when the next second begins.
    pub(super) fn report_rejected(
        &mut self,
        now: Instant,
        source: SocketAddr,
        status: Option<u16>,
        error: String,
    ) {
        let r = &mut self.reports;
        if r.since
            .is_none_or(|s| now.saturating_duration_since(s) >= Duration::from_secs(1))
        {
            let hidden = std::mem::take(&mut r.hidden);
            r.since = Some(now);
            r.shown = 0;
            if hidden > 0 {
                self.events.push_back(Event::Rejected {
                    source,
                    status: None,
                    error: format!(
                        "{hidden} more messages refused in the second before (not reported one by one)"
                    ),
                });
            }
        }
        let r = &mut self.reports;
        if r.shown < REPORTS_PER_SECOND {
            r.shown += 1;
            self.events.push_back(Event::Rejected {
                source,
                status,
                error,
            });
        } else {
            r.hidden += 1;
        }
    }

    pub(super) fn respond(
        &mut self,
        now: Instant,
        key: &str,
        resp: &mut Response,
        body: &[u8],
        ct: Option<&str>,
    ) {
        resp.headers.push("Server", self.config.user_agent.clone());
        resp.body = body.to_vec();
        finish(&mut resp.headers, body, ct);
        self.send_through(now, key, resp);
    }

    /// Sends `resp` through the server transaction `key`. Once it is final,
    /// retransmissions get the stored response; the request's body is not
    /// needed again (the call keeps its own copy of an INVITE), nor, outside
    /// INVITE, its headers.
    fn send_through(&mut self, now: Instant, key: &str, resp: &Response) {
        if let Some(st) = self.server.get_mut(key) {
            st.tx.send_response(now, resp.status, resp.to_bytes());
            if resp.status >= 200 {
                st.request.body = Vec::new();
                if st.tx.kind() == Kind::ServerNonInvite {
                    st.request.headers = crate::message::Headers::new();
                }
            }
        }
    }

    /// A refusal that says nothing about us (no Server header, no Allow):
    /// for requests from sources we do not talk to.
    fn refuse_anonymously(&mut self, now: Instant, key: &str, status: u16) {
        let Some(request) = self.server.get(key).map(|s| s.request.clone()) else {
            return;
        };
        let tag = self.token();
        let mut resp = response_for(&request, status, Some(&tag));
        finish(&mut resp.headers, &[], None);
        self.send_through(now, key, &resp);
    }

    /// Answers statelessly-looking but through a server transaction, so that
    /// retransmissions of the request get the same answer.
    pub(super) fn answer_simple(
        &mut self,
        now: Instant,
        key: &str,
        status: u16,
        extra: &[(&str, String)],
    ) {
        let Some(request) = self.server.get(key).map(|s| s.request.clone()) else {
            return;
        };
        let tag = self.token();
        let mut resp = response_for(&request, status, Some(&tag));
        for (n, v) in extra {
            resp.headers.push(*n, v.clone());
        }
        self.respond(now, key, &mut resp, &[], None);
    }

    /// Room for one more server transaction: true when there is, after
    /// evicting the oldest non-INVITE one if the table is full.
    fn make_room(&mut self) -> bool {
        if self.server.len() < self.config.max_server_transactions.max(1) {
            return true;
        }
        self.server.evict_oldest().is_some()
    }

    /// Every slot holds an INVITE: 503 with Retry-After, statelessly (no
    /// transaction: a retransmission gets another 503).
    fn refuse_overloaded(
        &mut self,
        now: Instant,
        dest: (Transport, SocketAddr),
        req: &Request,
        source: SocketAddr,
    ) {
        if req.method != Method::Ack {
            let mut resp = response_for(req, 503, None);
            resp.headers
                .push("Retry-After", OVERLOAD_RETRY_AFTER.to_string());
            resp.headers.push("Server", self.config.user_agent.clone());
            finish(&mut resp.headers, &[], None);
            self.send(dest, resp.to_bytes());
        }
        let error = format!(
            "{} server transactions live, all INVITE: overloaded",
            self.server.len()
        );
        self.report_rejected(now, source, Some(503), error);
    }

    fn handle_request(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        req: Request,
    ) {
        let Ok(via) = req.top_via() else { return };
        let dest = (transport, response_destination(&via, transport, source));
        let key = server_key(&req, &via);

        // Retransmission, or the ACK / CANCEL of an existing transaction.
        if let Some(st) = self.server.get_mut(&key) {
            match req.method {
                Method::Ack => st.tx.handle_ack(now),
                _ => st.tx.handle_retransmitted_request(),
            }
            return;
        }
        if req.method == Method::Ack {
            self.handle_ack(&req);
            return;
        }
        if req.method == Method::Cancel {
            self.handle_cancel(now, dest, &req, &via);
            return;
        }
        let kind = if req.method == Method::Invite {
            Kind::ServerInvite
        } else {
            Kind::ServerNonInvite
        };
        if !self.make_room() {
            self.refuse_overloaded(now, dest, &req, source);
            return;
        }
        self.server.insert(
            key.clone(),
            ServerTx {
                tx: Transaction::server(kind, transport.reliable()),
                dest,
                request: req.clone(),
                call: None,
            },
            kind == Kind::ServerNonInvite,
        );

        let to_tag = req.to().ok().and_then(|t| t.tag().map(str::to_owned));
        if to_tag.is_none() && !admits(self.config.trusted.as_deref(), source.ip()) {
            // Outside a dialog, only the trusted sources may reach us; a
            // scanner learns nothing about which users exist, nor what
            // answers (no Server header).
            self.refuse_anonymously(now, &key, 403);
            let error = format!("{} from an untrusted source", req.method);
            self.report_rejected(now, source, Some(403), error);
            return;
        }
        let mut req = req;
        if req.method == Method::Invite && !vouches(self.config.trusted.as_deref(), source.ip()) {
            // RFC 3325 §5: an identity asserted from outside the trust
            // domain is removed, not believed.
            req.headers.remove("P-Asserted-Identity");
        }

        if let Some(status) = self.precheck(&req) {
            let extra = refusal_headers(&req, status);
            self.answer_simple(now, &key, status, &extra);
            return;
        }

        // A NOTIFY of a subscription of ours; other in-dialog requests.
        if req.method == Method::Notify
            && let Some(tag) = &to_tag
            && let Some(h) = self.subscription_of(&req, tag)
        {
            self.subscription_notify(now, &key, h, &req);
            return;
        }
        if let Some(to_tag) = to_tag {
            self.handle_in_dialog(now, &key, &req, &to_tag);
            return;
        }

        match req.method {
            Method::Invite => self.handle_invite(now, &key, dest, req),
            Method::Options => {
                let extra = vec![
                    ("Allow", ALLOW.to_owned()),
                    ("Accept", "application/sdp".to_owned()),
                    ("Supported", String::new()),
                ];
                self.answer_simple(now, &key, 200, &extra);
            }
            // No dialog, no subscription: nothing to act on.
            Method::Bye | Method::Info | Method::Update | Method::Notify | Method::Refer => {
                self.answer_simple(now, &key, 481, &[])
            }
            _ => self.answer_simple(now, &key, 405, &[("Allow", ALLOW.to_owned())]),
        }
    }

    pub(super) fn dialog_id_of_request(req: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: req.call_id().to_owned(),
            local_tag: req.to().ok()?.tag()?.to_owned(),
            remote_tag: req.from().ok()?.tag().unwrap_or("").to_owned(),
        })
    }

    fn handle_response(&mut self, now: Instant, resp: Response) {
        let Ok(via) = resp.top_via() else { return };
        let Ok(cseq) = resp.cseq() else { return };
        let Some(branch) = via.branch() else { return };
        let key = client_key(branch, &cseq.method);
        let Some(ct) = self.client.get_mut(&key) else {
            return; // stray response (RFC 3261 §18.1.2): drop it
        };
        let status = resp.status;
        let req = ct.request.clone();
        let dest = ct.dest;
        let action = ct
            .tx
            .handle_response(now, status, || build_ack_for_non_2xx(&req, &resp));
        let owner = ct.owner;
        if action == ResponseAction::Absorb {
            return;
        }
        match owner {
            Owner::Call(h) => self.call_response(now, h, &req, &resp, dest),
            Owner::Register => self.register_response(now, &resp),
            Owner::Subscribe(h) => self.subscribe_response(now, h, &req, &resp),
            Owner::None => {}
        }
    }

    /// The transport could not carry what we sent to `dest` (a TCP or TLS
    /// connection refused, timed out, closed, or its certificate not
    /// trusted): every client transaction to it fails now, as a 503 would
    /// (RFC 3261 §8.1.3.1), instead of waiting out timer B or F. `reason`
    /// says why, for the registration's event.
    pub fn transport_failed(
        &mut self,
        now: Instant,
        transport: Transport,
        dest: SocketAddr,
        reason: &str,
    ) {
        let keys = self.client.keys_where(|t| t.dest == (transport, dest));
        for key in keys {
            let Some(t) = self.client.remove(&key) else {
                continue;
            };
            match t.owner {
                Owner::Register
                    if self
                        .registration
                        .as_ref()
                        .is_some_and(|r| r.call_id == t.request.call_id()) =>
                {
                    self.registration_failed(now, None, reason.to_owned());
                }
                Owner::Call(h)
                    if t.request.method == Method::Invite && !self.reinvite_timed_out(now, h) =>
                {
                    self.end_call(now, h, EndReason::Rejected, Some(503));
                }
                Owner::Call(h) if t.request.method == Method::Refer => self.refer_timed_out(h),
                Owner::Subscribe(h) => {
                    self.subscription_unanswered(now, h, t.request.call_id(), reason)
                }
                Owner::Call(h) if t.request.method == Method::Bye => {
                    if let Some(c) = self.calls.get_mut(&h) {
                        c.timers.set(CallTimer::Linger, now);
                    }
                }
                _ => {}
            }
        }
        self.flush_tx();
    }

    // ---------------------------------------------------------------- timers

    /// Runs everything due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut fired = Vec::new();
        for (key, events) in self.client.fire(now) {
            let Some(t) = self.client.get(&key) else {
                continue;
            };
            for e in events {
                fired.push((
                    t.owner,
                    t.request.method.clone(),
                    t.request.call_id().to_owned(),
                    e,
                ));
            }
        }
        let mut no_ack = Vec::new();
        for (key, events) in self.server.fire(now) {
            let Some(t) = self.server.get(&key) else {
                continue;
            };
            if events.contains(&TxEvent::NoAck) {
                no_ack.push((t.call, t.dest.1));
            }
        }
        self.flush_tx();
        for (owner, method, call_id, _) in fired {
            match owner {
                Owner::Call(h) if method == Method::Invite && self.reinvite_timed_out(now, h) => {}
                Owner::Call(h) if method == Method::Refer => self.refer_timed_out(h),
                Owner::Call(h) if method == Method::Invite => {
                    let state = self.calls.get(&h).map(|c| c.state);
                    let reason = match state {
                        Some(CallState::Cancelling) => EndReason::Cancelled,
                        _ => EndReason::Timeout,
                    };
                    self.end_call(now, h, reason, Some(408));
                }
                Owner::Call(h) if method == Method::Bye => {
                    if let Some(c) = self.calls.get_mut(&h) {
                        c.timers.set(CallTimer::Linger, now);
                    }
                }
                Owner::Register
                    if self
                        .registration
                        .as_ref()
                        .is_some_and(|r| r.call_id == call_id) =>
                {
                    self.registration_failed(now, Some(408), "registrar did not answer".to_owned())
                }
                Owner::Subscribe(h) => {
                    self.subscription_unanswered(now, h, &call_id, "the notifier did not answer")
                }
                _ => {}
            }
        }
        for (call, peer) in no_ack {
            self.events.push_back(Event::AckMissing { call, peer });
        }

        // Each call's own deadlines (`timer`), all taken at once and run in
        // this order: 2xx re-sends, 2xx give-ups, lingering calls dropped,
        // transfers given up, glare retries.
        let mut give_up = Vec::new();
        let mut resend = Vec::new();
        let mut expired = Vec::new();
        let mut stale_refers = Vec::new();
        let mut glare = Vec::new();
        let mut unanswered = Vec::new();
        for (h, c) in self.calls.iter_mut() {
            let fired: Vec<(CallTimer, Instant)> = c.timers.expired(now).collect();
            // UAS 2xx retransmission (RFC 3261 §13.3.1.4).
            for due in c.ok_due(now, &fired).into_iter().flatten() {
                match due {
                    OkDue::Nothing => {}
                    OkDue::Resend(bytes) => resend.push((c.peer, bytes)),
                    OkDue::GiveUp => give_up.push(*h),
                }
            }
            for (timer, _) in fired {
                match timer {
                    CallTimer::Linger => expired.push(*h),
                    CallTimer::ReferPatience => stale_refers.push(*h),
                    CallTimer::GlareRetry => glare.push(*h),
                    CallTimer::RingTimeout => unanswered.push(*h),
                    // Taken by `ok_due` above.
                    CallTimer::OkResend
                    | CallTimer::OkGiveUp
                    | CallTimer::ReofferOkResend
                    | CallTimer::ReofferOkGiveUp => {}
                }
            }
        }
        for (d, p) in resend {
            self.send(d, p);
        }
        for h in give_up {
            // No ACK: the session is not established; BYE it (§13.3.1.4).
            self.send_bye(now, h);
            self.end_call(now, h, EndReason::Timeout, None);
        }
        for h in expired {
            if let Some(c) = self.calls.remove(&h)
                && let Some(d) = c.dialog
            {
                self.dialogs.remove(&d.id);
            }
        }
        for h in stale_refers {
            self.refer_timed_out(h);
        }
        for h in glare {
            self.glare_retry_due(now, h);
        }
        for h in unanswered {
            self.ring_timed_out(now, h);
        }
        self.registration_due(now);
        self.subscriptions_due(now);
        self.flush_tx();
    }
}
