//! Health and smoke conditions, Gatus-style: `[STATUS] == 200`, `[RESPONSE_TIME] < 2s`,
//! `[BODY].data[0].id == 7`, `[HEADER].content-type contains json`. Parsed when the config loads,
//! so a typo is a located config error rather than a surprise during a deploy.
//!
//! Two Gatus footguns are closed on purpose: the operator needs spaces around it (and saying
//! so is an error message, not a silently different parse), and a value that is not a number
//! never compares as 0: the condition fails and says `not a number`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::json_path::JsonPath;
use super::{ProbeResult, short};

/// The placeholders a condition can start with, as written between the brackets.
const PLACEHOLDERS: [&str; 6] = [
    "STATUS",
    "RESPONSE_TIME",
    "BODY",
    "HEADER",
    "CERTIFICATE_EXPIRATION",
    "CONNECTED",
];

const OPERATORS_HELP: &str = "use ==, !=, <, <=, >, >=, contains, !contains or matches";

/// How much of a resolved value a condition's display shows.
const SHOWN_CHARS: usize = 60;

/// A condition parsed from config text. It serializes as the text it was written as.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The condition as written.
    pub text: String,
    subject: Subject,
    /// The placeholder and path as written: `[BODY].data[0].id`.
    subject_text: String,
    op: Op,
    expected: Expected,
    /// The value as written, quotes included.
    expected_text: String,
}

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
}

impl Subject {
    fn is_text(&self) -> bool {
        matches!(
            self,
            Subject::Body | Subject::BodyPath(_) | Subject::Header(_)
        )
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

    fn is_comparison(self) -> bool {
        self.is_ordering() || matches!(self, Op::Eq | Op::Ne)
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

#[derive(Debug, Clone)]
enum Expected {
    /// `[STATUS]`, or a text subject compared with `<`, `<=`, `>`, `>=`.
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

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        Parser { text }.parse()
    }

    /// Judges a probe's result. Never panics: a value that cannot be resolved (no answer, a
    /// body that is not JSON, a missing header) fails the condition and says why.
    pub fn evaluate(&self, r: &ProbeResult) -> ConditionResult {
        let (pass, shown) = self.resolve(r);
        ConditionResult {
            pass,
            display: format!(
                "{} ({shown}) {} {}",
                self.subject_text,
                self.op.symbol(),
                self.expected_text
            ),
        }
    }

    fn resolve(&self, r: &ProbeResult) -> (bool, String) {
        const NO_ANSWER: &str = "no answer";
        match &self.subject {
            Subject::Status => match r.status {
                Some(s) => (self.compare_number(f64::from(s)), s.to_string()),
                None => (false, NO_ANSWER.into()),
            },
            Subject::ResponseTime if !r.connected => (false, NO_ANSWER.into()),
            Subject::ResponseTime => (self.compare_duration(r.latency), short(r.latency)),
            Subject::CertificateExpiration => match r.cert_expires_in {
                Some(d) => (self.compare_duration(d), expiry(d)),
                None if r.connected => (false, "no certificate".into()),
                None => (false, NO_ANSWER.into()),
            },
            Subject::Connected => {
                let pass = match self.expected {
                    Expected::Bool(b) => (r.connected == b) == (self.op == Op::Eq),
                    _ => false,
                };
                (pass, r.connected.to_string())
            }
            _ if !r.connected => (false, NO_ANSWER.into()),
            Subject::Body => {
                let body = String::from_utf8_lossy(&r.body);
                self.compare_value(&Value::String(body.into_owned()))
            }
            Subject::BodyPath(path) => match serde_json::from_slice::<Value>(&r.body) {
                Err(_) if r.body_truncated => {
                    (false, "not JSON: the body was cut at 64 KiB".into())
                }
                Err(_) => (false, "not JSON".into()),
                Ok(doc) => match path.lookup(&doc) {
                    Some(v) => self.compare_value(v),
                    None => (false, "missing".into()),
                },
            },
            Subject::Header(name) => match r.header(name) {
                Some(v) => self.compare_value(&Value::String(v.to_owned())),
                None => (false, "missing".into()),
            },
        }
    }

    fn compare_number(&self, actual: f64) -> bool {
        match self.expected {
            Expected::Number(n) => self.op.holds(actual.partial_cmp(&n)),
            _ => false,
        }
    }

    fn compare_duration(&self, actual: Duration) -> bool {
        match self.expected {
            Expected::Duration(d) => self.op.holds(Some(actual.cmp(&d))),
            _ => false,
        }
    }

    /// Compares a text subject's value (a JSON value, or a string for bodies and headers).
    fn compare_value(&self, v: &Value) -> (bool, String) {
        let text = text_form(v);
        let shown = shorten(&text);
        let pass = match (&self.expected, self.op) {
            (Expected::Number(n), op) => match number_of(v) {
                Some(x) => op.holds(x.partial_cmp(n)),
                None => return (false, format!("{shown}: not a number")),
            },
            (Expected::Text { text: want, number }, Op::Eq | Op::Ne) => {
                let equal = match (number, number_of(v)) {
                    (Some(a), Some(b)) => (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()),
                    _ => text == want.as_str(),
                };
                equal == (self.op == Op::Eq)
            }
            (Expected::Text { text: want, .. }, Op::Contains | Op::NotContains) => {
                let found = match v {
                    Value::Array(items) => items.iter().any(|i| text_form(i) == want.as_str()),
                    _ => text.contains(want.as_str()),
                };
                found == (self.op == Op::Contains)
            }
            (Expected::Regex(re), _) => re.is_match(&text),
            _ => false,
        };
        (pass, shown)
    }
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

/// A JSON number, or a string that is entirely a decimal number. Nothing else is a number:
/// `abc`, `inf` and the empty string are not 0.
fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => number(s),
        _ => None,
    }
}

fn number(s: &str) -> Option<f64> {
    let s = s.trim();
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

struct Parser<'t> {
    text: &'t str,
}

impl Parser<'_> {
    fn fail(&self, byte: usize, message: impl Into<String>) -> ConditionError {
        let byte = byte.min(self.text.len());
        ConditionError {
            message: message.into(),
            offset: self.text[..byte].chars().count(),
        }
    }

    /// The byte index of the next whitespace at or after `from`, or the end.
    fn token_end(&self, from: usize) -> usize {
        self.text[from..]
            .find(char::is_whitespace)
            .map_or(self.text.len(), |p| from + p)
    }

    /// The byte index of the next non-whitespace at or after `from`, or the end.
    fn skip_space(&self, from: usize) -> usize {
        self.text[from..]
            .find(|c: char| !c.is_whitespace())
            .map_or(self.text.len(), |p| from + p)
    }

    fn parse(&self) -> Result<Condition, ConditionError> {
        let text = self.text;
        if text.trim().is_empty() {
            return Err(self.fail(0, "empty condition: write e.g. `[STATUS] == 200`"));
        }
        let start = self.skip_space(0);
        let (subject, subject_end) = self.subject(start)?;
        let subject_text = text[start..subject_end].to_owned();

        if subject_end == text.len() || text[subject_end..].trim().is_empty() {
            return Err(self.fail(
                subject_end,
                format!("missing operator after `{subject_text}`: {OPERATORS_HELP}"),
            ));
        }
        let op_start = self.skip_space(subject_end);
        let op_end = self.token_end(op_start);
        let word = &text[op_start..op_end];
        let Some(op) = Op::ALL.into_iter().find(|o| o.symbol() == word) else {
            match word {
                "=" => return Err(self.fail(op_start, "unknown operator `=`: did you mean `==`?")),
                "<>" => {
                    return Err(self.fail(op_start, "unknown operator `<>`: did you mean `!=`?"));
                }
                _ => {}
            }
            if let Some(o) = Op::ALL
                .into_iter()
                .find(|o| word.starts_with(o.symbol()) && o.symbol().len() <= 2)
            {
                return Err(self.fail(
                    op_start + o.symbol().len(),
                    format!(
                        "put spaces around the operator: `{subject_text} {} {}`",
                        o.symbol(),
                        &word[o.symbol().len()..]
                    ),
                ));
            }
            return Err(self.fail(
                op_start,
                format!("unknown operator `{word}`: {OPERATORS_HELP}"),
            ));
        };

        let value_start = self.skip_space(op_end);
        let raw = text[value_start..].trim_end();
        if raw.is_empty() {
            return Err(self.fail(op_end, format!("missing value after `{}`", op.symbol())));
        }
        let (value, quoted) = if let Some(inner) = raw.strip_prefix('"') {
            match inner.strip_suffix('"') {
                Some(v) => (v, true),
                None => {
                    return Err(
                        self.fail(value_start, "unclosed `\"`: end the quoted value with `\"`")
                    );
                }
            }
        } else {
            (raw, false)
        };
        let expected = self.expected(
            &subject,
            &subject_text,
            op,
            op_start,
            value,
            quoted,
            value_start,
        )?;
        Ok(Condition {
            text: text.to_owned(),
            subject,
            subject_text,
            op,
            expected,
            expected_text: raw.to_owned(),
        })
    }

    /// The placeholder (with its path) at `start`, and where it ends.
    fn subject(&self, start: usize) -> Result<(Subject, usize), ConditionError> {
        let text = self.text;
        let rest = &text[start..];
        if !rest.starts_with('[') {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if rest[word.len()..].starts_with('(') {
                return Err(self.fail(
                    start,
                    format!("functions such as `{word}(...)` are not supported: compare a placeholder, e.g. `[BODY].items[2].id == 7`"),
                ));
            }
            return Err(self.fail(
                start,
                "a condition starts with a placeholder: [STATUS], [RESPONSE_TIME], [BODY], [HEADER].name, [CERTIFICATE_EXPIRATION] or [CONNECTED]",
            ));
        }
        let name_len = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len() - 1);
        let name = &rest[1..=name_len];
        if !rest[1 + name_len..].starts_with(']') {
            return Err(self.fail(
                start,
                format!(
                    "unclosed `[`: write the placeholder as `[{}]`",
                    name.to_ascii_uppercase()
                ),
            ));
        }
        if !PLACEHOLDERS.contains(&name) {
            let upper = name.to_ascii_uppercase();
            let message = if PLACEHOLDERS.contains(&upper.as_str()) {
                format!("placeholders are written in capitals: `[{upper}]`")
            } else {
                let hint = match crate::config::closest(&upper, PLACEHOLDERS) {
                    Some(best) => format!("did you mean `[{best}]`?"),
                    None => format!(
                        "use one of {}",
                        PLACEHOLDERS.map(|p| format!("[{p}]")).join(", ")
                    ),
                };
                format!("unknown placeholder `[{name}]`: {hint}")
            };
            return Err(self.fail(start + 1, message));
        }
        let after = start + name_len + 2;
        let end = self.token_end(after);
        let tail = &text[after..end];
        if let Some(p) = tail.find(['=', '!', '<', '>']) {
            return Err(self.fail(
                after + p,
                "put spaces around the operator, e.g. `[STATUS] == 200`",
            ));
        }
        let subject = match name {
            "BODY" if tail.is_empty() => Subject::Body,
            "BODY" => Subject::BodyPath(
                JsonPath::parse(tail).map_err(|(m, at)| self.fail(after + at, m))?,
            ),
            "HEADER" => match tail.strip_prefix('.') {
                Some(h) if !h.is_empty() && !h.contains(['.', '[', ']']) => {
                    Subject::Header(h.to_ascii_lowercase())
                }
                _ => return Err(self.fail(after, "name the header: `[HEADER].content-type`")),
            },
            _ if !tail.is_empty() => {
                return Err(self.fail(
                    after,
                    format!(
                        "unexpected `{tail}` after `[{name}]`: only [BODY] and [HEADER] take a path"
                    ),
                ));
            }
            "STATUS" => Subject::Status,
            "RESPONSE_TIME" => Subject::ResponseTime,
            "CERTIFICATE_EXPIRATION" => Subject::CertificateExpiration,
            _ => Subject::Connected,
        };
        Ok((subject, end))
    }

    #[allow(clippy::too_many_arguments)]
    fn expected(
        &self,
        subject: &Subject,
        subject_text: &str,
        op: Op,
        op_at: usize,
        value: &str,
        quoted: bool,
        value_at: usize,
    ) -> Result<Expected, ConditionError> {
        let symbol = op.symbol();
        if !subject.is_text() && !op.is_comparison() {
            return Err(self.fail(
                op_at,
                format!("`{symbol}` works on text ([BODY], [BODY].path, [HEADER].name), not on `{subject_text}`"),
            ));
        }
        match subject {
            Subject::Status => value
                .parse::<u16>()
                .map(|n| Expected::Number(f64::from(n)))
                .map_err(|_| {
                    self.fail(
                        value_at,
                        format!("`{value}` is not a status code: write a number such as 200"),
                    )
                }),
            Subject::ResponseTime | Subject::CertificateExpiration => crate::duration::parse(value)
                .map(Expected::Duration)
                .map_err(|m| {
                    // A bare number is milliseconds in Gatus, where these conditions come from:
                    // suggest exactly that instead of a guess between units.
                    let bare = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit());
                    let m = match subject {
                        Subject::ResponseTime if bare => format!(
                            "`{value}` has no unit: response times are written with one, e.g. {value}ms (units: ms, s, m, h)"
                        ),
                        _ => m,
                    };
                    self.fail(value_at, m)
                }),
            Subject::Connected => {
                if op.is_ordering() {
                    return Err(self.fail(op_at, "`[CONNECTED]` is true or false: use == or !="));
                }
                match value {
                    "true" => Ok(Expected::Bool(true)),
                    "false" => Ok(Expected::Bool(false)),
                    _ => Err(self.fail(value_at, format!("`{value}` is not true or false"))),
                }
            }
            Subject::Body | Subject::BodyPath(_) | Subject::Header(_) => match op {
                _ if op.is_ordering() => number(value).map(Expected::Number).ok_or_else(|| {
                    self.fail(
                        value_at,
                        format!("`{symbol}` compares numbers, and `{value}` is not a number"),
                    )
                }),
                Op::Matches => regex_lite::Regex::new(value)
                    .map(Expected::Regex)
                    .map_err(|e| {
                        self.fail(value_at, format!("`{value}` is not a valid regex: {e}"))
                    }),
                _ => Ok(Expected::Text {
                    text: value.to_owned(),
                    number: if quoted { None } else { number(value) },
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, ms: u64, body: &str) -> ProbeResult {
        ProbeResult {
            connected: true,
            status: Some(status),
            latency: Duration::from_millis(ms),
            headers: vec![
                (
                    "content-type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                ("x-count".into(), "12".into()),
            ],
            body: body.as_bytes().to_vec(),
            ..ProbeResult::default()
        }
    }

    fn check(cond: &str, r: &ProbeResult) -> ConditionResult {
        Condition::parse(cond)
            .unwrap_or_else(|e| panic!("{cond}: {e:?}"))
            .evaluate(r)
    }

    fn holds(cond: &str, r: &ProbeResult) -> bool {
        check(cond, r).pass
    }

    const DOC: &str = r#"{"ok":true,"status":"UP","count":3,"ratio":"0.5","name":"abc","data":[{"id":7}],"tags":["a","b"],"none":null}"#;

    #[test]
    fn status_with_every_comparison() {
        let r = answer(503, 10, "");
        assert!(holds("[STATUS] == 503", &r));
        assert!(holds("[STATUS] != 200", &r));
        assert!(holds("[STATUS] < 504", &r));
        assert!(holds("[STATUS] <= 503", &r));
        assert!(holds("[STATUS] > 500", &r));
        assert!(holds("[STATUS] >= 503", &r));
        assert!(!holds("[STATUS] < 500", &r));
        assert_eq!(
            check("[STATUS] == 200", &r).display,
            "[STATUS] (503) == 200"
        );
    }

    #[test]
    fn response_time_needs_a_unit_and_shows_the_latency() {
        let r = answer(200, 2400, "");
        let c = check("[RESPONSE_TIME] < 2s", &r);
        assert!(!c.pass);
        assert_eq!(c.display, "[RESPONSE_TIME] (2.4s) < 2s");
        assert!(holds("[RESPONSE_TIME] < 2500ms", &r));
        assert!(holds("[RESPONSE_TIME] >= 2s", &r));
        assert!(holds("[RESPONSE_TIME] > 1s", &r));
        assert!(holds("[RESPONSE_TIME] <= 2.4s", &r));
    }

    #[test]
    fn body_text_operators() {
        let r = answer(200, 5, "<h1>Welcome to HotDash</h1>");
        assert!(holds("[BODY] contains HotDash", &r));
        assert!(holds("[BODY] !contains Error", &r));
        assert!(!holds("[BODY] !contains Welcome", &r));
        assert!(holds("[BODY] matches ^<h1>Welcome", &r));
        assert!(!holds("[BODY] matches ^Welcome", &r));
        assert!(holds(r#"[BODY] contains "to HotDash""#, &r));
        assert!(holds("[BODY] == <h1>Welcome to HotDash</h1>", &r));
        assert!(holds("[BODY] != nope", &r));
        assert!(holds("[BODY] == 42", &answer(200, 5, "42\n")));
        assert!(holds("[BODY] > 41", &answer(200, 5, "42\n")));
    }

    #[test]
    fn json_paths_compare_by_type_without_coercion() {
        let r = answer(200, 5, DOC);
        assert!(holds("[BODY].ok == true", &r));
        assert!(holds("[BODY].status == UP", &r));
        assert!(holds(r#"[BODY].status == "UP""#, &r));
        assert!(holds("[BODY].count == 3", &r));
        assert!(holds("[BODY].count == 3.0", &r));
        assert!(
            !holds(r#"[BODY].count == "3.0""#, &r),
            "a quoted value compares as text"
        );
        assert!(holds("[BODY].count < 5", &r));
        assert!(holds("[BODY].count >= 3", &r));
        assert!(
            holds("[BODY].ratio < 1", &r),
            "a numeric string is a number"
        );
        assert!(holds("[BODY].data[0].id == 7", &r));
        assert!(holds("[BODY].tags contains b", &r));
        assert!(
            !holds("[BODY].tags contains ab", &r),
            "an array contains elements, not substrings"
        );
        assert!(holds("[BODY].tags !contains c", &r));
        assert!(holds("[BODY].none == null", &r));
        assert!(holds("[BODY].name matches ^a.c$", &r));
        // A string is never 0: the Gatus footgun.
        let c = check("[BODY].name < 5", &r);
        assert!(!c.pass);
        assert_eq!(c.display, "[BODY].name (abc: not a number) < 5");
        let c = check("[BODY].missing == 1", &r);
        assert_eq!(
            (c.pass, c.display.as_str()),
            (false, "[BODY].missing (missing) == 1")
        );
        assert!(
            !holds("[BODY].missing != 1", &r),
            "a missing value fails whatever the operator"
        );
    }

    #[test]
    fn json_path_on_a_body_that_is_not_json_fails_with_the_reason() {
        let c = check("[BODY].ok == true", &answer(200, 5, "<html>oops</html>"));
        assert_eq!(
            (c.pass, c.display.as_str()),
            (false, "[BODY].ok (not JSON) == true")
        );
        let mut cut = answer(200, 5, "{\"ok\": tr");
        cut.body_truncated = true;
        assert!(
            check("[BODY].ok == true", &cut)
                .display
                .contains("cut at 64 KiB")
        );
    }

    #[test]
    fn headers_by_any_case() {
        let r = answer(200, 5, "");
        assert!(holds("[HEADER].Content-Type contains json", &r));
        assert!(holds("[HEADER].content-type matches ^application/", &r));
        assert!(holds("[HEADER].x-count > 10", &r));
        assert!(holds("[HEADER].x-count == 12", &r));
        let c = check("[HEADER].x-missing == 1", &r);
        assert_eq!(
            (c.pass, c.display.as_str()),
            (false, "[HEADER].x-missing (missing) == 1")
        );
    }

    #[test]
    fn certificate_expiration_and_connected() {
        let mut r = answer(200, 5, "");
        r.cert_expires_in = Some(Duration::from_secs(100 * 3600 + 5));
        let c = check("[CERTIFICATE_EXPIRATION] > 72h", &r);
        assert_eq!(
            (c.pass, c.display.as_str()),
            (true, "[CERTIFICATE_EXPIRATION] (100h) > 72h")
        );
        assert!(!holds("[CERTIFICATE_EXPIRATION] > 168h", &r));
        let plain = answer(200, 5, "");
        assert_eq!(
            check("[CERTIFICATE_EXPIRATION] > 72h", &plain).display,
            "[CERTIFICATE_EXPIRATION] (no certificate) > 72h"
        );
        assert!(holds("[CONNECTED] == true", &r));
        assert!(!holds("[CONNECTED] != true", &r));
        let refused = ProbeResult::failed(Duration::from_millis(1), "connection refused");
        assert!(holds("[CONNECTED] == false", &refused));
        assert_eq!(
            check("[CONNECTED] == true", &refused).display,
            "[CONNECTED] (false) == true"
        );
    }

    #[test]
    fn no_answer_fails_every_response_condition() {
        let refused = ProbeResult::failed(Duration::from_millis(1), "connection refused");
        for cond in [
            "[STATUS] == 200",
            "[STATUS] != 200",
            "[RESPONSE_TIME] < 2s",
            "[BODY] !contains x",
            "[BODY].ok == true",
            "[HEADER].a != b",
        ] {
            let c = check(cond, &refused);
            assert!(!c.pass, "{cond}");
            assert!(c.display.contains("(no answer)"), "{}", c.display);
        }
    }

    #[test]
    fn long_bodies_are_shortened_in_the_display() {
        let body = "x".repeat(500);
        let c = check("[BODY] contains y", &answer(200, 5, &body));
        assert!(c.display.len() < 120, "{}", c.display);
        assert!(c.display.contains('…'));
    }

    #[test]
    fn serializes_as_written() {
        let c = Condition::parse("[BODY].ok   ==   true ").unwrap();
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            "\"[BODY].ok   ==   true \""
        );
        assert_eq!(c.to_string(), "[BODY].ok   ==   true ");
    }

    fn error(text: &str) -> ConditionError {
        Condition::parse(text).expect_err(text)
    }

    #[test]
    fn bad_conditions_say_what_and_where() {
        let cases: &[(&str, &str, usize)] = &[
            ("", "empty condition", 0),
            ("   ", "empty condition", 0),
            ("[STATUS]", "missing operator after `[STATUS]`", 8),
            ("[STATUS] 200", "unknown operator `200`", 9),
            (
                "[STATSU] == 200",
                "unknown placeholder `[STATSU]`: did you mean `[STATUS]`?",
                1,
            ),
            ("[FOO] == 1", "unknown placeholder `[FOO]`: use one of", 1),
            (
                "[status] == 200",
                "placeholders are written in capitals: `[STATUS]`",
                1,
            ),
            ("[RESPONSE_TIME] < 2", "`2` has no unit", 18),
            ("[RESPONSE_TIME] < 2d", "unknown unit `d`", 18),
            ("[BODY] matches ([a-z", "is not a valid regex", 15),
            ("[STATUS] == abc", "`abc` is not a status code", 12),
            ("[STATUS == 200", "unclosed `[`", 0),
            ("[STATUS]==200", "put spaces around the operator", 8),
            (
                "[STATUS] ==200",
                "put spaces around the operator: `[STATUS] == 200`",
                11,
            ),
            ("[BODY].ok==true", "put spaces around the operator", 9),
            (
                "[STATUS] = 200",
                "unknown operator `=`: did you mean `==`?",
                9,
            ),
            ("[STATUS] is 200", "unknown operator `is`", 9),
            ("[STATUS] ==", "missing value after `==`", 11),
            ("[STATUS] contains 20", "`contains` works on text", 9),
            ("[CONNECTED] == yes", "`yes` is not true or false", 15),
            ("[CONNECTED] < true", "is true or false: use == or !=", 12),
            (
                "[BODY].count < many",
                "`<` compares numbers, and `many` is not a number",
                15,
            ),
            ("[BODY]. == 1", "empty key in the JSON path", 6),
            ("[BODY].items[x] == 1", "not an array index", 13),
            ("[HEADER] == 1", "name the header", 8),
            (
                "[STATUS].code == 1",
                "only [BODY] and [HEADER] take a path",
                8,
            ),
            ("STATUS == 200", "a condition starts with a placeholder", 0),
            (
                "len([BODY].data) < 5",
                "functions such as `len(...)` are not supported",
                0,
            ),
            (r#"[BODY] == "abc"#, "unclosed `\"`", 10),
        ];
        for (text, message, offset) in cases {
            let e = error(text);
            assert!(
                e.message.contains(message),
                "{text}: got {:?}, want {message:?}",
                e.message
            );
            assert_eq!(e.offset, *offset, "{text}: offset of {:?}", e.message);
        }
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let e = error("[BODY].é==1");
        assert_eq!(e.offset, 8);
    }
}
