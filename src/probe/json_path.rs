//! The simple JSON path of `[BODY].data[0].id` conditions: dot keys and array indexes, the
//! Gatus shape. No wildcards, filters or functions: a health condition names one value.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed path such as `.data[0].id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath {
    segments: Vec<Segment>,
}

impl JsonPath {
    /// Parses a path that follows `[BODY]`: `.a.b`, `[0]`, `.items[2].name`. On error, the
    /// message and the byte offset in `text` where the problem is.
    pub(crate) fn parse(text: &str) -> Result<JsonPath, (String, usize)> {
        let bytes = text.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    let start = i + 1;
                    let end = text[start..]
                        .find(['.', '['])
                        .map_or(text.len(), |p| start + p);
                    let key = &text[start..end];
                    if key.is_empty() {
                        return Err((
                            "empty key in the JSON path: write e.g. [BODY].status".to_owned(),
                            i,
                        ));
                    }
                    if let Some(bad) = key.find(']') {
                        return Err(("`]` without `[` in the JSON path".to_owned(), start + bad));
                    }
                    segments.push(Segment::Key(key.to_owned()));
                    i = end;
                }
                b'[' => {
                    let Some(close) = text[i..].find(']') else {
                        return Err((
                            "unclosed `[` in the JSON path: write e.g. [BODY].items[0]".to_owned(),
                            i,
                        ));
                    };
                    let inner = &text[i + 1..i + close];
                    let index = inner.parse::<usize>().map_err(|_| {
                        (
                            format!(
                                "`[{inner}]` is not an array index: write a number such as [0]"
                            ),
                            i + 1,
                        )
                    })?;
                    segments.push(Segment::Index(index));
                    i += close + 1;
                }
                _ => {
                    return Err((
                        "expected `.key` or `[index]` in the JSON path".to_owned(),
                        i,
                    ));
                }
            }
        }
        if segments.is_empty() {
            return Err(("empty JSON path".to_owned(), 0));
        }
        Ok(JsonPath { segments })
    }

    /// The value at this path, if every step exists.
    pub(crate) fn lookup<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        let mut v = root;
        for s in &self.segments {
            v = match s {
                Segment::Key(k) => v.as_object()?.get(k)?,
                Segment::Index(i) => v.as_array()?.get(*i)?,
            };
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_keys_and_indexes() {
        let doc: Value =
            serde_json::from_str(r#"{"ok":true,"data":[{"id":7},{"id":8}],"a":{"b":{"c":"d"}}}"#)
                .unwrap();
        let get = |p: &str| JsonPath::parse(p).unwrap().lookup(&doc).cloned();
        assert_eq!(get(".ok"), Some(Value::Bool(true)));
        assert_eq!(get(".data[1].id"), Some(Value::from(8)));
        assert_eq!(get(".a.b.c"), Some(Value::from("d")));
        assert_eq!(get(".data[2].id"), None);
        assert_eq!(get(".ok.deeper"), None);
        let list: Value = serde_json::from_str("[[1,2],[3]]").unwrap();
        assert_eq!(
            JsonPath::parse("[0][1]").unwrap().lookup(&list),
            Some(&Value::from(2))
        );
    }

    #[test]
    fn rejects_malformed_paths_with_a_place() {
        assert_eq!(JsonPath::parse(".").unwrap_err().1, 0);
        assert_eq!(JsonPath::parse(".a..b").unwrap_err().1, 2);
        assert!(
            JsonPath::parse(".a[x]")
                .unwrap_err()
                .0
                .contains("not an array index")
        );
        assert!(JsonPath::parse(".a[0").unwrap_err().0.contains("unclosed"));
        assert!(JsonPath::parse("a").is_err());
        assert!(JsonPath::parse("").is_err());
    }
}
