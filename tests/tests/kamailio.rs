//! kamailio as a registrar with digest auth on 127.0.0.1.

use std::process::{Command, Stdio};
use std::time::Duration;

use switchboard_interop::{Agent, Guard, free_port, require, temp_dir};

fn start_kamailio() -> (Guard, u16) {
    require("kamailio");
    let port = free_port();
    let dir = temp_dir("kamailio");
    let cfg = include_str!("../peers/kamailio-registrar.cfg").replace("PORT", &port.to_string());
    let path = dir.join("kamailio.cfg");
    std::fs::write(&path, cfg).expect("write cfg");
    let child = Guard(
        Command::new("kamailio")
            .arg("-f")
            .arg(&path)
            .args(["-DD", "-E", "-m", "32", "-M", "8", "-Y"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn kamailio"),
    );
    // Wait until it answers on its port (bounded).
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    probe
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let options = format!(
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {0};branch=z9hG4bKprobe\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        probe.local_addr().expect("addr")
    );
    for _ in 0..50 {
        let _ = probe.send_to(options.as_bytes(), ("127.0.0.1", port));
        let mut buf = [0u8; 2048];
        if probe.recv_from(&mut buf).is_ok() {
            return (child, port);
        }
    }
    panic!("kamailio did not start on port {port}");
}

#[test]
fn registers_refreshes_and_unregisters_with_digest_auth() {
    let (_k, kport) = start_kamailio();
    let registrar = format!("sip:127.0.0.1:{kport}");
    let bind = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            &bind,
            "--registrar",
            &registrar,
            "--username",
            "alice",
            "--expires",
            "4",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    let first = agent.wait_for("registered", Duration::from_secs(10));
    assert_eq!(first["expires"], 4);
    // Refreshed before expiry (at half the lifetime here).
    agent.wait_for("registered", Duration::from_secs(6));
    agent.terminate();
    agent.wait_for("unregistered", Duration::from_secs(10));
    assert_eq!(agent.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn wrong_password_gives_a_clear_registration_failed_event() {
    let (_k, kport) = start_kamailio();
    let registrar = format!("sip:127.0.0.1:{kport}");
    let bind = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            &bind,
            "--registrar",
            &registrar,
            "--username",
            "alice",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "wrong")],
    );
    let failed = agent.wait_for("registration_failed", Duration::from_secs(10));
    assert_eq!(failed["status"], 401);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or("")
            .contains("credentials rejected"),
        "{failed}"
    );
    assert_ne!(agent.wait_exit(Duration::from_secs(10)), 0);
    assert_eq!(agent.count("registered"), 0);
}

#[test]
fn a_challenge_for_a_foreign_realm_is_not_answered() {
    let (_k, kport) = start_kamailio();
    let registrar = format!("sip:127.0.0.1:{kport}");
    let bind = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            &bind,
            "--registrar",
            &registrar,
            "--username",
            "alice",
            "--realm",
            "pbx.example.com",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "secret")],
    );
    let failed = agent.wait_for("registration_failed", Duration::from_secs(10));
    assert!(
        failed["reason"].as_str().unwrap_or("").contains("realm"),
        "{failed}"
    );
    assert_ne!(agent.wait_exit(Duration::from_secs(10)), 0);
}
