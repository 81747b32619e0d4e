//! What the operator does: answer, dial, hold, transfer, consult, save.

use super::*;

impl Workspace {
    // ------------------------------------------------------------ the operator

    /// Carries out what the operator did.
    pub fn apply(&mut self, now: Now, op: Op) {
        let before = self.selected;
        self.clock = now;
        match op {
            Op::Answer => {
                let fx = self.agent.apply(now.at, Input::Answer);
                self.effects(fx);
            }
            Op::Decline => {
                let offered = self.offered().map(|c| c.call);
                if let Some(c) = offered.and_then(|o| self.call_mut(o)) {
                    c.declined = true;
                }
                let fx = self.agent.apply(now.at, Input::Decline);
                self.effects(fx);
            }
            Op::Hangup => {
                if matches!(self.agent.state(), AgentState::Dialing { call: None }) {
                    // Given up before the phone placed it.
                    self.abandoned.extend(self.dials.drain(..).map(|d| d.uri));
                }
                let fx = self.agent.apply(now.at, Input::Hangup);
                self.effects(fx);
            }
            Op::Mute(m) => {
                let Some(hand) = self.talking().map(|c| c.call) else {
                    return;
                };
                let mut cmds = vec![PhoneCommand::Mute(hand, m)];
                if let Some(c) = self.call_mut(hand) {
                    c.muted = m;
                    // In a conference the operator is muted towards both.
                    if let Some(other) = c
                        .consult
                        .as_ref()
                        .filter(|k| k.conference)
                        .and_then(|k| k.call)
                    {
                        cmds.push(PhoneCommand::Mute(other, m));
                    }
                }
                for c in cmds {
                    self.phone(c);
                }
            }
            Op::Dtmf(k) => {
                if let Some(c) = self.talking().map(|c| c.call) {
                    self.phone(PhoneCommand::Dtmf(c, k.to_string()));
                }
            }
            Op::Hold => {
                let Some((call, held)) = self.talking().map(|c| (c.call, c.held)) else {
                    return;
                };
                self.phone(if held {
                    PhoneCommand::Resume(call)
                } else {
                    PhoneCommand::Hold(call)
                });
            }
            Op::Transfer { target, label } => self.transfer(now, &target, label),
            Op::Consult { target, label } => self.consult(now, &target, label),
            Op::CompleteTransfer => {
                let Some(c) = self.talking() else { return };
                let (call, Some(k)) = (c.call, c.consult.clone()) else {
                    return;
                };
                let Some(consult) = k.call else { return };
                self.phone(PhoneCommand::CompleteTransfer { call, consult });
                if let Some(c) = self.call_mut(call) {
                    c.transfer = Some(Transfer {
                        kind: TransferKind::Attended,
                        target: k.target,
                        label: k.label,
                        status: None,
                    });
                }
            }
            Op::Conference => {
                let Some(c) = self.talking() else { return };
                if let (call, Some(other)) = (c.call, c.consult_call()) {
                    self.phone(PhoneCommand::Conference { call, other });
                }
            }
            Op::DropConsult => {
                if let Some(k) = self.in_hand().and_then(Call::consult_call) {
                    self.phone(PhoneCommand::Hangup(k));
                }
            }
            Op::CancelConsult => {
                let Some(c) = self.in_hand() else { return };
                let call = c.call;
                match c.consult_call() {
                    Some(k) => self.phone(PhoneCommand::CancelConsult(k)),
                    None => {
                        // Not placed yet: forget it and take the caller back.
                        if let Some(c) = self.call_mut(call) {
                            c.consult = None;
                        }
                        self.phone(PhoneCommand::Resume(call));
                    }
                }
            }
            Op::AnswerTransferRequest(yes) => {
                let Some(call) = self.talking().map(|c| c.call) else {
                    return;
                };
                if let Some(c) = self.call_mut(call)
                    && c.transfer_request.take().is_some()
                {
                    self.phone(if yes {
                        PhoneCommand::AcceptTransfer(call)
                    } else {
                        PhoneCommand::RejectTransfer(call)
                    });
                }
            }
            Op::Switch(call) => {
                if !self.held().any(|c| c.call == call) {
                    return;
                }
                let fx = self.agent.apply(now.at, Input::Switch(call));
                self.effects(fx);
                self.phone(PhoneCommand::Resume(call));
                self.selected = self.call(call).map(|c| c.id);
            }
            Op::Dial { input, name } => self.dial(now, &input, name),
            Op::EditDraft(id, mut draft) => {
                if let Some(w) = self.wraps.iter_mut().find(|w| w.id == id) {
                    // The form is edited by its own op (the Form tab).
                    draft.form = w.draft.form.clone();
                    if w.draft != draft {
                        w.draft = draft;
                        w.dirty_since.get_or_insert(now.at);
                    }
                }
            }
            Op::SaveWrapUp(id) => {
                self.flush_drafts(now, true);
                // After-call work ends with the last form of this shift's
                // calls (forms a crash brought back wait on their own).
                if self.finish_wrap_up(now, id) && self.wraps.iter().all(|w| w.restored) {
                    // After-call work ends with the last form saved.
                    let fx = self.agent.apply(now.at, Input::SaveWrapUp);
                    self.effects(fx);
                }
            }
            Op::SetState(s) => {
                let fx = self.agent.apply(now.at, Input::SetState(s));
                // The shift moves on (a break, offline): the forms are saved
                // as typed — only when the agent did move, never beside a call.
                if matches!(
                    self.agent.state(),
                    AgentState::Offline | AgentState::Break { .. }
                ) && fx.iter().any(|e| matches!(e, Effect::StateChanged(_)))
                {
                    self.flush_drafts(now, true);
                    self.finish_all_wrap_ups(now);
                    self.mail_offline(now);
                }
                self.effects(fx);
            }
            Op::Select(id) => {
                if self.item(id).is_some() {
                    self.selected = Some(id);
                }
            }
            Op::DismissMissed(id) => {
                self.missed.retain(|m| m.id != id);
            }
            Op::DismissNotice(id) => self.notices.retain(|n| n.id != id),
            Op::Script(id, op) => self.apply_script(now, id, op),
            Op::DismissScore => self.score = None,
            Op::EditForm(id, form) => self.edit_form(now, id, form),
            Op::AppendNote(id, text) => self.append_note(now, id, &text),
            Op::Mail(id, op) => self.apply_mail(now, id, op),
            Op::CallsOnly(on) => self.set_calls_only(on),
            Op::RaiseHand => self.raise_hand(now, true),
            Op::LowerHand => self.raise_hand(now, false),
        }
        self.blend(before);
        self.publish_presence(now);
    }

    /// Whether the operator can place a call now (nothing rings, nothing in hand).
    pub fn can_dial(&self) -> bool {
        matches!(
            self.agent.state(),
            AgentState::Available
                | AgentState::Break { .. }
                | AgentState::Offline
                | AgentState::WrapUp { .. }
        ) && self.offered().is_none()
    }

    pub(super) fn dial(&mut self, now: Now, input: &str, name: Option<String>) {
        if !self.can_dial() {
            return;
        }
        let Dialled { uri, number } = match self.plan.resolve(input) {
            Ok(d) => d,
            Err(error) => {
                self.notify(
                    now,
                    NoticeKind::DialInvalid {
                        input: input.trim().to_owned(),
                        error,
                    },
                );
                return;
            }
        };
        let fx = self.agent.apply(now.at, Input::Dial);
        self.effects(fx);
        self.dials.push_back(PendingDial {
            uri: uri.clone(),
            number,
            name,
            at: now.at,
        });
        self.phone(PhoneCommand::Dial(uri));
    }

    /// A transfer target: a dial plan's URI when it resolves, else as typed
    /// (the phone dials a bare number at the peer's host).
    pub(super) fn transfer_target(&self, target: &str) -> Option<String> {
        let t = target.trim();
        if t.is_empty() {
            return None;
        }
        Some(
            self.plan
                .resolve(t)
                .map(|d| d.uri)
                .unwrap_or_else(|_| t.to_owned()),
        )
    }

    pub(super) fn transfer(&mut self, _now: Now, target: &str, label: Option<String>) {
        let Some(call) = self.talking().map(|c| c.call) else {
            return;
        };
        let Some(uri) = self.transfer_target(target) else {
            return;
        };
        let label = label.unwrap_or_else(|| self.target_label(target.trim()));
        self.phone(PhoneCommand::Transfer(call, uri.clone()));
        if let Some(c) = self.call_mut(call) {
            c.transfer = Some(Transfer {
                kind: TransferKind::Blind,
                target: uri,
                label,
                status: None,
            });
        }
    }

    pub(super) fn consult(&mut self, now: Now, target: &str, label: Option<String>) {
        let Some(c) = self.talking() else { return };
        if c.consult.is_some() {
            return;
        }
        let call = c.call;
        let Some(uri) = self.transfer_target(target) else {
            return;
        };
        let label = label.unwrap_or_else(|| self.target_label(target.trim()));
        self.phone(PhoneCommand::Consult(call, uri.clone()));
        let hop = format!("consult with {uri}");
        if let Some(c) = self.call_mut(call) {
            c.consult = Some(Consult {
                call: None,
                call_id: None,
                target: uri,
                label,
                up: false,
                conference: false,
            });
            let call_id = c.call_id.clone();
            self.store_do(now, |s| s.record_transfer(&call_id, &hop));
        }
    }
}
