//! The TOML configuration file (the part the headless agent reads).
//!
//! Unknown keys are errors, so a typo does not silently fall back to a default;
//! every error names the file, the line and the key.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    pub(crate) sip: Option<Sip>,
    pub(crate) account: Option<AccountSection>,
    pub(crate) audio: Option<Audio>,
}

/// `[audio]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Audio {
    /// Codec preference order, e.g. `["opus", "pcmu"]`.
    pub(crate) codecs: Option<Vec<String>>,
    /// WAV file as microphone.
    pub(crate) mic: Option<std::path::PathBuf>,
    /// WAV file as speaker.
    pub(crate) speaker: Option<std::path::PathBuf>,
    /// Microphone device name (part of it).
    pub(crate) input_device: Option<String>,
    /// Speaker device name (part of it).
    pub(crate) output_device: Option<String>,
}

/// `[sip]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sip {
    pub(crate) bind: Option<SocketAddr>,
    pub(crate) user: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) max_calls: Option<usize>,
}

/// `[account]`. The password is never read from the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountSection {
    pub(crate) registrar: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) realm: Option<String>,
    pub(crate) expires: Option<u32>,
}

/// Reads and checks the file.
pub(crate) fn load(path: &Path) -> Result<File, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1)
            .map(|l| format!(", line {l}"))
            .unwrap_or_default();
        format!("{}{line}: {}", path.display(), e.message())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let dir = std::env::temp_dir().join(format!("sb-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.toml");
        std::fs::write(&p, "[sip]\nuser = \"a\"\nbnd = \"127.0.0.1:5060\"\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("bad.toml, line 3"), "{e}");
        assert!(e.contains("bnd"), "{e}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let dir = std::env::temp_dir().join(format!("sb-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.toml");
        std::fs::write(&p, "[sip]\nbind = \"not an address\"\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
