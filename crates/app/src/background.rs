//! What the workers bring back — contacts read or written, the directory,
//! the keyring's answers, CRM records, attachments saved — taken at the
//! start of each frame.

use switchboard_desk::config::DirectorySection;
use switchboard_desk::directory::{Entry, Source, SourceKind, SourceState};
use switchboard_desk::workspace::{NoticeKind, Now, Severity};
use switchboard_engine::Command;

use crate::{AccountSettings, DeskApp, ldap, secrets, workers};

impl DeskApp {
    /// Reads the directory sources of the configuration on workers (and
    /// keeps their entries in the store for when a source is down).
    pub fn set_directory(&mut self, section: &DirectorySection) {
        if let Some(path) = &section.file {
            let kind = SourceKind::File(path.clone());
            self.directory.set_source(Source {
                kind: kind.clone(),
                state: SourceState::Loading,
                fetched_ms: None,
                entries: Vec::new(),
            });
            let path = path.clone();
            self.work
                .spawn("directory-file", move || workers::Done::Directory {
                    kind: kind.clone(),
                    result: switchboard_desk::directory::read_file(&path)
                        .map_err(|e| e.to_string()),
                });
        }
        if let Some(ldap) = &section.ldap {
            let kind = SourceKind::Ldap(ldap.url.clone());
            if let Err(e) = ldap::check(ldap) {
                self.ws.notify(
                    Now::system(),
                    NoticeKind::Desktop {
                        key: "config-value",
                        args: vec![("error", e.to_string())],
                        severity: Severity::Error,
                    },
                );
                return;
            }
            self.directory
                .set_source(self.cached(kind.clone(), SourceState::Loading));
            let password = std::env::var("SWITCHBOARD_LDAP_PASSWORD").ok();
            ldap::spawn(ldap.clone(), password, &self.work);
        }
    }

    /// A source as the store kept it, in `state`.
    fn cached(&self, kind: SourceKind, state: SourceState) -> Source {
        let mut s = Source {
            kind,
            state,
            fetched_ms: None,
            entries: Vec::new(),
        };
        if let Some((json, at)) = self
            .ws
            .store()
            .and_then(|st| st.cached_directory(&s.cache_key()).ok().flatten())
            && let Some(entries) = switchboard_desk::directory::from_json(&json)
        {
            s.entries = entries;
            s.fetched_ms = Some(at);
        }
        s
    }

    /// The account to register, and its password when known now
    /// (`SWITCHBOARD_PASSWORD`); without one the keyring is asked.
    pub fn set_account(&mut self, account: Option<AccountSettings>, password: Option<String>) {
        self.account = account;
        self.password = password;
        match (&self.account, &self.password) {
            (Some(a), Some(p)) => {
                self.ws.set_registering(true);
                self.outbox
                    .push(Command::SetAccount(Some(a.engine(p.clone()))));
            }
            (Some(a), None) => {
                self.ws.set_registering(true);
                let key = a.key();
                self.work
                    .spawn("keyring", move || workers::Done::PasswordLoaded {
                        key: key.clone(),
                        result: secrets::load(&key),
                    });
            }
            (None, _) => self.ws.set_registering(false),
        }
    }

    pub(crate) fn poll_background(&mut self) {
        if let Some(w) = &self.crm {
            for done in w.poll() {
                self.ws
                    .crm_result(&done.call_id, done.result.map_err(|e| e.to_string()));
            }
        }
        if let Some((w, _)) = &self.knowledge {
            for report in w.poll() {
                self.knowledge_version += 1;
                for e in report.errors {
                    self.ws.notify(
                        Now::system(),
                        NoticeKind::Desktop {
                            key: "knowledge-error",
                            args: vec![("error", e)],
                            severity: switchboard_desk::workspace::Severity::Warning,
                        },
                    );
                }
            }
        }
        if self
            .outbox_changed
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            self.outbox_delivered();
            self.ws.outbox_changed(Now::system());
        }
        if let Some(w) = &self.mail {
            for ev in w.poll() {
                self.ws.mail_event(Now::system(), ev);
            }
        }
        if let Some(w) = &self.team {
            for done in w.poll() {
                match done {
                    crate::team_worker::TeamDone::Lookup {
                        call_id,
                        result,
                        contact,
                    } => {
                        self.ws.team_result(&call_id, result);
                        self.ws.team_contact(Now::system(), &call_id, contact);
                        self.contacts_version += 1;
                    }
                    crate::team_worker::TeamDone::Mail { row, result } => {
                        self.ws.mail_team_result(row, result);
                    }
                    crate::team_worker::TeamDone::Board(b) => {
                        self.board = Some((b, switchboard_desk::time::unix_ms()));
                    }
                }
            }
        }
        if let Some(w) = &self.tickets {
            for done in w.poll() {
                self.ws
                    .tickets_result(&done.call_id, done.result.map_err(|e| e.to_string()));
            }
        }
        for done in self.work.poll() {
            self.background(done);
        }
    }

    fn background(&mut self, done: workers::Done) {
        let now = Now::system();
        let notice = |key, args, severity| NoticeKind::Desktop {
            key,
            args,
            severity,
        };
        match done {
            workers::Done::ContactsRead { path, result } => {
                let result = result.and_then(|contacts| {
                    let s = self
                        .ws
                        .store_mut()
                        .ok_or_else(|| "no database".to_owned())?;
                    s.add_contacts(&contacts).map_err(|e| e.to_string())
                });
                self.contacts_version += 1;
                self.ws.notify(
                    now,
                    match result {
                        Ok(n) => notice("imported", vec![("count", n.to_string())], Severity::Info),
                        Err(e) => notice(
                            "import-failed",
                            vec![("path", path.display().to_string()), ("error", e)],
                            Severity::Warning,
                        ),
                    },
                );
            }
            workers::Done::ContactsWritten { path, result } => {
                self.ws.notify(
                    now,
                    match result {
                        Ok(n) => notice(
                            "exported",
                            vec![
                                ("count", n.to_string()),
                                ("path", path.display().to_string()),
                            ],
                            Severity::Info,
                        ),
                        Err(e) => notice(
                            "export-failed",
                            vec![("path", path.display().to_string()), ("error", e)],
                            Severity::Warning,
                        ),
                    },
                );
            }
            workers::Done::Directory { kind, result } => self.directory_done(now, kind, result),
            workers::Done::PasswordLoaded { key, result } => {
                let Some(a) = self.account.clone().filter(|a| a.key() == key) else {
                    return;
                };
                match result {
                    Ok(Some(p)) => {
                        self.password = Some(p.clone());
                        self.outbox.push(Command::SetAccount(Some(a.engine(p))));
                    }
                    Ok(None) => {
                        self.ws.set_registering(false);
                        self.ws.notify(
                            now,
                            notice("no-password", vec![("account", key)], Severity::Error),
                        );
                    }
                    Err(e) => {
                        self.ws.set_registering(false);
                        self.ws.notify(
                            now,
                            notice("keyring-failed", vec![("error", e)], Severity::Error),
                        );
                    }
                }
            }
            workers::Done::PasswordStored { result } => {
                self.ws.notify(
                    now,
                    match result {
                        Ok(()) => notice("password-stored", Vec::new(), Severity::Info),
                        Err(e) => notice("keyring-failed", vec![("error", e)], Severity::Error),
                    },
                );
            }
            workers::Done::AttachmentSaved { path, result } => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                self.ws.notify(
                    now,
                    match result {
                        Ok(()) => notice(
                            "attachment-saved",
                            vec![("name", name), ("path", path.display().to_string())],
                            Severity::Info,
                        ),
                        Err(e) => notice(
                            "attachment-not-saved",
                            vec![("name", name), ("error", e)],
                            Severity::Warning,
                        ),
                    },
                );
            }
        }
    }

    fn directory_done(&mut self, now: Now, kind: SourceKind, result: Result<Vec<Entry>, String>) {
        match result {
            Ok(entries) => {
                let s = Source {
                    kind,
                    state: SourceState::Fresh,
                    fetched_ms: Some(now.unix_ms),
                    entries,
                };
                let kept = self.ws.store().map(|st| {
                    st.save_directory(
                        &s.cache_key(),
                        &switchboard_desk::directory::to_json(&s.entries),
                        now.unix_ms,
                    )
                });
                if let Some(Err(e)) = kept {
                    // It works now; it will not while the source is down.
                    self.ws.notify(
                        now,
                        NoticeKind::StoreUnavailable {
                            error: e.to_string(),
                        },
                    );
                }
                self.directory.set_source(s);
                self.apply_watches();
            }
            Err(error) => {
                let mut s = self.cached(
                    kind,
                    SourceState::Failed {
                        error: error.clone(),
                    },
                );
                if s.fetched_ms.is_some() {
                    s.state = SourceState::Cached {
                        error: error.clone(),
                    };
                }
                let name = match &s.kind {
                    SourceKind::File(p) => p.display().to_string(),
                    SourceKind::Ldap(u) => u.clone(),
                };
                self.ws.notify(
                    now,
                    NoticeKind::Desktop {
                        key: if s.fetched_ms.is_some() {
                            "directory-cached"
                        } else {
                            "directory-failed"
                        },
                        args: vec![("source", name), ("error", error)],
                        severity: Severity::Warning,
                    },
                );
                self.directory.set_source(s);
                self.apply_watches();
            }
        }
    }
}

impl DeskApp {
    /// A delivery changed state: the views query again, and a number the
    /// receiver gave (a ticket, an order) is announced once.
    fn outbox_delivered(&mut self) {
        self.ws.touch_records();
        let since = self.announced_ms;
        let Some(store) = self.ws.store() else { return };
        let sent = store.outbox_sent_since(since).unwrap_or_default();
        let mut latest = since;
        let mut notices = Vec::new();
        for item in sent {
            latest = latest.max(item.sent_ms.unwrap_or(since));
            if let Some(result) = item.result {
                let who = item
                    .call_id
                    .as_deref()
                    .and_then(|c| store.call(c).ok().flatten())
                    .map(|r| r.name.unwrap_or(r.number))
                    .unwrap_or_default();
                notices.push((result, who));
            }
        }
        self.announced_ms = latest;
        for (number, who) in notices {
            self.ws.notify(
                Now::system(),
                NoticeKind::Desktop {
                    key: "delivery-number",
                    args: vec![("number", number), ("who", who)],
                    severity: switchboard_desk::workspace::Severity::Info,
                },
            );
        }
    }
}
