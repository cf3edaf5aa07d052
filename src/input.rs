//! Values people type on the command line that shipit hands to flyctl or looks up, checked before
//! anything runs: image references, release versions (`41` or `v41`) and run ids. A bad value is
//! a usage error naming the flag, never an empty or odd argument reaching flyctl (an empty
//! `--image` makes flyctl build from source and deploy that).

/// The longest image reference accepted (Docker's own limit for a name is 255 characters; a tag
/// and a digest add at most 200 more).
const IMAGE_MAX: usize = 512;

/// Checks an image reference such as `registry.fly.io/app:deployment-01J...` or
/// `ghcr.io/org/app@sha256:...`: not empty, no whitespace or control characters, not starting
/// with `-`, only the characters a Docker reference can hold.
pub(crate) fn image_ref(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an image reference cannot be empty: give e.g. \
registry.fly.io/my-app:deployment-01J5, or leave the flag out to build from source"
            .into());
    }
    if let Some(c) = text.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "an image reference cannot hold whitespace or control characters (found {})",
            c.escape_default()
        ));
    }
    if text.starts_with('-') {
        return Err(format!(
            "`{text}` is not an image reference: it starts with `-`"
        ));
    }
    if text.len() > IMAGE_MAX {
        return Err(format!(
            "an image reference is at most {IMAGE_MAX} characters, this one has {}",
            text.len()
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/:@".contains(*c)))
    {
        return Err(format!(
            "`{text}` is not an image reference: `{c}` cannot appear in one \
(letters, digits and . _ - / : @ only)"
        ));
    }
    Ok(text.to_owned())
}

/// A Fly release version as shipit writes it (`v41`) or as flyctl does (`41`).
pub(crate) fn release_version(text: &str) -> Result<u64, String> {
    let digits = text
        .strip_prefix('v')
        .or_else(|| text.strip_prefix('V'))
        .unwrap_or(text);
    match digits.parse::<u64>() {
        Ok(v) if !digits.starts_with('+') => Ok(v),
        _ => Err(format!(
            "`{text}` is not a release version: write it as 41 or v41 (see `shipit releases`)"
        )),
    }
}

/// A window or an interval given on the command line (`watch --for`, `--interval`): a duration
/// as the config writes them, and more than zero (a zero interval would check in a busy loop).
pub(crate) fn positive_duration(text: &str) -> Result<crate::duration::Dur, String> {
    let d: crate::duration::Dur = text.parse()?;
    if d.0.is_zero() {
        return Err(format!(
            "`{text}` must be longer than 0s: e.g. 1h, or 1m between checks"
        ));
    }
    Ok(d)
}

/// A run id or prefix for `explain`: never empty, since an empty prefix matches every run.
pub(crate) fn run_id(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("a run id cannot be empty: give one from `shipit history`, or `last`".into());
    }
    if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
        return Err(format!(
            "a run id cannot hold control characters (found {})",
            c.escape_default()
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_refs() {
        for ok in [
            "registry.fly.io/hotdash-staging:deployment-01J5",
            "ghcr.io/org/app@sha256:0123abcd",
            "nginx",
        ] {
            assert_eq!(image_ref(ok).unwrap(), ok);
        }
        assert!(image_ref("").unwrap_err().contains("cannot be empty"));
        assert!(image_ref("a\u{1b}[2Jb").unwrap_err().contains("control"));
        assert!(image_ref("a b").unwrap_err().contains("whitespace"));
        assert!(
            image_ref("--build-only")
                .unwrap_err()
                .contains("starts with `-`")
        );
        assert!(image_ref("app;rm").unwrap_err().contains("`;`"));
        assert!(image_ref(&"a".repeat(600)).unwrap_err().contains("at most"));
    }

    #[test]
    fn release_versions() {
        assert_eq!(release_version("41").unwrap(), 41);
        assert_eq!(release_version("v41").unwrap(), 41);
        assert!(release_version("").is_err());
        assert!(release_version("v").is_err());
        assert!(release_version("+4").is_err());
        assert!(release_version("latest").unwrap_err().contains("41 or v41"));
    }

    #[test]
    fn run_ids() {
        assert!(run_id("").is_err());
        assert!(run_id("  ").is_err());
        assert_eq!(run_id("last").unwrap(), "last");
    }
}
