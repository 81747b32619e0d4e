//! Between the engine and the workspace: the engine's events become the
//! workspace's phone events, its phone commands become engine commands.
//! The only place that knows both vocabularies.

use switchboard_desk::agent::CallRef;
use switchboard_desk::workspace::{EndReason, Levels, PhoneCommand, PhoneEvent, Quality};
use switchboard_engine::Command;
use switchboard_engine::events::EventKind;
use switchboard_sip::message::Headers;

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
        EventKind::RegistrationFailed { status, reason } => PhoneEvent::RegistrationFailed {
            status: *status,
            reason: reason.clone(),
        },
        EventKind::Unregistered => PhoneEvent::Unregistered,
        EventKind::Incoming {
            call,
            call_id,
            headers: h,
            ..
        } => PhoneEvent::Incoming {
            call: CallRef(*call),
            call_id: call_id.clone(),
            headers: headers(h),
        },
        EventKind::Calling {
            call,
            call_id,
            target,
        } => PhoneEvent::Calling {
            call: CallRef(*call),
            call_id: call_id.clone(),
            target: target.clone(),
        },
        EventKind::Ringing { call, .. } => PhoneEvent::Ringing {
            call: CallRef(*call),
        },
        EventKind::Established { call, .. } => PhoneEvent::Established {
            call: CallRef(*call),
        },
        EventKind::MediaStarted { call, codec, .. } => PhoneEvent::MediaStarted {
            call: CallRef(*call),
            codec: codec.clone(),
        },
        EventKind::Ended {
            call,
            reason,
            status,
            ..
        } => PhoneEvent::Ended {
            call: CallRef(*call),
            reason: EndReason::from_name(reason).unwrap_or_else(|| {
                // The engine names its reasons with `EndReason::as_str`.
                debug_assert!(false, "the engine ended a call for {reason:?}");
                EndReason::Rejected
            }),
            status: *status,
        },
        EventKind::Quality {
            call,
            stats,
            loss_percent,
            mos,
        } => PhoneEvent::Quality {
            call: CallRef(*call),
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
            call: CallRef(*call),
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
            call: CallRef(*call),
            local: *local,
            remote: *remote,
        },
        EventKind::Consulting { call, consult } => PhoneEvent::Consulting {
            call: CallRef(*call),
            consult: CallRef(*consult),
        },
        EventKind::Conference { call, on, .. } => PhoneEvent::Conference {
            call: CallRef(*call),
            on: *on,
        },
        EventKind::TransferProgress { call, status, done } => PhoneEvent::TransferProgress {
            call: CallRef(*call),
            status: *status,
            done: *done,
        },
        EventKind::TransferRequested { call, target } => PhoneEvent::TransferRequested {
            call: CallRef(*call),
            target: target.clone(),
        },
        EventKind::Transferred {
            call,
            new_call,
            target,
        } => PhoneEvent::Transferred {
            call: CallRef(*call),
            new_call: CallRef(*new_call),
            target: target.clone(),
        },
        EventKind::Replaced {
            old,
            new,
            call_id,
            headers: h,
        } => PhoneEvent::Replaced {
            old: CallRef(*old),
            new: CallRef(*new),
            call_id: call_id.clone(),
            headers: headers(h),
        },
        EventKind::AudioDevice { message, .. } => PhoneEvent::AudioDevice {
            message: message.clone(),
        },
        EventKind::CommandFailed { command, error } => PhoneEvent::CommandFailed {
            command: command.clone(),
            error: error.clone(),
        },
        _ => return None,
    })
}

/// The engine command for a workspace's phone command.
pub(crate) fn command(c: PhoneCommand) -> Command {
    match c {
        PhoneCommand::Ring(on) => Command::Ring { on },
        PhoneCommand::Answer(c) => Command::Answer { call: c.0 },
        PhoneCommand::Reject(c, status) => Command::Reject { call: c.0, status },
        PhoneCommand::Hangup(c) => Command::Hangup { call: c.0 },
        PhoneCommand::Dial(target) => Command::Call {
            target,
            headers: Vec::new(),
        },
        PhoneCommand::Mute(c, muted) => Command::Mute { call: c.0, muted },
        PhoneCommand::Dtmf(c, digits) => Command::Dtmf { call: c.0, digits },
        PhoneCommand::Hold(c) => Command::Hold { call: c.0 },
        PhoneCommand::Resume(c) => Command::Resume { call: c.0 },
        PhoneCommand::Transfer(c, target) => Command::Transfer { call: c.0, target },
        PhoneCommand::Consult(c, target) => Command::Consult { call: c.0, target },
        PhoneCommand::CompleteTransfer { call, consult } => Command::CompleteTransfer {
            call: call.0,
            consult: consult.0,
        },
        PhoneCommand::Conference { call, other } => Command::Conference {
            call: call.0,
            other: other.0,
        },
        PhoneCommand::CancelConsult(c) => Command::CancelConsult { consult: c.0 },
        PhoneCommand::AcceptTransfer(c) => Command::AcceptTransfer { call: c.0 },
        PhoneCommand::RejectTransfer(c) => Command::RejectTransfer { call: c.0 },
    }
}
