//! RFC 4475 / RFC 5118 torture messages at parser level, as MANIFEST.tsv says.

use switchboard_sip::message::{Message, Version};
use switchboard_testkit::corpus::{Expected, TORTURE_CASES, torture_cases};

/// Files where the RFC allows a liberal reading: either outcome is fine.
const LIBERAL: &[&str] = &["baddate", "regbadct", "badaspec", "baddn"];

#[test]
fn every_torture_message_is_handled_as_the_manifest_says() {
    let Some(cases) = torture_cases() else { return };
    assert_eq!(cases.len(), TORTURE_CASES, "every message of the corpus");
    let class = |e: Expected| cases.iter().filter(|c| c.expected == e).count();
    assert_eq!(
        (
            class(Expected::ValidMustParse),
            class(Expected::InvalidMustReject),
            class(Expected::ValidButUnusual)
        ),
        (21, 24, 17),
        "the manifest's classes: valid, invalid, valid but unusual"
    );
    let mut failures = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    for case in &cases {
        let parsed = Message::parse(&case.bytes);
        let accepted = match &parsed {
            Ok(Message::Request(r)) => r.version == Version::SIP_2_0,
            Ok(Message::Response(r)) => r.version == Version::SIP_2_0,
            Err(_) => false,
        };
        let ok = match case.expected {
            Expected::ValidMustParse | Expected::ValidButUnusual => accepted,
            Expected::InvalidMustReject => !accepted || LIBERAL.contains(&case.name()),
        };
        if let Ok(m) = &parsed {
            // Round-trip oracle: print, parse again, same message.
            let again = Message::parse(&m.to_bytes());
            if again.as_ref() != Ok(m) {
                failures.push(format!("{}: round trip differs: {again:?}", case.file));
            }
        }
        let c = counts
            .entry(format!("{:?}", case.expected))
            .or_insert((0, 0));
        if ok {
            c.0 += 1
        } else {
            c.1 += 1
        }
        if !ok {
            failures.push(format!(
                "{} ({:?}): {:?}",
                case.file,
                case.expected,
                parsed.err()
            ));
        }
    }
    eprintln!("torture parse results (ok, failed) per class: {counts:?}");
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn dblreq_yields_only_the_first_request() {
    let Some(cases) = torture_cases() else { return };
    let case = cases
        .iter()
        .find(|c| c.name() == "dblreq")
        .expect("dblreq in manifest");
    let Ok(Message::Request(r)) = Message::parse(&case.bytes) else {
        panic!("dblreq must parse")
    };
    assert_eq!(r.method.as_str(), "REGISTER");
    assert!(r.body.is_empty());
}

#[test]
fn escnull_keeps_the_nul() {
    let Some(cases) = torture_cases() else { return };
    let case = cases
        .iter()
        .find(|c| c.name() == "escnull")
        .expect("escnull in manifest");
    let Ok(Message::Request(r)) = Message::parse(&case.bytes) else {
        panic!("escnull must parse")
    };
    let to = r.to().unwrap();
    let user = to.uri.as_sip().unwrap().user_unescaped().unwrap();
    assert!(user.contains('\0'), "{user:?}");
    assert!(user.len() > 5);
}

#[test]
fn mpart01_keeps_binary_body_bytes() {
    let Some(cases) = torture_cases() else { return };
    let case = cases
        .iter()
        .find(|c| c.name() == "mpart01")
        .expect("mpart01 in manifest");
    let Ok(Message::Request(r)) = Message::parse(&case.bytes) else {
        panic!("mpart01 must parse")
    };
    let cl: usize = r.headers.get("Content-Length").unwrap().parse().unwrap();
    assert_eq!(r.body.len(), cl);
    assert!(r.body.iter().any(|b| *b >= 0x80), "binary part lost");
}

#[test]
#[ignore = "diagnostic listing"]
fn list_outcomes() {
    let Some(cases) = torture_cases() else { return };
    for c in &cases {
        eprintln!("{:32} {:?}", c.file, Message::parse(&c.bytes).map(|_| ()));
    }
}
