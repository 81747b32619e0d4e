//! A throwaway PostgreSQL 15 of `recipes/postgres.sh` for a test: its own
//! cluster in a folder of the test, on 127.0.0.1 and a port of the test,
//! role `app` with password `app-secret` and database `app` (SCRAM over
//! TCP). Stopped by PID when dropped (also when the test panics): pg_ctl
//! puts the postmaster in a session of its own, so neither the process
//! group nor the parent-death signal of [`crate::procs`] reaches it.
//! [`PgServer::stop`] and [`PgServer::restart`] take it down and bring it
//! back on the same data and port, for tests of a database that goes away.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::procs::{alive, output_ok};
use crate::{free_port, temp_dir, wait_until};

const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;

/// How long postgres gets to shut down after SIGINT (fast shutdown) before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// The longest folder whose socket `DIR/.s.PGSQL.PORT` fits in `sun_path` (108 bytes).
const MAX_DIR: usize = 108 - "/.s.PGSQL.65535".len() - 1;

/// A PostgreSQL 15 server of `postgres.sh`.
#[derive(Debug)]
pub struct PgServer {
    /// The recipe's folder: `data/` (the cluster), `postgres.log`, the socket.
    pub dir: PathBuf,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// The postmaster while it runs.
    pid: Option<u32>,
}

impl PgServer {
    /// The login role.
    pub const USER: &'static str = "app";
    /// Its password (not in [`PgServer::url`]: the program gets it apart).
    pub const PASSWORD: &'static str = "app-secret";
    /// The database.
    pub const DATABASE: &'static str = "app";

    /// Creates and starts a fresh cluster in a folder named after `tag`;
    /// fails loudly naming what is missing.
    pub fn start(tag: &str) -> PgServer {
        let script = crate::recipes_with("postgres.sh");
        let bin = pgbin();
        for program in ["initdb", "pg_ctl", "postgres"] {
            assert!(
                bin.join(program).is_file(),
                "PostgreSQL 15 is not installed ({} missing; postgres.sh runs it): \
                 scripts/install-deps.sh test installs postgresql-15",
                bin.join(program).display()
            );
        }
        let psql = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("psql").is_file()));
        assert!(
            psql,
            "`psql` is not on PATH (postgres.sh creates the role with it): \
             scripts/install-deps.sh test installs postgresql-15 (with postgresql-client-15)"
        );
        let dir = pg_dir(tag);
        let port = free_port();
        let mut cmd = Command::new("sh");
        cmd.arg(&script)
            .arg(&dir)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = crate::spawn(&mut cmd, "recipes/postgres.sh");
        let code = crate::wait_child(&mut child, Duration::from_secs(60));
        let (out, err) = crate::procs::piped_output(&mut child);
        // The postmaster.pid may be there even when the script failed later
        // (creating the role): stop that one too.
        let server = PgServer {
            pid: read_pid(&dir),
            dir,
            port,
        };
        let printed = out
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u32>().ok());
        assert!(
            code == 0 && printed.is_some() && printed == server.pid,
            "postgres.sh failed (exit {code}): {out}\n{err}\n{}",
            server.log_tail()
        );
        server
    }

    /// `postgresql://app@127.0.0.1:PORT/app` (the password is [`PgServer::PASSWORD`]).
    pub fn url(&self) -> String {
        format!(
            "postgresql://{}@127.0.0.1:{}/{}",
            Self::USER,
            self.port,
            Self::DATABASE
        )
    }

    /// The postmaster's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Stops it (SIGINT: fast shutdown, clients cut off) and waits until
    /// the postmaster is gone; panics if it would not go.
    pub fn stop(&mut self) {
        if let Err(e) = self.halt() {
            panic!("{e}");
        }
    }

    /// Starts it again on the same data directory and port, without
    /// initdb: the `pg_ctl … start` of `postgres.sh`, as the same user.
    pub fn restart(&mut self) {
        assert!(
            !self.pid.is_some_and(alive),
            "PgServer::restart: it is still running; stop() it first"
        );
        let bin = pgbin();
        let dir = self.dir.to_str().expect("PgServer folder is UTF-8");
        let options = format!(
            "-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            self.port
        );
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
            c
        } else {
            Command::new(bin.join("pg_ctl"))
        };
        let log = std::fs::File::create(self.dir.join("pg_ctl.log")).expect("pg_ctl.log");
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-t", "30", "-o", &options, "start"])
            // The postgres user may not be able to enter the test's cwd.
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("pg_ctl.log"))
            .stderr(log);
        let mut child = crate::spawn(&mut cmd, "pg_ctl start");
        let code = crate::wait_child(&mut child, Duration::from_secs(40));
        self.pid = read_pid(&self.dir);
        assert!(
            code == 0 && self.pid.is_some_and(alive),
            "pg_ctl start (restart) failed (exit {code}): {}\n{}",
            std::fs::read_to_string(self.dir.join("pg_ctl.log")).unwrap_or_default(),
            self.log_tail()
        );
    }

    /// Turns TLS on (reloaded, no restart): a CA made here signs a server
    /// certificate for `localhost` only (no IP address in it, so a client
    /// that checks names refuses `127.0.0.1`). Returns the CA's PEM.
    pub fn enable_tls(&self) -> PathBuf {
        let ca_key = self.dir.join("ca.key");
        let ca = self.dir.join("ca.pem");
        let key = self.dir.join("server.key");
        let csr = self.dir.join("server.csr");
        let cert = self.dir.join("server.pem");
        let ext = self.dir.join("server.ext");
        std::fs::write(&ext, "subjectAltName=DNS:localhost\n").expect("server.ext");
        let openssl = |args: &[&std::ffi::OsStr]| {
            output_ok(
                Command::new("openssl").args(args),
                &format!("openssl {args:?} (scripts/install-deps.sh test installs it)"),
            );
        };
        let os = |s: &str| std::ffi::OsString::from(s);
        openssl(&[
            &os("req"),
            &os("-x509"),
            &os("-new"),
            &os("-newkey"),
            &os("rsa:2048"),
            &os("-nodes"),
            &os("-sha256"),
            &os("-days"),
            &os("1"),
            &os("-subj"),
            &os("/CN=Switchboard Test DB CA"),
            &os("-keyout"),
            ca_key.as_os_str(),
            &os("-out"),
            ca.as_os_str(),
        ]);
        openssl(&[
            &os("req"),
            &os("-new"),
            &os("-newkey"),
            &os("rsa:2048"),
            &os("-nodes"),
            &os("-subj"),
            &os("/CN=localhost"),
            &os("-keyout"),
            key.as_os_str(),
            &os("-out"),
            csr.as_os_str(),
        ]);
        openssl(&[
            &os("x509"),
            &os("-req"),
            &os("-in"),
            csr.as_os_str(),
            &os("-CA"),
            ca.as_os_str(),
            &os("-CAkey"),
            ca_key.as_os_str(),
            &os("-CAcreateserial"),
            &os("-days"),
            &os("1"),
            &os("-sha256"),
            &os("-extfile"),
            ext.as_os_str(),
            &os("-out"),
            cert.as_os_str(),
        ]);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("key mode");
        if is_root() {
            let status = Command::new("chown")
                .arg("postgres:")
                .arg(&key)
                .arg(&cert)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the server's key to postgres");
        }
        // One statement per call: ALTER SYSTEM may not share a transaction.
        self.psql(&format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            cert.display()
        ));
        self.psql(&format!(
            "ALTER SYSTEM SET ssl_key_file = '{}'",
            key.display()
        ));
        self.psql("ALTER SYSTEM SET ssl = on");
        let out = self.psql("SELECT pg_reload_conf()");
        assert!(
            out.contains('t'),
            "reloading with TLS: {out}\n{}",
            self.log_tail()
        );
        // The reload is asynchronous: wait until the server says TLS is on.
        assert!(
            wait_until(Duration::from_secs(10), || self.psql("SHOW ssl;").trim()
                == "on"),
            "TLS did not come on:\n{}",
            self.log_tail()
        );
        ca
    }

    /// Runs `sql` as the superuser over the unix socket in the `postgres`
    /// database; its output, unaligned.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// [`PgServer::psql`] in database `db` ([`PgServer::DATABASE`]: the tables).
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "psql"]);
            c
        } else {
            Command::new("psql")
        };
        cmd.args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .current_dir(&self.dir);
        let out = output_ok(&mut cmd, &format!("psql {sql}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The end of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let from = lines.len().saturating_sub(30);
        lines.get(from..).unwrap_or(&[]).join("\n")
    }

    /// SIGINT, [`STOP_GRACE`], then SIGKILL; what went wrong, if anything.
    fn halt(&mut self) -> Result<(), String> {
        let Some(pid) = self.pid.take() else {
            return Ok(());
        };
        let Ok(ipid) = i32::try_from(pid) else {
            return Err(format!("postmaster PID {pid} out of range"));
        };
        if !alive(pid) {
            return Ok(());
        }
        crate::signal(ipid, SIGINT);
        if wait_until(STOP_GRACE, || !alive(pid)) {
            return Ok(());
        }
        crate::signal(ipid, SIGKILL);
        let gone = wait_until(Duration::from_secs(2), || !alive(pid));
        Err(format!(
            "postgres (PID {pid}) did not stop within {STOP_GRACE:?} of SIGINT; sent SIGKILL ({}):\n{}",
            if gone { "gone now" } else { "still there" },
            self.log_tail()
        ))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Err(e) = self.halt() {
            eprintln!("{e}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pgbin() -> PathBuf {
    std::env::var_os("PGBIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Line 1 of `DIR/data/postmaster.pid`, while the file is there.
fn read_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// A folder for postgres.sh. As root, the recipe runs postgres as the
/// `postgres` user, which must be able to reach the folder; and the
/// socket's path must fit in 108 bytes. A `$TMPDIR` that fails either is
/// passed over for `/tmp`, under the same unique name (pid and a count).
fn pg_dir(tag: &str) -> PathBuf {
    let d = temp_dir(tag);
    let reachable = d
        .ancestors()
        .skip(1)
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    let short = d.as_os_str().len() <= MAX_DIR;
    if short && (!is_root() || reachable) {
        return d;
    }
    let name = d.file_name().map(|n| n.to_owned()).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&d);
    let d = PathBuf::from("/tmp").join(name);
    assert!(
        d.as_os_str().len() <= MAX_DIR,
        "{}: too long for the postgres socket path (tag {tag:?})",
        d.display()
    );
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("postgres folder");
    d
}
