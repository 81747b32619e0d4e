//! The phone's events: calls ringing, placed, answered, ended, held,
//! transferred.

use super::*;
use crate::caller_text::clean;
use crate::context::MAX_VALUE;
use crate::store::Contact;

impl Workspace {
    /// What the store knows of a number: its latest calls and its contact.
    pub(super) fn context_of(&mut self, number: &str) -> (Vec<CallRecord>, Option<Contact>) {
        let Some(s) = &self.store else {
            return (Vec::new(), None);
        };
        let found = s
            .history(number, EARLIER)
            .and_then(|h| Ok((h, s.contact_by_number(number)?)));
        match found {
            Ok(f) => f,
            Err(e) => {
                // The call rings all the same; the card says less.
                let now = self.clock;
                self.notify(
                    now,
                    NoticeKind::StoreUnavailable {
                        error: e.to_string(),
                    },
                );
                (Vec::new(), None)
            }
        }
    }

    // ------------------------------------------------------------ phone events

    /// Feeds one phone event.
    pub fn handle(&mut self, now: Now, ev: PhoneEvent) {
        let before = self.selected;
        self.handle_event(now, ev);
        self.blend(before);
        self.publish_presence(now);
    }

    fn handle_event(&mut self, now: Now, ev: PhoneEvent) {
        self.clock = now;
        match ev {
            PhoneEvent::Registered { expires } => {
                self.registration = Registration::Registered { expires };
            }
            PhoneEvent::RegistrationFailed {
                status,
                reason,
                retry_in_s,
            } => {
                self.registration = Registration::Failed {
                    status,
                    reason: reason.clone(),
                    retry_at: retry_in_s.map(|s| now.at + std::time::Duration::from_secs(s)),
                };
                self.notify(now, NoticeKind::RegistrationFailed { status, reason });
            }
            PhoneEvent::Unregistered => self.registration = Registration::None,
            PhoneEvent::Incoming {
                call,
                call_id,
                headers,
            } => self.incoming(now, call, call_id, &headers),
            PhoneEvent::Calling {
                call,
                call_id,
                target,
            } => self.calling(now, call, call_id, &target),
            PhoneEvent::Ringing { call } => {
                if let Some(c) = self.call_mut(call)
                    && let Phase::Dialing { ringing } = &mut c.phase
                {
                    *ringing = true;
                }
            }
            PhoneEvent::Established { call } => self.established(now, call),
            PhoneEvent::MediaStarted {
                call,
                codec,
                encrypted,
            } => {
                if let Some(c) = self.call_mut(call) {
                    c.codec = Some(codec);
                    c.encrypted = encrypted;
                }
            }
            PhoneEvent::Ended {
                call,
                reason,
                status,
            } => self.ended(now, call, reason, status),
            PhoneEvent::Quality { call, quality } => {
                if let Some(c) = self.call_mut(call) {
                    c.quality = Some(quality);
                }
            }
            PhoneEvent::Levels { call, levels } => {
                if let Some(c) = self.call_mut(call) {
                    let shown = c.levels.unwrap_or(Levels {
                        mic_dbfs: -120.0,
                        speaker_dbfs: -120.0,
                    });
                    c.levels = Some(Levels {
                        mic_dbfs: fall(shown.mic_dbfs, levels.mic_dbfs),
                        speaker_dbfs: fall(shown.speaker_dbfs, levels.speaker_dbfs),
                    });
                }
            }
            PhoneEvent::Held {
                call,
                local,
                remote,
            } => {
                if let Some(c) = self.call_mut(call) {
                    c.held = local;
                    c.remote_held = remote;
                }
            }
            PhoneEvent::Consulting { call, consult } => {
                if let Some(k) = self.call_mut(call).and_then(|c| c.consult.as_mut()) {
                    k.call = Some(consult);
                }
            }
            PhoneEvent::Conference { call, on } => {
                if let Some(c) = self.call_mut(call) {
                    if let Some(k) = c.consult.as_mut() {
                        k.conference = on;
                    }
                    // In the conference (and after it) the caller is not held.
                    c.held = false;
                }
            }
            PhoneEvent::TransferProgress { call, status, done } => {
                self.transfer_progress(now, call, status, done)
            }
            PhoneEvent::TransferRequested { call, target } => {
                if let Some(c) = self.call_mut(call) {
                    // The other side wrote it (Refer-To): shown to the
                    // operator, who answers by call, never by this text.
                    c.transfer_request = Some(clean(&target, MAX_VALUE));
                }
            }
            PhoneEvent::Transferred {
                call,
                new_call,
                target,
            } => {
                // Where the other side's REFER sent us: its text, cleaned
                // like a caller's before it is the card and the history.
                let target = clean(&target, MAX_VALUE);
                let card = CallerCard {
                    number: target.clone(),
                    ..CallerCard::default()
                };
                self.take_over(
                    now,
                    call,
                    new_call,
                    card,
                    &format!("put through to {target}"),
                );
            }
            PhoneEvent::Replaced {
                old,
                new,
                call_id,
                headers,
            } => self.replaced(now, old, new, call_id, &headers),
            PhoneEvent::AudioDevice { message } => {
                self.notify(now, NoticeKind::AudioDevice { message })
            }
            PhoneEvent::NoAudio {
                call,
                quiet_s,
                hanging_up,
            } => {
                let who = self
                    .call(call)
                    .map(|c| c.who().to_owned())
                    .unwrap_or_default();
                self.notify(
                    now,
                    NoticeKind::NoAudio {
                        who,
                        quiet_s,
                        ended: hanging_up,
                    },
                );
            }
            PhoneEvent::CommandFailed { command, error } => {
                self.command_failed(now, command, error)
            }
            PhoneEvent::Presence { target, lamp } => self.presence(&target, lamp),
        }
    }

    pub(super) fn incoming(&mut self, now: Now, call: CallRef, call_id: String, headers: &Headers) {
        let card = caller_card(headers, &self.rules.header_rules);
        let fx = self.agent.apply(now.at, Input::Incoming(call));
        let offered = matches!(self.agent.state(), AgentState::Ringing { call: c } if *c == call);
        let waiting = self.agent.waiting() == Some(call);
        self.effects(fx);
        if !(offered || waiting) {
            return;
        }
        let context = self.context_of(&card.number);
        let crm = self.crm.as_ref().map(|c| {
            (
                c.url_for(&card, &call_id),
                CrmView {
                    link: c.link_for(&card, &call_id),
                    state: CrmState::Pending,
                },
            )
        });
        let id = self.id();
        let phase = if waiting {
            Phase::Waiting
        } else {
            Phase::Offered
        };
        let mut c = Call::new(id, call, call_id.clone(), card, phase, now, context);
        c.crm = crm.as_ref().map(|(_, v)| v.clone());
        self.start_script(&mut c, headers);
        self.start_form(&mut c);
        let tickets = self.tickets.as_ref().map(|t| t.url_for(&c.card, &call_id));
        if tickets.is_some() {
            c.tickets = Some(TicketsState::Pending);
        }
        let team = self.team.then(|| c.card.number.clone());
        if team.is_some() {
            c.team = Some(crate::team::TeamView::Pending);
        }
        let record = c.record();
        self.calls.push(c);
        if let Some(number) = team {
            self.out.push(Action::LookupTeam {
                call_id: call_id.clone(),
                number,
            });
        }
        self.store_do(now, |s| s.record_call(&record));
        if let Some(url) = tickets {
            self.out.push(Action::LookupTickets {
                call_id: call_id.clone(),
                url,
            });
        }
        if let Some((url, _)) = crm {
            self.out.push(Action::LookupCrm { call_id, url });
        }
        if offered {
            self.selected = Some(id);
        }
    }

    pub(super) fn calling(&mut self, now: Now, call: CallRef, call_id: String, target: &str) {
        // Ours only if the operator dialled it; consultations and calls we
        // were transferred into arrive by their own events.
        let Some(pos) = self.dials.iter().position(|d| d.uri == target) else {
            if let Some(i) = self.abandoned.iter().position(|t| t == target) {
                // Dialled, given up, and placed after all: not wanted.
                self.abandoned.remove(i);
                self.phone(PhoneCommand::Hangup(call));
                return;
            }
            // A consultation being placed: note its Call-ID (its history
            // record, should it outlive the caller).
            if let Some(k) = self
                .calls
                .iter_mut()
                .filter_map(|c| c.consult.as_mut())
                .find(|k| k.call.is_none() && k.call_id.is_none() && k.target == target)
            {
                k.call_id = Some(call_id);
            }
            return;
        };
        let Some(dial) = self.dials.remove(pos) else {
            return;
        };
        let fx = self.agent.apply(now.at, Input::Calling(call));
        self.effects(fx);
        if self.agent.placed() != Some(call) {
            // The agent moved on meanwhile (cannot happen while Dialing
            // holds calls off); do not leave the call running unseen.
            debug_assert!(false, "a dialled call arrived outside Dialing");
            self.phone(PhoneCommand::Hangup(call));
            return;
        }
        let (earlier, contact) = self.context_of(&dial.number);
        // A name the operator did not give comes from the contacts.
        let name = dial
            .name
            .clone()
            .or_else(|| contact.as_ref().map(|c| c.name.clone()));
        let card = CallerCard {
            number: dial.number.clone(),
            name,
            uri: Some(dial.uri.clone()),
            ..CallerCard::default()
        };
        let id = self.id();
        let c = Call::new(
            id,
            call,
            call_id,
            card,
            Phase::Dialing { ringing: false },
            now,
            (earlier, contact),
        );
        let record = c.record();
        self.calls.push(c);
        self.store_do(now, |s| s.record_call(&record));
        self.selected = Some(id);
    }

    pub(super) fn established(&mut self, now: Now, call: CallRef) {
        if let Some(k) = self
            .calls
            .iter_mut()
            .find(|c| c.consult_call() == Some(call))
            .and_then(|c| c.consult.as_mut())
        {
            k.up = true;
            return;
        }
        let fx = self.agent.apply(now.at, Input::Established(call));
        self.effects(fx);
        let Some(c) = self.call_mut(call) else { return };
        c.phase = Phase::Talking;
        c.answered = Some(now.at);
        let (id, call_id) = (c.id, c.call_id.clone());
        if c.direction == Direction::Out {
            // A missed caller called back and reached is settled.
            let number = c.card.number.clone();
            self.missed.retain(|m| m.number != number);
        }
        self.store_do(now, |s| s.call_answered(&call_id, now.unix_ms));
        self.selected = Some(id);
        self.refresh_stats(now);
    }

    pub(super) fn ended(
        &mut self,
        now: Now,
        call: CallRef,
        reason: EndReason,
        status: Option<u16>,
    ) {
        if let Some(c) = self
            .calls
            .iter_mut()
            .find(|c| c.consult_call() == Some(call))
        {
            c.consult = None;
            return;
        }
        let Some(pos) = self.calls.iter().position(|c| c.call == call) else {
            // A call replaced or taken over: the agent knows what it means.
            let fx = self.agent.apply(now.at, Input::Ended(call));
            self.effects(fx);
            return;
        };
        let was_in_hand = self.in_hand().map(|h| h.call) == Some(call);
        // An operator writing another form keeps writing it.
        let writing = matches!(self.focus(), Focus::WrapUp(_));
        let c = self.calls.remove(pos);
        let (outcome, detail) = match c.phase {
            Phase::Offered | Phase::Waiting if c.declined => (Outcome::Declined, None),
            Phase::Offered | Phase::Waiting => (Outcome::Missed, None),
            Phase::Dialing { .. } => match reason {
                EndReason::Cancelled | EndReason::LocalHangup => (Outcome::Cancelled, None),
                _ => (Outcome::Failed, status.map(|s| s.to_string())),
            },
            Phase::Talking => match &c.transfer {
                Some(t) if t.status.is_some_and(|s| (200..300).contains(&s)) => {
                    (Outcome::Transferred, Some(t.label.clone()))
                }
                _ => (Outcome::Answered, None),
            },
        };
        let call_id = c.call_id.clone();
        self.store_do(now, |s| {
            s.call_ended(&call_id, now.unix_ms)?;
            s.set_outcome(&call_id, outcome, detail.as_deref())
        });
        self.queue_team_copy(&call_id, "ended", now);
        if outcome == Outcome::Missed {
            let id = self.id();
            self.missed.insert(
                0,
                Missed {
                    id,
                    call_id: c.call_id.clone(),
                    uri: c.card.uri.clone(),
                    number: c.card.number.clone(),
                    name: c.card.name.clone(),
                    queue: c.queue().map(str::to_owned),
                    at_ms: c.started_ms,
                },
            );
        }
        if outcome == Outcome::Failed {
            self.notify(
                now,
                NoticeKind::CallFailed {
                    number: c.card.number.clone(),
                    status,
                    reason,
                },
            );
        }
        // The caller hung up while the operator consulted a colleague: the
        // colleague, if on the line, stays in hand; one still ringing is
        // called off.
        let kept = match &c.consult {
            Some(k) if was_in_hand && k.up => k.call.map(|kc| (kc, k.clone())),
            Some(k) => {
                if let Some(kc) = k.call {
                    self.phone(PhoneCommand::Hangup(kc));
                }
                None
            }
            None => None,
        };
        let script = c.script.clone();
        let written = c.draft.clone();
        // The wrap-up form needs the call; keep it until the agent decides.
        self.ended_calls.push(c);
        match kept {
            Some((kc, k)) => self.keep_consultation(now, call, kc, k),
            None => {
                let fx = self.agent.apply(now.at, Input::Ended(call));
                self.effects(fx);
            }
        }
        self.ended_calls.clear();
        if (script.is_some() || written != Draft::default())
            && !self.wraps.iter().any(|w| w.call_id == call_id)
        {
            // No wrap-up for this call (the rules skip it): the draft its
            // script or form opened is closed, with what was written and
            // what the script decided.
            self.close_call_draft(now, &call_id, written, script.as_ref());
        }
        if was_in_hand && !writing {
            // The form comes into the centre when nothing else needs the
            // operator first (a call that now rings, a held caller back in hand).
            let form = self
                .wraps
                .iter()
                .find(|w| w.call_id == call_id)
                .map(|w| w.id);
            self.selected = match self.agent.state() {
                AgentState::WrapUp { .. } => form,
                _ => None,
            };
        }
        // A waiting call that now rings as any call.
        if let AgentState::Ringing { call: w } = self.agent.state() {
            let w = *w;
            if let Some(r) = self.call_mut(w) {
                r.phase = Phase::Offered;
            }
        }
        self.refresh_stats(now);
    }

    /// The caller of `old` is gone but the consulted colleague (`kc`) is on
    /// the line: that call goes on in hand, and the caller's conversation
    /// gets its wrap-up.
    fn keep_consultation(&mut self, now: Now, old: CallRef, kc: CallRef, k: Consult) {
        let fx = self.agent.apply(now.at, Input::Replaced { old, new: kc });
        self.effects(fx);
        self.open_wrap_up(old);
        let id = self.id();
        let card = CallerCard {
            number: k.target.clone(),
            name: Some(k.label.clone()).filter(|l| *l != k.target),
            ..CallerCard::default()
        };
        let context = self.context_of(&k.target);
        let call_id = k
            .call_id
            .clone()
            .unwrap_or_else(|| format!("consult-{}-{}", kc.0, now.unix_ms));
        let mut c = Call::new(
            id,
            kc,
            call_id,
            card,
            Phase::Dialing { ringing: false },
            now,
            context,
        );
        c.phase = Phase::Talking;
        c.answered = Some(now.at);
        let record = c.record();
        self.calls.push(c);
        self.store_do(now, |s| {
            s.record_call(&record)?;
            s.call_answered(&record.call_id, now.unix_ms)
        });
        self.selected = Some(id);
    }

    pub(super) fn open_wrap_up(&mut self, call: CallRef) {
        let Some(c) = self.ended_calls.iter().find(|c| c.call == call).cloned() else {
            // Every wrap-up the agent asks for is for a call that just ended.
            debug_assert!(false, "wrap-up asked for {call:?}, which did not end");
            return;
        };
        let transfers = self
            .store
            .as_ref()
            .and_then(|s| s.call(&c.call_id).ok().flatten())
            .and_then(|r| r.transfers);
        let id = self.id();
        let script = c.script.clone();
        // What was written during the call (a note, the form) goes on in
        // the wrap-up, with what the script decided.
        let mut draft = c.draft.clone();
        if draft.disposition.is_none() {
            draft.disposition = script
                .as_ref()
                .and_then(|r| r.fields().get("disposition").cloned());
        }
        let transferred_to = c
            .transfer
            .as_ref()
            .filter(|t| t.status.is_some_and(|s| (200..300).contains(&s)))
            .map(|t| t.target.clone());
        let talk_ms = c.answered.map(|a| {
            i64::try_from(self.clock.at.saturating_duration_since(a).as_millis()).unwrap_or(0)
        });
        self.wraps.push(WrapUp {
            id,
            call_id: c.call_id.clone(),
            direction: c.direction,
            number: c.card.number.clone(),
            name: c.card.name.clone(),
            started_ms: c.started_ms,
            transfers,
            draft: draft.clone(),
            restored: false,
            opened_ms: self.clock.unix_ms,
            script,
            scenario: c.scenario.clone(),
            talk_ms,
            transferred_to,
            dirty_since: None,
        });
        // On disk at once: a crash before anything is typed still brings
        // the form back.
        let (call_id, at) = (c.call_id.clone(), self.clock.unix_ms);
        let now = self.clock;
        self.store_do(now, |s| s.save_draft(&call_id, &draft, at));
    }

    pub(super) fn transfer_progress(&mut self, now: Now, call: CallRef, status: u16, done: bool) {
        let Some(c) = self.call_mut(call) else { return };
        let Some(t) = c.transfer.as_mut() else { return };
        t.status = Some(status);
        if !done {
            return;
        }
        let hop = format!("{} to {}: {status}", t.kind.as_str(), t.target);
        let failed = !(200..300).contains(&status);
        if failed {
            c.transfer = None;
        }
        let call_id = c.call_id.clone();
        self.store_do(now, |s| s.record_transfer(&call_id, &hop));
        if failed {
            self.notify(now, NoticeKind::TransferFailed { status });
        }
    }

    /// The conversation in hand goes on on call `new` with `card` (we were
    /// put through, or a caller was put through to us); `hop` joins the old
    /// call's transfer chain. Returns the old call's Call-ID.
    pub(super) fn take_over(
        &mut self,
        now: Now,
        old: CallRef,
        new: CallRef,
        card: CallerCard,
        hop: &str,
    ) -> Option<String> {
        let fx = self.agent.apply(now.at, Input::Replaced { old, new });
        self.effects(fx);
        let c = self.call_mut(old)?;
        let old_id = c.call_id.clone();
        c.call = new;
        c.card = card;
        c.held = false;
        c.remote_held = false;
        c.consult = None;
        c.transfer = None;
        c.transfer_request = None;
        self.store_do(now, |s| s.record_transfer(&old_id, hop));
        Some(old_id)
    }

    pub(super) fn replaced(
        &mut self,
        now: Now,
        old: CallRef,
        new: CallRef,
        call_id: String,
        headers: &Headers,
    ) {
        let card = caller_card(headers, &self.rules.header_rules);
        let hop = format!("replaced by {}", card.number);
        let Some(old_id) = self.take_over(now, old, new, card.clone(), &hop) else {
            return;
        };
        let record = CallRecord {
            call_id: call_id.clone(),
            direction: Direction::In,
            number: card.number.clone(),
            name: card.name.clone(),
            started_ms: now.unix_ms,
            answered_ms: Some(now.unix_ms),
            outcome: Some(Outcome::Answered),
            ..CallRecord::default()
        };
        let detail = card.number.clone();
        self.store_do(now, |s| {
            s.call_ended(&old_id, now.unix_ms)?;
            s.set_outcome(&old_id, Outcome::Transferred, Some(&detail))?;
            s.record_call(&record)?;
            s.call_answered(&record.call_id, now.unix_ms)
        });
        if let Some(c) = self.call_mut(new) {
            c.call_id = call_id;
        }
    }

    pub(super) fn command_failed(&mut self, now: Now, command: String, error: String) {
        if let Some(target) = command.strip_prefix("call ") {
            // A dialled call that could not be placed.
            if let Some(pos) = self.dials.iter().position(|d| d.uri == target) {
                self.dials.remove(pos);
                let fx = self.agent.apply(now.at, Input::DialFailed);
                self.effects(fx);
            }
        }
        if command.starts_with("transfer ") || command.starts_with("complete-transfer ") {
            // Not under way after all: the caller is still with the operator.
            let hand = self.in_hand().map(|c| c.call);
            if let Some(c) = hand.and_then(|h| self.call_mut(h)) {
                c.transfer = None;
            }
        }
        if command.starts_with("consult ") {
            // A consultation that could not be placed is gone.
            let hand = self.in_hand().map(|c| c.call);
            if let Some(c) = hand.and_then(|h| self.call_mut(h)) {
                c.consult.take_if(|k| k.call.is_none());
            }
        }
        self.notify(now, NoticeKind::CommandFailed { command, error });
    }
}
