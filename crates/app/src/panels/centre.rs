//! The centre: the interaction in hand. Above it, a strip for a call that
//! rings and a strip for the call in hand when something else is shown;
//! then the focus — a call, its caller card while it rings, a wrap-up, a
//! missed call, an e-mail (which scrolls its own thread, so its reply stays
//! in view), a reply waiting for the customer, the dial pad when nothing is
//! in hand (under the last practice call's score), or Settings.

use switchboard_desk::workspace::{Focus, Phase};

use super::{Cx, View, call, caller_card, dial, email, missed, score, settings, strips, wrap_up};
use crate::Intent;

pub(crate) fn ui(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    view: &mut View,
    form: &mut crate::settings::Form,
    out: &mut Vec<Intent>,
) {
    let focus = cx.ws.focus();
    strips::ui(ui, cx, &focus, out);
    if let Focus::Email(e) = focus
        && !cx.settings_open
    {
        email::ui(ui, cx, e, out);
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if cx.settings_open {
                settings::ui(ui, cx, form, out);
                return;
            }
            match focus {
                Focus::Call(c) if matches!(c.phase, Phase::Offered | Phase::Waiting) => {
                    caller_card::ui(ui, cx, c, out)
                }
                Focus::Call(c) => call::ui(ui, cx, c, view, out),
                Focus::WrapUp(w) => wrap_up::ui(ui, cx, w, view, out),
                Focus::Missed(m) => missed::ui(ui, cx, m, out),
                // Not reached: drawn above, scrolling its own thread.
                Focus::Email(e) => email::ui(ui, cx, e, out),
                Focus::MailWaiting(_, w) => email::waiting(ui, cx, w),
                Focus::Idle => {
                    if let Some(s) = cx.ws.score() {
                        score::ui(ui, cx, s, out);
                        ui.add_space(8.0);
                    }
                    dial::ui(ui, cx, view, out)
                }
            }
        });
}
