//! Call scripts (`switchboard_desk::script`): `load::parse` of a script
//! file, then a `Run` driven by the bytes after it.
//!
//! Input: a script's TOML text, then a NUL byte, then one byte per step:
//! its low two bits choose back, an answer of the current question's kind
//! (the option, or the text, chosen by the rest of the byte), an answer of
//! another kind, or `Next`.
//!
//! Oracles: nothing panics; a script that loads has its start node; a step
//! refused by the run leaves it where it was; `check` agrees with `answer`;
//! the trail, saved as JSON and resumed, stands on the same node with the
//! same fields.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use switchboard_desk::script::Kind;
use switchboard_desk::script::load::parse;
use switchboard_desk::script::run::{Answer, Run, Step};

fuzz_target!(|data: &[u8]| {
    let (text, steps) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let text = String::from_utf8_lossy(text);
    let Ok(script) = parse("fuzz.toml", &text) else {
        return;
    };
    assert!(script.node(&script.start).is_some(), "a loaded script has its start");
    let data = BTreeMap::from([("caller.number".to_owned(), "+3725551234".to_owned())]);
    let mut run = Run::new(script.clone(), data.clone());
    for (t, b) in steps.iter().enumerate().take(256) {
        let node = run.current().clone();
        let pick = usize::from(b >> 2);
        let answer = match b & 3 {
            0 => None,
            1 => Some(match node.kind {
                Kind::YesNo => Answer::YesNo(pick % 2 == 0),
                Kind::Choice | Kind::MultiChoice => Answer::Chosen(
                    node.options
                        .get(pick % node.options.len().max(1))
                        .map(|o| vec![o.value.clone()])
                        .unwrap_or_default(),
                ),
                Kind::Number => Answer::Number(pick as f64),
                Kind::Date => Answer::Text("2026-12-01".into()),
                _ => Answer::Text(format!("answer {pick}")),
            }),
            2 => Some(Answer::Text(String::new())),
            _ => Some(Answer::Next),
        };
        let at = i64::try_from(t).unwrap_or(0);
        let before = (run.current().id.clone(), run.trail().len());
        match answer {
            None => {
                if run.back(at).is_err() {
                    assert_eq!((run.current().id.clone(), run.trail().len()), before);
                }
            }
            Some(a) => {
                let checked = run.check(&a);
                let done = run.answer(a, at);
                assert_eq!(checked.is_ok(), done.is_ok(), "check agrees with answer");
                if done.is_err() {
                    assert_eq!((run.current().id.clone(), run.trail().len()), before);
                }
            }
        }
        let _ = run.prompt("et");
        let _ = run.prefill();
        let _ = run.transfer();
    }
    let json = serde_json::to_string(run.trail()).expect("a trail serializes");
    let trail: Vec<Step> = serde_json::from_str(&json).expect("and reads back");
    let (again, left) = Run::resume(script, data, &trail, |_| None);
    assert_eq!(left, 0, "every step replays");
    assert_eq!(again.current().id, run.current().id);
    assert_eq!(again.fields(), run.fields());
});
