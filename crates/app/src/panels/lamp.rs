//! A colleague's busy lamp: a coloured dot (green free, amber ringing, red
//! on the phone, grey not known or refused) and, for the screen reader and
//! the colour-blind, the same in words.

use switchboard_desk::workspace::Lamp;

use crate::Lang;

/// The lamp in words.
pub(crate) fn word(l: Lang, lamp: &Lamp) -> String {
    match lamp {
        Lamp::Idle => l.tr("lamp-idle"),
        Lamp::Ringing => l.tr("lamp-ringing"),
        Lamp::Busy => l.tr("lamp-busy"),
        Lamp::Unknown => l.tr("lamp-unknown"),
        Lamp::Off(reason) => l.tr_with("lamp-off", &[("reason", reason.clone())]),
    }
}

/// The dot, its words on hover.
pub(crate) fn dot(ui: &mut egui::Ui, l: Lang, lamp: &Lamp) -> egui::Response {
    let size = ui.text_style_height(&egui::TextStyle::Body) * 0.7;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    let r = size / 2.0;
    let painter = ui.painter();
    let _shape = match lamp {
        Lamp::Idle => painter.circle_filled(rect.center(), r, egui::Color32::from_rgb(46, 160, 67)),
        Lamp::Ringing => {
            painter.circle_filled(rect.center(), r, egui::Color32::from_rgb(230, 160, 0))
        }
        Lamp::Busy => painter.circle_filled(rect.center(), r, egui::Color32::from_rgb(210, 50, 45)),
        Lamp::Unknown | Lamp::Off(_) => painter.circle_stroke(
            rect.center(),
            r - 1.0,
            egui::Stroke::new(1.5, ui.visuals().weak_text_color()),
        ),
    };
    let words = word(l, lamp);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &words));
    response.on_hover_text(words)
}

/// A quick-connect button with its lamp before it, when the line is
/// watched; the button's accessible name says the lamp too.
pub(crate) fn quick_button(
    ui: &mut egui::Ui,
    l: Lang,
    enabled: bool,
    label: &str,
    target: &str,
    lamp: Option<&Lamp>,
) -> egui::Response {
    match lamp {
        None => ui
            .add_enabled(enabled, egui::Button::new(label))
            .on_hover_text(target),
        Some(lamp) => {
            let words = word(l, lamp);
            let r = ui
                .scope(|ui| {
                    ui.spacing_mut().item_spacing.x = 2.0;
                    dot(ui, l, lamp);
                    ui.add_enabled(enabled, egui::Button::new(label))
                })
                .inner;
            let name = format!("{label} ({words})");
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, &name));
            r.on_hover_text(format!("{target}: {words}"))
        }
    }
}
