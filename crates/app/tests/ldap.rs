//! The company directory from a real OpenLDAP `slapd` started by the test:
//! a paged search with Estonian, Russian and Slovenian names mapped to
//! directory entries, searched in the Directory tab without diacritics; with
//! the server stopped, the desk shows what it kept and how old it is; a bad
//! filter in the configuration is an error naming the key.

mod common;

use std::path::PathBuf;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use switchboard::DeskApp;
use switchboard_desk::config::{DirectorySection, LdapSection};
use switchboard_desk::directory::SourceState;
use switchboard_desk::store::Store;
use switchboard_interop::{Slapd, temp_dir};

fn ldif() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/company.ldif")
}

fn section(url: &str) -> LdapSection {
    LdapSection {
        url: url.to_owned(),
        bind_dn: None,
        base: format!("ou=people,{}", Slapd::BASE),
        filter: Some("(objectClass=inetOrgPerson)".into()),
        // Smaller than the directory: the paged search must go on past a page.
        page_size: Some(2),
        refresh_minutes: None,
        attributes: None,
        timeout_secs: Some(5),
    }
}

fn search(h: &mut Harness<'static, DeskApp>, text: &str) {
    let field = "Name, department or title:";
    h.get_by_label(field).focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.get_by_label(field).type_text(text);
    h.run();
}

#[test]
fn the_ldap_directory_is_fetched_in_pages_searched_and_kept_for_when_ldap_is_down() {
    let mut slapd = Slapd::start("ldap", &ldif());
    let cfg = section(&slapd.url);

    // A bound, paged fetch maps the attributes.
    let bound = LdapSection {
        bind_dn: Some(Slapd::ADMIN.into()),
        ..cfg.clone()
    };
    let mut entries = switchboard::ldap::fetch(&bound, Some("admin-secret")).expect("fetch");
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Jüri Õunapuu",
            "Žiga Čebular",
            "Ирина Смирнова",
            "Пётр Ёлкин"
        ],
        "all four, past the two-entry page"
    );
    let juri = &entries[0];
    assert_eq!(juri.extension.as_deref(), Some("1201"));
    assert_eq!(juri.mobile.as_deref(), Some("+372 5550 1201"));
    assert_eq!(juri.title.as_deref(), Some("Klienditeeninduse juht"));
    assert_eq!(juri.department.as_deref(), Some("Klienditeenindus"));
    // No displayName: the name comes from cn; description is the note.
    assert_eq!(entries[1].note.as_deref(), Some("Na dopustu do 12. 12."));
    // A wrong password is refused with the reason.
    let e = switchboard::ldap::fetch(&bound, Some("wrong")).unwrap_err();
    assert!(e.contains("bind as cn=admin"), "{e}");

    // The desk: fetched on a worker, searched in the Directory tab.
    let db = temp_dir("ldap-desk").join("desk.db");
    let mut h = common::desk(Some(Store::open(&db).unwrap()));
    h.state_mut().set_directory(&DirectorySection {
        file: None,
        ldap: Some(cfg.clone()),
    });
    h.get_by_label("Directory").click();
    h.run();
    assert!(
        common::wait_for_label(&mut h, "4 entries"),
        "the desk fetched the directory"
    );
    let everyone = [
        "Jüri Õunapuu",
        "Žiga Čebular",
        "Ирина Смирнова",
        "Пётр Ёлкин",
    ];
    for (typed, found) in [
        ("juri ounapuu", "Jüri Õunapuu"),
        ("смирнова", "Ирина Смирнова"),
        ("елкин", "Пётр Ёлкин"),
        ("ziga", "Žiga Čebular"),
        ("podpora", "Žiga Čebular"),
    ] {
        search(&mut h, typed);
        h.get_by_label(found);
        for other in everyone.iter().filter(|n| **n != found) {
            assert!(
                h.query_by_label(other).is_none(),
                "{typed:?} found {other} too"
            );
        }
    }
    drop(h);

    // LDAP goes down: a new desk on the same database shows what was kept,
    // with its age, and says why it is not fresh.
    slapd.stop();
    let mut h = common::desk(Some(Store::open(&db).unwrap()));
    h.state_mut().set_directory(&DirectorySection {
        file: None,
        ldap: Some(cfg),
    });
    h.get_by_label("Directory").click();
    h.run();
    assert!(
        common::wait_for_label(&mut h, "kept from just now"),
        "the kept directory and its age"
    );
    h.get_by_label_contains("could not be read");
    h.get_by_label("Its age is shown in the Directory tab; it is fetched again by itself.");
    let source = &h.state().directory().sources()[0];
    assert!(
        matches!(source.state, SourceState::Cached { .. }),
        "{:?}",
        source.state
    );
    search(&mut h, "juri");
    h.get_by_label("Jüri Õunapuu");
    assert!(h.query_by_label("Ирина Смирнова").is_none());
}

#[test]
fn a_bad_filter_or_url_in_the_configuration_names_the_key() {
    let bad = LdapSection {
        filter: Some("(objectClass=person".into()),
        ..section("ldap://127.0.0.1:1")
    };
    let e = switchboard::ldap::check(&bad).unwrap_err().to_string();
    assert!(e.starts_with("directory.ldap.filter:"), "{e}");
    let e = switchboard::ldap::check(&section("http://directory.example.ee"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("directory.ldap.url:"), "{e}");
    // The desk says so where the operator looks, and keeps working.
    let mut h = common::desk(None);
    h.state_mut().set_directory(&DirectorySection {
        file: None,
        ldap: Some(bad),
    });
    h.run();
    h.get_by_label_contains("The configuration has a mistake: directory.ldap.filter:");
    assert!(h.state().directory().is_empty());
}
