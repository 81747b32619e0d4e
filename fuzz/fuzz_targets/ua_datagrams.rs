//! The whole user agent (`ua::UserAgent`) driven by the input.
//!
//! Input: chunks separated by a NUL byte. The first chunk is one raw datagram
//! from a peer over UDP (so a plain SIP message, such as the RFC 4475 torture
//! files, is a useful input by itself). Every later chunk is `op` + payload:
//!
//! | op % 16 | what |
//! |---|---|
//! | 0, 1, 2 | payload as a datagram: UDP from peer A, TCP from peer A, UDP from peer B |
//! | 3 | time passes (`payload[0]` picks how long, 0 = to the next deadline), timers run |
//! | 4, 5, 6 | answer / reject / hang up a call (`payload[0]` picks the call: 1 or none the latest, 2 the one before ...) |
//! | 7, 8, 9 | place a call, register (digest credentials), unregister |
//! | 10 | peer A answers one of our requests (`payload[0]`: 1 the latest, 2 the one before ...): status from `payload[1]`, then header lines, blank line, body |
//! | 11 | peer A sends a request in the last dialog (method from `payload[0]`), then header lines, blank line, body |
//! | 12, 13 | re-offer, REFER (blind, or attended with `replaces_for` another call) |
//! | 14, 15 | accept or reject a REFER; NOTIFY transfer progress or answer a re-offer |
//!
//! At the end time runs on (to every deadline, then minutes and hours later).
//!
//! Oracles: nothing panics; every message the UA sends parses (the 400/505
//! answer to an unparsable datagram aside, which is built from salvaged
//! headers); nothing is sent to a broadcast, multicast or unspecified
//! address; events name calls the UA announced, and a call ends at most once;
//! `handle_timeout(now)` leaves no deadline at or before `now` after a few
//! rounds (no busy loop for the engine); the server transaction table stays
//! within `Config::max_server_transactions` (16 here, to make it fill).
//!
//! The UA is `user` at 192.0.2.10:5060 (the user most RFC 4475 messages
//! address), at most two calls, trusting peer A only (peer B gets 403
//! outside a dialog).
#![no_main]

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use switchboard_sip::header::NameAddr;
use switchboard_sip::message::{Headers, Message, Method, Request, Response, Version};
use switchboard_sip::ua::{
    Account, Backoff, CallHandle, Cidr, Config, Event, Transport, UserAgent,
};
use switchboard_sip::uri::{SipUri, Uri};

const LOCAL: &str = "192.0.2.10:5060";
const PEER_A: &str = "192.0.2.20:5060";
const PEER_B: &str = "198.51.100.7:5070";
/// Small, so that a few requests fill the server transaction table.
const MAX_SERVER_TX: usize = 16;
const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

/// How long op 3 lets pass (index 0: up to the next deadline).
const STEPS_MS: [u64; 12] = [
    0, 1, 100, 500, 1_000, 2_000, 4_000, 5_000, 32_000, 64_000, 300_000, 3_600_000,
];
/// Statuses op 10 answers with: selector 1 is 100, 2 is 180 ... (bit 7 is
/// the fork flag: a second To tag); beyond the table 100 + 3n % 600.
const STATUSES: [u16; 20] = [
    100, 180, 183, 200, 202, 300, 401, 407, 403, 404, 408, 420, 423, 481, 486, 487, 491, 500, 503,
    603,
];

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// `UA_FUZZ_TRACE=1` prints what the UA sends and reports (to see what an input does).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("UA_FUZZ_TRACE").is_some())
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// A dialog as the peer sees it, for op 11.
#[derive(Clone)]
struct PeerDialog {
    call_id: String,
    /// The peer's side (From of the peer's requests).
    peer: String,
    /// Our side (To of the peer's requests).
    us: String,
    /// Where the peer sends its requests (our Contact).
    target: String,
    /// The top Via of the peer's request we answered (for CANCEL, ACK of a non-2xx).
    via: Option<String>,
    /// CSeq number of that request.
    seq: u32,
    /// CSeq the peer uses next.
    next_seq: u32,
}

struct Harness {
    ua: UserAgent,
    now: Instant,
    calls: Vec<CallHandle>,
    ended: HashSet<CallHandle>,
    /// Requests we sent, latest last, with the transport they went on.
    sent_requests: Vec<(Transport, SocketAddr, Request)>,
    dialog: Option<PeerDialog>,
    branch: u32,
    /// Hashes of the payloads already checked.
    seen: HashSet<u64>,
}

fn is_forbidden(a: SocketAddr) -> bool {
    match a {
        SocketAddr::V4(a) => {
            a.ip().is_broadcast() || a.ip().is_unspecified() || a.ip().is_multicast()
        }
        SocketAddr::V6(a) => a.ip().is_unspecified() || a.ip().is_multicast(),
    }
}

fn event_call(e: &Event) -> Option<CallHandle> {
    match e {
        Event::Incoming { call, .. }
        | Event::Ringing { call, .. }
        | Event::Established { call, .. }
        | Event::Reoffer { call, .. }
        | Event::ReofferAnswered { call, .. }
        | Event::ReofferFailed { call, .. }
        | Event::TransferProgress { call, .. }
        | Event::Referred { call, .. }
        | Event::Dtmf { call, .. }
        | Event::Ended { call, .. } => Some(*call),
        Event::AckMissing { call, .. } => *call,
        _ => None,
    }
}

/// Index into a list of `n`, counted back from the latest: selector 1 (or
/// none) is the latest, 2 the one before ... (a chunk never holds a 0).
fn latest(n: usize, sel: Option<&u8>) -> Option<usize> {
    let back = sel.map_or(0, |s| usize::from(*s).wrapping_sub(1) % n.max(1));
    n.checked_sub(1 + back)
}

/// `Name: value` lines, a blank line, then the body.
fn split_extra(payload: &[u8]) -> (Vec<(String, String)>, Vec<u8>) {
    let blank = (0..payload.len()).find_map(|i| {
        let rest = &payload[i..];
        if rest.starts_with(b"\n\n") {
            Some((i, i + 2))
        } else if rest.starts_with(b"\n\r\n") {
            Some((i, i + 3))
        } else {
            None
        }
    });
    let (head, body) = match blank {
        Some((end, body)) => (&payload[..end], payload[body..].to_vec()),
        None => (payload, Vec::new()),
    };
    let head = String::from_utf8_lossy(head);
    let lines = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .filter(|(n, _)| !n.is_empty())
        .collect();
    (lines, body)
}

impl Harness {
    fn new() -> Harness {
        Harness {
            ua: UserAgent::new(Config {
                display_name: Some("Fuzz \"Desk\"".into()),
                user_agent: "switchboard-fuzz".into(),
                max_calls: 2,
                max_server_transactions: MAX_SERVER_TX,
                trusted: Some(vec![Cidr::host(addr(PEER_A).ip())]),
                ..Config::new(addr(LOCAL), "user", 7)
            }),
            now: base(),
            calls: Vec::new(),
            ended: HashSet::new(),
            sent_requests: Vec::new(),
            dialog: None,
            branch: 0,
            seen: HashSet::new(),
        }
    }

    fn pick(&self, sel: Option<&u8>) -> Option<CallHandle> {
        self.calls.get(latest(self.calls.len(), sel)?).copied()
    }

    /// Drains what the UA sends and reports, checking both.
    fn drain(&mut self, all_must_parse: bool) {
        assert!(
            self.ua.server_transactions() <= MAX_SERVER_TX,
            "{} server transactions live, the cap is {MAX_SERVER_TX}",
            self.ua.server_transactions()
        );
        while let Some(t) = self.ua.poll_transmit() {
            if trace() {
                let first = t.payload.split(|b| *b == b'\n').next().unwrap_or(&[]);
                eprintln!(
                    "  -> {} {}",
                    t.destination,
                    String::from_utf8_lossy(first).trim_end()
                );
            }
            assert!(!is_forbidden(t.destination), "sent to {}", t.destination);
            // A retransmission is the same bytes again: checked once.
            let mut hasher = DefaultHasher::new();
            t.payload.hash(&mut hasher);
            if !self.seen.insert(hasher.finish()) {
                continue;
            }
            match Message::parse(&t.payload) {
                Ok(Message::Request(r)) => {
                    if self.sent_requests.len() >= 8 {
                        self.sent_requests.remove(0);
                    }
                    self.sent_requests.push((t.transport, t.destination, r));
                }
                Ok(Message::Response(r)) => self.note_response(&r),
                Err(e) => assert!(
                    !all_must_parse,
                    "the UA sent a message that does not parse ({e}):\n{}",
                    String::from_utf8_lossy(&t.payload)
                ),
            }
        }
        while let Some(e) = self.ua.poll_event() {
            if trace() {
                eprintln!("  event {e:?}");
            }
            if let Event::Incoming { call, replaces, .. } = &e {
                assert!(!self.calls.contains(call), "call {call} announced twice");
                self.calls.push(*call);
                if let Some(r) = replaces {
                    assert!(self.calls.contains(r), "Replaces names unknown call {r}");
                }
            }
            if let Some(call) = event_call(&e) {
                assert!(
                    self.calls.contains(&call),
                    "event for unknown call {call}: {e:?}"
                );
            }
            if let Event::Ended { call, .. } = &e {
                assert!(self.ended.insert(*call), "call {call} ended twice: {e:?}");
            }
        }
    }

    /// Our response to a peer's request: remember the dialog it sets up.
    fn note_response(&mut self, r: &Response) {
        let (Some(from), Some(to), Some(call_id), Ok(cseq)) = (
            r.headers.get("From"),
            r.headers.get("To"),
            r.headers.get("Call-ID"),
            r.cseq(),
        ) else {
            return;
        };
        if !to.contains("tag") || r.status < 101 {
            return;
        }
        let target = r
            .headers
            .get("Contact")
            .and_then(|c| NameAddr::parse(c).ok())
            .map_or_else(|| format!("sip:user@{LOCAL}"), |n| n.uri.to_string());
        let same = self.dialog.as_ref().is_some_and(|d| d.call_id == call_id);
        let next_seq = match &self.dialog {
            Some(d) if same => d.next_seq.max(cseq.seq + 1),
            _ => cseq.seq + 1,
        };
        self.dialog = Some(PeerDialog {
            call_id: call_id.to_owned(),
            peer: from.to_owned(),
            us: to.to_owned(),
            target,
            via: r.headers.list("Via").next().map(str::to_owned),
            seq: cseq.seq,
            next_seq,
        });
    }

    /// Runs the timers due at `now` until none is left at or before it.
    fn settle(&mut self) {
        for _ in 0..16 {
            self.ua.handle_timeout(self.now);
            self.drain(true);
            if self.ua.poll_timeout().is_none_or(|d| d > self.now) {
                return;
            }
        }
        panic!(
            "handle_timeout({:?}) keeps a deadline at {:?}",
            self.now - base(),
            self.ua.poll_timeout().map(|d| d - base())
        );
    }

    fn datagram(&mut self, transport: Transport, source: SocketAddr, bytes: &[u8]) {
        let parses = Message::parse(bytes).is_ok();
        self.ua.handle_datagram(self.now, transport, source, bytes);
        self.drain(parses);
    }

    fn advance(&mut self, sel: u8) {
        let ms = STEPS_MS[usize::from(sel) % STEPS_MS.len()];
        self.now = if ms == 0 {
            match self.ua.poll_timeout() {
                Some(d) if d > self.now => d,
                _ => self.now + Duration::from_millis(1),
            }
        } else {
            self.now + Duration::from_millis(ms)
        };
        self.settle();
    }

    fn next_branch(&mut self) -> String {
        self.branch += 1;
        format!("z9hG4bKfuzz{}", self.branch)
    }

    /// Op 10: the peer answers one of our requests.
    fn reply(&mut self, payload: &[u8]) {
        let Some(i) = latest(self.sent_requests.len(), payload.first()) else {
            return;
        };
        let Some((transport, dest, req)) = self.sent_requests.get(i).cloned() else {
            return;
        };
        let status = match payload.get(1) {
            Some(s) => STATUSES
                .get(usize::from(*s & 0x7f).wrapping_sub(1))
                .copied()
                .unwrap_or(100 + u16::from(*s) * 3 % 600),
            None => 200,
        };
        let fork = payload.get(1).is_some_and(|s| s & 0x80 != 0);
        let (extra, body) = split_extra(payload.get(2..).unwrap_or(&[]));
        let mut h = Headers::new();
        for v in req.headers.get_all("Via") {
            h.push("Via", v);
        }
        let to = req.headers.get("To").unwrap_or("").to_owned();
        let has_tag = NameAddr::parse(&to).is_ok_and(|n| n.tag().is_some());
        let to = if has_tag || status == 100 {
            to
        } else {
            format!("{to};tag={}", if fork { "fuzzpeer2" } else { "fuzzpeer1" })
        };
        for (name, value) in [
            ("From", req.headers.get("From").unwrap_or("")),
            ("To", &to),
            ("Call-ID", req.call_id()),
            ("CSeq", req.headers.get("CSeq").unwrap_or("")),
        ] {
            h.push(name, value);
        }
        if status > 100
            && status < 300
            && !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case("Contact"))
        {
            h.push("Contact", format!("<sip:bob@{dest}>"));
        }
        let body =
            if body.is_empty() && req.method == Method::Invite && (200..300).contains(&status) {
                SDP.to_vec()
            } else {
                body
            };
        for (name, value) in extra {
            h.push(name, value);
        }
        if h.get("Content-Length").is_none() {
            h.push("Content-Length", body.len().to_string());
        }
        let resp = Response {
            version: Version::SIP_2_0,
            status,
            reason: "Fuzz".into(),
            headers: h,
            body,
        };
        // The peer's requests in this dialog go the other way.
        if status > 100 && status < 300 {
            let contact = req
                .headers
                .get("Contact")
                .and_then(|c| NameAddr::parse(c).ok())
                .map_or_else(|| format!("sip:user@{LOCAL}"), |n| n.uri.to_string());
            self.dialog = Some(PeerDialog {
                call_id: req.call_id().to_owned(),
                peer: to,
                us: req.headers.get("From").unwrap_or("").to_owned(),
                target: contact,
                via: None,
                seq: 0,
                next_seq: 1000,
            });
        }
        self.datagram(transport, dest, &resp.to_bytes());
    }

    /// Op 11: the peer sends a request in the last dialog.
    fn peer_request(&mut self, payload: &[u8]) {
        let Some(d) = self.dialog.clone() else {
            return;
        };
        let methods = [
            Method::Ack,
            Method::Bye,
            Method::Cancel,
            Method::Info,
            Method::Refer,
            Method::Notify,
            Method::Update,
            Method::Invite,
            Method::Options,
            Method::Message,
            Method::Prack,
            Method::Subscribe,
        ];
        let sel = payload.first().copied().unwrap_or(0);
        let method = methods[usize::from(sel) % methods.len()].clone();
        let same_tx = sel & 0x80 != 0 && matches!(method, Method::Ack | Method::Cancel);
        let Ok(uri) = Uri::parse_request_uri(&d.target) else {
            return;
        };
        let (extra, body) = split_extra(payload.get(1..).unwrap_or(&[]));
        let mut h = Headers::new();
        let via = match (&d.via, same_tx) {
            (Some(v), true) => v.clone(),
            _ => format!("SIP/2.0/UDP {PEER_A};branch={}", self.next_branch()),
        };
        h.push("Via", via);
        h.push("Max-Forwards", "70");
        h.push("From", d.peer.as_str());
        let to = if method == Method::Cancel {
            // A CANCEL carries the To of the request it cancels: no tag of ours.
            NameAddr::parse(&d.us).map_or(d.us.clone(), |mut n| {
                n.params.0.retain(|(k, _)| !k.eq_ignore_ascii_case("tag"));
                n.to_string()
            })
        } else {
            d.us.clone()
        };
        h.push("To", to);
        h.push("Call-ID", d.call_id.as_str());
        let seq = if matches!(method, Method::Ack | Method::Cancel) && d.seq > 0 {
            d.seq
        } else {
            if let Some(dd) = &mut self.dialog {
                dd.next_seq += 1;
            }
            d.next_seq
        };
        h.push("CSeq", format!("{seq} {method}"));
        h.push("Contact", format!("<sip:bob@{PEER_A}>"));
        let has = |n: &str| extra.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        let mut body = body;
        match method {
            Method::Refer if !has("Refer-To") => {
                h.push("Refer-To", format!("<sip:carol@{PEER_B}>"))
            }
            Method::Notify => {
                if !has("Event") {
                    h.push("Event", "refer");
                }
                if !has("Subscription-State") {
                    h.push("Subscription-State", "active;expires=60");
                }
                if body.is_empty() {
                    h.push("Content-Type", "message/sipfrag");
                    body = b"SIP/2.0 180 Ringing".to_vec();
                }
            }
            Method::Info if body.is_empty() => {
                h.push("Content-Type", "application/dtmf-relay");
                body = b"Signal=5\r\nDuration=160\r\n".to_vec();
            }
            Method::Invite | Method::Update if body.is_empty() => {
                h.push("Content-Type", "application/sdp");
                body = SDP.to_vec();
            }
            _ => {}
        }
        for (name, value) in extra {
            h.push(name, value);
        }
        if h.get("Content-Length").is_none() {
            h.push("Content-Length", body.len().to_string());
        }
        let req = Request {
            method,
            uri,
            version: Version::SIP_2_0,
            headers: h,
            body,
        };
        self.datagram(Transport::Udp, addr(PEER_A), &req.to_bytes());
    }

    fn op(&mut self, op: u8, p: &[u8]) {
        let now = self.now;
        if trace() {
            eprintln!(
                "op {} at {:?}: {:?}",
                op % 16,
                now - base(),
                String::from_utf8_lossy(p)
            );
        }
        match op % 16 {
            0 => self.datagram(Transport::Udp, addr(PEER_A), p),
            1 => self.datagram(Transport::Tcp, addr(PEER_A), p),
            2 => self.datagram(Transport::Udp, addr(PEER_B), p),
            3 => self.advance(p.first().copied().unwrap_or(0)),
            4 => {
                if let Some(c) = self.pick(p.first()) {
                    let sdp = p
                        .get(1..)
                        .filter(|s| !s.is_empty())
                        .map_or(SDP.to_vec(), <[u8]>::to_vec);
                    let _ = self.ua.answer(now, c, sdp);
                }
            }
            5 => {
                if let Some(c) = self.pick(p.first()) {
                    let status = p.get(1).map_or(486, |s| 300 + u16::from(*s) * 2);
                    let _ = self.ua.reject(now, c, status);
                }
            }
            6 => {
                if let Some(c) = self.pick(p.first()) {
                    let _ = self.ua.hangup(now, c);
                }
            }
            7 => {
                let tcp = p.first().is_some_and(|b| b & 1 == 1);
                let target = std::str::from_utf8(p.get(1..).unwrap_or(&[]))
                    .ok()
                    .and_then(|s| Uri::parse(s).ok())
                    .unwrap_or_else(|| Uri::parse(&format!("sip:bob@{PEER_A}")).expect("uri"));
                let hop = (
                    if tcp { Transport::Tcp } else { Transport::Udp },
                    addr(PEER_A),
                );
                if let Ok(c) = self.ua.call(now, target, hop, SDP.to_vec(), &[]) {
                    assert!(!self.calls.contains(&c), "call() reused handle {c}");
                    self.calls.push(c);
                }
            }
            8 => {
                let flags = p.first().copied().unwrap_or(0);
                let registrar = SipUri::new(
                    None,
                    switchboard_sip::uri::Host::Domain("example.com".into()),
                    None,
                );
                self.ua.register(
                    now,
                    Account {
                        registrar,
                        registrar_addr: addr(PEER_A),
                        transport: if flags & 1 == 1 {
                            Transport::Tcp
                        } else {
                            Transport::Udp
                        },
                        username: "user".into(),
                        password: "secret".into(),
                        realm: (flags & 2 == 2).then(|| "example.com".to_owned()),
                        expires: if flags & 4 == 4 { 60 } else { 3600 },
                        retry: Backoff::default(),
                    },
                );
            }
            9 => self.ua.unregister(now),
            10 => self.reply(p),
            11 => self.peer_request(p),
            12 => {
                if let Some(c) = self.pick(p.first()) {
                    let _ = self.ua.reoffer(now, c, SDP.to_vec());
                }
            }
            13 => {
                if let Some(c) = self.pick(p.first()) {
                    let other = self.pick(p.get(1)).filter(|o| *o != c);
                    let target = match other
                        .and_then(|o| Some((self.ua.remote_uri(o)?, self.ua.replaces_for(o)?)))
                    {
                        Some((Uri::Sip(mut u), rep)) => {
                            u.headers = Some(format!(
                                "Replaces={}",
                                switchboard_sip::ua::escape_header_value(&rep)
                            ));
                            Uri::Sip(u)
                        }
                        _ => Uri::parse(&format!("sip:carol@{PEER_B}")).expect("uri"),
                    };
                    let _ = self.ua.refer(now, c, &target);
                }
            }
            14 => {
                if let Some(c) = self.pick(p.first()) {
                    let _ = match p.get(1) {
                        Some(s) if s & 1 == 1 => self.ua.reject_refer(now, c, 400 + u16::from(*s)),
                        _ => self.ua.accept_refer(now, c),
                    };
                }
            }
            _ => {
                if let Some(c) = self.pick(p.first()) {
                    let s = p.get(1).copied().unwrap_or(0);
                    let _ = if s & 1 == 1 {
                        self.ua.notify_transfer(now, c, 100 + u16::from(s) * 2)
                    } else if s & 2 == 2 {
                        self.ua.answer_reoffer(now, c, Err(400 + u16::from(s)))
                    } else {
                        self.ua.answer_reoffer(now, c, Ok(SDP.to_vec()))
                    };
                }
            }
        }
        self.drain(true);
    }

    /// Time runs on: every deadline in turn, then long gaps.
    fn finish(&mut self) {
        for _ in 0..64 {
            match self.ua.poll_timeout() {
                Some(d) if d <= self.now + Duration::from_secs(600) => {
                    self.now = self.now.max(d);
                    self.settle();
                }
                _ => break,
            }
        }
        for secs in [1, 32, 64, 600, 7200] {
            self.now += Duration::from_secs(secs);
            self.settle();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut h = Harness::new();
    let mut chunks = data.split(|b| *b == 0);
    if let Some(first) = chunks.next() {
        h.datagram(Transport::Udp, addr(PEER_A), first);
    }
    for chunk in chunks.take(64) {
        let Some((op, payload)) = chunk.split_first() else {
            continue;
        };
        h.op(*op, payload);
    }
    h.finish();
});
