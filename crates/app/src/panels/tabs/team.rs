//! Team (a supervisor's desk only): the team's board from the team
//! database — hands raised first, with the caller; the shared mailbox's
//! queue; every agent with their state, for how long, the caller in hand
//! and today's figures; and Listen, Whisper and Barge, which dial the
//! PBX's feature code for the agent's extension.

use switchboard_desk::config::FeatureCodes;
use switchboard_desk::team::{AgentPresence, Board};

use super::ContextTab;
use crate::panels::{Cx, row_button};
use crate::{Intent, Lang, text};

/// The tab (it keeps nothing: the board is the desk's).
#[derive(Default)]
pub(crate) struct TeamTab;

/// `m:ss`, or `h:mm:ss` from an hour on.
fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// An agent's state in words (the top bar's words).
fn state(l: Lang, a: &AgentPresence) -> String {
    match a.state.as_str() {
        "offline" => l.tr("state-offline"),
        "available" => l.tr("state-available"),
        "break" => l.tr_with(
            "state-break",
            &[("reason", a.reason.clone().unwrap_or_default())],
        ),
        "dialing" => l.tr("state-dialing"),
        "ringing" => l.tr("state-ringing"),
        "in_call" => l.tr("state-in-call"),
        "wrap_up" => l.tr("state-wrap-up"),
        other => other.to_owned(),
    }
}

fn caller(a: &AgentPresence) -> Option<String> {
    let number = a.call_number.clone()?;
    Some(match &a.call_name {
        Some(n) if !n.is_empty() => format!("{n} ({number})"),
        _ => number,
    })
}

impl ContextTab for TeamTab {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-team")
    }

    fn shown(&self, cx: &Cx<'_>) -> bool {
        cx.supervisor.is_some()
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        let Some(codes) = cx.supervisor else {
            return;
        };
        // The board is read again every few seconds: show the next one.
        ui.ctx().request_repaint_after(crate::BOARD_EVERY);
        let stats = cx.ws.mail_stats();
        if cx.ws.mail_config().is_some() {
            match stats.oldest_ms {
                Some(oldest) if stats.waiting > 0 => ui.label(l.tr_with(
                    "board-mailbox",
                    &[
                        ("waiting", stats.waiting.to_string()),
                        (
                            "age",
                            text::duration(l, cx.now.unix_ms.saturating_sub(oldest)),
                        ),
                    ],
                )),
                _ => ui.weak(l.tr("board-mailbox-empty")),
            };
        }
        let Some((board, at)) = cx.board else {
            ui.weak(l.tr("board-reading"));
            return;
        };
        let board = match board {
            Ok(b) => b,
            Err(e) => {
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    l.tr_with("board-failed", &[("error", e.clone())]),
                );
                return;
            }
        };
        ui.weak(l.tr_with(
            "board-as-of",
            &[("age", clock(cx.now.unix_ms.saturating_sub(*at)))],
        ));
        help_requests(ui, cx, board, codes, out);
        if board.agents.is_empty() {
            ui.weak(l.tr("board-none"));
            return;
        }
        if codes == &FeatureCodes::default() {
            ui.weak(l.tr("board-no-codes"));
        }
        egui::ScrollArea::vertical()
            .id_salt("board-agents")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for a in &board.agents {
                    agent(ui, cx, board, a, codes, out);
                }
            });
    }
}

fn help_requests(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    board: &Board,
    codes: &FeatureCodes,
    out: &mut Vec<Intent>,
) {
    let l = cx.l;
    for a in board.help_requests().into_iter().filter(|a| !silent(cx, a)) {
        ui.group(|ui| {
            ui.set_width(ui.available_width());
            let waited = cx
                .now
                .unix_ms
                .saturating_sub(a.help_since_ms.unwrap_or(cx.now.unix_ms));
            ui.colored_label(
                ui.visuals().error_fg_color,
                egui::RichText::new(l.tr_with(
                    "board-help",
                    &[
                        ("agent", a.agent.clone()),
                        ("caller", caller(a).unwrap_or_default()),
                        ("for", clock(waited)),
                    ],
                ))
                .strong(),
            );
            actions(ui, cx, a, codes, out);
        });
    }
}

/// A desk that has said nothing for this long (it sends its state at least
/// every minute) is taken as closed or cut off: shown as such, no actions.
const SILENT_MS: i64 = 3 * 60_000;

fn silent(cx: &Cx<'_>, a: &AgentPresence) -> bool {
    cx.now.unix_ms.saturating_sub(a.updated_ms) > SILENT_MS
}

fn agent(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    board: &Board,
    a: &AgentPresence,
    codes: &FeatureCodes,
    out: &mut Vec<Intent>,
) {
    let l = cx.l;
    if silent(cx, a) {
        ui.group(|ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(|ui| {
                ui.weak(egui::RichText::new(&a.agent).strong());
                ui.weak(l.tr_with(
                    "board-silent",
                    &[(
                        "for",
                        text::duration(l, cx.now.unix_ms.saturating_sub(a.updated_ms)),
                    )],
                ));
            });
        });
        return;
    }
    ui.group(|ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            ui.label(egui::RichText::new(&a.agent).strong());
            if let Some(ext) = &a.extension {
                ui.weak(ext);
            }
            ui.label(format!(
                "{} · {}",
                state(l, a),
                clock(cx.now.unix_ms.saturating_sub(a.since_ms))
            ));
        });
        if let Some(c) = caller(a) {
            ui.label(l.tr_with("board-caller", &[("caller", c)]));
        }
        if let Some(f) = board.figures_of(&a.agent) {
            ui.weak(l.tr_with(
                "board-figures",
                &[
                    ("calls", f.calls.to_string()),
                    ("missed", f.missed.to_string()),
                    (
                        "avg",
                        f.avg_talk_ms().map(clock).unwrap_or_else(|| "–".into()),
                    ),
                    ("emails", f.emails.to_string()),
                ],
            ));
        }
        if a.state == "in_call" && a.help_since_ms.is_none() {
            actions(ui, cx, a, codes, out);
        }
    });
}

/// Listen, Whisper, Barge: each dials its code for the agent's extension.
fn actions(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    a: &AgentPresence,
    codes: &FeatureCodes,
    out: &mut Vec<Intent>,
) {
    let l = cx.l;
    let Some(ext) = &a.extension else {
        return;
    };
    ui.horizontal(|ui| {
        for (key, code) in [
            ("board-listen", &codes.listen),
            ("board-whisper", &codes.whisper),
            ("board-barge", &codes.barge),
        ] {
            let Some(code) = code else { continue };
            let label = l.tr(key);
            if row_button(ui, cx.ws.can_dial(), &label, &a.agent).clicked() {
                out.push(Intent::Dial {
                    input: FeatureCodes::dial(code, ext),
                    name: Some(format!("{label}: {}", a.agent)),
                });
            }
        }
    });
}
