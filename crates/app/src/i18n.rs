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

    #[test]
    fn every_language_has_every_message() {
        let en = include_str!("../../../assets/locales/en-US/desk.ftl");
        let keys: Vec<&str> = en
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
            .collect();
        assert!(keys.len() > 40);
        // Every variable any message uses, so each one formats completely.
        let args: Vec<(&str, String)> = [
            "state", "expires", "reason", "who", "number", "from", "time", "codec", "mos", "loss",
            "jitter", "seconds", "count", "error", "level", "what", "line", "form", "value",
            "name", "target", "status", "n", "chain",
        ]
        .iter()
        .map(|k| (*k, "1".to_owned()))
        .collect();
        for lang in Lang::ALL {
            for k in &keys {
                let t = lang.tr_with(k, &args);
                assert!(
                    !t.is_empty() && !t.starts_with("Unknown"),
                    "{lang:?} {k}: {t}"
                );
            }
        }
        for (lang, file) in [
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
        ] {
            let n = file.lines().filter(|l| l.contains(" = ")).count();
            assert_eq!(
                n,
                keys.len(),
                "{lang:?} has every message and no stray ones"
            );
        }
        assert_eq!(Lang::Et.tr("answer"), "Vasta");
        assert_eq!(
            Lang::Ru.tr_with("incoming", &[("who", "Мари".into())]),
            "Входящий вызов: Мари"
        );
    }
}
