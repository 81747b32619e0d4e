//! Reading a script file and refusing one that could strand an operator.
//!
//! ```toml
//! id = "triage"
//! title = { en = "Emergency triage", et = "Hädaabi" }
//! start = "address"
//!
//! [[node]]
//! id = "address"
//! kind = "text"              # text number yes_no choice multi_choice date info end
//! field = "address"
//! required = true
//! prompt = { en = "Where is the emergency?" }
//! next = "conscious"
//!
//! [[node]]
//! id = "conscious"
//! kind = "yes_no"
//! field = "conscious"
//! prompt = { en = "Is the person conscious?" }
//! yes = "breathing"
//! no = "urgent"
//! set_no = { priority = "1" }
//!
//! [[node]]
//! id = "what"
//! kind = "choice"
//! field = "what"
//! prompt = { en = "What happened?" }
//! options = [
//!   { value = "fire", label = { en = "Fire" }, next = "urgent", set = { priority = "1" } },
//!   { value = "other", label = { en = "Something else" } },
//! ]
//! next = "end"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;

use super::{Choice, Kind, Localized, Node, Script};

/// Why a script cannot be used: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// The file (as given).
    pub file: String,
    /// The line, when one can be named.
    pub line: Option<usize>,
    /// The node, when one is at fault.
    pub node: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(n) = &self.node {
            write!(f, ": node {n:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ScriptError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    id: String,
    #[serde(default)]
    title: BTreeMap<String, String>,
    start: String,
    #[serde(default)]
    node: Vec<toml::Spanned<RawNode>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    id: String,
    kind: String,
    #[serde(default)]
    prompt: BTreeMap<String, String>,
    field: Option<String>,
    #[serde(default)]
    required: bool,
    next: Option<String>,
    yes: Option<String>,
    no: Option<String>,
    #[serde(default)]
    set_yes: BTreeMap<String, String>,
    #[serde(default)]
    set_no: BTreeMap<String, String>,
    #[serde(default)]
    options: Vec<RawOption>,
    prefill: Option<String>,
    chain: Option<String>,
    transfer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    value: String,
    #[serde(default)]
    label: BTreeMap<String, String>,
    next: Option<String>,
    #[serde(default)]
    set: BTreeMap<String, String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Parses and checks `text` read from `file`.
pub fn parse(file: &str, text: &str) -> Result<Script, ScriptError> {
    let err = |line: Option<usize>, node: Option<&str>, message: String| ScriptError {
        file: file.to_owned(),
        line,
        node: node.map(str::to_owned),
        message,
    };
    let raw: RawScript = toml::from_str(text).map_err(|e| {
        err(
            e.span().map(|s| line_of(text, s.start)),
            None,
            e.message().to_owned(),
        )
    })?;
    let mut nodes = Vec::new();
    let mut ids = BTreeMap::new();
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    for spanned in raw.node {
        let line = line_of(text, spanned.span().start);
        let n = spanned.into_inner();
        let at = |m: String| err(Some(line), Some(&n.id), m);
        let kind = Kind::from_name(&n.kind).ok_or_else(|| {
            at(format!(
                "kind {:?}: use text, number, yes_no, choice, multi_choice, date, info or end",
                n.kind
            ))
        })?;
        if ids.insert(n.id.clone(), line).is_some() {
            return Err(at("a second node with this id".into()));
        }
        if let Some(f) = &n.field {
            if !kind.asks() {
                return Err(at(format!("{:?} nodes answer no field", n.kind)));
            }
            if let Some(other) = fields.insert(f.clone(), n.id.clone()) {
                return Err(at(format!(
                    "field {f:?} is already answered by node {other:?}"
                )));
            }
        } else if kind.asks() {
            return Err(at("a question needs a field for its answer".into()));
        }
        if matches!(kind, Kind::Choice | Kind::MultiChoice) && n.options.is_empty() {
            return Err(at("a choice needs options".into()));
        }
        if kind != Kind::End && (n.chain.is_some() || n.transfer.is_some()) {
            return Err(at("only an end chains to a script or transfers".into()));
        }
        if kind == Kind::End && (n.next.is_some() || n.yes.is_some() || n.no.is_some()) {
            return Err(at(
                "an end goes nowhere (use chain for another script)".into()
            ));
        }
        if kind != Kind::YesNo && (n.yes.is_some() || n.no.is_some()) {
            return Err(at("only yes_no nodes have yes and no".into()));
        }
        let mut values = BTreeSet::new();
        for o in &n.options {
            if !values.insert(o.value.as_str()) {
                return Err(at(format!("option {:?} twice", o.value)));
            }
        }
        let pairs = |m: BTreeMap<String, String>| m.into_iter().collect::<Vec<_>>();
        nodes.push(Node {
            kind,
            prompt: Localized(n.prompt),
            field: n.field,
            required: n.required,
            next: n.next,
            on_yes: n.yes,
            on_no: n.no,
            set_yes: pairs(n.set_yes),
            set_no: pairs(n.set_no),
            options: n
                .options
                .into_iter()
                .map(|o| Choice {
                    value: o.value,
                    label: Localized(o.label),
                    next: o.next,
                    set: pairs(o.set),
                })
                .collect(),
            prefill: n.prefill,
            chain: n.chain,
            transfer: n.transfer,
            line,
            id: n.id,
        });
    }
    let script = Script {
        id: raw.id,
        title: Localized(raw.title),
        start: raw.start,
        nodes,
    };
    check_graph(&script).map_err(|(node, message)| {
        let line = script.node(&node).map(|n| n.line);
        err(line, Some(&node), message)
    })?;
    Ok(script)
}

/// Every target names a node; every node is reached from the start; from
/// every node an end can be reached; a node that is not an end has a way
/// on for every answer.
fn check_graph(s: &Script) -> Result<(), (String, String)> {
    if s.node(&s.start).is_none() {
        return Err((s.start.clone(), "the start names no node".into()));
    }
    for n in &s.nodes {
        if let Some(t) = Script::targets(n).find(|t| s.node(t).is_none()) {
            return Err((n.id.clone(), format!("goes to {t:?}, which is no node")));
        }
        let stuck = match n.kind {
            Kind::End => false,
            Kind::YesNo => (n.on_yes.is_none() || n.on_no.is_none()) && n.next.is_none(),
            Kind::Choice => n.next.is_none() && n.options.iter().any(|o| o.next.is_none()),
            _ => n.next.is_none(),
        };
        if stuck {
            return Err((
                n.id.clone(),
                "an answer here leads nowhere (no next)".into(),
            ));
        }
    }
    // Reached from the start.
    let mut seen = BTreeSet::new();
    let mut todo = vec![s.start.as_str()];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(n) = s.node(id) {
            todo.extend(Script::targets(n));
        }
    }
    if let Some(n) = s.nodes.iter().find(|n| !seen.contains(n.id.as_str())) {
        return Err((n.id.clone(), "nothing leads here".into()));
    }
    // An end reachable from every node: grow the set of nodes that can end.
    let mut can_end: BTreeSet<&str> = s
        .nodes
        .iter()
        .filter(|n| n.kind == Kind::End)
        .map(|n| n.id.as_str())
        .collect();
    loop {
        let before = can_end.len();
        for n in &s.nodes {
            if Script::targets(n).any(|t| can_end.contains(t)) {
                can_end.insert(n.id.as_str());
            }
        }
        if can_end.len() == before {
            break;
        }
    }
    if let Some(n) = s.nodes.iter().find(|n| !can_end.contains(n.id.as_str())) {
        return Err((
            n.id.clone(),
            "no end can be reached from here (a loop with no way out)".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "t"
start = "a"

[[node]]
id = "a"
kind = "yes_no"
field = "ok"
prompt = { en = "OK?" }
yes = "b"
no = "end"

[[node]]
id = "b"
kind = "info"
prompt = { en = "Fine." }
next = "end"

[[node]]
id = "end"
kind = "end"
"#;

    fn fails(text: &str) -> ScriptError {
        parse("bad.toml", text).expect_err("should be refused")
    }

    #[test]
    fn a_good_script_loads() {
        let s = parse("good.toml", GOOD).unwrap();
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.node("b").unwrap().line, 13, "the line of its [[node]]");
    }

    #[test]
    fn each_fault_is_named_with_file_line_and_node() {
        let dangling = GOOD.replace("yes = \"b\"", "yes = \"nowhere\"");
        let e = fails(&dangling);
        assert_eq!((e.line, e.node.as_deref()), (Some(5), Some("a")), "{e}");
        assert!(
            e.to_string()
                .starts_with("bad.toml:5: node \"a\": goes to \"nowhere\""),
            "{e}"
        );

        let unreachable = format!("{GOOD}\n[[node]]\nid = \"lost\"\nkind = \"end\"\n");
        let e = fails(&unreachable);
        assert_eq!(e.node.as_deref(), Some("lost"), "{e}");
        assert!(e.message.contains("nothing leads here"), "{e}");

        // b and c send each other round for ever; a can still end.
        let looping = GOOD.replace("next = \"end\"", "next = \"c\"")
            + "\n[[node]]\nid = \"c\"\nkind = \"info\"\nnext = \"b\"\n";
        let e = fails(&looping);
        assert!(e.message.contains("no end can be reached"), "{e}");
        assert!(matches!(e.node.as_deref(), Some("b" | "c")), "{e}");

        let twice = GOOD.replace("kind = \"info\"", "kind = \"text\"\nfield = \"ok\"");
        let e = fails(&twice);
        assert_eq!(e.node.as_deref(), Some("b"), "{e}");
        assert!(
            e.message
                .contains("field \"ok\" is already answered by node \"a\""),
            "{e}"
        );

        let e = fails(&GOOD.replace("kind = \"info\"", "kind = \"guess\""));
        assert!(e.message.contains("kind \"guess\""), "{e}");

        let e =
            fails("id = \"t\"\nstart = \"a\"\n[[node]]\nid = \"a\"\nkind = \"end\"\nnext = 3\n");
        assert_eq!(e.line, Some(6), "{e}");
    }
}
