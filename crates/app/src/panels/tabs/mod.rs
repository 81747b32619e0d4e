//! The context tabs on the right. The set is open: a tab is a file with a
//! type implementing [`ContextTab`] and one line in [`all`]; the next
//! issues add Knowledge, Form and Mail this way (Script came so).

mod contacts;
mod customer;
mod directory;
mod form;
mod history;
mod knowledge;
mod script;
mod team;

use super::{Cx, View};
use crate::{Intent, Lang};

/// One tab: its title and its contents. It keeps its own view state (a
/// search typed, query results cached until their inputs change).
pub(crate) trait ContextTab {
    /// The tab's title.
    fn title(&self, l: Lang) -> String;
    /// A name the workspace brings it up by (`script` when a call with a
    /// script is answered).
    fn key(&self) -> &'static str {
        ""
    }
    /// Whether the tab is offered on this desk (Team: a supervisor's only).
    fn shown(&self, _cx: &Cx<'_>) -> bool {
        true
    }
    /// Draws the tab.
    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>);
}

/// Every tab, in order.
pub(crate) fn all() -> Vec<Box<dyn ContextTab>> {
    vec![
        Box::new(customer::Customer::default()),
        Box::new(script::ScriptTab::default()),
        Box::new(knowledge::KnowledgeTab::default()),
        Box::new(form::FormTab::default()),
        Box::new(directory::DirectoryTab::default()),
        Box::new(history::History::default()),
        Box::new(contacts::Contacts::default()),
        Box::new(team::TeamTab),
    ]
}

/// The tab bar and the open tab.
pub(crate) fn ui(ui: &mut egui::Ui, cx: &Cx<'_>, view: &mut View, out: &mut Vec<Intent>) {
    ui.horizontal_wrapped(|ui| {
        for (i, t) in view.tabs.iter().enumerate() {
            if !t.shown(cx) {
                continue;
            }
            if ui.selectable_label(view.tab == i, t.title(cx.l)).clicked() {
                view.tab = i;
            }
        }
    });
    ui.separator();
    let n = view.tabs.len();
    if let Some(t) = view.tabs.get_mut(view.tab.min(n.saturating_sub(1))) {
        t.ui(ui, cx, out);
    }
}
