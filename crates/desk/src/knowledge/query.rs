//! What is typed, as an FTS5 expression that cannot fail, and the folding
//! shared by the index and its queries.
//!
//! The input is never handed to MATCH: it is cut into words (letters and
//! digits), each quoted as an FTS5 string (`"word"`, a `"` inside doubled,
//! though a word has none), with `*` for a prefix, joined by `AND` or `OR`.
//! Whatever the operator pastes — quotes, `NEAR(`, `col:word`, ten kilobytes
//! of a mail — the expression is a list of quoted words or nothing.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// At most this many words of what is typed are searched for.
pub(crate) const MAX_WORDS: usize = 16;
/// At most this many context words feed a suggestion.
pub(crate) const MAX_CONTEXT_WORDS: usize = 32;
/// A longer word is cut (and searched as a prefix).
const MAX_WORD_CHARS: usize = 48;
/// Only the start of a very long input is looked at.
const MAX_INPUT_CHARS: usize = 4096;

/// The folding the tokenizer does not do, letter for letter within a word
/// (so the folded and the original text tokenize to the same positions):
/// `ё`→`е`, `đ`→`d`, `ł`→`l`, `ø`→`o`, `ß`→`ss`, upper case alike. The
/// text is expected NFC (the articles are normalised when parsed; queries in
/// [`words`]).
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'ё' => out.push('е'),
            'Ё' => out.push('Е'),
            'đ' => out.push('d'),
            'Đ' => out.push('D'),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'ø' => out.push('o'),
            'Ø' => out.push('O'),
            'ß' => out.push_str("ss"),
            'ẞ' => out.push_str("SS"),
            _ => out.push(c),
        }
    }
    out
}

/// The words of `text`: NFC, folded, split at everything that is not a
/// letter or a digit (combining marks left after NFC, like a Russian stress
/// mark, are dropped, as the tokenizer drops them); at most `max` words.
pub(crate) fn words(text: &str, max: usize) -> Vec<Word> {
    let normal: String = text.chars().take(MAX_INPUT_CHARS).nfc().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = 0usize;
    let mut cut = false;
    let flush = |out: &mut Vec<Word>, current: &mut String, chars: &mut usize, cut: &mut bool| {
        if !current.is_empty() {
            out.push(Word {
                text: std::mem::take(current),
                chars: *chars,
                cut: *cut,
            });
        }
        *chars = 0;
        *cut = false;
    };
    for c in fold(&normal).chars() {
        if out.len() >= max {
            break;
        }
        if is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            if chars < MAX_WORD_CHARS {
                current.push(c);
                chars += 1;
            } else {
                cut = true;
            }
        } else {
            flush(&mut out, &mut current, &mut chars, &mut cut);
        }
    }
    if out.len() < max {
        flush(&mut out, &mut current, &mut chars, &mut cut);
    }
    out
}

/// One word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word, folded.
    pub(crate) text: String,
    /// Its length in characters.
    chars: usize,
    /// It was longer and is cut to [`MAX_WORD_CHARS`].
    cut: bool,
}

/// A word to match, whole or as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    word: String,
    prefix: bool,
}

/// The terms of what the operator has typed so far: every word of three
/// letters or more as a prefix (the stem of an inflected word finds its
/// forms), the last from two (it is being typed); a single letter at the end
/// after other words is left out until it grows.
pub(crate) fn typed_terms(text: &str) -> Vec<Term> {
    let mut ws = words(text, MAX_WORDS);
    if ws.len() > 1 && ws.last().is_some_and(|w| w.chars < 2) {
        ws.pop();
    }
    let n = ws.len();
    ws.into_iter()
        .enumerate()
        .map(|(i, w)| Term {
            prefix: w.cut || w.chars >= 3 || (i + 1 == n && w.chars >= 2),
            word: w.text,
        })
        .collect()
}

/// The terms of a call's context (queue name, IVR data, script answers):
/// words of two letters or more, each once, those of three or more as
/// prefixes.
pub(crate) fn context_terms(context: &[&str]) -> Vec<Term> {
    let mut out: Vec<Term> = Vec::new();
    for part in context {
        for w in words(part, MAX_CONTEXT_WORDS) {
            if out.len() >= MAX_CONTEXT_WORDS {
                return out;
            }
            let lower = w.text.to_lowercase();
            if w.chars < 2 || out.iter().any(|t| t.word.to_lowercase() == lower) {
                continue;
            }
            out.push(Term {
                prefix: w.cut || w.chars >= 3,
                word: w.text,
            });
        }
    }
    out
}

/// The terms without those another term implies: a repeated word, and a
/// prefix that another word starts with (`счет* сч*` matches as `счет*`
/// alone when all must match). Each costs a pass over its matches.
pub(crate) fn without_implied(terms: Vec<Term>) -> Vec<Term> {
    let lower: Vec<String> = terms.iter().map(|t| t.word.to_lowercase()).collect();
    let implied = |i: usize| {
        let (Some(t), Some(w)) = (terms.get(i), lower.get(i)) else {
            return false;
        };
        lower.iter().enumerate().any(|(j, other)| {
            j != i
                && if other == w {
                    // The same word twice: keep the first, or the whole
                    // word over its prefix.
                    let o = terms.get(j).is_some_and(|o| o.prefix);
                    (t.prefix && !o) || (t.prefix == o && j < i)
                } else {
                    t.prefix && other.starts_with(w.as_str())
                }
        })
    };
    let keep: Vec<bool> = (0..terms.len()).map(|i| !implied(i)).collect();
    terms
        .into_iter()
        .zip(keep)
        .filter_map(|(t, k)| k.then_some(t))
        .collect()
}

/// The FTS5 expression: every term quoted, joined by `op` (`AND`, `OR`).
/// `None` for no terms.
pub(crate) fn expression(terms: &[Term], op: &str) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    let parts: Vec<String> = terms
        .iter()
        .map(|t| {
            format!(
                "\"{}\"{}",
                t.word.replace('"', "\"\""),
                if t.prefix { "*" } else { "" }
            )
        })
        .collect();
    Some(parts.join(&format!(" {op} ")))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn typed(s: &str) -> Option<String> {
        expression(&typed_terms(s), "AND")
    }

    #[test]
    fn words_are_quoted_and_prefixed_as_typed() {
        assert_eq!(typed("vpn"), Some("\"vpn\"*".into()));
        assert_eq!(typed("ei vp"), Some("\"ei\" AND \"vp\"*".into()));
        assert_eq!(typed("printer n"), Some("\"printer\"*".into()));
        assert_eq!(typed("x"), Some("\"x\"".into()));
        assert_eq!(
            typed("NEAR(a b) \"x\" col:y -z AND"),
            Some(
                "\"NEAR\"* AND \"a\" AND \"b\" AND \"x\" AND \"col\"* AND \"y\" AND \"z\" AND \"AND\"*"
                    .into()
            )
        );
        assert_eq!(typed("\"*-:()"), None);
        assert_eq!(typed(""), None);
    }

    #[test]
    fn folding_is_letter_for_letter() {
        assert_eq!(fold("Ёлка, счёт"), "Елка, счет");
        assert_eq!(
            fold("Đorđe Łódź Ørsted Straße"),
            "Dorde Lódź Orsted Strasse"
        );
        // A decomposed ö becomes the composed one, a stress mark goes.
        let w = words("to\u{308}o\u{308}aeg заве\u{301}дение", 8);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["tööaeg", "заведение"]);
    }

    #[test]
    fn implied_terms_are_dropped() {
        let all = |s: &str| expression(&without_implied(typed_terms(s)), "AND");
        assert_eq!(all("счет счет сч"), Some("\"счет\"*".into()));
        assert_eq!(all("arvele arve arve"), Some("\"arvele\"*".into()));
        assert_eq!(all("Vpn vpn"), Some("\"Vpn\"*".into()));
        // A whole word is kept over its own prefix.
        assert_eq!(all("ei ei"), Some("\"ei\"".into()));
        assert_eq!(all("ei vpn ei"), Some("\"ei\" AND \"vpn\"*".into()));
        assert_eq!(
            all("ne tiskalnik"),
            Some("\"ne\" AND \"tiskalnik\"*".into())
        );
    }

    #[test]
    fn long_input_is_capped() {
        let long = "word ".repeat(2000);
        assert_eq!(typed_terms(&long).len(), MAX_WORDS);
        let one = "a".repeat(10_000);
        let t = typed_terms(&one);
        assert_eq!(t.len(), 1);
        assert_eq!(
            t.first().map(|t| t.word.chars().count()),
            Some(MAX_WORD_CHARS)
        );
        assert!(t.first().is_some_and(|t| t.prefix));
    }

    #[test]
    fn context_words_are_deduplicated() {
        let t = context_terms(&["Support", "order=A-4711", "vpn", "VPN"]);
        assert_eq!(
            expression(&t, "OR"),
            Some("\"Support\"* OR \"order\"* OR \"4711\"* OR \"vpn\"*".into())
        );
    }
}
