//! Every RFC 4475/5118 torture message sent over UDP to a real switchboard-cli,
//! inside a private network namespace (only `lo`): whatever the messages name,
//! no reply, lookup or connect can leave the machine.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use switchboard_interop::{Agent, enter_private_netns};
use switchboard_sip::header::Via;
use switchboard_sip::message::salvage_request_headers;
use switchboard_testkit::corpus::{Expected, TORTURE_CASES, torture_cases};

const AGENT: &str = "127.0.0.1:5099";

/// Where our UA will send the response: the top Via's port (no rport in these
/// messages) at the source address.
/// With `rport` it answers to our source port (RFC 3581), so any port will do.
fn reply_port(bytes: &[u8]) -> u16 {
    let via = salvage_request_headers(bytes)
        .and_then(|h| h.list("Via").next().and_then(|v| Via::parse(v).ok()));
    match via {
        Some(v) if v.rport().is_some() => 0,
        Some(v) => v.port.unwrap_or(5060),
        None => 5060,
    }
}

/// Text values that identify answers to this message: the top Via branch and
/// the Call-ID, read straight from the text (this works for responses too).
fn markers(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        if out.is_empty()
            && (lower.starts_with("via") || lower.starts_with("v:") || lower.starts_with("v :"))
            && let Some(i) = lower.find("branch=")
        {
            let b: String = line[i + 7..]
                .chars()
                .take_while(|c| !matches!(c, ';' | ',' | ' '))
                .collect();
            out.push(b);
        }
        if (lower.starts_with("call-id") || lower.starts_with("i:"))
            && let Some((_, v)) = line.split_once(':')
        {
            out.push(v.trim().to_owned());
            break; // the first request's Call-ID only (dblreq carries two; multi01 repeats it)
        }
    }
    out
}

fn exchange(bytes: &[u8], wait: Duration) -> Option<u16> {
    let markers = markers(bytes);
    let sock = UdpSocket::bind(("127.0.0.1", reply_port(bytes))).expect("bind reply port");
    sock.send_to(bytes, AGENT).expect("send");
    let until = Instant::now() + wait;
    let mut buf = [0u8; 65_535];
    while Instant::now() < until {
        sock.set_read_timeout(Some(
            until
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ))
        .ok()?;
        let Ok((n, _)) = sock.recv_from(&mut buf) else {
            return None;
        };
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]));
        // Only answers to this message count (earlier ones may still be retransmitted).
        if !markers.iter().all(|m| text.contains(m.as_str())) {
            continue;
        }
        let status = text.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok());
        // Skip 100 Trying: the final or ringing answer tells what the UA decided.
        if status != Some(100) {
            return status;
        }
    }
    Some(100)
}

/// What we expect for each file. `None` in the list means "no answer" (responses are dropped).
fn expected(name: &str, class: Expected, is_response: bool) -> Vec<Option<u16>> {
    let specific: &[Option<u16>] = match name {
        "bext01" => &[Some(420)],
        "invut" => &[Some(415)],
        "sdp01" => &[Some(406), Some(400)],
        "unkscm" | "novelsc" => &[Some(416)],
        "badvers" => &[Some(505)],
        "intmeth" | "esc02" => &[Some(501)],
        // We are a user agent, not a registrar: REGISTER is 405 (RFC 3261 §8.2.1).
        "regaut01" | "escnull" | "dblreq" | "cparam01" | "cparam02" | "regescrt" | "unksm2"
        | "port-ambiguous" | "ipv6-good" | "port-unambiguous" => &[Some(405)],
        "mpart01" => &[Some(405)],
        // No Via at all: there is nowhere to send an answer, so it is dropped.
        "test" => &[None],
        "baddate" | "badaspec" | "baddn" | "regbadct" => {
            &[Some(400), Some(404), Some(180), Some(200), Some(405)]
        }
        "badbranch" | "zeromf" | "lwsdisp" | "transports" => &[Some(200)],
        // The user part is "user;par=u@example.net", not "user" (RFC 4475 §3.1.1.9).
        "semiuri" => &[Some(404)],
        _ => &[],
    };
    if !specific.is_empty() {
        return specific.to_vec();
    }
    if is_response {
        return vec![None];
    }
    match class {
        Expected::InvalidMustReject => vec![Some(400)],
        // Processed normally: ringing for us, 404 for users we do not have, 481 for unknown dialogs.
        _ => vec![Some(180), Some(404), Some(481), Some(200)],
    }
}

#[test]
fn every_torture_message_gets_the_right_answer_over_udp() {
    let Some(cases) = torture_cases() else { return };
    assert_eq!(cases.len(), TORTURE_CASES, "every message of the corpus");
    enter_private_netns();
    let mut failures = Vec::new();
    let mut tally = std::collections::BTreeMap::<String, (u32, u32)>::new();
    for case in &cases {
        let is_response = case.bytes.starts_with(b"SIP/");
        let want = expected(case.name(), case.expected, is_response);
        let wait = if want.contains(&None) {
            Duration::from_millis(400)
        } else {
            Duration::from_secs(3)
        };
        // A fresh agent per message: several files reuse one branch and sent-by,
        // which a live UA rightly takes for a retransmission of the earlier request.
        let mut agent = Agent::start(&["--bind", AGENT, "--user", "user", "listen"]);
        agent.wait_for("listening", Duration::from_secs(5));
        let got = exchange(&case.bytes, wait);
        drop(agent);
        let entry = tally.entry(format!("{:?}", case.expected)).or_default();
        if want.contains(&got) {
            entry.0 += 1;
        } else {
            entry.1 += 1;
            failures.push(format!("{}: got {got:?}, want one of {want:?}", case.file));
        }
        eprintln!("{:34} -> {got:?}", case.file);
    }
    eprintln!("torture over UDP (ok, failed) per class: {tally:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
