//! `bench --knowledge`: the knowledge base's index at 10,000 articles.
//!
//! Articles are generated, deterministically (a seeded xorshift), from a
//! word list per language (English, Estonian, Russian, Slovenian, each with
//! its diacritics and a few endings per word), the common words far more
//! common than the rare ones (squared-uniform ranks, roughly Zipf-like). A
//! vocabulary this small makes every common word match thousands of
//! articles, which is harder on the index than a real knowledge base.
//!
//! Measured, in a release build:
//! 1. **build**: `Index::index_texts` of all 10,000 into a fresh index file;
//! 2. **sync**: the same articles written as files, a fresh index's first
//!    `Index::sync` of the folder, then a sync of the unchanged folder (what
//!    the desktop does every 2 s);
//! 3. **search**: 2,000 queries of 1–3 words as typed, about half ending in
//!    a prefix of 2–5 letters, a third typed without diacritics, each with
//!    one preferred language, limit 20: median, p90, p99, max;
//! 4. **suggest**: 500 suggestions from call context (queue, IVR data, a
//!    script answer);
//! 5. **pasted text**: 40 searches of 10 KB of generated text each.

use std::path::Path;
use std::time::{Duration, Instant};

use switchboard_desk::knowledge::Index;

const ARTICLES: usize = 10_000;
const QUERIES: usize = 2_000;
const SUGGESTS: usize = 500;
const QUEUES: [&str; 6] = [
    "Info",
    "Orders",
    "Support",
    "Switchboard",
    "Emergency",
    "Billing",
];

struct Lang {
    code: &'static str,
    words: &'static [&'static str],
    endings: &'static [&'static str],
}

// One line per few words; rustfmt would give each its own line.
#[rustfmt::skip]
const LANGS: [Lang; 4] = [
    Lang {
        code: "en",
        words: &[
            "account", "address", "answer", "appointment", "balance", "bank", "billing",
            "booking", "branch", "cable", "call", "card", "charge", "computer", "connection",
            "contract", "courier", "customer", "delivery", "device", "discount", "email", "error",
            "invoice", "keyboard", "laptop", "letter", "licence", "login", "message", "monitor",
            "network", "number", "office", "order", "parcel", "password", "payment", "phone",
            "policy", "price", "printer", "refund", "reminder", "report", "request", "router",
            "schedule", "screen", "server", "service", "settings", "shipping", "software",
            "status", "subscription", "ticket", "update", "voucher", "warehouse", "warranty",
            "window", "wireless", "café", "naïve", "résumé",
        ],
        endings: &["", "", "s", "ed", "ing"],
    },
    Lang {
        code: "et",
        words: &[
            "arve", "aadress", "ühendus", "tööaeg", "tellimus", "pakk", "kuller", "makse", "pank",
            "kaart", "parool", "võrk", "arvuti", "printer", "ekraan", "klaviatuur", "leping",
            "klient", "hüvitis", "tagastus", "garantii", "sõnum", "kõne", "number", "kontor",
            "ladu", "hind", "soodustus", "päring", "vastus", "tõrge", "viga", "seade", "tarkvara",
            "uuendus", "seaded", "kasutaja", "konto", "sisselogimine", "järjekord", "küsimus",
            "õigus", "märkus", "tähtaeg", "nädal", "päev", "kell", "öösel", "lõuna", "põhjus",
            "müük", "ostukorv", "tšekk", "žetoon", "ülevaade", "väljavõte", "teenus", "pühad",
            "värskendus", "lähetus",
        ],
        endings: &["", "", "ga", "st", "le", "ks"],
    },
    Lang {
        code: "ru",
        words: &[
            "счёт", "адрес", "соединение", "заказ", "посылка", "курьер", "оплата", "банк",
            "карта", "пароль", "сеть", "компьютер", "принтер", "экран", "клавиатура", "договор",
            "клиент", "возврат", "гарантия", "сообщение", "звонок", "номер", "офис", "склад",
            "цена", "скидка", "запрос", "ответ", "ошибка", "устройство", "программа",
            "обновление", "настройки", "пользователь", "учётка", "вход", "очередь", "вопрос",
            "право", "заметка", "срок", "неделя", "день", "время", "ночь", "причина", "продажа",
            "корзина", "чек", "ёмкость", "отчёт", "выписка", "услуга", "праздник", "доставка",
            "счётчик", "жёлтый", "лёгкий", "всё", "ещё",
        ],
        endings: &["", "", "а", "ом", "ы", "ами"],
    },
    Lang {
        code: "sl",
        words: &[
            "račun", "naslov", "povezava", "naročilo", "paket", "kurir", "plačilo", "banka",
            "kartica", "geslo", "omrežje", "računalnik", "tiskalnik", "zaslon", "tipkovnica",
            "pogodba", "stranka", "vračilo", "garancija", "sporočilo", "klic", "številka",
            "pisarna", "skladišče", "cena", "popust", "zahteva", "odgovor", "napaka", "naprava",
            "programska", "posodobitev", "nastavitve", "uporabnik", "prijava", "čakalna", "vrsta",
            "vprašanje", "pravica", "opomba", "rok", "teden", "dan", "čas", "noč", "razlog",
            "prodaja", "košarica", "blagajna", "poročilo", "izpisek", "storitev", "praznik",
            "dostava", "števec", "žig", "šola", "življenje", "čakanje", "reševanje",
        ],
        endings: &["", "", "a", "om", "e", "ih"],
    },
];

/// xorshift64: the same articles and queries on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 0..n, uniform.
    fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// 0..n, small values far more likely.
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.unit();
        ((u * u * n as f64) as usize).min(n.saturating_sub(1))
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

fn word(rng: &mut Rng, lang: &Lang) -> String {
    let base = lang.words[rng.skewed(lang.words.len())];
    let ending = lang.endings[rng.below(lang.endings.len())];
    format!("{base}{ending}")
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn article(rng: &mut Rng, lang: &Lang) -> String {
    let title: Vec<String> = (0..rng.range(2, 5)).map(|_| word(rng, lang)).collect();
    let tags: Vec<String> = (0..rng.range(2, 4))
        .map(|_| lang.words[rng.skewed(lang.words.len())].to_owned())
        .collect();
    let queues: Vec<&str> = (0..rng.range(1, 2))
        .map(|_| QUEUES[rng.below(QUEUES.len())])
        .collect();
    let mut text = format!(
        "---\ntitle: {}\nlanguage: {}\ntags: {}\nqueues: {}\n---\n",
        capitalised(&title.join(" ")),
        lang.code,
        tags.join(", "),
        queues.join(", ")
    );
    for _ in 0..rng.range(3, 6) {
        text.push('\n');
        for s in 0..rng.range(2, 4) {
            let words: Vec<String> = (0..rng.range(6, 14)).map(|_| word(rng, lang)).collect();
            if s > 0 {
                text.push(' ');
            }
            text.push_str(&capitalised(&words.join(" ")));
            text.push('.');
        }
        text.push('\n');
    }
    text
}

/// Without diacritics, as typed on a keyboard without them.
fn plain(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'õ' | 'ö' => 'o',
            'ä' => 'a',
            'ü' => 'u',
            'š' => 's',
            'ž' => 'z',
            'č' => 'c',
            'é' | 'è' => 'e',
            'ï' => 'i',
            'ё' => 'е',
            _ => c,
        })
        .collect()
}

fn query(rng: &mut Rng, lang: &Lang) -> String {
    let n = rng.range(1, 3);
    let mut words: Vec<String> = (0..n).map(|_| word(rng, lang)).collect();
    if rng.unit() < 0.5
        && let Some(last) = words.last_mut()
    {
        let keep = rng.range(2, 5);
        *last = last.chars().take(keep).collect();
    }
    let q = words.join(" ");
    if rng.unit() < 0.33 { plain(&q) } else { q }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| ms(*d))
}

fn summary(name: &str, mut times: Vec<Duration>, hits: usize) {
    times.sort();
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        times.last().map_or(0.0, |d| ms(*d)),
        hits as f64 / times.len().max(1) as f64
    );
}

pub(crate) fn run(dir: &Path) {
    let mut rng = Rng(0x4B4E_4F57_4C45_4447);
    let texts: Vec<(String, String)> = (0..ARTICLES)
        .map(|i| {
            let lang = &LANGS[i % LANGS.len()];
            (format!("{}/a{i:05}", lang.code), article(&mut rng, lang))
        })
        .collect();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    println!(
        "{ARTICLES} articles, {:.1} MB of text, four languages",
        bytes as f64 / 1e6
    );

    // 1. Build from texts into a fresh file.
    let db = dir.join("knowledge-build.sqlite");
    let t = Instant::now();
    let mut index = Index::open(&db).expect("index file");
    let report = index
        .index_texts(texts.iter().map(|(id, t)| (id.as_str(), t.as_str())))
        .expect("index_texts");
    let build = t.elapsed();
    assert_eq!(report.added, ARTICLES, "{:?}", report.errors.first());
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "build (index_texts, on disk): {:.2} s, index file {:.1} MB",
        build.as_secs_f64(),
        size as f64 / 1e6
    );

    // 2. The same as a folder: first sync, then an unchanged one.
    let folder = dir.join("knowledge");
    let _ = std::fs::remove_dir_all(&folder);
    for (id, text) in &texts {
        let path = folder.join(format!("{id}.md"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folder");
        }
        std::fs::write(path, text).expect("article file");
    }
    let db2 = dir.join("knowledge-sync.sqlite");
    let mut synced = Index::open(&db2).expect("index file");
    let t = Instant::now();
    let first = synced.sync(&folder).expect("sync");
    let first_sync = t.elapsed();
    assert_eq!(first.added, ARTICLES);
    let mut idle = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r = synced.sync(&folder).expect("sync");
        idle.push(t.elapsed());
        assert_eq!((r.added, r.updated, r.removed), (0, 0, 0));
    }
    idle.sort();
    println!(
        "first sync of the folder: {:.2} s; unchanged folder: median {:.1} ms of 5",
        first_sync.as_secs_f64(),
        idle.get(2).map_or(0.0, |d| ms(*d))
    );
    drop(synced);

    // 3. Search as typed.
    let mut times = Vec::with_capacity(QUERIES);
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let mut hits = 0;
    let mut empty = 0;
    for i in 0..QUERIES {
        let lang = &LANGS[rng.below(LANGS.len())];
        let q = query(&mut rng, lang);
        let pref = [LANGS[i % LANGS.len()].code];
        let t = Instant::now();
        let found = index.search(&q, &pref, 20).expect("search");
        let took = t.elapsed();
        times.push(took);
        slowest.push((took, q));
        hits += found.len();
        if found.is_empty() {
            empty += 1;
        }
    }
    slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
    slowest.truncate(8);
    println!("\n| call | runs | median ms | p90 ms | p99 ms | max ms | hits per call |");
    println!("|---|---|---|---|---|---|---|");
    summary("search", times, hits);

    // 4. Suggestions from a call's context.
    let mut times = Vec::with_capacity(SUGGESTS);
    let mut shits = 0;
    for _ in 0..SUGGESTS {
        let lang = &LANGS[rng.below(LANGS.len())];
        let queue = QUEUES[rng.below(QUEUES.len())];
        let answer = word(&mut rng, lang);
        let ivr = format!("order=A-{}", rng.range(1000, 9999));
        let context = [queue, ivr.as_str(), answer.as_str()];
        let t = Instant::now();
        let found = index
            .suggest(&context, Some(queue), &[lang.code], 10)
            .expect("suggest");
        times.push(t.elapsed());
        shits += found.len();
    }
    summary("suggest", times, shits);

    // 5. A pasted mail: 10 KB of text, searched as typed (16 words used).
    let mut times = Vec::new();
    let mut phits = 0;
    for i in 0..40 {
        let lang = &LANGS[i % LANGS.len()];
        let mut text = String::new();
        while text.len() < 10_000 {
            text.push_str(&word(&mut rng, lang));
            text.push_str(if rng.unit() < 0.1 { ". " } else { " " });
        }
        let t = Instant::now();
        let found = index.search(&text, &[lang.code], 20).expect("search");
        times.push(t.elapsed());
        phits += found.len();
    }
    summary("search, 10 KB pasted", times, phits);
    println!("\n{empty} of {QUERIES} queries found nothing; the slowest:");
    for (d, q) in &slowest {
        println!("  {:7.2} ms  {q:?}", ms(*d));
    }
    drop(index);
    let _ = std::fs::remove_dir_all(&folder);
    for db in [db, db2] {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    // Only if nothing else is in it.
    let _ = std::fs::remove_dir(dir);
}
