//! The mail servers of `recipes/mail.sh` for a test: Dovecot (IMAP with
//! STARTTLS, IMAPS with a throwaway CA) and an aiosmtpd SMTP sink, on
//! ports of this test, stopped by PID when dropped (also when the test
//! panics), then anything left in the script's process group. The outbox
//! tests send through the sink; the mail crate's tests work the mailbox.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{free_port, temp_dir, wait_until};

const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;

/// Dovecot and the SMTP sink of `mail.sh`.
#[derive(Debug)]
pub struct MailServer {
    /// The recipe's folder (`tls/ca.pem`, the Maildirs).
    pub dir: PathBuf,
    /// Dovecot's IMAP (STARTTLS offered, plain allowed).
    pub imap_port: u16,
    /// Dovecot's IMAPS.
    pub imaps_port: u16,
    /// The SMTP sink (every accepted message lands in customer@example.test's INBOX).
    pub smtp_port: u16,
    pids: Vec<u32>,
    group: u32,
}

impl MailServer {
    /// Starts the recipe in a folder named after `tag`; fails loudly
    /// naming what is missing.
    pub fn start(tag: &str) -> MailServer {
        let script = crate::recipes_with("mail.sh");
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
        let (imap_port, imaps_port, smtp_port) = (free_port(), free_port(), free_port());
        let mut cmd = Command::new("sh");
        cmd.arg(&script)
            .arg(&dir)
            .env("IMAP_PORT", imap_port.to_string())
            .env("IMAPS_PORT", imaps_port.to_string())
            .env("SMTP_PORT", smtp_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = crate::spawn(&mut cmd, "recipes/mail.sh");
        let group = child.id();
        let code = crate::wait_child(&mut child, Duration::from_secs(30));
        let (out, err) = crate::procs::piped_output(&mut child);
        let pids = out
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        let server = MailServer {
            dir,
            imap_port,
            imaps_port,
            smtp_port,
            pids,
            group,
        };
        assert!(
            code == 0 && server.pids.len() == 2,
            "mail.sh failed (exit {code}): {out}\n{err}"
        );
        server
    }

    /// The throwaway CA that signed the servers' certificate (for `localhost`, 127.0.0.1).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// The message files in the customer's INBOX, in name order.
    pub fn customer_inbox(&self) -> Vec<PathBuf> {
        let new = self.dir.join("mail/example.test/customer/Maildir/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(new)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        files
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        use crate::procs::{alive, group_members};
        let signal_all = |sig| {
            for pid in &self.pids {
                if let Ok(p) = i32::try_from(*pid) {
                    crate::signal(p, sig);
                }
            }
        };
        signal_all(SIGTERM);
        wait_until(Duration::from_secs(5), || {
            !self.pids.iter().any(|p| alive(*p))
        });
        signal_all(SIGKILL);
        // Dovecot's workers go with their master; anything left in the
        // script's group goes now.
        if let Ok(g) = i32::try_from(self.group) {
            wait_until(Duration::from_secs(2), || {
                crate::signal(-g, SIGKILL);
                group_members(self.group).is_empty()
            });
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A folder for mail.sh. As root, the recipe runs its daemons as the
/// system user `mailtest`, which must be able to reach the folder: a
/// `$TMPDIR` that others cannot enter (as `.ci/run` gives the tests) is
/// passed over for `/tmp`, under the same unique name (pid and a count),
/// so two servers of one test binary never share a folder.
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
    let name = d.file_name().map(|n| n.to_owned()).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&d);
    let d = PathBuf::from("/tmp").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mail folder");
    d
}

/// A CA that signed nothing of a [`MailServer`]'s, made with openssl in
/// `dir`: a client trusting it must refuse the server.
pub fn unrelated_ca(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("a folder for the CA");
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
