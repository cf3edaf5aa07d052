//! Condition text → [`Condition`]: the placeholder (or `len(...)`/`has(...)` of one), the
//! operator, and the value typed for the placeholder (`any(...)`, `pat(...)`, another
//! placeholder, or a plain value). Every error carries the character offset of the bad part.

use super::pattern::Pattern;
use super::words::{
    function_call, looks_like_placeholder, opens_a_call, readable_millis, split_options,
};
use super::{Condition, ConditionError, Expected, Kind, Op, Subject};
use crate::probe::json_path::JsonPath;

/// The placeholders a condition can use, as written between the brackets.
const PLACEHOLDERS: [&str; 7] = [
    "STATUS",
    "RESPONSE_TIME",
    "BODY",
    "HEADER",
    "CERTIFICATE_EXPIRATION",
    "CONNECTED",
    "IP",
];

/// Gatus placeholders shipit refuses, each with the reason.
const REFUSED: [(&str, &str); 3] = [
    (
        "DNS_RCODE",
        "`[DNS_RCODE]` is the answer code of a Gatus DNS check, and shipit's probes are HTTP requests: there is no DNS answer to compare; check the status instead, e.g. `[STATUS] == 200`",
    ),
    (
        "DOMAIN_EXPIRATION",
        "`[DOMAIN_EXPIRATION]` needs a WHOIS lookup, which shipit's HTTP probes do not make; watch the domain's renewal at the registrar, or check the certificate with `[CERTIFICATE_EXPIRATION] > 72h`",
    ),
    (
        "CONTEXT",
        "`[CONTEXT]` holds values stored by earlier steps of a Gatus suite, and shipit's smoke checks do not share values: compare with a written value",
    ),
];

const OPERATORS_HELP: &str = "use ==, !=, <, <=, >, >=, contains, !contains or matches";

const START_HELP: &str = "a condition starts with a placeholder: [STATUS], [RESPONSE_TIME], [BODY], [BODY].path, [HEADER].name, [CERTIFICATE_EXPIRATION], [CONNECTED], [IP], or len(...) / has(...) of [BODY], [BODY].path or [HEADER].name";

const FUNCTIONS_HELP: &str = "shipit knows len(...) and has(...) on either side, and any(...) and pat(...) after the operator";

/// Where a placeholder's path ends: at whitespace, or also at `)` inside `len(...)`/`has(...)`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Space,
    SpaceOrParen,
}

pub(super) struct Parser<'t> {
    text: &'t str,
}

impl<'t> Parser<'t> {
    pub(super) fn new(text: &'t str) -> Parser<'t> {
        Parser { text }
    }

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

    pub(super) fn parse(&self) -> Result<Condition, ConditionError> {
        let text = self.text;
        if text.trim().is_empty() {
            return Err(self.fail(0, "empty condition: write e.g. `[STATUS] == 200`"));
        }
        let start = self.skip_space(0);
        let (subject, subject_end) = self.operand(start, End::Space)?;
        let subject_text = text[start..subject_end].to_owned();
        if let Some(p) = text[subject_end..self.token_end(subject_end)].find(['=', '!', '<', '>']) {
            return Err(self.fail(
                subject_end + p,
                "put spaces around the operator, e.g. `[STATUS] == 200`",
            ));
        }

        if text[subject_end..].trim().is_empty() {
            return Err(self.fail(
                subject_end,
                format!("missing operator after `{subject_text}`: {OPERATORS_HELP}"),
            ));
        }
        let op_start = self.skip_space(subject_end);
        let op_end = self.token_end(op_start);
        let op = self.operator(op_start, op_end, &subject_text)?;

        let value_start = self.skip_space(op_end);
        let raw = text[value_start..].trim_end();
        if raw.is_empty() {
            return Err(self.fail(op_end, format!("missing value after `{}`", op.symbol())));
        }
        let expected = self.value(&subject, &subject_text, op, op_start, raw, value_start)?;
        Ok(Condition {
            text: text.to_owned(),
            subject,
            subject_text,
            op,
            expected,
            expected_text: raw.to_owned(),
        })
    }

    fn operator(&self, at: usize, end: usize, subject_text: &str) -> Result<Op, ConditionError> {
        let word = &self.text[at..end];
        if let Some(op) = Op::ALL.into_iter().find(|o| o.symbol() == word) {
            return Ok(op);
        }
        match word {
            "=" => return Err(self.fail(at, "unknown operator `=`: did you mean `==`?")),
            "<>" => return Err(self.fail(at, "unknown operator `<>`: did you mean `!=`?")),
            _ => {}
        }
        if let Some(o) = Op::ALL
            .into_iter()
            .find(|o| word.starts_with(o.symbol()) && o.symbol().len() <= 2)
        {
            return Err(self.fail(
                at + o.symbol().len(),
                format!(
                    "put spaces around the operator: `{subject_text} {} {}`",
                    o.symbol(),
                    &word[o.symbol().len()..]
                ),
            ));
        }
        // A misspelt word operator (`contians`, `machtes`) gets its name back.
        let words = Op::ALL.into_iter().map(Op::symbol).filter(|s| s.len() > 2);
        if let Some(meant) = crate::suggest::closest(word, words) {
            return Err(self.fail(
                at,
                format!("unknown operator `{word}`: did you mean `{meant}`? ({OPERATORS_HELP})"),
            ));
        }
        Err(self.fail(at, format!("unknown operator `{word}`: {OPERATORS_HELP}")))
    }

    /// A placeholder, or `len(...)`/`has(...)` of one, starting at `start`; and where it ends.
    fn operand(&self, start: usize, end: End) -> Result<(Subject, usize), ConditionError> {
        let rest = &self.text[start..];
        if rest.starts_with('[') {
            return self.placeholder(start, end);
        }
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !rest[word.len()..].starts_with('(') {
            return Err(self.fail(start, START_HELP));
        }
        let inner_start = start + word.len() + 1;
        let wrap: fn(Box<Subject>) -> Subject = match word.as_str() {
            "len" => Subject::Len,
            "has" => Subject::Has,
            "any" | "pat" => {
                return Err(self.fail(
                    start,
                    format!(
                        "`{word}(...)` goes after the operator: write the placeholder first, e.g. `[STATUS] == {}`",
                        if word == "any" { "any(200, 429)" } else { "pat(2*)" }
                    ),
                ));
            }
            _ => {
                return Err(self.fail(
                    start,
                    format!("unknown function `{word}(...)`: {FUNCTIONS_HELP}"),
                ));
            }
        };
        if !self.text[inner_start..].starts_with('[') {
            return Err(self.fail(
                inner_start,
                format!("`{word}(...)` takes a placeholder: `{word}([BODY].items)`"),
            ));
        }
        let (inner, inner_end) = self.placeholder(inner_start, End::SpaceOrParen)?;
        if !self.text[inner_end..].starts_with(')') {
            return Err(self.fail(
                inner_end,
                format!("close `{word}(` with `)`: `{word}([BODY].items)`"),
            ));
        }
        if !matches!(
            inner,
            Subject::Body | Subject::BodyPath(_) | Subject::Header(_)
        ) {
            return Err(self.fail(
                inner_start,
                format!(
                    "`{word}(...)` takes [BODY], [BODY].path or [HEADER].name, not `{}`",
                    &self.text[inner_start..inner_end]
                ),
            ));
        }
        Ok((wrap(Box::new(inner)), inner_end + 1))
    }

    /// The placeholder (with its path) at `start`, and where it ends.
    fn placeholder(&self, start: usize, end: End) -> Result<(Subject, usize), ConditionError> {
        let text = self.text;
        let rest = &text[start..];
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
            let message = if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == upper) {
                (*why).to_owned()
            } else if PLACEHOLDERS.contains(&upper.as_str()) {
                format!("placeholders are written in capitals: `[{upper}]`")
            } else {
                let hint = match crate::suggest::closest(&upper, PLACEHOLDERS) {
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
        let stop = match end {
            End::Space => self.token_end(after),
            End::SpaceOrParen => text[after..]
                .find(|c: char| c.is_whitespace() || c == ')')
                .map_or(text.len(), |p| after + p),
        };
        let tail = &text[after..stop];
        if let Some(p) = tail.find(['=', '!', '<', '>']) {
            return Err(self.fail(
                after + p,
                "put spaces around the operator, e.g. `[STATUS] == 200`",
            ));
        }
        if end == End::Space
            && let Some(p) = tail.find(')')
        {
            return Err(self.fail(after + p, "`)` without a function: remove it"));
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
            "IP" => Subject::Ip,
            _ => Subject::Connected,
        };
        Ok((subject, stop))
    }

    /// The right-hand side `raw` (at byte `at`), typed for `subject`.
    fn value(
        &self,
        subject: &Subject,
        subject_text: &str,
        op: Op,
        op_at: usize,
        raw: &str,
        at: usize,
    ) -> Result<Expected, ConditionError> {
        let symbol = op.symbol();
        let kind = subject.kind();
        if kind != Kind::Text && !(op.is_equality() || op.is_ordering()) {
            return Err(self.fail(
                op_at,
                format!("`{symbol}` works on text ([BODY], [BODY].path, [HEADER].name, [IP]), not on `{subject_text}`"),
            ));
        }
        if let Some(inner) = raw.strip_prefix('"') {
            return match inner.strip_suffix('"') {
                Some(v) => self.literal(subject, subject_text, op, op_at, v, true, at + 1),
                None => Err(self.fail(at, "unclosed `\"`: end the quoted value with `\"`")),
            };
        }
        if let Some((name, inner, inner_at)) = function_call(raw) {
            let inner_at = at + inner_at;
            match name {
                "any" | "pat" if !op.is_equality() => {
                    return Err(self.fail(
                        op_at,
                        format!("`{name}(...)` takes == or !=, not `{symbol}`"),
                    ));
                }
                "any" => return self.any(subject, subject_text, op_at, inner, inner_at),
                "pat" => {
                    if matches!(kind, Kind::Duration | Kind::Bool) {
                        return Err(self.fail(
                            at,
                            format!("`pat(...)` matches text: use it on [BODY], [BODY].path, [HEADER].name, [IP] or [STATUS], not on `{subject_text}`"),
                        ));
                    }
                    return Pattern::parse(inner)
                        .map(Expected::Pattern)
                        .map_err(|(m, p)| self.fail(inner_at + p, m));
                }
                "len" | "has" => {}
                other => {
                    return Err(self.fail(
                        at,
                        format!(
                            "unknown function `{other}(...)`: {FUNCTIONS_HELP}; quote the value (`\"{raw}\"`) to compare it as text"
                        ),
                    ));
                }
            }
        }
        if let Some(name) = opens_a_call(raw)
            && function_call(raw).is_none()
        {
            return Err(self.fail(
                at + raw.len(),
                format!(
                    "unclosed `{name}(`: end it with `)`, or quote the value (`\"{raw}\"`) to compare it as text"
                ),
            ));
        }
        if looks_like_placeholder(raw) || function_call(raw).is_some() {
            return self.placeholder_value(subject, subject_text, op, op_at, raw, at);
        }
        self.literal(subject, subject_text, op, op_at, raw, false, at)
    }

    /// Another placeholder on the right: `[BODY].age == [BODY].id`.
    fn placeholder_value(
        &self,
        subject: &Subject,
        subject_text: &str,
        op: Op,
        op_at: usize,
        raw: &str,
        at: usize,
    ) -> Result<Expected, ConditionError> {
        let (other, end) = self.operand(at, End::Space).map_err(|mut e| {
            e.message = format!("{}; to compare the text, quote it: `\"{raw}\"`", e.message);
            e
        })?;
        if end != at + raw.len() {
            return Err(self.fail(
                end,
                format!(
                    "unexpected `{}` after `{}`: quote the value (`\"{raw}\"`) to compare it as text",
                    &self.text[end..at + raw.len()],
                    &self.text[at..end]
                ),
            ));
        }
        if !(op.is_equality() || op.is_ordering()) {
            return Err(self.fail(
                op_at,
                format!(
                    "`{}` takes a written value, not a placeholder; quote it (`\"{raw}\"`) to look for the text",
                    op.symbol()
                ),
            ));
        }
        for (side, text, side_at) in [(subject, subject_text, 0), (&other, raw, at)] {
            if matches!(side.kind(), Kind::Duration | Kind::Bool) {
                return Err(self.fail(
                    side_at,
                    format!(
                        "`{text}` cannot be compared with another placeholder: compare it with a written value, e.g. {}",
                        match side.kind() {
                            Kind::Duration => "`< 2s`",
                            _ => "`== true`",
                        }
                    ),
                ));
            }
        }
        Ok(Expected::Placeholder(other))
    }

    /// `any(a, b, ...)`: each option typed like a plain value for `subject`.
    fn any(
        &self,
        subject: &Subject,
        subject_text: &str,
        op_at: usize,
        inner: &str,
        inner_at: usize,
    ) -> Result<Expected, ConditionError> {
        let mut options = Vec::new();
        for (item, item_at) in split_options(inner) {
            let item_at = inner_at + item_at;
            if item.is_empty() {
                return Err(self.fail(
                    item_at,
                    "empty value in `any(...)`: list values separated by commas, e.g. `any(200, 429)`",
                ));
            }
            let (value, quoted, value_at) = match item.strip_prefix('"') {
                Some(rest) => match rest.strip_suffix('"') {
                    Some(v) => (v, true, item_at + 1),
                    None => {
                        return Err(
                            self.fail(item_at, "unclosed `\"`: end the quoted value with `\"`")
                        );
                    }
                },
                None => (item, false, item_at),
            };
            if !quoted && (looks_like_placeholder(value) || function_call(value).is_some()) {
                return Err(self.fail(
                    item_at,
                    format!(
                        "`any(...)` lists written values, not `{value}`; quote it (`\"{value}\"`) to compare it as text"
                    ),
                ));
            }
            options.push(self.literal(
                subject,
                subject_text,
                Op::Eq,
                op_at,
                value,
                quoted,
                value_at,
            )?);
        }
        Ok(Expected::Any(options))
    }

    /// A written value typed for `subject` and `op`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site per form of the value; a struct would only rename them"
    )]
    fn literal(
        &self,
        subject: &Subject,
        subject_text: &str,
        op: Op,
        op_at: usize,
        value: &str,
        quoted: bool,
        at: usize,
    ) -> Result<Expected, ConditionError> {
        let symbol = op.symbol();
        match subject.kind() {
            Kind::Number => {
                let n = if matches!(subject, Subject::Status) {
                    value.parse::<u16>().ok().map(f64::from).ok_or_else(|| {
                        self.fail(
                            at,
                            format!("`{value}` is not a status code: write a number such as 200"),
                        )
                    })?
                } else {
                    super::number(value).ok_or_else(|| {
                        self.fail(
                            at,
                            format!("`{subject_text}` is a number, and `{value}` is not one"),
                        )
                    })?
                };
                Ok(Expected::Number(n))
            }
            Kind::Duration => match crate::duration::parse(value) {
                Ok(d) => Ok(Expected::Duration(d)),
                Err(_) if value.parse::<u64>().is_ok() => Err(self.fail(
                    at,
                    format!(
                        "`{value}` has no unit: Gatus reads a bare number as milliseconds, so write `{value}ms`{} (units: ms, s, m, h)",
                        readable_millis(value)
                    ),
                )),
                Err(m) => Err(self.fail(at, m)),
            },
            Kind::Bool => {
                if op.is_ordering() {
                    return Err(self.fail(
                        op_at,
                        format!("`{subject_text}` is true or false: use == or !="),
                    ));
                }
                match value {
                    "true" => Ok(Expected::Bool(true)),
                    "false" => Ok(Expected::Bool(false)),
                    _ => Err(self.fail(at, format!("`{value}` is not true or false"))),
                }
            }
            Kind::Text => match op {
                _ if op.is_ordering() => super::number(value).map(Expected::Number).ok_or_else(|| {
                    self.fail(
                        at,
                        format!("`{symbol}` compares numbers, and `{value}` is not a number"),
                    )
                }),
                Op::Matches => regex_lite::Regex::new(value)
                    .map(Expected::Regex)
                    .map_err(|e| self.fail(at, format!("`{value}` is not a valid regex: {e}"))),
                _ => Ok(Expected::Text {
                    text: value.to_owned(),
                    number: if quoted { None } else { super::number(value) },
                }),
            },
        }
    }
}
