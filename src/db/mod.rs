//! The database: `db verify` (expected tables, views and columns, row-level security where
//! required, the advisor lints of `lints.rs`) and the restore check of `backup.rs`. The external
//! tools (`pg_dump`, `pg_restore`, `squawk`) are run by `tools.rs`, the one edge here that
//! spawns processes.
//!
//! **Invariant:** this module is the only one that opens database connections besides the
//! record's postgres backend, always through `crate::pg`; `verify` reads inside a read-only
//! transaction with a statement timeout and never writes.

pub(crate) mod backup;
pub(crate) mod lints;
pub(crate) mod migrations;
pub(crate) mod tools;

use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use tokio_postgres::SimpleQueryMessage;

use crate::config::database::{Database, Level, QualifiedName, RlsRule};

/// One thing `db verify` found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The lint's name, or `expect` for an expectation of the config.
    pub lint: String,
    pub level: Level,
    /// The object: `public.picker_payments`, `public.f(integer)`, `pg_trgm`...
    pub object: String,
    /// What is wrong with it, one line.
    pub detail: String,
    /// What to do, one line.
    pub remedy: String,
    /// Stable: put it in `lints: { ignore: [...] }` to silence this finding.
    pub key: String,
}

impl Finding {
    /// `ERROR  rls_disabled_in_public  public.picker_payments: row-level security is off ...`
    pub(crate) fn line(&self) -> String {
        format!(
            "{:<5}  {}  {}: {}",
            self.level.name(),
            self.lint,
            self.object,
            self.detail
        )
    }
}

/// What the server is, as far as the lints care.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct ServerFacts {
    pub server_version: String,
    /// The Supabase API roles that exist (`anon`, `authenticated`); empty on plain `PostgreSQL`.
    pub api_roles: Vec<String>,
    /// The schemas the API exposes (`pgrst.db_schemas`, else `public`).
    pub exposed_schemas: Vec<String>,
}

/// The result of `db verify`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verification {
    /// `host:port/db`.
    pub database: String,
    pub read_only: bool,
    #[serde(serialize_with = "ms")]
    pub statement_timeout: Duration,
    pub server: ServerFacts,
    /// The lints that ran.
    pub lints: Vec<String>,
    /// What was checked from `expect:`, in words (`2 tables, 1 view, ...`).
    pub expected: String,
    /// Reported findings, most severe first.
    pub findings: Vec<Finding>,
    /// Findings left out by `lints.ignore`, by key.
    pub ignored: Vec<String>,
    pub fail_on: Level,
    /// Whether a finding at `fail_on` or above remains.
    pub failed: bool,
    pub duration_ms: u64,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with passes the field by reference"
)]
fn ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl Verification {
    /// `1 ERROR, 2 WARN, 0 INFO`.
    pub(crate) fn counts(&self) -> String {
        let n = |l: Level| self.findings.iter().filter(|f| f.level == l).count();
        format!(
            "{} ERROR, {} WARN, {} INFO",
            n(Level::Error),
            n(Level::Warn),
            n(Level::Info)
        )
    }

    /// The `database` gate's record: rule, what was seen, verdict, a line per finding.
    pub(crate) fn gate_record(&self) -> crate::report::GateRecord {
        use crate::report::Verdict;
        crate::report::GateRecord {
            name: "database".to_owned(),
            rule: format!(
                "{}; {} lints; no finding at {} or above",
                self.expected,
                self.lints.len(),
                self.fail_on.name()
            ),
            observed: self.counts(),
            verdict: if self.failed {
                Verdict::Fail
            } else if self.findings.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Warn
            },
            details: self.findings.iter().map(Finding::line).collect(),
        }
    }

    /// The findings that fail the verification.
    pub(crate) fn failing(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.level >= self.fail_on)
    }
}

/// Connects to `db` and verifies it: what `shipit db verify` and the database gate run.
pub(crate) async fn verify(db: &Database, what: &str) -> anyhow::Result<Verification> {
    let target = crate::pg::parse(db.url.as_str())?;
    let client = crate::pg::connect(&target, what).await?;
    verify_with(&client, &target.shown, db).await
}

/// Verifies over an open connection (the restore check reuses this on its copy).
pub(crate) async fn verify_with(
    client: &tokio_postgres::Client,
    shown: &str,
    db: &Database,
) -> anyhow::Result<Verification> {
    let started = std::time::Instant::now();
    let timeout_ms = db.statement_timeout.as_millis();
    client
        .batch_execute(&format!(
            "BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeout_ms}; \
             SET LOCAL lock_timeout = {timeout_ms}; SET LOCAL search_path = ''"
        ))
        .await
        .map_err(|e| crate::pg::describe(&e))
        .with_context(|| format!("cannot start a read-only transaction on {shown}"))?;
    let result = run_checks(client, db).await;
    // Read-only: ending it either way changes nothing.
    let _ = client.batch_execute("ROLLBACK").await;
    let (server, mut findings) = result.with_context(|| format!("cannot verify {shown}"))?;
    let (ignored, kept): (Vec<Finding>, Vec<Finding>) = findings
        .drain(..)
        .partition(|f| db.lints.ignore.iter().any(|i| *i == f.key || *i == f.lint));
    let mut findings = kept;
    findings.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.key.cmp(&b.key)));
    let failed = findings.iter().any(|f| f.level >= db.lints.fail_on);
    Ok(Verification {
        database: shown.to_owned(),
        read_only: true,
        statement_timeout: db.statement_timeout,
        server,
        lints: db.lints.enabled.clone(),
        expected: expected_words(db),
        findings,
        ignored: ignored.into_iter().map(|f| f.key).collect(),
        fail_on: db.lints.fail_on,
        failed,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// Every query `verify` sends for the lints, in order (for `--print-sql` and the benchmark).
pub(crate) fn lint_script(enabled: &[String]) -> String {
    let mut script = String::from(FACTS_SQL);
    script.push(';');
    for name in enabled {
        if let Some(lint) = lints::find(name) {
            script.push('\n');
            script.push_str(&lint.query());
            script.push(';');
        }
    }
    script
}

const FACTS_SQL: &str = "SELECT pg_catalog.current_setting('server_version'),
       coalesce((SELECT pg_catalog.string_agg(rolname, ',' ORDER BY rolname) FROM pg_catalog.pg_roles
                 WHERE rolname IN ('anon', 'authenticated')), ''),
       coalesce(nullif(pg_catalog.current_setting('pgrst.db_schemas', true), ''), 'public')";

/// The facts query and every lint in one round trip (simple protocol: no prepare per query),
/// then the expectations.
async fn run_checks(
    client: &tokio_postgres::Client,
    db: &Database,
) -> anyhow::Result<(ServerFacts, Vec<Finding>)> {
    let script = lint_script(&db.lints.enabled);
    let messages = client
        .simple_query(&script)
        .await
        .map_err(|e| crate::pg::describe(&e))
        .context("the catalog queries failed")?;
    // Split the rows by statement: each `CommandComplete` ends one.
    let mut results: Vec<Vec<Vec<String>>> = vec![Vec::new()];
    for m in messages {
        match m {
            SimpleQueryMessage::Row(row) => {
                let cols = (0..row.len())
                    .map(|i| row.get(i).unwrap_or_default().to_owned())
                    .collect();
                results.last_mut().expect("never empty").push(cols);
            }
            SimpleQueryMessage::CommandComplete(_) => results.push(Vec::new()),
            _ => {}
        }
    }
    let mut results = results.into_iter();
    let facts_row = results
        .next()
        .and_then(|r| r.into_iter().next())
        .unwrap_or_default();
    let field = |i: usize| facts_row.get(i).cloned().unwrap_or_default();
    let split = |s: String| -> Vec<String> {
        s.split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()
    };
    let server = ServerFacts {
        server_version: field(0),
        api_roles: split(field(1)),
        exposed_schemas: split(field(2)),
    };
    let mut findings = Vec::new();
    for name in &db.lints.enabled {
        let Some(lint) = lints::find(name) else {
            continue;
        };
        for row in results.next().unwrap_or_default() {
            let mut cols = row.into_iter();
            let object = cols.next().unwrap_or_default();
            let key = cols.next().unwrap_or_default();
            let detail = cols.next().unwrap_or_default();
            findings.push(Finding {
                lint: lint.name.to_owned(),
                level: lint.level,
                object,
                detail,
                remedy: lint.remedy.to_owned(),
                key,
            });
        }
    }
    findings.extend(expectations(client, db).await?);
    Ok((server, findings))
}

/// One relation of the catalog.
struct Relation {
    name: QualifiedName,
    /// `r`/`p` table, `v`/`m` view.
    kind: char,
    rls: bool,
    policies: i64,
}

/// Checks `expect:`: tables, views, columns, and row-level security where required.
async fn expectations(
    client: &tokio_postgres::Client,
    db: &Database,
) -> anyhow::Result<Vec<Finding>> {
    let e = &db.expect;
    if e.tables.is_empty() && e.views.is_empty() && e.columns.is_empty() && e.rls == RlsRule::None {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relrowsecurity,
                (SELECT pg_catalog.count(*) FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition AND {}",
        lints::excluded()
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(|e| crate::pg::describe(&e))
        .context("the catalog query for the expected objects failed")?;
    let relations: Vec<Relation> = rows
        .iter()
        .map(|r| Relation {
            name: QualifiedName {
                schema: r.get(0),
                name: r.get(1),
            },
            kind: r.get::<_, String>(2).chars().next().unwrap_or('?'),
            rls: r.get(3),
            policies: r.get(4),
        })
        .collect();
    let find = |q: &QualifiedName| relations.iter().find(|r| r.name == *q);
    let is_table = |r: &Relation| matches!(r.kind, 'r' | 'p');
    let mut out = Vec::new();
    let mut finding = |object: String, detail: String, remedy: &str, key: String| {
        out.push(Finding {
            lint: "expect".to_owned(),
            level: Level::Error,
            object,
            detail,
            remedy: remedy.to_owned(),
            key,
        });
    };
    for t in &e.tables {
        match find(t) {
            Some(r) if is_table(r) => {}
            Some(_) => finding(
                t.to_string(),
                "expected a table, found a view".into(),
                "check the migration: it should create a table",
                format!("expected_table_missing_{}_{}", t.schema, t.name),
            ),
            None => finding(
                t.to_string(),
                "expected table does not exist".into(),
                "run the migration that creates it, or fix `expect.tables`",
                format!("expected_table_missing_{}_{}", t.schema, t.name),
            ),
        }
    }
    for v in &e.views {
        match find(v) {
            Some(r) if !is_table(r) => {}
            Some(_) => finding(
                v.to_string(),
                "expected a view, found a table".into(),
                "check the migration: it should create a view",
                format!("expected_view_missing_{}_{}", v.schema, v.name),
            ),
            None => finding(
                v.to_string(),
                "expected view does not exist".into(),
                "run the migration that creates it, or fix `expect.views`",
                format!("expected_view_missing_{}_{}", v.schema, v.name),
            ),
        }
    }
    if !e.columns.is_empty() {
        let schemas: Vec<String> = e.columns.iter().map(|(t, _)| t.schema.clone()).collect();
        let names: Vec<String> = e.columns.iter().map(|(t, _)| t.name.clone()).collect();
        let rows = client
            .query(
                "SELECT n.nspname::text, c.relname::text, a.attname::text
                 FROM pg_catalog.pg_attribute a
                 JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 JOIN unnest($1::text[], $2::text[]) AS w(s, t)
                   ON w.s = n.nspname AND w.t = c.relname
                 WHERE a.attnum > 0 AND NOT a.attisdropped",
                &[&schemas, &names],
            )
            .await
            .map_err(|e| crate::pg::describe(&e))
            .context("the catalog query for the expected columns failed")?;
        let have: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        for (t, cols) in &e.columns {
            if find(t).is_none() {
                finding(
                    t.to_string(),
                    format!(
                        "has expected columns ({}) but does not exist",
                        cols.join(", ")
                    ),
                    "run the migration that creates it, or fix `expect.columns`",
                    format!("expected_table_missing_{}_{}", t.schema, t.name),
                );
                continue;
            }
            for c in cols {
                if !have
                    .iter()
                    .any(|(s, n, a)| *s == t.schema && *n == t.name && a == c)
                {
                    finding(
                        format!("{t}.{c}"),
                        "expected column does not exist".into(),
                        "run the migration that adds it, or fix `expect.columns`",
                        format!("expected_column_missing_{}_{}_{c}", t.schema, t.name),
                    );
                }
            }
        }
    }
    let required: Vec<&Relation> = match &e.rls {
        RlsRule::None => Vec::new(),
        RlsRule::Schemas(schemas) => relations
            .iter()
            .filter(|r| is_table(r) && schemas.contains(&r.name.schema))
            .collect(),
        RlsRule::Tables(tables) => tables
            .iter()
            .filter_map(find)
            .filter(|r| is_table(r))
            .collect(),
    };
    for r in required {
        if !r.rls {
            finding(
                r.name.to_string(),
                "row-level security is required here and is off".into(),
                "ALTER TABLE ... ENABLE ROW LEVEL SECURITY, then add policies",
                format!("rls_required_{}_{}", r.name.schema, r.name.name),
            );
        } else if r.policies == 0 {
            finding(
                r.name.to_string(),
                "row-level security is on but the table has no policy".into(),
                "CREATE POLICY ... for the roles that use the table",
                format!("rls_required_no_policy_{}_{}", r.name.schema, r.name.name),
            );
        }
    }
    Ok(out)
}

/// `expect:` in words, for the output.
fn expected_words(db: &Database) -> String {
    let e = &db.expect;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let cols: usize = e.columns.iter().map(|(_, c)| c.len()).sum();
    let rls = match &e.rls {
        RlsRule::None => "RLS not required".to_owned(),
        RlsRule::Schemas(s) => format!("RLS on every table of {}", s.join(", ")),
        RlsRule::Tables(t) => format!("RLS on {}", plural(t.len(), "table", "tables")),
    };
    format!(
        "{}, {}, {}, {rls}",
        plural(e.tables.len(), "table", "tables"),
        plural(e.views.len(), "view", "views"),
        plural(cols, "column", "columns"),
    )
}
