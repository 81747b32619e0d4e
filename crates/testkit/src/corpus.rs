//! Loaders for the shared test data (`$SWITCHBOARD_TESTDATA`, default
//! `../shared/testdata` beside the workspace).
//!
//! When the data is absent the loaders return `None` after a [`skip`]
//! (printed past the harness's capture, counted at exit), and callers skip;
//! under `SWITCHBOARD_REQUIRE_TESTDATA=1`, as `scripts/test.sh` runs the
//! suite, they panic with the path instead. Data that is there but broken —
//! a missing manifest, a malformed row, a listed file that is not there, a
//! file the manifest does not list — always fails: that is never a skip.

use std::path::PathBuf;

use crate::skip;

/// How many messages `sip-torture/MANIFEST.tsv` lists (RFC 4475 and 5118).
pub const TORTURE_CASES: usize = 62;

/// Whether the test command promised the shared test data.
pub fn required() -> bool {
    std::env::var_os("SWITCHBOARD_REQUIRE_TESTDATA").is_some_and(|v| v != "0")
}

/// Where the shared test data lives, if it is there.
pub fn testdata_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SWITCHBOARD_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !required(),
        "shared test data not found at {} although SWITCHBOARD_REQUIRE_TESTDATA is set \
         (set SWITCHBOARD_TESTDATA to the folder holding sip-torture/, g711/, sdp-rfc4317/)",
        dir.display()
    );
    skip(&format!(
        "shared test data not found at {} (set SWITCHBOARD_TESTDATA)",
        dir.display()
    ));
    None
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

/// Loads every message named in `sip-torture/MANIFEST.tsv`, checking the
/// corpus on the way: every row well formed, every listed file there, every
/// `.dat` file listed, [`TORTURE_CASES`] in all. Panics, naming the path and
/// line, when the corpus is broken.
pub fn torture_cases() -> Option<Vec<TortureCase>> {
    let dir = testdata_dir()?.join("sip-torture");
    let manifest_path = dir.join("MANIFEST.tsv");
    let manifest = std::fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let mut out = Vec::new();
    let mut lines = manifest.lines().enumerate();
    let header = lines.next().map(|(_, h)| h).unwrap_or_default();
    assert!(
        header.starts_with("file\t"),
        "{}:1: expected a header row `file<TAB>…`, found {header:?}",
        manifest_path.display()
    );
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{}:{}", manifest_path.display(), i + 1);
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, section, expected, note] = cols.as_slice() else {
            panic!(
                "{at}: expected 4 tab-separated columns, found {}: {line:?}",
                cols.len()
            );
        };
        let expected = match *expected {
            "valid-must-parse" => Expected::ValidMustParse,
            "invalid-must-reject" => Expected::InvalidMustReject,
            "valid-but-unusual" => Expected::ValidButUnusual,
            other => panic!("{at}: unknown outcome {other:?}"),
        };
        let path = dir.join(file);
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{at}: {}: {e}", path.display()));
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
    let listed: std::collections::BTreeSet<&str> = out.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(
        listed.len(),
        out.len(),
        "{}: a file is listed twice",
        manifest_path.display()
    );
    let unlisted: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".dat") && !listed.contains(f.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "{}: files not in the manifest: {unlisted:?}",
        dir.display()
    );
    assert_eq!(
        out.len(),
        TORTURE_CASES,
        "{} lists {} messages; the corpus has {TORTURE_CASES}",
        manifest_path.display(),
        out.len()
    );
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
