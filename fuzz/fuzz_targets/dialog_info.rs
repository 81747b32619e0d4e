//! The dialog event package's body (`dialog_info.rs`): `DialogInfo::parse`
//! and the `Lamp` that follows a line across NOTIFYs.
//!
//! Input: documents separated by a NUL byte, fed in order to one lamp, as a
//! notifier's NOTIFYs would be.
//!
//! Oracles: nothing panics; a parsed document lists at most 64 dialogs; a
//! document the lamp takes in leaves it showing what its dialogs say (a
//! full one with a confirmed dialog is busy, a full one with none but
//! terminated ones is idle, when no id repeats); one it refuses (an old version) changes
//! nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_sip::dialog_info::{Applied, DialogInfo, DialogState, Lamp, LineState};

fuzz_target!(|data: &[u8]| {
    let mut lamp = Lamp::default();
    for doc in data.split(|b| *b == 0) {
        let Ok(info) = DialogInfo::parse(doc) else {
            continue;
        };
        assert!(info.dialogs.len() <= 64, "{} dialogs kept", info.dialogs.len());
        let before = lamp.clone();
        if lamp.apply(&info) == Applied::Old {
            assert_eq!(lamp, before, "a refused document changed the lamp");
            continue;
        }
        let mut ids: Vec<&str> = info.dialogs.iter().map(|d| d.id.as_str()).collect();
        ids.sort_unstable();
        let unique = ids.windows(2).all(|w| w[0] != w[1]);
        if info.full && unique {
            let line = lamp.line();
            if info.dialogs.iter().any(|d| d.state == DialogState::Confirmed) {
                assert_eq!(line, LineState::Busy, "{info:?}");
            }
            if info.dialogs.iter().all(|d| d.state == DialogState::Terminated) {
                assert_eq!(line, LineState::Idle, "{info:?}");
            }
        }
    }
});
