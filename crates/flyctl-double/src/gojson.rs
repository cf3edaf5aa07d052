//! A JSON value and encoder that write bytes the way Go's `encoding/json` does.
//!
//! flyctl's output is produced by Go's encoder, and the double must match it byte for byte:
//! struct fields come out in declaration order, map keys sorted, `<`, `>` and `&` escaped as
//! `\u003c`/`\u003e`/`\u0026` (the encoder's default HTML escaping), and `render.JSON` indents
//! with four spaces. serde_json's `Map` ordering depends on a cargo feature that another
//! workspace member could switch on, so the order is kept here explicitly instead.

use std::fmt::Write as _;

/// One JSON value whose object fields keep the order they were built in.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Int(i64),
    /// A number copied verbatim from the state file (floats, big integers).
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl From<&str> for J {
    fn from(s: &str) -> Self {
        J::Str(s.to_owned())
    }
}

impl From<String> for J {
    fn from(s: String) -> Self {
        J::Str(s)
    }
}

impl From<&String> for J {
    fn from(s: &String) -> Self {
        J::Str(s.clone())
    }
}

impl From<bool> for J {
    fn from(b: bool) -> Self {
        J::Bool(b)
    }
}

impl From<i64> for J {
    fn from(n: i64) -> Self {
        J::Int(n)
    }
}

impl From<u64> for J {
    fn from(n: u64) -> Self {
        i64::try_from(n).map_or_else(|_| J::Num(n.to_string()), J::Int)
    }
}

impl From<Vec<J>> for J {
    fn from(v: Vec<J>) -> Self {
        J::Arr(v)
    }
}

/// Builds an object in struct order, the way Go prints a struct.
pub fn obj<const N: usize>(fields: [(&str, J); N]) -> J {
    J::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Builds an object with sorted keys, the way Go prints a `map[string]T`.
pub fn map<I, K>(entries: I) -> J
where
    I: IntoIterator<Item = (K, J)>,
    K: Into<String>,
{
    let mut fields: Vec<(String, J)> = entries.into_iter().map(|(k, v)| (k.into(), v)).collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields.dedup_by(|later, earlier| later.0 == earlier.0);
    J::Obj(fields)
}

impl J {
    /// Converts a value read from the state file; its objects are Go maps, so keys get sorted.
    pub fn from_value(v: &serde_json::Value) -> J {
        match v {
            serde_json::Value::Null => J::Null,
            serde_json::Value::Bool(b) => J::Bool(*b),
            serde_json::Value::Number(n) => {
                n.as_i64().map_or_else(|| J::Num(n.to_string()), J::Int)
            }
            serde_json::Value::String(s) => J::Str(s.clone()),
            serde_json::Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            serde_json::Value::Object(o) => {
                map(o.iter().map(|(k, v)| (k.clone(), J::from_value(v))))
            }
        }
    }

    /// `json.Marshal` / `json.NewEncoder(w).Encode` output, without the trailing newline.
    pub fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0);
        out
    }

    /// `render.JSON` output: four-space indent and the encoder's trailing newline.
    pub fn indented(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some("    "), 0);
        out.push('\n');
        out
    }

    /// `json.MarshalIndent(v, "", unit)` output (no trailing newline).
    pub fn indented_by(&self, unit: &str) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(unit), 0);
        out
    }

    fn write(&self, out: &mut String, indent: Option<&str>, depth: usize) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(n) => {
                let _ = write!(out, "{n}");
            }
            J::Num(n) => out.push_str(n),
            J::Str(s) => write_string(out, s),
            J::Arr(items) => {
                // Go's indenter leaves empty arrays and objects on one line.
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent, depth + 1);
                    item.write(out, indent, depth + 1);
                }
                newline(out, indent, depth);
                out.push(']');
            }
            J::Obj(fields) => {
                if fields.is_empty() {
                    out.push_str("{}");
                    return;
                }
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent, depth + 1);
                    write_string(out, key);
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    value.write(out, indent, depth + 1);
                }
                newline(out, indent, depth);
                out.push('}');
            }
        }
    }
}

fn newline(out: &mut String, indent: Option<&str>, depth: usize) {
    if let Some(unit) = indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(unit);
        }
    }
}

/// Go's `encodeState.string` with `escapeHTML` on, as of Go 1.22 (`\b` and `\f` short forms).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_like_go_and_keeps_empty_containers_inline() {
        let v = obj([
            ("b", J::Arr(vec![])),
            ("a", obj([])),
            ("c", J::Arr(vec![J::Int(1), J::Null])),
        ]);
        assert_eq!(
            v.indented(),
            "{\n    \"b\": [],\n    \"a\": {},\n    \"c\": [\n        1,\n        null\n    ]\n}\n"
        );
        assert_eq!(v.compact(), r#"{"b":[],"a":{},"c":[1,null]}"#);
    }

    #[test]
    fn escapes_html_and_control_characters_like_go() {
        assert_eq!(
            J::from("a<b>&\u{1}\u{2028}\"").compact(),
            r#""a\u003cb\u003e\u0026\u0001\u2028\"""#
        );
    }

    #[test]
    fn maps_sort_their_keys() {
        let v = map([("b", J::Int(1)), ("a", J::Int(2))]);
        assert_eq!(v.compact(), r#"{"a":2,"b":1}"#);
    }
}
