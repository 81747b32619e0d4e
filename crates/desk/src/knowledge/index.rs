//! The index: the folder's articles in SQLite, searched with FTS5.
//!
//! Three tables:
//!
//! - `articles`: one narrow row per article (id, title, language, the
//!   queues as match keys, the mtime and size its file had when read) —
//!   what ordering and syncing need, packed densely;
//! - `texts`: the wide part (tags, queues as written, the Markdown body and
//!   the body as plain text), read for an article, a snippet or a rebuild
//!   of one row;
//! - `search`: an FTS5 table with *external content* (`content='texts'`):
//!   it is given the folded words (see `query::fold`) and reads the unfolded
//!   text back from `texts` for `snippet()`. Its rows are kept in step by
//!   hand, in the same transaction: an FTS5 `'delete'` is given the folded
//!   text the row was indexed with, re-folded from `texts`.
//!
//! **The row number carries the language**: `n = language << 40 | sequence`
//! (language 1–4, the position in [`LANGUAGES`] plus one), so one
//! language's articles are one range of FTS5 rowids, which it seeks to in
//! its lists. A search ranks the preferred languages one at a time, then
//! the others together, and stops as soon as the list is full: a common
//! word scores the matches of one language, not all, and joins none of them.
//! An article whose language changes is removed and added under a new number.
//!
//! **Ranking is FTS5's own sort** (`ORDER BY rank`, with `rank` set to the
//! weighted `bm25()` when the table is made): that plan keeps each match's
//! positions in its sorter, so `snippet()` in the same statement is made for
//! the rows returned only. Any other `ORDER BY` would have SQLite sort and
//! make a snippet for every match; a snippet looked up afterwards by
//! `rowid = ?` rebuilds a long prefix's merged list each time (≈ 2 ms at
//! 10,000 articles). A test holds both ranking statements to that plan.
//!
//! The file is a cache: it may be deleted at any time and is rebuilt by the
//! next [`Index::sync`]; a file from another schema version, or one SQLite
//! does not recognise as a database, is dropped and started afresh.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::article::{Article, LANGUAGES, parse_article, parse_file};
use super::query::{self, fold};
use super::{Hit, KnowledgeError, SyncReport};

/// A file larger than this (256 KiB) is not read as an article.
pub const MAX_ARTICLE_BYTES: u64 = 256 * 1024;

/// Folders nested deeper than this are not walked (a symlink loop ends here).
const MAX_DEPTH: usize = 16;

/// After a batch that changed this many articles the FTS segments are
/// merged into one (`'optimize'`), which keeps queries fast after a build.
const OPTIMIZE_AFTER: usize = 200;

/// `bm25()` weights of the columns title, tags, body.
const WEIGHTS: &str = "10.0, 4.0, 1.0";

/// Words of context around a match in a snippet.
const SNIPPET_WORDS: i64 = 16;

/// The words of the body's start shown for an article without a match.
const LEAD_WORDS: usize = 16;

/// At most this many preferred languages are looked at.
const MAX_LANGS: usize = 8;

/// The row number's bits below the language.
const LANG_SHIFT: u32 = 40;

/// Page cache per connection, KiB: the FTS index's busy pages stay in memory.
const CACHE_KIB: i64 = 16 * 1024;

/// Bump on any change to the tables *or to the folding*: the cache is then
/// rebuilt, never migrated.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
    DROP TABLE IF EXISTS search;
    DROP TABLE IF EXISTS texts;
    DROP TABLE IF EXISTS articles;
    CREATE TABLE articles (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        lang TEXT NOT NULL,
        queue_keys TEXT NOT NULL,
        mtime_ns INTEGER,
        size INTEGER
    );
    CREATE TABLE texts (
        n INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        tags TEXT NOT NULL,
        queues TEXT NOT NULL,
        body TEXT NOT NULL,
        plain TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE search USING fts5(
        title, tags, plain,
        content = 'texts', content_rowid = 'n',
        tokenize = 'unicode61 remove_diacritics 2',
        prefix = '2 3'
    );";

/// What a file was when it was read: mtime (ns since the epoch) and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime_ns: Option<i64>,
    size: i64,
}

/// A file that did not index, remembered so it is not re-read every sync
/// while unchanged.
#[derive(Debug, Clone)]
struct Failed {
    stamp: Stamp,
    message: String,
}

/// An article file found in the folder.
#[derive(Debug)]
struct Found {
    id: String,
    path: PathBuf,
    stamp: Stamp,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Added,
    Updated,
    Unchanged,
}

/// A match before it is looked up: its row, its score, its snippet.
#[derive(Debug, Clone)]
struct Ranked {
    n: i64,
    score: f64,
    snippet: String,
}

/// Which articles a ranking takes, by the call's queue (its key in
/// `queue_keys`).
#[derive(Debug, Clone, Copy)]
enum Queue<'a> {
    Any,
    In(&'a str),
    NotIn(&'a str),
}

/// The ranking of one language's matches (see [`Index::ranked_in`]).
const RANKED: &str = "
    SELECT rowid, -rank, snippet(search, 2, ?4, ?5, '…', ?6)
      FROM search WHERE search MATCH ?1 AND rowid >= ?2 AND rowid < ?3
     ORDER BY rank
     LIMIT ?7";

/// The same, of the articles in (`?9` = 1) or not in (0) queue `?8`.
const RANKED_BY_QUEUE: &str = "
    SELECT rowid, -rank, snippet(search, 2, ?4, ?5, '…', ?6)
      FROM search WHERE search MATCH ?1 AND rowid >= ?2 AND rowid < ?3
       AND (SELECT instr(a.queue_keys, ?8) > 0 FROM articles a WHERE a.n = search.rowid) = ?9
     ORDER BY rank
     LIMIT ?7";

/// The knowledge base's index.
#[derive(Debug)]
pub struct Index {
    db: Connection,
    /// Files that did not index, by article id.
    failed: HashMap<String, Failed>,
}

impl Index {
    /// Opens the index file at `path` (a rebuildable cache, WAL), creating it
    /// if missing; a file of another version or not a database is started
    /// afresh.
    pub fn open(path: &Path) -> Result<Index, KnowledgeError> {
        match Connection::open(path)
            .map_err(KnowledgeError::from)
            .and_then(Index::init)
        {
            Err(KnowledgeError::Sqlite(e)) if is_not_a_database(&e) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.as_os_str().to_owned();
                    p.push(suffix);
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(KnowledgeError::Read {
                                path: PathBuf::from(p),
                                source: e,
                            });
                        }
                    }
                }
                Index::init(Connection::open(path)?)
            }
            other => other,
        }
    }

    /// An index in memory (tests, the benchmark, a desk without a data folder).
    pub fn in_memory() -> Result<Index, KnowledgeError> {
        Index::init(Connection::open_in_memory()?)
    }

    fn init(mut db: Connection) -> Result<Index, KnowledgeError> {
        db.busy_timeout(std::time::Duration::from_secs(2))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // A cache: a power cut may lose the last sync, the next one redoes it.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.pragma_update(None, "cache_size", -CACHE_KIB)?;
        // Checked and (re)built under the write lock: a second connection
        // opening the same file at the same time waits, then finds it built.
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            tx.execute_batch(SCHEMA)?;
            // FTS5's `rank`: what `ORDER BY rank` sorts by.
            tx.execute(
                "INSERT INTO search (search, rank) VALUES ('rank', ?1)",
                [format!("bm25({WEIGHTS})")],
            )?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(Index {
            db,
            failed: HashMap::new(),
        })
    }

    /// Brings the index in line with the folder: new and changed files (by
    /// mtime and size) re-indexed, deleted ones removed. Cheap when nothing
    /// changed (it is called every 2 s): a walk of the folder and one query,
    /// no file read.
    ///
    /// Every `*.md` under `folder` is an article (hidden files and folders,
    /// those starting with `.`, are skipped). A file that does not parse is
    /// reported in [`SyncReport::errors`] and its old article, if any, taken
    /// out: the folder is the truth. A subfolder that cannot be read is
    /// reported and its articles kept as they were; a `folder` that cannot be
    /// read is an error and changes nothing. Articles given by
    /// [`Index::index_texts`] have no file, and a sync removes them.
    pub fn sync(&mut self, folder: &Path) -> Result<SyncReport, KnowledgeError> {
        let mut report = SyncReport::default();
        let mut found = Vec::new();
        let mut unreadable = Vec::new();
        let root = std::fs::read_dir(folder).map_err(|e| KnowledgeError::Read {
            path: folder.to_owned(),
            source: e,
        })?;
        walk(
            root,
            folder,
            "",
            0,
            &mut found,
            &mut unreadable,
            &mut report.errors,
        );
        found.sort_by(|a, b| a.id.cmp(&b.id));

        let known = self.stamps()?;
        let tx = self.db.transaction()?;
        let mut seen = HashSet::new();
        for f in &found {
            seen.insert(f.id.as_str());
            if known.get(&f.id).is_some_and(|(_, s)| *s == Some(f.stamp)) {
                continue;
            }
            if let Some(failed) = self.failed.get(&f.id)
                && failed.stamp == f.stamp
            {
                report.errors.push(failed.message.clone());
                continue;
            }
            match read_article(&f.path, &f.id) {
                Ok(article) => {
                    self.failed.remove(&f.id);
                    match upsert(&tx, &article, Some(f.stamp))? {
                        Change::Added => report.added += 1,
                        Change::Updated => report.updated += 1,
                        Change::Unchanged => {}
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    report.errors.push(message.clone());
                    self.failed.insert(
                        f.id.clone(),
                        Failed {
                            stamp: f.stamp,
                            message,
                        },
                    );
                    if let Some((n, _)) = known.get(&f.id) {
                        remove(&tx, *n)?;
                        report.removed += 1;
                    }
                }
            }
        }
        for (id, (n, _)) in &known {
            let kept = unreadable
                .iter()
                .any(|dir: &String| id.starts_with(dir.as_str()));
            if !seen.contains(id.as_str()) && !kept {
                remove(&tx, *n)?;
                report.removed += 1;
            }
        }
        tx.commit()?;
        self.failed.retain(|id, _| seen.contains(id.as_str()));
        self.optimize_after(report.added + report.updated + report.removed)?;
        Ok(report)
    }

    /// Indexes articles from their texts, `(id, text)` pairs (tests, the
    /// benchmark): new ids added, changed ones updated, texts that do not
    /// parse reported (an article already indexed under that id is kept).
    /// Nothing else is removed.
    pub fn index_texts<'a>(
        &mut self,
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SyncReport, KnowledgeError> {
        let mut report = SyncReport::default();
        let tx = self.db.transaction()?;
        for (id, text) in texts {
            match parse_article(id, text) {
                Ok(article) => match upsert(&tx, &article, None)? {
                    Change::Added => report.added += 1,
                    Change::Updated => report.updated += 1,
                    Change::Unchanged => {}
                },
                Err(e) => report.errors.push(e.to_string()),
            }
        }
        tx.commit()?;
        self.optimize_after(report.added + report.updated)?;
        Ok(report)
    }

    /// Search as the operator types: ranked (title weighted far above body,
    /// tags between), articles in `langs` (preferred first) before others;
    /// an empty or punctuation-only query gives no hits, never an error.
    /// All words must match; if no article has them all, any will do.
    pub fn search(
        &self,
        query: &str,
        langs: &[&str],
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let terms = query::without_implied(query::typed_terms(query));
        let Some(all) = query::expression(&terms, "AND") else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let preferred = preferred_bits(langs);
        let mut ranked = self.ranked(&all, &preferred, Queue::Any, limit)?;
        if ranked.is_empty()
            && terms.len() > 1
            && let Some(any) = query::expression(&terms, "OR")
        {
            ranked = self.ranked(&any, &preferred, Queue::Any, limit)?;
        }
        self.hits(ranked)
    }

    /// Suggestions before anything is typed: from context words (the queue
    /// name, IVR data such as `order=A-4711`, the call script's answers such
    /// as `vpn`), articles tagged for `queue` first, then by `langs`.
    ///
    /// In order: the queue's articles that a context word matches, then the
    /// queue's other articles, then other articles a context word matches;
    /// within each, preferred languages first, then by rank (by title for
    /// the unmatched).
    pub fn suggest(
        &self,
        context: &[&str],
        queue: Option<&str>,
        langs: &[&str],
        limit: usize,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let preferred = preferred_bits(langs);
        let queue_key = queue.and_then(queue_key);
        let any = query::expression(&query::context_terms(context), "OR");
        let mut hits = Vec::new();
        if let (Some(expr), Some(key)) = (&any, &queue_key) {
            hits = self.hits(self.ranked(expr, &preferred, Queue::In(key), limit)?)?;
        }
        if let Some(key) = &queue_key
            && hits.len() < limit
        {
            let taken: HashSet<String> = hits.iter().map(|h| h.id.clone()).collect();
            // Chosen from the narrow rows, the body's start read for those.
            let mut stmt = self.db.prepare_cached(&format!(
                "SELECT q.id, q.title, q.lang, substr(t.plain, 1, 600)
                   FROM (SELECT n, id, title, lang,
                                instr(?2, ',' || (n >> {LANG_SHIFT}) || ',') AS p
                           FROM articles WHERE instr(queue_keys, ?1) > 0
                          ORDER BY p = 0, p, title, id LIMIT ?3) q
                   JOIN texts t ON t.n = q.n
                  ORDER BY q.p = 0, q.p, q.title, q.id"
            ))?;
            let wanted = limit.saturating_add(taken.len());
            let rows = stmt.query_map(
                params![key, lang_ranks(&preferred), sql_limit(wanted)],
                |r| {
                    Ok(Hit {
                        id: r.get(0)?,
                        title: r.get(1)?,
                        lang: r.get(2)?,
                        snippet: lead(&r.get::<_, String>(3)?),
                        rank: 0.0,
                    })
                },
            )?;
            for hit in rows {
                let hit = hit?;
                if hits.len() >= limit {
                    break;
                }
                if !taken.contains(&hit.id) {
                    hits.push(hit);
                }
            }
        }
        if hits.len() < limit
            && let Some(expr) = &any
        {
            let others = match &queue_key {
                Some(key) => Queue::NotIn(key),
                None => Queue::Any,
            };
            let more = self.ranked(expr, &preferred, others, limit - hits.len())?;
            hits.extend(self.hits(more)?);
        }
        hits.truncate(limit);
        Ok(hits)
    }

    /// The article `id`, as indexed.
    pub fn article(&self, id: &str) -> Result<Option<Article>, KnowledgeError> {
        let mut stmt = self.db.prepare_cached(
            "SELECT a.id, a.title, a.lang, t.tags, t.queues, t.body
               FROM articles a JOIN texts t ON t.n = a.n WHERE a.id = ?1",
        )?;
        Ok(stmt
            .query_row([id], |r| {
                Ok(Article {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    lang: r.get(2)?,
                    tags: split_list(&r.get::<_, String>(3)?),
                    queues: split_list(&r.get::<_, String>(4)?),
                    body: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// How many articles are indexed.
    pub fn len(&self) -> Result<usize, KnowledgeError> {
        let n: i64 = self
            .db
            .query_row("SELECT count(*) FROM articles", [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Whether no article is indexed.
    pub fn is_empty(&self) -> Result<bool, KnowledgeError> {
        Ok(self.len()? == 0)
    }

    /// The best matches of an FTS5 expression, with their snippets:
    /// preferred languages first, each on its own, then the others
    /// together, each by score.
    ///
    /// A language's articles are a range of row numbers, which FTS5 seeks to
    /// in its lists: each tier scores only its own matches, and the next
    /// tier is asked only while the list is not full, so a common word in a
    /// four-language base scores a quarter of its matches, not all.
    fn ranked(
        &self,
        expr: &str,
        preferred: &[i64],
        queue: Queue<'_>,
        limit: usize,
    ) -> Result<Vec<Ranked>, KnowledgeError> {
        let mut out = Vec::new();
        for bits in preferred {
            if out.len() >= limit {
                return Ok(out);
            }
            out.extend(self.ranked_in(expr, *bits, queue, limit - out.len())?);
        }
        if out.len() >= limit {
            return Ok(out);
        }
        let mut others = Vec::new();
        for bits in (1..=LANGUAGES.len()).filter_map(|b| i64::try_from(b).ok()) {
            if !preferred.contains(&bits) {
                others.extend(self.ranked_in(expr, bits, queue, limit - out.len())?);
            }
        }
        others.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.n.cmp(&b.n)));
        others.truncate(limit - out.len());
        out.extend(others);
        Ok(out)
    }

    /// The best matches among the articles of one language (`bits`), with
    /// their snippets.
    ///
    /// `ORDER BY rank` (and nothing else) is FTS5's own sorted plan: it keeps
    /// each match's positions in its sorter, so `snippet()` costs only the
    /// rows returned. Sorted by SQLite, or looked up again by `rowid = ?`,
    /// a snippet would rebuild a long prefix's merged list (2 ms each at
    /// 10,000 articles). The queue filter is a subquery FTS5 never sees, so
    /// it keeps that plan and is asked only of rows in rank order until the
    /// limit is met.
    fn ranked_in(
        &self,
        expr: &str,
        bits: i64,
        queue: Queue<'_>,
        limit: usize,
    ) -> Result<Vec<Ranked>, KnowledgeError> {
        let (low, high) = (bits << LANG_SHIFT, (bits + 1) << LANG_SHIFT);
        let row = |r: &rusqlite::Row<'_>| {
            Ok(Ranked {
                n: r.get(0)?,
                score: r.get(1)?,
                snippet: r.get(2)?,
            })
        };
        let (marks, limit) = (("\u{2}", "\u{3}", SNIPPET_WORDS), sql_limit(limit));
        let rows = match queue {
            Queue::Any => self
                .db
                .prepare_cached(RANKED)?
                .query_map(
                    params![expr, low, high, marks.0, marks.1, marks.2, limit],
                    row,
                )?
                .collect::<Result<_, _>>()?,
            Queue::In(key) | Queue::NotIn(key) => {
                let wanted = matches!(queue, Queue::In(_));
                self.db
                    .prepare_cached(RANKED_BY_QUEUE)?
                    .query_map(
                        params![
                            expr, low, high, marks.0, marks.1, marks.2, limit, key, wanted
                        ],
                        row,
                    )?
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(rows)
    }

    /// The matches as hits, in their order, with id, title and language
    /// looked up for these rows only.
    fn hits(&self, ranked: Vec<Ranked>) -> Result<Vec<Hit>, KnowledgeError> {
        if ranked.is_empty() {
            return Ok(Vec::new());
        }
        // Integers from the database: safe to write into the statement.
        let list = ranked
            .iter()
            .map(|r| r.n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let mut rows: HashMap<i64, (String, String, String)> = HashMap::new();
        let mut stmt = self.db.prepare(&format!(
            "SELECT n, id, title, lang FROM articles WHERE n IN ({list})"
        ))?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))? {
            let (n, v) = row?;
            rows.insert(n, v);
        }
        Ok(ranked
            .into_iter()
            .filter_map(|r| {
                // A row gone between the two queries (another connection's
                // sync) is left out.
                let (id, title, lang) = rows.remove(&r.n)?;
                Some(Hit {
                    id,
                    title,
                    lang,
                    snippet: r.snippet,
                    rank: r.score,
                })
            })
            .collect())
    }

    /// Every indexed article's row and file stamp, by id.
    #[allow(clippy::type_complexity)]
    fn stamps(&self) -> Result<HashMap<String, (i64, Option<Stamp>)>, KnowledgeError> {
        let mut stmt = self
            .db
            .prepare_cached("SELECT id, n, mtime_ns, size FROM articles")?;
        let rows = stmt.query_map([], |r| {
            let mtime_ns: Option<i64> = r.get(2)?;
            let size: Option<i64> = r.get(3)?;
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get::<_, i64>(1)?,
                    size.map(|size| Stamp { mtime_ns, size }),
                ),
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn optimize_after(&self, changed: usize) -> Result<(), KnowledgeError> {
        if changed >= OPTIMIZE_AFTER {
            self.db
                .execute("INSERT INTO search(search) VALUES ('optimize')", [])?;
        }
        Ok(())
    }
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ffi::ErrorCode::NotADatabase | rusqlite::ffi::ErrorCode::DatabaseCorrupt)
    )
}

/// Collects the article files under `dir` (its id prefix `prefix`); what
/// cannot be read goes to `errors`, and unreadable subfolders' id prefixes
/// to `unreadable`.
fn walk(
    entries: std::fs::ReadDir,
    dir: &Path,
    prefix: &str,
    depth: usize,
    found: &mut Vec<Found>,
    unreadable: &mut Vec<String>,
    errors: &mut Vec<String>,
) {
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(
                    KnowledgeError::Read {
                        path: dir.to_owned(),
                        source: e,
                    }
                    .to_string(),
                );
                unreadable.push(prefix.to_owned());
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            errors.push(format!("{}: the file name is not UTF-8", path.display()));
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // Follows symbolic links.
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                errors.push(KnowledgeError::Read { path, source: e }.to_string());
                continue;
            }
        };
        if meta.is_dir() {
            let sub = format!("{prefix}{name}/");
            if depth + 1 >= MAX_DEPTH {
                errors.push(format!("{}: nested too deep, not read", path.display()));
                unreadable.push(sub);
                continue;
            }
            match std::fs::read_dir(&path) {
                Ok(r) => walk(r, &path, &sub, depth + 1, found, unreadable, errors),
                Err(e) => {
                    errors.push(KnowledgeError::Read { path, source: e }.to_string());
                    unreadable.push(sub);
                }
            }
        } else if let Some(stem) = name.strip_suffix(".md")
            && meta.is_file()
            && !stem.is_empty()
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            found.push(Found {
                id: format!("{prefix}{stem}"),
                path,
                stamp: Stamp {
                    mtime_ns,
                    size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
                },
            });
        }
    }
}

/// Reads and parses one article file.
fn read_article(path: &Path, id: &str) -> Result<Article, KnowledgeError> {
    let file = path.display().to_string();
    let bytes = std::fs::metadata(path)
        .map_err(|e| KnowledgeError::Read {
            path: path.to_owned(),
            source: e,
        })?
        .len();
    if bytes > MAX_ARTICLE_BYTES {
        return Err(KnowledgeError::TooLarge { file, bytes });
    }
    let data = std::fs::read(path).map_err(|e| KnowledgeError::Read {
        path: path.to_owned(),
        source: e,
    })?;
    let text =
        String::from_utf8(data).map_err(|_| KnowledgeError::NotText { file: file.clone() })?;
    parse_file(&file, id, &text)
}

/// An article's columns as stored.
struct Row {
    tags: String,
    queues: String,
    queue_keys: String,
    plain: String,
}

impl Row {
    fn of(a: &Article) -> Row {
        let mut queue_keys = String::from("\n");
        for q in &a.queues {
            queue_keys.push_str(&q.trim().to_lowercase());
            queue_keys.push('\n');
        }
        Row {
            tags: a.tags.join(", "),
            queues: a.queues.join(", "),
            queue_keys,
            plain: a.plain_body(),
        }
    }
}

/// The language bits of an article's row number (1–4).
fn lang_bits(lang: &str) -> i64 {
    LANGUAGES
        .iter()
        .position(|l| *l == lang)
        .and_then(|i| i64::try_from(i + 1).ok())
        .unwrap_or(0)
}

/// Adds `a`, or updates the article of its id if its text changed.
fn upsert(
    tx: &Transaction<'_>,
    a: &Article,
    stamp: Option<Stamp>,
) -> Result<Change, KnowledgeError> {
    let row = Row::of(a);
    let (mtime_ns, size) = match stamp {
        Some(s) => (s.mtime_ns, Some(s.size)),
        None => (None, None),
    };
    let old: Option<(i64, String, String, String, String, String)> = tx
        .prepare_cached(
            "SELECT a.n, a.lang, t.title, t.tags, t.queues, t.body
               FROM articles a JOIN texts t ON t.n = a.n WHERE a.id = ?1",
        )?
        .query_row([&a.id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let Some((n, lang, title, tags, queues, body)) = old else {
        insert(tx, a, &row, mtime_ns, size)?;
        return Ok(Change::Added);
    };
    if lang == a.lang
        && title == a.title
        && tags == row.tags
        && queues == row.queues
        && body == a.body
    {
        tx.prepare_cached("UPDATE articles SET mtime_ns = ?2, size = ?3 WHERE n = ?1")?
            .execute(params![n, mtime_ns, size])?;
        return Ok(Change::Unchanged);
    }
    if lang != a.lang {
        // Its row number carries its language.
        remove(tx, n)?;
        insert(tx, a, &row, mtime_ns, size)?;
        return Ok(Change::Updated);
    }
    unindex_row(tx, n)?;
    tx.prepare_cached(
        "UPDATE articles SET title = ?2, queue_keys = ?3, mtime_ns = ?4, size = ?5 WHERE n = ?1",
    )?
    .execute(params![n, a.title, row.queue_keys, mtime_ns, size])?;
    tx.prepare_cached(
        "UPDATE texts SET title = ?2, tags = ?3, queues = ?4, body = ?5, plain = ?6 WHERE n = ?1",
    )?
    .execute(params![n, a.title, row.tags, row.queues, a.body, row.plain])?;
    index_row(tx, n, &a.title, &row.tags, &row.plain)?;
    Ok(Change::Updated)
}

/// A new article under the next row number of its language.
fn insert(
    tx: &Transaction<'_>,
    a: &Article,
    row: &Row,
    mtime_ns: Option<i64>,
    size: Option<i64>,
) -> Result<(), KnowledgeError> {
    let low = lang_bits(&a.lang) << LANG_SHIFT;
    let high = (lang_bits(&a.lang) + 1) << LANG_SHIFT;
    let last: Option<i64> = tx
        .prepare_cached("SELECT max(n) FROM articles WHERE n >= ?1 AND n < ?2")?
        .query_row([low, high], |r| r.get(0))?;
    let n = last.unwrap_or(low) + 1;
    tx.prepare_cached(
        "INSERT INTO articles (n, id, title, lang, queue_keys, mtime_ns, size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        n,
        a.id,
        a.title,
        a.lang,
        row.queue_keys,
        mtime_ns,
        size
    ])?;
    tx.prepare_cached(
        "INSERT INTO texts (n, title, tags, queues, body, plain) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![n, a.title, row.tags, row.queues, a.body, row.plain])?;
    index_row(tx, n, &a.title, &row.tags, &row.plain)
}

/// Takes the article of row `n` out.
fn remove(tx: &Transaction<'_>, n: i64) -> Result<(), KnowledgeError> {
    unindex_row(tx, n)?;
    tx.prepare_cached("DELETE FROM texts WHERE n = ?1")?
        .execute([n])?;
    tx.prepare_cached("DELETE FROM articles WHERE n = ?1")?
        .execute([n])?;
    Ok(())
}

/// Adds row `n`'s folded words to the FTS index.
fn index_row(
    tx: &Transaction<'_>,
    n: i64,
    title: &str,
    tags: &str,
    plain: &str,
) -> Result<(), KnowledgeError> {
    tx.prepare_cached("INSERT INTO search (rowid, title, tags, plain) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![n, fold(title), fold(tags), fold(plain)])?;
    Ok(())
}

/// Takes row `n`'s words out of the FTS index: an external-content
/// `'delete'` must be given the very text it was indexed with, which is the
/// stored text folded again.
fn unindex_row(tx: &Transaction<'_>, n: i64) -> Result<(), KnowledgeError> {
    let (title, tags, plain): (String, String, String) = tx
        .prepare_cached("SELECT title, tags, plain FROM texts WHERE n = ?1")?
        .query_row([n], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    tx.prepare_cached(
        "INSERT INTO search (search, rowid, title, tags, plain) VALUES ('delete', ?1, ?2, ?3, ?4)",
    )?
    .execute(params![n, fold(&title), fold(&tags), fold(&plain)])?;
    Ok(())
}

/// The preferred languages as their row-number bits, in order, each once;
/// unknown ones dropped.
fn preferred_bits(langs: &[&str]) -> Vec<i64> {
    let mut out = Vec::new();
    for l in langs.iter().take(MAX_LANGS) {
        let bits = lang_bits(&l.trim().to_ascii_lowercase());
        if bits > 0 && !out.contains(&bits) {
            out.push(bits);
        }
    }
    out
}

/// The preferred languages' bits as `,2,1,` for `instr()` in SQL
/// (position = preference).
fn lang_ranks(preferred: &[i64]) -> String {
    let mut s = String::from(",");
    for bits in preferred {
        s.push_str(&bits.to_string());
        s.push(',');
    }
    s
}

/// A queue's name as matched against `queue_keys` (`\nsupport\n`); `None`
/// for an empty name or one with control characters.
fn queue_key(queue: &str) -> Option<String> {
    let q = queue.trim().to_lowercase();
    (!q.is_empty() && !q.chars().any(char::is_control)).then(|| format!("\n{q}\n"))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The body's first words, for an article shown without a match.
fn lead(plain: &str) -> String {
    let mut words = plain.split_whitespace();
    let head: Vec<&str> = words.by_ref().take(LEAD_WORDS).collect();
    let mut s = head.join(" ");
    if words.next().is_some() {
        s.push('…');
    }
    s
}

fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod plan {
    use super::*;

    /// The ranking statements must stay on FTS5's sorted plan: a temp
    /// B-tree means SQLite sorts, and every match gets its snippet made.
    #[test]
    fn the_rankings_are_sorted_by_fts5_itself() {
        let index = Index::in_memory().unwrap();
        for (sql, n) in [(RANKED, 7), (RANKED_BY_QUEUE, 9)] {
            let mut stmt = index
                .db
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            for i in 1..=n {
                stmt.raw_bind_parameter(i, "\"x\"").unwrap();
            }
            let mut plan = String::new();
            let mut rows = stmt.raw_query();
            while let Some(r) = rows.next().unwrap() {
                plan.push_str(&r.get::<_, String>(3).unwrap());
                plan.push('\n');
            }
            assert!(plan.contains("VIRTUAL TABLE"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
