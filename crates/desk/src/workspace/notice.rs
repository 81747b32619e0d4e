//! Notices: what the operator must read — a call that failed and why, a
//! transfer that did not go through, a registration that failed, a note the
//! disk refused. They stay until dismissed (a status line that flashes is
//! missed on a busy shift); the same notice again counts up instead of
//! piling up. The desktop translates each kind and says what to do.

use crate::dialplan::DialError;

/// A notice's id, for dismissing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoticeId(pub u64);

/// How much it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something done (imported, saved).
    Info,
    /// Something did not work out; nothing is lost.
    Warning,
    /// The desk cannot do its work until it is fixed (registration, disk).
    Error,
}

/// Why a call ended: the SIP layer's reasons.
pub use switchboard_sip::ua::EndReason;

/// What a notice is about. Each kind is translated by the desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeKind {
    /// Wrap-ups left open by a crash came back.
    Restored {
        /// How many.
        count: usize,
    },
    /// Our call did not get through.
    CallFailed {
        /// Whom we called.
        number: String,
        /// The far end's final status, if any.
        status: Option<u16>,
        /// How it ended.
        reason: EndReason,
    },
    /// What was typed cannot be dialled.
    DialInvalid {
        /// What was typed.
        input: String,
        /// Why.
        error: DialError,
    },
    /// A transfer was refused; the caller stays with the operator.
    TransferFailed {
        /// The target's status.
        status: u16,
    },
    /// The phone could not do what was asked.
    CommandFailed {
        /// What was asked (`hold 3`, `consult 2 sip:…`).
        command: String,
        /// Why.
        error: String,
    },
    /// The note being typed could not be written to disk (it stays on screen).
    DraftNotSaved {
        /// The store's error.
        error: String,
    },
    /// A wrap-up's form has mistakes: it stays open until they are put right.
    FormIncomplete {
        /// The form's title.
        form: String,
        /// How many mistakes.
        mistakes: usize,
    },
    /// A wrap-up could not be saved (it stays open).
    WrapUpNotSaved {
        /// The store's error.
        error: String,
    },
    /// The database could not be opened: notes are not kept.
    StoreUnavailable {
        /// Why.
        error: String,
    },
    /// Registration at the PBX failed.
    RegistrationFailed {
        /// Its status, if one came.
        status: Option<u16>,
        /// The phone's reason.
        reason: String,
    },
    /// The headset was lost or came back.
    AudioDevice {
        /// The phone's words.
        message: String,
    },
    /// No sound has come from a caller for `quiet_s` seconds (the line
    /// may be broken); `ended`: the phone hung the call up.
    NoAudio {
        /// Who the call is with.
        who: String,
        /// Seconds without a packet.
        quiet_s: u64,
        /// The call was given up.
        ended: bool,
    },
    /// The shared mailbox cannot be reached; what is listed stays readable.
    MailOffline {
        /// Why.
        error: String,
    },
    /// A colleague claimed the mail first: it left this list.
    MailTaken {
        /// Its subject.
        subject: String,
    },
    /// The mailbox did not do what was asked (the mail stays where it was).
    MailFailed {
        /// Which command (`claim`, `fetch`, `done` …).
        command: String,
        /// Why.
        error: String,
    },
    /// Mails went back to the queue (left untouched, or the operator went offline).
    MailReleased {
        /// How many.
        count: usize,
    },
    /// Mails claimed before a restart came back with their drafts.
    MailRestored {
        /// How many.
        count: usize,
    },
    /// No new e-mail on a break, offline or in "calls only".
    MailNotNow,
    /// The mail is not downloaded yet, or the reply is empty.
    MailNotReady,
    /// No address to send to (the sender gave none, or the forward address is not one).
    MailNoAddress,
    /// A notice made by the desktop itself: a message id of its translation
    /// files and the values for it. For what the domain does not know
    /// (settings saved, a file imported, the keyring, the directory).
    Desktop {
        /// The message id (`settings-saved`, `keyring-failed` …).
        key: &'static str,
        /// Values for the message.
        args: Vec<(&'static str, String)>,
        /// How much it matters.
        severity: Severity,
    },
}

impl NoticeKind {
    /// How much it matters.
    pub fn severity(&self) -> Severity {
        match self {
            NoticeKind::Restored { .. }
            | NoticeKind::MailRestored { .. }
            | NoticeKind::MailReleased { .. } => Severity::Info,
            NoticeKind::StoreUnavailable { .. }
            | NoticeKind::RegistrationFailed { .. }
            | NoticeKind::WrapUpNotSaved { .. }
            | NoticeKind::DraftNotSaved { .. } => Severity::Error,
            NoticeKind::Desktop { severity, .. } => *severity,
            _ => Severity::Warning,
        }
    }
}

/// One notice on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// For dismissing it.
    pub id: NoticeId,
    /// When it last happened (Unix ms).
    pub at_ms: i64,
    /// What it says.
    pub kind: NoticeKind,
    /// How many times in a row it happened.
    pub count: u32,
}
