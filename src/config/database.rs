//! The `database:` block of an environment: where the database is, what must exist in it, which
//! advisor lints run, where the migrations are, and how a restore check compares. `database` is a
//! reserved key under an environment, never a service name: [`RawEnvironment`] reads it apart
//! from the services.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use super::error::{ConfigError, closest};
use super::raw::RawTarget;
use crate::duration::Dur;
use crate::scalar::{OrderedMap, Text};

/// The key under an environment that holds its database, never a service.
pub const RESERVED_KEY: &str = "database";

/// One environment as written: its services in file order, and its `database:` block.
#[derive(Debug, Default)]
pub(crate) struct RawEnvironment {
    pub services: OrderedMap<Spanned<RawTarget>>,
    pub database: Option<Spanned<RawDatabase>>,
    /// `on_partial:` (`config/partial.rs`), also a reserved key.
    pub on_partial: Option<Spanned<String>>,
}

impl RawEnvironment {
    /// The services, in file order (`database` is not one).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Spanned<RawTarget>)> {
        self.services.iter()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}

impl<'de> Deserialize<'de> for RawEnvironment {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEnvironment;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of service names (and `database:`)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut env = RawEnvironment::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == RESERVED_KEY {
                        env.database = Some(map.next_value()?);
                    } else if key == super::partial::KEY {
                        env.on_partial = Some(map.next_value()?);
                    } else {
                        let target = map.next_value()?;
                        env.services.0.push((key, target));
                    }
                }
                Ok(env)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(RawEnvironment::default())
            }
        }
        de.deserialize_map(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    pub url: Spanned<Text>,
    pub expect: Option<RawExpect>,
    pub lints: Option<Spanned<RawLints>>,
    pub migrations: Option<Spanned<String>>,
    pub statement_timeout: Option<Dur>,
    pub backup: Option<RawBackup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    pub tables: Option<Vec<Spanned<String>>>,
    pub views: Option<Vec<Spanned<String>>>,
    pub columns: Option<OrderedMap<Vec<Spanned<String>>>>,
    pub rls: Option<Spanned<RawRls>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawRls {
    /// `rls: off` as YAML 1.1 reads it.
    Switch(bool),
    /// `rls: public`: every table of that schema.
    Schema(String),
    /// `rls: [picker_earnings, picker_payments]`.
    Tables(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawLints {
    /// `lints: off` as YAML 1.1 reads it (`false`), or `lints: true`.
    Switch(bool),
    /// `lints: default` or `lints: off`.
    Word(String),
    /// `lints: [rls_disabled_in_public, ...]`: only these.
    Pick(Vec<Spanned<String>>),
    /// `lints: { use: default, ignore: [...], fail_on: warn }`.
    Full(RawLintsFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLintsFull {
    #[serde(rename = "use")]
    pub pick: Option<Spanned<RawLintsPick>>,
    pub ignore: Option<Vec<Spanned<String>>>,
    pub fail_on: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawLintsPick {
    Word(String),
    Pick(Vec<Spanned<String>>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackup {
    /// Table -> allowed relative difference of row counts (0.05 = 5%), for live tables.
    pub tolerance: Option<OrderedMap<Spanned<f64>>>,
    /// A server URL for the scratch database; default: the source's server.
    pub scratch: Option<Spanned<Text>>,
}

/// A resolved `database:` block.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Database {
    /// The connection URL; a secret when it came from `${VAR}` (it usually does).
    pub url: Text,
    pub expect: Expect,
    pub lints: LintSettings,
    /// Folder of migration files, linted with squawk before the deploy.
    pub migrations: Option<PathBuf>,
    /// Every statement of `db verify` and the restore comparison is cut off after this.
    #[serde(with = "crate::duration::text")]
    pub statement_timeout: Duration,
    pub backup: BackupSettings,
}

/// A relation name as `schema.name` (schema `public` when none was written).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn parse(text: &str) -> QualifiedName {
        match text.split_once('.') {
            Some((s, n)) => QualifiedName {
                schema: s.to_owned(),
                name: n.to_owned(),
            },
            None => QualifiedName {
                schema: "public".to_owned(),
                name: text.to_owned(),
            },
        }
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Expect {
    pub tables: Vec<QualifiedName>,
    pub views: Vec<QualifiedName>,
    /// Table -> columns it must have.
    pub columns: Vec<(QualifiedName, Vec<String>)>,
    pub rls: RlsRule,
}

/// Where row-level security is required (enabled, and at least one policy).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RlsRule {
    #[default]
    None,
    /// Every table of these schemas.
    Schemas(Vec<String>),
    /// These tables.
    Tables(Vec<QualifiedName>),
}

/// Finding levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }

    fn parse(text: &str) -> Option<Level> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" => Some(Level::Error),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LintSettings {
    /// The lints that run, by name (all of [`LINT_NAMES`] by default).
    pub enabled: Vec<String>,
    /// Finding keys (or lint names) that are not reported.
    pub ignore: Vec<String>,
    /// Findings at this level or above fail `db verify` (exit 1) and the database gate.
    pub fail_on: Level,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BackupSettings {
    pub tolerance: Vec<(QualifiedName, f64)>,
    pub scratch: Option<Text>,
}

/// Resolves a `database:` block; `names` are the lints this shipit knows.
pub(crate) fn resolve(
    file: &Path,
    text: &str,
    dir: &Path,
    env: &str,
    raw: &Spanned<RawDatabase>,
    names: &[&str],
) -> Result<Database, ConfigError> {
    let err = |at: serde_saphyr::Location, msg: String| {
        ConfigError::at(file, text, at.line(), at.column(), msg)
    };
    let raw_db = &raw.value;
    let url = raw_db.url.value.clone();
    let url_text = url.as_str();
    let is_url = url_text.starts_with("postgres://") || url_text.starts_with("postgresql://");
    if !is_url {
        return Err(err(
            raw_db.url.referenced,
            format!(
                "`environments.{env}.database.url` must be a postgres:// or postgresql:// URL"
            ),
        )
        .hint("e.g. url: \"${STAGING_DB_URL}\" with STAGING_DB_URL=postgres://USER:PASSWORD@HOST:5432/postgres?sslmode=require"));
    }
    if let Err(e) = crate::pg::parse(url_text) {
        return Err(err(
            raw_db.url.referenced,
            format!("`environments.{env}.database.url` cannot be read: {e:#}"),
        ));
    }
    let expect = match &raw_db.expect {
        None => Expect::default(),
        Some(e) => Expect {
            tables: names_of(e.tables.as_ref()),
            views: names_of(e.views.as_ref()),
            columns: e
                .columns
                .as_ref()
                .map(|c| {
                    c.iter()
                        .map(|(t, cols)| {
                            (
                                QualifiedName::parse(t),
                                cols.iter().map(|c| c.value.clone()).collect(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            rls: match e.rls.as_ref().map(|r| &r.value) {
                None | Some(RawRls::Switch(false)) => RlsRule::None,
                Some(RawRls::Switch(true)) => RlsRule::Schemas(vec!["public".to_owned()]),
                Some(RawRls::Schema(s)) if s == "off" || s == "none" => RlsRule::None,
                Some(RawRls::Schema(s)) => RlsRule::Schemas(vec![s.clone()]),
                Some(RawRls::Tables(t)) => {
                    RlsRule::Tables(t.iter().map(|t| QualifiedName::parse(t)).collect())
                }
            },
        },
    };
    let check_names = |list: &[Spanned<String>]| -> Result<Vec<String>, ConfigError> {
        let mut out = Vec::new();
        for n in list {
            if !names.contains(&n.value.as_str()) {
                let mut e = err(n.referenced, format!("unknown database lint `{}`", n.value));
                e = match closest(&n.value, names.iter().copied()) {
                    Some(best) => e.hint(format!("did you mean `{best}`?")),
                    None => e.hint(format!("known lints: {}", names.join(", "))),
                };
                return Err(e);
            }
            out.push(n.value.clone());
        }
        Ok(out)
    };
    let all = || names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let word = |w: &str, at: serde_saphyr::Location| -> Result<Vec<String>, ConfigError> {
        match w {
            "default" | "all" => Ok(all()),
            "off" | "none" => Ok(Vec::new()),
            other => Err(err(at, format!("`lints: {other}` is not valid"))
                .hint("use `default`, `off`, a list of lint names, or `{ use: default, ignore: [KEY, ...], fail_on: error }`")),
        }
    };
    let lints = match &raw_db.lints {
        None => LintSettings {
            enabled: all(),
            ignore: Vec::new(),
            fail_on: Level::Error,
        },
        Some(l) => {
            let at = l.referenced;
            match &l.value {
                RawLints::Switch(on) => LintSettings {
                    enabled: if *on { all() } else { Vec::new() },
                    ignore: Vec::new(),
                    fail_on: Level::Error,
                },
                RawLints::Word(w) => LintSettings {
                    enabled: word(w, at)?,
                    ignore: Vec::new(),
                    fail_on: Level::Error,
                },
                RawLints::Pick(list) => LintSettings {
                    enabled: check_names(list)?,
                    ignore: Vec::new(),
                    fail_on: Level::Error,
                },
                RawLints::Full(f) => {
                    let enabled = match &f.pick {
                        None => all(),
                        Some(p) => match &p.value {
                            RawLintsPick::Word(w) => word(w, p.referenced)?,
                            RawLintsPick::Pick(list) => check_names(list)?,
                        },
                    };
                    let fail_on = match &f.fail_on {
                        None => Level::Error,
                        Some(l) => Level::parse(&l.value).ok_or_else(|| {
                            err(
                                l.referenced,
                                format!("`lints.fail_on: {}` is not a level", l.value),
                            )
                            .hint("use error, warn or info")
                        })?,
                    };
                    LintSettings {
                        enabled,
                        ignore: f.ignore.iter().flatten().map(|k| k.value.clone()).collect(),
                        fail_on,
                    }
                }
            }
        }
    };
    let migrations = match &raw_db.migrations {
        None => None,
        Some(m) => {
            let full = dir.join(&m.value);
            if !full.is_dir() {
                return Err(err(
                    m.referenced,
                    format!(
                        "migrations folder `{}` does not exist (looked for {})",
                        m.value,
                        full.display()
                    ),
                )
                .hint("fix the path (relative to shipit.yml's folder) or remove `migrations:`"));
            }
            Some(full)
        }
    };
    let statement_timeout = raw_db
        .statement_timeout
        .map_or(Duration::from_secs(10), |d| d.0);
    if statement_timeout.is_zero() {
        return Err(err(
            raw.referenced,
            format!("`environments.{env}.database.statement_timeout` must be more than 0s"),
        )
        .hint("e.g. statement_timeout: 10s"));
    }
    let backup = match &raw_db.backup {
        None => BackupSettings::default(),
        Some(b) => {
            let mut tolerance = Vec::new();
            for (table, t) in b.tolerance.iter().flat_map(OrderedMap::iter) {
                if !(0.0..=1.0).contains(&t.value) {
                    return Err(err(
                        t.referenced,
                        format!(
                            "`backup.tolerance.{table}: {}` must be between 0 and 1",
                            t.value
                        ),
                    )
                    .hint("0.05 lets the copy's row count differ from the source's by 5%"));
                }
                tolerance.push((QualifiedName::parse(table), t.value));
            }
            let scratch = match &b.scratch {
                None => None,
                Some(s) => {
                    let v = s.value.as_str();
                    if !(v.starts_with("postgres://") || v.starts_with("postgresql://")) {
                        return Err(err(
                            s.referenced,
                            "`backup.scratch` must be a postgres:// URL of the scratch server"
                                .to_owned(),
                        ));
                    }
                    Some(s.value.clone())
                }
            };
            BackupSettings { tolerance, scratch }
        }
    };
    Ok(Database {
        url,
        expect,
        lints,
        migrations,
        statement_timeout,
        backup,
    })
}

fn names_of(list: Option<&Vec<Spanned<String>>>) -> Vec<QualifiedName> {
    list.map(|l| l.iter().map(|n| QualifiedName::parse(&n.value)).collect())
        .unwrap_or_default()
}

/// Every lint `db::lints` runs, in catalogue order: what `lints:` may name and what `lints:
/// default` runs.
pub const LINT_NAMES: &[&str] = &[
    "rls_disabled_in_public",
    "policy_exists_rls_disabled",
    "rls_enabled_no_policy",
    "security_definer_view",
    "function_search_path_mutable",
    "rls_policy_always_true",
    "multiple_permissive_policies",
    "auth_rls_initplan",
    "unindexed_foreign_keys",
    "no_primary_key",
    "duplicate_index",
    "extension_in_public",
];
