//! Replies and forwards that thread.
//!
//! ```text
//!  Template ──fill(vars)──▶ body ─┐
//!  Message (received) ────────────┼──▶ reply / forward (mail-builder) ──▶ Outgoing { message_id, raw }
//!  from: the shared mailbox ──────┘                                        └─▶ SMTP, and APPEND to Sent
//! ```
//!
//! A reply goes to the original's Reply-To (else its From), has the subject
//! `Re: …` exactly once, `In-Reply-To` = the original's Message-ID and
//! `References` = the original's References plus its Message-ID (RFC 5322
//! §3.6.4), so every mail client files it in the same thread. The original
//! is quoted below the answer with `> ` after a localized attribution line.
//!
//! Message ids here, as in [`Message`], are written without the angle
//! brackets; mail-builder adds them in the header.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as MbAddress;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;

use crate::message::{
    Address, MAX_BODY, MAX_NAME, MAX_SUBJECT, Message, clean_body, clean_email, clean_line,
};

/// A reply template, one per id and language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Which answer this is (`order-delayed`).
    pub id: String,
    /// Language tag (`en`, `et`, `ru`, `sl`).
    pub lang: String,
    /// A subject of its own; `None` keeps `Re: ` + the original's.
    pub subject: Option<String>,
    /// The text, with `{customer.name}`, `{ticket}`, `{order}`,
    /// `{operator.name}` filled by [`fill`].
    pub body: String,
}

/// The template `id` in `lang`, else in English, else in any language.
pub fn pick<'a>(templates: &'a [Template], id: &str, lang: &str) -> Option<&'a Template> {
    let of_id = || templates.iter().filter(move |t| t.id == id);
    of_id()
        .find(|t| t.lang == lang)
        .or_else(|| of_id().find(|t| t.lang == "en"))
        .or_else(|| of_id().next())
}

/// Fills `{name}` in `template` from `vars`; a name without a value is left
/// out, an unclosed `{` stays (the rule of call scripts, shared).
pub use switchboard_text::fill;

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its Message-ID, without angle brackets (as [`Message::message_id`]).
    pub message_id: String,
    /// RFC 5322 bytes, ready for SMTP and for APPEND to Sent.
    pub raw: Vec<u8>,
}

/// The words of one language.
struct Words {
    /// Attribution with a date: `{date}`, `{name}`.
    wrote_on: &'static str,
    /// Attribution without a date: `{name}`.
    wrote: &'static str,
    forwarded: &'static str,
    from: &'static str,
    date: &'static str,
    subject: &'static str,
    to: &'static str,
}

fn words(lang: &str) -> Words {
    let base = lang
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match base.as_str() {
        "et" => Words {
            wrote_on: "{date} kirjutas {name}:",
            wrote: "{name} kirjutas:",
            forwarded: "---------- Edasi saadetud kiri ----------",
            from: "Saatja",
            date: "Kuupäev",
            subject: "Teema",
            to: "Saaja",
        },
        "ru" => Words {
            wrote_on: "{date}, {name} пишет:",
            wrote: "{name} пишет:",
            forwarded: "---------- Пересылаемое сообщение ----------",
            from: "От",
            date: "Дата",
            subject: "Тема",
            to: "Кому",
        },
        "sl" => Words {
            wrote_on: "Dne {date} je {name} napisal(a):",
            wrote: "{name} je napisal(a):",
            forwarded: "---------- Posredovano sporočilo ----------",
            from: "Od",
            date: "Datum",
            subject: "Zadeva",
            to: "Za",
        },
        _ => Words {
            wrote_on: "On {date}, {name} wrote:",
            wrote: "{name} wrote:",
            forwarded: "---------- Forwarded message ----------",
            from: "From",
            date: "Date",
            subject: "Subject",
            to: "To",
        },
    }
}

/// Prefixes that mark a reply, in the languages our customers write
/// (`Re`, German `AW`, Nordic `SV`/`VS`, Slovenian/Croatian `Odg`, Polish
/// `Odp`, Russian `Ответ`/`Отв`).
const REPLY_PREFIXES: &[&str] = &["re", "aw", "sv", "vs", "odg", "odp", "ответ", "отв"];
/// Prefixes that mark a forward.
const FORWARD_PREFIXES: &[&str] = &["fwd", "fw", "wg", "tr", "pf", "пересл"];

/// `subject` without leading prefixes from `prefixes` (`Re:`, `RE[2]:`,
/// `Re :`), repeated ones included.
fn strip_prefixes<'a>(mut subject: &'a str, prefixes: &[&str]) -> &'a str {
    loop {
        let s = subject.trim_start();
        let Some(colon) = s.find(':') else {
            return s;
        };
        let head = s.get(..colon).unwrap_or("").trim_end();
        // "Re[2]" and "Re(2)" count replies.
        let word = head
            .trim_end_matches(|c: char| c.is_ascii_digit() || matches!(c, '[' | ']' | '(' | ')'));
        if word.chars().count() > 8 || !prefixes.iter().any(|p| word.to_lowercase() == *p) {
            return s;
        }
        subject = s.get(colon + 1..).unwrap_or("");
    }
}

/// The reply's subject: `Re: ` once before the original's subject.
pub fn reply_subject(original: &str) -> String {
    let rest = strip_prefixes(original, REPLY_PREFIXES);
    clean_line(&format!("Re: {rest}"), MAX_SUBJECT)
}

/// The forward's subject: `Fwd: ` once before the original's subject.
pub fn forward_subject(original: &str) -> String {
    let rest = strip_prefixes(original, FORWARD_PREFIXES);
    clean_line(&format!("Fwd: {rest}"), MAX_SUBJECT)
}

/// `ms` since the epoch as `2026-03-10 07:15 UTC`.
fn format_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        tod / 3600,
        tod % 3600 / 60
    )
}

fn who(a: &Address) -> String {
    match (&a.name, a.email.is_empty()) {
        (Some(n), false) => format!("{n} <{}>", a.email),
        (Some(n), true) => n.clone(),
        (None, _) => a.email.clone(),
    }
}

fn attribution(original: &Message, w: &Words) -> String {
    let name = who(&original.from);
    match original.date_ms {
        Some(ms) => w
            .wrote_on
            .replace("{date}", &format_date(ms))
            .replace("{name}", &name),
        None => w.wrote.replace("{name}", &name),
    }
}

/// `text` with every line quoted (`> `, an empty line as `>`).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 20 + 2);
    for line in text.lines() {
        if line.is_empty() {
            out.push_str(">\n");
        } else {
            out.push_str("> ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A fresh Message-ID (without brackets) on the domain of `from`: the time
/// in milliseconds, this process and a per-process counter, and 64 random
/// bits from the standard library's per-process random hash keys.
pub fn new_message_id(from: &Address) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let random = std::collections::hash_map::RandomState::new().hash_one((ms, n));
    let domain = clean_email(&from.email)
        .and_then(|e| e.rsplit('@').next().map(str::to_owned))
        .unwrap_or_else(|| "switchboard.invalid".to_owned());
    format!(
        "{ms:x}.{:x}.{n:x}.{random:016x}@{domain}",
        std::process::id()
    )
}

/// An address for a header: name cleaned, address only if usable.
fn mb_address(a: &Address) -> Option<MbAddress<'static>> {
    let email = clean_email(&a.email)?;
    let name = a
        .name
        .as_deref()
        .map(|n| clean_line(n, MAX_NAME))
        .filter(|n| !n.is_empty());
    Some(MbAddress::new_address(name, email))
}

/// The Subject header's value: plain ASCII as it is, anything else as UTF-8
/// encoded words (RFC 2047). A subject holding `=?` (text that looked like
/// an encoded word to the operator) is encoded too, or the recipient would
/// decode it into something else (mail-builder would write it as it is).
fn subject_header(subject: &str) -> Raw<'static> {
    if subject.is_ascii() && !subject.contains("=?") {
        return Raw::new(subject.to_owned());
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in subject.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?utf-8?B?{}?=", base64(chunk.as_bytes())));
    }
    Raw::new(words.join(" "))
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let byte = |i: usize| u32::from(c.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= c.len() {
                let six = (n >> (18 - 6 * i)) & 63;
                s.push(char::from(T.get(six as usize).copied().unwrap_or(b'A')));
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn finish(builder: MessageBuilder<'_>, message_id: String) -> Outgoing {
    let raw = builder
        .write_to_vec()
        .expect("writing a mail into a Vec cannot fail");
    Outgoing { message_id, raw }
}

/// A reply to `original` from `from` (the shared mailbox): To = the
/// original's [`Message::reply_address`], Subject `Re: …` (once),
/// In-Reply-To and References threading it, a new Message-ID on the
/// domain of `from`, `body` first and the original quoted below an
/// attribution line in `lang` (`en`, `et`, `ru`, `sl`; others get English).
pub fn reply(original: &Message, from: &Address, body: &str, lang: &str) -> Outgoing {
    let w = words(lang);
    let message_id = new_message_id(from);
    let (body, _) = clean_body(body, MAX_BODY);
    let text = format!(
        "{body}\n\n{}\n{}",
        attribution(original, &w),
        quote(&original.text)
    );

    let mut b = MessageBuilder::new()
        .message_id(MessageId::new(message_id.clone()))
        .date(Date::new(now_secs()))
        .header("Subject", subject_header(&reply_subject(&original.subject)))
        .text_body(text);
    if let Some(f) = mb_address(from) {
        b = b.from(f);
    }
    if let Some(to) = mb_address(original.reply_address()) {
        b = b.to(to);
    }
    if let Some(id) = &original.message_id {
        b = b.in_reply_to(MessageId::new(id.clone()));
        let mut refs = original.references.clone();
        if refs.last() != Some(id) {
            refs.push(id.clone());
        }
        b = b.references(MessageId::new_list(refs.into_iter()));
    } else if !original.references.is_empty() {
        b = b.references(MessageId::new_list(original.references.clone().into_iter()));
    }
    finish(b, message_id)
}

/// A forward of `original` to `to` (an internal address) from `from`: the
/// operator's `note` first, then the original's headers and text, and the
/// original's attachments attached (decoded again from `raw`). An
/// attachment that cannot be read from `raw` is named in the text instead.
pub fn forward(
    original: &Message,
    raw: &[u8],
    from: &Address,
    to: &Address,
    note: &str,
    lang: &str,
) -> Outgoing {
    let w = words(lang);
    let message_id = new_message_id(from);
    let (note, _) = clean_body(note, MAX_BODY);
    let mut text = format!(
        "{note}\n\n{}\n{}: {}\n",
        w.forwarded,
        w.from,
        who(&original.from)
    );
    if let Some(ms) = original.date_ms {
        text.push_str(&format!("{}: {}\n", w.date, format_date(ms)));
    }
    text.push_str(&format!("{}: {}\n", w.subject, original.subject));
    if !original.to.is_empty() {
        let to: Vec<String> = original.to.iter().map(who).collect();
        text.push_str(&format!("{}: {}\n", w.to, to.join(", ")));
    }
    text.push('\n');
    text.push_str(&original.text);

    let bytes = original.all_attachment_bytes(raw);
    let mut missing = Vec::new();
    let mut attachments = Vec::new();
    for (a, data) in original.attachments.iter().zip(bytes) {
        match data {
            Some(data) => attachments.push((a.mime.clone(), a.name.clone(), data)),
            None => missing.push(a.name.clone()),
        }
    }
    if !missing.is_empty() {
        text.push_str(&format!("\n\n[not attached: {}]", missing.join(", ")));
    }

    let mut b = MessageBuilder::new()
        .message_id(MessageId::new(message_id.clone()))
        .date(Date::new(now_secs()))
        .header(
            "Subject",
            subject_header(&forward_subject(&original.subject)),
        )
        .text_body(text);
    if let Some(f) = mb_address(from) {
        b = b.from(f);
    }
    if let Some(t) = mb_address(to) {
        b = b.to(t);
    }
    for (mime, name, data) in attachments {
        b = b.attachment(mime, name, data);
    }
    finish(b, message_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse;
    use std::collections::BTreeMap;

    fn mailbox() -> Address {
        Address {
            name: Some("Pood OÜ tugi".to_owned()),
            email: "tugi@pood.ee".to_owned(),
        }
    }

    const ORIGINAL: &[u8] = b"From: =?utf-8?q?Mari_Maasikas?= <mari@example.ee>\r\n\
Reply-To: Mari at work <mari.maasikas@firma.ee>\r\n\
To: tugi@pood.ee\r\n\
Subject: =?utf-8?q?Re=3A_RE=3A_Tellimus_=C3=B5unapuu?=\r\n\
Date: Tue, 10 Mar 2026 09:15:00 +0200\r\n\
Message-ID: <m2@example.ee>\r\n\
In-Reply-To: <m1@pood.ee>\r\n\
References: <m0@example.ee> <m1@pood.ee>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Kus mu tellimus on?\r\n\
\r\n\
Mari\r\n";

    #[test]
    fn a_reply_threads_and_parses_back() {
        let original = parse(ORIGINAL);
        let out = reply(
            &original,
            &mailbox(),
            "Tere Mari!\nSaadetis on teel. Žiga",
            "et",
        );
        let back = parse(&out.raw);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        assert_eq!(back.message_id.as_deref(), Some(out.message_id.as_str()));
        assert!(out.message_id.ends_with("@pood.ee"), "{}", out.message_id);
        assert_eq!(back.in_reply_to.as_deref(), Some("m2@example.ee"));
        assert_eq!(
            back.references,
            ["m0@example.ee", "m1@pood.ee", "m2@example.ee"]
        );
        assert_eq!(back.subject, "Re: Tellimus õunapuu");
        assert_eq!(back.to.len(), 1);
        assert_eq!(back.to[0].email, "mari.maasikas@firma.ee", "Reply-To wins");
        assert_eq!(back.from.email, "tugi@pood.ee");
        assert_eq!(back.from.name.as_deref(), Some("Pood OÜ tugi"));
        assert!(back.date_ms.is_some());
        assert_eq!(
            back.text,
            "Tere Mari!\nSaadetis on teel. Žiga\n\n\
2026-03-10 07:15 UTC kirjutas Mari Maasikas <mari@example.ee>:\n\
> Kus mu tellimus on?\n>\n> Mari"
        );
        // The subject left the building encoded, not as raw 8-bit.
        let head = String::from_utf8_lossy(&out.raw);
        let subject_line = head
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap_or("");
        assert!(subject_line.is_ascii(), "{subject_line}");
    }

    #[test]
    fn a_reply_without_reply_to_goes_to_from_and_ids_are_unique() {
        let raw = b"From: Ivan <ivan@example.ru>\r\nSubject: Vopros\r\nMessage-ID: <r1@example.ru>\r\n\r\nPrivet";
        let original = parse(raw);
        let a = reply(&original, &mailbox(), "Otvet", "ru");
        let b = reply(&original, &mailbox(), "Otvet", "ru");
        assert_ne!(a.message_id, b.message_id);
        let back = parse(&a.raw);
        assert_eq!(back.to[0].email, "ivan@example.ru");
        assert_eq!(back.subject, "Re: Vopros");
        assert_eq!(back.references, ["r1@example.ru"]);
        assert!(
            back.text
                .ends_with("Ivan <ivan@example.ru> пишет:\n> Privet"),
            "{}",
            back.text
        );
    }

    #[test]
    fn a_subject_that_looks_encoded_is_sent_as_seen() {
        // Found by the mime_parse fuzzer: cleaning turned a broken encoded
        // word into a valid-looking one, which went out as plain ASCII and
        // came back decoded ("Re: Re: õun").
        let raw = b"From: a@b.ee\r\nMessage-ID: <x@b.ee>\r\nSubject: =?utf-8?\x03q?Re=3A_=C3=B5un?=\r\n\r\nhi";
        let m = parse(raw);
        assert_eq!(m.subject, "=?utf-8?q?Re=3A_=C3=B5un?=");
        let back = parse(&reply(&m, &mailbox(), "ok", "en").raw);
        assert_eq!(back.subject, "Re: =?utf-8?q?Re=3A_=C3=B5un?=");
        let long = "Kõik on hästi ".repeat(10);
        let back = parse(
            &reply(
                &parse(format!("From: a@b.ee\r\nSubject: {long}\r\n\r\nx").as_bytes()),
                &mailbox(),
                "ok",
                "en",
            )
            .raw,
        );
        assert_eq!(back.subject, format!("Re: {}", long.trim()));
        assert_eq!(base64(b"Ma"), "TWE=");
    }

    #[test]
    fn subjects_get_one_prefix() {
        assert_eq!(reply_subject("Re: Re: RE[2]: AW: x"), "Re: x");
        assert_eq!(reply_subject("Odg: Račun"), "Re: Račun");
        assert_eq!(reply_subject("Ответ: заказ"), "Re: заказ");
        assert_eq!(reply_subject("Fwd: x"), "Re: Fwd: x");
        assert_eq!(reply_subject("Meeting: 10:00"), "Re: Meeting: 10:00");
        assert_eq!(reply_subject(""), "Re:");
        assert_eq!(forward_subject("Fwd: FW: x"), "Fwd: x");
    }

    #[test]
    fn attribution_in_each_language() {
        let m = parse(ORIGINAL);
        let line = |lang| attribution(&m, &words(lang));
        assert_eq!(
            line("en"),
            "On 2026-03-10 07:15 UTC, Mari Maasikas <mari@example.ee> wrote:"
        );
        assert_eq!(
            line("sl"),
            "Dne 2026-03-10 07:15 UTC je Mari Maasikas <mari@example.ee> napisal(a):"
        );
        assert_eq!(
            line("ru-RU"),
            "2026-03-10 07:15 UTC, Mari Maasikas <mari@example.ee> пишет:"
        );
        assert_eq!(line("xx"), line("en"));
        assert_eq!(format_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_date(951_782_400_000), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn a_hostile_reply_address_never_injects_headers() {
        let mut m = parse(ORIGINAL);
        m.reply_to = Some(Address {
            name: Some("x\r\nBcc: all@evil".to_owned()),
            email: "a@b.ee>\r\nBcc: all@evil.com".to_owned(),
        });
        let out = reply(&m, &mailbox(), "hi", "en");
        let back = parse(&out.raw);
        assert!(!String::from_utf8_lossy(&out.raw).contains("Bcc:"));
        assert!(
            back.to.is_empty(),
            "an unusable address is left out: {:?}",
            back.to
        );
    }

    #[test]
    fn a_forward_puts_the_note_first_and_attaches_the_files() {
        let raw = b"From: Mari <mari@example.ee>\r\nTo: tugi@pood.ee\r\nSubject: Arve\r\nMessage-ID: <f1@example.ee>\r\n\
Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nArve on lisatud.\r\n\
--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"arve 12.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJeLjz9MK\r\n--B--\r\n";
        let original = parse(raw);
        assert_eq!(original.attachments.len(), 1);
        let to = Address {
            name: None,
            email: "raamatupidamine@pood.ee".to_owned(),
        };
        let out = forward(&original, raw, &mailbox(), &to, "Palun vaadake üle.", "et");
        let back = parse(&out.raw);
        assert_eq!(back.subject, "Fwd: Arve");
        assert_eq!(back.to[0].email, "raamatupidamine@pood.ee");
        assert!(back.text.starts_with("Palun vaadake üle.\n\n---------- Edasi saadetud kiri ----------\nSaatja: Mari <mari@example.ee>\n"), "{}", back.text);
        assert!(back.text.ends_with("Arve on lisatud."), "{}", back.text);
        assert_eq!(back.attachments.len(), 1);
        let a = &back.attachments[0];
        assert_eq!(
            (a.name.as_str(), a.mime.as_str()),
            ("arve 12.pdf", "application/pdf")
        );
        assert_eq!(
            back.attachment_bytes(&out.raw, a).as_deref(),
            Some(&b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"[..])
        );
    }

    #[test]
    fn fill_variables() {
        let vars = BTreeMap::from([
            ("customer.name".to_owned(), "Mari".to_owned()),
            ("ticket".to_owned(), "T-42".to_owned()),
            ("operator.name".to_owned(), "Jüri".to_owned()),
        ]);
        assert_eq!(
            fill(
                "Tere {customer.name}! Pilet {ticket}, tellimus {order}. {operator.name}",
                &vars
            ),
            "Tere Mari! Pilet T-42, tellimus . Jüri"
        );
        assert_eq!(fill("{ ticket } {", &vars), "T-42 {");
        let ts = [
            Template {
                id: "late".into(),
                lang: "en".into(),
                subject: None,
                body: "Sorry".into(),
            },
            Template {
                id: "late".into(),
                lang: "et".into(),
                subject: None,
                body: "Vabandust".into(),
            },
        ];
        assert_eq!(
            pick(&ts, "late", "et").map(|t| t.body.as_str()),
            Some("Vabandust")
        );
        assert_eq!(
            pick(&ts, "late", "sl").map(|t| t.body.as_str()),
            Some("Sorry")
        );
        assert!(pick(&ts, "other", "en").is_none());
    }
}
