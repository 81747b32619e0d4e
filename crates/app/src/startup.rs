//! Putting the desk together from the command line and the configuration
//! file, as the binary does — here so that tests can do it too, without a
//! window.
//!
//! Nothing found wrong at start stops the desk: a configuration error, a
//! port in use, a missing keyring or an unreachable registrar opens it with
//! the reason in the notice area (and Settings open when the file is wrong).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use switchboard_desk::agent::AgentState;
use switchboard_desk::config::{ConfigError, File, SettingsEdit};
use switchboard_desk::store::Store;
use switchboard_desk::workspace::{NoticeKind, Severity};
use switchboard_engine::settings::{Role, Settings};
use switchboard_engine::{Engine, EngineConfig, EngineEvent, EngineHandle};

use crate::{AccountSettings, DeskApp, DeskConfig, Intent, Wake, practice};

/// A desk and what runs beside it.
#[derive(Debug)]
pub struct Started {
    /// The desk.
    pub desk: DeskApp,
    /// The phone, unless it could not start (the desk says why).
    pub engine: Option<EngineHandle>,
    /// The phone's events.
    pub events: Option<tokio::sync::mpsc::Receiver<EngineEvent>>,
    /// The practice line (`--demo`).
    pub practice: Option<practice::PracticeLine>,
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
}

/// Where the desk keeps its database: `--data-dir DIR`, else
/// `$XDG_DATA_HOME/switchboard` (`~/.local/share/switchboard`).
pub fn data_dir(args: &[String]) -> PathBuf {
    if let Some(d) = flag(args, "--data-dir") {
        return d.into();
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("switchboard")
}

/// The configuration file: `--config FILE`, else
/// `~/.config/switchboard/config.toml` (which need not exist yet: the
/// settings screen creates it). `None` only without a home directory.
pub fn config_path(args: &[String]) -> Option<PathBuf> {
    if let Some(p) = flag(args, "--config") {
        return Some(p.into());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("switchboard/config.toml"))
}

/// The engine's settings: the file's `[sip]`, `[audio]` and `[desk]`
/// sections, `--bind` over them, and the desktop's defaults (127.0.0.1:5060
/// as `agent`, one call in hand, transfer requests asked about) for what is
/// left out — the step the CLI shares (`switchboard_engine::settings`). The
/// account is given later (its password may come from the keyring), so none
/// is set here.
fn engine_config(args: &[String], file: &File) -> (EngineConfig, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let sip = file.sip.as_ref();
    let flag_bind = flag(args, "--bind").and_then(|b| match b.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(e) => {
            errors.push(ConfigError::Value {
                key: "--bind".into(),
                message: format!("{b}: {e}"),
            });
            None
        }
    });
    let audio = file.audio.as_ref();
    let desk = file.desk.as_ref();
    let settings = Settings {
        bind: flag_bind.or(sip.and_then(|s| s.bind)),
        user: sip
            .and_then(|s| s.user.clone())
            .or_else(|| file.account.as_ref().and_then(|a| a.username.clone())),
        display_name: sip.and_then(|s| s.display_name.clone()),
        max_calls: sip.and_then(|s| s.max_calls),
        busy_status: desk.and_then(|d| d.busy_status),
        codecs: audio.and_then(|a| a.codecs.clone()),
        mic: audio.and_then(|a| a.mic.clone()),
        speaker: audio.and_then(|a| a.speaker.clone()),
        input_device: audio.and_then(|a| a.input_device.clone()),
        output_device: audio.and_then(|a| a.output_device.clone()),
        ringer_device: audio.and_then(|a| a.ringer_device.clone()),
        no_devices: args.iter().any(|a| a == "--no-devices"),
        transfer_policy: desk.and_then(|d| d.transfer_policy.clone()),
        hold_others: None,
        levels: None,
        account: None,
        trusted_sources: sip.and_then(|s| s.trusted_sources.clone()),
        trust_registrar: sip.and_then(|s| s.trust_registrar),
        ring_timeout_s: sip.and_then(|s| s.ring_timeout),
        rtp_timeout_s: sip.and_then(|s| s.rtp_timeout),
        transfer_allow: desk.and_then(|d| d.transfer_allow.clone()),
        register_retry_s: file.account.as_ref().and_then(|a| a.retry_base),
        tls_ca_file: sip.and_then(|s| s.tls_ca_file.clone()),
        dns_server: sip.and_then(|s| s.dns_server),
        tls_certificate: sip.and_then(|s| s.tls_certificate.clone()),
        tls_key: sip.and_then(|s| s.tls_key.clone()),
        srtp: file.account.as_ref().and_then(|a| a.srtp.clone()),
    };
    let (config, problems) = settings.engine_config(Role::Desktop);
    errors.extend(problems.into_iter().map(|p| ConfigError::Value {
        key: p.key.into(),
        message: p.message,
    }));
    (config, errors)
}

/// The account to register, if the file has one.
fn account(file: &File) -> Result<Option<AccountSettings>, ConfigError> {
    let Some(a) = file.account.as_ref() else {
        return Ok(None);
    };
    let Some(registrar) = a.registrar.clone() else {
        return Ok(None);
    };
    let username = a.username.clone().ok_or_else(|| ConfigError::Value {
        key: "account.username".into(),
        message: "account.registrar needs account.username".into(),
    })?;
    Ok(Some(AccountSettings {
        registrar,
        username,
        realm: a.realm.clone(),
        expires: a.expires.unwrap_or(600),
    }))
}

fn config_notice(desk: &mut DeskApp, e: &ConfigError) {
    desk.notify(
        "config-error",
        vec![("error", e.to_string())],
        Severity::Error,
    );
}

/// The desk for `args` (the binary's own: `--config`, `--bind`,
/// `--data-dir`, `--demo`, `--no-devices`), its phone and practice line.
/// `wake` wakes the window when background work is done.
pub fn start(args: &[String], wake: Wake) -> Started {
    let demo = args.iter().any(|a| a == "--demo");
    let path = config_path(args);
    let explicit = flag(args, "--config").is_some();
    let mut problems: Vec<ConfigError> = Vec::new();
    let mut file = match &path {
        Some(p) if explicit || p.exists() => match switchboard_desk::config::load(p) {
            Ok(f) => f,
            Err(e) => {
                // The desk opens anyway, with the defaults and the reason.
                problems.push(e);
                File::default()
            }
        },
        _ => File::default(),
    };
    // Relative folders (scripts, knowledge) are beside the configuration file.
    if let Some(base) = path.as_ref().and_then(|p| p.parent())
        && let Some(d) = file.desk.as_mut()
    {
        let folders = [
            d.scripts.as_mut().and_then(|s| s.folder.as_mut()),
            d.knowledge.as_mut().and_then(|k| k.folder.as_mut()),
        ];
        for folder in folders.into_iter().flatten() {
            if folder.is_relative() {
                *folder = base.join(&*folder);
            }
        }
    }
    let current_settings = SettingsEdit::from_file(&file);
    let (config, errors) = engine_config(args, &file);
    problems.extend(errors);
    let account = account(&file).unwrap_or_else(|e| {
        problems.push(e);
        None
    });
    let desk_user = config.user.clone();
    let bind = config.bind;
    let dir = data_dir(args);
    let _ = std::fs::create_dir_all(&dir);
    let (store, store_error) = match Store::open(&dir.join("desk.db")) {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let registrar = account.as_ref().map(|a| a.registrar.clone());
    let (desk_config, lang) = DeskConfig::from_file(file.desk.as_ref(), registrar.as_deref());
    let mut desk = DeskApp::with_wake(desk_config, store, wake.clone());
    desk.set_lang(lang);
    desk.set_settings_file(path, current_settings);
    for p in &problems {
        config_notice(&mut desk, p);
    }
    if let Some(e) = store_error {
        desk.notify_kind(NoticeKind::StoreUnavailable { error: e });
    }
    let (engine, events) = match Engine::start(config) {
        Ok((e, ev)) => (Some(e), Some(ev)),
        Err(e) => {
            desk.notify(
                "engine-failed",
                vec![("error", e.to_string()), ("address", bind.to_string())],
                Severity::Error,
            );
            desk.set_phone_down(e.to_string());
            (None, None)
        }
    };
    match file
        .desk
        .as_ref()
        .and_then(|d| d.crm.as_ref())
        .map(|c| c.build())
    {
        Some(Ok(crm)) => {
            let w = wake.clone();
            match crate::CrmWorker::spawn(crm, Box::new(move || w.wake())) {
                Ok(worker) => desk.set_crm(worker),
                Err(e) => desk.notify("crm-off", vec![("error", e.to_string())], Severity::Warning),
            }
        }
        Some(Err(e)) => config_notice(
            &mut desk,
            &ConfigError::Value {
                key: "desk.crm".into(),
                message: e.to_string(),
            },
        ),
        None => {}
    }
    if let Some(d) = &file.directory {
        desk.set_directory(d);
    }
    desk.set_operator(&desk_user);
    // Before the outbox, which carries the team's copies.
    work_team(&mut desk, &file, &wake);
    work_desk(&mut desk, &file, &dir, &wake);
    work_mail(&mut desk, &file, &desk_user, &wake);
    let practice = match (&engine, demo) {
        (Some(e), true) => match practice::start(
            e.local_addr(),
            &desk_user,
            &dir.join("practice"),
            practice::Pacing::default(),
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                desk.notify("practice-failed", vec![("error", e)], Severity::Warning);
                None
            }
        },
        _ => None,
    };
    if let Some(p) = &practice {
        // Practice callers can be put through to simulated colleagues.
        desk.set_practice(p.extensions.clone());
        // Without forms of its own, the desk practises with the practice
        // line's order and ticket forms, posted to its fulfilment desk.
        if file.desk.as_ref().and_then(|d| d.forms.as_ref()).is_none() {
            desk.set_forms(practice::forms(&p.fulfilment));
        }
    }
    if engine.is_some() {
        // The password: SWITCHBOARD_PASSWORD for headless use, else the keyring.
        desk.set_account(account, std::env::var("SWITCHBOARD_PASSWORD").ok());
    }
    if !problems.is_empty() {
        desk.open_settings();
    }
    // The desk starts available in the demo; otherwise the operator chooses.
    if demo {
        desk.apply(Instant::now(), Intent::SetState(AgentState::Available));
    }
    Started {
        desk,
        engine,
        events,
        practice,
    }
}

/// The knowledge base, the ticket lookups and the outbox, from `[desk]`;
/// what cannot start is a notice, and the rest of the desk works.
fn work_desk(desk: &mut DeskApp, file: &File, dir: &std::path::Path, wake: &Wake) {
    let d = file.desk.as_ref();
    // The knowledge base: the configured folder, else the shipped articles
    // copied into the data folder once.
    let folder = match d
        .and_then(|d| d.knowledge.as_ref())
        .and_then(|k| k.folder.clone())
    {
        Some(f) => f,
        None => {
            let f = dir.join("knowledge");
            if let Err(e) = crate::knowledge_worker::seed(&f) {
                desk.notify(
                    "knowledge-error",
                    vec![("error", format!("{}: {e}", f.display()))],
                    Severity::Warning,
                );
            }
            f
        }
    };
    let w = wake.clone();
    match crate::knowledge_worker::KnowledgeWorker::spawn(
        folder,
        &dir.join("knowledge.db"),
        Box::new(move || w.wake()),
    ) {
        Ok((worker, index)) => desk.set_knowledge(worker, index),
        Err(e) => desk.notify("knowledge-error", vec![("error", e)], Severity::Warning),
    }
    match d.and_then(|d| d.tickets.as_ref()).map(|t| t.build()) {
        Some(Ok(t)) => {
            let w = wake.clone();
            match crate::TicketsWorker::spawn(t, Box::new(move || w.wake())) {
                Ok(worker) => desk.set_tickets(worker),
                Err(e) => desk.notify(
                    "tickets-off",
                    vec![("error", e.to_string())],
                    Severity::Warning,
                ),
            }
        }
        Some(Err(e)) => config_notice(
            desk,
            &ConfigError::Value {
                key: "desk.tickets".into(),
                message: e.to_string(),
            },
        ),
        None => {}
    }
    let smtp = d.and_then(|d| d.smtp.as_ref()).map(smtp_settings);
    let smtp = match smtp {
        Some(Ok(s)) => Some(s),
        Some(Err(message)) => {
            config_notice(
                desk,
                &ConfigError::Value {
                    key: "desk.smtp.tls".into(),
                    message,
                },
            );
            None
        }
        None => None,
    };
    let token = Box::new(|entry: &str| crate::secrets::load(entry).ok().flatten());
    if let Err(e) = desk.start_outbox(
        dir.join("desk.db"),
        smtp,
        crate::outbox_worker::Pace::default(),
        token,
        wake.clone(),
    ) {
        desk.notify(
            "outbox-off",
            vec![("error", e.to_string())],
            Severity::Error,
        );
    }
}

/// `[team]`: the team database's worker. Its password is
/// `SWITCHBOARD_TEAM_PASSWORD`, else the keyring's entry `team:USER@HOST`.
fn work_team(desk: &mut DeskApp, file: &File, wake: &Wake) {
    let Some(t) = &file.team else { return };
    let password = match std::env::var("SWITCHBOARD_TEAM_PASSWORD") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => team_keyring_entry(&t.database)
            .and_then(|entry| crate::secrets::load(&entry).ok().flatten()),
    };
    let settings = switchboard_team::Settings {
        url: t.database.clone(),
        password,
        ca_file: t.ca_file.clone(),
    };
    if let Err(e) = desk.start_team(settings, wake.clone()) {
        desk.notify("team-off", vec![("error", e.to_string())], Severity::Error);
        return;
    }
    match t.supervisor() {
        Ok(true) => desk.set_supervisor(Some(t.codes())),
        Ok(false) => {}
        Err(e) => desk.notify("team-off", vec![("error", e)], Severity::Warning),
    }
    // The extension the supervisor's listen codes dial for this desk.
    let extension = file
        .account
        .as_ref()
        .and_then(|a| a.username.clone())
        .or_else(|| file.sip.as_ref().and_then(|s| s.user.clone()));
    desk.set_extension(extension);
}

/// `team:USER@HOST` for `postgres://USER[:…]@HOST[:PORT]/…`.
fn team_keyring_entry(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let (auth, host) = rest.split_once('@')?;
    let user = auth.split(':').next()?;
    let host = host.split(['/', '?']).next()?;
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    Some(format!("team:{user}@{host}"))
}

/// `[desk.mail]`: the shared mailbox's worker and rules. A section that
/// cannot be used is a notice; the calls go on without e-mail.
fn work_mail(desk: &mut DeskApp, file: &File, agent: &str, wake: &Wake) {
    let Some(section) = file.desk.as_ref().and_then(|d| d.mail.as_ref()) else {
        return;
    };
    if file.desk.as_ref().and_then(|d| d.smtp.as_ref()).is_none() {
        desk.notify(
            "mail-no-smtp",
            vec![("address", section.address.clone())],
            Severity::Warning,
        );
    }
    let settings = match crate::mail_worker::mail_settings(section, agent) {
        Ok(s) => s,
        Err(message) => {
            config_notice(
                desk,
                &ConfigError::Value {
                    key: "desk.mail".into(),
                    message,
                },
            );
            return;
        }
    };
    let config = switchboard_desk::workspace::MailConfig::from_section(section);
    if let Err(e) = desk.start_mail(settings, config, wake.clone()) {
        desk.notify("mail-off", vec![("error", e.to_string())], Severity::Error);
    }
}

/// `[desk.smtp]` as the outbox uses it; the password is the keyring's entry
/// `smtp:USER@HOST`.
fn smtp_settings(
    s: &switchboard_desk::config::SmtpSection,
) -> Result<crate::outbox_worker::SmtpSettings, String> {
    use crate::outbox_worker::SmtpTls;
    let tls = match s.tls.as_deref().unwrap_or("starttls") {
        "starttls" => SmtpTls::StartTls,
        "tls" => SmtpTls::Tls,
        "none" => SmtpTls::None,
        other => return Err(format!("{other:?}: use starttls, tls or none")),
    };
    let password = s.user.as_ref().and_then(|u| {
        crate::secrets::load(&format!("smtp:{u}@{}", s.host))
            .ok()
            .flatten()
    });
    Ok(crate::outbox_worker::SmtpSettings {
        host: s.host.clone(),
        port: s.port.unwrap_or(match tls {
            SmtpTls::Tls => 465,
            _ => 587,
        }),
        tls,
        user: s.user.clone(),
        password,
        from: s.from.clone(),
        ca_file: s.ca_file.clone(),
    })
}
