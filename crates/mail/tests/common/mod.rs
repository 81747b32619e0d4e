//! Dovecot from `recipes/mail.sh` (`switchboard_interop::mail`), the
//! accounts that reach it, and mail to put into it.

use switchboard_mail::imap::{Account, Security};

pub(crate) use switchboard_interop::mail::{MailServer, unrelated_ca};

/// The accounts that reach a [`MailServer`].
pub(crate) trait Accounts {
    /// The shared support mailbox over `security` (the port to match).
    fn account(&self, security: Security) -> Account;
}

impl Accounts for MailServer {
    fn account(&self, security: Security) -> Account {
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
