//! CRM lookup by URL template: the caller's record from the company's CRM,
//! fetched while the call rings.
//!
//! The configuration gives a template such as
//! `https://crm.example.ee/api/lookup?phone={number}&queue={field:Queue}`.
//! Placeholders are `{number}`, `{name}`, `{email}` (an e-mail's sender), `{call_id}` and `{field:LABEL}`
//! (a caller-card field by its label). Values come from the INVITE, so they
//! are untrusted: each is percent-encoded (only RFC 3986 unreserved
//! characters pass), which means a value can neither change the scheme, the
//! host nor add query parameters. Only `http` and `https` templates are
//! accepted, and the host must be in the literal part of the template.
//!
//! This module is pure: [`Crm::url_for`] builds the request URL and
//! [`parse_fields`] turns the JSON answer into labelled fields. The desktop
//! runs the request on a worker thread with the configured timeout, so a dead
//! CRM costs the operator one line of error on the card, never a frozen window.

use std::fmt;
use std::time::Duration;

use crate::caller_text::clean;
use crate::context::CallerCard;

/// `[desk.crm]` settings after checking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crm {
    template: String,
    link: Option<String>,
    /// JSON fields to show, as dotted paths (`customer.segment`); empty shows
    /// every top-level scalar.
    pub fields: Vec<String>,
    /// How long a lookup may take.
    pub timeout: Duration,
}

/// Why a CRM setting or lookup failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrmError {
    /// The template's scheme is not http or https.
    Scheme(String),
    /// A placeholder the template uses does not exist.
    Placeholder(String),
    /// A `{` without its `}`.
    Unclosed,
    /// The host is missing from the literal part of the template.
    NoHost,
    /// The CRM could not be reached or did not answer in time.
    Unreachable(String),
    /// The CRM answered with an HTTP error status.
    Status(u16),
    /// The answer was not a JSON object.
    NotJson(String),
}

impl fmt::Display for CrmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrmError::Scheme(s) => {
                write!(f, "CRM URL must start with http:// or https://, not {s}")
            }
            CrmError::Placeholder(p) => write!(
                f,
                "unknown placeholder {{{p}}} in the CRM URL (use {{number}}, {{name}}, {{email}}, {{call_id}} or {{field:LABEL}})"
            ),
            CrmError::Unclosed => write!(f, "a {{ in the CRM URL is not closed"),
            CrmError::NoHost => write!(
                f,
                "the CRM URL's host must be written out, not taken from a placeholder"
            ),
            CrmError::Unreachable(e) => write!(f, "CRM not reachable: {e}"),
            CrmError::Status(s) => write!(f, "CRM answered HTTP {s}"),
            CrmError::NotJson(e) => write!(f, "CRM answer is not a JSON object: {e}"),
        }
    }
}

impl std::error::Error for CrmError {}

/// Longest value shown from a CRM field.
const MAX_VALUE: usize = 200;
/// Most fields shown when the configuration names none.
const MAX_FIELDS: usize = 12;
/// Default lookup timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

impl Crm {
    /// Checks a template (and the optional link template for people, shown
    /// on the card; the lookup URL is shown when there is none).
    pub fn new(
        template: &str,
        link: Option<&str>,
        fields: Vec<String>,
        timeout: Duration,
    ) -> Result<Crm, CrmError> {
        for t in std::iter::once(template).chain(link) {
            check_template(t)?;
        }
        Ok(Crm {
            template: template.to_owned(),
            link: link.map(str::to_owned),
            fields,
            timeout,
        })
    }

    /// The lookup URL for this caller.
    pub fn url_for(&self, card: &CallerCard, call_id: &str) -> String {
        expand(&self.template, card, call_id)
    }

    /// The page an operator opens for this caller.
    /// Whether the lookup can find a customer by e-mail address (the
    /// template has `{email}`): e-mail interactions are looked up only then.
    pub fn by_email(&self) -> bool {
        self.template.contains("{email}")
    }

    pub fn link_for(&self, card: &CallerCard, call_id: &str) -> String {
        match &self.link {
            Some(l) => expand(l, card, call_id),
            None => self.url_for(card, call_id),
        }
    }
}

fn check_template(t: &str) -> Result<(), CrmError> {
    let lower = t.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if let Some(r) = lower.strip_prefix("http://") {
        r
    } else {
        return Err(CrmError::Scheme(
            t.split(':').next().unwrap_or_default().to_owned(),
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('{') {
        return Err(CrmError::NoHost);
    }
    let mut s = t;
    while let Some(open) = s.find('{') {
        let after = s.get(open + 1..).unwrap_or_default();
        let close = after.find('}').ok_or(CrmError::Unclosed)?;
        let name = after.get(..close).unwrap_or_default();
        let known = matches!(name, "number" | "name" | "call_id" | "email")
            || name.strip_prefix("field:").is_some_and(|l| !l.is_empty());
        if !known {
            return Err(CrmError::Placeholder(name.to_owned()));
        }
        s = after.get(close + 1..).unwrap_or_default();
    }
    Ok(())
}

fn expand(t: &str, card: &CallerCard, call_id: &str) -> String {
    let mut out = String::with_capacity(t.len() + 32);
    let mut s = t;
    while let Some(open) = s.find('{') {
        out.push_str(s.get(..open).unwrap_or_default());
        let after = s.get(open + 1..).unwrap_or_default();
        let Some(close) = after.find('}') else { break };
        let name = after.get(..close).unwrap_or_default();
        let value = match name {
            "number" => card.number.as_str(),
            "name" => card.name.as_deref().unwrap_or(""),
            "call_id" => call_id,
            "email" => card.email.as_deref().unwrap_or(""),
            _ => name
                .strip_prefix("field:")
                .and_then(|label| {
                    card.fields
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(label))
                })
                .map(|(_, v)| v.as_str())
                .unwrap_or(""),
        };
        percent_encode(value, &mut out);
        s = after.get(close + 1..).unwrap_or_default();
    }
    out.push_str(s);
    out
}

/// Percent-encodes all but RFC 3986 unreserved characters, and the dot too,
/// so a value can never be the path segment `..`.
fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The fields to show from a CRM answer: the configured dotted paths in
/// their order (a missing one is skipped), or every top-level scalar.
pub fn parse_fields(body: &str, wanted: &[String]) -> Result<Vec<(String, String)>, CrmError> {
    let doc: serde_json::Value =
        serde_json::from_str(body).map_err(|e| CrmError::NotJson(e.to_string()))?;
    let serde_json::Value::Object(map) = &doc else {
        return Err(CrmError::NotJson("not an object".into()));
    };
    let mut out = Vec::new();
    if wanted.is_empty() {
        for (k, v) in map.iter().take(MAX_FIELDS) {
            if !v.is_object() && !v.is_array() && !v.is_null() {
                out.push((clean(k, MAX_VALUE), show(v)));
            }
        }
        return Ok(out);
    }
    for path in wanted {
        let mut v = &doc;
        let mut found = true;
        for part in path.split('.') {
            match v.get(part) {
                Some(next) => v = next,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if found && !v.is_null() {
            out.push((path.clone(), show(v)));
        }
    }
    Ok(out)
}

/// A CRM value as shown on the card. The CRM often holds what callers
/// once typed or said, so it is cleaned like caller-supplied text.
fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => clean(s, MAX_VALUE),
        other => clean(&other.to_string(), MAX_VALUE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::caller_card;
    use switchboard_sip::message::Headers;

    fn card() -> CallerCard {
        CallerCard {
            number: "+372 555&admin=1".into(),
            name: Some("Mari Maasikas".into()),
            fields: vec![("Queue".into(), "Arved/ülekanded".into())],
            ..CallerCard::default()
        }
    }

    #[test]
    fn caller_values_are_percent_encoded_and_cannot_add_parameters() {
        let crm = Crm::new(
            "https://crm.example.ee/api?phone={number}&q={field:queue}&who={name}",
            None,
            Vec::new(),
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        let url = crm.url_for(&card(), "abc");
        assert_eq!(
            url,
            "https://crm.example.ee/api?phone=%2B372%20555%26admin%3D1&q=Arved%2F%C3%BClekanded&who=Mari%20Maasikas"
        );
    }

    #[test]
    fn a_hostile_number_is_cleaned_then_percent_encoded() {
        let mut h = Headers::new();
        h.push(
            "From",
            "\"Mari\u{202E}\" <sip:+372%0A555&admin=1/..%23%E2%80%AE%1B[31m@pbx>;tag=1",
        );
        let card = caller_card(&h, &[]);
        assert_eq!(card.number, "+372 555&admin=1/..#[31m");
        let crm = Crm::new(
            "https://crm.example.ee/api/{number}?who={name}",
            None,
            vec![],
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        assert_eq!(
            crm.url_for(&card, "c1"),
            "https://crm.example.ee/api/%2B372%20555%26admin%3D1%2F%2E%2E%23%5B31m?who=Mari"
        );
        // A card built by hand, never cleaned, is still only encoded text.
        let raw = CallerCard {
            number: "\n\u{1b}\u{202E}#?".into(),
            ..CallerCard::default()
        };
        assert_eq!(
            crm.url_for(&raw, "c1"),
            "https://crm.example.ee/api/%0A%1B%E2%80%AE%23%3F?who="
        );
    }

    #[test]
    fn crm_values_are_cleaned_for_the_card() {
        let body = "{\"note\":\"call\\nback\\u001b[31m\\u202e now\"}";
        assert_eq!(
            parse_fields(body, &[]).unwrap(),
            [("note".to_owned(), "call back[31m now".to_owned())]
        );
    }

    #[test]
    fn a_caller_value_cannot_climb_the_path() {
        let crm = Crm::new(
            "https://crm/api/{number}/card",
            None,
            vec![],
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        let card = CallerCard {
            number: "..".into(),
            ..CallerCard::default()
        };
        assert_eq!(crm.url_for(&card, "x"), "https://crm/api/%2E%2E/card");
    }

    #[test]
    fn only_http_and_https_with_a_literal_host() {
        for bad in [
            "file:///etc/passwd?{number}",
            "javascript:alert({number})",
            "ftp://crm/{number}",
        ] {
            assert!(
                matches!(
                    Crm::new(bad, None, vec![], DEFAULT_TIMEOUT),
                    Err(CrmError::Scheme(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            Crm::new("http://{number}.evil/", None, vec![], DEFAULT_TIMEOUT),
            Err(CrmError::NoHost)
        );
        assert_eq!(
            Crm::new("http://crm/?p={phone}", None, vec![], DEFAULT_TIMEOUT),
            Err(CrmError::Placeholder("phone".into()))
        );
        assert_eq!(
            Crm::new("http://crm/?p={number", None, vec![], DEFAULT_TIMEOUT),
            Err(CrmError::Unclosed)
        );
        let e = Crm::new(
            "https://crm/x",
            Some("ldap://x/{number}"),
            vec![],
            DEFAULT_TIMEOUT,
        )
        .unwrap_err();
        assert!(e.to_string().contains("http://"), "{e}");
    }

    #[test]
    fn link_defaults_to_the_lookup_url() {
        let crm = Crm::new("http://crm/api/{number}", None, vec![], DEFAULT_TIMEOUT).unwrap();
        assert_eq!(crm.link_for(&card(), "x"), crm.url_for(&card(), "x"));
        let crm = Crm::new(
            "http://crm/api/{number}",
            Some("http://crm/ui/{call_id}"),
            vec![],
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        assert_eq!(crm.link_for(&card(), "a b"), "http://crm/ui/a%20b");
    }

    #[test]
    fn configured_fields_in_order_by_dotted_path() {
        let body = r#"{"name":"Mari","customer":{"segment":"Gold","tickets":[1,2]},"balance":12.5,"x":null}"#;
        let f = parse_fields(
            body,
            &[
                "customer.segment".into(),
                "missing".into(),
                "balance".into(),
                "customer.tickets".into(),
                "x".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            f,
            [
                ("customer.segment".to_owned(), "Gold".to_owned()),
                ("balance".to_owned(), "12.5".to_owned()),
                ("customer.tickets".to_owned(), "[1,2]".to_owned()),
            ]
        );
        let all = parse_fields(body, &[]).unwrap();
        assert_eq!(
            all,
            [
                ("balance".to_owned(), "12.5".to_owned()),
                ("name".to_owned(), "Mari".to_owned())
            ]
        );
    }

    #[test]
    fn a_non_json_answer_is_a_clear_error() {
        let e = parse_fields("<html>502</html>", &[]).unwrap_err();
        assert!(e.to_string().contains("not a JSON object"), "{e}");
        assert!(matches!(
            parse_fields("[1]", &[]),
            Err(CrmError::NotJson(_))
        ));
        let long = format!(r#"{{"n":"{}"}}"#, "x".repeat(1000));
        let f = parse_fields(&long, &[]).unwrap();
        assert!(f[0].1.chars().count() <= MAX_VALUE + 1);
    }
}
