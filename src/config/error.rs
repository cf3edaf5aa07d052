//! Config errors that name the file, the line and column, show the line, and say what to do.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no single place (e.g. a missing section).
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub hint: Option<String>,
    /// The offending line of the file, shown under the message.
    pub source_line: Option<String>,
}

impl ConfigError {
    pub fn at(file: &Path, text: &str, line: u64, column: u64, message: impl Into<String>) -> Self {
        let source_line = (line > 0)
            .then(|| text.lines().nth((line - 1) as usize).map(str::to_owned))
            .flatten();
        ConfigError {
            file: file.to_owned(),
            line,
            column,
            message: cut_message(message.into()),
            hint: None,
            source_line,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Turns a YAML or type error from serde-saphyr into one of ours, with a suggestion for a
    /// misspelt key or value.
    pub fn from_yaml(file: &Path, text: &str, err: &serde_saphyr::Error) -> Self {
        let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
        let raw = err.without_snippet().to_string();
        let mut message = match raw.rfind(" at line ") {
            Some(pos) => raw[..pos].to_owned(),
            None => raw,
        };
        message = message.replace(", set DuplicateKeyPolicy in Options if acceptable", "");
        if message.starts_with("error: ") {
            message.drain(.."error: ".len());
        }
        if message.starts_with("cannot deserialize null") {
            // serde's words for an empty key or value (`: x`), with a Rust type in them.
            "a key or a value is missing here".clone_into(&mut message);
        }
        let hint = suggestion(&message).or_else(|| syntax_hint(&message, text));
        let mut e = ConfigError::at(file, text, line, column, message);
        e.hint = hint;
        e
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)?;
        }
        if let Some(src) = &self.source_line {
            let gutter = self.line.to_string();
            let (shown, caret) = window(src, self.column);
            write!(f, "\n {gutter} | {shown}")?;
            if let Some(caret) = caret {
                let pad = " ".repeat(gutter.len());
                let col = " ".repeat(caret);
                write!(f, "\n {pad} | {col}^")?;
            }
        }
        if let Some(h) = &self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The most of a line an error quotes: a line's worth around the column, so a 5 MB one-line
/// value costs one terminal line, not 5 MB of output.
const QUOTE_WIDTH: usize = 100;
/// The most of a message an error shows (a value quoted in it may be huge too).
const MESSAGE_WIDTH: usize = 400;

/// The part of `line` to quote around the 1-based `column` (0: none), with `…` where it was
/// cut and control characters removed, and the caret's offset in the quoted text.
fn window(line: &str, column: u64) -> (String, Option<usize>) {
    let chars: Vec<char> = line.chars().collect();
    let col = usize::try_from(column)
        .unwrap_or(usize::MAX)
        .saturating_sub(1);
    let col = col.min(chars.len());
    let start = if chars.len() <= QUOTE_WIDTH {
        0
    } else {
        col.saturating_sub(QUOTE_WIDTH / 3)
            .min(chars.len() - QUOTE_WIDTH)
    };
    let end = (start + QUOTE_WIDTH).min(chars.len());
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(
        chars[start..end]
            .iter()
            .map(|c| if c.is_control() { ' ' } else { *c }),
    );
    if end < chars.len() {
        shown.push('…');
    }
    let caret = (column > 0).then(|| col - start + usize::from(start > 0));
    (shown, caret)
}

/// `text` cut to [`MESSAGE_WIDTH`] characters.
fn cut_message(text: String) -> String {
    if text.chars().count() <= MESSAGE_WIDTH {
        return text;
    }
    let mut out: String = text.chars().take(MESSAGE_WIDTH - 1).collect();
    out.push('…');
    out
}

/// For "unknown field `helth`, expected one of `health`, `smoke`": "did you mean `health`?".
fn suggestion(message: &str) -> Option<String> {
    let unknown = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let name = &unknown[..unknown.find('`')?];
    let expected = message.split("expected ").nth(1)?;
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    let candidates: Vec<&str> = expected
        .split([',', ' '])
        .map(|s| s.trim_matches(|c| c == '`' || c == ' '))
        .filter(|s| !s.is_empty() && *s != "or")
        .collect();
    match closest(name, candidates.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None => Some(format!("valid keys here: {}", candidates.join(", "))),
    }
}

/// What to do about a YAML syntax error, by the parser's own words. The parser reports where it
/// noticed, which for an unclosed `{` or `[` is the line after it: the hint says to look up.
fn specific_syntax_hint(message: &str) -> Option<&'static str> {
    const HINTS: &[(&str, &str)] = &[
        (
            "while parsing a flow mapping",
            "a `{ ... }` opened on this line or one above is not closed, or two of its entries lack a `,` between them: close it with `}`",
        ),
        (
            "while parsing a flow sequence",
            "a `[ ... ]` opened on this line or one above is not closed, or two of its items lack a `,` between them: close it with `]`",
        ),
        (
            "unclosed bracket",
            "close it with the matching `}` or `]`, or write the mapping or list as indented lines",
        ),
        (
            "while parsing a block mapping",
            "this line's indentation does not match the keys around it: indent it like its siblings, with spaces",
        ),
        (
            "mapping values are not allowed",
            "a value with `: ` in it needs quotes: write it as \"...\"",
        ),
        (
            "tabs disallowed",
            "indent with spaces: YAML does not allow tabs in indentation",
        ),
        (
            "unclosed quote",
            "close the quote on the same line, or write text over several lines as a block (`key: |`)",
        ),
        (
            "unexpected character",
            "quote the value: YAML reserves `@`, `` ` `` and a few other characters at the start of a plain value",
        ),
    ];
    HINTS
        .iter()
        .find(|(start, _)| message.starts_with(start))
        .map(|(_, hint)| *hint)
}

/// What to do about one of the YAML parser's own errors, whose words (`expected mapping start`,
/// `invalid i64`) say what it wanted in its terms, not the user's. `None` for the messages of
/// shipit's own value parsers (durations, conditions), which say what to write themselves.
fn syntax_hint(message: &str, text: &str) -> Option<String> {
    if let Some(hint) = specific_syntax_hint(message) {
        return Some(hint.to_owned());
    }
    let has = |s: &str| message.contains(s);
    let hint = if has("invalid i64") || has("invalid u64") || has("invalid integer") {
        "this key takes a whole number, e.g. `3` (no quotes, no unit)"
    } else if has("invalid floating point") {
        "this key takes a number, e.g. `1.5` (no quotes)"
    } else if has("invalid bool") {
        "this key takes `true` or `false`"
    } else if has("expected mapping start") {
        "this key takes a mapping: `key: value` lines indented under it, or `{ key: value }`, not a list or a single value"
    } else if has("expected sequence start") {
        "this key takes a list: `[a, b]`, or one `- item` line each, indented under it"
    } else if has("expected string scalar") {
        "this key takes one value (a word, or text in quotes), not a list or a mapping"
    } else if has("end of input") && text.trim().is_empty() {
        "the file is empty: `shipit init` writes a commented example to start from (`version: 1`, `apps:`, `environments:`)"
    } else if has("end of input") || has("unclosed") || has("did not find expected") {
        "a `{`, `[` or quote is not closed (or two items lack the comma between them): close it on the line it opens"
    } else if has("tab") {
        "YAML indents with spaces only: replace the tabs with spaces"
    } else if has("duplicate mapping key") {
        "a key may appear only once in the same mapping: keep one"
    } else if has("anchor") || has("alias") {
        "`*name` refers to an anchor `&name` set earlier; put the value in quotes if the `*` is meant literally"
    } else if has("invalid type")
        || has("missing here")
        || has("while scanning")
        || has("while parsing")
    {
        "check this line's YAML: indentation with spaces, one `key: value` each, and quotes around text holding `: `, ` #` or a leading `*`, `&`, `!`, `[`, `{`; README.md lists every key"
    } else {
        return None;
    };
    Some(hint.to_owned())
}

pub use crate::suggest::closest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_key() {
        let m = "unknown field `helth`, expected one of health, smoke";
        assert_eq!(suggestion(m).unwrap(), "did you mean `health`?");
        let m = "unknown field `zzzzzz`, expected one of health, smoke";
        assert_eq!(suggestion(m).unwrap(), "valid keys here: health, smoke");
        assert_eq!(
            closest("stagng", ["staging", "production"]),
            Some("staging")
        );
        assert_eq!(closest("qa", ["staging", "production"]), None);
    }

    #[test]
    fn yaml_syntax_errors_say_what_to_do() {
        let m = "while parsing a flow mapping, did not find expected ',' or '}'";
        assert!(syntax_hint(m, "x").unwrap().contains("close it with `}`"));
        let m = "tabs disallowed within this context (block indentation)";
        assert!(
            syntax_hint(m, "x")
                .unwrap()
                .starts_with("indent with spaces")
        );
        assert_eq!(specific_syntax_hint("expected string scalar"), None);
    }
}
