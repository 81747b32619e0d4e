//! Locating the registrar by DNS (RFC 3263) with a real DNS server: dnsmasq
//! on 127.0.0.1 serving NAPTR, SRV and A records for `pbx.test`. The first
//! SRV target answers 503 (a server in maintenance), the second is a real
//! kamailio: the agent moves to it at once and registers.

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use switchboard_interop::procs::{Guard, free_port, temp_dir};
use switchboard_interop::{Agent, Kamailio, require};
use switchboard_sip::message::Message;
use switchboard_sip::ua::response_for;

const WAIT: Duration = Duration::from_secs(15);

/// dnsmasq answering only from its own records, on a free UDP port.
fn dnsmasq(records: &[String]) -> (Guard, u16) {
    require("dnsmasq");
    let port = free_port();
    let dir = temp_dir("dnsmasq");
    let mut cmd = Command::new("dnsmasq");
    cmd.args([
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        "--log-queries",
        "--log-facility=-",
        "--user=root",
    ])
    .arg(format!("--port={port}"))
    .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
    .args(records)
    .stdout(Stdio::null())
    .stderr(Stdio::from(
        std::fs::File::create(dir.join("dnsmasq.log")).expect("log"),
    ));
    let guard = Guard::spawn(&mut cmd, "dnsmasq");
    switchboard_interop::procs::wait_bound_udp(port, WAIT);
    (guard, port)
}

/// A server in maintenance: 503 to every request, counted.
fn unavailable() -> (u16, Arc<AtomicUsize>, Arc<AtomicBool>) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let port = sock.local_addr().expect("addr").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (s, st) = (seen.clone(), stop.clone());
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while !st.load(Ordering::Relaxed) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            if let Ok(Message::Request(r)) = Message::parse(buf.get(..n).unwrap_or(&[])) {
                s.fetch_add(1, Ordering::Relaxed);
                let mut resp = response_for(&r, 503, Some("down"));
                resp.headers.push("Content-Length", "0");
                let _ = sock.send_to(&resp.to_bytes(), from);
            }
        }
    });
    (port, seen, stop)
}

fn register(dns_port: u16, registrar: &str) -> Agent {
    let dns = format!("127.0.0.1:{dns_port}");
    Agent::start_with_env(
        &[
            "--bind",
            "127.0.0.1:0",
            "--dns-server",
            &dns,
            "--registrar",
            registrar,
            "--username",
            "alice",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    )
}

#[test]
fn srv_targets_are_tried_in_priority_order_and_a_503_moves_to_the_next() {
    let kamailio = Kamailio::start();
    let (down, asked, stop) = unavailable();
    let (_dns, dns_port) = dnsmasq(&[
        format!("--srv-host=_sip._udp.pbx.test,a.pbx.test,{down},10,10"),
        format!(
            "--srv-host=_sip._udp.pbx.test,b.pbx.test,{},20,10",
            kamailio.port
        ),
        "--host-record=a.pbx.test,127.0.0.1".to_owned(),
        "--host-record=b.pbx.test,127.0.0.1".to_owned(),
    ]);
    let started = Instant::now();
    let mut agent = register(dns_port, "sip:pbx.test");
    let failed = agent.wait_for("registration_failed", WAIT);
    assert_eq!(failed["status"], 503, "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or("")
            .contains(&format!("next server, 127.0.0.1:{}", kamailio.port)),
        "{failed}"
    );
    agent.wait_for("registered", WAIT);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the next server at once, not after a back-off"
    );
    assert_eq!(
        asked.load(Ordering::Relaxed),
        1,
        "the first target (priority 10) was asked first, once"
    );
    stop.store(true, Ordering::Relaxed);
    assert!(
        kamailio
            .log_text()
            .contains("REGISTER ok sip:alice@pbx.test"),
        "{}",
        kamailio.log_text()
    );
}

#[test]
fn naptr_chooses_the_service_and_an_unknown_name_is_a_clear_failure() {
    let kamailio = Kamailio::start();
    let (_dns, dns_port) = dnsmasq(&[
        "--naptr-record=pbx.test,10,10,S,SIP+D2U,,_sip._udp.voice.pbx.test".to_owned(),
        format!(
            "--srv-host=_sip._udp.voice.pbx.test,b.pbx.test,{},10,10",
            kamailio.port
        ),
        "--host-record=b.pbx.test,127.0.0.1".to_owned(),
    ]);
    let mut agent = register(dns_port, "sip:pbx.test");
    agent.wait_for("registered", WAIT);
    drop(agent);

    let mut lost = register(dns_port, "sip:nowhere.test");
    let failed = lost.wait_for("registration_failed", WAIT);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or("")
            .contains("cannot resolve nowhere.test"),
        "{failed}"
    );
    assert!(failed["retry_in_s"].as_u64().is_some(), "{failed}");
}
