//! The operator's workspace as a reducer: every interaction in hand
//! (ringing, dialling, talking, held, consulting), the wrap-ups waiting, the
//! missed calls of the shift, which one is in the centre, the notices, and
//! today's figures.
//!
//! ```text
//!  PhoneEvent (what the phone reported) ──▶ ┌───────────── Workspace ─────────────┐
//!  Op (what the operator did) ────────────▶ │ Agent (states, what is offered)     │ ──▶ Action
//!  tick (the clock) ──────────────────────▶ │ calls · wrap-ups · missed · focus   │     (phone commands,
//!                                           │ notices · figures                   │      CRM lookups)
//!                                           └──── Store (history, drafts) ────────┘
//! ```
//!
//! No screen and no sockets: the desktop renders [`Workspace`] and feeds
//! it; the tests here drive it as the phone and the operator would. Store
//! writes happen when something happens (a call rings, ends, a form is
//! saved), never per frame. Drafts are written at most [`DRAFT_DELAY`] after
//! the last change, so a crash loses nothing older than that.

mod call;
mod email;
mod form;
mod input;
mod items;
mod notice;
mod operator;
mod phone;
mod presence;
mod script;
mod supervision;
mod wrap_up;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

pub use call::{
    Call, Consult, CrmState, CrmView, Levels, Phase, Quality, TicketsState, Transfer, TransferKind,
    fall,
};
pub use email::{
    Email, MailConfig, MailLink, MailOp, MailStats, MailStatus, QUEUE_ROWS, WAITING_ROWS,
};
pub use input::{Action, Op, PhoneCommand, PhoneEvent};
pub use items::{Focus, Missed, WorkItem, WorkKind, WrapUp};
pub use notice::{EndReason, Notice, NoticeId, NoticeKind, Severity};
pub use presence::Lamp;
pub use script::{SCENARIO_HEADER, ScriptOp};

use crate::agent::{Agent, AgentState, CallRef, Effect, Input, Policy};
use crate::context::{CallerCard, HeaderRule, caller_card};
use crate::crm::Crm;
use crate::dialplan::{DialPlan, Dialled};
use crate::store::{CallRecord, DayStats, Direction, Draft, Outcome, Store};
use switchboard_sip::message::Headers;

/// Drafts are written at most this long after a change.
pub const DRAFT_DELAY: Duration = Duration::from_millis(300);

/// Earlier calls shown on a caller's card.
const EARLIER: usize = 5;

/// A work-list item's id (a call, a wrap-up, a missed call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub u64);

/// The time an input happens: the monotonic clock for deadlines and the
/// wall clock for records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Monotonic.
    pub at: Instant,
    /// Unix ms.
    pub unix_ms: i64,
}

impl Now {
    /// Both clocks, now.
    pub fn system() -> Now {
        Now {
            at: Instant::now(),
            unix_ms: crate::time::unix_ms(),
        }
    }

    /// `d` later on both clocks.
    pub fn later(self, d: Duration) -> Now {
        Now {
            at: self.at + d,
            unix_ms: self
                .unix_ms
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

/// The desk's rules (from the configuration).
#[derive(Debug, Clone)]
pub struct Rules {
    /// After-call work and what is offered.
    pub policy: Policy,
    /// Which headers show on the caller card, and how.
    pub header_rules: Vec<HeaderRule>,
    /// Wrap-up dispositions.
    pub dispositions: Vec<String>,
    /// Break reasons.
    pub break_reasons: Vec<String>,
    /// Quick-connects: label and target.
    pub quick_connect: Vec<(String, String)>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
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
            dispositions: Vec::new(),
            break_reasons: Vec::new(),
            quick_connect: Vec::new(),
        }
    }
}

/// The registration as the top bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Registration {
    /// No account configured.
    #[default]
    None,
    /// Registering.
    Pending,
    /// Registered.
    Registered {
        /// Granted lifetime, s.
        expires: u32,
    },
    /// Failed.
    Failed {
        /// Status.
        status: Option<u16>,
        /// Why.
        reason: String,
        /// When the phone tries again by itself (Retry: at once).
        retry_at: Option<Instant>,
    },
}

struct PendingDial {
    uri: String,
    number: String,
    name: Option<String>,
    /// When the operator dialled (a phone that never places it is given up).
    at: Instant,
}

/// How long the phone may take to place a dialled call before the desk
/// gives up on it (it resolves the host, binds ports: well under a second).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(15);

/// The workspace.
#[derive(Debug)]
pub struct Workspace {
    agent: Agent,
    rules: Rules,
    plan: DialPlan,
    crm: Option<Crm>,
    store: Option<Store>,
    calls: Vec<Call>,
    wraps: Vec<WrapUp>,
    missed: Vec<Missed>,
    selected: Option<ItemId>,
    notices: Vec<Notice>,
    dials: VecDeque<PendingDial>,
    /// Targets dialled and given up before the phone placed them: a call
    /// for one of them that still arrives is hung up.
    abandoned: Vec<String>,
    registration: Registration,
    ringing: bool,
    /// Calls that just ended, while the agent decides about their wrap-up.
    ended_calls: Vec<Call>,
    /// When the input being handled happened.
    clock: Now,
    next_id: u64,
    out: Vec<Action>,
    records: u64,
    stats: DayStats,
    day_start_ms: i64,
    scripts: crate::script::library::Library,
    scenarios: Vec<crate::practice::Scenario>,
    score: Option<crate::practice::Score>,
    forms: Vec<crate::form::FormDef>,
    tickets: Option<crate::tickets::Tickets>,
    /// Who the operator is (in a form's record) and their language (a
    /// form's e-mail is written in it).
    operator: (String, String),
    mail: email::Mail,
    /// Copies of the calls go to the team database, and the team's earlier
    /// interactions are looked up for each caller.
    team: bool,
    /// Watched lines and their busy lamps.
    lamps: BTreeMap<String, Lamp>,
    /// What this desk tells the team's board.
    supervision: supervision::Supervision,
}

impl std::fmt::Debug for PendingDial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDial").field("uri", &"…").finish()
    }
}

impl Workspace {
    /// A workspace with its rules and (optionally) its database; wrap-ups
    /// left open by a crash come back at once.
    pub fn new(rules: Rules, store: Option<Store>, now: Now) -> Workspace {
        let mut ws = Workspace {
            agent: Agent::new(rules.policy.clone()),
            rules,
            plan: DialPlan::default(),
            crm: None,
            store,
            calls: Vec::new(),
            wraps: Vec::new(),
            missed: Vec::new(),
            selected: None,
            notices: Vec::new(),
            dials: VecDeque::new(),
            abandoned: Vec::new(),
            registration: Registration::None,
            ringing: false,
            ended_calls: Vec::new(),
            clock: now,
            next_id: 1,
            out: Vec::new(),
            records: 0,
            stats: DayStats::default(),
            day_start_ms: crate::time::local_midnight(now.unix_ms),
            scripts: Default::default(),
            scenarios: Vec::new(),
            score: None,
            forms: Vec::new(),
            tickets: None,
            operator: (String::new(), "en".to_owned()),
            mail: Default::default(),
            team: false,
            lamps: BTreeMap::new(),
            supervision: Default::default(),
        };
        ws.recover_drafts(now);
        ws.refresh_stats(now);
        ws
    }

    fn id(&mut self) -> ItemId {
        let id = ItemId(self.next_id);
        self.next_id += 1;
        id
    }

    // ------------------------------------------------------------ getters

    /// The agent's state.
    pub fn agent_state(&self) -> &AgentState {
        self.agent.state()
    }

    /// After-call work left, if in wrap-up.
    pub fn wrap_up_left(&self, now: Instant) -> Option<Duration> {
        self.agent.wrap_up_left(now)
    }

    /// The rules in effect.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The dial plan in effect.
    pub fn dial_plan(&self) -> &DialPlan {
        &self.plan
    }

    /// The database, if one is open.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// The database, for edits the desk makes (contacts).
    pub fn store_mut(&mut self) -> Option<&mut Store> {
        self.store.as_mut()
    }

    /// The registration.
    /// Whether calls can reach the operator: not while the account's
    /// registration has failed (the PBX has no binding for this desk, so
    /// "available" would be a promise nobody can keep).
    pub fn reachable(&self) -> bool {
        !matches!(self.registration, Registration::Failed { .. })
    }

    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Every live call.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// A live call by handle.
    pub fn call(&self, call: CallRef) -> Option<&Call> {
        self.calls.iter().find(|c| c.call == call)
    }

    fn call_mut(&mut self, call: CallRef) -> Option<&mut Call> {
        self.calls.iter_mut().find(|c| c.call == call)
    }

    /// The call in hand: talking, or our call ringing out.
    pub fn in_hand(&self) -> Option<&Call> {
        match self.agent.state() {
            AgentState::InCall { call } | AgentState::Dialing { call: Some(call) } => {
                self.call(*call)
            }
            _ => None,
        }
    }

    /// The call in hand when it is up (not while it still rings out): what
    /// hold, mute, keypad and transfer act on.
    pub fn talking(&self) -> Option<&Call> {
        self.in_hand().filter(|c| c.phase == Phase::Talking)
    }

    /// The call offered to the operator (ringing, or waiting while talking).
    pub fn offered(&self) -> Option<&Call> {
        self.calls
            .iter()
            .find(|c| matches!(c.phase, Phase::Offered | Phase::Waiting))
    }

    /// Calls held behind the one in hand.
    pub fn held(&self) -> impl Iterator<Item = &Call> {
        let hand = self.in_hand().map(|c| c.call);
        self.calls
            .iter()
            .filter(move |c| c.phase == Phase::Talking && Some(c.call) != hand)
    }

    /// Open wrap-ups, in the order they are done.
    pub fn wrap_ups(&self) -> &[WrapUp] {
        &self.wraps
    }

    /// Missed calls of this shift, newest first.
    pub fn missed(&self) -> &[Missed] {
        &self.missed
    }

    /// The notices, oldest first.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Today's figures.
    pub fn stats(&self) -> DayStats {
        self.stats
    }

    /// Bumped whenever the history changes (views re-query when it moves).
    pub fn records_version(&self) -> u64 {
        self.records
    }

    /// Whether something on screen changes with time (a timer, a countdown).
    pub fn needs_clock(&self) -> bool {
        !self.calls.is_empty()
            || self.wraps.iter().any(|w| !w.restored)
            || !self.dials.is_empty()
            // An e-mail draft is written shortly after the last key.
            || self.mail_dirty()
            // The next registration attempt counts down in the top bar.
            || matches!(
                self.registration,
                Registration::Failed {
                    retry_at: Some(_),
                    ..
                }
            )
    }

    /// A target as the operator knows it: a quick-connect's label, else as given.
    pub fn target_label(&self, target: &str) -> String {
        self.rules
            .quick_connect
            .iter()
            .find(|(_, uri)| uri == target)
            .map(|(label, _)| label.clone())
            .unwrap_or_else(|| target.to_owned())
    }

    /// Actions produced since the last call.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    // ------------------------------------------------------------ settings

    /// New rules (from the settings screen); a wrap-up in progress keeps its deadline.
    pub fn set_rules(&mut self, rules: Rules) {
        self.agent.set_policy(rules.policy.clone());
        self.rules = rules;
    }

    /// The dial plan.
    pub fn set_dial_plan(&mut self, plan: DialPlan) {
        self.plan = plan;
    }

    /// The CRM to look callers up in.
    pub fn set_crm(&mut self, crm: Option<Crm>) {
        self.crm = crm;
        self.crm_for_mine();
    }

    /// The account is being registered (or there is none).
    pub fn set_registering(&mut self, account: bool) {
        self.registration = if account {
            Registration::Pending
        } else {
            Registration::None
        };
    }

    /// A notice from the desktop (settings, keyring, directory, files).
    pub fn notify(&mut self, now: Now, kind: NoticeKind) {
        if let Some(last) = self.notices.last_mut()
            && last.kind == kind
        {
            last.count += 1;
            last.at_ms = now.unix_ms;
            return;
        }
        let id = NoticeId(self.next_id);
        self.next_id += 1;
        self.notices.push(Notice {
            id,
            at_ms: now.unix_ms,
            kind,
            count: 1,
        });
        // A shift's worth is plenty; the oldest go first.
        if self.notices.len() > 50 {
            self.notices.remove(0);
        }
    }

    /// The order and ticket forms.
    pub fn set_forms(&mut self, forms: Vec<crate::form::FormDef>) {
        self.forms = forms;
    }

    /// The forms configured.
    pub fn forms(&self) -> &[crate::form::FormDef] {
        &self.forms
    }

    /// The ticket system to look callers' open tickets up in.
    pub fn set_tickets(&mut self, tickets: Option<crate::tickets::Tickets>) {
        self.tickets = tickets;
    }

    /// Who the operator is and the language forms are e-mailed in.
    pub fn set_operator(&mut self, user: &str, lang: &str) {
        self.operator = (user.to_owned(), lang.to_owned());
    }

    /// Something the views show from the store changed behind the
    /// workspace's back (the outbox delivered): they query again.
    pub fn touch_records(&mut self) {
        self.records += 1;
    }

    /// A team database is set up (copies pushed, callers looked up).
    pub fn set_team(&mut self, on: bool) {
        self.team = on;
    }

    /// Who the operator is (their name on the team's records).
    pub fn operator(&self) -> &str {
        &self.operator.0
    }

    /// Whether the team database is on (the raised hand reaches a supervisor).
    pub fn team_on(&self) -> bool {
        self.team
    }

    /// The team lookup for a call finished.
    pub fn team_result(
        &mut self,
        call_id: &str,
        result: Result<Vec<crate::team::Interaction>, String>,
    ) {
        if let Some(c) = self.calls.iter_mut().find(|c| c.call_id == call_id) {
            c.team = Some(match result {
                Ok(found) => crate::team::TeamView::Found(found),
                Err(e) => crate::team::TeamView::Failed(e),
            });
        }
    }

    /// The team's copy of the call `call_id` as the store has it now (with
    /// `draft` applied: a wrap-up being saved), for the outbox.
    pub(super) fn team_copy(
        &self,
        call_id: &str,
        draft: Option<&crate::store::Draft>,
        stage: &str,
        now: Now,
    ) -> Option<crate::outbox::NewItem> {
        if !self.team {
            return None;
        }
        let store = self.store.as_ref()?;
        let mut r = store.call(call_id).ok()??;
        if let Some(d) = draft {
            r.note = Some(d.note.clone()).filter(|n| !n.trim().is_empty());
            r.disposition = d.disposition.clone();
            r.ticket = d.ticket.clone();
        }
        let mut i = crate::team::Interaction::of_call(&r, &self.operator.0, now.unix_ms);
        i.script = store
            .script_run(call_id)
            .ok()
            .flatten()
            .map(|run| crate::team::script_text(&run))
            .filter(|t| !t.is_empty());
        let form = draft.and_then(|d| d.form.as_ref());
        i.form = form.and_then(|f| serde_json::to_string(f).ok());
        Some(crate::team::outbox_item(&i, stage, call_id))
    }

    /// Queues the team's copy of a call at a stage of its life.
    pub(super) fn queue_team_copy(&mut self, call_id: &str, stage: &str, now: Now) {
        let Some(item) = self.team_copy(call_id, None, stage, now) else {
            return;
        };
        self.store_do(now, |s| s.enqueue(&item, now.unix_ms).map(|_| ()));
        self.out.push(Action::OutboxQueued);
    }

    /// A ticket lookup finished.
    pub fn tickets_result(
        &mut self,
        call_id: &str,
        result: Result<Vec<crate::tickets::Ticket>, String>,
    ) {
        if let Some(c) = self.calls.iter_mut().find(|c| c.call_id == call_id) {
            c.tickets = Some(match result {
                Ok(t) => TicketsState::Found(t),
                Err(e) => TicketsState::Failed(e),
            });
        }
    }

    /// A CRM lookup finished.
    pub fn crm_result(&mut self, call_id: &str, result: Result<Vec<(String, String)>, String>) {
        self.mail_crm_result(call_id, &result);
        if let Ok(fields) = &result {
            self.script_crm_data(call_id, fields);
        }
        if let Some(v) = self
            .calls
            .iter_mut()
            .find(|c| c.call_id == call_id)
            .and_then(|c| c.crm.as_mut())
        {
            v.state = match result {
                Ok(f) => CrmState::Fields(f),
                Err(e) => CrmState::Failed(e),
            };
        }
    }

    // ------------------------------------------------------------ effects

    fn phone(&mut self, c: PhoneCommand) {
        if let PhoneCommand::Ring(on) = c {
            self.ringing = on;
        }
        self.out.push(Action::Phone(c));
    }

    fn effects(&mut self, fx: Vec<Effect>) {
        for e in fx {
            match e {
                Effect::StateChanged("ringing") => self.phone(PhoneCommand::Ring(true)),
                Effect::StateChanged(_) if self.ringing => self.phone(PhoneCommand::Ring(false)),
                Effect::Answer(c) => self.phone(PhoneCommand::Answer(c)),
                Effect::Reject(c, status) => self.phone(PhoneCommand::Reject(c, status)),
                Effect::Hangup(c) => self.phone(PhoneCommand::Hangup(c)),
                // The phone turns ringing into the call-waiting tone while a call is up.
                Effect::CallWaiting(_) => self.phone(PhoneCommand::Ring(true)),
                Effect::WaitingOver if self.ringing => self.phone(PhoneCommand::Ring(false)),
                Effect::OpenWrapUp(c) => self.open_wrap_up(c),
                Effect::StateChanged(_) | Effect::WaitingOver => {}
            }
        }
    }

    fn store_do(
        &mut self,
        now: Now,
        f: impl FnOnce(&Store) -> Result<(), crate::store::StoreError>,
    ) {
        let Some(s) = &self.store else { return };
        if let Err(e) = f(s) {
            self.notify(
                now,
                NoticeKind::StoreUnavailable {
                    error: e.to_string(),
                },
            );
        }
        self.records += 1;
    }

    fn refresh_stats(&mut self, now: Now) {
        self.day_start_ms = crate::time::local_midnight(now.unix_ms);
        if let Some(s) = &self.store {
            match s.day_stats(self.day_start_ms) {
                Ok(st) => self.stats = st,
                Err(e) => self.notify(
                    now,
                    NoticeKind::StoreUnavailable {
                        error: e.to_string(),
                    },
                ),
            }
        }
    }
}

#[cfg(test)]
mod email_tests;
#[cfg(test)]
mod form_tests;
#[cfg(test)]
mod script_tests;
#[cfg(test)]
mod team_tests;
#[cfg(test)]
mod tests;
