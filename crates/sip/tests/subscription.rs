//! Our subscriptions to a colleague's dialog state (RFC 6665, RFC 4235),
//! against a notifier played by the test in virtual time: what a PBX's
//! presence server sends, and what it must see from us.

use std::net::SocketAddr;
use std::time::Duration;

use switchboard_sip::message::{Message, Request, Response};
use switchboard_sip::ua::{
    Account, Backoff, Config, Event, SubscriptionHandle, Transport, UserAgent, Watch, response_for,
};
use switchboard_sip::uri::{SipUri, Uri};
use switchboard_testkit::VirtualClock;

const US: &str = "127.0.0.1:5061";
const PBX: &str = "127.0.0.1:5060";
const IDLE: &str = "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"0\" state=\"full\" entity=\"sip:bob@127.0.0.1\"/>";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn sip(s: &str) -> SipUri {
    Uri::parse(s).unwrap().as_sip().unwrap().clone()
}

struct Watcher {
    ua: UserAgent,
    clock: VirtualClock,
    events: Vec<Event>,
}

impl Watcher {
    fn new() -> Watcher {
        Watcher {
            ua: UserAgent::new(Config::new(addr(US), "alice", 7)),
            clock: VirtualClock::new(),
            events: Vec::new(),
        }
    }

    fn with_account() -> Watcher {
        let mut w = Watcher::new();
        let now = w.clock.now();
        w.ua.register(
            now,
            Account {
                registrar: sip("sip:127.0.0.1"),
                registrar_addr: addr(PBX),
                transport: Transport::Udp,
                username: "alice".into(),
                password: "secret".into(),
                realm: None,
                expires: 600,
                retry: Backoff::default(),
            },
        );
        let _ = w.sent(); // the REGISTER: not what these tests look at
        w
    }

    fn watch(&mut self) -> SubscriptionHandle {
        let now = self.clock.now();
        self.ua.subscribe(
            now,
            Watch {
                target: sip("sip:bob@127.0.0.1"),
                dest: (Transport::Udp, addr(PBX)),
                expires: 120,
            },
        )
    }

    /// What the UA sent since the last look, parsed; its events kept.
    fn sent(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(t) = self.ua.poll_transmit() {
            assert_eq!(t.destination, addr(PBX), "everything goes to the proxy");
            out.push(Message::parse(&t.payload).expect("we send what parses"));
        }
        while let Some(e) = self.ua.poll_event() {
            self.events.push(e);
        }
        out
    }

    fn requests(&mut self) -> Vec<Request> {
        self.sent()
            .into_iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r),
                Message::Response(_) => None,
            })
            .collect()
    }

    fn responses(&mut self) -> Vec<Response> {
        self.sent()
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                Message::Request(_) => None,
            })
            .collect()
    }

    /// The one SUBSCRIBE sent (and its retransmissions, if time passed).
    fn subscribe_sent(&mut self) -> Request {
        let mut reqs = self.requests();
        reqs.dedup_by(|a, b| a.headers.get("Via") == b.headers.get("Via"));
        assert_eq!(reqs.len(), 1, "one SUBSCRIBE: {reqs:?}");
        let r = reqs.remove(0);
        assert_eq!(r.method.as_str(), "SUBSCRIBE");
        r
    }

    fn deliver(&mut self, bytes: Vec<u8>) {
        let now = self.clock.now();
        self.ua
            .handle_datagram(now, Transport::Udp, addr(PBX), &bytes);
    }

    /// The notifier accepts `sub` with 200 for `expires` seconds, giving its
    /// Contact (the dialog's remote target).
    fn accept(&mut self, sub: &Request, expires: u32) {
        let expires = expires.to_string();
        self.deliver(ok(
            sub,
            200,
            &[
                ("Expires", expires.as_str()),
                ("Contact", "<sip:presence@127.0.0.1:5060>"),
            ],
        ));
    }

    fn advance(&mut self, d: Duration) {
        let end = self.clock.now() + d;
        while let Some(t) = self.ua.poll_timeout().filter(|t| *t <= end) {
            self.clock.advance_to(t.max(self.clock.now()));
            let now = self.clock.now();
            self.ua.handle_timeout(now);
        }
        self.clock.advance_to(end);
    }

    fn failed(&self) -> Vec<(Option<u16>, Option<Duration>)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::SubscriptionFailed {
                    status, retry_in, ..
                } => Some((*status, *retry_in)),
                _ => None,
            })
            .collect()
    }

    fn notified(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Notified { body, .. } => Some(String::from_utf8_lossy(body).into_owned()),
                _ => None,
            })
            .collect()
    }
}

fn ok(sub: &Request, status: u16, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut r = response_for(sub, status, Some("pbx-tag"));
    for (n, v) in extra {
        r.headers.push(*n, *v);
    }
    r.headers.push("Content-Length", "0");
    r.to_bytes()
}

/// A NOTIFY in the dialog `sub` set up (our tag in To, the notifier's in From).
fn notify(sub: &Request, cseq: u32, state: &str, body: &str) -> Vec<u8> {
    let from = sub.headers.get("From").unwrap();
    let to = sub.headers.get("To").unwrap();
    let to = if to.contains("tag=") {
        to.to_owned()
    } else {
        format!("{to};tag=pbx-tag")
    };
    format!(
        "NOTIFY sip:alice@{US} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {PBX};branch=z9hG4bKn{cseq}x{}\r\n\
         Max-Forwards: 70\r\nFrom: {to}\r\nTo: {from}\r\nCall-ID: {}\r\n\
         CSeq: {cseq} NOTIFY\r\nContact: <sip:presence@{PBX}>\r\nEvent: dialog\r\n\
         Subscription-State: {state}\r\nContent-Type: application/dialog-info+xml\r\n\
         Content-Length: {}\r\n\r\n{body}",
        sub.call_id().replace(['@', '.'], ""),
        sub.call_id(),
        body.len()
    )
    .into_bytes()
}

#[test]
fn subscribes_takes_notifies_and_refreshes_in_the_dialog_before_expiry() {
    let mut w = Watcher::new();
    w.watch();
    let sub = w.subscribe_sent();
    assert_eq!(sub.uri.to_string(), "sip:bob@127.0.0.1");
    assert_eq!(sub.headers.get("Event"), Some("dialog"));
    assert_eq!(
        sub.headers.get("Accept"),
        Some("application/dialog-info+xml")
    );
    assert_eq!(sub.headers.get("Expires"), Some("120"));
    assert!(sub.headers.get("Contact").unwrap().contains(US));

    w.accept(&sub, 60);
    w.deliver(notify(&sub, 1, "active;expires=60", IDLE));
    let answers = w.responses();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].status, 200, "the NOTIFY is answered");
    assert!(answers[0].to().unwrap().tag().is_some());
    assert_eq!(w.notified(), vec![IDLE.to_owned()]);
    assert!(
        w.events
            .iter()
            .any(|e| matches!(e, Event::Subscribed { expires: 60, .. }))
    );

    w.advance(Duration::from_secs(29));
    assert!(w.requests().is_empty(), "not refreshed at half-time yet");
    w.advance(Duration::from_secs(2));
    let refresh = w.subscribe_sent();
    assert_eq!(refresh.call_id(), sub.call_id(), "in the same dialog");
    assert_eq!(refresh.to().unwrap().tag(), Some("pbx-tag"));
    assert_eq!(refresh.cseq().unwrap().seq, sub.cseq().unwrap().seq + 1);
    assert_eq!(
        refresh.uri.to_string(),
        "sip:presence@127.0.0.1:5060",
        "to the notifier's Contact"
    );
}

#[test]
fn a_notify_that_overtakes_the_200_is_taken_and_sets_up_the_dialog() {
    let mut w = Watcher::new();
    w.watch();
    let sub = w.subscribe_sent();
    w.deliver(notify(&sub, 1, "active;expires=120", IDLE));
    assert_eq!(w.responses()[0].status, 200);
    assert_eq!(w.notified().len(), 1);
    w.deliver(ok(&sub, 202, &[("Expires", "120")]));
    assert!(w.failed().is_empty());
}

#[test]
fn bad_event_or_forbidden_disables_the_subscription_for_good() {
    for status in [489, 403] {
        let mut w = Watcher::new();
        w.watch();
        let sub = w.subscribe_sent();
        w.deliver(ok(&sub, status, &[]));
        let _ = w.sent();
        assert_eq!(w.failed(), vec![(Some(status), None)], "{status}: no retry");
        w.advance(Duration::from_secs(4 * 3600));
        assert!(w.requests().is_empty(), "{status}: never asked again");
        assert_eq!(w.ua.poll_timeout(), None, "no timer left");
    }
}

#[test]
fn a_server_error_is_retried_after_the_backoff_in_a_new_dialog() {
    let mut w = Watcher::new();
    w.watch();
    let sub = w.subscribe_sent();
    w.deliver(ok(&sub, 503, &[("Retry-After", "40")]));
    let _ = w.sent();
    assert_eq!(w.failed(), vec![(Some(503), Some(Duration::from_secs(40)))]);
    w.advance(Duration::from_secs(39));
    assert!(w.requests().is_empty());
    w.advance(Duration::from_secs(2));
    let again = w.subscribe_sent();
    assert_ne!(again.call_id(), sub.call_id());
    assert_eq!(again.to().unwrap().tag(), None);
}

#[test]
fn a_notifier_that_never_answers_is_retried_and_does_not_spin() {
    let mut w = Watcher::new();
    w.watch();
    let _ = w.subscribe_sent();
    w.advance(Duration::from_secs(40)); // timer F (32 s) and retransmissions
    let retransmits = w.requests();
    assert!(
        retransmits.len() < 12,
        "{} retransmissions",
        retransmits.len()
    );
    assert_eq!(w.failed().len(), 1);
    assert_eq!(w.failed()[0].0, Some(408));
    assert!(w.failed()[0].1.unwrap() >= Duration::from_secs(30));
}

#[test]
fn a_terminated_notify_for_timeout_subscribes_again_and_rejected_stops() {
    let mut w = Watcher::new();
    w.watch();
    let sub = w.subscribe_sent();
    w.deliver(ok(&sub, 200, &[("Expires", "120")]));
    w.advance(Duration::from_secs(40)); // a while after it was accepted
    let _ = w.sent();
    w.deliver(notify(&sub, 1, "terminated;reason=timeout", IDLE));
    let mut sent = w.sent();
    let again = sent
        .drain(..)
        .find_map(|m| match m {
            Message::Request(r) if r.method.as_str() == "SUBSCRIBE" => Some(r),
            _ => None,
        })
        .expect("subscribed again at once");
    assert_ne!(again.call_id(), sub.call_id(), "in a new dialog");

    w.deliver(ok(&again, 200, &[("Expires", "120")]));
    w.deliver(notify(&again, 1, "terminated;reason=rejected", ""));
    let _ = w.sent();
    assert_eq!(w.failed().last().map(|f| f.1), Some(None));
    w.advance(Duration::from_secs(3600));
    assert!(w.requests().is_empty());
}

#[test]
fn a_challenge_is_answered_with_the_accounts_credentials() {
    let mut w = Watcher::with_account();
    w.watch();
    let sub = w.subscribe_sent();
    w.deliver(ok(
        &sub,
        407,
        &[(
            "Proxy-Authenticate",
            "Digest realm=\"127.0.0.1\", nonce=\"abc\", algorithm=MD5",
        )],
    ));
    let again = w.subscribe_sent();
    let auth = again.headers.get("Authorization").expect("credentials");
    assert!(auth.contains("username=\"alice\""), "{auth}");
    assert_eq!(again.call_id(), sub.call_id());
    assert!(again.cseq().unwrap().seq > sub.cseq().unwrap().seq);
}

#[test]
fn unsubscribing_sends_expires_zero_takes_the_last_notify_and_then_refuses_with_481() {
    let mut w = Watcher::new();
    let h = w.watch();
    let sub = w.subscribe_sent();
    w.accept(&sub, 120);
    let _ = w.sent();
    let now = w.clock.now();
    w.ua.unsubscribe(now, h);
    let end = w.subscribe_sent();
    assert_eq!(end.headers.get("Expires"), Some("0"));
    assert_eq!(end.call_id(), sub.call_id());
    w.deliver(notify(&sub, 2, "terminated;reason=timeout", IDLE));
    assert_eq!(
        w.responses()[0].status,
        200,
        "the notifier's last word is taken"
    );
    assert!(w.notified().is_empty(), "and reported to nobody");
    assert_eq!(w.ua.subscriptions(), 0);
    w.deliver(notify(&sub, 3, "terminated;reason=timeout", IDLE));
    assert_eq!(w.responses()[0].status, 481);
}

#[test]
fn an_unsubscribe_without_its_last_notify_is_forgotten_after_a_while() {
    let mut w = Watcher::new();
    let h = w.watch();
    let sub = w.subscribe_sent();
    w.deliver(ok(&sub, 200, &[("Expires", "120")]));
    let now = w.clock.now();
    w.ua.unsubscribe(now, h);
    w.advance(Duration::from_secs(40));
    assert_eq!(w.ua.subscriptions(), 0);
    assert!(w.failed().is_empty());
}

#[test]
fn a_notify_for_no_subscription_of_ours_or_another_event_is_refused() {
    let mut w = Watcher::new();
    w.watch();
    let sub = w.subscribe_sent();
    w.deliver(ok(&sub, 200, &[("Expires", "120")]));
    let _ = w.sent();
    // A stranger's NOTIFY with a tag we never gave.
    let forged = String::from_utf8(notify(&sub, 5, "active", IDLE))
        .unwrap()
        .replace(sub.from().unwrap().tag().unwrap(), "not-ours");
    w.deliver(forged.into_bytes());
    assert_eq!(w.responses()[0].status, 481);
    // Ours, but for another package.
    let other = String::from_utf8(notify(&sub, 6, "active", IDLE))
        .unwrap()
        .replace("Event: dialog", "Event: presence");
    w.deliver(other.into_bytes());
    assert_eq!(w.responses()[0].status, 489);
    assert!(w.notified().is_empty());
}

#[test]
fn a_notifier_that_accepts_and_ends_at_once_is_asked_again_only_after_the_backoff() {
    let mut w = Watcher::new();
    w.watch();
    let mut asked = 0;
    let mut sub = w.subscribe_sent();
    for _ in 0..5 {
        asked += 1;
        w.deliver(ok(&sub, 200, &[("Expires", "120")]));
        w.deliver(notify(&sub, 1, "terminated;reason=timeout", IDLE));
        let again: Vec<Request> = w
            .requests()
            .into_iter()
            .filter(|r| r.method.as_str() == "SUBSCRIBE")
            .collect();
        assert!(again.is_empty(), "not at once: {again:?}");
        let failed = w.failed();
        let wait = failed
            .last()
            .and_then(|f| f.1)
            .expect("a retry is scheduled");
        assert!(wait >= Duration::from_secs(30), "{wait:?}");
        w.advance(wait + Duration::from_secs(1));
        sub = w.subscribe_sent();
    }
    assert_eq!(asked, 5, "five rounds took minutes, not a loop");
}

#[test]
fn a_refused_refresh_tries_one_new_dialog_and_a_refusal_there_is_final() {
    let mut w = Watcher::new();
    w.watch();
    let sub = w.subscribe_sent();
    w.accept(&sub, 60);
    w.advance(Duration::from_secs(31));
    let refresh = w.subscribe_sent();
    assert_eq!(refresh.call_id(), sub.call_id());
    w.deliver(ok(&refresh, 404, &[]));
    let fresh = w.subscribe_sent();
    assert_ne!(fresh.call_id(), sub.call_id(), "a new dialog");
    w.deliver(ok(&fresh, 404, &[]));
    let _ = w.sent();
    assert_eq!(w.failed().last(), Some(&(Some(404), None)));
    // The old dialog's last NOTIFY changes nothing now.
    w.deliver(notify(&fresh, 1, "terminated;reason=timeout", IDLE));
    w.advance(Duration::from_secs(3600));
    assert!(w.requests().is_empty());
}

#[test]
fn a_notifier_that_always_says_stale_is_given_up_to_the_backoff() {
    let mut w = Watcher::with_account();
    w.watch();
    let mut sub = w.subscribe_sent();
    for _ in 0..4 {
        w.deliver(ok(
            &sub,
            401,
            &[(
                "WWW-Authenticate",
                "Digest realm=\"127.0.0.1\", nonce=\"n\", stale=true",
            )],
        ));
        let again = w.requests();
        if again.is_empty() {
            break;
        }
        sub = again.into_iter().next().unwrap();
    }
    let failed = w.failed();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].1.is_some(), "tried again later, not never");
}

#[test]
fn a_watcher_that_missed_a_notify_refreshes_at_once_for_the_full_state() {
    let mut w = Watcher::new();
    let h = w.watch();
    let sub = w.subscribe_sent();
    w.accept(&sub, 600);
    let _ = w.sent();
    let now = w.clock.now();
    w.ua.refresh_subscription(now, h);
    let refresh = w.subscribe_sent();
    assert_eq!(refresh.call_id(), sub.call_id(), "in the dialog");
    assert_eq!(
        refresh.headers.get("Expires"),
        Some("120"),
        "what we ask for"
    );
}
