//! An e-mail in the centre. A queued one: who wrote, about what, when, how
//! big, and Take. A claimed one: its header, then the thread — the earlier
//! reply it answers, the mail as text, its attachments to save — scrolling
//! above the reply, which stays in view at the bottom: a template, the
//! order or ticket number, the answer, a colleague to forward to, the
//! wrap-up, and Send (Ctrl+Enter), Forward, Close without reply, Give back.
//! A reply waiting for the customer: whose, when, and that their answer
//! comes back here.

mod reply;

use switchboard_desk::email::Waiting;
use switchboard_desk::workspace::{Email, MailLink, MailOp, MailStatus, Op};

use super::{Cx, row_button, warn_color};
use crate::{Intent, Lang, text};

pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Email, out: &mut Vec<Intent>) {
    match e.status {
        MailStatus::Queued | MailStatus::Claiming => {
            egui::ScrollArea::vertical()
                .id_salt("mail-queued")
                .auto_shrink([false, false])
                .show(ui, |ui| queued(ui, cx, e, out));
        }
        MailStatus::Mine => claimed(ui, cx, e, out),
    }
}

/// A mail of the shared queue: enough to decide, and Take.
fn queued(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Email, out: &mut Vec<Intent>) {
    let l = cx.l;
    ui.heading(subject(l, &e.listed.subject));
    ui.label(l.tr_with("mail-from", &[("who", e.listed.from.clone())]));
    if let Some(ms) = e.listed.date_ms {
        ui.label(l.tr_with("mail-date", &[("date", text::stamp(l, ms, cx.now.unix_ms))]));
    }
    ui.label(l.tr_with(
        "mail-size",
        &[("size", text::size(l, u64::from(e.listed.size)))],
    ));
    if let Some(earlier) = &e.earlier {
        ui.weak(l.tr_with("mail-answers", &[("subject", earlier.subject.clone())]));
    }
    ui.add_space(8.0);
    if e.status == MailStatus::Claiming {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(l.tr("mail-claiming"));
        });
        return;
    }
    let why_not = why_not_take(cx);
    ui.horizontal_wrapped(|ui| {
        let take = egui::Button::new(egui::RichText::new(l.tr("mail-take")).strong())
            .min_size(egui::vec2(160.0, 32.0));
        let r = ui
            .add_enabled(why_not.is_none(), take)
            .on_hover_text(l.tr("mail-take-tip"));
        if let Some(why) = &why_not {
            r.on_disabled_hover_text(why.as_str());
            ui.colored_label(warn_color(ui), why.as_str());
        } else if r.clicked() {
            out.push(Op::Mail(e.id, MailOp::Open).into());
        }
    });
}

/// Why the queue's mail cannot be taken now, if it cannot.
fn why_not_take(cx: &Cx<'_>) -> Option<String> {
    let l = cx.l;
    if cx.ws.calls_only() {
        return Some(l.tr("mail-why-calls-only"));
    }
    if !cx.ws.takes_email() {
        return Some(l.tr("mail-why-state"));
    }
    match cx.ws.mail_link() {
        MailLink::Online => None,
        MailLink::Offline(error) => {
            Some(l.tr_with("mail-link-offline", &[("error", error.clone())]))
        }
        MailLink::Connecting | MailLink::None => Some(l.tr("mail-link-connecting")),
    }
}

/// The operator's mail: the thread above, the reply below (always in view).
fn claimed(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Email, out: &mut Vec<Intent>) {
    header(ui, cx, e);
    let mut d = e.draft.clone();
    let height = ui.available_height();
    let reply = egui::Panel::bottom("mail-reply-panel")
        .resizable(true)
        .default_size((height * 0.5).clamp(200.0, 320.0))
        // The thread keeps room to read in, however far it is dragged.
        .size_range(200.0..=(height - 150.0).max(200.0))
        .frame(egui::Frame::NONE.inner_margin(egui::Margin::symmetric(0, 6)))
        .show(ui, |ui| {
            let height = ui.available_height();
            egui::ScrollArea::vertical()
                .id_salt(("mail-reply-scroll", e.id))
                .auto_shrink([false, false])
                .show(ui, |ui| reply::form(ui, cx, e, &mut d, height))
                .inner
        })
        .inner;
    egui::ScrollArea::vertical()
        .id_salt(("mail-thread", e.id))
        .auto_shrink([false, false])
        .show(ui, |ui| thread(ui, cx, e, out));
    // What was typed first, then what was pressed: Send takes this frame's text.
    if d != e.draft {
        out.push(Op::Mail(e.id, MailOp::Edit(d)).into());
    }
    if let Some(op) = reply {
        out.push(Op::Mail(e.id, op).into());
    }
}

/// Subject, sender, recipients, date.
fn header(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Email) {
    let l = cx.l;
    let (from, to, date) = match &e.message {
        Some(m) => {
            let from = match &m.from.name {
                Some(n) if !m.from.email.is_empty() => format!("{n} <{}>", m.from.email),
                Some(n) => n.clone(),
                None => m.from.email.clone(),
            };
            let to: Vec<String> =
                m.to.iter()
                    .map(|a| match &a.name {
                        Some(n) => format!("{n} <{}>", a.email),
                        None => a.email.clone(),
                    })
                    .collect();
            (from, to.join(", "), m.date_ms.or(e.listed.date_ms))
        }
        None => (e.listed.from.clone(), String::new(), e.listed.date_ms),
    };
    ui.heading(subject(l, &e.listed.subject));
    ui.horizontal_wrapped(|ui| {
        ui.label(l.tr_with("mail-from", &[("who", from)]));
        if let Some(r) = e.reply_to().filter(|r| {
            e.message
                .as_ref()
                .is_some_and(|m| m.reply_to.is_some() && r.email != m.from.email)
        }) {
            ui.weak(l.tr_with("mail-reply-goes", &[("address", r.email.clone())]));
        }
    });
    if !to.is_empty() {
        ui.add(egui::Label::new(l.tr_with("mail-to", &[("to", to)])).truncate());
    }
    if let Some(ms) = date {
        ui.weak(l.tr_with("mail-date", &[("date", text::stamp(l, ms, cx.now.unix_ms))]));
    }
    if e.gone {
        ui.colored_label(warn_color(ui), l.tr("mail-gone"));
    }
    ui.separator();
}

/// The conversation: what it answers, the mail, its attachments.
fn thread(ui: &mut egui::Ui, cx: &Cx<'_>, e: &Email, out: &mut Vec<Intent>) {
    let l = cx.l;
    if let Some(earlier) = &e.earlier {
        egui::Frame::group(ui.style())
            .fill(ui.visuals().faint_bg_color)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                let date = earlier
                    .replied_ms
                    .map(|ms| text::when(l, ms, cx.now.unix_ms))
                    .unwrap_or_else(|| "—".into());
                let agent = earlier.agent.clone().unwrap_or_else(|| "—".into());
                ui.strong(l.tr_with("mail-earlier", &[("date", date), ("agent", agent)]));
                ui.add(egui::Label::new(&earlier.reply).selectable(true).wrap());
                egui::CollapsingHeader::new(l.tr("mail-earlier-theirs"))
                    .id_salt(("mail-earlier-theirs", e.id))
                    .default_open(false)
                    .show(ui, |ui| {
                        ui.add(egui::Label::new(&earlier.text).selectable(true).wrap());
                    });
            });
        ui.add_space(6.0);
    }
    let Some(m) = &e.message else {
        match &e.error {
            Some(error) => {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    l.tr_with("mail-download-failed", &[("error", error.clone())]),
                );
            }
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(l.tr("mail-downloading"));
                });
            }
        }
        return;
    };
    if m.html_only {
        ui.weak(l.tr("mail-html"));
    }
    for w in &m.warnings {
        ui.colored_label(
            warn_color(ui),
            l.tr_with("mail-warning", &[("warning", w.clone())]),
        );
    }
    // Already safe plain text: selectable to copy from, never edited.
    ui.add(egui::Label::new(&m.text).selectable(true).wrap());
    if m.attachments.is_empty() {
        return;
    }
    ui.add_space(6.0);
    ui.strong(l.tr_with(
        "mail-attachments",
        &[("n", m.attachments.len().to_string())],
    ));
    egui::Grid::new(("mail-attachments", e.id))
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            for (index, a) in m.attachments.iter().enumerate() {
                ui.label(&a.name);
                ui.weak(&a.mime);
                ui.weak(text::size(l, a.size as u64));
                if row_button(ui, e.raw.is_some(), &l.tr("mail-save"), &a.name)
                    .on_hover_text(l.tr("mail-save-tip"))
                    .clicked()
                {
                    out.push(Intent::SaveAttachment { item: e.id, index });
                }
                ui.end_row();
            }
        });
}

/// A subject to show (a mail may have none).
fn subject(l: Lang, s: &str) -> String {
    if s.trim().is_empty() {
        l.tr("mail-no-subject")
    } else {
        s.to_owned()
    }
}

/// A reply this desk sent, waiting for the customer's answer.
pub(crate) fn waiting(ui: &mut egui::Ui, cx: &Cx<'_>, w: &Waiting) {
    let l = cx.l;
    ui.heading(subject(l, &w.subject));
    ui.label(l.tr_with("mail-customer", &[("who", w.from.clone())]));
    ui.label(l.tr_with(
        "mail-replied",
        &[("when", text::stamp(l, w.replied_ms, cx.now.unix_ms))],
    ));
    ui.add_space(8.0);
    ui.label(l.tr("mail-waiting-note"));
}
