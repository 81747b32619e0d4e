//! E-mails in the workspace: the shared mailbox's queue beside the calls,
//! the mails this operator claimed (read, answered, forwarded, closed with
//! the same wrap-up as a call), the replies waiting for the customer, and
//! the blending of both channels (a call answered parks the e-mail, its
//! wrap-up saved brings it back).
//!
//! ```text
//!  MailEvent ─▶ mail_event ─▶ queue · mine · closed uids ─▶ Action::Mail(MailCommand)
//!  Op::Mail  ─▶ apply_mail ─▶ claim · draft · send (outbox) · Done ─▶ emails table
//! ```
//!
//! Rules: a mail is the operator's only once the server said the claim was
//! won; a lost claim drops it from the list with a notice. Nothing typed is
//! lost: drafts go to the store [`DRAFT_DELAY`] after the last key, a mail
//! given back keeps its draft for this desk, a desk killed comes back with
//! its mails and drafts (and their bytes, so they read with the server gone).
//!
//! Here the types and the getters; `queue.rs` takes the worker's reports,
//! `compose.rs` what the operator does, `blend.rs` time and the two channels.

mod blend;
mod compose;
mod queue;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::email::{Earlier, EmailRow, Listed, MailDayStats, MailDraft, TemplateDef, Uid, Waiting};
use switchboard_mail::message::{Address, Message};

/// Queue mails shown as rows of the work list (the rest are counted).
pub const QUEUE_ROWS: usize = 20;
/// Replies waiting for the customer shown as rows.
pub const WAITING_ROWS: usize = 10;

/// The shared mailbox's settings as the desk uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The address replies come from.
    pub address: String,
    /// The name shown with it.
    pub name: Option<String>,
    /// A claimed mail left untouched this long goes back to the queue.
    pub release_after: Duration,
    /// Internal addresses offered for Forward.
    pub forward_to: Vec<String>,
    /// Reply templates.
    pub templates: Vec<TemplateDef>,
}

impl MailConfig {
    /// From `[desk.mail]`.
    pub fn from_section(s: &crate::email::MailSection) -> MailConfig {
        MailConfig {
            address: s.address.clone(),
            name: s.name.clone(),
            release_after: Duration::from_secs(60 * s.release_after_minutes.unwrap_or(30).max(1)),
            forward_to: s.forward_to.clone().unwrap_or_default(),
            templates: s.templates(),
        }
    }
}

/// Where a mail of the list stands for this desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    /// In the shared queue, nobody's.
    Queued,
    /// Asked for; the server has not answered.
    Claiming,
    /// This operator's.
    Mine,
}

/// Whether the mailbox can be reached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MailLink {
    /// No mailbox configured.
    #[default]
    None,
    /// Connecting.
    Connecting,
    /// Connected: the queue is live.
    Online,
    /// Unreachable: what is listed stays readable.
    Offline(String),
}

/// One e-mail interaction in the work list.
#[derive(Debug, Clone)]
pub struct Email {
    /// Its work-list item.
    pub id: ItemId,
    /// As last listed.
    pub listed: Listed,
    /// Where it stands.
    pub status: MailStatus,
    /// Its record, once claimed.
    pub row: Option<EmailRow>,
    /// The mail, once downloaded.
    pub message: Option<Message>,
    /// Its bytes (attachments are read from them on request).
    pub raw: Option<Arc<Vec<u8>>>,
    /// Why it could not be downloaded.
    pub error: Option<String>,
    /// What is typed.
    pub draft: MailDraft,
    /// The language the reply is written in (the template's, else the operator's).
    pub lang: Option<String>,
    /// The conversation this mail answers (a customer's answer to our reply).
    pub earlier: Option<Earlier>,
    /// The earlier interaction it re-opens.
    pub reopens: Option<EmailRow>,
    /// When this desk claimed it (Unix ms).
    pub claimed_ms: Option<i64>,
    /// It is no longer in the inbox (moved by someone else): readable, not answerable twice.
    pub gone: bool,
    /// The customer's CRM record, looked up by the sender's address (when
    /// the CRM's URL has `{email}`).
    pub crm: Option<CrmView>,
    /// The team's earlier interactions with the sender's address.
    pub team: Option<crate::team::TeamView>,
    touched: Instant,
    dirty_since: Option<Instant>,
}

impl Email {
    /// Who wrote: the sender's name, else the address.
    pub fn who(&self) -> String {
        match &self.message {
            Some(m) if !m.from.display().is_empty() => m.from.display().to_owned(),
            _ => sender_name(&self.listed.from),
        }
    }

    /// Where a reply goes: Reply-To, else From.
    pub fn reply_to(&self) -> Option<&Address> {
        let m = self.message.as_ref()?;
        m.reply_to
            .as_ref()
            .filter(|a| !a.email.is_empty())
            .or(Some(&m.from).filter(|a| !a.email.is_empty()))
    }
}

/// `Name <addr>` → `Name`; a bare address stays.
fn sender_name(from: &str) -> String {
    match from.split_once(" <") {
        Some((name, _)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => from.trim_matches(['<', '>']).to_owned(),
    }
}

/// What the operator does with a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOp {
    /// Claim it (from the queue) and bring it to the centre.
    Open,
    /// The reply, forward address, reference or wrap-up as now typed.
    Edit(MailDraft),
    /// Put a template's text in the reply (filled): its id, and the
    /// language to write in (the customer's may not be the desk's).
    Template {
        /// Which answer.
        id: String,
        /// Its language (`et`); the desk's when the template has none in it.
        lang: String,
    },
    /// Send the reply and close the interaction.
    Send,
    /// Forward it with the typed note to the forward address, and close.
    Forward,
    /// Close with no mail sent (the wrap-up is kept).
    Close,
    /// Give it back to the queue.
    Release,
}

/// The e-mail figures shown beside the calls'.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailStats {
    /// Closed today.
    pub handled: u32,
    /// Mean time to the first reply today, ms.
    pub avg_first_reply_ms: Option<i64>,
    /// Mails in the queue.
    pub waiting: usize,
    /// When the oldest of them arrived (Unix ms).
    pub oldest_ms: Option<i64>,
}

/// The e-mail part of the workspace.
#[derive(Debug, Default)]
pub(super) struct Mail {
    config: Option<MailConfig>,
    link: MailLink,
    emails: Vec<Email>,
    /// Closed here, still listed until the move to Done shows.
    closed: HashSet<Uid>,
    waiting: Vec<(ItemId, Waiting)>,
    /// The e-mail a call pushed out of the centre.
    parked: Option<ItemId>,
    calls_only: bool,
    day: MailDayStats,
    /// Sent copies asked for and not yet confirmed.
    appending: HashSet<EmailRow>,
}

impl Workspace {
    // ------------------------------------------------------------ getters

    /// Every e-mail of the list: the operator's and the queue's.
    pub fn emails(&self) -> &[Email] {
        &self.mail.emails
    }

    /// An e-mail by its item.
    pub fn email(&self, id: ItemId) -> Option<&Email> {
        self.mail.emails.iter().find(|e| e.id == id)
    }

    fn email_mut(&mut self, id: ItemId) -> Option<&mut Email> {
        self.mail.emails.iter_mut().find(|e| e.id == id)
    }

    /// The mailbox's settings, when one is configured.
    pub fn mail_config(&self) -> Option<&MailConfig> {
        self.mail.config.as_ref()
    }

    /// Whether the mailbox can be reached.
    pub fn mail_link(&self) -> &MailLink {
        &self.mail.link
    }

    /// Replies waiting for the customer, newest first.
    pub fn waiting_for_customer(&self) -> impl Iterator<Item = (ItemId, &Waiting)> {
        self.mail.waiting.iter().map(|(id, w)| (*id, w))
    }

    /// Whether an e-mail draft waits to be written.
    pub(super) fn mail_dirty(&self) -> bool {
        self.mail.emails.iter().any(|e| e.dirty_since.is_some())
    }

    /// The e-mail a call parked, if any.
    pub fn parked_email(&self) -> Option<ItemId> {
        self.mail.parked
    }

    /// Whether the operator takes calls only (no new e-mails).
    pub fn calls_only(&self) -> bool {
        self.mail.calls_only
    }

    /// Whether a mail may be claimed now: not on a break, not offline, not
    /// in "calls only".
    pub fn takes_email(&self) -> bool {
        !self.mail.calls_only
            && !matches!(
                self.agent.state(),
                AgentState::Offline | AgentState::Break { .. }
            )
    }

    /// The e-mail figures.
    pub fn mail_stats(&self) -> MailStats {
        let queued = self
            .mail
            .emails
            .iter()
            .filter(|e| e.status != MailStatus::Mine);
        MailStats {
            handled: self.mail.day.handled,
            avg_first_reply_ms: self.mail.day.avg_first_reply_ms,
            waiting: queued.clone().count(),
            oldest_ms: queued.filter_map(|e| e.listed.date_ms).min(),
        }
    }

    /// Work-list rows for e-mails: the operator's, then the queue's oldest
    /// first (at most [`QUEUE_ROWS`]), then replies waiting for the customer.
    pub(super) fn mail_rows(&self, out: &mut Vec<WorkItem>) {
        let row = |e: &Email, kind| WorkItem {
            id: e.id,
            kind,
            who: e.who(),
            detail: Some(e.listed.subject.clone()),
            at_ms: e.listed.date_ms.or(e.claimed_ms).unwrap_or(0),
        };
        out.extend(
            self.mail
                .emails
                .iter()
                .filter(|e| e.status == MailStatus::Mine)
                .map(|e| row(e, WorkKind::MailMine)),
        );
        let mut queue: Vec<&Email> = self
            .mail
            .emails
            .iter()
            .filter(|e| e.status != MailStatus::Mine)
            .collect();
        queue.sort_by_key(|e| (e.listed.date_ms.unwrap_or(i64::MAX), e.listed.uid));
        out.extend(
            queue
                .into_iter()
                .take(QUEUE_ROWS)
                .map(|e| row(e, WorkKind::MailQueued)),
        );
        out.extend(
            self.mail
                .waiting
                .iter()
                .take(WAITING_ROWS)
                .map(|(id, w)| WorkItem {
                    id: *id,
                    kind: WorkKind::MailWaiting,
                    who: sender_name(&w.from),
                    detail: Some(w.subject.clone()),
                    at_ms: w.replied_ms,
                }),
        );
    }

    pub(super) fn mail_item(&self, id: ItemId) -> Option<Focus<'_>> {
        if let Some(e) = self.email(id) {
            return Some(Focus::Email(e));
        }
        self.mail
            .waiting
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(i, w)| Focus::MailWaiting(*i, w))
    }
}

/// The lookup key of an e-mail's CRM lookup (where a call has its Call-ID).
pub(super) fn mail_crm_key(row: EmailRow) -> String {
    format!("mail-{}", row.0)
}

/// `local@domain`, one word.
pub(super) fn plain_address(a: &str) -> bool {
    let Some((local, domain)) = a.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
}
