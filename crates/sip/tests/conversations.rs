//! Whole SIP conversations between two sans-IO user agents in virtual time,
//! through testkit's seeded network emulator (loss, duplication, reordering).

use std::net::SocketAddr;
use std::time::Duration;

use switchboard_sip::auth::{Challenge, digest_response};
use switchboard_sip::message::{Message, Response, Version};
use switchboard_sip::ua::{
    Account, CallHandle, Config, EndReason, Event, Transport, UserAgent, response_for,
};
use switchboard_sip::uri::{SipUri, Uri};
use switchboard_testkit::{Impairment, NetEm, Sim, VirtualClock};

mod common;
use common::Agent;

const A: &str = "127.0.0.1:5061";
const B: &str = "127.0.0.1:5062";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ua(at: &str, user: &str, seed: u64) -> UserAgent {
    UserAgent::new(Config {
        advertised: addr(at),
        user: user.into(),
        display_name: None,
        user_agent: "test".into(),
        max_calls: 4,
        busy_status: 486,
        ..Config::new(addr(at), user, seed)
    })
}

/// Two agents (Alice at A, Bob at B) on a network, in virtual time.
type Pair = Sim<Agent>;

fn pair(net: NetEm) -> Pair {
    Sim::new(
        net,
        vec![
            Agent::new(ua(A, "alice", 1), addr(A)),
            Agent::new(ua(B, "bob", 2), addr(B)),
        ],
    )
}

/// What the tests do with a pair.
trait Calls {
    fn call(&mut self) -> CallHandle;
    fn incoming(&self) -> Option<CallHandle>;
}

impl Calls for Pair {
    fn call(&mut self) -> CallHandle {
        let target = Uri::parse(&format!("sip:bob@{B}")).unwrap();
        let now = self.now();
        self.nodes[0]
            .ua
            .call(
                now,
                target,
                (Transport::Udp, addr(B)),
                b"v=0\r\n".to_vec(),
                &[],
            )
            .unwrap()
    }

    fn incoming(&self) -> Option<CallHandle> {
        self.nodes[1].events.iter().find_map(|e| match e {
            Event::Incoming { call, .. } => Some(*call),
            _ => None,
        })
    }
}

fn ended(events: &[Event]) -> Option<(EndReason, Option<u16>)> {
    events.iter().find_map(|e| match e {
        Event::Ended { reason, status, .. } => Some((*reason, *status)),
        _ => None,
    })
}

fn established(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Established { .. }))
        .count()
}

fn count_sent(net: &NetEm, from: &str, start: &str) -> usize {
    net.log
        .iter()
        .filter(|d| d.from == addr(from) && d.payload.starts_with(start.as_bytes()))
        .count()
}

#[test]
fn call_answer_hangup_survives_loss_duplication_and_reordering() {
    for seed in 0..20 {
        let net = NetEm::new(
            seed,
            Impairment {
                delay: Duration::from_millis(20),
                jitter: Duration::from_millis(30),
                loss: 0.2,
                duplicate: 0.1,
            },
        );
        let mut p = pair(net);
        let call = p.call();
        p.run_for(Duration::from_secs(5));
        let incoming = p
            .incoming()
            .unwrap_or_else(|| panic!("seed {seed}: no incoming call"));
        let now = p.now();
        p.nodes[1]
            .ua
            .answer(now, incoming, b"v=0\r\n".to_vec())
            .unwrap();
        p.run_for(Duration::from_secs(10));
        assert_eq!(
            established(&p.nodes[0].events),
            1,
            "seed {seed}: caller {:?}",
            p.nodes[0].events
        );
        assert_eq!(
            established(&p.nodes[1].events),
            1,
            "seed {seed}: callee {:?}",
            p.nodes[1].events
        );
        let now = p.now();
        p.nodes[0].ua.hangup(now, call).unwrap();
        p.run_for(Duration::from_secs(40));
        assert_eq!(
            ended(&p.nodes[0].events),
            Some((EndReason::LocalHangup, None)),
            "seed {seed}"
        );
        assert_eq!(
            ended(&p.nodes[1].events),
            Some((EndReason::RemoteHangup, None)),
            "seed {seed}"
        );
    }
}

#[test]
fn timer_b_ends_an_unanswered_invite_after_64_t1_with_seven_sends() {
    let mut net = NetEm::clean(1);
    net.drop_when(|d| d.to == addr(B));
    let mut p = pair(net);
    let start = p.now();
    p.call();
    p.run_for(Duration::from_secs(40));
    assert_eq!(
        ended(&p.nodes[0].events),
        Some((EndReason::Timeout, Some(408)))
    );
    assert_eq!(count_sent(&p.net, A, "INVITE"), 7);
    assert!(p.now() - start >= Duration::from_secs(32));
}

#[test]
fn a_lost_ack_is_recovered_by_2xx_retransmission() {
    let mut net = NetEm::clean(3);
    let mut dropped = false;
    net.drop_when(move |d| {
        if !dropped && d.payload.starts_with(b"ACK") {
            dropped = true;
            return true;
        }
        false
    });
    let mut p = pair(net);
    p.call();
    p.run_for(Duration::from_secs(1));
    let incoming = p.incoming().unwrap();
    let now = p.now();
    p.nodes[1]
        .ua
        .answer(now, incoming, b"v=0\r\n".to_vec())
        .unwrap();
    p.run_for(Duration::from_secs(5));
    assert_eq!(
        established(&p.nodes[1].events),
        1,
        "{:?}",
        p.nodes[1].events
    );
    assert!(
        count_sent(&p.net, B, "SIP/2.0 200") >= 2,
        "200 was not retransmitted"
    );
    assert_eq!(count_sent(&p.net, A, "ACK"), 2);
}

#[test]
fn cancel_before_answer_ends_both_sides_with_487() {
    let mut p = pair(NetEm::clean(4));
    let call = p.call();
    p.run_for(Duration::from_millis(500));
    let now = p.now();
    p.nodes[0].ua.hangup(now, call).unwrap();
    p.run_for(Duration::from_secs(5));
    assert_eq!(
        ended(&p.nodes[0].events),
        Some((EndReason::Cancelled, Some(487))),
        "{:?}",
        p.nodes[0].events
    );
    assert_eq!(
        ended(&p.nodes[1].events),
        Some((EndReason::RemoteCancelled, None))
    );
}

#[test]
fn cancel_crossing_the_200_ends_the_call_with_ack_and_bye() {
    let mut net = NetEm::new(
        5,
        Impairment {
            delay: Duration::from_millis(50),
            ..Impairment::default()
        },
    );
    net.drop_when(|_| false);
    let mut p = pair(net);
    let call = p.call();
    p.run_for(Duration::from_millis(200));
    let incoming = p.incoming().unwrap();
    // Both act at the same instant: the CANCEL and the 200 cross on the wire.
    let now = p.now();
    p.nodes[1]
        .ua
        .answer(now, incoming, b"v=0\r\n".to_vec())
        .unwrap();
    p.nodes[0].ua.hangup(now, call).unwrap();
    p.run_for(Duration::from_secs(10));
    assert_eq!(
        ended(&p.nodes[0].events).map(|e| e.0),
        Some(EndReason::Cancelled)
    );
    // The callee answered, got the ACK, then the BYE: nobody is left talking.
    assert!(
        ended(&p.nodes[1].events).is_some(),
        "{:?}",
        p.nodes[1].events
    );
    assert_eq!(count_sent(&p.net, A, "BYE"), 1);
    assert_eq!(
        p.nodes[0].ua.active_calls() + p.nodes[1].ua.active_calls(),
        0
    );
}

#[test]
fn a_busy_callee_gets_a_rejected_event_and_an_ack() {
    let mut p = pair(NetEm::clean(6));
    p.call();
    p.run_for(Duration::from_millis(100));
    let incoming = p.incoming().unwrap();
    let now = p.now();
    p.nodes[1].ua.reject(now, incoming, 486).unwrap();
    p.run_for(Duration::from_secs(40));
    assert_eq!(
        ended(&p.nodes[0].events),
        Some((EndReason::Rejected, Some(486)))
    );
    assert_eq!(count_sent(&p.net, A, "ACK"), 1);
    assert_eq!(
        count_sent(&p.net, B, "SIP/2.0 486"),
        1,
        "486 retransmitted although ACKed"
    );
}

/// A scripted registrar: challenges, checks the digest, re-challenges with a
/// stale nonce on the first refresh.
#[test]
fn register_is_challenged_refreshed_and_rechallenged_in_virtual_time() {
    let registrar = addr("127.0.0.1:5160");
    let mut clock = VirtualClock::new();
    let mut net = NetEm::clean(7);
    let mut alice = ua(A, "alice", 9);
    let account = Account {
        registrar: SipUri::new(
            None,
            switchboard_sip::uri::Host::parse("127.0.0.1").unwrap(),
            Some(5160),
        ),
        registrar_addr: registrar,
        transport: Transport::Udp,
        username: "alice".into(),
        password: "secret".into(),
        realm: None,
        expires: 60,
        retry: Default::default(),
    };
    alice.register(clock.now(), account);
    let mut events = Vec::new();
    let mut nonce = 1;
    let mut accepted = 0;
    let end = clock.now() + Duration::from_secs(100);
    for _ in 0..10_000 {
        while let Some(t) = alice.poll_transmit() {
            net.send(clock.now(), addr(A), t.destination, t.payload);
        }
        while let Some(e) = alice.poll_event() {
            events.push(e);
        }
        let next = [net.next_delivery(), alice.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) if t <= end => clock.advance_to(t),
            _ => break,
        }
        while let Some(d) = net.deliver(clock.now()) {
            if d.to == addr(A) {
                alice.handle_datagram(clock.now(), Transport::Udp, d.from, &d.payload);
                continue;
            }
            let Ok(Message::Request(req)) = Message::parse(&d.payload) else {
                panic!("bad REGISTER")
            };
            let auth = req.headers.get("Authorization").map(str::to_owned);
            let challenge =
                format!(r#"Digest realm="127.0.0.1", nonce="n{nonce}", qop="auth", algorithm=MD5"#);
            let valid = auth.as_ref().is_some_and(|a| {
                let c = Challenge::parse(&challenge).unwrap().unwrap();
                let get = |k: &str| {
                    a.split(&format!("{k}=")).nth(1).map(|v| {
                        v.trim_start_matches('"')
                            .split(['"', ','])
                            .next()
                            .unwrap_or("")
                            .to_owned()
                    })
                };
                let nc = u32::from_str_radix(&get("nc").unwrap_or_default(), 16).unwrap_or(0);
                let expect = digest_response(
                    &c,
                    "alice",
                    "secret",
                    "REGISTER",
                    &req.uri.to_string(),
                    &get("cnonce").unwrap_or_default(),
                    nc,
                );
                expect.contains(&format!(
                    "response=\"{}\"",
                    get("response").unwrap_or_default()
                ))
            });
            let resp: Response = if valid && !(accepted == 1 && nonce == 1) {
                accepted += 1;
                let mut r = response_for(&req, 200, Some("reg"));
                r.headers.push(
                    "Contact",
                    format!("{};expires=60", req.headers.get("Contact").unwrap()),
                );
                r
            } else {
                let stale = valid; // first refresh: good credentials, expired nonce
                if stale {
                    nonce += 1;
                }
                let mut r = response_for(&req, 401, Some("reg"));
                let ch = format!(
                    r#"Digest realm="127.0.0.1", nonce="n{nonce}", qop="auth", algorithm=MD5{}"#,
                    if stale { ", stale=true" } else { "" }
                );
                r.headers.push("WWW-Authenticate", ch);
                r
            };
            let mut resp = resp;
            resp.version = Version::SIP_2_0;
            resp.headers.push("Content-Length", "0");
            net.send(clock.now(), registrar, d.from, resp.to_bytes());
        }
        alice.handle_timeout(clock.now());
    }
    let registered = events
        .iter()
        .filter(|e| matches!(e, Event::Registered { expires: 60 }))
        .count();
    assert!(registered >= 2, "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::RegistrationFailed { .. })),
        "{events:?}"
    );
    // The first REGISTER had no credentials, and the refresh re-used the nonce (nc=2) before the stale re-challenge.
    let regs: Vec<String> = net
        .log
        .iter()
        .filter(|d| d.payload.starts_with(b"REGISTER"))
        .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
        .collect();
    assert!(!regs[0].contains("Authorization"));
    assert!(
        regs.iter().any(|r| r.contains("nc=00000002")),
        "no preemptive refresh with nc=2"
    );
}

/// A call from A to B, answered and confirmed; returns the pair, A's handle and
/// B's 200 OK (whose From/To/Call-ID give B's side of the dialog).
fn established_call(seed: u64) -> (Pair, CallHandle, Message) {
    let mut p = pair(NetEm::clean(seed));
    let call = p.call();
    p.run_for(Duration::from_secs(1));
    let incoming = p.incoming().unwrap();
    let now = p.now();
    p.nodes[1]
        .ua
        .answer(now, incoming, b"v=0\r\n".to_vec())
        .unwrap();
    p.run_for(Duration::from_secs(2));
    assert_eq!(established(&p.nodes[0].events), 1);
    let ok = p
        .net
        .log
        .iter()
        .find(|d| d.from == addr(B) && d.payload.starts_with(b"SIP/2.0 200"))
        .map(|d| Message::parse(&d.payload).unwrap())
        .unwrap();
    (p, call, ok)
}

#[test]
fn a_reinvite_with_an_offer_waits_for_our_answer_and_a_second_gets_491() {
    let (mut p, call, ok) = established_call(9);
    let h = ok.headers();
    let reinvite = |branch: &str, cseq: u32, body: &str| {
        format!(
            "INVITE sip:alice@{A} SIP/2.0\r\nVia: SIP/2.0/UDP {B};branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} INVITE\r\n\
             Contact: <sip:bob@{B}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            h.get("To").unwrap(),
            h.get("From").unwrap(),
            h.get("Call-ID").unwrap(),
            body.len()
        )
    };
    let hold = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    let now = p.now();
    p.nodes[0].ua.handle_datagram(
        now,
        Transport::Udp,
        addr(B),
        reinvite("r1", 10, hold).as_bytes(),
    );
    p.flush();
    let offer = p.nodes[0].events.iter().find_map(|e| match e {
        Event::Reoffer { call: c, offer } if *c == call => Some(offer.clone()),
        _ => None,
    });
    assert_eq!(
        offer.as_deref(),
        Some(hold.as_bytes()),
        "the offer reaches the application"
    );
    let sent_200 = |p: &Pair| count_sent(&p.net, A, "SIP/2.0 200");
    let before = sent_200(&p);
    // A second offer while the first is unanswered: 491 Request Pending.
    p.nodes[0].ua.handle_datagram(
        now,
        Transport::Udp,
        addr(B),
        reinvite("r2", 11, hold).as_bytes(),
    );
    p.flush();
    assert_eq!(count_sent(&p.net, A, "SIP/2.0 491"), 1);
    assert_eq!(
        sent_200(&p),
        before,
        "nothing answered before the application does"
    );
    let answer = b"v=0\r\na=recvonly\r\n".to_vec();
    p.nodes[0]
        .ua
        .answer_reoffer(now, call, Ok(answer.clone()))
        .unwrap();
    p.flush();
    let ok = p
        .net
        .log
        .iter()
        .rev()
        .find(|d| d.from == addr(A) && d.payload.starts_with(b"SIP/2.0 200"))
        .unwrap();
    assert!(ok.payload.ends_with(&answer), "our answer is in the 200");
    assert!(
        p.nodes[0]
            .ua
            .answer_reoffer(now, call, Ok(Vec::new()))
            .is_err(),
        "nothing is pending any more"
    );
    // A later offer we cannot accept is refused; the call goes on.
    p.nodes[0].ua.handle_datagram(
        now,
        Transport::Udp,
        addr(B),
        reinvite("r3", 12, hold).as_bytes(),
    );
    p.flush();
    p.nodes[0].ua.answer_reoffer(now, call, Err(488)).unwrap();
    p.flush();
    assert_eq!(count_sent(&p.net, A, "SIP/2.0 488"), 1);
    assert!(ended(&p.nodes[0].events).is_none());
}

#[test]
fn dtmf_in_sip_info_is_reported_and_answered() {
    let (mut p, call, ok) = established_call(11);
    let h = ok.headers();
    let info = |cseq: u32, ct: &str, body: &str| {
        format!(
            "INFO sip:alice@{A} SIP/2.0\r\nVia: SIP/2.0/UDP {B};branch=z9hG4bKinfo{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} INFO\r\n\
             Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{body}",
            h.get("To").unwrap(),
            h.get("From").unwrap(),
            h.get("Call-ID").unwrap(),
            body.len()
        )
    };
    let now = p.now();
    for (cseq, ct, body) in [
        (20, "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
        (21, "application/dtmf", "#"),
        (
            22,
            "application/dtmf-relay",
            "Signal=11\r\nDuration=100\r\n",
        ),
        (23, "application/dtmf-relay", "Signal=xyz\r\n"),
        (24, "text/plain", "5"),
    ] {
        p.nodes[0].ua.handle_datagram(
            now,
            Transport::Udp,
            addr(B),
            info(cseq, ct, body).as_bytes(),
        );
        p.flush();
    }
    let keys: String = p.nodes[0]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Dtmf { call: c, key } if *c == call => Some(*key),
            _ => None,
        })
        .collect();
    assert_eq!(keys, "5##");
    assert_eq!(
        count_sent(&p.net, A, "SIP/2.0 200"),
        4,
        "DTMF INFOs are answered 200"
    );
    assert_eq!(
        count_sent(&p.net, A, "SIP/2.0 415"),
        1,
        "a text/plain INFO is refused"
    );
}

/// The operator changes the account in Settings while the old registrar's
/// answer is still on its way: the late answer must not touch the new
/// registration, which the new registrar accepts.
#[test]
fn a_late_answer_for_a_replaced_account_leaves_the_new_registration_alone() {
    let (old_reg, new_reg) = (addr("127.0.0.1:5170"), addr("127.0.0.1:5171"));
    let account = |at: SocketAddr, user: &str| Account {
        registrar: SipUri::new(
            None,
            switchboard_sip::uri::Host::parse("127.0.0.1").unwrap(),
            Some(at.port()),
        ),
        registrar_addr: at,
        transport: Transport::Udp,
        username: user.into(),
        password: "secret".into(),
        realm: None,
        expires: 60,
        retry: Default::default(),
    };
    let clock = VirtualClock::new();
    let mut alice = ua(A, "alice", 11);
    alice.register(clock.now(), account(old_reg, "old"));
    let old = alice.poll_transmit().expect("the first REGISTER");
    assert_eq!(old.destination, old_reg);
    alice.register(clock.now(), account(new_reg, "new"));
    let new = alice.poll_transmit().expect("the new REGISTER");
    assert_eq!(new.destination, new_reg);
    let answer = |req: &[u8], status: u16| {
        let Ok(Message::Request(req)) = Message::parse(req) else {
            panic!("not a request")
        };
        let mut r = response_for(&req, status, Some("reg"));
        r.headers.push("Content-Length", "0");
        r.to_bytes()
    };
    // The new registrar accepts; then the old one's refusal arrives late.
    alice.handle_datagram(
        clock.now(),
        Transport::Udp,
        new_reg,
        &answer(&new.payload, 200),
    );
    alice.handle_datagram(
        clock.now(),
        Transport::Udp,
        old_reg,
        &answer(&old.payload, 403),
    );
    let mut events = Vec::new();
    while let Some(e) = alice.poll_event() {
        events.push(e);
    }
    assert!(alice.is_registered(), "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::RegistrationFailed { .. })),
        "{events:?}"
    );
}
