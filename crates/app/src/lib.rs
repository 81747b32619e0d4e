//! # switchboard — the agent desktop
//!
//! ```text
//!  engine events ──▶ DeskApp::handle_event ──▶ desk::Agent (reducer) ──▶ state, caller card
//!  operator ──▶ DeskApp::ui (egui panels return intents) ──▶ DeskApp::apply ──▶ engine Commands
//!                                                         └──▶ desk::Store (history, drafts, notes)
//! ```
//!
//! [`DeskApp`] owns no sockets and no devices: the binary (`main.rs`) starts the
//! engine, forwards its events here (waking the UI only when one arrives, so an
//! idle desktop does not repaint), and sends the commands [`DeskApp::take_commands`]
//! returns. Tests drive the same `DeskApp` with egui_kittest, as an operator would.
//!
//! Panels: the top bar (registration, agent state), the incoming-call banner
//! with the caller card (before answering), the call panel (timer, mute,
//! keypad, hang up, hold and transfer), and the wrap-up form whose note is
//! saved as a draft while typing.
#![deny(unsafe_code)]

pub mod crm_worker;
pub mod i18n;
pub mod notify;
pub mod practice;
mod settings;

pub use crm_worker::CrmWorker;

pub use i18n::Lang;

use std::time::{Duration, Instant};

use switchboard_desk::agent::{Agent, AgentState, CallRef, Effect, Input, Policy};
use switchboard_desk::config::SettingsEdit;
use switchboard_desk::context::{CallerCard, HeaderRule, caller_card};
use switchboard_desk::store::{CallRecord, Draft, Store};
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;

/// Desk settings (from the configuration file).
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// After-call work rules.
    pub policy: Policy,
    /// Which headers show on the caller card, and how.
    pub header_rules: Vec<HeaderRule>,
    /// Wrap-up dispositions.
    pub dispositions: Vec<String>,
    /// Break reasons.
    pub break_reasons: Vec<String>,
    /// Quick-connect transfer targets: label and SIP URI.
    pub quick_connect: Vec<(String, String)>,
}

impl DeskConfig {
    /// The desk settings from the configuration file's `[desk]` section;
    /// what it leaves out keeps its default. Returns the language too.
    pub fn from_file(section: Option<switchboard_desk::config::DeskSection>) -> (DeskConfig, Lang) {
        let mut c = DeskConfig::default();
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
        if let Some(v) = d.dispositions {
            c.dispositions = v;
        }
        if let Some(v) = d.break_reasons {
            c.break_reasons = v;
        }
        if let Some(v) = d.header_rules {
            c.header_rules = v
                .into_iter()
                .map(|r| HeaderRule {
                    header: r.header,
                    label: r.label,
                })
                .collect();
        }
        if let Some(v) = d.quick_connect {
            c.quick_connect = v.into_iter().map(|q| (q.label, q.uri)).collect();
        }
        let lang = d
            .language
            .as_deref()
            .and_then(Lang::from_code)
            .unwrap_or_default();
        (c, lang)
    }
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            policy: Policy::default(),
            header_rules: vec![
                HeaderRule {
                    header: "X-Queue".into(),
                    label: "Queue".into(),
                },
                HeaderRule {
                    header: "X-IVR-Data".into(),
                    label: "IVR".into(),
                },
            ],
            dispositions: vec![
                "Question answered".into(),
                "Order".into(),
                "Complaint".into(),
                "Ticket opened".into(),
            ],
            break_reasons: vec!["Lunch".into(), "Training".into(), "Short break".into()],
            quick_connect: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
struct Ringing {
    call: u64,
    call_id: String,
    card: CallerCard,
    history: Vec<CallRecord>,
    contact: Option<switchboard_desk::store::Contact>,
    crm: Option<CrmView>,
}

/// The caller's CRM record as far as it is known.
#[derive(Debug, Clone)]
struct CrmView {
    link: String,
    state: CrmState,
}

#[derive(Debug, Clone)]
enum CrmState {
    Pending,
    Fields(Vec<(String, String)>),
    Failed(String),
}

#[derive(Debug, Clone)]
struct Active {
    call: u64,
    call_id: String,
    card: CallerCard,
    since: Instant,
    muted: bool,
    codec: Option<String>,
    /// MOS, loss %, jitter ms from the latest quality report.
    quality: Option<(f64, f64, f64)>,
    /// Microphone and speaker level (dBFS) from the latest meter report.
    levels: Option<(f32, f32)>,
    crm: Option<CrmView>,
    /// We hold the caller / the caller holds us.
    held: bool,
    remote_held: bool,
    /// An attended transfer's consultation call.
    consult: Option<ConsultView>,
    /// A transfer under way: kind (blind, attended), target, last status.
    transfer: Option<(&'static str, String, Option<u16>)>,
    /// The caller's side asks to transfer us to this target.
    transfer_request: Option<String>,
}

#[derive(Debug, Clone)]
struct ConsultView {
    /// The consultation call, once the engine has placed it.
    call: Option<u64>,
    target: String,
    up: bool,
    /// All three talk (mixed here).
    conference: bool,
}

#[derive(Debug, Clone)]
struct WrapUp {
    call_id: String,
    number: String,
    /// Where the call was transferred (from the store), shown with the note.
    transfers: Option<String>,
    draft: Draft,
    /// When the draft changed and was not yet saved.
    dirty_since: Option<Instant>,
}

/// What the operator asked for in this frame (panels return these; they are
/// applied after the frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Answer the ringing call.
    Answer,
    /// Decline the ringing call.
    Decline,
    /// Hang up.
    Hangup,
    /// Mute or unmute.
    Mute(bool),
    /// Send a DTMF key.
    Dtmf(char),
    /// Hold, or resume when held.
    Hold,
    /// Transfer to this target: blind, or a consultation first when
    /// "consult first" is ticked.
    Transfer(String),
    /// Consult this target (the caller is held meanwhile).
    Consult(String),
    /// Connect the held caller to the consulted party.
    CompleteTransfer,
    /// End the consultation and return to the caller.
    CancelConsult,
    /// Join the caller and the consulted party in a three-way conference.
    Conference,
    /// Drop the consulted party from the conference (the caller stays).
    DropConsult,
    /// Answer the caller's side's request to transfer us.
    AnswerTransferRequest(bool),
    /// Go back to this held call (the one in hand is held).
    Switch(u64),
    /// Place a call.
    Dial(String),
    /// Save the wrap-up.
    SaveWrapUp,
    /// Change the agent state.
    SetState(AgentState),
    /// Save the settings screen.
    SaveSettings,
    /// Start or stop the headset test.
    HeadsetTest(bool),
}

/// The desktop's state and logic, without I/O.
#[derive(Debug)]
pub struct DeskApp {
    config: DeskConfig,
    agent: Agent,
    store: Option<Store>,
    registration: String,
    ringing: Option<Ringing>,
    /// A second call offered while one is up (call waiting).
    waiting: Option<Ringing>,
    active: Option<Active>,
    /// Calls on hold behind the active one.
    held_calls: Vec<Active>,
    wrap: Option<WrapUp>,
    /// Wrap-ups of other calls waiting their turn (a held caller who hung
    /// up while the operator was busy with another form), oldest first.
    later: std::collections::VecDeque<WrapUp>,
    dial: String,
    transfer_to: String,
    /// Transfer buttons consult first (attended) instead of transferring blind.
    consult_first: bool,
    search: String,
    import_path: String,
    status: Option<String>,
    outbox: Vec<Command>,
    started: Instant,
    lang: Lang,
    /// The ringer was last told to ring (after the outbox was taken).
    ring_sent: bool,
    crm: Option<CrmWorker>,
    /// The call the desktop notification was shown for.
    notified: Option<u64>,
    settings: settings::Form,
    /// Quick-connects of the practice line (shown, never saved to the file).
    practice_targets: Vec<(String, String)>,
    /// Where Save writes the settings, and what was saved last.
    settings_file: Option<std::path::PathBuf>,
    saved_settings: Option<SettingsEdit>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0)
}

/// Widget ids of the fields shortcuts move the focus to.
const DIAL_FIELD: &str = "dial";
const TRANSFER_FIELD: &str = "transfer-to";

/// Drafts are written at most this long after a change.
const DRAFT_DELAY: Duration = Duration::from_millis(300);

impl DeskApp {
    /// A desk with its settings and (optionally) its database.
    pub fn new(config: DeskConfig, store: Option<Store>) -> DeskApp {
        let agent = Agent::new(config.policy.clone());
        let mut app = DeskApp {
            config,
            agent,
            store,
            registration: String::new(),
            ringing: None,
            waiting: None,
            active: None,
            held_calls: Vec::new(),
            wrap: None,
            later: std::collections::VecDeque::new(),
            dial: String::new(),
            transfer_to: String::new(),
            consult_first: false,
            search: String::new(),
            import_path: String::new(),
            status: None,
            outbox: Vec::new(),
            started: Instant::now(),
            lang: Lang::default(),
            ring_sent: false,
            crm: None,
            notified: None,
            settings: settings::Form::default(),
            practice_targets: Vec::new(),
            settings_file: None,
            saved_settings: None,
        };
        app.settings = settings::Form::from_edit(&app.current_settings());
        app.recover_drafts();
        app
    }

    /// A wrap-up left open by a crash comes back on screen as it was.
    fn recover_drafts(&mut self) {
        let Some(store) = &self.store else { return };
        let Ok(pending) = store.pending_drafts() else {
            return;
        };
        let restored = !pending.is_empty();
        // Every form left open comes back, the newest first.
        for (call_id, draft) in pending.into_iter().rev() {
            self.open_wrap_up(WrapUp {
                call_id,
                number: String::new(),
                transfers: None,
                draft,
                dirty_since: None,
            });
        }
        if restored {
            self.status = Some(Lang::default().tr("restored"));
        }
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
    pub fn set_settings_file(&mut self, path: Option<std::path::PathBuf>, current: SettingsEdit) {
        self.settings_file = path;
        self.saved_settings = Some(current);
        self.settings = settings::Form::from_edit(&self.current_settings());
    }

    fn save_settings(&mut self) {
        let l = self.lang;
        let edit = match self.settings.to_edit(l) {
            Ok(e) => e,
            Err(e) => {
                self.status = Some(e);
                return;
            }
        };
        self.config.policy.wrap_up = Duration::from_secs(edit.wrap_up_secs);
        self.config.policy.auto_available = edit.auto_available;
        self.agent.set_policy(self.config.policy.clone());
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
        self.outbox.push(Command::SetDevices {
            input: edit.input_device.clone(),
            output: edit.output_device.clone(),
            ringer: edit.ringer_device.clone(),
        });
        let account_changed = self.saved_settings.as_ref().is_some_and(|s| {
            (&s.registrar, &s.username, &s.display_name)
                != (&edit.registrar, &edit.username, &edit.display_name)
        });
        self.status = Some(match &self.settings_file {
            Some(path) => match switchboard_desk::config::save(path, &edit) {
                Ok(()) if account_changed => l.tr("settings-saved-restart"),
                Ok(()) => l.tr("settings-saved"),
                Err(e) => e.to_string(),
            },
            None => l.tr("settings-applied"),
        });
        self.saved_settings = Some(edit);
    }

    /// Extra quick-connect buttons for the practice line's colleagues; they
    /// are not settings and are never written to the configuration file.
    pub fn set_practice_targets(&mut self, targets: Vec<(String, String)>) {
        self.practice_targets = targets;
    }

    /// Looks callers up in the CRM while their call rings.
    pub fn set_crm(&mut self, worker: CrmWorker) {
        self.crm = Some(worker);
    }

    /// Takes finished CRM lookups onto the card they belong to.
    fn poll_crm(&mut self) {
        let Some(w) = &self.crm else { return };
        for done in w.poll() {
            // Whichever card the call is on now: ringing, waiting, in hand or held.
            let view = self
                .ringing
                .iter_mut()
                .chain(self.waiting.iter_mut())
                .filter(|r| r.call_id == done.call_id)
                .find_map(|r| r.crm.as_mut())
                .or_else(|| {
                    self.active
                        .iter_mut()
                        .chain(self.held_calls.iter_mut())
                        .filter(|a| a.call_id == done.call_id)
                        .find_map(|a| a.crm.as_mut())
                });
            if let Some(v) = view {
                v.state = match done.result {
                    Ok(f) => CrmState::Fields(f),
                    Err(e) => CrmState::Failed(e.to_string()),
                };
            }
        }
    }

    /// The agent's state.
    pub fn agent_state(&self) -> &AgentState {
        self.agent.state()
    }

    /// Whether the last ring command started the ringer.
    fn ringer_on(&self) -> bool {
        self.outbox
            .iter()
            .rev()
            .find_map(|c| match c {
                Command::Ring { on } => Some(*on),
                _ => None,
            })
            .unwrap_or(self.ring_sent)
    }

    /// Engine commands produced since the last call.
    pub fn take_commands(&mut self) -> Vec<Command> {
        self.ring_sent = self.ringer_on();
        std::mem::take(&mut self.outbox)
    }

    /// Desktop notifications due since the last call: one when a call starts
    /// ringing, a close when it stops.
    pub fn take_notices(&mut self) -> Vec<notify::Notice> {
        let mut out = Vec::new();
        let ringing = self.ringing.as_ref().map(|r| r.call);
        if ringing == self.notified {
            return out;
        }
        if self.notified.is_some() {
            out.push(notify::Notice::Close);
        }
        if let Some(r) = &self.ringing {
            let l = self.lang;
            let mut body = vec![l.tr_with("number", &[("number", r.card.number.clone())])];
            body.extend(r.card.fields.iter().map(|(k, v)| format!("{k}: {v}")));
            out.push(notify::Notice::Ringing {
                summary: l.tr_with(
                    "incoming",
                    &[("who", r.card.name.clone().unwrap_or(r.card.number.clone()))],
                ),
                body: body.join("\n"),
            });
        }
        self.notified = ringing;
        out
    }

    /// Whether something on screen changes with time (call timer, countdown),
    /// so the UI should repaint once a second; otherwise it sleeps.
    pub fn needs_clock(&self) -> bool {
        self.active.is_some()
            || self.wrap.is_some()
            || self.ringing.is_some()
            || self.waiting.is_some()
    }

    fn effects(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::StateChanged("ringing") => self.outbox.push(Command::Ring { on: true }),
                Effect::StateChanged(_) if self.ringer_on() => {
                    self.outbox.push(Command::Ring { on: false })
                }
                Effect::Answer(c) => self.outbox.push(Command::Answer { call: c.0 }),
                Effect::Reject(c, status) => {
                    self.outbox.push(Command::Reject { call: c.0, status })
                }
                Effect::Hangup(c) => self.outbox.push(Command::Hangup { call: c.0 }),
                // The engine turns ringing into the call-waiting tone while a call is up.
                Effect::CallWaiting(_) => self.outbox.push(Command::Ring { on: true }),
                Effect::WaitingOver if self.ringer_on() => {
                    self.outbox.push(Command::Ring { on: false })
                }
                Effect::OpenWrapUp(_) | Effect::StateChanged(_) | Effect::WaitingOver => {}
            }
        }
    }

    /// Feeds one engine event.
    pub fn handle_event(&mut self, now: Instant, ev: &EventKind) {
        match ev {
            EventKind::Registered { expires } => {
                self.registration = self
                    .lang
                    .tr_with("registered", &[("expires", expires.to_string())]);
            }
            EventKind::RegistrationFailed { reason, .. } => {
                self.registration = self
                    .lang
                    .tr_with("registration-failed", &[("reason", reason.clone())]);
            }
            EventKind::Unregistered => self.registration = String::new(),
            EventKind::Incoming {
                call,
                call_id,
                headers,
                ..
            } => {
                let mut h = switchboard_sip::message::Headers::new();
                for (n, v) in headers {
                    h.push(n.clone(), v.clone());
                }
                let card = caller_card(&h, &self.config.header_rules);
                let fx = self.agent.apply(now, Input::Incoming(CallRef(*call)));
                let offered =
                    matches!(self.agent.state(), AgentState::Ringing { call: c } if c.0 == *call);
                let waiting = self.agent.waiting() == Some(CallRef(*call));
                self.effects(fx);
                if offered || waiting {
                    let history = self
                        .store
                        .as_ref()
                        .and_then(|s| s.history(&card.number, 5).ok())
                        .unwrap_or_default();
                    if let Some(s) = &self.store {
                        let _ = s.record_call(&CallRecord {
                            call_id: call_id.clone(),
                            direction: switchboard_desk::store::Direction::In,
                            number: card.number.clone(),
                            name: card.name.clone(),
                            queue: card
                                .fields
                                .iter()
                                .find(|(k, _)| k == "Queue")
                                .map(|(_, v)| v.clone()),
                            started_ms: now_ms(),
                            ..CallRecord::default()
                        });
                    }
                    let contact = self
                        .store
                        .as_ref()
                        .and_then(|s| s.contact_by_number(&card.number).ok().flatten());
                    let crm = self.crm.as_ref().map(|w| {
                        w.lookup(call_id, w.crm().url_for(&card, call_id));
                        CrmView {
                            link: w.crm().link_for(&card, call_id),
                            state: CrmState::Pending,
                        }
                    });
                    let r = Ringing {
                        call: *call,
                        call_id: call_id.clone(),
                        card,
                        history,
                        contact,
                        crm,
                    };
                    if waiting {
                        self.waiting = Some(r);
                    } else {
                        self.ringing = Some(r);
                    }
                }
            }
            EventKind::Established { call, .. } if self.consult_call() == Some(*call) => {
                if let Some(c) = self.active.as_mut().and_then(|a| a.consult.as_mut()) {
                    c.up = true;
                }
            }
            EventKind::Established { call, .. } => {
                let fx = self.agent.apply(now, Input::Established(CallRef(*call)));
                self.effects(fx);
                let answered = match self.waiting.take_if(|r| r.call == *call) {
                    Some(w) => {
                        // The call in hand goes on hold behind the new one.
                        self.held_calls.extend(self.active.take());
                        Some(w)
                    }
                    None => self.ringing.take_if(|r| r.call == *call),
                };
                if let Some(r) = answered {
                    if let Some(s) = &self.store {
                        let _ = s.call_answered(&r.call_id, now_ms());
                    }
                    self.active = Some(Active {
                        call: r.call,
                        call_id: r.call_id,
                        card: r.card,
                        since: now,
                        muted: false,
                        codec: None,
                        quality: None,
                        levels: None,
                        crm: r.crm,
                        held: false,
                        remote_held: false,
                        consult: None,
                        transfer: None,
                        transfer_request: None,
                    });
                }
            }
            EventKind::MediaStarted { call, codec, .. } => {
                if let Some(a) = self.active.as_mut().filter(|a| a.call == *call) {
                    a.codec = Some(codec.clone());
                }
            }
            EventKind::Ended { call, .. } if self.consult_call() == Some(*call) => {
                if let Some(a) = self.active.as_mut() {
                    a.consult = None;
                }
            }
            EventKind::Ended { call, .. } => {
                let fx = self.agent.apply(now, Input::Ended(CallRef(*call)));
                self.ringing.take_if(|r| r.call == *call);
                self.waiting.take_if(|r| r.call == *call);
                if let Some(pos) = self.held_calls.iter().position(|h| h.call == *call) {
                    // A held caller hung up: their wrap-up opens beside the
                    // call in hand (or waits behind a form already open).
                    let h = self.held_calls.remove(pos);
                    if let Some(s) = &self.store {
                        let _ = s.call_ended(&h.call_id, now_ms());
                    }
                    if fx.iter().any(|e| matches!(e, Effect::OpenWrapUp(_))) {
                        let w = self.wrap_up_for(h.call_id, h.card.number);
                        self.open_wrap_up(w);
                    }
                }
                if let Some(a) = self.active.take_if(|a| a.call == *call) {
                    if let Some(s) = &self.store {
                        let _ = s.call_ended(&a.call_id, now_ms());
                    }
                    if fx.iter().any(|e| matches!(e, Effect::OpenWrapUp(_))) {
                        // A form still open stays as it is; this one waits behind it.
                        let w = self.wrap_up_for(a.call_id, a.card.number);
                        self.open_wrap_up(w);
                    }
                    // A waiting call now rings as any call.
                    if let AgentState::Ringing { call: w } = self.agent.state()
                        && let Some(r) = self.waiting.take_if(|r| r.call == w.0)
                    {
                        self.ringing = Some(r);
                    }
                    // A held call comes back to hand (still on hold).
                    if let AgentState::InCall { call: next } = self.agent.state()
                        && let Some(pos) = self.held_calls.iter().position(|h| h.call == next.0)
                    {
                        self.active = Some(self.held_calls.remove(pos));
                    }
                }
                self.effects(fx);
            }
            EventKind::Quality {
                call,
                stats,
                loss_percent,
                mos,
            } => {
                if let Some(a) = self.active.as_mut().filter(|a| a.call == *call) {
                    a.quality = Some((*mos, *loss_percent, stats.jitter_ms));
                }
            }
            EventKind::Levels {
                call,
                mic_dbfs,
                speaker_dbfs,
            } => {
                if let Some(a) = self.active.as_mut().filter(|a| a.call == *call) {
                    let (mic, spk) = a.levels.unwrap_or((-120.0, -120.0));
                    a.levels = Some((fall(mic, *mic_dbfs), fall(spk, *speaker_dbfs)));
                }
            }
            EventKind::Held {
                call,
                local,
                remote,
            } => {
                for a in self.active.iter_mut().chain(self.held_calls.iter_mut()) {
                    if a.call == *call {
                        a.held = *local;
                        a.remote_held = *remote;
                    }
                }
            }
            EventKind::Consulting { call, consult } => {
                if let Some(c) = self
                    .active
                    .as_mut()
                    .filter(|a| a.call == *call)
                    .and_then(|a| a.consult.as_mut())
                {
                    c.call = Some(*consult);
                }
            }
            EventKind::Conference { call, on, .. } => {
                if let Some(a) = self.active.as_mut().filter(|a| a.call == *call) {
                    if let Some(c) = a.consult.as_mut() {
                        c.conference = *on;
                    }
                    // In the conference (and after it) the caller is not held.
                    a.held = false;
                }
            }
            EventKind::TransferProgress { call, status, done } => {
                self.transfer_progress(*call, *status, *done);
            }
            EventKind::TransferRequested { call, target } => {
                if let Some(a) = self.active.as_mut().filter(|a| a.call == *call) {
                    a.transfer_request = Some(target.clone());
                }
            }
            EventKind::Replaced {
                old,
                new,
                call_id,
                headers,
            } => self.replaced(now, *old, *new, call_id, headers),
            EventKind::AudioDevice { message, .. } => self.status = Some(message.clone()),
            EventKind::Devices { inputs, outputs } => {
                self.settings.devices = Some((inputs.clone(), outputs.clone()));
            }
            EventKind::MicTest {
                mic_dbfs,
                input,
                output,
            } if self.settings.testing => {
                let before = self.settings.mic.as_ref().map_or(-120.0, |m| m.0);
                self.settings.mic = Some((fall(before, *mic_dbfs), input.clone(), output.clone()));
            }
            EventKind::CommandFailed { command, error } => {
                self.status = Some(format!("{command}: {error}"));
                // A consultation that could not be placed is gone.
                if command.starts_with("consult ")
                    && let Some(a) = self.active.as_mut()
                {
                    a.consult.take_if(|c| c.call.is_none());
                }
            }
            EventKind::Transferred {
                call,
                new_call,
                target,
            } => self.transferred(now, *call, *new_call, target),
            _ => {}
        }
    }

    fn transfer_progress(&mut self, call: u64, status: u16, done: bool) {
        let l = self.lang;
        let Some(a) = self.active.as_mut().filter(|a| a.call == call) else {
            return;
        };
        let Some((kind, target, last)) = a.transfer.as_mut() else {
            return;
        };
        *last = Some(status);
        if !done {
            return;
        }
        let hop = format!("{kind} to {target}: {status}");
        if let Some(s) = &self.store {
            let _ = s.record_transfer(&a.call_id, &hop);
        }
        if !(200..300).contains(&status) {
            self.status = Some(l.tr_with("transfer-failed", &[("status", status.to_string())]));
            a.transfer = None;
        }
    }

    /// The conversation in hand goes on on call `new` with the peer `card`
    /// (we were put through, or a caller was put through to us): the agent
    /// stays in the call, the call panel follows; `hop` joins the old call's
    /// transfer chain. Returns the old call's Call-ID.
    fn take_over(
        &mut self,
        now: Instant,
        old: u64,
        new: u64,
        card: CallerCard,
        hop: &str,
    ) -> Option<String> {
        let fx = self.agent.apply(
            now,
            Input::Replaced {
                old: CallRef(old),
                new: CallRef(new),
            },
        );
        self.effects(fx);
        let a = self.active.as_mut().filter(|a| a.call == old)?;
        if let Some(s) = &self.store {
            let _ = s.record_transfer(&a.call_id, hop);
        }
        let old_id = a.call_id.clone();
        a.call = new;
        a.card = card;
        a.held = false;
        a.remote_held = false;
        a.consult = None;
        a.transfer = None;
        a.transfer_request = None;
        Some(old_id)
    }

    /// The other side put us through to `target` (we were transferred): the
    /// desk must show the new call and be able to hang it up.
    fn transferred(&mut self, now: Instant, old: u64, new: u64, target: &str) {
        let card = CallerCard {
            number: target.to_owned(),
            ..CallerCard::default()
        };
        self.take_over(now, old, new, card, &format!("put through to {target}"));
    }

    /// An attended transfer to us: the same conversation goes on with the
    /// caller who was put through (a call of its own in the history).
    fn replaced(
        &mut self,
        now: Instant,
        old: u64,
        new: u64,
        call_id: &str,
        headers: &[(String, String)],
    ) {
        let mut h = switchboard_sip::message::Headers::new();
        for (n, v) in headers {
            h.push(n.clone(), v.clone());
        }
        let card = caller_card(&h, &self.config.header_rules);
        let hop = format!("replaced by {}", card.number);
        let Some(old_id) = self.take_over(now, old, new, card.clone(), &hop) else {
            return;
        };
        if let Some(s) = &self.store {
            let _ = s.call_ended(&old_id, now_ms());
            let _ = s.record_call(&CallRecord {
                call_id: call_id.to_owned(),
                direction: switchboard_desk::store::Direction::In,
                number: card.number.clone(),
                name: card.name.clone(),
                started_ms: now_ms(),
                answered_ms: Some(now_ms()),
                ..CallRecord::default()
            });
        }
        if let Some(a) = self.active.as_mut() {
            a.call_id = call_id.to_owned();
        }
    }

    /// Time passed: wrap-up deadline, and the draft written if it waited long enough.
    pub fn tick(&mut self, now: Instant) {
        self.poll_crm();
        self.flush_draft(now, false);
        let fx = self.agent.apply(now, Input::Tick);
        if fx
            .iter()
            .any(|e| matches!(e, Effect::StateChanged("available")))
        {
            // Auto-return: what was typed is kept as the note.
            self.finish_all_wrap_ups();
        }
        self.effects(fx);
    }

    fn flush_draft(&mut self, now: Instant, force: bool) {
        let Some(w) = self.wrap.as_mut() else { return };
        let Some(since) = w.dirty_since else { return };
        if !force && now.duration_since(since) < DRAFT_DELAY {
            return;
        }
        if let Some(s) = &self.store {
            match s.save_draft(&w.call_id, &w.draft, now_ms()) {
                Ok(()) => w.dirty_since = None,
                Err(e) => self.status = Some(format!("could not save the draft: {e}")),
            }
        } else {
            w.dirty_since = None;
        }
    }

    /// Saves the form on screen and brings up the next one waiting; false
    /// when the store refused it (it stays on screen with the reason).
    fn finish_wrap_up(&mut self) -> bool {
        let Some(w) = self.wrap.take() else {
            return true;
        };
        if let Some(s) = self.store.as_mut()
            && let Err(e) = s.finish_wrap_up(&w.call_id, &w.draft)
        {
            self.status = Some(format!("could not save the wrap-up: {e}"));
            self.wrap = Some(w);
            return false;
        }
        self.wrap = self.later.pop_front();
        true
    }

    /// Every open form saved as typed (the shift moves on: auto-return,
    /// break, offline), up to one the store refuses.
    fn finish_all_wrap_ups(&mut self) {
        while self.wrap.is_some() && self.finish_wrap_up() {}
    }

    /// The engine's handle of the consultation call under way, once placed.
    fn consult_call(&self) -> Option<u64> {
        self.active
            .as_ref()
            .and_then(|a| a.consult.as_ref())
            .and_then(|c| c.call)
    }

    /// A fresh wrap-up form for a call that ended, with its transfer chain.
    fn wrap_up_for(&self, call_id: String, number: String) -> WrapUp {
        let transfers = self
            .store
            .as_ref()
            .and_then(|s| s.call(&call_id).ok().flatten())
            .and_then(|c| c.transfers);
        WrapUp {
            call_id,
            number,
            transfers,
            draft: Draft::default(),
            dirty_since: None,
        }
    }

    /// Shows a wrap-up form, or queues it behind the one being filled in.
    fn open_wrap_up(&mut self, w: WrapUp) {
        if self.wrap.is_none() {
            self.wrap = Some(w);
        } else {
            self.later.push_back(w);
        }
    }

    fn panels(&mut self, ui: &mut egui::Ui, now: Instant, intents: &mut Vec<Intent>) {
        if let Some(r) = self.ringing.clone() {
            incoming_banner(ui, self.lang, &r, false, intents);
        }
        if let Some(r) = self.waiting.clone() {
            incoming_banner(ui, self.lang, &r, true, intents);
        }
        if let Some(a) = self.active.clone() {
            self.call_panel(ui, &a, now, intents);
        }
        let l = self.lang;
        for h in &self.held_calls {
            ui.horizontal(|ui| {
                let who = h.card.name.clone().unwrap_or(h.card.number.clone());
                ui.label(l.tr_with("held-call", &[("who", who)]));
                if ui.button(l.tr("resume")).clicked() {
                    intents.push(Intent::Switch(h.call));
                }
            });
        }
        if self.wrap.is_some() {
            self.wrap_up_panel(ui, now, intents);
        }
        if self.active.is_none() && self.ringing.is_none() {
            self.dial_panel(ui, intents);
        }
        self.history_panel(ui);
        self.contacts_panel(ui);
        self.settings_panel(ui, intents);
    }

    /// Carries out one intent.
    pub fn apply(&mut self, now: Instant, intent: Intent) {
        match intent {
            Intent::Answer => {
                let fx = self.agent.apply(now, Input::Answer);
                self.effects(fx);
            }
            Intent::Decline => {
                let fx = self.agent.apply(now, Input::Decline);
                self.effects(fx);
            }
            Intent::Hangup => {
                let fx = self.agent.apply(now, Input::Hangup);
                self.effects(fx);
            }
            Intent::Mute(m) => {
                if let Some(a) = self.active.as_mut() {
                    a.muted = m;
                    self.outbox.push(Command::Mute {
                        call: a.call,
                        muted: m,
                    });
                    // In a conference the operator is muted towards both.
                    if let Some(other) = a
                        .consult
                        .as_ref()
                        .filter(|c| c.conference)
                        .and_then(|c| c.call)
                    {
                        self.outbox.push(Command::Mute {
                            call: other,
                            muted: m,
                        });
                    }
                }
            }
            Intent::Dtmf(k) => {
                if let Some(a) = &self.active {
                    self.outbox.push(Command::Dtmf {
                        call: a.call,
                        digits: k.to_string(),
                    });
                }
            }
            Intent::Hold => {
                if let Some(a) = &self.active {
                    self.outbox.push(if a.held {
                        Command::Resume { call: a.call }
                    } else {
                        Command::Hold { call: a.call }
                    });
                }
            }
            Intent::Transfer(target) if self.consult_first => {
                self.apply(now, Intent::Consult(target));
            }
            Intent::Transfer(target) => {
                let target = target.trim().to_owned();
                if let Some(a) = self.active.as_mut().filter(|_| !target.is_empty()) {
                    self.outbox.push(Command::Transfer {
                        call: a.call,
                        target: target.clone(),
                    });
                    a.transfer = Some(("blind", target, None));
                }
            }
            Intent::Consult(target) => {
                let target = target.trim().to_owned();
                if let Some(a) = self
                    .active
                    .as_mut()
                    .filter(|a| !target.is_empty() && a.consult.is_none())
                {
                    self.outbox.push(Command::Consult {
                        call: a.call,
                        target: target.clone(),
                    });
                    if let Some(s) = &self.store {
                        let _ = s.record_transfer(&a.call_id, &format!("consult with {target}"));
                    }
                    a.consult = Some(ConsultView {
                        call: None,
                        target,
                        up: false,
                        conference: false,
                    });
                }
            }
            Intent::CompleteTransfer => {
                if let Some(a) = self.active.as_mut()
                    && let Some(c) = &a.consult
                    && let Some(consult) = c.call
                {
                    self.outbox.push(Command::CompleteTransfer {
                        call: a.call,
                        consult,
                    });
                    a.transfer = Some(("attended", c.target.clone(), None));
                }
            }
            Intent::Conference => {
                if let Some(a) = &self.active
                    && let Some(other) = self.consult_call()
                {
                    self.outbox.push(Command::Conference {
                        call: a.call,
                        other,
                    });
                }
            }
            Intent::DropConsult => {
                if let Some(consult) = self.consult_call() {
                    self.outbox.push(Command::Hangup { call: consult });
                }
            }
            Intent::CancelConsult => {
                let Some(a) = self.active.as_mut() else {
                    return;
                };
                match a.consult.as_ref().and_then(|c| c.call) {
                    Some(consult) => self.outbox.push(Command::CancelConsult { consult }),
                    // Not placed yet: forget it and take the caller back.
                    None => {
                        a.consult = None;
                        self.outbox.push(Command::Resume { call: a.call });
                    }
                }
            }
            Intent::Switch(call) => {
                let Some(pos) = self.held_calls.iter().position(|h| h.call == call) else {
                    return;
                };
                let fx = self.agent.apply(now, Input::Switch(CallRef(call)));
                self.effects(fx);
                self.outbox.push(Command::Resume { call });
                let back = self.held_calls.remove(pos);
                self.held_calls.extend(self.active.replace(back));
            }
            Intent::AnswerTransferRequest(yes) => {
                if let Some(a) = self.active.as_mut()
                    && a.transfer_request.take().is_some()
                {
                    self.outbox.push(if yes {
                        Command::AcceptTransfer { call: a.call }
                    } else {
                        Command::RejectTransfer { call: a.call }
                    });
                }
            }
            Intent::Dial(target) => {
                let target = target.trim().to_owned();
                if !target.is_empty() {
                    self.outbox.push(Command::Call {
                        target,
                        headers: Vec::new(),
                    });
                }
            }
            Intent::SaveWrapUp => {
                self.flush_draft(now, true);
                self.finish_wrap_up();
                // After-call work ends with the last form saved.
                if self.wrap.is_none() {
                    let fx = self.agent.apply(now, Input::SaveWrapUp);
                    self.effects(fx);
                }
            }
            Intent::SaveSettings => self.save_settings(),
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
            Intent::SetState(s) => {
                if matches!(s, AgentState::Offline | AgentState::Break { .. }) {
                    self.flush_draft(now, true);
                    self.finish_all_wrap_ups();
                }
                let fx = self.agent.apply(now, Input::SetState(s));
                self.effects(fx);
            }
        }
    }

    /// Keyboard shortcuts (shown in the buttons' tooltips): F3 answer, F4 hang
    /// up, F5 available, F6 hold, F7 mute, F8 transfer (to the number field),
    /// F9 break, Ctrl+S save the wrap-up. Digits typed while no field has
    /// the focus and no call is up go to the dial field (dial by typing).
    fn shortcuts(&mut self, ui: &egui::Ui, intents: &mut Vec<Intent>) {
        let (f3, f4, f5, f6, f7, f8, f9, save) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::F3),
                i.key_pressed(egui::Key::F4),
                i.key_pressed(egui::Key::F5),
                i.key_pressed(egui::Key::F6),
                i.key_pressed(egui::Key::F7),
                i.key_pressed(egui::Key::F8),
                i.key_pressed(egui::Key::F9),
                i.modifiers.command && i.key_pressed(egui::Key::S),
            )
        });
        if f8 && self.active.is_some() {
            ui.memory_mut(|m| m.request_focus(egui::Id::unique(TRANSFER_FIELD)));
        }
        if f9 && let Some(reason) = self.config.break_reasons.first() {
            intents.push(Intent::SetState(AgentState::Break {
                reason: reason.clone(),
            }));
        }
        let idle = self.active.is_none() && self.ringing.is_none();
        if idle && ui.memory(|m| m.focused().is_none()) {
            let typed: String = ui.input(|i| {
                i.events
                    .iter()
                    .filter_map(|e| match e {
                        egui::Event::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect()
            });
            if !typed.is_empty()
                && typed
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
            {
                // The field takes focus and, in this same frame, the digits.
                ui.memory_mut(|m| m.request_focus(egui::Id::unique(DIAL_FIELD)));
            }
        }
        if f3 && (self.ringing.is_some() || self.waiting.is_some()) {
            intents.push(Intent::Answer);
        }
        if f4 && self.active.is_some() {
            intents.push(Intent::Hangup);
        }
        if f5 {
            intents.push(Intent::SetState(AgentState::Available));
        }
        if f6 && self.active.is_some() {
            intents.push(Intent::Hold);
        }
        if f7 && let Some(a) = &self.active {
            intents.push(Intent::Mute(!a.muted));
        }
        if save && self.wrap.is_some() {
            intents.push(Intent::SaveWrapUp);
        }
    }

    /// Draws the desk and applies what the operator did.
    pub fn ui(&mut self, ui: &mut egui::Ui, now: Instant) {
        self.poll_crm();
        let mut intents = Vec::new();
        self.shortcuts(ui, &mut intents);
        self.top_bar(ui, now, &mut intents);
        ui.separator();
        if let Some(msg) = &self.status {
            ui.colored_label(egui::Color32::from_rgb(200, 120, 0), msg);
        }
        // Everything below the top bar and the status line scrolls.
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| self.panels(ui, now, &mut intents));
        if !intents.is_empty() {
            // What the operator did shows at once (state, status line).
            ui.ctx().request_repaint();
        }
        for i in intents {
            self.apply(now, i);
        }
        self.tick(now);
    }

    /// Dial by typing (digits go here from anywhere) or with the dialpad;
    /// Enter or Call dials.
    fn dial_panel(&mut self, ui: &mut egui::Ui, intents: &mut Vec<Intent>) {
        let l = self.lang;
        ui.horizontal(|ui| {
            let label = ui.label(l.tr("dial"));
            let field = ui
                .add(egui::TextEdit::singleline(&mut self.dial).id(egui::Id::unique(DIAL_FIELD)))
                .labelled_by(label.id);
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button(l.tr("call")).clicked() || enter {
                intents.push(Intent::Dial(self.dial.clone()));
                self.dial.clear();
            }
        });
        egui::CollapsingHeader::new(l.tr("dialpad"))
            .default_open(false)
            .show(ui, |ui| {
                egui::Grid::new("dialpad").show(ui, |ui| {
                    for row in ["123", "456", "789", "*0#"] {
                        for k in row.chars() {
                            if ui
                                .add(
                                    egui::Button::new(k.to_string())
                                        .min_size(egui::vec2(36.0, 28.0)),
                                )
                                .clicked()
                            {
                                self.dial.push(k);
                            }
                        }
                        ui.end_row();
                    }
                });
            });
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, now: Instant, intents: &mut Vec<Intent>) {
        let l = self.lang;
        // Wraps on a narrow window instead of cutting off.
        ui.horizontal_wrapped(|ui| {
            let reg = if self.registration.is_empty() {
                l.tr("not-registered")
            } else {
                self.registration.clone()
            };
            ui.label(l.tr_with("account", &[("state", reg)]));
            ui.separator();
            let mut state = state_label(l, self.agent.state());
            if let Some(left) = self.agent.wrap_up_left(now) {
                // The after-call-work countdown, where the state is shown.
                state = format!("{state} ({} s)", left.as_secs());
            }
            ui.label(l.tr_with("state", &[("state", state)]));
            ui.separator();
            if ui
                .button(l.tr("available"))
                .on_hover_text(l.tr("available-tip"))
                .clicked()
            {
                intents.push(Intent::SetState(AgentState::Available));
            }
            ui.menu_button(l.tr("break"), |ui| {
                for r in &self.config.break_reasons {
                    if ui.button(r).clicked() {
                        intents.push(Intent::SetState(AgentState::Break { reason: r.clone() }));
                    }
                }
            })
            .response
            .on_hover_text(l.tr("break-tip"));
            if ui
                .button(l.tr("offline"))
                .on_hover_text(l.tr("offline-tip"))
                .clicked()
            {
                intents.push(Intent::SetState(AgentState::Offline));
            }
            ui.separator();
            // Headset and microphone: the device in use and the live level
            // (from the call, or from the headset test).
            let headset = match &self.settings.mic {
                Some((_, _, output)) => output.clone(),
                None if !self.settings.output.is_empty() => self.settings.output.clone(),
                None => l.tr("system-default"),
            };
            ui.label(l.tr_with("headset-indicator", &[("name", headset)]));
            let level = self
                .active
                .as_ref()
                .and_then(|a| a.levels.map(|(mic, _)| mic))
                .or(self.settings.mic.as_ref().map(|m| m.0));
            if let Some(db) = level {
                ui.add(egui::ProgressBar::new(meter(db)).desired_width(60.0))
                    .on_hover_text(l.tr_with("mic-level", &[("level", format!("{db:.0}"))]));
            }
            ui.separator();
            egui::ComboBox::from_label(l.tr("language"))
                .selected_text(self.lang.name())
                .show_ui(ui, |ui| {
                    for lang in Lang::ALL {
                        ui.selectable_value(&mut self.lang, lang, lang.name());
                    }
                });
        });
    }

    /// Call history with search by number, name or note text.
    fn history_panel(&mut self, ui: &mut egui::Ui) {
        let l = self.lang;
        let Some(store) = &self.store else { return };
        egui::CollapsingHeader::new(l.tr("history"))
            .default_open(false)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let label = ui.label(l.tr("search"));
                    ui.text_edit_singleline(&mut self.search)
                        .labelled_by(label.id);
                });
                let rows = if self.search.trim().is_empty() {
                    store.search("", 20)
                } else {
                    store.search(self.search.trim(), 20)
                };
                match rows {
                    Ok(rows) => {
                        for r in rows {
                            ui.label(format!(
                                "{} {} · {} · {}",
                                r.number,
                                r.name.as_deref().unwrap_or(""),
                                r.disposition.as_deref().unwrap_or("—"),
                                r.note.as_deref().unwrap_or("")
                            ));
                            if let Some(t) = &r.transfers {
                                ui.label(format!("   {}", t.replace('\n', " · ")));
                            }
                        }
                    }
                    Err(e) => {
                        ui.label(e.to_string());
                    }
                }
            });
    }

    /// Contacts: import a CSV file (name, number, company, note columns).
    fn contacts_panel(&mut self, ui: &mut egui::Ui) {
        let l = self.lang;
        if self.store.is_none() {
            return;
        }
        let mut import = false;
        egui::CollapsingHeader::new(l.tr("contacts"))
            .default_open(false)
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let label = ui.label(l.tr("csv-file"));
                    ui.text_edit_singleline(&mut self.import_path)
                        .labelled_by(label.id);
                    import = ui.button(l.tr("import")).clicked();
                });
            });
        if !import {
            return;
        }
        let path = self.import_path.trim().to_owned();
        let result = std::fs::read_to_string(&path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|text| {
                self.store
                    .as_mut()
                    .map(|s| s.import_contacts_csv(&text).map_err(|e| e.to_string()))
                    .unwrap_or(Ok(0))
            });
        self.status = Some(match result {
            Ok(n) => l.tr_with("imported", &[("count", n.to_string())]),
            Err(e) => e,
        });
    }

    /// Settings: account, audio devices with the headset test, desk rules.
    fn settings_panel(&mut self, ui: &mut egui::Ui, intents: &mut Vec<Intent>) {
        let l = self.lang;
        let shown = egui::CollapsingHeader::new(l.tr("settings"))
            .default_open(false)
            .show(ui, |ui| {
                let f = &mut self.settings;
                ui.strong(l.tr("account-settings"));
                egui::Grid::new("account").num_columns(2).show(ui, |ui| {
                    for (key, value) in [
                        ("registrar", &mut f.registrar),
                        ("username", &mut f.username),
                        ("display-name", &mut f.display_name),
                    ] {
                        let label = ui.label(l.tr(key));
                        ui.text_edit_singleline(value).labelled_by(label.id);
                        ui.end_row();
                    }
                });
                ui.separator();
                ui.strong(l.tr("audio-settings"));
                let inputs = f.devices.as_ref().map(|d| &d.0);
                let outputs = f.devices.as_ref().map(|d| &d.1);
                settings::Form::device_combo(ui, l, &l.tr("microphone"), &mut f.input, inputs);
                settings::Form::device_combo(ui, l, &l.tr("speaker"), &mut f.output, outputs);
                settings::Form::device_combo(ui, l, &l.tr("ringer"), &mut f.ringer, outputs);
                ui.horizontal(|ui| {
                    let (text, on) = if f.testing {
                        (l.tr("stop-test"), false)
                    } else {
                        (l.tr("test-headset"), true)
                    };
                    if ui.button(text).on_hover_text(l.tr("test-tip")).clicked() {
                        intents.push(Intent::HeadsetTest(on));
                    }
                    if let Some((db, input, output)) = &f.mic {
                        ui.add(egui::ProgressBar::new(meter(*db)).desired_width(160.0));
                        ui.label(l.tr_with("mic-level", &[("level", format!("{db:.0}"))]));
                        ui.label(format!("{input} · {output}"));
                    }
                });
                ui.separator();
                ui.strong(l.tr("desk-settings"));
                ui.horizontal(|ui| {
                    let label = ui.label(l.tr("wrap-up-secs"));
                    ui.add(egui::TextEdit::singleline(&mut f.wrap_up_secs).desired_width(60.0))
                        .labelled_by(label.id);
                    ui.checkbox(&mut f.auto_available, l.tr("auto-available"));
                });
                for (key, text) in [
                    ("dispositions-edit", &mut f.dispositions),
                    ("break-reasons-edit", &mut f.break_reasons),
                    ("quick-connect-edit", &mut f.quick_connect),
                    ("header-rules-edit", &mut f.header_rules),
                ] {
                    let label = ui.label(l.tr(key));
                    ui.add(egui::TextEdit::multiline(text).desired_rows(3))
                        .labelled_by(label.id);
                }
                if ui.button(l.tr("save-settings")).clicked() {
                    intents.push(Intent::SaveSettings);
                }
            });
        // Ask the engine for the device list the first time the screen opens.
        if shown.body_returned.is_some() && !self.settings.devices_asked {
            self.settings.devices_asked = true;
            self.outbox.push(Command::ListDevices);
        }
    }

    /// A transfer target as the operator knows it: the quick-connect's label
    /// when it is one, else as typed.
    fn target_label(&self, target: &str) -> String {
        self.config
            .quick_connect
            .iter()
            .chain(&self.practice_targets)
            .find(|(_, uri)| uri == target)
            .map(|(label, _)| label.clone())
            .unwrap_or_else(|| target.to_owned())
    }

    /// The UI language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Switches the UI language.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
    }

    fn call_panel(
        &mut self,
        ui: &mut egui::Ui,
        a: &Active,
        now: Instant,
        intents: &mut Vec<Intent>,
    ) {
        let l = self.lang;
        ui.group(|ui| {
            let secs = now.saturating_duration_since(a.since).as_secs();
            ui.heading(l.tr_with(
                "in-call",
                &[
                    ("who", a.card.name.clone().unwrap_or(a.card.number.clone())),
                    ("time", format!("{:02}:{:02}", secs / 60, secs % 60)),
                ],
            ));
            // The caller's context stays in view while talking.
            let mut context = vec![a.card.number.clone()];
            context.extend(a.card.fields.iter().map(|(k, v)| format!("{k}: {v}")));
            ui.label(context.join(" · "));
            if let Some(c) = &a.crm {
                crm_block(ui, l, c);
            }
            if let Some(c) = &a.codec {
                ui.label(l.tr_with("codec", &[("codec", c.clone())]));
            }
            if let Some((mos, loss, jitter)) = a.quality {
                ui.label(l.tr_with(
                    "quality",
                    &[
                        ("mos", format!("{mos:.1}")),
                        ("loss", format!("{loss:.1}")),
                        ("jitter", format!("{jitter:.1}")),
                    ],
                ));
            }
            if let Some((mic, spk)) = a.levels {
                let bar = meter;
                ui.horizontal(|ui| {
                    ui.label(l.tr("mic"));
                    ui.add(egui::ProgressBar::new(bar(mic)).desired_width(120.0));
                    ui.label(l.tr("headset"));
                    ui.add(egui::ProgressBar::new(bar(spk)).desired_width(120.0));
                });
            }
            ui.horizontal(|ui| {
                if ui
                    .button(l.tr("hang-up"))
                    .on_hover_text(l.tr("hang-up-tip"))
                    .clicked()
                {
                    intents.push(Intent::Hangup);
                }
                let mute_label = if a.muted {
                    l.tr("unmute")
                } else {
                    l.tr("mute")
                };
                if ui
                    .button(mute_label)
                    .on_hover_text(l.tr("mute-tip"))
                    .clicked()
                {
                    intents.push(Intent::Mute(!a.muted));
                }
                let hold_label = if a.held { l.tr("resume") } else { l.tr("hold") };
                if ui
                    .button(hold_label)
                    .on_hover_text(l.tr("hold-tip"))
                    .clicked()
                {
                    intents.push(Intent::Hold);
                }
            });
            if a.held {
                ui.colored_label(egui::Color32::from_rgb(200, 120, 0), l.tr("on-hold"));
            }
            if a.remote_held {
                ui.label(l.tr("held-by-peer"));
            }
            ui.horizontal(|ui| {
                for k in "123456789*0#".chars() {
                    if ui.button(k.to_string()).clicked() {
                        intents.push(Intent::Dtmf(k));
                    }
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label(l.tr("transfer-to"));
                ui.add(
                    egui::TextEdit::singleline(&mut self.transfer_to)
                        .id(egui::Id::unique(TRANSFER_FIELD)),
                )
                .labelled_by(label.id);
                if ui
                    .button(l.tr("transfer"))
                    .on_hover_text(l.tr("transfer-tip"))
                    .clicked()
                {
                    intents.push(Intent::Transfer(self.transfer_to.clone()));
                }
                if ui.button(l.tr("consult")).clicked() {
                    intents.push(Intent::Consult(self.transfer_to.clone()));
                }
                ui.checkbox(&mut self.consult_first, l.tr("consult-first"));
            });
            if !self.config.quick_connect.is_empty() || !self.practice_targets.is_empty() {
                ui.horizontal_wrapped(|ui| {
                    for (label, uri) in self
                        .config
                        .quick_connect
                        .iter()
                        .chain(&self.practice_targets)
                    {
                        if ui.button(label).on_hover_text(uri).clicked() {
                            intents.push(Intent::Transfer(uri.clone()));
                        }
                    }
                });
            }
            if let Some(c) = &a.consult {
                ui.group(|ui| {
                    if c.conference {
                        let who = self.target_label(&c.target);
                        ui.label(l.tr_with("conference-on", &[("target", who.clone())]));
                        ui.horizontal(|ui| {
                            if ui.button(l.tr("leave-talking")).clicked() {
                                intents.push(Intent::CompleteTransfer);
                            }
                            if ui.button(l.tr_with("drop", &[("who", who)])).clicked() {
                                intents.push(Intent::DropConsult);
                            }
                        });
                        return;
                    }
                    let state = if c.up {
                        l.tr("consult-talking")
                    } else {
                        l.tr("consult-ringing")
                    };
                    ui.label(l.tr_with(
                        "consulting",
                        &[("target", self.target_label(&c.target)), ("state", state)],
                    ));
                    ui.horizontal(|ui| {
                        if ui
                            .add_enabled(c.up, egui::Button::new(l.tr("complete-transfer")))
                            .clicked()
                        {
                            intents.push(Intent::CompleteTransfer);
                        }
                        if ui
                            .add_enabled(c.up, egui::Button::new(l.tr("conference")))
                            .clicked()
                        {
                            intents.push(Intent::Conference);
                        }
                        if ui.button(l.tr("back-to-caller")).clicked() {
                            intents.push(Intent::CancelConsult);
                        }
                    });
                });
            }
            if let Some((_, target, status)) = &a.transfer {
                ui.label(l.tr_with(
                    "transferring",
                    &[
                        ("target", self.target_label(target)),
                        (
                            "status",
                            status.map(|s| s.to_string()).unwrap_or_else(|| "…".into()),
                        ),
                    ],
                ));
            }
            if let Some(target) = &a.transfer_request {
                ui.group(|ui| {
                    ui.label(l.tr_with("transfer-request", &[("target", target.clone())]));
                    ui.horizontal(|ui| {
                        if ui.button(l.tr("accept")).clicked() {
                            intents.push(Intent::AnswerTransferRequest(true));
                        }
                        if ui.button(l.tr("decline")).clicked() {
                            intents.push(Intent::AnswerTransferRequest(false));
                        }
                    });
                });
            }
        });
    }

    fn wrap_up_panel(&mut self, ui: &mut egui::Ui, now: Instant, intents: &mut Vec<Intent>) {
        let left = self.agent.wrap_up_left(now);
        let dispositions = self.config.dispositions.clone();
        let l = self.lang;
        let waiting = self.later.len();
        let Some(w) = self.wrap.as_mut() else { return };
        ui.group(|ui| {
            ui.heading(match left {
                Some(left) => l.tr_with("wrap-up-left", &[("seconds", left.as_secs().to_string())]),
                None => l.tr("wrap-up"),
            });
            if !w.number.is_empty() {
                ui.label(l.tr_with("call-with", &[("number", w.number.clone())]));
            }
            if let Some(t) = &w.transfers {
                ui.label(l.tr_with("transfers", &[("chain", t.replace('\n', " · "))]));
            }
            if waiting > 0 {
                ui.label(l.tr_with("wrap-up-more", &[("n", waiting.to_string())]));
            }
            let label = ui.label(l.tr("note"));
            let changed_note = ui
                .add(egui::TextEdit::multiline(&mut w.draft.note).desired_rows(4))
                .labelled_by(label.id)
                .changed();
            let mut changed = changed_note;
            let current = w.draft.disposition.clone().unwrap_or_default();
            egui::ComboBox::from_label(l.tr("disposition"))
                .selected_text(if current.is_empty() { "—" } else { &current })
                .show_ui(ui, |ui| {
                    for d in &dispositions {
                        if ui
                            .selectable_label(w.draft.disposition.as_deref() == Some(d), d)
                            .clicked()
                        {
                            w.draft.disposition = Some(d.clone());
                            changed = true;
                        }
                    }
                });
            ui.horizontal(|ui| {
                let label = ui.label(l.tr("ticket"));
                let mut ticket = w.draft.ticket.clone().unwrap_or_default();
                if ui
                    .text_edit_singleline(&mut ticket)
                    .labelled_by(label.id)
                    .changed()
                {
                    w.draft.ticket = (!ticket.is_empty()).then_some(ticket);
                    changed = true;
                }
            });
            if changed && w.dirty_since.is_none() {
                w.dirty_since = Some(now);
            }
            if ui
                .button(l.tr("save-wrap-up"))
                .on_hover_text(l.tr("save-wrap-up-tip"))
                .clicked()
            {
                intents.push(Intent::SaveWrapUp);
            }
        });
    }

    /// The database, if one is open.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// How long the app has run (for the status bar).
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// How long ago, as an operator says it (no clock or time zone needed).
fn age(l: Lang, ms: i64) -> String {
    let min = ms / 60_000;
    if min < 1 {
        l.tr("just-now")
    } else if min < 60 {
        l.tr_with("ago-min", &[("n", min.to_string())])
    } else if min < 48 * 60 {
        l.tr_with("ago-h", &[("n", (min / 60).to_string())])
    } else {
        l.tr_with("ago-d", &[("n", (min / (24 * 60)).to_string())])
    }
}

/// Meter ballistics: rises at once, falls 3 dB per report (30 dB/s at ten
/// reports a second), so a pause between words does not blank the meter.
fn fall(shown: f32, new: f32) -> f32 {
    new.max(shown - 3.0)
}

/// A meter's fill: −60 dBFS and below empty, 0 dBFS full.
fn meter(db: f32) -> f32 {
    ((db + 60.0) / 60.0).clamp(0.0, 1.0)
}

fn state_label(l: Lang, s: &AgentState) -> String {
    match s {
        AgentState::Offline => l.tr("state-offline"),
        AgentState::Available => l.tr("state-available"),
        AgentState::Break { reason } => l.tr_with("state-break", &[("reason", reason.clone())]),
        AgentState::Ringing { .. } => l.tr("state-ringing"),
        AgentState::Dialing { .. } => l.tr("state-ringing"),
        AgentState::InCall { .. } => l.tr("state-in-call"),
        AgentState::WrapUp { .. } => l.tr("state-wrap-up"),
    }
}

fn incoming_banner(
    ui: &mut egui::Ui,
    l: Lang,
    r: &Ringing,
    waiting: bool,
    intents: &mut Vec<Intent>,
) {
    ui.group(|ui| {
        ui.heading(l.tr_with(
            if waiting { "call-waiting" } else { "incoming" },
            &[("who", r.card.name.clone().unwrap_or(r.card.number.clone()))],
        ));
        if waiting {
            ui.label(l.tr("call-waiting-tip"));
        }
        ui.label(l.tr_with("number", &[("number", r.card.number.clone())]));
        for (k, v) in &r.card.fields {
            ui.label(format!("{k}: {v}"));
        }
        if let Some(c) = &r.contact {
            let who = match &c.company {
                Some(co) => format!("{} ({co})", c.name),
                None => c.name.clone(),
            };
            ui.label(l.tr_with("contact", &[("who", who)]));
            if let Some(n) = &c.note {
                ui.label(n);
            }
        }
        for f in &r.card.forwarded_from {
            ui.label(l.tr_with("forwarded", &[("from", f.clone())]));
        }
        for l in &r.card.links {
            ui.hyperlink(l);
        }
        if let Some(c) = &r.crm {
            crm_block(ui, l, c);
        }
        if !r.history.is_empty() {
            ui.label(l.tr("earlier-calls"));
            for h in &r.history {
                let note = h
                    .note
                    .as_deref()
                    .filter(|n| !n.trim().is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| l.tr("no-note"));
                ui.label(format!(
                    "• {} · {} · {note}",
                    age(l, now_ms().saturating_sub(h.started_ms)),
                    h.disposition.as_deref().unwrap_or("—"),
                ));
            }
        }
        ui.horizontal(|ui| {
            if ui
                .button(l.tr("answer"))
                .on_hover_text(l.tr("answer-tip"))
                .clicked()
            {
                intents.push(Intent::Answer);
            }
            if ui.button(l.tr("decline")).clicked() {
                intents.push(Intent::Decline);
            }
        });
    });
}

/// The CRM record on the card: a link to open it, then its fields, or why
/// there are none.
fn crm_block(ui: &mut egui::Ui, l: Lang, c: &CrmView) {
    ui.hyperlink_to(l.tr("crm-record"), &c.link);
    match &c.state {
        CrmState::Pending => {
            ui.label(l.tr("crm-looking"));
        }
        CrmState::Fields(f) => {
            for (k, v) in f {
                ui.label(format!("{k}: {v}"));
            }
        }
        CrmState::Failed(e) => {
            ui.colored_label(
                egui::Color32::from_rgb(200, 120, 0),
                l.tr_with("crm-failed", &[("error", e.clone())]),
            );
        }
    }
}
