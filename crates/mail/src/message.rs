//! A received mail as the desk shows it.
//!
//! ```text
//!  raw RFC 5322 ──▶ mail-parser ──▶ headers cleaned ──▶ body: text/plain, else HTML made text ──▶ Message
//!                                                      └─▶ attachments listed (name, type, size), bytes on request
//! ```
//!
//! Everything in a mail is written by whoever sent it and is hostile until
//! cleaned, like caller text in the desk (`switchboard_desk::caller_text`):
//! control, bidi and invisible characters go, header values become one line
//! and are capped ([`MAX_SUBJECT`], [`MAX_NAME`]), the body keeps its line
//! breaks but nothing else that could move or hide what follows, and is
//! capped at [`MAX_BODY`] characters. HTML is never rendered: [`html_to_text`]
//! turns it into plain text, images become `[image: alt]` and nothing remote
//! is ever fetched.
//!
//! [`parse`] never fails: an empty input, garbage, a broken boundary, a
//! truncated base64 part or a charset we cannot decode all still give a
//! [`Message`], with what went wrong in [`Message::warnings`].
//!
//! Attachments are only listed; their bytes are decoded again from the raw
//! mail when the operator asks to save one ([`Message::attachment_bytes`]),
//! so a 20 MB attachment is not kept twice in the desk's memory.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Encoding, MessageParser, MessagePart, MimeHeaders, PartType};

/// Longest subject shown, in characters.
pub const MAX_SUBJECT: usize = 300;
/// Longest display name (and attachment name) shown, in characters.
pub const MAX_NAME: usize = 120;
/// Longest body shown, in characters; a longer one is cut with a warning.
pub const MAX_BODY: usize = 200_000;
/// Longest e-mail address kept (RFC 5321: 64 + 1 + 255, rounded).
pub const MAX_EMAIL: usize = 320;
/// Longest Message-ID kept (RFC 5322 lines are at most 998 octets).
pub const MAX_ID: usize = 250;
/// Most recipients listed in [`Message::to`].
pub const MAX_RECIPIENTS: usize = 100;
/// Most attachments listed.
pub const MAX_ATTACHMENTS: usize = 1000;
/// Most warnings kept (each only once).
pub const MAX_WARNINGS: usize = 32;

/// A mailbox: an optional display name and an address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// The display name, cleaned; `None` when absent or empty.
    pub name: Option<String>,
    /// The address, kept only when it is a plain `local@domain` without white
    /// space, controls or `<>`; empty when the mail had none we could use.
    pub email: String,
}

impl Address {
    /// The name to show: the display name, else the address.
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.email)
    }
}

/// One attachment as listed to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name, cleaned: one line, no path separators, no leading dot;
    /// `attachment-N.ext` when the mail gave none.
    pub name: String,
    /// The media type, lower case (`application/pdf`).
    pub mime: String,
    /// Decoded size in bytes.
    pub size: usize,
    /// Index of the part in mail-parser's part list of the same raw mail.
    index: usize,
}

/// A received mail, cleaned for the desk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Message-ID without the angle brackets.
    pub message_id: Option<String>,
    /// The first In-Reply-To id, without angle brackets.
    pub in_reply_to: Option<String>,
    /// References, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The sender (empty when the mail had no usable From).
    pub from: Address,
    /// Reply-To, when present and usable.
    pub reply_to: Option<Address>,
    /// The To recipients (at most [`MAX_RECIPIENTS`]).
    pub to: Vec<Address>,
    /// The subject, one clean line of at most [`MAX_SUBJECT`] characters.
    pub subject: String,
    /// The Date header as milliseconds since the Unix epoch (UTC).
    pub date_ms: Option<i64>,
    /// The body as safe plain text (at most [`MAX_BODY`] characters).
    pub text: String,
    /// Whether [`Message::text`] was made from HTML (the mail had no text/plain).
    pub html_only: bool,
    /// Attachments, in the order of the mail.
    pub attachments: Vec<Attachment>,
    /// What was wrong with the mail, for the operator and the log.
    pub warnings: Vec<String>,
}

impl Message {
    /// The decoded bytes of `a`, read again from `raw` (the same bytes that
    /// were given to [`parse`]); `None` when `raw` does not hold that
    /// attachment (another mail, or a different size).
    pub fn attachment_bytes(&self, raw: &[u8], a: &Attachment) -> Option<Vec<u8>> {
        let m = MessageParser::default().parse(raw)?;
        let index = u32::try_from(a.index).ok()?;
        if !m.attachments.contains(&index) {
            return None;
        }
        let part = m.parts.get(a.index)?;
        let bytes = part_bytes(raw, part)?;
        (bytes.len() == a.size).then_some(bytes)
    }

    /// The decoded bytes of every attachment, in the order of
    /// [`Message::attachments`], from one parse of `raw` (for forwarding).
    pub(crate) fn all_attachment_bytes(&self, raw: &[u8]) -> Vec<Option<Vec<u8>>> {
        let m = MessageParser::default().parse(raw);
        self.attachments
            .iter()
            .map(|a| {
                let part = m.as_ref()?.parts.get(a.index)?;
                part_bytes(raw, part).filter(|b| b.len() == a.size)
            })
            .collect()
    }

    /// Where a reply goes: Reply-To when the mail had one, else From.
    pub fn reply_address(&self) -> &Address {
        self.reply_to.as_ref().unwrap_or(&self.from)
    }
}

/// Parses a raw mail. Never fails and never panics: what could not be read
/// is described in [`Message::warnings`].
pub fn parse(raw: &[u8]) -> Message {
    let mut msg = Message::default();
    if raw.is_empty() {
        msg.warnings.push("empty message".to_owned());
        return msg;
    }
    let Some(m) = MessageParser::default().parse(raw) else {
        msg.warnings
            .push("no headers found: the whole input is shown as text".to_owned());
        set_body(&mut msg, &String::from_utf8_lossy(raw));
        return msg;
    };

    read_headers(&m, &mut msg);
    check_structure(raw, &m, &mut msg);

    // The body: the text/plain parts mail-parser chose, else the HTML ones.
    let mut text = String::new();
    let mut from_html = false;
    let mut from_plain = false;
    let mut ids: Vec<u32> = m.text_body.clone();
    if ids.is_empty() {
        ids.clone_from(&m.html_body);
    }
    for id in ids {
        let Some(part) = m.parts.get(id as usize) else {
            continue;
        };
        check_charset(part, id, &mut msg.warnings);
        let piece = match &part.body {
            PartType::Text(t) => {
                from_plain = true;
                t.to_string()
            }
            PartType::Html(h) => {
                from_html = true;
                html_to_text(h)
            }
            _ => continue,
        };
        if !text.is_empty() && !piece.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&piece);
        if text.len() > MAX_BODY.saturating_mul(4) {
            break;
        }
    }
    if !from_plain && !from_html && m.attachments.is_empty() {
        msg.warnings.push("no text body".to_owned());
    }
    msg.html_only = from_html && !from_plain;
    set_body(&mut msg, &text);

    for (n, &id) in m.attachments.iter().enumerate() {
        let Some(part) = m.parts.get(id as usize) else {
            continue;
        };
        if msg.attachments.len() >= MAX_ATTACHMENTS {
            msg.warnings.push(format!(
                "more than {MAX_ATTACHMENTS} attachments: the rest are not listed"
            ));
            break;
        }
        if let Some(a) = attachment(raw, part, id as usize, n + 1) {
            msg.attachments.push(a);
        } else {
            msg.warnings
                .push(format!("attachment {} unreadable", n + 1));
        }
    }
    tidy_warnings(&mut msg.warnings);
    msg
}

/// Each warning once, at most [`MAX_WARNINGS`] of them.
fn tidy_warnings(w: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    w.retain(|x| seen.insert(x.clone()));
    if w.len() > MAX_WARNINGS {
        let more = w.len() - (MAX_WARNINGS - 1);
        w.truncate(MAX_WARNINGS - 1);
        w.push(format!("… and {more} more warnings"));
    }
}

fn set_body(msg: &mut Message, text: &str) {
    let (body, cut) = clean_body(text, MAX_BODY);
    if cut {
        msg.warnings
            .push(format!("body cut at {MAX_BODY} characters"));
    }
    msg.text = body;
}

fn read_headers(m: &mail_parser::Message<'_>, msg: &mut Message) {
    match m.from().and_then(|a| a.first()) {
        Some(a) => match address(a) {
            Some(a) => msg.from = a,
            None => msg.warnings.push("From has no usable address".to_owned()),
        },
        None => msg.warnings.push("no From".to_owned()),
    }
    if let Some(a) = m.reply_to().and_then(|a| a.first()) {
        match address(a) {
            Some(a) if !a.email.is_empty() => msg.reply_to = Some(a),
            _ => msg
                .warnings
                .push("Reply-To has no usable address; replies go to From".to_owned()),
        }
    }
    if let Some(to) = m.to() {
        for a in to.iter().filter_map(address) {
            if msg.to.len() >= MAX_RECIPIENTS {
                msg.warnings
                    .push(format!("more than {MAX_RECIPIENTS} recipients in To"));
                break;
            }
            msg.to.push(a);
        }
    }
    msg.subject = clean_line(m.subject().unwrap_or(""), MAX_SUBJECT);
    if msg.subject.contains('\u{FFFD}') {
        msg.warnings
            .push("subject has characters that could not be decoded".to_owned());
    }
    match m.date() {
        Some(d) => msg.date_ms = d.to_timestamp().checked_mul(1000),
        None if m.header_raw("Date").is_some() => {
            msg.warnings.push("Date not understood".to_owned())
        }
        None => msg.warnings.push("no Date".to_owned()),
    }
    match m.message_id() {
        Some(id) => match clean_id(id) {
            Some(id) => msg.message_id = Some(id),
            None => msg.warnings.push("Message-ID not usable".to_owned()),
        },
        None => msg
            .warnings
            .push("no Message-ID: replies cannot refer to it".to_owned()),
    }
    msg.in_reply_to = ids(m.in_reply_to()).into_iter().next();
    msg.references = ids(m.references());
}

/// Message ids of an In-Reply-To or References header, cleaned.
fn ids(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match v {
        mail_parser::HeaderValue::Text(t) => vec![t.as_ref()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|s| s.as_ref()).collect(),
        _ => Vec::new(),
    };
    // A thread of more than a hundred mails keeps its first and last ones.
    let mut out: Vec<String> = list.into_iter().filter_map(clean_id).collect();
    if out.len() > 100 {
        out.drain(1..out.len() - 99);
    }
    out
}

/// A message id kept only if it is one harmless token: RFC 5322 `atext`,
/// `.`, `@`, `[`, `]` and non-ASCII letters (RFC 6532), nothing that could
/// end it, comment it or split a header.
fn clean_id(id: &str) -> Option<String> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_ID
        && id.chars().all(|c| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.@[]".contains(c)
            } else {
                !c.is_whitespace() && !is_unsafe(c)
            }
        });
    ok.then(|| id.to_owned())
}

/// A mailbox address usable in a header we write: no white space,
/// controls, bidi or invisible characters, nothing that ends or splits an
/// address, exactly one `@` with text on both sides.
pub(crate) fn clean_email(e: &str) -> Option<String> {
    let e = e.trim();
    let ok = e.chars().count() <= MAX_EMAIL
        && e.chars().all(|c| {
            !c.is_whitespace()
                && !is_unsafe(c)
                && !matches!(
                    c,
                    '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '\\' | '[' | ']'
                )
        })
        && e.matches('@').count() == 1
        && e.split('@').all(|s| !s.is_empty());
    ok.then(|| e.to_owned())
}

fn address(a: &mail_parser::Addr<'_>) -> Option<Address> {
    let name = a
        .name()
        .map(|n| clean_line(n, MAX_NAME))
        .filter(|n| !n.is_empty());
    let email = a.address().and_then(clean_email);
    match (name, email) {
        (None, None) => None,
        (name, email) => Some(Address {
            name,
            email: email.unwrap_or_default(),
        }),
    }
}

/// Warnings for multipart containers whose boundary is missing or never
/// closed (a broken or truncated mail).
fn check_structure(raw: &[u8], m: &mail_parser::Message<'_>, msg: &mut Message) {
    // Each check reads the whole mail: a few are enough to tell a broken
    // mail, and ten thousand nested multiparts cost no more than eight.
    let mut checks = 8usize;
    for part in &m.parts {
        if let Some(ct) = part.content_type()
            && ct.ctype().eq_ignore_ascii_case("multipart")
            && checks > 0
        {
            checks -= 1;
            match ct.attribute("boundary") {
                None => msg
                    .warnings
                    .push("multipart without a boundary: shown as one part".to_owned()),
                Some(b) => {
                    let open = format!("--{b}");
                    let close = format!("--{b}--");
                    if find(raw, open.as_bytes()).is_none() {
                        msg.warnings
                            .push("multipart boundary never found: shown as one part".to_owned());
                    } else if find(raw, close.as_bytes()).is_none() {
                        msg.warnings
                            .push("multipart not closed: the mail may be truncated".to_owned());
                    }
                }
            }
        }
        if part.is_encoding_problem {
            msg.warnings
                .push("a part is badly encoded (truncated base64 or quoted-printable?): shown as far as it could be read".to_owned());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(p) = hay.get(from..)?.iter().position(|&b| b == first) {
        let at = from + p;
        if hay.get(at + 1..at + 1 + rest.len()) == Some(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A warning when a text part's charset is unknown or not fully decoded.
fn check_charset(part: &MessagePart<'_>, id: u32, warnings: &mut Vec<String>) {
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .unwrap_or("");
    let shown = clean_line(charset, 40);
    let known = charset.is_empty()
        || charset.eq_ignore_ascii_case("utf-8")
        || charset.eq_ignore_ascii_case("utf8")
        || charset.eq_ignore_ascii_case("us-ascii")
        || charset_decoder(charset.as_bytes()).is_some();
    if !known {
        warnings.push(format!(
            "part {id}: unknown charset \"{shown}\", shown as UTF-8 (best effort)"
        ));
    } else if let PartType::Text(t) | PartType::Html(t) = &part.body
        && t.contains('\u{FFFD}')
    {
        warnings.push(format!(
            "part {id}: some characters could not be decoded (charset \"{shown}\")"
        ));
    }
}

/// The decoded bytes of one part: binary parts as mail-parser decoded them,
/// text and nested mails decoded again from `raw` so that they are the bytes
/// that were sent (not re-encoded as UTF-8).
fn part_bytes(raw: &[u8], part: &MessagePart<'_>) -> Option<Vec<u8>> {
    match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => Some(b.to_vec()),
        PartType::Text(_) | PartType::Html(_) | PartType::Message(_) => {
            let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
            match part.encoding {
                Encoding::Base64 => base64_decode(body),
                Encoding::QuotedPrintable => quoted_printable_decode(body),
                Encoding::None => Some(body.to_vec()),
            }
        }
        PartType::Multipart(_) => None,
    }
}

fn part_size(raw: &[u8], part: &MessagePart<'_>) -> Option<usize> {
    match &part.body {
        PartType::Binary(b) | PartType::InlineBinary(b) => Some(b.len()),
        _ => part_bytes(raw, part).map(|b| b.len()),
    }
}

fn attachment(raw: &[u8], part: &MessagePart<'_>, index: usize, n: usize) -> Option<Attachment> {
    let size = part_size(raw, part)?;
    let mime = match part.content_type() {
        Some(ct) => {
            let t = match ct.subtype() {
                Some(s) => format!("{}/{}", ct.ctype(), s),
                None => ct.ctype().to_owned(),
            };
            clean_line(&t, 100).to_ascii_lowercase()
        }
        None => match part.body {
            PartType::Text(_) => "text/plain".to_owned(),
            PartType::Html(_) => "text/html".to_owned(),
            PartType::Message(_) => "message/rfc822".to_owned(),
            _ => "application/octet-stream".to_owned(),
        },
    };
    let name = part
        .attachment_name()
        .map(clean_file_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("attachment-{n}.{}", extension(&mime)));
    Some(Attachment {
        name,
        mime,
        size,
        index,
    })
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "message/rfc822" => "eml",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// A file name safe to offer for saving: one clean line, path separators
/// and drive colons replaced, no leading dots (no `..`, no hidden file).
pub fn clean_file_name(name: &str) -> String {
    let flat: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let c = clean_line(&flat, MAX_NAME);
    c.trim_start_matches(['.', ' ']).to_owned()
}

// ---------------------------------------------------------------------------
// Cleaning: the rule callers' names get at the desk (`switchboard_text`),
// for headers; `clean_body` below keeps a body's lines with the same
// character rules.

pub use switchboard_text::{
    MAX_MARKS, clean as clean_line, is_bidi_control, is_combining_mark, is_invisible, is_unsafe,
};

/// A body as safe multi-line text of at most `max_chars` characters, and
/// whether it was cut: line breaks (CR LF, CR, LF, and the Unicode line and
/// paragraph separators) become `\n`, tabs stay, other white space becomes
/// a space, unsafe characters go, trailing spaces on a line go, at most two
/// empty lines in a row, ends trimmed.
pub fn clean_body(s: &str, max_chars: usize) -> (String, bool) {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    let mut kept = 0usize;
    let mut marks = 0usize;
    let mut newlines = 0usize; // newlines owed before the next visible char
    let mut spaces = String::new(); // white space owed on the current line
    let mut cut = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                '\n'
            }
            '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => '\n',
            c => c,
        };
        if c == '\n' {
            spaces.clear();
            newlines += 1;
            continue;
        }
        if c.is_whitespace() {
            spaces.push(if c == '\t' { '\t' } else { ' ' });
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
        let lead = if kept == 0 {
            spaces.clear();
            0
        } else {
            newlines.min(3)
        };
        let need = lead + spaces.chars().count() + 1;
        if kept + need > max_chars {
            cut = true;
            break;
        }
        for _ in 0..lead {
            out.push('\n');
        }
        if lead > 0 && kept == 0 {
            spaces.clear();
        }
        out.push_str(&spaces);
        kept += need;
        spaces.clear();
        newlines = 0;
        out.push(c);
    }
    if cut {
        while kept >= max_chars && out.pop().is_some() {
            kept -= 1;
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('…');
    }
    (out, cut)
}

// ---------------------------------------------------------------------------
// HTML

/// Elements whose content is never shown.
const SKIPPED: &[&str] = &[
    "script", "style", "head", "title", "template", "svg", "object", "noscript",
];

/// Elements that stand on lines of their own.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "main",
    "nav",
    "ol",
    "pre",
    "section",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
];

/// Blocks followed by an empty line.
const PARAGRAPHS: &[&str] = &["p", "h1", "h2", "h3", "h4", "h5", "h6", "hr"];

/// An HTML body as safe plain text: tags dropped, block elements become line
/// breaks, list items start with "– ", links keep their text and show their
/// URL in brackets, entities decoded (the common named ones and numeric),
/// scripts and styles dropped, images never loaded (shown as
/// `[image: alt]`); nothing remote is ever fetched.
///
/// ```
/// use switchboard_mail::message::html_to_text;
/// assert_eq!(
///     html_to_text("<p>Tere <b>Mari</b> &amp; co</p><ul><li>üks<li>kaks</ul>"),
///     "Tere Mari & co\n\n– üks\n– kaks"
/// );
/// ```
pub fn html_to_text(html: &str) -> String {
    let mut out = Out::default();
    let mut rest = html;
    let mut link: Option<(String, usize)> = None; // href, where its text starts
    let mut pre = 0usize;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            out.text(&decode_entities(rest), pre > 0);
            break;
        };
        out.text(&decode_entities(rest.get(..lt).unwrap_or("")), pre > 0);
        rest = rest.get(lt..).unwrap_or("");
        // Comments, doctype, processing instructions.
        if rest.starts_with("<!--") {
            rest = rest
                .get(4..)
                .and_then(|r| r.find("-->").and_then(|e| r.get(e + 3..)))
                .unwrap_or("");
            continue;
        }
        let after = rest.get(1..).unwrap_or("");
        let closing = after.starts_with('/');
        let name_start = if closing {
            after.get(1..).unwrap_or("")
        } else {
            after
        };
        let name_len = name_start
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name_start.len());
        if name_len == 0 && !after.starts_with('!') && !after.starts_with('?') {
            // A lone '<' is text.
            out.text("<", pre > 0);
            rest = after;
            continue;
        }
        let name = name_start
            .get(..name_len)
            .unwrap_or("")
            .to_ascii_lowercase();
        let (attrs, next) = tag_end(name_start.get(name_len..).unwrap_or(""));
        rest = next;
        if after.starts_with('!') || after.starts_with('?') {
            continue;
        }
        let name = name.as_str();
        if !closing && SKIPPED.contains(&name) {
            rest = skip_element(rest, name);
            continue;
        }
        match (name, closing) {
            ("br", _) => out.newline(1),
            ("li", false) => {
                out.newline(1);
                out.raw("– ");
            }
            ("li", true) => out.newline(1),
            ("td" | "th", false) => out.space(),
            ("img", false) => {
                let alt = attr(attrs, "alt").map(|a| clean_line(&a, MAX_NAME));
                match alt.filter(|a| !a.is_empty()) {
                    Some(alt) => out.inline(&format!("[image: {alt}]")),
                    None => out.inline("[image]"),
                }
            }
            ("a", false) => {
                link = attr(attrs, "href").map(|h| (h, out.s.len()));
            }
            ("a", true) => {
                if let Some((href, start)) = link.take() {
                    let text = out.s.get(start..).unwrap_or("").trim().to_owned();
                    if let Some(url) = shown_url(&href)
                        && url != text
                        && url.strip_prefix("mailto:") != Some(text.as_str())
                    {
                        out.inline(&format!("[{url}]"));
                    }
                }
            }
            ("pre", false) => {
                out.newline(1);
                pre += 1;
            }
            ("pre", true) => {
                pre = pre.saturating_sub(1);
                out.newline(1);
            }
            (n, _) if PARAGRAPHS.contains(&n) => out.newline(2),
            (n, _) if BLOCKS.contains(&n) => out.newline(1),
            _ => {}
        }
    }
    clean_body(&out.s, usize::MAX).0
}

/// A link's target as shown: only web, mail and phone links (never
/// `javascript:` or `data:`), cleaned, at most 500 characters.
fn shown_url(href: &str) -> Option<String> {
    let h = href.trim();
    let lower = h.get(..h.len().min(10)).unwrap_or("").to_ascii_lowercase();
    let ok = ["http://", "https://", "mailto:", "tel:", "ftp://"]
        .iter()
        .any(|p| lower.starts_with(p));
    let url = clean_line(h, 500);
    (ok && !url.is_empty()).then_some(url)
}

/// The attribute text of a tag and what follows its `>` (quoted values may
/// hold `>`).
fn tag_end(s: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return (s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")),
            _ => {}
        }
    }
    (s, "")
}

/// What follows `</name …>`, case-insensitively; the end of the input when
/// the element is never closed.
fn skip_element<'a>(s: &'a str, name: &str) -> &'a str {
    let mut from = 0;
    while let Some(p) = s.get(from..).and_then(|r| r.find("</")) {
        let at = from + p + 2;
        let tag = s.get(at..at + name.len());
        if tag.is_some_and(|t| t.eq_ignore_ascii_case(name)) {
            return tag_end(s.get(at + name.len()..).unwrap_or("")).1;
        }
        from = at;
    }
    ""
}

/// The value of attribute `name` in a tag's attribute text, entities decoded.
fn attr(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_len = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let key = rest.get(..key_len).unwrap_or("");
        rest = rest.get(key_len..).unwrap_or("").trim_start();
        let mut value = "";
        if let Some(r) = rest.strip_prefix('=') {
            let r = r.trim_start();
            match r.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = r.get(1..).unwrap_or("");
                    let end = body.find(q).unwrap_or(body.len());
                    value = body.get(..end).unwrap_or("");
                    rest = body.get(end + 1..).unwrap_or("");
                }
                _ => {
                    let end = r.find(char::is_whitespace).unwrap_or(r.len());
                    value = r.get(..end).unwrap_or("");
                    rest = r.get(end..).unwrap_or("");
                }
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value));
        }
        if key_len == 0 {
            // Cannot happen after trimming, but never loop forever.
            rest = rest.get(1..).unwrap_or("");
        }
    }
}

/// Text being built from HTML: white space collapsed outside `<pre>`,
/// line breaks only where blocks want them.
#[derive(Default)]
struct Out {
    s: String,
    space: bool,
    /// Line breaks owed before the next text (1 or 2).
    breaks: usize,
}

impl Out {
    fn flush(&mut self) {
        if self.s.is_empty() {
            self.breaks = 0;
            self.space = false;
            return;
        }
        if self.breaks > 0 {
            let have = self.s.len() - self.s.trim_end_matches('\n').len();
            let trimmed = self.s.trim_end_matches([' ', '\t']).len();
            self.s.truncate(trimmed);
            for _ in have..self.breaks {
                self.s.push('\n');
            }
            self.breaks = 0;
            self.space = false;
        } else if self.space {
            if !self.s.ends_with(['\n', ' ']) {
                self.s.push(' ');
            }
            self.space = false;
        }
    }

    fn text(&mut self, t: &str, pre: bool) {
        for c in t.chars() {
            if pre {
                if c == '\n' {
                    self.s.push('\n');
                } else {
                    self.flush();
                    self.s.push(c);
                }
            } else if c.is_whitespace() && c != '\u{a0}' {
                self.space = true;
            } else {
                self.flush();
                self.s.push(if c == '\u{a0}' { ' ' } else { c });
            }
        }
    }

    fn raw(&mut self, t: &str) {
        self.flush();
        self.s.push_str(t);
    }

    /// Inline text that keeps a space from what is before it.
    fn inline(&mut self, t: &str) {
        if !self.s.is_empty() && !self.s.ends_with(['\n', ' ']) {
            self.space = true;
        }
        self.flush();
        self.s.push_str(t);
    }

    fn space(&mut self) {
        self.space = true;
    }

    fn newline(&mut self, n: usize) {
        self.breaks = self.breaks.max(n);
    }
}

/// `text` with HTML character references decoded: numeric (`&#233;`,
/// `&#xE9;`) and the common named ones; an unknown or unterminated one stays
/// as it was, an invalid number becomes U+FFFD.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        rest = rest.get(amp..).unwrap_or("");
        let body = rest.get(1..).unwrap_or("");
        let end = body
            .char_indices()
            .take(32)
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|(i, _)| i)
            .unwrap_or(body.len().min(32));
        let name = body.get(..end).unwrap_or("");
        let semi = body.get(end..).is_some_and(|r| r.starts_with(';'));
        let decoded = if let Some(num) = name.strip_prefix('#') {
            let n = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            (!num.is_empty()).then(|| {
                n.filter(|&n| n != 0)
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}')
            })
        } else if semi || matches!(name, "amp" | "lt" | "gt" | "quot" | "nbsp") {
            named_entity(name)
        } else {
            None
        };
        match decoded {
            Some(c) => {
                out.push(c);
                let used = 1 + end + usize::from(semi);
                rest = rest.get(used..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "sbquo" => '‚',
        "ldquo" => '“',
        "rdquo" => '”',
        "bdquo" => '„',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "cent" => '¢',
        "yen" => '¥',
        "deg" => '°',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "sect" => '§',
        "para" => '¶',
        "shy" => '\u{ad}',
        "zwnj" => '\u{200c}',
        "zwj" => '\u{200d}',
        "Auml" => 'Ä',
        "auml" => 'ä',
        "Ouml" => 'Ö',
        "ouml" => 'ö',
        "Uuml" => 'Ü',
        "uuml" => 'ü',
        "Otilde" => 'Õ',
        "otilde" => 'õ',
        "Aring" => 'Å',
        "aring" => 'å',
        "szlig" => 'ß',
        "Eacute" => 'É',
        "eacute" => 'é',
        "egrave" => 'è',
        "aacute" => 'á',
        "agrave" => 'à',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "iacute" => 'í',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        "Scaron" => 'Š',
        "scaron" => 'š',
        "Zcaron" => 'Ž',
        "zcaron" => 'ž',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(s: &str) -> bool {
        !s.chars().any(|c| {
            (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) || is_invisible(c)
        })
    }

    #[test]
    fn estonian_quoted_printable_utf8() {
        let raw = b"From: =?utf-8?q?J=C3=BCri_=C3=96=C3=B6bik?= <jyri@example.ee>\r\n\
To: tugi@pood.ee\r\n\
Subject: =?UTF-8?Q?Tellimus_=C3=B5unapuu_kohta?=\r\n\
Date: Tue, 10 Mar 2026 09:15:00 +0200\r\n\
Message-ID: <abc.1@example.ee>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Tere!\r\n\
\r\n\
Kas =C3=B5unapuu j=C3=B5uab kohale enne reede=\r\n\
t? T=C3=A4nan, J=C3=BCri\r\n";
        let m = parse(raw);
        assert_eq!(m.subject, "Tellimus õunapuu kohta");
        assert_eq!(
            m.text,
            "Tere!\n\nKas õunapuu jõuab kohale enne reedet? Tänan, Jüri"
        );
        assert_eq!(m.from.name.as_deref(), Some("Jüri Ööbik"));
        assert_eq!(m.from.email, "jyri@example.ee");
        assert_eq!(m.message_id.as_deref(), Some("abc.1@example.ee"));
        assert_eq!(m.date_ms, Some(1_773_126_900_000));
        assert!(!m.html_only);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    }

    /// "Привет, мир" in KOI8-R and windows-1251.
    #[test]
    fn russian_koi8_r_and_windows_1251() {
        let koi8: &[u8] = &[
            0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4, b',', b' ', 0xCD, 0xC9, 0xD2,
        ];
        let cp1251: &[u8] = &[
            0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, b',', b' ', 0xEC, 0xE8, 0xF0,
        ];
        for (charset, body) in [("koi8-r", koi8), ("windows-1251", cp1251)] {
            let mut raw = format!("From: ivan@example.ru\r\nSubject: =?{charset}?B?").into_bytes();
            raw.extend_from_slice(b64(body).as_bytes());
            raw.extend_from_slice(
                format!("?=\r\nContent-Type: text/plain; charset=\"{charset}\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").as_bytes(),
            );
            raw.extend_from_slice(body);
            raw.extend_from_slice(b"\r\n");
            let m = parse(&raw);
            assert_eq!(m.text, "Привет, мир", "{charset}");
            assert_eq!(m.subject, "Привет, мир", "{charset}");
        }
    }

    #[test]
    fn slovenian_encoded_word_subject() {
        let raw = b"From: =?iso-8859-2?Q?=AEiga_=C8eba=B9ek?= <ziga@example.si>\r\n\
Subject: =?utf-8?B?VnByYcWhYW5qZSBvIHJhxI11bnU=?=\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Lep pozdrav, \xc5\xbdiga\r\n";
        let m = parse(raw);
        assert_eq!(m.from.name.as_deref(), Some("Žiga Čebašek"));
        assert_eq!(m.subject, "Vprašanje o računu");
        assert_eq!(m.text, "Lep pozdrav, Žiga");

        let raw = b"From: a@b.si\r\nSubject: =?utf-8?Q?Ra=C4=8Dun_=C5=A1t=2E_42?= =?utf-8?Q?_za_marec?=\r\n\r\nx";
        assert_eq!(parse(raw).subject, "Račun št. 42 za marec");
    }

    fn b64(b: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    fn b64_lines(b: &[u8]) -> String {
        let s = b64(b);
        let mut out = String::with_capacity(s.len() + s.len() / 38);
        for (i, c) in s.chars().enumerate() {
            if i > 0 && i % 76 == 0 {
                out.push_str("\r\n");
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn html_only_mail_becomes_safe_text() {
        let raw = b"From: shop@example.com\r\n\
Subject: Offer\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><head><title>T</title><style>p{color:red}</style></head><body>\
<script>alert('pwned')</script><p>Hello&nbsp;<b>Mari</b>,</p>\
<p>See <a href=\"https://shop.example.com/o?id=1&amp;x=2\">your order</a>.</p>\
<img src=\"http://tracker.example.com/pixel.gif\" alt=\"logo\">\
<ul><li>one</li><li>two &#8211; &#x263A;</li></ul></body></html>\r\n";
        let m = parse(raw);
        assert!(m.html_only);
        assert_eq!(
            m.text,
            "Hello Mari,\n\nSee your order [https://shop.example.com/o?id=1&x=2].\n\n[image: logo]\n– one\n– two – ☺"
        );
        assert!(!m.text.contains("pwned") && !m.text.contains("color"));
        assert!(
            !m.text.contains("tracker"),
            "the image URL is never shown or fetched"
        );
    }

    #[test]
    fn html_to_text_details() {
        assert_eq!(html_to_text("a<br>b<br/>c"), "a\nb\nc");
        assert_eq!(html_to_text("<IMG SRC=x>"), "[image]");
        assert_eq!(html_to_text("<SCRIPT>x</script >y"), "y");
        assert_eq!(
            html_to_text("<a href=\"javascript:evil()\">click</a>"),
            "click"
        );
        assert_eq!(
            html_to_text("<a href='mailto:a@b.ee'>a@b.ee</a>"),
            "a@b.ee",
            "no URL repeated when it is the text"
        );
        assert_eq!(
            html_to_text("1 &lt; 2 &amp;&amp; 3 &gt; 2 &unknown; &#0; &#xD800;"),
            "1 < 2 && 3 > 2 &unknown; \u{FFFD} \u{FFFD}"
        );
        assert_eq!(html_to_text("<!-- hidden -->x<!doctype html>"), "x");
        assert_eq!(html_to_text("<pre>a\n  b</pre>c"), "a\n  b\nc");
        assert_eq!(html_to_text("a < b"), "a < b");
        assert_eq!(html_to_text("<p title=\"a>b\">x</p>"), "x");
        assert_eq!(html_to_text("x\u{202E}y&#x202E;z"), "xyz");
        assert_eq!(
            html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"),
            "a b\nc"
        );
        assert_eq!(html_to_text("<script>never closed"), "");
        assert_eq!(html_to_text("<"), "<");
    }

    #[test]
    fn alternative_prefers_text_plain() {
        let raw = b"From: a@example.com\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>HTML version</p>\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Plain version\r\n\
--b1--\r\n";
        let m = parse(raw);
        assert_eq!(m.text, "Plain version");
        assert!(!m.html_only);
        assert!(m.attachments.is_empty(), "{:?}", m.attachments);
    }

    #[test]
    fn malformed_input_gives_warnings_never_a_panic() {
        let m = parse(b"");
        assert!(!m.warnings.is_empty());
        assert_eq!(m.text, "");

        let m = parse(b"just some words, no headers at all\nsecond line");
        assert!(!m.warnings.is_empty(), "{m:?}");
        assert!(m.from.email.is_empty());

        // Broken boundary: the declared one never appears.
        let m = parse(b"From: a@b.ee\r\nContent-Type: multipart/mixed; boundary=zzz\r\n\r\n--yyy\r\nContent-Type: text/plain\r\n\r\nhello\r\n--yyy--\r\n");
        assert!(
            m.warnings.iter().any(|w| w.contains("boundary")),
            "{:?}",
            m.warnings
        );

        // A multipart cut off in the middle.
        let m = parse(b"From: a@b.ee\r\nContent-Type: multipart/mixed; boundary=zzz\r\n\r\n--zzz\r\nContent-Type: text/plain\r\n\r\nhello\r\n--zzz\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK");
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("truncated") || w.contains("not closed")),
            "{:?}",
            m.warnings
        );
        assert!(m.text.starts_with("hello"));

        // Truncated base64 body.
        let m = parse(b"From: a@b.ee\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nVGVyZSBNYXJp\r\nIQ=");
        assert!(m.text.starts_with("Tere Mari"), "{:?}", m.text);

        // Unknown charset: shown best effort, with a warning.
        let m = parse(b"From: a@b.ee\r\nContent-Type: text/plain; charset=x-klingon-7\r\n\r\nQapla' \xc3\xb5\r\n");
        assert_eq!(m.text, "Qapla' õ");
        assert!(
            m.warnings.iter().any(|w| w.contains("x-klingon-7")),
            "{:?}",
            m.warnings
        );

        // Missing headers are named.
        let m = parse(b"Subject: hi\r\n\r\nbody");
        for w in ["no From", "no Date", "no Message-ID"] {
            assert!(
                m.warnings.iter().any(|x| x.starts_with(w)),
                "{w}: {:?}",
                m.warnings
            );
        }

        // 1 MB of garbage.
        let mut x: u32 = 0x1234_5678;
        let garbage: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let m = parse(&garbage);
        assert!(safe(&m.text) && safe(&m.subject));
        assert!(m.text.chars().count() <= MAX_BODY);
    }

    #[test]
    fn many_broken_parts_cost_little_and_warn_once() {
        let mut raw = b"From: a@b.ee\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n".to_vec();
        for i in 0..5000 {
            raw.extend_from_slice(
                format!("--B\r\nContent-Type: text/plain; charset=x-unknown-{i}\r\nContent-Transfer-Encoding: base64\r\n\r\nQ=\r\n").as_bytes(),
            );
        }
        let start = std::time::Instant::now();
        let m = parse(&raw);
        assert!(m.warnings.len() <= MAX_WARNINGS, "{}", m.warnings.len());
        assert!(m.attachments.len() <= MAX_ATTACHMENTS);
        assert!(start.elapsed().as_secs() < 10);
    }

    #[test]
    fn every_prefix_of_a_mail_parses_and_replies() {
        let raw = with_attachment("a.bin", b"0123456789");
        for end in (0..raw.len()).step_by(7) {
            let m = parse(&raw[..end]);
            let out = crate::reply::reply(
                &m,
                &Address {
                    name: None,
                    email: "tugi@pood.ee".into(),
                },
                "ok",
                "et",
            );
            let back = parse(&out.raw);
            assert_eq!(back.in_reply_to, m.message_id);
        }
    }

    #[test]
    fn hostile_headers_are_cleaned_and_capped() {
        let long = "x".repeat(1000);
        let raw = format!(
            "From: \"Evil\u{202E}gnp.exe {long}\" <evil@example.com>\r\n\
Reply-To: <support@example.com>\r\n\
Subject: Hi\u{1b}[31m {long}\r\n\
Message-ID: <bad id@x>\r\n\
\r\n\
a\u{200B}b\u{1b}c\r\n"
        );
        let m = parse(raw.as_bytes());
        let name = m.from.name.clone().unwrap_or_default();
        assert!(safe(&name) && name.starts_with("Evilgnp.exe"));
        assert_eq!(name.chars().count(), MAX_NAME);
        assert_eq!(m.subject.chars().count(), MAX_SUBJECT);
        assert!(m.subject.starts_with("Hi[31m"));
        assert_eq!(m.text, "abc");
        assert_eq!(m.reply_address().email, "support@example.com");
    }

    #[test]
    fn body_is_capped_with_a_warning() {
        let raw = format!("From: a@b.ee\r\n\r\n{}", "ab\r\n".repeat(150_000));
        let m = parse(raw.as_bytes());
        assert_eq!(m.text.chars().count(), MAX_BODY);
        assert!(m.text.ends_with('…'));
        assert!(m.warnings.iter().any(|w| w.contains("cut")));
    }

    fn with_attachment(name: &str, data: &[u8]) -> Vec<u8> {
        let mut raw = format!(
            "From: a@b.ee\r\nSubject: file\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n\
--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(b64_lines(data).as_bytes());
        raw.extend_from_slice(b"\r\n--XX\r\nContent-Type: text/csv; charset=windows-1251\r\nContent-Disposition: attachment; filename=list.csv\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nid;=CF=F0=E8\r\n--XX--\r\n");
        raw
    }

    #[test]
    fn a_20_mb_attachment_is_listed_and_saved_exactly() {
        let data: Vec<u8> = (0..20 * 1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let raw = with_attachment("../../etc/Report 2026.pdf", &data);
        let start = std::time::Instant::now();
        let m = parse(&raw);
        let took = start.elapsed();
        assert_eq!(m.text, "See attached.");
        assert_eq!(m.attachments.len(), 2, "{:?}", m.attachments);
        let a = &m.attachments[0];
        assert_eq!(a.name, "_.._etc_Report 2026.pdf");
        assert_eq!(a.mime, "application/octet-stream");
        assert_eq!(a.size, data.len());
        assert!(m.attachment_bytes(&raw, a) == Some(data), "exact bytes");
        // The text attachment comes back as sent (windows-1251), not re-encoded.
        let csv = &m.attachments[1];
        assert_eq!(
            (csv.name.as_str(), csv.mime.as_str()),
            ("list.csv", "text/csv")
        );
        assert_eq!(
            m.attachment_bytes(&raw, csv),
            Some(b"id;\xCF\xF0\xE8".to_vec())
        );
        // Another mail does not hand out this attachment.
        assert_eq!(m.attachment_bytes(b"From: x@y.z\r\n\r\nhi", a), None);
        assert!(took.as_secs() < 30, "{took:?}");
    }

    #[test]
    fn file_names_cannot_escape_the_folder() {
        assert_eq!(clean_file_name("..\\..\\boot.ini"), "_.._boot.ini");
        assert_eq!(clean_file_name("C:\\x.exe"), "C__x.exe");
        assert_eq!(clean_file_name(".bashrc"), "bashrc");
        assert_eq!(clean_file_name("Invoice\u{202E}fdp.exe"), "Invoicefdp.exe");
        assert_eq!(clean_file_name("tšekk.pdf"), "tšekk.pdf");
    }

    #[test]
    fn clean_body_keeps_lines_and_drops_tricks() {
        assert_eq!(
            clean_body("a\r\nb\rc\n\n\n\n\nd  \n", 100),
            ("a\nb\nc\n\n\nd".to_owned(), false)
        );
        assert_eq!(clean_body("\n\n  x\ty\u{202E}z", 100).0, "x\tyz");
        assert_eq!(clean_body("abcdef", 4), ("abc…".to_owned(), true));
    }
}
