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

pub mod i18n;

pub use i18n::Lang;

use std::time::{Duration, Instant};

use switchboard_desk::agent::{Agent, AgentState, CallRef, Effect, Input, Policy};
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
            c.policy.wrap_up = Duration::from_secs(s);
        }
        if let Some(a) = d.auto_available {
            c.policy.auto_available = a;
        }
        if let Some(b) = d.busy_status {
            c.policy.busy_status = b;
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
}

#[derive(Debug, Clone)]
struct WrapUp {
    call_id: String,
    number: String,
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
    /// Hold or resume (arrives with call control).
    Hold,
    /// Transfer to this target (arrives with call control).
    Transfer(String),
    /// Place a call.
    Dial(String),
    /// Save the wrap-up.
    SaveWrapUp,
    /// Change the agent state.
    SetState(AgentState),
}

/// The desktop's state and logic, without I/O.
#[derive(Debug)]
pub struct DeskApp {
    config: DeskConfig,
    agent: Agent,
    store: Option<Store>,
    registration: String,
    ringing: Option<Ringing>,
    active: Option<Active>,
    wrap: Option<WrapUp>,
    dial: String,
    transfer_to: String,
    search: String,
    import_path: String,
    status: Option<String>,
    outbox: Vec<Command>,
    started: Instant,
    lang: Lang,
    /// The ringer was last told to ring (after the outbox was taken).
    ring_sent: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0)
}

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
            active: None,
            wrap: None,
            dial: String::new(),
            transfer_to: String::new(),
            search: String::new(),
            import_path: String::new(),
            status: None,
            outbox: Vec::new(),
            started: Instant::now(),
            lang: Lang::default(),
            ring_sent: false,
        };
        app.recover_drafts();
        app
    }

    /// A wrap-up left open by a crash comes back on screen as it was.
    fn recover_drafts(&mut self) {
        let Some(store) = &self.store else { return };
        if let Ok(mut pending) = store.pending_drafts()
            && let Some((call_id, draft)) = pending.pop()
        {
            self.wrap = Some(WrapUp {
                call_id,
                number: String::new(),
                draft,
                dirty_since: None,
            });
            self.status = Some(Lang::default().tr("restored"));
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

    /// Whether something on screen changes with time (call timer, countdown),
    /// so the UI should repaint once a second; otherwise it sleeps.
    pub fn needs_clock(&self) -> bool {
        self.active.is_some() || self.wrap.is_some() || self.ringing.is_some()
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
                Effect::OpenWrapUp(_) | Effect::StateChanged(_) => {}
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
                self.effects(fx);
                if offered {
                    let history = self
                        .store
                        .as_ref()
                        .and_then(|s| s.history(&card.number, 5).ok())
                        .unwrap_or_default();
                    if let Some(s) = &self.store {
                        let _ = s.record_call(&CallRecord {
                            call_id: call_id.clone(),
                            direction: "in".into(),
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
                    self.ringing = Some(Ringing {
                        call: *call,
                        call_id: call_id.clone(),
                        card,
                        history,
                        contact,
                    });
                }
            }
            EventKind::Established { call, .. } => {
                let fx = self.agent.apply(now, Input::Established(CallRef(*call)));
                self.effects(fx);
                if let Some(r) = self.ringing.take_if(|r| r.call == *call) {
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
                    });
                }
            }
            EventKind::MediaStarted { call, codec, .. } => {
                if let Some(a) = self.active.as_mut().filter(|a| a.call == *call) {
                    a.codec = Some(codec.clone());
                }
            }
            EventKind::Ended { call, .. } => {
                let fx = self.agent.apply(now, Input::Ended(CallRef(*call)));
                self.ringing.take_if(|r| r.call == *call);
                if let Some(a) = self.active.take_if(|a| a.call == *call) {
                    if let Some(s) = &self.store {
                        let _ = s.call_ended(&a.call_id, now_ms());
                    }
                    if fx.iter().any(|e| matches!(e, Effect::OpenWrapUp(_))) {
                        self.wrap = Some(WrapUp {
                            call_id: a.call_id,
                            number: a.card.number,
                            draft: Draft::default(),
                            dirty_since: None,
                        });
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
                    a.levels = Some((*mic_dbfs, *speaker_dbfs));
                }
            }
            EventKind::AudioDevice { message, .. } => self.status = Some(message.clone()),
            EventKind::CommandFailed { command, error } => {
                self.status = Some(format!("{command}: {error}"));
            }
            _ => {}
        }
    }

    /// Time passed: wrap-up deadline, and the draft written if it waited long enough.
    pub fn tick(&mut self, now: Instant) {
        self.flush_draft(now, false);
        let fx = self.agent.apply(now, Input::Tick);
        if fx
            .iter()
            .any(|e| matches!(e, Effect::StateChanged("available")))
        {
            // Auto-return: what was typed is kept as the note.
            self.finish_wrap_up();
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

    fn finish_wrap_up(&mut self) {
        let Some(w) = self.wrap.take() else { return };
        if let Some(s) = self.store.as_mut()
            && let Err(e) = s.finish_wrap_up(&w.call_id, &w.draft)
        {
            self.status = Some(format!("could not save the wrap-up: {e}"));
            self.wrap = Some(w);
        }
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
            Intent::Hold | Intent::Transfer(_) => {
                self.status = Some(self.lang.tr("not-yet"));
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
                let fx = self.agent.apply(now, Input::SaveWrapUp);
                self.effects(fx);
            }
            Intent::SetState(s) => {
                if matches!(s, AgentState::Offline | AgentState::Break { .. }) {
                    self.flush_draft(now, true);
                    self.finish_wrap_up();
                }
                let fx = self.agent.apply(now, Input::SetState(s));
                self.effects(fx);
            }
        }
    }

    /// Keyboard shortcuts (shown in the buttons' tooltips): F3 answer, F4 hang
    /// up, F5 available, F6 hold, F7 mute, Ctrl+S save the wrap-up.
    fn shortcuts(&self, ui: &egui::Ui, intents: &mut Vec<Intent>) {
        let (f3, f4, f5, f6, f7, save) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::F3),
                i.key_pressed(egui::Key::F4),
                i.key_pressed(egui::Key::F5),
                i.key_pressed(egui::Key::F6),
                i.key_pressed(egui::Key::F7),
                i.modifiers.command && i.key_pressed(egui::Key::S),
            )
        });
        if f3 && self.ringing.is_some() {
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
        let mut intents = Vec::new();
        self.shortcuts(ui, &mut intents);
        self.top_bar(ui, &mut intents);
        ui.separator();
        if let Some(msg) = &self.status {
            ui.colored_label(egui::Color32::from_rgb(200, 120, 0), msg);
        }
        if let Some(r) = self.ringing.clone() {
            incoming_banner(ui, self.lang, &r, &mut intents);
        }
        if let Some(a) = self.active.clone() {
            self.call_panel(ui, &a, now, &mut intents);
        }
        if self.wrap.is_some() {
            self.wrap_up_panel(ui, now, &mut intents);
        }
        if self.active.is_none() && self.ringing.is_none() {
            ui.horizontal(|ui| {
                let label = ui.label(self.lang.tr("dial"));
                ui.text_edit_singleline(&mut self.dial)
                    .labelled_by(label.id);
                if ui.button(self.lang.tr("call")).clicked() {
                    intents.push(Intent::Dial(self.dial.clone()));
                }
            });
        }
        self.history_panel(ui);
        self.contacts_panel(ui);
        for i in intents {
            self.apply(now, i);
        }
        self.tick(now);
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, intents: &mut Vec<Intent>) {
        let l = self.lang;
        ui.horizontal(|ui| {
            let reg = if self.registration.is_empty() {
                l.tr("not-registered")
            } else {
                self.registration.clone()
            };
            ui.label(l.tr_with("account", &[("state", reg)]));
            ui.separator();
            ui.label(l.tr_with("state", &[("state", state_label(l, self.agent.state()))]));
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
            });
            if ui.button(l.tr("offline")).clicked() {
                intents.push(Intent::SetState(AgentState::Offline));
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
                // -60 dBFS and below shows empty, 0 dBFS full.
                let bar = |db: f32| ((db + 60.0) / 60.0).clamp(0.0, 1.0);
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
                if ui
                    .button(l.tr("hold"))
                    .on_hover_text(l.tr("hold-tip"))
                    .clicked()
                {
                    intents.push(Intent::Hold);
                }
            });
            ui.horizontal(|ui| {
                for k in "123456789*0#".chars() {
                    if ui.button(k.to_string()).clicked() {
                        intents.push(Intent::Dtmf(k));
                    }
                }
            });
            ui.horizontal(|ui| {
                let label = ui.label(l.tr("transfer-to"));
                ui.text_edit_singleline(&mut self.transfer_to)
                    .labelled_by(label.id);
                if ui.button(l.tr("transfer")).clicked() {
                    intents.push(Intent::Transfer(self.transfer_to.clone()));
                }
                for (label, uri) in &self.config.quick_connect {
                    if ui.button(label).clicked() {
                        intents.push(Intent::Transfer(uri.clone()));
                    }
                }
            });
        });
    }

    fn wrap_up_panel(&mut self, ui: &mut egui::Ui, now: Instant, intents: &mut Vec<Intent>) {
        let left = self.agent.wrap_up_left(now);
        let dispositions = self.config.dispositions.clone();
        let l = self.lang;
        let Some(w) = self.wrap.as_mut() else { return };
        ui.group(|ui| {
            ui.heading(match left {
                Some(left) => l.tr_with("wrap-up-left", &[("seconds", left.as_secs().to_string())]),
                None => l.tr("wrap-up"),
            });
            if !w.number.is_empty() {
                ui.label(l.tr_with("call-with", &[("number", w.number.clone())]));
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

fn state_label(l: Lang, s: &AgentState) -> String {
    match s {
        AgentState::Offline => l.tr("state-offline"),
        AgentState::Available => l.tr("state-available"),
        AgentState::Break { reason } => l.tr_with("state-break", &[("reason", reason.clone())]),
        AgentState::Ringing { .. } => l.tr("state-ringing"),
        AgentState::InCall { .. } => l.tr("state-in-call"),
        AgentState::WrapUp { .. } => l.tr("state-wrap-up"),
    }
}

fn incoming_banner(ui: &mut egui::Ui, l: Lang, r: &Ringing, intents: &mut Vec<Intent>) {
    ui.group(|ui| {
        ui.heading(l.tr_with(
            "incoming",
            &[("who", r.card.name.clone().unwrap_or(r.card.number.clone()))],
        ));
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
        if !r.history.is_empty() {
            ui.label(l.tr("earlier-calls"));
            for h in &r.history {
                ui.label(format!(
                    "• {} {}",
                    h.disposition.as_deref().unwrap_or("—"),
                    h.note.as_deref().unwrap_or("")
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
