//! baresip 1.0 (driven through its ctrl_tcp socket) calling switchboard-cli and
//! being called by it on loopback: answer, hang up from each side, cancel, decline.

use std::time::Duration;

use switchboard_interop::{Agent, Baresip};

const WAIT: Duration = Duration::from_secs(10);

/// A CLI listening for calls to `agent` on loopback (answered by stdin command).
fn listener() -> (Agent, String) {
    let (agent, bind) = Agent::listening("agent", &[]);
    (agent, format!("sip:agent@{bind}"))
}

/// A CLI placing a call to `target` (from a loopback port of the kernel's choice).
fn caller(target: &str) -> Agent {
    Agent::calling("agent", target)
}

#[test]
fn baresip_calls_we_answer_and_baresip_hangs_up() {
    let (mut agent, uri) = listener();
    let mut bs = Baresip::start("bs-in-remote-bye", "alice");
    bs.command("dial", &uri);
    let inc = agent.wait_for("incoming", WAIT);
    assert!(
        inc["from"].as_str().unwrap_or("").contains("alice"),
        "caller shown: {inc}"
    );
    bs.wait_event("CALL_RINGING", WAIT);
    agent.command("answer");
    let est = agent.wait_for("established", WAIT);
    assert_eq!(est["outgoing"], false);
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    bs.command("hangup", "");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    bs.wait_event("CALL_CLOSED", WAIT);
}

#[test]
fn baresip_calls_we_answer_and_we_hang_up() {
    let (mut agent, uri) = listener();
    let mut bs = Baresip::start("bs-in-local-bye", "alice");
    bs.command("dial", &uri);
    agent.wait_for("incoming", WAIT);
    agent.command("answer");
    agent.wait_for("established", WAIT);
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    agent.command("hangup");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    let closed = bs.wait_event("CALL_CLOSED", WAIT);
    assert!(
        closed["param"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("connection reset by peer")
            || closed["param"].as_str().unwrap_or("").contains("BYE"),
        "baresip should see the remote BYE: {closed}"
    );
}

#[test]
fn baresip_cancels_before_we_answer() {
    let (mut agent, uri) = listener();
    let mut bs = Baresip::start("bs-in-cancel", "alice");
    bs.command("dial", &uri);
    agent.wait_for("incoming", WAIT);
    bs.wait_event("CALL_RINGING", WAIT);
    bs.command("hangup", "");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "remote_cancelled", "{ended}");
    bs.wait_event("CALL_CLOSED", WAIT);
    assert_eq!(agent.count("established"), 0);
}

#[test]
fn we_decline_a_baresip_call() {
    let (mut agent, uri) = listener();
    let mut bs = Baresip::start("bs-in-decline", "alice");
    bs.command("dial", &uri);
    agent.wait_for("incoming", WAIT);
    agent.command("reject");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "declined", "{ended}");
    let closed = bs.wait_event("CALL_CLOSED", WAIT);
    assert!(
        closed["param"].as_str().unwrap_or("").contains("603"),
        "baresip should see 603 Decline: {closed}"
    );
}

#[test]
fn we_call_baresip_it_answers_and_hangs_up() {
    let mut bs = Baresip::start("bs-out-remote-bye", "bob");
    let mut agent = caller(&bs.uri());
    let inc = bs.wait_event("CALL_INCOMING", WAIT);
    assert!(
        inc["peeruri"].as_str().unwrap_or("").contains("agent"),
        "baresip sees who calls: {inc}"
    );
    agent.wait_for("ringing", WAIT);
    bs.command("accept", "");
    let est = agent.wait_for("established", WAIT);
    assert_eq!(est["outgoing"], true);
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    bs.command("hangup", "");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "remote_hangup", "{ended}");
    assert_eq!(agent.wait_exit(WAIT), 0, "a completed call exits 0");
}

#[test]
fn we_call_baresip_and_hang_up() {
    let mut bs = Baresip::start("bs-out-local-bye", "bob");
    let mut agent = caller(&bs.uri());
    bs.wait_event("CALL_INCOMING", WAIT);
    bs.command("accept", "");
    agent.wait_for("established", WAIT);
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    agent.command("hangup");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    bs.wait_event("CALL_CLOSED", WAIT);
    assert_eq!(agent.wait_exit(WAIT), 0);
}

#[test]
fn we_cancel_a_call_baresip_has_not_answered() {
    let mut bs = Baresip::start("bs-out-cancel", "bob");
    let mut agent = caller(&bs.uri());
    bs.wait_event("CALL_INCOMING", WAIT);
    agent.wait_for("ringing", WAIT);
    agent.command("hangup");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "cancelled", "{ended}");
    bs.wait_event("CALL_CLOSED", WAIT);
    assert_ne!(agent.wait_exit(WAIT), 0, "an unanswered call is a failure");
}

#[test]
fn baresip_declines_our_call() {
    let mut bs = Baresip::start("bs-out-declined", "bob");
    let mut agent = caller(&bs.uri());
    bs.wait_event("CALL_INCOMING", WAIT);
    agent.wait_for("ringing", WAIT);
    bs.command("hangup", "");
    let ended = agent.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "rejected", "{ended}");
    assert!(
        ended["status"].as_u64().is_some_and(|s| s >= 400),
        "a final error status is reported: {ended}"
    );
    assert_ne!(agent.wait_exit(WAIT), 0);
}

#[test]
fn baresip_holds_and_resumes_the_call() {
    let mut bs = Baresip::start("bs-hold", "bob");
    let mut agent = caller(&bs.uri());
    bs.wait_event("CALL_INCOMING", WAIT);
    bs.command("accept", "");
    agent.wait_for("established", WAIT);
    bs.wait_event("CALL_ESTABLISHED", WAIT);
    // baresip's hold is a re-INVITE with a=sendonly: we answer recvonly.
    bs.command("hold", "");
    let held = agent.wait_for("media_updated", WAIT);
    assert_eq!(held["direction"], "recvonly", "{held}");
    bs.command("resume", "");
    let resumed = agent.wait_for("media_updated", WAIT);
    assert_eq!(resumed["direction"], "sendrecv", "{resumed}");
    agent.command("hangup");
    assert_eq!(agent.wait_for("ended", WAIT)["reason"], "local_hangup");
    bs.wait_event("CALL_CLOSED", WAIT);
}

mod audio {
    use std::time::Duration;

    use switchboard_interop::{
        Agent, Baresip, BaresipAudio, WINDOW, find_in, heard_windows, read_finished_wav_8k,
        read_wav_8k, sleep_until_wall, temp_dir, write_test_signal, write_test_signal_channels,
    };

    const WAIT: Duration = Duration::from_secs(10);

    /// How alike a quarter second heard must be to what was said: G.711 and
    /// G.722 give the waveform back (0.99 and more); Opus keeps how it
    /// sounds rather than the waveform (0.7 to 1 on the test signal, where
    /// another test voice or a tone scores under 0.35).
    fn likeness(codec: &str) -> f64 {
        if codec == "opus" { 0.6 } else { 0.85 }
    }

    /// The WAV baresip's sndfile module wrote for the decoded (received) direction.
    fn received_file(dir: &std::path::Path) -> std::path::PathBuf {
        let files: Vec<_> = std::fs::read_dir(dir)
            .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files
            .iter()
            .find(|p| p.to_string_lossy().contains("dec"))
            .cloned()
            .unwrap_or_else(|| panic!("no decoded recording from baresip in {files:?}"))
    }

    fn we_call_baresip(codec: &str, baresip_codecs: &str) {
        let dir = temp_dir(&format!("bs-audio-out-{codec}"));
        let mic = dir.join("said.wav");
        write_test_signal(&mic, 48_000, 4.0);
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).expect("rec dir");
        let mut bs = Baresip::start_with(
            &format!("bs-out-{codec}"),
            "bob",
            &BaresipAudio {
                codecs: Some(baresip_codecs.to_owned()),
                record_dir: Some(rec.clone()),
                ..BaresipAudio::default()
            },
        );
        let mic_arg = mic.to_string_lossy().into_owned();
        let mut agent = Agent::start(&[
            "--bind",
            "127.0.0.1:0",
            "--codecs",
            codec,
            "--mic",
            &mic_arg,
            "call",
            &bs.uri(),
        ]);
        bs.wait_event("CALL_INCOMING", WAIT);
        bs.command("accept", "");
        let started = agent.wait_for("media_started", WAIT);
        assert_eq!(started["codec"], codec);
        // We hang up when the file ends (4 s); baresip then finishes its
        // recording (the WAV header is written as the call is torn down).
        agent.wait_for("ended", Duration::from_secs(20));
        bs.wait_event("CALL_CLOSED", WAIT);
        let said = read_wav_8k(&mic);
        let got = read_finished_wav_8k(&received_file(&rec), WAIT);
        let (lag, corr) = find_in(&said, &got, 4000);
        // Everything but the last quarter second (which the hang-up may cut
        // off), a quarter second at a time.
        let heard = heard_windows(
            &said,
            WINDOW..said.len() - WINDOW,
            &got,
            0..4000,
            likeness(codec),
        );
        eprintln!("to baresip, {codec}: correlation {corr:.3} at lag {lag}; {heard}");
        heard.assert_heard(&format!("{codec}: baresip hears us"));
    }

    fn baresip_calls_us(codec: &str, baresip_codecs: &str) {
        let dir = temp_dir(&format!("bs-audio-in-{codec}"));
        let said = dir.join("said.wav");
        write_test_signal_channels(&said, 48_000, 8.0, 2);
        let heard = dir.join("heard.wav");
        let heard_arg = heard.to_string_lossy().into_owned();
        let (mut agent, bind) = Agent::listening(
            "agent",
            &["--auto-answer", "--codecs", codec, "--speaker", &heard_arg],
        );
        let mut bs = Baresip::start_with(
            &format!("bs-in-{codec}"),
            "alice",
            &BaresipAudio {
                codecs: Some(baresip_codecs.to_owned()),
                source_wav: Some(said.clone()),
                ..BaresipAudio::default()
            },
        );
        bs.command("dial", &format!("sip:agent@{bind}"));
        let started = agent.wait_for("media_started", WAIT);
        assert_eq!(started["codec"], codec);
        // Four and a half seconds of the call, from when our media started.
        sleep_until_wall(started["ts"].as_f64().unwrap() + 4.5);
        bs.command("hangup", "");
        let ended = agent.wait_for("ended", WAIT);
        assert!(
            ended["stats"]["packets_received"].as_u64().unwrap_or(0) > 200,
            "{ended}"
        );
        agent.terminate();
        agent.wait_exit(WAIT);
        let said = read_wav_8k(&said);
        let got = read_wav_8k(&heard);
        let (lag, corr) = find_in(&said, &got, 8000);
        // What the call could carry: what was said up to the end of what we
        // recorded, by the measured lag (but the last quarter second).
        let end = said.len().min(got.len().saturating_sub(lag)) - WINDOW;
        let heard = heard_windows(&said, WINDOW..end, &got, 0..8000, likeness(codec));
        eprintln!("from baresip, {codec}: correlation {corr:.3} at lag {lag}; {heard}");
        heard.assert_heard(&format!("{codec}: we hear baresip"));
    }

    #[test]
    fn pcmu_audio_reaches_baresip() {
        we_call_baresip("pcmu", "PCMU");
    }

    #[test]
    fn opus_audio_reaches_baresip() {
        we_call_baresip("opus", "opus/48000/2");
    }

    #[test]
    fn g722_audio_reaches_baresip() {
        we_call_baresip("g722", "G722");
    }

    #[test]
    fn g722_audio_from_baresip_reaches_us() {
        baresip_calls_us("g722", "G722");
    }

    #[test]
    fn pcmu_audio_from_baresip_reaches_us() {
        baresip_calls_us("pcmu", "PCMU");
    }

    #[test]
    fn opus_audio_from_baresip_reaches_us() {
        baresip_calls_us("opus", "opus/48000/2");
    }
}
