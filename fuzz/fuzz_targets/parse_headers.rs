//! The header grammar on its own: `Uri` (header and Request-URI forms),
//! `Host`, `NameAddr`, `Via`, `CSeq`, `Params`, the scalar parsers and
//! `split_list`, each fed the whole input and every list element of it.
//!
//! Oracles: nothing panics; whatever parses prints (`Display`) to text that
//! parses back to the same value; a Request-URI is also a valid header URI
//! with the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_sip::header::{
    CSeq, NameAddr, Params, Via, parse_delta_seconds, parse_max_forwards, split_list,
};
use switchboard_sip::uri::{Host, Uri, unescape};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    one_value(s);
    for part in split_list(s) {
        one_value(part);
    }
});

fn one_value(s: &str) {
    uri(s);
    host(s);
    name_addr(s);
    via(s);
    cseq(s);
    params(s);
    scalars(s);
}

fn uri(s: &str) {
    let header_form = Uri::parse(s);
    if let Ok(u) = &header_form {
        let printed = u.to_string();
        assert_eq!(
            Uri::parse(&printed).as_ref(),
            Ok(u),
            "Uri round trip: {s:?} printed as {printed:?}"
        );
        if let Some(sip) = u.as_sip() {
            let _ = sip.user_unescaped();
            let _ = sip.transport();
            if let Some(user) = &sip.user {
                let _ = unescape(user);
            }
        }
    }
    if let Ok(r) = Uri::parse_request_uri(s) {
        assert_eq!(
            header_form.as_ref(),
            Ok(&r),
            "a Request-URI must parse the same as a header URI: {s:?}"
        );
        let printed = r.to_string();
        assert_eq!(
            Uri::parse_request_uri(&printed).as_ref(),
            Ok(&r),
            "Request-URI round trip: {s:?} printed as {printed:?}"
        );
    }
}

fn host(s: &str) {
    if let Ok(h) = Host::parse(s) {
        let printed = h.to_string();
        let again = Host::parse(&printed);
        assert_eq!(
            again.as_ref(),
            Ok(&h),
            "Host round trip: {s:?} printed as {printed:?}"
        );
        assert!(h.eq_ignore_case(&h));
    }
}

fn name_addr(s: &str) {
    if let Ok(n) = NameAddr::parse(s) {
        let printed = n.to_string();
        assert_eq!(
            NameAddr::parse(&printed).as_ref(),
            Ok(&n),
            "NameAddr round trip: {s:?} printed as {printed:?}"
        );
        assert_eq!(n.tag(), n.param("tag").flatten());
    }
}

fn via(s: &str) {
    if let Ok(v) = Via::parse(s) {
        let printed = v.to_string();
        assert_eq!(
            Via::parse(&printed).as_ref(),
            Ok(&v),
            "Via round trip: {s:?} printed as {printed:?}"
        );
        // A present `received` was validated by the parser, so it reads back.
        if v.params.get("received").is_some() {
            assert!(
                v.received().is_some(),
                "received accepted but unreadable: {s:?}"
            );
        }
        if let Some(Some(_)) = v.params.get("rport") {
            assert!(
                matches!(v.rport(), Some(Some(_))),
                "rport accepted but unreadable: {s:?}"
            );
        }
        let _ = v.has_rfc3261_branch();
    }
}

fn cseq(s: &str) {
    if let Ok(c) = CSeq::parse(s) {
        assert!(c.seq < 1 << 31, "CSeq above 2^31-1 accepted: {s:?}");
        let printed = c.to_string();
        assert_eq!(
            CSeq::parse(&printed).as_ref(),
            Ok(&c),
            "CSeq round trip: {s:?} printed as {printed:?}"
        );
    }
}

fn params(s: &str) {
    if let Ok(p) = Params::parse(s) {
        let printed = p.to_string();
        assert_eq!(
            Params::parse(&printed).as_ref(),
            Ok(&p),
            "Params round trip: {s:?} printed as {printed:?}"
        );
    }
}

fn scalars(s: &str) {
    if let Ok(m) = parse_max_forwards(s) {
        assert_eq!(parse_max_forwards(&m.to_string()), Ok(m));
    }
    if let Ok(d) = parse_delta_seconds(s) {
        assert_eq!(parse_delta_seconds(&d.to_string()), Ok(d));
    }
}
