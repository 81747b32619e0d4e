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

mod account;
mod background;
mod bridge;
mod config;
pub mod crm_worker;
pub mod i18n;
mod intent;
pub mod knowledge_worker;
pub mod ldap;
pub mod mail_worker;
pub mod notify;
pub mod outbox_worker;
mod panels;
pub mod practice;
pub mod secrets;
mod settings;
pub mod startup;
pub mod team_worker;
mod text;
mod workers;

pub use config::{AccountSettings, DeskConfig};
pub use crm_worker::{CrmWorker, TicketsWorker};
pub use i18n::Lang;
pub use intent::Intent;
pub use workers::Wake;

use std::path::PathBuf;
use std::time::Instant;

use switchboard_desk::agent::{AgentState, CallRef};
use switchboard_desk::config::SettingsEdit;
use switchboard_desk::directory::{Directory, Source, SourceKind, SourceState};
use switchboard_desk::store::Store;
use switchboard_desk::workspace::{Action, NoticeKind, Now, Severity, Workspace};
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;

/// How often a supervisor's desk reads the team's board (an idle desk
/// repaints for it no more often: the answer wakes the window).
pub const BOARD_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

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
    tickets: Option<TicketsWorker>,
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
    /// Why there is no phone, when there is none.
    phone_down: Option<String>,
    /// The outbox's delivery thread.
    outbox_worker: Option<outbox_worker::OutboxWorker>,
    /// The knowledge base: its sync thread and the desk's read handle.
    knowledge: Option<(
        knowledge_worker::KnowledgeWorker,
        switchboard_desk::knowledge::Index,
    )>,
    /// Bumped when the index changed (the tab searches again).
    knowledge_version: u64,
    /// Set by the outbox's thread when a delivery changed state.
    outbox_changed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The shared mailbox's worker, when `[desk.mail]` is set.
    mail: Option<mail_worker::MailWorker>,
    /// The team database's worker, when `[team]` is set.
    team: Option<team_worker::TeamWorker>,
    /// The supervisor's board as last read (and when, Unix ms).
    board: Option<(Result<switchboard_desk::team::Board, String>, i64)>,
    /// When the board was last asked for.
    board_asked: Option<Instant>,
    /// A supervisor's desk: the team's board, and the PBX's codes to
    /// listen, whisper and barge.
    supervisor: Option<switchboard_desk::config::FeatureCodes>,
    /// The operator's user name.
    operator: String,
    /// Deliveries sent up to here have been announced (Unix ms).
    announced_ms: i64,
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
        ws.set_scripts(config.scripts.clone());
        ws.set_forms(config.forms.clone());
        let errors = (config.script_errors.iter().map(|e| ("script-error", e)))
            .chain(config.form_errors.iter().map(|e| ("form-error", e)));
        for (key, error) in errors {
            ws.notify(
                now,
                NoticeKind::Desktop {
                    key,
                    args: vec![("error", error.clone())],
                    severity: Severity::Warning,
                },
            );
        }
        let mut app = DeskApp {
            ws,
            config,
            lang: Lang::default(),
            view: panels::View::default(),
            directory: Directory::new(),
            outbox: Vec::new(),
            crm: None,
            tickets: None,
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
            phone_down: None,
            outbox_worker: None,
            knowledge: None,
            knowledge_version: 0,
            outbox_changed: Default::default(),
            mail: None,
            team: None,
            board: None,
            board_asked: None,
            supervisor: None,
            operator: String::new(),
            announced_ms: switchboard_desk::time::unix_ms(),
        };
        app.settings = settings::Form::from_edit(&app.current_settings());
        // The quick-connects' busy lamps are asked for from the start (the
        // phone subscribes once its account registers).
        app.apply_watches();
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
        let user = self.operator.clone();
        self.ws.set_operator(&user, lang.code());
    }

    /// Who the operator is (the desk's SIP user): in the records forms send.
    pub fn set_operator(&mut self, user: &str) {
        self.operator = user.to_owned();
        self.ws.set_operator(user, self.lang.code());
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

    /// The practice line's numbers: dialable by extension, in the
    /// directory, the colleagues also as quick-connects.
    pub fn set_practice(&mut self, extensions: Vec<practice::Extension>) {
        self.practice = extensions;
        // Its callers play scenarios, and the trainee is scored on them.
        self.ws.set_scenarios(practice::scenarios());
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
        self.apply_watches();
    }

    /// Asks the phone to watch the lines that show a busy lamp: the
    /// quick-connects and directory entries with `blf = true`.
    pub(crate) fn apply_watches(&mut self) {
        let quick = self
            .config
            .quick_connect
            .iter()
            .filter(|(_, t)| self.config.blf.contains(t))
            .map(|(_, t)| t.clone());
        let entries = self
            .directory
            .sources()
            .iter()
            .flat_map(|s| s.entries.iter())
            .filter(|e| e.blf)
            .filter_map(|e| e.dial_string().map(str::to_owned));
        let lines: Vec<String> = quick.chain(entries).collect();
        if self.ws.watch_lines(lines) {
            self.drain_actions();
        }
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

    /// Looks callers' open tickets up while their call rings.
    pub fn set_tickets(&mut self, worker: TicketsWorker) {
        self.ws.set_tickets(Some(worker.tickets().clone()));
        self.tickets = Some(worker);
    }

    /// The order and ticket forms in use.
    pub fn set_forms(&mut self, forms: Vec<switchboard_desk::form::FormDef>) {
        self.ws.set_forms(forms);
    }

    /// The knowledge base, kept in line with its folder.
    pub fn set_knowledge(
        &mut self,
        worker: knowledge_worker::KnowledgeWorker,
        index: switchboard_desk::knowledge::Index,
    ) {
        self.knowledge = Some((worker, index));
        self.knowledge_version += 1;
    }

    /// Delivers what saved forms queued (webhooks, e-mails): a worker on
    /// the desk's database at `db`; `wake` wakes the window when a delivery
    /// changed state (History shows it, a ticket number is announced).
    pub fn start_outbox(
        &mut self,
        db: PathBuf,
        smtp: Option<outbox_worker::SmtpSettings>,
        pace: outbox_worker::Pace,
        token: outbox_worker::TokenLookup,
        wake: Wake,
    ) -> std::io::Result<()> {
        let flag = self.outbox_changed.clone();
        let changed = Box::new(move || {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
            wake.wake();
        });
        let team = self.team.as_ref().map(team_worker::TeamWorker::pusher);
        let w = outbox_worker::OutboxWorker::spawn_for_team(db, smtp, token, team, changed, pace)?;
        self.outbox_worker = Some(w);
        Ok(())
    }

    /// Shares the desk's history with the team: copies of each call go to
    /// the team database through the outbox, and each caller's earlier
    /// interactions with the whole team are looked up as the call rings.
    /// Call before [`DeskApp::start_outbox`], which carries the copies.
    pub fn start_team(
        &mut self,
        settings: switchboard_team::Settings,
        wake: Wake,
    ) -> std::io::Result<()> {
        let w = team_worker::TeamWorker::spawn(settings, Box::new(move || wake.wake()))?;
        self.team = Some(w);
        self.ws.set_team(true);
        Ok(())
    }

    /// Makes this a supervisor's desk (the board, the codes to listen in),
    /// or an agent's (`None`).
    pub fn set_supervisor(&mut self, codes: Option<switchboard_desk::config::FeatureCodes>) {
        self.supervisor = codes;
        self.board_asked = None;
    }

    /// The extension this desk is at (the supervisor's codes dial it).
    pub fn set_extension(&mut self, extension: Option<String>) {
        self.ws.set_extension(extension);
    }

    /// The board as last read, and when.
    pub fn board(&self) -> Option<&(Result<switchboard_desk::team::Board, String>, i64)> {
        self.board.as_ref()
    }

    /// Asks for the board every [`BOARD_EVERY`] while a supervisor's desk runs.
    fn refresh_board(&mut self, now: Instant) {
        let (Some(_), Some(t)) = (&self.supervisor, &self.team) else {
            return;
        };
        if self
            .board_asked
            .is_some_and(|at| now.duration_since(at) < BOARD_EVERY)
        {
            return;
        }
        self.board_asked = Some(now);
        t.board(switchboard_desk::time::local_midnight(
            switchboard_desk::time::unix_ms(),
        ));
    }

    /// Works the shared mailbox: a worker on its own thread (IMAP, IDLE)
    /// and the workspace's e-mail rules; mails a crash left claimed come
    /// back with their drafts.
    pub fn start_mail(
        &mut self,
        settings: mail_worker::MailSettings,
        config: switchboard_desk::workspace::MailConfig,
        wake: Wake,
    ) -> std::io::Result<()> {
        let w = mail_worker::MailWorker::spawn(settings, Box::new(move || wake.wake()))?;
        self.mail = Some(w);
        self.ws.set_mail(Now::system(), Some(config));
        Ok(())
    }

    /// The desk is closing: drafts written, the claims with nothing typed
    /// given back to the queue (bounded: the worker gives it a few seconds).
    pub fn shutdown(&mut self) {
        let now = Now::system();
        // The team's board hears this desk is gone.
        self.ws.publish_closing(now);
        self.drain_actions();
        self.ws.mail_shutdown(now);
        let mut release = Vec::new();
        for a in self.ws.take_actions() {
            if let Action::Mail(switchboard_desk::email::MailCommand::Release(uid)) = a {
                release.push(uid);
            }
        }
        if let Some(w) = self.mail.take() {
            w.stop(release);
        }
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
        // Bounded: a dial refused at once produces one more round at most.
        for _ in 0..4 {
            let actions = self.ws.take_actions();
            if actions.is_empty() {
                return;
            }
            for a in actions {
                match a {
                    Action::Phone(switchboard_desk::workspace::PhoneCommand::Dial(uri))
                        if self.phone_down.is_some() =>
                    {
                        // No phone to place it: say so now, not after a timeout.
                        let error = self.phone_down.clone().unwrap_or_default();
                        self.ws.handle(
                            Now::system(),
                            switchboard_desk::workspace::PhoneEvent::CommandFailed {
                                command: format!("call {uri}"),
                                error,
                            },
                        );
                    }
                    Action::Phone(c) => self.outbox.push(bridge::command(c)),
                    Action::LookupCrm { call_id, url } => {
                        if let Some(w) = &self.crm {
                            w.lookup(&call_id, url);
                        }
                    }
                    Action::LookupTickets { call_id, url } => {
                        if let Some(w) = &self.tickets {
                            w.lookup(&call_id, url);
                        }
                    }
                    Action::OutboxQueued => {
                        if let Some(o) = &self.outbox_worker {
                            o.poke();
                        }
                    }
                    Action::Mail(c) => {
                        if let Some(m) = &self.mail {
                            m.send(c);
                        }
                    }
                    Action::LookupTeam { call_id, number } => {
                        if let Some(t) = &self.team {
                            t.lookup(&call_id, &number);
                        }
                    }
                    Action::LookupTeamMail { row, address } => {
                        if let Some(t) = &self.team {
                            t.lookup_mail(row, &address);
                        }
                    }
                    Action::TeamPresence(p) => {
                        if let Some(t) = &self.team {
                            t.presence(p);
                        }
                    }
                }
            }
        }
    }

    /// The phone could not start: calls dialled fail at once with `reason`.
    pub fn set_phone_down(&mut self, reason: String) {
        self.phone_down = Some(reason);
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
        self.refresh_board(now);
        self.ws.tick(Now {
            at: now,
            unix_ms: switchboard_desk::time::unix_ms(),
        });
        self.drain_actions();
    }

    // ------------------------------------------------------------ the operator

    // ------------------------------------------------------------ the frame

    /// Draws the desk and applies what the operator did.
    pub fn ui(&mut self, ui: &mut egui::Ui, now: Instant) {
        // Time passes before the frame is drawn: a wrap-up whose time ran
        // out shows as over in this frame, not in one that may never come
        // (an idle desk repaints only while a timer is on screen).
        self.tick(now);
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
            supervisor: self.supervisor.as_ref(),
            board: self.board.as_ref(),
            dispositions: &dispositions,
            break_reasons: &break_reasons,
            contacts_version: self.contacts_version,
            knowledge: self.knowledge.as_ref().map(|(_, index)| index),
            knowledge_version: self.knowledge_version,
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
        // Each intent drains the actions it caused; what comes from the
        // background meanwhile wakes the next frame, which ticks first.
        for i in intents {
            self.apply(now, i);
        }
    }
}
