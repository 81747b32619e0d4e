//! Customer: who is in the centre — the contact, the CRM record, the PBX's
//! data — and their earlier interactions with notes and dispositions; for
//! an e-mail, its sender (the contact with that address, the CRM record)
//! and their earlier e-mails with the desk.

use switchboard_desk::email::PastEmail;
use switchboard_desk::outbox::Item;
use switchboard_desk::store::{CallRecord, Contact};
use switchboard_desk::workspace::Focus;

use super::ContextTab;
use crate::panels::{Cached, Cx, caller_card, row_button};
use crate::{Intent, Lang, text};

/// Earlier calls shown.
const EARLIER: usize = 20;

/// What the store knows of a number: its contact and its latest calls,
/// each with what its form sent.
type Known = (Option<Contact>, Vec<(CallRecord, Vec<Item>)>);

/// Earlier e-mails shown.
const EARLIER_EMAILS: usize = 20;

/// The tab, with the last lookup kept until the number or the history changes.
#[derive(Default)]
pub(crate) struct Customer {
    cached: Cached<(String, u64, u64), Result<Known, String>>,
    /// (address, records version) → their closed e-mail interactions.
    mails: Cached<(String, u64), Result<Vec<PastEmail>, String>>,
    /// (address, records version, contacts version) → the contact with
    /// that address.
    by_address: Cached<(String, u64, u64), Result<Option<Contact>, String>>,
}

impl Customer {
    /// Who wrote the e-mail in the centre, and their e-mails the desk
    /// closed (a reply waiting for them among them, with its wrap-up).
    fn mail_sender(
        &mut self,
        ui: &mut egui::Ui,
        cx: &Cx<'_>,
        who: Sender<'_>,
        out: &mut Vec<Intent>,
    ) {
        let Sender {
            name,
            address,
            crm,
            team: team_view,
        } = who;
        let l = cx.l;
        ui.strong(name);
        if address != name {
            ui.label(address);
        }
        let store = cx.ws.store();
        // The contact with the sender's address, and their number to call.
        let found = self
            .by_address
            .get(
                (
                    address.to_owned(),
                    cx.ws.records_version(),
                    cx.contacts_version,
                ),
                |(a, _, _)| match store {
                    Some(s) => s
                        .contact_by_email(a)
                        .map(|c| c.map(|(_, c)| c))
                        .map_err(|e| e.to_string()),
                    None => Ok(None),
                },
            )
            .clone();
        match found {
            Ok(Some(c)) => {
                show_contact(ui, l, &c);
                if !c.number.trim().is_empty() {
                    ui.horizontal(|ui| {
                        ui.label(&c.number);
                        if row_button(ui, cx.ws.can_dial(), &l.tr("call"), &c.name).clicked() {
                            out.push(Intent::Dial {
                                input: c.number.clone(),
                                name: Some(c.name.clone()),
                            });
                        }
                    });
                }
            }
            Ok(None) => {
                ui.weak(l.tr("no-contact"));
            }
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
        }
        // The CRM's record, found by the address ({email} in [desk.crm] url).
        if let Some(v) = crm {
            caller_card::crm(ui, l, v);
        }
        let found = self
            .mails
            .get(
                (address.to_owned(), cx.ws.records_version()),
                |(a, _)| match store {
                    Some(s) => s.emails_from(a, EARLIER_EMAILS).map_err(|e| e.to_string()),
                    None => Ok(Vec::new()),
                },
            )
            .clone();
        ui.separator();
        ui.strong(l.tr("earlier-emails"));
        let past = match found {
            Ok(p) => p,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        // The colleagues' calls and e-mails with this address (this
        // desk's own are the list below).
        if let Some((t, current)) = &team_view {
            let mine = [current.clone()];
            team(ui, cx, t, &mine, true);
        }
        if past.is_empty() {
            ui.weak(l.tr("no-earlier-emails"));
        }
        egui::ScrollArea::vertical()
            .id_salt("customer-earlier-emails")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for p in &past {
                    ui.group(|ui| {
                        ui.set_width(ui.available_width());
                        ui.label(format!(
                            "{} · {}",
                            text::stamp(l, p.closed_ms, cx.now.unix_ms),
                            p.subject
                        ));
                        ui.label(format!(
                            "{} · {}",
                            text::mail_outcome(l, p.outcome),
                            p.disposition.as_deref().unwrap_or("—"),
                        ));
                        match Some(p.note.as_str()).filter(|n| !n.trim().is_empty()) {
                            Some(n) => ui.label(n),
                            None => ui.weak(l.tr("no-note")),
                        };
                        if let Some(a) = &p.agent {
                            ui.weak(l.tr_with("handled-by", &[("agent", a.clone())]));
                        }
                    });
                }
            });
    }

    fn lookup(&mut self, cx: &Cx<'_>, number: &str) -> Result<Known, String> {
        let store = cx.ws.store();
        self.cached
            .get(
                (
                    number.to_owned(),
                    cx.ws.records_version(),
                    cx.contacts_version,
                ),
                |(n, _, _)| {
                    let Some(s) = store else {
                        return Ok((None, Vec::new()));
                    };
                    let contact = s.contact_by_number(n).map_err(|e| e.to_string())?;
                    let calls = s.history(n, EARLIER).map_err(|e| e.to_string())?;
                    let calls = calls
                        .into_iter()
                        .map(|r| {
                            let sent = s.outbox_for_call(&r.call_id).unwrap_or_default();
                            (r, sent)
                        })
                        .collect();
                    Ok((contact, calls))
                },
            )
            .clone()
    }
}

impl ContextTab for Customer {
    fn title(&self, l: Lang) -> String {
        l.tr("tab-customer")
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &Cx<'_>, out: &mut Vec<Intent>) {
        let l = cx.l;
        // The centre has the call (number, queue, IVR data); here the
        // customer behind it: contact, CRM record, earlier interactions.
        let (number, name, crm) = match cx.ws.focus() {
            Focus::Call(c) => (c.card.number.clone(), c.card.name.clone(), c.crm.as_ref()),
            Focus::WrapUp(w) => (w.number.clone(), w.name.clone(), None),
            Focus::Missed(m) => (m.number.clone(), m.name.clone(), None),
            Focus::Email(e) => {
                let (name, address) = match &e.message {
                    Some(m) if !m.from.email.is_empty() => (e.who(), m.from.email.clone()),
                    _ => sender(&e.listed.from),
                };
                let key = format!(
                    "mail:{}",
                    e.listed.message_id.as_deref().unwrap_or_default()
                );
                let team_view = e.team.as_ref().map(|t| (t, key));
                let who = Sender {
                    name: &name,
                    address: &address,
                    crm: e.crm.as_ref(),
                    team: team_view,
                };
                self.mail_sender(ui, cx, who, out);
                return;
            }
            Focus::MailWaiting(_, w) => {
                let (name, address) = sender(&w.from);
                let who = Sender {
                    name: &name,
                    address: &address,
                    crm: None,
                    team: None,
                };
                self.mail_sender(ui, cx, who, out);
                return;
            }
            Focus::Idle => {
                ui.weak(l.tr("customer-none"));
                return;
            }
        };
        if number.is_empty() {
            return;
        }
        let (contact, calls) = match self.lookup(cx, &number) {
            Ok(found) => found,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return;
            }
        };
        ui.strong(name.unwrap_or_else(|| number.clone()));
        ui.label(&number);
        match &contact {
            Some(c) => {
                show_contact(ui, l, c);
                // Where to write to them.
                if let Some(e) = &c.email {
                    ui.label(e);
                }
            }
            None => {
                ui.weak(l.tr("no-contact"));
            }
        }
        if let Some(v) = crm {
            caller_card::crm(ui, l, v);
        }
        if let Focus::Call(c) = cx.ws.focus()
            && let Some(t) = &c.tickets
        {
            tickets(ui, l, t);
        }
        ui.separator();
        ui.strong(l.tr("earlier-interactions"));
        // The call in the centre is not "earlier".
        let current = match cx.ws.focus() {
            Focus::Call(c) => Some(c.call_id.clone()),
            Focus::WrapUp(w) => Some(w.call_id.clone()),
            _ => None,
        };
        let earlier: Vec<&(CallRecord, Vec<Item>)> = calls
            .iter()
            .filter(|(r, _)| Some(&r.call_id) != current.as_ref())
            .collect();
        if earlier.is_empty() {
            ui.weak(l.tr("no-earlier"));
        }
        egui::ScrollArea::vertical()
            .id_salt("customer-earlier")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for (r, sent) in earlier {
                    ui.group(|ui| {
                        ui.label(format!(
                            "{} · {} · {} · {}",
                            text::stamp(l, r.started_ms, cx.now.unix_ms),
                            text::direction(l, r.direction),
                            text::outcome(l, r),
                            r.disposition.as_deref().unwrap_or("—"),
                        ));
                        match r.note.as_deref().filter(|n| !n.trim().is_empty()) {
                            Some(n) => ui.label(n),
                            None => ui.weak(l.tr("no-note")),
                        };
                        if let Some(t) = &r.transfers {
                            ui.weak(l.tr_with("transfers", &[("chain", t.replace('\n', " · "))]));
                        }
                        // Where its order or ticket went, and the number it got.
                        super::history::deliveries(ui, cx, sent, out);
                    });
                }
            });
        if let Focus::Call(c) = cx.ws.focus()
            && let Some(t) = &c.team
        {
            let mine: Vec<String> = calls
                .iter()
                .map(|(r, _)| format!("call:{}", r.call_id))
                .chain(std::iter::once(format!("call:{}", c.call_id)))
                .collect();
            team(ui, cx, t, &mine, false);
        }
    }
}

/// An e-mail's sender, as the tab shows them.
struct Sender<'a> {
    name: &'a str,
    address: &'a str,
    /// Their CRM record, looked up by address.
    crm: Option<&'a switchboard_desk::workspace::CrmView>,
    /// The team's records with the address, and the key of the mail in hand.
    team: Option<(&'a switchboard_desk::team::TeamView, String)>,
}

/// The team's earlier interactions with the caller (colleagues' calls,
/// each with who took it), beside this desk's own.
fn team(
    ui: &mut egui::Ui,
    cx: &Cx<'_>,
    t: &switchboard_desk::team::TeamView,
    mine: &[String],
    others_only: bool,
) {
    use switchboard_desk::team::TeamView;
    let l = cx.l;
    ui.separator();
    ui.strong(l.tr("team-earlier"));
    match t {
        TeamView::Pending => {
            ui.weak(l.tr("team-looking"));
        }
        TeamView::Failed(e) => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                l.tr_with("team-failed", &[("error", e.clone())]),
            );
        }
        TeamView::Found(list) => {
            let theirs: Vec<_> = list
                .iter()
                .filter(|i| !mine.contains(&i.key))
                .filter(|i| !others_only || i.agent != cx.ws.operator())
                .collect();
            if theirs.is_empty() {
                ui.weak(l.tr("team-none"));
            }
            for i in theirs {
                ui.group(|ui| {
                    ui.set_width(ui.available_width());
                    let kind = if i.kind == "mail" {
                        l.tr("team-kind-mail")
                    } else {
                        l.tr("team-kind-call")
                    };
                    ui.label(format!(
                        "{} · {kind} · {} · {}",
                        text::stamp(l, i.started_ms, cx.now.unix_ms),
                        l.tr_with("handled-by", &[("agent", i.agent.clone())]),
                        i.disposition.as_deref().unwrap_or("—"),
                    ));
                    match i.note.as_deref().filter(|n| !n.trim().is_empty()) {
                        Some(n) => ui.label(n),
                        None => ui.weak(l.tr("no-note")),
                    };
                    if let Some(s) = i.script.as_deref().filter(|s| !s.is_empty()) {
                        ui.weak(s);
                    }
                });
            }
        }
    }
}

/// A contact found for the customer: who, at which company, the note.
fn show_contact(ui: &mut egui::Ui, l: Lang, c: &Contact) {
    let who = match &c.company {
        Some(co) => format!("{} ({co})", c.name),
        None => c.name.clone(),
    };
    ui.label(l.tr_with("contact", &[("who", who)]));
    if let Some(n) = &c.note {
        ui.label(n);
    }
}

/// `Name <addr>` as the name and the address (a bare address is both).
fn sender(from: &str) -> (String, String) {
    match from.rsplit_once('<') {
        Some((name, addr)) => {
            let addr = addr.trim_end_matches('>').trim().to_owned();
            let name = name.trim().trim_matches('"').trim();
            let name = if name.is_empty() {
                addr.clone()
            } else {
                name.to_owned()
            };
            (name, addr)
        }
        None => (from.trim().to_owned(), from.trim().to_owned()),
    }
}

/// The caller's open tickets (IT help desks), as the ticket system gave them.
fn tickets(ui: &mut egui::Ui, l: Lang, t: &switchboard_desk::workspace::TicketsState) {
    use switchboard_desk::workspace::TicketsState;
    ui.separator();
    ui.strong(l.tr("open-tickets"));
    match t {
        TicketsState::Pending => {
            ui.weak(l.tr("tickets-looking"));
        }
        TicketsState::Failed(e) => {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                l.tr_with("tickets-failed", &[("error", e.clone())]),
            );
        }
        TicketsState::Found(list) if list.is_empty() => {
            ui.weak(l.tr("tickets-none"));
        }
        TicketsState::Found(list) => {
            egui::Grid::new("open-tickets")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    for t in list {
                        ui.strong(&t.id);
                        ui.label(&t.title);
                        ui.weak(&t.status);
                        ui.end_row();
                    }
                });
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sender_is_split_into_name_and_address() {
        let s = |f: &str| super::sender(f);
        assert_eq!(
            s("Jüri Õunapuu <juri@example.test>"),
            ("Jüri Õunapuu".into(), "juri@example.test".into())
        );
        assert_eq!(
            s("<juri@example.test>"),
            ("juri@example.test".into(), "juri@example.test".into())
        );
        assert_eq!(
            s("juri@example.test"),
            ("juri@example.test".into(), "juri@example.test".into())
        );
    }
}
