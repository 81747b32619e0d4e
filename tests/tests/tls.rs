//! SIP over TLS against kamailio (`kamailio-tls-modules`) on 127.0.0.1, with
//! a throwaway CA from `../shared/recipes/kamailio-tls-certs.sh`: register,
//! call and hang up over TLS; a CA we do not trust and a certificate for
//! another host fail registration with a reason an operator can act on; a
//! `sips:` registrar is never sent to in clear.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_interop::procs::{Guard, free_port, temp_dir};
use switchboard_interop::{Agent, require};

const WAIT: Duration = Duration::from_secs(10);

/// The shared recipes (beside the test data), or `None` after a loud skip.
fn recipes() -> Option<PathBuf> {
    let dir = switchboard_testkit::corpus::testdata_dir()?
        .parent()?
        .join("recipes");
    assert!(
        dir.join("kamailio-tls-certs.sh").is_file(),
        "{} has no kamailio-tls-certs.sh",
        dir.display()
    );
    Some(dir)
}

/// A directory with the throwaway CA, a server certificate for
/// localhost/127.0.0.1 and the tls.cfg that names them.
fn pki(tag: &str) -> Option<PathBuf> {
    let script = recipes()?.join("kamailio-tls-certs.sh");
    let dir = temp_dir(tag);
    let ok = Command::new("sh")
        .arg(&script)
        .arg(&dir)
        .status()
        .expect("run kamailio-tls-certs.sh");
    assert!(ok.success(), "{} failed", script.display());
    Some(dir)
}

/// Replaces the server certificate with one for `elsewhere.test` only
/// (same CA): a registrar reached as 127.0.0.1 must be refused.
fn reissue_for_another_host(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::piped())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("other.ext"),
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:elsewhere.test\n",
    )
    .expect("write ext");
    run(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "other.csr",
        "-subj",
        "/CN=elsewhere.test",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "other.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-sha256",
        "-extfile",
        "other.ext",
        "-out",
        "server.pem",
    ]);
}

/// kamailio serving `tests/peers/kamailio-tls-registrar.cfg` from `dir` on
/// a free port, once a TCP connection to it succeeds (bounded).
fn kamailio_tls(dir: &Path) -> (Guard, u16) {
    require("kamailio");
    let port = free_port();
    let cfg =
        include_str!("../peers/kamailio-tls-registrar.cfg").replace("PORT", &port.to_string());
    std::fs::write(dir.join("kamailio.cfg"), cfg).expect("write cfg");
    let log = std::fs::File::create(dir.join("kamailio.log")).expect("log");
    let guard = Guard::spawn(
        Command::new("kamailio")
            .arg("-f")
            .arg(dir.join("kamailio.cfg"))
            .args(["-DD", "-E", "-m", "32", "-M", "8", "-Y"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log)),
        "kamailio",
    );
    let until = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "kamailio (TLS) did not listen on {port}: {}",
            std::fs::read_to_string(dir.join("kamailio.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

/// A CLI agent registered at `sips:127.0.0.1:PORT` as `user`.
fn over_tls(port: u16, user: &str, ca: Option<&Path>, mode: &[&str]) -> Agent {
    let registrar = format!("sips:127.0.0.1:{port}");
    let mut args = vec![
        "--bind",
        "127.0.0.1:0",
        "--registrar",
        &registrar,
        "--username",
        user,
    ];
    let ca = ca.map(|c| c.to_string_lossy().into_owned());
    if let Some(ca) = &ca {
        args.extend(["--tls-ca-file", ca.as_str()]);
    }
    args.extend_from_slice(mode);
    Agent::start_with_env(&args, &[("SWITCHBOARD_PASSWORD", "secret")])
}

fn kamailio_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("kamailio.log")).unwrap_or_default()
}

#[test]
fn two_agents_register_call_and_hang_up_over_tls() {
    let Some(dir) = pki("tls-call") else { return };
    let (_k, port) = kamailio_tls(&dir);
    let ca = dir.join("ca.pem");
    let mut bob = over_tls(port, "bob", Some(&ca), &["listen", "--auto-answer"]);
    bob.wait_for("registered", WAIT);
    let target = format!("sips:bob@127.0.0.1:{port}");
    let mut alice = over_tls(port, "alice", Some(&ca), &["call", &target]);
    alice.wait_for("registered", WAIT);
    let incoming = bob.wait_for("incoming", WAIT);
    assert!(
        incoming["from"].as_str().unwrap_or("").contains("alice"),
        "{incoming}"
    );
    bob.wait_for("established", WAIT);
    alice.wait_for("established", WAIT);
    // Audio flows both ways (media itself is plain RTP until SRTP).
    let a = alice.wait_for("media_started", WAIT);
    assert!(a["remote"].as_str().is_some(), "{a}");
    std::thread::sleep(Duration::from_secs(1));
    alice.command("hangup");
    assert_eq!(
        bob.wait_for("ended", WAIT)["reason"],
        "remote_hangup",
        "the BYE came to Bob through the proxy, over TLS"
    );
    let log = kamailio_log(&dir);
    for method in ["REGISTER", "INVITE", "ACK", "BYE"] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("{method} from")) && l.contains("proto=tls")),
            "kamailio saw no {method} over TLS:\n{log}"
        );
    }
    assert!(
        !log.contains("proto=udp") && !log.contains("proto=tcp"),
        "nothing in clear:\n{log}"
    );
}

#[test]
fn a_registrar_whose_ca_we_do_not_trust_is_refused_with_that_reason() {
    let Some(dir) = pki("tls-wrong-ca") else {
        return;
    };
    let (_k, port) = kamailio_tls(&dir);
    // Only the system's roots: the throwaway CA is not among them.
    let mut agent = over_tls(port, "bob", None, &["register"]);
    let failed = agent.wait_for("registration_failed", WAIT);
    let reason = failed["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("not trusted") && reason.contains("tls_ca_file"),
        "{failed}"
    );
    assert!(failed["retry_in_s"].as_u64().is_some(), "{failed}");
    assert!(
        !kamailio_log(&dir).contains("REGISTER from"),
        "no REGISTER reached it"
    );
}

#[test]
fn a_certificate_for_another_host_is_refused_with_that_reason() {
    let Some(dir) = pki("tls-wrong-host") else {
        return;
    };
    reissue_for_another_host(&dir);
    let (_k, port) = kamailio_tls(&dir);
    let mut agent = over_tls(port, "bob", Some(&dir.join("ca.pem")), &["register"]);
    let failed = agent.wait_for("registration_failed", WAIT);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or("")
            .contains("another host name"),
        "{failed}"
    );
}

#[test]
fn a_sips_registrar_is_never_sent_to_in_clear() {
    // Something listens on UDP where the registrar should be: if we ever
    // fell back to UDP, the REGISTER (and its digest) would land here.
    let trap = UdpSocket::bind("127.0.0.1:0").expect("bind");
    trap.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let port = trap.local_addr().expect("addr").port();
    let mut agent = over_tls(port, "bob", None, &["register"]);
    let failed = agent.wait_for("registration_failed", WAIT);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or("")
            .contains("cannot connect"),
        "{failed}"
    );
    let mut buf = [0u8; 2048];
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if let Ok((n, from)) = trap.recv_from(&mut buf) {
            panic!(
                "{n} bytes in clear from {from}: {}",
                String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]))
            );
        }
    }
}
