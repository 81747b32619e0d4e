//! The sound card goes away in the middle of a call (here: a PulseAudio
//! server dies and comes back, as when a USB headset is unplugged and the
//! system falls back to another output). The call must go on, the engine must
//! reopen the default device and say so, and the call must then be heard on
//! the device that came back.
//!
//! The sound server is the test's own — its own runtime directory, socket and
//! null sink under a temporary directory, the desk pointed at it through its
//! environment (`PULSE_SERVER`) — so the one the user (or the other audio
//! tests) use is never touched. It is stopped by its PID (SIGTERM, then
//! SIGKILL) when the test ends, also when it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use switchboard_interop::{
    Agent, Capture, Guard, WINDOW, heard_windows, read_wav_8k, sample_at, temp_dir,
    write_test_signal,
};

const WAIT: Duration = Duration::from_secs(10);

/// A PulseAudio daemon of the test's own with a null sink
/// (`switchboard_null`, like `scripts/headless-audio.sh` sets up), listening
/// on a socket in `dir`; stopped when dropped.
struct OwnPulse {
    dir: PathBuf,
    daemon: Option<Guard>,
    starts: u32,
}

impl OwnPulse {
    fn start(dir: &Path) -> OwnPulse {
        let mut p = OwnPulse {
            dir: dir.to_owned(),
            daemon: None,
            starts: 0,
        };
        p.up();
        p
    }

    fn runtime(&self) -> PathBuf {
        self.dir.join("runtime")
    }

    fn socket(&self) -> PathBuf {
        self.runtime().join("native")
    }

    /// `PULSE_SERVER`: where its clients connect.
    fn server(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    /// The environment that points a client at this server (and only it).
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("PULSE_SERVER".into(), self.server()),
            (
                "XDG_RUNTIME_DIR".into(),
                self.runtime().to_string_lossy().into_owned(),
            ),
        ]
    }

    /// (Re)starts the daemon on the same socket and waits until it answers.
    fn up(&mut self) {
        assert!(self.daemon.is_none(), "already running");
        self.starts += 1;
        let runtime = self.runtime();
        for d in [&runtime, &self.dir.join("home"), &self.dir.join("config")] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        }
        let log = self.dir.join(format!("pulse-{}.log", self.starts));
        let mut cmd = Command::new("pulseaudio");
        cmd.args([
            "-n",
            "--daemonize=no",
            "--use-pid-file=no",
            "--exit-idle-time=-1",
            "--disallow-exit=yes",
            "--disable-shm=yes",
        ])
        .arg(format!("--log-target=file:{}", log.display()))
        .arg("-L")
        .arg(format!(
            "module-native-protocol-unix auth-anonymous=1 socket={}",
            self.socket().display()
        ))
        .args([
            "-L",
            "module-null-sink sink_name=switchboard_null rate=48000 channels=2",
            "-L",
            "module-always-sink",
        ])
        // Nothing of the user's: runtime, state and configuration of its own.
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", self.dir.join("home"))
        .env("XDG_CONFIG_HOME", self.dir.join("config"))
        .env_remove("PULSE_SERVER")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        let mut daemon = Guard::spawn(&mut cmd, "pulseaudio");
        let until = Instant::now() + WAIT;
        while !self.answers() {
            let died = matches!(daemon.0.try_wait(), Ok(Some(_)));
            assert!(
                !died && Instant::now() < until,
                "the test's PulseAudio did not come up ({}): {}",
                if died {
                    "it exited"
                } else {
                    "no answer in 10 s"
                },
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.daemon = Some(daemon);
    }

    /// Stops the daemon (its PID: SIGTERM, a grace period, SIGKILL).
    fn down(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.stop();
        }
    }

    fn pactl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("pactl")
            .arg(format!("--server={}", self.server()))
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn answers(&self) -> bool {
        self.pactl(&["info"]).is_some()
    }

    /// How many streams play on it now.
    fn playback_streams(&self) -> usize {
        self.pactl(&["list", "short", "sink-inputs"])
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// Waits until something plays on it (bounded).
    fn wait_playing(&self, what: &str) {
        let until = Instant::now() + WAIT;
        while self.playback_streams() == 0 {
            assert!(
                Instant::now() < until,
                "{what}: nothing plays on the test's PulseAudio"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OwnPulse {
    fn drop(&mut self) {
        self.down();
    }
}

/// Whether PulseAudio can be run here; says loudly that the test is
/// skipped if not — and fails instead when the test command promised sound
/// (`SWITCHBOARD_REQUIRE_AUDIO`).
fn pulseaudio_or_skip() -> bool {
    let found = |p: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).exists()))
    };
    if found("pulseaudio") && found("pactl") && found("parec") {
        return true;
    }
    assert!(
        std::env::var_os("SWITCHBOARD_REQUIRE_AUDIO").is_none(),
        "pulseaudio, pactl and parec are needed (scripts/install-deps.sh test installs them)"
    );
    eprintln!("\n*** SKIPPED: no PulseAudio installed ***\n");
    false
}

#[test]
fn a_lost_sound_card_is_replaced_by_the_default_and_the_call_goes_on() {
    if !pulseaudio_or_skip() {
        return;
    }
    let dir = temp_dir("device-loss");
    let mut pulse = OwnPulse::start(&dir.join("pulse"));
    let env = pulse.env();
    let mic = dir.join("said.wav");
    // Longer than the test takes: the caller hangs up when told.
    write_test_signal(&mic, 8_000, 30.0);
    let mut desk_env: Vec<(&str, &str)> = vec![("SWITCHBOARD_AUDIO", "device")];
    desk_env.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut desk = Agent::start_with_env(
        &[
            "--bind",
            "127.0.0.1:0",
            "--user",
            "desk",
            "listen",
            "--auto-answer",
        ],
        &desk_env,
    );
    let address = desk.wait_listening();
    let mic_arg = mic.to_string_lossy().into_owned();
    let mut caller = Agent::start(&[
        "--bind",
        "127.0.0.1:0",
        "--codecs",
        "pcmu",
        "--mic",
        &mic_arg,
        "call",
        &format!("sip:desk@{address}"),
    ]);
    let said_from = caller.wait_for("media_started", WAIT)["mic_start"]
        .as_f64()
        .unwrap();
    let started = desk.wait_for("media_started", WAIT)["ts"].as_f64().unwrap();
    // The call plays on the test's sound server.
    pulse.wait_playing("the call");
    // Pull the card: the server goes; the desk says so while it is gone …
    pulse.down();
    let lost = desk.wait_for("audio_device", WAIT);
    let message = lost["message"].as_str().unwrap_or("");
    assert!(
        message.contains("failed; switching to the default"),
        "{lost}"
    );
    // … and takes the default device once there is one again.
    pulse.up();
    let back = desk.wait_for("audio_device", Duration::from_secs(20));
    let message = back["message"].as_str().unwrap_or("");
    assert!(message.contains("now using"), "{back}");
    pulse.wait_playing("the call after the card came back");

    // The call is heard on the card that came back: five seconds of its
    // monitor hold what the caller said meanwhile. (The caller's file plays
    // in real time from `said_from`; what it said from half a second into
    // the recording on is looked for up to two seconds later in it, for the
    // way through the desk and the card.)
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let card = Capture::start("switchboard_null.monitor", &env_ref);
    let base = sample_at(said_from, card.started_at()) + 4000;
    card.wait_len(5 * 8000);
    let got = card.stop();
    let said = read_wav_8k(&mic);
    let said = said.get(base..).unwrap_or(&[]);
    let heard = heard_windows(said, WINDOW..got.len() - 12_000, &got, 0..16_000, 0.8);
    eprintln!("after the card came back: {heard}");
    heard.assert_heard_through_a_sound_card("the call on the card that came back");

    // The call went on all along; it ends when the caller hangs up.
    caller.command("hangup");
    let ended = caller.wait_for("ended", WAIT);
    assert_eq!(ended["reason"], "local_hangup", "{ended}");
    let desk_ended = desk.wait_for("ended", WAIT);
    assert_eq!(desk_ended["reason"], "remote_hangup");
    let secs = desk_ended["ts"].as_f64().unwrap() - started;
    let packets = desk_ended["stats"]["packets_received"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        packets as f64 >= 40.0 * secs,
        "50 packets a second for the {secs:.1} s of the call, card or no card: {desk_ended}"
    );
    drop(pulse);
}
