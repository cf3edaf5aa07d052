//! Secrets: values that came from `${VAR}` in the config (and Fly's tokens). They are registered
//! once, when they are read, and every byte shipit writes anywhere (terminal, evidence, receipts,
//! notifications, GitHub files) passes through [`redact`], so a secret cannot leak by a path that
//! forgot to hide it.

use std::borrow::Cow;
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// What a secret is replaced with; the same as GitHub's own mask.
pub const MASK: &str = "***";

/// Values shorter than this are not registered: masking `1` or `on` would shred every message,
/// and such values are not secrets anyone could use.
const MIN_SECRET_LEN: usize = 4;

fn registry() -> &'static RwLock<Vec<String>> {
    static REGISTRY: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Vec::new()))
}

/// Registers a value that must never be written out. Returns whether it was new. A URL with a
/// password (`postgres://user:PASSWORD@host/db`) also registers the password alone, since
/// programs print it on its own (`password authentication failed for ...`).
pub fn register(value: &str) -> bool {
    if let Some(password) = url_password(value) {
        register_one(password);
    }
    register_one(value)
}

/// The password of `scheme://user:password@host...`, if there is one.
fn url_password(value: &str) -> Option<&str> {
    let rest = value.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then_some(password)
}

fn register_one(value: &str) -> bool {
    if value.len() < MIN_SECRET_LEN {
        return false;
    }
    let mut all = registry()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if all.iter().any(|s| s == value) {
        return false;
    }
    all.push(value.to_owned());
    // Longest first, so a secret that contains another is masked whole.
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    true
}

/// Every registered secret, for `::add-mask::`.
pub fn all() -> Vec<String> {
    registry()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Replaces every registered secret in `text` with [`MASK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let all = registry()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !all.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for s in all.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// A string that holds a secret. It prints as [`MASK`]; the value is only reachable through
/// [`Secret::expose`], which makes every use greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps and registers a secret value.
    pub fn new(value: String) -> Self {
        register(&value);
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_everywhere() {
        register("hunter2-secret-value");
        register("hunter2-secret");
        let text = "url=https://x/hunter2-secret-value?b=hunter2-secret";
        assert_eq!(redact(text), "url=https://x/***?b=***");
        assert_eq!(redact("nothing here"), "nothing here");
    }

    #[test]
    fn a_secret_never_formats_its_value() {
        let s = Secret::new("tok-abcdef".into());
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "tok-abcdef");
    }

    #[test]
    fn a_url_password_is_a_secret_on_its_own() {
        register("postgres://app:url-pw-31337@db:5432/app");
        assert_eq!(redact("auth failed: url-pw-31337"), "auth failed: ***");
        assert_eq!(url_password("https://hooks.example/T0/B0/x"), None);
        assert_eq!(url_password("redis://:only-pw@cache"), Some("only-pw"));
    }

    #[test]
    fn tiny_values_are_not_secrets() {
        assert!(!register("on"));
    }
}
