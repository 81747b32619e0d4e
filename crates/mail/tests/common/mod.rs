//! Dovecot from `recipes/mail.sh` on ports of this test, stopped by PID when
//! dropped (also when the test panics), and the accounts that reach it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_interop::{free_port, temp_dir};
use switchboard_mail::imap::{Account, Security};

const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;

/// Dovecot (IMAP with STARTTLS, IMAPS) and the SMTP sink of `mail.sh`.
pub(crate) struct MailServer {
    pub(crate) dir: PathBuf,
    pub(crate) imap_port: u16,
    pub(crate) imaps_port: u16,
    pids: Vec<u32>,
    group: u32,
}

impl MailServer {
    /// Starts the recipe; fails loudly naming what is missing.
    pub(crate) fn start(tag: &str) -> MailServer {
        let script = switchboard_interop::recipes_with("mail.sh");
        assert!(
            Path::new("/usr/sbin/dovecot").exists(),
            "Dovecot is not installed (mail.sh starts it): scripts/install-deps.sh test installs dovecot-imapd"
        );
        let aiosmtpd = Command::new("/usr/bin/python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            aiosmtpd,
            "/usr/bin/python3 has no aiosmtpd (mail.sh's SMTP sink): scripts/install-deps.sh test installs python3-aiosmtpd"
        );
        let dir = mail_dir(tag);
        let (imap_port, imaps_port) = (free_port(), free_port());
        let mut cmd = Command::new("sh");
        cmd.arg(&script)
            .arg(&dir)
            .env("IMAP_PORT", imap_port.to_string())
            .env("IMAPS_PORT", imaps_port.to_string())
            .env("SMTP_PORT", free_port().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = switchboard_interop::spawn(&mut cmd, "recipes/mail.sh");
        let group = child.id();
        let code = switchboard_interop::wait_child(&mut child, Duration::from_secs(30));
        let read = |r: Option<&mut dyn std::io::Read>| {
            let mut s = String::new();
            if let Some(r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        };
        let out = read(child.stdout.as_mut().map(|s| s as &mut dyn std::io::Read));
        let err = read(child.stderr.as_mut().map(|s| s as &mut dyn std::io::Read));
        let pids = out
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        let server = MailServer {
            dir,
            imap_port,
            imaps_port,
            pids,
            group,
        };
        assert!(
            code == 0 && server.pids.len() == 2,
            "mail.sh failed (exit {code}): {out}\n{err}"
        );
        server
    }

    /// The throwaway CA that signed the server's certificate.
    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// The shared support mailbox over `security` (the port to match).
    pub(crate) fn account(&self, security: Security) -> Account {
        Account {
            host: "127.0.0.1".into(),
            port: match security {
                Security::Tls => self.imaps_port,
                Security::StartTls | Security::Plain => self.imap_port,
            },
            security,
            user: "agent@example.test".into(),
            password: "agent-secret".into(),
            ca_file: Some(self.ca()),
            inbox: "INBOX".into(),
            done: "Done".into(),
            sent: "Sent".into(),
        }
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        use switchboard_interop::procs::{alive, group_members};
        let signal_all = |sig| {
            for pid in &self.pids {
                if let Ok(p) = i32::try_from(*pid) {
                    switchboard_interop::signal(p, sig);
                }
            }
        };
        signal_all(SIGTERM);
        wait_until(Duration::from_secs(5), || {
            !self.pids.iter().any(|p| alive(*p))
        });
        signal_all(SIGKILL);
        if let Ok(g) = i32::try_from(self.group) {
            wait_until(Duration::from_secs(2), || {
                switchboard_interop::signal(-g, SIGKILL);
                group_members(self.group).is_empty()
            });
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `done` every 20 ms for at most `timeout`.
pub(crate) fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A folder for mail.sh. As root, the recipe runs its daemons as the
/// system user `mailtest`, which must be able to reach the folder: a
/// `$TMPDIR` that others cannot enter is passed over for `/tmp`.
fn mail_dir(tag: &str) -> PathBuf {
    let d = temp_dir(tag);
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let reachable = d
        .ancestors()
        .skip(1)
        .all(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 != 0));
    if !root || reachable {
        return d;
    }
    // The same unique name (pid and a count), under /tmp: two sinks of
    // one test binary never share a folder.
    let name = d.file_name().map(|n| n.to_owned()).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&d);
    let d = PathBuf::from("/tmp").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mail folder");
    d
}

/// A CA that signed nothing of ours, made with openssl in `dir`.
pub(crate) fn unrelated_ca(dir: &Path) -> PathBuf {
    let pem = dir.join("other-ca.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256",
        ])
        .args(["-days", "1", "-subj", "/CN=Unrelated Test CA"])
        .arg("-keyout")
        .arg(dir.join("other-ca.key"))
        .arg("-out")
        .arg(&pem)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (mail.sh needs it too)");
    assert!(status.success(), "openssl could not make a CA");
    pem
}

/// A small reply as the desk would append it.
pub(crate) fn raw_mail(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Klienditugi <agent@example.test>\r\n\
         To: customer@example.test\r\n\
         Subject: {subject}\r\n\
         Date: Tue, 14 Nov 2023 09:00:00 +0200\r\n\
         Message-ID: <{}@example.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         {body}\r\n",
        subject.len()
    )
    .into_bytes()
}
