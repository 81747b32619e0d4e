//! A hostile or broken network against `switchboard-cli`: a registrar that
//! restarts or asks for patience, INVITEs that are never cancelled, a caller
//! that tries to dial through the agent with REFER, a toll-fraud scanner
//! (Debian's sipvicious) and a flood of OPTIONS during a call.

use std::net::UdpSocket;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard_interop::{
    Agent, Kamailio, enter_private_netns, free_port, heard_windows, proc_usage, read_wav_8k,
    require, rms, sample_at, sipp, sipp_errors, sipvicious, sipvicious_rows, sleep_until_wall,
    temp_dir, wait_bound_udp, wait_child, wall_now, write_test_signal, write_test_voice,
};

const WAIT: Duration = Duration::from_secs(10);

fn arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn ts(v: &Value) -> f64 {
    v["ts"]
        .as_f64()
        .unwrap_or_else(|| panic!("event without ts: {v}"))
}

/// Waits for a `registered` event stamped after `after` (Unix s): older
/// ones still queued are passed over. Fails after `timeout`.
fn registered_after(agent: &mut Agent, after: f64, timeout: Duration, who: &str) -> Value {
    let until = Instant::now() + timeout;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{who}: not registered again within {timeout:?}; saw: {:#?}",
            agent.seen
        );
        let r = agent.wait_for("registered", left);
        if ts(&r) > after {
            return r;
        }
    }
}

#[test]
fn with_the_registrar_down_in_dialog_requests_still_go_between_the_phones() {
    // A registrar that does not record-route stays out of the call once it
    // is set up: hold, resume and hang-up go straight between the phones.
    let mut kamailio = Kamailio::start_without_record_route();
    let kport = kamailio.port;
    let mut bob = kamailio.agent("bob", &["listen", "--auto-answer"]);
    bob.wait_for("registered", WAIT);
    let mut alice = kamailio.agent("alice", &["call", &format!("sip:bob@127.0.0.1:{kport}")]);
    alice.wait_for("media_started", WAIT);
    bob.wait_for("media_started", WAIT);
    kamailio.stop();
    alice.command("hold");
    let held = bob.wait_for("held", WAIT);
    assert_eq!(held["remote"], true, "bob is told he is held: {held}");
    alice.command("resume");
    let resumed = loop {
        let h = bob.wait_for("held", WAIT);
        if h["remote"] == false {
            break h;
        }
    };
    assert_eq!(resumed["local"], false, "{resumed}");
    alice.command("hangup");
    assert_eq!(alice.wait_for("ended", WAIT)["reason"], "local_hangup");
    assert_eq!(
        bob.wait_for("ended", WAIT)["reason"],
        "remote_hangup",
        "the BYE reached bob with the registrar down"
    );
}

#[test]
fn a_registrar_restart_is_survived() {
    let mut kamailio = Kamailio::start();
    let kport = kamailio.port;
    let dir = temp_dir("hostile-registrar");
    let (said_path, heard_path) = (dir.join("said.wav"), dir.join("heard.wav"));
    // Long enough for the outage (Timer F: 32 s) and the way back.
    write_test_signal(&said_path, 8000, 120.0);
    let (said_arg, heard_arg) = (arg(&said_path), arg(&heard_path));
    // A short lifetime, so the listener refreshes (every 5 s) while the
    // registrar is down; retries from a 1 s base (the first after 1–2 s).
    let retry = [
        "--register-retry",
        "1",
        "--expires",
        "10",
        "--codecs",
        "pcmu",
    ];
    let mut bob = kamailio.agent(
        "bob",
        &[
            &retry[..],
            &["--speaker", &heard_arg, "listen", "--auto-answer"],
        ]
        .concat(),
    );
    bob.wait_for("registered", WAIT);
    let bob_uri = format!("sip:bob@127.0.0.1:{kport}");
    let mut alice = kamailio.agent(
        "alice",
        &[&retry[..], &["--mic", &said_arg, "call", &bob_uri]].concat(),
    );
    alice.wait_for("registered", WAIT);
    let mic_start = ts_of(&alice.wait_for("media_started", WAIT), "mic_start");
    bob.wait_for("media_started", WAIT);

    // The registrar goes away two seconds into the call.
    sleep_until_wall(mic_start + 2.0);
    let down_at = wall_now();
    kamailio.stop();
    // Bob's next refresh goes unanswered; after Timer F (64·T1 = 32 s) he
    // says so, and when he tries again.
    let failed = bob.wait_for("registration_failed", Duration::from_secs(50));
    let retry_in = failed["retry_in_s"].as_u64();
    assert!(
        matches!(retry_in, Some(1 | 2)),
        "the first retry comes after 1–2× the 1 s base: {failed}"
    );
    eprintln!(
        "registrar down at {down_at:.2}; bob's refresh failed {:.1} s later: {failed}",
        ts(&failed) - down_at
    );

    // The same registrar comes back on the same port (its bindings lost).
    let up_at = wall_now();
    let restarted = Kamailio::start_on(kport);
    let bob_back = registered_after(&mut bob, up_at, Duration::from_secs(30), "bob");
    let alice_back = registered_after(&mut alice, up_at, Duration::from_secs(30), "alice");
    eprintln!(
        "registrar back at {up_at:.2} ({:.1} s down); registered again after {:.1} s (bob), {:.1} s (alice)",
        up_at - down_at,
        ts(&bob_back) - up_at,
        ts(&alice_back) - up_at
    );

    // The call went on all along; Alice hangs up through the new registrar
    // (the BYE follows kamailio's Record-Route).
    alice.command("hangup");
    assert_eq!(alice.wait_for("ended", WAIT)["reason"], "local_hangup");
    assert_eq!(bob.wait_for("ended", WAIT)["reason"], "remote_hangup");

    // A new call through the restarted registrar finds Bob.
    let mut carol = restarted.agent("carol", &["call", &bob_uri]);
    carol.wait_for("established", Duration::from_secs(20));
    let inc = bob.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("carol"),
        "{inc}"
    );
    carol.command("hangup");
    carol.wait_for("ended", WAIT);

    // What Bob heard while the registrar was down is what Alice said.
    let said = read_wav_8k(&said_path);
    let got = read_wav_8k(&heard_path);
    let outage = heard_windows(
        &said,
        sample_at(mic_start, down_at)..sample_at(mic_start, up_at).min(said.len()),
        &got,
        0..8000,
        0.9,
    );
    eprintln!(
        "audio over the outage: {} of {} quarter seconds heard",
        outage.heard(),
        outage.judged()
    );
    outage.assert_heard("bob hears alice while the registrar is down");
}

fn ts_of(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[test]
fn retry_after_from_the_registrar_is_honoured() {
    let dir = temp_dir("hostile-retry-after");
    let port = free_port();
    let mut registrar = sipp(&dir, "register-retry-after.xml", port, &["-m", "1"]);
    wait_bound_udp(port, WAIT);
    let uri = format!("sip:127.0.0.1:{port}");
    // The default back-off (30 s base: 30–60 s) would not come back within
    // the wait below; only Retry-After does.
    let mut agent = Agent::start_with_env(
        &[
            "--bind",
            "127.0.0.1:0",
            "--registrar",
            &uri,
            "--username",
            "u",
            "register",
        ],
        &[("SWITCHBOARD_PASSWORD", "x")],
    );
    let failed = agent.wait_for("registration_failed", WAIT);
    assert_eq!(failed["status"], 503, "{failed}");
    assert_eq!(
        failed["retry_in_s"], 3,
        "Retry-After: 3 is what it waits: {failed}"
    );
    let ok = agent.wait_for("registered", WAIT);
    assert_eq!(ok["expires"], 60, "{ok}");
    // The second REGISTER left when the first's 503 said, not before.
    let waited = ts(&ok) - ts(&failed);
    eprintln!("503 Retry-After: 3 -> registered {waited:.3} s after the failure");
    assert!(
        (2.95..4.5).contains(&waited),
        "registered {waited:.3} s after the 503 with Retry-After: 3"
    );
    agent.terminate();
    agent.wait_for("unregistered", WAIT);
    assert_eq!(agent.wait_exit(WAIT), 0);
    let code = wait_child(&mut registrar.0, Duration::from_secs(20));
    assert_eq!(code, 0, "SIPp's scenario failed: {}", sipp_errors(&dir));
}

/// An INVITE from `from` (our raw socket) to `to`, Call-ID `call_id`, with
/// a PCMU offer.
fn raw_invite(from: std::net::SocketAddr, to: &str, call_id: &str) -> String {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        from.port() + 2
    );
    format!(
        "INVITE sip:bob@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:phantom@{from}>;tag=t-{call_id}\r\n\
         To: <sip:bob@{to}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:phantom@{from}>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// The status and Call-ID of a SIP response.
fn status_and_call_id(datagram: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(datagram).ok()?;
    let status = text
        .lines()
        .next()?
        .strip_prefix("SIP/2.0 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let call_id = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("call-id") || name.eq_ignore_ascii_case("i"))
            .then(|| value.trim().to_owned())
    })?;
    Some((status, call_id))
}

/// Reads responses from `sock` until `call_id` has a final one (bounded by
/// `timeout`); returns its status and when it came. Every response read
/// goes into `log`.
fn final_for(
    sock: &UdpSocket,
    call_id: &str,
    timeout: Duration,
    log: &mut Vec<(Instant, u16, String)>,
) -> (u16, Instant) {
    let until = Instant::now() + timeout;
    loop {
        if let Some((at, s, _)) = log.iter().find(|(_, s, c)| *s >= 200 && c == call_id) {
            return (*s, *at);
        }
        assert!(
            Instant::now() < until,
            "no final response for {call_id} within {timeout:?}; got {log:?}"
        );
        let mut buf = [0u8; 4096];
        if let Ok((n, _)) = sock.recv_from(&mut buf)
            && let Some((s, c)) = status_and_call_id(buf.get(..n).unwrap_or(&[]))
        {
            log.push((Instant::now(), s, c));
        }
    }
}

/// The `ended` event of the call with SIP Call-ID `call_id`: one seen
/// already, or the next to come (within [`WAIT`]).
fn ended_with_call_id(agent: &mut Agent, call_id: &str) -> Value {
    let until = Instant::now() + WAIT;
    loop {
        agent.count("ended"); // takes in what has arrived
        if let Some(e) = agent
            .seen
            .iter()
            .find(|v| v["event"] == "ended" && v["call_id"] == call_id)
        {
            return e.clone();
        }
        assert!(
            Instant::now() < until,
            "no `ended` of {call_id} within {WAIT:?}; saw: {:#?}",
            agent.seen
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn phantom_invites_free_their_lines_after_the_ring_timeout() {
    let (mut bob, bind) = Agent::listening("bob", &["--max-calls", "2", "--ring-timeout", "3"]);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let me = sock.local_addr().expect("addr");
    let mut log = Vec::new();
    // Two INVITEs that are never cancelled, never answered, never ACKed.
    let mut sent = Vec::new();
    for id in ["phantom-1", "phantom-2"] {
        sock.send_to(raw_invite(me, &bind, id).as_bytes(), &bind)
            .expect("send");
        sent.push((id, Instant::now()));
        let inc = bob.wait_for("incoming", WAIT);
        assert_eq!(inc["call_id"], id, "{inc}");
    }
    // Both lines ring: a third caller is busy.
    sock.send_to(raw_invite(me, &bind, "phantom-3").as_bytes(), &bind)
        .expect("send");
    let (busy, _) = final_for(&sock, "phantom-3", WAIT, &mut log);
    assert_eq!(busy, 486, "the third INVITE while two ring: {log:?}");
    // After the ring timeout (3 s) each phantom is refused with 480 …
    for (id, at) in &sent {
        let (status, when) = final_for(&sock, id, WAIT, &mut log);
        let rang = when.duration_since(*at).as_secs_f64();
        eprintln!("{id}: {status} after {rang:.2} s of ringing");
        assert_eq!(status, 480, "{id}: {log:?}");
        assert!(
            (2.9..6.0).contains(&rang),
            "{id} refused after {rang:.2} s with a 3 s ring timeout"
        );
    }
    // … and its line is free.
    for id in ["phantom-1", "phantom-2"] {
        let ended = ended_with_call_id(&mut bob, id);
        assert_eq!(ended["reason"], "no_answer", "{ended}");
        assert_eq!(ended["status"], 480, "{ended}");
    }
    assert_eq!(bob.count("incoming"), 2, "the busy INVITE never rang");
    // A real caller now rings and is answered.
    let mut alice = Agent::calling("alice", &format!("sip:bob@{bind}"));
    let inc = bob.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "{inc}"
    );
    alice.wait_for("ringing", WAIT);
    bob.command("answer");
    bob.wait_for("established", WAIT);
    alice.wait_for("established", WAIT);
    alice.command("hangup");
    assert_eq!(bob.wait_for("ended", WAIT)["reason"], "remote_hangup");
    assert_eq!(alice.wait_exit(WAIT), 0);
}

#[test]
fn a_caller_cannot_transfer_the_headless_agent_by_default() {
    let dir = temp_dir("hostile-refer");
    let (mut carol, carol_bind) = Agent::listening("carol", &["--auto-answer"]);
    // The default policy: no --transfer-policy.
    let (mut agent, agent_bind) = Agent::listening("service", &["--auto-answer"]);
    let target = format!("sip:carol@{carol_bind}");
    let mut caller = sipp(
        &dir,
        "refer-refused.xml",
        free_port(),
        &["-m", "1", "-key", "target", &target, &agent_bind],
    );
    let refused = agent.wait_for("transfer_refused", WAIT);
    assert_eq!(refused["target"], target.as_str(), "{refused}");
    // SIPp's scenario passes only if the REFER got 603 (then it hangs up).
    let code = wait_child(&mut caller.0, Duration::from_secs(20));
    assert_eq!(code, 0, "SIPp's scenario failed: {}", sipp_errors(&dir));
    assert_eq!(agent.wait_for("ended", WAIT)["reason"], "remote_hangup");
    // Nothing was dialled: a second to be sure no INVITE is on its way.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(carol.count("incoming"), 0, "carol rang: {:#?}", carol.seen);
    assert_eq!(agent.count("calling"), 0, "{:#?}", agent.seen);
    assert_eq!(agent.count("transferred"), 0, "{:#?}", agent.seen);
}

#[test]
fn a_scanner_finds_nothing_and_nothing_rings() {
    require("svmap");
    require("svwar");
    // svwar binds 0.0.0.0 whatever it is told: only `lo` here.
    enter_private_netns();
    let dir = temp_dir("hostile-scan");
    let sport = free_port();
    // Each svwar first probes a surely-missing extension and gives up when
    // that is refused as a real one would be; with `--force` it tries the
    // first extension too, and gives up at its 403.
    let scans: [&[&str]; 4] = [
        &["svwar", "-e100-200", "-m", "INVITE"],
        &["svwar", "-e100-200", "-m", "INVITE", "--force"],
        &["svwar", "-e100-200"],
        &["svwar", "-e100-200", "-m", "OPTIONS"],
    ];

    // Extension 150 takes calls from 127.0.0.2 only; the scanner is 127.0.0.1.
    let (mut guarded, bind) = Agent::listening(
        "150",
        &["--trusted-source", "127.0.0.2", "--ring-timeout", "1"],
    );
    let port: u16 = bind
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap();
    let (map, _) = sipvicious(&dir, &["svmap"], port, sport);
    let mapped = sipvicious_rows(&map);
    for scan in scans {
        let (out, err) = sipvicious(&dir, scan, port, sport);
        assert!(
            sipvicious_rows(&out).is_empty(),
            "{scan:?} found extensions behind --trusted-source:\n{out}\n{err}"
        );
    }
    assert_eq!(guarded.count("incoming"), 0, "{:#?}", guarded.seen);
    let rejected: Vec<Value> = guarded
        .seen
        .iter()
        .filter(|v| v["event"] == "message_rejected")
        .cloned()
        .collect();
    let scanner = format!("127.0.0.1:{sport}");
    assert!(
        rejected
            .iter()
            .all(|v| v["status"] == 403 && v["source"] == scanner.as_str()),
        "every request of the scan is refused with 403: {rejected:#?}"
    );
    // The scans reached the agent: the INVITEs were refused, not lost.
    let invites = rejected
        .iter()
        .filter(|v| v["error"].as_str().unwrap_or("").contains("INVITE"))
        .count();
    eprintln!(
        "behind --trusted-source: {} requests refused with 403 ({invites} INVITEs), none rang",
        rejected.len()
    );
    assert!(
        invites >= 2,
        "one INVITE or more of each INVITE scan: {rejected:#?}"
    );
    drop(guarded);

    // For contrast, the same agent open to anyone: the device and its
    // extension are found.
    let (mut open, bind) = Agent::listening("150", &["--ring-timeout", "1"]);
    let port: u16 = bind
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap();
    let (map_open, _) = sipvicious(&dir, &["svmap"], port, sport);
    let device = format!("127.0.0.1:{port}");
    assert!(
        sipvicious_rows(&map_open)
            .iter()
            .any(|r| r.first() == Some(&device)),
        "svmap finds an open agent:\n{map_open}"
    );
    let (found, _) = sipvicious(&dir, &["svwar", "-e100-200", "-m", "OPTIONS"], port, sport);
    assert_eq!(
        sipvicious_rows(&found),
        [["150".to_owned(), "noauth".to_owned()]],
        "svwar finds extension 150 of an open agent:\n{found}"
    );
    assert_eq!(open.count("message_rejected"), 0, "{:#?}", open.seen);
    eprintln!(
        "svmap with --trusted-source: {mapped:?}; without: {:?}",
        sipvicious_rows(&map_open)
    );
}

/// A continuous test voice (two partials, a slow vibrato and a mild
/// envelope, no pauses): any stretch of silence in what is heard is a gap.
fn write_steady_voice(path: &Path, secs: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create test WAV");
    let tau = 2.0 * std::f64::consts::PI;
    for i in 0..(8000.0 * secs) as usize {
        let t = i as f64 / 8000.0;
        let env = 0.75 + 0.25 * (t * tau * 1.3).sin();
        let f = 310.0 + 40.0 * (t * tau * 0.7).sin();
        let s = (t * tau * f).sin() + 0.6 * (t * tau * 770.0).sin();
        w.write_sample((s * env * 9_000.0) as i16)
            .expect("write test WAV");
    }
    w.finalize().expect("finish test WAV");
}

/// The longest run of near-silent 10 ms frames in `x`, in ms.
fn longest_gap_ms(x: &[f64]) -> usize {
    let (mut run, mut longest) = (0, 0);
    for frame in x.chunks_exact(80) {
        if rms(frame) < 200.0 {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest * 10
}

/// An OPTIONS from `from` to `to`, `n` making its branch and Call-ID unique.
fn options(from: std::net::SocketAddr, to: &str, n: u32) -> String {
    format!(
        "OPTIONS sip:bob@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-flood-{n}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:flood@{from}>;tag=f{n}\r\n\
         To: <sip:bob@{to}>\r\n\
         Call-ID: flood-{n}@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn a_flood_of_options_does_not_take_the_agent_down() {
    const FLOOD: u32 = 50_000;
    const FLOOD_SECS: f64 = 10.0;
    let dir = temp_dir("hostile-flood");
    let (voice, said_path, heard_path) = (
        dir.join("voice.wav"),
        dir.join("said.wav"),
        dir.join("heard.wav"),
    );
    write_test_voice(&voice, 8000, 40.0, 1);
    write_steady_voice(&said_path, 40.0);
    let (voice_arg, said_arg, heard_arg) = (arg(&voice), arg(&said_path), arg(&heard_path));
    let (mut bob, bind) = Agent::listening(
        "bob",
        &[
            "--auto-answer",
            "--mic",
            &voice_arg,
            "--speaker",
            &heard_arg,
            "--codecs",
            "pcmu",
        ],
    );
    let uri = format!("sip:bob@{bind}");
    let mut alice = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--user",
        "alice",
        "--codecs",
        "pcmu",
        "--mic",
        &said_arg,
        "call",
        &uri,
    ]);
    let mic_start = ts_of(&alice.wait_for("media_started", WAIT), "mic_start");
    let speaker_start = ts_of(&bob.wait_for("media_started", WAIT), "speaker_start");
    let calm_from = (wall_now(), proc_usage(bob.pid()));
    sleep_until_wall(mic_start + 3.0);
    let before = proc_usage(bob.pid());
    let calm_cpu = (before.cpu_secs - calm_from.1.cpu_secs) / (wall_now() - calm_from.0);

    // The flood: fresh OPTIONS (each a new transaction), 5000 a second,
    // from a socket whose answers another thread drains and counts.
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let me = sock.local_addr().expect("addr");
    let drain = sock.try_clone().expect("clone socket");
    drain
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let stop = Arc::new(AtomicBool::new(false));
    let stop_drain = stop.clone();
    let drainer = std::thread::spawn(move || {
        let (mut ok, mut other) = (0u64, 0u64);
        let until = Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 4096];
        while Instant::now() < until {
            match drain.recv_from(&mut buf) {
                Ok((n, _)) => match status_and_call_id(buf.get(..n).unwrap_or(&[])) {
                    Some((200, _)) => ok += 1,
                    _ => other += 1,
                },
                Err(_) if stop_drain.load(Ordering::SeqCst) => break,
                Err(_) => {}
            }
        }
        (ok, other)
    });
    let target = bind.clone();
    let flood_start = wall_now();
    let flooder = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sent = 0u32;
        for n in 0..FLOOD {
            if n % 50 == 0 {
                let due =
                    start + Duration::from_secs_f64(FLOOD_SECS * f64::from(n) / f64::from(FLOOD));
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if start.elapsed() > Duration::from_secs_f64(FLOOD_SECS * 3.0) {
                    break; // bounded even if sending stalls
                }
            }
            if sock
                .send_to(options(me, &target, n).as_bytes(), &target)
                .is_ok()
            {
                sent += 1;
            }
        }
        (sent, wall_now())
    });

    // Two seconds into the flood another caller gets through.
    sleep_until_wall(flood_start + 2.0);
    let mut carol = Agent::calling("carol", &uri);
    let carol_up = carol.wait_for("established", WAIT);
    // The agent's size through the flood, a second apart (bounded: the
    // flood thread gives up after three times its span).
    let mut rss_series = vec![before.rss_kb];
    while !flooder.is_finished() {
        std::thread::sleep(Duration::from_secs(1));
        rss_series.push(proc_usage(bob.pid()).rss_kb);
    }
    let (sent, flood_end) = flooder.join().expect("flood thread");
    let after = proc_usage(bob.pid());
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let (answered, other) = drainer.join().expect("drain thread");

    carol.command("hangup");
    carol.wait_for("ended", WAIT);
    alice.command("hangup");
    alice.wait_for("ended", WAIT);
    let first = bob.event_of("ended", 1);
    bob.event_of("ended", 2);

    let said = read_wav_8k(&said_path);
    let got = read_wav_8k(&heard_path);
    let window = |from: f64, to: f64| {
        let (a, b) = (sample_at(speaker_start, from), sample_at(speaker_start, to));
        got.get(a.min(got.len())..b.min(got.len())).unwrap_or(&[])
    };
    let calm = longest_gap_ms(window(mic_start + 1.0, flood_start));
    let flood_window = window(flood_start, flood_end + 0.5);
    let gap = longest_gap_ms(flood_window);
    let heard = heard_windows(
        &said,
        sample_at(mic_start, flood_start)..sample_at(mic_start, flood_end),
        &got,
        0..8000,
        0.9,
    );
    let growth_kb = after.rss_kb.saturating_sub(before.rss_kb);
    eprintln!(
        "OPTIONS flood: {sent} sent in {:.1} s, {answered} answered 200, {other} other answers; \
         agent RSS {} kB before, {} kB after (+{growth_kb} kB), peak {} kB; \
         RSS each second from the flood's start {rss_series:?} kB; CPU {:.2} s/s during the flood, {calm_cpu:.2} s/s before it; longest gap heard {gap} ms during the flood \
         ({} ms judged), {calm} ms before it; second call established {:.2} s into the flood; first call's stats {}; {heard}",
        flood_end - flood_start,
        before.rss_kb,
        after.rss_kb,
        after.peak_kb,
        (after.cpu_secs - before.cpu_secs) / (flood_end - flood_start),
        flood_window.len() / 8,
        ts(&carol_up) - flood_start,
        first["stats"],
    );
    assert!(answered > 0, "the flood reached the agent");
    assert!(
        ts(&carol_up) <= flood_end,
        "the second call was established during the flood"
    );
    assert!(
        growth_kb < 20 * 1024,
        "the agent grew by {growth_kb} kB under the flood"
    );
    assert!(
        flood_window.len() >= (flood_end - flood_start) as usize * 8000,
        "the speaker file covers the flood: {} samples",
        flood_window.len()
    );
    assert!(
        gap <= 60,
        "a {gap} ms gap in what bob heard during the flood"
    );
    // Not just sound: what bob heard is alice, as cleanly as on a quiet
    // line (the media pumps have their own thread: a SIP flood on the
    // engine's thread does not delay a frame).
    heard.assert_heard("what bob heard of alice during the flood");
}
