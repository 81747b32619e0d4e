//! UI text in English, Estonian, Russian and Slovenian (Fluent files in
//! `assets/locales`, compiled into the binary), switchable at run time.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};

static_loader! {
    static LOCALES = {
        locales: "../../assets/locales",
        fallback_language: "en-US",
        // Plain text for labels: no Unicode isolation marks around arguments.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The UI languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Estonian.
    Et,
    /// Russian.
    Ru,
    /// Slovenian.
    Sl,
}

impl Lang {
    /// All languages, for the selector.
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Et, Lang::Ru, Lang::Sl];

    /// The language's own name.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Et => "Eesti",
            Lang::Ru => "Русский",
            Lang::Sl => "Slovenščina",
        }
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en-US"),
            Lang::Et => langid!("et"),
            Lang::Ru => langid!("ru"),
            Lang::Sl => langid!("sl"),
        }
    }

    /// The configuration value for this language.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Et => "et",
            Lang::Ru => "ru",
            Lang::Sl => "sl",
        }
    }

    /// Reads a configuration value (`en`, `et`, `ru`, `sl`).
    pub fn from_code(code: &str) -> Option<Lang> {
        Some(match code.to_ascii_lowercase().as_str() {
            "en" | "en-us" => Lang::En,
            "et" => Lang::Et,
            "ru" => Lang::Ru,
            "sl" => Lang::Sl,
            _ => return None,
        })
    }

    /// A message.
    pub fn tr(self, key: &str) -> String {
        LOCALES.lookup(&self.id(), key)
    }

    /// A message if there is one (optional texts, like a notice's advice).
    pub fn try_tr(self, key: &str) -> Option<String> {
        LOCALES.try_lookup(&self.id(), key)
    }

    /// A message with arguments.
    pub fn tr_with(self, key: &str, args: &[(&str, String)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'_>> = args
            .iter()
            .map(|(k, v)| (Cow::Owned((*k).to_owned()), FluentValue::from(v.clone())))
            .collect();
        LOCALES.lookup_with_args(&self.id(), key, &map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(file: &str) -> BTreeSet<String> {
        file.lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
            .collect()
    }

    const FILES: [(Lang, &str); 4] = [
        (
            Lang::En,
            include_str!("../../../assets/locales/en-US/desk.ftl"),
        ),
        (
            Lang::Et,
            include_str!("../../../assets/locales/et/desk.ftl"),
        ),
        (
            Lang::Ru,
            include_str!("../../../assets/locales/ru/desk.ftl"),
        ),
        (
            Lang::Sl,
            include_str!("../../../assets/locales/sl/desk.ftl"),
        ),
    ];

    /// Every message id the code names: `tr("…")`, `tr_with("…"`, and the
    /// ids handed over as data (`key: "…"`, notice tables).
    fn used_keys() -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("source dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    dirs.push(p);
                    continue;
                }
                if p.extension().is_none_or(|x| x != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&p).expect("source");
                let is_id = |id: &str| {
                    id.starts_with(|c: char| c.is_ascii_lowercase())
                        && id
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                };
                for pat in [".tr(", ".tr_with(", "key: ", "notify(", "notice("] {
                    for (i, _) in text.match_indices(pat) {
                        let rest = text[i + pat.len()..].trim_start();
                        let Some(rest) = rest.strip_prefix('"') else {
                            continue;
                        };
                        if let Some(id) = rest.split('"').next().filter(|id| is_id(id)) {
                            out.insert(id.to_owned());
                        }
                    }
                }
                if p.ends_with("notify.rs") {
                    continue; // D-Bus names, not messages
                }
                // Ids in tables: a line that is only a quoted id.
                for line in text.lines() {
                    let t = line.trim().trim_end_matches(',');
                    let inner = t.strip_prefix('"').and_then(|r| r.strip_suffix('"'));
                    if let Some(id) = inner.filter(|id| {
                        id.contains('-') && id.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    }) {
                        out.insert(id.to_owned());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_language_has_every_message_and_the_code_uses_no_missing_one() {
        let en = keys(FILES[0].1);
        assert!(en.len() > 200);
        for (lang, file) in FILES {
            assert_eq!(
                keys(file),
                en,
                "{lang:?} has exactly the messages English has"
            );
        }
        let missing: Vec<String> = used_keys().difference(&en).cloned().collect();
        assert!(
            missing.is_empty(),
            "used in the code, missing in the .ftl files: {missing:?}"
        );
        // Every variable any message uses, so each one formats completely.
        let vars: BTreeSet<String> = FILES[0]
            .1
            .split("{ $")
            .skip(1)
            .filter_map(|s| s.split(' ').next())
            .map(str::to_owned)
            .collect();
        let args: Vec<(&str, String)> = vars.iter().map(|k| (k.as_str(), "1".to_owned())).collect();
        for lang in Lang::ALL {
            for k in &en {
                let t = lang.tr_with(k, &args);
                assert!(
                    !t.is_empty() && !t.starts_with("Unknown"),
                    "{lang:?} {k}: {t}"
                );
                assert!(!t.contains("{ $"), "{lang:?} {k} leaves a variable: {t}");
            }
        }
        assert_eq!(Lang::Et.tr("answer"), "Vasta");
        assert_eq!(
            Lang::Ru.tr_with("incoming", &[("who", "Мари".into())]),
            "Входящий вызов: Мари"
        );
        assert_eq!(Lang::En.try_tr(&format!("no-such-{}", "message")), None);
    }
}
