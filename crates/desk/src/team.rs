//! The team's shared history, as the desk sees it: one interaction record
//! per call and per e-mail, and each contact's changes, pushed to the team
//! database through the outbox and read back for the callers the desk
//! sees; the agent's presence and the supervisor's board.
//!
//! ```text
//!  wrap-up saved / call ended ──▶ outbox item (Delivery::Team, payload = Interaction)
//!                                     └─▶ team worker (crates/team, PostgreSQL): upsert, newest wins
//!  a call rings ──▶ Action::LookupTeam ──▶ team worker: earlier(number) ──▶ Workspace::team_result
//! ```
//!
//! The desk keeps writing its own SQLite first; the team database only ever
//! gets copies, so a database that is down costs nothing but the team's
//! view. A record is pushed whole, with the time it was last changed:
//! pushing it twice changes nothing, and an older copy never overwrites a
//! newer one (the rule for conflicts, written in docs/architecture.md).

use serde::{Deserialize, Serialize};

use crate::store::{CallRecord, Direction};

/// One interaction as the team database keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    /// Unique across the team: the call's SIP Call-ID (`call:<id>`).
    pub key: String,
    /// `call` (e-mails to follow).
    pub kind: String,
    /// Who handled it (the desk's operator).
    pub agent: String,
    /// The other party's number (or address).
    pub number: String,
    /// Their name.
    pub name: Option<String>,
    /// `in` or `out`.
    pub direction: String,
    /// How it ended (`answered`, `missed` …), if it has.
    pub outcome: Option<String>,
    /// To whom it was transferred, or why it failed.
    pub outcome_detail: Option<String>,
    /// When it began (Unix ms).
    pub started_ms: i64,
    /// When it was answered.
    pub answered_ms: Option<i64>,
    /// When it ended.
    pub ended_ms: Option<i64>,
    /// The wrap-up's disposition.
    pub disposition: Option<String>,
    /// Ticket or order number.
    pub ticket: Option<String>,
    /// The wrap-up note.
    pub note: Option<String>,
    /// The transfer chain, one hop per line.
    pub transfers: Option<String>,
    /// The script's answers, `Question: answer` one per line.
    #[serde(default)]
    pub script: Option<String>,
    /// The forms saved on it, as JSON text (`[{"form": …, "fields": {…}}]`).
    #[serde(default)]
    pub form: Option<String>,
    /// When this copy was made (Unix ms): a newer copy wins.
    pub updated_ms: i64,
}

impl Interaction {
    /// The team copy of a call record, as `agent` handled it, made at `now_ms`.
    pub fn of_call(r: &CallRecord, agent: &str, now_ms: i64) -> Interaction {
        Interaction {
            key: format!("call:{}", r.call_id),
            kind: "call".into(),
            agent: agent.to_owned(),
            number: r.number.clone(),
            name: r.name.clone(),
            direction: match r.direction {
                Direction::In => "in",
                Direction::Out => "out",
            }
            .into(),
            outcome: r.outcome.map(|o| o.as_str().to_owned()),
            outcome_detail: r.outcome_detail.clone(),
            started_ms: r.started_ms,
            answered_ms: r.answered_ms,
            ended_ms: r.ended_ms,
            disposition: r.disposition.clone(),
            ticket: r.ticket.clone(),
            note: r.note.clone(),
            transfers: r.transfers.clone(),
            script: None,
            form: None,
            updated_ms: now_ms,
        }
    }

    /// The first line of the note, for a list.
    pub fn note_first_line(&self) -> Option<&str> {
        self.note
            .as_deref()
            .and_then(|n| n.lines().map(str::trim).find(|l| !l.is_empty()))
    }
}

/// A contact as the team shares it: one per number, the newest copy wins
/// whole; a deletion is a copy with `deleted` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamContact {
    /// The number (the team's key for the contact).
    pub contact_number: String,
    /// Name.
    pub name: String,
    /// Company.
    pub company: Option<String>,
    /// Note.
    pub note: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Who last changed it.
    pub agent: String,
    /// Deleted on some desk.
    pub deleted: bool,
    /// When that change was made (Unix ms): a newer copy wins.
    pub updated_ms: i64,
}

impl TeamContact {
    /// The team copy of a local contact, changed by `agent` at `now_ms`.
    pub fn of(c: &crate::store::Contact, agent: &str, deleted: bool, now_ms: i64) -> TeamContact {
        TeamContact {
            contact_number: c.number.trim().to_owned(),
            name: c.name.clone(),
            company: c.company.clone(),
            note: c.note.clone(),
            email: c.email.clone(),
            agent: agent.to_owned(),
            deleted,
            updated_ms: now_ms,
        }
    }

    /// As a local contact.
    pub fn to_contact(&self) -> crate::store::Contact {
        crate::store::Contact {
            name: self.name.clone(),
            number: self.contact_number.clone(),
            company: self.company.clone(),
            note: self.note.clone(),
            email: self.email.clone(),
        }
    }
}

/// A script run as the team reads it: each answer as `node: answer`, then
/// what the script decided as `field = value`.
pub fn script_text(run: &crate::store::SavedRun) -> String {
    use crate::script::run::{Answer, Step};
    let mut lines = Vec::new();
    for step in &run.trail {
        if let Step::Answered { node, answer, .. } = step {
            let said = match answer {
                Answer::Text(t) => t.clone(),
                Answer::Number(n) => n.to_string(),
                Answer::YesNo(true) => "yes".into(),
                Answer::YesNo(false) => "no".into(),
                Answer::Chosen(v) => v.join(", "),
                Answer::Next => continue,
            };
            lines.push(format!("{node}: {said}"));
        }
    }
    for (k, v) in &run.fields {
        lines.push(format!("{k} = {v}"));
    }
    lines.join("\n")
}

/// What an outbox item of [`crate::outbox::Delivery::Team`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TeamCopy {
    /// A call's or an e-mail's record (items queued before contacts were
    /// shared carry this alone, so it is tried first).
    Interaction(Box<Interaction>),
    /// A contact added, changed or deleted.
    Contact(TeamContact),
}

/// The outbox item that pushes a contact's change.
pub fn contact_item(c: &TeamContact) -> crate::outbox::NewItem {
    crate::outbox::NewItem {
        key: format!("team/contact/{}/{}", c.contact_number, c.updated_ms),
        call_id: None,
        delivery: crate::outbox::Delivery::Team,
        payload: serde_json::to_value(TeamCopy::Contact(c.clone()))
            .unwrap_or(serde_json::Value::Null),
    }
}

/// The outbox key of a copy: one per call and stage (`ended`, `wrapped`),
/// so the same stage queued twice is sent once.
pub fn outbox_key(call_id: &str, stage: &str) -> String {
    format!("team/{call_id}/{stage}")
}

/// The outbox item that pushes `i`.
pub fn outbox_item(i: &Interaction, stage: &str, call_id: &str) -> crate::outbox::NewItem {
    crate::outbox::NewItem {
        key: outbox_key(call_id, stage),
        call_id: Some(call_id.to_owned()),
        delivery: crate::outbox::Delivery::Team,
        // Serialising plain strings and numbers cannot fail.
        payload: serde_json::to_value(i).unwrap_or(serde_json::Value::Null),
    }
}

/// The team's earlier interactions with a caller, as looked up while the
/// call rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamView {
    /// Asked, no answer yet.
    Pending,
    /// The team's records, newest first (this desk's own among them).
    Found(Vec<Interaction>),
    /// The team database could not be asked (the desk's own history stands).
    Failed(String),
}

/// What one agent is doing, as every desk publishes it for the
/// supervisor's board (newest copy wins, by `updated_ms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPresence {
    /// The operator.
    pub agent: String,
    /// Their extension at the PBX (what listen / whisper / barge codes dial).
    pub extension: Option<String>,
    /// `offline`, `available`, `break`, `dialing`, `ringing`, `in_call`, `wrap_up`.
    pub state: String,
    /// The break's reason.
    pub reason: Option<String>,
    /// Since when (Unix ms).
    pub since_ms: i64,
    /// The caller in hand: their number.
    pub call_number: Option<String>,
    /// And name.
    pub call_name: Option<String>,
    /// The operator raised a hand on that call (asks for help) at this time.
    pub help_since_ms: Option<i64>,
    /// When this copy was made (Unix ms).
    pub updated_ms: i64,
}

impl AgentPresence {
    /// Whether `other` says the same (the copy time aside).
    pub fn same_as(&self, other: &AgentPresence) -> bool {
        AgentPresence {
            updated_ms: other.updated_ms,
            ..self.clone()
        } == *other
    }
}

/// One agent's figures for today, from the team's interactions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentFigures {
    /// The operator.
    pub agent: String,
    /// Calls answered.
    pub calls: i64,
    /// Calls missed.
    pub missed: i64,
    /// Talk time of the answered calls, ms.
    pub talk_ms: i64,
    /// E-mails closed.
    pub emails: i64,
}

impl AgentFigures {
    /// Mean talk time per answered call, ms.
    pub fn avg_talk_ms(&self) -> Option<i64> {
        (self.calls > 0).then(|| self.talk_ms / self.calls)
    }
}

/// The supervisor's board: every agent's presence and today's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Board {
    /// Every agent that ever published, by name.
    pub agents: Vec<AgentPresence>,
    /// Today's figures per agent, by name.
    pub figures: Vec<AgentFigures>,
}

impl Board {
    /// Agents with a hand raised, longest waiting first.
    pub fn help_requests(&self) -> Vec<&AgentPresence> {
        let mut v: Vec<&AgentPresence> = self
            .agents
            .iter()
            .filter(|a| a.help_since_ms.is_some())
            .collect();
        v.sort_by_key(|a| a.help_since_ms);
        v
    }

    /// Today's figures of `agent`, if any.
    pub fn figures_of(&self, agent: &str) -> Option<&AgentFigures> {
        self.figures.iter().find(|f| f.agent == agent)
    }
}
