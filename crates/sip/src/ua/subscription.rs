//! Subscriptions we hold (RFC 6665) to the dialog event package (RFC 4235):
//! a colleague's line watched for the busy lamp.
//!
//! Each [`Subscription`] is a machine of its own, keyed by a
//! [`SubscriptionHandle`]:
//! - [`UserAgent::subscribe`] sends the SUBSCRIBE (`Event: dialog`,
//!   `Accept: application/dialog-info+xml`) through the account's proxy,
//!   with digest authentication for the account's realm as REGISTER has.
//! - The dialog comes from the 2xx or from a NOTIFY that overtakes it
//!   (§4.1.2.4). Every NOTIFY is answered 200 and its body reported
//!   ([`Event::Notified`]); `Subscription-State: active;expires=` moves the
//!   refresh earlier when the notifier shortens it.
//! - A refresh goes out in the dialog at the later of half the granted
//!   time and 30 s before its end (as registration does).
//! - Ends, and what follows them:
//!   - 403, 404, 405, 420, 488, 489, 603 and 604 to a SUBSCRIBE, and a
//!     `terminated` NOTIFY with reason `rejected`, `noresource` or
//!     `invariant`, disable the subscription: nothing is sent again and
//!     [`Event::SubscriptionFailed`] says so with no retry. The PBX will not
//!     tell us about this line, and asking again would not change that.
//!   - A `terminated` NOTIFY with reason `deactivated` or `timeout` (or none)
//!     subscribes again at once in a new dialog; `probation` and `giveup`
//!     after its `retry-after`. A 481 to a refresh (the notifier forgot us)
//!     subscribes again at once.
//!   - Anything else (no answer, 5xx, 408, the transport down) is tried
//!     again after the account's back-off, as a failed registration is.
//! - [`UserAgent::unsubscribe`] sends `Expires: 0` in the dialog; the
//!   notifier's last NOTIFY (`terminated`) is answered 200 and reported to
//!   nobody, and the subscription is forgotten with it (or 32 s later, if it
//!   never comes). A NOTIFY after that gets 481.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::registration::{refresh_after, retry_after};
use super::router::client_key;
use super::{ALLOW, Backoff, Event, Owner, Transport, UserAgent};
use crate::auth::{Challenge, DigestClient};
use crate::dialog::{Dialog, DialogId};
use crate::header::NameAddr;
use crate::message::{Headers, Method, Request, Response, Version};
use crate::typed::SubState;
use crate::uri::{SipUri, Uri};

/// The event package we subscribe to.
pub const DIALOG_EVENT: &str = "dialog";

/// The body type we accept in its NOTIFYs.
pub const DIALOG_INFO: &str = "application/dialog-info+xml";

/// What we ask a subscription to last (RFC 4235 §3.3: one hour is the
/// package's default; PBXs grant less, kamailio and Asterisk 600 s or so).
pub const DEFAULT_SUBSCRIPTION_EXPIRES: u32 = 600;

/// Our handle for a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionHandle(pub u64);

impl std::fmt::Display for SubscriptionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubPhase {
    /// A SUBSCRIBE is in flight (the first, a refresh, or a retry).
    Subscribing,
    /// Accepted; refreshed at `refresh_at`.
    Active,
    /// Failed; a fresh SUBSCRIBE goes out at `refresh_at`.
    Waiting,
    /// Refused for good: nothing more is sent.
    Disabled,
    /// Unsubscribed: waiting for the notifier's last NOTIFY, then forgotten.
    Ending,
}

/// How long an ended subscription waits for its last NOTIFY (64·T1).
const ENDING_GRACE: Duration = Duration::from_secs(32);

/// A dialog that lasted less than this and was ended by the notifier is a
/// failure: asked again only after the back-off, so a notifier that accepts
/// and ends at once cannot make us loop.
const SHORT_LIVED: Duration = Duration::from_secs(30);

/// `stale` challenges answered in a row before giving up to the back-off.
const MAX_STALE: u8 = 3;

/// What we need to reach the notifier and prove who we are.
#[derive(Debug, Clone)]
pub struct Watch {
    /// The line watched (the SUBSCRIBE's Request-URI and To).
    pub target: SipUri,
    /// Where the SUBSCRIBEs go (the account's proxy).
    pub dest: (Transport, SocketAddr),
    /// Seconds asked for.
    pub expires: u32,
}

#[derive(Debug)]
pub(super) struct Subscription {
    watch: Watch,
    phase: SubPhase,
    call_id: String,
    from_tag: String,
    cseq: u32,
    dialog: Option<Dialog>,
    digest: Option<DigestClient>,
    auth_failures: u8,
    /// Challenges in a row that said `stale` (each answered at once).
    stale_challenges: u8,
    /// When the current dialog was accepted: a notifier that ends it at
    /// once is not asked again at once.
    accepted_at: Option<Instant>,
    expires: u32,
    refresh_at: Option<Instant>,
    failures: u32,
    retry: Backoff,
}

impl Subscription {
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.refresh_at
    }
}

/// Statuses after which asking again cannot help.
fn is_final_refusal(status: u16) -> bool {
    matches!(status, 403 | 404 | 405 | 420 | 488 | 489 | 603 | 604)
}

impl UserAgent {
    /// Starts watching `watch.target`'s dialogs. Credentials and the back-off
    /// are the registration's account's, when there is one.
    pub fn subscribe(&mut self, now: Instant, watch: Watch) -> SubscriptionHandle {
        let handle = SubscriptionHandle(self.next_subscription);
        self.next_subscription += 1;
        let (digest, retry) = match &self.registration {
            Some(r) => (
                Some(DigestClient::new(&r.account.username, &r.account.password)),
                r.account.retry,
            ),
            None => (None, Backoff::default()),
        };
        let sub = Subscription {
            expires: watch.expires.max(1),
            watch,
            phase: SubPhase::Subscribing,
            call_id: String::new(),
            from_tag: String::new(),
            cseq: 0,
            dialog: None,
            digest,
            auth_failures: 0,
            stale_challenges: 0,
            accepted_at: None,
            refresh_at: None,
            failures: 0,
            retry,
        };
        self.subscriptions.insert(handle, sub);
        self.fresh_subscribe(now, handle);
        self.flush_tx();
        handle
    }

    /// Stops watching: `Expires: 0` in the dialog when there is one (its
    /// last NOTIFY is still answered), else it is forgotten at once. No
    /// event about it follows.
    pub fn unsubscribe(&mut self, now: Instant, handle: SubscriptionHandle) {
        let active = self
            .subscriptions
            .get(&handle)
            .is_some_and(|s| s.dialog.is_some() && s.phase == SubPhase::Active);
        if active {
            self.send_subscribe(now, handle, true);
            if let Some(s) = self.subscriptions.get_mut(&handle) {
                s.phase = SubPhase::Ending;
                s.refresh_at = Some(now + ENDING_GRACE);
            }
            self.flush_tx();
        } else {
            self.forget_subscription(handle);
        }
    }

    fn forget_subscription(&mut self, handle: SubscriptionHandle) {
        if let Some(s) = self.subscriptions.remove(&handle) {
            self.subscription_calls.remove(&s.call_id);
        }
    }

    /// Refreshes an active subscription now (its NOTIFY brings the full
    /// state: a watcher that missed one asks so, RFC 4235 §4.1).
    pub fn refresh_subscription(&mut self, now: Instant, handle: SubscriptionHandle) {
        let active = self
            .subscriptions
            .get(&handle)
            .is_some_and(|s| s.phase == SubPhase::Active);
        if active {
            if let Some(s) = self.subscriptions.get_mut(&handle) {
                s.refresh_at = None;
            }
            self.send_subscribe(now, handle, false);
            self.flush_tx();
        }
    }

    /// How many subscriptions are held (waiting, disabled and ending ones included).
    pub fn subscriptions(&self) -> usize {
        self.subscriptions.len()
    }

    /// A new dialog: new Call-ID and tag, the version count starts again.
    fn fresh_subscribe(&mut self, now: Instant, handle: SubscriptionHandle) {
        let call_id = format!("{}@{}", self.token(), self.local_host());
        let from_tag = self.token();
        let Some(s) = self.subscriptions.get_mut(&handle) else {
            return;
        };
        let old = std::mem::replace(&mut s.call_id, call_id.clone());
        s.from_tag = from_tag;
        s.dialog = None;
        s.cseq = 0;
        s.auth_failures = 0;
        s.stale_challenges = 0;
        s.accepted_at = None;
        s.refresh_at = None;
        self.subscription_calls.remove(&old);
        self.subscription_calls.insert(call_id, handle);
        self.send_subscribe(now, handle, false);
    }

    fn send_subscribe(&mut self, now: Instant, handle: SubscriptionHandle, end: bool) {
        let branch = self.branch();
        let cnonce = self.token();
        let Some(dest) = self.subscriptions.get(&handle).map(|s| s.watch.dest) else {
            return;
        };
        let contact = self.contact(dest.0);
        let via = self.via(dest.0, &branch);
        let ua = self.config.user_agent.clone();
        let aor = match &self.registration {
            Some(r) => SipUri::new(
                Some(&r.account.username),
                r.account.registrar.host.clone(),
                None,
            ),
            None => SipUri::new(
                Some(&self.config.user),
                crate::uri::Host::from(self.config.advertised.ip()),
                None,
            ),
        };
        let Some(s) = self.subscriptions.get_mut(&handle) else {
            return;
        };
        s.cseq += 1;
        if !end {
            s.phase = SubPhase::Subscribing;
        }
        let (ruri, routes, from, to) = match &s.dialog {
            Some(d) => {
                let (ruri, routes) = d.request_target();
                (ruri, routes, d.local.to_string(), d.remote.to_string())
            }
            None => (
                Uri::Sip(s.watch.target.clone()),
                Vec::new(),
                format!("<{aor}>;tag={}", s.from_tag),
                format!("<{}>", s.watch.target),
            ),
        };
        let mut h = Headers::new();
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        for r in routes {
            h.push("Route", r);
        }
        h.push("From", from);
        h.push("To", to);
        h.push("Call-ID", s.call_id.clone());
        h.push("CSeq", format!("{} SUBSCRIBE", s.cseq));
        h.push("Contact", contact);
        h.push("Event", DIALOG_EVENT);
        h.push("Accept", DIALOG_INFO);
        h.push("Expires", if end { 0 } else { s.expires }.to_string());
        h.push("Allow", ALLOW);
        h.push("User-Agent", ua);
        if let Some(cred) = s
            .digest
            .as_mut()
            .and_then(|d| d.credentials("SUBSCRIBE", &ruri.to_string(), &cnonce))
        {
            h.push("Authorization", cred.to_string());
        }
        h.push("Content-Length", "0");
        let req = Request {
            method: Method::Subscribe,
            uri: ruri,
            version: Version::SIP_2_0,
            headers: h,
            body: Vec::new(),
        };
        let owner = if end {
            Owner::None
        } else {
            Owner::Subscribe(handle)
        };
        self.start_client(
            now,
            client_key(&branch, &Method::Subscribe),
            req,
            dest,
            owner,
        );
    }

    /// Refreshes and retries that are due.
    pub(super) fn subscriptions_due(&mut self, now: Instant) {
        let due: Vec<(SubscriptionHandle, SubPhase)> = self
            .subscriptions
            .iter()
            .filter(|(_, s)| s.refresh_at.is_some_and(|d| d <= now))
            .map(|(h, s)| (*h, s.phase))
            .collect();
        for (h, phase) in due {
            if let Some(s) = self.subscriptions.get_mut(&h) {
                s.refresh_at = None;
            }
            match phase {
                SubPhase::Active => self.send_subscribe(now, h, false),
                SubPhase::Waiting => self.fresh_subscribe(now, h),
                SubPhase::Ending => self.forget_subscription(h),
                SubPhase::Subscribing | SubPhase::Disabled => {}
            }
        }
    }

    /// The subscription failed: retried after the back-off (or
    /// `retry_after`), or disabled when `retry` is false.
    pub(super) fn subscription_failed(
        &mut self,
        now: Instant,
        handle: SubscriptionHandle,
        status: Option<u16>,
        reason: String,
        retry: Option<Option<u32>>,
    ) {
        let unit = (self.random() >> 11) as f64 / (1u64 << 53) as f64;
        let Some(s) = self.subscriptions.get_mut(&handle) else {
            return;
        };
        let retry_in = match retry {
            None => {
                s.phase = SubPhase::Disabled;
                s.refresh_at = None;
                None
            }
            Some(after) => {
                s.failures = s.failures.saturating_add(1);
                let wait = match after {
                    Some(secs) => Duration::from_secs(u64::from(secs.max(1))).min(s.retry.max),
                    None => s.retry.wait(s.failures, unit),
                };
                s.phase = SubPhase::Waiting;
                s.refresh_at = Some(now + wait);
                Some(wait)
            }
        };
        self.events.push_back(Event::SubscriptionFailed {
            subscription: handle,
            status,
            reason,
            retry_in,
        });
    }

    /// A transaction of the subscription got no answer or lost its transport.
    pub(super) fn subscription_unanswered(
        &mut self,
        now: Instant,
        handle: SubscriptionHandle,
        call_id: &str,
        reason: &str,
    ) {
        let current = self
            .subscriptions
            .get(&handle)
            .is_some_and(|s| s.call_id == call_id && s.phase == SubPhase::Subscribing);
        if current {
            self.subscription_failed(now, handle, Some(408), reason.to_owned(), Some(None));
        }
    }

    pub(super) fn subscribe_response(
        &mut self,
        now: Instant,
        handle: SubscriptionHandle,
        req: &Request,
        resp: &Response,
    ) {
        let status = resp.status;
        if status < 200 {
            return;
        }
        let realm = self
            .registration
            .as_ref()
            .map(|r| {
                r.account
                    .realm
                    .clone()
                    .unwrap_or_else(|| r.account.registrar.host.to_string())
            })
            .unwrap_or_default();
        let Some(s) = self.subscriptions.get_mut(&handle) else {
            return;
        };
        if resp.call_id() != s.call_id || s.phase != SubPhase::Subscribing {
            return; // the answer to a dialog since replaced
        }
        match status {
            200..=299 => {
                match s.dialog.as_mut() {
                    None => s.dialog = Dialog::from_uac(req, resp),
                    // A SUBSCRIBE refreshes the target (RFC 6665 §4.1.2.1).
                    Some(d) => d.refresh_target(&resp.headers),
                }
                if s.accepted_at.is_none() {
                    s.accepted_at = Some(now);
                }
                s.stale_challenges = 0;
                let granted = resp
                    .headers
                    .get("Expires")
                    .and_then(|e| e.trim().parse::<u32>().ok())
                    .unwrap_or(s.expires);
                s.failures = 0;
                s.auth_failures = 0;
                if granted == 0 {
                    // Accepted and ended at once: the notifier's final NOTIFY
                    // says why; without it, try again after the back-off.
                    s.phase = SubPhase::Waiting;
                    s.refresh_at = Some(now + s.retry.base);
                    return;
                }
                s.phase = SubPhase::Active;
                s.refresh_at = Some(now + refresh_after(granted));
                self.events.push_back(Event::Subscribed {
                    subscription: handle,
                    expires: granted,
                });
            }
            401 | 407 => {
                let header = if status == 407 {
                    "Proxy-Authenticate"
                } else {
                    "WWW-Authenticate"
                };
                let Some(digest) = s.digest.as_mut() else {
                    self.subscription_failed(
                        now,
                        handle,
                        Some(status),
                        "the notifier asks for credentials and there is no account".to_owned(),
                        None,
                    );
                    return;
                };
                let Some(ch) = Challenge::best(resp.headers.get_all(header)) else {
                    self.subscription_failed(
                        now,
                        handle,
                        Some(status),
                        "no supported digest challenge".to_owned(),
                        None,
                    );
                    return;
                };
                if ch.realm != realm {
                    let reason = format!(
                        "challenge for realm \"{}\", not the account's realm \"{realm}\"",
                        ch.realm
                    );
                    self.subscription_failed(now, handle, Some(status), reason, None);
                    return;
                }
                let had = digest.challenge().is_some();
                let stale = ch.stale;
                digest.set_challenge(ch);
                if had && !stale {
                    s.auth_failures += 1;
                }
                if stale {
                    s.stale_challenges = s.stale_challenges.saturating_add(1);
                }
                if s.stale_challenges > MAX_STALE {
                    let reason = "the notifier keeps saying the nonce is stale".to_owned();
                    self.subscription_failed(now, handle, Some(status), reason, Some(None));
                    return;
                }
                if s.auth_failures >= 2 {
                    let reason = "credentials rejected".to_owned();
                    self.subscription_failed(now, handle, Some(status), reason, None);
                    return;
                }
                self.send_subscribe(now, handle, false);
            }
            423 => {
                let min = resp
                    .headers
                    .get("Min-Expires")
                    .and_then(|m| m.trim().parse::<u32>().ok());
                match min {
                    Some(m) if m > s.expires => {
                        s.expires = m;
                        self.send_subscribe(now, handle, false);
                    }
                    _ => self.subscription_failed(
                        now,
                        handle,
                        Some(423),
                        "interval too brief without usable Min-Expires".to_owned(),
                        Some(None),
                    ),
                }
            }
            // The notifier forgot us, or a proxy on the dialog's path
            // refused the refresh: once more in a new dialog, from the start
            // (a refusal there is final).
            481 => match s.dialog.is_some() {
                true => self.fresh_subscribe(now, handle),
                false => {
                    let reason = resp.reason.clone();
                    self.subscription_failed(now, handle, Some(status), reason, None);
                }
            },
            s if is_final_refusal(s)
                && self
                    .subscriptions
                    .get(&handle)
                    .is_some_and(|x| x.dialog.is_some()) =>
            {
                self.fresh_subscribe(now, handle)
            }
            s if is_final_refusal(s) => {
                let reason = resp.reason.clone();
                self.subscription_failed(now, handle, Some(status), reason, None);
            }
            _ => {
                let reason = resp.reason.clone();
                let after = retry_after(resp);
                self.subscription_failed(now, handle, Some(status), reason, Some(after));
            }
        }
    }

    /// The subscription a NOTIFY belongs to: its Call-ID and our tag.
    pub(super) fn subscription_of(
        &self,
        req: &Request,
        to_tag: &str,
    ) -> Option<SubscriptionHandle> {
        let h = *self.subscription_calls.get(req.call_id())?;
        let s = self.subscriptions.get(&h)?;
        (s.from_tag == to_tag).then_some(h)
    }

    /// A NOTIFY of one of our subscriptions (the server transaction `key`).
    pub(super) fn subscription_notify(
        &mut self,
        now: Instant,
        key: &str,
        handle: SubscriptionHandle,
        req: &Request,
    ) {
        let event = req.headers.event().ok().flatten();
        if event.as_ref().is_none_or(|e| e.package != DIALOG_EVENT) {
            self.answer_simple(now, key, 489, &[("Allow-Events", DIALOG_EVENT.to_owned())]);
            return;
        }
        let Ok(Some(state)) = req.headers.subscription_state() else {
            self.answer_simple(now, key, 400, &[]);
            return;
        };
        let Some(s) = self.subscriptions.get_mut(&handle) else {
            self.answer_simple(now, key, 481, &[]);
            return;
        };
        let seq = req.cseq().map(|c| c.seq).unwrap_or(0);
        match s.dialog.as_mut() {
            Some(d) => {
                if !d.accept_remote_seq(seq) {
                    self.answer_simple(now, key, 500, &[]);
                    return;
                }
                d.refresh_target(&req.headers);
            }
            None => s.dialog = dialog_from_notify(req, &s.from_tag),
        }
        let ending = s.phase == SubPhase::Ending;
        self.answer_in_dialog(now, key, 200);
        if ending {
            if state.state == SubState::Terminated {
                self.forget_subscription(handle);
            }
            self.flush_tx();
            return;
        }

        let body_type = req
            .headers
            .get("Content-Type")
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if !req.body.is_empty() && body_type == DIALOG_INFO {
            self.events.push_back(Event::Notified {
                subscription: handle,
                body: req.body.clone(),
            });
        }
        let Some(s) = self.subscriptions.get_mut(&handle) else {
            return;
        };
        // A subscription that failed or was refused keeps its dialog's last
        // words to itself: nothing it says starts it again.
        if !matches!(s.phase, SubPhase::Subscribing | SubPhase::Active) {
            self.flush_tx();
            return;
        }
        let short_lived = s
            .accepted_at
            .is_none_or(|at| now.saturating_duration_since(at) < SHORT_LIVED);
        match state.state {
            SubState::Terminated => {
                let reason = state.reason.unwrap_or_default();
                match reason.as_str() {
                    "rejected" | "noresource" | "invariant" => {
                        let why = format!("the notifier ended the subscription ({reason})");
                        self.subscription_failed(now, handle, None, why, None);
                    }
                    "probation" | "giveup" => {
                        let why = format!("the notifier ended the subscription ({reason})");
                        let after =
                            Some(state.retry_after.unwrap_or(s.retry.base.as_secs() as u32));
                        self.subscription_failed(now, handle, None, why, Some(after));
                    }
                    // Ended at once after it was accepted: a failure, so
                    // the next try waits out the back-off.
                    _ if short_lived => {
                        let why = format!(
                            "the notifier ended the subscription at once ({})",
                            if reason.is_empty() {
                                "no reason"
                            } else {
                                reason.as_str()
                            }
                        );
                        self.subscription_failed(now, handle, None, why, Some(None));
                    }
                    // deactivated, timeout, or no reason: at once, in a new dialog.
                    _ => self.fresh_subscribe(now, handle),
                }
            }
            _ => {
                if let Some(secs) = state.expires
                    && s.phase == SubPhase::Active
                {
                    let at = now + refresh_after(secs.max(1));
                    if s.refresh_at.is_none_or(|r| at < r) {
                        s.refresh_at = Some(at);
                    }
                }
            }
        }
        self.flush_tx();
    }

    /// A response in a dialog: the request's To already has its tag.
    fn answer_in_dialog(&mut self, now: Instant, key: &str, status: u16) {
        let Some(request) = self.server.get(key).map(|s| s.request.clone()) else {
            return;
        };
        let mut resp = super::response_for(&request, status, None);
        self.respond(now, key, &mut resp, &[], None);
    }
}

/// The subscriber's dialog from a NOTIFY that came before the 2xx
/// (RFC 6665 §4.1.2.4): its From tag, Contact and Record-Route.
fn dialog_from_notify(req: &Request, our_tag: &str) -> Option<Dialog> {
    let remote = req.from().ok()?;
    let local = req.to().ok()?;
    let remote_target = req
        .headers
        .list("Contact")
        .next()
        .and_then(|c| NameAddr::parse(c).ok())
        .map(|n| n.uri)?;
    // The NOTIFY is a request we receive: its Record-Route is in our order.
    let route_set: Vec<String> = req
        .headers
        .list("Record-Route")
        .map(str::to_owned)
        .collect();
    Some(Dialog {
        id: DialogId {
            call_id: req.call_id().to_owned(),
            local_tag: our_tag.to_owned(),
            remote_tag: remote.tag().unwrap_or("").to_owned(),
        },
        local,
        remote,
        remote_target,
        route_set,
        local_seq: 1,
        remote_seq: Some(req.cseq().ok()?.seq),
    })
}
