//! The CLI's text commands (`docs/cli.md`), read against the core's own
//! calls, so the CLI keeps no copy of them: a call not named is the newest
//! one (for `answer` the newest ringing; for `complete-transfer`,
//! `conference` and `cancel-consult` the newest consultation).

use super::Phone;
use super::call::Phase;
use crate::error::CommandError;
use crate::{CallId, Command};

impl Phone {
    /// The command a line stands for.
    pub(super) fn read_line(&self, line: &str) -> Result<Command, CommandError> {
        let mut words = line.split_whitespace();
        let verb = words.next().ok_or(CommandError::Usage(
            "answer | hangup | call URI | hold | resume | transfer TARGET | consult TARGET | quit …",
        ))?;
        let arg = words.next();
        let named = |w: Option<&str>| w.and_then(|a| a.parse::<CallId>().ok());
        let newest = || self.calls.keys().next_back().copied();
        let target = |w: Option<&str>| named(w).or_else(newest).ok_or(CommandError::NoCall);
        // The newest consultation and the held call it is for.
        let consultation = || {
            self.calls
                .iter()
                .rev()
                .find_map(|(id, c)| c.link.consultation_for().map(|held| (held, *id)))
        };
        let pair = |a: Option<&str>, b: Option<&str>| named(a).zip(named(b)).or_else(consultation);
        Ok(match verb {
            "answer" => Command::Answer {
                call: named(arg)
                    .or_else(|| {
                        self.calls
                            .iter()
                            .rev()
                            .find(|(_, c)| c.phase == Phase::Offered)
                            .map(|(id, _)| *id)
                    })
                    .ok_or(CommandError::NoCall)?,
            },
            "hangup" => Command::Hangup { call: target(arg)? },
            "reject" | "decline" => Command::Reject {
                call: target(arg)?,
                status: 603,
            },
            "call" => Command::Call {
                target: arg.ok_or(CommandError::Usage("call URI"))?.to_owned(),
                headers: Vec::new(),
            },
            "quit" | "exit" => Command::Shutdown,
            "hold" => Command::Hold { call: target(arg)? },
            "resume" => Command::Resume { call: target(arg)? },
            "transfer" => Command::Transfer {
                target: arg
                    .ok_or(CommandError::Usage("transfer TARGET [CALL]"))?
                    .to_owned(),
                call: target(words.next())?,
            },
            "consult" => Command::Consult {
                target: arg
                    .ok_or(CommandError::Usage("consult TARGET [CALL]"))?
                    .to_owned(),
                call: target(words.next())?,
            },
            "complete-transfer" => {
                let (call, consult) = pair(arg, words.next()).ok_or(CommandError::Usage(
                    "complete-transfer [CALL CONSULT] (consult TARGET first)",
                ))?;
                Command::CompleteTransfer { call, consult }
            }
            "conference" => {
                let (call, other) = pair(arg, words.next()).ok_or(CommandError::Usage(
                    "conference CALL OTHER (or consult first)",
                ))?;
                Command::Conference { call, other }
            }
            "cancel-consult" => Command::CancelConsult {
                consult: named(arg)
                    .or_else(|| consultation().map(|(_, c)| c))
                    .ok_or(CommandError::Usage(
                        "cancel-consult [CONSULT] (no consultation under way)",
                    ))?,
            },
            "accept-transfer" => Command::AcceptTransfer { call: target(arg)? },
            "reject-transfer" => Command::RejectTransfer { call: target(arg)? },
            "mute" | "unmute" => Command::Mute {
                call: target(arg)?,
                muted: verb == "mute",
            },
            "dtmf" => Command::Dtmf {
                digits: arg
                    .ok_or(CommandError::Usage("dtmf KEYS [CALL]"))?
                    .to_owned(),
                call: target(words.next())?,
            },
            "watch" => Command::Watch {
                target: arg.ok_or(CommandError::Usage("watch TARGET"))?.to_owned(),
            },
            "unwatch" => Command::Unwatch {
                target: arg.ok_or(CommandError::Usage("unwatch TARGET"))?.to_owned(),
            },
            other => return Err(CommandError::UnknownCommand(other.to_owned())),
        })
    }
}
