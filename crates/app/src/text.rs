//! The words the desk shows for the domain's values: agent states, the
//! registration, notices with what to do about them, outcomes, times. Every
//! one comes from the translation files.

use switchboard_desk::agent::AgentState;
use switchboard_desk::dialplan::DialError;
use switchboard_desk::store::{CallRecord, Direction, Outcome};
use switchboard_desk::time::{LocalTime, local_time};
use switchboard_desk::workspace::{EndReason, NoticeKind, Registration};

use crate::Lang;

/// The agent state as the top bar says it.
pub(crate) fn state(l: Lang, s: &AgentState) -> String {
    match s {
        AgentState::Offline => l.tr("state-offline"),
        AgentState::Available => l.tr("state-available"),
        AgentState::Break { reason } => l.tr_with("state-break", &[("reason", reason.clone())]),
        AgentState::Dialing { .. } => l.tr("state-dialing"),
        AgentState::Ringing { .. } => l.tr("state-ringing"),
        AgentState::InCall { .. } => l.tr("state-in-call"),
        AgentState::WrapUp { .. } => l.tr("state-wrap-up"),
    }
}

/// The registration, for the top bar.
pub(crate) fn registration(l: Lang, r: &Registration) -> String {
    match r {
        Registration::None => l.tr("not-registered"),
        Registration::Pending => l.tr("registering"),
        Registration::Registered { expires } => {
            l.tr_with("registered", &[("expires", expires.to_string())])
        }
        Registration::Failed { reason, .. } => {
            l.tr_with("registration-failed", &[("reason", reason.clone())])
        }
    }
}

/// Why a call of ours did not get through, and what to do.
pub(crate) fn call_failure(
    l: Lang,
    number: &str,
    status: Option<u16>,
    reason: &EndReason,
) -> (String, String) {
    let n = [("number", number.to_owned())];
    let (msg, advice) = match (status, reason) {
        (Some(486 | 600), _) => ("call-busy", "advice-busy"),
        (Some(603), _) => ("call-declined", "advice-later"),
        (Some(404 | 604), _) => ("call-not-found", "advice-check-number"),
        (Some(484), _) => ("call-incomplete", "advice-check-number"),
        (Some(480), _) => ("call-unavailable", "advice-later"),
        (Some(408), _) | (_, EndReason::Timeout) => ("call-no-answer", "advice-later"),
        (Some(401 | 403 | 407), _) | (_, EndReason::AuthFailed) => {
            ("call-forbidden", "advice-account")
        }
        (Some(488 | 415), _) => ("call-incompatible", "advice-admin"),
        (Some(s), _) if s >= 500 => ("call-server", "advice-admin"),
        _ => ("call-failed", "advice-later"),
    };
    let status = status.map(|s| s.to_string()).unwrap_or_else(|| "—".into());
    (
        l.tr_with(msg, &[n[0].clone(), ("status", status)]),
        l.tr(advice),
    )
}

/// A notice's message and what the operator can do about it.
pub(crate) fn notice(l: Lang, k: &NoticeKind) -> (String, Option<String>) {
    match k {
        NoticeKind::Restored { count } => (
            l.tr_with("restored", &[("count", count.to_string())]),
            Some(l.tr("advice-restored")),
        ),
        NoticeKind::CallFailed {
            number,
            status,
            reason,
        } => {
            let (m, a) = call_failure(l, number, *status, reason);
            (m, Some(a))
        }
        NoticeKind::DialInvalid { input, error } => {
            let key = match error {
                DialError::Empty => "dial-empty",
                DialError::NoDomain(_) => "dial-no-domain",
                DialError::BadUri(_) => "dial-bad-uri",
                _ => "dial-not-a-number",
            };
            (
                l.tr_with(key, &[("input", input.clone())]),
                Some(l.tr(if matches!(error, DialError::NoDomain(_)) {
                    "advice-account"
                } else {
                    "advice-dial-forms"
                })),
            )
        }
        NoticeKind::TransferFailed { status } => (
            l.tr_with("transfer-failed", &[("status", status.to_string())]),
            Some(l.tr("advice-transfer")),
        ),
        NoticeKind::CommandFailed { command, error } => (
            l.tr_with(
                "command-failed",
                &[("command", command.clone()), ("error", error.clone())],
            ),
            None,
        ),
        NoticeKind::DraftNotSaved { error } => (
            l.tr_with("draft-not-saved", &[("error", error.clone())]),
            Some(l.tr("advice-disk")),
        ),
        NoticeKind::FormIncomplete { form, mistakes } => (
            l.tr_with(
                "form-incomplete",
                &[("form", form.clone()), ("n", mistakes.to_string())],
            ),
            Some(l.tr("advice-form")),
        ),
        NoticeKind::WrapUpNotSaved { error } => (
            l.tr_with("wrap-up-not-saved", &[("error", error.clone())]),
            Some(l.tr("advice-disk")),
        ),
        NoticeKind::StoreUnavailable { error } => (
            l.tr_with("store-unavailable", &[("error", error.clone())]),
            Some(l.tr("advice-disk")),
        ),
        NoticeKind::RegistrationFailed { status, reason } => (
            l.tr_with(
                "registration-failed-notice",
                &[
                    ("reason", reason.clone()),
                    (
                        "status",
                        status.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
                    ),
                ],
            ),
            Some(l.tr(match status {
                Some(401 | 403 | 407) => "advice-account",
                _ => "advice-retry",
            })),
        ),
        NoticeKind::AudioDevice { message } => (
            l.tr_with("audio-device", &[("message", message.clone())]),
            Some(l.tr("advice-headset")),
        ),
        NoticeKind::NoAudio {
            who,
            quiet_s,
            ended,
        } => (
            l.tr_with(
                if *ended { "no-audio-ended" } else { "no-audio" },
                &[("who", who.clone()), ("seconds", quiet_s.to_string())],
            ),
            Some(l.tr(if *ended {
                "advice-call-back"
            } else {
                "advice-no-audio"
            })),
        ),
        NoticeKind::MailOffline { error } => (
            l.tr_with("mail-offline", &[("error", error.clone())]),
            Some(l.tr("advice-mail-offline")),
        ),
        NoticeKind::MailTaken { subject } => (
            l.tr_with("mail-taken", &[("subject", subject.clone())]),
            Some(l.tr("advice-mail-taken")),
        ),
        NoticeKind::MailFailed { command, error } => (
            l.tr_with(
                "mail-failed",
                &[
                    ("command", mail_command(l, command)),
                    ("error", error.clone()),
                ],
            ),
            Some(l.tr("advice-mail-failed")),
        ),
        NoticeKind::MailReleased { count } => (
            l.tr_with("mail-released", &[("count", count.to_string())]),
            Some(l.tr("advice-mail-released")),
        ),
        NoticeKind::MailRestored { count } => (
            l.tr_with("mail-restored", &[("count", count.to_string())]),
            Some(l.tr("advice-restored")),
        ),
        NoticeKind::MailNotNow => (l.tr("mail-not-now"), Some(l.tr("advice-mail-not-now"))),
        NoticeKind::MailNotReady => (l.tr("mail-not-ready"), Some(l.tr("advice-mail-not-ready"))),
        NoticeKind::MailNoAddress => (
            l.tr("mail-no-address"),
            Some(l.tr("advice-mail-no-address")),
        ),
        NoticeKind::Desktop { key, args, .. } => {
            let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (*k, v.clone())).collect();
            (l.tr_with(key, &args), l.try_tr(&format!("{key}-advice")))
        }
        _ => (l.tr("notice-unknown"), None),
    }
}

/// What the mailbox was asked to do, as a verb phrase ("download the e-mail").
fn mail_command(l: Lang, command: &str) -> String {
    let key = match command {
        "list" => "mail-cmd-list",
        "claim" => "mail-cmd-claim",
        "fetch" => "mail-cmd-fetch",
        "release" => "mail-cmd-release",
        "done" => "mail-cmd-done",
        "append-sent" => "mail-cmd-append-sent",
        other => return other.to_owned(),
    };
    l.tr(key)
}

/// How an e-mail interaction ended, for the Customer tab.
pub(crate) fn mail_outcome(l: Lang, o: Option<switchboard_desk::email::MailOutcome>) -> String {
    use switchboard_desk::email::MailOutcome;
    l.tr(match o {
        Some(MailOutcome::Replied) => "mail-outcome-replied",
        Some(MailOutcome::Forwarded) => "mail-outcome-forwarded",
        Some(MailOutcome::Closed) | None => "mail-outcome-closed",
    })
}

/// A span of time as an operator says it: `45 min`, `2 h 10 min`, `3 d 4 h`,
/// `12 d`.
pub(crate) fn duration(l: Lang, ms: i64) -> String {
    let min = ms.max(0) / 60_000;
    let (d, h, m) = (min / (24 * 60), min / 60 % 24, min % 60);
    let n = |v: i64| v.to_string();
    if min < 60 {
        l.tr_with("dur-min", &[("m", n(m))])
    } else if d == 0 {
        l.tr_with("dur-h-min", &[("h", n(h)), ("m", n(m))])
    } else if d >= 7 {
        // A week and more: the hours no longer matter.
        l.tr_with("dur-d", &[("d", n(d))])
    } else {
        l.tr_with("dur-d-h", &[("d", n(d)), ("h", n(h))])
    }
}

/// A size in bytes: `850 B`, `12 KB`, `1.4 MB`.
pub(crate) fn size(l: Lang, bytes: u64) -> String {
    const KB: u64 = 1024;
    if bytes < KB {
        l.tr_with("size-b", &[("n", bytes.to_string())])
    } else if bytes < KB * KB {
        l.tr_with("size-kb", &[("n", bytes.div_ceil(KB).to_string())])
    } else {
        let tenths = (bytes * 10).div_ceil(KB * KB);
        let n = format!("{}{}{}", tenths / 10, decimal(l), tenths % 10);
        l.tr_with("size-mb", &[("n", n)])
    }
}

/// The decimal mark of the language.
fn decimal(l: Lang) -> char {
    match l {
        Lang::En => '.',
        Lang::Et | Lang::Ru | Lang::Sl => ',',
    }
}

/// A date and time as the operator reads it: `14:05` today, `yesterday
/// 14:05`, else the date in the language's way.
pub(crate) fn when(l: Lang, ms: i64, now_ms: i64) -> String {
    let Some(t) = local_time(ms, now_ms) else {
        return "—".into();
    };
    let time = format!("{:02}:{:02}", t.hour, t.minute);
    match t.days_ago {
        0 => time,
        1 => l.tr_with("yesterday-at", &[("time", time)]),
        _ => format!("{} {time}", date(l, &t)),
    }
}

/// [`when`], with how long ago for today's: `14:05 · 12 min ago`.
pub(crate) fn stamp(l: Lang, ms: i64, now_ms: i64) -> String {
    let at = when(l, ms, now_ms);
    match local_time(ms, now_ms) {
        Some(t) if t.days_ago == 0 => format!("{at} · {}", ago(l, now_ms.saturating_sub(ms))),
        _ => at,
    }
}

/// A date in the language's usual form.
pub(crate) fn date(l: Lang, t: &LocalTime) -> String {
    match l {
        Lang::En => format!("{}-{:02}-{:02}", t.year, t.month, t.day),
        Lang::Et | Lang::Ru => format!("{:02}.{:02}.{}", t.day, t.month, t.year),
        Lang::Sl => format!("{}. {}. {}", t.day, t.month, t.year),
    }
}

/// How long ago, as an operator says it.
pub(crate) fn ago(l: Lang, ms: i64) -> String {
    let min = ms / 60_000;
    if min < 1 {
        l.tr("just-now")
    } else if min < 60 {
        l.tr_with("ago-min", &[("n", min.to_string())])
    } else if min < 48 * 60 {
        l.tr_with("ago-h", &[("n", (min / 60).to_string())])
    } else {
        l.tr_with("ago-d", &[("n", (min / (24 * 60)).to_string())])
    }
}

/// The direction's arrow and word.
pub(crate) fn direction(l: Lang, d: Direction) -> String {
    match d {
        Direction::In => l.tr("direction-in"),
        Direction::Out => l.tr("direction-out"),
    }
}

/// How a call in the history ended.
pub(crate) fn outcome(l: Lang, r: &CallRecord) -> String {
    let detail = r.outcome_detail.clone().unwrap_or_default();
    match r.outcome {
        Some(Outcome::Answered) => l.tr("outcome-answered"),
        Some(Outcome::Missed) => l.tr("outcome-missed"),
        Some(Outcome::Declined) => l.tr("outcome-declined"),
        Some(Outcome::Transferred) => l.tr_with("outcome-transferred", &[("target", detail)]),
        Some(Outcome::Failed) => l.tr_with("outcome-failed", &[("status", detail)]),
        Some(Outcome::Cancelled) => l.tr("outcome-cancelled"),
        None if r.answered_ms.is_some() => l.tr("outcome-answered"),
        None if r.ended_ms.is_none() => l.tr("outcome-live"),
        None => l.tr("outcome-missed"),
    }
}

/// The dispositions in effect: the configured ones, else the defaults in
/// the operator's language.
pub(crate) fn dispositions(l: Lang, configured: &[String]) -> Vec<String> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    [
        "disposition-answered",
        "disposition-order",
        "disposition-complaint",
        "disposition-ticket",
        "disposition-callback",
    ]
    .iter()
    .map(|k| l.tr(k))
    .collect()
}

/// The break reasons in effect, likewise.
pub(crate) fn break_reasons(l: Lang, configured: &[String]) -> Vec<String> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    [
        "break-lunch",
        "break-short",
        "break-training",
        "break-meeting",
    ]
    .iter()
    .map(|k| l.tr(k))
    .collect()
}
