//! The settings screen: account, audio devices with a headset test, desk
//! rules. It edits a copy of the file's values as text; Save checks every
//! line, applies what can change at once (devices, dispositions, rules,
//! language) and writes the file through `desk::config::save`, which keeps
//! the rest of the file and never leaves it half-written.

use switchboard_desk::config::SettingsEdit;

use crate::Lang;

/// The form as the operator edits it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    pub(crate) registrar: String,
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) input: String,
    pub(crate) output: String,
    pub(crate) ringer: String,
    pub(crate) wrap_up_secs: String,
    pub(crate) auto_available: bool,
    pub(crate) dispositions: String,
    pub(crate) break_reasons: String,
    pub(crate) quick_connect: String,
    pub(crate) header_rules: String,
    /// A new password (masked on screen; to the keyring on Save, never to the file).
    pub(crate) password: String,
    /// Devices the engine reported: (inputs, outputs).
    pub(crate) devices: Option<(Vec<String>, Vec<String>)>,
    pub(crate) devices_asked: bool,
    /// The headset test runs.
    pub(crate) testing: bool,
    /// Latest test reading: level, input name, output name.
    pub(crate) mic: Option<(f32, String, String)>,
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn lines(v: &[String]) -> String {
    v.join("\n")
}

fn pair_lines(v: &[(String, String)]) -> String {
    v.iter()
        .map(|(a, b)| format!("{a} = {b}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why the form cannot be saved, in the operator's language.
fn bad_line(l: Lang, what: &str, line: usize, form: &str) -> String {
    l.tr_with(
        "settings-bad-line",
        &[
            ("what", l.tr(what)),
            ("line", line.to_string()),
            ("form", form.to_owned()),
        ],
    )
}

fn parse_pairs(
    l: Lang,
    text: &str,
    what: &str,
    form: &str,
    second_ok: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((a, b)) = line.split_once('=') else {
            return Err(bad_line(l, what, i + 1, form));
        };
        let (a, b) = (a.trim(), b.trim());
        if a.is_empty() || b.is_empty() || !second_ok(b) {
            return Err(bad_line(l, what, i + 1, form));
        }
        out.push((a.to_owned(), b.to_owned()));
    }
    Ok(out)
}

fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A transfer target an operator may type: a SIP or tel URI, or digits.
pub(crate) fn dialable(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") || lower.starts_with("tel:") {
        return switchboard_sip::uri::Uri::parse(s).is_ok();
    }
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '*' | '#'))
}

impl Form {
    pub(crate) fn from_edit(e: &SettingsEdit) -> Form {
        Form {
            registrar: e.registrar.clone().unwrap_or_default(),
            username: e.username.clone().unwrap_or_default(),
            display_name: e.display_name.clone().unwrap_or_default(),
            input: e.input_device.clone().unwrap_or_default(),
            output: e.output_device.clone().unwrap_or_default(),
            ringer: e.ringer_device.clone().unwrap_or_default(),
            wrap_up_secs: e.wrap_up_secs.to_string(),
            auto_available: e.auto_available,
            dispositions: lines(&e.dispositions),
            break_reasons: lines(&e.break_reasons),
            quick_connect: pair_lines(&e.quick_connect),
            header_rules: pair_lines(&e.header_rules),
            ..Form::default()
        }
    }

    /// The form checked; the error names the list and the line.
    pub(crate) fn to_edit(&self, l: Lang) -> Result<SettingsEdit, String> {
        let wrap_up_secs = self
            .wrap_up_secs
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= switchboard_desk::agent::MAX_WRAP_UP.as_secs())
            .ok_or_else(|| l.tr("settings-bad-number"))?;
        if let Some(r) = opt(&self.registrar)
            && switchboard_sip::uri::Uri::parse(&r).is_err()
        {
            return Err(l.tr_with("settings-bad-registrar", &[("value", r)]));
        }
        Ok(SettingsEdit {
            registrar: opt(&self.registrar),
            username: opt(&self.username),
            display_name: opt(&self.display_name),
            input_device: opt(&self.input),
            output_device: opt(&self.output),
            ringer_device: opt(&self.ringer),
            wrap_up_secs,
            auto_available: self.auto_available,
            dispositions: parse_list(&self.dispositions),
            break_reasons: parse_list(&self.break_reasons),
            header_rules: parse_pairs(
                l,
                &self.header_rules,
                "header-rules",
                "X-Header = Label",
                |_| true,
            )?,
            quick_connect: parse_pairs(
                l,
                &self.quick_connect,
                "quick-connects",
                "Label = sip:200@pbx",
                dialable,
            )?,
            language: l.code().to_owned(),
        })
    }

    /// The headset in use, as the top bar names it.
    pub(crate) fn headset_name(&self, l: Lang) -> String {
        match &self.mic {
            Some((_, _, output)) => output.clone(),
            None if !self.output.is_empty() => self.output.clone(),
            None => l.tr("system-default"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_bad_lines_are_named() {
        let edit = SettingsEdit {
            quick_connect: vec![("Billing".into(), "sip:200@pbx".into())],
            header_rules: vec![("X-Queue".into(), "Queue".into())],
            dispositions: vec!["Order".into(), "Complaint".into()],
            wrap_up_secs: 30,
            language: "en".into(),
            ..SettingsEdit::default()
        };
        let form = Form::from_edit(&edit);
        assert_eq!(form.to_edit(Lang::En).unwrap(), edit);

        let mut bad = form.clone();
        bad.quick_connect = "Billing = sip:200@pbx\nSupervisor 1100".into();
        let e = bad.to_edit(Lang::En).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        bad.quick_connect = "Billing = not a number".into();
        assert!(bad.to_edit(Lang::En).is_err());
        bad.quick_connect = "Billing = +3725551234".into();
        assert!(bad.to_edit(Lang::En).is_ok());

        let mut bad = form;
        bad.wrap_up_secs = "half a minute".into();
        assert!(bad.to_edit(Lang::En).is_err());
    }
}
