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
];

/// One call in the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRecord {
    /// SIP Call-ID (unique per call).
    pub call_id: String,
    /// `in` or `out`.
    pub direction: String,
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
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Number as dialled.
    pub number: String,
    /// Company.
    pub company: Option<String>,
    /// Free note.
    pub note: Option<String>,
}

/// The open database.
#[derive(Debug)]
pub struct Store {
    db: Connection,
}

fn row_to_call(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRecord> {
    Ok(CallRecord {
        call_id: r.get(0)?,
        direction: r.get(1)?,
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
    })
}

const CALL_COLUMNS: &str = "call_id, direction, number, name, queue, started_ms, answered_ms, \
                            ended_ms, disposition, ticket, note, transfers";

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

    /// Records a call when it starts ringing (or updates it if known).
    pub fn record_call(&self, c: &CallRecord) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO calls (call_id, direction, number, name, queue, started_ms, answered_ms, ended_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(call_id) DO UPDATE SET answered_ms = COALESCE(excluded.answered_ms, answered_ms),
                ended_ms = COALESCE(excluded.ended_ms, ended_ms)",
            params![
                c.call_id,
                c.direction,
                c.number,
                c.name,
                c.queue,
                c.started_ms,
                c.answered_ms,
                c.ended_ms
            ],
        )?;
        Ok(())
    }

    /// Marks a call answered.
    pub fn call_answered(&self, call_id: &str, at_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "UPDATE calls SET answered_ms = ?2 WHERE call_id = ?1",
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

    /// Saves the wrap-up being typed (called on every change, debounced by the UI).
    pub fn save_draft(&self, call_id: &str, d: &Draft, now_ms: i64) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO drafts (call_id, note, disposition, ticket, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(call_id) DO UPDATE SET note = excluded.note, disposition = excluded.disposition,
                ticket = excluded.ticket, updated_ms = excluded.updated_ms",
            params![call_id, d.note, d.disposition, d.ticket, now_ms],
        )?;
        Ok(())
    }

    /// The draft of a call, if one is being written.
    pub fn draft(&self, call_id: &str) -> Result<Option<Draft>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT note, disposition, ticket FROM drafts WHERE call_id = ?1",
                params![call_id],
                |r| {
                    Ok(Draft {
                        note: r.get(0)?,
                        disposition: r.get(1)?,
                        ticket: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Drafts left unfinished (after a crash or a closed window), oldest first.
    pub fn pending_drafts(&self) -> Result<Vec<(String, Draft)>, StoreError> {
        let mut st = self
            .db
            .prepare("SELECT call_id, note, disposition, ticket FROM drafts ORDER BY updated_ms")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Draft {
                    note: r.get(1)?,
                    disposition: r.get(2)?,
                    ticket: r.get(3)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes the finished wrap-up into the call record and drops the draft,
    /// in one transaction.
    pub fn finish_wrap_up(&mut self, call_id: &str, d: &Draft) -> Result<(), StoreError> {
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE calls SET note = ?2, disposition = ?3, ticket = ?4 WHERE call_id = ?1",
            params![call_id, d.note, d.disposition, d.ticket],
        )?;
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
    pub fn history(&self, number: &str, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let mut st = self.db.prepare(&format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE number = ?1 ORDER BY started_ms DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(
            params![number, i64::try_from(limit).unwrap_or(i64::MAX)],
            row_to_call,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Calls whose number, name or note contains `text` (case-insensitive), newest first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let mut st = self.db.prepare(&format!(
            "SELECT {CALL_COLUMNS} FROM calls
             WHERE number LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' OR note LIKE ?1 ESCAPE '\\'
             ORDER BY started_ms DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(
            params![pattern, i64::try_from(limit).unwrap_or(i64::MAX)],
            row_to_call,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Imports contacts from CSV text with a header line naming at least
    /// `name` and `number` (also `company`, `note`); quoted fields may contain
    /// commas and doubled quotes. All or nothing: a bad line imports nothing
    /// and names the line.
    pub fn import_contacts_csv(&mut self, text: &str) -> Result<usize, StoreError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Ok(0);
        };
        let cols: Vec<String> = csv_fields(header)
            .map_err(|e| StoreError::Csv(1, e))?
            .iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .collect();
        let at = |name: &str| cols.iter().position(|c| c == name);
        let (Some(ni), Some(pi)) = (at("name"), at("number")) else {
            return Err(StoreError::Csv(
                1,
                "header needs name and number columns".into(),
            ));
        };
        let (ci, oi) = (at("company"), at("note"));
        let mut contacts = Vec::new();
        for (i, line) in lines {
            let f = csv_fields(line).map_err(|e| StoreError::Csv(i + 1, e))?;
            let get = |k: Option<usize>| {
                k.and_then(|k| f.get(k))
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
            };
            let (Some(name), Some(number)) = (get(Some(ni)), get(Some(pi))) else {
                return Err(StoreError::Csv(i + 1, "name or number missing".into()));
            };
            contacts.push(Contact {
                name,
                number,
                company: get(ci),
                note: get(oi),
            });
        }
        let tx = self.db.transaction()?;
        for c in &contacts {
            tx.execute(
                "INSERT INTO contacts (name, number, company, note) VALUES (?1, ?2, ?3, ?4)",
                params![c.name, c.number, c.company, c.note],
            )?;
        }
        tx.commit()?;
        Ok(contacts.len())
    }

    /// The contact with this number, if any.
    pub fn contact_by_number(&self, number: &str) -> Result<Option<Contact>, StoreError> {
        Ok(self
            .db
            .query_row(
                "SELECT name, number, company, note FROM contacts WHERE number = ?1 LIMIT 1",
                params![number],
                |r| {
                    Ok(Contact {
                        name: r.get(0)?,
                        number: r.get(1)?,
                        company: r.get(2)?,
                        note: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }
}

/// Splits one CSV line (RFC 4180 quoting).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
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
            direction: "in".into(),
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
}
