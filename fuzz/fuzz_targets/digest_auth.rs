//! Digest authentication (`auth.rs`): `Challenge::parse`, `Challenge::best`,
//! `DigestClient` and `digest_response`.
//!
//! Input: lines separated by `\n`. With six lines or more, the first five are
//! username, password, method, request URI and cnonce, and the rest are
//! WWW-Authenticate / Proxy-Authenticate values; with fewer, every line is a
//! challenge and fixed credentials are used.
//!
//! Oracles: nothing panics; `best` picks a challenge exactly when one parses
//! and none stronger was passed over; the nonce count starts at 1, counts up
//! and restarts with a new nonce; the Authorization value we print is itself
//! readable by our own parser and carries back the challenge's realm, nonce,
//! opaque, algorithm and qop (a check on the quoting of what we echo).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_sip::auth::{Algorithm, Challenge, DigestClient, digest_response};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.split('\n').collect();
    let (creds, challenges) = match lines.split_at_checked(5) {
        Some((c, rest)) if !rest.is_empty() => (c.to_vec(), rest.to_vec()),
        _ => (
            vec!["alice", "secret", "REGISTER", "sip:example.com", "0a4f113b"],
            lines.clone(),
        ),
    };
    let [user, password, method, uri, cnonce] = creds[..] else {
        return;
    };

    let parsed: Vec<Challenge> = challenges
        .iter()
        .filter_map(|v| Challenge::parse(v).ok().flatten())
        .collect();
    let best = Challenge::best(challenges.iter().copied());
    match &best {
        None => assert!(parsed.is_empty(), "best found nothing among {parsed:?}"),
        Some(b) => {
            assert!(
                parsed.contains(b),
                "best is not one of the parsed challenges"
            );
            let strongest = parsed.iter().map(|c| strength(c.algorithm)).max();
            assert_eq!(
                Some(strength(b.algorithm)),
                strongest,
                "best passed over a stronger one"
            );
        }
    }

    for c in &parsed {
        check_client(c, user, password, method, uri, cnonce);
        check_echo(c, user, password, method, uri, cnonce);
    }
});

fn strength(a: Algorithm) -> u8 {
    match a {
        Algorithm::Md5 | Algorithm::Md5Sess => 1,
        Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
    }
}

fn check_client(c: &Challenge, user: &str, password: &str, method: &str, uri: &str, cnonce: &str) {
    let mut d = DigestClient::new(user, password);
    assert!(
        d.credentials(method, uri, cnonce).is_none(),
        "credentials before a challenge"
    );
    d.set_challenge(c.clone());
    assert_eq!(d.challenge(), Some(c));
    let first = d
        .credentials(method, uri, cnonce)
        .expect("credentials after a challenge");
    let second = d
        .credentials(method, uri, cnonce)
        .expect("credentials after a challenge");
    assert_eq!(
        first.to_string(),
        digest_response(c, user, password, method, uri, cnonce, 1),
        "the first use of a nonce is nc=1"
    );
    assert_eq!(
        second.to_string(),
        digest_response(c, user, password, method, uri, cnonce, 2),
        "the second use of a nonce is nc=2"
    );
    if c.qop_auth {
        assert!(first.to_string().contains("nc=00000001"), "{first}");
        assert!(second.to_string().contains("nc=00000002"), "{second}");
    } else {
        assert_eq!(
            first, second,
            "without qop the nonce count is not part of the answer"
        );
    }
    // The same nonce again keeps counting; a new one starts over.
    d.set_challenge(c.clone());
    let third = d.credentials(method, uri, cnonce).expect("credentials");
    assert_eq!(
        third.to_string(),
        digest_response(c, user, password, method, uri, cnonce, 3)
    );
    let fresh = Challenge {
        nonce: format!("{}x", c.nonce),
        ..c.clone()
    };
    d.set_challenge(fresh.clone());
    let restarted = d.credentials(method, uri, cnonce).expect("credentials");
    assert_eq!(
        restarted.to_string(),
        digest_response(&fresh, user, password, method, uri, cnonce, 1),
        "a new nonce restarts the count"
    );
}

/// Our Authorization value, read back by our own parser, names the same
/// realm, nonce, opaque, algorithm and qop as the challenge it answers.
fn check_echo(c: &Challenge, user: &str, password: &str, method: &str, uri: &str, cnonce: &str) {
    let value = digest_response(c, user, password, method, uri, cnonce, 1);
    let back = Challenge::parse(&value);
    let Ok(Some(back)) = back else {
        panic!("our Authorization value does not parse: {value:?} -> {back:?} (challenge {c:?})");
    };
    assert_eq!(back.realm, c.realm, "realm echoed as {value:?}");
    assert_eq!(back.nonce, c.nonce, "nonce echoed as {value:?}");
    assert_eq!(back.opaque, c.opaque, "opaque echoed as {value:?}");
    assert_eq!(back.algorithm, c.algorithm, "algorithm echoed as {value:?}");
    assert_eq!(back.qop_auth, c.qop_auth, "qop echoed as {value:?}");
}
