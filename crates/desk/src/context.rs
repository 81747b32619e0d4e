//! Who calls and why, from the INVITE's headers, before the operator answers.
//!
//! The number and name come from P-Asserted-Identity when the INVITE has
//! one, else From. P-Asserted-Identity reaches the desk only when the
//! engine trusted the source (RFC 3325: the engine removes it from INVITEs
//! that do not come from a trusted proxy), so its presence is what
//! [`CallerCard::asserted`] reports; nothing here decides trust. Header
//! rules from the configuration turn PBX and IVR headers into labelled
//! fields (`X-Queue` → "Queue", `X-IVR-Account` → "Account"); Diversion gives
//! "forwarded from"; Call-Info links are kept.
//!
//! Header values are untrusted input even when asserted: they are parsed
//! with the SIP crate's typed accessors, a malformed entry is skipped, never
//! fatal, and every text on the card goes through
//! [`caller_text::clean`](crate::caller_text::clean) (control, bidi and
//! invisible characters out, one line, capped), so the card, the work list,
//! the history in the store, the CRM URL and the desktop notification only
//! ever see cleaned text. Lists are capped before they are parsed: the
//! first [`MAX_FORWARDS`] Diversion entries, the first [`MAX_LINKS`]
//! Call-Info entries, the first [`MAX_FIELD_VALUES`] values of a header
//! rule, so 5,000 Diversion entries cost one split of the header's text,
//! not 5,000 parses and 5,000 lines on the card. A URI to call back and a link are kept only when cleaning
//! leaves them as they came (a changed address is another address), and
//! links only with `http` or `https`.

use switchboard_sip::header::NameAddr;
use switchboard_sip::message::Headers;
use switchboard_sip::typed::InfoItem;
use switchboard_sip::uri::Uri;

use crate::caller_text::{clean, clean_number, is_clean};

/// A configured rule: show header `header` as `label`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRule {
    /// Header name (case-insensitive), e.g. `X-Queue`.
    pub header: String,
    /// Label on the caller card, e.g. `Queue`.
    pub label: String,
}

/// The caller card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerCard {
    /// The caller's number or user part (`+3725551234`), as dialable as we can make it.
    pub number: String,
    /// Display name, if given.
    pub name: Option<String>,
    /// Whether the identity came from P-Asserted-Identity (trusted) rather than From.
    pub asserted: bool,
    /// Labelled fields from the header rules, in rule order.
    pub fields: Vec<(String, String)>,
    /// Who forwarded the call (Diversion), most recent first.
    pub forwarded_from: Vec<String>,
    /// Links offered in Call-Info (`purpose=info` or `card` first).
    pub links: Vec<String>,
    /// Their address (`sip:alice@10.0.0.7`), to call back when `number`
    /// is not a number.
    pub uri: Option<String>,
    /// Their e-mail address (an e-mail interaction's sender), for `{email}`
    /// in the CRM's URL.
    pub email: Option<String>,
}

/// Longest value kept from a header (a hostile INVITE must not flood the card).
pub const MAX_VALUE: usize = 200;
/// Longest display name kept: one line of the card's heading.
pub const MAX_NAME: usize = 80;
/// Longest Call-Info link kept (longer ones are dropped, not cut).
pub const MAX_LINK: usize = 500;
/// Diversion entries read (most recent first).
pub const MAX_FORWARDS: usize = 10;
/// Call-Info entries read.
pub const MAX_LINKS: usize = 5;
/// Values of one header rule's header read.
pub const MAX_FIELD_VALUES: usize = 10;

/// The dialable part of an address: the user part of a SIP URI, the number
/// of a `tel:` URI, else the whole URI.
pub fn number_of(uri: &Uri) -> String {
    match uri {
        Uri::Sip(s) => s.user_unescaped().unwrap_or_else(|| s.host.to_string()),
        Uri::Other { scheme, rest } if scheme.eq_ignore_ascii_case("tel") => {
            rest.split(';').next().unwrap_or(rest).to_owned()
        }
        other => other.to_string(),
    }
}

/// The card's number for `uri`: [`number_of`] cleaned; the host when the
/// user part is nothing but characters cleaning removes.
fn card_number(uri: &Uri) -> String {
    let n = clean_number(&number_of(uri));
    match uri {
        Uri::Sip(s) if n.is_empty() => clean_number(&s.host.to_string()),
        _ => n,
    }
}

/// Builds the card from an INVITE's headers and the configured rules.
pub fn caller_card(headers: &Headers, rules: &[HeaderRule]) -> CallerCard {
    let pai = headers.p_asserted_identity().unwrap_or_default();
    let from = headers.get("From").and_then(|f| NameAddr::parse(f).ok());
    let (who, asserted) = match pai.first() {
        Some(p) => (Some(p), true),
        None => (from.as_ref(), false),
    };
    let mut card = CallerCard {
        asserted,
        ..CallerCard::default()
    };
    if let Some(w) = who {
        card.number = card_number(&w.uri);
        let uri = w.uri.to_string();
        card.uri = is_clean(&uri, MAX_VALUE).then_some(uri);
        // The first display name that is still something once cleaned.
        card.name = std::iter::once(w)
            .chain(&pai)
            .chain(&from)
            .filter_map(|n| n.display.as_deref())
            .map(|d| clean(d, MAX_NAME))
            .find(|d| !d.is_empty());
    }
    for rule in rules {
        let values: Vec<&str> = headers
            .get_all(&rule.header)
            .take(MAX_FIELD_VALUES)
            .collect();
        if !values.is_empty() {
            card.fields.push((
                clean(&rule.label, MAX_VALUE),
                clean(&values.join(", "), MAX_VALUE),
            ));
        }
    }
    card.forwarded_from = headers
        .list("Diversion")
        .take(MAX_FORWARDS)
        .filter_map(|d| NameAddr::parse(d).ok())
        .map(|d| {
            let n = card_number(&d.uri);
            match d.param("reason").flatten() {
                Some(r) => clean(&format!("{n} ({r})"), MAX_VALUE),
                None => n,
            }
        })
        .filter(|f| !f.is_empty())
        .collect();
    let mut info: Vec<InfoItem> = headers
        .list("Call-Info")
        .take(MAX_LINKS)
        .filter_map(|i| InfoItem::parse(i).ok())
        .collect();
    info.sort_by_key(|i| !matches!(i.purpose(), Some("info" | "card")));
    card.links = info
        .iter()
        .map(|i| i.uri.to_string())
        .filter(|u| is_link(u))
        .collect();
    card
}

/// Whether a Call-Info URI may be offered as a link: `http` or `https`,
/// and exactly as it came once cleaned (nothing hidden, no white space, not
/// cut).
fn is_link(u: &str) -> bool {
    let scheme = u.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("http" | "https"))
        && !u.contains(char::is_whitespace)
        && is_clean(u, MAX_LINK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sip::message::Message;

    fn headers(extra: &str) -> Headers {
        let text = format!(
            "INVITE sip:agent@pbx.example.ee SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
             From: \"Unknown\" <sip:anonymous@pbx.example.ee>;tag=1\r\n\
             To: <sip:agent@pbx.example.ee>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).unwrap().headers().clone()
    }

    /// Headers as the desktop hands them over (the engine's list, not a
    /// datagram, so no message size limit), with the anonymous From.
    fn pushed(extra: &[(&str, String)]) -> Headers {
        let mut h = Headers::new();
        h.push("From", "\"Unknown\" <sip:anonymous@pbx.example.ee>;tag=1");
        for (n, v) in extra {
            h.push(*n, v.clone());
        }
        h
    }

    fn rules() -> Vec<HeaderRule> {
        vec![
            HeaderRule {
                header: "X-Queue".into(),
                label: "Queue".into(),
            },
            HeaderRule {
                header: "X-IVR-Account".into(),
                label: "Account".into(),
            },
        ]
    }

    #[test]
    fn asserted_identity_wins_and_ivr_data_is_labelled() {
        let h = headers(
            "P-Asserted-Identity: \"Mari Maasikas\" <sip:+3725551234@pbx.example.ee>\r\n\
             X-Queue: Arveldus\r\nX-IVR-Account: 100200300\r\n\
             Diversion: <sip:1200@pbx.example.ee>;reason=no-answer\r\n\
             Call-Info: <https://crm.example.ee/c/42>;purpose=info\r\n",
        );
        let card = caller_card(&h, &rules());
        assert_eq!(card.number, "+3725551234");
        assert_eq!(card.name.as_deref(), Some("Mari Maasikas"));
        assert!(card.asserted);
        assert_eq!(
            card.fields,
            [
                ("Queue".to_owned(), "Arveldus".to_owned()),
                ("Account".to_owned(), "100200300".to_owned())
            ]
        );
        assert_eq!(card.forwarded_from, ["1200 (no-answer)"]);
        assert_eq!(card.links, ["https://crm.example.ee/c/42"]);
    }

    #[test]
    fn from_is_used_without_pai_and_tel_uris_give_numbers() {
        let card = caller_card(&headers(""), &rules());
        assert_eq!(card.number, "anonymous");
        assert_eq!(card.name.as_deref(), Some("Unknown"));
        assert!(!card.asserted);
        assert!(card.fields.is_empty());
        let tel = caller_card(
            &headers("P-Asserted-Identity: <tel:+38615551234;phone-context=+386>\r\n"),
            &[],
        );
        assert_eq!(tel.number, "+38615551234");
    }

    #[test]
    fn hostile_values_are_clipped_and_bad_headers_skipped() {
        let long = "x".repeat(5000);
        let h = headers(&format!(
            "X-Queue: {long}\r\nP-Asserted-Identity: <sip:broken\r\nCall-Info: <javascript:alert(1)>\r\n"
        ));
        let card = caller_card(&h, &rules());
        assert!(card.fields[0].1.chars().count() <= MAX_VALUE + 1);
        assert_eq!(
            card.number, "anonymous",
            "a malformed PAI falls back to From"
        );
        assert!(card.links.is_empty(), "only http(s) links are offered");
    }

    #[test]
    fn hostile_caller_id_is_cleaned_on_the_card() {
        let h = headers(
            "P-Asserted-Identity: \"Invoice\u{202E}gnp.exe\u{200D} \" \
             <sip:+372%0A555%1B[31m%E2%80%AE1234@pbx.example.ee>\r\n\
             X-Queue: Arveldus\u{2066}\u{200B}\r\n",
        );
        let card = caller_card(&h, &rules());
        assert_eq!(card.number, "+372 555[31m1234");
        assert_eq!(card.name.as_deref(), Some("Invoicegnp.exe"));
        assert_eq!(card.fields, [("Queue".to_owned(), "Arveldus".to_owned())]);
        // The address as written is percent-encoded, harmless text: kept
        // to call back.
        assert_eq!(
            card.uri.as_deref(),
            Some("sip:+372%0A555%1B[31m%E2%80%AE1234@pbx.example.ee")
        );
        assert!(card.asserted);
    }

    #[test]
    fn a_user_part_of_nothing_but_invisible_characters_gives_the_host() {
        let h = headers("P-Asserted-Identity: <sip:%E2%80%8B%E2%80%AE@pbx.example.ee>\r\n");
        assert_eq!(caller_card(&h, &[]).number, "pbx.example.ee");
    }

    #[test]
    fn a_blank_display_name_falls_back_to_the_next_one() {
        let h = headers(
            "P-Asserted-Identity: \"\u{200B}\u{202E} \" <sip:+3725551234@pbx.example.ee>\r\n",
        );
        assert_eq!(caller_card(&h, &[]).name.as_deref(), Some("Unknown"));
    }

    #[test]
    fn a_64_kb_display_name_is_one_line_of_the_card() {
        let huge = "Õie\u{202E} ".repeat(64 * 1024 / 6);
        let h = pushed(&[(
            "P-Asserted-Identity",
            format!("\"{huge}\" <sip:+3725551234@pbx.example.ee>"),
        )]);
        let name = caller_card(&h, &[]).name.unwrap();
        assert_eq!(name.chars().count(), MAX_NAME);
        assert!(name.starts_with("Õie Õie") && name.ends_with('…'));
    }

    #[test]
    fn thousands_of_diversions_and_links_are_capped_before_parsing() {
        let diversions = (0..5000)
            .map(|i| format!("<sip:{i}%0A@pbx.example.ee>;reason=\"no\u{202E}-answer\""))
            .collect::<Vec<_>>()
            .join(", ");
        let links = (0..50)
            .map(|i| format!("<https://crm.example.ee/c/{i}>;purpose=info"))
            .collect::<Vec<_>>()
            .join(", ");
        let h = pushed(&[
            ("Diversion", diversions),
            ("Diversion", "<sip:late@pbx.example.ee>".into()),
            ("Call-Info", links),
        ]);
        let card = caller_card(&h, &[]);
        assert_eq!(card.forwarded_from.len(), MAX_FORWARDS);
        assert_eq!(card.forwarded_from[0], "0 (no-answer)");
        assert_eq!(card.links.len(), MAX_LINKS);
        assert_eq!(card.links[0], "https://crm.example.ee/c/0");
    }

    #[test]
    fn only_clean_http_links_are_offered() {
        let h = headers(
            "Call-Info: <ftp://files.example.ee/a>, <https://crm.example.ee/\u{202E}exe.txt>, \
             <HTTPS://crm.example.ee/ok>;purpose=card, <data:text/html,x>\r\n",
        );
        assert_eq!(caller_card(&h, &[]).links, ["HTTPS://crm.example.ee/ok"]);
    }
}
