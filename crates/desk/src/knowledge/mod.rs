//! The knowledge base: short articles an info-line operator finds while the
//! caller talks and reads aloud.
//!
//! ```text
//!  folder of *.md ──sync()──▶ article::parse_article ──▶ Index (its own SQLite file, WAL)
//!  (header + Markdown)          typed errors, file+line     articles, texts ── as written
//!                                                           search (FTS5) ──── folded words
//!  what the operator types ─▶ query::typed_terms ─▶ "w1"* AND "w2"* ─▶ bm25 ─▶ Vec<Hit>
//!  queue, IVR data, answers ─▶ query::context_terms ─▶ "w1"* OR "w2"* ─▶ suggest()
//! ```
//!
//! - `article`: the file format (a small `---` header, then Markdown), parsed
//!   once at the edge into an [`Article`]; its paragraphs are what the
//!   operator puts into the note one by one.
//! - `index`: the [`Index`], a rebuildable cache of the folder in SQLite:
//!   [`Index::sync`] is called every two seconds and costs a directory walk
//!   when nothing changed (files are re-read only when their mtime or size
//!   moved); [`Index::search`] runs on every keystroke.
//! - `query`: what is typed, turned into an FTS5 expression that cannot fail.
//!
//! ## Matching without diacritics
//!
//! The FTS5 tokenizer is `unicode61 remove_diacritics 2`: it lowers case and
//! takes diacritics off Latin letters, so Estonian `tööaeg` and `tooaeg`,
//! Slovenian `čakanje` and `cakanje` are the same word. It leaves Cyrillic
//! alone, and `ё` is a letter of its own to it while Russian writers use `е`
//! for it half the time; it also keeps `đ`, `ł`, `ø` and `ß`. The index folds
//! those itself (`ё`→`е`, `đ`→`d`, `ł`→`l`, `ø`→`o`, `ß`→`ss`), in what it
//! indexes and in every query, after NFC normalisation on both sides (a
//! decomposed `ö` from a Mac and a composed one are the same). `й` stays `й`:
//! it is a letter, not an `и` with an accent.
//!
//! The folding is done letter for letter inside a word, never across word
//! boundaries, which is what lets snippets show the original text: the FTS5
//! table is an *external-content* table over `texts`, indexed with the
//! folded words but reading the unfolded text back for `snippet()`, and the
//! two tokenize to the same word positions. Because of that trick the FTS
//! table's `'rebuild'` and `'integrity-check'` commands must not be used
//! (they would re-read the unfolded text); a change to the folding bumps the
//! schema version, and the cache is rebuilt.
//!
//! ## What is typed never reaches MATCH raw
//!
//! The operator's text is split into words (letters and digits; at most
//! 16, each at most 48 characters), and each word is quoted as an FTS5
//! string, so `"`, `*`, `-`, `:`, `(`, `NEAR(`, `AND` are words or nothing.
//! Words of three letters or more, and the last word from two, match as
//! prefixes (`tiskalnik` finds `tiskalnika`, a half-typed `vp` finds `VPN`);
//! a single letter at the end, after other words, is a word being started
//! and waits for the next keystroke. A word given twice, or a prefix another
//! word starts with (`счет сч`), is asked once. All words must match; when
//! no article has them all, any of them will do (ranked by how many and how
//! well).
//!
//! ## Ranking
//!
//! `bm25()` with the title weighted 10, the tags 4 and the body 1; the
//! articles in the operator's languages come first, in the order given,
//! then the others. [`Index::suggest`] puts articles of the call's queue
//! before those, as nothing has been typed yet to rank by. How that stays
//! within a few milliseconds at 10,000 articles (one language at a time,
//! FTS5's own sort, snippets for the shown rows only) is in `index`; the
//! figures are in `docs/performance.md`.

mod article;
mod index;
mod query;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use article::{Article, HeaderProblem, LANGUAGES, parse_article};
pub use index::{Index, MAX_ARTICLE_BYTES};

/// One article found, as the result list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The article's id (its path in the folder, without `.md`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its language (`en`, `et`, `ru`, `sl`).
    pub lang: String,
    /// A short excerpt of the body around the match, each matched word
    /// wrapped in `'\u{2}'` … `'\u{3}'` (the UI makes those bold); the
    /// body's start when only the title or the tags matched, or when the
    /// article is a suggestion of its queue that no context word matched.
    pub snippet: String,
    /// How well it matched: `-bm25()`, larger is better; 0 for a queue's
    /// article suggested without a matching word. The list is already in
    /// display order (languages and queue before this figure).
    pub rank: f64,
}

/// What a [`Index::sync`] or [`Index::index_texts`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Articles new to the index.
    pub added: usize,
    /// Articles whose text changed.
    pub updated: usize,
    /// Articles taken out: their file is gone, or it no longer parses.
    pub removed: usize,
    /// Every file that could not be indexed, as of this call, each naming the
    /// file (and the line, for a header problem). A broken file is listed on
    /// every sync until it is fixed or removed, so the UI can show this list
    /// as it is.
    pub errors: Vec<String>,
}

/// What went wrong in the knowledge base.
#[derive(Debug)]
#[non_exhaustive]
pub enum KnowledgeError {
    /// An article's header is missing or wrong (the file's author's fault).
    Header {
        /// The file (or the id given to [`parse_article`]).
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        problem: HeaderProblem,
    },
    /// An article file is not UTF-8 text.
    NotText {
        /// The file.
        file: String,
    },
    /// An article file is larger than an article may be
    /// ([`MAX_ARTICLE_BYTES`]): probably not an article.
    TooLarge {
        /// The file.
        file: String,
        /// Its size in bytes.
        bytes: u64,
    },
    /// A folder or file could not be read (the local disk or its rights).
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Local I/O failed.
    Io(io::Error),
    /// SQLite refused (disk full, file locked …).
    Sqlite(rusqlite::Error),
}

impl fmt::Display for KnowledgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KnowledgeError::Header {
                file,
                line,
                problem,
            } => write!(f, "{file}, line {line}: {problem}"),
            KnowledgeError::NotText { file } => write!(f, "{file}: not UTF-8 text"),
            KnowledgeError::TooLarge { file, bytes } => write!(
                f,
                "{file}: {bytes} bytes, more than an article may have ({} bytes)",
                MAX_ARTICLE_BYTES
            ),
            KnowledgeError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            KnowledgeError::Io(e) => write!(f, "{e}"),
            KnowledgeError::Sqlite(e) => write!(f, "knowledge index: {e}"),
        }
    }
}

impl std::error::Error for KnowledgeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KnowledgeError::Read { source, .. } | KnowledgeError::Io(source) => Some(source),
            KnowledgeError::Sqlite(e) => Some(e),
            KnowledgeError::Header { .. }
            | KnowledgeError::NotText { .. }
            | KnowledgeError::TooLarge { .. } => None,
        }
    }
}

impl From<rusqlite::Error> for KnowledgeError {
    fn from(e: rusqlite::Error) -> Self {
        KnowledgeError::Sqlite(e)
    }
}

impl From<io::Error> for KnowledgeError {
    fn from(e: io::Error) -> Self {
        KnowledgeError::Io(e)
    }
}
