//! The settings screen: the account (with its password, kept in the
//! keyring), the audio devices with the headset test, and the desk's rules.
//! Save applies what can change at once and re-registers.

use super::{Cx, meter};
use crate::settings::Form;
use crate::{Intent, Lang};

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, f: &mut Form, out: &mut Vec<Intent>) {
    let l = cx.l;
    ui.horizontal(|ui| {
        ui.heading(l.tr("settings"));
        if ui.button(l.tr("close")).clicked() {
            out.push(Intent::Settings(false));
        }
    });
    ui.strong(l.tr("account-settings"));
    egui::Grid::new("account").num_columns(2).show(ui, |ui| {
        for (key, value) in [
            ("registrar", &mut f.registrar),
            ("username", &mut f.username),
            ("display-name", &mut f.display_name),
        ] {
            let label = ui.label(l.tr(key));
            ui.text_edit_singleline(value).labelled_by(label.id);
            ui.end_row();
        }
        let label = ui.label(l.tr("password"));
        ui.add(
            egui::TextEdit::singleline(&mut f.password)
                .password(true)
                .hint_text(l.tr("password-hint")),
        )
        .labelled_by(label.id);
        ui.end_row();
    });
    ui.weak(l.tr("password-tip"));
    ui.separator();
    ui.strong(l.tr("audio-settings"));
    let inputs = f.devices.as_ref().map(|d| &d.0);
    let outputs = f.devices.as_ref().map(|d| &d.1);
    device_combo(ui, l, &l.tr("microphone"), &mut f.input, inputs);
    device_combo(ui, l, &l.tr("speaker"), &mut f.output, outputs);
    device_combo(ui, l, &l.tr("ringer"), &mut f.ringer, outputs);
    ui.horizontal(|ui| {
        let (text, on) = if f.testing {
            (l.tr("stop-test"), false)
        } else {
            (l.tr("test-headset"), true)
        };
        if ui.button(text).on_hover_text(l.tr("test-tip")).clicked() {
            out.push(Intent::HeadsetTest(on));
        }
        if let Some((db, input, output)) = &f.mic {
            ui.add(egui::ProgressBar::new(meter(*db)).desired_width(160.0));
            ui.label(l.tr_with("mic-level", &[("level", format!("{db:.0}"))]));
            ui.label(format!("{input} · {output}"));
        }
    });
    ui.separator();
    ui.strong(l.tr("desk-settings"));
    ui.horizontal(|ui| {
        let label = ui.label(l.tr("wrap-up-secs"));
        ui.add(egui::TextEdit::singleline(&mut f.wrap_up_secs).desired_width(60.0))
            .labelled_by(label.id);
        ui.checkbox(&mut f.auto_available, l.tr("auto-available"));
    });
    for (key, text) in [
        ("dispositions-edit", &mut f.dispositions),
        ("break-reasons-edit", &mut f.break_reasons),
        ("quick-connect-edit", &mut f.quick_connect),
        ("header-rules-edit", &mut f.header_rules),
    ] {
        let label = ui.label(l.tr(key));
        ui.add(egui::TextEdit::multiline(text).desired_rows(3))
            .labelled_by(label.id);
    }
    if ui
        .add(egui::Button::new(l.tr("save-settings")).min_size(egui::vec2(140.0, 32.0)))
        .clicked()
    {
        out.push(Intent::SaveSettings);
    }
}

/// A device chooser: "System default" or one of the names.
fn device_combo(
    ui: &mut egui::Ui,
    l: Lang,
    label: &str,
    value: &mut String,
    names: Option<&Vec<String>>,
) {
    let shown = if value.is_empty() {
        l.tr("system-default")
    } else {
        value.clone()
    };
    egui::ComboBox::from_label(label)
        .selected_text(shown)
        .show_ui(ui, |ui| {
            ui.selectable_value(value, String::new(), l.tr("system-default"));
            for n in names.into_iter().flatten() {
                ui.selectable_value(value, n.clone(), n);
            }
        });
}
