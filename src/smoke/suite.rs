//! Smoke suite files: their shape as written, and loading them into a validated [`Suite`] with
//! the same located errors as shipit.yml (`file:line:col`, the line, a hint).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::{ConfigError, closest, spanned_condition};
use crate::duration::Dur;
use crate::probe::condition::Condition;
use crate::scalar::{OrderedMap, Text};

/// How many checks run at once when the file does not say.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// One check's limit when the check does not say.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONCURRENCY: i64 = 256;
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// A loaded, validated smoke suite.
#[derive(Debug, Clone)]
pub struct Suite {
    pub path: PathBuf,
    /// At most this many checks in flight.
    pub concurrency: usize,
    /// In file order; results keep it.
    pub checks: Vec<Check>,
}

/// One request and what its answer must satisfy.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub method: String,
    pub target: Target,
    pub headers: Vec<(String, Text)>,
    pub body: Option<Body>,
    pub expect: Vec<Condition>,
    pub timeout: Duration,
}

/// Where a check sends its request.
#[derive(Debug, Clone)]
pub enum Target {
    /// A path on the service's URL: `/api/status`.
    Path(Text),
    /// A whole URL, for a check of another host.
    Url(Text),
}

impl Target {
    /// The URL to request: `base` joined with the path, or the check's own URL.
    pub fn url(&self, base: &str) -> String {
        match self {
            Target::Path(p) => crate::config::join_url(base, p.as_str()),
            Target::Url(u) => u.as_str().to_owned(),
        }
    }

    /// How the target may be shown: the path, or the URL with any secret masked.
    pub fn shown(&self) -> String {
        match self {
            Target::Path(p) => p.shown().to_owned(),
            Target::Url(u) => u.shown().to_owned(),
        }
    }
}

/// A request body. It never prints: it may hold a `${VAR}` secret.
#[derive(Clone)]
pub struct Body {
    pub bytes: Vec<u8>,
    /// `application/json` for `json:` bodies, sent unless the check sets its own.
    pub content_type: Option<&'static str>,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.bytes.len())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    concurrency: Option<Spanned<i64>>,
    checks: Spanned<Vec<Spanned<RawCheck>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: Spanned<String>,
    method: Option<Spanned<String>>,
    path: Option<Spanned<Text>>,
    url: Option<Spanned<Text>>,
    headers: Option<OrderedMap<Text>>,
    body: Option<Text>,
    json: Option<serde_json::Value>,
    expect: Option<Vec<Spanned<String>>>,
    timeout: Option<Spanned<Dur>>,
}

/// Reads and validates a smoke suite file.
pub fn load(path: &Path) -> Result<Suite, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::at(path, "", 0, 0, format!("cannot read the smoke suite: {e}"))
    })?;
    parse(path, &text)
}

/// Validates smoke suite text as if it had been read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Suite, ConfigError> {
    // Every unset or empty `${VAR}` at once, as for shipit.yml; an empty one is never sent.
    crate::config::vars::check(path, text, |name| std::env::var(name).ok())?;
    let raw: RawSuite =
        serde_saphyr::from_str(text).map_err(|e| ConfigError::from_yaml(path, text, &e))?;
    let err = |at: &serde_saphyr::Location, message: String| {
        ConfigError::at(path, text, at.line(), at.column(), message)
    };
    let concurrency = match raw.concurrency {
        None => DEFAULT_CONCURRENCY,
        Some(n) if !(1..=MAX_CONCURRENCY).contains(&n.value) => {
            return Err(err(
                &n.referenced,
                format!(
                    "`concurrency: {}` must be between 1 and {MAX_CONCURRENCY}",
                    n.value
                ),
            )
            .hint("it is how many checks run at once, e.g. `concurrency: 8`"));
        }
        Some(n) => n.value as usize,
    };
    if raw.checks.value.is_empty() {
        return Err(err(
            &raw.checks.referenced,
            "`checks:` is empty: a smoke suite needs at least one check".into(),
        )
        .hint("add e.g. `- { name: home page, path: /, expect: [\"[STATUS] == 200\"] }`"));
    }
    let mut checks: Vec<Check> = Vec::new();
    for spanned in raw.checks.value {
        let at = spanned.referenced;
        let c = spanned.value;
        let name = c.name.value.trim().to_owned();
        if name.is_empty() {
            return Err(err(&c.name.referenced, "a check's `name:` is empty".into()));
        }
        if checks.iter().any(|other| other.name == name) {
            return Err(
                err(&c.name.referenced, format!("two checks are named `{name}`"))
                    .hint("names identify checks in reports and JUnit: make each one unique"),
            );
        }
        let method = match &c.method {
            None => "GET".to_owned(),
            Some(m) => {
                let upper = m.value.trim().to_ascii_uppercase();
                if !METHODS.contains(&upper.as_str()) {
                    let hint = closest(&upper, METHODS).map_or_else(
                        || format!("use one of {}", METHODS.join(", ")),
                        |b| format!("did you mean `{b}`?"),
                    );
                    return Err(
                        err(&m.referenced, format!("unknown method `{}`", m.value)).hint(hint)
                    );
                }
                upper
            }
        };
        let target = match (c.path, c.url) {
            (Some(_), Some(u)) => {
                return Err(err(
                    &u.referenced,
                    format!("check `{name}` has both `path:` and `url:`"),
                )
                .hint("use `path:` for the service's own URL, or `url:` for another host"));
            }
            (None, None) => {
                return Err(
                    err(&at, format!("check `{name}` has no `path:` (or `url:`)"))
                        .hint("add e.g. `path: /health`"),
                );
            }
            (Some(p), None) => {
                if !p.value.as_str().starts_with('/') {
                    return Err(err(
                        &p.referenced,
                        format!("path `{}` must start with `/`", p.value),
                    ));
                }
                Target::Path(p.value)
            }
            (None, Some(u)) => {
                let s = u.value.as_str();
                if !(s.starts_with("http://") || s.starts_with("https://")) {
                    return Err(err(
                        &u.referenced,
                        format!("`url: {}` must start with http:// or https://", u.value),
                    ));
                }
                Target::Url(u.value)
            }
        };
        let mut headers: Vec<(String, Text)> = c.headers.map(|h| h.0).unwrap_or_default();
        let body = match (c.body, c.json) {
            (Some(_), Some(_)) => {
                return Err(
                    err(&at, format!("check `{name}` has both `body:` and `json:`"))
                        .hint("keep one of them"),
                );
            }
            (Some(b), None) => Some(Body {
                bytes: b.into_string().into_bytes(),
                content_type: None,
            }),
            (None, Some(j)) => {
                let j = expand_json(j).map_err(|m| err(&at, format!("check `{name}`: {m}")))?;
                Some(Body {
                    bytes: serde_json::to_vec(&j).unwrap_or_default(),
                    content_type: Some("application/json"),
                })
            }
            (None, None) => None,
        };
        if let Some(Body {
            content_type: Some(ct),
            ..
        }) = &body
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".to_owned(), Text::literal(*ct)));
        }
        let expect = match c.expect {
            Some(list) => {
                if list.is_empty() {
                    return Err(err(&at, format!("check `{name}` has an empty `expect:`"))
                        .hint("leave `expect:` out for the default `[STATUS] == 200`, or list conditions"));
                }
                list.iter()
                    .map(|e| spanned_condition(path, text, e))
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => {
                vec![Condition::parse("[STATUS] == 200").expect("the default condition parses")]
            }
        };
        let timeout = match c.timeout {
            None => DEFAULT_TIMEOUT,
            Some(t) if t.value.0.is_zero() => {
                return Err(
                    err(&t.referenced, format!("check `{name}` has `timeout: 0s`"))
                        .hint("e.g. `timeout: 5s`"),
                );
            }
            Some(t) => t.value.0,
        };
        checks.push(Check {
            name,
            method,
            target,
            headers,
            body,
            expect,
            timeout,
        });
    }
    Ok(Suite {
        path: path.to_owned(),
        concurrency,
        checks,
    })
}

/// Expands `${VAR}` in every string of a `json:` body, registering what came from the
/// environment as secrets.
fn expand_json(v: serde_json::Value) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    Ok(match v {
        Value::String(s) => {
            let (value, from_env) = crate::scalar::expand(&s, |name| std::env::var(name).ok())?;
            if from_env {
                crate::secret::register(&value);
            }
            Value::String(value)
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(expand_json)
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| expand_json(v).map(|v| (k, v)))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Suite, ConfigError> {
        parse(Path::new("smoke/web.yml"), text)
    }

    fn error(text: &str) -> String {
        load_text(text).expect_err("should not load").to_string()
    }

    #[test]
    fn loads_the_design_example_with_defaults() {
        let s = load_text(
            r#"
checks:
  - name: home page renders
    path: /
    expect: ["[STATUS] == 200", "[BODY] contains HotDash"]
  - name: status api
    path: /api/status
    headers: { Accept: application/json }
    expect: ["[STATUS] == 200", "[BODY].ok == true", "[RESPONSE_TIME] < 1500ms"]
  - name: sign in
    method: post
    url: https://auth.example.com/login
    json: { user: demo, tags: [a, b], n: 3 }
    timeout: 2s
"#,
        )
        .unwrap();
        assert_eq!(s.concurrency, 8);
        assert_eq!(s.checks.len(), 3);
        let c = &s.checks[0];
        assert_eq!(
            (c.name.as_str(), c.method.as_str(), c.timeout),
            ("home page renders", "GET", DEFAULT_TIMEOUT)
        );
        assert_eq!(c.target.url("https://x.fly.dev/"), "https://x.fly.dev/");
        assert_eq!(s.checks[1].expect.len(), 3);
        assert_eq!(s.checks[1].headers[0].0, "Accept");
        let post = &s.checks[2];
        assert_eq!(post.method, "POST");
        assert_eq!(
            post.target.url("https://ignored"),
            "https://auth.example.com/login"
        );
        let body = post.body.as_ref().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body.bytes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"user": "demo", "tags": ["a", "b"], "n": 3})
        );
        assert!(
            post.headers
                .iter()
                .any(|(k, v)| k == "Content-Type" && v.as_str() == "application/json")
        );
        assert_eq!(
            post.expect[0].text, "[STATUS] == 200",
            "the default expectation"
        );
        assert_eq!(post.timeout, Duration::from_secs(2));
    }

    #[test]
    fn unknown_keys_are_located_with_a_suggestion() {
        let e = error("checks:\n  - name: a\n    path: /\n    expcet: [\"[STATUS] == 200\"]\n");
        assert!(e.starts_with("smoke/web.yml:4:"), "{e}");
        assert!(e.contains("unknown field `expcet`"), "{e}");
        assert!(e.contains("did you mean `expect`?"), "{e}");
        let e = error("concurency: 3\nchecks: []\n");
        assert!(e.contains("did you mean `concurrency`?"), "{e}");
    }

    #[test]
    fn a_bad_condition_points_at_its_line_and_column() {
        let e = error(
            "checks:\n  - name: a\n    path: /\n    expect: [\"[STATUS] == 200\", \"[RESPONSE_TIME] < 2\"]\n",
        );
        assert!(e.starts_with("smoke/web.yml:4:"), "{e}");
        assert!(
            e.contains("condition `[RESPONSE_TIME] < 2` does not parse: `2` has no unit"),
            "{e}"
        );
        assert!(
            e.contains("hint: [RESPONSE_TIME] < 2\n                        ^ here"),
            "{e}"
        );
    }

    #[test]
    fn semantic_errors_name_the_check() {
        let cases = [
            ("checks: []\n", "`checks:` is empty"),
            (
                "checks:\n  - { name: a }\n",
                "check `a` has no `path:` (or `url:`)",
            ),
            (
                "checks:\n  - { name: a, path: /, url: 'https://x' }\n",
                "has both `path:` and `url:`",
            ),
            (
                "checks:\n  - { name: a, path: health }\n",
                "path `health` must start with `/`",
            ),
            (
                "checks:\n  - { name: a, url: 'ftp://x' }\n",
                "must start with http:// or https://",
            ),
            (
                "checks:\n  - { name: a, path: /, method: GTE }\n",
                "unknown method `GTE`",
            ),
            (
                "checks:\n  - { name: a, path: / }\n  - { name: a, path: /x }\n",
                "two checks are named `a`",
            ),
            (
                "checks:\n  - { name: a, path: /, body: x, json: {} }\n",
                "has both `body:` and `json:`",
            ),
            (
                "checks:\n  - { name: a, path: /, expect: [] }\n",
                "has an empty `expect:`",
            ),
            (
                "checks:\n  - { name: a, path: /, timeout: 5 }\n",
                "has no unit",
            ),
            (
                "checks:\n  - { name: a, path: /, timeout: 0s }\n",
                "`timeout: 0s`",
            ),
            (
                "concurrency: 0\nchecks:\n  - { name: a, path: / }\n",
                "`concurrency: 0` must be between 1 and 256",
            ),
            ("checks:\n  - { path: / }\n", "missing field `name`"),
            (
                "checks:\n  - { name: a, path: /, headers: { X: '${SHIPIT_TEST_SURELY_UNSET_VAR}' } }\n",
                "`SHIPIT_TEST_SURELY_UNSET_VAR` is not set",
            ),
            (
                "checks:\n  - { name: a, path: /, json: { k: '${SHIPIT_TEST_SURELY_UNSET_VAR}' } }\n",
                "`SHIPIT_TEST_SURELY_UNSET_VAR` is not set",
            ),
        ];
        for (text, want) in cases {
            let e = error(text);
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.starts_with("smoke/web.yml:"), "{e}");
        }
        let e = error("checks:\n  - { name: a, path: /, method: GTE }\n");
        assert!(e.contains("did you mean `GET`?"), "{e}");
    }

    #[test]
    fn bodies_never_print() {
        let s = load_text(
            "checks:\n  - { name: a, path: /, method: POST, body: 'password=hunter22' }\n",
        )
        .unwrap();
        let shown = format!("{:?}", s.checks[0]);
        assert!(!shown.contains("hunter22"), "{shown}");
        assert!(shown.contains("<17 bytes>"), "{shown}");
    }
}
