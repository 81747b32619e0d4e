//! Call control between three sans-IO agents in virtual time: hold and
//! resume by re-INVITE (and glare), blind and attended transfer with REFER,
//! NOTIFY sipfrag and Replaces, a refused and a failing transfer. Alice is
//! 5061, Bob 5062, Carol 5063, on testkit's seeded network.

use std::net::SocketAddr;
use std::time::Duration;

use switchboard_sip::ua::{CallHandle, Config, Event, Transport, UserAgent, escape_header_value};
use switchboard_sip::uri::Uri;
use switchboard_testkit::{Impairment, NetEm, Sim};

mod common;
use common::Agent;

const ADDRS: [&str; 3] = ["127.0.0.1:5061", "127.0.0.1:5062", "127.0.0.1:5063"];
const NAMES: [&str; 3] = ["alice", "bob", "carol"];
const ALICE: usize = 0;
const BOB: usize = 1;
const CAROL: usize = 2;

fn addr(i: usize) -> SocketAddr {
    ADDRS[i].parse().unwrap()
}

fn sdp(direction: &str) -> Vec<u8> {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na={direction}\r\n"
    )
    .into_bytes()
}

/// The answer direction for an offered one.
fn answer_to(offer: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(offer);
    sdp(if text.contains("a=sendonly") {
        "recvonly"
    } else if text.contains("a=inactive") {
        "inactive"
    } else {
        "sendrecv"
    })
}

/// Alice, Bob and Carol on a network, in virtual time.
type Trio = Sim<Agent>;

fn trio(net: NetEm) -> Trio {
    let agents = (0..3)
        .map(|i| {
            let ua = UserAgent::new(Config {
                advertised: addr(i),
                user: NAMES[i].into(),
                display_name: None,
                user_agent: "test".into(),
                max_calls: 4,
                busy_status: 486,
                ..Config::new(addr(i), NAMES[i], 10 + i as u64)
            });
            let mut agent = Agent::new(ua, addr(i));
            // Re-offers are answered as a softphone would.
            agent.answer_reoffers = Some(answer_to);
            agent
        })
        .collect();
    Sim::new(net, agents)
}

/// What the tests do with three agents.
trait Calls {
    fn call(&mut self, from: usize, to: usize, headers: &[(String, String)]) -> CallHandle;
    fn incoming(&self, who: usize) -> Option<(CallHandle, Option<CallHandle>)>;
    fn answer(&mut self, who: usize) -> CallHandle;
    fn connect(&mut self, from: usize, to: usize) -> (CallHandle, CallHandle);
    fn is_established(&self, who: usize, call: CallHandle) -> bool;
    fn has_ended(&self, who: usize, call: CallHandle) -> bool;
    fn progress(&self, who: usize, call: CallHandle) -> Vec<(u16, bool)>;
    fn referred(&self, who: usize) -> Option<(CallHandle, String, Option<String>, Option<String>)>;
    fn sent(&self, who: usize, start: &str) -> Vec<String>;
}

impl Calls for Trio {
    /// `from` calls `to` with extra headers; returns the caller's handle.
    fn call(&mut self, from: usize, to: usize, headers: &[(String, String)]) -> CallHandle {
        let target = Uri::parse(&format!("sip:{}@{}", NAMES[to], ADDRS[to])).unwrap();
        let now = self.now();
        self.nodes[from]
            .ua
            .call(
                now,
                target,
                (Transport::Udp, addr(to)),
                sdp("sendrecv"),
                headers,
            )
            .unwrap()
    }

    /// The newest incoming call at `who`.
    fn incoming(&self, who: usize) -> Option<(CallHandle, Option<CallHandle>)> {
        self.nodes[who].events.iter().rev().find_map(|e| match e {
            Event::Incoming { call, replaces, .. } => Some((*call, *replaces)),
            _ => None,
        })
    }

    fn answer(&mut self, who: usize) -> CallHandle {
        let (call, _) = self.incoming(who).expect("a call rings");
        let now = self.now();
        self.nodes[who]
            .ua
            .answer(now, call, sdp("sendrecv"))
            .unwrap();
        call
    }

    /// `from` calls `to`, `to` answers; both handles.
    fn connect(&mut self, from: usize, to: usize) -> (CallHandle, CallHandle) {
        let c = self.call(from, to, &[]);
        self.run_for(Duration::from_millis(200));
        let t = self.answer(to);
        self.run_for(Duration::from_secs(1));
        assert!(self.is_established(from, c) && self.is_established(to, t));
        (c, t)
    }

    fn is_established(&self, who: usize, call: CallHandle) -> bool {
        self.nodes[who]
            .events
            .iter()
            .any(|e| matches!(e, Event::Established { call: c, .. } if *c == call))
    }

    fn has_ended(&self, who: usize, call: CallHandle) -> bool {
        self.nodes[who]
            .events
            .iter()
            .any(|e| matches!(e, Event::Ended { call: c, .. } if *c == call))
    }

    fn progress(&self, who: usize, call: CallHandle) -> Vec<(u16, bool)> {
        self.nodes[who]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::TransferProgress {
                    call: c,
                    status,
                    done,
                } if *c == call => Some((*status, *done)),
                _ => None,
            })
            .collect()
    }

    fn referred(&self, who: usize) -> Option<(CallHandle, String, Option<String>, Option<String>)> {
        self.nodes[who].events.iter().find_map(|e| match e {
            Event::Referred {
                call,
                target,
                replaces,
                referred_by,
            } => Some((*call, target.clone(), replaces.clone(), referred_by.clone())),
            _ => None,
        })
    }

    fn sent(&self, who: usize, start: &str) -> Vec<String> {
        self.net
            .log
            .iter()
            .filter(|d| d.from == addr(who) && d.payload.starts_with(start.as_bytes()))
            .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
            .collect()
    }
}

fn reoffer_answers(events: &[Event], call: CallHandle) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ReofferAnswered { call: c, answer } if *c == call => Some(answer.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn hold_and_resume_by_reinvite_with_the_right_directions() {
    let mut t = trio(NetEm::clean(1));
    let (a, b) = t.connect(ALICE, BOB);
    let now = t.now();
    t.nodes[ALICE].ua.reoffer(now, a, sdp("sendonly")).unwrap();
    // A second one while the first is in flight is refused locally.
    assert!(t.nodes[ALICE].ua.reoffer(now, a, sdp("sendonly")).is_err());
    t.run_for(Duration::from_secs(1));
    // Bob saw the hold offer, answered recvonly; Alice has the answer.
    assert!(t.nodes[BOB].events.iter().any(
        |e| matches!(e, Event::Reoffer { call, offer } if *call == b && offer.ends_with(b"a=sendonly\r\n"))
    ));
    let answers = reoffer_answers(&t.nodes[ALICE].events, a);
    assert_eq!(answers.len(), 1);
    assert!(answers[0].ends_with(b"a=recvonly\r\n"));
    // The re-INVITE was ACKed as a request of its own (CSeq 2 ACK).
    assert!(
        t.sent(ALICE, "ACK ")
            .iter()
            .any(|m| m.contains("CSeq: 2 ACK")),
        "{:?}",
        t.sent(ALICE, "ACK ")
    );
    let now = t.now();
    t.nodes[ALICE].ua.reoffer(now, a, sdp("sendrecv")).unwrap();
    t.run_for(Duration::from_secs(1));
    let answers = reoffer_answers(&t.nodes[ALICE].events, a);
    assert_eq!(answers.len(), 2);
    assert!(answers[1].ends_with(b"a=sendrecv\r\n"));
    assert!(!t.has_ended(ALICE, a) && !t.has_ended(BOB, b));
}

/// Alice and Bob, in a call, both re-INVITE at the same instant: their
/// handles and that instant.
fn glare(t: &mut Trio) -> (CallHandle, CallHandle, std::time::Instant) {
    let (a, b) = t.connect(ALICE, BOB);
    let start = t.now();
    t.nodes[ALICE]
        .ua
        .reoffer(start, a, sdp("sendonly"))
        .unwrap();
    t.nodes[BOB].ua.reoffer(start, b, sdp("sendonly")).unwrap();
    (a, b, start)
}

/// When `who` sent each INVITE since `start`.
fn invites_since(t: &Trio, who: usize, start: std::time::Instant) -> Vec<Duration> {
    t.net
        .log
        .iter()
        .filter(|d| d.at >= start && d.from == addr(who) && d.payload.starts_with(b"INVITE "))
        .map(|d| d.at - start)
        .collect()
}

#[test]
fn glare_is_resolved_by_491_and_the_random_waits_of_rfc_3261() {
    let mut t = trio(NetEm::clean(2));
    let (a, b, start) = glare(&mut t);
    t.run_for(Duration::from_secs(10));
    // Both offers crossed and were refused once each …
    assert_eq!(t.sent(ALICE, "SIP/2.0 491").len(), 1);
    assert_eq!(t.sent(BOB, "SIP/2.0 491").len(), 1);
    // … then both went through: Bob (not the Call-ID's owner) after 0–2 s,
    // Alice (who placed the call) after 2.1–4 s.
    assert_eq!(reoffer_answers(&t.nodes[ALICE].events, a).len(), 1);
    assert_eq!(reoffer_answers(&t.nodes[BOB].events, b).len(), 1);
    let alice = invites_since(&t, ALICE, start);
    let bob = invites_since(&t, BOB, start);
    assert_eq!(alice.len(), 2, "{alice:?}");
    assert_eq!(bob.len(), 2, "{bob:?}");
    assert!(alice[1] >= Duration::from_millis(2100) && alice[1] <= Duration::from_millis(4100));
    assert!(bob[1] <= Duration::from_millis(2100));
    assert!(!t.has_ended(ALICE, a));
}

#[test]
fn a_call_hung_up_while_its_reoffer_waits_out_a_glare_sends_it_never() {
    let mut t = trio(NetEm::clean(12));
    let (a, b, start) = glare(&mut t);
    // Both are refused 491 at once; Alice waits 2.1–4 s before trying again.
    t.run_for(Duration::from_millis(50));
    assert_eq!(t.sent(ALICE, "SIP/2.0 491").len(), 1);
    let now = t.now();
    t.nodes[ALICE].ua.hangup(now, a).unwrap();
    // An ended call's retry is not due forever: the agents go quiet (a
    // deadline left in the past would spin the run loop).
    t.run_for(Duration::from_secs(40));
    let now = t.now();
    assert!(t.nodes[ALICE].ua.poll_timeout().is_none_or(|d| d > now));
    assert_eq!(
        invites_since(&t, ALICE, start).len(),
        1,
        "the retry never went"
    );
    assert!(t.has_ended(ALICE, a) && t.has_ended(BOB, b));
}

#[test]
fn a_refused_reoffer_keeps_the_call() {
    let mut t = trio(NetEm::clean(3));
    for agent in &mut t.nodes {
        agent.answer_reoffers = None;
    }
    let (a, b) = t.connect(ALICE, BOB);
    let now = t.now();
    t.nodes[ALICE].ua.reoffer(now, a, sdp("sendonly")).unwrap();
    t.run_for(Duration::from_millis(100));
    let now = t.now();
    t.nodes[BOB].ua.answer_reoffer(now, b, Err(488)).unwrap();
    t.run_for(Duration::from_secs(1));
    assert!(
        t.nodes[ALICE]
            .events
            .iter()
            .any(|e| matches!(e, Event::ReofferFailed { call, status: 488 } if *call == a))
    );
    assert!(!t.has_ended(ALICE, a) && !t.has_ended(BOB, b));
}

#[test]
fn blind_transfer_over_a_lossy_network() {
    let mut t = trio(NetEm::new(
        4,
        Impairment {
            loss: 0.1,
            delay: Duration::from_millis(20),
            ..Impairment::default()
        },
    ));
    let (a, b) = t.connect(ALICE, BOB);
    // Bob transfers Alice to Carol.
    let now = t.now();
    let carol = Uri::parse(&format!("sip:carol@{}", ADDRS[CAROL])).unwrap();
    t.nodes[BOB].ua.refer(now, b, &carol).unwrap();
    t.run_for(Duration::from_secs(5));
    let (rc, target, replaces, referred_by) = t.referred(ALICE).expect("Alice was referred");
    assert_eq!(rc, a);
    assert_eq!(target, format!("sip:carol@{}", ADDRS[CAROL]));
    assert_eq!(replaces, None);
    assert!(referred_by.unwrap_or_default().contains("bob@"));
    let now = t.now();
    t.nodes[ALICE].ua.accept_refer(now, a).unwrap();
    let to_carol = t.call(
        ALICE,
        CAROL,
        &[("Referred-By".into(), format!("<sip:bob@{}>", ADDRS[BOB]))],
    );
    t.run_for(Duration::from_secs(5));
    let now = t.now();
    t.nodes[ALICE].ua.notify_transfer(now, a, 180).unwrap();
    t.answer(CAROL);
    t.run_for(Duration::from_secs(5));
    assert!(t.is_established(ALICE, to_carol));
    let now = t.now();
    t.nodes[ALICE].ua.notify_transfer(now, a, 200).unwrap();
    t.run_for(Duration::from_secs(10));
    // Bob saw: accepted, trying, ringing, done with 200 (a lost 202 may
    // arrive after the first NOTIFY).
    let p = t.progress(BOB, b);
    assert!(p.contains(&(202, false)), "{p:?}");
    assert!(p.contains(&(100, false)), "{p:?}");
    assert_eq!(p.last(), Some(&(200, true)), "{p:?}");
    assert!(p.contains(&(180, false)), "{p:?}");
    // The last NOTIFY ended the subscription.
    let notifies = t.sent(ALICE, "NOTIFY ");
    assert!(
        notifies
            .iter()
            .any(|n| n.contains("Subscription-State: terminated")
                && n.ends_with("SIP/2.0 200 OK\r\n"))
    );
    assert!(notifies.iter().all(|n| n.contains("Event: refer")));
    // Bob leaves; Alice and Carol talk on.
    let now = t.now();
    t.nodes[BOB].ua.hangup(now, b).unwrap();
    t.run_for(Duration::from_secs(5));
    assert!(t.has_ended(ALICE, a));
    assert!(!t.has_ended(ALICE, to_carol));
}

#[test]
fn a_refused_refer_and_a_failed_transfer_are_reported_to_the_transferor() {
    let mut t = trio(NetEm::clean(5));
    let (a, b) = t.connect(ALICE, BOB);
    let carol = Uri::parse(&format!("sip:carol@{}", ADDRS[CAROL])).unwrap();
    let now = t.now();
    t.nodes[BOB].ua.refer(now, b, &carol).unwrap();
    t.run_for(Duration::from_millis(100));
    let now = t.now();
    t.nodes[ALICE].ua.reject_refer(now, a, 603).unwrap();
    t.run_for(Duration::from_secs(1));
    assert_eq!(t.progress(BOB, b), [(603, true)]);

    // Again; this time Carol is busy.
    let now = t.now();
    t.nodes[BOB].ua.refer(now, b, &carol).unwrap();
    t.run_for(Duration::from_millis(100));
    let now = t.now();
    t.nodes[ALICE].ua.accept_refer(now, a).unwrap();
    t.call(ALICE, CAROL, &[]);
    t.run_for(Duration::from_millis(200));
    let (c, _) = t.incoming(CAROL).unwrap();
    let now = t.now();
    t.nodes[CAROL].ua.reject(now, c, 486).unwrap();
    t.run_for(Duration::from_secs(1));
    let now = t.now();
    t.nodes[ALICE].ua.notify_transfer(now, a, 486).unwrap();
    t.run_for(Duration::from_secs(1));
    let p = t.progress(BOB, b);
    assert_eq!(p.last(), Some(&(486, true)), "{p:?}");
    // The call between Alice and Bob is still up: Bob takes her back.
    assert!(!t.has_ended(ALICE, a) && !t.has_ended(BOB, b));
}

#[test]
fn attended_transfer_replaces_the_consultation_call() {
    let mut t = trio(NetEm::clean(6));
    let (a, b) = t.connect(ALICE, BOB);
    // Bob holds Alice and consults Carol.
    let now = t.now();
    t.nodes[BOB].ua.reoffer(now, b, sdp("sendonly")).unwrap();
    t.run_for(Duration::from_millis(500));
    let (b_to_c, c_from_b) = t.connect(BOB, CAROL);
    // Complete: REFER Alice to Carol, replacing Bob's call with Carol.
    let replaces = t.nodes[BOB].ua.replaces_for(b_to_c).unwrap();
    let target = t.nodes[BOB].ua.remote_uri(b_to_c).unwrap();
    let refer_to = Uri::parse(&format!(
        "{target}?Replaces={}",
        escape_header_value(&replaces)
    ))
    .unwrap();
    let now = t.now();
    t.nodes[BOB].ua.refer(now, b, &refer_to).unwrap();
    t.run_for(Duration::from_millis(200));
    let (_, target, got_replaces, _) = t.referred(ALICE).unwrap();
    assert_eq!(got_replaces.as_deref(), Some(replaces.as_str()));
    let now = t.now();
    t.nodes[ALICE].ua.accept_refer(now, a).unwrap();
    let a_to_c = {
        let uri = Uri::parse(&target).unwrap();
        let now = t.now();
        t.nodes[ALICE]
            .ua
            .call(
                now,
                uri,
                (Transport::Udp, addr(CAROL)),
                sdp("sendrecv"),
                &[("Replaces".into(), replaces.clone())],
            )
            .unwrap()
    };
    t.run_for(Duration::from_millis(200));
    // Carol matched the Replaces to her call with Bob (to-tag = her tag).
    let (incoming, replaced) = t.incoming(CAROL).unwrap();
    assert_eq!(
        replaced,
        Some(c_from_b),
        "Carol found the dialog to replace"
    );
    let now = t.now();
    t.nodes[CAROL]
        .ua
        .answer(now, incoming, sdp("sendrecv"))
        .unwrap();
    t.nodes[CAROL].ua.hangup(now, c_from_b).unwrap();
    t.run_for(Duration::from_secs(1));
    let now = t.now();
    t.nodes[ALICE].ua.notify_transfer(now, a, 200).unwrap();
    t.run_for(Duration::from_secs(1));
    assert!(t.is_established(ALICE, a_to_c));
    assert!(
        t.has_ended(BOB, b_to_c),
        "Bob's consultation call was replaced"
    );
    assert_eq!(t.progress(BOB, b).last(), Some(&(200, true)));
}

#[test]
fn a_replaces_naming_no_dialog_gets_481_and_tags_the_wrong_way_round_too() {
    let mut t = trio(NetEm::clean(7));
    let (b_to_c, _) = t.connect(BOB, CAROL);
    let right = t.nodes[BOB].ua.replaces_for(b_to_c).unwrap();
    // The tags swapped, as buggy phones send them.
    let (call_id, rest) = right.split_once(';').unwrap();
    let to = rest
        .split(';')
        .find_map(|p| p.strip_prefix("to-tag="))
        .unwrap();
    let from = rest
        .split(';')
        .find_map(|p| p.strip_prefix("from-tag="))
        .unwrap();
    let swapped = format!("{call_id};to-tag={from};from-tag={to}");
    t.call(ALICE, CAROL, &[("Replaces".into(), swapped)]);
    t.run_for(Duration::from_secs(1));
    assert_eq!(t.sent(CAROL, "SIP/2.0 481").len(), 1);
    t.call(
        ALICE,
        CAROL,
        &[(
            "Replaces".into(),
            "nobody@nowhere;to-tag=1;from-tag=2".into(),
        )],
    );
    t.run_for(Duration::from_secs(1));
    assert_eq!(t.sent(CAROL, "SIP/2.0 481").len(), 2);
}

#[test]
fn a_ringing_call_cannot_be_replaced() {
    let mut t = trio(NetEm::clean(8));
    // Bob calls Carol; it rings at Carol (not answered).
    t.call(BOB, CAROL, &[]);
    t.run_for(Duration::from_millis(200));
    let ok180 = t
        .net
        .log
        .iter()
        .find(|d| d.from == addr(CAROL) && d.payload.starts_with(b"SIP/2.0 180"))
        .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
        .unwrap();
    let header = |name: &str| {
        ok180
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    let tag = |v: &str| v.split("tag=").nth(1).unwrap().to_owned();
    // Everything a caller who heard the 180 knows: Call-ID and both tags.
    let replaces = format!(
        "{};to-tag={};from-tag={}",
        header("Call-ID:"),
        tag(&header("To:")),
        tag(&header("From:"))
    );
    t.call(ALICE, CAROL, &[("Replaces".into(), replaces)]);
    t.run_for(Duration::from_secs(1));
    assert_eq!(t.sent(CAROL, "SIP/2.0 481").len(), 1);
}

#[test]
fn a_refer_smuggling_headers_in_replaces_is_refused() {
    let mut t = trio(NetEm::clean(9));
    let (a, b) = t.connect(ALICE, BOB);
    let evil = Uri::parse(&format!(
        "sip:carol@{}?Replaces=x%40y%3Bto-tag%3D1%3Bfrom-tag%3D2%0D%0AP-Asserted-Identity%3A%20%3Csip%3Aboss%40x%3E",
        ADDRS[CAROL]
    ))
    .unwrap();
    let now = t.now();
    t.nodes[BOB].ua.refer(now, b, &evil).unwrap();
    t.run_for(Duration::from_secs(1));
    assert!(t.referred(ALICE).is_none(), "never reaches the application");
    assert_eq!(t.progress(BOB, b), [(400, true)]);
    assert!(!t.has_ended(ALICE, a));
}

#[test]
fn a_notify_for_another_refer_is_not_taken_for_ours_and_a_silent_transfer_times_out() {
    let mut t = trio(NetEm::clean(10));
    let (a, b) = t.connect(ALICE, BOB);
    let carol = Uri::parse(&format!("sip:carol@{}", ADDRS[CAROL])).unwrap();
    let now = t.now();
    t.nodes[BOB].ua.refer(now, b, &carol).unwrap();
    t.run_for(Duration::from_millis(100));
    // Alice accepts, then goes silent: no call, no final NOTIFY.
    let now = t.now();
    t.nodes[ALICE].ua.accept_refer(now, a).unwrap();
    t.run_for(Duration::from_millis(100));
    // A NOTIFY naming another REFER (id 99) claims success: refused, not reported.
    let notify = t
        .net
        .log
        .iter()
        .find(|d| d.from == addr(ALICE) && d.payload.starts_with(b"NOTIFY "))
        .map(|d| String::from_utf8_lossy(&d.payload).into_owned())
        .unwrap();
    let forged = notify
        .replace("Event: refer;id=", "Event: refer;id=99")
        .replace("SIP/2.0 100 Trying", "SIP/2.0 200 OK\r\n")
        .replace("CSeq: 2 NOTIFY", "CSeq: 7 NOTIFY")
        .replace("branch=z9hG4bK", "branch=z9hG4bKforged");
    let forged = {
        // Fix the Content-Length for the new body.
        let (head, body) = forged.split_once("\r\n\r\n").unwrap();
        let head: String = head
            .lines()
            .map(|l| {
                if l.starts_with("Content-Length:") {
                    format!("Content-Length: {}\r\n", body.len())
                } else {
                    format!("{l}\r\n")
                }
            })
            .collect();
        format!("{head}\r\n{body}")
    };
    let now = t.now();
    t.nodes[BOB]
        .ua
        .handle_datagram(now, Transport::Udp, addr(ALICE), forged.as_bytes());
    t.flush();
    assert!(!t.progress(BOB, b).iter().any(|(_, done)| *done));
    assert_eq!(t.sent(BOB, "SIP/2.0 481").len(), 1);
    // No final report ever comes: after 90 s the transfer counts as failed.
    t.run_for(Duration::from_secs(95));
    assert_eq!(t.progress(BOB, b).last(), Some(&(408, true)));
    assert!(!t.has_ended(BOB, b), "the caller stays with Bob");
}
