//! The e-mail channel as the desk sees it: what the mailbox worker reports
//! and is asked to do, the shared mailbox's settings, reply templates, and
//! the e-mail interactions kept in the store.
//!
//! ```text
//!  mailbox worker (IMAP, app side) ──MailEvent──▶ Workspace ──Action::Mail(MailCommand)──▶ worker
//!                                                    │
//!                          emails table (claimed mails, their raw bytes, drafts, outcomes)
//!                          outbox (the reply or forward, sent once through SMTP)
//! ```
//!
//! The desk never talks IMAP itself: a worker (crates/app) drives
//! `switchboard_mail::imap::Mailbox` and turns its answers into
//! [`MailEvent`]s. A claimed mail's bytes are written to the store as soon
//! as they arrive, so a mail once opened stays readable with the server
//! gone and comes back after a crash with its draft.

use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use crate::store::{Store, StoreError};

/// A mail's UID in the shared inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(pub u32);

/// A row of the `emails` table: one e-mail interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailRow(pub i64);

/// Whose claim a listed mail carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedBy {
    /// Nobody's: in the queue.
    Nobody,
    /// This desk's operator.
    Me,
    /// A colleague (the sanitized name of the claim keyword).
    Other(String),
}

/// One mail of the shared inbox as the worker listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its UID.
    pub uid: Uid,
    /// Its mod-sequence when listed (a claim is made against it).
    pub modseq: u64,
    /// `Name <addr>` as decoded.
    pub from: String,
    /// Subject as decoded.
    pub subject: String,
    /// The Date header, Unix ms.
    pub date_ms: Option<i64>,
    /// Size in bytes.
    pub size: u32,
    /// Whose it is.
    pub claimed_by: ClaimedBy,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// The ids it answers (In-Reply-To, References).
    pub answers: Vec<String>,
}

/// What the desk asks the mailbox worker to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailCommand {
    /// Claim a mail for this operator (atomically, against `modseq`).
    Claim {
        /// Which.
        uid: Uid,
        /// As listed.
        modseq: u64,
    },
    /// Download a claimed mail (answered by [`MailEvent::Fetched`]).
    Fetch(Uid),
    /// Give a mail back to the queue.
    Release(Uid),
    /// Move a handled mail to the Done folder.
    Done(Uid),
    /// Put a copy of a sent reply or forward in the Sent folder.
    AppendSent {
        /// The interaction it belongs to.
        row: EmailRow,
        /// The bytes that went out.
        raw: Vec<u8>,
    },
    /// List again now (the operator asked, or a claim needs fresh state).
    Refresh,
}

/// What the mailbox worker reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailEvent {
    /// Logged in; lists follow.
    Connected,
    /// The mailbox cannot be reached (the worker keeps trying).
    Offline {
        /// Why, for the operator.
        error: String,
    },
    /// The inbox, newest first (at most the configured limit).
    Listed(Vec<Listed>),
    /// A claim's outcome: `false` when a colleague was first.
    Claimed {
        /// Which.
        uid: Uid,
        /// Whether this desk has it.
        won: bool,
    },
    /// A claimed mail's bytes.
    Fetched {
        /// Which.
        uid: Uid,
        /// RFC 5322 bytes.
        raw: Vec<u8>,
    },
    /// A command failed (the mail is not lost: it stays where it was).
    Failed {
        /// The mail it was about, if any.
        uid: Option<Uid>,
        /// Which command.
        command: &'static str,
        /// Why.
        error: String,
    },
    /// The copy of a sent mail is in Sent.
    Appended(EmailRow),
    /// The mail is in Done.
    Moved(Uid),
}

/// A reply template from the configuration (`[[desk.mail.templates]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateDef {
    /// Which answer this is (`thanks`); one per language.
    pub id: String,
    /// Language tag (`en`, `et`, `ru`, `sl`).
    pub lang: String,
    /// The name the operator picks it by.
    pub title: String,
    /// The text, with `{customer.name}`, `{ticket}`, `{order}`, `{operator.name}`.
    pub text: String,
}

/// `[desk.mail]`: the shared mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSection {
    /// IMAP server host.
    pub host: String,
    /// Port (993 for `tls`, 143 otherwise).
    pub port: Option<u16>,
    /// `tls` (default), `starttls`, or `plain` (loopback only).
    pub security: Option<String>,
    /// Login; the password is the keyring's entry `imap:USER@HOST`.
    pub user: String,
    /// A CA (PEM) trusted beside the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// The shared inbox (`INBOX`).
    pub inbox: Option<String>,
    /// Where handled mail goes (`Done`).
    pub done: Option<String>,
    /// Where sent replies are copied (`Sent`).
    pub sent: Option<String>,
    /// The address replies come from (the shared mailbox's); sent through `[desk.smtp]`.
    pub address: String,
    /// The name shown with it.
    pub name: Option<String>,
    /// A claimed mail left untouched this long goes back to the queue (30).
    pub release_after_minutes: Option<u64>,
    /// Mails listed at most (5000).
    pub list_limit: Option<usize>,
    /// Mails larger than this are not downloaded (40 MB: a 20 MB attachment
    /// is 27 MB of base64).
    pub max_mail_mb: Option<u64>,
    /// Internal addresses offered for Forward.
    pub forward_to: Option<Vec<String>>,
    /// Reply templates (the shipped ones when absent).
    pub templates: Option<Vec<TemplateDef>>,
}

impl MailSection {
    /// The templates to offer: the configured ones, else the shipped ones.
    pub fn templates(&self) -> Vec<TemplateDef> {
        self.templates.clone().unwrap_or_else(builtin_templates)
    }
}

/// The reply templates shipped with the desk, in four languages.
pub fn builtin_templates() -> Vec<TemplateDef> {
    let t = |id: &str, lang: &str, title: &str, text: &str| TemplateDef {
        id: id.into(),
        lang: lang.into(),
        title: title.into(),
        text: text.into(),
    };
    vec![
        t(
            "thanks",
            "en",
            "Thank you, we are on it",
            "Hello {customer.name},\n\nthank you for your message. We are looking into it \
             and will come back to you within one working day.\n\nKind regards,\n{operator.name}",
        ),
        t(
            "thanks",
            "et",
            "Aitäh, tegeleme sellega",
            "Tere, {customer.name}!\n\nAitäh teie kirja eest. Uurime asja ja vastame teile \
             ühe tööpäeva jooksul.\n\nLugupidamisega\n{operator.name}",
        ),
        t(
            "thanks",
            "ru",
            "Спасибо, мы занимаемся",
            "Здравствуйте, {customer.name}!\n\nСпасибо за ваше письмо. Мы разбираемся и \
             ответим вам в течение одного рабочего дня.\n\nС уважением,\n{operator.name}",
        ),
        t(
            "thanks",
            "sl",
            "Hvala, urejamo",
            "Pozdravljeni, {customer.name}!\n\nHvala za vaše sporočilo. Zadevo preverjamo in \
             vam odgovorimo v enem delovnem dnevu.\n\nLep pozdrav,\n{operator.name}",
        ),
        t(
            "order",
            "en",
            "Your order",
            "Hello {customer.name},\n\nyour order {order} is registered. You will get a \
             message when it ships.\n\nKind regards,\n{operator.name}",
        ),
        t(
            "order",
            "et",
            "Teie tellimus",
            "Tere, {customer.name}!\n\nTeie tellimus {order} on registreeritud. Saadame \
             teate, kui see teele läheb.\n\nLugupidamisega\n{operator.name}",
        ),
        t(
            "order",
            "ru",
            "Ваш заказ",
            "Здравствуйте, {customer.name}!\n\nВаш заказ {order} зарегистрирован. Мы \
             сообщим, когда он будет отправлен.\n\nС уважением,\n{operator.name}",
        ),
        t(
            "order",
            "sl",
            "Vaše naročilo",
            "Pozdravljeni, {customer.name}!\n\nVaše naročilo {order} je zabeleženo. Ko bo \
             odposlano, vas obvestimo.\n\nLep pozdrav,\n{operator.name}",
        ),
        t(
            "ticket",
            "en",
            "Ticket opened",
            "Hello {customer.name},\n\nwe opened ticket {ticket} for your request; quote it \
             when you write or call.\n\nKind regards,\n{operator.name}",
        ),
        t(
            "ticket",
            "et",
            "Pöördumine registreeritud",
            "Tere, {customer.name}!\n\nRegistreerisime teie pöördumise numbriga {ticket}; \
             palun viidake sellele, kui kirjutate või helistate.\n\nLugupidamisega\n{operator.name}",
        ),
        t(
            "ticket",
            "ru",
            "Заявка открыта",
            "Здравствуйте, {customer.name}!\n\nМы открыли заявку {ticket}; пожалуйста, \
             указывайте её номер, когда пишете или звоните.\n\nС уважением,\n{operator.name}",
        ),
        t(
            "ticket",
            "sl",
            "Zahtevek odprt",
            "Pozdravljeni, {customer.name}!\n\nOdprli smo zahtevek {ticket}; navedite ga, ko \
             pišete ali kličete.\n\nLep pozdrav,\n{operator.name}",
        ),
    ]
}

/// The template `id` in `lang`, else English, else any.
pub fn pick_template<'a>(
    templates: &'a [TemplateDef],
    id: &str,
    lang: &str,
) -> Option<&'a TemplateDef> {
    let of_id = || templates.iter().filter(move |t| t.id == id);
    of_id()
        .find(|t| t.lang == lang)
        .or_else(|| of_id().find(|t| t.lang == "en"))
        .or_else(|| of_id().next())
}

/// How an e-mail interaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailOutcome {
    /// Answered to the customer: waits for the customer's answer.
    Replied,
    /// Passed to a colleague.
    Forwarded,
    /// Closed with no mail sent.
    Closed,
}

impl MailOutcome {
    /// The word kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MailOutcome::Replied => "replied",
            MailOutcome::Forwarded => "forwarded",
            MailOutcome::Closed => "closed",
        }
    }

    fn from_db(s: &str) -> Option<MailOutcome> {
        Some(match s {
            "replied" => MailOutcome::Replied,
            "forwarded" => MailOutcome::Forwarded,
            "closed" => MailOutcome::Closed,
            _ => return None,
        })
    }
}

/// What the operator is typing for one e-mail: the reply (or the forward's
/// note), where to forward it, and the wrap-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailDraft {
    /// The answer's text.
    pub reply: String,
    /// The internal address it is forwarded to (empty: a reply).
    pub forward_to: String,
    /// The order or ticket number the answer is about (`{order}`, `{ticket}`).
    pub reference: String,
    /// Disposition.
    pub disposition: Option<String>,
    /// The wrap-up note (for the team, not the customer).
    pub note: String,
}

/// A claimed mail as saved.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedEmail {
    /// Its row.
    pub row: EmailRow,
    /// UID in the inbox when claimed.
    pub uid: Uid,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// `Name <addr>`.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// The Date header, Unix ms.
    pub received_ms: Option<i64>,
    /// When this desk claimed it.
    pub claimed_ms: i64,
    /// The bytes, once downloaded.
    pub raw: Option<Vec<u8>>,
    /// The earlier interaction this customer's answer re-opened.
    pub reopens: Option<EmailRow>,
    /// What was typed.
    pub draft: MailDraft,
}

/// A closed interaction whose reply waits for the customer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// Its row.
    pub row: EmailRow,
    /// The customer.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// When the reply was sent (queued).
    pub replied_ms: i64,
}

/// An earlier interaction a mail answers: shown above it in the thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    /// Its row.
    pub row: EmailRow,
    /// The customer's mail, as text.
    pub text: String,
    /// Subject.
    pub subject: String,
    /// Our answer.
    pub reply: String,
    /// When we answered.
    pub replied_ms: Option<i64>,
    /// Who answered.
    pub agent: Option<String>,
}

/// An earlier e-mail interaction with a customer, for the Customer tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastEmail {
    /// Its row.
    pub row: EmailRow,
    /// Subject.
    pub subject: String,
    /// When it was closed (Unix ms).
    pub closed_ms: i64,
    /// How it ended.
    pub outcome: Option<MailOutcome>,
    /// Disposition.
    pub disposition: Option<String>,
    /// The wrap-up note.
    pub note: String,
    /// Who handled it.
    pub agent: Option<String>,
}

/// The e-mail figures of a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailDayStats {
    /// Interactions closed.
    pub handled: u32,
    /// Mean time from a mail's arrival to its reply, ms (replies only).
    pub avg_first_reply_ms: Option<i64>,
}

/// A reply or forward that went out and still needs its copy in Sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCopy {
    /// The interaction.
    pub row: EmailRow,
    /// Its outbox key.
    pub outbox_key: String,
}

/// Waiting-for-customer entries older than this are no longer shown.
pub const WAITING_DAYS: i64 = 14;

impl Store {
    /// Records a mail this desk claimed. The same mail claimed again (after
    /// a release, or a restart) gets its record back, with what was typed.
    pub fn claim_email(
        &self,
        l: &Listed,
        claimed_ms: i64,
        reopens: Option<EmailRow>,
        agent: &str,
    ) -> Result<(EmailRow, MailDraft), StoreError> {
        let c = &self.db;
        if let Some((id, draft)) = c
            .query_row(
                "SELECT id, reply, forward_to, reference, disposition, note FROM emails
                 WHERE uid = ?1 AND state IN ('open', 'released')
                   AND coalesce(message_id, '') = coalesce(?2, '')
                 ORDER BY id DESC LIMIT 1",
                params![l.uid.0, l.message_id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        MailDraft {
                            reply: r.get(1)?,
                            forward_to: r.get(2)?,
                            reference: r.get(3)?,
                            disposition: r.get(4)?,
                            note: r.get(5)?,
                        },
                    ))
                },
            )
            .optional()?
        {
            c.execute(
                "UPDATE emails SET state = 'open', claimed_ms = ?2 WHERE id = ?1",
                params![id, claimed_ms],
            )?;
            return Ok((EmailRow(id), draft));
        }
        c.execute(
            "INSERT INTO emails (message_id, uid, sender, subject, received_ms, claimed_ms,
                                 reopens, agent, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'open')",
            params![
                l.message_id,
                l.uid.0,
                l.from,
                l.subject,
                l.date_ms,
                claimed_ms,
                reopens.map(|r| r.0),
                agent
            ],
        )?;
        Ok((EmailRow(c.last_insert_rowid()), MailDraft::default()))
    }

    /// Whether this desk already closed the mail `l` (its move to Done did
    /// not happen: the server was down, or the desk stopped first).
    pub fn email_closed(&self, l: &Listed) -> Result<bool, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT 1 FROM emails WHERE uid = ?1 AND state = 'closed'
                   AND coalesce(message_id, '') = coalesce(?2, '') LIMIT 1",
                params![l.uid.0, l.message_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Keeps a claimed mail's bytes (read offline, forwarded, restored).
    pub fn email_raw(&self, row: EmailRow, raw: &[u8]) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE emails SET raw = ?2 WHERE id = ?1",
            params![row.0, raw],
        )?;
        Ok(())
    }

    /// Saves what is typed for an open e-mail.
    pub fn email_draft(&self, row: EmailRow, d: &MailDraft) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE emails SET reply = ?2, forward_to = ?3, disposition = ?4, note = ?5,
                    reference = ?6
             WHERE id = ?1 AND state = 'open'",
            params![
                row.0,
                d.reply,
                d.forward_to,
                d.disposition,
                d.note,
                d.reference
            ],
        )?;
        Ok(())
    }

    /// A mail given back to the queue; what was typed is kept for whoever
    /// of this desk claims it again.
    pub fn release_email(&self, row: EmailRow) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE emails SET state = 'released' WHERE id = ?1 AND state = 'open'",
            params![row.0],
        )?;
        Ok(())
    }

    /// Closes an interaction: its draft as final, how it ended, and (for a
    /// reply or forward) the outbox item carrying it.
    #[allow(clippy::too_many_arguments)]
    pub fn close_email(
        &self,
        row: EmailRow,
        d: &MailDraft,
        outcome: MailOutcome,
        out_message_id: Option<&str>,
        outbox_key: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE emails SET reply = ?2, forward_to = ?3, disposition = ?4, note = ?5,
                    outcome = ?6, out_message_id = ?7, outbox_key = ?8, closed_ms = ?9,
                    reference = ?10, state = 'closed'
             WHERE id = ?1",
            params![
                row.0,
                d.reply,
                d.forward_to,
                d.disposition,
                d.note,
                outcome.as_str(),
                out_message_id,
                outbox_key,
                at_ms,
                d.reference
            ],
        )?;
        Ok(())
    }

    /// Open interactions (claimed, not closed): what a restarted desk has in hand.
    pub fn open_emails(&self) -> Result<Vec<SavedEmail>, StoreError> {
        let c = &self.db;
        let mut q = c.prepare(
            "SELECT id, uid, message_id, sender, subject, received_ms, claimed_ms, raw, reopens,
                    reply, forward_to, disposition, note, reference
             FROM emails WHERE state = 'open' ORDER BY id",
        )?;
        let rows = q.query_map([], |r| {
            Ok(SavedEmail {
                row: EmailRow(r.get(0)?),
                uid: Uid(r.get(1)?),
                message_id: r.get(2)?,
                from: r.get(3)?,
                subject: r.get(4)?,
                received_ms: r.get(5)?,
                claimed_ms: r.get(6)?,
                raw: r.get(7)?,
                reopens: r.get::<_, Option<i64>>(8)?.map(EmailRow),
                draft: MailDraft {
                    reply: r.get(9)?,
                    forward_to: r.get(10)?,
                    disposition: r.get(11)?,
                    note: r.get(12)?,
                    reference: r.get(13)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest interaction whose reply or forward one of `ids` names: the
    /// conversation a customer's answer belongs to.
    pub fn email_answered(&self, ids: &[String]) -> Result<Option<EmailRow>, StoreError> {
        let c = &self.db;
        let mut q = c.prepare_cached(
            "SELECT id FROM emails WHERE out_message_id = ?1 OR message_id = ?1
             ORDER BY id DESC LIMIT 1",
        )?;
        for id in ids {
            if let Some(row) = q.query_row([id], |r| r.get::<_, i64>(0)).optional()? {
                return Ok(Some(EmailRow(row)));
            }
        }
        Ok(None)
    }

    /// An earlier interaction as the thread shows it.
    pub fn earlier_email(&self, row: EmailRow) -> Result<Option<Earlier>, StoreError> {
        let found = self
            .db
            .query_row(
                "SELECT raw, subject, reply, closed_ms, agent, outcome FROM emails WHERE id = ?1",
                [row.0],
                |r| {
                    Ok((
                        r.get::<_, Option<Vec<u8>>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?;
        Ok(found.map(|(raw, subject, reply, closed, agent, outcome)| {
            let replied =
                outcome.as_deref().and_then(MailOutcome::from_db) == Some(MailOutcome::Replied);
            Earlier {
                row,
                text: raw
                    .map(|r| switchboard_mail::message::parse(&r).text)
                    .unwrap_or_default(),
                subject,
                reply: if replied { reply } else { String::new() },
                replied_ms: closed.filter(|_| replied),
                agent,
            }
        }))
    }

    /// Replies still waiting for the customer's answer (closed in the last
    /// [`WAITING_DAYS`], not yet answered by a later mail), newest first.
    pub fn waiting_emails(&self, now_ms: i64, limit: usize) -> Result<Vec<Waiting>, StoreError> {
        let since = now_ms - WAITING_DAYS * 86_400_000;
        let c = &self.db;
        let mut q = c.prepare_cached(
            "SELECT e.id, e.sender, e.subject, e.closed_ms FROM emails e
             WHERE e.outcome = 'replied' AND e.closed_ms >= ?1
               AND NOT EXISTS (SELECT 1 FROM emails l WHERE l.reopens = e.id)
             ORDER BY e.closed_ms DESC LIMIT ?2",
        )?;
        let rows = q.query_map(params![since, limit as i64], |r| {
            Ok(Waiting {
                row: EmailRow(r.get(0)?),
                from: r.get(1)?,
                subject: r.get(2)?,
                replied_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Closed interactions with the sender whose address is `address`
    /// (matched in `Name <addr>` without regard to case), newest first.
    pub fn emails_from(&self, address: &str, limit: usize) -> Result<Vec<PastEmail>, StoreError> {
        let address = address.trim().to_lowercase();
        if address.is_empty() {
            return Ok(Vec::new());
        }
        let c = &self.db;
        let mut q = c.prepare_cached(
            "SELECT id, subject, closed_ms, outcome, disposition, note, agent FROM emails
             WHERE state = 'closed' AND (lower(sender) = ?1
                  OR substr(lower(sender), -(length(?1) + 2)) = '<' || ?1 || '>')
             ORDER BY closed_ms DESC LIMIT ?2",
        )?;
        let rows = q.query_map(params![address, limit as i64], |r| {
            Ok(PastEmail {
                row: EmailRow(r.get(0)?),
                subject: r.get(1)?,
                closed_ms: r.get(2)?,
                outcome: r
                    .get::<_, Option<String>>(3)?
                    .as_deref()
                    .and_then(MailOutcome::from_db),
                disposition: r.get(4)?,
                note: r.get(5)?,
                agent: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// E-mails closed since `since_ms`, and the mean time to their first reply.
    pub fn mail_day_stats(&self, since_ms: i64) -> Result<MailDayStats, StoreError> {
        let (handled, avg): (i64, Option<f64>) = self.db.query_row(
            "SELECT count(*),
                    avg(CASE WHEN outcome = 'replied' AND received_ms IS NOT NULL
                             THEN max(closed_ms - received_ms, 0) END)
             FROM emails WHERE state = 'closed' AND closed_ms >= ?1",
            [since_ms],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(MailDayStats {
            handled: u32::try_from(handled).unwrap_or(u32::MAX),
            avg_first_reply_ms: avg.map(|a| a.round() as i64),
        })
    }

    /// Replies and forwards the outbox has sent whose copy is not yet in Sent.
    pub fn sent_copies_due(&self) -> Result<Vec<SentCopy>, StoreError> {
        let c = &self.db;
        let mut q = c.prepare_cached(
            "SELECT e.id, e.outbox_key FROM emails e JOIN outbox o ON o.key = e.outbox_key
             WHERE e.sent_copy_ms IS NULL AND o.state = 'sent' ORDER BY e.id LIMIT 50",
        )?;
        let rows = q.query_map([], |r| {
            Ok(SentCopy {
                row: EmailRow(r.get(0)?),
                outbox_key: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The copy of a sent mail is in Sent.
    pub fn sent_copy_done(&self, row: EmailRow, at_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE emails SET sent_copy_ms = ?2 WHERE id = ?1",
            params![row.0, at_ms],
        )?;
        Ok(())
    }
}
