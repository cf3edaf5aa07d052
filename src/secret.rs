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
///
/// The forms the value travels in are registered too, since a server may echo them back: the
/// Base64 of the value (a header `Authorization: Basic ${CREDS}` built from it), and for a URL
/// with userinfo the percent-decoded password and `Basic`'s Base64 of `user:password`, which is
/// what the HTTP client sends for `https://user:password@host` (and a server that echoes its
/// request headers would print).
pub fn register(value: &str) -> bool {
    register_url_password(value);
    if value.len() >= MIN_SECRET_LEN {
        register_encoded(value.as_bytes());
    }
    register_one(value)
}

/// Registers the password of a URL with userinfo (`https://user:PASSWORD@host`), in the forms
/// [`register`] lists, but not the URL itself: a URL written in the config is shown, its password
/// never is. Returns whether the URL had one.
pub fn register_url_password(value: &str) -> bool {
    let Some((user, password)) = url_userinfo(value) else {
        return false;
    };
    register_one(password);
    let user = percent_decode(user);
    let password_plain = percent_decode(password);
    register_one(&password_plain);
    register_encoded(format!("{user}:{password_plain}").as_bytes());
    register_encoded(format!("{user}:{password}").as_bytes());
    true
}

/// The Base64 forms of `bytes` (standard and URL-safe, with and without padding).
fn register_encoded(bytes: &[u8]) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        register_one(&engine.encode(bytes));
    }
}

/// `%41` → `A`; anything that is not a valid escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The user and password of `scheme://user:password@host...`, if there is a password.
fn url_userinfo(value: &str) -> Option<(&str, &str)> {
    let rest = value.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let (user, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some((user, password))
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

/// Every string in `value` passed through [`redact`]: what the record, receipts and
/// notification bodies write.
pub fn redact_json(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(r) = redact(s) {
                    *s = r;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::Object(map) => map.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
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
        assert_eq!(url_userinfo("https://hooks.example/T0/B0/x"), None);
        assert_eq!(
            url_userinfo("redis://:only-pw@cache"),
            Some(("", "only-pw"))
        );
    }

    #[test]
    fn the_encoded_forms_a_server_may_echo_are_masked_too() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        register("https://ops:p%40ss-word-9@probe.example/health");
        let basic = b64.encode("ops:p@ss-word-9");
        assert_eq!(redact(&format!("Basic {basic}")), "Basic ***");
        assert_eq!(redact("p@ss-word-9"), "***");
        register("creds-value-77");
        let encoded = b64.encode("creds-value-77");
        assert_eq!(redact(&format!("x {encoded} y")), "x *** y");
    }

    #[test]
    fn tiny_values_are_not_secrets() {
        assert!(!register("on"));
    }
}
