//! Typed accessors for the headers a user agent and an agent desktop read.
//!
//! Every accessor returns `Ok(None)` (or an empty list) when the header is
//! absent and [`TypedError`] naming the header when it is present but
//! malformed, so a caller can answer 400 with the header's name or show the
//! raw value instead. Values are parsed on demand from the stored text;
//! nothing is cached, nothing is allocated for a header nobody asks for.
//!
//! | header | accessor | type |
//! |---|---|---|
//! | Contact | [`Headers::contacts`] | [`Contacts`] |
//! | Route, Record-Route | [`Headers::route`], [`Headers::record_route`] | `Vec<NameAddr>` |
//! | Max-Forwards | [`Headers::max_forwards`] | `u8` |
//! | Content-Type, Content-Length | [`Headers::content_type`], [`Headers::content_length`] | [`MediaType`], `usize` |
//! | Expires | [`Headers::expires`] | `u32` seconds |
//! | Allow | [`Headers::allow`] | `Vec<Method>` |
//! | Supported, Require | [`Headers::supported`], [`Headers::require`] | option tags |
//! | Refer-To | [`Headers::refer_to`] | `NameAddr` |
//! | Replaces | [`Headers::replaces`] | [`Replaces`] |
//! | Event | [`Headers::event`] | [`EventHeader`] |
//! | Subscription-State | [`Headers::subscription_state`] | [`SubscriptionState`] |
//! | P-Asserted-Identity | [`Headers::p_asserted_identity`] | `Vec<NameAddr>` |
//! | Call-Info, Alert-Info | [`Headers::call_info`], [`Headers::alert_info`] | `Vec<InfoItem>` |
//! | Diversion | [`Headers::diversion`] | `Vec<NameAddr>` (`reason`, `counter` params) |
//! | User-Agent | [`Headers::user_agent`] | `&str` |
//!
//! Via, From, To, CSeq and Call-ID are validated when a message is parsed and
//! read through [`crate::message::Request`] / [`crate::message::Response`];
//! the authentication headers through [`crate::auth::Challenge`].

use std::fmt;

use crate::header::{
    HeaderError, NameAddr, Params, is_token_char, parse_delta_seconds, parse_max_forwards,
};
use crate::message::{Headers, Method};
use crate::uri::Uri;

/// A header that is present but malformed: which one, and what is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypedError {
    /// The header's long name.
    pub header: &'static str,
    /// What is wrong with it.
    pub error: HeaderError,
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed {} header: {}", self.header, self.error)
    }
}

impl std::error::Error for TypedError {}

fn err(header: &'static str) -> impl Fn(HeaderError) -> TypedError {
    move |error| TypedError { header, error }
}

/// The Contact header of a request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts {
    /// `Contact: *` (only meaningful in a REGISTER that removes all bindings).
    Star,
    /// One or more addresses, in order.
    Addrs(Vec<NameAddr>),
}

/// A `Content-Type` value: `type/subtype;params`, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// The top-level type, lower-cased (`application`).
    pub kind: String,
    /// The subtype, lower-cased (`sdp`).
    pub subtype: String,
    /// Parameters (`charset`, `boundary` ...).
    pub params: Params,
}

impl MediaType {
    /// Parses `type/subtype *(; param)`.
    pub fn parse(s: &str) -> Result<MediaType, HeaderError> {
        let (essence, params) = match s.find(';') {
            Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
            None => (s, ""),
        };
        let (kind, subtype) = essence.split_once('/').ok_or(HeaderError::BadValue)?;
        let (kind, subtype) = (kind.trim(), subtype.trim());
        let token = |t: &str| !t.is_empty() && t.bytes().all(is_token_char);
        if !token(kind) || !token(subtype) {
            return Err(HeaderError::BadValue);
        }
        Ok(MediaType {
            kind: kind.to_ascii_lowercase(),
            subtype: subtype.to_ascii_lowercase(),
            params: Params::parse(params)?,
        })
    }

    /// Whether this is `kind/subtype` (case-insensitive).
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.kind, self.subtype, self.params)
    }
}

/// The Replaces header (RFC 3891): which dialog a new INVITE replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// The Call-ID of the dialog to replace.
    pub call_id: String,
    /// `to-tag`: the replaced dialog's tag at the side receiving this INVITE.
    pub to_tag: String,
    /// `from-tag`: the tag of the party that sent the replaced dialog's requests.
    pub from_tag: String,
    /// `early-only`: replace only a dialog that is not yet confirmed.
    pub early_only: bool,
}

impl Replaces {
    /// Parses `callid;to-tag=..;from-tag=..[;early-only]`.
    pub fn parse(s: &str) -> Result<Replaces, HeaderError> {
        let (call_id, params) = match s.find(';') {
            Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
            None => (s, ""),
        };
        let call_id = call_id.trim();
        if call_id.is_empty() || call_id.bytes().any(|b| b <= b' ') {
            return Err(HeaderError::BadValue);
        }
        let params = Params::parse(params)?;
        let tag = |n: &str| params.get(n).flatten().map(str::to_owned);
        Ok(Replaces {
            call_id: call_id.to_owned(),
            to_tag: tag("to-tag").ok_or(HeaderError::BadParameter)?,
            from_tag: tag("from-tag").ok_or(HeaderError::BadParameter)?,
            early_only: params.get("early-only").is_some(),
        })
    }
}

/// The Event header (RFC 6665): a package name, an optional id, parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHeader {
    /// The event package (`refer`, `dialog`, `message-summary`), lower-cased.
    pub package: String,
    /// Parameters, including `id`.
    pub params: Params,
}

impl EventHeader {
    /// Parses `package[.template] *(; param)`.
    pub fn parse(s: &str) -> Result<EventHeader, HeaderError> {
        let (package, params) = token_then_params(s)?;
        Ok(EventHeader {
            package: package.to_ascii_lowercase(),
            params,
        })
    }

    /// The `id` parameter (REFER subscriptions carry the REFER's CSeq there).
    pub fn id(&self) -> Option<&str> {
        self.params.get("id").flatten()
    }
}

/// The state of a subscription (RFC 6665 §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubState {
    /// `active`.
    Active,
    /// `pending`.
    Pending,
    /// `terminated`.
    Terminated,
    /// An extension value, lower-cased.
    Other(String),
}

/// The Subscription-State header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// The state.
    pub state: SubState,
    /// `expires`, seconds.
    pub expires: Option<u32>,
    /// `reason` (`noresource`, `timeout` ...).
    pub reason: Option<String>,
    /// `retry-after`, seconds.
    pub retry_after: Option<u32>,
}

impl SubscriptionState {
    /// Parses `state *(; param)`.
    pub fn parse(s: &str) -> Result<SubscriptionState, HeaderError> {
        let (state, params) = token_then_params(s)?;
        let state = match state.to_ascii_lowercase().as_str() {
            "active" => SubState::Active,
            "pending" => SubState::Pending,
            "terminated" => SubState::Terminated,
            other => SubState::Other(other.to_owned()),
        };
        let seconds = |n: &str| -> Result<Option<u32>, HeaderError> {
            match params.get(n) {
                None => Ok(None),
                Some(None) => Err(HeaderError::BadParameter),
                Some(Some(v)) => parse_delta_seconds(v).map(Some),
            }
        };
        Ok(SubscriptionState {
            expires: seconds("expires")?,
            retry_after: seconds("retry-after")?,
            reason: params.get("reason").flatten().map(str::to_ascii_lowercase),
            state,
        })
    }
}

/// One element of Call-Info or Alert-Info: `<absoluteURI>` with parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoItem {
    /// The URI (often `http:`, `urn:` or `cid:`).
    pub uri: Uri,
    /// Parameters (`purpose`, `answer-after` ...).
    pub params: Params,
}

impl InfoItem {
    /// Parses `<uri> *(; param)`; the brackets are required (RFC 3261 §20.9).
    pub fn parse(s: &str) -> Result<InfoItem, HeaderError> {
        let s = s.trim();
        if !s.starts_with('<') {
            return Err(HeaderError::BadBrackets);
        }
        let na = NameAddr::parse(s)?;
        Ok(InfoItem {
            uri: na.uri,
            params: na.params,
        })
    }

    /// The `purpose` parameter of Call-Info (`icon`, `info`, `card` ...).
    pub fn purpose(&self) -> Option<&str> {
        self.params.get("purpose").flatten()
    }
}

fn token_then_params(s: &str) -> Result<(&str, Params), HeaderError> {
    let (tok, params) = match s.find(';') {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or("")),
        None => (s, ""),
    };
    let tok = tok.trim();
    if tok.is_empty() {
        return Err(HeaderError::Empty);
    }
    if !tok.bytes().all(is_token_char) {
        return Err(HeaderError::BadValue);
    }
    Ok((tok, Params::parse(params)?))
}

impl Headers {
    fn name_addrs(&self, name: &'static str) -> Result<Vec<NameAddr>, TypedError> {
        self.list(name)
            .map(|v| NameAddr::parse(v).map_err(err(name)))
            .collect()
    }

    fn one<T>(
        &self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, HeaderError>,
    ) -> Result<Option<T>, TypedError> {
        self.get(name).map(parse).transpose().map_err(err(name))
    }

    fn tokens(&self, name: &'static str) -> Result<Vec<&str>, TypedError> {
        self.list(name)
            .filter(|t| !t.is_empty())
            .map(|t| {
                if t.bytes().all(is_token_char) {
                    Ok(t)
                } else {
                    Err(err(name)(HeaderError::BadValue))
                }
            })
            .collect()
    }

    /// Contact: `*` or the addresses, `None` when absent.
    pub fn contacts(&self) -> Result<Option<Contacts>, TypedError> {
        let values: Vec<&str> = self.list("Contact").collect();
        match values.as_slice() {
            [] => Ok(None),
            ["*"] => Ok(Some(Contacts::Star)),
            _ if values.contains(&"*") => Err(err("Contact")(HeaderError::BadValue)),
            _ => self.name_addrs("Contact").map(|a| Some(Contacts::Addrs(a))),
        }
    }

    /// Route set, topmost first.
    pub fn route(&self) -> Result<Vec<NameAddr>, TypedError> {
        self.name_addrs("Route")
    }

    /// Record-Route set, topmost first.
    pub fn record_route(&self) -> Result<Vec<NameAddr>, TypedError> {
        self.name_addrs("Record-Route")
    }

    /// Max-Forwards (0–255).
    pub fn max_forwards(&self) -> Result<Option<u8>, TypedError> {
        self.one("Max-Forwards", parse_max_forwards)
    }

    /// Content-Type.
    pub fn content_type(&self) -> Result<Option<MediaType>, TypedError> {
        self.one("Content-Type", MediaType::parse)
    }

    /// Content-Length in bytes.
    pub fn content_length(&self) -> Result<Option<usize>, TypedError> {
        self.one("Content-Length", |v| {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HeaderError::OutOfRange);
            }
            v.parse().map_err(|_| HeaderError::OutOfRange)
        })
    }

    /// Expires in seconds (RFC 3261 §20.19: delta-seconds).
    pub fn expires(&self) -> Result<Option<u32>, TypedError> {
        self.one("Expires", parse_delta_seconds)
    }

    /// Allow: the methods the peer accepts (extension methods included).
    pub fn allow(&self) -> Result<Vec<Method>, TypedError> {
        self.list("Allow")
            .filter(|t| !t.is_empty())
            .map(|t| Method::parse(t).ok_or(err("Allow")(HeaderError::BadValue)))
            .collect()
    }

    /// Supported option tags (`replaces`, `timer`, `100rel` ...).
    pub fn supported(&self) -> Result<Vec<&str>, TypedError> {
        self.tokens("Supported")
    }

    /// Require option tags.
    pub fn require(&self) -> Result<Vec<&str>, TypedError> {
        self.tokens("Require")
    }

    /// Refer-To (RFC 3515); its URI may carry `?Replaces=` for attended transfer.
    pub fn refer_to(&self) -> Result<Option<NameAddr>, TypedError> {
        self.one("Refer-To", NameAddr::parse)
    }

    /// Replaces (RFC 3891).
    pub fn replaces(&self) -> Result<Option<Replaces>, TypedError> {
        self.one("Replaces", Replaces::parse)
    }

    /// Event (RFC 6665).
    pub fn event(&self) -> Result<Option<EventHeader>, TypedError> {
        self.one("Event", EventHeader::parse)
    }

    /// Subscription-State (RFC 6665).
    pub fn subscription_state(&self) -> Result<Option<SubscriptionState>, TypedError> {
        self.one("Subscription-State", SubscriptionState::parse)
    }

    /// P-Asserted-Identity (RFC 3325): the caller as the network vouches for it.
    pub fn p_asserted_identity(&self) -> Result<Vec<NameAddr>, TypedError> {
        self.name_addrs("P-Asserted-Identity")
    }

    /// Call-Info items (RFC 3261 §20.9).
    pub fn call_info(&self) -> Result<Vec<InfoItem>, TypedError> {
        self.list("Call-Info")
            .map(|v| InfoItem::parse(v).map_err(err("Call-Info")))
            .collect()
    }

    /// Alert-Info items (RFC 3261 §20.4), e.g. a distinctive ring.
    pub fn alert_info(&self) -> Result<Vec<InfoItem>, TypedError> {
        self.list("Alert-Info")
            .map(|v| InfoItem::parse(v).map_err(err("Alert-Info")))
            .collect()
    }

    /// Diversion (RFC 5806): who forwarded the call, most recent first.
    pub fn diversion(&self) -> Result<Vec<NameAddr>, TypedError> {
        self.name_addrs("Diversion")
    }

    /// User-Agent, as written (free text).
    pub fn user_agent(&self) -> Option<&str> {
        self.get("User-Agent")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn headers(extra: &str) -> Headers {
        let text = format!(
            "INVITE sip:bob@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\n\
             To: <sip:bob@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        );
        Message::parse(text.as_bytes()).unwrap().headers().clone()
    }

    #[test]
    fn contact_star_and_addresses() {
        let h = headers("");
        assert_eq!(h.contacts().unwrap(), None);
        let h = headers("Contact: *\r\n");
        assert_eq!(h.contacts().unwrap(), Some(Contacts::Star));
        let h =
            headers("m: \"Bob, Jr.\" <sip:bob@192.0.2.4;transport=tcp>;expires=60, sip:b2@h\r\n");
        let Some(Contacts::Addrs(a)) = h.contacts().unwrap() else {
            panic!("addresses expected")
        };
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].display.as_deref(), Some("Bob, Jr."));
        assert_eq!(a[0].param("expires"), Some(Some("60")));
        assert_eq!(a[1].uri.to_string(), "sip:b2@h");
    }

    #[test]
    fn malformed_header_names_itself() {
        let h = headers("Refer-To: <sip:carol@example.com\r\n");
        let e = h.refer_to().unwrap_err();
        assert_eq!(e.header, "Refer-To");
        assert!(e.to_string().contains("Refer-To"), "{e}");
    }

    #[test]
    fn routes_in_order_across_fields() {
        let h = headers(
            "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
             Record-Route: <sip:p3.example.com;lr>\r\nRoute: <sip:edge;lr>\r\n",
        );
        let rr: Vec<String> = h
            .record_route()
            .unwrap()
            .iter()
            .map(|n| n.uri.to_string())
            .collect();
        assert_eq!(
            rr,
            [
                "sip:p1.example.com;lr",
                "sip:p2.example.com;lr",
                "sip:p3.example.com;lr"
            ]
        );
        assert_eq!(h.route().unwrap().len(), 1);
    }

    #[test]
    fn content_type_is_case_insensitive_with_params() {
        let h = headers("c: Multipart/Mixed; boundary=\"unique-boundary-1\"\r\n");
        let ct = h.content_type().unwrap().unwrap();
        assert!(ct.is("multipart", "mixed"));
        assert_eq!(ct.params.get("boundary"), Some(Some("unique-boundary-1")));
        assert_eq!(h.content_length().unwrap(), Some(0));
        assert!(
            headers("Content-Type: sdp\r\n")
                .content_type()
                .unwrap_err()
                .header
                == "Content-Type"
        );
    }

    #[test]
    fn option_tags_and_allow() {
        let h = headers(
            "Supported: replaces, timer\r\nk: 100rel\r\nRequire: \r\n\
             Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, FOOBAR\r\n",
        );
        assert_eq!(h.supported().unwrap(), ["replaces", "timer", "100rel"]);
        assert!(h.require().unwrap().is_empty());
        let allow = h.allow().unwrap();
        assert_eq!(allow.len(), 7);
        assert!(allow.contains(&Method::Refer));
        assert_eq!(allow.last().map(Method::as_str), Some("FOOBAR"));
        assert!(headers("Supported: a b\r\n").supported().is_err());
    }

    #[test]
    fn transfer_headers() {
        let h = headers(
            "Refer-To: <sip:carol@example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>\r\n\
             Replaces: 98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only\r\n",
        );
        let r = h.refer_to().unwrap().unwrap();
        assert!(r.uri.to_string().contains("Replaces="));
        let rep = h.replaces().unwrap().unwrap();
        assert_eq!(rep.call_id, "98732@sip.example.com");
        assert_eq!(rep.from_tag, "r33th4x0r");
        assert_eq!(rep.to_tag, "ff87ff");
        assert!(rep.early_only);
        assert!(
            headers("Replaces: abc;to-tag=1\r\n").replaces().is_err(),
            "from-tag is mandatory"
        );
    }

    #[test]
    fn event_and_subscription_state() {
        let h = headers(
            "o: refer;id=93809824\r\n\
             Subscription-State: terminated;reason=noresource;retry-after=30\r\n",
        );
        let ev = h.event().unwrap().unwrap();
        assert_eq!(ev.package, "refer");
        assert_eq!(ev.id(), Some("93809824"));
        let st = h.subscription_state().unwrap().unwrap();
        assert_eq!(st.state, SubState::Terminated);
        assert_eq!(st.reason.as_deref(), Some("noresource"));
        assert_eq!(st.retry_after, Some(30));
        assert_eq!(st.expires, None);
        let active = headers("Subscription-State: active;expires=abc\r\n");
        assert!(active.subscription_state().is_err());
    }

    #[test]
    fn caller_identity_and_info() {
        let h = headers(
            "P-Asserted-Identity: \"Mari Maasikas\" <sip:+3725551234@pbx.example.ee>, <tel:+3725551234>\r\n\
             Call-Info: <http://www.example.com/alice/photo.jpg> ;purpose=icon, <https://crm.example.com/c/42>;purpose=info\r\n\
             Alert-Info: <urn:alert:service:call-waiting>\r\n\
             Diversion: <sip:100@pbx.example.ee>;reason=no-answer;counter=1\r\n\
             User-Agent: Switchboard/0.1 (test)\r\n",
        );
        let pai = h.p_asserted_identity().unwrap();
        assert_eq!(pai[0].display.as_deref(), Some("Mari Maasikas"));
        assert_eq!(pai[1].uri.to_string(), "tel:+3725551234");
        let ci = h.call_info().unwrap();
        assert_eq!(ci[0].purpose(), Some("icon"));
        assert_eq!(ci[1].uri.to_string(), "https://crm.example.com/c/42");
        assert_eq!(
            h.alert_info().unwrap()[0].uri.to_string(),
            "urn:alert:service:call-waiting"
        );
        let d = h.diversion().unwrap();
        assert_eq!(d[0].param("reason"), Some(Some("no-answer")));
        assert_eq!(h.user_agent(), Some("Switchboard/0.1 (test)"));
        assert!(headers("Call-Info: http://x/y\r\n").call_info().is_err());
    }

    #[test]
    fn expires_and_max_forwards() {
        let h = headers("Expires: 3600\r\n");
        assert_eq!(h.expires().unwrap(), Some(3600));
        assert_eq!(h.max_forwards().unwrap(), Some(70));
        let mut bad = Headers::new();
        bad.push("Expires", "soon");
        bad.push("Max-Forwards", "300");
        assert_eq!(bad.expires().unwrap_err().header, "Expires");
        assert_eq!(bad.max_forwards().unwrap_err().header, "Max-Forwards");
    }
}
