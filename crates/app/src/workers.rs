//! Background work — files (contacts, e-mail attachments), the keyring,
//! the directory — on threads of their own, so the window never waits on a
//! disk, D-Bus or the network.
//! Each job sends one [`Done`] back and wakes the window; the desk takes
//! them at the start of the next frame.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use switchboard_desk::directory::{Entry, SourceKind};
use switchboard_desk::store::Contact;

/// Wakes the window when background work is done (egui's `request_repaint`).
#[derive(Clone)]
pub struct Wake(Arc<dyn Fn() + Send + Sync>);

impl Wake {
    /// Calls `f` to wake the window.
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Wake {
        Wake(Arc::new(f))
    }

    /// Wakes nothing (tests run frames themselves).
    pub fn none() -> Wake {
        Wake::new(|| {})
    }

    pub(crate) fn wake(&self) {
        (self.0)();
    }
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wake")
    }
}

/// A finished job.
#[derive(Debug)]
pub(crate) enum Done {
    /// A contacts CSV read and checked (not yet written to the store).
    ContactsRead {
        path: PathBuf,
        result: Result<Vec<Contact>, String>,
    },
    /// The contacts written to a CSV file: how many.
    ContactsWritten {
        path: PathBuf,
        result: Result<usize, String>,
    },
    /// A directory source read (a file, or one LDAP fetch).
    Directory {
        kind: SourceKind,
        result: Result<Vec<Entry>, String>,
    },
    /// The account's password from the keyring.
    PasswordLoaded {
        key: String,
        result: Result<Option<String>, String>,
    },
    /// The password stored in the keyring.
    PasswordStored { result: Result<(), String> },
    /// An e-mail's attachment written: where (or the name it was to have), or why not.
    AttachmentSaved {
        path: PathBuf,
        result: Result<(), String>,
    },
}

/// The channel the jobs answer on.
#[derive(Debug)]
pub(crate) struct Workers {
    tx: mpsc::Sender<Done>,
    rx: mpsc::Receiver<Done>,
    wake: Wake,
}

impl Workers {
    pub(crate) fn new(wake: Wake) -> Workers {
        let (tx, rx) = mpsc::channel();
        Workers { tx, rx, wake }
    }

    /// Runs `job` on a thread named `name`; its result comes back through [`Workers::poll`].
    pub(crate) fn spawn(&self, name: &str, job: impl FnOnce() -> Done + Send + 'static) {
        let (tx, wake) = (self.tx.clone(), self.wake.clone());
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = tx.send(job());
                wake.wake();
            });
        if let Err(e) = spawned {
            // No thread: the job's error comes back like any result.
            let _ = self.tx.send(Done::PasswordStored {
                result: Err(format!("cannot start {name}: {e}")),
            });
        }
    }

    /// A sender for a long-running worker that answers more than once (LDAP refreshes).
    pub(crate) fn sender(&self) -> (mpsc::Sender<Done>, Wake) {
        (self.tx.clone(), self.wake.clone())
    }

    /// The jobs done since the last call.
    pub(crate) fn poll(&self) -> Vec<Done> {
        self.rx.try_iter().collect()
    }
}
