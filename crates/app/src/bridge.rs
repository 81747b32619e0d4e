//! Between the engine and the workspace: the engine's events become the
//! workspace's phone events, its phone commands become engine commands.
//! The only place that knows both vocabularies.

use switchboard_desk::agent::CallRef;
use switchboard_desk::workspace::{Lamp, Levels, PhoneCommand, PhoneEvent, Quality};
use switchboard_engine::events::EventKind;
use switchboard_engine::{CallId, Command};
use switchboard_sip::message::Headers;

fn r(c: &CallId) -> CallRef {
    CallRef(c.0)
}

fn id(c: CallRef) -> CallId {
    CallId(c.0)
}

fn headers(list: &[(String, String)]) -> Headers {
    let mut h = Headers::new();
    for (n, v) in list {
        h.push(n.clone(), v.clone());
    }
    h
}

/// The workspace's reading of an engine event; `None` for what it does not
/// take (device lists and the headset test go to the settings screen).
pub(crate) fn phone_event(ev: &EventKind) -> Option<PhoneEvent> {
    Some(match ev {
        EventKind::Registered { expires } => PhoneEvent::Registered { expires: *expires },
        EventKind::RegistrationFailed {
            status,
            reason,
            retry_in_s,
        } => PhoneEvent::RegistrationFailed {
            status: *status,
            reason: reason.clone(),
            retry_in_s: *retry_in_s,
        },
        EventKind::Unregistered => PhoneEvent::Unregistered,
        EventKind::Incoming {
            call,
            call_id,
            headers: h,
            ..
        } => PhoneEvent::Incoming {
            call: r(call),
            call_id: call_id.clone(),
            headers: headers(h),
        },
        EventKind::Calling {
            call,
            call_id,
            target,
        } => PhoneEvent::Calling {
            call: r(call),
            call_id: call_id.clone(),
            target: target.clone(),
        },
        EventKind::Ringing { call, .. } => PhoneEvent::Ringing { call: r(call) },
        EventKind::Established { call, .. } => PhoneEvent::Established { call: r(call) },
        EventKind::MediaStarted {
            call,
            codec,
            encrypted,
            ..
        } => PhoneEvent::MediaStarted {
            call: r(call),
            codec: codec.clone(),
            encrypted: *encrypted,
        },
        EventKind::Ended {
            call,
            reason,
            status,
            ..
        } => PhoneEvent::Ended {
            call: r(call),
            reason: *reason,
            status: *status,
        },
        EventKind::Quality {
            call,
            stats,
            loss_percent,
            mos,
        } => PhoneEvent::Quality {
            call: r(call),
            quality: Quality {
                mos: *mos,
                loss_percent: *loss_percent,
                jitter_ms: stats.jitter_ms,
            },
        },
        EventKind::Levels {
            call,
            mic_dbfs,
            speaker_dbfs,
        } => PhoneEvent::Levels {
            call: r(call),
            levels: Levels {
                mic_dbfs: *mic_dbfs,
                speaker_dbfs: *speaker_dbfs,
            },
        },
        EventKind::Held {
            call,
            local,
            remote,
        } => PhoneEvent::Held {
            call: r(call),
            local: *local,
            remote: *remote,
        },
        EventKind::Consulting { call, consult } => PhoneEvent::Consulting {
            call: r(call),
            consult: r(consult),
        },
        EventKind::Conference { call, on, .. } => PhoneEvent::Conference {
            call: r(call),
            on: *on,
        },
        EventKind::TransferProgress { call, status, done } => PhoneEvent::TransferProgress {
            call: r(call),
            status: *status,
            done: *done,
        },
        EventKind::TransferRequested { call, target } => PhoneEvent::TransferRequested {
            call: r(call),
            target: target.clone(),
        },
        EventKind::Transferred {
            call,
            new_call,
            target,
        } => PhoneEvent::Transferred {
            call: r(call),
            new_call: r(new_call),
            target: target.clone(),
        },
        EventKind::Replaced {
            old,
            new,
            call_id,
            headers: h,
        } => PhoneEvent::Replaced {
            old: r(old),
            new: r(new),
            call_id: call_id.clone(),
            headers: headers(h),
        },
        EventKind::AudioDevice { message, .. } => PhoneEvent::AudioDevice {
            message: message.clone(),
        },
        EventKind::MediaTimeout {
            call,
            quiet_s,
            hanging_up,
        } => PhoneEvent::NoAudio {
            call: r(call),
            quiet_s: *quiet_s,
            hanging_up: *hanging_up,
        },
        EventKind::Presence { target, state } => PhoneEvent::Presence {
            target: target.clone(),
            lamp: match *state {
                "idle" => Lamp::Idle,
                "ringing" => Lamp::Ringing,
                "busy" => Lamp::Busy,
                _ => Lamp::Unknown,
            },
        },
        // 0: one NOTIFY was unusable, the lamp stays as it was.
        EventKind::PresenceFailed {
            retry_in_s: Some(0),
            ..
        } => return None,
        EventKind::PresenceFailed {
            target,
            reason,
            retry_in_s,
            ..
        } => PhoneEvent::Presence {
            target: target.clone(),
            lamp: match retry_in_s {
                None => Lamp::Off(reason.clone()),
                Some(_) => Lamp::Unknown,
            },
        },
        EventKind::CommandFailed { command, error } => PhoneEvent::CommandFailed {
            command: command.clone(),
            error: error.to_string(),
        },
        _ => return None,
    })
}

/// The engine command for a workspace's phone command.
pub(crate) fn command(c: PhoneCommand) -> Command {
    match c {
        PhoneCommand::Ring(on) => Command::Ring { on },
        PhoneCommand::Answer(c) => Command::Answer { call: id(c) },
        PhoneCommand::Reject(c, status) => Command::Reject {
            call: id(c),
            status,
        },
        PhoneCommand::Hangup(c) => Command::Hangup { call: id(c) },
        PhoneCommand::Dial(target) => Command::Call {
            target,
            headers: Vec::new(),
        },
        PhoneCommand::Mute(c, muted) => Command::Mute { call: id(c), muted },
        PhoneCommand::Dtmf(c, digits) => Command::Dtmf {
            call: id(c),
            digits,
        },
        PhoneCommand::Hold(c) => Command::Hold { call: id(c) },
        PhoneCommand::Resume(c) => Command::Resume { call: id(c) },
        PhoneCommand::Transfer(c, target) => Command::Transfer {
            call: id(c),
            target,
        },
        PhoneCommand::Consult(c, target) => Command::Consult {
            call: id(c),
            target,
        },
        PhoneCommand::CompleteTransfer { call, consult } => Command::CompleteTransfer {
            call: id(call),
            consult: id(consult),
        },
        PhoneCommand::Conference { call, other } => Command::Conference {
            call: id(call),
            other: id(other),
        },
        PhoneCommand::CancelConsult(c) => Command::CancelConsult { consult: id(c) },
        PhoneCommand::AcceptTransfer(c) => Command::AcceptTransfer { call: id(c) },
        PhoneCommand::RejectTransfer(c) => Command::RejectTransfer { call: id(c) },
        PhoneCommand::Watch(target) => Command::Watch { target },
        PhoneCommand::Unwatch(target) => Command::Unwatch { target },
    }
}
