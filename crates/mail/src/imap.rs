//! One shared IMAP mailbox worked by several operators.
//!
//! ```text
//!  connect ─▶ TCP (10 s) ─▶ TLS / STARTTLS / loopback plain ─▶ LOGIN ─▶ ENABLE CONDSTORE ─▶ SELECT inbox
//!  list    ─▶ UID SEARCH ALL ─▶ UID FETCH (FLAGS MODSEQ RFC822.SIZE From/Subject/Date) in batches
//!  claim   ─▶ UID STORE uid (UNCHANGEDSINCE modseq) +FLAGS ($Claimed_<agent>) ─▶ Won | Lost
//!  done    ─▶ UID MOVE uid Done          append_sent ─▶ APPEND Sent (\Seen)
//!  wait_for_new ─▶ IDLE (or NOOP polling) until something changes or the time is up
//! ```
//!
//! Every network step is bounded: connecting (resolution, TCP, TLS and the
//! greeting) by [`CONNECT_TIMEOUT`], every command by [`COMMAND_TIMEOUT`].
//! A timed-out or broken connection is not reused: later calls return
//! [`Error::Closed`] and the desk connects again.
//!
//! A claim is a keyword `$Claimed_<agent>` stored with `UNCHANGEDSINCE`
//! (RFC 7162): of two desks that listed the same mail, only the first store
//! succeeds. Dovecot answers the loser `OK [MODIFIED uid]` without a `FETCH`,
//! so the claim is won only when the server's `FETCH` for our UID carries our
//! keyword and the answer does not name the UID as modified.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::imap_proto::{
    AttributeValue, Capability, MailboxDatum, Outcome, Response, ResponseCode, Status,
};
use async_imap::{Client, Session};
use mail_parser::MessageParser;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

/// Bound on reaching the server: name resolution, TCP, TLS and the greeting.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on each command, from sending it to its tagged answer.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the (best-effort) `LOGOUT`.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// UIDs per `UID FETCH` when listing.
const BATCH: usize = 250;
/// How often [`Mailbox::wait_for_new`] sends `NOOP` when the server has no IDLE.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Longest line read by hand before the IMAP session starts (greeting, STARTTLS).
const MAX_LINE: usize = 8 * 1024;
/// Lines read by hand while waiting for one tagged answer before giving up.
const MAX_LINES: usize = 64;
/// The prefix of a claim keyword; the sanitized agent name follows.
pub const CLAIM_PREFIX: &str = "$Claimed_";
/// Longest agent name kept in a claim keyword (characters after the prefix).
pub const MAX_AGENT_LEN: usize = 40;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS (port 993): the certificate is verified against the
    /// system roots plus [`Account::ca_file`].
    Tls,
    /// Plain TCP upgraded with `STARTTLS` (port 143), verified the same way;
    /// refused with [`Error::StartTlsNotOffered`] if the server does not offer it.
    StartTls,
    /// No TLS at all: only to a loopback host, else [`Error::PlainNotLoopback`].
    Plain,
}

/// Where the shared mailbox is and which folders it uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Server name or IP address (certificates are checked against it).
    pub host: String,
    /// TCP port (993 for [`Security::Tls`], 143 otherwise, usually).
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// Login name.
    pub user: String,
    /// Login password (never shown by `Debug`).
    pub password: String,
    /// Extra CA certificates (PEM) trusted besides the system roots.
    pub ca_file: Option<PathBuf>,
    /// The folder mails arrive in, usually `INBOX`.
    pub inbox: String,
    /// The folder answered mails are moved to, e.g. `Done` (created if missing).
    pub done: String,
    /// The folder sent replies are appended to, e.g. `Sent` (created if missing).
    pub sent: String,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &"…")
            .field("ca_file", &self.ca_file)
            .field("inbox", &self.inbox)
            .field("done", &self.done)
            .field("sent", &self.sent)
            .finish()
    }
}

/// What went wrong, and whose fault it was.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The server could not be reached (name, TCP connect) or refused us in
    /// its greeting.
    Connect(String),
    /// TLS could not be set up: an untrusted certificate ("certificate not
    /// trusted …"), a failed handshake, or an unreadable CA file.
    Tls(String),
    /// [`Security::StartTls`] was asked for and the server does not offer it.
    StartTlsNotOffered,
    /// The server rejected the user name or password.
    Login(String),
    /// [`Security::Plain`] to a host that is not a loopback address; nothing
    /// was sent.
    PlainNotLoopback,
    /// The server lacks an extension this module needs (e.g. `CONDSTORE`).
    Unsupported(&'static str),
    /// The server refused a command (`NO` or `BAD`) with this text.
    Refused {
        /// Which command.
        command: &'static str,
        /// The server's text.
        reason: String,
    },
    /// The server's answer could not be understood or was not what the
    /// protocol allows here.
    Protocol(String),
    /// The connection broke (reset, closed by the server).
    Io(String),
    /// The step named took longer than its bound ([`CONNECT_TIMEOUT`] or
    /// [`COMMAND_TIMEOUT`]); the connection is not used again.
    Timeout(&'static str),
    /// The mail is larger than the caller's limit (its size in bytes); it
    /// was not downloaded.
    TooLarge(u64),
    /// No mail with this UID is in the inbox (any more).
    NotFound(u32),
    /// Our input cannot be sent: a folder name or agent name that is empty
    /// or has characters IMAP cannot carry here.
    Invalid(String),
    /// An earlier timeout or broken connection left this one unusable;
    /// connect again.
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "cannot reach the mail server: {e}"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::StartTlsNotOffered => write!(f, "the mail server does not offer STARTTLS"),
            Error::Login(e) => write!(f, "login refused: {e}"),
            Error::PlainNotLoopback => write!(
                f,
                "unencrypted IMAP is only allowed to a loopback address; use TLS or STARTTLS"
            ),
            Error::Unsupported(what) => write!(f, "the mail server does not support {what}"),
            Error::Refused { command, reason } => {
                write!(f, "the mail server refused {command}: {reason}")
            }
            Error::Protocol(e) => write!(f, "unexpected answer from the mail server: {e}"),
            Error::Io(e) => write!(f, "connection to the mail server lost: {e}"),
            Error::Timeout(what) => write!(f, "the mail server did not answer in time ({what})"),
            Error::TooLarge(size) => write!(f, "the mail is too large ({size} bytes)"),
            Error::NotFound(uid) => write!(f, "mail {uid} is no longer in the mailbox"),
            Error::Invalid(e) => write!(f, "invalid input: {e}"),
            Error::Closed => write!(f, "the mail connection failed earlier; connect again"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Whether the connection cannot be trusted to be in step any more.
    fn breaks_connection(&self) -> bool {
        matches!(self, Error::Protocol(_) | Error::Io(_) | Error::Timeout(_))
    }
}

/// One mail of the inbox as the queue shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The mail's UID in the inbox.
    pub uid: u32,
    /// Its mod-sequence when listed: pass it to [`Mailbox::claim`].
    pub modseq: u64,
    /// The first `From` address, `Name <addr>` (decoded).
    pub from: String,
    /// The subject (RFC 2047 decoded), empty if none.
    pub subject: String,
    /// The `Date` header as RFC 3339, if it could be read.
    pub date: Option<String>,
    /// Size in bytes (RFC822.SIZE).
    pub size: u32,
    /// The (sanitized) agent whose claim keyword the mail carries.
    pub claimed_by: Option<String>,
    /// Whether the mail has `\Seen`.
    pub seen: bool,
    /// Its Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The ids it answers (In-Reply-To, then References), without angle
    /// brackets: how a customer's answer finds the conversation it belongs to.
    pub answers: Vec<String>,
}

/// The outcome of [`Mailbox::claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The mail is ours.
    Won,
    /// Someone else claimed it, or it changed since the `modseq` given: drop
    /// it from the list (a fresh list shows who has it).
    Lost,
}

/// The byte stream under the IMAP session.
#[derive(Debug)]
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Folder names as sent: validated and quoted.
#[derive(Debug)]
struct Folders {
    inbox: String,
    done: String,
    sent: String,
}

/// What the server offers beyond the base protocol (post-login).
#[derive(Debug, Default)]
struct Caps {
    idle: bool,
    r#move: bool,
    uidplus: bool,
}

/// Called with each untagged answer of a command, as it arrives (the
/// parsed answers borrow the connection's buffer and cannot be kept).
type OnUntagged<'f> = &'f mut (dyn FnMut(&Response<'_>) + Send);

/// A logged-in connection to the shared mailbox with the inbox selected.
#[derive(Debug)]
pub struct Mailbox {
    session: Session<Conn>,
    folders: Folders,
    caps: Caps,
    /// The inbox's message count as last told by the server.
    exists: u32,
    /// New mail was announced during some command since the last list or wait.
    changed: bool,
    /// A timeout or broken stream: nothing more is sent.
    broken: bool,
}

impl Mailbox {
    /// Connects, logs in, enables CONDSTORE, creates the Done and Sent
    /// folders if missing and selects the inbox.
    pub async fn connect(account: &Account) -> Result<Mailbox, Error> {
        let host = bare_host(&account.host);
        if account.security == Security::Plain && !loopback_name(host) {
            return Err(Error::PlainNotLoopback);
        }
        let folders = Folders {
            inbox: quote_folder(&account.inbox)?,
            done: quote_folder(&account.done)?,
            sent: quote_folder(&account.sent)?,
        };
        let tls = match account.security {
            Security::Plain => None,
            Security::Tls | Security::StartTls => Some(tls_connector(account.ca_file.as_deref())?),
        };
        let conn = timeout(CONNECT_TIMEOUT, open(account, host, tls))
            .await
            .map_err(|_| Error::Timeout("connect"))??;
        let client = Client::new(conn);
        let session = match timeout(
            COMMAND_TIMEOUT,
            client.login(&account.user, &account.password),
        )
        .await
        {
            Err(_) => return Err(Error::Timeout("login")),
            Ok(Ok(s)) => s,
            Ok(Err((e, _))) => {
                return Err(match e {
                    async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m) => {
                        Error::Login(clean(&m))
                    }
                    async_imap::error::Error::Validate(v) => {
                        Error::Invalid(format!("user name or password: {v}"))
                    }
                    other => Error::Io(other.to_string()),
                });
            }
        };
        let mut mailbox = Mailbox {
            session,
            folders,
            caps: Caps::default(),
            exists: 0,
            changed: false,
            broken: false,
        };
        mailbox.setup().await?;
        Ok(mailbox)
    }

    async fn setup(&mut self) -> Result<(), Error> {
        let mut caps = HashSet::new();
        self.run("CAPABILITY", "CAPABILITY", &mut |r| {
            if let Response::Capabilities(list) = r {
                for c in list {
                    caps.insert(match c {
                        Capability::Imap4rev1 => "IMAP4REV1".to_owned(),
                        Capability::Auth(a) => format!("AUTH={}", a.to_uppercase()),
                        Capability::Atom(a) => a.to_uppercase(),
                    });
                }
            }
        })
        .await?;
        if !caps.contains("CONDSTORE") {
            return Err(Error::Unsupported("CONDSTORE (RFC 7162)"));
        }
        self.caps = Caps {
            idle: caps.contains("IDLE"),
            r#move: caps.contains("MOVE"),
            uidplus: caps.contains("UIDPLUS"),
        };
        if caps.contains("ENABLE") {
            self.run("ENABLE", "ENABLE CONDSTORE", &mut |_| {}).await?;
        }
        let done = self.folders.done.clone();
        let sent = self.folders.sent.clone();
        self.ensure_folder(&done).await?;
        self.ensure_folder(&sent).await?;
        let inbox = self.folders.inbox.clone();
        let mut modseq = false;
        self.run("SELECT", &format!("SELECT {inbox} (CONDSTORE)"), &mut |r| {
            modseq |= matches!(
                r,
                Response::Data {
                    outcome: Outcome {
                        code: Some(ResponseCode::HighestModSeq(_)),
                        ..
                    },
                    ..
                }
            );
        })
        .await?;
        if !modseq {
            return Err(Error::Unsupported(
                "mod-sequences on the inbox (no HIGHESTMODSEQ)",
            ));
        }
        self.changed = false;
        Ok(())
    }

    async fn ensure_folder(&mut self, quoted: &str) -> Result<(), Error> {
        let mut found = false;
        self.run("LIST", &format!("LIST \"\" {quoted}"), &mut |r| {
            found |= matches!(r, Response::MailboxData(MailboxDatum::List(_)));
        })
        .await?;
        if found {
            return Ok(());
        }
        match self
            .run("CREATE", &format!("CREATE {quoted}"), &mut |_| {})
            .await
        {
            Ok(_) => Ok(()),
            // Another session (a colleague's desk, or this desk's other
            // connection) created it between our LIST and CREATE
            // (`[ALREADYEXISTS]`): there it is.
            Err(Error::Refused { .. }) if self.folder_exists(quoted).await? => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn folder_exists(&mut self, quoted: &str) -> Result<bool, Error> {
        let mut found = false;
        self.run("LIST", &format!("LIST \"\" {quoted}"), &mut |r| {
            found |= matches!(r, Response::MailboxData(MailboxDatum::List(_)));
        })
        .await?;
        Ok(found)
    }

    /// The newest `limit` mails of the inbox, newest (highest UID) first.
    pub async fn list(&mut self, limit: usize) -> Result<Vec<Summary>, Error> {
        self.changed = false;
        let mut uids: Vec<u32> = Vec::new();
        self.run("UID SEARCH", "UID SEARCH ALL", &mut |r| {
            if let Response::MailboxData(MailboxDatum::Search(v)) = r {
                uids.extend_from_slice(v);
            }
        })
        .await?;
        uids.sort_unstable_by(|a, b| b.cmp(a));
        uids.dedup();
        uids.truncate(limit);
        let mut found = BTreeMap::new();
        for batch in uids.chunks(BATCH) {
            let set = uid_set(batch);
            let wanted: HashSet<u32> = batch.iter().copied().collect();
            self.run(
                "UID FETCH",
                &format!(
                    "UID FETCH {set} (UID FLAGS MODSEQ RFC822.SIZE \
                     BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES)])"
                ),
                &mut |r| {
                    if let Response::Fetch(_, attrs) = r
                        && let Some(s) = summary(attrs)
                        && wanted.contains(&s.uid)
                    {
                        found.insert(s.uid, s);
                    }
                },
            )
            .await?;
        }
        Ok(found.into_values().rev().collect())
    }

    /// The whole mail (`BODY.PEEK[]`, so it stays unseen). A mail larger than
    /// `max_bytes` is [`Error::TooLarge`] and is not downloaded.
    pub async fn fetch(&mut self, uid: u32, max_bytes: u64) -> Result<Vec<u8>, Error> {
        let mut size = None;
        self.run(
            "UID FETCH",
            &format!("UID FETCH {uid} (UID RFC822.SIZE)"),
            &mut |r| {
                if let Some(attrs) = attrs_for(r, uid) {
                    size = attrs.iter().find_map(|a| match a {
                        AttributeValue::Rfc822Size(s) => Some(*s),
                        _ => None,
                    });
                }
            },
        )
        .await?;
        let size = size.ok_or(Error::NotFound(uid))?;
        if u64::from(size) > max_bytes {
            return Err(Error::TooLarge(u64::from(size)));
        }
        // A partial fetch one byte past the limit: a server whose size was
        // wrong cannot make us download more than that.
        let window = max_bytes.saturating_add(1).min(u64::from(u32::MAX));
        let mut body = None;
        self.run(
            "UID FETCH",
            &format!("UID FETCH {uid} (UID BODY.PEEK[]<0.{window}>)"),
            &mut |r| {
                if let Some(attrs) = attrs_for(r, uid) {
                    body = attrs.iter().find_map(|a| match a {
                        AttributeValue::BodySection { data, .. } => {
                            Some(data.as_deref().unwrap_or_default().to_vec())
                        }
                        _ => None,
                    });
                }
            },
        )
        .await?;
        let body = body.ok_or(Error::NotFound(uid))?;
        let len = body.len() as u64;
        if len > max_bytes {
            return Err(Error::TooLarge(len));
        }
        Ok(body)
    }

    /// The flags of one mail, `None` if it is not in the inbox.
    async fn flags(&mut self, uid: u32) -> Result<Option<Vec<String>>, Error> {
        let mut flags = None;
        self.run(
            "UID FETCH",
            &format!("UID FETCH {uid} (UID FLAGS MODSEQ)"),
            &mut |r| {
                if let Some(attrs) = attrs_for(r, uid) {
                    flags = Some(flags_of(attrs));
                }
            },
        )
        .await?;
        Ok(flags)
    }

    /// Claims the mail for `agent` unless it changed since `modseq` (from
    /// [`Mailbox::list`]) or carries another agent's claim.
    pub async fn claim(&mut self, uid: u32, modseq: u64, agent: &str) -> Result<Claim, Error> {
        let keyword = claim_keyword(agent)?;
        let flags = self.flags(uid).await?.ok_or(Error::NotFound(uid))?;
        if flags.iter().any(|f| f.eq_ignore_ascii_case(&keyword)) {
            return Ok(Claim::Won);
        }
        if flags.iter().any(|f| claim_agent(f).is_some()) {
            return Ok(Claim::Lost);
        }
        let mut stored: Option<Vec<String>> = None;
        let info = self
            .run(
                "UID STORE",
                &format!("UID STORE {uid} (UNCHANGEDSINCE {modseq}) +FLAGS ({keyword})"),
                &mut |r| {
                    if let Some(attrs) = attrs_for(r, uid) {
                        // The last FETCH for the UID is the state after our store.
                        stored = Some(flags_of(attrs));
                    }
                },
            )
            .await?;
        if modified(&info).contains(&uid) {
            return Ok(Claim::Lost);
        }
        // The FETCH for our UID is the proof; an unsolicited one about
        // someone else's change would not carry our keyword.
        let Some(flags) = stored else {
            return Ok(Claim::Lost);
        };
        if !flags.iter().any(|f| f.eq_ignore_ascii_case(&keyword)) {
            return Ok(Claim::Lost);
        }
        let other = flags
            .iter()
            .any(|f| claim_agent(f).is_some() && !f.eq_ignore_ascii_case(&keyword));
        if other {
            // Another desk's claim got in between our check and our store
            // (it listed after us): theirs stands, ours goes.
            self.release(uid, agent).await?;
            return Ok(Claim::Lost);
        }
        Ok(Claim::Won)
    }

    /// Removes `agent`'s claim keyword (the mail goes back to the queue).
    pub async fn release(&mut self, uid: u32, agent: &str) -> Result<(), Error> {
        let keyword = claim_keyword(agent)?;
        self.run(
            "UID STORE",
            &format!("UID STORE {uid} -FLAGS.SILENT ({keyword})"),
            &mut |_| {},
        )
        .await?;
        Ok(())
    }

    /// Moves the mail to the Done folder (`UID MOVE`, or COPY + EXPUNGE of
    /// that UID where the server has no MOVE but UIDPLUS).
    pub async fn done(&mut self, uid: u32) -> Result<(), Error> {
        let done = self.folders.done.clone();
        if self.caps.r#move {
            let mut expunged = false;
            self.run("UID MOVE", &format!("UID MOVE {uid} {done}"), &mut |r| {
                expunged |= matches!(r, Response::Expunge(_) | Response::Vanished { .. });
            })
            .await?;
            if !expunged {
                return Err(Error::NotFound(uid));
            }
            return Ok(());
        }
        if !self.caps.uidplus {
            return Err(Error::Unsupported("MOVE or UIDPLUS"));
        }
        if self.flags(uid).await?.is_none() {
            return Err(Error::NotFound(uid));
        }
        self.run("UID COPY", &format!("UID COPY {uid} {done}"), &mut |_| {})
            .await?;
        self.run(
            "UID STORE",
            &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            &mut |_| {},
        )
        .await?;
        self.run("UID EXPUNGE", &format!("UID EXPUNGE {uid}"), &mut |_| {})
            .await?;
        Ok(())
    }

    /// Appends a sent reply (raw RFC 5322) to the Sent folder, marked `\Seen`.
    pub async fn append_sent(&mut self, raw: &[u8]) -> Result<(), Error> {
        let sent = self.folders.sent.clone();
        let len = raw.len();
        self.exchange(
            "APPEND",
            &format!("APPEND {sent} (\\Seen) {{{len}}}"),
            Some(raw),
            &mut |_| {},
        )
        .await?;
        Ok(())
    }

    /// Waits until something changes in the inbox (a new mail, a flag, an
    /// expunge) or `max` passes; `true` when something changed. Uses IDLE,
    /// or polls with NOOP where the server has none. New mail announced
    /// during an earlier command (since the last [`Mailbox::list`]) returns
    /// `true` at once.
    pub async fn wait_for_new(&mut self, max: Duration) -> Result<bool, Error> {
        if self.broken {
            return Err(Error::Closed);
        }
        if std::mem::take(&mut self.changed) {
            return Ok(true);
        }
        let result = if self.caps.idle {
            self.idle(max).await
        } else {
            self.poll_noop(max).await
        };
        if let Err(e) = &result
            && e.breaks_connection()
        {
            self.broken = true;
        }
        self.changed = false;
        result
    }

    async fn idle(&mut self, max: Duration) -> Result<bool, Error> {
        let deadline = Instant::now() + max;
        let mut changed = false;
        let tag = timeout(COMMAND_TIMEOUT, async {
            let tag = self.session.run_command("IDLE").await.map_err(imap_io)?;
            loop {
                let resp = answer(self.session.read_response().await)?;
                match resp.parsed() {
                    Response::Continue { .. } => return Ok(tag),
                    Response::Done {
                        tag: t, outcome, ..
                    } if t.0 == tag.0 => {
                        return Err(Error::Refused {
                            command: "IDLE",
                            reason: outcome_text(outcome),
                        });
                    }
                    other => changed |= self.note(other) | is_change(other),
                }
            }
        })
        .await
        .map_err(|_| Error::Timeout("IDLE"))??;
        let mut ended = false;
        while !changed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // Cancelling a read loses nothing: the stream keeps what it has
            // buffered for the next one.
            let Ok(next) = timeout(left, self.session.read_response()).await else {
                break;
            };
            let resp = answer(next)?;
            match resp.parsed() {
                Response::Done { tag: t, .. } if t.0 == tag.0 => {
                    // The server ended the IDLE itself.
                    ended = true;
                    break;
                }
                Response::Data {
                    status: Status::Bye,
                    outcome,
                } => {
                    return Err(Error::Io(format!(
                        "the server said goodbye: {}",
                        outcome_text(outcome)
                    )));
                }
                other => changed |= self.note(other) | is_change(other),
            }
        }
        if !ended {
            timeout(COMMAND_TIMEOUT, async {
                self.session
                    .run_command_untagged("DONE")
                    .await
                    .map_err(imap_io)?;
                loop {
                    let resp = answer(self.session.read_response().await)?;
                    match resp.parsed() {
                        Response::Done { tag: t, .. } if t.0 == tag.0 => return Ok(()),
                        other => changed |= self.note(other) | is_change(other),
                    }
                }
            })
            .await
            .map_err(|_| Error::Timeout("IDLE DONE"))??;
        }
        Ok(changed)
    }

    /// One `NOOP`: the server brings this session's view of the inbox up
    /// to date (Dovecot shows a session what others changed only between
    /// its commands) and announces what changed; `true` when something did.
    pub async fn noop(&mut self) -> Result<bool, Error> {
        if self.broken {
            return Err(Error::Closed);
        }
        let mut changed = false;
        let result = self
            .run("NOOP", "NOOP", &mut |r| changed |= is_change(r))
            .await;
        if let Err(e) = &result
            && e.breaks_connection()
        {
            self.broken = true;
        }
        result?;
        Ok(changed || std::mem::take(&mut self.changed))
    }

    async fn poll_noop(&mut self, max: Duration) -> Result<bool, Error> {
        let deadline = Instant::now() + max;
        loop {
            let mut changed = false;
            self.run("NOOP", "NOOP", &mut |r| changed |= is_change(r))
                .await?;
            if changed || self.changed {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            tokio::time::sleep(left.min(POLL_INTERVAL)).await;
        }
    }

    /// Says goodbye (best effort, bounded) and closes the connection.
    pub async fn logout(mut self) {
        if !self.broken {
            // Nothing to do if the server does not answer: the socket closes
            // when `self` is dropped either way.
            let _ = timeout(
                LOGOUT_TIMEOUT,
                self.exchange("LOGOUT", "LOGOUT", None, &mut |_| {}),
            )
            .await;
        }
    }

    /// Runs one command (bounded by [`COMMAND_TIMEOUT`]); returns the text
    /// of its tagged `OK`.
    async fn run(
        &mut self,
        what: &'static str,
        command: &str,
        on: OnUntagged<'_>,
    ) -> Result<String, Error> {
        self.exchange(what, command, None, on).await
    }

    /// Runs one command, sending `literal` when the server asks for it.
    async fn exchange(
        &mut self,
        what: &'static str,
        command: &str,
        literal: Option<&[u8]>,
        on: OnUntagged<'_>,
    ) -> Result<String, Error> {
        if self.broken {
            return Err(Error::Closed);
        }
        let result = match timeout(
            COMMAND_TIMEOUT,
            self.exchange_unbounded(what, command, literal, on),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout(what)),
        };
        if let Err(e) = &result
            && e.breaks_connection()
        {
            self.broken = true;
        }
        result
    }

    async fn exchange_unbounded(
        &mut self,
        what: &'static str,
        command: &str,
        mut literal: Option<&[u8]>,
        on: OnUntagged<'_>,
    ) -> Result<String, Error> {
        let tag = self.session.run_command(command).await.map_err(imap_io)?;
        loop {
            let resp = answer(self.session.read_response().await)?;
            match resp.parsed() {
                Response::Done {
                    tag: t,
                    status,
                    outcome,
                } if t.0 == tag.0 => {
                    let info = outcome_text(outcome);
                    return match status {
                        Status::Ok => Ok(info),
                        Status::No | Status::Bad => Err(Error::Refused {
                            command: what,
                            reason: info,
                        }),
                        other => Err(Error::Protocol(format!(
                            "{what} answered with {other:?}: {info}"
                        ))),
                    };
                }
                Response::Continue { .. } => {
                    let Some(bytes) = literal.take() else {
                        return Err(Error::Protocol(format!(
                            "{what}: a continuation request nobody asked for"
                        )));
                    };
                    let stream = self.session.get_mut();
                    stream.write_all(bytes).await.map_err(io_err)?;
                    stream.write_all(b"\r\n").await.map_err(io_err)?;
                    stream.flush().await.map_err(io_err)?;
                }
                other => {
                    self.note(other);
                    on(other);
                }
            }
        }
    }

    /// Keeps the message count; `true` if it announced new mail.
    fn note(&mut self, resp: &Response<'_>) -> bool {
        match resp {
            Response::MailboxData(MailboxDatum::Exists(n)) => {
                let more = *n > self.exists;
                self.exists = *n;
                self.changed |= more;
                more
            }
            Response::Expunge(_) => {
                self.exists = self.exists.saturating_sub(1);
                false
            }
            _ => false,
        }
    }
}

/// Whether an untagged response during IDLE or NOOP reports a change.
fn is_change(resp: &Response<'_>) -> bool {
    matches!(
        resp,
        Response::MailboxData(MailboxDatum::Exists(_) | MailboxDatum::Recent(_))
            | Response::Expunge(_)
            | Response::Vanished { .. }
            | Response::Fetch(..)
    )
}

/// The next answer read from the session, or why there is none.
fn answer<T>(read: io::Result<Option<T>>) -> Result<T, Error> {
    read.map_err(|e| {
        // A parse error quotes the whole buffer: keep the start only.
        let text: String = clean(&e.to_string()).chars().take(200).collect();
        if e.kind() == io::ErrorKind::Other || e.kind() == io::ErrorKind::InvalidData {
            Error::Protocol(text)
        } else {
            Error::Io(text)
        }
    })?
    .ok_or_else(|| Error::Io("the server closed the connection".into()))
}

fn imap_io(e: async_imap::error::Error) -> Error {
    Error::Io(e.to_string())
}

fn io_err(e: io::Error) -> Error {
    Error::Io(e.to_string())
}

fn outcome_text(outcome: &Outcome<'_>) -> String {
    clean(outcome.information.as_deref().unwrap_or(""))
}

/// Untrusted server text made one safe line: control characters become spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// The attributes of `resp` if it is a FETCH for `uid`.
fn attrs_for<'a>(resp: &'a Response<'a>, uid: u32) -> Option<&'a [AttributeValue<'a>]> {
    match resp {
        Response::Fetch(_, attrs)
            if attrs
                .iter()
                .any(|a| matches!(a, AttributeValue::Uid(u) if *u == uid)) =>
        {
            Some(attrs.as_slice())
        }
        _ => None,
    }
}

fn flags_of(attrs: &[AttributeValue<'_>]) -> Vec<String> {
    attrs
        .iter()
        .filter_map(|a| match a {
            AttributeValue::Flags(f) => Some(f.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// The UIDs an `OK [MODIFIED set]` answer names (RFC 7162 §3.1.3); the
/// parser leaves that code in the text.
fn modified(info: &str) -> Vec<u32> {
    let upper = info.to_ascii_uppercase();
    let Some(start) = upper.find("[MODIFIED ") else {
        return Vec::new();
    };
    let rest = &info[start + "[MODIFIED ".len()..];
    let set = rest.split(']').next().unwrap_or("");
    let mut uids = Vec::new();
    for part in set.split(',') {
        let mut ends = part.trim().splitn(2, ':');
        let a = ends.next().and_then(|a| a.parse::<u32>().ok());
        let b = ends.next().and_then(|b| b.parse::<u32>().ok());
        match (a, b) {
            (Some(a), None) => uids.push(a),
            (Some(a), Some(b)) => {
                let (lo, hi) = (a.min(b), a.max(b));
                // A range is only ever a few UIDs here; cap it anyway.
                uids.extend((lo..=hi).take(10_000));
            }
            _ => {}
        }
    }
    uids
}

/// One inbox entry from a FETCH's attributes; `None` without a UID.
fn summary(attrs: &[AttributeValue<'_>]) -> Option<Summary> {
    let mut uid = None;
    let mut modseq = 0;
    let mut size = 0;
    let mut header: &[u8] = &[];
    for a in attrs {
        match a {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::ModSeq(m) => modseq = *m,
            AttributeValue::Rfc822Size(s) => size = *s,
            AttributeValue::BodySection {
                data: Some(data), ..
            } => header = data,
            _ => {}
        }
    }
    let flags = flags_of(attrs);
    let parsed = MessageParser::new().parse_headers(header);
    let ids = |h: mail_parser::HeaderValue<'_>| -> Vec<String> {
        match h {
            mail_parser::HeaderValue::Text(t) => vec![t.into_owned()],
            mail_parser::HeaderValue::TextList(l) => {
                l.into_iter().map(|t| t.into_owned()).collect()
            }
            _ => Vec::new(),
        }
    };
    let (message_id, answers) = match &parsed {
        Some(m) => {
            let mut answers = ids(m.in_reply_to().clone());
            for r in ids(m.references().clone()).into_iter().rev() {
                if !answers.contains(&r) {
                    answers.push(r);
                }
            }
            answers.retain(|a| !a.is_empty() && a.len() <= MAX_ID_LEN);
            answers.truncate(MAX_ANSWERS);
            (
                m.message_id()
                    .filter(|i| i.len() <= MAX_ID_LEN)
                    .map(clean_id),
                answers.iter().map(|a| clean_id(a)).collect(),
            )
        }
        None => (None, Vec::new()),
    };
    let (from, subject, date) = match &parsed {
        Some(m) => (
            m.from()
                .and_then(|a| a.first())
                .map(|a| match (a.name(), a.address()) {
                    (Some(n), Some(addr)) => format!("{n} <{addr}>"),
                    (Some(n), None) => n.to_owned(),
                    (None, Some(addr)) => addr.to_owned(),
                    (None, None) => String::new(),
                })
                .unwrap_or_default(),
            m.subject().unwrap_or_default().to_owned(),
            m.date().map(|d| d.to_rfc3339()),
        ),
        None => (String::new(), String::new(), None),
    };
    Some(Summary {
        uid: uid?,
        modseq,
        from: clean(&from),
        subject: clean(&subject),
        date,
        size,
        claimed_by: flags.iter().find_map(|f| claim_agent(f)),
        seen: flags.iter().any(|f| f.eq_ignore_ascii_case("\\Seen")),
        message_id,
        answers,
    })
}

/// Message ids longer than this are not ids anyone will match.
const MAX_ID_LEN: usize = 998;
/// The answered ids kept per mail (the newest of a long References chain).
const MAX_ANSWERS: usize = 20;

/// An id as one printable line.
fn clean_id(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect()
}

/// The agent of a claim keyword, if `flag` is one.
fn claim_agent(flag: &str) -> Option<String> {
    let head = flag.get(..CLAIM_PREFIX.len())?;
    head.eq_ignore_ascii_case(CLAIM_PREFIX)
        .then(|| flag[CLAIM_PREFIX.len()..].to_owned())
        .filter(|a| !a.is_empty())
}

/// `$Claimed_<agent>`, the agent reduced to `[A-Za-z0-9_-]` (others become
/// `_`) and to [`MAX_AGENT_LEN`] characters.
pub fn claim_keyword(agent: &str) -> Result<String, Error> {
    let name: String = agent
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_AGENT_LEN)
        .collect();
    if name.is_empty() {
        return Err(Error::Invalid("empty agent name".into()));
    }
    Ok(format!("{CLAIM_PREFIX}{name}"))
}

/// A compact UID set: `7,5:3` style runs of consecutive UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&start) = sorted.get(i) {
        let mut end = start;
        while sorted
            .get(i + 1)
            .is_some_and(|&n| Some(n) == end.checked_add(1))
        {
            end = sorted[i + 1];
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// A folder name as an IMAP quoted string. Non-ASCII names would need
/// modified UTF-7 and are refused.
fn quote_folder(name: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::Invalid("empty folder name".into()));
    }
    if !name.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return Err(Error::Invalid(format!(
            "folder name {name:?}: only printable ASCII is supported"
        )));
    }
    Ok(format!(
        "\"{}\"",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// The host without the brackets of an IPv6 literal.
fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Whether a host name or address is a loopback one by its spelling.
fn loopback_name(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let h = host.trim_end_matches('.').to_ascii_lowercase();
            h == "localhost" || h.ends_with(".localhost")
        }
    }
}

fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, Error> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    // Unparsable system certificates are skipped; the extra CA below is not.
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| Error::Tls(format!("CA file {}: {e}", path.display())))?;
        let certs = rustls_pemfile::certs(&mut pem.as_slice())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("CA file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(Error::Tls(format!(
                "CA file {}: no PEM certificate in it",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| Error::Tls(format!("CA file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// TCP, then TLS as asked, up to and including the server's greeting.
async fn open(account: &Account, host: &str, tls: Option<TlsConnector>) -> Result<Conn, Error> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, account.port))
        .await
        .map_err(|e| Error::Connect(format!("{host}: {e}")))?
        .filter(|a| account.security != Security::Plain || a.ip().is_loopback())
        .collect();
    if addrs.is_empty() {
        return Err(if account.security == Security::Plain {
            Error::PlainNotLoopback
        } else {
            Error::Connect(format!("{host}: no address"))
        });
    }
    let mut last = None;
    let mut tcp = None;
    for addr in &addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = Some(format!("{addr}: {e}")),
        }
    }
    let Some(mut tcp) = tcp else {
        return Err(Error::Connect(last.unwrap_or_else(|| host.to_owned())));
    };
    // Commands are small; do not let Nagle hold them back. Failing to set it
    // only costs latency.
    let _ = tcp.set_nodelay(true);
    match (account.security, tls) {
        (Security::Plain, _) => {
            let mut conn = Conn::Plain(tcp);
            greeting(&mut conn).await?;
            Ok(conn)
        }
        (Security::Tls, Some(tls)) => {
            let mut conn = Conn::Tls(Box::new(handshake(&tls, host, tcp).await?));
            greeting(&mut conn).await?;
            Ok(conn)
        }
        (Security::StartTls, Some(tls)) => {
            greeting(&mut tcp).await?;
            starttls(&mut tcp).await?;
            Ok(Conn::Tls(Box::new(handshake(&tls, host, tcp).await?)))
        }
        (_, None) => unreachable!("connect builds a TLS connector for Tls and StartTls"),
    }
}

async fn handshake(
    tls: &TlsConnector,
    host: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, Error> {
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| Error::Tls(format!("{host}: not a valid TLS server name: {e}")))?;
    tls.connect(name, tcp).await.map_err(tls_error)
}

fn tls_error(e: io::Error) -> Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            let why = match cert {
                rustls::CertificateError::UnknownIssuer => {
                    "it is not signed by a trusted CA (add the CA file?)".to_owned()
                }
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => {
                    "it is for another host name".to_owned()
                }
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => "it has expired".to_owned(),
                other => format!("{other:?}"),
            };
            Error::Tls(format!("certificate not trusted: {why}"))
        }
        Some(other) => Error::Tls(format!("handshake failed: {other}")),
        None => Error::Tls(format!("handshake failed: {e}")),
    }
}

/// One line (without CRLF) read byte by byte, so nothing after it is
/// consumed (the TLS handshake follows a STARTTLS answer).
async fn read_line<S: AsyncRead + Unpin>(stream: &mut S) -> Result<String, Error> {
    let mut line = Vec::new();
    loop {
        let b = stream.read_u8().await.map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                Error::Connect("the server closed the connection".into())
            } else {
                Error::Connect(e.to_string())
            }
        })?;
        if b == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(clean(&String::from_utf8_lossy(&line)));
        }
        line.push(b);
        if line.len() > MAX_LINE {
            return Err(Error::Protocol("a line of more than 8 KiB".into()));
        }
    }
}

async fn greeting<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(), Error> {
    let line = read_line(stream).await?;
    let upper = line.to_ascii_uppercase();
    if upper.starts_with("* OK") {
        Ok(())
    } else if upper.starts_with("* BYE") {
        Err(Error::Connect(format!("the server refused us: {line}")))
    } else if upper.starts_with("* PREAUTH") {
        Err(Error::Protocol(
            "the server logged us in before we said who we are (PREAUTH)".into(),
        ))
    } else {
        Err(Error::Protocol(format!("not an IMAP greeting: {line:.80}")))
    }
}

/// Sends `tag command` and reads lines until the tagged answer, which is
/// returned with the untagged lines before it.
async fn raw_command<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    tag: &str,
    command: &str,
) -> Result<(String, Vec<String>), Error> {
    stream
        .write_all(format!("{tag} {command}\r\n").as_bytes())
        .await
        .map_err(|e| Error::Connect(e.to_string()))?;
    stream
        .flush()
        .await
        .map_err(|e| Error::Connect(e.to_string()))?;
    let mut untagged = Vec::new();
    for _ in 0..MAX_LINES {
        let line = read_line(stream).await?;
        if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
            return Ok((rest.to_owned(), untagged));
        }
        untagged.push(line);
    }
    Err(Error::Protocol(format!("no answer to {command}")))
}

async fn starttls(tcp: &mut TcpStream) -> Result<(), Error> {
    let (status, lines) = raw_command(tcp, "s1", "CAPABILITY").await?;
    if !status.to_ascii_uppercase().starts_with("OK") {
        return Err(Error::Protocol(format!("CAPABILITY: {status}")));
    }
    let offered = lines.iter().any(|l| {
        let upper = l.to_ascii_uppercase();
        upper.starts_with("* CAPABILITY ")
            && upper.split_ascii_whitespace().any(|c| c == "STARTTLS")
    });
    if !offered {
        return Err(Error::StartTlsNotOffered);
    }
    let (status, _) = raw_command(tcp, "s2", "STARTTLS").await?;
    if !status.to_ascii_uppercase().starts_with("OK") {
        return Err(Error::Tls(format!("STARTTLS refused: {status}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_become_atoms() {
        assert_eq!(claim_keyword("A-anna").unwrap(), "$Claimed_A-anna");
        assert_eq!(claim_keyword("Jüri Õ").unwrap(), "$Claimed_J_ri__");
        assert_eq!(
            claim_keyword(&"x".repeat(100)).unwrap().len(),
            CLAIM_PREFIX.len() + MAX_AGENT_LEN
        );
        assert!(matches!(claim_keyword("  "), Err(Error::Invalid(_))));
        assert_eq!(claim_agent("$claimed_B"), Some("B".into()));
        assert_eq!(claim_agent("$Claimed_"), None);
        assert_eq!(claim_agent("\\Seen"), None);
    }

    #[test]
    fn uid_sets_and_modified_codes() {
        assert_eq!(uid_set(&[9, 3, 4, 5, 7, 8, 1]), "1,3:5,7:9");
        assert_eq!(uid_set(&[]), "");
        assert_eq!(
            modified("[MODIFIED 7,9:11] Conditional store failed"),
            [7, 9, 10, 11]
        );
        assert!(modified("Store completed").is_empty());
        assert!(modified("[MODIFIED x] junk").is_empty());
    }

    #[test]
    fn folders_and_hosts() {
        assert_eq!(quote_folder("Done").unwrap(), "\"Done\"");
        assert_eq!(quote_folder("a\"b").unwrap(), "\"a\\\"b\"");
        assert!(quote_folder("Tehtud\r\n").is_err());
        assert!(quote_folder("Käsitletud").is_err());
        assert!(loopback_name("127.0.0.1") && loopback_name("::1") && loopback_name("localhost"));
        assert!(!loopback_name("192.0.2.1") && !loopback_name("mail.example.test"));
        assert_eq!(bare_host("[::1]"), "::1");
    }
}
