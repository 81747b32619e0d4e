//! SIP over TCP against hostile peers, with a real engine: a peer that
//! trickles a header block never finishes it (slow loris) is cut off; a
//! flood of connections is refused past the cap while a well-behaved peer
//! is still answered.

mod live;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use live::{Live, config};
use switchboard_engine::Policy;

fn options(to: std::net::SocketAddr, from: std::net::SocketAddr, n: u32) -> String {
    format!(
        "OPTIONS sip:alice@{to} SIP/2.0\r\nVia: SIP/2.0/TCP {from};branch=z9hG4bK-s{n}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{from}>;tag={n}\r\nTo: <sip:alice@{to}>\r\n\
         Call-ID: s{n}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Whether the engine closed `s` within `within` (a read of 0 bytes).
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let until = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => {}
        }
    }
    false
}

/// A status line read from `s` within ten seconds.
fn answered(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]))
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_header_block_that_never_ends_is_cut_off_and_a_whole_one_answered() {
    let alice = Live::start("alice", config("alice", Policy::headless()));
    let mut slow = TcpStream::connect(alice.addr).expect("connect");
    let from = slow.local_addr().expect("addr");
    let msg = options(alice.addr, from, 1);
    // Half the header block, then a byte now and then: never the end.
    slow.write_all(msg.get(..60).unwrap_or("").as_bytes())
        .expect("write");
    let started = Instant::now();
    let mut cut = false;
    for b in msg.bytes().skip(60).take(40) {
        if slow.write_all(&[b]).is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(400)) {
            cut = true;
            break;
        }
    }
    assert!(cut, "still open after {:?}", started.elapsed());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "cut off by the header-block limit (10 s), not by chance: {:?}",
        started.elapsed()
    );
    // A peer that sends whole messages is answered on its connection.
    let mut good = TcpStream::connect(alice.addr).expect("connect");
    let from = good.local_addr().expect("addr");
    good.write_all(options(alice.addr, from, 2).as_bytes())
        .expect("write");
    assert_eq!(answered(&mut good), "SIP/2.0 200 OK");
}

#[test]
fn connections_past_the_cap_are_refused_and_the_first_still_served() {
    let alice = Live::start("alice", config("alice", Policy::headless()));
    let mut first = TcpStream::connect(alice.addr).expect("connect");
    let mut held = Vec::new();
    for _ in 0..300 {
        match TcpStream::connect(alice.addr) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    // The engine serves at most 256 at once: the ones past it are closed.
    let mut refused = 0;
    for s in held.iter_mut().rev().take(40) {
        if closed_within(s, Duration::from_millis(300)) {
            refused += 1;
        }
    }
    assert!(refused >= 40, "only {refused} of the last 40 were closed");
    let from = first.local_addr().expect("addr");
    first
        .write_all(options(alice.addr, from, 3).as_bytes())
        .expect("write");
    assert_eq!(answered(&mut first), "SIP/2.0 200 OK");
}

#[test]
fn a_peer_that_never_reads_our_answers_is_dropped_and_others_are_still_served() {
    let alice = Live::start("alice", config("alice", Policy::headless()));
    // A small receive buffer on the peer's side, so what we queue for it
    // fills soon.
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.set_recv_buffer_size(4096).expect("rcvbuf");
    sock.connect(&alice.addr.into()).expect("connect");
    let mut deaf: TcpStream = sock.into();
    let from = deaf.local_addr().expect("addr");
    deaf.set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut sent = 0;
    for n in 0..40_000 {
        if deaf
            .write_all(options(alice.addr, from, 10_000 + n).as_bytes())
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    // Now read: what was queued, then the end (or a reset): dropped.
    assert!(
        closed_within(&mut deaf, Duration::from_secs(20)),
        "still open after {sent} unread requests"
    );
    let mut good = TcpStream::connect(alice.addr).expect("connect");
    let from = good.local_addr().expect("addr");
    good.write_all(options(alice.addr, from, 1).as_bytes())
        .expect("write");
    assert_eq!(answered(&mut good), "SIP/2.0 200 OK");
}
