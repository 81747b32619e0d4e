#![no_main]
// Arbitrary bytes as a received mail: `message::parse` never panics, what it
// shows is safe text within its caps, and a reply built to it parses back
// threaded (In-Reply-To = the original's Message-ID when it had one).
use switchboard_mail::message::{self, Address, MAX_BODY, MAX_NAME, MAX_SUBJECT};
use switchboard_mail::reply;

fn safe(s: &str) -> bool {
    !s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || message::is_bidi_control(c)
            || message::is_invisible(c)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let m = message::parse(data);
    assert!(safe(&m.text) && m.text.chars().count() <= MAX_BODY);
    assert!(safe(&m.subject) && !m.subject.contains('\n'));
    assert!(m.subject.chars().count() <= MAX_SUBJECT);
    for a in std::iter::once(&m.from).chain(&m.reply_to).chain(&m.to) {
        let name = a.name.as_deref().unwrap_or("");
        assert!(safe(name) && !name.contains('\n') && name.chars().count() <= MAX_NAME);
    }
    for a in &m.attachments {
        assert!(!a.name.contains(['/', '\\']) && !a.name.starts_with('.'));
        let bytes = m.attachment_bytes(data, a);
        assert_eq!(bytes.map(|b| b.len()), Some(a.size), "{}", a.name);
    }
    let from = Address {
        name: Some("Tugi".into()),
        email: "tugi@pood.ee".into(),
    };
    let out = reply::reply(&m, &from, "Tere!", "et");
    let back = message::parse(&out.raw);
    assert_eq!(back.message_id.as_deref(), Some(out.message_id.as_str()));
    assert_eq!(back.in_reply_to, m.message_id);
    assert!(back.subject.starts_with("Re:") && !back.subject.starts_with("Re: Re:"));
});
