//! Health and smoke conditions, Gatus-style: `[STATUS] == any(200, 429)`, `[RESPONSE_TIME] < 2s`,
//! `[BODY].data[0].id == 7`, `len([BODY].items) > 0`, `[BODY].name == pat(john*)`,
//! `[BODY].age == [BODY].id`. Parsed when the config loads ([`parse`]), so a typo is a located
//! config error rather than a surprise during a deploy.
//!
//! Nothing is ever read as literal text by accident: a value that looks like a function call or a
//! placeholder is either evaluated or refused at load, pointing at the part shipit does not know
//! (Gatus compares such values as text, so `[BODY] != pat(*error*)` passes on an error page).
//! Two Gatus footguns are closed on purpose: the operator needs spaces around it, and a value
//! that is not a number never compares as 0: the condition fails and says `not a number`.

mod parse;
mod pattern;
mod words;

#[cfg(test)]
mod gatus_tests;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use self::pattern::Pattern;
use super::json_path::JsonPath;
use super::{ProbeResult, short};

/// How much of a resolved value a condition's display shows.
const SHOWN_CHARS: usize = 60;

const NO_ANSWER: &str = "no answer";

/// A condition parsed from config text. It serializes as the text it was written as.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The condition as written.
    pub text: String,
    subject: Subject,
    /// The placeholder, path and function as written: `len([BODY].data)`.
    subject_text: String,
    op: Op,
    expected: Expected,
    /// The value as written, quotes included.
    expected_text: String,
}

/// What a condition (or a placeholder on its right) reads from a probe.
#[derive(Debug, Clone)]
enum Subject {
    Status,
    ResponseTime,
    Body,
    BodyPath(JsonPath),
    /// The header name, in lower case.
    Header(String),
    CertificateExpiration,
    Connected,
    /// The address the probe's connection went to.
    Ip,
    /// `len(...)` of [`Subject::Body`], [`Subject::BodyPath`] or [`Subject::Header`].
    Len(Box<Subject>),
    /// `has(...)` of the same.
    Has(Box<Subject>),
}

/// What kind of value a subject resolves to, which decides the operators and values it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Duration,
    Bool,
    Text,
}

impl Subject {
    fn kind(&self) -> Kind {
        match self {
            Subject::Status | Subject::Len(_) => Kind::Number,
            Subject::ResponseTime | Subject::CertificateExpiration => Kind::Duration,
            Subject::Connected | Subject::Has(_) => Kind::Bool,
            Subject::Body | Subject::BodyPath(_) | Subject::Header(_) | Subject::Ip => Kind::Text,
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    Matches,
}

impl Op {
    /// Longest symbols first, so `<=` is not read as `<`.
    const ALL: [Op; 9] = [
        Op::Eq,
        Op::Ne,
        Op::Le,
        Op::Ge,
        Op::Lt,
        Op::Gt,
        Op::NotContains,
        Op::Contains,
        Op::Matches,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::NotContains => "!contains",
            Op::Matches => "matches",
        }
    }

    fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }

    fn is_equality(self) -> bool {
        matches!(self, Op::Eq | Op::Ne)
    }

    /// Whether `actual <op> expected` holds, given how `actual` orders against `expected`.
    fn holds(self, ord: Option<Ordering>) -> bool {
        let Some(ord) = ord else { return false };
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Contains | Op::NotContains | Op::Matches => false,
        }
    }
}

/// The right-hand side, typed for the subject when the config loads.
#[derive(Debug, Clone)]
enum Expected {
    /// A number subject, or a text subject compared with `<`, `<=`, `>`, `>=`.
    Number(f64),
    Duration(Duration),
    Bool(bool),
    /// A text subject with `==`, `!=`, `contains`, `!contains`. `number` is set when the value
    /// was written unquoted and reads as a number, so `1.0` equals a JSON `1`.
    Text {
        text: String,
        number: Option<f64>,
    },
    Regex(regex_lite::Regex),
    /// `pat(...)`, with `==` or `!=`.
    Pattern(Pattern),
    /// `any(a, b, ...)`, with `==` or `!=`: each option typed like a plain value.
    Any(Vec<Expected>),
    /// Another placeholder, resolved from the same probe.
    Placeholder(Subject),
}

/// Why a condition text does not parse, and where (a character offset into the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    pub message: String,
    pub offset: usize,
}

/// One condition judged against one probe.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConditionResult {
    pub pass: bool,
    /// Gatus's display: the condition with the resolved value in parentheses,
    /// `[STATUS] (503) == 200`.
    pub display: String,
}

/// A subject's value in one probe.
enum Actual<'r> {
    Number(f64),
    Duration(Duration),
    /// A certificate's time left: compared as a duration, shown in whole hours the Gatus way.
    TimeLeft(Duration),
    Bool(bool),
    /// A JSON value, or a string for bodies, headers and addresses.
    Value(Cow<'r, Value>),
}

impl Actual<'_> {
    /// The value as a number, when it is one (never 0 for text that is not a number).
    fn number(&self) -> Option<f64> {
        match self {
            Actual::Number(n) => Some(*n),
            Actual::Value(v) => number_of(v),
            Actual::Duration(_) | Actual::TimeLeft(_) | Actual::Bool(_) => None,
        }
    }

    /// The value as text: what `pat(...)`, `contains` and text equality look at.
    fn text(&self) -> Cow<'_, str> {
        match self {
            Actual::Number(n) => Cow::Owned(format_number(*n)),
            Actual::Duration(d) => Cow::Owned(short(*d)),
            Actual::TimeLeft(d) => Cow::Owned(expiry(*d)),
            Actual::Bool(b) => Cow::Owned(b.to_string()),
            Actual::Value(v) => text_form(v),
        }
    }

    /// How the display shows it between the parentheses.
    fn shown(&self) -> String {
        match self {
            Actual::Duration(_) | Actual::TimeLeft(_) => self.text().into_owned(),
            _ => shorten(&self.text()),
        }
    }
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        parse::Parser::new(text).parse()
    }

    /// Whether this condition is about the connection itself (`[CONNECTED] == false`): then a
    /// probe that got no answer is judged by the conditions, not failed for its error.
    pub fn judges_connection(&self) -> bool {
        matches!(self.subject, Subject::Connected)
    }

    /// Judges a probe's result. Never panics: a value that cannot be resolved (no answer, a
    /// body that is not JSON, a missing header) fails the condition and says why.
    pub fn evaluate(&self, r: &ProbeResult) -> ConditionResult {
        let left = resolve(&self.subject, r);
        let (pass, shown, right_shown) = match (&left, &self.expected) {
            (Err(why), Expected::Placeholder(other)) => {
                let right = resolve(other, r).map_or_else(|e| e, |v| v.shown());
                (false, why.clone(), Some(right))
            }
            (Err(why), _) => (false, why.clone(), None),
            (Ok(actual), Expected::Placeholder(other)) => match resolve(other, r) {
                Ok(right) => {
                    let (pass, left_note, right_note) = compare_actuals(self.op, actual, &right);
                    let noted = |v: &Actual<'_>, note: Option<&str>| match note {
                        Some(n) => format!("{}: {n}", v.shown()),
                        None => v.shown(),
                    };
                    (
                        pass,
                        noted(actual, left_note),
                        Some(noted(&right, right_note)),
                    )
                }
                Err(why) => (false, actual.shown(), Some(why)),
            },
            (Ok(actual), expected) => match compare(self.op, actual, expected) {
                Ok(pass) => (pass, actual.shown(), None),
                Err(note) => (false, format!("{}: {note}", actual.shown()), None),
            },
        };
        let right = match right_shown {
            Some(v) => format!("{} ({v})", self.expected_text),
            None => self.expected_text.clone(),
        };
        ConditionResult {
            pass,
            display: format!(
                "{} ({shown}) {} {right}",
                self.subject_text,
                self.op.symbol()
            ),
        }
    }
}

/// A subject's value in `r`, or why there is none (`no answer`, `not JSON`, `missing`).
fn resolve<'r>(subject: &Subject, r: &'r ProbeResult) -> Result<Actual<'r>, String> {
    match subject {
        Subject::Connected => return Ok(Actual::Bool(r.connected)),
        Subject::CertificateExpiration if r.connected && r.cert_expires_in.is_none() => {
            return Err("no certificate".into());
        }
        _ if !r.connected => return Err(NO_ANSWER.into()),
        _ => {}
    }
    match subject {
        Subject::Status => r
            .status
            .map(|s| Actual::Number(f64::from(s)))
            .ok_or_else(|| NO_ANSWER.into()),
        Subject::ResponseTime => Ok(Actual::Duration(r.latency)),
        Subject::CertificateExpiration => r
            .cert_expires_in
            .map(Actual::TimeLeft)
            .ok_or_else(|| "no certificate".into()),
        Subject::Ip => {
            r.ip.map(|ip| Actual::Value(Cow::Owned(Value::String(ip.to_string()))))
                .ok_or_else(|| "no address".into())
        }
        Subject::Body => Ok(Actual::Value(Cow::Owned(Value::String(body_text(r))))),
        Subject::BodyPath(path) => {
            let doc = body_json(r)?;
            match path.lookup(&doc) {
                Some(v) => Ok(Actual::Value(Cow::Owned(v.clone()))),
                None => Err("missing".into()),
            }
        }
        Subject::Header(name) => r
            .header(name)
            .map(|v| Actual::Value(Cow::Owned(Value::String(v.to_owned()))))
            .ok_or_else(|| "missing".into()),
        Subject::Len(inner) => length(inner, r).map(|n| Actual::Number(n as f64)),
        Subject::Has(inner) => has(inner, r).map(Actual::Bool),
        Subject::Connected => Ok(Actual::Bool(r.connected)),
    }
}

/// The body as text, trimmed of surrounding whitespace as Gatus trims it.
fn body_text(r: &ProbeResult) -> String {
    String::from_utf8_lossy(&r.body).trim().to_owned()
}

fn body_json(r: &ProbeResult) -> Result<Value, String> {
    serde_json::from_slice::<Value>(&r.body).map_err(|_| {
        if r.body_truncated {
            "not JSON: the body was cut at 64 KiB".to_owned()
        } else {
            "not JSON".to_owned()
        }
    })
}

/// `len(...)`: characters of a string, elements of an array, keys of an object, characters of
/// the text of a number or boolean (as Gatus counts them). A body that is not JSON counts its
/// characters.
fn length(inner: &Subject, r: &ProbeResult) -> Result<usize, String> {
    let of_value = |v: &Value| match v {
        Value::String(s) => Ok(s.chars().count()),
        Value::Array(items) => Ok(items.len()),
        Value::Object(keys) => Ok(keys.len()),
        Value::Null => Err("null".to_owned()),
        other => Ok(other.to_string().chars().count()),
    };
    match inner {
        Subject::Body => match serde_json::from_slice::<Value>(&r.body) {
            Ok(doc @ (Value::Array(_) | Value::Object(_))) => of_value(&doc),
            _ => Ok(body_text(r).chars().count()),
        },
        Subject::BodyPath(path) => match path.lookup(&body_json(r)?) {
            Some(v) => of_value(v),
            None => Err("missing".into()),
        },
        Subject::Header(name) => r
            .header(name)
            .map(|v| v.chars().count())
            .ok_or_else(|| "missing".into()),
        _ => Err("no length".into()),
    }
}

/// `has(...)`: the path leads to a value that is not `null` (Gatus's rule), the header was
/// sent, or the body is not empty. A body that is not JSON is not an answer to `has` of a path.
fn has(inner: &Subject, r: &ProbeResult) -> Result<bool, String> {
    match inner {
        Subject::Body => Ok(!body_text(r).is_empty()),
        Subject::BodyPath(path) => Ok(path.lookup(&body_json(r)?).is_some_and(|v| !v.is_null())),
        Subject::Header(name) => Ok(r.header(name).is_some()),
        _ => Err("cannot tell".into()),
    }
}

/// `actual <op> expected` for a typed right-hand side; `Err` carries why the value could not
/// be compared (`not a number`).
fn compare(op: Op, actual: &Actual<'_>, expected: &Expected) -> Result<bool, &'static str> {
    let pass = match (expected, actual) {
        (Expected::Any(options), _) => {
            let found = options
                .iter()
                .any(|o| compare(Op::Eq, actual, o) == Ok(true));
            found == (op == Op::Eq)
        }
        (Expected::Pattern(p), _) => p.matches(&actual.text()) == (op == Op::Eq),
        (Expected::Number(n), _) => match actual.number() {
            Some(x) => op.holds(x.partial_cmp(n)),
            None => return Err("not a number"),
        },
        (Expected::Duration(d), Actual::Duration(x) | Actual::TimeLeft(x)) => {
            op.holds(Some(x.cmp(d)))
        }
        (Expected::Bool(b), Actual::Bool(x)) => (x == b) == (op == Op::Eq),
        (Expected::Text { text: want, number }, Actual::Value(v)) => match op {
            Op::Eq | Op::Ne => {
                let equal = match (number, number_of(v)) {
                    (Some(a), Some(b)) => same_number(*a, b),
                    _ => text_form(v) == want.as_str(),
                };
                equal == (op == Op::Eq)
            }
            Op::Contains | Op::NotContains => {
                let found = match v.as_ref() {
                    Value::Array(items) => items.iter().any(|i| text_form(i) == want.as_str()),
                    other => text_form(other).contains(want.as_str()),
                };
                found == (op == Op::Contains)
            }
            _ => false,
        },
        (Expected::Regex(re), _) => re.is_match(&actual.text()),
        // The parser types every value for its subject; a mismatch cannot pass.
        _ => false,
    };
    Ok(pass)
}

/// Placeholder against placeholder: numbers when both sides are numbers, else text for `==`
/// and `!=`; the ordering operators need two numbers, and the notes say which side was not one.
fn compare_actuals(
    op: Op,
    a: &Actual<'_>,
    b: &Actual<'_>,
) -> (bool, Option<&'static str>, Option<&'static str>) {
    const NAN: Option<&str> = Some("not a number");
    match (a.number(), b.number()) {
        (Some(x), Some(y)) if op.is_ordering() => (op.holds(x.partial_cmp(&y)), None, None),
        (Some(x), Some(y)) => (same_number(x, y) == (op == Op::Eq), None, None),
        (x, y) if op.is_ordering() => (
            false,
            if x.is_none() { NAN } else { None },
            if y.is_none() { NAN } else { None },
        ),
        _ => ((a.text() == b.text()) == (op == Op::Eq), None, None),
    }
}

fn same_number(a: f64, b: f64) -> bool {
    (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs())
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// A JSON value as text: strings bare, everything else as JSON (`true`, `7`, `null`, `[1,2]`).
fn text_form(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

/// `200`, `3`, `0.5`: whole numbers without a fraction.
fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

/// A JSON number, or a string that is entirely a number. Nothing else is a number: `abc`,
/// `inf` and the empty string are not 0.
fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => number(s),
        _ => None,
    }
}

/// A decimal number (`12`, `-0.5`, `1e3`), or an integer written with Gatus's (Go's) base
/// prefixes `0x`, `0o` or `0b`. A leading zero is decimal: `010` is ten (Go reads eight).
fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        let Some(digits) = unsigned
            .strip_prefix(prefix)
            .or_else(|| unsigned.strip_prefix(&prefix.to_ascii_uppercase()))
        else {
            continue;
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let n = u64::from_str_radix(digits, radix).ok()? as f64;
        return Some(if negative { -n } else { n });
    }
    let numeric = !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if !numeric {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// At most [`SHOWN_CHARS`] characters on one line. Secrets are masked before the cut: once a
/// secret is cut in half, no later redaction can recognise it.
fn shorten(text: &str) -> String {
    let one_line = crate::secret::redact(text)
        .replace('\r', "")
        .replace('\n', "\\n");
    if one_line.chars().count() <= SHOWN_CHARS {
        one_line
    } else {
        let cut: String = one_line.chars().take(SHOWN_CHARS).collect();
        format!("{cut}…")
    }
}

/// A certificate's time left, the Gatus way: whole hours (`2159h`), or less when it is short.
fn expiry(d: Duration) -> String {
    let hours = d.as_secs() / 3600;
    if hours >= 1 {
        format!("{hours}h")
    } else {
        short(d)
    }
}
