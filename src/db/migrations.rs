//! The migration lint before a deploy: the new files of `database.migrations` go through
//! squawk (`PyPI`: `squawk-cli`), and a finding refuses the deploy before any `flyctl deploy`.
//! Without squawk it is a notice, never a refusal.
//!
//! "New" means not yet applied: when the database has Supabase's ledger
//! (`supabase_migrations.schema_migrations`), files whose version (the name up to the first `_`)
//! is in it are left out; without a ledger, or when the database cannot be read, every file is
//! linted (and the notice says why).
//!
//! squawk also reports matters of style; these rules are left out unless the project has its own
//! `.squawk.toml` beside shipit.yml (then that file decides): [`STYLE_RULES`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::tools::{self, RunError};
use crate::config::database::Database;
use crate::stop::Stop;

/// squawk rules about style or habits rather than danger to a live database.
pub(crate) const STYLE_RULES: &[&str] = &[
    "prefer-robust-stmts",
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-text-field",
    "prefer-timestamp-tz",
    "require-lock-timeout",
    "require-statement-timeout",
];

/// One squawk finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SquawkFinding {
    pub file: String,
    /// 1-based.
    pub line: u64,
    pub rule: String,
    pub message: String,
    pub help: Option<String>,
}

impl SquawkFinding {
    /// `20260101_add_note.sql:1: adding-required-field: Adding a new column ... (hint: ...)`.
    pub(crate) fn line_text(&self) -> String {
        let mut s = format!(
            "{}:{}: {}: {}",
            self.file, self.line, self.rule, self.message
        );
        if let Some(h) = &self.help {
            s.push_str(" (");
            s.push_str(h);
            s.push(')');
        }
        s
    }
}

/// What the lint decided.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// No `database.migrations` for this environment.
    NotConfigured,
    /// Nothing new to lint.
    NothingNew,
    /// squawk is not installed: a notice, the deploy goes on.
    NoSquawk { notice: String },
    Clean {
        files: Vec<String>,
        notice: Option<String>,
    },
    /// Findings: the deploy is refused.
    Dangerous {
        files: Vec<String>,
        findings: Vec<SquawkFinding>,
    },
}

/// Migration files (`*.sql`) of `dir`, sorted by name (the order they apply in).
pub(crate) fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the migrations folder {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
        .collect();
    out.sort();
    Ok(out)
}

/// The version of a migration file: its name up to the first `_` (Supabase's convention).
pub(crate) fn version(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.split_once('_').map_or_else(
        || name.trim_end_matches(".sql").to_owned(),
        |(v, _)| v.to_owned(),
    )
}

/// The versions the database's ledger says are applied; `Ok(None)` when it has no ledger.
pub(crate) async fn applied(db: &Database, what: &str) -> anyhow::Result<Option<Vec<String>>> {
    let target = crate::pg::parse(db.url.as_str())?;
    let client = crate::pg::connect(&target, what).await?;
    client
        .batch_execute(&format!(
            "BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}",
            db.statement_timeout.as_millis()
        ))
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    let exists = client
        .query_one(
            "SELECT pg_catalog.to_regclass('supabase_migrations.schema_migrations') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| crate::pg::describe(&e))?
        .get::<_, bool>(0);
    let versions = if exists {
        let rows = client
            .query(
                "SELECT version::text FROM supabase_migrations.schema_migrations",
                &[],
            )
            .await
            .map_err(|e| crate::pg::describe(&e))?;
        Some(rows.iter().map(|r| r.get(0)).collect())
    } else {
        None
    };
    let _ = client.batch_execute("ROLLBACK").await;
    Ok(versions)
}

/// Lints the environment's new migrations. `config_dir` is shipit.yml's folder (where a
/// `.squawk.toml` would be).
pub(crate) async fn lint(
    db: &Database,
    env: &str,
    config_dir: &Path,
    stop: &Stop,
) -> anyhow::Result<Outcome> {
    let Some(dir) = &db.migrations else {
        return Ok(Outcome::NotConfigured);
    };
    let Some(squawk) = tools::squawk()? else {
        return Ok(Outcome::NoSquawk {
            notice: format!(
                "squawk is not installed: the migrations in {} were not linted (pip install squawk-cli)",
                dir.display()
            ),
        });
    };
    let all = files(dir)?;
    let (new, notice) = match applied(db, &format!("the {env} database")).await {
        Ok(Some(versions)) => (
            all.into_iter()
                .filter(|f| !versions.contains(&version(f)))
                .collect(),
            None,
        ),
        Ok(None) => (
            all,
            Some("no migration ledger in the database: every migration file was linted".to_owned()),
        ),
        Err(e) => (
            all,
            Some(format!(
                "cannot read the migration ledger ({e:#}): every migration file was linted"
            )),
        ),
    };
    if new.is_empty() {
        return Ok(Outcome::NothingNew);
    }
    let findings = run_squawk(&squawk, &new, config_dir, stop).await?;
    let files = new
        .iter()
        .map(|f| {
            f.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    Ok(if findings.is_empty() {
        Outcome::Clean { files, notice }
    } else {
        Outcome::Dangerous { files, findings }
    })
}

/// Runs squawk's JSON reporter over `files`.
async fn run_squawk(
    squawk: &tools::Tool,
    files: &[PathBuf],
    config_dir: &Path,
    stop: &Stop,
) -> anyhow::Result<Vec<SquawkFinding>> {
    let mut args: Vec<OsString> = vec!["--reporter".into(), "json".into()];
    let own_config = config_dir.join(".squawk.toml");
    if own_config.is_file() {
        args.push("--config".into());
        args.push(own_config.into());
    } else {
        args.push(format!("--exclude={}", STYLE_RULES.join(",")).into());
    }
    args.extend(files.iter().map(OsString::from));
    let out = match tools::run(squawk, &args, None, stop).await {
        Ok(f) => f,
        Err(RunError::Cancelled) => anyhow::bail!("cancelled while squawk ran"),
        Err(RunError::Failed(m)) => anyhow::bail!("{m}"),
    };
    parse(&out.stdout).map_err(|e| {
        anyhow::anyhow!(
            "squawk's output is not what shipit reads (exit {}): {e}; {}",
            out.code
                .map_or_else(|| "signal".to_owned(), |c| c.to_string()),
            out.stderr
        )
    })
}

/// squawk's `--reporter json`: an array of `{file, line (0-based), rule_name, message, help}`.
pub(crate) fn parse(stdout: &str) -> Result<Vec<SquawkFinding>, String> {
    #[derive(Deserialize)]
    struct Raw {
        file: String,
        line: u64,
        rule_name: String,
        message: String,
        help: Option<String>,
    }
    let text = stdout.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<Raw> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(raw
        .into_iter()
        .map(|r| SquawkFinding {
            file: Path::new(&r.file)
                .file_name()
                .map_or(r.file.clone(), |n| n.to_string_lossy().into_owned()),
            line: r.line + 1,
            rule: r.rule_name,
            message: r.message,
            help: r.help,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squawk_json_is_read_with_one_based_lines_and_file_names() {
        let json = r#"[{"file":"/x/supabase/migrations/20260102_note.sql","line":0,"column":28,"level":"Warning","message":"Adding a new column that is `NOT NULL` and has no default value to an existing table effectively makes it required.","help":"Make the field nullable or add a non-VOLATILE DEFAULT","rule_name":"adding-required-field","column_end":57,"line_end":0}]"#;
        let f = parse(json).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].file, "20260102_note.sql");
        assert_eq!(f[0].line, 1);
        assert_eq!(f[0].rule, "adding-required-field");
        assert!(
            f[0].line_text()
                .starts_with("20260102_note.sql:1: adding-required-field: ")
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert!(parse("Found 3 issues").is_err());
    }

    #[test]
    fn a_version_is_the_name_up_to_the_first_underscore() {
        assert_eq!(
            version(Path::new("m/20260101120000_picker_tables.sql")),
            "20260101120000"
        );
        assert_eq!(version(Path::new("m/0001.sql")), "0001");
    }
}
