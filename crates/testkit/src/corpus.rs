//! Loaders for the shared test data (`$SWITCHBOARD_TESTDATA`, default
//! `../shared/testdata` beside the workspace).
//!
//! When the data is absent the loaders return `None` and print a loud line to
//! stderr; callers skip, and never count that as a pass.

use std::path::PathBuf;

/// Where the shared test data lives, if it is there.
pub fn testdata_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SWITCHBOARD_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "\n*** SKIPPED: shared test data not found at {} (set SWITCHBOARD_TESTDATA) ***\n",
            dir.display()
        );
        None
    }
}

/// What the manifest expects of a torture message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Well formed; must parse and round-trip.
    ValidMustParse,
    /// Malformed; must be refused cleanly.
    InvalidMustReject,
    /// Parses, but the UA must react in a specific way.
    ValidButUnusual,
}

/// One torture message.
#[derive(Debug, Clone)]
pub struct TortureCase {
    /// File name, e.g. `wsinv.dat`.
    pub file: String,
    /// RFC section from the manifest.
    pub section: String,
    /// Expected outcome class.
    pub expected: Expected,
    /// Manifest note.
    pub note: String,
    /// The bytes in wire form (RFC 5118 files converted as their README says).
    pub bytes: Vec<u8>,
}

impl TortureCase {
    /// The file name without `.dat`.
    pub fn name(&self) -> &str {
        self.file.strip_suffix(".dat").unwrap_or(&self.file)
    }
}

/// Loads every message named in `sip-torture/MANIFEST.tsv`.
pub fn torture_cases() -> Option<Vec<TortureCase>> {
    let dir = testdata_dir()?.join("sip-torture");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).ok()?;
    let mut out = Vec::new();
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, section, expected, note] = cols.as_slice() else {
            continue;
        };
        let expected = match *expected {
            "valid-must-parse" => Expected::ValidMustParse,
            "invalid-must-reject" => Expected::InvalidMustReject,
            "valid-but-unusual" => Expected::ValidButUnusual,
            other => panic!("unknown manifest outcome {other}"),
        };
        let raw = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let bytes = if section.starts_with("RFC5118") {
            rfc5118_wire_form(&raw)
        } else {
            raw
        };
        out.push(TortureCase {
            file: (*file).to_owned(),
            section: (*section).to_owned(),
            expected,
            note: (*note).to_owned(),
            bytes,
        });
    }
    Some(out)
}

/// RFC 5118's archive uses bare LF, sometimes lacks the closing empty line,
/// and two bodies disagree with their Content-Length. Wire form: CRLF line
/// ends, the header block closed, Content-Length recomputed; nothing else.
pub fn rfc5118_wire_form(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h.to_owned(), b.to_owned()),
        None => (text.trim_end_matches('\n').to_owned(), String::new()),
    };
    let body = body.replace('\n', "\r\n");
    let mut out = String::new();
    for line in head.split('\n') {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-length:") || lower.starts_with("l:") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    out.into_bytes()
}
