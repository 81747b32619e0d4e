//! The scripts a desk has: a folder of script files, and which one a call
//! gets from its queue.
//!
//! Every `*.toml` in the folder is loaded; one that does not load is an
//! error with its file, line and node, and the others are still used (a
//! centre's broken new script does not take its working ones away). A
//! `chain` must name a script of the folder. A call's script is the one its
//! queue is mapped to (`[desk.scripts] queues = { Billing = "order" }`),
//! else the default, else none; the operator can pick another.

use std::collections::BTreeMap;
use std::path::Path;

use super::Script;
use super::load::{ScriptError, parse};

/// Scripts by id, and the queue mapping.
#[derive(Debug, Clone, Default)]
pub struct Library {
    scripts: BTreeMap<String, Script>,
    queues: BTreeMap<String, String>,
    default: Option<String>,
}

/// The scripts shipped with the desk (`assets/scripts/`).
const BUILTIN: [(&str, &str); 5] = [
    (
        "info-line.toml",
        include_str!("../../../../assets/scripts/info-line.toml"),
    ),
    (
        "it-support.toml",
        include_str!("../../../../assets/scripts/it-support.toml"),
    ),
    (
        "order.toml",
        include_str!("../../../../assets/scripts/order.toml"),
    ),
    (
        "switchboard.toml",
        include_str!("../../../../assets/scripts/switchboard.toml"),
    ),
    (
        "triage.toml",
        include_str!("../../../../assets/scripts/triage.toml"),
    ),
];

impl Library {
    /// The scripts shipped with the desk, built in.
    pub fn builtin() -> (Library, Vec<ScriptError>) {
        Library::from_texts(BUILTIN)
    }

    /// Loads every script file in `dir`; what could not be loaded comes back
    /// as errors beside the library.
    pub fn load_dir(dir: &Path) -> (Library, Vec<ScriptError>) {
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(r) => r
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) => {
                return (
                    Library::default(),
                    vec![ScriptError {
                        file: dir.display().to_string(),
                        line: None,
                        node: None,
                        message: format!("cannot read the scripts folder: {e}"),
                    }],
                );
            }
        };
        files.sort();
        let texts = files.iter().map(|p| {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(p);
            (name, text)
        });
        let mut errors = Vec::new();
        let mut loaded = Vec::new();
        for (name, text) in texts {
            match text {
                Ok(t) => loaded.push((name, t)),
                Err(e) => errors.push(ScriptError {
                    file: name,
                    line: None,
                    node: None,
                    message: e.to_string(),
                }),
            }
        }
        let (lib, more) = Library::from_texts(loaded.iter().map(|(n, t)| (n.as_str(), t.as_str())));
        errors.extend(more);
        (lib, errors)
    }

    /// The library of these `(file, text)` pairs.
    pub fn from_texts<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Library, Vec<ScriptError>) {
        let mut lib = Library::default();
        let mut errors = Vec::new();
        let mut origin = BTreeMap::new();
        for (file, text) in files {
            match parse(file, text) {
                Ok(s) if lib.scripts.contains_key(&s.id) => errors.push(ScriptError {
                    file: file.to_owned(),
                    line: None,
                    node: None,
                    message: format!(
                        "script id {:?} is already used by {}",
                        s.id,
                        origin.get(&s.id).map_or("", |f: &String| f.as_str())
                    ),
                }),
                Ok(s) => {
                    origin.insert(s.id.clone(), file.to_owned());
                    lib.scripts.insert(s.id.clone(), s);
                }
                Err(e) => errors.push(e),
            }
        }
        // A chain must lead to a script that is there.
        let ids: Vec<String> = lib.scripts.keys().cloned().collect();
        let mut broken = Vec::new();
        for s in lib.scripts.values() {
            for n in &s.nodes {
                if let Some(c) = n.chain.as_ref().filter(|c| !ids.contains(c)) {
                    broken.push(s.id.clone());
                    errors.push(ScriptError {
                        file: origin.get(&s.id).cloned().unwrap_or_default(),
                        line: Some(n.line),
                        node: Some(n.id.clone()),
                        message: format!("chains to script {c:?}, which is not loaded"),
                    });
                }
            }
        }
        for id in broken {
            lib.scripts.remove(&id);
        }
        (lib, errors)
    }

    /// Maps queues to scripts and names the default; a name that is no
    /// loaded script is an error (and is not used).
    pub fn route(
        &mut self,
        queues: &BTreeMap<String, String>,
        default: Option<&str>,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        for (queue, id) in queues {
            if self.scripts.contains_key(id) {
                self.queues.insert(queue.to_lowercase(), id.clone());
            } else {
                errors.push(format!("queue {queue:?}: no script {id:?}"));
            }
        }
        match default {
            Some(d) if self.scripts.contains_key(d) => self.default = Some(d.to_owned()),
            Some(d) => errors.push(format!("default script {d:?} is not loaded")),
            None => {}
        }
        errors
    }

    /// The script called `id`.
    pub fn get(&self, id: &str) -> Option<&Script> {
        self.scripts.get(id)
    }

    /// Every script, by id (for the operator's choice).
    pub fn all(&self) -> impl Iterator<Item = &Script> {
        self.scripts.values()
    }

    /// The script a call from `queue` starts with.
    pub fn for_queue(&self, queue: Option<&str>) -> Option<&Script> {
        queue
            .and_then(|q| self.queues.get(&q.trim().to_lowercase()))
            .or(self.default.as_ref())
            .and_then(|id| self.scripts.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str =
        "id = \"a\"\nstart = \"e\"\n[[node]]\nid = \"e\"\nkind = \"end\"\nchain = \"b\"\n";
    const B: &str = "id = \"b\"\nstart = \"e\"\n[[node]]\nid = \"e\"\nkind = \"end\"\n";

    #[test]
    fn queues_pick_scripts_and_a_broken_file_leaves_the_others() {
        let (mut lib, errors) = Library::from_texts([
            ("a.toml", A),
            ("b.toml", B),
            ("bad.toml", "id = \"c\"\nstart = \"x\"\n"),
            ("dup.toml", B),
        ]);
        let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(
            msgs[0].starts_with("bad.toml: node \"x\": the start names no node"),
            "{msgs:?}"
        );
        assert!(
            msgs[1].contains("\"b\" is already used by b.toml"),
            "{msgs:?}"
        );
        assert!(lib.get("a").is_some() && lib.get("b").is_some());
        let queues = BTreeMap::from([
            ("Billing".to_owned(), "b".to_owned()),
            ("Sales".to_owned(), "nope".to_owned()),
        ]);
        let bad = lib.route(&queues, Some("a"));
        assert_eq!(bad, ["queue \"Sales\": no script \"nope\""]);
        assert_eq!(
            lib.for_queue(Some(" billing ")).map(|s| s.id.as_str()),
            Some("b")
        );
        assert_eq!(
            lib.for_queue(Some("Sales")).map(|s| s.id.as_str()),
            Some("a")
        );
        assert_eq!(lib.for_queue(None).map(|s| s.id.as_str()), Some("a"));
    }

    #[test]
    fn a_chain_to_a_missing_script_is_named_and_that_script_left_out() {
        let (lib, errors) = Library::from_texts([("a.toml", A)]);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "a.toml:3: node \"e\": chains to script \"b\", which is not loaded"
        );
        assert!(lib.get("a").is_none());
    }

    #[test]
    fn the_shipped_folder_loads_whole() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/scripts");
        let (lib, errors) = Library::load_dir(&dir);
        assert!(errors.is_empty(), "{errors:?}");
        let ids: Vec<&str> = lib.all().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["info-line", "it-support", "order", "switchboard", "triage"]
        );
        // The built-in copy is the folder, every file of it.
        let (builtin, errors) = Library::builtin();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            builtin.all().collect::<Vec<_>>(),
            lib.all().collect::<Vec<_>>()
        );
        let (_, errors) = Library::load_dir(&dir.join("missing"));
        assert!(
            errors[0].message.contains("cannot read the scripts folder"),
            "{errors:?}"
        );
    }
}
