//! The company directory from LDAP (Active Directory, OpenLDAP): a paged
//! subtree search on a worker thread, fetched at start and again every
//! `refresh_minutes`, each result kept in the store so the directory works
//! (with its age shown) while the server is down.

use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use switchboard_desk::config::{ConfigError, LdapSection};
use switchboard_desk::directory::{Entry, EntryKind, SourceKind};

use crate::workers::{Done, Workers};

const DEFAULT_FILTER: &str = "(objectClass=person)";

/// Checks the section before anything is fetched: a URL that is LDAP, a
/// filter that parses. The error names the key.
pub fn check(cfg: &LdapSection) -> Result<(), ConfigError> {
    let url = cfg.url.trim().to_ascii_lowercase();
    if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
        return Err(ConfigError::Value {
            key: "directory.ldap.url".into(),
            message: format!("{:?} is not an ldap:// or ldaps:// URL", cfg.url),
        });
    }
    let filter = cfg.filter.as_deref().unwrap_or(DEFAULT_FILTER);
    if ldap3::parse_filter(filter).is_err() {
        return Err(ConfigError::Value {
            key: "directory.ldap.filter".into(),
            message: format!(
                "{filter:?} is not an LDAP filter (RFC 4515), e.g. (objectClass=person)"
            ),
        });
    }
    if cfg.base.trim().is_empty() {
        return Err(ConfigError::Value {
            key: "directory.ldap.base".into(),
            message: "is empty; write the DN to search under".into(),
        });
    }
    Ok(())
}

struct Names {
    name: Vec<String>,
    extension: Vec<String>,
    mobile: Vec<String>,
    title: Vec<String>,
    department: Vec<String>,
    email: Vec<String>,
    note: Vec<String>,
}

fn names(cfg: &LdapSection) -> Names {
    let a = cfg.attributes.clone().unwrap_or_default();
    let or = |v: Option<String>, d: &[&str]| match v {
        Some(v) => vec![v],
        None => d.iter().map(|s| (*s).to_owned()).collect(),
    };
    Names {
        name: or(a.name, &["displayName", "cn"]),
        extension: or(a.extension, &["telephoneNumber"]),
        mobile: or(a.mobile, &["mobile"]),
        title: or(a.title, &["title"]),
        department: or(a.department, &["department", "ou"]),
        email: or(a.email, &["mail"]),
        note: or(a.note, &["description"]),
    }
}

/// One fetch: bind, page through the search, map the attributes.
pub fn fetch(cfg: &LdapSection, password: Option<&str>) -> Result<Vec<Entry>, String> {
    let timeout = Duration::from_secs(cfg.timeout_secs.unwrap_or(10).clamp(1, 300));
    let settings = LdapConnSettings::new().set_conn_timeout(timeout);
    let mut ldap =
        LdapConn::with_settings(settings, &cfg.url).map_err(|e| format!("{}: {e}", cfg.url))?;
    ldap.with_timeout(timeout);
    if let Some(dn) = &cfg.bind_dn {
        ldap.simple_bind(dn, password.unwrap_or(""))
            .and_then(|r| r.success())
            .map_err(|e| format!("bind as {dn}: {e}"))?;
    }
    let n = names(cfg);
    let mut attrs: Vec<&str> = [
        &n.name,
        &n.extension,
        &n.mobile,
        &n.title,
        &n.department,
        &n.email,
        &n.note,
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect();
    attrs.dedup();
    let page = i32::try_from(cfg.page_size.unwrap_or(500).clamp(1, 10_000)).unwrap_or(500);
    let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(page)),
    ];
    let filter = cfg.filter.as_deref().unwrap_or(DEFAULT_FILTER);
    let mut stream = ldap
        .streaming_search_with(adapters, &cfg.base, Scope::Subtree, filter, attrs)
        .map_err(|e| format!("search {}: {e}", cfg.base))?;
    let mut out = Vec::new();
    while let Some(raw) = stream.next().map_err(|e| format!("search: {e}"))? {
        // ldap3 panics on an entry it cannot decode: a broken server
        // costs that entry, not the desk.
        let Ok(e) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SearchEntry::construct(raw)))
        else {
            continue;
        };
        let first = |keys: &[String]| {
            keys.iter()
                .find_map(|k| e.attrs.get(k).and_then(|v| v.first()))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let Some(name) = first(&n.name) else { continue };
        out.push(Entry {
            kind: EntryKind::Person,
            name,
            extension: first(&n.extension),
            title: first(&n.title),
            department: first(&n.department),
            mobile: first(&n.mobile),
            email: first(&n.email),
            note: first(&n.note),
            uri: None,
            // A whole company's lamps would be thousands of subscriptions:
            // those worth one are named in the directory file or as
            // quick-connects.
            blf: false,
        });
    }
    stream
        .result()
        .success()
        .map_err(|e| format!("search: {e}"))?;
    let _ = ldap.unbind();
    Ok(out)
}

/// Fetches now and every `refresh_minutes` on a thread of its own.
pub(crate) fn spawn(cfg: LdapSection, password: Option<String>, work: &Workers) {
    let (tx, wake) = work.sender();
    let every = Duration::from_secs(60 * cfg.refresh_minutes.unwrap_or(60).max(1));
    let _ = std::thread::Builder::new()
        .name("ldap".into())
        .spawn(move || {
            loop {
                let result = fetch(&cfg, password.as_deref());
                let done = Done::Directory {
                    kind: SourceKind::Ldap(cfg.url.clone()),
                    result,
                };
                if tx.send(done).is_err() {
                    return; // the desk is gone
                }
                wake.wake();
                std::thread::sleep(every);
            }
        });
}
