//! The desk's settings as the configuration file gives them, and the
//! account to register.

use std::time::Duration;

use switchboard_desk::agent::Policy;
use switchboard_desk::config::DeskSection;
use switchboard_desk::context::HeaderRule;
use switchboard_desk::dialplan::DialPlan;
use switchboard_desk::workspace::Rules;

use crate::Lang;

/// Desk settings (from the configuration file).
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// After-call work rules.
    pub policy: Policy,
    /// Which headers show on the caller card, and how.
    pub header_rules: Vec<HeaderRule>,
    /// Wrap-up dispositions (empty: the defaults, in the operator's language).
    pub dispositions: Vec<String>,
    /// Break reasons (empty: the defaults, in the operator's language).
    pub break_reasons: Vec<String>,
    /// Quick-connect targets: label and number or SIP URI.
    pub quick_connect: Vec<(String, String)>,
    /// The quick-connect targets that show a busy lamp (`blf = true`).
    pub blf: Vec<String>,
    /// How typed numbers become SIP URIs.
    pub dial_plan: DialPlan,
    /// The file's `[desk.dial_plan]`, for when the registrar changes.
    pub dial_plan_section: switchboard_desk::config::DialPlanSection,
    /// The call scripts, routed by queue (`[desk.scripts]`; the shipped
    /// ones by default).
    pub scripts: switchboard_desk::script::library::Library,
    /// What in `[desk.scripts]` could not be used (shown as notices).
    pub script_errors: Vec<String>,
    /// The order and ticket forms (`[[desk.forms]]`) that can be used.
    pub forms: Vec<switchboard_desk::form::FormDef>,
    /// What in `[[desk.forms]]` could not be used (shown as notices).
    pub form_errors: Vec<String>,
}

impl DeskConfig {
    /// The desk settings from the configuration file's `[desk]` section
    /// (and the registrar, the dial plan's default domain); what it leaves
    /// out keeps its default. Returns the language too.
    pub fn from_file(section: Option<&DeskSection>, registrar: Option<&str>) -> (DeskConfig, Lang) {
        let mut c = DeskConfig {
            dial_plan: switchboard_desk::config::DialPlanSection::default().plan(registrar),
            ..DeskConfig::default()
        };
        let Some(d) = section else {
            return (c, Lang::default());
        };
        if let Some(s) = d.wrap_up_secs {
            c.policy.wrap_up = Duration::from_secs(s).min(switchboard_desk::agent::MAX_WRAP_UP);
        }
        if let Some(a) = d.auto_available {
            c.policy.auto_available = a;
        }
        if let Some(b) = d.busy_status {
            c.policy.busy_status = b;
        }
        if let Some(w) = d.call_waiting {
            c.policy.call_waiting = w;
        }
        if let Some(w) = d.wrap_up_outgoing {
            c.policy.wrap_up_outgoing = w;
        }
        if let Some(v) = &d.dispositions {
            c.dispositions = v.clone();
        }
        if let Some(v) = &d.break_reasons {
            c.break_reasons = v.clone();
        }
        if let Some(v) = &d.header_rules {
            c.header_rules = v
                .iter()
                .map(|r| HeaderRule {
                    header: r.header.clone(),
                    label: r.label.clone(),
                })
                .collect();
        }
        if let Some(v) = &d.quick_connect {
            c.quick_connect = v.iter().map(|q| (q.label.clone(), q.uri.clone())).collect();
            c.blf = v.iter().filter(|q| q.blf).map(|q| q.uri.clone()).collect();
        }
        if let Some(p) = &d.dial_plan {
            c.dial_plan = p.plan(registrar);
            c.dial_plan_section = p.clone();
        }
        if let Some(s) = &d.scripts {
            (c.scripts, c.script_errors) = s.library();
        }
        if let Some(f) = &d.forms {
            (c.forms, c.form_errors) = switchboard_desk::form::check_defs(f.clone());
        }
        let lang = d
            .language
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or_default();
        (c, lang)
    }

    pub(crate) fn rules(&self) -> Rules {
        Rules {
            policy: self.policy.clone(),
            header_rules: self.header_rules.clone(),
            dispositions: self.dispositions.clone(),
            break_reasons: self.break_reasons.clone(),
            quick_connect: self.quick_connect.clone(),
        }
    }
}

impl Default for DeskConfig {
    fn default() -> Self {
        let r = Rules::default();
        let (scripts, script_errors) =
            switchboard_desk::config::ScriptsSection::default().library();
        DeskConfig {
            policy: r.policy,
            header_rules: r.header_rules,
            dispositions: Vec::new(),
            break_reasons: Vec::new(),
            quick_connect: Vec::new(),
            blf: Vec::new(),
            dial_plan: DialPlan::default(),
            dial_plan_section: Default::default(),
            scripts,
            script_errors,
            forms: Vec::new(),
            form_errors: Vec::new(),
        }
    }
}

/// The account as configured, for registering once its password is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    /// Registrar URI.
    pub registrar: String,
    /// Auth user.
    pub username: String,
    /// Realm, if not the registrar's host.
    pub realm: Option<String>,
    /// Registration lifetime, s.
    pub expires: u32,
}

impl AccountSettings {
    /// The keyring entry's user: `username@registrar`.
    pub fn key(&self) -> String {
        format!("{}@{}", self.username, self.registrar)
    }

    pub(crate) fn engine(&self, password: String) -> switchboard_engine::AccountConfig {
        switchboard_engine::AccountConfig {
            registrar: self.registrar.clone(),
            username: self.username.clone(),
            password,
            realm: self.realm.clone(),
            expires: self.expires,
        }
    }
}
