//! Keeps the knowledge base's index in line with its folder: a thread that
//! syncs every two seconds (a directory walk when nothing changed; changed
//! files re-read), so an article edited on disk is found by its new words
//! within a few seconds. The desk searches with its own read connection to
//! the same index file (WAL: readers never wait for the writer).
//!
//! Without a configured folder the articles shipped with the desk are
//! written into `<data dir>/knowledge` the first time (and left alone
//! after, so a centre can edit them there).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use switchboard_desk::knowledge::{Index, SyncReport};

/// How often the folder is looked at.
const EVERY: Duration = Duration::from_secs(2);

/// The articles shipped with the desk (`assets/knowledge/`).
const SHIPPED: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/knowledge_files.rs"));

/// The sync thread; dropping it stops the thread.
pub struct KnowledgeWorker {
    stop: Arc<AtomicBool>,
    reports: mpsc::Receiver<SyncReport>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for KnowledgeWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeWorker").finish()
    }
}

/// Writes the shipped articles into `dir` unless it exists.
pub fn seed(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    for (name, text) in SHIPPED {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

impl KnowledgeWorker {
    /// Syncs `folder` into the index at `db` on its own thread, at once and
    /// then every two seconds;
    /// `wake` is called when something changed (the tab searches again).
    /// Returns the worker and the desk's own read handle of the index.
    pub fn spawn(
        folder: PathBuf,
        db: &Path,
        wake: Box<dyn Fn() + Send>,
    ) -> Result<(KnowledgeWorker, Index), String> {
        let mut writer = Index::open(db).map_err(|e| e.to_string())?;
        let reader = Index::open(db).map_err(|e| e.to_string())?;
        let (tx, reports) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("knowledge".into())
            .spawn(move || {
                let mut last_errors: Vec<String> = Vec::new();
                // The first sync at once, here and not on the caller's
                // thread: a first index of a large folder takes seconds
                // (docs/performance.md), and the desk starts meanwhile.
                let mut first = true;
                while !stopping.load(Ordering::Relaxed) {
                    // Sleep in short steps so a stop is quick.
                    for _ in 0..20 {
                        if first {
                            break;
                        }
                        if stopping.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(EVERY / 20);
                    }
                    let report = match writer.sync(&folder) {
                        Ok(r) => r,
                        Err(e) => SyncReport {
                            errors: vec![e.to_string()],
                            ..SyncReport::default()
                        },
                    };
                    let changed = first
                        || report.added + report.updated + report.removed > 0
                        || report.errors != last_errors;
                    first = false;
                    if changed {
                        last_errors = report.errors.clone();
                        if tx.send(report).is_err() {
                            return;
                        }
                        wake();
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok((
            KnowledgeWorker {
                stop,
                reports,
                thread: Some(thread),
            },
            reader,
        ))
    }

    /// What the syncs since the last call changed.
    pub fn poll(&self) -> Vec<SyncReport> {
        self.reports.try_iter().collect()
    }
}

impl Drop for KnowledgeWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
