//! From configuration to [`EngineConfig`], written once for the desktop and
//! the CLI.
//!
//! Each program reads its own sources — the TOML file's `[sip]`, `[audio]`
//! and `[desk]` sections, its flags — into [`Settings`] (every field
//! optional: what was said) and names its [`Role`]. What was left out takes
//! the role's default here, and only here; a value that cannot be used is a
//! [`SettingError`] naming its key, and the default stands in for it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use switchboard_codec::Codec;

use crate::{
    AccountConfig, Backoff, Cidr, DeviceNames, EngineConfig, Policy, SrtpPolicy, TransferPolicy,
};

/// Who runs the engine; the defaults differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The operator's desk: `agent` on 127.0.0.1:5060, two lines, one call
    /// in hand, transfer requests asked about, level meters on, new calls
    /// only through the registrar once there is an account.
    Desktop,
    /// The headless agent (`switchboard-cli`): `switchboard` on
    /// 0.0.0.0:5060, a hundred calls at once, none held unless told,
    /// transfer requests refused, calls from anywhere.
    Headless,
}

/// The engine's settings as read from a file and flags; `None`: not said.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Local SIP address.
    pub bind: Option<SocketAddr>,
    /// Our user part (default: the account's user name, else the role's).
    pub user: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Calls at once.
    pub max_calls: Option<usize>,
    /// The status for a call over the limit.
    pub busy_status: Option<u16>,
    /// Codec names in preference order (`opus`, `g722`, `pcmu`, `pcma`).
    pub codecs: Option<Vec<String>>,
    /// A WAV file as every call's microphone.
    pub mic: Option<PathBuf>,
    /// A WAV file recording what the first call plays.
    pub speaker: Option<PathBuf>,
    /// Microphone device (part of its name).
    pub input_device: Option<String>,
    /// Speaker device.
    pub output_device: Option<String>,
    /// Ringer device.
    pub ringer_device: Option<String>,
    /// No sound card at all.
    pub no_devices: bool,
    /// `accept`, `ask` or `reject`.
    pub transfer_policy: Option<String>,
    /// Answering, placing or resuming holds the call in progress.
    pub hold_others: Option<bool>,
    /// Level meters and quality reports.
    pub levels: Option<bool>,
    /// The account to register.
    pub account: Option<AccountConfig>,
    /// Addresses or blocks (`192.0.2.10`, `198.51.100.0/24`) that may send
    /// new calls besides the registrar.
    pub trusted_sources: Option<Vec<String>>,
    /// Whether, with an account, only the registrar (and the trusted
    /// sources) may reach us outside a dialog.
    pub trust_registrar: Option<bool>,
    /// Seconds an unanswered call rings before it is refused (0: never).
    pub ring_timeout_s: Option<f64>,
    /// Seconds without RTP before an established call is reported (and
    /// hung up at twice that; 0: never).
    pub rtp_timeout_s: Option<f64>,
    /// Transfer targets a peer may send us to (glob patterns).
    pub transfer_allow: Option<Vec<String>>,
    /// The registration retry's base wait in seconds (the first retry
    /// comes after 1–2 times it).
    pub register_retry_s: Option<f64>,
    /// CA certificates (PEM) for SIP over TLS besides the system's.
    pub tls_ca_file: Option<PathBuf>,
    /// The DNS server for SIP names (default: the system's).
    pub dns_server: Option<SocketAddr>,
    /// `off`, `optional` or `mandatory`: encrypted media on TLS calls.
    pub srtp: Option<String>,
    /// Our TLS certificate chain and key (PEM), to be called over TLS.
    pub tls_certificate: Option<PathBuf>,
    /// Its private key.
    pub tls_key: Option<PathBuf>,
}

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// Where it was said (`audio.codecs`, `desk.transfer_policy`).
    pub key: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for SettingError {}

/// Codec names as a list (`opus, g722, pcmu, pcma`), for messages.
pub fn known_codecs() -> String {
    Codec::ALL
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Codec names in preference order, each once; the unknown ones as errors.
pub fn parse_codecs(names: &[String]) -> (Vec<Codec>, Vec<SettingError>) {
    let mut codecs = Vec::new();
    let mut errors = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match Codec::from_name(name) {
            Some(c) if !codecs.contains(&c) => codecs.push(c),
            Some(_) => {}
            None => errors.push(SettingError {
                key: "audio.codecs",
                message: format!("unknown codec {name:?} (known: {})", known_codecs()),
            }),
        }
    }
    (codecs, errors)
}

impl Settings {
    /// The engine's configuration for `role`, and what could not be used.
    pub fn engine_config(&self, role: Role) -> (EngineConfig, Vec<SettingError>) {
        let desktop = role == Role::Desktop;
        let (codecs, mut errors) = parse_codecs(self.codecs.as_deref().unwrap_or_default());
        let mut policy = if desktop {
            Policy::desktop()
        } else {
            Policy::headless()
        };
        if let Some(n) = self.max_calls {
            policy.max_calls = n;
        }
        if let Some(h) = self.hold_others {
            policy.hold_others_on_answer = h;
        }
        match self.busy_status {
            Some(s) if (400..700).contains(&s) => policy.busy_status = s,
            Some(s) => errors.push(SettingError {
                key: "desk.busy_status",
                message: format!("{s} is not a final error status (400-699)"),
            }),
            None => {}
        }
        if let Some(p) = &self.transfer_policy {
            match TransferPolicy::from_name(p) {
                Some(p) => policy.transfer = p,
                None => errors.push(SettingError {
                    key: "desk.transfer_policy",
                    message: format!("{p:?}: use accept, ask or reject"),
                }),
            }
        }
        if let Some(s) = &self.srtp {
            match SrtpPolicy::from_name(s) {
                Some(p) => policy.srtp = p,
                None => errors.push(SettingError {
                    key: "account.srtp",
                    message: format!("{s:?}: use off, optional or mandatory"),
                }),
            }
        }
        if let Some(t) = self.trust_registrar {
            policy.trust_registrar = t;
        }
        match self.ring_timeout_s {
            Some(0.0) => policy.ring_timeout = None,
            Some(s) => match Duration::try_from_secs_f64(s) {
                Ok(d) => policy.ring_timeout = Some(d),
                Err(_) => errors.push(SettingError {
                    key: "sip.ring_timeout",
                    message: format!("{s} is not a number of seconds (0 for none)"),
                }),
            },
            None => {}
        }
        match self.rtp_timeout_s {
            Some(0.0) => policy.rtp_timeout = None,
            Some(s) => match Duration::try_from_secs_f64(s) {
                Ok(d) if d >= Duration::from_secs(1) => policy.rtp_timeout = Some(d),
                _ => errors.push(SettingError {
                    key: "sip.rtp_timeout",
                    message: format!("{s}: use at least 1 second (0 for none)"),
                }),
            },
            None => {}
        }
        let mut trusted_sources = Vec::new();
        for t in self.trusted_sources.iter().flatten() {
            match t.parse::<Cidr>() {
                Ok(c) => trusted_sources.push(c),
                Err(e) => errors.push(SettingError {
                    key: "sip.trusted_sources",
                    message: e.to_string(),
                }),
            }
        }
        let mut register_retry = Backoff::default();
        match self.register_retry_s.map(Duration::try_from_secs_f64) {
            Some(Ok(d)) if d >= Duration::from_millis(100) => register_retry.base = d,
            Some(_) => errors.push(SettingError {
                key: "account.retry_base",
                message: "must be at least 0.1 seconds".to_owned(),
            }),
            None => {}
        }
        let bind = self.bind.unwrap_or_else(|| {
            let ip = if desktop {
                [127, 0, 0, 1]
            } else {
                [0, 0, 0, 0]
            };
            SocketAddr::from((ip, 5060))
        });
        let user = self
            .user
            .clone()
            .or_else(|| self.account.as_ref().map(|a| a.username.clone()))
            .unwrap_or_else(|| if desktop { "agent" } else { "switchboard" }.to_owned());
        let levels = self.levels.unwrap_or(desktop);
        let config = EngineConfig {
            bind,
            user,
            display_name: self.display_name.clone(),
            account: self.account.clone(),
            codecs,
            mic: self.mic.clone(),
            speaker: self.speaker.clone(),
            devices: (!self.no_devices).then(|| DeviceNames {
                input: self.input_device.clone(),
                output: self.output_device.clone(),
            }),
            ringer: self.ringer_device.clone(),
            level_meter_ms: levels.then_some(100),
            policy,
            trusted_sources,
            transfer_allow: self.transfer_allow.clone().unwrap_or_default(),
            register_retry,
            tls_ca_file: self.tls_ca_file.clone(),
            dns_server: self.dns_server,
            tls_certificate: self.tls_certificate.clone(),
            tls_key: self.tls_key.clone(),
        };
        (config, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_differ_only_in_their_defaults() {
        let (desk, e1) = Settings::default().engine_config(Role::Desktop);
        let (cli, e2) = Settings::default().engine_config(Role::Headless);
        assert!(e1.is_empty() && e2.is_empty());
        assert_eq!(desk.bind, "127.0.0.1:5060".parse().unwrap());
        assert_eq!(cli.bind, "0.0.0.0:5060".parse().unwrap());
        assert!(desk.policy.hold_others_on_answer && !cli.policy.hold_others_on_answer);
        assert_eq!((desk.policy.max_calls, cli.policy.max_calls), (2, 100));
        assert_eq!(desk.policy.transfer, TransferPolicy::Ask);
        assert_eq!(
            cli.policy.transfer,
            TransferPolicy::Reject,
            "a headless agent has nobody to ask"
        );
        assert!(desk.policy.trust_registrar && !cli.policy.trust_registrar);
        assert_eq!(desk.policy.ring_timeout, Some(Duration::from_secs(60)));
        let said = Settings {
            max_calls: Some(7),
            hold_others: Some(true),
            codecs: Some(vec!["G722".into(), "pcmu".into(), "g722".into()]),
            ..Settings::default()
        };
        let (cli, errors) = said.engine_config(Role::Headless);
        assert!(errors.is_empty());
        assert_eq!(cli.policy.max_calls, 7);
        assert!(cli.policy.hold_others_on_answer);
        assert_eq!(cli.codecs, vec![Codec::G722, Codec::Pcmu]);
    }

    #[test]
    fn an_unknown_codec_names_every_known_one_and_the_rest_stands() {
        let said = Settings {
            codecs: Some(vec!["speex".into(), "opus".into()]),
            transfer_policy: Some("sometimes".into()),
            ..Settings::default()
        };
        let (config, errors) = said.engine_config(Role::Desktop);
        assert_eq!(config.codecs, vec![Codec::Opus]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].key, "audio.codecs");
        for name in ["opus", "g722", "pcmu", "pcma"] {
            assert!(errors[0].message.contains(name), "{}", errors[0].message);
        }
        assert_eq!(errors[1].key, "desk.transfer_policy");
        assert_eq!(config.policy.transfer, TransferPolicy::Ask);
    }

    #[test]
    fn trusted_sources_ring_timeout_and_retry_are_read_and_bad_ones_named() {
        let said = Settings {
            trusted_sources: Some(vec!["198.51.100.0/24".into(), "pbx.example.com".into()]),
            ring_timeout_s: Some(0.0),
            register_retry_s: Some(2.0),
            transfer_allow: Some(vec!["sip:*@pbx.example.com".into()]),
            ..Settings::default()
        };
        let (config, errors) = said.engine_config(Role::Desktop);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].key, "sip.trusted_sources");
        assert!(errors[0].message.contains("pbx.example.com"));
        assert_eq!(
            config.trusted_sources,
            vec!["198.51.100.0/24".parse().unwrap()]
        );
        assert_eq!(config.policy.ring_timeout, None);
        assert_eq!(config.register_retry.base, Duration::from_secs(2));
        assert_eq!(config.transfer_allow, vec!["sip:*@pbx.example.com"]);
        let bad = Settings {
            ring_timeout_s: Some(-1.0),
            register_retry_s: Some(0.0),
            ..Settings::default()
        };
        let (_, errors) = bad.engine_config(Role::Desktop);
        let keys: Vec<_> = errors.iter().map(|e| e.key).collect();
        assert_eq!(keys, ["sip.ring_timeout", "account.retry_base"]);
    }
}
