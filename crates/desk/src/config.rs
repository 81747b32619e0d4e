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
    pub directory: Option<DirectorySection>,
    /// The team's shared database (`[team]`); absent: this desk works alone.
    pub team: Option<TeamSection>,
}

/// `[team]`: the team's shared history on PostgreSQL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSection {
    /// `postgres://USER@HOST:PORT/DB` (`?sslmode=verify-full` is the default
    /// for a host that is not this machine); the password is the keyring's
    /// entry `team:USER@HOST`, or `SWITCHBOARD_TEAM_PASSWORD`.
    pub database: String,
    /// A CA (PEM) that signed the database server's certificate.
    pub ca_file: Option<std::path::PathBuf>,
    /// `agent` (the default) or `supervisor`: a supervisor's desk shows the
    /// team's board.
    #[serde(default)]
    pub role: Option<String>,
    /// The PBX's feature code to listen in on an agent's call, `{ext}` for
    /// the agent's extension: `*222{ext}` (Asterisk ChanSpy),
    /// `*0{ext}` (FreeSWITCH eavesdrop, as the dial plan has it).
    #[serde(default)]
    pub listen: Option<String>,
    /// To speak to the agent only (whisper, ChanSpy option `w`).
    #[serde(default)]
    pub whisper: Option<String>,
    /// To join the call (barge, ChanSpy option `B`).
    #[serde(default)]
    pub barge: Option<String>,
}

/// The supervisor's feature codes from `[team]`, each with `{ext}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureCodes {
    /// Listen in.
    pub listen: Option<String>,
    /// Whisper to the agent.
    pub whisper: Option<String>,
    /// Barge in.
    pub barge: Option<String>,
}

impl FeatureCodes {
    /// What to dial for `code` on `extension`: `{ext}` replaced, or the
    /// extension appended when the code has no `{ext}`.
    pub fn dial(code: &str, extension: &str) -> String {
        let ext = extension.trim();
        if code.contains("{ext}") {
            code.replace("{ext}", ext)
        } else {
            format!("{code}{ext}")
        }
    }
}

impl TeamSection {
    /// Whether this desk is a supervisor's (`role = "supervisor"`).
    pub fn supervisor(&self) -> Result<bool, String> {
        match self.role.as_deref().map(str::trim) {
            None | Some("agent") => Ok(false),
            Some("supervisor") => Ok(true),
            Some(other) => Err(format!(
                "[team] role = \"{other}\": write \"agent\" or \"supervisor\""
            )),
        }
    }

    /// The feature codes given.
    pub fn codes(&self) -> FeatureCodes {
        let code = |c: &Option<String>| c.clone().filter(|c| !c.trim().is_empty());
        FeatureCodes {
            listen: code(&self.listen),
            whisper: code(&self.whisper),
            barge: code(&self.barge),
        }
    }
}

/// Why the configuration cannot be used. The file's fault (or the disk's),
/// never the program's; every variant names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read or written.
    Io {
        /// Which file.
        path: std::path::PathBuf,
        /// The system's words.
        error: String,
    },
    /// Not TOML, an unknown key, or a value of the wrong kind.
    Syntax {
        /// Which file.
        path: std::path::PathBuf,
        /// The line, when known.
        line: Option<usize>,
        /// What is wrong (names the key).
        message: String,
    },
    /// A value that reads but cannot be used (`[directory.ldap] filter`).
    Value {
        /// The key, dotted (`directory.ldap.filter`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            ConfigError::Syntax {
                path,
                line: Some(l),
                message,
            } => write!(f, "{}, line {l}: {message}", path.display()),
            ConfigError::Syntax {
                path,
                line: None,
                message,
            } => write!(f, "{}: {message}", path.display()),
            ConfigError::Value { key, message } => write!(f, "{key}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for String {
    fn from(e: ConfigError) -> String {
        e.to_string()
    }
}

/// `[directory]`: the company directory for transfers and calls.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySection {
    /// A TOML (`[[department]]`, `[[person]]`) or CSV file.
    pub file: Option<std::path::PathBuf>,
    /// An LDAP directory (Active Directory, OpenLDAP).
    pub ldap: Option<LdapSection>,
}

/// `[directory.ldap]`. The bind password is never in the file: it comes
/// from the keyring or `SWITCHBOARD_LDAP_PASSWORD`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSection {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    /// The DN to bind as; anonymous when absent.
    pub bind_dn: Option<String>,
    /// Where people are, e.g. `ou=people,dc=example,dc=ee`.
    pub base: String,
    /// Which entries are people, e.g. `(objectClass=person)`.
    pub filter: Option<String>,
    /// Entries per page of the paged search (500 by default).
    pub page_size: Option<u32>,
    /// How often to fetch again, minutes (60 by default).
    pub refresh_minutes: Option<u64>,
    /// Which attribute holds what.
    pub attributes: Option<LdapAttributes>,
    /// Connection and search timeout, seconds (10 by default).
    pub timeout_secs: Option<u64>,
}

/// `[directory.ldap.attributes]`: attribute names (defaults in brackets).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapAttributes {
    /// Name shown (`displayName`, else `cn`).
    pub name: Option<String>,
    /// Desk phone (`telephoneNumber`).
    pub extension: Option<String>,
    /// Mobile (`mobile`).
    pub mobile: Option<String>,
    /// Title (`title`).
    pub title: Option<String>,
    /// Department (`department`, else `ou`).
    pub department: Option<String>,
    /// E-mail (`mail`).
    pub email: Option<String>,
    /// Presence note (`description`).
    pub note: Option<String>,
}

/// `[desk.dial_plan]`: how typed numbers become SIP URIs.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialPlanSection {
    /// Host for numbers (default: the registrar's).
    pub domain: Option<String>,
    /// Numbers this long or shorter are extensions (5 by default).
    pub extension_digits: Option<usize>,
    /// Dialled before outside numbers (`0`, `9`).
    pub outside_prefix: Option<String>,
    /// Replaces a leading `+` (`00`).
    pub international_prefix: Option<String>,
    /// Prefixes removed first (`+372`).
    pub strip: Option<Vec<String>>,
}

impl DialPlanSection {
    /// The plan, with the registrar's domain where none is set.
    pub fn plan(&self, registrar: Option<&str>) -> crate::dialplan::DialPlan {
        let d = crate::dialplan::DialPlan::default();
        crate::dialplan::DialPlan {
            domain: self
                .domain
                .clone()
                .or_else(|| registrar.and_then(crate::dialplan::domain_of_registrar)),
            extension_digits: self.extension_digits.unwrap_or(d.extension_digits),
            outside_prefix: self.outside_prefix.clone().unwrap_or_default(),
            international_prefix: self.international_prefix.clone(),
            strip: self.strip.clone().unwrap_or_default(),
            extensions: Vec::new(),
        }
    }
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
    /// Targets such a transfer may go to (`["sip:*@pbx.example.com"]`);
    /// others are refused. Absent: any.
    pub transfer_allow: Option<Vec<String>>,
    /// Offer a second call while one is up, with a tone (true by default).
    pub call_waiting: Option<bool>,
    /// Calls the operator places get a wrap-up too (true by default).
    pub wrap_up_outgoing: Option<bool>,
    /// How typed numbers become SIP URIs.
    pub dial_plan: Option<DialPlanSection>,
    /// Call scripts: where they are, which queue starts which.
    pub scripts: Option<ScriptsSection>,
    /// Order and ticket forms (`[[desk.forms]]`).
    pub forms: Option<Vec<crate::form::FormDef>>,
    /// The knowledge base.
    pub knowledge: Option<KnowledgeSection>,
    /// The caller's open tickets, looked up while the call rings.
    pub tickets: Option<TicketsSection>,
    /// The SMTP server forms are e-mailed through.
    pub smtp: Option<SmtpSection>,
    /// The shared mailbox the operators answer (`[desk.mail]`).
    pub mail: Option<crate::email::MailSection>,
}

/// `[desk.knowledge]`: the knowledge base's articles.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeSection {
    /// A folder of Markdown articles (relative: to the configuration
    /// file's folder); absent: the articles shipped in `assets/knowledge`.
    pub folder: Option<std::path::PathBuf>,
}

/// `[desk.tickets]`: the caller's open tickets by URL template (as the CRM).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketsSection {
    /// Lookup URL answering JSON, e.g. `https://helpdesk/api/tickets?phone={number}`.
    pub url: String,
    /// Dotted path to the list in the answer (absent: the answer is the list).
    pub list: Option<String>,
    /// Each ticket's number field (`id`).
    pub id: Option<String>,
    /// Each ticket's title field (`title`).
    pub title: Option<String>,
    /// Each ticket's status field (`status`).
    pub status: Option<String>,
    /// Lookup timeout in milliseconds (2000 by default).
    pub timeout_ms: Option<u64>,
}

impl TicketsSection {
    /// The checked settings.
    pub fn build(&self) -> Result<crate::tickets::Tickets, crate::crm::CrmError> {
        crate::tickets::Tickets::new(
            &self.url,
            self.list.clone(),
            [
                self.id.clone().unwrap_or_else(|| "id".into()),
                self.title.clone().unwrap_or_else(|| "title".into()),
                self.status.clone().unwrap_or_else(|| "status".into()),
            ],
            self.timeout_ms
                .map(std::time::Duration::from_millis)
                .unwrap_or(crate::crm::DEFAULT_TIMEOUT),
        )
    }
}

/// `[desk.smtp]`: where forms are e-mailed from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    /// Server host.
    pub host: String,
    /// Port (587 by default; 25 or a sink's port for plain).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub tls: Option<String>,
    /// Login user, if the server wants one (its password is in the keyring).
    pub user: Option<String>,
    /// The sender address.
    pub from: String,
    /// A CA (PEM) trusted beside the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

/// `[desk.scripts]`: the call scripts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptsSection {
    /// A folder of script files (`*.toml`); absent: the scripts shipped
    /// with the desk.
    pub folder: Option<std::path::PathBuf>,
    /// Which script a call from a queue starts with: `{ Emergency = "triage" }`.
    pub queues: Option<std::collections::BTreeMap<String, String>>,
    /// The script of calls from any other queue (none: the operator picks).
    pub default: Option<String>,
}

impl ScriptsSection {
    /// The scripts, routed; what could not be used comes back as messages
    /// (a broken file names its file, line and node), beside the rest.
    pub fn library(&self) -> (crate::script::library::Library, Vec<String>) {
        let (mut lib, errors) = match &self.folder {
            Some(dir) => crate::script::library::Library::load_dir(dir),
            None => crate::script::library::Library::builtin(),
        };
        let mut out: Vec<String> = errors.iter().map(ToString::to_string).collect();
        out.extend(lib.route(
            &self.queues.clone().unwrap_or_default(),
            self.default.as_deref(),
        ));
        (lib, out)
    }
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
    /// Show the line's busy lamp (idle, ringing, on the phone): the PBX
    /// must serve the dialog event package (RFC 4235).
    #[serde(default)]
    pub blf: bool,
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
    /// Ringer device name (part of it); default: the system output.
    pub ringer_device: Option<String>,
}

/// `[sip]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sip {
    pub bind: Option<SocketAddr>,
    pub user: Option<String>,
    pub display_name: Option<String>,
    pub max_calls: Option<usize>,
    /// Addresses or blocks besides the registrar that may send new calls
    /// (`["192.0.2.10", "198.51.100.0/24"]`).
    pub trusted_sources: Option<Vec<String>>,
    /// With an account, only the registrar and `trusted_sources` reach us
    /// outside a dialog (true on the desk).
    pub trust_registrar: Option<bool>,
    /// Seconds an unanswered call rings before it is refused (60; 0: never).
    pub ring_timeout: Option<f64>,
    /// Seconds without RTP on an established, unheld call before the
    /// operator is told (30); the call is hung up at twice that (0: never).
    pub rtp_timeout: Option<f64>,
    /// CA certificates (PEM) trusted for SIP over TLS besides the system's
    /// (a PBX with a certificate from the company's own CA).
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// The DNS server for SIP names (NAPTR, SRV, A/AAAA), `"10.0.0.53:53"`;
    /// absent: the system's resolver.
    pub dns_server: Option<SocketAddr>,
    /// Our certificate chain (PEM) to be called over TLS directly (not
    /// needed with a PBX: its calls come back on the connection we open).
    pub tls_certificate: Option<std::path::PathBuf>,
    /// Its private key (PEM).
    pub tls_key: Option<std::path::PathBuf>,
}

/// `[account]`. The password is never read from the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSection {
    pub registrar: Option<String>,
    pub username: Option<String>,
    pub realm: Option<String>,
    pub expires: Option<u32>,
    /// Base of the retry back-off in seconds (30): the first retry after a
    /// failure comes 1–2 times this later, doubling up to 30 minutes.
    pub retry_base: Option<f64>,
    /// Encrypted sound on TLS calls: `off`, `optional` (default) or `mandatory`.
    pub srtp: Option<String>,
}

/// Reads and checks the file.
pub fn load(path: &Path) -> Result<File, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.to_path_buf(),
        error: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| s.start);
        let message = match at.and_then(|at| key_at(&text, at)) {
            Some(key) => format!("{key}: {}", e.message()),
            None => e.message().to_owned(),
        };
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line: at.map(|at| text.get(..at).unwrap_or("").matches('\n').count() + 1),
            message,
        }
    })
}

/// The dotted key written on the line holding byte `at` (`sip.max_calls`),
/// or the table when the line is a `[table]` header; `None` on a line that
/// names no key (inside a multi-line array, or broken).
fn key_at(text: &str, at: usize) -> Option<String> {
    let before = text.get(..at)?;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?.trim();
    let header = |l: &str| {
        l.strip_prefix('[')
            .and_then(|l| l.strip_suffix(']'))
            .map(|t| t.trim_matches(['[', ']']).trim().to_owned())
    };
    if line.starts_with('[') {
        return header(line);
    }
    let key = line.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() {
        return None;
    }
    let table = before
        .get(..start)?
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .and_then(header);
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

/// What the settings screen writes back into the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsEdit {
    /// `[account] registrar`; `None` removes it (no registration).
    pub registrar: Option<String>,
    /// `[account] username`.
    pub username: Option<String>,
    /// `[sip] display_name`.
    pub display_name: Option<String>,
    /// `[audio] input_device`; `None`: system default.
    pub input_device: Option<String>,
    /// `[audio] output_device`.
    pub output_device: Option<String>,
    /// `[audio] ringer_device`.
    pub ringer_device: Option<String>,
    /// `[desk] wrap_up_secs`.
    pub wrap_up_secs: u64,
    /// `[desk] auto_available`.
    pub auto_available: bool,
    /// `[desk] dispositions`.
    pub dispositions: Vec<String>,
    /// `[desk] break_reasons`.
    pub break_reasons: Vec<String>,
    /// `[desk] header_rules` as (header, label).
    pub header_rules: Vec<(String, String)>,
    /// `[desk] quick_connect` as (label, uri).
    pub quick_connect: Vec<(String, String)>,
    /// `[desk] language`.
    pub language: String,
}

impl SettingsEdit {
    /// What the file says now (defaults for what it leaves out).
    pub fn from_file(f: &File) -> SettingsEdit {
        let account = f.account.as_ref();
        let audio = f.audio.as_ref();
        let desk = f.desk.as_ref();
        SettingsEdit {
            registrar: account.and_then(|a| a.registrar.clone()),
            username: account.and_then(|a| a.username.clone()),
            display_name: f.sip.as_ref().and_then(|s| s.display_name.clone()),
            input_device: audio.and_then(|a| a.input_device.clone()),
            output_device: audio.and_then(|a| a.output_device.clone()),
            ringer_device: audio.and_then(|a| a.ringer_device.clone()),
            wrap_up_secs: desk.and_then(|d| d.wrap_up_secs).unwrap_or(30),
            auto_available: desk.and_then(|d| d.auto_available).unwrap_or(true),
            dispositions: desk
                .and_then(|d| d.dispositions.clone())
                .unwrap_or_default(),
            break_reasons: desk
                .and_then(|d| d.break_reasons.clone())
                .unwrap_or_default(),
            header_rules: desk
                .and_then(|d| d.header_rules.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.header, r.label))
                .collect(),
            quick_connect: desk
                .and_then(|d| d.quick_connect.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|q| (q.label, q.uri))
                .collect(),
            language: desk
                .and_then(|d| d.language.clone())
                .unwrap_or_else(|| "en".into()),
        }
    }
}

/// Writes the settings into the file at `path`, keeping everything else in
/// it (other keys, comments, order). The new text is checked with [`load`]
/// before it replaces the old file, and it replaces it in one rename, so a
/// crash or a mistake never leaves a half-written or unreadable file.
pub fn save(path: &Path, edit: &SettingsEdit) -> Result<(), ConfigError> {
    use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};
    let io = |p: &Path, e: &dyn std::fmt::Display| ConfigError::Io {
        path: p.to_path_buf(),
        error: e.to_string(),
    };
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(path, &e)),
    };
    let mut doc: DocumentMut =
        old.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Syntax {
                path: path.to_path_buf(),
                line: None,
                message: e.message().to_owned(),
            })?;
    fn table<'a>(doc: &'a mut DocumentMut, name: &str) -> Result<&'a mut Table, ConfigError> {
        doc.entry(name)
            .or_insert(Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError::Value {
                key: name.to_owned(),
                message: "is not a table".into(),
            })
    }
    fn set_opt(t: &mut Table, key: &str, v: &Option<String>) {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                t.insert(key, value(s));
            }
            None => {
                t.remove(key);
            }
        }
    }
    fn strings(v: &[String]) -> Array {
        v.iter().map(String::as_str).collect()
    }
    fn pairs(v: &[(String, String)], a: &str, b: &str) -> Array {
        let mut arr = Array::new();
        for (x, y) in v {
            let mut t = InlineTable::new();
            t.insert(a, x.as_str().into());
            t.insert(b, y.as_str().into());
            arr.push(t);
        }
        arr
    }
    let account = table(&mut doc, "account")?;
    set_opt(account, "registrar", &edit.registrar);
    set_opt(account, "username", &edit.username);
    let sip = table(&mut doc, "sip")?;
    set_opt(sip, "display_name", &edit.display_name);
    let audio = table(&mut doc, "audio")?;
    set_opt(audio, "input_device", &edit.input_device);
    set_opt(audio, "output_device", &edit.output_device);
    set_opt(audio, "ringer_device", &edit.ringer_device);
    let desk = table(&mut doc, "desk")?;
    desk.insert(
        "wrap_up_secs",
        value(i64::try_from(edit.wrap_up_secs).unwrap_or(i64::MAX)),
    );
    desk.insert("auto_available", value(edit.auto_available));
    desk.insert("dispositions", value(strings(&edit.dispositions)));
    desk.insert("break_reasons", value(strings(&edit.break_reasons)));
    desk.insert(
        "header_rules",
        value(pairs(&edit.header_rules, "header", "label")),
    );
    // A quick-connect kept keeps its busy lamp (the settings screen edits
    // labels and targets only).
    // Written inline (`quick_connect = [{ … }]`) or as `[[desk.quick_connect]]`.
    let lamps: Vec<String> = match desk.get("quick_connect") {
        Some(Item::Value(toml_edit::Value::Array(a))) => a
            .iter()
            .filter_map(|v| v.as_inline_table())
            .filter(|t| t.get("blf").and_then(|b| b.as_bool()) == Some(true))
            .filter_map(|t| t.get("uri").and_then(|u| u.as_str()).map(str::to_owned))
            .collect(),
        Some(Item::ArrayOfTables(a)) => a
            .iter()
            .filter(|t| t.get("blf").and_then(|b| b.as_bool()) == Some(true))
            .filter_map(|t| t.get("uri").and_then(|u| u.as_str()).map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let mut quick = pairs(&edit.quick_connect, "label", "uri");
    for t in quick.iter_mut().filter_map(|v| v.as_inline_table_mut()) {
        if t.get("uri")
            .and_then(|u| u.as_str())
            .is_some_and(|u| lamps.iter().any(|l| l == u))
        {
            t.insert("blf", true.into());
        }
    }
    desk.insert("quick_connect", value(quick));
    desk.insert("language", value(edit.language.as_str()));
    // Empty tables we created are left out.
    for name in ["account", "sip", "audio"] {
        if doc
            .get(name)
            .and_then(Item::as_table)
            .is_some_and(Table::is_empty)
        {
            doc.remove(name);
        }
    }
    // A linked configuration is written where the link points, so the link
    // (and whatever else uses that file) stays.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
    }
    let tmp = path.with_extension("toml.new");
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        // The file keeps its permissions (an administrator may have locked it down).
        if let Ok(meta) = std::fs::metadata(&path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(doc.to_string().as_bytes())?;
        f.sync_all()
    };
    write().map_err(|e| io(&tmp, &e))?;
    if let Err(e) = load(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, &e))?;
    // The rename itself is made durable with its directory.
    if let Some(dir) = dir
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
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
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("bad.toml, line 3"), "{e}");
        assert!(e.contains("bnd"), "{e}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let dir = std::env::temp_dir().join(format!("sb-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(&p, "[sip]\nbind = \"not an address\"\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("c.toml, line 2: sip.bind: "), "{e}");
    }

    #[test]
    fn a_wrong_type_names_the_dotted_key_also_in_a_nested_table() {
        let dir = std::env::temp_dir().join(format!("sb-cfg7-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(
            &p,
            "[sip]\nuser = \"desk\"\n\n[desk.crm]\nurl = \"https://crm.example.ee/{number}\"\ntimeout_ms = \"soon\"\n",
        )
        .unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("c.toml, line 6: desk.crm.timeout_ms: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn crm_section_is_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("sb-cfg3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(
            &p,
            "[desk.crm]\nurl = \"https://crm.example.ee/api?phone={number}\"\nfields = [\"name\"]\ntimeout_ms = 500\n",
        )
        .unwrap();
        let f = load(&p).unwrap();
        let crm = f.desk.unwrap().crm.unwrap().build().unwrap();
        assert_eq!(crm.timeout, std::time::Duration::from_millis(500));
        assert_eq!(crm.fields, ["name"]);
        std::fs::write(&p, "[desk.crm]\nurl = \"file:///etc/passwd\"\n").unwrap();
        let e = load(&p)
            .unwrap()
            .desk
            .unwrap()
            .crm
            .unwrap()
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("http://"), "{e}");
    }

    #[test]
    fn settings_are_saved_keeping_the_rest_of_the_file() {
        let dir = std::env::temp_dir().join(format!("sb-cfg4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("config.toml");
        std::fs::write(
            &p,
            "# our PBX\n[sip]\nbind = \"0.0.0.0:5062\"\n\n[audio]\ncodecs = [\"pcmu\"]  # the trunk wants G.711\n\n\
             [[desk.quick_connect]]\nlabel = \"Billing\"\nuri = \"sip:200@pbx\"\nblf = true\n\n\
             [[desk.quick_connect]]\nlabel = \"Old\"\nuri = \"sip:299@pbx\"\nblf = true\n",
        )
        .unwrap();
        let edit = SettingsEdit {
            registrar: Some("sip:pbx.example.ee".into()),
            username: Some("1001".into()),
            display_name: None,
            input_device: Some("Jabra".into()),
            output_device: Some("Jabra".into()),
            ringer_device: None,
            wrap_up_secs: 45,
            auto_available: false,
            dispositions: vec!["Order".into(), "Arve \"küsimus\"".into()],
            break_reasons: vec!["Lõuna".into()],
            header_rules: vec![("X-Queue".into(), "Järjekord".into())],
            quick_connect: vec![("Billing".into(), "sip:200@pbx".into())],
            language: "et".into(),
        };
        save(&p, &edit).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("# our PBX"), "{text}");
        assert!(text.contains("# the trunk wants G.711"), "{text}");
        let f = load(&p).unwrap();
        assert_eq!(f.sip.as_ref().unwrap().bind.unwrap().port(), 5062);
        assert_eq!(
            f.audio.as_ref().unwrap().codecs.as_deref(),
            Some(&["pcmu".to_owned()][..])
        );
        assert_eq!(
            f.audio.as_ref().unwrap().input_device.as_deref(),
            Some("Jabra")
        );
        assert_eq!(
            f.account.as_ref().unwrap().username.as_deref(),
            Some("1001")
        );
        let d = f.desk.unwrap();
        assert_eq!(d.wrap_up_secs, Some(45));
        assert_eq!(d.auto_available, Some(false));
        assert_eq!(d.dispositions.unwrap()[1], "Arve \"küsimus\"");
        assert_eq!(d.header_rules.unwrap()[0].label, "Järjekord");
        let quick = d.quick_connect.unwrap();
        assert_eq!(quick.len(), 1, "the one removed on the screen is gone");
        assert_eq!(quick[0].uri, "sip:200@pbx");
        assert!(quick[0].blf, "the one kept keeps its busy lamp");
        assert_eq!(d.language.as_deref(), Some("et"));
        // Saving again with no registrar removes it; a new file is made if missing.
        save(
            &p,
            &SettingsEdit {
                registrar: None,
                ..edit.clone()
            },
        )
        .unwrap();
        assert!(load(&p).unwrap().account.unwrap().registrar.is_none());
        let fresh = dir.join("sub/new.toml");
        save(&fresh, &edit).unwrap();
        assert_eq!(load(&fresh).unwrap().desk.unwrap().wrap_up_secs, Some(45));
    }

    #[test]
    fn saving_keeps_the_file_mode_and_a_link_stays_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("sb-cfg6-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("real.toml");
        let link = dir.join("config.toml");
        let _ = std::fs::remove_file(&link);
        std::fs::write(&real, "[sip]\nuser = \"agent\"\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save(&link, &SettingsEdit::default()).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(load(&link).unwrap().desk.is_some());
    }

    #[test]
    fn a_file_that_is_not_toml_is_not_overwritten() {
        let dir = std::env::temp_dir().join(format!("sb-cfg5-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("config.toml");
        std::fs::write(&p, "[sip\nbroken").unwrap();
        let e = save(&p, &SettingsEdit::default()).unwrap_err().to_string();
        assert!(e.contains("config.toml"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "[sip\nbroken");
    }
}
