//! The TOML configuration file, one schema for the desktop and the headless
//! agent: `[sip]`, `[account]`, `[audio]`, `[desk]`.
//!
//! Unknown keys are errors, so a typo does not silently fall back to a default;
//! every error names the file, the line and the key. Secrets are never read
//! from the file.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub sip: Option<Sip>,
    pub account: Option<AccountSection>,
    pub audio: Option<Audio>,
    pub desk: Option<DeskSection>,
}

/// `[desk]`: the agent desktop.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskSection {
    /// After-call work in seconds.
    pub wrap_up_secs: Option<u64>,
    /// Return to Available by itself when wrap-up time runs out.
    pub auto_available: Option<bool>,
    /// Status for calls not offered (486 by default).
    pub busy_status: Option<u16>,
    /// Wrap-up dispositions.
    pub dispositions: Option<Vec<String>>,
    /// Break reasons.
    pub break_reasons: Option<Vec<String>>,
    /// Caller-card rules: `{ header = "X-Queue", label = "Queue" }`.
    pub header_rules: Option<Vec<HeaderRuleEntry>>,
    /// Transfer buttons: `{ label = "Billing", uri = "sip:200@pbx" }`.
    pub quick_connect: Option<Vec<QuickConnect>>,
    /// UI language: en, et, ru or sl.
    pub language: Option<String>,
    /// CRM lookup while a call rings.
    pub crm: Option<CrmSection>,
    /// When the other side asks to transfer us (REFER): accept, ask or reject.
    pub transfer_policy: Option<String>,
    /// Offer a second call while one is up, with a tone (true by default).
    pub call_waiting: Option<bool>,
}

/// `[desk.crm]`: look the caller up in the CRM by URL template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrmSection {
    /// Lookup URL answering JSON, e.g. `https://crm/api?phone={number}`.
    pub url: String,
    /// Page for people, shown as the card's link (the lookup URL if absent).
    pub link: Option<String>,
    /// JSON fields to show, as dotted paths; all top-level values if absent.
    pub fields: Option<Vec<String>>,
    /// Lookup timeout in milliseconds (2000 by default).
    pub timeout_ms: Option<u64>,
}

impl CrmSection {
    /// The checked settings.
    pub fn build(&self) -> Result<crate::crm::Crm, crate::crm::CrmError> {
        crate::crm::Crm::new(
            &self.url,
            self.link.as_deref(),
            self.fields.clone().unwrap_or_default(),
            self.timeout_ms
                .map(std::time::Duration::from_millis)
                .unwrap_or(crate::crm::DEFAULT_TIMEOUT),
        )
    }
}

/// One caller-card rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderRuleEntry {
    /// Header name.
    pub header: String,
    /// Label shown.
    pub label: String,
}

/// One quick-connect transfer target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickConnect {
    /// Button label.
    pub label: String,
    /// SIP URI.
    pub uri: String,
}

/// `[audio]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audio {
    /// Codec preference order, e.g. `["opus", "pcmu"]`.
    pub codecs: Option<Vec<String>>,
    /// WAV file as microphone.
    pub mic: Option<std::path::PathBuf>,
    /// WAV file as speaker.
    pub speaker: Option<std::path::PathBuf>,
    /// Microphone device name (part of it).
    pub input_device: Option<String>,
    /// Speaker device name (part of it).
    pub output_device: Option<String>,
}

/// `[sip]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sip {
    pub bind: Option<SocketAddr>,
    pub user: Option<String>,
    pub display_name: Option<String>,
    pub max_calls: Option<usize>,
}

/// `[account]`. The password is never read from the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSection {
    pub registrar: Option<String>,
    pub username: Option<String>,
    pub realm: Option<String>,
    pub expires: Option<u32>,
}

/// Reads and checks the file.
pub fn load(path: &Path) -> Result<File, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1)
            .map(|l| format!(", line {l}"))
            .unwrap_or_default();
        format!("{}{line}: {}", path.display(), e.message())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let dir = std::env::temp_dir().join(format!("sb-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.toml");
        std::fs::write(&p, "[sip]\nuser = \"a\"\nbnd = \"127.0.0.1:5060\"\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("bad.toml, line 3"), "{e}");
        assert!(e.contains("bnd"), "{e}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let dir = std::env::temp_dir().join(format!("sb-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(&p, "[sip]\nbind = \"not an address\"\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
