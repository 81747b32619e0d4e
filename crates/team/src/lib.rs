//! The team's shared history on PostgreSQL: every desk pushes copies of its
//! interactions (calls and e-mails), its contacts' changes and its agent's
//! presence, and reads back what colleagues had with a caller while the
//! call rings; a supervisor's desk reads the team's board.
//!
//! # Offline first
//!
//! The desk ([`switchboard_desk`]) writes its own SQLite first and queues a
//! copy in its outbox; the team worker pushes the copy here with
//! [`TeamDb::push`] and retries through the outbox when the database is
//! down. So a team database that is away costs the team's view and nothing
//! else: no call waits for it, no record is lost.
//!
//! ```text
//!  desk: wrap-up saved ─▶ SQLite (the desk's own) ─▶ outbox item (payload = Interaction)
//!                                                       │
//!                         team worker ◀──────────────────┘ retries until Ok
//!                           │ TeamDb::push: INSERT … ON CONFLICT (key) DO UPDATE … WHERE newer
//!                           ▼
//!                      PostgreSQL: interactions, contacts, agent_states  ◀── other desks push too
//!                           ▲
//!  a call rings ─▶ TeamDb::earlier(number), TeamDb::contact(number) ─▶ the caller's card
//!  a supervisor ─▶ TeamDb::board(midnight) ─▶ agents, states, hands raised, today's figures
//! ```
//!
//! # The conflict rule
//!
//! A record is pushed whole, with the time its copy was made
//! (`updated_ms`). The copy with the larger `updated_ms` wins; on equal
//! times the stored one stays. So pushing is idempotent: a replay (the
//! outbox sending again after a lost answer) or an older copy arriving late
//! changes nothing and reports [`Pushed::Kept`]. The same rule holds for
//! [`TeamDb::set_presence`] and [`TeamDb::push_contact`] (a contact edited on
//! two desks keeps the later edit, whole; a deletion is a copy that wins or
//! loses the same way). Each is one statement, so two desks pushing
//! the same key at once cannot interleave.
//!
//! # Connecting
//!
//! [`Settings::url`] is a PostgreSQL URL, `postgres://user@host:port/db?sslmode=…`.
//! The password comes apart in [`Settings::password`] (the caller reads it
//! from the keyring) and overrides one in the URL. TLS is verified by
//! default: a URL without `sslmode` to a host that is not loopback means
//! `sslmode=verify-full` (certificate and host name checked against the
//! system's roots, or [`Settings::ca_file`]); to a loopback host or a unix
//! socket it means `prefer`. A `ca_file` without an `sslmode` also means
//! `verify-full` — a CA is given to be checked against. `PGSSLMODE` from the
//! environment is not consulted; the URL or this rule decides.
//!
//! [`TeamDb::connect`] first opens one connection of its own (bounded by
//! [`CONNECT_TIMEOUT`]) so that a refused connection, a TLS failure or a
//! wrong password comes back as itself, runs the migrations on it (the SQL
//! files in `crates/team/migrations`, embedded, recorded in sqlx's
//! `_sqlx_migrations` table under its advisory lock, so desks starting
//! together take turns), then hands out a pool of at most
//! [`MAX_CONNECTIONS`] that connects as needed. A connection the server
//! dropped is noticed when taken from the pool and replaced, so after the
//! server restarts the next call works again.
//!
//! Every call is bounded: connecting 5 s, migrations 10 s, a push 5 s, a
//! look-up 2 s, closing 2 s, a connection from the pool 3 s. A bound that
//! passes is [`TeamError::Timeout`]. No error message carries the password.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow, PgSslMode};
use sqlx_core::error::BoxDynError;
use sqlx_core::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use switchboard_desk::team::{AgentFigures, AgentPresence, Board, Interaction, TeamContact};

/// The most connections one desk holds to the team database.
pub const MAX_CONNECTIONS: u32 = 4;
/// How long a call waits for a connection from the pool (a new one included).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long [`TeamDb::connect`] waits for its first connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the migrations may take (another desk may hold their lock).
pub const MIGRATE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`TeamDb::push`], [`TeamDb::set_presence`] and [`TeamDb::push_contact`] may take.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`TeamDb::earlier`] may take (it runs while a call rings).
pub const EARLIER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long [`TeamDb::close`] waits for connections in use.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The most records [`TeamDb::earlier`] returns, whatever it is asked.
pub const MAX_EARLIER: i64 = 200;

/// The migrations, in order: (version, description, SQL). The checksum
/// sqlx records is that of the file's text, as `sqlx::migrate!()` and
/// `sqlx migrate run` would record it.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "interactions",
        include_str!("../migrations/0001_interactions.sql"),
    ),
    (
        2,
        "board contacts",
        include_str!("../migrations/0002_board_contacts.sql"),
    ),
];

/// The columns an interaction is read from (see [`interaction`]).
const INTERACTION_COLUMNS: &str = "key, kind, agent, number, name, direction, outcome, \
     outcome_detail, started_ms, answered_ms, ended_ms, disposition, ticket, note, transfers, \
     script, form, updated_ms";

/// Where the team database is and how to log in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `postgres://user@host:port/db?sslmode=…` (`postgresql://` too).
    pub url: String,
    /// The password (from the keyring); overrides one in the URL.
    pub password: Option<String>,
    /// A PEM file of the CA to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("url", &redacted_url(&self.url))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// What [`TeamDb::push`] did.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The copy is stored: the key was new, or the stored copy was older.
    Stored,
    /// An equal or newer copy was there already; nothing changed.
    Kept,
}

/// Why the team database could not be used. Messages are for the operator
/// or the admin and name the database (`user@host:port/db`), never the password.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamError {
    /// The settings are wrong: a URL that does not parse, an `sslmode`
    /// unknown, a CA file that cannot be read, a database that does not exist.
    Config(String),
    /// The server cannot be reached, refused or dropped the connection.
    Connect(String),
    /// TLS failed: the server offers none though it is required, or its
    /// certificate does not verify (against the CA, or for the host name).
    Tls(String),
    /// The server refused the login (user or password).
    Auth(String),
    /// The bound of this step passed (the step named), or no connection
    /// could be had within [`ACQUIRE_TIMEOUT`] (the server down, or every
    /// connection busy).
    Timeout(&'static str),
    /// The tables could not be brought up to date.
    Migrate(String),
    /// The server refused a statement or sent a row this crate cannot read.
    Query(String),
    /// This [`TeamDb`] was closed ([`TeamDb::close`]): our misuse.
    Closed,
}

impl fmt::Display for TeamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeamError::Config(m) => write!(f, "team database settings: {m}"),
            TeamError::Connect(m) => write!(f, "cannot reach the team database: {m}"),
            TeamError::Tls(m) => write!(f, "TLS with the team database failed: {m}"),
            TeamError::Auth(m) => write!(
                f,
                "the team database refused the login: {m} (check the user in the URL and the password in the keyring)"
            ),
            TeamError::Timeout(step) => write!(
                f,
                "the team database did not answer in time while {step} \
                 (is it running and reachable?)"
            ),
            TeamError::Migrate(m) => {
                write!(f, "cannot bring the team database's tables up to date: {m}")
            }
            TeamError::Query(m) => write!(f, "the team database refused a request: {m}"),
            TeamError::Closed => write!(
                f,
                "the connection to the team database was closed by this program; connect again"
            ),
        }
    }
}

impl std::error::Error for TeamError {}

/// The team database: a pool of connections (cheap to clone, shared).
#[derive(Clone)]
pub struct TeamDb {
    pool: PgPool,
    target: String,
}

impl fmt::Debug for TeamDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamDb")
            .field("target", &self.target)
            .field("connections", &self.pool.size())
            .field("closed", &self.pool.is_closed())
            .finish()
    }
}

impl TeamDb {
    /// Connects (bounded by [`CONNECT_TIMEOUT`]), runs the migrations
    /// (bounded by [`MIGRATE_TIMEOUT`]) and returns the pool.
    pub async fn connect(s: &Settings) -> Result<TeamDb, TeamError> {
        let secrets = secrets(s);
        let options = connect_options(s)?;
        let target = describe(&options);
        let fail = |e: sqlx::Error, step| redact(classify(e, &target, step), &secrets);

        let mut first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| TeamError::Timeout("connecting"))?
            .map_err(|e| fail(e, "connecting"))?;
        let migrated = tokio::time::timeout(MIGRATE_TIMEOUT, migrate(&mut first)).await;
        // Dropping the connection on a timeout ends its session, which
        // releases the migration lock.
        let migrated = migrated.map_err(|_| TeamError::Timeout("running the migrations"))?;
        migrated.map_err(|e| redact(migrate_error(e, &target), &secrets))?;
        // A failed goodbye leaves nothing behind: the server ends the session.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, first.close()).await;

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .connect_lazy_with(options);
        Ok(TeamDb { pool, target })
    }

    /// The database this is connected to, `user@host:port/db` (no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Stores a copy of `i` unless an equal or newer copy (by `updated_ms`)
    /// is there already; bounded by [`PUSH_TIMEOUT`]. A NUL character,
    /// which PostgreSQL text cannot hold, is stored as U+FFFD.
    pub async fn push(&self, i: &Interaction) -> Result<Pushed, TeamError> {
        const STEP: &str = "pushing an interaction";
        let text = |s: &str| clean(s).into_owned();
        let opt = |s: &Option<String>| s.as_deref().map(text);
        let query = sqlx::query(
            "INSERT INTO interactions (key, kind, agent, number, name, direction, outcome, \
             outcome_detail, started_ms, answered_ms, ended_ms, disposition, ticket, note, \
             transfers, updated_ms, script, form) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18) \
             ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, agent = EXCLUDED.agent, \
             number = EXCLUDED.number, name = EXCLUDED.name, direction = EXCLUDED.direction, \
             outcome = EXCLUDED.outcome, outcome_detail = EXCLUDED.outcome_detail, \
             started_ms = EXCLUDED.started_ms, answered_ms = EXCLUDED.answered_ms, \
             ended_ms = EXCLUDED.ended_ms, disposition = EXCLUDED.disposition, \
             ticket = EXCLUDED.ticket, note = EXCLUDED.note, transfers = EXCLUDED.transfers, \
             updated_ms = EXCLUDED.updated_ms, script = EXCLUDED.script, form = EXCLUDED.form \
             WHERE interactions.updated_ms < EXCLUDED.updated_ms",
        )
        .bind(text(&i.key))
        .bind(text(&i.kind))
        .bind(text(&i.agent))
        .bind(text(&i.number))
        .bind(opt(&i.name))
        .bind(text(&i.direction))
        .bind(opt(&i.outcome))
        .bind(opt(&i.outcome_detail))
        .bind(i.started_ms)
        .bind(i.answered_ms)
        .bind(i.ended_ms)
        .bind(opt(&i.disposition))
        .bind(opt(&i.ticket))
        .bind(opt(&i.note))
        .bind(opt(&i.transfers))
        .bind(i.updated_ms)
        .bind(opt(&i.script))
        .bind(opt(&i.form));
        self.upsert(STEP, query).await
    }

    /// The team's interactions with `number`, newest first (by
    /// `started_ms`), at most `limit` (0 to [`MAX_EARLIER`]); bounded by
    /// [`EARLIER_TIMEOUT`].
    pub async fn earlier(&self, number: &str, limit: i64) -> Result<Vec<Interaction>, TeamError> {
        const STEP: &str = "looking up earlier interactions";
        let limit = limit.clamp(0, MAX_EARLIER);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE number = $1 \
             ORDER BY started_ms DESC, key DESC LIMIT $2"
        );
        let query = sqlx::query(&sql)
            .bind(clean(number).into_owned())
            .bind(limit);
        let rows = self
            .bounded(EARLIER_TIMEOUT, STEP, query.fetch_all(&self.pool))
            .await?;
        rows.iter()
            .map(interaction)
            .collect::<Result<_, _>>()
            .map_err(|e| classify(e, &self.target, STEP))
    }

    /// Records what an agent is doing, unless an equal or newer copy (by
    /// `updated_ms`) is there; bounded by [`PUSH_TIMEOUT`].
    pub async fn set_presence(&self, p: &AgentPresence) -> Result<Pushed, TeamError> {
        const STEP: &str = "recording the agent's state";
        let opt = |s: &Option<String>| s.as_deref().map(|s| clean(s).into_owned());
        let query = sqlx::query(
            "INSERT INTO agent_states (agent, state, since_ms, updated_ms, extension, reason, \
             call_number, call_name, help_since_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (agent) DO UPDATE SET state = EXCLUDED.state, \
             since_ms = EXCLUDED.since_ms, updated_ms = EXCLUDED.updated_ms, \
             extension = EXCLUDED.extension, reason = EXCLUDED.reason, \
             call_number = EXCLUDED.call_number, call_name = EXCLUDED.call_name, \
             help_since_ms = EXCLUDED.help_since_ms \
             WHERE agent_states.updated_ms < EXCLUDED.updated_ms",
        )
        .bind(clean(&p.agent).into_owned())
        .bind(clean(&p.state).into_owned())
        .bind(p.since_ms)
        .bind(p.updated_ms)
        .bind(opt(&p.extension))
        .bind(opt(&p.reason))
        .bind(opt(&p.call_number))
        .bind(opt(&p.call_name))
        .bind(p.help_since_ms);
        self.upsert(STEP, query).await
    }

    /// The supervisor's board: every agent's presence (by name) and the
    /// figures of the interactions started since `since_ms` (today's
    /// midnight), per agent; bounded by [`EARLIER_TIMEOUT`].
    pub async fn board(&self, since_ms: i64) -> Result<Board, TeamError> {
        const STEP: &str = "reading the team's board";
        let agents = sqlx::query(
            "SELECT agent, state, since_ms, updated_ms, extension, reason, call_number, \
             call_name, help_since_ms FROM agent_states ORDER BY agent",
        );
        let figures = sqlx::query(
            "SELECT agent, \
             COUNT(*) FILTER (WHERE kind = 'call' AND answered_ms IS NOT NULL) AS calls, \
             COUNT(*) FILTER (WHERE kind = 'call' AND outcome = 'missed') AS missed, \
             COALESCE(SUM(ended_ms - answered_ms) FILTER (WHERE kind = 'call' \
                 AND answered_ms IS NOT NULL AND ended_ms IS NOT NULL), 0)::BIGINT AS talk_ms, \
             COUNT(*) FILTER (WHERE kind = 'mail') AS emails \
             FROM interactions WHERE started_ms >= $1 GROUP BY agent ORDER BY agent",
        )
        .bind(since_ms);
        let (agents, figures) = self
            .bounded(EARLIER_TIMEOUT, STEP, async {
                Ok((
                    agents.fetch_all(&self.pool).await?,
                    figures.fetch_all(&self.pool).await?,
                ))
            })
            .await?;
        let read = || -> Result<Board, sqlx::Error> {
            Ok(Board {
                agents: agents.iter().map(presence).collect::<Result<_, _>>()?,
                figures: figures
                    .iter()
                    .map(|r| {
                        Ok(AgentFigures {
                            agent: r.try_get("agent")?,
                            calls: r.try_get("calls")?,
                            missed: r.try_get("missed")?,
                            talk_ms: r.try_get("talk_ms")?,
                            emails: r.try_get("emails")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()?,
            })
        };
        read().map_err(|e| classify(e, &self.target, STEP))
    }

    /// Stores a contact's change unless an equal or newer one (by
    /// `updated_ms`) is there: the rule for the same contact edited on two
    /// desks. Bounded by [`PUSH_TIMEOUT`].
    pub async fn push_contact(&self, c: &TeamContact) -> Result<Pushed, TeamError> {
        const STEP: &str = "pushing a contact";
        let opt = |s: &Option<String>| s.as_deref().map(|s| clean(s).into_owned());
        let query = sqlx::query(
            "INSERT INTO contacts (number, name, company, note, email, agent, deleted, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (number) DO UPDATE SET name = EXCLUDED.name, \
             company = EXCLUDED.company, note = EXCLUDED.note, email = EXCLUDED.email, \
             agent = EXCLUDED.agent, deleted = EXCLUDED.deleted, updated_ms = EXCLUDED.updated_ms \
             WHERE contacts.updated_ms < EXCLUDED.updated_ms",
        )
        .bind(clean(&c.contact_number).into_owned())
        .bind(clean(&c.name).into_owned())
        .bind(opt(&c.company))
        .bind(opt(&c.note))
        .bind(opt(&c.email))
        .bind(clean(&c.agent).into_owned())
        .bind(c.deleted)
        .bind(c.updated_ms);
        self.upsert(STEP, query).await
    }

    /// The team's contact for `number` (a deleted one too: the caller
    /// decides), bounded by [`EARLIER_TIMEOUT`].
    pub async fn contact(&self, number: &str) -> Result<Option<TeamContact>, TeamError> {
        const STEP: &str = "looking up a contact";
        let query = sqlx::query(
            "SELECT number, name, company, note, email, agent, deleted, updated_ms \
             FROM contacts WHERE number = $1",
        )
        .bind(clean(number.trim()).into_owned());
        let row = self
            .bounded(EARLIER_TIMEOUT, STEP, query.fetch_optional(&self.pool))
            .await?;
        row.map(|r| {
            Ok(TeamContact {
                contact_number: r.try_get("number")?,
                name: r.try_get("name")?,
                company: r.try_get("company")?,
                note: r.try_get("note")?,
                email: r.try_get("email")?,
                agent: r.try_get("agent")?,
                deleted: r.try_get("deleted")?,
                updated_ms: r.try_get("updated_ms")?,
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| classify(e, &self.target, STEP))
    }

    /// Closes the pool: waits up to [`CLOSE_TIMEOUT`] for connections in
    /// use, then leaves the rest to the server. Every clone is closed too;
    /// calls after this fail with [`TeamError::Closed`].
    pub async fn close(&self) {
        // Past the bound the pool is marked closed already and the
        // sessions end when their sockets drop; there is nothing to report.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.pool.close()).await;
    }

    /// Runs one newest-wins upsert: [`Pushed::Kept`] when it changed no row.
    async fn upsert(
        &self,
        step: &'static str,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Pushed, TeamError> {
        let done = self
            .bounded(PUSH_TIMEOUT, step, query.execute(&self.pool))
            .await?;
        Ok(if done.rows_affected() == 0 {
            Pushed::Kept
        } else {
            Pushed::Stored
        })
    }

    async fn bounded<T>(
        &self,
        bound: Duration,
        step: &'static str,
        f: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, TeamError> {
        tokio::time::timeout(bound, f)
            .await
            .map_err(|_| TeamError::Timeout(step))?
            .map_err(|e| classify(e, &self.target, step))
    }
}

/// The connect options of `s` (the sslmode rule of the crate docs applied).
fn connect_options(s: &Settings) -> Result<PgConnectOptions, TeamError> {
    let secrets = secrets(s);
    let url = s.url.trim();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(TeamError::Config(
            "the URL must look like postgres://user@host:port/database".into(),
        ));
    }
    let parsed = sqlx_core::Url::parse(url).map_err(|e| {
        redact(
            TeamError::Config(format!("the URL does not parse: {e}")),
            &secrets,
        )
    })?;
    let explicit_ssl = parsed
        .query_pairs()
        .any(|(k, _)| k == "sslmode" || k == "ssl-mode");
    let mut options = PgConnectOptions::from_str(url).map_err(|e| {
        redact(
            TeamError::Config(format!("the URL is not a PostgreSQL URL: {e}")),
            &secrets,
        )
    })?;
    if let Some(password) = &s.password {
        options = options.password(password);
    }
    if let Some(ca) = &s.ca_file {
        if let Err(e) = std::fs::read(ca) {
            return Err(TeamError::Config(format!(
                "the CA file {} cannot be read: {e}",
                ca.display()
            )));
        }
        options = options.ssl_root_cert(ca);
    }
    if !explicit_ssl {
        let loopback = options.get_socket().is_some() || is_loopback(options.get_host());
        options = options.ssl_mode(if loopback && s.ca_file.is_none() {
            PgSslMode::Prefer
        } else {
            PgSslMode::VerifyFull
        });
    }
    Ok(options.application_name("switchboard-desk"))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `user@host:port/db`, for messages.
fn describe(o: &PgConnectOptions) -> String {
    let at = match o.get_socket() {
        Some(socket) => format!("{} (unix socket)", socket.display()),
        None => format!("{}:{}", o.get_host(), o.get_port()),
    };
    format!(
        "{}@{at}/{}",
        o.get_username(),
        o.get_database().unwrap_or(o.get_username())
    )
}

/// The passwords that must never show: the one given, the URL's (as written
/// and decoded).
fn secrets(s: &Settings) -> Vec<String> {
    let mut out: Vec<String> = s.password.iter().cloned().collect();
    if let Ok(url) = sqlx_core::Url::parse(s.url.trim())
        && let Some(pw) = url.password()
    {
        out.push(pw.to_owned());
        if let Ok(decoded) = sqlx_core::percent_encoding::percent_decode_str(pw).decode_utf8() {
            out.push(decoded.into_owned());
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

fn redact(e: TeamError, secrets: &[String]) -> TeamError {
    let scrub = |m: String| {
        secrets
            .iter()
            .fold(m, |m, secret| m.replace(secret.as_str(), "***"))
    };
    match e {
        TeamError::Config(m) => TeamError::Config(scrub(m)),
        TeamError::Connect(m) => TeamError::Connect(scrub(m)),
        TeamError::Tls(m) => TeamError::Tls(scrub(m)),
        TeamError::Auth(m) => TeamError::Auth(scrub(m)),
        TeamError::Migrate(m) => TeamError::Migrate(scrub(m)),
        TeamError::Query(m) => TeamError::Query(scrub(m)),
        e @ (TeamError::Timeout(_) | TeamError::Closed) => e,
    }
}

/// The URL with its password replaced, for `Debug`.
fn redacted_url(url: &str) -> String {
    match sqlx_core::Url::parse(url.trim()) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<not a URL>".into(),
    }
}

/// Says whose fault a sqlx error is, in words, naming `target` and `step`.
fn classify(e: sqlx::Error, target: &str, step: &'static str) -> TeamError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = format!("{} at {target} (SQLSTATE {code})", db.message());
            match code.get(..2).unwrap_or("") {
                // invalid_authorization_specification, invalid_password
                "28" => TeamError::Auth(message),
                // connection_exception, too_many_connections, shutdowns, starting up
                "08" | "53" | "57" => TeamError::Connect(message),
                // invalid_catalog_name: the database in the URL does not exist
                "3D" => TeamError::Config(message),
                _ => TeamError::Query(message),
            }
        }
        // rustls reports a certificate it refuses as an I/O error of the
        // handshake: that is TLS failing, not the network.
        sqlx::Error::Io(io) if is_tls_refusal(&io) => TeamError::Tls(format!(
            "{target}: {io} (check the host name in the URL and the CA file)"
        )),
        sqlx::Error::Io(io) => TeamError::Connect(format!("{target}: {io}")),
        sqlx::Error::Tls(tls) => TeamError::Tls(format!(
            "{target}: {tls} (check sslmode in the URL and the CA file)"
        )),
        sqlx::Error::Configuration(c) => TeamError::Config(format!("{target}: {c}")),
        sqlx::Error::Protocol(p) => {
            TeamError::Connect(format!("{target} broke the PostgreSQL protocol: {p}"))
        }
        sqlx::Error::WorkerCrashed => {
            TeamError::Connect(format!("{target}: the connection's worker stopped"))
        }
        sqlx::Error::PoolTimedOut => TeamError::Timeout(step),
        sqlx::Error::PoolClosed => TeamError::Closed,
        sqlx::Error::Migrate(m) => migrate_error(*m, target),
        other => TeamError::Query(format!("{target}, {step}: {other}")),
    }
}

/// Whether an I/O error is the TLS handshake refusing the server.
fn is_tls_refusal(io: &std::io::Error) -> bool {
    let m = io.to_string().to_ascii_lowercase();
    io.kind() == std::io::ErrorKind::InvalidData
        && ["certificate", "handshake", "tls"]
            .iter()
            .any(|w| m.contains(w))
}

fn migrate_error(e: MigrateError, target: &str) -> TeamError {
    match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            match classify(e, target, "running the migrations") {
                TeamError::Query(m) => TeamError::Migrate(m),
                other => other,
            }
        }
        MigrateError::VersionMissing(v) => TeamError::Migrate(format!(
            "{target} has migration {v}, which this program does not know: \
             a newer Switchboard set it up; update this desk"
        )),
        other => TeamError::Migrate(format!("{target}: {other}")),
    }
}

/// Text as PostgreSQL can hold it (no NUL).
fn clean(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

fn interaction(r: &PgRow) -> Result<Interaction, sqlx::Error> {
    Ok(Interaction {
        key: r.try_get("key")?,
        kind: r.try_get("kind")?,
        agent: r.try_get("agent")?,
        number: r.try_get("number")?,
        name: r.try_get("name")?,
        direction: r.try_get("direction")?,
        outcome: r.try_get("outcome")?,
        outcome_detail: r.try_get("outcome_detail")?,
        started_ms: r.try_get("started_ms")?,
        answered_ms: r.try_get("answered_ms")?,
        ended_ms: r.try_get("ended_ms")?,
        disposition: r.try_get("disposition")?,
        ticket: r.try_get("ticket")?,
        note: r.try_get("note")?,
        transfers: r.try_get("transfers")?,
        script: r.try_get("script")?,
        form: r.try_get("form")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

fn presence(r: &PgRow) -> Result<AgentPresence, sqlx::Error> {
    Ok(AgentPresence {
        agent: r.try_get("agent")?,
        extension: r.try_get("extension")?,
        state: r.try_get("state")?,
        reason: r.try_get("reason")?,
        since_ms: r.try_get("since_ms")?,
        call_number: r.try_get("call_number")?,
        call_name: r.try_get("call_name")?,
        help_since_ms: r.try_get("help_since_ms")?,
        updated_ms: r.try_get("updated_ms")?,
    })
}

/// The embedded migrations, as sqlx's migrator reads them.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

async fn migrate(conn: &mut PgConnection) -> Result<(), MigrateError> {
    Migrator::new(Embedded).await?.run(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Settings {
        Settings {
            url: url.into(),
            password: None,
            ca_file: None,
        }
    }

    #[test]
    fn tls_is_verified_by_default_away_from_loopback() {
        let o = connect_options(&settings("postgres://app@db.example.test/team")).unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyFull));
        let o = connect_options(&settings("postgres://app@10.0.0.5:5433/team")).unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyFull));
    }

    #[test]
    fn loopback_prefers_tls_and_sslmode_in_the_url_stands() {
        for url in [
            "postgres://app@127.0.0.1:5432/app",
            "postgresql://app@localhost/app",
            "postgres://app@[::1]:5432/app",
        ] {
            let o = connect_options(&settings(url)).unwrap();
            assert!(matches!(o.get_ssl_mode(), PgSslMode::Prefer), "{url}");
        }
        let o = connect_options(&settings(
            "postgres://app@db.example.test/team?sslmode=require",
        ))
        .unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::Require));
        let o = connect_options(&settings(
            "postgres://app@127.0.0.1/app?sslmode=verify-full",
        ))
        .unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyFull));
    }

    #[test]
    fn a_ca_file_means_verify_full_and_must_be_readable() {
        let ca = std::env::temp_dir().join(format!("team-ca-{}.pem", std::process::id()));
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let mut s = settings("postgres://app@127.0.0.1/app");
        s.ca_file = Some(ca.clone());
        let o = connect_options(&s).unwrap();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyFull));
        let _ = std::fs::remove_file(&ca);
        let e = connect_options(&s).unwrap_err();
        assert!(
            matches!(&e, TeamError::Config(m) if m.contains("CA file")),
            "{e}"
        );
    }

    #[test]
    fn bad_urls_are_config_errors_without_the_password() {
        for url in [
            "mysql://app:hunter2-secret@db/app",
            "postgres://app:hunter2-secret@db:notaport/app",
            "postgres://app:hunter2-secret@db/app?sslmode=sometimes",
        ] {
            let e = connect_options(&settings(url)).unwrap_err();
            assert!(matches!(e, TeamError::Config(_)), "{url}: {e:?}");
            assert!(!e.to_string().contains("hunter2"), "{url}: {e}");
        }
    }

    #[test]
    fn the_password_given_overrides_the_urls_and_never_shows() {
        let mut s = settings("postgres://app:from-url-pw@db.example.test/team");
        s.password = Some("from-keyring-pw".into());
        let o = connect_options(&s).unwrap();
        assert_eq!(describe(&o), "app@db.example.test:5432/team");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("from-url-pw") && !shown.contains("from-keyring-pw"),
            "{shown}"
        );
        let e = redact(
            TeamError::Auth("echo from-keyring-pw and from-url-pw".into()),
            &secrets(&s),
        );
        assert_eq!(e, TeamError::Auth("echo *** and ***".into()));
    }

    #[test]
    fn nul_is_replaced_other_text_kept() {
        assert_eq!(clean("Jüri\0Õunapuu"), "Jüri\u{FFFD}Õunapuu");
        assert!(matches!(clean("Ирина"), Cow::Borrowed("Ирина")));
    }

    #[test]
    fn the_migrations_have_their_tables_and_indexes() {
        let (_, _, sql) = MIGRATIONS[0];
        for want in [
            "CREATE TABLE interactions",
            "key            TEXT PRIMARY KEY",
            "ON interactions (number, started_ms DESC)",
            "ON interactions (agent, started_ms DESC)",
            "CREATE TABLE agent_states",
        ] {
            assert!(sql.contains(want), "{want}");
        }
    }
}
