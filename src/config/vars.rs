//! Every `${VAR}` of a config checked at once, before the YAML is read: all unset and empty
//! variables are reported in one error (fixing them one run at a time is a slow loop in CI), and
//! an empty one says why it is likely empty: GitHub passes a secret that does not exist as an
//! empty string.

use std::path::Path;

use super::error::ConfigError;

/// A variable a config uses that has no usable value.
#[derive(Debug, PartialEq, Eq)]
struct Missing {
    name: String,
    line: u64,
    column: u64,
    empty: bool,
}

/// One error naming every unset or empty `${VAR}` of `text`, or `Ok` when each has a value.
pub(crate) fn check(
    path: &Path,
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let mut missing: Vec<Missing> = Vec::new();
    for (name, line, column) in references(text) {
        if missing.iter().any(|m| m.name == name) {
            continue;
        }
        let empty = match lookup(&name) {
            Some(v) if !v.is_empty() => continue,
            Some(_) => true,
            None => false,
        };
        missing.push(Missing {
            name,
            line,
            column,
            empty,
        });
    }
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let count = missing.len();
    // With one variable the error's own place is its line; with several each says its own.
    let parts: Vec<String> = missing
        .iter()
        .map(|m| {
            let what = if m.empty { "empty" } else { "not set" };
            if count == 1 {
                format!("`{}` is {what}", m.name)
            } else {
                format!("`{}` is {what} (line {})", m.name, m.line)
            }
        })
        .collect();
    let head = if count == 1 {
        "an environment variable the config uses has no value".to_owned()
    } else {
        format!("{count} environment variables the config uses have no value")
    };
    let mut hint = format!(
        "export {}, or add {} to the job's `env:` (e.g. `{name}: ${{{{ secrets.{name} }}}}`)",
        if count == 1 { "it" } else { "them" },
        if count == 1 { "it" } else { "them" },
        name = first.name
    );
    if missing.iter().any(|m| m.empty) {
        hint.push_str(
            "; an empty one is usually a secret that does not exist: GitHub passes an unset secret as an empty string, so check its name under Settings → Secrets",
        );
    }
    Err(ConfigError::at(
        path,
        text,
        first.line,
        first.column,
        format!("{head}: {}", parts.join("; ")),
    )
    .hint(hint))
}

/// Every `${NAME}` outside YAML comments, with its 1-based line and column (`$${` is a literal).
fn references(text: &str) -> Vec<(String, u64, u64)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line);
        let chars: Vec<char> = code.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            if chars[j] == '$' && chars.get(j + 1) == Some(&'$') {
                j += 2;
                continue;
            }
            if chars[j] == '$' && chars.get(j + 1) == Some(&'{') {
                let start = j + 2;
                let mut end = start;
                while end < chars.len() && chars[end] != '}' {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                let valid = !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                // An invalid name is left to the parser, which says what is wrong with it.
                if end < chars.len() && valid {
                    found.push((name, i as u64 + 1, j as u64 + 1));
                }
                j = end;
                continue;
            }
            j += 1;
        }
    }
    found
}

/// The part of a YAML line before its comment: a `#` at the start or after whitespace, outside
/// quotes.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_outside_comments() {
        let text =
            "a: \"${A}\" # ${COMMENTED}\n# ${ALSO}\nb: '${B}x${C}'\nc: $${LITERAL}\nd: \"#${D}\"\n";
        let names: Vec<String> = references(text).into_iter().map(|r| r.0).collect();
        assert_eq!(names, ["A", "B", "C", "D"]);
    }

    #[test]
    fn reports_every_unset_and_empty_variable_at_once() {
        let text = "x: ${SET}\ny: ${UNSET}\nz: ${EMPTY}\nw: ${UNSET}\n";
        let err = check(Path::new("shipit.yml"), text, |n| match n {
            "SET" => Some("v".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(
            err.message.contains("2 environment variables"),
            "{}",
            err.message
        );
        assert!(err.message.contains("`UNSET` is not set (line 2)"));
        assert!(err.message.contains("`EMPTY` is empty (line 3)"));
        assert!(
            err.hint
                .unwrap()
                .contains("GitHub passes an unset secret as an empty string")
        );
    }

    #[test]
    fn one_variable_is_named_in_the_hint_and_not_placed_twice() {
        let text = "x: 1\ny: \"${ONLY_HOOK}\"\n";
        let err = check(Path::new("shipit.yml"), text, |_| None).unwrap_err();
        assert_eq!((err.line, err.column), (2, 5));
        assert!(
            err.message
                .ends_with("has no value: `ONLY_HOOK` is not set"),
            "{}",
            err.message
        );
        assert_eq!(
            err.hint.as_deref(),
            Some(
                "export it, or add it to the job's `env:` (e.g. `ONLY_HOOK: ${{ secrets.ONLY_HOOK }}`)"
            )
        );
    }
}
