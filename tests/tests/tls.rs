//! SIP over TLS against kamailio (`kamailio-tls-modules`) on 127.0.0.1, with
//! a throwaway CA from `../shared/recipes/kamailio-tls-certs.sh`: register,
//! call and hang up over TLS; a CA we do not trust and a certificate for
//! another host fail registration with a reason an operator can act on; a
//! `sips:` registrar is never sent to in clear.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_interop::procs::{Guard, free_port, output_ok, temp_dir};
use switchboard_interop::{Agent, require};

/// Generous: a loaded machine runs several of these calls at once.
const WAIT: Duration = Duration::from_secs(20);

/// A directory with the throwaway CA, a server certificate for
/// localhost/127.0.0.1 and the tls.cfg that names them.
fn pki(tag: &str) -> Option<PathBuf> {
    // Without the shared data (a loud skip outside test.sh) there is no CA.
    switchboard_testkit::corpus::testdata_dir()?;
    let script = switchboard_interop::recipes_with("kamailio-tls-certs.sh");
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
        output_ok(
            Command::new("openssl").args(args).current_dir(dir),
            &format!("openssl {args:?}"),
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

/// tcpdump writing every UDP datagram on loopback to `file` (TLS signalling
/// is TCP: what it catches is the calls' RTP and RTCP), once it listens.
fn capture(file: &Path) -> Guard {
    require("tcpdump");
    let log = file.with_extension("log");
    let guard = Guard::spawn(
        Command::new("tcpdump")
            .args(["-i", "lo", "-U", "-n", "-w"])
            .arg(file)
            .arg("udp")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).expect("log"))),
        "tcpdump",
    );
    let until = Instant::now() + WAIT;
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("listening on")
    {
        assert!(Instant::now() < until, "tcpdump did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    guard
}

/// The payloads (after the 12-byte header) of every RTP packet to or from
/// `port` in a pcap file (other tests may be talking on loopback too): UDP
/// on loopback's Ethernet framing, version 2, payload type 0.
fn rtp_payloads(pcap: &Path, port: u16) -> Vec<Vec<u8>> {
    let data = std::fs::read(pcap).expect("read capture");
    let mut out = Vec::new();
    let mut at = 24; // the global header
    while let Some(rec) = data.get(at..at + 16) {
        let len = u32::from_le_bytes([rec[8], rec[9], rec[10], rec[11]]) as usize;
        let Some(frame) = data.get(at + 16..at + 16 + len) else {
            break;
        };
        at += 16 + len;
        // Ethernet (14) + IPv4 (IHL words) + UDP (8).
        let Some(&vihl) = frame.get(14) else { continue };
        let udp = 14 + usize::from(vihl & 0x0f) * 4;
        let Some(ports) = frame.get(udp..udp + 4) else {
            continue;
        };
        let (src, dst) = (
            u16::from_be_bytes([ports[0], ports[1]]),
            u16::from_be_bytes([ports[2], ports[3]]),
        );
        if src != port && dst != port {
            continue;
        }
        let Some(rtp) = frame.get(udp + 8..) else {
            continue;
        };
        if rtp.len() > 12 && rtp[0] >> 6 == 2 && rtp[1] & 0x7f == 0 {
            out.push(rtp[12..].to_vec());
        }
    }
    out
}

/// Whether any payload carries 16 bytes in a row of what `mic` (8 kHz
/// 16-bit) is in G.711 µ-law: the plaintext of that call's sound.
fn carries_plaintext(payloads: &[Vec<u8>], mic: &Path) -> usize {
    let samples: Vec<i16> = hound::WavReader::open(mic)
        .expect("mic")
        .into_samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect();
    let ulaw: Vec<u8> = samples
        .iter()
        .map(|s| switchboard_codec::g711::linear_to_ulaw(*s))
        .collect();
    let runs: std::collections::HashSet<&[u8]> = ulaw
        .windows(16)
        // Silence encodes to the same bytes in any stream: not evidence.
        .filter(|w| w.iter().any(|b| *b != w[0]))
        .collect();
    payloads
        .iter()
        .filter(|p| p.windows(16).any(|w| runs.contains(w)))
        .count()
}

/// Alice calls Bob through the TLS registrar with `srtp` on both sides;
/// both speak for three seconds. Returns what each side said and heard,
/// whether each reported the call encrypted, and the RTP payloads on the wire.
fn call_with_sound(dir: &Path, port: u16, srtp: &str) -> ([PathBuf; 4], [bool; 2], Vec<Vec<u8>>) {
    let ca = dir.join("ca.pem");
    let path = |n: &str| dir.join(format!("{srtp}-{n}.wav"));
    let files = [
        path("alice-says"),
        path("alice-heard"),
        path("bob-says"),
        path("bob-heard"),
    ];
    switchboard_interop::signal::write_test_voice(&files[0], 8_000, 20.0, 1);
    switchboard_interop::signal::write_test_voice(&files[2], 8_000, 20.0, 2);
    let arg = |p: &PathBuf| p.to_string_lossy().into_owned();
    let (a_says, a_heard, b_says, b_heard) = (
        arg(&files[0]),
        arg(&files[1]),
        arg(&files[2]),
        arg(&files[3]),
    );
    let media = |says: &str, heard: &str| {
        vec![
            "--codecs".to_owned(),
            "pcmu".to_owned(),
            "--srtp".to_owned(),
            srtp.to_owned(),
            "--mic".to_owned(),
            says.to_owned(),
            "--speaker".to_owned(),
            heard.to_owned(),
        ]
    };
    let pcap = dir.join(format!("{srtp}.pcap"));
    let tcpdump = capture(&pcap);
    let bob_media = media(&b_says, &b_heard);
    let mut bob_mode: Vec<&str> = bob_media.iter().map(String::as_str).collect();
    bob_mode.extend(["listen", "--auto-answer"]);
    let mut bob = over_tls(port, "bob", Some(&ca), &bob_mode);
    bob.wait_for("registered", WAIT);
    let target = format!("sips:bob@127.0.0.1:{port}");
    let alice_media = media(&a_says, &a_heard);
    let mut alice_mode: Vec<&str> = alice_media.iter().map(String::as_str).collect();
    alice_mode.extend(["call", &target]);
    let mut alice = over_tls(port, "alice", Some(&ca), &alice_mode);
    let a = alice.wait_for("media_started", WAIT);
    let b = bob.wait_for("media_started", WAIT);
    let from = a["ts"]
        .as_f64()
        .unwrap_or(0.0)
        .max(b["ts"].as_f64().unwrap_or(0.0));
    switchboard_interop::signal::sleep_until_wall(from + 4.0);
    alice.command("hangup");
    bob.wait_for("ended", WAIT);
    alice.wait_for("ended", WAIT);
    drop(alice);
    drop(bob);
    drop(tcpdump);
    let encrypted = [
        a["encrypted"].as_bool().unwrap_or(false),
        b["encrypted"].as_bool().unwrap_or(false),
    ];
    (files, encrypted, rtp_payloads(&pcap, rtp_port(&a)))
}

/// The peer's RTP port a `media_started` event names.
fn rtp_port(started: &serde_json::Value) -> u16 {
    started["remote"]
        .as_str()
        .and_then(|r| r.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.port())
        .unwrap_or_else(|| panic!("no remote in {started}"))
}

fn heard(what: &str, said: &Path, got: &Path) {
    use switchboard_interop::signal::{WINDOW, heard_windows, read_wav_8k};
    let h = heard_windows(
        &read_wav_8k(said),
        WINDOW..24_000,
        &read_wav_8k(got),
        0..16_000,
        0.9,
    );
    eprintln!("{what}: {h}");
    h.assert_heard(what);
}

#[test]
fn an_encrypted_call_carries_both_voices_and_no_plaintext_on_the_wire() {
    let Some(dir) = pki("tls-srtp") else { return };
    let (_k, port) = kamailio_tls(&dir);

    let (files, encrypted, wire) = call_with_sound(&dir, port, "mandatory");
    assert_eq!(encrypted, [true, true], "both report the call encrypted");
    heard("Bob hears Alice over SRTP", &files[0], &files[3]);
    heard("Alice hears Bob over SRTP", &files[2], &files[1]);
    assert!(wire.len() > 200, "{} RTP packets captured", wire.len());
    assert_eq!(
        carries_plaintext(&wire, &files[0]),
        0,
        "Alice's voice in clear"
    );
    assert_eq!(
        carries_plaintext(&wire, &files[2]),
        0,
        "Bob's voice in clear"
    );

    // The same call with SRTP off: the capture does show the voices (so the
    // check above would have seen them), and nobody claims encryption.
    let (files, encrypted, wire) = call_with_sound(&dir, port, "off");
    assert_eq!(encrypted, [false, false]);
    assert!(
        carries_plaintext(&wire, &files[0]) > 100,
        "plain RTP is seen"
    );
    assert!(
        carries_plaintext(&wire, &files[2]) > 100,
        "plain RTP is seen"
    );
}

#[test]
fn we_call_baresip_over_tls_with_mandatory_srtp_and_both_are_heard() {
    let Some(dir) = pki("tls-baresip") else {
        return;
    };
    // baresip serves TLS with the throwaway CA's certificate for 127.0.0.1.
    let (mut bs, rec, bs_says) = srtp_baresip(&dir, "bs-tls-srtp", "server");
    let says = dir.join("cli-says.wav");
    let heard_path = dir.join("cli-heard.wav");
    switchboard_interop::signal::write_test_voice(&says, 8_000, 20.0, 3);
    let pcap = dir.join("baresip.pcap");
    let tcpdump = capture(&pcap);
    let ca = dir.join("ca.pem").to_string_lossy().into_owned();
    let (s, h) = (
        says.to_string_lossy().into_owned(),
        heard_path.to_string_lossy().into_owned(),
    );
    let target = bs.tls_uri();
    let mut cli = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--tls-ca-file",
        &ca,
        "--srtp",
        "mandatory",
        "--codecs",
        "pcmu",
        "--mic",
        &s,
        "--speaker",
        &h,
        "call",
        &target,
    ]);
    bs.wait_event("CALL_INCOMING", WAIT);
    bs.command("accept", "");
    let started = cli.wait_for("media_started", WAIT);
    assert_eq!(started["encrypted"], true, "{started}");
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    switchboard_interop::signal::sleep_until_wall(started["ts"].as_f64().unwrap_or(0.0) + 4.0);
    cli.command("hangup");
    cli.wait_for("ended", WAIT);
    bs.wait_event("CALL_CLOSED", WAIT);
    drop(tcpdump);
    judge_with_baresip(
        &pcap,
        &started,
        &says,
        &heard_path,
        &bs_says,
        &rec,
        &mut cli,
    );
}

#[test]
fn baresip_calls_us_over_tls_with_mandatory_srtp_and_both_are_heard() {
    let Some(dir) = pki("tls-baresip-in") else {
        return;
    };
    // baresip's TLS transport needs a certificate of its own (it does not
    // check ours: ../shared/ENVIRONMENT.md).
    let (mut bs, rec, bs_says) = srtp_baresip(&dir, "bs-tls-srtp-in", "client");
    let says = dir.join("cli-says.wav");
    let heard_path = dir.join("cli-heard.wav");
    switchboard_interop::signal::write_test_voice(&says, 8_000, 20.0, 4);
    let arg = |p: &Path| p.to_string_lossy().into_owned();
    let (cert, key, s, h) = (
        arg(&dir.join("server.pem")),
        arg(&dir.join("server.key")),
        arg(&says),
        arg(&heard_path),
    );
    let (mut cli, bind) = Agent::listening(
        "agent",
        &[
            "--auto-answer",
            "--tls-certificate",
            &cert,
            "--tls-key",
            &key,
            "--srtp",
            "mandatory",
            "--codecs",
            "pcmu",
            "--mic",
            &s,
            "--speaker",
            &h,
        ],
    );
    let pcap = dir.join("baresip-in.pcap");
    let tcpdump = capture(&pcap);
    // (baresip 1.0 reads only sip: URIs: TLS is asked for as a parameter.)
    bs.command("dial", &format!("sip:agent@{bind};transport=tls"));
    let incoming = cli.wait_for("incoming", WAIT);
    let via = incoming["headers"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h[0] == "Via"))
        .map(|h| h[1].as_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    assert!(via.starts_with("SIP/2.0/TLS"), "it came over TLS: {via}");
    let started = cli.wait_for("media_started", WAIT);
    assert_eq!(started["encrypted"], true, "{started}");
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    switchboard_interop::signal::sleep_until_wall(started["ts"].as_f64().unwrap_or(0.0) + 4.0);
    bs.command("hangup", "");
    cli.wait_for("ended", WAIT);
    bs.wait_event("CALL_CLOSED", WAIT);
    drop(tcpdump);
    judge_with_baresip(
        &pcap,
        &started,
        &says,
        &heard_path,
        &bs_says,
        &rec,
        &mut cli,
    );
}

/// After an encrypted call with baresip: the capture carries none of our
/// voice (`says`) in clear, baresip heard us (its recording in `rec`) and
/// we heard baresip (`bs_says` in `heard`, once `cli` has finished it),
/// by correlation at 8 kHz (baresip says 48 kHz stereo).
fn judge_with_baresip(
    pcap: &Path,
    started: &serde_json::Value,
    says: &Path,
    heard: &Path,
    bs_says: &Path,
    rec: &Path,
    cli: &mut Agent,
) {
    use switchboard_interop::signal::{WINDOW, heard_windows, read_finished_wav_8k, read_wav_8k};
    let wire = rtp_payloads(pcap, rtp_port(started));
    assert!(wire.len() > 200, "{} RTP packets captured", wire.len());
    assert_eq!(carries_plaintext(&wire, says), 0, "our voice in clear");
    let got = read_finished_wav_8k(&switchboard_interop::Baresip::recording(rec, "dec"), WAIT);
    let h = heard_windows(&read_wav_8k(says), WINDOW..24_000, &got, 0..16_000, 0.85);
    eprintln!("baresip hears us over SRTP: {h}");
    h.assert_heard("baresip hears us over SRTP");
    cli.terminate();
    cli.wait_exit(WAIT);
    // baresip starts saying its file when it answers, which can be before
    // our speaker starts recording: what we heard may then lead its file
    // (a busy machine showed 22 ms). Half a second of silence put in front
    // of the recording lets the search find it either way.
    let lead = 4_000;
    let mut got = vec![0.0; lead];
    got.extend(read_wav_8k(heard));
    let h = heard_windows(
        &read_wav_8k(bs_says),
        WINDOW..24_000,
        &got,
        0..16_000 + lead,
        0.85,
    );
    eprintln!("we hear baresip over SRTP: {h}");
    h.assert_heard("we hear baresip over SRTP");
}

/// baresip with media encryption `srtp-mand`, TLS with the throwaway
/// `pair`'s certificate and key (`server` or `client`), saying a test
/// signal and recording what it hears in `dir/rec`. Returns it, its
/// recordings folder and what it says.
fn srtp_baresip(
    dir: &Path,
    tag: &str,
    pair: &str,
) -> (switchboard_interop::Baresip, PathBuf, PathBuf) {
    use switchboard_interop::signal::write_test_signal_channels;
    let cert = dir.join("baresip.pem");
    let both = [
        std::fs::read(dir.join(format!("{pair}.pem"))).expect("cert"),
        std::fs::read(dir.join(format!("{pair}.key"))).expect("key"),
    ]
    .concat();
    std::fs::write(&cert, both).expect("write baresip.pem");
    let rec = dir.join("rec");
    std::fs::create_dir_all(&rec).expect("rec dir");
    let says = dir.join("baresip-says.wav");
    write_test_signal_channels(&says, 48_000, 20.0, 2);
    let bs = switchboard_interop::Baresip::start_with(
        tag,
        "carol",
        &switchboard_interop::BaresipAudio {
            tls_certificate: Some(cert),
            mediaenc: Some("srtp-mand".into()),
            source_wav: Some(says.clone()),
            record_dir: Some(rec.clone()),
            ..switchboard_interop::BaresipAudio::default()
        },
    );
    (bs, rec, says)
}
