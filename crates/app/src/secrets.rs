//! The account password in the OS keyring (the Secret Service on Linux
//! desktops: gnome-keyring, KWallet), never in the configuration file.
//! Each call talks D-Bus and may wait for the keyring daemon: the desk
//! calls these on a worker thread only.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error};

/// The keyring service name Switchboard's secrets are kept under.
pub const SERVICE: &str = "switchboard";

fn keyring() -> Result<Arc<CredentialStore>, String> {
    zbus_secret_service_keyring_store::Store::new()
        .map(|s| s as Arc<CredentialStore>)
        .map_err(|e| format!("no keyring (Secret Service): {e}"))
}

/// The password kept for `user` (`username@registrar`), if any.
pub fn load(user: &str) -> Result<Option<String>, String> {
    let entry = Entry::new_in_store(&keyring()?, SERVICE, user).map_err(|e| e.to_string())?;
    match entry.get_password() {
        Ok(p) => Ok(Some(p)),
        Err(Error::NoEntry) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Keeps `password` for `user`, replacing what was there.
pub fn store(user: &str, password: &str) -> Result<(), String> {
    let entry = Entry::new_in_store(&keyring()?, SERVICE, user).map_err(|e| e.to_string())?;
    entry.set_password(password).map_err(|e| e.to_string())
}
