//! Practice scenarios and their scores: what a simulated caller wants, what
//! a trained operator would record, and how close a trainee came.
//!
//! A scenario names the script that applies, the answers the caller gives
//! (its speech says them), the disposition and the transfer target a
//! trained operator would choose, and a target handle time. The expected
//! answers walk the script from its start to an end (checked when the
//! scenarios load), and that walk names the required questions a trainee
//! must ask.
//!
//! The score is one point per check, all weighing the same:
//! - the script: the scenario's script was the one run;
//! - each required question on the expected path was answered (asked);
//! - each expected field holds the expected value (text answers match
//!   when the expected words appear in order, ignoring case and
//!   punctuation: "Pikk 1" matches "pikk 1, Tallinn");
//! - the disposition;
//! - the transfer target, when the scenario has one;
//! - the handle time (answer to wrap-up saved) within the target.
//!
//! A missed required question costs its own point and its field's; a wrong
//! disposition costs one.

use std::collections::BTreeMap;

use crate::script::run::{Answer, Run};
use crate::script::{Kind, Localized, Script};

/// One simulated caller and what a trained operator would record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its name (sent by the practice line in `X-Practice-Scenario`).
    pub id: String,
    /// The caller's display name.
    pub name: String,
    /// The caller's number.
    pub number: String,
    /// The queue the call comes through.
    pub queue: String,
    /// What the IVR collected.
    #[serde(default)]
    pub ivr: String,
    /// The caller's speech, a WAV under `assets/practice/`.
    pub speech: String,
    /// The script that applies.
    pub script: String,
    /// The answers and derived fields a trained operator ends with.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The right disposition.
    pub disposition: String,
    /// Where the caller should be put through (an extension or address).
    #[serde(default)]
    pub transfer: Option<String>,
    /// The handle time to be within, seconds.
    pub target_s: u32,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    scenario: Vec<Scenario>,
}

/// Reads a scenario file; every scenario's answers must walk its script
/// (from `scripts`) to an end with its disposition.
pub fn parse(
    text: &str,
    scripts: impl Fn(&str) -> Option<Script>,
) -> Result<Vec<Scenario>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    for s in &file.scenario {
        let script = scripts(&s.script)
            .ok_or_else(|| format!("scenario {:?}: no script {:?}", s.id, s.script))?;
        let run = expected_run(s, &script).map_err(|e| format!("scenario {:?}: {e}", s.id))?;
        let got = run.fields();
        for (k, v) in &s.fields {
            if got.get(k) != Some(v) {
                return Err(format!(
                    "scenario {:?}: the answers give {k} = {:?}, not {v:?}",
                    s.id,
                    got.get(k)
                ));
            }
        }
    }
    Ok(file.scenario)
}

/// The run a trained operator makes: the scenario's answers from the start
/// to an end.
fn expected_run(s: &Scenario, script: &Script) -> Result<Run, String> {
    let mut run = Run::new(script.clone(), BTreeMap::new());
    for _ in 0..=script.nodes.len() * 2 {
        if run.done() {
            return Ok(run);
        }
        let n = run.current().clone();
        let given = n.field.as_ref().and_then(|f| s.fields.get(f));
        let answer = match (n.kind, given) {
            (Kind::Info, _) | (_, None) if !n.required || n.kind == Kind::Info => Answer::Next,
            (_, None) => return Err(format!("no answer for the required {:?}", n.id)),
            (Kind::YesNo, Some(v)) => Answer::YesNo(v == "yes"),
            (Kind::Choice | Kind::MultiChoice, Some(v)) => {
                Answer::Chosen(v.split(", ").map(str::to_owned).collect())
            }
            (Kind::Number, Some(v)) => Answer::Number(v.parse().map_err(|_| format!("{v:?}"))?),
            (_, Some(v)) => Answer::Text(v.clone()),
        };
        run.answer(answer, 0)
            .map_err(|e| format!("{:?} cannot be answered so: {e:?}", n.id))?;
    }
    Err("the answers go round without an end".into())
}

/// What was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// The scenario's script was the one run.
    Script,
    /// A required question was answered.
    Asked {
        /// The node.
        node: String,
        /// Its prompt.
        prompt: Localized,
    },
    /// A field holds the expected value.
    Field(String),
    /// The disposition.
    Disposition,
    /// The transfer target.
    Transfer,
    /// Within the target handle time.
    HandleTime,
}

/// One check of a score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What.
    pub kind: CheckKind,
    /// Right.
    pub ok: bool,
    /// What was expected.
    pub expected: String,
    /// What the trainee did (empty: nothing).
    pub got: String,
}

/// A practice call's score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// The scenario.
    pub scenario: String,
    /// The caller.
    pub who: String,
    /// Every check, in the order above.
    pub checks: Vec<Check>,
}

impl Score {
    /// Points made and points possible.
    pub fn points(&self) -> (usize, usize) {
        (
            self.checks.iter().filter(|c| c.ok).count(),
            self.checks.len(),
        )
    }

    /// The score out of 100.
    pub fn percent(&self) -> u32 {
        let (ok, all) = self.points();
        u32::try_from(ok * 100 / all.max(1)).unwrap_or(0)
    }
}

/// What the trainee did on a practice call.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The script run, if any.
    pub run: Option<&'a Run>,
    /// The disposition saved.
    pub disposition: Option<&'a str>,
    /// Where the call was put through (as the phone dialled it).
    pub transferred_to: Option<&'a str>,
    /// From answering to the wrap-up saved, ms (None: never answered).
    pub handle_ms: Option<i64>,
}

/// Scores `attempt` against scenario `s`, whose script is `script`;
/// `resolve` turns an extension into what the phone dials, so "201" and
/// `sip:billing@…` compare equal.
pub fn score(
    s: &Scenario,
    script: &Script,
    attempt: Attempt<'_>,
    resolve: impl Fn(&str) -> Option<String>,
) -> Score {
    let mut checks = Vec::new();
    let ran = attempt.run.map(|r| r.first_script().id.clone());
    checks.push(Check {
        kind: CheckKind::Script,
        ok: ran.as_deref() == Some(s.script.as_str()),
        expected: s.script.clone(),
        got: ran.unwrap_or_default(),
    });
    let asked: Vec<(&str, &str)> = attempt
        .run
        .map(|r| {
            r.answered()
                .map(|(sc, n, _)| (sc.id.as_str(), n.id.as_str()))
                .collect()
        })
        .unwrap_or_default();
    if let Ok(expected) = expected_run(s, script) {
        for (_, n, _) in expected.answered() {
            if n.required && n.kind.asks() {
                let ok = asked.contains(&(script.id.as_str(), n.id.as_str()));
                checks.push(Check {
                    kind: CheckKind::Asked {
                        node: n.id.clone(),
                        prompt: n.prompt.clone(),
                    },
                    ok,
                    expected: n.id.clone(),
                    got: if ok { n.id.clone() } else { String::new() },
                });
            }
        }
    }
    let fields = attempt.run.map(Run::fields).unwrap_or_default();
    for (k, v) in &s.fields {
        let got = fields.get(k).cloned().unwrap_or_default();
        checks.push(Check {
            kind: CheckKind::Field(k.clone()),
            ok: words_in(v, &got),
            expected: v.clone(),
            got,
        });
    }
    let disposition = attempt.disposition.unwrap_or("").trim().to_owned();
    checks.push(Check {
        kind: CheckKind::Disposition,
        ok: disposition.to_lowercase() == s.disposition.trim().to_lowercase(),
        expected: s.disposition.clone(),
        got: disposition,
    });
    if let Some(t) = &s.transfer {
        let got = attempt.transferred_to.unwrap_or("").to_owned();
        let want = resolve(t).unwrap_or_else(|| t.clone());
        let ok = !got.is_empty() && (got == want || resolve(&got).is_some_and(|g| g == want));
        checks.push(Check {
            kind: CheckKind::Transfer,
            ok,
            expected: t.clone(),
            got,
        });
    }
    let target_ms = i64::from(s.target_s) * 1000;
    checks.push(Check {
        kind: CheckKind::HandleTime,
        ok: attempt.handle_ms.is_some_and(|h| h <= target_ms),
        expected: crate::time::clock(target_ms),
        got: attempt
            .handle_ms
            .map(crate::time::clock)
            .unwrap_or_default(),
    });
    Score {
        scenario: s.id.clone(),
        who: s.name.clone(),
        checks,
    }
}

/// The words of `want` appear in `got`, in order and together, ignoring
/// case and punctuation.
fn words_in(want: &str, got: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric() && c != '+')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (w, g) = (words(want), words(got));
    !w.is_empty() && g.windows(w.len()).any(|win| win == w.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::library::Library;

    fn library() -> Library {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/scripts");
        let (lib, errors) = Library::load_dir(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        lib
    }

    fn shipped() -> Vec<Scenario> {
        let lib = library();
        let text = include_str!("../../../assets/practice/scenarios.toml");
        parse(text, |id| lib.get(id).cloned()).unwrap()
    }

    #[test]
    fn every_shipped_scenario_walks_its_script_to_its_fields() {
        let all = shipped();
        assert!(all.len() >= 5, "{}", all.len());
        let lib = library();
        for s in &all {
            let run = expected_run(s, lib.get(&s.script).unwrap()).unwrap();
            assert!(run.done(), "{}", s.id);
            assert!(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../assets/practice")
                    .join(&s.speech)
                    .is_file(),
                "{}: no {}",
                s.id,
                s.speech
            );
        }
    }

    #[test]
    fn a_scenario_whose_answers_do_not_fit_its_script_is_refused() {
        let lib = library();
        let bad = r#"
[[scenario]]
id = "x"
name = "X"
number = "1"
queue = "Q"
speech = "mari.wav"
script = "info-line"
disposition = "Call back"
target_s = 60
fields = { topic = "weather" }
"#;
        let e = parse(bad, |id| lib.get(id).cloned()).unwrap_err();
        assert!(e.contains("\"x\"") && e.contains("topic"), "{e}");
    }

    #[test]
    fn text_answers_match_by_their_words() {
        assert!(words_in("Pikk 1", "pikk 1, Tallinn"));
        assert!(!words_in("1", "12"));
        assert!(words_in("+3725559876", "+3725559876"));
        assert!(!words_in("", "anything"));
    }

    /// A trainee who does everything right scores 100; a wrong disposition
    /// costs one point, and a required question skipped costs that
    /// question and its field.
    #[test]
    fn the_score_counts_what_was_asked_and_recorded() {
        let lib = library();
        let s = shipped()
            .into_iter()
            .find(|s| s.script == "triage")
            .unwrap();
        let script = lib.get("triage").unwrap();
        let right = expected_run(&s, script).unwrap();
        let attempt = |run, disposition| Attempt {
            run: Some(run),
            disposition: Some(disposition),
            transferred_to: None,
            handle_ms: Some(60_000),
        };
        let full = score(&s, script, attempt(&right, &s.disposition), |_| None);
        assert_eq!(full.percent(), 100, "{:#?}", full.checks);
        let (_, all) = full.points();
        let wrong = score(&s, script, attempt(&right, "Fire brigade"), |_| None);
        assert_eq!(wrong.points(), (all - 1, all));
        assert!(
            wrong
                .checks
                .iter()
                .any(|c| c.kind == CheckKind::Disposition && !c.ok && c.got == "Fire brigade")
        );
        // The callback number skipped (answered empty is refused, so the
        // trainee went on without the question: a run that never asked it).
        let mut skipped = Run::new(script.clone(), BTreeMap::new());
        skipped
            .answer(Answer::Text(s.fields["address"].clone()), 1)
            .unwrap();
        let partial = score(&s, script, attempt(&skipped, &s.disposition), |_| None);
        let missed: Vec<&Check> = partial.checks.iter().filter(|c| !c.ok).collect();
        assert!(
            missed
                .iter()
                .any(|c| matches!(&c.kind, CheckKind::Asked { node, .. } if node == "callback")),
            "{missed:#?}"
        );
        assert!(partial.percent() < wrong.percent());
        let slow = Attempt {
            handle_ms: Some(i64::from(s.target_s) * 1000 + 1),
            ..attempt(&right, &s.disposition)
        };
        assert_eq!(score(&s, script, slow, |_| None).points(), (all - 1, all));
    }

    #[test]
    fn a_transfer_counts_when_it_reached_the_extension_expected() {
        let lib = library();
        let s = shipped()
            .into_iter()
            .find(|s| s.transfer.is_some())
            .expect("a scenario that ends in a transfer");
        let script = lib.get(&s.script).unwrap();
        let run = expected_run(&s, script).unwrap();
        let resolve = |x: &str| {
            (Some(x) == s.transfer.as_deref()).then(|| "sip:billing@127.0.0.1:5070".to_owned())
        };
        let with = |to| Attempt {
            run: Some(&run),
            disposition: Some(&s.disposition),
            transferred_to: to,
            handle_ms: Some(1000),
        };
        let ok = score(
            &s,
            script,
            with(Some("sip:billing@127.0.0.1:5070")),
            resolve,
        );
        assert_eq!(ok.percent(), 100, "{:#?}", ok.checks);
        let elsewhere = score(
            &s,
            script,
            with(Some("sip:supervisor@127.0.0.1:5071")),
            resolve,
        );
        let none = score(&s, script, with(None), resolve);
        assert_eq!(elsewhere.points().0 + 1, ok.points().0);
        assert_eq!(none.points(), elsewhere.points());
    }
}
