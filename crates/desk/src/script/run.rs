//! One run of a script during a call: the current question, the answers so
//! far and the fields they decide, and an audit trail of every step.
//!
//! Answers go in with their time ([`Run::answer`]); going back
//! ([`Run::back`]) returns to the previous question without forgetting:
//! the trail keeps every answer and every step back, in order, so a
//! triage decision can be reconstructed later. [`Run::fields`] are the
//! answers on the path taken now, plus what the chosen options `set`
//! (a later setting wins).

use std::collections::BTreeMap;

use super::{Kind, Node, Script, fill};

/// An answer to the current question.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Answer {
    /// Text, or a date (`YYYY-MM-DD`) for date nodes.
    Text(String),
    /// A number.
    Number(f64),
    /// Yes or no.
    YesNo(bool),
    /// The values of the options chosen (one for a choice).
    Chosen(Vec<String>),
    /// Nothing (an info node read aloud; a question that is not required).
    Next,
}

/// Why an answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The script is over.
    Done,
    /// This question must be answered.
    Required,
    /// Not the kind of answer this question takes.
    WrongKind,
    /// No option with this value.
    NoSuchOption(String),
    /// Not a date (`YYYY-MM-DD`).
    BadDate,
    /// Nothing to go back to.
    AtStart,
    /// The script does not end in a chain to that script here.
    NoChain,
}

/// One step of the trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Step {
    /// `node` was answered `answer` at `at_ms` (Unix ms).
    Answered {
        /// The node.
        node: String,
        /// What was answered.
        answer: Answer,
        /// When.
        at_ms: i64,
    },
    /// The operator went back from `node` at `at_ms`.
    Back {
        /// The node left.
        node: String,
        /// When.
        at_ms: i64,
    },
    /// The script ended in a chain and `script` went on from it at `at_ms`.
    Chained {
        /// The script started.
        script: String,
        /// When.
        at_ms: i64,
    },
}

impl Step {
    /// When it happened (Unix ms).
    pub fn at_ms(&self) -> i64 {
        match self {
            Step::Answered { at_ms, .. }
            | Step::Back { at_ms, .. }
            | Step::Chained { at_ms, .. } => *at_ms,
        }
    }
}

/// A script finished and chained from, kept for its fields.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    script: Script,
    path: Vec<(String, Answer)>,
    current: String,
}

/// A script being run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Scripts ended and chained from, in order.
    earlier: Vec<Segment>,
    script: Script,
    data: BTreeMap<String, String>,
    /// The nodes passed, with the answer given at each, in order; the
    /// current node is the last one's successor (or the start).
    path: Vec<(String, Answer)>,
    current: String,
    trail: Vec<Step>,
}

impl Run {
    /// Starts `script` with call data for prompts and prefills.
    pub fn new(script: Script, data: BTreeMap<String, String>) -> Run {
        let current = script.start.clone();
        Run {
            earlier: Vec::new(),
            script,
            data,
            path: Vec::new(),
            current,
            trail: Vec::new(),
        }
    }

    /// A run picked up again from its saved trail (after a crash): every
    /// step replayed in order, so it stands where it stood; `scripts` gives
    /// the scripts it chained to. A step the script no longer takes (it was
    /// edited since) ends the replay there; the steps not replayed come
    /// back as the second value.
    pub fn resume(
        script: Script,
        data: BTreeMap<String, String>,
        trail: &[Step],
        scripts: impl Fn(&str) -> Option<Script>,
    ) -> (Run, usize) {
        let mut run = Run::new(script, data);
        for (i, step) in trail.iter().enumerate() {
            let ok = match step {
                Step::Answered {
                    node,
                    answer,
                    at_ms,
                } => *node == run.current && run.answer(answer.clone(), *at_ms).is_ok(),
                Step::Back { node, at_ms } => *node == run.current && run.back(*at_ms).is_ok(),
                Step::Chained { script, at_ms } => match scripts(script) {
                    Some(s) => run.chain(s, *at_ms).is_ok(),
                    None => false,
                },
            };
            if !ok {
                return (run, trail.len() - i);
            }
        }
        (run, 0)
    }

    /// The script being run now (the last one chained to).
    pub fn script(&self) -> &Script {
        &self.script
    }

    /// The script the run began with (what it is saved under).
    pub fn first_script(&self) -> &Script {
        self.earlier.first().map_or(&self.script, |s| &s.script)
    }

    /// Call data a prompt or prefill may name, learnt after the start (the
    /// CRM's answer).
    pub fn add_data(&mut self, data: impl IntoIterator<Item = (String, String)>) {
        self.data.extend(data);
    }

    /// At an end that chains: the script to go on with.
    pub fn chain_target(&self) -> Option<&str> {
        let n = self.current();
        n.chain.as_deref().filter(|_| n.kind == Kind::End)
    }

    /// Goes on with `next`, the script the current end chains to; the
    /// fields so far stay, and its prompts may name them.
    pub fn chain(&mut self, next: Script, at_ms: i64) -> Result<(), RunError> {
        if self.chain_target() != Some(next.id.as_str()) {
            return Err(RunError::NoChain);
        }
        let fields = self.fields();
        let current = std::mem::replace(&mut self.current, next.start.clone());
        let script = std::mem::replace(&mut self.script, next);
        let path = std::mem::take(&mut self.path);
        self.earlier.push(Segment {
            script,
            path,
            current,
        });
        self.data.extend(fields);
        self.trail.push(Step::Chained {
            script: self.script.id.clone(),
            at_ms,
        });
        Ok(())
    }

    /// Every question answered on the path taken now, by script and node.
    pub fn answered(&self) -> impl Iterator<Item = (&Script, &Node, &Answer)> {
        self.earlier
            .iter()
            .map(|s| (&s.script, &s.path))
            .chain(std::iter::once((&self.script, &self.path)))
            .flat_map(|(script, path)| {
                path.iter()
                    .filter_map(move |(id, a)| Some((script, script.node(id)?, a)))
            })
    }

    /// The question now.
    pub fn current(&self) -> &Node {
        self.script
            .node(&self.current)
            .or_else(|| self.script.nodes.first())
            .expect("a loaded script has its start node (checked by load)")
    }

    /// The current prompt in `lang`, call data filled in.
    pub fn prompt(&self, lang: &str) -> String {
        fill(self.current().prompt.get(lang), &self.data)
    }

    /// What the current question is prefilled with, if anything.
    pub fn prefill(&self) -> Option<String> {
        self.current()
            .prefill
            .as_deref()
            .map(|p| fill(p, &self.data))
            .filter(|p| !p.is_empty())
    }

    /// The script has reached an end.
    pub fn done(&self) -> bool {
        self.current().kind == Kind::End
    }

    /// At an end that transfers: whom to put the caller through to, the
    /// answers and set fields filled in.
    pub fn transfer(&self) -> Option<String> {
        let n = self.current();
        let t = n.transfer.as_deref().filter(|_| n.kind == Kind::End)?;
        let mut data = self.data.clone();
        data.extend(self.fields());
        Some(fill(t, &data)).filter(|t| !t.trim().is_empty())
    }

    /// Whether `answer` would be taken now (what a form checks before
    /// sending it).
    pub fn check(&self, answer: &Answer) -> Result<(), RunError> {
        let node = self.current();
        if node.kind == Kind::End {
            return Err(RunError::Done);
        }
        next_for(node, answer).map(|_| ())
    }

    /// Answers the current question at `at_ms`, and goes on.
    pub fn answer(&mut self, answer: Answer, at_ms: i64) -> Result<(), RunError> {
        let node = self.current().clone();
        if node.kind == Kind::End {
            return Err(RunError::Done);
        }
        let next = next_for(&node, &answer)?;
        self.trail.push(Step::Answered {
            node: node.id.clone(),
            answer: answer.clone(),
            at_ms,
        });
        self.path.push((node.id, answer));
        self.current = next;
        Ok(())
    }

    /// Back to the previous question (its answer is kept in the trail, and
    /// taken off the fields).
    /// At the start of a chained script, back is to the end of the one
    /// before.
    pub fn back(&mut self, at_ms: i64) -> Result<(), RunError> {
        if self.path.is_empty()
            && let Some(seg) = self.earlier.pop()
        {
            self.trail.push(Step::Back {
                node: self.current.clone(),
                at_ms,
            });
            self.script = seg.script;
            self.path = seg.path;
            self.current = seg.current;
            return Ok(());
        }
        let (prev, _) = self.path.pop().ok_or(RunError::AtStart)?;
        self.trail.push(Step::Back {
            node: self.current.clone(),
            at_ms,
        });
        self.current = prev;
        Ok(())
    }

    /// Every step, in order (answers, and steps back).
    pub fn trail(&self) -> &[Step] {
        &self.trail
    }

    /// The fields the path taken decides: each question's answer, and what
    /// its chosen options set (later ones win).
    pub fn fields(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (_, n, answer) in self.answered() {
            if let (Some(f), Some(v)) = (&n.field, value_text(answer)) {
                out.insert(f.clone(), v);
            }
            let sets: Vec<&(String, String)> = match answer {
                Answer::YesNo(true) => n.set_yes.iter().collect(),
                Answer::YesNo(false) => n.set_no.iter().collect(),
                Answer::Chosen(values) => n
                    .options
                    .iter()
                    .filter(|o| values.contains(&o.value))
                    .flat_map(|o| o.set.iter())
                    .collect(),
                _ => Vec::new(),
            };
            for (k, v) in sets {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

fn value_text(a: &Answer) -> Option<String> {
    match a {
        Answer::Text(t) => Some(t.clone()),
        Answer::Number(n) => Some(n.to_string()),
        Answer::YesNo(y) => Some(if *y { "yes" } else { "no" }.to_owned()),
        Answer::Chosen(v) => Some(v.join(", ")),
        Answer::Next => None,
    }
}

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Where `answer` at `n` leads, or why it is not taken.
fn next_for(n: &Node, answer: &Answer) -> Result<String, RunError> {
    let on = |t: &Option<String>| t.clone().or_else(|| n.next.clone());
    let next = match (n.kind, answer) {
        (_, Answer::Next) if n.kind == Kind::Info || !n.required => n.next.clone(),
        (_, Answer::Next) => return Err(RunError::Required),
        (Kind::Text, Answer::Text(t)) if t.trim().is_empty() && n.required => {
            return Err(RunError::Required);
        }
        (Kind::Text, Answer::Text(_)) | (Kind::Number, Answer::Number(_)) => n.next.clone(),
        (Kind::Date, Answer::Text(t)) if is_date(t.trim()) => n.next.clone(),
        (Kind::Date, Answer::Text(_)) => return Err(RunError::BadDate),
        (Kind::YesNo, Answer::YesNo(true)) => on(&n.on_yes),
        (Kind::YesNo, Answer::YesNo(false)) => on(&n.on_no),
        (Kind::Choice | Kind::MultiChoice, Answer::Chosen(values)) => {
            if values.is_empty() && n.required {
                return Err(RunError::Required);
            }
            if n.kind == Kind::Choice && values.len() > 1 {
                return Err(RunError::WrongKind);
            }
            let mut chosen = Vec::new();
            for v in values {
                let o = n
                    .options
                    .iter()
                    .find(|o| &o.value == v)
                    .ok_or_else(|| RunError::NoSuchOption(v.clone()))?;
                chosen.push(o);
            }
            match chosen.first() {
                Some(o) if n.kind == Kind::Choice => on(&o.next),
                _ => n.next.clone(),
            }
        }
        _ => return Err(RunError::WrongKind),
    };
    // The loader made sure every answer has a way on.
    next.ok_or(RunError::WrongKind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::load::parse;

    const TRIAGE: &str = r#"
id = "t"
start = "where"

[[node]]
id = "where"
kind = "text"
field = "address"
required = true
prompt = { en = "Where? (calling from {caller.number})" }
next = "conscious"

[[node]]
id = "conscious"
kind = "yes_no"
field = "conscious"
prompt = { en = "Conscious?" }
yes = "what"
no = "end"
set_no = { priority = "1", disposition = "Ambulance" }

[[node]]
id = "what"
kind = "choice"
field = "what"
prompt = { en = "What happened?" }
options = [
  { value = "fall", label = { en = "A fall" }, set = { priority = "3" } },
  { value = "fire", label = { en = "Fire" }, set = { priority = "1", disposition = "Fire brigade" } },
]
next = "end"

[[node]]
id = "end"
kind = "end"
"#;

    fn run() -> Run {
        let data = BTreeMap::from([("caller.number".to_owned(), "+3725551234".to_owned())]);
        Run::new(parse("t.toml", TRIAGE).unwrap(), data)
    }

    #[test]
    fn answers_decide_the_path_and_the_fields() {
        let mut r = run();
        assert_eq!(r.prompt("et"), "Where? (calling from +3725551234)");
        assert_eq!(r.answer(Answer::Next, 1), Err(RunError::Required));
        assert_eq!(
            r.answer(Answer::Text("  ".into()), 1),
            Err(RunError::Required)
        );
        r.answer(Answer::Text("Pikk 1".into()), 10).unwrap();
        assert_eq!(
            r.answer(Answer::Text("x".into()), 11),
            Err(RunError::WrongKind)
        );
        r.answer(Answer::YesNo(false), 20).unwrap();
        assert!(r.done());
        let f = r.fields();
        assert_eq!(f.get("priority").map(String::as_str), Some("1"));
        assert_eq!(f.get("disposition").map(String::as_str), Some("Ambulance"));
        assert_eq!(f.get("address").map(String::as_str), Some("Pikk 1"));
        assert_eq!(r.answer(Answer::Next, 30), Err(RunError::Done));
    }

    #[test]
    fn a_run_resumed_from_its_trail_stands_where_it_stood() {
        let mut r = run();
        r.answer(Answer::Text("Pikk 1".into()), 10).unwrap();
        r.answer(Answer::YesNo(false), 20).unwrap();
        r.back(25).unwrap();
        r.answer(Answer::YesNo(true), 30).unwrap();
        let json = serde_json::to_string(r.trail()).unwrap();
        let trail: Vec<Step> = serde_json::from_str(&json).unwrap();
        let (again, left) = Run::resume(r.script().clone(), BTreeMap::new(), &trail, |_| None);
        assert_eq!(left, 0);
        assert_eq!(again.current().id, "what");
        assert_eq!(again.fields(), r.fields());
        assert_eq!(again.trail(), r.trail());
        // A trail the script no longer takes stops where it parts.
        let mut edited = trail.clone();
        edited.insert(
            1,
            Step::Back {
                node: "nowhere".into(),
                at_ms: 11,
            },
        );
        let (partial, left) = Run::resume(r.script().clone(), BTreeMap::new(), &edited, |_| None);
        assert_eq!((partial.current().id.as_str(), left), ("conscious", 4));
    }

    #[test]
    fn going_back_keeps_the_trail_and_takes_the_answer_off_the_fields() {
        let mut r = run();
        r.answer(Answer::Text("Pikk 1".into()), 10).unwrap();
        r.answer(Answer::YesNo(false), 20).unwrap();
        r.back(25).unwrap();
        assert_eq!(r.current().id, "conscious");
        assert!(!r.fields().contains_key("priority"), "taken off");
        r.answer(Answer::YesNo(true), 30).unwrap();
        assert_eq!(
            r.answer(Answer::Chosen(vec!["flood".into()]), 31),
            Err(RunError::NoSuchOption("flood".into()))
        );
        r.answer(Answer::Chosen(vec!["fire".into()]), 40).unwrap();
        assert_eq!(r.fields().get("priority").map(String::as_str), Some("1"));
        assert_eq!(r.fields().get("conscious").map(String::as_str), Some("yes"));
        let times: Vec<i64> = r.trail().iter().map(Step::at_ms).collect();
        assert_eq!(times, [10, 20, 25, 30, 40], "every step, the step back too");
        r.back(50).unwrap();
        r.back(51).unwrap();
        r.back(52).unwrap();
        assert_eq!(r.back(53), Err(RunError::AtStart));
    }

    #[test]
    fn a_chained_script_goes_on_with_the_fields_and_back_returns_across_it() {
        let greet = parse(
            "g.toml",
            "id = \"g\"\nstart = \"who\"\n[[node]]\nid = \"who\"\nkind = \"text\"\nfield = \"name\"\nnext = \"e\"\n[[node]]\nid = \"e\"\nkind = \"end\"\nchain = \"t\"\n",
        )
        .unwrap();
        let triage = parse("t.toml", TRIAGE).unwrap();
        let mut r = Run::new(greet.clone(), BTreeMap::new());
        assert_eq!(
            r.chain(triage.clone(), 1),
            Err(RunError::NoChain),
            "not at the end yet"
        );
        r.answer(Answer::Text("Mari".into()), 2).unwrap();
        assert_eq!(r.chain_target(), Some("t"));
        r.chain(triage.clone(), 3).unwrap();
        assert_eq!(
            (r.script().id.as_str(), r.first_script().id.as_str()),
            ("t", "g")
        );
        r.answer(Answer::Text("Pikk 1".into()), 4).unwrap();
        let f = r.fields();
        assert_eq!(f.get("name").map(String::as_str), Some("Mari"), "{f:?}");
        assert_eq!(f.get("address").map(String::as_str), Some("Pikk 1"));
        r.back(5).unwrap();
        r.back(6).unwrap();
        assert_eq!(
            (r.script().id.as_str(), r.current().id.as_str()),
            ("g", "e")
        );
        r.chain(triage.clone(), 7).unwrap();
        let lookup = |id: &str| (id == "t").then(|| triage.clone());
        let (again, left) = Run::resume(greet, BTreeMap::new(), r.trail(), lookup);
        assert_eq!(left, 0);
        assert_eq!(again.script().id, "t");
        assert_eq!(again.fields(), r.fields());
    }
}
