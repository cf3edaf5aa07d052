//! How a written value looks: a function call, a placeholder, the options of `any(...)`. The
//! parser uses these to decide that a value is code, never text.

/// `name(inner)` when `raw` is written as a function call: the name, the inner text and the
/// byte offset of the inner text in `raw`.
pub(super) fn function_call(raw: &str) -> Option<(&str, &str, usize)> {
    let open = raw.find('(')?;
    let name = &raw[..open];
    let is_name = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    let inner = raw[open + 1..].strip_suffix(')')?;
    is_name.then_some((name, inner, open + 1))
}

/// The name when `raw` starts like a function call: `name(`.
pub(super) fn opens_a_call(raw: &str) -> Option<&str> {
    let open = raw.find('(')?;
    let name = &raw[..open];
    (!name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphabetic()))
    .then_some(name)
}

/// `[WORD]`, `[WORD].path` or an unclosed `[WORD`: written like a placeholder (as opposed to
/// text such as `[1, 2]`).
pub(super) fn looks_like_placeholder(raw: &str) -> bool {
    let Some(rest) = raw.strip_prefix('[') else {
        return false;
    };
    let word_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    word_len > 0
        && rest[..word_len].starts_with(|c: char| c.is_ascii_alphabetic())
        && (rest[word_len..].starts_with(']') || word_len == rest.len())
}

/// The options of `any(...)`, split at commas outside double quotes, trimmed, each with its
/// byte offset in `inner`.
pub(super) fn split_options(inner: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in inner.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(trimmed(inner, start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(trimmed(inner, start, inner.len()));
    out
}

fn trimmed(text: &str, start: usize, end: usize) -> (&str, usize) {
    let part = &text[start..end];
    let lead = part.len() - part.trim_start().len();
    (part.trim(), start + lead)
}

/// `` (or `672h`)`` for a bare number of milliseconds that reads better in a larger unit.
pub(super) fn readable_millis(value: &str) -> String {
    let Ok(ms) = value.parse::<u64>() else {
        return String::new();
    };
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms >= size && ms % size == 0 {
            return format!(" (or `{}{unit}`)", ms / size);
        }
    }
    String::new()
}

#[cfg(test)]
pub(super) mod tests_support {
    /// Whether unquoted text would have been read as a function or a placeholder.
    pub(in crate::probe::condition) fn looks_like_code(text: &str) -> bool {
        super::function_call(text).is_some() || super::looks_like_placeholder(text)
    }
}
