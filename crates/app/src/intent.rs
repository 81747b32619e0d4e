//! What the operator asks for, and how the desk carries it out.

use std::path::PathBuf;
use std::time::Instant;

use switchboard_desk::agent::AgentState;
use switchboard_desk::store::{Contact, ContactId};
use switchboard_desk::workspace::{ItemId, NoticeKind, Now, Op, Severity};
use switchboard_engine::Command;

use crate::{DeskApp, Lang, settings, workers};

/// What the operator asked for in this frame (panels return these; they are
/// applied after the frame).
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Something for the workspace (answer, hold, transfer …).
    Op(Op),
    /// Change the agent state.
    SetState(AgentState),
    /// Dial what was typed or clicked; the name is looked up when not given.
    Dial {
        /// A number, an extension or a SIP URI.
        input: String,
        /// Whom, if known.
        name: Option<String>,
    },
    /// Save the wrap-up in the centre.
    SaveWrapUp,
    /// Bring the n-th work-list item into the centre (Alt+1…9).
    SelectNth(usize),
    /// Open or close the settings screen.
    Settings(bool),
    /// Save the settings screen.
    SaveSettings,
    /// Start or stop the headset test.
    HeadsetTest(bool),
    /// Register again now.
    RetryRegistration,
    /// Import contacts from a CSV file.
    ImportContacts(PathBuf),
    /// Export the contacts to a CSV file.
    ExportContacts(PathBuf),
    /// Add (no id) or change a contact.
    SaveContact(Option<ContactId>, Contact),
    /// Remove a contact.
    DeleteContact(ContactId),
    /// Switch the UI language.
    SetLang(Lang),
    /// Try a failed delivery (webhook, e-mail) again now.
    RetryDelivery(i64),
    /// Save an e-mail's attachment in the Downloads folder (never opened).
    SaveAttachment {
        /// The e-mail's item.
        item: ItemId,
        /// Which of its attachments.
        index: usize,
    },
}

impl From<Op> for Intent {
    fn from(op: Op) -> Intent {
        Intent::Op(op)
    }
}

impl DeskApp {
    /// Carries out one intent.
    pub fn apply(&mut self, now: Instant, intent: Intent) {
        let now = Now {
            at: now,
            unix_ms: switchboard_desk::time::unix_ms(),
        };
        match intent {
            Intent::Op(op) => self.ws.apply(now, op),
            Intent::SetState(s) => self.ws.apply(now, Op::SetState(s)),
            Intent::Dial { input, name } => {
                let name = name.or_else(|| self.name_for(&input));
                self.ws.apply(now, Op::Dial { input, name });
            }
            Intent::SaveWrapUp => {
                if let Some(id) = self.ws.focused_wrap_up().map(|w| w.id) {
                    self.ws.apply(now, Op::SaveWrapUp(id));
                }
            }
            Intent::SelectNth(n) => {
                if let Some(id) = self.ws.work_list().get(n).map(|i| i.id) {
                    self.select(now, id);
                }
            }
            Intent::Settings(open) => {
                self.settings_open = open;
                if open {
                    self.settings = settings::Form::from_edit(&self.current_settings());
                    if !self.settings.devices_asked {
                        self.settings.devices_asked = true;
                        self.outbox.push(Command::ListDevices);
                    }
                } else if self.settings.testing {
                    self.apply(now.at, Intent::HeadsetTest(false));
                }
            }
            Intent::SaveSettings => self.save_settings(now),
            Intent::HeadsetTest(on) => {
                if on {
                    // The test runs on the devices chosen on the screen.
                    self.outbox.push(Command::SetDevices {
                        input: Some(self.settings.input.clone()).filter(|s| !s.is_empty()),
                        output: Some(self.settings.output.clone()).filter(|s| !s.is_empty()),
                        ringer: Some(self.settings.ringer.clone()).filter(|s| !s.is_empty()),
                    });
                } else {
                    self.settings.mic = None;
                }
                self.settings.testing = on;
                self.outbox.push(Command::DeviceTest { on });
            }
            Intent::RetryRegistration => {
                if self.account.is_some() && self.password.is_some() {
                    self.ws.set_registering(true);
                    self.outbox.push(Command::Register);
                } else {
                    let (a, p) = (self.account.clone(), self.password.clone());
                    self.set_account(a, p);
                }
            }
            Intent::ImportContacts(path) => {
                self.work
                    .spawn("contacts-import", move || workers::Done::ContactsRead {
                        result: std::fs::read_to_string(&path)
                            .map_err(|e| e.to_string())
                            .and_then(|t| {
                                switchboard_desk::store::parse_contacts_csv(&t)
                                    .map_err(|e| e.to_string())
                            }),
                        path: path.clone(),
                    });
            }
            Intent::ExportContacts(path) => {
                let csv = self
                    .ws
                    .store()
                    .ok_or_else(|| "no database".to_owned())
                    .and_then(|s| s.export_contacts_csv().map_err(|e| e.to_string()));
                self.work.spawn("contacts-export", move || {
                    let result = csv.clone().and_then(|text| {
                        write_atomically(&path, &text)?;
                        Ok(text.lines().count().saturating_sub(1))
                    });
                    workers::Done::ContactsWritten {
                        path: path.clone(),
                        result,
                    }
                });
            }
            Intent::SaveContact(id, c) => {
                // A number changed: the team's contact under the old one goes.
                let before = match (self.ws.store(), id) {
                    (Some(s), Some(id)) => s.contact(id).ok().flatten(),
                    _ => None,
                };
                if let Some(old) = before.filter(|o| o.number.trim() != c.number.trim()) {
                    self.ws.contact_changed(now, &old, true);
                }
                let r = match (self.ws.store(), id) {
                    (Some(s), Some(id)) => s.update_contact(id, &c).map(|_| ()),
                    (Some(s), None) => s.add_contact(&c).map(|_| ()),
                    (None, _) => Ok(()),
                };
                match r {
                    Err(e) => self.ws.notify(
                        now,
                        NoticeKind::StoreUnavailable {
                            error: e.to_string(),
                        },
                    ),
                    // The team gets the change (newest wins there).
                    Ok(()) => self.ws.contact_changed(now, &c, false),
                }
                self.contacts_version += 1;
            }
            Intent::DeleteContact(id) => {
                let gone = self.ws.store().and_then(|s| s.contact(id).ok().flatten());
                if let Some(c) = &gone {
                    self.ws.contact_changed(now, c, true);
                }
                if let Some(Err(e)) = self.ws.store().map(|s| s.delete_contact(id)) {
                    self.ws.notify(
                        now,
                        NoticeKind::StoreUnavailable {
                            error: e.to_string(),
                        },
                    );
                }
                self.contacts_version += 1;
            }
            Intent::SetLang(l) => self.lang = l,
            Intent::RetryDelivery(id) => {
                if let Some(Err(e)) = self.ws.store().map(|s| s.outbox_requeue(id, now.unix_ms)) {
                    self.ws.notify(
                        now,
                        NoticeKind::StoreUnavailable {
                            error: e.to_string(),
                        },
                    );
                }
                self.ws.touch_records();
                if let Some(o) = &self.outbox_worker {
                    o.poke();
                }
            }
            Intent::SaveAttachment { item, index } => self.save_attachment(now, item, index),
        }
        self.drain_actions();
    }

    /// Reads the attachment out of the mail's bytes and writes it to the
    /// Downloads folder under a name no file has yet, on a worker; a
    /// notice says where it went.
    fn save_attachment(&mut self, now: Now, item: ItemId, index: usize) {
        let found = self.ws.email(item).and_then(|e| {
            let message = e.message.clone()?;
            let raw = e.raw.clone()?;
            let a = message.attachments.get(index)?.clone();
            Some((message, raw, a))
        });
        let Some((message, raw, a)) = found else {
            self.ws.notify(
                now,
                NoticeKind::Desktop {
                    key: "attachment-not-saved",
                    args: vec![
                        ("name", format!("#{}", index + 1)),
                        ("error", "the e-mail is not downloaded".into()),
                    ],
                    severity: Severity::Warning,
                },
            );
            return;
        };
        let dir = downloads_dir();
        self.work.spawn("attachment-save", move || {
            let name = file_name(&a.name);
            let Some(bytes) = message.attachment_bytes(&raw, &a) else {
                return workers::Done::AttachmentSaved {
                    path: PathBuf::from(&name),
                    result: Err("it could not be read from the e-mail".into()),
                };
            };
            match dir.and_then(|d| save_new(&d, &name, &bytes)) {
                Ok(path) => workers::Done::AttachmentSaved {
                    path,
                    result: Ok(()),
                },
                Err(e) => workers::Done::AttachmentSaved {
                    path: PathBuf::from(&name),
                    result: Err(e),
                },
            }
        });
    }

    fn select(&mut self, now: Now, id: ItemId) {
        self.ws.apply(now, Op::Select(id));
    }

    /// The name for a number dialled: a contact's, else a directory entry's.
    fn name_for(&self, input: &str) -> Option<String> {
        let number = switchboard_desk::dialplan::clean_number(input)?;
        self.ws
            .store()
            .and_then(|s| s.contact_by_number(&number).ok().flatten())
            .map(|c| c.name)
            .or_else(|| self.directory.by_number(&number).map(|e| e.name.clone()))
    }
}

/// Where attachments go: `$XDG_DOWNLOAD_DIR`, else `$HOME/Downloads`.
fn downloads_dir() -> Result<PathBuf, String> {
    let from_env = |k: &str| {
        std::env::var_os(k)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    from_env("XDG_DOWNLOAD_DIR")
        .or_else(|| from_env("HOME").map(|h| h.join("Downloads")))
        .ok_or_else(|| "there is no home folder to put Downloads in".to_owned())
}

/// A name safe to save under (the mail's, cleaned again; never empty).
fn file_name(name: &str) -> String {
    let clean = switchboard_mail::message::clean_file_name(name);
    if clean.is_empty() {
        "attachment".into()
    } else {
        clean
    }
}

/// Writes `bytes` as `dir/name`, or `name (2)`, `name (3)` … when that is
/// taken: a file already there is never overwritten. `dir` is made if missing.
fn save_new(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, x)) if !s.is_empty() => (s, format!(".{x}")),
        _ => (name, String::new()),
    };
    for n in 1..=999 {
        let path = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let written = f.write_all(bytes).and_then(|()| f.sync_all());
        if let Err(e) = written {
            // No half file left under the name.
            let _ = std::fs::remove_file(&path);
            return Err(format!("{}: {e}", path.display()));
        }
        return Ok(path);
    }
    Err(format!(
        "{}: 999 files named like {name} are there already",
        dir.display()
    ))
}

/// Writes a file so a crash leaves the old one or the new one, never half.
fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let run = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    run().map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_attachment_never_overwrites_a_file_and_gets_a_numbered_name() {
        let dir = std::env::temp_dir().join(format!("sb-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = super::save_new(&dir, "report.pdf", b"one").unwrap();
        let second = super::save_new(&dir, "report.pdf", b"two").unwrap();
        let bare = super::save_new(&dir, "README", b"three").unwrap();
        let again = super::save_new(&dir, "README", b"four").unwrap();
        assert_eq!(first, dir.join("report.pdf"));
        assert_eq!(second, dir.join("report (2).pdf"));
        assert_eq!(again, dir.join("README (2)"));
        assert_eq!(std::fs::read(&first).unwrap(), b"one");
        assert_eq!(std::fs::read(&second).unwrap(), b"two");
        assert_eq!(std::fs::read(&bare).unwrap(), b"three");
        assert_eq!(super::file_name("../.secret"), "_.secret");
        assert_eq!(super::file_name(".."), "attachment");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
