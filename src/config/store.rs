//! `store:` in shipit.yml: which backend keeps the record (receipts, the evidence log, rollback
//! targets, alert state, promotions). `local` (the default), `{ git: { branch, remote } }` or
//! `{ postgres: { url } }`.
//!
//! [`light`] reads this one key without loading the rest of the config, so `shipit history` and
//! `explain` work on a machine where the deploy's `${VAR}` secrets are not set (only the store's
//! own URL is expanded).

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::ConfigError;
use crate::scalar::Text;

/// The branch the git store writes when `branch:` is not given.
pub const DEFAULT_BRANCH: &str = "shipit-records";
/// The remote the git store pushes to and fetches from when `remote:` is not given.
pub const DEFAULT_REMOTE: &str = "origin";

/// `store:` as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawStore {
    Local,
    Git(RawGitStore),
    Postgres(RawPostgresStore),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGitStore {
    pub branch: Option<Spanned<String>>,
    pub remote: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPostgresStore {
    pub url: Spanned<Text>,
}

/// The resolved `store:` setting.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreSettings {
    /// Files in the checkout: receipts under `.shipit/runs`, the Markdown log, `.shipit/` state.
    #[default]
    Local,
    /// An orphan branch of this repository, pushed to `remote`.
    Git { branch: String, remote: String },
    /// Tables in schema `shipit` of a `PostgreSQL` database; the URL is usually a secret.
    Postgres { url: Text },
}

impl StoreSettings {
    pub fn is_local(&self) -> bool {
        matches!(self, StoreSettings::Local)
    }

    /// `local`, `git`, `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreSettings::Local => "local",
            StoreSettings::Git { .. } => "git",
            StoreSettings::Postgres { .. } => "postgres",
        }
    }
}

/// Checks `store:` and turns it into settings; errors name the file, line and key.
pub(crate) fn resolve(
    file: &Path,
    text: &str,
    raw: Option<Spanned<RawStore>>,
) -> Result<StoreSettings, ConfigError> {
    let err = |at: &serde_saphyr::Location, message: String| {
        ConfigError::at(file, text, at.line(), at.column(), message)
    };
    let Some(raw) = raw else {
        return Ok(StoreSettings::Local);
    };
    match raw.value {
        RawStore::Local => Ok(StoreSettings::Local),
        RawStore::Git(git) => {
            let branch = match git.branch {
                Some(b) => {
                    if let Some(why) = bad_ref_name(&b.value) {
                        return Err(err(
                            &b.referenced,
                            format!(
                                "`store.git.branch: {}` is not a branch name git accepts: {why}",
                                b.value
                            ),
                        )
                        .hint(format!("use e.g. `branch: {DEFAULT_BRANCH}`")));
                    }
                    b.value
                }
                None => DEFAULT_BRANCH.to_owned(),
            };
            let remote = match git.remote {
                Some(r) => {
                    let ok = !r.value.is_empty()
                        && !r.value.starts_with('-')
                        && r.value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
                    if !ok {
                        return Err(err(
                            &r.referenced,
                            format!("`store.git.remote: {}` is not the name of a git remote", r.value),
                        )
                        .hint(format!("use the remote's name as `git remote` lists it, e.g. `remote: {DEFAULT_REMOTE}`")));
                    }
                    r.value
                }
                None => DEFAULT_REMOTE.to_owned(),
            };
            Ok(StoreSettings::Git { branch, remote })
        }
        RawStore::Postgres(pg) => {
            // Parsing registers the password as a secret before anything could print it.
            if let Err(e) = crate::pg::parse(pg.url.value.as_str()) {
                let why = format!("{e:#}");
                let first = why.lines().next().unwrap_or_default().to_owned();
                return Err(err(
                    &pg.url.referenced,
                    format!("`store.postgres.url` is not a database URL shipit can use: {first}"),
                )
                .hint("write it as postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=require, the password from a variable: url: \"${SHIPIT_STORE_URL}\""));
            }
            Ok(StoreSettings::Postgres { url: pg.url.value })
        }
    }
}

/// Why git would refuse `name` as a branch (a subset of `git check-ref-format`), or `None`.
fn bad_ref_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.starts_with('-') || name.starts_with('/') || name.ends_with('/') {
        return Some("it starts with `-` or starts or ends with `/`");
    }
    if name.contains("..") || name.contains("//") || name.contains("@{") {
        return Some("it contains `..`, `//` or `@{`");
    }
    if Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("lock"))
        || name.ends_with('.')
    {
        return Some("it ends with `.lock` or `.`");
    }
    if name
        .chars()
        .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
    {
        return Some("it contains a space, a control character or one of ~^:?*[\\");
    }
    if name.split('/').any(|part| part.starts_with('.')) {
        return Some("a part of it starts with `.`");
    }
    None
}

/// Reads `store:` alone from the config file at `path`, expanding only its own variables.
pub fn light(path: &Path) -> Result<StoreSettings, ConfigError> {
    #[derive(Deserialize)]
    struct Light {
        #[serde(default)]
        store: Option<Spanned<RawStore>>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::at(path, "", 0, 0, format!("cannot read the config file: {e}"))
            .hint("run it from the folder of shipit.yml, or pass --config FILE")
    })?;
    let light: Light =
        serde_saphyr::from_str(&text).map_err(|e| ConfigError::from_yaml(path, &text, &e))?;
    resolve(path, &text, light.store)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<StoreSettings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shipit.yml");
        std::fs::write(&path, yaml).unwrap();
        light(&path)
    }

    #[test]
    fn the_three_stores_and_their_defaults() {
        assert_eq!(parse("version: 1\n").unwrap(), StoreSettings::Local);
        assert_eq!(parse("store: local\n").unwrap(), StoreSettings::Local);
        assert_eq!(
            parse("store: { git: {} }\n").unwrap(),
            StoreSettings::Git {
                branch: DEFAULT_BRANCH.into(),
                remote: DEFAULT_REMOTE.into()
            }
        );
        assert_eq!(
            parse("store: { git: { branch: records/prod, remote: upstream } }\n").unwrap(),
            StoreSettings::Git {
                branch: "records/prod".into(),
                remote: "upstream".into()
            }
        );
        let pg =
            parse("store: { postgres: { url: \"postgres://u:pw@127.0.0.1:5/db\" } }\n").unwrap();
        assert_eq!(pg.kind(), "postgres");
    }

    #[test]
    fn bad_store_settings_name_the_line_and_say_what_to_do() {
        let e = parse("version: 1\nstore: { git: { branch: \"a b\" } }\n").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.message.contains("store.git.branch"), "{e}");
        let e = parse("store: { postgres: { url: \"postgres://h/db?sslmode=sometimes\" } }\n")
            .unwrap_err();
        assert!(e.message.contains("store.postgres.url"), "{e}");
        assert!(e.hint.is_some());
        let e = parse("store: { git: { brnch: x } }\n").unwrap_err();
        assert!(e.to_string().contains("brnch"), "{e}");
        let e = parse("store: sqlite\n").unwrap_err();
        assert!(e.to_string().contains("sqlite"), "{e}");
        let e = parse("store: { git: { remote: \"--upload-pack=x\" } }\n").unwrap_err();
        assert!(e.message.contains("store.git.remote"), "{e}");
    }

    #[test]
    fn ref_names_git_would_refuse() {
        for bad in [
            "", "-x", "a..b", "a/", "x.lock", "a b", "a:b", ".hidden", "a/.b",
        ] {
            assert!(bad_ref_name(bad).is_some(), "{bad}");
        }
        for good in ["shipit-records", "records/prod", "r_1.2"] {
            assert_eq!(bad_ref_name(good), None, "{good}");
        }
    }
}
