//! The typed accessors of `typed.rs` on a `Headers` built from the input.
//!
//! Input: fields separated by `\n`; the first byte of a field picks its name
//! from `NAMES` (long and compact forms), the rest is the value. Every
//! accessor is then called.
//!
//! Oracles: nothing panics; an absent header reads as `None` / empty; a list
//! accessor returns one item per list element; what parses prints back to
//! the same value (`NameAddr`, `MediaType`, Call-Info/Alert-Info items,
//! methods); option tags are tokens; lower-cased fields are lower case; no
//! stored value keeps a control character; a Replaces value carried in a
//! Refer-To URI (`escape_header_value`, `split_refer_to`) comes back intact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_sip::header::{NameAddr, is_token_char};
use switchboard_sip::message::{Headers, Method};
use switchboard_sip::typed::{Contacts, InfoItem, MediaType, SubState};
use switchboard_sip::ua::{escape_header_value, split_refer_to};
use switchboard_sip::uri::Uri;

const NAMES: &[&str] = &[
    "Contact",
    "m",
    "Route",
    "Record-Route",
    "Max-Forwards",
    "Content-Type",
    "c",
    "Content-Length",
    "l",
    "Expires",
    "Allow",
    "Supported",
    "k",
    "Require",
    "Refer-To",
    "r",
    "Replaces",
    "Event",
    "o",
    "Subscription-State",
    "P-Asserted-Identity",
    "Call-Info",
    "Alert-Info",
    "Diversion",
    "User-Agent",
    "Referred-By",
    "Via",
];

fuzz_target!(|data: &[u8]| {
    let mut h = Headers::new();
    for field in data.split(|b| *b == b'\n') {
        let Some((sel, value)) = field.split_first() else {
            continue;
        };
        let name = NAMES[usize::from(*sel) % NAMES.len()];
        h.push(name, String::from_utf8_lossy(value).into_owned());
    }
    for f in h.iter() {
        assert!(
            !f.value.chars().any(|c| c != '\t' && c.is_control()),
            "a control character kept in {f:?}"
        );
    }
    check(&h);
});

fn list_len(h: &Headers, name: &str) -> usize {
    h.list(name).count()
}

fn round_trip(n: &NameAddr) {
    let printed = n.to_string();
    assert_eq!(
        NameAddr::parse(&printed).as_ref(),
        Ok(n),
        "NameAddr round trip: printed as {printed:?}"
    );
}

fn name_addrs(
    h: &Headers,
    name: &str,
    got: Result<Vec<NameAddr>, switchboard_sip::typed::TypedError>,
) {
    match got {
        Ok(v) => {
            assert_eq!(
                v.len(),
                list_len(h, name),
                "{name}: one address per list element"
            );
            v.iter().for_each(round_trip);
        }
        Err(e) => {
            assert_eq!(e.header, name, "error names another header");
            assert!(list_len(h, name) > 0, "{name}: error for an absent header");
        }
    }
}

fn info_items(
    h: &Headers,
    name: &str,
    got: Result<Vec<InfoItem>, switchboard_sip::typed::TypedError>,
) {
    match got {
        Ok(v) => {
            assert_eq!(
                v.len(),
                list_len(h, name),
                "{name}: one item per list element"
            );
            for i in &v {
                let printed = format!("<{}>{}", i.uri, i.params);
                assert_eq!(
                    InfoItem::parse(&printed).as_ref(),
                    Ok(i),
                    "{name} item printed as {printed:?}"
                );
                let _ = i.purpose();
            }
        }
        Err(e) => {
            assert_eq!(e.header, name);
            assert!(list_len(h, name) > 0, "{name}: error for an absent header");
        }
    }
}

fn check(h: &Headers) {
    let present = |name: &str| h.get(name).is_some();

    match h.contacts() {
        Ok(None) => assert!(!present("Contact")),
        Ok(Some(Contacts::Star)) => {
            assert_eq!(h.list("Contact").collect::<Vec<_>>(), ["*"]);
        }
        Ok(Some(Contacts::Addrs(v))) => {
            assert_eq!(v.len(), list_len(h, "Contact"));
            v.iter().for_each(round_trip);
        }
        Err(e) => assert_eq!(e.header, "Contact"),
    }
    name_addrs(h, "Route", h.route());
    name_addrs(h, "Record-Route", h.record_route());
    name_addrs(h, "P-Asserted-Identity", h.p_asserted_identity());
    name_addrs(h, "Diversion", h.diversion());
    info_items(h, "Call-Info", h.call_info());
    info_items(h, "Alert-Info", h.alert_info());

    if let Ok(v) = h.max_forwards() {
        assert_eq!(v.is_some(), present("Max-Forwards"));
    }
    if let Ok(v) = h.expires() {
        assert_eq!(v.is_some(), present("Expires"));
    }
    if let Ok(v) = h.content_length() {
        assert_eq!(v.is_some(), present("Content-Length"));
    }
    match h.content_type() {
        Ok(Some(ct)) => {
            assert_eq!(ct.kind, ct.kind.to_ascii_lowercase());
            assert_eq!(ct.subtype, ct.subtype.to_ascii_lowercase());
            assert!(ct.is(&ct.kind.to_ascii_uppercase(), &ct.subtype));
            let printed = ct.to_string();
            assert_eq!(
                MediaType::parse(&printed).as_ref(),
                Ok(&ct),
                "Content-Type printed as {printed:?}"
            );
        }
        Ok(None) => assert!(!present("Content-Type")),
        Err(e) => assert_eq!(e.header, "Content-Type"),
    }
    if let Ok(methods) = h.allow() {
        for m in &methods {
            assert_eq!(Method::parse(m.as_str()).as_ref(), Some(m), "method {m:?}");
        }
    }
    for (name, tags) in [("Supported", h.supported()), ("Require", h.require())] {
        if let Ok(tags) = tags {
            for t in tags {
                assert!(
                    !t.is_empty() && t.bytes().all(is_token_char),
                    "{name}: {t:?}"
                );
                assert!(h.has_token(name, t));
            }
        }
    }

    match h.refer_to() {
        Ok(Some(r)) => {
            round_trip(&r);
            refer_to_target(&r.uri);
        }
        Ok(None) => assert!(!present("Refer-To")),
        Err(e) => assert_eq!(e.header, "Refer-To"),
    }
    match h.replaces() {
        Ok(Some(r)) => {
            assert!(!r.call_id.is_empty() && !r.call_id.bytes().any(|b| b <= b' '));
            // What a transferor would put in a Refer-To comes back intact.
            let value = format!(
                "{};to-tag={};from-tag={}{}",
                r.call_id,
                r.to_tag,
                r.from_tag,
                if r.early_only { ";early-only" } else { "" }
            );
            let uri = format!(
                "sip:carol@example.com?Replaces={}",
                escape_header_value(&value)
            );
            let parsed = Uri::parse(&uri).unwrap_or_else(|e| panic!("{uri:?}: {e}"));
            let (_, back) = split_refer_to(&parsed);
            assert_eq!(
                back.as_deref(),
                Some(value.as_str()),
                "Replaces carried as {uri:?}"
            );
        }
        Ok(None) => assert!(!present("Replaces")),
        Err(e) => assert_eq!(e.header, "Replaces"),
    }
    match h.event() {
        Ok(Some(ev)) => {
            assert_eq!(ev.package, ev.package.to_ascii_lowercase());
            assert!(!ev.package.is_empty() && ev.package.bytes().all(is_token_char));
            assert_eq!(ev.id(), ev.params.get("id").flatten());
        }
        Ok(None) => assert!(!present("Event")),
        Err(e) => assert_eq!(e.header, "Event"),
    }
    match h.subscription_state() {
        Ok(Some(st)) => {
            if let SubState::Other(s) = &st.state {
                assert_eq!(*s, s.to_ascii_lowercase());
                assert!(!matches!(s.as_str(), "active" | "pending" | "terminated"));
            }
            if let Some(r) = &st.reason {
                assert_eq!(*r, r.to_ascii_lowercase());
            }
        }
        Ok(None) => assert!(!present("Subscription-State")),
        Err(e) => assert_eq!(e.header, "Subscription-State"),
    }
    assert_eq!(h.user_agent(), h.get("User-Agent"));
}

/// `split_refer_to` takes the headers off a SIP target and keeps the rest.
fn refer_to_target(uri: &Uri) {
    let (target, replaces) = split_refer_to(uri);
    match (uri, &target) {
        (Uri::Sip(before), Uri::Sip(after)) => {
            assert!(after.headers.is_none(), "target keeps ?headers: {target}");
            assert_eq!(after.host, before.host);
            assert_eq!(after.user, before.user);
            assert_eq!(after.params, before.params);
            // The target is a valid Request-URI for the INVITE we would send.
            let printed = target.to_string();
            assert_eq!(
                Uri::parse_request_uri(&printed).as_ref(),
                Ok(&target),
                "Refer-To target {printed:?} is not a Request-URI"
            );
        }
        (Uri::Other { .. }, _) => {
            assert_eq!(&target, uri);
            assert!(replaces.is_none());
        }
        _ => panic!("split_refer_to changed the scheme: {uri} -> {target}"),
    }
}
