//! Busy lamps: what the phone says of the colleagues' lines the desk
//! watches (quick-connects and directory entries with `blf = true`), so the
//! operator sees who is free before putting a caller through.
//!
//! [`Workspace::watch_lines`] is told the targets to watch whenever the
//! configuration or the directory changes; it asks the phone to watch the
//! new ones and to stop watching those gone. Each line's [`Lamp`] starts
//! unknown and follows the phone's `presence` reports; a line whose
//! subscription the PBX refused shows why instead.

use super::*;

/// What a watched line's lamp shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lamp {
    /// Nothing heard yet (subscribing, or the PBX is away).
    Unknown,
    /// Free.
    Idle,
    /// A call rings there.
    Ringing,
    /// On the phone.
    Busy,
    /// The PBX will not tell (refused the subscription): why.
    Off(String),
}

impl Workspace {
    /// The lines to watch now (targets as dialled). Returns whether the set changed.
    pub fn watch_lines(&mut self, targets: impl IntoIterator<Item = String>) -> bool {
        let wanted: BTreeSet<String> = targets
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        let gone: Vec<String> = self
            .lamps
            .keys()
            .filter(|t| !wanted.contains(*t))
            .cloned()
            .collect();
        let mut changed = false;
        for t in gone {
            self.lamps.remove(&t);
            self.out
                .push(Action::Phone(PhoneCommand::Unwatch(t.clone())));
            changed = true;
        }
        for t in wanted {
            if !self.lamps.contains_key(&t) {
                self.lamps.insert(t.clone(), Lamp::Unknown);
                self.out.push(Action::Phone(PhoneCommand::Watch(t)));
                changed = true;
            }
        }
        changed
    }

    /// The lamp of a line, when it is watched.
    pub fn lamp(&self, target: &str) -> Option<&Lamp> {
        self.lamps.get(target.trim())
    }

    pub(super) fn presence(&mut self, target: &str, lamp: Lamp) {
        if let Some(l) = self.lamps.get_mut(target) {
            *l = lamp;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::t0;
    use super::*;

    fn watches(ws: &mut Workspace) -> Vec<PhoneCommand> {
        ws.take_actions()
            .into_iter()
            .filter_map(|a| match a {
                Action::Phone(c @ (PhoneCommand::Watch(_) | PhoneCommand::Unwatch(_))) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn lines_are_watched_once_and_unwatched_when_they_leave_the_configuration() {
        let now = t0();
        let mut ws = Workspace::new(Rules::default(), None, now);
        assert!(ws.watch_lines(["201".to_owned(), " 202 ".to_owned()]));
        assert_eq!(
            watches(&mut ws),
            vec![
                PhoneCommand::Watch("201".into()),
                PhoneCommand::Watch("202".into())
            ]
        );
        assert!(
            !ws.watch_lines(["202".to_owned(), "201".to_owned()]),
            "the same set"
        );
        assert!(watches(&mut ws).is_empty());
        assert!(ws.watch_lines(["202".to_owned()]));
        assert_eq!(watches(&mut ws), vec![PhoneCommand::Unwatch("201".into())]);
        assert_eq!(ws.lamp("201"), None);
    }

    #[test]
    fn a_lamp_follows_the_phone_and_a_refusal_says_why() {
        let now = t0();
        let mut ws = Workspace::new(Rules::default(), None, now);
        ws.watch_lines(["201".to_owned()]);
        assert_eq!(ws.lamp("201"), Some(&Lamp::Unknown));
        for lamp in [
            Lamp::Ringing,
            Lamp::Busy,
            Lamp::Idle,
            Lamp::Off("489 Bad Event".into()),
        ] {
            ws.handle(
                now,
                PhoneEvent::Presence {
                    target: "201".into(),
                    lamp: lamp.clone(),
                },
            );
            assert_eq!(ws.lamp("201"), Some(&lamp));
        }
        // A line nobody watches (unwatched meanwhile) is not added back.
        ws.handle(
            now,
            PhoneEvent::Presence {
                target: "999".into(),
                lamp: Lamp::Busy,
            },
        );
        assert_eq!(ws.lamp("999"), None);
    }
}
