//! The dialog event package's body (RFC 4235 §4: `application/dialog-info+xml`)
//! and what a busy lamp shows from it.
//!
//! [`DialogInfo::parse`] reads a NOTIFY body with a real XML parser
//! (quick-xml: namespaces by local name, entities, CDATA and comments as
//! XML has them), keeping only what a lamp needs: the document's version
//! and whether it is full or partial, and each `<dialog>`'s id, direction
//! and `<state>`. Anything else (participants, identities, local and
//! remote targets, elements of other namespaces) is skipped.
//!
//! [`Lamp`] follows one watched line across NOTIFYs (§4.1): a full
//! document replaces what it knew, a partial one changes only the dialogs
//! it names, a version not newer than the last is a duplicate or out of
//! order and is ignored, and a partial one after a gap says so
//! ([`Applied::Gap`]: the watcher refreshes for the full state);
//! [`Lamp::line`] then says what the button shows
//! ([`LineState`]).

use std::collections::BTreeMap;
use std::fmt;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Largest body read (a line with a few dialogs is under 2 KB; the SIP
/// parser's message limit bounds it anyway).
const MAX_BODY: usize = 64 * 1024;

/// At most this many dialogs are kept for one line (a hostile notifier
/// must not grow our memory).
const MAX_DIALOGS: usize = 64;

/// A dialog's state (RFC 4235 §3.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// The INVITE is sent or received, nothing answered.
    Trying,
    /// A provisional without a tag.
    Proceeding,
    /// A provisional with a tag: ringing.
    Early,
    /// Answered: on the phone.
    Confirmed,
    /// Over.
    Terminated,
}

impl DialogState {
    fn parse(s: &str) -> Option<DialogState> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "trying" => DialogState::Trying,
            "proceeding" => DialogState::Proceeding,
            "early" => DialogState::Early,
            "confirmed" => DialogState::Confirmed,
            "terminated" => DialogState::Terminated,
            _ => return None,
        })
    }
}

/// Who began the dialog, seen from the watched line (RFC 4235 §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The line called out.
    Initiator,
    /// The line is called.
    Recipient,
}

/// One `<dialog>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogEntry {
    /// Its `id` attribute.
    pub id: String,
    /// Its `direction` attribute, if any.
    pub direction: Option<Direction>,
    /// Its `<state>`.
    pub state: DialogState,
}

/// A parsed `dialog-info` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogInfo {
    /// `version`: increases by one with each NOTIFY of a subscription.
    pub version: u64,
    /// `state="full"` (else partial: only the dialogs that changed).
    pub full: bool,
    /// `entity`: the watched line's URI.
    pub entity: String,
    /// The dialogs it lists.
    pub dialogs: Vec<DialogEntry>,
}

/// Why a body is not a usable dialog-info document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogInfoError {
    /// Larger than we read.
    TooLarge(usize),
    /// Not well-formed XML (the parser's words).
    Xml(String),
    /// The root is not `dialog-info`.
    NotDialogInfo(String),
    /// A required attribute is missing or wrong.
    Attribute(&'static str),
    /// A `<dialog>` without a `<state>` we know.
    State(String),
}

impl fmt::Display for DialogInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogInfoError::TooLarge(n) => write!(f, "dialog-info body of {n} bytes is too large"),
            DialogInfoError::Xml(e) => write!(f, "dialog-info is not well-formed XML: {e}"),
            DialogInfoError::NotDialogInfo(root) => {
                write!(f, "the document is <{root}>, not <dialog-info>")
            }
            DialogInfoError::Attribute(a) => {
                write!(f, "dialog-info: attribute \"{a}\" missing or invalid")
            }
            DialogInfoError::State(s) => write!(f, "dialog-info: unknown dialog state \"{s}\""),
        }
    }
}

impl std::error::Error for DialogInfoError {}

fn attr(e: &BytesStart<'_>, name: &'static str) -> Result<Option<String>, DialogInfoError> {
    match e.try_get_attribute(name) {
        Ok(Some(a)) => a
            .normalized_value(XmlVersion::default())
            .map(|v| Some(v.into_owned()))
            .map_err(|_| DialogInfoError::Attribute(name)),
        Ok(None) => Ok(None),
        Err(_) => Err(DialogInfoError::Attribute(name)),
    }
}

fn xml_error(e: impl fmt::Display) -> DialogInfoError {
    DialogInfoError::Xml(e.to_string())
}

/// A `<dialog>` being read.
struct Open {
    id: String,
    direction: Option<Direction>,
    state: Option<String>,
    /// Depth of the `<dialog>` element (its `<state>` is the child one below).
    depth: usize,
}

impl DialogInfo {
    /// Parses a NOTIFY body.
    pub fn parse(body: &[u8]) -> Result<DialogInfo, DialogInfoError> {
        if body.len() > MAX_BODY {
            return Err(DialogInfoError::TooLarge(body.len()));
        }
        let mut reader = Reader::from_reader(body);
        reader.config_mut().trim_text(true);
        let mut info: Option<DialogInfo> = None;
        let mut depth = 0usize;
        let mut open: Option<Open> = None;
        let mut in_state = false;
        loop {
            let event = reader.read_event().map_err(xml_error)?;
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(event, Event::Empty(_));
                    let name = e.local_name();
                    let name = name.as_ref();
                    if depth == 0 {
                        if name != b"dialog-info" {
                            return Err(DialogInfoError::NotDialogInfo(
                                String::from_utf8_lossy(name).into_owned(),
                            ));
                        }
                        let version = attr(e, "version")?
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .ok_or(DialogInfoError::Attribute("version"))?;
                        let full = match attr(e, "state")?.as_deref().map(str::trim) {
                            Some("full") => true,
                            Some("partial") => false,
                            _ => return Err(DialogInfoError::Attribute("state")),
                        };
                        let entity = attr(e, "entity")?.unwrap_or_default();
                        info = Some(DialogInfo {
                            version,
                            full,
                            entity,
                            dialogs: Vec::new(),
                        });
                    } else if depth == 1 && name == b"dialog" {
                        let id = attr(e, "id")?.ok_or(DialogInfoError::Attribute("id"))?;
                        let direction = match attr(e, "direction")?.as_deref().map(str::trim) {
                            Some("initiator") => Some(Direction::Initiator),
                            Some("recipient") => Some(Direction::Recipient),
                            _ => None,
                        };
                        if empty {
                            return Err(DialogInfoError::State(String::new()));
                        }
                        open = Some(Open {
                            id,
                            direction,
                            state: None,
                            depth,
                        });
                    } else if name == b"state"
                        && open.as_ref().is_some_and(|o| o.depth + 1 == depth)
                    {
                        in_state = !empty;
                    }
                    if !empty {
                        depth += 1;
                    }
                }
                Event::Text(t) if in_state => {
                    let text = t.decode().map_err(xml_error)?;
                    if let Some(o) = open.as_mut() {
                        o.state.get_or_insert_with(String::new).push_str(&text);
                    }
                }
                // `&#101;arly`, `&amp;` …: character and predefined references.
                Event::GeneralRef(r) if in_state => {
                    let c = match r.resolve_char_ref().map_err(xml_error)? {
                        Some(c) => c,
                        None => match r.decode().map_err(xml_error)?.as_ref() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => {
                                return Err(DialogInfoError::Xml(format!(
                                    "unknown entity &{other}; in <state>"
                                )));
                            }
                        },
                    };
                    if let Some(o) = open.as_mut() {
                        o.state.get_or_insert_with(String::new).push(c);
                    }
                }
                Event::CData(t) if in_state => {
                    let text = t.decode().map_err(xml_error)?;
                    if let Some(o) = open.as_mut() {
                        o.state.get_or_insert_with(String::new).push_str(&text);
                    }
                }
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                    in_state = false;
                    if open.as_ref().is_some_and(|o| o.depth == depth) {
                        let Some(o) = open.take() else { continue };
                        let raw = o.state.unwrap_or_default();
                        let state =
                            DialogState::parse(&raw).ok_or(DialogInfoError::State(raw.clone()))?;
                        if let Some(i) = info.as_mut()
                            && i.dialogs.len() < MAX_DIALOGS
                        {
                            i.dialogs.push(DialogEntry {
                                id: o.id,
                                direction: o.direction,
                                state,
                            });
                        }
                    }
                }
                Event::Eof if depth > 0 => {
                    return Err(DialogInfoError::Xml(format!(
                        "the document ends inside {depth} open elements (not well-formed)"
                    )));
                }
                Event::Eof => break,
                _ => {}
            }
        }
        info.ok_or_else(|| DialogInfoError::Xml("empty document".to_owned()))
    }
}

/// What a busy lamp shows for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// No call.
    Idle,
    /// A call rings there and nobody has answered (a pickup candidate).
    Ringing,
    /// On the phone: a call is answered, or the line is calling out.
    Busy,
}

impl LineState {
    /// Stable name for events and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            LineState::Idle => "idle",
            LineState::Ringing => "ringing",
            LineState::Busy => "busy",
        }
    }
}

/// What a watcher knows of one line, NOTIFY after NOTIFY.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lamp {
    version: Option<u64>,
    dialogs: BTreeMap<String, (Option<Direction>, DialogState)>,
}

/// What [`Lamp::apply`] did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Taken in.
    Taken,
    /// Ignored: a version not newer than the last one seen.
    Old,
    /// A partial document after a gap (a NOTIFY between was lost): taken
    /// in, but what it does not name may be stale: ask for the full state
    /// (RFC 4235 §4.1: refresh the subscription).
    Gap,
}

impl Lamp {
    /// Takes a document in.
    pub fn apply(&mut self, info: &DialogInfo) -> Applied {
        if self.version.is_some_and(|v| info.version <= v) && !info.full {
            return Applied::Old;
        }
        let gap = !info.full
            && self
                .version
                .is_none_or(|v| info.version > v.saturating_add(1));
        if info.full {
            self.dialogs.clear();
        }
        self.version = Some(info.version);
        for d in &info.dialogs {
            if d.state == DialogState::Terminated {
                self.dialogs.remove(&d.id);
            } else if self.dialogs.len() < MAX_DIALOGS || self.dialogs.contains_key(&d.id) {
                self.dialogs.insert(d.id.clone(), (d.direction, d.state));
            }
        }
        if gap { Applied::Gap } else { Applied::Taken }
    }

    /// Forgets the version (a new subscription numbers from its own start).
    pub fn restart(&mut self) {
        self.version = None;
    }

    /// What the button shows: on the phone when any call is answered or
    /// going out, ringing when a call comes in unanswered, else idle.
    pub fn line(&self) -> LineState {
        let mut ringing = false;
        for (direction, state) in self.dialogs.values() {
            match (direction, state) {
                (_, DialogState::Confirmed) => return LineState::Busy,
                (Some(Direction::Initiator), _) => return LineState::Busy,
                (_, DialogState::Terminated) => {}
                _ => ringing = true,
            }
        }
        if ringing {
            LineState::Ringing
        } else {
            LineState::Idle
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: &str = r#"<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:bob@example.com"/>"#;

    // RFC 4235 §5's first example, with a prefix on the namespace.
    const CONFIRMED: &str = r#"<?xml version="1.0"?>
<d:dialog-info xmlns:d="urn:ietf:params:xml:ns:dialog-info"
   version="1" state="full" entity="sip:alice@example.com">
  <d:dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774"
     remote-tag="456887766" direction="initiator">
    <d:state>confirmed</d:state>
    <d:duration>274</d:duration>
    <d:local><d:identity display="Alice">sip:alice@example.com</d:identity></d:local>
  </d:dialog>
</d:dialog-info>"#;

    fn doc(version: u64, full: bool, dialogs: &str) -> DialogInfo {
        let state = if full { "full" } else { "partial" };
        let body = format!(
            "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"{version}\" \
             state=\"{state}\" entity=\"sip:bob@example.com\">{dialogs}</dialog-info>"
        );
        DialogInfo::parse(body.as_bytes()).expect("parses")
    }

    #[test]
    fn an_empty_full_document_is_an_idle_line() {
        let info = DialogInfo::parse(IDLE.as_bytes()).expect("parses");
        assert_eq!(info.version, 0);
        assert!(info.full);
        assert_eq!(info.entity, "sip:bob@example.com");
        let mut lamp = Lamp::default();
        assert_eq!(lamp.apply(&info), Applied::Taken);
        assert_eq!(lamp.line(), LineState::Idle);
    }

    #[test]
    fn prefixed_elements_and_children_of_other_kinds_are_read_by_local_name() {
        let info = DialogInfo::parse(CONFIRMED.as_bytes()).expect("parses");
        assert_eq!(
            info.dialogs,
            vec![DialogEntry {
                id: "as7d900as8".into(),
                direction: Some(Direction::Initiator),
                state: DialogState::Confirmed,
            }]
        );
    }

    #[test]
    fn a_call_rings_is_answered_and_ends() {
        let mut lamp = Lamp::default();
        lamp.apply(&doc(0, true, ""));
        let early =
            r#"<dialog id="d1" direction="recipient"><state event="x">early</state></dialog>"#;
        lamp.apply(&doc(1, true, early));
        assert_eq!(lamp.line(), LineState::Ringing);
        let up = r#"<dialog id="d1" direction="recipient"><state>confirmed</state></dialog>"#;
        lamp.apply(&doc(2, false, up));
        assert_eq!(lamp.line(), LineState::Busy);
        let over = r#"<dialog id="d1"><state>terminated</state></dialog>"#;
        lamp.apply(&doc(3, false, over));
        assert_eq!(lamp.line(), LineState::Idle);
    }

    #[test]
    fn a_partial_document_changes_only_the_dialogs_it_names() {
        let mut lamp = Lamp::default();
        let two = r#"<dialog id="a" direction="recipient"><state>confirmed</state></dialog>
                     <dialog id="b" direction="recipient"><state>early</state></dialog>"#;
        lamp.apply(&doc(5, true, two));
        let a_ends = r#"<dialog id="a"><state>terminated</state></dialog>"#;
        lamp.apply(&doc(6, false, a_ends));
        assert_eq!(lamp.line(), LineState::Ringing, "b still rings");
    }

    #[test]
    fn an_old_or_repeated_version_is_ignored() {
        let mut lamp = Lamp::default();
        let up = r#"<dialog id="a"><state>confirmed</state></dialog>"#;
        lamp.apply(&doc(7, true, up));
        let over = r#"<dialog id="a"><state>terminated</state></dialog>"#;
        assert_eq!(lamp.apply(&doc(7, false, over)), Applied::Old, "a repeat");
        assert_eq!(
            lamp.apply(&doc(3, false, over)),
            Applied::Old,
            "out of order"
        );
        assert_eq!(lamp.line(), LineState::Busy);
        lamp.restart();
        assert_eq!(
            lamp.apply(&doc(0, true, "")),
            Applied::Taken,
            "a new subscription's first"
        );
        assert_eq!(lamp.line(), LineState::Idle);
    }

    #[test]
    fn a_partial_document_after_a_lost_one_asks_for_the_full_state() {
        let mut lamp = Lamp::default();
        let up = r#"<dialog id="a"><state>confirmed</state></dialog>"#;
        assert_eq!(lamp.apply(&doc(1, true, up)), Applied::Taken);
        let b = r#"<dialog id="b"><state>early</state></dialog>"#;
        assert_eq!(
            lamp.apply(&doc(2, false, b)),
            Applied::Taken,
            "the next one"
        );
        assert_eq!(
            lamp.apply(&doc(5, false, b)),
            Applied::Gap,
            "3 and 4 were lost"
        );
    }

    #[test]
    fn calling_out_is_on_the_phone_already() {
        let mut lamp = Lamp::default();
        let out = r#"<dialog id="o" direction="initiator"><state>early</state></dialog>"#;
        lamp.apply(&doc(1, true, out));
        assert_eq!(lamp.line(), LineState::Busy);
    }

    #[test]
    fn bad_bodies_are_errors_that_say_what_is_wrong() {
        let cases: [(&str, &str); 6] = [
            ("<dialog-info version=\"1\" state=\"full\">", "well-formed"),
            ("<presence/>", "<presence>"),
            ("<dialog-info state=\"full\"/>", "version"),
            ("<dialog-info version=\"1\" state=\"some\"/>", "state"),
            (
                "<dialog-info version=\"1\" state=\"full\"><dialog id=\"a\"><state>dancing</state></dialog></dialog-info>",
                "dancing",
            ),
            ("", "empty"),
        ];
        for (body, says) in cases {
            let err = DialogInfo::parse(body.as_bytes()).expect_err(body);
            assert!(err.to_string().contains(says), "{body}: {err}");
        }
        let huge = vec![b' '; MAX_BODY + 1];
        assert!(matches!(
            DialogInfo::parse(&huge),
            Err(DialogInfoError::TooLarge(_))
        ));
    }

    #[test]
    fn references_in_a_state_are_resolved() {
        let d = doc(
            1,
            true,
            r#"<dialog id="a"><state>&#99;onfirmed</state></dialog>"#,
        );
        assert_eq!(d.dialogs[0].state, DialogState::Confirmed);
        let body = br#"<dialog-info version="1" state="full"><dialog id="a"><state>&bogus;</state></dialog></dialog-info>"#;
        assert!(DialogInfo::parse(body).is_err());
    }

    #[test]
    fn a_flood_of_dialogs_is_capped() {
        let many: String = (0..500)
            .map(|i| format!("<dialog id=\"{i}\"><state>early</state></dialog>"))
            .collect();
        let info = doc(1, true, &many);
        assert_eq!(info.dialogs.len(), MAX_DIALOGS);
    }
}
