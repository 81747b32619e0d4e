//! Who calls and why, from the INVITE's headers, before the operator answers.
//!
//! The number and name come from P-Asserted-Identity when the network gives
//! one (it is vouched for), else From. Header rules from the configuration
//! turn PBX and IVR headers into labelled fields (`X-Queue` → "Queue",
//! `X-IVR-Account` → "Account"); Diversion gives "forwarded from"; Call-Info
//! links are kept. Header values are untrusted input: they are parsed with
//! the SIP crate's typed accessors, trimmed to a sane length, and a malformed
//! header is skipped, never fatal.

use switchboard_sip::header::NameAddr;
use switchboard_sip::message::Headers;
use switchboard_sip::uri::Uri;

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
}

/// Longest value kept from a header (a hostile INVITE must not flood the card).
const MAX_VALUE: usize = 200;

fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(MAX_VALUE) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or(s)),
        None => s.to_owned(),
    }
}

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

/// Builds the card from an INVITE's headers and the configured rules.
pub fn caller_card(headers: &Headers, rules: &[HeaderRule]) -> CallerCard {
    let pai = headers.p_asserted_identity().unwrap_or_default();
    let from = headers.get("From").and_then(|f| NameAddr::parse(f).ok());
    let (who, asserted) = match pai.first() {
        Some(p) => (Some(p.clone()), true),
        None => (from.clone(), false),
    };
    let mut card = CallerCard {
        asserted,
        ..CallerCard::default()
    };
    if let Some(w) = who {
        card.number = clip(&number_of(&w.uri));
        card.uri = Some(w.uri.to_string()).filter(|u| u.len() <= MAX_VALUE);
        card.name = w
            .display
            .filter(|d| !d.trim().is_empty())
            .or_else(|| pai.iter().find_map(|p| p.display.clone()))
            .or_else(|| from.as_ref().and_then(|f| f.display.clone()))
            .map(|d| clip(&d));
    }
    for rule in rules {
        let values: Vec<&str> = headers.get_all(&rule.header).collect();
        if !values.is_empty() {
            card.fields
                .push((clip(&rule.label), clip(&values.join(", "))));
        }
    }
    card.forwarded_from = headers
        .diversion()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let n = number_of(&d.uri);
            match d.param("reason").flatten() {
                Some(r) => clip(&format!("{n} ({r})")),
                None => clip(&n),
            }
        })
        .collect();
    let mut info = headers.call_info().unwrap_or_default();
    info.sort_by_key(|i| !matches!(i.purpose(), Some("info" | "card")));
    card.links = info
        .iter()
        .filter(|i| {
            let u = i.uri.to_string();
            u.starts_with("http://") || u.starts_with("https://")
        })
        .map(|i| clip(&i.uri.to_string()))
        .collect();
    card
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
}
