//! Order and ticket forms: what an operator fills in during a call, checked,
//! saved with the wrap-up, and passed to the people who fulfil it.
//!
//! ```text
//!  [[desk.forms]] ──▶ FormDef (fields, repeating lines, total,
//!                      webhook and/or e-mail)
//!  the operator types ──▶ FormValues ──▶ FormDef::check (every mistake,
//!                                        by field and line)
//!  the wrap-up is saved ──▶ FormDef::deliveries ──▶ outbox items (JSON for
//!                            the webhook, a text e-mail in the operator's
//!                            language), one idempotency key each
//! ```
//!
//! A form has fields (text, number, money, date, choice, e-mail, phone;
//! required or not; prefilled from call data such as `{caller.number}`) and
//! optionally repeating lines (order items: an item, a quantity, a price),
//! whose total is Σ quantity × price, counted in cents so that 3 × 19.99 is
//! 59.97 and not 59.969999. Values are kept as typed (a form half filled
//! is a draft); [`FormDef::check`] says what is wrong before the wrap-up
//! may be saved.

use std::collections::BTreeMap;

use crate::outbox::{Delivery, NewItem};
use crate::script::fill;

/// A text in one language, or per language (`{ en = "Order", et = "Tellimus" }`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum Text {
    /// The same in every language.
    One(String),
    /// Per language; English, then any, when one is missing.
    Many(BTreeMap<String, String>),
}

impl Text {
    /// The text in `lang`.
    pub fn get(&self, lang: &str) -> &str {
        match self {
            Text::One(s) => s,
            Text::Many(m) => m
                .get(lang)
                .or_else(|| m.get("en"))
                .or_else(|| m.values().next())
                .map_or("", String::as_str),
        }
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text.
    #[default]
    Text,
    /// Several lines of text.
    Multiline,
    /// A number (`2`, `1.5`).
    Number,
    /// An amount of money (`19.99`, `19,99`).
    Money,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// One of `choices`.
    Choice,
    /// An e-mail address.
    Email,
    /// A telephone number.
    Phone,
}

/// One field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Its name in the record (`customer`).
    pub name: String,
    /// What the operator sees.
    pub label: Text,
    /// What it holds.
    #[serde(default, rename = "type")]
    pub kind: FieldKind,
    /// The form cannot be saved without it.
    #[serde(default)]
    pub required: bool,
    /// The options of a choice.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Filled in from call data when the form starts (`{caller.number}`).
    #[serde(default)]
    pub prefill: Option<String>,
}

/// Repeating lines (order items).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinesDef {
    /// What the operator sees above them (`Items`).
    pub label: Text,
    /// The fields of one line.
    pub fields: Vec<FieldDef>,
    /// The line field that is the quantity, for the total.
    #[serde(default)]
    pub quantity: Option<String>,
    /// The line field that is the unit price, for the total.
    #[serde(default)]
    pub price: Option<String>,
    /// At least this many lines (1 for an order).
    #[serde(default)]
    pub min: usize,
}

/// Where a saved form goes by HTTP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDef {
    /// The URL the form is POSTed to as JSON.
    pub url: String,
    /// The keyring entry holding a bearer token (never the token itself).
    #[serde(default)]
    pub token: Option<String>,
    /// A dotted path in the JSON answer to keep (`ticket.id`): the number
    /// the receiver gave the order or ticket.
    #[serde(default)]
    pub result: Option<String>,
}

/// Where a saved form goes by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailDef {
    /// The fulfilment address.
    pub to: String,
    /// The subject; `{field}` names a field (`Order {customer}`).
    pub subject: Text,
}

/// A form as configured (`[[desk.forms]]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    /// Its name (`order`), unique.
    pub id: String,
    /// What the operator sees.
    pub title: Text,
    /// Calls from these queues start with this form.
    #[serde(default)]
    pub queues: Vec<String>,
    /// The fields.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    /// Repeating lines, if any.
    #[serde(default)]
    pub lines: Option<LinesDef>,
    /// Sent by HTTP when saved.
    #[serde(default)]
    pub webhook: Option<WebhookDef>,
    /// Sent by e-mail when saved.
    #[serde(default)]
    pub email: Option<EmailDef>,
}

/// What has been typed into a form.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FormValues {
    /// Which form.
    pub form: String,
    /// Field values by name, as typed.
    pub fields: BTreeMap<String, String>,
    /// The lines, each its values by field name.
    pub lines: Vec<BTreeMap<String, String>>,
    /// What the form was prefilled with (a form with only these is untouched).
    #[serde(default)]
    pub prefilled: BTreeMap<String, String>,
}

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Required and empty.
    Missing,
    /// Not a number.
    NotNumber,
    /// Not an amount (at most two decimals).
    NotMoney,
    /// Not a date `YYYY-MM-DD`.
    NotDate,
    /// Not one of the choices.
    NotAChoice,
    /// Not an e-mail address.
    NotEmail,
    /// Not a telephone number.
    NotPhone,
    /// Fewer lines than required.
    TooFewLines(usize),
}

/// One mistake: which field (and line), what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mistake {
    /// The field's name (empty: the lines as a whole).
    pub field: String,
    /// The line, counted from 0, for a line field.
    pub line: Option<usize>,
    /// What.
    pub problem: Problem,
}

/// An amount in cents from what was typed (`19.99`, `19,99`, `20`).
pub fn cents(s: &str) -> Option<i64> {
    let t = s.trim().replace(',', ".");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 {
        return None;
    }
    let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
    let (neg, whole) = match whole.strip_prefix('-') {
        Some(w) => (true, w),
        None => (false, whole),
    };
    if !digits(whole) || !digits(frac) {
        return None;
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let c = w.checked_mul(100)?.checked_add(f)?;
    Some(if neg { -c } else { c })
}

/// Cents as `59.97`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// A quantity from what was typed (`2`, `1.5`, `1,5`), in thousandths.
fn milli(s: &str) -> Option<i64> {
    let t = s.trim().replace(',', ".");
    let v: f64 = t.parse().ok()?;
    (v.is_finite() && v.abs() < 1e12).then(|| (v * 1000.0).round() as i64)
}

fn problem(f: &FieldDef, value: &str) -> Option<Problem> {
    let v = value.trim();
    if v.is_empty() {
        return f.required.then_some(Problem::Missing);
    }
    let ok = match f.kind {
        FieldKind::Text | FieldKind::Multiline => true,
        FieldKind::Number => milli(v).is_some(),
        FieldKind::Money => cents(v).is_some(),
        FieldKind::Date => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok(),
        FieldKind::Choice => f.choices.iter().any(|c| c == v),
        FieldKind::Email => {
            let mut parts = v.split('@');
            matches!(
                (parts.next(), parts.next(), parts.next()),
                (Some(a), Some(d), None) if !a.is_empty() && d.contains('.') && !v.contains(char::is_whitespace)
            )
        }
        FieldKind::Phone => {
            let digits = v.chars().filter(char::is_ascii_digit).count();
            digits >= 3
                && v.chars()
                    .all(|c| c.is_ascii_digit() || " +-()/.".contains(c))
        }
    };
    if ok {
        return None;
    }
    Some(match f.kind {
        FieldKind::Number => Problem::NotNumber,
        FieldKind::Money => Problem::NotMoney,
        FieldKind::Date => Problem::NotDate,
        FieldKind::Choice => Problem::NotAChoice,
        FieldKind::Email => Problem::NotEmail,
        _ => Problem::NotPhone,
    })
}

impl FormDef {
    /// A new form for a call, prefilled from call data (`caller.number`,
    /// `caller.name`, `queue`, `ivr.order` …), with its minimum of lines.
    pub fn start(&self, data: &BTreeMap<String, String>) -> FormValues {
        let fields: BTreeMap<String, String> = self
            .fields
            .iter()
            .filter_map(|f| {
                let p = fill(f.prefill.as_deref()?, data);
                (!p.trim().is_empty()).then(|| (f.name.clone(), p))
            })
            .collect();
        let lines = self
            .lines
            .as_ref()
            .map(|l| vec![BTreeMap::new(); l.min.max(1)])
            .unwrap_or_default();
        FormValues {
            form: self.id.clone(),
            prefilled: fields.clone(),
            fields,
            lines,
        }
    }

    /// Every mistake in `v`, in the order the fields are shown.
    pub fn check(&self, v: &FormValues) -> Vec<Mistake> {
        let mut out = Vec::new();
        let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
        for f in &self.fields {
            if let Some(problem) = problem(f, &get(&v.fields, &f.name)) {
                out.push(Mistake {
                    field: f.name.clone(),
                    line: None,
                    problem,
                });
            }
        }
        if let Some(l) = &self.lines {
            let used: Vec<(usize, &BTreeMap<String, String>)> = v
                .lines
                .iter()
                .enumerate()
                .filter(|(_, line)| line.values().any(|x| !x.trim().is_empty()))
                .collect();
            if used.len() < l.min {
                out.push(Mistake {
                    field: String::new(),
                    line: None,
                    problem: Problem::TooFewLines(l.min),
                });
            }
            for (i, line) in used {
                for f in &l.fields {
                    if let Some(problem) = problem(f, &get(line, &f.name)) {
                        out.push(Mistake {
                            field: f.name.clone(),
                            line: Some(i),
                            problem,
                        });
                    }
                }
            }
        }
        out
    }

    /// Σ quantity × price over the lines, in cents (None without a price
    /// and quantity field, or when a line's values are not numbers).
    pub fn total(&self, v: &FormValues) -> Option<i64> {
        let l = self.lines.as_ref()?;
        let (q, p) = (l.quantity.as_ref()?, l.price.as_ref()?);
        let mut sum: i64 = 0;
        for line in &v.lines {
            let (qv, pv) = (line.get(q), line.get(p));
            if qv.is_none_or(|x| x.trim().is_empty()) && pv.is_none_or(|x| x.trim().is_empty()) {
                continue;
            }
            let qm = milli(qv?)?;
            let pc = cents(pv?)?;
            // quantity in thousandths × cents, rounded to the cent.
            let c = (i128::from(qm) * i128::from(pc) + 500).div_euclid(1000);
            sum = sum.checked_add(i64::try_from(c).ok()?)?;
        }
        Some(sum)
    }

    /// Whether nothing has been typed beyond the prefills (an untouched
    /// form is not sent).
    pub fn is_empty(&self, v: &FormValues) -> bool {
        v.fields
            .iter()
            .all(|(k, x)| x.trim().is_empty() || v.prefilled.get(k) == Some(x))
            && v.lines
                .iter()
                .all(|l| l.values().all(|x| x.trim().is_empty()))
    }

    /// The record of a saved form, as the webhook receives it.
    pub fn payload(&self, v: &FormValues, call: &CallInfo) -> serde_json::Value {
        let lines: Vec<&BTreeMap<String, String>> = v
            .lines
            .iter()
            .filter(|l| l.values().any(|x| !x.trim().is_empty()))
            .collect();
        serde_json::json!({
            "form": self.id,
            "call_id": call.call_id,
            "caller": { "number": call.number, "name": call.name },
            "operator": call.operator,
            "saved_ms": call.at_ms,
            "fields": v.fields,
            "lines": lines,
            "total": self.total(v).map(money),
        })
    }

    /// The e-mail to the fulfilment address, in `lang`: the subject from
    /// its template, the fields one per line, the lines as a list, the total.
    pub fn email_text(&self, v: &FormValues, call: &CallInfo, lang: &str) -> (String, String) {
        let mut data = v.fields.clone();
        data.insert("caller.number".into(), call.number.clone());
        if let Some(n) = &call.name {
            data.insert("caller.name".into(), n.clone());
        }
        let subject = self
            .email
            .as_ref()
            .map(|e| fill(e.subject.get(lang), &data))
            .unwrap_or_else(|| self.title.get(lang).to_owned());
        let mut body = format!("{}\n\n", self.title.get(lang));
        let who = match &call.name {
            Some(n) => format!("{n} ({})", call.number),
            None => call.number.clone(),
        };
        body.push_str(&format!("{who}\n"));
        for f in &self.fields {
            if let Some(x) = v.fields.get(&f.name).filter(|x| !x.trim().is_empty()) {
                body.push_str(&format!("{}: {}\n", f.label.get(lang), x.trim()));
            }
        }
        if let Some(l) = &self.lines {
            body.push_str(&format!("\n{}:\n", l.label.get(lang)));
            for line in v
                .lines
                .iter()
                .filter(|l| l.values().any(|x| !x.trim().is_empty()))
            {
                let cells: Vec<String> = l
                    .fields
                    .iter()
                    .filter_map(|f| line.get(&f.name).map(|x| x.trim().to_owned()))
                    .filter(|x| !x.is_empty())
                    .collect();
                body.push_str(&format!("- {}\n", cells.join(" · ")));
            }
            if let Some(t) = self.total(v) {
                body.push_str(&format!("= {}\n", money(t)));
            }
        }
        body.push_str(&format!("\nCall-ID: {}\n", call.call_id));
        (subject, body)
    }

    /// The outbox items a saved form makes: its webhook and its e-mail,
    /// each with its own idempotency key (the call and the form: saving
    /// twice never sends twice).
    pub fn deliveries(&self, v: &FormValues, call: &CallInfo, lang: &str) -> Vec<NewItem> {
        let payload = self.payload(v, call);
        let mut out = Vec::new();
        if let Some(w) = &self.webhook {
            out.push(NewItem {
                key: format!("{}/{}/webhook", call.call_id, self.id),
                call_id: Some(call.call_id.clone()),
                delivery: Delivery::Webhook {
                    url: w.url.clone(),
                    token_entry: w.token.clone(),
                    result_field: w.result.clone(),
                },
                payload: payload.clone(),
            });
        }
        if let Some(e) = &self.email {
            let (subject, body) = self.email_text(v, call, lang);
            out.push(NewItem {
                key: format!("{}/{}/email", call.call_id, self.id),
                call_id: Some(call.call_id.clone()),
                delivery: Delivery::Email {
                    to: e.to.clone(),
                    subject,
                    body,
                },
                payload: payload.clone(),
            });
        }
        out
    }
}

/// The call a form belongs to, for its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// SIP Call-ID.
    pub call_id: String,
    /// The caller's number.
    pub number: String,
    /// Their name.
    pub name: Option<String>,
    /// The operator (the desk's user).
    pub operator: String,
    /// When the form was saved (Unix ms).
    pub at_ms: i64,
}

/// Checks a set of forms as configured: unique ids, fields named once,
/// choices given, totals naming line fields. Returns the usable ones and
/// what is wrong with the others.
pub fn check_defs(defs: Vec<FormDef>) -> (Vec<FormDef>, Vec<String>) {
    let mut ok: Vec<FormDef> = Vec::new();
    let mut errors = Vec::new();
    for d in defs {
        let mut why = Vec::new();
        if ok.iter().any(|o| o.id == d.id) {
            why.push("its id is used by another form".to_owned());
        }
        let mut names: Vec<&str> = Vec::new();
        let line_fields = d.lines.iter().flat_map(|l| l.fields.iter());
        for f in d.fields.iter().chain(line_fields.clone()) {
            if f.kind == FieldKind::Choice && f.choices.is_empty() {
                why.push(format!("field {:?} is a choice without choices", f.name));
            }
        }
        for f in &d.fields {
            if names.contains(&f.name.as_str()) {
                why.push(format!("field {:?} is defined twice", f.name));
            }
            names.push(&f.name);
        }
        if let Some(l) = &d.lines {
            for (what, name) in [("quantity", &l.quantity), ("price", &l.price)] {
                if let Some(n) = name
                    && !l.fields.iter().any(|f| &f.name == n)
                {
                    why.push(format!("lines.{what} names no line field {n:?}"));
                }
            }
        }
        if why.is_empty() {
            ok.push(d);
        } else {
            errors.push(format!("form {:?}: {}", d.id, why.join("; ")));
        }
    }
    (ok, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"
id = "order"
title = { en = "Order", et = "Tellimus" }
queues = ["Orders"]
fields = [
  { name = "customer", label = { en = "Customer", et = "Klient" }, required = true, prefill = "{caller.name}" },
  { name = "phone", label = "Phone", type = "phone", prefill = "{caller.number}" },
  { name = "email", label = "E-mail", type = "email" },
  { name = "delivery", label = "Delivery", type = "choice", choices = ["Courier", "Pick-up"], required = true },
  { name = "date", label = "Date", type = "date" },
]
[lines]
label = { en = "Items", et = "Kaubad" }
min = 1
quantity = "quantity"
price = "price"
fields = [
  { name = "item", label = "Item", required = true },
  { name = "quantity", label = "Quantity", type = "number", required = true },
  { name = "price", label = "Price", type = "money", required = true },
]
[webhook]
url = "http://127.0.0.1:9/orders"
token = "fulfilment"
result = "order.id"
[email]
to = "orders@example.test"
subject = { en = "Order from {customer}", et = "Tellimus: {customer}" }
"#;

    fn order() -> FormDef {
        toml::from_str(ORDER).unwrap()
    }

    fn data() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("caller.number".to_owned(), "+3725551234".to_owned()),
            ("caller.name".to_owned(), "Mari Maasikas".to_owned()),
        ])
    }

    fn line(item: &str, q: &str, p: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("item".to_owned(), item.to_owned()),
            ("quantity".to_owned(), q.to_owned()),
            ("price".to_owned(), p.to_owned()),
        ])
    }

    #[test]
    fn amounts_are_counted_in_cents() {
        assert_eq!(cents("19.99"), Some(1999));
        assert_eq!(cents("19,9"), Some(1990));
        assert_eq!(cents("20"), Some(2000));
        assert_eq!(cents(".5"), Some(50));
        assert_eq!(cents("1.999"), None);
        assert_eq!(cents("abc"), None);
        assert_eq!(cents(""), None);
        assert_eq!(cents("99999999999999999999"), None, "no overflow");
        assert_eq!(money(5997), "59.97");
        assert_eq!(money(-5), "-0.05");
    }

    #[test]
    fn a_form_starts_prefilled_and_its_total_is_exact() {
        let f = order();
        let mut v = f.start(&data());
        assert_eq!(
            v.fields.get("customer").map(String::as_str),
            Some("Mari Maasikas")
        );
        assert_eq!(
            v.fields.get("phone").map(String::as_str),
            Some("+3725551234")
        );
        assert_eq!(v.lines.len(), 1);
        assert!(f.is_empty(&v), "prefills alone are not an order");
        v.lines = vec![line("Tea", "3", "19.99"), line("Cup", "1,5", "2")];
        assert!(!f.is_empty(&v));
        assert_eq!(f.total(&v), Some(5997 + 300));
        v.lines.push(line("Cup", "x", "2"));
        assert_eq!(f.total(&v), None, "a line that is not a number");
    }

    #[test]
    fn every_mistake_is_named_by_field_and_line() {
        let f = order();
        let mut v = f.start(&data());
        v.fields.insert("email".into(), "mari at example".into());
        v.fields.insert("delivery".into(), "Drone".into());
        v.fields.insert("date".into(), "15.12.2026".into());
        v.fields.insert("phone".into(), "call me".into());
        v.lines = vec![line("Tea", "two", "19.999"), BTreeMap::new()];
        let got: Vec<(String, Option<usize>, Problem)> = f
            .check(&v)
            .into_iter()
            .map(|m| (m.field, m.line, m.problem))
            .collect();
        assert_eq!(
            got,
            [
                ("phone".into(), None, Problem::NotPhone),
                ("email".into(), None, Problem::NotEmail),
                ("delivery".into(), None, Problem::NotAChoice),
                ("date".into(), None, Problem::NotDate),
                ("quantity".into(), Some(0), Problem::NotNumber),
                ("price".into(), Some(0), Problem::NotMoney),
            ]
        );
        let empty = FormValues {
            form: "order".into(),
            ..FormValues::default()
        };
        let got = f.check(&empty);
        assert!(
            got.iter()
                .any(|m| m.field == "customer" && m.problem == Problem::Missing)
        );
        assert!(got.iter().any(|m| m.problem == Problem::TooFewLines(1)));
    }

    #[test]
    fn a_saved_form_makes_a_webhook_and_an_email_with_their_own_keys() {
        let f = order();
        let mut v = f.start(&data());
        v.fields.insert("delivery".into(), "Courier".into());
        v.lines = vec![line("Tee", "3", "19.99")];
        assert!(f.check(&v).is_empty());
        let call = CallInfo {
            call_id: "c-1".into(),
            number: "+3725551234".into(),
            name: Some("Mari Maasikas".into()),
            operator: "agent".into(),
            at_ms: 1,
        };
        let items = f.deliveries(&v, &call, "et");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].key, "c-1/order/webhook");
        assert_eq!(items[1].key, "c-1/order/email");
        assert_eq!(items[0].payload["total"], "59.97");
        assert_eq!(items[0].payload["lines"][0]["item"], "Tee");
        let Delivery::Email { subject, body, to } = &items[1].delivery else {
            panic!("an e-mail")
        };
        assert_eq!(to, "orders@example.test");
        assert_eq!(subject, "Tellimus: Mari Maasikas");
        assert!(body.contains("Klient: Mari Maasikas"), "{body}");
        assert!(
            body.contains("Kaubad:\n- Tee · 3 · 19.99\n= 59.97"),
            "{body}"
        );
    }

    #[test]
    fn forms_that_cannot_work_are_named_and_left_out() {
        let mut dup = order();
        dup.title = Text::One("again".into());
        let mut bad = order();
        bad.id = "bad".into();
        bad.fields[3].choices.clear();
        if let Some(l) = bad.lines.as_mut() {
            l.price = Some("cost".into());
        }
        let (ok, errors) = check_defs(vec![order(), dup, bad]);
        assert_eq!(ok.len(), 1);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("\"order\"") && errors[0].contains("used by another"));
        assert!(errors[1].contains("without choices") && errors[1].contains("\"cost\""));
    }
}
