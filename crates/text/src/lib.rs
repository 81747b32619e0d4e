//! # switchboard-text — text from outside made safe to show
//!
//! One rule for what callers, PBXs and mail senders write: the desk cleans
//! callers' names and headers with it (as `switchboard_desk::caller_text`),
//! the mail crate the headers and bodies of mail. Beside it, [`fill`]: the
//! `{name}` templates of call scripts, forms and mail replies.
//!
//! Caller-supplied text made safe to show, store and notify.
//!
//! Everything the caller's side writes into an INVITE — the display name,
//! the user part of From and P-Asserted-Identity (percent-decoded, so `%0A`
//! is a real line break and `%1B` a real ESC), Diversion, Call-Info, PBX
//! headers, a REFER's target — is hostile until cleaned. Uncleaned, it can
//! break a label over several lines, colour a terminal (`ESC [31m`), reverse
//! what follows it on screen (U+202E RIGHT-TO-LEFT OVERRIDE turns
//! `gnp.exe` into `exe.png`), hide in zero-width characters so two numbers
//! look the same, or fill the window with 64 KB of name.
//!
//! ```text
//!  header value ──▶ NFC ──▶ drop controls, bidi, invisible ──▶ collapse white space ──▶ cap ──▶ card
//! ```
//!
//! [`clean`] is the one rule, applied where the text enters the desk
//! (`context::caller_card`, REFER targets), so the caller card, the work
//! list, the history in the store, the CRM URL and the desktop notification
//! all hold the same cleaned text. It is a pure function of its input (no
//! locale, no configuration), and it reads no more of a huge input than it
//! needs for `max_chars` characters of output (plus what it drops).
//!
//! What goes:
//! - C0 and C1 control characters (U+0000–U+001F, DEL U+007F,
//!   U+0080–U+009F). Those that are white space (tab, line feed, carriage
//!   return, vertical tab, form feed, NEL) become a space; the rest (ESC,
//!   NUL, BEL …) are removed, so `ESC [31m` leaves a harmless `[31m`.
//! - Unicode bidirectional controls: U+061C ARABIC LETTER MARK, U+200E/U+200F
//!   LRM/RLM, U+202A–U+202E (embeddings and overrides), U+2066–U+2069
//!   (isolates).
//! - Zero-width and invisible formatting: U+200B–U+200D (zero-width space,
//!   non-joiner, joiner), U+2060–U+2064 (word joiner, invisible operators),
//!   U+FEFF (BOM), U+180E MONGOLIAN VOWEL SEPARATOR, U+00AD SOFT HYPHEN, the
//!   deprecated format characters U+206A–U+206F, the interlinear annotation
//!   characters U+FFF9–U+FFFB, the Hangul fillers (U+115F, U+1160, U+3164,
//!   U+FFA0, blank "names") and the tag characters U+E0000–U+E007F (invisible
//!   ASCII look-alikes).
//! - Combining marks beyond [`MAX_MARKS`] on one character ("Zalgo" text
//!   that climbs over the lines above).
//!
//! What stays: every letter of every script, precomposed or not (the text
//! is put in Unicode Normalization Form C first, which leaves ordinary
//! text such as `Õie Šmid Ёлка` exactly as it was), digits, punctuation,
//! symbols and emoji. White space runs collapse to one space and the ends
//! are trimmed. A text longer than `max_chars` characters is cut to
//! `max_chars` characters, the last of them `…`.
//!
//! Cleaning is for people, not for protocol: the Call-ID, a URI to dial
//! back and links are kept only when cleaning leaves them unchanged (see
//! `context`), because a changed address is a different address.

#![deny(unsafe_code)]

use std::collections::BTreeMap;

use unicode_normalization::UnicodeNormalization;
pub use unicode_normalization::char::is_combining_mark;

/// Longest number kept ([`clean_number`]): E.164 has 15 digits; 64 leaves
/// room for extensions, separators and SIP user names such as `anonymous`.
pub const MAX_NUMBER: usize = 64;

/// Most combining marks kept on one character. Vietnamese needs two,
/// Indic and Tibetan stacks a few more; a hundred is an attack.
pub const MAX_MARKS: usize = 4;

/// Whether `c` is a Unicode bidirectional control (it reorders the text
/// around it without being seen).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` is zero-width or otherwise invisible formatting (it changes
/// what a text is without changing how it looks).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Whether [`clean`] removes `c` (a white-space control becomes a space
/// instead, and is not counted here).
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && !c.is_whitespace()) || is_bidi_control(c) || is_invisible(c)
}

/// Caller-supplied text as one clean line of at most `max_chars`
/// characters: control, bidi and invisible characters removed, white space
/// collapsed to single spaces, the ends trimmed, and a text that was longer
/// cut with a trailing `…` (which counts towards `max_chars`).
///
/// ```
/// use switchboard_text::clean;
/// assert_eq!(clean(" Mari\n\tMaasikas\u{202E} ", 200), "Mari Maasikas");
/// assert_eq!(clean("\u{1b}[31mRED", 200), "[31mRED");
/// assert_eq!(clean("Õie Šmid Ёлка", 200), "Õie Šmid Ёлка");
/// assert_eq!(clean("abcdef", 4), "abc…");
/// ```
pub fn clean(s: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    // Bounded by what is kept, not by what came: a 64 KB name with a cap
    // of 80 allocates for 80 characters.
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    let mut kept = 0usize;
    let mut space = false;
    let mut marks = 0usize;
    let mut cut = false;
    for c in s.nfc() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if is_unsafe(c) {
            continue;
        }
        if is_combining_mark(c) {
            if marks >= MAX_MARKS {
                continue;
            }
            marks += 1;
        } else {
            marks = 0;
        }
        let gap = space && kept > 0;
        if kept + usize::from(gap) + 1 > max_chars {
            cut = true;
            break;
        }
        if gap {
            out.push(' ');
            kept += 1;
        }
        space = false;
        out.push(c);
        kept += 1;
    }
    if cut {
        // Room for the ellipsis, and no space before it.
        while kept >= max_chars {
            out.pop();
            kept -= 1;
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('…');
    }
    out
}

/// The caller's number (or SIP user name) as [`clean`] leaves it, at most
/// [`MAX_NUMBER`] characters: short enough to read as something to dial,
/// and never a second line.
pub fn clean_number(s: &str) -> String {
    clean(s, MAX_NUMBER)
}

/// Whether `s` is already what [`clean`] makes of it with `max_chars`: no
/// unsafe character, no white space but single inner spaces, not too long.
pub fn is_clean(s: &str, max_chars: usize) -> bool {
    clean(s, max_chars) == s
}

/// Fills `{name}` in `template` from `data`; a name without a value is
/// left out, an unclosed `{` stays. Call scripts fill call data
/// (`{caller.number}`, `{ivr.account}`), mail replies their variables.
pub fn fill(template: &str, data: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open).unwrap_or(""));
        let after = rest.get(open + 1..).unwrap_or("");
        match after.find('}') {
            Some(close) => {
                let name = after.get(..close).unwrap_or("").trim();
                if let Some(v) = data.get(name) {
                    out.push_str(v);
                }
                rest = after.get(close + 1..).unwrap_or("");
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No character a caller could use to hide or reorder text.
    fn safe(s: &str) -> bool {
        !s.chars()
            .any(|c| c.is_control() || is_bidi_control(c) || is_invisible(c))
    }

    #[test]
    fn ordinary_names_and_numbers_survive_untouched() {
        for s in [
            "Õie Šmid Ёлка",
            "Mari Maasikas",
            "Jüri Ööbik-Õunapuu",
            "Иван Петров",
            "Žiga Čebašek, d.o.o.",
            "+3725551234",
            "*21#",
            "anonymous",
            "O'Brien & Sons <Ltd>",
            "الشركة",
            "株式会社",
            "👍 Pizza",
        ] {
            assert_eq!(clean(s, 200), s);
            assert!(is_clean(s, 200), "{s}");
        }
        assert_eq!(clean_number("+3725551234"), "+3725551234");
    }

    #[test]
    fn decomposed_letters_are_composed_not_dropped() {
        // "Õ" as O + combining tilde, "Š" as S + combining caron.
        assert_eq!(clean("O\u{303}ie S\u{30C}mid", 200), "Õie Šmid");
    }

    #[test]
    fn line_breaks_and_tabs_become_one_space() {
        assert_eq!(clean("Mari\nMaasikas", 200), "Mari Maasikas");
        assert_eq!(clean("Mari\r\n\r\n\t Maasikas", 200), "Mari Maasikas");
        assert_eq!(clean("a\u{b}b\u{c}c\u{85}d\u{2028}e", 200), "a b c d e");
        assert_eq!(clean("\n\t  +372 555  \r\n", 200), "+372 555");
        assert_eq!(clean("\u{a0}x\u{3000}y", 200), "x y");
    }

    #[test]
    fn escape_sequences_and_other_controls_are_removed() {
        assert_eq!(clean("\x1b[31mRED\x1b[0m", 200), "[31mRED[0m");
        assert_eq!(clean("a\0b\x07c\x7fd\u{9b}e\u{80}f", 200), "abcdef");
        assert_eq!(clean("\x1b]0;pwned\x07", 200), "]0;pwned");
        assert!(safe(&clean("\x1b\x1b\x1b", 200)));
    }

    #[test]
    fn bidi_overrides_cannot_reverse_what_the_operator_reads() {
        assert_eq!(clean("Invoice\u{202E}gnp.exe", 200), "Invoicegnp.exe");
        assert_eq!(
            clean(
                "\u{2066}\u{2067}\u{2068}x\u{2069}\u{202A}\u{202B}\u{202C}\u{202D}",
                200
            ),
            "x"
        );
        assert_eq!(clean("\u{200E}+372\u{200F}\u{61C}555", 200), "+372555");
    }

    #[test]
    fn zero_width_and_invisible_characters_are_removed() {
        assert_eq!(
            clean("+372\u{200B}555\u{200C}\u{200D}1234\u{FEFF}", 200),
            "+3725551234"
        );
        assert_eq!(clean("Ma\u{AD}ri\u{2060}\u{2064}\u{180E}", 200), "Mari");
        // Tag characters spelling "hi", Hangul fillers as a blank name.
        assert_eq!(clean("ok\u{E0068}\u{E0069}", 200), "ok");
        assert_eq!(clean("\u{3164}\u{115F}\u{FFA0}", 200), "");
        // Invisible characters between spaces do not leave two spaces.
        assert_eq!(clean("a \u{200B} b", 200), "a b");
    }

    #[test]
    fn zalgo_is_flattened() {
        let zalgo = format!("Z{}a", "\u{301}".repeat(500));
        let c = clean(&zalgo, 200);
        // NFC makes the first mark part of the letter (Ź); four more stay.
        assert_eq!(c, format!("Ź{}a", "\u{301}".repeat(MAX_MARKS)));
    }

    #[test]
    fn long_text_is_capped_with_an_ellipsis() {
        assert_eq!(clean("abcdef", 6), "abcdef");
        assert_eq!(clean("abcdefg", 6), "abcde…");
        assert_eq!(
            clean("abcd efgh", 6),
            "abcd…",
            "no space before the ellipsis"
        );
        assert_eq!(clean("Õie Šmid Ёлка", 5), "Õie…");
        assert_eq!(clean("abc", 1), "…");
        assert_eq!(clean("abc", 0), "");
        assert_eq!(clean("", 10), "");
        // The cap counts what is kept, not what came.
        assert_eq!(clean("\u{200B}\u{200B}\u{200B}abc", 3), "abc");
    }

    #[test]
    fn a_64_kb_name_costs_a_line() {
        let huge = "Ä\u{202E}\n".repeat(64 * 1024 / 5);
        let c = clean(&huge, 80);
        assert_eq!(c.chars().count(), 80);
        assert!(c.ends_with('…'));
        assert!(safe(&c));
        let n = clean_number(&"9".repeat(64 * 1024));
        assert_eq!(n.chars().count(), MAX_NUMBER);
    }

    #[test]
    fn a_hostile_corpus_comes_out_safe_and_bounded() {
        let corpus = [
            "\u{202E}1234\u{202C}5+",
            "Mari\r\nVia: SIP/2.0/UDP evil",
            "\x1b[2J\x1b[H\x1b[31mBANK\x1b[0m",
            "\u{200D}\u{200D}\u{200D}",
            "\u{FEFF}\u{FEFF}Admin",
            "line1\u{2029}line2",
            "\t\t\t",
            "%0A%1B", // still percent-encoded: harmless text
            "a\u{85}b\u{9f}c",
        ];
        for s in corpus {
            for max in [0, 1, 5, 64, 200] {
                let c = clean(s, max);
                assert!(safe(&c), "{s:?} → {c:?}");
                assert!(c.chars().count() <= max, "{s:?} → {c:?}");
                assert_eq!(c, c.trim(), "{s:?} → {c:?}");
                assert!(!c.contains("  "), "{s:?} → {c:?}");
                assert_eq!(clean(&c, max), c, "cleaning is idempotent: {s:?}");
            }
        }
    }
}
