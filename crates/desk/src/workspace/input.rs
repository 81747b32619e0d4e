//! What goes into the workspace (phone events, the operator's operations)
//! and what comes out (phone commands, lookups).

use switchboard_sip::message::Headers;

use super::{EndReason, ItemId, Levels, NoticeId, Quality};
use crate::agent::{AgentState, CallRef};
use crate::store::Draft;

/// What the phone reported (the desktop translates the engine's events).
#[derive(Debug, Clone, PartialEq)]
pub enum PhoneEvent {
    /// Registered at the PBX.
    Registered {
        /// Granted lifetime, s.
        expires: u32,
    },
    /// Registration failed.
    RegistrationFailed {
        /// Final status, if any.
        status: Option<u16>,
        /// Why.
        reason: String,
        /// Seconds until the phone tries again by itself.
        retry_in_s: Option<u64>,
    },
    /// Unregistered.
    Unregistered,
    /// A call rings in.
    Incoming {
        /// Handle.
        call: CallRef,
        /// SIP Call-ID.
        call_id: String,
        /// The INVITE's header fields.
        headers: Headers,
    },
    /// A call of ours is under way (ours, a consultation, or one we were
    /// transferred into).
    Calling {
        /// Handle.
        call: CallRef,
        /// SIP Call-ID.
        call_id: String,
        /// The target as given.
        target: String,
    },
    /// Our call rings at the far end.
    Ringing {
        /// Handle.
        call: CallRef,
    },
    /// A call is up.
    Established {
        /// Handle.
        call: CallRef,
    },
    /// Audio flows.
    MediaStarted {
        /// Handle.
        call: CallRef,
        /// Codec.
        codec: String,
        /// Signalling (TLS) and sound (SRTP) are both encrypted.
        encrypted: bool,
    },
    /// A call is over.
    Ended {
        /// Handle.
        call: CallRef,
        /// How.
        reason: EndReason,
        /// Final status, if one ended it.
        status: Option<u16>,
    },
    /// Live quality.
    Quality {
        /// Handle.
        call: CallRef,
        /// The figures.
        quality: Quality,
    },
    /// Meter levels.
    Levels {
        /// Handle.
        call: CallRef,
        /// The levels.
        levels: Levels,
    },
    /// Hold changed.
    Held {
        /// Handle.
        call: CallRef,
        /// We hold them.
        local: bool,
        /// They hold us.
        remote: bool,
    },
    /// A consultation call was placed for `call`.
    Consulting {
        /// The held call.
        call: CallRef,
        /// The consultation.
        consult: CallRef,
    },
    /// A conference started or ended.
    Conference {
        /// The customer's call.
        call: CallRef,
        /// Started or ended.
        on: bool,
    },
    /// How our transfer of `call` goes.
    TransferProgress {
        /// Handle.
        call: CallRef,
        /// Target's status.
        status: u16,
        /// The last report.
        done: bool,
    },
    /// The other side asks to transfer us.
    TransferRequested {
        /// Handle.
        call: CallRef,
        /// Whom we would call.
        target: String,
    },
    /// We were transferred: `new_call` goes on with `target`.
    Transferred {
        /// The call asked on.
        call: CallRef,
        /// The new call.
        new_call: CallRef,
        /// Target.
        target: String,
    },
    /// A call put through to us replaced `old`.
    Replaced {
        /// The call that ends.
        old: CallRef,
        /// The one that takes its place.
        new: CallRef,
        /// Its SIP Call-ID.
        call_id: String,
        /// Its INVITE's header fields.
        headers: Headers,
    },
    /// The headset was lost or came back.
    AudioDevice {
        /// The phone's words.
        message: String,
    },
    /// Nothing has come from the other side of a call for a while (RTP
    /// inactivity); with `hanging_up` the phone has given the call up.
    NoAudio {
        /// Handle.
        call: CallRef,
        /// Seconds without a packet.
        quiet_s: u64,
        /// The call is being hung up.
        hanging_up: bool,
    },
    /// A command failed.
    CommandFailed {
        /// The command as the phone names it (`call sip:…`, `consult 3 …`).
        command: String,
        /// Why.
        error: String,
    },
    /// A watched line's busy lamp changed.
    Presence {
        /// The line as watched.
        target: String,
        /// What it shows.
        lamp: super::Lamp,
    },
}

/// What the operator did.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Answer the ringing (or waiting) call.
    Answer,
    /// Decline it.
    Decline,
    /// Hang up the call in hand (or cancel our call while it rings).
    Hangup,
    /// Mute or unmute.
    Mute(bool),
    /// Send a DTMF key.
    Dtmf(char),
    /// Hold the call in hand, or resume it when held.
    Hold,
    /// Blind transfer to a target (a number, a URI), with the label the
    /// operator knows it by.
    Transfer {
        /// What to dial.
        target: String,
        /// How to show it.
        label: Option<String>,
    },
    /// Consult a target first (the caller is held).
    Consult {
        /// What to dial.
        target: String,
        /// How to show it.
        label: Option<String>,
    },
    /// Connect the held caller to the consulted party.
    CompleteTransfer,
    /// End the consultation and go back to the caller.
    CancelConsult,
    /// Three-way conference with the consulted party.
    Conference,
    /// Drop the consulted party from the conference.
    DropConsult,
    /// Answer the other side's transfer request.
    AnswerTransferRequest(bool),
    /// Go back to this held call (the one in hand is held).
    Switch(CallRef),
    /// Place a call to what was typed (the dial plan makes it a URI).
    Dial {
        /// What was typed or clicked.
        input: String,
        /// Whom, when known (a directory entry, a contact).
        name: Option<String>,
    },
    /// The wrap-up form of this item changed.
    EditDraft(ItemId, Draft),
    /// Save this wrap-up.
    SaveWrapUp(ItemId),
    /// Change the agent state.
    SetState(AgentState),
    /// Bring this item into the centre.
    Select(ItemId),
    /// Forget a missed call (called back, or not to be).
    DismissMissed(ItemId),
    /// The notice was read.
    DismissNotice(NoticeId),
    /// A script operation on a call or wrap-up.
    Script(ItemId, super::ScriptOp),
    /// The practice score was read.
    DismissScore,
    /// The order or ticket form of a call or wrap-up, as now typed (None:
    /// no form).
    EditForm(ItemId, Option<crate::form::FormValues>),
    /// Text for the note of a call or wrap-up (a knowledge-base paragraph).
    AppendNote(ItemId, String),
    /// Something done with an e-mail.
    Mail(ItemId, super::MailOp),
    /// Calls only (no new e-mails), or both channels.
    CallsOnly(bool),
    /// Ask the supervisor for help on the call in hand.
    RaiseHand,
    /// Take the request back.
    LowerHand,
}

/// What the phone should do (the desktop turns these into engine commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneCommand {
    /// Ring or stop ringing.
    Ring(bool),
    /// Answer.
    Answer(CallRef),
    /// Refuse with a status.
    Reject(CallRef, u16),
    /// Hang up / cancel.
    Hangup(CallRef),
    /// Place a call.
    Dial(String),
    /// Mute.
    Mute(CallRef, bool),
    /// DTMF.
    Dtmf(CallRef, String),
    /// Hold.
    Hold(CallRef),
    /// Resume.
    Resume(CallRef),
    /// Blind transfer.
    Transfer(CallRef, String),
    /// Consult.
    Consult(CallRef, String),
    /// Complete an attended transfer.
    CompleteTransfer {
        /// The held caller.
        call: CallRef,
        /// The consultation.
        consult: CallRef,
    },
    /// Conference.
    Conference {
        /// The caller.
        call: CallRef,
        /// The consultation.
        other: CallRef,
    },
    /// End a consultation.
    CancelConsult(CallRef),
    /// Accept the other side's transfer request.
    AcceptTransfer(CallRef),
    /// Refuse it.
    RejectTransfer(CallRef),
    /// Watch a colleague's line for the busy lamp.
    Watch(String),
    /// Stop watching it.
    Unwatch(String),
}

/// What the workspace asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A phone command.
    Phone(PhoneCommand),
    /// Look the caller up in the CRM.
    LookupCrm {
        /// The call.
        call_id: String,
        /// The lookup URL.
        url: String,
    },
    /// Look up the caller's open tickets.
    LookupTickets {
        /// The call.
        call_id: String,
        /// The lookup URL.
        url: String,
    },
    /// A saved form queued deliveries: the outbox should look now.
    OutboxQueued,
    /// Ask the mailbox worker.
    Mail(crate::email::MailCommand),
    /// Look up the team's earlier interactions with the caller.
    LookupTeam {
        /// The call.
        call_id: String,
        /// The caller's number.
        number: String,
    },
    /// Look up the team's interactions with an e-mail's sender (answered
    /// with [`super::Workspace::mail_team_result`]).
    LookupTeamMail {
        /// The claimed mail.
        row: crate::email::EmailRow,
        /// Its sender's address.
        address: String,
    },
    /// What the agent is doing changed: tell the team's board.
    TeamPresence(crate::team::AgentPresence),
}
