//! # switchboard — the agent desktop
//!
//! ```text
//!  engine events ─▶ bridge ─▶ desk::Workspace (reducer: calls, work list, wrap-ups, notices)
//!                                   │ ▲
//!                 read-only view ───┘ │ Op
//!  ┌ top bar ───────────────────────────────────────────────────────────┐
//!  │ work list │ centre: the interaction in hand │ context tabs (a file  │──▶ Intent ──▶ DeskApp::apply
//!  │ + figures │ (card, controls, wrap-up, dial) │ each: Customer, …)    │        │
//!  └ notices ───────────────────────────────────────────────────────────┘        ▼
//!                                              engine Commands · workers (files, keyring, LDAP, CRM)
//! ```
//!
//! [`DeskApp`] is a thin shell. The rules that are not about pixels — which
//! call is in hand, the wrap-up queue, held and consult bookkeeping, the
//! history and the figures — live in [`switchboard_desk::workspace`]. Each
//! panel is one small file under `panels/`: a function from a read-only
//! [`panels::Cx`] (and its own view state: text being typed, a search) to
//! [`Intent`]s, applied after the frame. The context tabs on the right are
//! a list of [`panels::ContextTab`]s: adding one is a new file and a line
//! in `panels::tabs`.
//!
//! Nothing here does I/O inside a frame: SQL runs when its inputs change
//! (an event, a search typed), files, the keyring and LDAP go to worker
//! threads whose results come back through a channel and wake the window.
//! The binary (`main.rs`) starts the engine and forwards its events; tests
//! drive the same `DeskApp` with egui_kittest, as an operator would.
#![deny(unsafe_code)]

mod bridge;
pub mod crm_worker;
pub mod i18n;
pub mod ldap;
pub mod notify;
mod panels;
pub mod practice;
pub mod secrets;
mod settings;
mod text;
mod workers;

pub use crm_worker::CrmWorker;
pub use i18n::Lang;
pub use workers::Wake;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchboard_desk::agent::{AgentState, CallRef, Policy};
use switchboard_desk::config::{DeskSection, SettingsEdit};
use switchboard_desk::context::HeaderRule;
use switchboard_desk::dialplan::DialPlan;
use switchboard_desk::directory::{Directory, Source, SourceKind, SourceState};
use switchboard_desk::store::{Contact, ContactId, Store};
use switchboard_desk::workspace::{
    Action, ItemId, NoticeKind, Now, Op, Rules, Severity, Workspace,
};
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;

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
    /// How typed numbers become SIP URIs.
    pub dial_plan: DialPlan,
    /// The file's `[desk.dial_plan]`, for when the registrar changes.
    pub dial_plan_section: switchboard_desk::config::DialPlanSection,
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
        }
        if let Some(p) = &d.dial_plan {
            c.dial_plan = p.plan(registrar);
            c.dial_plan_section = p.clone();
        }
        let lang = d
            .language
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or_default();
        (c, lang)
    }

    fn rules(&self) -> Rules {
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
        DeskConfig {
            policy: r.policy,
            header_rules: r.header_rules,
            dispositions: Vec::new(),
            break_reasons: Vec::new(),
            quick_connect: Vec::new(),
            dial_plan: DialPlan::default(),
            dial_plan_section: Default::default(),
        }
    }
}

/// What the operator asked for in this frame (panels return these; they are
/// applied after the frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Something for the workspace (answer, hold, transfer …).
    Op(Op),
    /// Change the agent state.
    SetState(AgentState),
    /// Dial what was typed or clicked; the name is looked up when not given.
    Dial {
        /// A number, an extension or a SIP URI.
        input: String,
        /// Whom, if known.
        name: Option<String>,
    },
    /// Save the wrap-up in the centre.
    SaveWrapUp,
    /// Bring the n-th work-list item into the centre (Alt+1…9).
    SelectNth(usize),
    /// Open or close the settings screen.
    Settings(bool),
    /// Save the settings screen.
    SaveSettings,
    /// Start or stop the headset test.
    HeadsetTest(bool),
    /// Register again now.
    RetryRegistration,
    /// Import contacts from a CSV file.
    ImportContacts(PathBuf),
    /// Export the contacts to a CSV file.
    ExportContacts(PathBuf),
    /// Add (no id) or change a contact.
    SaveContact(Option<ContactId>, Contact),
    /// Remove a contact.
    DeleteContact(ContactId),
    /// Switch the UI language.
    SetLang(Lang),
}

impl From<Op> for Intent {
    fn from(op: Op) -> Intent {
        Intent::Op(op)
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

    fn engine(&self, password: String) -> switchboard_engine::AccountConfig {
        switchboard_engine::AccountConfig {
            registrar: self.registrar.clone(),
            username: self.username.clone(),
            password,
            realm: self.realm.clone(),
            expires: self.expires,
        }
    }
}

/// The desktop's state and logic, without I/O of its own.
#[derive(Debug)]
pub struct DeskApp {
    ws: Workspace,
    config: DeskConfig,
    lang: Lang,
    view: panels::View,
    directory: Directory,
    outbox: Vec<Command>,
    crm: Option<CrmWorker>,
    /// The call the desktop notification was shown for.
    notified: Option<CallRef>,
    settings: settings::Form,
    settings_open: bool,
    /// Where Save writes the settings, and what was saved last.
    settings_file: Option<PathBuf>,
    saved_settings: Option<SettingsEdit>,
    /// The practice line's numbers.
    practice: Vec<practice::Extension>,
    account: Option<AccountSettings>,
    /// The account's password for this session (never written to a file).
    password: Option<String>,
    work: workers::Workers,
    /// Bumped on every contact change (the tabs re-query).
    contacts_version: u64,
}

impl DeskApp {
    /// A desk with its settings and (optionally) its database.
    pub fn new(config: DeskConfig, store: Option<Store>) -> DeskApp {
        DeskApp::with_wake(config, store, Wake::none())
    }

    /// A desk whose background work (files, keyring, directory) wakes the
    /// window with `wake` when it is done.
    pub fn with_wake(config: DeskConfig, store: Option<Store>, wake: Wake) -> DeskApp {
        let now = Now::system();
        let mut ws = Workspace::new(config.rules(), store, now);
        ws.set_dial_plan(config.dial_plan.clone());
        let mut app = DeskApp {
            ws,
            config,
            lang: Lang::default(),
            view: panels::View::default(),
            directory: Directory::new(),
            outbox: Vec::new(),
            crm: None,
            notified: None,
            settings: settings::Form::default(),
            settings_open: false,
            settings_file: None,
            saved_settings: None,
            practice: Vec::new(),
            account: None,
            password: None,
            work: workers::Workers::new(wake),
            contacts_version: 0,
        };
        app.settings = settings::Form::from_edit(&app.current_settings());
        app
    }

    /// The workspace (for tests and the binary).
    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    /// The agent's state.
    pub fn agent_state(&self) -> &AgentState {
        self.ws.agent_state()
    }

    /// The database, if one is open.
    pub fn store(&self) -> Option<&Store> {
        self.ws.store()
    }

    /// The company directory as loaded.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The UI language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Switches the UI language.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    /// A notice for the operator (a problem found at start, say).
    pub fn notify(
        &mut self,
        key: &'static str,
        args: Vec<(&'static str, String)>,
        severity: Severity,
    ) {
        self.ws.notify(
            Now::system(),
            NoticeKind::Desktop {
                key,
                args,
                severity,
            },
        );
    }

    /// A notice of the domain's own kinds.
    pub fn notify_kind(&mut self, kind: NoticeKind) {
        self.ws.notify(Now::system(), kind);
    }

    /// Opens the settings screen (a configuration error at start).
    pub fn open_settings(&mut self) {
        self.apply(Instant::now(), Intent::Settings(true));
    }

    /// The settings as they are in effect (desk rules from the config; the
    /// account and devices as last saved).
    fn current_settings(&self) -> SettingsEdit {
        let base = self.saved_settings.clone().unwrap_or_default();
        SettingsEdit {
            wrap_up_secs: self.config.policy.wrap_up.as_secs(),
            auto_available: self.config.policy.auto_available,
            dispositions: self.config.dispositions.clone(),
            break_reasons: self.config.break_reasons.clone(),
            header_rules: self
                .config
                .header_rules
                .iter()
                .map(|r| (r.header.clone(), r.label.clone()))
                .collect(),
            quick_connect: self.config.quick_connect.clone(),
            language: self.lang.code().to_owned(),
            ..base
        }
    }

    /// Where the settings screen saves, and the account and device settings
    /// the file holds now.
    pub fn set_settings_file(&mut self, path: Option<PathBuf>, current: SettingsEdit) {
        self.settings_file = path;
        self.saved_settings = Some(current);
        self.settings = settings::Form::from_edit(&self.current_settings());
    }

    /// The account to register, and its password when known now
    /// (`SWITCHBOARD_PASSWORD`); without one the keyring is asked.
    pub fn set_account(&mut self, account: Option<AccountSettings>, password: Option<String>) {
        self.account = account;
        self.password = password;
        match (&self.account, &self.password) {
            (Some(a), Some(p)) => {
                self.ws.set_registering(true);
                self.outbox
                    .push(Command::SetAccount(Some(a.engine(p.clone()))));
            }
            (Some(a), None) => {
                self.ws.set_registering(true);
                let key = a.key();
                self.work
                    .spawn("keyring", move || workers::Done::PasswordLoaded {
                        key: key.clone(),
                        result: secrets::load(&key),
                    });
            }
            (None, _) => self.ws.set_registering(false),
        }
    }

    /// The practice line's numbers: dialable by extension, in the
    /// directory, the colleagues also as quick-connects.
    pub fn set_practice(&mut self, extensions: Vec<practice::Extension>) {
        self.practice = extensions;
        self.apply_dial_plan();
        self.directory.set_source(Source {
            kind: SourceKind::File(PathBuf::from("practice")),
            state: SourceState::Fresh,
            fetched_ms: Some(switchboard_desk::time::unix_ms()),
            entries: self
                .practice
                .iter()
                .map(|x| switchboard_desk::directory::Entry {
                    kind: if x.colleague {
                        switchboard_desk::directory::EntryKind::Department
                    } else {
                        switchboard_desk::directory::EntryKind::Person
                    },
                    name: x.label.clone(),
                    extension: Some(x.extension.clone()),
                    ..Default::default()
                })
                .collect(),
        });
        self.apply_rules();
    }

    fn apply_rules(&mut self) {
        let mut rules = self.config.rules();
        // The practice line's colleagues are one click away, by extension.
        rules.quick_connect.extend(
            self.practice
                .iter()
                .filter(|x| x.colleague)
                .map(|x| (x.label.clone(), x.extension.clone())),
        );
        self.ws.set_rules(rules);
    }

    fn apply_dial_plan(&mut self) {
        let mut plan = self.config.dial_plan.clone();
        plan.extensions = self
            .practice
            .iter()
            .map(|x| (x.extension.clone(), x.uri.clone()))
            .collect();
        self.ws.set_dial_plan(plan);
    }

    /// Looks callers up in the CRM while their call rings.
    pub fn set_crm(&mut self, worker: CrmWorker) {
        self.ws.set_crm(Some(worker.crm().clone()));
        self.crm = Some(worker);
    }

    /// Reads the directory sources of the configuration on workers (and
    /// keeps their entries in the store for when a source is down).
    pub fn set_directory(&mut self, section: &switchboard_desk::config::DirectorySection) {
        if let Some(path) = &section.file {
            let kind = SourceKind::File(path.clone());
            self.directory.set_source(Source {
                kind: kind.clone(),
                state: SourceState::Loading,
                fetched_ms: None,
                entries: Vec::new(),
            });
            let path = path.clone();
            self.work
                .spawn("directory-file", move || workers::Done::Directory {
                    kind: kind.clone(),
                    result: switchboard_desk::directory::read_file(&path)
                        .map_err(|e| e.to_string()),
                });
        }
        if let Some(ldap) = &section.ldap {
            let kind = SourceKind::Ldap(ldap.url.clone());
            if let Err(e) = ldap::check(ldap) {
                self.ws.notify(
                    Now::system(),
                    NoticeKind::Desktop {
                        key: "config-value",
                        args: vec![("error", e.to_string())],
                        severity: Severity::Error,
                    },
                );
                return;
            }
            self.directory
                .set_source(self.cached(kind.clone(), SourceState::Loading));
            let password = std::env::var("SWITCHBOARD_LDAP_PASSWORD").ok();
            ldap::spawn(ldap.clone(), password, &self.work);
        }
    }

    /// A source as the store kept it, in `state`.
    fn cached(&self, kind: SourceKind, state: SourceState) -> Source {
        let mut s = Source {
            kind,
            state,
            fetched_ms: None,
            entries: Vec::new(),
        };
        if let Some((json, at)) = self
            .ws
            .store()
            .and_then(|st| st.cached_directory(&s.cache_key()).ok().flatten())
            && let Some(entries) = switchboard_desk::directory::from_json(&json)
        {
            s.entries = entries;
            s.fetched_ms = Some(at);
        }
        s
    }

    // ------------------------------------------------------------ the phone

    /// Feeds one engine event.
    pub fn handle_event(&mut self, now: Instant, ev: &EventKind) {
        let now = Now {
            at: now,
            unix_ms: switchboard_desk::time::unix_ms(),
        };
        match ev {
            EventKind::Devices { inputs, outputs } => {
                self.settings.devices = Some((inputs.clone(), outputs.clone()));
            }
            EventKind::MicTest {
                mic_dbfs,
                input,
                output,
            } if self.settings.testing => {
                let before = self.settings.mic.as_ref().map_or(-120.0, |m| m.0);
                self.settings.mic = Some((
                    switchboard_desk::workspace::fall(before, *mic_dbfs),
                    input.clone(),
                    output.clone(),
                ));
            }
            ev => {
                if let Some(p) = bridge::phone_event(ev) {
                    self.ws.handle(now, p);
                    self.drain_actions();
                }
            }
        }
    }

    fn drain_actions(&mut self) {
        for a in self.ws.take_actions() {
            match a {
                Action::Phone(c) => self.outbox.push(bridge::command(c)),
                Action::LookupCrm { call_id, url } => {
                    if let Some(w) = &self.crm {
                        w.lookup(&call_id, url);
                    }
                }
            }
        }
    }

    /// Engine commands produced since the last call.
    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.outbox)
    }

    /// Desktop notifications due since the last call: one when a call starts
    /// ringing, a close when it stops.
    pub fn take_notices(&mut self) -> Vec<notify::Notice> {
        let mut out = Vec::new();
        let ringing = self.ws.offered().map(|c| c.call);
        if ringing == self.notified {
            return out;
        }
        if self.notified.is_some() {
            out.push(notify::Notice::Close);
        }
        if let Some(r) = self.ws.offered() {
            let l = self.lang;
            let mut body = vec![l.tr_with("number", &[("number", r.card.number.clone())])];
            body.extend(r.card.fields.iter().map(|(k, v)| format!("{k}: {v}")));
            out.push(notify::Notice::Ringing {
                summary: l.tr_with("incoming", &[("who", r.who().to_owned())]),
                body: body.join("\n"),
            });
        }
        self.notified = ringing;
        out
    }

    /// Whether something on screen changes with time (call timer, countdown),
    /// so the UI should repaint once a second; otherwise it sleeps.
    pub fn needs_clock(&self) -> bool {
        self.ws.needs_clock()
    }

    /// Time passed: drafts written, the wrap-up deadline, background results.
    pub fn tick(&mut self, now: Instant) {
        self.poll_background();
        self.ws.tick(Now {
            at: now,
            unix_ms: switchboard_desk::time::unix_ms(),
        });
        self.drain_actions();
    }

    fn poll_background(&mut self) {
        if let Some(w) = &self.crm {
            for done in w.poll() {
                self.ws
                    .crm_result(&done.call_id, done.result.map_err(|e| e.to_string()));
            }
        }
        for done in self.work.poll() {
            self.background(done);
        }
    }

    fn background(&mut self, done: workers::Done) {
        let now = Now::system();
        let notice = |key, args, severity| NoticeKind::Desktop {
            key,
            args,
            severity,
        };
        match done {
            workers::Done::ContactsRead { path, result } => {
                let result = result.and_then(|contacts| {
                    let s = self
                        .ws
                        .store_mut()
                        .ok_or_else(|| "no database".to_owned())?;
                    s.add_contacts(&contacts).map_err(|e| e.to_string())
                });
                self.contacts_version += 1;
                self.ws.notify(
                    now,
                    match result {
                        Ok(n) => notice("imported", vec![("count", n.to_string())], Severity::Info),
                        Err(e) => notice(
                            "import-failed",
                            vec![("path", path.display().to_string()), ("error", e)],
                            Severity::Warning,
                        ),
                    },
                );
            }
            workers::Done::ContactsWritten { path, result } => {
                self.ws.notify(
                    now,
                    match result {
                        Ok(n) => notice(
                            "exported",
                            vec![
                                ("count", n.to_string()),
                                ("path", path.display().to_string()),
                            ],
                            Severity::Info,
                        ),
                        Err(e) => notice(
                            "export-failed",
                            vec![("path", path.display().to_string()), ("error", e)],
                            Severity::Warning,
                        ),
                    },
                );
            }
            workers::Done::Directory { kind, result } => self.directory_done(now, kind, result),
            workers::Done::PasswordLoaded { key, result } => {
                let Some(a) = self.account.clone().filter(|a| a.key() == key) else {
                    return;
                };
                match result {
                    Ok(Some(p)) => {
                        self.password = Some(p.clone());
                        self.outbox.push(Command::SetAccount(Some(a.engine(p))));
                    }
                    Ok(None) => {
                        self.ws.set_registering(false);
                        self.ws.notify(
                            now,
                            notice("no-password", vec![("account", key)], Severity::Error),
                        );
                    }
                    Err(e) => {
                        self.ws.set_registering(false);
                        self.ws.notify(
                            now,
                            notice("keyring-failed", vec![("error", e)], Severity::Error),
                        );
                    }
                }
            }
            workers::Done::PasswordStored { result } => {
                self.ws.notify(
                    now,
                    match result {
                        Ok(()) => notice("password-stored", Vec::new(), Severity::Info),
                        Err(e) => notice("keyring-failed", vec![("error", e)], Severity::Error),
                    },
                );
            }
        }
    }

    fn directory_done(
        &mut self,
        now: Now,
        kind: SourceKind,
        result: Result<Vec<switchboard_desk::directory::Entry>, String>,
    ) {
        match result {
            Ok(entries) => {
                let s = Source {
                    kind,
                    state: SourceState::Fresh,
                    fetched_ms: Some(now.unix_ms),
                    entries,
                };
                if let Some(st) = self.ws.store() {
                    let _ = st.save_directory(
                        &s.cache_key(),
                        &switchboard_desk::directory::to_json(&s.entries),
                        now.unix_ms,
                    );
                }
                self.directory.set_source(s);
            }
            Err(error) => {
                let mut s = self.cached(
                    kind,
                    SourceState::Failed {
                        error: error.clone(),
                    },
                );
                if s.fetched_ms.is_some() {
                    s.state = SourceState::Cached {
                        error: error.clone(),
                    };
                }
                let name = match &s.kind {
                    SourceKind::File(p) => p.display().to_string(),
                    SourceKind::Ldap(u) => u.clone(),
                };
                self.ws.notify(
                    now,
                    NoticeKind::Desktop {
                        key: if s.fetched_ms.is_some() {
                            "directory-cached"
                        } else {
                            "directory-failed"
                        },
                        args: vec![("source", name), ("error", error)],
                        severity: Severity::Warning,
                    },
                );
                self.directory.set_source(s);
            }
        }
    }

    // ------------------------------------------------------------ the operator

    /// Carries out one intent.
    pub fn apply(&mut self, now: Instant, intent: Intent) {
        let now = Now {
            at: now,
            unix_ms: switchboard_desk::time::unix_ms(),
        };
        match intent {
            Intent::Op(op) => self.ws.apply(now, op),
            Intent::SetState(s) => self.ws.apply(now, Op::SetState(s)),
            Intent::Dial { input, name } => {
                let name = name.or_else(|| self.name_for(&input));
                self.ws.apply(now, Op::Dial { input, name });
            }
            Intent::SaveWrapUp => {
                if let Some(id) = self.ws.focused_wrap_up().map(|w| w.id) {
                    self.ws.apply(now, Op::SaveWrapUp(id));
                }
            }
            Intent::SelectNth(n) => {
                if let Some(id) = self.ws.work_list().get(n).map(|i| i.id) {
                    self.select(now, id);
                }
            }
            Intent::Settings(open) => {
                self.settings_open = open;
                if open {
                    self.settings = settings::Form::from_edit(&self.current_settings());
                    if !self.settings.devices_asked {
                        self.settings.devices_asked = true;
                        self.outbox.push(Command::ListDevices);
                    }
                } else if self.settings.testing {
                    self.apply(now.at, Intent::HeadsetTest(false));
                }
            }
            Intent::SaveSettings => self.save_settings(now),
            Intent::HeadsetTest(on) => {
                if on {
                    // The test runs on the devices chosen on the screen.
                    self.outbox.push(Command::SetDevices {
                        input: Some(self.settings.input.clone()).filter(|s| !s.is_empty()),
                        output: Some(self.settings.output.clone()).filter(|s| !s.is_empty()),
                        ringer: Some(self.settings.ringer.clone()).filter(|s| !s.is_empty()),
                    });
                } else {
                    self.settings.mic = None;
                }
                self.settings.testing = on;
                self.outbox.push(Command::DeviceTest { on });
            }
            Intent::RetryRegistration => {
                if self.account.is_some() && self.password.is_some() {
                    self.ws.set_registering(true);
                    self.outbox.push(Command::Register);
                } else {
                    let (a, p) = (self.account.clone(), self.password.clone());
                    self.set_account(a, p);
                }
            }
            Intent::ImportContacts(path) => {
                self.work
                    .spawn("contacts-import", move || workers::Done::ContactsRead {
                        result: std::fs::read_to_string(&path)
                            .map_err(|e| e.to_string())
                            .and_then(|t| {
                                switchboard_desk::store::parse_contacts_csv(&t)
                                    .map_err(|e| e.to_string())
                            }),
                        path: path.clone(),
                    });
            }
            Intent::ExportContacts(path) => {
                let csv = self
                    .ws
                    .store()
                    .ok_or_else(|| "no database".to_owned())
                    .and_then(|s| s.export_contacts_csv().map_err(|e| e.to_string()));
                self.work.spawn("contacts-export", move || {
                    let result = csv.clone().and_then(|text| {
                        write_atomically(&path, &text)?;
                        Ok(text.lines().count().saturating_sub(1))
                    });
                    workers::Done::ContactsWritten {
                        path: path.clone(),
                        result,
                    }
                });
            }
            Intent::SaveContact(id, c) => {
                let r = match (self.ws.store(), id) {
                    (Some(s), Some(id)) => s.update_contact(id, &c).map(|_| ()),
                    (Some(s), None) => s.add_contact(&c).map(|_| ()),
                    (None, _) => Ok(()),
                };
                if let Err(e) = r {
                    self.ws.notify(
                        now,
                        NoticeKind::StoreUnavailable {
                            error: e.to_string(),
                        },
                    );
                }
                self.contacts_version += 1;
            }
            Intent::DeleteContact(id) => {
                if let Some(Err(e)) = self.ws.store().map(|s| s.delete_contact(id)) {
                    self.ws.notify(
                        now,
                        NoticeKind::StoreUnavailable {
                            error: e.to_string(),
                        },
                    );
                }
                self.contacts_version += 1;
            }
            Intent::SetLang(l) => self.lang = l,
        }
        self.drain_actions();
    }

    fn select(&mut self, now: Now, id: ItemId) {
        self.ws.apply(now, Op::Select(id));
    }

    /// The name for a number dialled: a contact's, else a directory entry's.
    fn name_for(&self, input: &str) -> Option<String> {
        let number = switchboard_desk::dialplan::clean_number(input)?;
        self.ws
            .store()
            .and_then(|s| s.contact_by_number(&number).ok().flatten())
            .map(|c| c.name)
            .or_else(|| self.directory.by_number(&number).map(|e| e.name.clone()))
    }

    fn save_settings(&mut self, now: Now) {
        let l = self.lang;
        let notice = |key, args, severity| NoticeKind::Desktop {
            key,
            args,
            severity,
        };
        let edit = match self.settings.to_edit(l) {
            Ok(e) => e,
            Err(message) => {
                self.ws.notify(
                    now,
                    notice(
                        "settings-invalid",
                        vec![("error", message)],
                        Severity::Warning,
                    ),
                );
                return;
            }
        };
        self.config.policy.wrap_up = Duration::from_secs(edit.wrap_up_secs);
        self.config.policy.auto_available = edit.auto_available;
        self.config.dispositions = edit.dispositions.clone();
        self.config.break_reasons = edit.break_reasons.clone();
        self.config.header_rules = edit
            .header_rules
            .iter()
            .map(|(h, label)| HeaderRule {
                header: h.clone(),
                label: label.clone(),
            })
            .collect();
        self.config.quick_connect = edit.quick_connect.clone();
        self.apply_rules();
        self.outbox.push(Command::SetDevices {
            input: edit.input_device.clone(),
            output: edit.output_device.clone(),
            ringer: edit.ringer_device.clone(),
        });
        let saved = match &self.settings_file {
            Some(path) => switchboard_desk::config::save(path, &edit).map(|()| true),
            None => Ok(false),
        };
        self.ws.notify(
            now,
            match saved {
                Ok(true) => notice("settings-saved", Vec::new(), Severity::Info),
                Ok(false) => notice("settings-applied", Vec::new(), Severity::Info),
                Err(e) => notice(
                    "settings-not-saved",
                    vec![("error", e.to_string())],
                    Severity::Warning,
                ),
            },
        );
        // The account: a new one (or a new password) registers at once; the
        // password goes to the keyring, never into the file.
        let password = std::mem::take(&mut self.settings.password);
        let account = match (&edit.registrar, &edit.username) {
            (Some(r), Some(u)) => Some(AccountSettings {
                registrar: r.clone(),
                username: u.clone(),
                realm: self.account.as_ref().and_then(|a| a.realm.clone()),
                expires: self.account.as_ref().map_or(600, |a| a.expires),
            }),
            _ => None,
        };
        self.config.dial_plan = self
            .config
            .dial_plan_section
            .plan(edit.registrar.as_deref());
        self.apply_dial_plan();
        let changed = account != self.account || !password.is_empty();
        if !password.is_empty()
            && let Some(a) = &account
        {
            let key = a.key();
            let secret = password.clone();
            self.work
                .spawn("keyring", move || workers::Done::PasswordStored {
                    result: secrets::store(&key, &secret),
                });
        }
        if changed {
            let keep = if password.is_empty() {
                self.password.clone().filter(|_| account == self.account)
            } else {
                Some(password)
            };
            if account.is_none() {
                self.outbox.push(Command::SetAccount(None));
            }
            self.set_account(account, keep);
        }
        self.saved_settings = Some(edit);
        self.settings_open = false;
    }

    // ------------------------------------------------------------ the frame

    /// Draws the desk and applies what the operator did.
    pub fn ui(&mut self, ui: &mut egui::Ui, now: Instant) {
        self.poll_background();
        let wall = Now {
            at: now,
            unix_ms: switchboard_desk::time::unix_ms(),
        };
        let quick: Vec<(String, String)> = self.ws.rules().quick_connect.clone();
        let dispositions = text::dispositions(self.lang, &self.config.dispositions);
        let break_reasons = text::break_reasons(self.lang, &self.config.break_reasons);
        let cx = panels::Cx {
            ws: &self.ws,
            l: self.lang,
            now: wall,
            directory: &self.directory,
            quick: &quick,
            dispositions: &dispositions,
            break_reasons: &break_reasons,
            contacts_version: self.contacts_version,
            settings_open: self.settings_open,
            headset: self.settings.headset_name(self.lang),
            mic_level: self
                .ws
                .in_hand()
                .and_then(|c| c.levels.map(|l| l.mic_dbfs))
                .or(self.settings.mic.as_ref().map(|m| m.0)),
        };
        let mut intents = Vec::new();
        panels::workspace(ui, &cx, &mut self.view, &mut self.settings, &mut intents);
        if !intents.is_empty() {
            // What the operator did shows at once.
            ui.ctx().request_repaint();
        }
        for i in intents {
            self.apply(now, i);
        }
        self.tick(now);
    }
}

/// Writes a file so a crash leaves the old one or the new one, never half.
fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let run = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    run().map_err(|e| format!("{}: {e}", path.display()))
}
