//! The workspace's panels, one file each. A panel is a function from the
//! read-only [`Cx`] (and its own view state: what is being typed, a search)
//! to [`Intent`]s; it does no I/O and changes nothing else.
//!
//! ```text
//! ┌ top_bar ──────────────────────────────────────────────────────────┐
//! │ work_list │ centre (strips, then the focus: call · caller_card ·  │ tabs: customer ·
//! │ + figures │ wrap_up · missed · score · dial · settings)           │ script · directory ·
//! │           │                                                       │ history · contacts
//! └ notices ──────────────────────────────────────────────────────────┘
//! ```

mod call;
mod caller_card;
mod centre;
mod dial;
mod email;
mod lamp;
mod missed;
mod notices;
mod score;
mod settings;
mod strips;
mod tabs;
mod top_bar;
mod work_list;
mod wrap_up;

pub(crate) use tabs::ContextTab;

use switchboard_desk::directory::Directory;
use switchboard_desk::store::Draft;
use switchboard_desk::workspace::{ItemId, Now, Workspace};

use crate::{Intent, Lang};

/// What every panel may read.
pub(crate) struct Cx<'a> {
    /// The workspace.
    pub(crate) ws: &'a Workspace,
    /// The language.
    pub(crate) l: Lang,
    /// This frame's time.
    pub(crate) now: Now,
    /// The company directory.
    pub(crate) directory: &'a Directory,
    /// Quick-connects: label and target.
    pub(crate) quick: &'a [(String, String)],
    /// A supervisor's desk: the PBX's codes to listen, whisper and barge.
    pub(crate) supervisor: Option<&'a switchboard_desk::config::FeatureCodes>,
    /// The team's board as last read, and when (Unix ms).
    pub(crate) board: Option<&'a (Result<switchboard_desk::team::Board, String>, i64)>,
    /// Dispositions in effect.
    pub(crate) dispositions: &'a [String],
    /// Break reasons in effect.
    pub(crate) break_reasons: &'a [String],
    /// Moves when contacts change.
    pub(crate) contacts_version: u64,
    /// The knowledge base's index, if there is one.
    pub(crate) knowledge: Option<&'a switchboard_desk::knowledge::Index>,
    /// Moves when the knowledge base changes.
    pub(crate) knowledge_version: u64,
    /// The settings screen is open.
    pub(crate) settings_open: bool,
    /// The headset in use, for the top bar.
    pub(crate) headset: String,
    /// The microphone level to show, dBFS.
    pub(crate) mic_level: Option<f32>,
}

/// The panels' own state: what is typed, which tab is open.
#[derive(Default)]
pub(crate) struct View {
    /// The dial field.
    pub(crate) dial: String,
    /// The transfer target field.
    pub(crate) transfer_to: String,
    /// Transfer buttons consult first.
    pub(crate) consult_first: bool,
    /// The wrap-up being edited and its text.
    pub(crate) draft: Option<(ItemId, Draft)>,
    /// The workspace's disposition for that form when last looked at (a
    /// change there is the script deciding).
    pub(crate) disposition_seen: Option<String>,
    /// The context tab shown.
    pub(crate) tab: usize,
    /// The context tabs.
    pub(crate) tabs: Vec<Box<dyn ContextTab>>,
    /// The call that last rang (the Customer tab comes up for a new one).
    pub(crate) rang: Option<switchboard_desk::agent::CallRef>,
    /// The call in hand with a script or form (its tab comes up for a new one).
    pub(crate) scripted: Option<ItemId>,
    /// The e-mail last brought into the centre (the Customer tab comes up
    /// for a new one: who wrote, and what the team answered them before).
    pub(crate) mailed: Option<ItemId>,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View").field("tab", &self.tab).finish()
    }
}

/// Ids of the fields shortcuts move the focus to.
pub(crate) const DIAL_FIELD: &str = "dial";
pub(crate) const TRANSFER_FIELD: &str = "transfer-to";

/// The whole workspace in `ui`.
pub(crate) fn workspace(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    view: &mut View,
    settings: &mut crate::settings::Form,
    out: &mut Vec<Intent>,
) {
    if view.tabs.is_empty() {
        view.tabs = tabs::all();
    }
    // A call ringing with nothing in hand: the Customer tab shows who it is.
    let ringing = cx
        .ws
        .offered()
        .filter(|_| cx.ws.in_hand().is_none())
        .map(|c| c.call);
    if ringing.is_some() && ringing != view.rang {
        view.tab = 0;
    }
    view.rang = ringing;
    // A call with a script comes into hand: the Script tab shows its first
    // question; a call with a form and no script: the Form tab.
    let talking = cx.ws.talking();
    let tab = talking.and_then(|c| {
        if c.script.is_some() {
            Some("script")
        } else if c.draft.form.is_some() {
            Some("form")
        } else {
            None
        }
    });
    let scripted = tab.and(talking).map(|c| c.id);
    if scripted.is_some()
        && scripted != view.scripted
        && let Some(i) = view.tabs.iter().position(|t| Some(t.key()) == tab)
    {
        view.tab = i;
    }
    view.scripted = scripted;
    let mailed = match cx.ws.focus() {
        switchboard_desk::workspace::Focus::Email(e) => Some(e.id),
        _ => None,
    };
    if mailed.is_some() && mailed != view.mailed {
        view.tab = 0;
    }
    view.mailed = mailed;
    shortcuts(ui, cx, out);
    let width = ui.available_width();
    egui::Panel::top("top-bar").show(ui, |ui| top_bar::ui(ui, cx, out));
    // Always there, so a notice arriving never moves what the operator
    // is about to click.
    egui::Panel::bottom("notices")
        .resizable(true)
        .default_size(72.0)
        .size_range(28.0..=320.0)
        .show(ui, |ui| notices::ui(ui, cx, out));
    egui::Panel::left("work-list")
        .resizable(true)
        .default_size((width * 0.18).clamp(170.0, 280.0))
        .size_range(150.0..=420.0)
        .show(ui, |ui| work_list::ui(ui, cx, out));
    egui::Panel::right("context")
        .resizable(true)
        .default_size((width * 0.3).clamp(230.0, 480.0))
        .size_range(200.0..=760.0)
        .show(ui, |ui| tabs::ui(ui, cx, view, out));
    egui::CentralPanel::default().show(ui, |ui| centre::ui(ui, cx, view, settings, out));
}

/// Keyboard shortcuts (shown in the buttons' tooltips): F3 answer, F4 hang
/// up, F5 available, F6 hold, F7 mute, F8 transfer (to the number field),
/// F9 break, Ctrl+S save the wrap-up, Ctrl+, settings, Alt+1…9 a
/// work-list item. What is
/// typed while no field has the focus and the dial pad is in the centre
/// goes to the dial field (dial by typing).
fn shortcuts(ui: &egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
    use egui::Key;
    let (pressed, save, alt) = ui.input(|i| {
        let keys = [
            Key::F3,
            Key::F4,
            Key::F5,
            Key::F6,
            Key::F7,
            Key::F8,
            Key::F9,
        ]
        .map(|k| i.key_pressed(k));
        let alt = [
            Key::Num1,
            Key::Num2,
            Key::Num3,
            Key::Num4,
            Key::Num5,
            Key::Num6,
            Key::Num7,
            Key::Num8,
            Key::Num9,
        ]
        .iter()
        .position(|k| i.modifiers.alt && i.key_pressed(*k));
        let settings = i.modifiers.command && i.key_pressed(Key::Comma);
        (
            keys,
            (i.modifiers.command && i.key_pressed(Key::S), settings),
            alt,
        )
    });
    let (save, settings) = save;
    if settings {
        out.push(Intent::Settings(!cx.settings_open));
    }
    let [f3, f4, f5, f6, f7, f8, f9] = pressed;
    let ws = cx.ws;
    let hand = ws.in_hand();
    let talking = ws.talking();
    if let Some(n) = alt {
        out.push(Intent::SelectNth(n));
    }
    if f8 && talking.is_some() {
        ui.memory_mut(|m| m.request_focus(egui::Id::unique(TRANSFER_FIELD)));
    }
    if f9 && let Some(reason) = cx.break_reasons.first() {
        out.push(Intent::SetState(
            switchboard_desk::agent::AgentState::Break {
                reason: reason.clone(),
            },
        ));
    }
    let dial_shown =
        matches!(ws.focus(), switchboard_desk::workspace::Focus::Idle) && !cx.settings_open;
    if dial_shown && alt.is_none() && ui.memory(|m| m.focused().is_none()) {
        let typed = ui.input(|i| {
            i.events
                .iter()
                .any(|e| matches!(e, egui::Event::Text(t) if !t.trim().is_empty()))
        });
        if typed {
            // The field takes focus and, in this same frame, what was typed
            // (a number, or a `sip:` address).
            ui.memory_mut(|m| m.request_focus(egui::Id::unique(DIAL_FIELD)));
        }
    }
    use switchboard_desk::workspace::Op;
    if f3 && ws.offered().is_some() {
        out.push(Op::Answer.into());
    }
    if f4 && hand.is_some() {
        out.push(Op::Hangup.into());
    }
    if f5 {
        out.push(Intent::SetState(
            switchboard_desk::agent::AgentState::Available,
        ));
    }
    if f6 && talking.is_some() {
        out.push(Op::Hold.into());
    }
    if f7 && let Some(c) = talking {
        out.push(Op::Mute(!c.muted).into());
    }
    if save && ws.focused_wrap_up().is_some() {
        out.push(Intent::SaveWrapUp);
    }
}

/// Answer buttons: green, white text, readable in light and dark themes.
pub(crate) const ANSWER_GREEN: egui::Color32 = egui::Color32::from_rgb(30, 130, 60);
/// Hang-up buttons.
pub(crate) const HANG_UP_RED: egui::Color32 = egui::Color32::from_rgb(180, 40, 40);

/// A meter's fill: −60 dBFS and below empty, 0 dBFS full.
pub(crate) fn meter(db: f32) -> f32 {
    ((db + 60.0) / 60.0).clamp(0.0, 1.0)
}

/// A warning's colour, readable on light and dark backgrounds.
pub(crate) fn warn_color(ui: &egui::Ui) -> egui::Color32 {
    ui.visuals().warn_fg_color
}

/// A call's running time, `m:ss`.
pub(crate) fn timer(since: std::time::Instant, now: std::time::Instant) -> String {
    let ms = i64::try_from(now.saturating_duration_since(since).as_millis()).unwrap_or(i64::MAX);
    switchboard_desk::time::clock(ms)
}

/// A query's result, kept until its inputs change: panels ask every frame,
/// the database is asked only when the key moves.
pub(crate) struct Cached<K, V> {
    entry: Option<(K, V)>,
}

impl<K, V> Default for Cached<K, V> {
    fn default() -> Self {
        Cached { entry: None }
    }
}

impl<K: PartialEq, V> Cached<K, V> {
    /// The value for `key`, computed by `compute` when the key changed.
    pub(crate) fn get(&mut self, key: K, compute: impl FnOnce(&K) -> V) -> &V {
        if self.entry.as_ref().is_none_or(|(k, _)| *k != key) {
            let v = compute(&key);
            self.entry = Some((key, v));
        }
        let (_, v) = self
            .entry
            .get_or_insert_with(|| unreachable!("filled above"));
        v
    }
}

/// A button in a list row: it shows `text` ("Call"), and tells assistive
/// technology (and tests) whose row it is ("Call Jüri Õunapuu").
pub(crate) fn row_button(
    ui: &mut egui::Ui,
    enabled: bool,
    text: &str,
    whose: &str,
) -> egui::Response {
    let r = ui.add_enabled(enabled, egui::Button::new(text));
    let label = format!("{text} {whose}");
    r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, &label));
    r
}
