//! The top bar: the account and its registration (with Retry when it
//! failed), the agent state with the after-call countdown and the state
//! buttons ("Calls only" among them when there is a mailbox), the headset
//! and microphone level, the language, Settings.

use switchboard_desk::agent::AgentState;
use switchboard_desk::workspace::{Op, Registration};

use super::{Cx, meter};
use crate::{Intent, Lang, text};

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
    let l = cx.l;
    // Wraps on a narrow window instead of cutting off.
    ui.horizontal_wrapped(|ui| {
        let reg = cx.ws.registration();
        let account = ui.label(l.tr_with("account", &[("state", text::registration(l, reg))]));
        if let Registration::Failed {
            reason,
            status,
            retry_at,
        } = reg
        {
            account.on_hover_text(format!(
                "{reason} ({})",
                status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())
            ));
            if let Some(at) = retry_at {
                // The phone tries again by itself; the operator sees when.
                // Rounded up: "in 0 s" while it is still to come would be wrong.
                let left = at.saturating_duration_since(cx.now.at);
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                ui.label(l.tr_with("retrying-in", &[("seconds", secs.to_string())]));
            }
            if ui
                .button(l.tr("retry"))
                .on_hover_text(l.tr("retry-tip"))
                .clicked()
            {
                out.push(Intent::RetryRegistration);
            }
        }
        ui.separator();
        let mut state = text::state(l, cx.ws.agent_state());
        if let Some(left) = cx.ws.wrap_up_left(cx.now.at) {
            // The after-call-work countdown, where the state is shown.
            state = format!("{state} ({} s)", left.as_secs());
        }
        ui.label(l.tr_with("state", &[("state", state)]));
        if !cx.ws.reachable() && cx.ws.agent_state() == &AgentState::Available {
            // Available, but the PBX cannot reach the desk: say so where
            // the state is, so nobody waits for calls that cannot come.
            ui.colored_label(ui.visuals().warn_fg_color, l.tr("state-unreachable"))
                .on_hover_text(l.tr("state-unreachable-tip"));
        }
        ui.separator();
        if ui
            .button(l.tr("available"))
            .on_hover_text(l.tr("available-tip"))
            .clicked()
        {
            out.push(Intent::SetState(AgentState::Available));
        }
        ui.menu_button(l.tr("break"), |ui| {
            for r in cx.break_reasons {
                if ui.button(r).clicked() {
                    out.push(Intent::SetState(AgentState::Break { reason: r.clone() }));
                }
            }
        })
        .response
        .on_hover_text(l.tr("break-tip"));
        if cx.ws.mail_config().is_some() {
            // Both channels, or calls only: the e-mails in hand stay.
            let mut calls_only = cx.ws.calls_only();
            if ui
                .checkbox(&mut calls_only, l.tr("calls-only"))
                .on_hover_text(l.tr("calls-only-tip"))
                .changed()
            {
                out.push(Op::CallsOnly(calls_only).into());
            }
        }
        if ui
            .button(l.tr("offline"))
            .on_hover_text(l.tr("offline-tip"))
            .clicked()
        {
            out.push(Intent::SetState(AgentState::Offline));
        }
        ui.separator();
        ui.label(l.tr_with("headset-indicator", &[("name", cx.headset.clone())]));
        if let Some(db) = cx.mic_level {
            ui.add(egui::ProgressBar::new(meter(db)).desired_width(60.0))
                .on_hover_text(l.tr_with("mic-level", &[("level", format!("{db:.0}"))]));
        }
        ui.separator();
        let mut lang = l;
        egui::ComboBox::from_label(l.tr("language"))
            .selected_text(l.name())
            .show_ui(ui, |ui| {
                for choice in Lang::ALL {
                    ui.selectable_value(&mut lang, choice, choice.name());
                }
            });
        if lang != l {
            out.push(Intent::SetLang(lang));
        }
        if ui
            .selectable_label(cx.settings_open, l.tr("settings"))
            .on_hover_text(l.tr("settings-tip"))
            .clicked()
        {
            out.push(Intent::Settings(!cx.settings_open));
        }
    });
}
