//! The desk's durable data in SQLite: call history, wrap-up notes and their
//! drafts, contacts.
//!
//! WAL journal with `synchronous = FULL`: a committed write survives a crash
//! or a power cut. A note being typed is saved as a draft on every change the
//! UI reports (it debounces to at most a few writes a second), so a killed
//! process loses nothing typed more than a moment before; on start the UI
//! asks for [`Store::pending_drafts`] and reopens them. Finishing a wrap-up
//! writes the note into the call record and removes the draft in one
//! transaction. Schema changes are numbered migrations kept in
//! `PRAGMA user_version`.

use std::fmt;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

/// What went wrong with the store (the disk or the file, never the caller's input).
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused (disk full, file locked, corrupt database …).
    Sqlite(rusqlite::Error),
    /// The database was written by a newer Switchboard.
    TooNew(i64),
    /// A contacts CSV line could not be read (1-based line number, reason).
    Csv(usize, String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
            StoreError::TooNew(v) => write!(
                f,
                "the database has schema version {v}, newer than this Switchboard understands"
            ),
            StoreError::Csv(line, e) => write!(f, "contacts CSV line {line}: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

/// Migrations, in order; each runs once, in a transaction.
const MIGRATIONS: &[&str] = &[
    // 1: history, drafts, contacts.
    "CREATE TABLE calls (
        call_id TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        number TEXT NOT NULL,
        name TEXT,
        queue TEXT,
        started_ms INTEGER NOT NULL,
        answered_ms INTEGER,
        ended_ms INTEGER,
        disposition TEXT,
        ticket TEXT,
        note TEXT
     );
     CREATE INDEX calls_number ON calls(number, started_ms DESC);
     CREATE TABLE drafts (
        call_id TEXT PRIMARY KEY,
        note TEXT NOT NULL,
        disposition TEXT,
        ticket TEXT,
        updated_ms INTEGER NOT NULL
     );
     CREATE TABLE contacts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        number TEXT NOT NULL,
        company TEXT,
        note TEXT
     );
     CREATE INDEX contacts_number ON contacts(number);",
    // 2: the transfer chain of a call (one line per hop).
    "ALTER TABLE calls ADD COLUMN transfers TEXT;",
    // 3: how each call ended and when its wrap-up was saved (history rows,
    // today's figures); the directory as last fetched (works with LDAP down).
    "ALTER TABLE calls ADD COLUMN outcome TEXT;
     ALTER TABLE calls ADD COLUMN outcome_detail TEXT;
     ALTER TABLE calls ADD COLUMN wrapped_ms INTEGER;
     CREATE INDEX calls_started ON calls(started_ms DESC);
     CREATE TABLE directory_cache (
        source TEXT PRIMARY KEY,
        fetched_ms INTEGER NOT NULL,
        entries TEXT NOT NULL
     );",
    // 4: the after-call work a wrap-up took, and the address to call back
    // when the other side is not a number.
    "ALTER TABLE calls ADD COLUMN acw_ms INTEGER;
     ALTER TABLE calls ADD COLUMN uri TEXT;",
    // 5: a call's script run: which script, every step (JSON), the fields
    // it decided; saved on every answer, like a draft.
    "CREATE TABLE script_runs (
        call_id TEXT PRIMARY KEY,
        script_id TEXT NOT NULL,
        trail TEXT NOT NULL,
        fields TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
     );",
    // 6: the outbox: what must reach someone else (a webhook, an e-mail),
    // kept until delivered; `key` is the idempotency key sent with it.
    "CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        call_id TEXT,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        payload TEXT NOT NULL,
        auth TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_ms INTEGER NOT NULL,
        last_error TEXT,
        result TEXT,
        created_ms INTEGER NOT NULL,
        sent_ms INTEGER
     );
     CREATE INDEX outbox_due ON outbox (state, next_ms);
     CREATE INDEX outbox_call ON outbox (call_id);",
    // 7: a call's order or ticket form (JSON), in its draft and its record.
    "ALTER TABLE drafts ADD COLUMN form TEXT;
     ALTER TABLE calls ADD COLUMN form TEXT;",
    // 8: e-mail interactions: the claimed mail (its bytes, so it stays
    // readable offline), what is typed, and how it ended.
    "CREATE TABLE emails (
        id INTEGER PRIMARY KEY,
        message_id TEXT,
        uid INTEGER NOT NULL,
        sender TEXT NOT NULL,
        subject TEXT NOT NULL,
        received_ms INTEGER,
        claimed_ms INTEGER NOT NULL,
        raw BLOB,
        reopens INTEGER,
        agent TEXT,
        reply TEXT NOT NULL DEFAULT '',
        forward_to TEXT NOT NULL DEFAULT '',
        reference TEXT NOT NULL DEFAULT '',
        disposition TEXT,
        note TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        outcome TEXT,
        out_message_id TEXT,
        outbox_key TEXT,
        closed_ms INTEGER,
        sent_copy_ms INTEGER
     );
     CREATE INDEX emails_state ON emails (state, uid);
     CREATE INDEX emails_out ON emails (out_message_id);
     CREATE INDEX emails_message ON emails (message_id);
     CREATE INDEX emails_closed ON emails (closed_ms);
     CREATE INDEX emails_reopens ON emails (reopens);",
    // 9: a contact's e-mail address (an e-mail's sender is matched by it,
    // case-insensitively).
    "ALTER TABLE contacts ADD COLUMN email TEXT;
     CREATE INDEX contacts_email ON contacts(lower(email));",
];

/// A call's script run as saved.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRun {
    /// The script's id.
    pub script_id: String,
    /// Every step, in order.
    pub trail: Vec<crate::script::run::Step>,
    /// The fields it decided.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Which way a call went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The caller rang us.
    #[default]
    In,
    /// We placed it.
    Out,
}

impl Direction {
    /// The word kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    fn from_db(s: &str) -> Direction {
        if s == "out" {
            Direction::Out
        } else {
            Direction::In
        }
    }
}

/// How a call ended, as the history shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Talked (in or out).
    Answered,
    /// Rang and was not answered (the caller gave up).
    Missed,
    /// The operator declined it.
    Declined,
    /// Put through to someone else (the detail says to whom).
    Transferred,
    /// Our call was not answered: busy, declined, not found … (detail: the status).
    Failed,
    /// We gave up calling before it was answered.
    Cancelled,
}

impl Outcome {
    /// The word kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Declined => "declined",
            Outcome::Transferred => "transferred",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }

    fn from_db(s: &str) -> Option<Outcome> {
        Some(match s {
            "answered" => Outcome::Answered,
            "missed" => Outcome::Missed,
            "declined" => Outcome::Declined,
            "transferred" => Outcome::Transferred,
            "failed" => Outcome::Failed,
            "cancelled" => Outcome::Cancelled,
            _ => return None,
        })
    }
}

/// One call in the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRecord {
    /// SIP Call-ID (unique per call).
    pub call_id: String,
    /// In or out.
    pub direction: Direction,
    /// The other party's number.
    pub number: String,
    /// Their name, if known.
    pub name: Option<String>,
    /// The queue the call came through.
    pub queue: Option<String>,
    /// When it started ringing (Unix ms).
    pub started_ms: i64,
    /// When it was answered.
    pub answered_ms: Option<i64>,
    /// When it ended.
    pub ended_ms: Option<i64>,
    /// Wrap-up disposition.
    pub disposition: Option<String>,
    /// Ticket or order number.
    pub ticket: Option<String>,
    /// Wrap-up note.
    pub note: Option<String>,
    /// Where the call was transferred, one hop per line
    /// (`blind to sip:200@pbx: 200`).
    pub transfers: Option<String>,
    /// How it ended (unknown for calls from before migration 3, or still up).
    pub outcome: Option<Outcome>,
    /// To whom it was transferred, or why it failed.
    pub outcome_detail: Option<String>,
    /// When its wrap-up was saved.
    pub wrapped_ms: Option<i64>,
    /// The after-call work its wrap-up took, ms.
    pub acw_ms: Option<i64>,
    /// The other side's SIP address (to call back when it is not a number).
    pub uri: Option<String>,
}

impl CallRecord {
    /// Talk time: from answer to end.
    pub fn talk_ms(&self) -> Option<i64> {
        Some(self.ended_ms?.saturating_sub(self.answered_ms?).max(0))
    }

    /// What to dial to call the other side back: the number when it is
    /// one, else their SIP address.
    pub fn dial_back(&self) -> String {
        match (crate::dialplan::clean_number(&self.number), &self.uri) {
            (None, Some(uri)) => uri.clone(),
            _ => self.number.clone(),
        }
    }

    /// The note's first line, if there is a note.
    pub fn note_first_line(&self) -> Option<&str> {
        self.note
            .as_deref()
            .and_then(|n| n.lines().map(str::trim).find(|l| !l.is_empty()))
    }
}

/// A wrap-up being written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// The note text so far.
    pub note: String,
    /// Disposition chosen so far.
    pub disposition: Option<String>,
    /// Ticket/order number so far.
    pub ticket: Option<String>,
    /// The order or ticket form so far.
    pub form: Option<crate::form::FormValues>,
}

/// A form as stored (JSON); one that does not read back is left out.
fn form_json(f: &Option<crate::form::FormValues>) -> Option<String> {
    f.as_ref().and_then(|v| serde_json::to_string(v).ok())
}

fn form_from(s: Option<String>) -> Option<crate::form::FormValues> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

/// A contact's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContactId(pub i64);

/// A contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Number as dialled.
    pub number: String,
    /// Company.
    pub company: Option<String>,
    /// Free note.
    pub note: Option<String>,
    /// E-mail address (an e-mail's sender is matched to the contact by it).
    pub email: Option<String>,
}

/// The columns a contact is read from, in [`row_to_contact`]'s order.
const CONTACT_COLUMNS: &str = "name, number, company, note, email";

/// A contact from [`CONTACT_COLUMNS`], starting at column `at`.
fn row_to_contact(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Contact> {
    Ok(Contact {
        name: r.get(at)?,
        number: r.get(at + 1)?,
        company: r.get(at + 2)?,
        note: r.get(at + 3)?,
        email: r.get(at + 4)?,
    })
}

/// A contact's address as kept: trimmed, and none rather than blank (the
/// lookup by address compares it as kept).
fn stored_email(c: &Contact) -> Option<&str> {
    c.email.as_deref().map(str::trim).filter(|e| !e.is_empty())
}

/// Which history rows to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HistoryFilter {
    /// Number, name or note containing this (case-insensitive); empty: all.
    pub text: String,
    /// Only calls that rang and were not answered.
    pub missed_only: bool,
    /// At most this many, newest first.
    pub limit: usize,
}

/// The figures of a day (or a shift) so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayStats {
    /// Calls talked (in and out).
    pub handled: u32,
    /// Incoming calls that rang and were not answered.
    pub missed: u32,
    /// Average handle time (talk plus after-call work) of the handled calls
    /// that have ended, ms.
    pub average_handle_ms: i64,
    /// Time spent in after-call work, ms.
    pub after_call_ms: i64,
}

/// The open database.
#[derive(Debug)]
pub struct Store {
    /// The connection (the outbox's `impl Store` in `outbox.rs` uses it too).
    pub(crate) db: Connection,
}

fn row_to_call(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRecord> {
    Ok(CallRecord {
        call_id: r.get(0)?,
        direction: Direction::from_db(&r.get::<_, String>(1)?),
        number: r.get(2)?,
        name: r.get(3)?,
        queue: r.get(4)?,
        started_ms: r.get(5)?,
        answered_ms: r.get(6)?,
        ended_ms: r.get(7)?,
        disposition: r.get(8)?,
        ticket: r.get(9)?,
        note: r.get(10)?,
        transfers: r.get(11)?,
        outcome: r
            .get::<_, Option<String>>(12)?
            .as_deref()
            .and_then(Outcome::from_db),
        outcome_detail: r.get(13)?,
        wrapped_ms: r.get(14)?,
        acw_ms: r.get(15)?,
        uri: r.get(16)?,
    })
}

const CALL_COLUMNS: &str = "call_id, direction, number, name, queue, started_ms, answered_ms, \
                            ended_ms, disposition, ticket, note, transfers, outcome, \
                            outcome_detail, wrapped_ms, acw_ms, uri";

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Store {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory database (tests, the demo mode).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut db: Connection) -> Result<Store, StoreError> {
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(2))?;
        let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > known {
            return Err(StoreError::TooNew(version));
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            let tx = db.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(0))?;
            tx.commit()?;
        }
        Ok(Store { db })
    }

    /// Refuses every write from now on (`true`), as a read-only disk would,
    /// or takes them again (`false`): SQLite's own error comes back to the
    /// caller. For tests of what the desk does when the disk refuses.
    #[doc(hidden)]
    pub fn refuse_writes(&self, refuse: bool) -> Result<(), StoreError> {
        self.db.pragma_update(None, "query_only", refuse)?;
        Ok(())
    }

    /// Records a call when it starts ringing (or updates it if known).
    pub fn record_call(&self, c: &CallRecord) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO calls (call_id, direction, number, name, queue, started_ms, answered_ms, ended_ms, uri)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(call_id) DO UPDATE SET answered_ms = COALESCE(excluded.answered_ms, answered_ms),
                ended_ms = COALESCE(excluded.ended_ms, ended_ms)",
            params![
                c.call_id,
                c.direction.as_str(),
                c.number,
                c.name,
                c.queue,
                c.started_ms,
                c.answered_ms,
                c.ended_ms,
                c.uri
            ],
        )?;
        Ok(())
    }

    /// Marks a call answered.
    pub fn call_answered(&self, call_id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE calls SET answered_ms = ?2, outcome = 'answered' WHERE call_id = ?1",
            params![call_id, at_ms],
        )?;
        Ok(())
    }

    /// Marks a call ended.
    pub fn call_ended(&self, call_id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE calls SET ended_ms = ?2 WHERE call_id = ?1",
            params![call_id, at_ms],
        )?;
        Ok(())
    }

    /// Sets how the call ended (and to whom, or why).
    pub fn set_outcome(
        &self,
        call_id: &str,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE calls SET outcome = ?2, outcome_detail = ?3 WHERE call_id = ?1",
            params![call_id, outcome.as_str(), detail],
        )?;
        Ok(())
    }

    /// Saves the wrap-up being typed (called on every change, debounced by the UI).
    pub fn save_draft(&self, call_id: &str, d: &Draft, now_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO drafts (call_id, note, disposition, ticket, form, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(call_id) DO UPDATE SET note = excluded.note, disposition = excluded.disposition,
                ticket = excluded.ticket, form = excluded.form, updated_ms = excluded.updated_ms",
            params![call_id, d.note, d.disposition, d.ticket, form_json(&d.form), now_ms],
        )?;
        Ok(())
    }

    /// A draft for a call that has none yet (a live call whose script is
    /// being answered: after a crash it comes back as a wrap-up).
    pub fn open_draft(&self, call_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO drafts (call_id, note, disposition, ticket, updated_ms) VALUES (?1, '', NULL, NULL, ?2)
             ON CONFLICT(call_id) DO NOTHING",
            params![call_id, now_ms],
        )?;
        Ok(())
    }

    /// Saves a call's script run (on every answer: a crash loses nothing
    /// that was answered).
    pub fn save_script_run(
        &self,
        call_id: &str,
        run: &crate::script::run::Run,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let trail = serde_json::to_string(run.trail()).unwrap_or_default();
        let fields = serde_json::to_string(&run.fields()).unwrap_or_default();
        self.db.execute(
            "INSERT INTO script_runs (call_id, script_id, trail, fields, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(call_id) DO UPDATE SET script_id = excluded.script_id, trail = excluded.trail,
                fields = excluded.fields, updated_ms = excluded.updated_ms",
            params![call_id, run.first_script().id, trail, fields, now_ms],
        )?;
        Ok(())
    }

    /// A call's saved script run, if it had one. A row that does not read
    /// back (written by a newer version) is `Ok(None)`.
    pub fn script_run(&self, call_id: &str) -> Result<Option<SavedRun>, StoreError> {
        let row: Option<(String, String, String)> = self
            .db
            .query_row(
                "SELECT script_id, trail, fields FROM script_runs WHERE call_id = ?1",
                params![call_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(|(script_id, trail, fields)| {
            Some(SavedRun {
                script_id,
                trail: serde_json::from_str(&trail).ok()?,
                fields: serde_json::from_str(&fields).ok()?,
            })
        }))
    }

    /// The draft of a call, if one is being written.
    pub fn draft(&self, call_id: &str) -> Result<Option<Draft>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT note, disposition, ticket, form FROM drafts WHERE call_id = ?1",
                params![call_id],
                |r| {
                    Ok(Draft {
                        note: r.get(0)?,
                        disposition: r.get(1)?,
                        ticket: r.get(2)?,
                        form: form_from(r.get(3)?),
                    })
                },
            )
            .optional()?)
    }

    /// Drafts left unfinished (after a crash or a closed window), oldest first.
    pub fn pending_drafts(&self) -> Result<Vec<(String, Draft)>, StoreError> {
        Ok(self
            .pending_wrap_ups()?
            .into_iter()
            .map(|(c, d)| (c.call_id, d))
            .collect())
    }

    /// Wrap-ups left unfinished, oldest first, each with its call as the
    /// history has it (whose call, when) — a draft whose call row is gone
    /// still comes back, with only its Call-ID.
    pub fn pending_wrap_ups(&self) -> Result<Vec<(CallRecord, Draft)>, StoreError> {
        let mut st = self.db.prepare(
            "SELECT d.call_id, d.note, d.disposition, d.ticket, c.direction, c.number, c.name,
                    c.queue, c.started_ms, c.answered_ms, c.ended_ms, c.transfers, d.form
             FROM drafts d LEFT JOIN calls c ON c.call_id = d.call_id
             ORDER BY d.updated_ms",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                CallRecord {
                    call_id: r.get(0)?,
                    direction: Direction::from_db(
                        &r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    ),
                    number: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    name: r.get(6)?,
                    queue: r.get(7)?,
                    started_ms: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
                    answered_ms: r.get(9)?,
                    ended_ms: r.get(10)?,
                    transfers: r.get(11)?,
                    ..CallRecord::default()
                },
                Draft {
                    note: r.get(1)?,
                    disposition: r.get(2)?,
                    ticket: r.get(3)?,
                    form: form_from(r.get(12)?),
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes the finished wrap-up into the call record and drops the draft,
    /// in one transaction.
    pub fn finish_wrap_up(&mut self, call_id: &str, d: &Draft) -> Result<(), StoreError> {
        self.finish_wrap_up_at(call_id, d, None, None)
    }

    /// [`Store::finish_wrap_up`], noting when it was saved and how much
    /// after-call work it took (today's figures).
    pub fn finish_wrap_up_at(
        &mut self,
        call_id: &str,
        d: &Draft,
        at_ms: Option<i64>,
        acw_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.finish_wrap_up_with(call_id, d, &[], at_ms, acw_ms)
    }

    /// [`Store::finish_wrap_up_at`], with what its form sends queued in the
    /// outbox in the same transaction: the record and its deliveries are
    /// saved together or not at all.
    pub fn finish_wrap_up_with(
        &mut self,
        call_id: &str,
        d: &Draft,
        items: &[crate::outbox::NewItem],
        at_ms: Option<i64>,
        acw_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let now_ms = at_ms.unwrap_or_else(crate::time::unix_ms);
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE calls SET note = ?2, disposition = ?3, ticket = ?4,
                              wrapped_ms = COALESCE(?5, wrapped_ms),
                              acw_ms = COALESCE(?6, acw_ms), form = ?7 WHERE call_id = ?1",
            params![
                call_id,
                d.note,
                d.disposition,
                d.ticket,
                at_ms,
                acw_ms,
                form_json(&d.form)
            ],
        )?;
        for item in items {
            Store::enqueue_in(&tx, item, now_ms)?;
        }
        tx.execute("DELETE FROM drafts WHERE call_id = ?1", params![call_id])?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a hop to the call's transfer chain.
    pub fn record_transfer(&self, call_id: &str, hop: &str) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE calls SET transfers = CASE WHEN transfers IS NULL THEN ?2
                                               ELSE transfers || char(10) || ?2 END
             WHERE call_id = ?1",
            params![call_id, hop],
        )?;
        Ok(())
    }

    /// One call by its Call-ID.
    pub fn call(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE call_id = ?1"
        ))?;
        let mut rows = st.query_map(params![call_id], row_to_call)?;
        Ok(rows.next().transpose()?)
    }

    /// The latest calls with a number, newest first.
    pub fn history(&self, number: &str, n: usize) -> Result<Vec<CallRecord>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE number = ?1 ORDER BY started_ms DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(params![number, limit(n)], row_to_call)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Calls whose number, name or note contains `text` (case-insensitive), newest first.
    pub fn search(&self, text: &str, n: usize) -> Result<Vec<CallRecord>, StoreError> {
        self.history_rows(&HistoryFilter {
            text: text.to_owned(),
            missed_only: false,
            limit: n,
        })
    }

    /// The history as the History tab lists it.
    pub fn history_rows(&self, f: &HistoryFilter) -> Result<Vec<CallRecord>, StoreError> {
        let missed = if f.missed_only {
            "AND direction = 'in' AND answered_ms IS NULL AND ended_ms IS NOT NULL \
             AND COALESCE(outcome, 'missed') = 'missed'"
        } else {
            ""
        };
        let mut st = self.db.prepare(&format!(
            "SELECT {CALL_COLUMNS} FROM calls
             WHERE (number LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' OR note LIKE ?1 ESCAPE '\\')
             {missed}
             ORDER BY started_ms DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(
            params![like_pattern(f.text.trim()), limit(f.limit)],
            row_to_call,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The figures of the calls that started at or after `since_ms`.
    pub fn day_stats(&self, since_ms: i64) -> Result<DayStats, StoreError> {
        Ok(self.db.query_row(
            "SELECT
                COUNT(answered_ms),
                SUM(CASE WHEN direction = 'in' AND answered_ms IS NULL
                          AND COALESCE(outcome, 'missed') = 'missed' AND ended_ms IS NOT NULL
                         THEN 1 ELSE 0 END),
                AVG(CASE WHEN answered_ms IS NOT NULL AND ended_ms IS NOT NULL
                         THEN MAX(ended_ms - answered_ms, 0) + COALESCE(acw_ms, 0) END),
                SUM(COALESCE(acw_ms, 0))
             FROM calls WHERE started_ms >= ?1",
            params![since_ms],
            |r| {
                Ok(DayStats {
                    handled: r.get::<_, Option<u32>>(0)?.unwrap_or(0),
                    missed: r.get::<_, Option<u32>>(1)?.unwrap_or(0),
                    average_handle_ms: r.get::<_, Option<f64>>(2)?.unwrap_or(0.0).round() as i64,
                    after_call_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                })
            },
        )?)
    }

    /// Imports contacts from CSV text with a header line naming at least
    /// `name` and `number` (also `company`, `note`, `email`); quoted fields may contain
    /// commas and doubled quotes. All or nothing: a bad line imports nothing
    /// and names the line.
    pub fn import_contacts_csv(&mut self, text: &str) -> Result<usize, StoreError> {
        let contacts = parse_contacts_csv(text)?;
        self.add_contacts(&contacts)
    }

    /// Adds contacts in one transaction (all or nothing).
    pub fn add_contacts(&mut self, contacts: &[Contact]) -> Result<usize, StoreError> {
        let tx = self.db.transaction()?;
        for c in contacts {
            tx.execute(
                "INSERT INTO contacts (name, number, company, note, email)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![c.name, c.number, c.company, c.note, stored_email(c)],
            )?;
        }
        tx.commit()?;
        Ok(contacts.len())
    }

    /// Every contact as CSV (the header line the import reads, RFC 4180
    /// quoting), sorted by name: export, then import elsewhere.
    pub fn export_contacts_csv(&self) -> Result<String, StoreError> {
        let mut out = String::from("name,number,company,note,email\n");
        for (_, c) in self.contacts("")? {
            let fields = [
                c.name.as_str(),
                c.number.as_str(),
                c.company.as_deref().unwrap_or(""),
                c.note.as_deref().unwrap_or(""),
                c.email.as_deref().unwrap_or(""),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_quote(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        Ok(out)
    }

    /// Contacts whose name, number, company, note or e-mail address
    /// contains `text`, by name.
    pub fn contacts(&self, text: &str) -> Result<Vec<(ContactId, Contact)>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT id, {CONTACT_COLUMNS} FROM contacts
             WHERE name LIKE ?1 ESCAPE '\\' OR number LIKE ?1 ESCAPE '\\'
                OR company LIKE ?1 ESCAPE '\\' OR note LIKE ?1 ESCAPE '\\'
                OR email LIKE ?1 ESCAPE '\\'
             ORDER BY name COLLATE NOCASE, id"
        ))?;
        let rows = st.query_map(params![like_pattern(text.trim())], |r| {
            Ok((ContactId(r.get(0)?), row_to_contact(r, 1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds a contact.
    pub fn add_contact(&self, c: &Contact) -> Result<ContactId, StoreError> {
        self.db.execute(
            "INSERT INTO contacts (name, number, company, note, email) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c.name, c.number, c.company, c.note, stored_email(c)],
        )?;
        Ok(ContactId(self.db.last_insert_rowid()))
    }

    /// Changes a contact.
    pub fn update_contact(&self, id: ContactId, c: &Contact) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE contacts SET name = ?2, number = ?3, company = ?4, note = ?5, email = ?6
             WHERE id = ?1",
            params![id.0, c.name, c.number, c.company, c.note, stored_email(c)],
        )?;
        Ok(())
    }

    /// One contact by its id.
    pub fn contact(&self, id: ContactId) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1");
        Ok(self
            .db
            .query_row(&sql, params![id.0], |r| row_to_contact(r, 0))
            .optional()?)
    }

    /// Removes a contact.
    pub fn delete_contact(&self, id: ContactId) -> Result<(), StoreError> {
        self.db
            .execute("DELETE FROM contacts WHERE id = ?1", params![id.0])?;
        Ok(())
    }

    /// The contact with this number, if any.
    pub fn contact_by_number(&self, number: &str) -> Result<Option<Contact>, StoreError> {
        Ok(self
            .db
            .query_row(
                &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE number = ?1 LIMIT 1"),
                params![number],
                |r| row_to_contact(r, 0),
            )
            .optional()?)
    }

    /// The contact with this e-mail address, if any; of several, the first
    /// added. Surrounding blanks are ignored and letters compared without
    /// case (ASCII ones, as SQLite's `lower`, which the index is built on).
    pub fn contact_by_email(
        &self,
        address: &str,
    ) -> Result<Option<(ContactId, Contact)>, StoreError> {
        let address = address.trim();
        if address.is_empty() {
            return Ok(None);
        }
        Ok(self
            .db
            .query_row(
                &format!(
                    "SELECT id, {CONTACT_COLUMNS} FROM contacts
                     WHERE lower(email) = lower(?1) ORDER BY id LIMIT 1"
                ),
                params![address],
                |r| Ok((ContactId(r.get(0)?), row_to_contact(r, 1)?)),
            )
            .optional()?)
    }

    /// Keeps a directory source's entries (JSON, as the directory module
    /// writes them) with the time they were fetched.
    pub fn save_directory(&self, source: &str, json: &str, at_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO directory_cache (source, fetched_ms, entries) VALUES (?1, ?2, ?3)
             ON CONFLICT(source) DO UPDATE SET fetched_ms = excluded.fetched_ms,
                entries = excluded.entries",
            params![source, at_ms, json],
        )?;
        Ok(())
    }

    /// A directory source as last fetched: its JSON and when.
    pub fn cached_directory(&self, source: &str) -> Result<Option<(String, i64)>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT entries, fetched_ms FROM directory_cache WHERE source = ?1",
                params![source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}

/// Reads contacts from CSV text (see [`Store::import_contacts_csv`]);
/// nothing is written. A worker thread parses, the store imports.
pub fn parse_contacts_csv(text: &str) -> Result<Vec<Contact>, StoreError> {
    let (cols, rows) = csv_table(text).map_err(|(l, e)| StoreError::Csv(l, e))?;
    let at = |name: &str| cols.iter().position(|c| c == name);
    let (Some(ni), Some(pi)) = (at("name"), at("number")) else {
        return Err(StoreError::Csv(
            1,
            "header needs name and number columns".into(),
        ));
    };
    let (ci, oi, ei) = (at("company"), at("note"), at("email"));
    let mut contacts = Vec::new();
    for (line, f) in rows {
        let get = |k: Option<usize>| {
            k.and_then(|k| f.get(k))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let (Some(name), Some(number)) = (get(Some(ni)), get(Some(pi))) else {
            return Err(StoreError::Csv(line, "name or number missing".into()));
        };
        let email = get(ei);
        if let Some(e) = &email
            && !looks_like_email(e)
        {
            return Err(StoreError::Csv(
                line,
                format!("{e:?} is not an e-mail address"),
            ));
        }
        contacts.push(Contact {
            name,
            number,
            company: get(ci),
            note: get(oi),
            email,
        });
    }
    Ok(contacts)
}

/// Whether `s` could be an e-mail address, checked loosely: one `@` with
/// something on both sides, and no blanks.
pub fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// A CSV text as its header (lower case, trimmed) and its rows with their
/// 1-based line numbers; blank lines and a byte-order mark are skipped.
/// An error is the line and what is wrong with it.
pub fn csv_table(text: &str) -> Result<CsvTable, (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let cols = csv_fields(header)
        .map_err(|e| (1, e))?
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let rows = lines
        .map(|(i, line)| csv_fields(line).map(|f| (i + 1, f)).map_err(|e| (i + 1, e)))
        .collect::<Result<_, _>>()?;
    Ok((cols, rows))
}

/// A CSV's header and its rows with their line numbers.
pub type CsvTable = (Vec<String>, Vec<(usize, Vec<String>)>);

/// One CSV field, quoted when it must be (RFC 4180).
pub fn csv_quote(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_owned()
    }
}

/// Splits one CSV line (RFC 4180 quoting).
pub fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (false, ',') => out.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, number: &str, t: i64) -> CallRecord {
        CallRecord {
            call_id: id.into(),
            direction: Direction::In,
            number: number.into(),
            name: Some("Mari".into()),
            queue: Some("Arveldus".into()),
            started_ms: t,
            ..CallRecord::default()
        }
    }

    #[test]
    fn a_draft_survives_reopening_and_finishing_moves_it_into_history() {
        let dir = std::env::temp_dir().join(format!("sb-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("desk.db");
        let _ = std::fs::remove_file(&path);
        {
            let s = Store::open(&path).unwrap();
            s.record_call(&call("c1", "+3725551234", 1000)).unwrap();
            let d = Draft {
                note: "Tellimus ei jõudnud kohale".into(),
                disposition: Some("complaint".into()),
                ticket: None,
                form: None,
            };
            s.save_draft("c1", &d, 2000).unwrap();
            // The process dies here (no explicit close).
        }
        let mut s = Store::open(&path).unwrap();
        let pending = s.pending_drafts().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].1.note, "Tellimus ei jõudnud kohale");
        let mut d = pending[0].1.clone();
        d.ticket = Some("T-4711".into());
        s.finish_wrap_up("c1", &d).unwrap();
        assert!(s.pending_drafts().unwrap().is_empty());
        let h = s.history("+3725551234", 5).unwrap();
        assert_eq!(h[0].ticket.as_deref(), Some("T-4711"));
        assert_eq!(h[0].disposition.as_deref(), Some("complaint"));
        assert_eq!(s.search("jõudnud", 10).unwrap().len(), 1);
        assert!(
            s.search("100%_", 10).unwrap().is_empty(),
            "LIKE wildcards are escaped"
        );
    }

    #[test]
    fn an_old_database_is_migrated_and_keeps_its_calls_and_transfer_chains_append() {
        let dir = std::env::temp_dir().join(format!("sb-store-mig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            // A database as the first release left it.
            let db = Connection::open(&path).unwrap();
            db.execute_batch(MIGRATIONS[0]).unwrap();
            db.execute(
                "INSERT INTO calls (call_id, direction, number, started_ms, note)
                 VALUES ('old', 'in', '+3725550000', 5, 'kept')",
                [],
            )
            .unwrap();
            db.pragma_update(None, "user_version", 1).unwrap();
        }
        let s = Store::open(&path).unwrap();
        let h = s.history("+3725550000", 1).unwrap();
        assert_eq!(h[0].note.as_deref(), Some("kept"));
        assert_eq!(h[0].transfers, None);
        s.record_transfer("old", "consult → sip:200@pbx").unwrap();
        s.record_transfer("old", "attended → sip:200@pbx: 200")
            .unwrap();
        let h = s.history("+3725550000", 1).unwrap();
        assert_eq!(
            h[0].transfers.as_deref(),
            Some("consult → sip:200@pbx\nattended → sip:200@pbx: 200")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn history_is_newest_first_and_limited() {
        let s = Store::in_memory().unwrap();
        for (i, t) in [3000, 1000, 2000].iter().enumerate() {
            s.record_call(&call(&format!("c{i}"), "+386", *t)).unwrap();
        }
        s.call_answered("c0", 3100).unwrap();
        s.call_ended("c0", 3500).unwrap();
        let h = s.history("+386", 2).unwrap();
        assert_eq!(
            h.iter().map(|c| c.started_ms).collect::<Vec<_>>(),
            [3000, 2000]
        );
        assert_eq!(h[0].ended_ms, Some(3500));
    }

    #[test]
    fn contacts_import_is_all_or_nothing_and_names_the_bad_line() {
        let mut s = Store::in_memory().unwrap();
        let good = "name,number,company\n\"Tamm, Jaan\",+3725550001,\"Acme \"\"OÜ\"\"\"\nIvan Petrov,+3725550002,\n";
        assert_eq!(s.import_contacts_csv(good).unwrap(), 2);
        let c = s.contact_by_number("+3725550001").unwrap().unwrap();
        assert_eq!(c.name, "Tamm, Jaan");
        assert_eq!(c.company.as_deref(), Some("Acme \"OÜ\""));
        let bad = "name,number\nA,+1\nB\n";
        let e = s.import_contacts_csv(bad).unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(
            s.contact_by_number("+1").unwrap().is_none(),
            "nothing imported"
        );
        assert!(s.import_contacts_csv("who,what\n").is_err());
    }

    #[test]
    fn contacts_are_added_edited_deleted_and_exported_as_the_import_reads_them() {
        let s = Store::in_memory().unwrap();
        let id = s
            .add_contact(&Contact {
                name: "Tamm, Jaan".into(),
                number: "+3725550001".into(),
                company: Some("Acme \"OÜ\"".into()),
                note: None,
                email: None,
            })
            .unwrap();
        s.add_contact(&Contact {
            name: "Ana Novak".into(),
            number: "+38615551234".into(),
            ..Contact::default()
        })
        .unwrap();
        assert_eq!(s.contacts("").unwrap().len(), 2);
        assert_eq!(s.contacts("acme").unwrap()[0].0, id);
        s.update_contact(
            id,
            &Contact {
                name: "Jaan Tamm".into(),
                number: "+3725550001".into(),
                company: Some("Acme \"OÜ\"".into()),
                note: Some("prefers mornings".into()),
                email: Some(" Jaan.Tamm@Acme.example ".into()),
            },
        )
        .unwrap();
        assert_eq!(
            s.contacts("tamm@acme").unwrap()[0].0,
            id,
            "found by address"
        );
        let csv = s.export_contacts_csv().unwrap();
        assert_eq!(
            csv,
            "name,number,company,note,email\nAna Novak,+38615551234,,,\nJaan Tamm,+3725550001,\"Acme \"\"OÜ\"\"\",prefers mornings,Jaan.Tamm@Acme.example\n"
        );
        // What was exported imports elsewhere as it was.
        let mut other = Store::in_memory().unwrap();
        assert_eq!(other.import_contacts_csv(&csv).unwrap(), 2);
        let strip =
            |v: Vec<(ContactId, Contact)>| v.into_iter().map(|(_, c)| c).collect::<Vec<_>>();
        assert_eq!(
            strip(other.contacts("").unwrap()),
            strip(s.contacts("").unwrap())
        );
        assert_eq!(
            other.contact_by_number("+3725550001").unwrap(),
            s.contact_by_number("+3725550001").unwrap()
        );
        s.delete_contact(id).unwrap();
        assert_eq!(s.contacts("").unwrap().len(), 1);
    }

    #[test]
    fn a_contact_is_found_by_its_address_without_case_or_blanks() {
        let s = Store::in_memory().unwrap();
        assert_eq!(s.contact_by_email("juri@example.test").unwrap(), None);
        let juri = Contact {
            name: "Jüri Õunapuu".into(),
            number: "+3725550009".into(),
            company: Some("Õunapuu Aed OÜ".into()),
            note: Some("orders every spring".into()),
            email: Some("Juri.Ounapuu@Example.TEST".into()),
        };
        let id = s.add_contact(&juri).unwrap();
        s.add_contact(&Contact {
            name: "Ana Novak".into(),
            number: "+38615551234".into(),
            ..Contact::default()
        })
        .unwrap();
        assert_eq!(
            s.contact_by_email("  juri.ounapuu@example.test \n")
                .unwrap(),
            Some((id, juri.clone()))
        );
        assert_eq!(s.contact_by_email("ounapuu@example.test").unwrap(), None);
        assert_eq!(
            s.contact_by_email("").unwrap(),
            None,
            "no address, no match"
        );
        assert_eq!(s.contact_by_email("  ").unwrap(), None);
        // The number finds the address too; a changed address finds it no more.
        assert_eq!(
            s.contact_by_number("+3725550009").unwrap().unwrap().email,
            juri.email
        );
        s.update_contact(
            id,
            &Contact {
                email: Some("juri@aed.example".into()),
                ..juri.clone()
            },
        )
        .unwrap();
        assert_eq!(
            s.contact_by_email("juri.ounapuu@example.test").unwrap(),
            None
        );
        assert_eq!(
            s.contact_by_email("JURI@aed.example").unwrap().unwrap().0,
            id
        );
        // A blank address is kept as none.
        s.update_contact(
            id,
            &Contact {
                email: Some("  ".into()),
                ..juri
            },
        )
        .unwrap();
        assert_eq!(
            s.contact_by_number("+3725550009").unwrap().unwrap().email,
            None
        );
    }

    #[test]
    fn a_database_of_version_8_gains_contact_addresses_and_keeps_its_contacts() {
        let dir = std::env::temp_dir().join(format!("sb-store-mig9-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v8.db");
        let _ = std::fs::remove_file(&path);
        {
            // A database as the release with the e-mail table left it.
            let db = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..8] {
                db.execute_batch(sql).unwrap();
            }
            db.execute(
                "INSERT INTO contacts (name, number, company, note)
                 VALUES ('Mari Maasikas', '+3725551234', 'Acme OÜ', 'calls on Mondays')",
                [],
            )
            .unwrap();
            db.pragma_update(None, "user_version", 8).unwrap();
        }
        let s = Store::open(&path).unwrap();
        let version: i64 =
            s.db.pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
        assert_eq!(version, 9);
        let columns: Vec<String> =
            s.db.prepare("SELECT name FROM pragma_table_info('contacts')")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        assert!(columns.iter().any(|c| c == "email"), "{columns:?}");
        let (id, mari) = s.contacts("").unwrap().remove(0);
        assert_eq!(
            mari,
            Contact {
                name: "Mari Maasikas".into(),
                number: "+3725551234".into(),
                company: Some("Acme OÜ".into()),
                note: Some("calls on Mondays".into()),
                email: None,
            }
        );
        s.update_contact(
            id,
            &Contact {
                email: Some("mari@example.test".into()),
                ..mari
            },
        )
        .unwrap();
        drop(s);
        // Opened again: nothing runs twice, the address is there.
        let s = Store::open(&path).unwrap();
        assert_eq!(
            s.contact_by_email("MARI@example.test")
                .unwrap()
                .unwrap()
                .1
                .company
                .as_deref(),
            Some("Acme OÜ")
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_contacts_csv_may_name_an_email_column_in_any_place() {
        // Without the column, as before: no addresses.
        let without = parse_contacts_csv("name,number\nMari,+3725551234\n").unwrap();
        assert_eq!(without[0].email, None);
        // With it, anywhere in the header, any case; empty is none.
        let with = parse_contacts_csv(
            "E-mail-less,EMAIL,number,name\nx, juri@example.test ,+3725550009,Jüri\nx,,+3725551234,Mari\n",
        )
        .unwrap();
        assert_eq!(with[0].email.as_deref(), Some("juri@example.test"));
        assert_eq!(with[0].name, "Jüri");
        assert_eq!(with[1].email, None);
        // A bad address names its line, and nothing is imported.
        let mut s = Store::in_memory().unwrap();
        for bad in [
            "mari.example.test",
            "mari@@example.test",
            "mari maasikas@example.test",
            "@example.test",
        ] {
            let csv = format!(
                "name,number,email\nJüri,+3725550009,juri@example.test\nMari,+3725551234,\"{bad}\"\n"
            );
            let e = s.import_contacts_csv(&csv).unwrap_err();
            assert!(
                e.to_string().contains("line 3") && e.to_string().contains("not an e-mail address"),
                "{bad}: {e}"
            );
            assert!(
                s.contacts("").unwrap().is_empty(),
                "{bad}: nothing imported"
            );
        }
        assert_eq!(
            s.import_contacts_csv("name,number,email\nJüri,+3725550009,juri@example.test\n")
                .unwrap(),
            1
        );
        assert!(s.contact_by_email("juri@example.test").unwrap().is_some());
    }

    #[test]
    fn the_directory_is_kept_with_its_age() {
        let s = Store::in_memory().unwrap();
        assert_eq!(s.cached_directory("ldap:x").unwrap(), None);
        s.save_directory("ldap:x", "[1]", 10).unwrap();
        s.save_directory("ldap:x", "[2]", 20).unwrap();
        assert_eq!(
            s.cached_directory("ldap:x").unwrap(),
            Some(("[2]".to_owned(), 20))
        );
    }
}

#[cfg(test)]
mod script_run_tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::script::library::Library;
    use crate::script::run::{Answer, Run};

    #[test]
    fn a_script_run_saved_on_each_answer_is_there_after_the_process_dies() {
        let dir = std::env::temp_dir().join(format!("sb-script-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("desk.db");
        let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/scripts");
        let (lib, errors) = Library::load_dir(&scripts);
        assert!(errors.is_empty(), "{errors:?}");
        let triage = lib.get("triage").unwrap().clone();
        let mut run = Run::new(triage.clone(), BTreeMap::new());
        {
            let store = Store::open(&db).unwrap();
            for (i, a) in [
                Answer::Text("Pikk 1".into()),
                Answer::Text("+3725551234".into()),
                Answer::Chosen(vec!["illness".into()]),
                Answer::YesNo(false),
            ]
            .into_iter()
            .enumerate()
            {
                run.answer(a, i as i64).unwrap();
                store.save_script_run("call-1", &run, i as i64).unwrap();
            }
            // No clean close: the store is dropped as a killed process leaves it.
            std::mem::forget(store);
        }
        let store = Store::open(&db).unwrap();
        let saved = store.script_run("call-1").unwrap().expect("saved");
        assert_eq!(saved.script_id, "triage");
        assert_eq!(saved.fields.get("priority").map(String::as_str), Some("2"));
        let (again, left) = Run::resume(triage, BTreeMap::new(), &saved.trail, |_| None);
        assert_eq!(left, 0);
        assert_eq!(again.current().id, "breathing", "where it stood");
        assert_eq!(again.fields(), run.fields());
        assert!(store.script_run("call-2").unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
