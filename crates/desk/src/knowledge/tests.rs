//! The knowledge base as an operator uses it: the shipped articles found in
//! every language with and without diacritics, whatever is pasted into the
//! search box, and a folder edited while the desk runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::*;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/knowledge")
}

fn shipped() -> Index {
    let mut index = Index::in_memory().unwrap();
    let report = index.sync(&assets()).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    index
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// The id of the best hit of `query`, any language.
fn top(index: &Index, query: &str) -> Option<String> {
    index
        .search(query, &[], 5)
        .unwrap()
        .into_iter()
        .next()
        .map(|h| h.id)
}

/// A fresh folder under the temp dir, holding a copy of the shipped articles.
struct TempFolder(PathBuf);

impl TempFolder {
    fn new(name: &str) -> TempFolder {
        let dir = std::env::temp_dir().join(format!("sb-kb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempFolder(dir)
    }

    fn with_shipped(name: &str) -> TempFolder {
        let t = TempFolder::new(name);
        copy_dir(&assets(), &t.0);
        t
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes a file and moves its mtime on, as an editor saving it later would.
    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(later)
            .unwrap();
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

const ARTICLE: &str = "---\ntitle: Opening hours\nlanguage: en\ntags: hours, open\n\
                       queues: Info, Switchboard\n---\n\nWe are open on weekdays.\n";

// ---- the shipped articles ------------------------------------------------

#[test]
fn the_shipped_folder_indexes_whole_in_four_languages() {
    let index = shipped();
    assert_eq!(index.len().unwrap(), 16);
    for lang in LANGUAGES {
        let n = std::fs::read_dir(assets().join(lang)).unwrap().count();
        assert!(n >= 3, "{lang}: {n} articles");
    }
    let vpn = index.article("en/vpn-not-connecting").unwrap().unwrap();
    assert_eq!(vpn.title, "VPN does not connect");
    assert_eq!(vpn.queues, ["Support"]);
    assert!(vpn.tags.contains(&"vpn".to_owned()));
    assert!(vpn.body.starts_with("First ask"));
    assert!(index.article("en/nothing").unwrap().is_none());
}

#[test]
fn estonian_is_found_with_and_without_diacritics() {
    let index = shipped();
    for q in ["tööaeg", "tooaeg", "TÖÖAEG", "lahtiolekuajad"] {
        assert_eq!(top(&index, q).as_deref(), Some("et/lahtiolekuajad"), "{q}");
    }
    // õ, ä, ü in one query, typed either way.
    for q in [
        "õige server ühendus",
        "oige server uhendus",
        "VPN ei ühendu",
    ] {
        assert_eq!(top(&index, q).as_deref(), Some("et/vpn-ei-uhendu"), "{q}");
    }
    for q in ["pakiautomaat", "kohaletoimetamine", "tarneaeg"] {
        assert_eq!(top(&index, q).as_deref(), Some("et/tarneajad"), "{q}");
    }
}

#[test]
fn russian_yo_and_ye_are_one_letter() {
    let index = shipped();
    for q in ["счёт", "счет", "СЧЁТ", "копия счета", "Копия счёта"]
    {
        assert_eq!(top(&index, q).as_deref(), Some("ru/kopiya-scheta"), "{q}");
    }
    // `ещё` in the printer article, `придёт` in the returns one.
    assert_eq!(
        top(&index, "еще раз принтер").as_deref(),
        Some("ru/printer-ne-pechataet")
    );
    assert_eq!(
        top(&index, "код возврата придет").as_deref(),
        Some("ru/vozvrat")
    );
    assert_eq!(top(&index, "почтомат").as_deref(), Some("ru/vozvrat"));
}

#[test]
fn slovenian_is_found_with_and_without_diacritics() {
    let index = shipped();
    for q in [
        "tiskalnik",
        "tiskalnik ne tiska",
        "kartusa",
        "kartuša",
        "čakalna vrsta",
    ] {
        assert_eq!(
            top(&index, q).as_deref(),
            Some("sl/tiskalnik-ne-tiska"),
            "{q}"
        );
    }
    // `čakanje` finds `čakanjem`: words of three letters or more are stems.
    for q in ["čakanje", "cakanje", "reševalci", "resevalci", "prva pomoc"] {
        assert_eq!(top(&index, q).as_deref(), Some("sl/prva-pomoc"), "{q}");
    }
    assert_eq!(top(&index, "stroski storitev").as_deref(), Some("sl/cenik"));
}

#[test]
fn a_word_being_typed_matches_as_a_prefix() {
    let index = shipped();
    assert_eq!(top(&index, "pass").as_deref(), Some("en/password-reset"));
    assert_eq!(
        top(&index, "parcel track").as_deref(),
        Some("en/parcel-tracking")
    );
    // A last letter on its own waits for the next one.
    assert_eq!(
        top(&index, "parcel t").as_deref(),
        Some("en/parcel-tracking")
    );
}

#[test]
fn snippets_mark_the_matched_words_in_the_original_text() {
    let index = shipped();
    let hits = index.search("еще", &["ru"], 5).unwrap();
    let hit = hits.first().unwrap();
    assert_eq!(hit.id, "ru/printer-ne-pechataet");
    // Found through the folded `еще`, shown as written: `ещё`.
    assert!(hit.snippet.contains("\u{2}ещё\u{3}"), "{:?}", hit.snippet);
    // Markdown's marks are not in it.
    let hits = index.search("courier investigation", &[], 5).unwrap();
    let snippet = &hits.first().unwrap().snippet;
    assert!(
        snippet.contains("\u{2}courier\u{3} \u{2}investigation\u{3}"),
        "{snippet:?}"
    );
    assert!(
        !snippet.contains('*') && !snippet.contains('`'),
        "{snippet:?}"
    );
    // A title-only match shows the body's start.
    let hits = index.search("Tarneajad", &[], 5).unwrap();
    assert!(hits.first().unwrap().snippet.starts_with("Laos olev kaup"));
}

// ---- whatever is typed -----------------------------------------------------

#[test]
fn hostile_input_gives_results_or_nothing_never_an_error() {
    let index = shipped();
    let ten_kb = "vpn \"NEAR(\" *-: ".repeat(700);
    assert!(ten_kb.len() >= 10_000);
    let inputs = [
        "\"",
        "\"\"\"",
        "*",
        "vpn*",
        "NEAR(",
        "NEAR(vpn printer, 2)",
        "a:b",
        "title:vpn",
        "-x",
        "-vpn",
        "(",
        "(vpn",
        ")",
        "AND OR NOT",
        "vpn AND",
        "NOT vpn",
        "^vpn",
        "{title}: vpn",
        "'; DROP TABLE articles; --",
        "\u{0}\u{1}\u{2}\u{3}",
        "\u{202e}vpn\u{200b}",
        "😀 vpn 😀",
        &ten_kb,
    ];
    for q in inputs {
        let r = index.search(q, &["en"], 10);
        assert!(r.is_ok(), "{q:?}: {r:?}");
        let r = index.suggest(&[q], Some(q), &[q], 10);
        assert!(r.is_ok(), "suggest {q:?}: {r:?}");
    }
    // Words inside the noise still count.
    let hits = index.search(&ten_kb, &["en"], 10).unwrap();
    assert!(
        ids(&hits).contains(&"en/vpn-not-connecting"),
        "{:?}",
        ids(&hits)
    );
    assert_eq!(
        index
            .search("title:vpn", &["en"], 1)
            .unwrap()
            .first()
            .map(|h| h.id.as_str()),
        Some("en/vpn-not-connecting")
    );
    // And the index is still whole.
    assert_eq!(index.len().unwrap(), 16);
}

#[test]
fn an_empty_or_punctuation_query_gives_no_hits() {
    let index = shipped();
    for q in ["", "   ", "\"*-:()", "…—–", "\n\t"] {
        assert!(index.search(q, &["en"], 10).unwrap().is_empty(), "{q:?}");
    }
    assert!(index.search("vpn", &["en"], 0).unwrap().is_empty());
}

#[test]
fn when_no_article_has_every_word_any_will_do() {
    let index = shipped();
    let hits = index.search("tiskalnik zzyzx", &["en"], 5).unwrap();
    assert_eq!(
        ids(&hits).first(),
        Some(&"sl/tiskalnik-ne-tiska"),
        "{:?}",
        ids(&hits)
    );
}

// ---- ranking ---------------------------------------------------------------

#[test]
fn the_title_outranks_the_body_and_tags_stand_between() {
    let mut index = Index::in_memory().unwrap();
    let body = "---\ntitle: Delivery to the islands\nlanguage: en\n---\n\
                A ferry timetable decides the day; the ferry leaves twice a day.\n";
    let tags = "---\ntitle: Island shipping\nlanguage: en\ntags: ferry\n---\n\
                Parcels to the islands go by boat.\n";
    let title = "---\ntitle: Ferry delays\nlanguage: en\n---\n\
                 When the sea is rough, parcels wait on the mainland.\n";
    let filler = "---\ntitle: Opening hours\nlanguage: en\n---\nWe open at eight.\n";
    index
        .index_texts([
            ("body", body),
            ("tags", tags),
            ("title", title),
            ("f1", filler),
            ("f2", filler),
            ("f3", filler),
        ])
        .unwrap();
    let hits = index.search("ferry", &["en"], 10).unwrap();
    assert_eq!(ids(&hits), ["title", "tags", "body"]);
    assert!(hits.windows(2).all(|w| w[0].rank > w[1].rank), "{hits:?}");
}

#[test]
fn preferred_languages_come_first_in_their_order() {
    let index = shipped();
    let et = index.search("vpn", &["et"], 10).unwrap();
    assert_eq!(ids(&et).first(), Some(&"et/vpn-ei-uhendu"));
    let en = index.search("vpn", &["en", "et"], 10).unwrap();
    assert_eq!(ids(&en), ["en/vpn-not-connecting", "et/vpn-ei-uhendu"]);
    // The order number is in an English and a Russian article, the
    // defibrillator in an English and a Slovenian one.
    let ru = index.search("A-4711", &["ru"], 10).unwrap();
    assert_eq!(ids(&ru), ["ru/vozvrat", "en/parcel-tracking"]);
    let en = index.search("A-4711", &["en", "ru"], 10).unwrap();
    assert_eq!(ids(&en), ["en/parcel-tracking", "ru/vozvrat"]);
    let sl = index.search("AED", &["sl", "en"], 10).unwrap();
    assert_eq!(ids(&sl), ["sl/prva-pomoc", "en/first-aid-waiting"]);
    // No preference: by rank alone.
    let any = index.search("AED", &[], 10).unwrap();
    assert!(any.windows(2).all(|w| w[0].rank >= w[1].rank), "{any:?}");
}

#[test]
fn suggestions_from_the_call_context() {
    let index = shipped();
    let hits = index
        .suggest(&["vpn"], Some("Support"), &["en"], 5)
        .unwrap();
    assert_eq!(ids(&hits).first(), Some(&"en/vpn-not-connecting"));
    assert_eq!(ids(&hits).get(1), Some(&"et/vpn-ei-uhendu"));
    // Then the queue's other articles.
    assert!(
        ids(&hits).contains(&"en/password-reset"),
        "{:?}",
        ids(&hits)
    );
    for h in &hits {
        let a = index.article(&h.id).unwrap().unwrap();
        assert_eq!(a.queues, ["Support"], "{}", h.id);
    }
    // IVR data on an Orders call: the queue's articles first, the one that
    // mentions the order number at their head, in the operator's language.
    let hits = index
        .suggest(&["Orders", "order=A-4711"], Some("orders"), &["en"], 10)
        .unwrap();
    assert_eq!(
        ids(&hits).first(),
        Some(&"en/parcel-tracking"),
        "{:?}",
        ids(&hits)
    );
    for h in hits.iter().take(5) {
        let a = index.article(&h.id).unwrap().unwrap();
        assert!(a.queues.iter().any(|q| q == "Orders"), "{}", h.id);
    }
    // Nothing to go on: nothing.
    assert!(index.suggest(&[], None, &["en"], 5).unwrap().is_empty());
    // Only a queue: its articles, the preferred language first.
    let hits = index.suggest(&[], Some("Emergency"), &["sl"], 5).unwrap();
    assert_eq!(ids(&hits), ["sl/prva-pomoc", "en/first-aid-waiting"]);
    assert!(hits.iter().all(|h| h.rank == 0.0 && !h.snippet.is_empty()));
}

// ---- the folder changing -----------------------------------------------------

#[test]
fn an_edited_article_is_found_by_its_new_words_and_not_its_old_ones() {
    let folder = TempFolder::with_shipped("edit");
    let mut index = Index::in_memory().unwrap();
    let first = index.sync(&folder.0).unwrap();
    assert_eq!((first.added, first.updated, first.removed), (16, 0, 0));
    assert_eq!(
        top(&index, "hotspot").as_deref(),
        Some("en/vpn-not-connecting")
    );

    let text = std::fs::read_to_string(folder.path("en/vpn-not-connecting.md")).unwrap();
    let edited = text.replace("the phone's mobile hotspot", "a tethered smartphone");
    assert_ne!(text, edited);
    folder.write("en/vpn-not-connecting.md", &edited);
    let report = index.sync(&folder.0).unwrap();
    assert_eq!(
        report,
        SyncReport {
            updated: 1,
            ..SyncReport::default()
        }
    );
    assert_eq!(
        top(&index, "tethered smartphone").as_deref(),
        Some("en/vpn-not-connecting")
    );
    assert!(index.search("hotspot", &[], 5).unwrap().is_empty());
    let article = index.article("en/vpn-not-connecting").unwrap().unwrap();
    assert!(article.body.contains("tethered"));
}

#[test]
fn a_deleted_file_takes_its_article_with_it() {
    let folder = TempFolder::with_shipped("delete");
    let mut index = Index::in_memory().unwrap();
    index.sync(&folder.0).unwrap();
    std::fs::remove_file(folder.path("sl/cenik.md")).unwrap();
    let report = index.sync(&folder.0).unwrap();
    assert_eq!((report.added, report.updated, report.removed), (0, 0, 1));
    assert!(index.article("sl/cenik").unwrap().is_none());
    assert!(index.search("cenik", &[], 5).unwrap().is_empty());
    assert_eq!(index.len().unwrap(), 15);
    // A new file in a new subfolder comes in.
    folder.write(
        "en/billing/late-fees.md",
        &ARTICLE.replace("Opening hours", "Late fees"),
    );
    let report = index.sync(&folder.0).unwrap();
    assert_eq!((report.added, report.removed), (1, 0));
    assert!(index.article("en/billing/late-fees").unwrap().is_some());
}

#[test]
fn an_unchanged_folder_syncs_to_nothing() {
    let folder = TempFolder::with_shipped("same");
    let mut index = Index::in_memory().unwrap();
    index.sync(&folder.0).unwrap();
    assert_eq!(index.sync(&folder.0).unwrap(), SyncReport::default());
    // Saved again with the same text: re-read, nothing to tell.
    let text = std::fs::read_to_string(folder.path("en/prices.md")).unwrap();
    folder.write("en/prices.md", &text);
    assert_eq!(index.sync(&folder.0).unwrap(), SyncReport::default());
}

#[test]
fn a_bad_header_is_reported_with_file_and_line_and_the_rest_index() {
    let folder = TempFolder::new("bad");
    folder.write("good.md", ARTICLE);
    folder.write(
        "other/fine.md",
        &ARTICLE.replace("language: en", "language: et"),
    );
    folder.write(
        "bad.md",
        "---\ntitle: Broken\nlanguage: de\n---\nSomething.\n",
    );
    folder.write("no-header.md", "Just text.\n");
    folder.write("notes.txt", "not an article");
    folder.write(".draft.md", "hidden, skipped");
    let mut index = Index::in_memory().unwrap();
    let report = index.sync(&folder.0).unwrap();
    assert_eq!(report.added, 2);
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    let bad = report.errors.first().unwrap();
    assert!(
        bad.contains("bad.md, line 3") && bad.contains("`de`"),
        "{bad}"
    );
    let none = report.errors.get(1).unwrap();
    assert!(none.contains("no-header.md, line 1"), "{none}");
    assert_eq!(index.len().unwrap(), 2);
    // Still reported while unchanged (without being read again).
    let again = index.sync(&folder.0).unwrap();
    assert_eq!(again.errors, report.errors);
    assert_eq!((again.added, again.updated, again.removed), (0, 0, 0));
    // Fixed: indexed, no error.
    folder.write(
        "bad.md",
        "---\ntitle: Broken\nlanguage: sl\n---\nSomething.\n",
    );
    let fixed = index.sync(&folder.0).unwrap();
    assert_eq!(fixed.added, 1);
    assert_eq!(fixed.errors.len(), 1);
    // Broken again: reported, and its old article taken out.
    folder.write("bad.md", "---\ntitle: Broken\n");
    let broken = index.sync(&folder.0).unwrap();
    assert_eq!(broken.removed, 1);
    assert!(
        broken.errors.iter().any(|e| e.contains("bad.md, line 1")),
        "{broken:?}"
    );
    assert!(index.article("bad").unwrap().is_none());
}

#[test]
fn a_folder_that_cannot_be_read_is_an_error_and_changes_nothing() {
    let mut index = shipped();
    let missing = assets().join("no-such-folder");
    assert!(matches!(
        index.sync(&missing),
        Err(KnowledgeError::Read { .. })
    ));
    assert_eq!(index.len().unwrap(), 16);
}

#[test]
fn a_file_that_is_not_text_or_too_large_is_reported() {
    let folder = TempFolder::new("binary");
    folder.write("good.md", ARTICLE);
    std::fs::write(folder.path("binary.md"), [0xff, 0xfe, 0x00, 0x2d]).unwrap();
    let big = format!("{ARTICLE}{}", "x".repeat(300 * 1024));
    std::fs::write(folder.path("big.md"), big).unwrap();
    let mut index = Index::in_memory().unwrap();
    let report = index.sync(&folder.0).unwrap();
    assert_eq!(report.added, 1);
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("binary.md: not UTF-8"))
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("big.md") && e.contains("bytes"))
    );
}

#[test]
fn the_index_file_survives_a_restart_and_is_rebuilt_when_broken() {
    let folder = TempFolder::with_shipped("file");
    let db = folder.0.join(".index.sqlite");
    {
        let mut index = Index::open(&db).unwrap();
        assert_eq!(index.sync(&folder.0).unwrap().added, 16);
    }
    let mut index = Index::open(&db).unwrap();
    assert_eq!(index.len().unwrap(), 16);
    assert_eq!(index.sync(&folder.0).unwrap(), SyncReport::default());
    assert_eq!(top(&index, "tooaeg").as_deref(), Some("et/lahtiolekuajad"));
    drop(index);
    // Not a database any more (a disk error, a stray copy): started afresh.
    for suffix in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    std::fs::write(
        &db,
        "this is not a database, it is a text file ".repeat(200),
    )
    .unwrap();
    let mut index = Index::open(&db).unwrap();
    assert_eq!(index.len().unwrap(), 0);
    assert_eq!(index.sync(&folder.0).unwrap().added, 16);
}

// ---- the format --------------------------------------------------------------

#[test]
fn index_texts_adds_updates_and_reports() {
    let mut index = Index::in_memory().unwrap();
    let r = index
        .index_texts([("a", ARTICLE), ("b", "no header"), ("c", ARTICLE)])
        .unwrap();
    assert_eq!((r.added, r.updated, r.errors.len()), (2, 0, 1));
    assert!(r.errors.first().unwrap().starts_with("b, line 1:"));
    let r = index.index_texts([("a", ARTICLE)]).unwrap();
    assert_eq!(r, SyncReport::default());
    let r = index
        .index_texts([("a", &*ARTICLE.replace("weekdays", "Saturdays"))])
        .unwrap();
    assert_eq!(r.updated, 1);
    assert_eq!(top(&index, "saturdays").as_deref(), Some("a"));
    assert_eq!(index.search("weekdays", &[], 5).unwrap().len(), 1);
}

#[test]
fn header_problems_name_their_line() {
    let problem = |text: &str| match parse_article("x", text) {
        Err(KnowledgeError::Header { line, problem, .. }) => (line, problem),
        other => panic!("{other:?}"),
    };
    assert_eq!(problem("Hello"), (1, HeaderProblem::NoHeader));
    assert_eq!(problem(""), (1, HeaderProblem::NoHeader));
    assert_eq!(problem("---\ntitle: A\n"), (1, HeaderProblem::NotClosed));
    assert_eq!(
        problem("---\ntitle: A\nlanguage en\n---\n"),
        (3, HeaderProblem::NotAField)
    );
    assert_eq!(
        problem("---\ntitle: A\nlanguage: en\ntag: x\n---\n"),
        (4, HeaderProblem::UnknownField("tag".into()))
    );
    assert_eq!(
        problem("---\ntitle: A\ntitle: B\n---\n"),
        (3, HeaderProblem::DuplicateField("title".into()))
    );
    assert_eq!(
        problem("---\nlanguage: en\n---\nbody"),
        (3, HeaderProblem::Missing("title"))
    );
    assert_eq!(
        problem("---\ntitle:\nlanguage: en\n---\n"),
        (2, HeaderProblem::Missing("title"))
    );
    assert_eq!(
        problem("---\ntitle: A\nlanguage: fi\n---\n"),
        (3, HeaderProblem::UnknownLanguage("fi".into()))
    );
    let e = parse_article("en/x", "---\ntitle: A\nlanguage: fi\n---\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "en/x, line 3: language `fi` is not one of en, et, ru, sl"
    );
}

#[test]
fn a_header_may_use_quotes_lists_comments_and_crlf() {
    let text = "\u{feff}---\r\n# shown to the info line\r\ntitle: \"Tööaeg: suvi\"\r\n\
                language: ET\r\ntags: [suvi, 'tööaeg', ]\r\n\r\nqueues: Info\r\n---\r\n\r\n\
                Esimene lõik.\r\n\r\nTeine lõik.\r\n";
    let a = parse_article("et/suvi", text).unwrap();
    assert_eq!(a.title, "Tööaeg: suvi");
    assert_eq!(a.lang, "et");
    assert_eq!(a.tags, ["suvi", "tööaeg"]);
    assert_eq!(a.queues, ["Info"]);
    assert_eq!(a.body, "Esimene lõik.\n\nTeine lõik.");
    // Decomposed letters are stored composed.
    let nfd = parse_article("x", "---\ntitle: To\u{308}o\u{308}aeg\nlanguage: et\n---\n").unwrap();
    assert_eq!(nfd.title, "Tööaeg");
    assert_eq!(nfd.body, "");
}

#[test]
fn paragraphs_are_the_blocks_between_blank_lines() {
    let text = "---\ntitle: A\nlanguage: en\n---\n\n# Heading\n\nFirst line,\nsame paragraph.\n\
                \n   \n- one\n- two\n\n```\ncode\n\nstill code\n```\n\nLast.\n\n";
    let a = parse_article("a", text).unwrap();
    assert_eq!(
        a.paragraphs(),
        [
            "# Heading",
            "First line,\nsame paragraph.",
            "- one\n- two",
            "```\ncode\n\nstill code\n```",
            "Last.",
        ]
    );
    assert_eq!(
        a.plain_body(),
        "Heading First line, same paragraph. one two code still code Last."
    );
    let links = parse_article(
        "l",
        "---\ntitle: L\nlanguage: en\n---\n> See **[the price list](https://x.invalid/p)**, \
         ![map](m.png) and `vpn.example.com`.\n\n---\n",
    )
    .unwrap();
    assert_eq!(
        links.plain_body(),
        "See the price list, map and vpn.example.com."
    );
}
