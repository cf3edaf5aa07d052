//! Config scalars that need more than serde gives: strings with `${VAR}` taken from the
//! environment (values so taken become secrets), and mappings that keep the file's order.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};

/// A string from the config with every `${VAR}` replaced from the environment when it loads.
/// An unset variable is an error that names it, never an empty string; `$$` is a literal `$`.
/// A value that used any variable is registered as a secret and never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Text {
    value: String,
    from_env: bool,
}

impl Text {
    pub fn literal(value: impl Into<String>) -> Text {
        Text {
            value: value.into(),
            from_env: false,
        }
    }

    /// The value, with variables expanded.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Whether any part of the value came from the environment (and is therefore a secret).
    pub fn is_secret(&self) -> bool {
        self.from_env
    }

    /// How the value may be shown: itself, or the mask when it came from the environment.
    pub fn shown(&self) -> &str {
        if self.from_env {
            crate::secret::MASK
        } else {
            &self.value
        }
    }

    pub fn into_string(self) -> String {
        self.value
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

/// Expands `${VAR}` in `raw` with `lookup`. Returns the text and whether a variable was used.
pub(crate) fn expand(
    raw: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(String, bool), String> {
    let mut out = String::with_capacity(raw.len());
    let mut used = false;
    let mut rest = raw;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let Some(end) = tail.find('}') else {
                return Err(format!("`${{` without a closing `}}` in `{raw}`"));
            };
            let name = &tail[..end];
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(format!(
                    "`${{{name}}}` is not a variable name: use letters, digits and `_`, e.g. ${{SLACK_WEBHOOK_URL}}"
                ));
            }
            let value = lookup(name).ok_or_else(|| {
                format!("environment variable `{name}` is not set (hint: export it, or add it to the job's `env:`)")
            })?;
            out.push_str(&value);
            used = true;
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok((out, used))
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                // Each variable's value is a secret on its own, not only the whole string: in
                // `Bearer ${TOKEN}` the token must be masked wherever it turns up alone.
                // The last variable looked up, when it was set but empty.
                let empty: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
                let (value, from_env) = expand(v, |name| {
                    // Empty is unset: GitHub passes a missing secret as an empty string.
                    let raw = std::env::var(name).ok();
                    *empty.borrow_mut() = raw
                        .as_deref()
                        .is_some_and(str::is_empty)
                        .then(|| name.to_owned());
                    let found = raw.filter(|v| !v.is_empty());
                    if let Some(secret) = &found {
                        crate::secret::register(secret);
                    }
                    found
                })
                .map_err(|why| match empty.borrow().as_deref() {
                    // Expansion stops at the first variable without a value: this one.
                    Some(name) => E::custom(format!(
                        "environment variable `{name}` is empty (hint: GitHub passes an unset secret as an empty string, so check its name under Settings → Secrets)"
                    )),
                    None => E::custom(why),
                })?;
                if from_env {
                    crate::secret::register(&value);
                } else {
                    // A password written straight into a URL is as secret as one from `${VAR}`.
                    crate::secret::register_url_password(&value);
                }
                Ok(Text { value, from_env })
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text::literal(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text::literal(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text::literal(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text::literal(v.to_string()))
            }
        }
        de.deserialize_any(V)
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

/// A mapping that keeps the order of the file: services of an environment deploy in it.
#[derive(Debug, Clone)]
pub(crate) struct OrderedMap<V>(pub(crate) Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<V> OrderedMap<V> {
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }
        }
        de.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOOK" => Some("https://hooks.example/T0/B0/xyz".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_variables_and_escapes() {
        assert_eq!(
            expand("${HOOK}", env).unwrap(),
            ("https://hooks.example/T0/B0/xyz".into(), true)
        );
        assert_eq!(
            expand("a $$HOME b", env).unwrap(),
            ("a $HOME b".into(), false)
        );
        assert_eq!(expand("cost: $5", env).unwrap(), ("cost: $5".into(), false));
        assert_eq!(expand("x${EMPTY}y", env).unwrap(), ("xy".into(), true));
    }

    #[test]
    fn unset_or_malformed_variables_are_errors_that_name_them() {
        assert!(
            expand("${NOPE}", env)
                .unwrap_err()
                .contains("`NOPE` is not set")
        );
        assert!(
            expand("${NOPE", env)
                .unwrap_err()
                .contains("without a closing")
        );
        assert!(
            expand("${1X}", env)
                .unwrap_err()
                .contains("not a variable name")
        );
    }
}
