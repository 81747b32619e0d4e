//! The team's shared history, as the desk sees it: one interaction record
//! per call (and, later, per e-mail), pushed to the team database through
//! the outbox and read back for the callers the desk sees.
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
