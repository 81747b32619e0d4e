//! An article file: a small header between `---` lines, then Markdown.
//!
//! ```text
//! ---
//! title: Opening hours
//! language: en
//! tags: hours, open, holidays
//! queues: Info, Switchboard
//! ---
//! Markdown body …
//! ```
//!
//! `title` and `language` (one of [`LANGUAGES`]) are required, `tags` and
//! `queues` optional, comma-separated (a YAML-style `[a, b]` and quotes
//! around a value are accepted too). Blank lines and `#` comments may stand
//! in the header. Any other field is an error rather than ignored: a
//! misspelt `tag:` would otherwise lose the tags without a word. The text is
//! NFC-normalised, a byte-order mark and CR before LF are dropped.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::KnowledgeError;

/// The languages an article may be written in.
pub const LANGUAGES: [&str; 4] = ["en", "et", "ru", "sl"];

/// One knowledge-base article.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Article {
    /// Its path in the folder without `.md`, with `/` (`en/opening-hours`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Language, one of [`LANGUAGES`].
    pub lang: String,
    /// Tags, as written.
    pub tags: Vec<String>,
    /// The queues it is meant for (suggested first on their calls).
    pub queues: Vec<String>,
    /// The Markdown after the header, without blank lines around it.
    pub body: String,
}

impl Article {
    /// The body's paragraphs (blocks separated by blank lines), as Markdown,
    /// in order — what the operator can put into the note one by one. A
    /// fenced code block (```` ``` ```` or `~~~`) stays one paragraph even
    /// with blank lines inside.
    pub fn paragraphs(&self) -> Vec<String> {
        paragraphs(&self.body)
            .into_iter()
            .map(|lines| lines.join("\n"))
            .collect()
    }

    /// The body as plain text for the search index and its snippets: one
    /// line, Markdown's marks taken off (heading `#`s, list bullets, quote
    /// `>`s, `*` and `` ` ``, links reduced to their text). Words are not
    /// changed, only the punctuation around them.
    pub(crate) fn plain_body(&self) -> String {
        let mut out = String::with_capacity(self.body.len());
        for block in paragraphs(&self.body) {
            for line in block {
                let text = plain_line(line);
                if text.is_empty() {
                    continue;
                }
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&text);
            }
        }
        out
    }
}

/// What is wrong with an article's header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// The file does not start with a `---` line.
    NoHeader,
    /// The header is never closed by a second `---` line.
    NotClosed,
    /// A header line is not `field: value`.
    NotAField,
    /// A field the format does not have (often a typo).
    UnknownField(String),
    /// A field given twice.
    DuplicateField(String),
    /// A required field (`title`, `language`) is missing or empty.
    Missing(&'static str),
    /// `language` is not one of [`LANGUAGES`].
    UnknownLanguage(String),
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderProblem::NoHeader => {
                write!(f, "the file does not start with a header (a `---` line)")
            }
            HeaderProblem::NotClosed => {
                write!(f, "the header opened here is not closed by a `---` line")
            }
            HeaderProblem::NotAField => write!(f, "not a `field: value` line"),
            HeaderProblem::UnknownField(k) => write!(
                f,
                "unknown header field `{k}` (known: title, language, tags, queues)"
            ),
            HeaderProblem::DuplicateField(k) => write!(f, "header field `{k}` is given twice"),
            HeaderProblem::Missing(k) => write!(f, "the header has no {k}"),
            HeaderProblem::UnknownLanguage(l) => {
                write!(f, "language `{l}` is not one of {}", LANGUAGES.join(", "))
            }
        }
    }
}

/// Parses an article's text; `id` names it (and its errors).
pub fn parse_article(id: &str, text: &str) -> Result<Article, KnowledgeError> {
    parse_file(id, id, text)
}

/// Parses an article read from `file`.
pub(crate) fn parse_file(file: &str, id: &str, text: &str) -> Result<Article, KnowledgeError> {
    let err = |line: usize, problem: HeaderProblem| KnowledgeError::Header {
        file: file.to_owned(),
        line,
        problem,
    };
    let text: String = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .nfc()
        .collect();
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    match lines.next() {
        Some((_, l)) if l.trim_end() == "---" => {}
        _ => return Err(err(1, HeaderProblem::NoHeader)),
    }
    let mut title: Option<(usize, String)> = None;
    let mut lang: Option<(usize, String)> = None;
    let mut tags: Option<(usize, String)> = None;
    let mut queues: Option<(usize, String)> = None;
    let closing = loop {
        let Some((n, line)) = lines.next() else {
            return Err(err(1, HeaderProblem::NotClosed));
        };
        let line = line.trim();
        if line == "---" {
            break n;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(err(n, HeaderProblem::NotAField));
        };
        let key = key.trim();
        let slot = match key.to_ascii_lowercase().as_str() {
            "title" => &mut title,
            "language" => &mut lang,
            "tags" => &mut tags,
            "queues" => &mut queues,
            _ => return Err(err(n, HeaderProblem::UnknownField(key.to_owned()))),
        };
        if slot.is_some() {
            return Err(err(n, HeaderProblem::DuplicateField(key.to_owned())));
        }
        *slot = Some((n, unquote(value.trim()).to_owned()));
    };
    let title = match title {
        Some((_, t)) if !t.is_empty() => t,
        Some((n, _)) => return Err(err(n, HeaderProblem::Missing("title"))),
        None => return Err(err(closing, HeaderProblem::Missing("title"))),
    };
    let lang = match lang {
        Some((n, l)) => {
            let lower = l.to_ascii_lowercase();
            if lower.is_empty() {
                return Err(err(n, HeaderProblem::Missing("language")));
            }
            if !LANGUAGES.contains(&lower.as_str()) {
                return Err(err(n, HeaderProblem::UnknownLanguage(l)));
            }
            lower
        }
        None => return Err(err(closing, HeaderProblem::Missing("language"))),
    };
    let rest: Vec<&str> = lines.map(|(_, l)| l).collect();
    let body = rest.join("\n");
    // Whole blank lines only, so an indented first line (a code block)
    // keeps its indent.
    let body = strip_blank_lines(&body).trim_end();
    Ok(Article {
        id: id.to_owned(),
        title,
        lang,
        tags: list(tags.map(|(_, v)| v).as_deref().unwrap_or("")),
        queues: list(queues.map(|(_, v)| v).as_deref().unwrap_or("")),
        body: body.to_owned(),
    })
}

/// `s` without its leading lines that hold only whitespace.
fn strip_blank_lines(mut s: &str) -> &str {
    while let Some((first, rest)) = s.split_once('\n') {
        if !first.trim().is_empty() {
            break;
        }
        s = rest;
    }
    if s.trim().is_empty() { "" } else { s }
}

/// A value without one pair of quotes around it.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.trim();
        }
    }
    v
}

/// A comma-separated list (`a, b` or `[a, b]`), trimmed, without empty items.
fn list(v: &str) -> Vec<String> {
    let v = v
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(v);
    v.split(',')
        .map(|item| unquote(item.trim()))
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The body's blocks, each a list of its lines: split at blank lines,
/// except inside a fenced code block.
fn paragraphs(body: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut fence: Option<&str> = None;
    for line in body.lines() {
        let t = line.trim_start();
        if let Some(f) = fence {
            block.push(line);
            if t.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if let Some(f) = ["```", "~~~"].into_iter().find(|f| t.starts_with(f)) {
            fence = Some(f);
            block.push(line);
            continue;
        }
        if line.trim().is_empty() {
            if !block.is_empty() {
                out.push(std::mem::take(&mut block));
            }
            continue;
        }
        block.push(line);
    }
    if !block.is_empty() {
        out.push(block);
    }
    out
}

/// One Markdown line as plain text.
fn plain_line(line: &str) -> String {
    let mut t = line.trim();
    if t.starts_with("```") || t.starts_with("~~~") {
        return String::new();
    }
    // Block marks, possibly nested (`> - item`).
    loop {
        let before = t;
        t = t.trim_start_matches('>').trim_start();
        let hashes = t.trim_start_matches('#');
        if hashes.len() < t.len() && (hashes.is_empty() || hashes.starts_with(' ')) {
            t = hashes.trim_start();
        }
        for bullet in ["- ", "* ", "+ "] {
            if let Some(r) = t.strip_prefix(bullet) {
                t = r.trim_start();
            }
        }
        let digits = t.trim_start_matches(|c: char| c.is_ascii_digit());
        if digits.len() < t.len()
            && let Some(r) = digits.strip_prefix(". ").or(digits.strip_prefix(") "))
        {
            t = r.trim_start();
        }
        for task in ["[ ] ", "[x] ", "[X] "] {
            if let Some(r) = t.strip_prefix(task) {
                t = r;
            }
        }
        if t == before {
            break;
        }
    }
    inline_plain(t)
}

/// Inline Markdown as plain text: `*`, `` ` `` dropped, `[text](url)` and
/// `![alt](src)` reduced to their text. A line of only marks (a rule) is empty.
fn inline_plain(mut s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    while let Some(c) = s.chars().next() {
        let link = s.strip_prefix("![").or_else(|| s.strip_prefix('['));
        if let Some(after) = link
            && let Some((text, tail)) = after.split_once("](")
            && !text.contains(['[', ']'])
            && let Some((url, tail)) = tail.split_once(')')
            && !url.contains(char::is_whitespace)
        {
            out.push_str(&inline_plain(text));
            s = tail;
            continue;
        }
        if c != '*' && c != '`' {
            out.push(c);
        }
        s = s.get(c.len_utf8()..).unwrap_or("");
    }
    if out.chars().all(|c| !c.is_alphanumeric()) {
        return String::new();
    }
    out.trim().to_owned()
}
