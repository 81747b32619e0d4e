//! `switchboard-cli` — the headless user agent.
//!
//! Automation, load tests and quality measurements drive Switchboard through
//! this binary; its flags, stdin commands and `--events` JSON lines are a
//! stable contract (see `docs/cli.md`). It runs the same engine as the desktop.

#![forbid(unsafe_code)]

use switchboard_desk::config;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use switchboard_engine::settings::{Role, Settings};
use switchboard_engine::{
    AccountConfig, Command, Engine, EngineConfig, EngineEvent, events::EventKind,
};
use tokio::io::AsyncBufReadExt;

/// Switchboard's headless SIP user agent.
///
/// Calls carry real audio (Opus, PCMU, PCMA; RFC 4733 DTMF). Without --mic
/// and --speaker the sound card is used (the system default, or
/// --mic-device/--speaker-device); --no-devices runs with no sound card.
#[derive(Debug, Parser)]
#[command(name = "switchboard-cli", version)]
struct Cli {
    /// TOML configuration (same schema as the desktop).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Local SIP address for UDP and TCP.
    #[arg(long, global = true)]
    bind: Option<SocketAddr>,
    /// Local user part (requests for other users are answered 404).
    #[arg(long, global = true)]
    user: Option<String>,
    /// Display name in From.
    #[arg(long, global = true)]
    display_name: Option<String>,
    /// Register at this registrar URI (password from SWITCHBOARD_PASSWORD).
    #[arg(long, global = true)]
    registrar: Option<String>,
    /// Auth user name for the registrar.
    #[arg(long, global = true)]
    username: Option<String>,
    /// Only answer digest challenges for this realm (default: the registrar's host).
    #[arg(long, global = true)]
    realm: Option<String>,
    /// Registration lifetime in seconds.
    #[arg(long, global = true)]
    expires: Option<u32>,
    /// Codec preference order, e.g. opus,pcmu,pcma.
    #[arg(long, global = true)]
    codecs: Option<String>,
    /// WAV file as microphone, played in real time (a call placed with it
    /// hangs up when the file ends).
    #[arg(long, global = true)]
    mic: Option<PathBuf>,
    /// Microphone device (part of its name; default: the system input).
    #[arg(long, global = true)]
    mic_device: Option<String>,
    /// Speaker device (part of its name; default: the system output).
    #[arg(long, global = true)]
    speaker_device: Option<String>,
    /// Emit `levels` events (microphone and speaker RMS) every 100 ms and
    /// `quality` events (statistics and a MOS estimate) every 2 s.
    #[arg(long, global = true)]
    levels: bool,
    /// Use no sound card (load generation; also SWITCHBOARD_AUDIO=none):
    /// sides without a file are silent or discarded.
    #[arg(long, global = true)]
    no_devices: bool,
    /// WAV file that records what the speaker plays (16-bit mono at the codec rate).
    #[arg(long, global = true)]
    speaker: Option<PathBuf>,
    /// Leave after this many seconds (listen: also ends a call that is up).
    #[arg(long, global = true, value_parser = seconds)]
    duration: Option<Duration>,
    /// One JSON object per line on stdout for every event; stdin takes commands.
    #[arg(long, global = true)]
    events: bool,
    /// When a peer asks us to call someone else (REFER): accept, ask or
    /// reject. Reject by default: a caller's REFER would dial through the
    /// PBX on this account's credentials.
    #[arg(long, global = true, default_value = "reject")]
    transfer_policy: String,
    /// A transfer target a peer may send us to, as a pattern (`*`, `?`):
    /// `sip:*@pbx.example.com` (repeatable; none: any).
    #[arg(long = "transfer-allow", global = true)]
    transfer_allow: Vec<String>,
    /// An address or block that may send new calls (repeatable); others
    /// get 403 and never ring. None: from anywhere.
    #[arg(long = "trusted-source", global = true)]
    trusted_sources: Vec<String>,
    /// Seconds an unanswered call rings before it is refused with 480 (60; 0: never).
    #[arg(long, global = true)]
    ring_timeout: Option<f64>,
    /// Seconds without RTP on an established, unheld call before a
    /// `media_timeout` warning (30); the call is hung up at twice that (0: never).
    #[arg(long, global = true)]
    rtp_timeout: Option<f64>,
    /// Base of the registration retry back-off in seconds (30).
    #[arg(long, global = true)]
    register_retry: Option<f64>,
    /// CA certificates (PEM) trusted for SIP over TLS besides the system's.
    #[arg(long, global = true)]
    tls_ca_file: Option<PathBuf>,
    /// The DNS server for SIP names (NAPTR, SRV, A/AAAA); default: the system's.
    #[arg(long, global = true)]
    dns_server: Option<SocketAddr>,
    /// Encrypted sound (SRTP, keyed only over TLS): off, optional or mandatory.
    #[arg(long, global = true)]
    srtp: Option<String>,
    /// Our certificate chain (PEM): serve SIP over TLS on our SIP port.
    #[arg(long, global = true)]
    tls_certificate: Option<PathBuf>,
    /// The private key (PEM) of --tls-certificate.
    #[arg(long, global = true)]
    tls_key: Option<PathBuf>,
    /// Answering, placing or resuming a call holds the one in progress (an
    /// operator's one call in hand). Off by default: every call stays live.
    #[arg(long, global = true)]
    hold_others: bool,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Wait for calls.
    Listen {
        /// Answer every call.
        #[arg(long)]
        auto_answer: bool,
        /// Answer after this many milliseconds (implies --auto-answer).
        #[arg(long)]
        answer_after: Option<u64>,
        /// Most calls at once; more are answered 486 Busy Here.
        #[arg(long)]
        max_calls: Option<usize>,
    },
    /// Call a SIP URI.
    Call {
        /// Target, e.g. sip:bob@127.0.0.1:5070.
        uri: String,
        /// DTMF keys to send (RFC 4733) once audio flows.
        #[arg(long)]
        dtmf: Option<String>,
        /// Extra INVITE header, "Name: value" (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
    },
    /// Register and stay registered until --duration or a signal.
    Register,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("switchboard-cli: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// The engine's configuration: the file's sections under the flags, the
/// headless defaults for the rest (one step shared with the desktop:
/// `switchboard_engine::settings`).
fn engine_config(cli: &Cli) -> Result<EngineConfig, String> {
    let file = match &cli.config {
        Some(p) => config::load(p)?,
        None => config::File::default(),
    };
    let sip = file.sip.unwrap_or_default();
    let audio = file.audio.unwrap_or_default();
    let desk = file.desk.unwrap_or_default();
    let file_account = file.account.unwrap_or_default();
    let account = match cli.registrar.clone().or(file_account.registrar) {
        Some(registrar) => {
            let username = cli
                .username
                .clone()
                .or(file_account.username)
                .ok_or("--registrar needs --username (or account.username in the config)")?;
            let password = std::env::var("SWITCHBOARD_PASSWORD")
                .map_err(|_| "registering needs the password in SWITCHBOARD_PASSWORD")?;
            Some(AccountConfig {
                registrar,
                username,
                password,
                realm: cli.realm.clone().or(file_account.realm),
                expires: cli.expires.or(file_account.expires).unwrap_or(600),
            })
        }
        None => None,
    };
    let listen_limit = match &cli.mode {
        Mode::Listen { max_calls, .. } => *max_calls,
        _ => None,
    };
    let settings = Settings {
        bind: cli.bind.or(sip.bind),
        user: cli.user.clone().or(sip.user),
        display_name: cli.display_name.clone().or(sip.display_name),
        max_calls: listen_limit.or(sip.max_calls),
        busy_status: desk.busy_status,
        codecs: match &cli.codecs {
            Some(list) => Some(list.split(',').map(str::to_owned).collect()),
            None => audio.codecs,
        },
        mic: cli.mic.clone().or(audio.mic),
        speaker: cli.speaker.clone().or(audio.speaker),
        input_device: cli.mic_device.clone().or(audio.input_device),
        output_device: cli.speaker_device.clone().or(audio.output_device),
        ringer_device: None,
        no_devices: cli.no_devices
            || std::env::var("SWITCHBOARD_AUDIO").is_ok_and(|v| v.eq_ignore_ascii_case("none")),
        transfer_policy: Some(cli.transfer_policy.clone()),
        hold_others: cli.hold_others.then_some(true),
        levels: Some(cli.levels),
        account,
        trusted_sources: if cli.trusted_sources.is_empty() {
            sip.trusted_sources
        } else {
            Some(cli.trusted_sources.clone())
        },
        trust_registrar: sip.trust_registrar,
        ring_timeout_s: cli.ring_timeout.or(sip.ring_timeout),
        rtp_timeout_s: cli.rtp_timeout.or(sip.rtp_timeout),
        transfer_allow: if cli.transfer_allow.is_empty() {
            desk.transfer_allow
        } else {
            Some(cli.transfer_allow.clone())
        },
        register_retry_s: cli.register_retry.or(file_account.retry_base),
        tls_ca_file: cli.tls_ca_file.clone().or(sip.tls_ca_file),
        dns_server: cli.dns_server.or(sip.dns_server),
        srtp: cli.srtp.clone().or(file_account.srtp.clone()),
        tls_certificate: cli.tls_certificate.clone().or(sip.tls_certificate.clone()),
        tls_key: cli.tls_key.clone().or(sip.tls_key.clone()),
    };
    let (mut config, errors) = settings.engine_config(Role::Headless);
    if let Some(e) = errors.first() {
        // Named as the user gave it: the flag, or the file's key.
        let key = match e.key {
            "audio.codecs" if cli.codecs.is_some() => "--codecs",
            "desk.transfer_policy" => "--transfer-policy",
            "sip.trusted_sources" if !cli.trusted_sources.is_empty() => "--trusted-source",
            "sip.ring_timeout" if cli.ring_timeout.is_some() => "--ring-timeout",
            "sip.rtp_timeout" if cli.rtp_timeout.is_some() => "--rtp-timeout",
            "account.retry_base" if cli.register_retry.is_some() => "--register-retry",
            "account.srtp" if cli.srtp.is_some() => "--srtp",
            other => other,
        };
        return Err(format!("{key}: {}", e.message));
    }
    if let Some(m) = &config.mic {
        // Fail now with a clear reason rather than when a call is up.
        switchboard_audio::wav::WavSource::open(m, 8000).map_err(|e| format!("--mic {e}"))?;
    }
    // A call placed with a file microphone ends with the file.
    config.policy.hang_up_when_mic_ends = true;
    // Without auto-answer a person answers: a call offered while another is
    // up beeps in it.
    config.policy.call_waiting_tone = match &cli.mode {
        Mode::Listen {
            auto_answer,
            answer_after,
            ..
        } => !*auto_answer && answer_after.is_none(),
        _ => true,
    };
    Ok(config)
}

/// A number of seconds as a flag value (`--duration 2.5`): a bad one is a
/// usage error, not a panic when the deadline is computed.
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| "seconds must be 0 or more, and less than 10^19".to_owned())
}

/// One line on standard output; false when it is closed (a broken pipe),
/// which `println!` would turn into a panic.
fn say(line: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|h| {
            let (n, v) = h
                .split_once(':')
                .ok_or_else(|| format!("--header {h:?} is not \"Name: value\""))?;
            let n = n.trim();
            if n.is_empty() || n.contains(char::is_whitespace) || v.contains(['\r', '\n']) {
                return Err(format!("--header {h:?} is not a valid header"));
            }
            Ok((n.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

fn describe(e: &EngineEvent) -> String {
    match &e.kind {
        EventKind::Listening { address } => format!("listening on {address}"),
        EventKind::Registered { expires } => format!("registered for {expires} s"),
        EventKind::RegistrationFailed {
            status,
            reason,
            retry_in_s,
        } => {
            format!(
                "registration failed ({}): {reason}{}",
                status.map(|s| s.to_string()).unwrap_or("-".into()),
                retry_in_s
                    .map(|s| format!("; retrying in {s} s"))
                    .unwrap_or_default()
            )
        }
        EventKind::Incoming { call, from, .. } => format!("call {call}: incoming from {from}"),
        EventKind::Calling { call, target, .. } => format!("call {call}: calling {target}"),
        EventKind::Ringing { call, status } => format!("call {call}: ringing ({status})"),
        EventKind::Established { call, .. } => format!("call {call}: established"),
        EventKind::Ended {
            call,
            reason,
            status,
            ..
        } => format!(
            "call {call}: ended, {reason}{}",
            status.map(|s| format!(" ({s})")).unwrap_or_default()
        ),
        _ => e.to_json(),
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let config = engine_config(&cli)?;
    let extra_headers = match &cli.mode {
        Mode::Call { headers, .. } => parse_headers(headers)?,
        _ => Vec::new(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start runtime: {e}"))?;
    let outcome = rt.block_on(drive(cli, config, extra_headers));
    // The stdin reader sits in a blocking thread that would hold the runtime open.
    rt.shutdown_background();
    outcome
}

async fn drive(
    cli: Cli,
    config: EngineConfig,
    extra_headers: Vec<(String, String)>,
) -> Result<(), String> {
    let registering = config.account.is_some();
    let (engine, mut events) = Engine::start(config).map_err(|e| e.to_string())?;
    let commands = engine.commander();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = cli.events;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
    let deadline = cli.duration.map(|d| tokio::time::Instant::now() + d);
    let far = tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let answer_after = match &cli.mode {
        Mode::Listen {
            auto_answer,
            answer_after,
            ..
        } if *auto_answer || answer_after.is_some() => Some(answer_after.unwrap_or(0)),
        _ => None,
    };
    if let Mode::Call { uri, .. } = &cli.mode
        && !registering
    {
        commands
            .send(Command::Call {
                target: uri.clone(),
                headers: extra_headers.clone(),
            })
            .await
            .map_err(|_| "engine stopped")?;
    }
    let mut outcome: Result<(), String> = Ok(());
    let mut call_placed = matches!(cli.mode, Mode::Call { .. }) && !registering;
    let mut established_once = false;
    let mut shutting_down = false;
    loop {
        tokio::select! {
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                let line = if cli.events { ev.to_json() } else { describe(&ev) };
                if !say(&line) && !shutting_down {
                    // Whoever read our events is gone (a closed pipe): hang
                    // up, unregister and leave, rather than die mid-call.
                    outcome = Err("standard output closed; calls hung up".to_owned());
                    let _ = commands.send(Command::Shutdown).await;
                    shutting_down = true;
                }
                match &ev.kind {
                    EventKind::Registered { .. } => {
                        if let Mode::Call { uri, .. } = &cli.mode && !call_placed {
                            call_placed = true;
                            let _ = commands.send(Command::Call { target: uri.clone(), headers: extra_headers.clone() }).await;
                        }
                    }
                    // A call waits for its registration; it gives up on
                    // the first failure. An agent that listens or stays
                    // registered keeps trying (the engine retries).
                    EventKind::RegistrationFailed { status, reason, .. }
                        if matches!(cli.mode, Mode::Call { .. }) && !call_placed =>
                    {
                        outcome = Err(format!("registration failed ({}): {reason}", status.map(|s| s.to_string()).unwrap_or("no answer".into())));
                        let _ = commands.send(Command::Shutdown).await;
                        shutting_down = true;
                    }
                    EventKind::Incoming { call, .. } => {
                        if let Some(ms) = answer_after {
                            let c = commands.clone();
                            let call = *call;
                            tokio::spawn(async move {
                                tokio::time::sleep(Duration::from_millis(ms)).await;
                                let _ = c.send(Command::Answer { call }).await;
                            });
                        }
                    }
                    EventKind::Established { .. } => established_once = true,
                    EventKind::MediaStarted { call, .. } => {
                        if let Mode::Call { dtmf: Some(keys), .. } = &cli.mode {
                            let _ = commands.send(Command::Dtmf { call: *call, digits: keys.clone() }).await;
                        }
                    }
                    // A transferred caller goes on with its new call: done
                    // when no call is left.
                    EventKind::Ended { reason, status, calls_left: 0, .. }
                        if matches!(cli.mode, Mode::Call { .. }) && !shutting_down =>
                    {
                        if !established_once {
                            outcome = Err(format!("call failed: {reason}{}", status.map(|s| format!(" ({s})")).unwrap_or_default()));
                        }
                        let _ = commands.send(Command::Shutdown).await;
                        shutting_down = true;
                    }
                    EventKind::CommandFailed { command, error } if command.starts_with("call ") => {
                        outcome = Err(format!("{command}: {error}"));
                        let _ = commands.send(Command::Shutdown).await;
                        shutting_down = true;
                    }
                    EventKind::Stopped => break,
                    _ => {}
                }
            }
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(line)) if !line.trim().is_empty() => {
                    let _ = commands.send(Command::Line(line)).await;
                }
                Ok(Some(_)) => {}
                _ => stdin_open = false,
            },
            _ = tokio::signal::ctrl_c() => {
                let _ = commands.send(Command::Shutdown).await;
                shutting_down = true;
            }
            _ = sigterm.recv() => {
                let _ = commands.send(Command::Shutdown).await;
                shutting_down = true;
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or(far)), if deadline.is_some() && !shutting_down => {
                let _ = commands.send(Command::Shutdown).await;
                shutting_down = true;
            }
        }
    }
    engine.join();
    outcome
}
