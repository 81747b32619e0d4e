//! The team database's worker: one thread, named `team`, with a tokio
//! runtime driving [`switchboard_team::TeamDb`] for the desk, so the window
//! never waits on PostgreSQL.
//!
//! ```text
//!  desk ──lookup(call, number)──▶ ┐                           ┌─▶ poll() ──▶ Workspace::team_result
//!  desk ──presence(p), board()──▶ ├─ tokio mpsc ─▶ "team" ────┤            (and the board)
//!  outbox thread ──push(copy)───▶ ┘                           └─▶ the push's own answer
//!                 (waits ≤ PUSH_WAIT for the answer)
//! ```
//!
//! The agent's presence is not an outbox item (only the latest matters):
//! the worker keeps the newest one and sends it again every
//! [`RETRY_CONNECT`] until the database has taken it.
//!
//! Each job runs as its own task, so a slow push never holds up the lookup
//! for a ringing call. The pool is opened on first use and again after it
//! failed, but not more often than every [`RETRY_CONNECT`]: with the
//! database down, a lookup fails at once ("team database unreachable: …")
//! and the desk shows its own history, and a push fails at once and the
//! outbox tries it again later. Every query is bounded in the crate.

use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use switchboard_desk::team::{AgentPresence, Board, Interaction, TeamContact, TeamCopy};
use switchboard_team::{Settings, TeamDb};
use tokio::sync::mpsc as tmpsc;

/// How long a push may take, connecting included, before the outbox is
/// told to try again later.
pub const PUSH_WAIT: Duration = Duration::from_secs(10);
/// After a failed connect, jobs fail at once for this long.
pub const RETRY_CONNECT: Duration = Duration::from_secs(5);
/// Earlier interactions asked for per caller.
pub const EARLIER: i64 = 20;
/// How long dropping the worker waits for its thread.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// What the worker answers.
#[derive(Debug)]
pub enum TeamDone {
    /// A caller's earlier interactions and the team's contact for them.
    Lookup {
        /// The call it was for.
        call_id: String,
        /// The team's records, newest first, or why not.
        result: Result<Vec<Interaction>, String>,
        /// The team's contact for the number, if it has one.
        contact: Option<TeamContact>,
    },
    /// The team's interactions with an e-mail's sender.
    Mail {
        /// The claimed mail.
        row: switchboard_desk::email::EmailRow,
        /// The team's records, newest first, or why not.
        result: Result<Vec<Interaction>, String>,
    },
    /// The supervisor's board, or why not.
    Board(Result<Board, String>),
}

enum Job {
    Lookup {
        call_id: String,
        number: String,
    },
    Mail {
        row: switchboard_desk::email::EmailRow,
        address: String,
    },
    Push {
        copy: Box<TeamCopy>,
        reply: mpsc::Sender<Result<(), String>>,
    },
    Presence(Box<AgentPresence>),
    Board {
        since_ms: i64,
    },
    /// Sends the presence kept, if the database has not taken it yet.
    RetryPresence,
}

/// The worker's handle.
pub struct TeamWorker {
    jobs: tmpsc::UnboundedSender<Job>,
    done: mpsc::Receiver<TeamDone>,
    thread: Option<JoinHandle<()>>,
    ended: mpsc::Receiver<()>,
}

impl std::fmt::Debug for TeamWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TeamWorker")
    }
}

/// The pool, opened on demand, and the last failure to open it.
#[derive(Default)]
struct Pool {
    db: Option<TeamDb>,
    failed: Option<(Instant, String)>,
}

impl TeamWorker {
    /// Starts the thread; `wake` is called after each lookup's answer.
    pub fn spawn(
        settings: Settings,
        wake: Box<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<TeamWorker> {
        let (jobs, mut rx) = tmpsc::unbounded_channel::<Job>();
        let retry_tx = jobs.downgrade();
        let (done_tx, done) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel::<()>();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::from(wake);
        let thread = std::thread::Builder::new()
            .name("team".into())
            .spawn(move || {
                let _ended = ended_tx;
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("switchboard: team: no runtime: {e}");
                        return;
                    }
                };
                let settings = Arc::new(settings);
                let pool = Arc::new(tokio::sync::Mutex::new(Pool::default()));
                // The newest presence, until the database has taken it.
                let unsent: Arc<tokio::sync::Mutex<Option<AgentPresence>>> = Arc::default();
                // Local tasks: sqlx's futures are not `Send` for every
                // lifetime, and one thread is all this needs.
                let local = tokio::task::LocalSet::new();
                rt.block_on(local.run_until(async move {
                    // Ends when the handle is dropped (the sender goes).
                    let retry = retry_tx;
                    tokio::task::spawn_local(async move {
                        let mut every = tokio::time::interval(RETRY_CONNECT);
                        loop {
                            every.tick().await;
                            let Some(jobs) = retry.upgrade() else { break };
                            if jobs.send(Job::RetryPresence).is_err() {
                                break;
                            }
                        }
                    });
                    while let Some(job) = rx.recv().await {
                        // The newest presence is kept before anything else
                        // runs, so a close that follows still sends it.
                        let job = match job {
                            Job::Presence(p) => {
                                *unsent.lock().await = Some(*p);
                                Job::RetryPresence
                            }
                            other => other,
                        };
                        let (settings, pool) = (settings.clone(), pool.clone());
                        let (done_tx, wake) = (done_tx.clone(), wake.clone());
                        let unsent = unsent.clone();
                        tokio::task::spawn_local(async move {
                            match job {
                                Job::Lookup { call_id, number } => {
                                    let (result, contact) = match open(&settings, &pool).await {
                                        Ok(db) => {
                                            let earlier = db
                                                .earlier(&number, EARLIER)
                                                .await
                                                .map_err(|e| e.to_string());
                                            // A contact that cannot be read is no news.
                                            let contact = db.contact(&number).await.ok().flatten();
                                            (earlier, contact)
                                        }
                                        Err(e) => (Err(e), None),
                                    };
                                    let done = TeamDone::Lookup {
                                        call_id,
                                        result,
                                        contact,
                                    };
                                    if done_tx.send(done).is_ok() {
                                        wake();
                                    }
                                }
                                Job::Mail { row, address } => {
                                    let result = match open(&settings, &pool).await {
                                        Ok(db) => db
                                            .earlier(&address, EARLIER)
                                            .await
                                            .map_err(|e| e.to_string()),
                                        Err(e) => Err(e),
                                    };
                                    if done_tx.send(TeamDone::Mail { row, result }).is_ok() {
                                        wake();
                                    }
                                }
                                Job::Push { copy, reply } => {
                                    let result = match open(&settings, &pool).await {
                                        Ok(db) => match &*copy {
                                            TeamCopy::Interaction(i) => db.push(i).await,
                                            TeamCopy::Contact(c) => db.push_contact(c).await,
                                        }
                                        .map(|_| ())
                                        .map_err(|e| e.to_string()),
                                        Err(e) => Err(e),
                                    };
                                    // The outbox may have stopped waiting.
                                    let _ = reply.send(result);
                                }
                                // Taken in the loop above.
                                Job::Presence(_) => {}
                                Job::RetryPresence => {
                                    if unsent.lock().await.is_some() {
                                        send_presence(&settings, &pool, &unsent).await;
                                    }
                                }
                                Job::Board { since_ms } => {
                                    let result = match open(&settings, &pool).await {
                                        Ok(db) => {
                                            db.board(since_ms).await.map_err(|e| e.to_string())
                                        }
                                        Err(e) => Err(e),
                                    };
                                    if done_tx.send(TeamDone::Board(result)).is_ok() {
                                        wake();
                                    }
                                }
                            }
                        });
                    }
                    // The desk closed: its last word ("offline") goes out,
                    // within a bound.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        send_presence(&settings, &pool, &unsent),
                    )
                    .await;
                    if let Some(db) = pool.lock().await.db.take() {
                        let _ = tokio::time::timeout(Duration::from_secs(1), db.close()).await;
                    }
                }));
            })?;
        Ok(TeamWorker {
            jobs,
            done,
            thread: Some(thread),
            ended,
        })
    }

    /// Asks for the team's earlier interactions with `number` (answered
    /// through [`TeamWorker::poll`]).
    pub fn lookup(&self, call_id: &str, number: &str) {
        let job = Job::Lookup {
            call_id: call_id.to_owned(),
            number: number.to_owned(),
        };
        if self.jobs.send(job).is_err() {
            eprintln!("switchboard: team: the worker has stopped");
        }
    }

    /// Asks for the team's interactions with an e-mail's sender (answered
    /// through [`TeamWorker::poll`]).
    pub fn lookup_mail(&self, row: switchboard_desk::email::EmailRow, address: &str) {
        let _ = self.jobs.send(Job::Mail {
            row,
            address: address.to_owned(),
        });
    }

    /// What the agent is doing now (the newest wins; sent again until taken).
    pub fn presence(&self, p: AgentPresence) {
        let _ = self.jobs.send(Job::Presence(Box::new(p)));
    }

    /// Asks for the supervisor's board with the figures since `since_ms`.
    pub fn board(&self, since_ms: i64) {
        let _ = self.jobs.send(Job::Board { since_ms });
    }

    /// What was answered since the last call.
    pub fn poll(&self) -> Vec<TeamDone> {
        self.done.try_iter().collect()
    }

    /// A push for the outbox's thread: it waits at most [`PUSH_WAIT`].
    pub fn pusher(&self) -> crate::outbox_worker::TeamPush {
        let jobs = self.jobs.clone();
        Box::new(move |copy: &TeamCopy| {
            let (reply, answer) = mpsc::channel();
            jobs.send(Job::Push {
                copy: Box::new(copy.clone()),
                reply,
            })
            .map_err(|_| "the team worker has stopped".to_owned())?;
            answer.recv_timeout(PUSH_WAIT).map_err(|_| {
                format!(
                    "the team database did not answer in {} s",
                    PUSH_WAIT.as_secs()
                )
            })?
        })
    }
}

impl Drop for TeamWorker {
    fn drop(&mut self) {
        // The channel closes when the last sender goes: the outbox's pusher
        // may hold one a little longer; the thread is not waited for then.
        let (tx, _) = tmpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.jobs, tx));
        match self.ended.recv_timeout(STOP_WAIT) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Sends the presence kept; it stays kept if the database did not take it.
async fn send_presence(
    settings: &Settings,
    pool: &tokio::sync::Mutex<Pool>,
    unsent: &tokio::sync::Mutex<Option<AgentPresence>>,
) {
    let Some(p) = unsent.lock().await.clone() else {
        return;
    };
    let Ok(db) = open(settings, pool).await else {
        return;
    };
    if db.set_presence(&p).await.is_ok() {
        let mut kept = unsent.lock().await;
        // A newer one may have come meanwhile: that one stays.
        if kept.as_ref() == Some(&p) {
            *kept = None;
        }
    }
}

/// The pool, opening it if need be (not again within [`RETRY_CONNECT`] of a failure).
async fn open(settings: &Settings, pool: &tokio::sync::Mutex<Pool>) -> Result<TeamDb, String> {
    let mut p = pool.lock().await;
    if let Some(db) = &p.db {
        return Ok(db.clone());
    }
    if let Some((at, why)) = &p.failed
        && at.elapsed() < RETRY_CONNECT
    {
        return Err(format!("team database unreachable: {why}"));
    }
    match TeamDb::connect(settings).await {
        Ok(db) => {
            p.failed = None;
            p.db = Some(db.clone());
            Ok(db)
        }
        Err(e) => {
            let why = e.to_string();
            p.failed = Some((Instant::now(), why.clone()));
            Err(format!("team database unreachable: {why}"))
        }
    }
}
