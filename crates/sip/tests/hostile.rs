//! The user agent on a hostile network, in virtual time: floods of fresh
//! transactions, phantom INVITEs that are never cancelled, scanners from
//! untrusted addresses, a REFER from outside the dialog, asserted
//! identities from nowhere, and a registrar that stops answering.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use switchboard_sip::message::{Message, Response};
use switchboard_sip::ua::{
    Account, Backoff, CallHandle, Cidr, Config, EndReason, Event, Transport, UserAgent,
};
use switchboard_sip::uri::{Host, SipUri};

const US: &str = "127.0.0.1:5070";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn agent(config: impl FnOnce(&mut Config)) -> UserAgent {
    let mut c = Config::new(addr(US), "desk", 7);
    config(&mut c);
    UserAgent::new(c)
}

/// A request from `from` (`sip:user@host` in the Request-URI), with a fresh branch `n`.
fn request(method: &str, ruri: &str, from: SocketAddr, n: u64, extra: &str) -> Vec<u8> {
    let body = if method == "INVITE" {
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    } else {
        ""
    };
    let ct = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} {ruri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-{n:x}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:caller@{from}>;tag=f{n}\r\n\
         To: <{ruri}>\r\n\
         Call-ID: c{n}@{from}\r\n\
         CSeq: 1 {method}\r\n\
         Contact: <sip:caller@{from}>\r\n\
         {extra}{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `bytes` arrive over UDP from `from` at `at`.
fn send(ua: &mut UserAgent, at: Instant, from: SocketAddr, bytes: Vec<u8>) {
    ua.handle_datagram(at, Transport::Udp, from, &bytes);
}

/// Whether a call rang (an `Incoming` among the events so far).
fn rings(ua: &mut UserAgent) -> bool {
    events(ua)
        .iter()
        .any(|e| matches!(e, Event::Incoming { .. }))
}

fn statuses(ua: &mut UserAgent) -> Vec<Response> {
    std::iter::from_fn(|| ua.poll_transmit())
        .filter_map(|t| match Message::parse(&t.payload) {
            Ok(Message::Response(r)) => Some(r),
            _ => None,
        })
        .collect()
}

fn finals(ua: &mut UserAgent) -> Vec<u16> {
    statuses(ua)
        .into_iter()
        .map(|r| r.status)
        .filter(|s| *s >= 200)
        .collect()
}

fn events(ua: &mut UserAgent) -> Vec<Event> {
    std::iter::from_fn(|| ua.poll_event()).collect()
}

/// Runs every timer up to `until`.
fn run_until(ua: &mut UserAgent, until: Instant) {
    while let Some(at) = ua.poll_timeout().filter(|at| *at <= until) {
        ua.handle_timeout(at);
    }
}

#[test]
fn a_flood_of_fresh_options_is_answered_within_a_bounded_table() {
    let now = Instant::now();
    let mut ua = agent(|c| c.max_server_transactions = 1000);
    let peer = addr("127.0.0.1:40000");
    let mut answered = 0;
    for n in 0..30_000 {
        let t = now + Duration::from_micros(n * 200);
        send(
            &mut ua,
            t,
            peer,
            request("OPTIONS", "sip:desk@127.0.0.1:5070", peer, n, ""),
        );
        answered += finals(&mut ua).iter().filter(|s| **s == 200).count();
        assert!(ua.server_transactions() <= 1000);
    }
    assert_eq!(answered, 30_000, "every OPTIONS got its 200");
    // Timer J (32 s) empties the table.
    run_until(&mut ua, now + Duration::from_secs(40));
    assert_eq!(ua.server_transactions(), 0);
    assert_eq!(ua.poll_timeout(), None);
}

#[test]
fn a_retransmission_inside_the_table_gets_the_same_answer_not_a_new_one() {
    let now = Instant::now();
    let mut ua = agent(|_| {});
    let peer = addr("127.0.0.1:40000");
    let opts = request("OPTIONS", "sip:desk@127.0.0.1:5070", peer, 1, "");
    ua.handle_datagram(now, Transport::Udp, peer, &opts);
    let first = statuses(&mut ua);
    ua.handle_datagram(now, Transport::Udp, peer, &opts);
    let again = statuses(&mut ua);
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].to_bytes(),
        again[0].to_bytes(),
        "the stored answer, same To tag"
    );
}

#[test]
fn when_every_slot_holds_an_invite_a_new_request_gets_503_with_retry_after() {
    let now = Instant::now();
    let mut ua = agent(|c| {
        c.max_server_transactions = 8;
        c.max_calls = 100;
    });
    let peer = addr("127.0.0.1:40000");
    for n in 0..8 {
        send(
            &mut ua,
            now,
            peer,
            request("INVITE", "sip:desk@127.0.0.1:5070", peer, n, ""),
        );
    }
    let _ = statuses(&mut ua);
    assert_eq!(ua.server_transactions(), 8);
    send(
        &mut ua,
        now,
        peer,
        request("OPTIONS", "sip:desk@127.0.0.1:5070", peer, 99, ""),
    );
    let refused = statuses(&mut ua);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].status, 503);
    assert_eq!(refused[0].headers.get("Retry-After"), Some("5"));
    assert_eq!(
        ua.server_transactions(),
        8,
        "no transaction for the refusal"
    );
    assert!(events(&mut ua).iter().any(|e| matches!(
        e,
        Event::Rejected {
            status: Some(503),
            ..
        }
    )));
}

#[test]
fn phantom_invites_that_are_never_cancelled_free_their_lines_after_the_ring_timeout() {
    let now = Instant::now();
    let mut ua = agent(|c| {
        c.max_calls = 2;
        c.ring_timeout = Some(Duration::from_secs(60));
    });
    let peer = addr("127.0.0.1:40000");
    for n in 0..2 {
        send(
            &mut ua,
            now,
            peer,
            request("INVITE", "sip:desk@127.0.0.1:5070", peer, n, ""),
        );
    }
    let _ = statuses(&mut ua);
    send(
        &mut ua,
        now + Duration::from_secs(30),
        peer,
        request("INVITE", "sip:desk@127.0.0.1:5070", peer, 2, ""),
    );
    assert_eq!(finals(&mut ua), vec![486], "both lines ring");
    run_until(&mut ua, now + Duration::from_secs(61));
    // (The 486 is re-sent until its ACK, which this caller never sends.)
    let mut refused: Vec<u16> = finals(&mut ua).into_iter().filter(|s| *s != 486).collect();
    refused.dedup();
    assert_eq!(refused, vec![480], "the phantoms are refused as unanswered");
    let ended: Vec<_> = events(&mut ua)
        .into_iter()
        .filter_map(|e| match e {
            Event::Ended { reason, status, .. } => Some((reason, status)),
            _ => None,
        })
        .collect();
    assert_eq!(ended, vec![(EndReason::NoAnswer, Some(480)); 2]);
    send(
        &mut ua,
        now + Duration::from_secs(70),
        peer,
        request("INVITE", "sip:desk@127.0.0.1:5070", peer, 3, ""),
    );
    assert!(finals(&mut ua).is_empty(), "a real call rings again");
    assert!(rings(&mut ua));
}

#[test]
fn an_invite_that_names_no_user_is_not_found_but_a_host_ping_is_answered() {
    let now = Instant::now();
    let mut ua = agent(|_| {});
    let peer = addr("127.0.0.1:40000");
    send(
        &mut ua,
        now,
        peer,
        request("INVITE", "sip:127.0.0.1:5070", peer, 1, ""),
    );
    assert_eq!(finals(&mut ua), vec![404]);
    assert!(!rings(&mut ua));
    send(
        &mut ua,
        now,
        peer,
        request("OPTIONS", "sip:127.0.0.1:5070", peer, 2, ""),
    );
    assert_eq!(finals(&mut ua), vec![200]);
}

#[test]
fn untrusted_sources_get_403_for_everything_outside_a_dialog_and_never_ring() {
    let now = Instant::now();
    let pbx: SocketAddr = addr("127.0.0.2:5060");
    let scanner: SocketAddr = addr("127.0.0.1:5061");
    let mut ua = agent(|c| c.trusted = Some(vec![Cidr::host(pbx.ip())]));
    for (n, (method, ruri)) in [
        ("OPTIONS", "sip:100@127.0.0.1:5070"),
        ("INVITE", "sip:desk@127.0.0.1:5070"),
        ("INVITE", "sip:101@127.0.0.1:5070"),
        ("REGISTER", "sip:127.0.0.1:5070"),
    ]
    .into_iter()
    .enumerate()
    {
        send(
            &mut ua,
            now,
            scanner,
            request(method, ruri, scanner, n as u64, ""),
        );
        let refused = statuses(&mut ua);
        let codes: Vec<u16> = refused.iter().map(|r| r.status).collect();
        assert_eq!(
            codes,
            vec![403],
            "{method} {ruri}: the same answer, whoever it names"
        );
        assert!(
            refused[0].headers.get("Server").is_none(),
            "nothing to fingerprint"
        );
    }
    assert!(!rings(&mut ua));
    send(
        &mut ua,
        now,
        pbx,
        request("INVITE", "sip:desk@127.0.0.1:5070", pbx, 50, ""),
    );
    assert!(finals(&mut ua).is_empty());
    assert!(rings(&mut ua));
}

fn incoming_pai(ua: &mut UserAgent) -> Option<String> {
    events(ua).into_iter().find_map(|e| match e {
        Event::Incoming { request, .. } => Some(
            request
                .headers
                .get("P-Asserted-Identity")
                .unwrap_or("")
                .to_owned(),
        ),
        _ => None,
    })
}

#[test]
fn an_asserted_identity_is_believed_only_from_a_source_that_may_vouch() {
    let now = Instant::now();
    let pai = "P-Asserted-Identity: \"Bank\" <sip:+3726000000@pbx>\r\n";
    let stranger = addr("198.51.100.7:5060");
    let local = addr("127.0.0.1:40000");
    let mut open = agent(|_| {});
    send(
        &mut open,
        now,
        stranger,
        request("INVITE", "sip:desk@127.0.0.1:5070", stranger, 1, pai),
    );
    assert_eq!(incoming_pai(&mut open).as_deref(), Some(""), "removed");
    send(
        &mut open,
        now,
        local,
        request("INVITE", "sip:desk@127.0.0.1:5070", local, 2, pai),
    );
    assert_eq!(
        incoming_pai(&mut open).as_deref(),
        Some("\"Bank\" <sip:+3726000000@pbx>"),
        "this machine vouches when no list is set"
    );
    let mut listed = agent(|c| c.trusted = Some(vec!["198.51.100.0/24".parse().unwrap()]));
    send(
        &mut listed,
        now,
        stranger,
        request("INVITE", "sip:desk@127.0.0.1:5070", stranger, 3, pai),
    );
    assert_eq!(
        incoming_pai(&mut listed).as_deref(),
        Some("\"Bank\" <sip:+3726000000@pbx>")
    );
}

/// An answered call from `peer`; returns its handle and the 200's To tag.
fn answered_call(ua: &mut UserAgent, now: Instant, peer: SocketAddr) -> (CallHandle, String) {
    send(
        ua,
        now,
        peer,
        request("INVITE", "sip:desk@127.0.0.1:5070", peer, 1, ""),
    );
    let call = events(ua)
        .into_iter()
        .find_map(|e| match e {
            Event::Incoming { call, .. } => Some(call),
            _ => None,
        })
        .expect("rings");
    let sdp = b"v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 0\r\n";
    ua.answer(now, call, sdp.to_vec()).unwrap();
    let ok = statuses(ua)
        .into_iter()
        .find(|r| r.status == 200)
        .expect("200");
    let tag = ok.to().unwrap().tag().unwrap().to_owned();
    let ack = format!(
        "ACK sip:desk@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP {peer};branch=z9hG4bK-ack\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@{peer}>;tag=f1\r\nTo: <sip:desk@127.0.0.1:5070>;tag={tag}\r\n\
         Call-ID: c1@{peer}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    );
    ua.handle_datagram(now, Transport::Udp, peer, ack.as_bytes());
    assert!(
        events(ua)
            .iter()
            .any(|e| matches!(e, Event::Established { .. }))
    );
    (call, tag)
}

fn refer(peer: SocketAddr, from: SocketAddr, tag: &str, seq: u32) -> Vec<u8> {
    format!(
        "REFER sip:desk@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK-r{seq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:caller@{peer}>;tag=f1\r\nTo: <sip:desk@127.0.0.1:5070>;tag={tag}\r\n\
         Call-ID: c1@{peer}\r\nCSeq: {seq} REFER\r\nContact: <sip:caller@{from}>\r\n\
         Refer-To: <sip:+900555123@pbx.example.com>\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

#[test]
fn a_refer_from_outside_the_dialogs_path_is_forbidden() {
    let now = Instant::now();
    let mut ua = agent(|_| {});
    let peer = addr("127.0.0.1:40000");
    let (_, tag) = answered_call(&mut ua, now, peer);
    let intruder = addr("127.0.0.9:40000");
    ua.handle_datagram(
        now,
        Transport::Udp,
        intruder,
        &refer(peer, intruder, &tag, 2),
    );
    assert_eq!(finals(&mut ua), vec![403]);
    assert!(
        !events(&mut ua)
            .iter()
            .any(|e| matches!(e, Event::Referred { .. }))
    );
    ua.handle_datagram(now, Transport::Udp, peer, &refer(peer, peer, &tag, 3));
    assert!(
        events(&mut ua)
            .iter()
            .any(|e| matches!(e, Event::Referred { .. })),
        "the peer itself may ask"
    );
}

fn account(retry: Backoff) -> Account {
    Account {
        registrar: SipUri::new(None, Host::parse("127.0.0.1").unwrap(), Some(5160)),
        registrar_addr: addr("127.0.0.1:5160"),
        transport: Transport::Udp,
        username: "desk".into(),
        password: "secret".into(),
        realm: None,
        expires: 300,
        retry,
    }
}

fn registers(ua: &mut UserAgent) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| ua.poll_transmit())
        .filter(|t| t.payload.starts_with(b"REGISTER"))
        .map(|t| t.payload)
        .collect()
}

#[test]
fn a_registrar_that_stops_answering_is_tried_again_with_growing_waits() {
    let t0 = Instant::now();
    let mut ua = agent(|_| {});
    ua.register(t0, account(Backoff::default()));
    let mut failures = Vec::new();
    let mut now = t0;
    // Nobody answers: each REGISTER times out (32 s) and is retried later.
    while failures.len() < 4 {
        let at = ua.poll_timeout().expect("never idle while not registered");
        assert!(at - t0 < Duration::from_secs(3600), "retries keep coming");
        now = at;
        ua.handle_timeout(now);
        let _ = registers(&mut ua);
        for e in events(&mut ua) {
            if let Event::RegistrationFailed {
                status, retry_in, ..
            } = e
            {
                assert_eq!(status, Some(408));
                failures.push(retry_in.expect("a retry is scheduled"));
            }
        }
    }
    let s = Duration::from_secs;
    for (i, wait) in failures.iter().enumerate() {
        let bound = s(60 << i);
        assert!(
            *wait >= bound / 2 && *wait <= bound,
            "failure {}: {wait:?} not in [{:?}, {bound:?}]",
            i + 1,
            bound / 2
        );
    }
    // Retry now (the operator, or the network back): a REGISTER at once.
    let retry_at = ua.registration_retry_at().expect("waiting");
    assert!(retry_at > now);
    ua.register_now(now);
    assert_eq!(registers(&mut ua).len(), 1);
}

#[test]
fn retry_after_on_a_503_sets_the_wait() {
    let t0 = Instant::now();
    let mut ua = agent(|_| {});
    ua.register(t0, account(Backoff::default()));
    let reg = registers(&mut ua).pop().expect("REGISTER");
    let Ok(Message::Request(req)) = Message::parse(&reg) else {
        panic!()
    };
    let mut resp = switchboard_sip::ua::response_for(&req, 503, Some("r"));
    resp.headers.push("Retry-After", "7 (maintenance)");
    resp.headers.push("Content-Length", "0");
    ua.handle_datagram(t0, Transport::Udp, addr("127.0.0.1:5160"), &resp.to_bytes());
    let retry = events(&mut ua).into_iter().find_map(|e| match e {
        Event::RegistrationFailed {
            status: Some(503),
            retry_in,
            ..
        } => retry_in,
        _ => None,
    });
    assert_eq!(retry, Some(Duration::from_secs(7)));
    run_until(&mut ua, t0 + Duration::from_millis(6_900));
    assert!(registers(&mut ua).is_empty(), "not before");
    run_until(&mut ua, t0 + Duration::from_secs(7));
    assert_eq!(registers(&mut ua).len(), 1, "at 7 s");
}

#[test]
fn the_answer_keeps_the_proxies_record_route_so_the_caller_stays_on_their_path() {
    let now = Instant::now();
    let mut ua = agent(|_| {});
    let proxy = addr("127.0.0.1:5060");
    let rr = "Record-Route: <sip:127.0.0.1:5060;transport=tls;lr>\r\n\
              Record-Route: <sip:10.0.0.1;lr>\r\n";
    send(
        &mut ua,
        now,
        proxy,
        request("INVITE", "sip:desk@127.0.0.1:5070", proxy, 1, rr),
    );
    let call = events(&mut ua)
        .into_iter()
        .find_map(|e| match e {
            Event::Incoming { call, .. } => Some(call),
            _ => None,
        })
        .expect("rings");
    let ringing = statuses(&mut ua);
    let sdp = b"v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 0\r\n";
    ua.answer(now, call, sdp.to_vec()).unwrap();
    let ok = statuses(&mut ua);
    for r in ringing
        .iter()
        .filter(|r| r.status == 180)
        .chain(ok.iter().filter(|r| r.status == 200))
    {
        let routes: Vec<&str> = r.headers.get_all("Record-Route").collect();
        assert_eq!(
            routes,
            ["<sip:127.0.0.1:5060;transport=tls;lr>", "<sip:10.0.0.1;lr>"],
            "{} keeps the route set in order",
            r.status
        );
    }
    assert!(ok.iter().any(|r| r.status == 200));
}

#[test]
fn a_flood_of_refusals_is_reported_twenty_a_second_and_the_rest_counted() {
    let now = Instant::now();
    let mut ua = agent(|c| c.trusted = Some(vec!["192.0.2.1".parse().unwrap()]));
    let scanner = addr("127.0.0.1:5061");
    for n in 0..1000 {
        send(
            &mut ua,
            now + Duration::from_micros(n * 500),
            scanner,
            request("OPTIONS", "sip:100@127.0.0.1:5070", scanner, n, ""),
        );
    }
    let refused = |e: &Event| {
        matches!(
            e,
            Event::Rejected {
                status: Some(403),
                ..
            }
        )
    };
    let first: Vec<Event> = events(&mut ua);
    assert_eq!(first.iter().filter(|e| refused(e)).count(), 20);
    assert_eq!(finals(&mut ua).len(), 1000, "every one is still answered");
    // The next second begins with one line for the 980 not reported.
    send(
        &mut ua,
        now + Duration::from_secs(2),
        scanner,
        request("OPTIONS", "sip:100@127.0.0.1:5070", scanner, 5000, ""),
    );
    let next = events(&mut ua);
    assert!(
        next.iter().any(|e| matches!(
            e,
            Event::Rejected { status: None, error, .. } if error.starts_with("980 more")
        )),
        "{next:?}"
    );
    assert_eq!(next.iter().filter(|e| refused(e)).count(), 1);
}
