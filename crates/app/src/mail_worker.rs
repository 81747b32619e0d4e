//! The shared mailbox's worker: one thread, named `mailbox`, that drives
//! [`switchboard_mail::imap::Mailbox`] for the desk and reports what it
//! finds as [`MailEvent`]s, so the window never waits on the network.
//!
//! ```text
//!  desk ──send(MailCommand)──▶ tokio mpsc ─┐          ┌─▶ std mpsc ──poll()──▶ desk (+ wake())
//!                                          ▼          │
//!  "mailbox" thread, current-thread runtime:  command loop ─ command connection (list, claim, fetch, …)
//!                                          ▲
//!                 watcher task ── watcher connection: IDLE ≤ 25 min, again and again ── "changed"
//! ```
//!
//! Two IMAP connections per session: the command connection answers the
//! desk's [`MailCommand`]s; the watcher connection sits in IDLE (re-issued
//! every [`IDLE_FOR`], well under the 29 minutes RFC 2177 allows) and tells
//! the command loop when the inbox changed. After connecting the worker
//! reports [`MailEvent::Connected`] and a full [`MailEvent::Listed`]; it
//! lists again after every claim, release and move and whenever the watcher
//! saw a change (several changes close together make one list).
//!
//! A broken connection (either of the two) is reported as
//! [`MailEvent::Offline`], in words the operator can act on, and the worker
//! connects again after a wait that doubles from [`BACKOFF_FIRST`] to
//! [`BACKOFF_MAX`]. Commands that arrive meanwhile are answered at once
//! with [`MailEvent::Failed`] ([`MailCommand::Refresh`] excepted: the list
//! after the next connect answers it), so nothing on the desk waits forever.
//!
//! Every wait is bounded: the [`Mailbox`] bounds connecting and each
//! command, IDLE ends after [`IDLE_FOR`], and [`MailWorker::stop`] gives
//! the releases [`RELEASE_WAIT`] and the thread [`STOP_WAIT`] in all.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use switchboard_desk::email::{ClaimedBy, Listed, MailCommand, MailEvent, MailSection, Uid};
use switchboard_mail::imap::{
    Account, CLAIM_PREFIX, Claim, Error, Mailbox, Security, Summary, claim_keyword,
};
use tokio::sync::{mpsc as tmpsc, oneshot};
use tokio::time::{Instant, sleep, timeout, timeout_at};

/// How long one IDLE lasts before it is issued again (RFC 2177: servers may
/// log a client out after 29 minutes of IDLE).
pub const IDLE_FOR: Duration = Duration::from_secs(25 * 60);
/// The first wait before connecting again.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(1);
/// The longest wait before connecting again.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// What [`MailWorker::stop`] gives the releases (connecting for them
/// included, when the command connection is not usable).
pub const RELEASE_WAIT: Duration = Duration::from_secs(3);
/// How long [`MailWorker::stop`] waits for the thread in all.
pub const STOP_WAIT: Duration = Duration::from_secs(5);
/// What the `LOGOUT` at the end may take.
const LOGOUT_WAIT: Duration = Duration::from_secs(1);
/// How long the command loop waits for more changes after the watcher's
/// first signal before it lists (a burst of changes makes one list).
/// (Dovecot already holds its IDLE notices back 500 ms to batch them, so a
/// short wait is enough.)
const SETTLE: Duration = Duration::from_millis(30);
/// Claim attempts for one command while the mail stays nobody's.
pub const CLAIM_ROUNDS: u32 = 3;
/// Commands handled back to back before the list they call for.
const BATCH: usize = 64;
/// The mails listed when `[desk.mail] list_limit` is not set.
pub const DEFAULT_LIST_LIMIT: usize = 5000;
/// The largest mail downloaded when `[desk.mail] max_mail_mb` is not set.
pub const DEFAULT_MAX_MAIL_MB: u64 = 40;
const MB: u64 = 1024 * 1024;

/// What the worker needs: the mailbox, who works it, and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// The shared mailbox (its `Debug` hides the password).
    pub account: Account,
    /// The operator, as their claims are named (`$Claimed_<agent>`).
    pub agent: String,
    /// Mails listed at most, newest first.
    pub list_limit: usize,
    /// Mails larger than this (bytes) are not downloaded.
    pub max_bytes: u64,
}

/// `[desk.mail]` as the worker uses it, for the operator `agent`: the
/// security (`tls` by default, `starttls`, `plain`), the port (993 for TLS,
/// 143 otherwise), the folders (`INBOX`, `Done`, `Sent`) and the password,
/// `SWITCHBOARD_MAIL_PASSWORD` when set (headless use), else the keyring's
/// entry `imap:USER@HOST`. Without one the password is empty, and the login
/// error says where it should be. Talks to the keyring (D-Bus): call it on
/// a worker thread, as the desk's start does.
pub fn mail_settings(section: &MailSection, agent: &str) -> Result<MailSettings, String> {
    let mut settings = settings_from(section, agent)?;
    settings.account.password = match std::env::var("SWITCHBOARD_MAIL_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => crate::secrets::load(&keyring_entry(&settings.account))
            .ok()
            .flatten()
            .unwrap_or_default(),
    };
    Ok(settings)
}

/// The keyring entry holding the account's password.
fn keyring_entry(account: &Account) -> String {
    format!("imap:{}@{}", account.user, account.host)
}

/// [`mail_settings`] without the keyring: the password is left empty.
fn settings_from(section: &MailSection, agent: &str) -> Result<MailSettings, String> {
    let security = match section.security.as_deref().unwrap_or("tls") {
        "tls" => Security::Tls,
        "starttls" => Security::StartTls,
        "plain" => Security::Plain,
        other => {
            return Err(format!(
                "[desk.mail] security {other:?}: use tls, starttls or plain"
            ));
        }
    };
    if section.host.trim().is_empty() {
        return Err("[desk.mail] host is empty".into());
    }
    if section.user.trim().is_empty() {
        return Err("[desk.mail] user is empty".into());
    }
    claim_keyword(agent).map_err(|e| format!("the operator's name for claims: {e}"))?;
    let list_limit = section.list_limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if list_limit == 0 {
        return Err("[desk.mail] list_limit must be at least 1".into());
    }
    let max_mb = section.max_mail_mb.unwrap_or(DEFAULT_MAX_MAIL_MB);
    if max_mb == 0 {
        return Err("[desk.mail] max_mail_mb must be at least 1".into());
    }
    let folder = |f: &Option<String>, default: &str| {
        f.as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .unwrap_or(default)
            .to_owned()
    };
    Ok(MailSettings {
        account: Account {
            host: section.host.trim().to_owned(),
            port: section.port.unwrap_or(match security {
                Security::Tls => 993,
                Security::StartTls | Security::Plain => 143,
            }),
            security,
            user: section.user.trim().to_owned(),
            password: String::new(),
            ca_file: section.ca_file.clone(),
            inbox: folder(&section.inbox, "INBOX"),
            done: folder(&section.done, "Done"),
            sent: folder(&section.sent, "Sent"),
        },
        agent: agent.to_owned(),
        list_limit,
        max_bytes: max_mb.saturating_mul(MB),
    })
}

/// The mailbox thread's handle. [`MailWorker::stop`] ends it (releasing
/// claims); dropping it ends it too, releasing nothing.
pub struct MailWorker {
    commands: tmpsc::UnboundedSender<MailCommand>,
    /// Taken when the thread is told to stop.
    stop: Option<oneshot::Sender<Vec<Uid>>>,
    events: mpsc::Receiver<MailEvent>,
    /// The thread's own sender, kept to answer commands the thread can no
    /// longer take (it ended).
    answer: mpsc::Sender<MailEvent>,
    /// Disconnected when the thread ends.
    ended: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MailWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailWorker")
            .field("running", &self.stop.is_some())
            .finish()
    }
}

impl MailWorker {
    /// Starts the thread; it connects at once. `wake` is called after every
    /// event (the window takes them with [`MailWorker::poll`]). Fails if the
    /// agent's name cannot make a claim keyword or the thread cannot start.
    pub fn spawn(
        settings: MailSettings,
        wake: Box<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<MailWorker> {
        let keyword = claim_keyword(&settings.agent).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the operator's name for claims: {e}"),
            )
        })?;
        let me = keyword
            .strip_prefix(CLAIM_PREFIX)
            .expect("claim_keyword starts every keyword with CLAIM_PREFIX")
            .to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (commands, commands_rx) = tmpsc::unbounded_channel();
        let (stop, stop_rx) = oneshot::channel();
        let (answer, events) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel::<()>();
        let link = Link {
            commands: commands_rx,
            stop: StopSignal(Some(stop_rx)),
            out: Out {
                events: answer.clone(),
                wake,
            },
            last_error: String::from("not connected yet"),
        };
        let work = Work { settings, me };
        let thread = std::thread::Builder::new()
            .name("mailbox".into())
            .spawn(move || {
                let _ended = ended_tx;
                runtime.block_on(drive(work, link));
            })?;
        Ok(MailWorker {
            commands,
            stop: Some(stop),
            events,
            answer,
            ended,
            thread: Some(thread),
        })
    }

    /// Asks the worker to do something; never blocks. Every command but
    /// [`MailCommand::Refresh`] is answered by an event.
    pub fn send(&self, cmd: MailCommand) {
        if let Err(tmpsc::error::SendError(cmd)) = self.commands.send(cmd) {
            // The thread has ended: answer here, so nobody waits.
            if let Some(ev) = refusal(cmd, "the mailbox worker has stopped") {
                // The receiver is ours: it lives as long as `self`.
                let _ = self.answer.send(ev);
            }
        }
    }

    /// What happened since the last call, oldest first; never blocks.
    pub fn poll(&self) -> Vec<MailEvent> {
        self.events.try_iter().collect()
    }

    /// Gives the mails `release` back to the queue (within [`RELEASE_WAIT`]),
    /// logs out and ends the thread, waiting for it at most [`STOP_WAIT`].
    pub fn stop(mut self, release: Vec<Uid>) {
        self.shutdown(release);
    }

    fn shutdown(&mut self, release: Vec<Uid>) {
        let Some(stop) = self.stop.take() else {
            return;
        };
        // A thread that already ended has nothing to stop.
        let _ = stop.send(release);
        match self.ended.recv_timeout(STOP_WAIT) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Some(t) = self.thread.take()
                    && t.join().is_err()
                {
                    eprintln!("switchboard: mailbox: the mailbox thread panicked");
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                eprintln!(
                    "switchboard: mailbox: the mailbox thread did not end within {STOP_WAIT:?}; \
                     left to end on its own"
                );
            }
        }
    }
}

impl Drop for MailWorker {
    /// Ends the thread as [`MailWorker::stop`] does, releasing nothing.
    fn drop(&mut self) {
        self.shutdown(Vec::new());
    }
}

/// What the thread works with.
struct Work {
    settings: MailSettings,
    /// The agent's name as it appears in claim keywords.
    me: String,
}

/// The stop order, read once.
struct StopSignal(Option<oneshot::Receiver<Vec<Uid>>>);

impl StopSignal {
    /// Resolves when the desk asks the thread to stop (or is gone), with
    /// the mails to release; never again after that.
    async fn fired(&mut self) -> Vec<Uid> {
        let Some(rx) = self.0.as_mut() else {
            return std::future::pending().await;
        };
        // A dropped sender (the handle gone without a stop) releases nothing.
        let release = rx.await.unwrap_or_default();
        self.0 = None;
        release
    }
}

/// Where events go.
struct Out {
    events: mpsc::Sender<MailEvent>,
    wake: Box<dyn Fn() + Send + Sync>,
}

impl Out {
    fn emit(&self, ev: MailEvent) {
        // The handle keeps a receiver as long as it lives; once it is gone
        // nobody is left to tell.
        if self.events.send(ev).is_ok() {
            (self.wake)();
        }
    }
}

/// The thread's side of the channels.
struct Link {
    commands: tmpsc::UnboundedReceiver<MailCommand>,
    stop: StopSignal,
    out: Out,
    /// Why the mailbox is offline, for commands refused meanwhile.
    last_error: String,
}

/// The desk asked the thread to stop; the mails to release.
struct Stopped(Vec<Uid>);

impl Link {
    /// Runs `fut` while offline: commands arriving meanwhile are refused,
    /// a stop cuts it short.
    async fn offline<F: std::future::Future>(&mut self, fut: F) -> Result<F::Output, Stopped> {
        tokio::pin!(fut);
        // Each round either ends or answers one command; the future itself
        // is bounded (a connect, a back-off sleep).
        loop {
            tokio::select! {
                biased;
                release = self.stop.fired() => return Err(Stopped(release)),
                out = &mut fut => return Ok(out),
                cmd = self.commands.recv() => match cmd {
                    None => return Err(Stopped(Vec::new())),
                    Some(cmd) => {
                        let error = format!("the mailbox is offline: {}", self.last_error);
                        if let Some(ev) = refusal(cmd, &error) {
                            self.out.emit(ev);
                        }
                    }
                },
            }
        }
    }
}

/// Runs `fut` unless a stop comes first.
async fn guarded<F: std::future::Future>(
    stop: &mut StopSignal,
    fut: F,
) -> Result<F::Output, Stopped> {
    tokio::select! {
        biased;
        release = stop.fired() => Err(Stopped(release)),
        out = fut => Ok(out),
    }
}

/// The answer to a command that cannot be carried out; none for a refresh
/// (the next list answers it).
fn refusal(cmd: MailCommand, error: &str) -> Option<MailEvent> {
    let (uid, command) = match cmd {
        MailCommand::Claim { uid, .. } => (Some(uid), "claim"),
        MailCommand::Fetch(uid) => (Some(uid), "fetch"),
        MailCommand::Release(uid) => (Some(uid), "release"),
        MailCommand::Done(uid) => (Some(uid), "done"),
        MailCommand::AppendSent { .. } => (None, "append-sent"),
        MailCommand::Refresh => return None,
    };
    Some(MailEvent::Failed {
        uid,
        command,
        error: error.to_owned(),
    })
}

/// How a session ended.
enum End {
    /// A connection broke: connect again.
    Offline(Error),
    /// The desk asked to stop; the command connection if it is still in
    /// step (a command cut short leaves it unusable).
    Stop {
        release: Vec<Uid>,
        mailbox: Option<Mailbox>,
    },
}

/// What the watcher tells the command loop.
enum Watch {
    /// Something changed in the inbox.
    Changed,
    /// The watcher connection broke.
    Failed(Error),
}

/// The thread's body: connect, work, connect again; then the releases.
async fn drive(work: Work, mut link: Link) {
    let mut failures: u32 = 0;
    // Each round is one connection attempt and its session; the waits
    // between rounds grow to BACKOFF_MAX, and a stop ends the loop.
    let (release, mailbox) = loop {
        let attempt = link.offline(connect_pair(&work.settings.account)).await;
        let end = match attempt {
            Err(Stopped(release)) => break (release, None),
            Ok(Err(e)) => End::Offline(e),
            Ok(Ok((command, watcher))) => {
                let since = Instant::now();
                link.out.emit(MailEvent::Connected);
                let end = session(&work, &mut link, command, watcher).await;
                if since.elapsed() >= BACKOFF_MAX {
                    // It worked for a while: this is a new trouble.
                    failures = 0;
                }
                end
            }
        };
        match end {
            End::Stop { release, mailbox } => break (release, mailbox),
            End::Offline(e) => {
                link.last_error = offline_text(&e, &work.settings.account);
                link.out.emit(MailEvent::Offline {
                    error: link.last_error.clone(),
                });
                let wait = backoff(failures);
                failures = failures.saturating_add(1);
                if let Err(Stopped(release)) = link.offline(sleep(wait)).await {
                    break (release, None);
                }
            }
        }
    };
    finish(&work.settings, mailbox, release).await;
}

/// The wait before connection attempt `failures + 1`: 1 s doubling to 60 s.
fn backoff(failures: u32) -> Duration {
    let factor = 1u32 << failures.min(6);
    BACKOFF_FIRST.saturating_mul(factor).min(BACKOFF_MAX)
}

/// The command and the watcher connection, side by side.
async fn connect_pair(account: &Account) -> Result<(Mailbox, Mailbox), Error> {
    let (command, watcher) = tokio::join!(Mailbox::connect(account), Mailbox::connect(account));
    match (command, watcher) {
        (Ok(c), Ok(w)) => Ok((c, w)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Aborts the watcher task when the session ends, however it ends.
struct Watcher(tokio::task::JoinHandle<()>);

impl Drop for Watcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The watcher connection: IDLE after IDLE, a signal for each change.
async fn watch(mut mailbox: Mailbox, tx: tmpsc::UnboundedSender<Watch>) {
    // Each round is one bounded IDLE; the task is aborted with its session.
    loop {
        match mailbox.wait_for_new(IDLE_FOR).await {
            Ok(false) => {}
            Ok(true) => {
                if tx.send(Watch::Changed).is_err() {
                    return;
                }
            }
            Err(e) => {
                // The command loop is told; if it is gone, nobody needs to be.
                let _ = tx.send(Watch::Failed(e));
                return;
            }
        }
    }
}

/// One connected session: the first list, then commands and changes until
/// a connection breaks or the desk stops.
async fn session(work: &Work, link: &mut Link, mut mailbox: Mailbox, watcher: Mailbox) -> End {
    let (tx, mut changes) = tmpsc::unbounded_channel();
    let _watcher = Watcher(tokio::spawn(watch(watcher, tx)));
    let mut relist = true;
    // Each round lists if asked to, then waits for one command batch or one
    // burst of changes; every await in it is bounded or cut short by a stop.
    loop {
        if relist {
            match guarded(&mut link.stop, list(work, &link.out, &mut mailbox)).await {
                Err(Stopped(release)) => {
                    return End::Stop {
                        release,
                        mailbox: None,
                    };
                }
                Ok(Err(e)) => return End::Offline(e),
                Ok(Ok(())) => {}
            }
        }
        relist = false;
        tokio::select! {
            biased;
            release = link.stop.fired() => {
                return End::Stop { release, mailbox: Some(mailbox) };
            }
            cmd = link.commands.recv() => {
                let Some(first) = cmd else {
                    return End::Stop { release: Vec::new(), mailbox: Some(mailbox) };
                };
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match link.commands.try_recv() {
                        Ok(cmd) => batch.push(cmd),
                        Err(_) => break,
                    }
                }
                let mut batch = batch.into_iter();
                while let Some(cmd) = batch.next() {
                    let done = guarded(&mut link.stop, handle(work, &link.out, &mut mailbox, cmd)).await;
                    match done {
                        Err(Stopped(release)) => return End::Stop { release, mailbox: None },
                        Ok(Ok(again)) => relist |= again,
                        Ok(Err(e)) => {
                            // The connection is gone: the rest of the batch
                            // is answered now, not after the reconnect.
                            let error = format!(
                                "the mailbox is offline: {}",
                                offline_text(&e, &work.settings.account)
                            );
                            for cmd in batch {
                                if let Some(ev) = refusal(cmd, &error) {
                                    link.out.emit(ev);
                                }
                            }
                            return End::Offline(e);
                        }
                    }
                }
            }
            change = changes.recv() => match change {
                Some(Watch::Changed) => {
                    if let Err(Stopped(release)) = guarded(&mut link.stop, sleep(SETTLE)).await {
                        return End::Stop { release, mailbox: Some(mailbox) };
                    }
                    // Whatever came meanwhile is served by the one list.
                    while let Ok(more) = changes.try_recv() {
                        if let Watch::Failed(e) = more {
                            return End::Offline(e);
                        }
                    }
                    relist = true;
                }
                Some(Watch::Failed(e)) => return End::Offline(e),
                None => return End::Offline(Error::Closed),
            },
        }
    }
}

/// Claims `uid` and reports the outcome: [`MailEvent::Claimed`], and for a
/// lost claim the list that shows who has it (`false`: no list needed
/// after). A claim lost while the mail is still nobody's (two desks stored
/// their keywords at the same moment and both backed off, or the mail
/// changed since it was listed) is tried again with the fresh mod-sequence
/// after a short pause that differs between desks, [`CLAIM_ROUNDS`] times
/// in all.
async fn claim(
    work: &Work,
    out: &Out,
    mailbox: &mut Mailbox,
    uid: Uid,
    modseq: u64,
) -> Result<bool, Error> {
    let agent = &work.settings.agent;
    let mut modseq = modseq;
    let mut round: u32 = 0;
    // Bounded: `round` reaches CLAIM_ROUNDS, and the last round reports.
    loop {
        round += 1;
        sync(mailbox).await?;
        if mailbox.claim(uid.0, modseq, agent).await? == Claim::Won {
            out.emit(MailEvent::Claimed { uid, won: true });
            return Ok(true);
        }
        sync(mailbox).await?;
        let summaries = mailbox.list(work.settings.list_limit).await?;
        let free = summaries.iter().find(|s| s.uid == uid.0).and_then(|s| {
            let ours = s
                .claimed_by
                .as_deref()
                .is_none_or(|who| who.eq_ignore_ascii_case(&work.me));
            ours.then_some(s.modseq)
        });
        match free {
            Some(fresh) if round < CLAIM_ROUNDS => {
                modseq = fresh;
                sleep(claim_pause(&work.me, uid, round)).await;
            }
            _ => {
                out.emit(MailEvent::Claimed { uid, won: false });
                let listed = summaries.into_iter().map(|s| listed(s, &work.me)).collect();
                out.emit(MailEvent::Listed(listed));
                return Ok(false);
            }
        }
    }
}

/// The pause before claiming again after both desks backed off: 50–549 ms,
/// from the agent, the mail, the round and the clock, so that two desks
/// rarely come back at the same moment.
fn claim_pause(me: &str, uid: Uid, round: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    // FNV-1a over all of it.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = (me.bytes())
        .chain(uid.0.to_le_bytes())
        .chain(round.to_le_bytes())
        .chain(nanos.to_le_bytes());
    for b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    Duration::from_millis(50 + h % 500)
}

/// Brings the command connection's view of the inbox up to date before it
/// is read. A server may show a session what others changed only between
/// its commands (Dovecot does): a `UID SEARCH` right after another client's
/// `APPEND` still misses the new mail and only announces it at its end. A
/// `NOOP` is the round trip that makes the server look.
async fn sync(mailbox: &mut Mailbox) -> Result<(), Error> {
    match mailbox.noop().await {
        Ok(_) => Ok(()),
        Err(e) if breaks(&e) => Err(e),
        // Refused: the read goes ahead on the view as it is.
        Err(_) => Ok(()),
    }
}

/// Lists the inbox and reports it. Only an error that broke the connection
/// comes back; others are reported as a failed `list`.
async fn list(work: &Work, out: &Out, mailbox: &mut Mailbox) -> Result<(), Error> {
    sync(mailbox).await?;
    match mailbox.list(work.settings.list_limit).await {
        Ok(summaries) => {
            let listed = summaries.into_iter().map(|s| listed(s, &work.me)).collect();
            out.emit(MailEvent::Listed(listed));
            Ok(())
        }
        Err(e) if breaks(&e) => Err(e),
        Err(e) => {
            out.emit(MailEvent::Failed {
                uid: None,
                command: "list",
                error: e.to_string(),
            });
            Ok(())
        }
    }
}

/// Carries out one command and reports its outcome; `true` when the inbox
/// should be listed again. Only an error that broke the connection comes
/// back (after the command's own `Failed`).
async fn handle(
    work: &Work,
    out: &Out,
    mailbox: &mut Mailbox,
    cmd: MailCommand,
) -> Result<bool, Error> {
    let agent = &work.settings.agent;
    let (uid, command, error, relist) = match cmd {
        MailCommand::Claim { uid, modseq } => match claim(work, out, mailbox, uid, modseq).await {
            Ok(relist) => return Ok(relist),
            Err(e) => (Some(uid), "claim", e, true),
        },
        MailCommand::Fetch(uid) => match mailbox.fetch(uid.0, work.settings.max_bytes).await {
            Ok(raw) => {
                out.emit(MailEvent::Fetched { uid, raw });
                return Ok(false);
            }
            Err(e) => (Some(uid), "fetch", e, false),
        },
        MailCommand::Release(uid) => match mailbox.release(uid.0, agent).await {
            Ok(()) => return Ok(true),
            Err(e) => (Some(uid), "release", e, true),
        },
        MailCommand::Done(uid) => match mailbox.done(uid.0).await {
            Ok(()) => {
                out.emit(MailEvent::Moved(uid));
                return Ok(true);
            }
            Err(e) => (Some(uid), "done", e, true),
        },
        MailCommand::AppendSent { row, raw } => match mailbox.append_sent(&raw).await {
            Ok(()) => {
                out.emit(MailEvent::Appended(row));
                return Ok(false);
            }
            Err(e) => (None, "append-sent", e, false),
        },
        MailCommand::Refresh => return Ok(true),
    };
    out.emit(MailEvent::Failed {
        uid,
        command,
        error: command_text(&error, work.settings.max_bytes),
    });
    if breaks(&error) {
        Err(error)
    } else {
        Ok(relist)
    }
}

/// Whether the connection cannot be used after this error.
fn breaks(e: &Error) -> bool {
    matches!(
        e,
        Error::Io(_) | Error::Timeout(_) | Error::Protocol(_) | Error::Closed
    )
}

/// A command's failure in the operator's words.
fn command_text(e: &Error, max_bytes: u64) -> String {
    match e {
        Error::TooLarge(size) => format!(
            "the mail is {}, larger than the {} allowed ([desk.mail] max_mail_mb)",
            size_text(*size),
            size_text(max_bytes)
        ),
        other => other.to_string(),
    }
}

/// A size in MB with one decimal (dropped when it is 0); below 1 MB in kB,
/// below 1 kB in bytes.
fn size_text(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    if bytes < MB {
        return format!("{} kB", bytes.div_ceil(1024));
    }
    let tenths = bytes.saturating_mul(10).saturating_add(MB / 2) / MB;
    if tenths.is_multiple_of(10) {
        format!("{} MB", tenths / 10)
    } else {
        format!("{}.{} MB", tenths / 10, tenths % 10)
    }
}

/// Why the mailbox cannot be reached, in words the operator can act on.
fn offline_text(e: &Error, account: &Account) -> String {
    let place = format!("mail server {}:{}", account.host, account.port);
    match e {
        Error::Tls(why) if why.contains("not trusted") => format!(
            "{place}: the server's certificate is not trusted ({why}); \
             [desk.mail] ca_file names the CA that signed it"
        ),
        Error::Login(why) if account.password.is_empty() => format!(
            "{place}: login refused for {}: no password is stored in the keyring as {} ({why})",
            account.user,
            keyring_entry(account)
        ),
        Error::Login(why) => format!(
            "{place}: login refused for {}: wrong user name or password ({why})",
            account.user
        ),
        other => format!("{place}: {other}"),
    }
}

/// A listed mail as the desk sees it.
fn listed(s: Summary, me: &str) -> Listed {
    let claimed_by = match s.claimed_by {
        None => ClaimedBy::Nobody,
        Some(who) if who.eq_ignore_ascii_case(me) => ClaimedBy::Me,
        Some(who) => ClaimedBy::Other(who),
    };
    Listed {
        uid: Uid(s.uid),
        modseq: s.modseq,
        from: s.from,
        subject: s.subject,
        date_ms: s.date.as_deref().and_then(|d| {
            chrono::DateTime::parse_from_rfc3339(d)
                .ok()
                .map(|t| t.timestamp_millis())
        }),
        size: s.size,
        claimed_by,
        message_id: s.message_id,
        answers: s.answers,
    }
}

/// The releases the desk asked for, then the goodbye.
async fn finish(settings: &MailSettings, mailbox: Option<Mailbox>, release: Vec<Uid>) {
    let deadline = Instant::now() + RELEASE_WAIT;
    let mut mailbox = mailbox;
    if !release.is_empty() && mailbox.is_none() {
        mailbox = match timeout_at(deadline, Mailbox::connect(&settings.account)).await {
            Ok(Ok(m)) => Some(m),
            Ok(Err(e)) => {
                eprintln!(
                    "switchboard: mailbox: {} claimed mails not released: {}",
                    release.len(),
                    offline_text(&e, &settings.account)
                );
                None
            }
            Err(_) => {
                eprintln!(
                    "switchboard: mailbox: {} claimed mails not released: no connection within {RELEASE_WAIT:?}",
                    release.len()
                );
                None
            }
        };
    }
    let Some(mut mailbox) = mailbox else {
        return;
    };
    for (done, uid) in release.iter().enumerate() {
        match timeout_at(deadline, mailbox.release(uid.0, &settings.agent)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("switchboard: mailbox: mail {} not released: {e}", uid.0);
                if breaks(&e) {
                    return;
                }
            }
            Err(_) => {
                // Cut short mid-command: the connection is out of step,
                // and the time is up.
                eprintln!(
                    "switchboard: mailbox: {} claimed mails not released within {RELEASE_WAIT:?}",
                    release.len() - done
                );
                return;
            }
        }
    }
    // Best effort: the socket closes with the mailbox either way.
    let _ = timeout(LOGOUT_WAIT, mailbox.logout()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> MailSection {
        MailSection {
            host: " imap.example.ee ".into(),
            port: None,
            security: None,
            user: "tugi@example.ee".into(),
            ca_file: None,
            inbox: None,
            done: Some(" ".into()),
            sent: Some("Saadetud".into()),
            address: "tugi@example.ee".into(),
            name: None,
            release_after_minutes: None,
            list_limit: None,
            max_mail_mb: None,
            forward_to: None,
            templates: None,
        }
    }

    #[test]
    fn the_section_gives_ports_folders_and_limits() {
        let s = settings_from(&section(), "anna").unwrap();
        assert_eq!(s.account.host, "imap.example.ee");
        assert_eq!((s.account.security, s.account.port), (Security::Tls, 993));
        let folders = (&*s.account.inbox, &*s.account.done, &*s.account.sent);
        assert_eq!(folders, ("INBOX", "Done", "Saadetud"));
        assert_eq!((s.list_limit, s.max_bytes), (5000, 40 * MB));
        assert_eq!(
            keyring_entry(&s.account),
            "imap:tugi@example.ee@imap.example.ee"
        );
        for (word, security, port) in [
            ("starttls", Security::StartTls, 143),
            ("plain", Security::Plain, 143),
        ] {
            let s = settings_from(
                &MailSection {
                    security: Some(word.into()),
                    ..section()
                },
                "anna",
            )
            .unwrap();
            assert_eq!((s.account.security, s.account.port), (security, port));
        }
        let bad = MailSection {
            security: Some("ssl".into()),
            ..section()
        };
        assert_eq!(
            settings_from(&bad, "anna").unwrap_err(),
            "[desk.mail] security \"ssl\": use tls, starttls or plain"
        );
        assert!(settings_from(&section(), " ").is_err(), "no agent name");
        let zero = MailSection {
            list_limit: Some(0),
            ..section()
        };
        assert!(settings_from(&zero, "anna").is_err());
    }

    #[test]
    fn a_summary_becomes_a_listed_mail_with_its_date_and_claim() {
        let summary = |claimed_by: Option<&str>| Summary {
            uid: 7,
            modseq: 42,
            from: "Jüri Õunapuu <juri@example.test>".into(),
            subject: "Tellimus".into(),
            date: Some("2023-11-13T10:00:00+02:00".into()),
            size: 900,
            claimed_by: claimed_by.map(str::to_owned),
            seen: false,
            message_id: Some("seed@example.test".into()),
            answers: vec!["a@b".into()],
        };
        let l = listed(summary(None), "anna");
        assert_eq!(l.uid, Uid(7));
        assert_eq!(l.date_ms, Some(1_699_862_400_000));
        assert_eq!(l.claimed_by, ClaimedBy::Nobody);
        assert_eq!(
            listed(summary(Some("Anna")), "anna").claimed_by,
            ClaimedBy::Me
        );
        assert_eq!(
            listed(summary(Some("boris")), "anna").claimed_by,
            ClaimedBy::Other("boris".into())
        );
        let undated = Summary {
            date: Some("13 Nov 2023".into()),
            ..summary(None)
        };
        assert_eq!(listed(undated, "anna").date_ms, None);
    }

    #[test]
    fn sizes_and_waits_read_well() {
        assert_eq!(size_text(25 * MB), "25 MB");
        assert_eq!(size_text(31 * MB + MB / 5), "31.2 MB");
        assert_eq!(size_text(100), "100 bytes");
        assert_eq!(size_text(1025), "2 kB");
        let waits: Vec<u64> = (0..9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
        let e = command_text(&Error::TooLarge(31 * MB + MB / 5), 25 * MB);
        assert!(e.contains("31.2 MB") && e.contains("25 MB"), "{e}");
    }
}
