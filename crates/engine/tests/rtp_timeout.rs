//! RTP inactivity with a real engine: a peer that answers and then sends no
//! media (a phone that crashed after the 200, a path that broke) is
//! reported to the operator after the RTP timeout and the call is hung up
//! after twice that, with a BYE the peer receives. The peer here is a bare
//! UDP socket speaking just enough SIP.

mod live;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use live::{Live, WAIT, config};
use switchboard_engine::Policy;
use switchboard_engine::events::EventKind;
use switchboard_sip::message::{Message, Request};
use switchboard_sip::ua::response_for;

/// The next request on `sock` (bounded by [`WAIT`]).
fn next_request(sock: &UdpSocket) -> (Request, std::net::SocketAddr) {
    let until = Instant::now() + WAIT;
    let mut buf = vec![0u8; 65_536];
    while Instant::now() < until {
        if let Ok((n, from)) = sock.recv_from(&mut buf)
            && let Ok(Message::Request(r)) = Message::parse(buf.get(..n).unwrap_or(&[]))
        {
            return (r, from);
        }
    }
    panic!("no request within {WAIT:?}");
}

#[test]
fn a_peer_that_goes_quiet_is_reported_and_then_hung_up() {
    let mut policy = Policy::headless();
    policy.rtp_timeout = Some(Duration::from_secs(1));
    let mut alice = Live::start("alice", config("alice", policy));
    let sip = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sip.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    // Where the peer says it receives: bound, so nothing bounces, but it
    // never sends a packet.
    let media = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let peer = sip.local_addr().expect("addr");
    let call = alice.call(&format!("sip:bob@{peer}"));

    let (invite, from) = next_request(&sip);
    assert_eq!(invite.method.as_str(), "INVITE");
    let mut ok = response_for(&invite, 200, Some("quiet"));
    ok.headers.push("Contact", format!("<sip:bob@{peer}>"));
    ok.headers.push("Content-Type", "application/sdp");
    ok.body = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        media.local_addr().expect("addr").port()
    )
    .into_bytes();
    ok.headers.push("Content-Length", ok.body.len().to_string());
    sip.send_to(&ok.to_bytes(), from).expect("send 200");
    alice.wait_media(call);

    let warned = alice.wait("the operator is told", |e| {
        matches!(
            e,
            EventKind::MediaTimeout {
                hanging_up: false,
                ..
            }
        )
    });
    assert!(
        matches!(warned, EventKind::MediaTimeout { call: c, quiet_s, .. } if c == call && quiet_s >= 1),
        "{warned:?}"
    );
    assert!(
        !alice.saw(|e| matches!(e, EventKind::Ended { .. })),
        "a warning first, the call still up"
    );
    alice.wait("the call is given up", |e| {
        matches!(
            e,
            EventKind::MediaTimeout {
                hanging_up: true,
                ..
            }
        )
    });
    // The peer gets a BYE (the ACK came before it).
    let bye = loop {
        let (r, _) = next_request(&sip);
        if r.method.as_str() == "BYE" {
            break r;
        }
    };
    let mut ok = response_for(&bye, 200, None);
    ok.headers.push("Content-Length", "0");
    sip.send_to(&ok.to_bytes(), from).expect("send 200");
    alice.wait_ended(call);
}

#[test]
fn a_held_call_is_quiet_by_agreement_and_never_timed_out() {
    let mut policy = Policy::headless();
    policy.rtp_timeout = Some(Duration::from_secs(1));
    let mut alice = Live::start("alice", config("alice", policy));
    let mut bob = Live::start("bob", config("bob", Policy::headless()));
    let (a, _) = live::connect(&mut alice, &mut bob);
    // Alice holds Bob: Bob's answer is recvonly, so nothing comes to her.
    alice.send(switchboard_engine::Command::Hold { call: a });
    alice.wait("held", |e| matches!(e, EventKind::Held { .. }));
    std::thread::sleep(Duration::from_millis(3_000));
    assert!(
        !alice.saw(|e| matches!(e, EventKind::MediaTimeout { .. })),
        "{:?}",
        alice.seen
    );
}
