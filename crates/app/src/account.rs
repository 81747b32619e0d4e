//! Saving the settings screen: the desk's rules at once, the file kept
//! intact, the account re-registered, the password to the keyring.

use std::time::Duration;

use switchboard_desk::context::HeaderRule;
use switchboard_desk::workspace::{NoticeKind, Now, Severity};
use switchboard_engine::Command;

use crate::{AccountSettings, DeskApp, secrets, workers};

impl DeskApp {
    pub(crate) fn save_settings(&mut self, now: Now) {
        let l = self.lang;
        let notice = |key, args, severity| NoticeKind::Desktop {
            key,
            args,
            severity,
        };
        let edit = match self.settings.to_edit(l) {
            Ok(e) => e,
            Err(message) => {
                self.ws.notify(
                    now,
                    notice(
                        "settings-invalid",
                        vec![("error", message)],
                        Severity::Warning,
                    ),
                );
                return;
            }
        };
        self.config.policy.wrap_up = Duration::from_secs(edit.wrap_up_secs);
        self.config.policy.auto_available = edit.auto_available;
        self.config.dispositions = edit.dispositions.clone();
        self.config.break_reasons = edit.break_reasons.clone();
        self.config.header_rules = edit
            .header_rules
            .iter()
            .map(|(h, label)| HeaderRule {
                header: h.clone(),
                label: label.clone(),
            })
            .collect();
        self.config.quick_connect = edit.quick_connect.clone();
        self.apply_rules();
        self.outbox.push(Command::SetDevices {
            input: edit.input_device.clone(),
            output: edit.output_device.clone(),
            ringer: edit.ringer_device.clone(),
        });
        let saved = match &self.settings_file {
            Some(path) => switchboard_desk::config::save(path, &edit).map(|()| true),
            None => Ok(false),
        };
        self.ws.notify(
            now,
            match saved {
                Ok(true) => notice("settings-saved", Vec::new(), Severity::Info),
                Ok(false) => notice("settings-applied", Vec::new(), Severity::Info),
                Err(e) => notice(
                    "settings-not-saved",
                    vec![("error", e.to_string())],
                    Severity::Warning,
                ),
            },
        );
        // The account: a new one (or a new password) registers at once; the
        // password goes to the keyring, never into the file.
        let password = std::mem::take(&mut self.settings.password);
        let account = match (&edit.registrar, &edit.username) {
            (Some(r), Some(u)) => Some(AccountSettings {
                registrar: r.clone(),
                username: u.clone(),
                realm: self.account.as_ref().and_then(|a| a.realm.clone()),
                expires: self.account.as_ref().map_or(600, |a| a.expires),
            }),
            _ => None,
        };
        self.config.dial_plan = self
            .config
            .dial_plan_section
            .plan(edit.registrar.as_deref());
        self.apply_dial_plan();
        let changed = account != self.account || !password.is_empty();
        if !password.is_empty()
            && let Some(a) = &account
        {
            let key = a.key();
            let secret = password.clone();
            self.work
                .spawn("keyring", move || workers::Done::PasswordStored {
                    result: secrets::store(&key, &secret),
                });
        }
        if changed {
            let keep = if password.is_empty() {
                self.password.clone().filter(|_| account == self.account)
            } else {
                Some(password)
            };
            if account.is_none() {
                self.outbox.push(Command::SetAccount(None));
            }
            self.set_account(account, keep);
        }
        self.saved_settings = Some(edit);
        self.settings_open = false;
    }
}
