//! One live call as the operator sees it: who, which way, what phase, and
//! what is going on with it (hold, consultation, transfer, quality).

use std::time::Instant;

use crate::agent::CallRef;
use crate::context::CallerCard;
use crate::store::{CallRecord, Contact, Direction};

use super::ItemId;

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Ringing in, offered to the operator.
    Offered,
    /// Ringing in while the operator talks (call waiting).
    Waiting,
    /// Our call, not answered yet; `ringing` once the far end rings.
    Dialing {
        /// The far end rings (180/183).
        ringing: bool,
    },
    /// Up: talking, or held behind the call in hand.
    Talking,
}

/// The caller's CRM record as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmView {
    /// The record's page, for people.
    pub link: String,
    /// The lookup's progress.
    pub state: CrmState,
}

/// A CRM lookup's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmState {
    /// Asked, no answer yet.
    Pending,
    /// The fields it gave.
    Fields(Vec<(String, String)>),
    /// Why there are none.
    Failed(String),
}

/// An attended transfer's consultation call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consult {
    /// The consultation call, once the phone has placed it.
    pub call: Option<CallRef>,
    /// Its SIP Call-ID, once placed.
    pub call_id: Option<String>,
    /// Whom (a URI or number as dialled).
    pub target: String,
    /// How the operator knows them (a quick-connect's or directory label).
    pub label: String,
    /// The consulted party answered.
    pub up: bool,
    /// All three talk (mixed here).
    pub conference: bool,
}

/// Blind or attended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    /// Straight to the target.
    Blind,
    /// After talking to the target.
    Attended,
}

impl TransferKind {
    /// The word in the transfer chain.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferKind::Blind => "blind",
            TransferKind::Attended => "attended",
        }
    }
}

/// A transfer under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Blind or attended.
    pub kind: TransferKind,
    /// Target URI or number.
    pub target: String,
    /// Target as the operator knows it.
    pub label: String,
    /// The target's last status.
    pub status: Option<u16>,
}

/// Live call quality.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// E-model MOS.
    pub mos: f64,
    /// Loss so far, percent.
    pub loss_percent: f64,
    /// Jitter, ms.
    pub jitter_ms: f64,
}

/// Meter levels, dBFS, with ballistics (rise at once, fall 3 dB a report).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    /// What the microphone sends.
    pub mic_dbfs: f32,
    /// What the headset plays.
    pub speaker_dbfs: f32,
}

/// Meter ballistics: rises at once, falls 3 dB per report (30 dB/s at ten
/// reports a second), so a pause between words does not blank the meter.
pub fn fall(shown: f32, new: f32) -> f32 {
    new.max(shown - 3.0)
}

/// One live call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Its work-list item.
    pub id: ItemId,
    /// The phone's handle.
    pub call: CallRef,
    /// SIP Call-ID (the history's key).
    pub call_id: String,
    /// In or out.
    pub direction: Direction,
    /// Who: from the INVITE, or whom we dialled.
    pub card: CallerCard,
    /// Where it is.
    pub phase: Phase,
    /// When it started ringing or was placed.
    pub since: Instant,
    /// When it was answered.
    pub answered: Option<Instant>,
    /// When it started (Unix ms).
    pub started_ms: i64,
    /// The operator's microphone is muted.
    pub muted: bool,
    /// The codec in use.
    pub codec: Option<String>,
    /// Its signalling (TLS) and sound (SRTP) are encrypted: the lock shows.
    pub encrypted: bool,
    /// Latest quality report.
    pub quality: Option<Quality>,
    /// Latest meter levels.
    pub levels: Option<Levels>,
    /// We hold the caller.
    pub held: bool,
    /// The caller holds us.
    pub remote_held: bool,
    /// A consultation under way.
    pub consult: Option<Consult>,
    /// A transfer under way.
    pub transfer: Option<Transfer>,
    /// The other side asks to transfer us there.
    pub transfer_request: Option<String>,
    /// The CRM record.
    pub crm: Option<CrmView>,
    /// Earlier calls with this number (the team's history as the store has it).
    pub earlier: Vec<CallRecord>,
    /// The contact with this number.
    pub contact: Option<Contact>,
    /// The operator declined it (not a missed call).
    pub declined: bool,
    /// The call script being followed.
    pub script: Option<crate::script::run::Run>,
    /// The practice scenario it plays (the practice line's calls).
    pub scenario: Option<String>,
    /// What the operator has written for it so far: a note (knowledge-base
    /// paragraphs put in during the call), its order or ticket form. The
    /// wrap-up starts from it.
    pub draft: crate::store::Draft,
    /// The caller's open tickets, when a ticket system is set up.
    pub tickets: Option<TicketsState>,
    /// The team's earlier interactions with the caller, when a team
    /// database is set up.
    pub team: Option<crate::team::TeamView>,
    pub(super) draft_dirty: Option<Instant>,
}

/// The caller's open tickets as far as they are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketsState {
    /// Asked, no answer yet.
    Pending,
    /// The open tickets.
    Found(Vec<crate::tickets::Ticket>),
    /// Why there are none.
    Failed(String),
}

impl Call {
    /// A call just offered (Offered, Waiting: incoming) or placed (Dialing:
    /// outgoing), with what the store knows of the other party.
    pub(crate) fn new(
        id: ItemId,
        call: CallRef,
        call_id: String,
        card: CallerCard,
        phase: Phase,
        now: super::Now,
        (earlier, contact): (Vec<CallRecord>, Option<Contact>),
    ) -> Call {
        let direction = match phase {
            Phase::Dialing { .. } => Direction::Out,
            Phase::Offered | Phase::Waiting | Phase::Talking => Direction::In,
        };
        Call {
            id,
            call,
            call_id,
            direction,
            card,
            phase,
            since: now.at,
            answered: None,
            started_ms: now.unix_ms,
            muted: false,
            codec: None,
            encrypted: false,
            quality: None,
            levels: None,
            held: false,
            remote_held: false,
            consult: None,
            transfer: None,
            transfer_request: None,
            crm: None,
            earlier,
            contact,
            declined: false,
            script: None,
            scenario: None,
            draft: crate::store::Draft::default(),
            tickets: None,
            team: None,
            draft_dirty: None,
        }
    }

    /// The history record of its start.
    pub(crate) fn record(&self) -> CallRecord {
        CallRecord {
            call_id: self.call_id.clone(),
            direction: self.direction,
            number: self.card.number.clone(),
            name: self.card.name.clone(),
            queue: self.queue().map(str::to_owned),
            started_ms: self.started_ms,
            uri: self.card.uri.clone(),
            ..CallRecord::default()
        }
    }

    /// Name if known, else number.
    pub fn who(&self) -> &str {
        self.card.name.as_deref().unwrap_or(&self.card.number)
    }

    /// The queue it came through (from the header rule labelled `Queue`).
    pub fn queue(&self) -> Option<&str> {
        self.card
            .fields
            .iter()
            .find(|(k, _)| k == "Queue")
            .map(|(_, v)| v.as_str())
    }

    /// The consultation's call, once placed.
    pub fn consult_call(&self) -> Option<CallRef> {
        self.consult.as_ref().and_then(|c| c.call)
    }
}
