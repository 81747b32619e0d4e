//! The company directory: departments and people the switchboard operator
//! puts callers through to.
//!
//! Entries come from sources — a file from the configuration (TOML or CSV)
//! and an LDAP directory (fetched by the desktop on a worker; see
//! `[directory.ldap]`) — and are searched as the operator types: every word
//! typed must appear in the name, department, title or extension, compared
//! without case and without diacritics (`juri` finds `Jüri`, `ziga` finds
//! `Žiga`, `ё` is `е`). Each source's entries are kept in the store as they
//! were last fetched, so the directory works while LDAP is down, and the
//! desk shows how old they are.

use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A department (a number that reaches a team) or a person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// One employee.
    #[default]
    Person,
    /// A team's number (Billing, IT support …).
    Department,
}

/// One directory entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Person or department.
    #[serde(default)]
    pub kind: EntryKind,
    /// Name as shown.
    pub name: String,
    /// Desk phone or extension.
    #[serde(default)]
    pub extension: Option<String>,
    /// Job title.
    #[serde(default)]
    pub title: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Mobile number.
    #[serde(default)]
    pub mobile: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Presence note (on leave until …, mornings only …).
    #[serde(default)]
    pub note: Option<String>,
    /// A SIP address of its own, when the extension is not enough.
    #[serde(default)]
    pub uri: Option<String>,
    /// Show this line's busy lamp (the PBX must serve RFC 4235's dialog
    /// events; a file entry asks for it, LDAP entries do not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blf: bool,
}

impl Entry {
    /// What to dial: the SIP address, else the extension, else the mobile.
    pub fn dial_string(&self) -> Option<&str> {
        self.uri
            .as_deref()
            .or(self.extension.as_deref())
            .or(self.mobile.as_deref())
            .filter(|s| !s.trim().is_empty())
    }

    /// The words search compares with.
    fn haystack(&self) -> String {
        let mut s = fold(&self.name);
        for part in [&self.department, &self.title, &self.note]
            .into_iter()
            .flatten()
        {
            s.push(' ');
            s.push_str(&fold(part));
        }
        for number in [&self.extension, &self.mobile].into_iter().flatten() {
            s.push(' ');
            s.push_str(&digits(number));
        }
        s
    }
}

/// Lower case without diacritics: `Jüri Õunapuu` → `juri ounapuu`,
/// `Ёлкин` → `елкин`, `Čebular` → `cebular`.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'ß' => 's',
            'ø' => 'o',
            'đ' => 'd',
            'ł' => 'l',
            _ => c,
        })
        .collect()
}

fn digits(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// Where entries come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A TOML or CSV file.
    File(std::path::PathBuf),
    /// An LDAP directory (its URL).
    Ldap(String),
}

/// How a source stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// Being read for the first time.
    Loading,
    /// Read now.
    Fresh,
    /// Could not be read now: the entries shown are the ones kept from then.
    Cached {
        /// Why it could not be read.
        error: String,
    },
    /// Could not be read, and nothing is kept.
    Failed {
        /// Why.
        error: String,
    },
}

/// One source and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What it is.
    pub kind: SourceKind,
    /// How it stands.
    pub state: SourceState,
    /// When its entries were fetched (Unix ms).
    pub fetched_ms: Option<i64>,
    /// Its entries.
    pub entries: Vec<Entry>,
}

impl Source {
    /// The key the store keeps its entries under.
    pub fn cache_key(&self) -> String {
        match &self.kind {
            SourceKind::File(p) => format!("file:{}", p.display()),
            SourceKind::Ldap(u) => format!("ldap:{u}"),
        }
    }
}

/// Why a directory file could not be read. Names the line where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The file could not be read.
    Io(String),
    /// TOML that does not parse or has unknown keys (line, message).
    Toml(Option<usize>, String),
    /// A CSV line that is not right (1-based line, message).
    Csv(usize, String),
    /// The file is neither `.toml` nor `.csv`.
    UnknownFormat(String),
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirectoryError::Io(e) => write!(f, "{e}"),
            DirectoryError::Toml(Some(l), e) => write!(f, "line {l}: {e}"),
            DirectoryError::Toml(None, e) => write!(f, "{e}"),
            DirectoryError::Csv(l, e) => write!(f, "line {l}: {e}"),
            DirectoryError::UnknownFormat(p) => {
                write!(f, "{p}: a directory file ends in .toml or .csv")
            }
        }
    }
}

impl std::error::Error for DirectoryError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    #[serde(default)]
    department: Vec<Entry>,
    #[serde(default)]
    person: Vec<Entry>,
}

/// Reads a TOML directory: `[[department]]` and `[[person]]` tables with
/// `name`, `extension`, `title`, `department`, `mobile`, `email`, `note`, `uri`.
pub fn parse_toml(text: &str) -> Result<Vec<Entry>, DirectoryError> {
    let f: DirectoryFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
        DirectoryError::Toml(line, e.message().to_owned())
    })?;
    let mut out = Vec::with_capacity(f.department.len() + f.person.len());
    out.extend(f.department.into_iter().map(|e| Entry {
        kind: EntryKind::Department,
        ..e
    }));
    out.extend(f.person.into_iter().map(|e| Entry {
        kind: EntryKind::Person,
        ..e
    }));
    check_names(&out)?;
    Ok(out)
}

fn check_names(entries: &[Entry]) -> Result<(), DirectoryError> {
    match entries.iter().position(|e| e.name.trim().is_empty()) {
        Some(i) => Err(DirectoryError::Toml(
            None,
            format!("entry {} has no name", i + 1),
        )),
        None => Ok(()),
    }
}

/// Reads a CSV directory with a header line naming at least `name`, and any
/// of `kind` (person or department), `extension`, `title`, `department`,
/// `mobile`, `email`, `note`, `uri`.
pub fn parse_csv(text: &str) -> Result<Vec<Entry>, DirectoryError> {
    let (cols, rows) = crate::store::csv_table(text).map_err(|(l, e)| DirectoryError::Csv(l, e))?;
    if cols.is_empty() {
        return Ok(Vec::new());
    }
    const KNOWN: [&str; 9] = [
        "kind",
        "name",
        "extension",
        "title",
        "department",
        "mobile",
        "email",
        "note",
        "uri",
    ];
    if let Some(bad) = cols.iter().find(|c| !KNOWN.contains(&c.as_str())) {
        return Err(DirectoryError::Csv(
            1,
            format!("unknown column {bad:?} (known: {})", KNOWN.join(", ")),
        ));
    }
    let at = |n: &str| cols.iter().position(|c| c == n);
    if at("name").is_none() {
        return Err(DirectoryError::Csv(
            1,
            "the header needs a name column".into(),
        ));
    }
    let mut out = Vec::new();
    for (line, f) in rows {
        let get = |n: &str| {
            at(n)
                .and_then(|k| f.get(k))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let Some(name) = get("name") else {
            return Err(DirectoryError::Csv(line, "no name".into()));
        };
        let kind = match get("kind")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("person") => EntryKind::Person,
            Some("department") => EntryKind::Department,
            Some(other) => {
                return Err(DirectoryError::Csv(
                    line,
                    format!("kind {other:?}: write person or department"),
                ));
            }
        };
        out.push(Entry {
            kind,
            name,
            extension: get("extension"),
            title: get("title"),
            department: get("department"),
            mobile: get("mobile"),
            email: get("email"),
            note: get("note"),
            uri: get("uri"),
            blf: get("blf")
                .is_some_and(|b| matches!(b.to_ascii_lowercase().as_str(), "true" | "yes" | "1")),
        });
    }
    Ok(out)
}

/// Reads a directory file by its extension (`.toml` or `.csv`).
pub fn read_file(path: &std::path::Path) -> Result<Vec<Entry>, DirectoryError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| DirectoryError::Io(format!("{}: {e}", path.display())))?;
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("toml") => parse_toml(&text),
        Some("csv") => parse_csv(&text),
        _ => Err(DirectoryError::UnknownFormat(path.display().to_string())),
    }
}

/// Entries as the store keeps them.
pub fn to_json(entries: &[Entry]) -> String {
    serde_json::to_string(entries).unwrap_or_else(|_| "[]".into())
}

/// Entries from the store; `None` if what is kept cannot be read.
pub fn from_json(json: &str) -> Option<Vec<Entry>> {
    serde_json::from_str(json).ok()
}

/// Every source's entries, searchable.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    sources: Vec<Source>,
    /// (source index, entry index, folded words), in display order.
    index: Vec<(usize, usize, String)>,
    version: u64,
}

impl Directory {
    /// No sources yet.
    pub fn new() -> Directory {
        Directory::default()
    }

    /// The sources and how they stand.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Bumped on every change (views re-run their search when it moves).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Adds or replaces a source (matched by its kind).
    pub fn set_source(&mut self, source: Source) {
        match self.sources.iter_mut().find(|s| s.kind == source.kind) {
            Some(s) => *s = source,
            None => self.sources.push(source),
        }
        self.reindex();
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (si, s) in self.sources.iter().enumerate() {
            for (ei, e) in s.entries.iter().enumerate() {
                self.index.push((si, ei, e.haystack()));
            }
        }
        // Departments first, then people, each by name.
        let sources = &self.sources;
        let entry = |si: usize, ei: usize| sources.get(si).and_then(|s| s.entries.get(ei));
        self.index.sort_by(|a, b| {
            let (ea, eb) = (entry(a.0, a.1), entry(b.0, b.1));
            let key =
                |e: Option<&Entry>| e.map(|e| (e.kind != EntryKind::Department, fold(&e.name)));
            key(ea).cmp(&key(eb))
        });
        self.version += 1;
    }

    /// Every entry.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// No entries at all.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Entries matching every word of `query` (all entries for an empty
    /// query), departments first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Entry> {
        let words: Vec<String> = fold(query)
            .split_whitespace()
            .map(|w| {
                // A number typed with separators (`+372-5550`) is compared as digits.
                let numeric = w.chars().any(|c| c.is_ascii_digit())
                    && w.chars().all(|c| c.is_ascii_digit() || "+-().".contains(c));
                if numeric { digits(w) } else { w.to_owned() }
            })
            .collect();
        self.index
            .iter()
            .filter(|(_, _, hay)| words.iter().all(|w| hay.contains(w.as_str())))
            .filter_map(|(si, ei, _)| self.sources.get(*si)?.entries.get(*ei))
            .take(limit)
            .collect()
    }

    /// The entry with this number (extension or mobile, compared as digits),
    /// for naming a number the operator dialled.
    pub fn by_number(&self, number: &str) -> Option<&Entry> {
        let want = digits(number);
        if want.is_empty() {
            return None;
        }
        self.sources.iter().flat_map(|s| &s.entries).find(|e| {
            [&e.extension, &e.mobile]
                .into_iter()
                .flatten()
                .any(|n| digits(n) == want)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str, dept: &str, title: &str, ext: &str) -> Entry {
        Entry {
            name: name.into(),
            department: Some(dept.into()),
            title: Some(title.into()),
            extension: Some(ext.into()),
            ..Entry::default()
        }
    }

    fn directory() -> Directory {
        let mut d = Directory::new();
        d.set_source(Source {
            kind: SourceKind::File("dir.toml".into()),
            state: SourceState::Fresh,
            fetched_ms: Some(0),
            entries: vec![
                person("Jüri Õunapuu", "Klienditeenindus", "Juht", "1234"),
                person("Ирина Смирнова", "Бухгалтерия", "Бухгалтер", "2345"),
                person("Žiga Čebular", "Podpora", "Tehnik", "0199"),
                person("Пётр Ёлкин", "Склад", "Кладовщик", "3456"),
                Entry {
                    kind: EntryKind::Department,
                    name: "Billing".into(),
                    extension: Some("200".into()),
                    ..Entry::default()
                },
            ],
        });
        d
    }

    #[test]
    fn search_ignores_case_and_diacritics_in_every_language() {
        let d = directory();
        let names =
            |q: &str| -> Vec<String> { d.search(q, 10).iter().map(|e| e.name.clone()).collect() };
        assert_eq!(names("juri"), ["Jüri Õunapuu"]);
        assert_eq!(names("ÕUNA"), ["Jüri Õunapuu"]);
        assert_eq!(names("ziga cebu"), ["Žiga Čebular"]);
        assert_eq!(names("смирн"), ["Ирина Смирнова"]);
        assert_eq!(names("елкин"), ["Пётр Ёлкин"], "ё = е");
        assert_eq!(names("Ёлкин"), ["Пётр Ёлкин"]);
        assert_eq!(names("бухгалтер"), ["Ирина Смирнова"], "title");
        assert_eq!(names("klienditeenindus"), ["Jüri Õunapuu"], "department");
        assert_eq!(names("1234"), ["Jüri Õunapuu"], "extension");
        assert!(names("nobody").is_empty());
        // Everything, departments first.
        assert_eq!(names("").first().map(String::as_str), Some("Billing"));
        assert_eq!(d.search("", 2).len(), 2);
        assert_eq!(
            d.by_number("2 345").map(|e| e.name.as_str()),
            Some("Ирина Смирнова")
        );
    }

    #[test]
    fn directory_files_are_read_as_toml_or_csv_and_bad_lines_are_named() {
        let toml = "[[department]]\nname = \"IT support\"\nextension = \"300\"\n\n[[person]]\nname = \"Kaarel Männik\"\nextension = \"1001\"\ntitle = \"Arendaja\"\ndepartment = \"IT\"\nmobile = \"+372 5551 0002\"\nnote = \"Puhkusel kuni 12.12\"\n";
        let e = parse_toml(toml).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].kind, EntryKind::Department);
        assert_eq!(e[1].note.as_deref(), Some("Puhkusel kuni 12.12"));
        let bad = parse_toml("[[person]]\nname = \"A\"\nphone = \"1\"\n").unwrap_err();
        assert!(matches!(bad, DirectoryError::Toml(Some(2..=3), _)), "{bad}");
        assert!(bad.to_string().contains("phone"), "{bad}");

        let csv = "name,extension,department,title,kind\n\"Smith, Anna\",1002,Sales,Manager,\nBilling,200,,,department\n";
        let e = parse_csv(csv).unwrap();
        assert_eq!(e[0].name, "Smith, Anna");
        assert_eq!(e[1].kind, EntryKind::Department);
        let bad = parse_csv("name,extension\nA,1\n,2\n").unwrap_err();
        assert_eq!(bad, DirectoryError::Csv(3, "no name".into()));
        let bad = parse_csv("name,phone\nA,1\n").unwrap_err();
        assert!(bad.to_string().contains("\"phone\""), "{bad}");
        // Round trip through the store's JSON.
        assert_eq!(from_json(&to_json(&e)).unwrap(), e);
    }
}
