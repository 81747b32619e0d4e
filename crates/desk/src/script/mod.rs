//! Call scripts: the standard questions an operator asks, in order, while
//! the caller talks, and what the answers decide.
//!
//! ```text
//!  TOML file ──▶ load::parse ──▶ Script (checked) ──▶ run::Run ──▶ answers + fields
//!                (errors name        nodes, prompts     the operator     (priority,
//!                 file, line, node)  per language       answers, goes    disposition …)
//!                                                       back; an audit
//!                                                       trail of every
//!                                                       answer, timed
//! ```
//!
//! A script is a graph of [`Node`]s. Each asks one thing ([`Kind`]: text,
//! number, yes/no, choice, multi-choice, date), reads something aloud
//! (info) or ends it (end). A node goes on to `next`, or for yes/no and
//! choice nodes to the branch of the answer; a choice option may `set`
//! derived fields (`priority = "1"`, `disposition = "Ambulance"`). Prompts
//! come per language (`en`, `et`, `ru`, `sl`) with English, then any, as
//! the fallback, and may name call data to fill in: `{caller.number}`,
//! `{queue}`, `{ivr.account}`.
//!
//! [`load::parse`] refuses a script that could strand an operator: a
//! target that names no node, a node that nothing leads to, a node from
//! which no end can be reached (a cycle without a way out), a field
//! answered by two nodes, a choice without options; each error names the
//! file, the line and the node. A [`run::Run`] is pure: answers go in with
//! their time, the current question, the fields and the whole trail come
//! out; the desk stores it with the wrap-up. A [`library::Library`] is a
//! folder of scripts and which one a call's queue starts with.

pub mod library;
pub mod load;
pub mod run;

use std::collections::BTreeMap;

/// What a node asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (an address, what happened).
    Text,
    /// A number (how many people, an order quantity).
    Number,
    /// Yes or no, each with its own branch.
    YesNo,
    /// One of the options.
    Choice,
    /// Any of the options (at least one when required).
    MultiChoice,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// Something to read aloud; nothing to answer.
    Info,
    /// The end of the script.
    End,
}

impl Kind {
    /// From the file's word.
    pub fn from_name(s: &str) -> Option<Kind> {
        Some(match s {
            "text" => Kind::Text,
            "number" => Kind::Number,
            "yes_no" => Kind::YesNo,
            "choice" => Kind::Choice,
            "multi_choice" => Kind::MultiChoice,
            "date" => Kind::Date,
            "info" => Kind::Info,
            "end" => Kind::End,
            _ => return None,
        })
    }

    /// Whether the operator types or picks an answer.
    pub fn asks(self) -> bool {
        !matches!(self, Kind::Info | Kind::End)
    }
}

/// A text in several languages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Localized(pub BTreeMap<String, String>);

impl Localized {
    /// The text in `lang`, else English, else any.
    pub fn get(&self, lang: &str) -> &str {
        self.0
            .get(lang)
            .or_else(|| self.0.get("en"))
            .or_else(|| self.0.values().next())
            .map_or("", String::as_str)
    }
}

/// One option of a choice node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The value stored (`fire`).
    pub value: String,
    /// What the operator sees.
    pub label: Localized,
    /// Where this answer leads (else the node's `next`).
    pub next: Option<String>,
    /// Derived fields this answer sets (`priority`, `disposition`).
    pub set: Vec<(String, String)>,
}

/// One step of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Its name in the file.
    pub id: String,
    /// What it asks.
    pub kind: Kind,
    /// What the operator reads (and asks).
    pub prompt: Localized,
    /// The field its answer fills (asking nodes).
    pub field: Option<String>,
    /// The operator cannot go on without an answer.
    pub required: bool,
    /// Where it goes next.
    pub next: Option<String>,
    /// Yes/no: where each answer goes.
    pub on_yes: Option<String>,
    /// Yes/no: where no goes.
    pub on_no: Option<String>,
    /// Yes/no: fields set by yes, and by no.
    pub set_yes: Vec<(String, String)>,
    /// See `set_yes`.
    pub set_no: Vec<(String, String)>,
    /// Choice and multi-choice options.
    pub options: Vec<Choice>,
    /// An answer prefilled from call data (`{caller.number}`).
    pub prefill: Option<String>,
    /// End nodes: the script to go on with, if any.
    pub chain: Option<String>,
    /// End nodes: whom to put the caller through to (a number or SIP URI;
    /// `{field}` names an answer or a set field).
    pub transfer: Option<String>,
    /// The line of the file it starts on (for messages).
    pub line: usize,
}

/// A checked script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Its name (`triage`), unique among the scripts loaded.
    pub id: String,
    /// What the operator sees in the list.
    pub title: Localized,
    /// The first node.
    pub start: String,
    /// The nodes, in file order.
    pub nodes: Vec<Node>,
}

impl Script {
    /// The node called `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Every node an answer at `n` may lead to.
    pub(crate) fn targets(n: &Node) -> impl Iterator<Item = &str> {
        n.next
            .iter()
            .chain(&n.on_yes)
            .chain(&n.on_no)
            .chain(n.options.iter().filter_map(|o| o.next.as_ref()))
            .map(String::as_str)
    }
}

/// Fills `{name}` in `template` from `data` (call data: `caller.number`,
/// `queue`, IVR and CRM fields); a name without data is left out.
pub use switchboard_text::fill;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_fall_back_to_english_then_any_and_call_data_fills_in() {
        let mut l = Localized::default();
        l.0.insert("et".into(), "Kus te olete?".into());
        assert_eq!(l.get("ru"), "Kus te olete?", "any language before nothing");
        l.0.insert("en".into(), "Where are you?".into());
        assert_eq!(l.get("ru"), "Where are you?");
        assert_eq!(l.get("et"), "Kus te olete?");
        let data = BTreeMap::from([("caller.number".to_owned(), "+3725551234".to_owned())]);
        assert_eq!(
            fill("Call back {caller.number}? {queue}", &data),
            "Call back +3725551234? "
        );
        assert_eq!(fill("a { b", &data), "a { b");
    }
}

#[cfg(test)]
mod shipped {
    //! The scripts in `assets/scripts/`: each loads, and every path through
    //! it (every branch, every option) reaches an end.
    use super::run::{Answer, Run};
    use super::*;

    fn shipped() -> Vec<(String, Script)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/scripts");
        let (lib, errors) = library::Library::load_dir(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        let out: Vec<(String, Script)> = lib.all().map(|s| (s.id.clone(), s.clone())).collect();
        assert!(!out.is_empty(), "no scripts in {}", dir.display());
        out
    }

    /// Every answer a question can get, for walking the paths.
    fn answers(n: &Node) -> Vec<Answer> {
        match n.kind {
            Kind::Text => vec![Answer::Text("x".into())],
            Kind::Number => vec![Answer::Number(1.0)],
            Kind::Date => vec![Answer::Text("2026-12-01".into())],
            Kind::YesNo => vec![Answer::YesNo(true), Answer::YesNo(false)],
            Kind::Choice | Kind::MultiChoice => n
                .options
                .iter()
                .map(|o| Answer::Chosen(vec![o.value.clone()]))
                .collect(),
            Kind::Info | Kind::End => vec![Answer::Next],
        }
    }

    /// Ends reached by walking every path from `run`; a loop (an order
    /// read back and corrected) is walked round once, then cut.
    fn walk(run: &Run, seen: &mut Vec<String>, ends: &mut usize) {
        assert!(seen.len() < 64, "a path longer than 64 steps");
        if run.done() {
            *ends += 1;
            return;
        }
        let here = run.current().id.clone();
        if seen.iter().filter(|s| **s == here).count() >= 2 {
            return;
        }
        seen.push(here);
        for a in answers(run.current()) {
            let mut next = run.clone();
            next.answer(a.clone(), 0).unwrap_or_else(|e| {
                panic!("{} at {}: {a:?}: {e:?}", run.script().id, run.current().id)
            });
            walk(&next, seen, ends);
        }
        seen.pop();
    }

    #[test]
    fn every_shipped_script_loads_and_every_path_ends() {
        for (name, s) in shipped() {
            let mut ends = 0;
            walk(
                &Run::new(s.clone(), BTreeMap::new()),
                &mut Vec::new(),
                &mut ends,
            );
            assert!(ends > 0, "{name}");
            for n in &s.nodes {
                for lang in ["en", "et", "ru", "sl"] {
                    assert!(
                        n.kind == Kind::End || n.prompt.0.contains_key(lang),
                        "{name}: node {:?} has no {lang} prompt",
                        n.id
                    );
                }
            }
        }
    }

    #[test]
    fn the_switchboard_greeting_ends_in_a_transfer_to_the_chosen_department() {
        let (_, s) = shipped()
            .into_iter()
            .find(|(_, s)| s.id == "switchboard")
            .expect("switchboard.toml");
        let mut r = Run::new(s.clone(), BTreeMap::new());
        r.answer(Answer::Next, 1).unwrap();
        r.answer(Answer::Chosen(vec!["billing".into()]), 2).unwrap();
        assert!(r.done());
        assert_eq!(r.transfer().as_deref(), Some("201"));
        let mut r = Run::new(s, BTreeMap::new());
        r.answer(Answer::Next, 1).unwrap();
        r.answer(Answer::Chosen(vec!["person".into()]), 2).unwrap();
        r.answer(Answer::Text("1234".into()), 3).unwrap();
        assert_eq!(r.transfer().as_deref(), Some("1234"));
    }

    #[test]
    fn the_triage_script_sets_priority_one_when_someone_is_not_breathing() {
        let (_, s) = shipped()
            .into_iter()
            .find(|(_, s)| s.id == "triage")
            .expect("triage.toml");
        let data = BTreeMap::from([("caller.number".to_owned(), "+3725551234".to_owned())]);
        let mut r = Run::new(s, data);
        r.answer(Answer::Text("Pikk 1, Tallinn".into()), 1).unwrap();
        assert_eq!(r.prefill().as_deref(), Some("+3725551234"));
        r.answer(Answer::Text("+3725551234".into()), 2).unwrap();
        r.answer(Answer::Chosen(vec!["illness".into()]), 3).unwrap();
        r.answer(Answer::YesNo(true), 4).unwrap();
        r.answer(Answer::YesNo(false), 5).unwrap();
        assert!(
            r.prompt("et").contains("rindkerekompressioone"),
            "{}",
            r.prompt("et")
        );
        r.answer(Answer::Next, 6).unwrap();
        assert!(r.done());
        let f = r.fields();
        assert_eq!(f.get("priority").map(String::as_str), Some("1"));
        assert_eq!(f.get("disposition").map(String::as_str), Some("Ambulance"));
    }
}
