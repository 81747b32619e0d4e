//! What the operator types in Dial, turned into a SIP URI.
//!
//! Operators type numbers as they read them: `5551234`, `+372 555 1234`,
//! `(01) 555-0199`, an extension `204`, a feature code `*72`, or paste a
//! `tel:` or `sip:` address. The plan, from `[desk.dial_plan]`:
//!
//! 1. `sip:`/`sips:` URIs go as they are; `user@host` gets `sip:`; `tel:`
//!    URIs become their number (parameters dropped).
//! 2. Visual separators (space, `-`, `.`, `(`, `)`, `/`) are removed
//!    (RFC 3966 §5.1.1); what is left must be digits, `*`, `#`, and at most one
//!    leading `+`.
//! 3. A number in the local table (`extensions`: the practice line's
//!    colleagues, speed dials) goes to its URI.
//! 4. Short numbers (at most `extension_digits` characters, no `+`) and
//!    feature codes (`*`, `#` first) are extensions and go as they are.
//! 5. Other numbers lose the first matching `strip` prefix (`+372` → a
//!    domestic number), `+` becomes `international_prefix` when one is set
//!    (`00`), and `outside_prefix` (an outside line: `0`, `9`) goes in front.
//! 6. The result is `sip:NUMBER@DOMAIN`, the account's domain by default.

use std::fmt;

use switchboard_sip::uri::Uri;

/// The dial plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialPlan {
    /// Host (and port) for numbers: the account's registrar by default.
    pub domain: Option<String>,
    /// Numbers this long or shorter (without `+`) are extensions.
    pub extension_digits: usize,
    /// Dialled before every number that is not an extension (outside line).
    pub outside_prefix: String,
    /// Replaces a leading `+` (for PBXs that want `00`); `None` keeps `+`.
    pub international_prefix: Option<String>,
    /// Prefixes removed from numbers first (`+372` to call home numbers
    /// without the country code); the longest that matches is removed.
    pub strip: Vec<String>,
    /// Numbers with a URI of their own (exact match after separators are removed).
    pub extensions: Vec<(String, String)>,
}

impl Default for DialPlan {
    fn default() -> Self {
        DialPlan {
            domain: None,
            extension_digits: 5,
            outside_prefix: String::new(),
            international_prefix: None,
            strip: Vec::new(),
            extensions: Vec::new(),
        }
    }
}

/// A target to call, as the engine wants it and as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialled {
    /// The SIP URI to call.
    pub uri: String,
    /// The number (or address) for the history and the call panel.
    pub number: String,
}

/// Why an input cannot be dialled. The operator's input, never a bug.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialError {
    /// Nothing was typed.
    Empty,
    /// Letters or signs that are not in a number, and no `@`.
    NotANumber(String),
    /// A number, but no domain to send it to (no account, no `domain`).
    NoDomain(String),
    /// It starts like a SIP URI but is not one.
    BadUri(String),
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::Empty => write!(f, "nothing to dial"),
            DialError::NotANumber(s) => write!(f, "{s:?} is not a number or a SIP address"),
            DialError::NoDomain(s) => {
                write!(f, "{s} is a number, but there is no account to dial it at")
            }
            DialError::BadUri(s) => write!(f, "{s:?} is not a valid SIP address"),
        }
    }
}

impl std::error::Error for DialError {}

/// Separators people write in numbers (RFC 3966 visual separators, and spaces).
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' | '\t')
}

/// The number with separators removed, if `s` is one.
pub fn clean_number(s: &str) -> Option<String> {
    let n: String = s.chars().filter(|c| !is_separator(*c)).collect();
    let body = n.strip_prefix('+').unwrap_or(&n);
    let ok = !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#');
    ok.then_some(n)
}

impl DialPlan {
    /// The plan applied to what the operator typed.
    pub fn resolve(&self, input: &str) -> Result<Dialled, DialError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(DialError::Empty);
        }
        let lower = input.to_ascii_lowercase();
        if lower.starts_with("sip:") || lower.starts_with("sips:") {
            return sip_uri(input);
        }
        let number = if let Some(rest) = strip_scheme(input, "tel:") {
            let n = rest.split(';').next().unwrap_or(rest);
            clean_number(n).ok_or_else(|| DialError::NotANumber(input.to_owned()))?
        } else if input.contains('@') {
            return sip_uri(&format!("sip:{input}"));
        } else {
            clean_number(input).ok_or_else(|| DialError::NotANumber(input.to_owned()))?
        };
        if let Some((_, uri)) = self.extensions.iter().find(|(n, _)| *n == number) {
            return Ok(Dialled {
                uri: uri.clone(),
                number,
            });
        }
        let feature = number.starts_with(['*', '#']);
        let extension =
            feature || (!number.starts_with('+') && number.len() <= self.extension_digits);
        let user = if extension {
            number.clone()
        } else {
            let stripped = self
                .strip
                .iter()
                .filter(|p| !p.is_empty() && number.starts_with(p.as_str()))
                .max_by_key(|p| p.len())
                .map(|p| number.get(p.len()..).unwrap_or(""))
                .filter(|rest| !rest.is_empty())
                .unwrap_or(&number);
            let international = match (stripped.strip_prefix('+'), &self.international_prefix) {
                (Some(rest), Some(p)) => format!("{p}{rest}"),
                _ => stripped.to_owned(),
            };
            format!("{}{international}", self.outside_prefix)
        };
        let Some(domain) = self.domain.as_deref().filter(|d| !d.trim().is_empty()) else {
            return Err(DialError::NoDomain(number));
        };
        // `#` is not allowed raw in a SIP user part (RFC 3261 §25.1).
        let escaped = user.replace('#', "%23");
        sip_uri(&format!("sip:{escaped}@{}", domain.trim())).map(|d| Dialled { number, ..d })
    }
}

fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    let head = s.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| s.get(scheme.len()..))
        .flatten()
}

fn sip_uri(s: &str) -> Result<Dialled, DialError> {
    // A Request-URI is plain ASCII with no spaces, and carries no headers
    // (`?Subject=…`: RFC 3261 §19.1.5) — what the operator types may not
    // add any to our INVITE.
    let plain =
        s.is_ascii() && !s.contains(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    if !plain || s.contains('?') {
        return Err(DialError::BadUri(s.to_owned()));
    }
    let uri = Uri::parse(s).map_err(|_| DialError::BadUri(s.to_owned()))?;
    if uri.as_sip().is_none() {
        return Err(DialError::BadUri(s.to_owned()));
    }
    Ok(Dialled {
        uri: s.to_owned(),
        number: crate::context::number_of(&uri),
    })
}

/// The domain of a registrar URI (`sip:pbx.example.ee:5070;transport=tcp`
/// → `pbx.example.ee:5070`), for the dial plan's default.
pub fn domain_of_registrar(registrar: &str) -> Option<String> {
    let uri = Uri::parse(registrar.trim()).ok()?;
    let sip = uri.as_sip()?;
    Some(match sip.port {
        Some(p) if p != 5060 => format!("{}:{p}", sip.host),
        _ => sip.host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> DialPlan {
        DialPlan {
            domain: Some("pbx.example.ee".into()),
            ..DialPlan::default()
        }
    }

    #[test]
    fn what_operators_type_becomes_a_sip_uri() {
        let p = plan();
        let outside = DialPlan {
            outside_prefix: "0".into(),
            international_prefix: Some("00".into()),
            strip: vec!["+372".into()],
            ..plan()
        };
        let table: &[(&DialPlan, &str, &str, &str)] = &[
            (&p, "5551234", "sip:5551234@pbx.example.ee", "5551234"),
            (
                &p,
                "+372 555 1234",
                "sip:+3725551234@pbx.example.ee",
                "+3725551234",
            ),
            (
                &p,
                "+372-555-1234",
                "sip:+3725551234@pbx.example.ee",
                "+3725551234",
            ),
            (
                &p,
                "(01) 555.0199",
                "sip:015550199@pbx.example.ee",
                "015550199",
            ),
            (&p, "204", "sip:204@pbx.example.ee", "204"),
            (&p, " 204 ", "sip:204@pbx.example.ee", "204"),
            (&p, "*72", "sip:*72@pbx.example.ee", "*72"),
            (&p, "#31#", "sip:%2331%23@pbx.example.ee", "#31#"),
            (
                &p,
                "tel:+372-555-1234",
                "sip:+3725551234@pbx.example.ee",
                "+3725551234",
            ),
            (
                &p,
                "tel:5551234;phone-context=example.ee",
                "sip:5551234@pbx.example.ee",
                "5551234",
            ),
            (
                &p,
                "sip:bob@127.0.0.1:5091",
                "sip:bob@127.0.0.1:5091",
                "bob",
            ),
            (
                &p,
                "SIPS:alice@example.ee",
                "SIPS:alice@example.ee",
                "alice",
            ),
            (&p, "bob@10.0.0.7", "sip:bob@10.0.0.7", "bob"),
            // Outside line, international prefix, home country stripped.
            (&outside, "204", "sip:204@pbx.example.ee", "204"),
            (
                &outside,
                "5551234",
                "sip:05551234@pbx.example.ee",
                "5551234",
            ),
            (
                &outside,
                "+372 555 1234",
                "sip:05551234@pbx.example.ee",
                "+3725551234",
            ),
            (
                &outside,
                "+44 20 7555 0123",
                "sip:000442075550123@pbx.example.ee",
                "+442075550123",
            ),
        ];
        for (plan, input, uri, number) in table {
            let d = plan
                .resolve(input)
                .unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(d.uri, *uri, "{input}");
            assert_eq!(d.number, *number, "{input}");
        }
    }

    #[test]
    fn what_cannot_be_dialled_says_why() {
        let p = plan();
        assert_eq!(p.resolve("  "), Err(DialError::Empty));
        assert!(matches!(p.resolve("Mari"), Err(DialError::NotANumber(_))));
        assert!(matches!(
            p.resolve("555+1234"),
            Err(DialError::NotANumber(_))
        ));
        assert!(matches!(p.resolve("+"), Err(DialError::NotANumber(_))));
        assert!(matches!(p.resolve("sip:"), Err(DialError::BadUri(_))));
        assert!(matches!(
            p.resolve("tel:abc"),
            Err(DialError::NotANumber(_))
        ));
        let none = DialPlan::default();
        assert_eq!(
            none.resolve("+372 555 1234"),
            Err(DialError::NoDomain("+3725551234".into()))
        );
        // A SIP address needs no domain.
        assert!(none.resolve("sip:bob@127.0.0.1:5091").is_ok());
    }

    #[test]
    fn the_local_table_comes_first_and_the_registrar_gives_the_domain() {
        let p = DialPlan {
            extensions: vec![("201".into(), "sip:billing@127.0.0.1:40123".into())],
            ..DialPlan::default()
        };
        assert_eq!(p.resolve("201").unwrap().uri, "sip:billing@127.0.0.1:40123");
        assert_eq!(p.resolve("2 01").unwrap().number, "201");
        assert!(matches!(p.resolve("202"), Err(DialError::NoDomain(_))));
        assert_eq!(
            domain_of_registrar("sip:pbx.example.ee").as_deref(),
            Some("pbx.example.ee")
        );
        assert_eq!(
            domain_of_registrar("sip:127.0.0.1:5070;transport=tcp").as_deref(),
            Some("127.0.0.1:5070")
        );
        assert_eq!(domain_of_registrar("nonsense"), None);
    }
}
