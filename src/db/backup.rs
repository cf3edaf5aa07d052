//! `shipit db backup-check`: proves that a backup restores. A `pg_dump -Fc` file (made now, or
//! given) is read back with `pg_restore --list`, restored into a scratch database, and the copy
//! is compared with the source: every table present, row counts per table, and the
//! `expect:` objects of `db verify` holding on the copy. Dump size, dump time and restore time
//! are reported: the restore time is what a real incident would wait.
//!
//! When shipit makes the dump it holds a read-only repeatable-read transaction on the source,
//! exports its snapshot and gives it to `pg_dump --snapshot`, and counts the rows in that same
//! transaction: the counts and the dump see the same data, so even live tables compare exactly.
//!
//! **Invariant:** the scratch database is dropped whatever happens after it is created: a
//! failed restore, a failed comparison, a stop (SIGINT/SIGTERM). Only a second Ctrl-C, which
//! exits at once, can leave it (its name starts with `shipit_scratch_` and says when).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use tokio_postgres::SimpleQueryMessage;

use super::tools::{self, Conn, RunError};
use crate::config::database::{Database, QualifiedName};
use crate::stop::Stop;

/// What was asked.
pub(crate) struct Request<'a> {
    pub db: &'a Database,
    /// An existing `pg_dump -Fc` file; `None`: make one now.
    pub dump: Option<PathBuf>,
    /// The scratch server's URL; `None`: the source's server.
    pub scratch: Option<String>,
    /// Where a dump made now is written (and removed afterwards).
    pub work_dir: PathBuf,
    /// Part of the scratch database's name.
    pub run_id: String,
}

/// One table, source against copy.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TableCount {
    pub table: String,
    pub source_rows: i64,
    /// `None`: the table is not in the copy.
    pub copy_rows: Option<i64>,
    /// Allowed relative difference (0 = exact).
    pub tolerance: f64,
    pub ok: bool,
}

/// Object counts of the dump's table of contents.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Toc {
    pub entries: usize,
    pub tables: usize,
    pub table_data: usize,
    pub views: usize,
    pub indexes: usize,
    pub constraints: usize,
    pub policies: usize,
}

/// The result of one check.
#[derive(Debug, Clone, Serialize, Default)]
pub(crate) struct Report {
    /// `host:port/db` of the source.
    pub source: String,
    /// The dump's path as given, or `made by pg_dump` (removed afterwards).
    pub dump: String,
    pub dump_made: bool,
    pub pg_dump_version: Option<String>,
    pub dump_bytes: u64,
    /// Wall time of `pg_dump` (when shipit made the dump).
    pub dump_ms: Option<u64>,
    /// The source's counts and the dump come from one snapshot.
    pub same_snapshot: bool,
    pub toc: Toc,
    /// `host:port/shipit_scratch_...`.
    pub scratch: String,
    pub restore_ms: Option<u64>,
    pub tables: Vec<TableCount>,
    /// Everything that fails the check, one line each.
    pub problems: Vec<String>,
    /// Whether the scratch database is gone (it must always be).
    pub scratch_dropped: bool,
    pub cancelled: bool,
    pub passed: bool,
    pub duration_ms: u64,
}

/// Runs the check. An `Err` is a check that could not be done (no connection, no tool); a
/// failed comparison is a `Report` with `passed: false`.
pub(crate) async fn check(
    req: &Request<'_>,
    stop: &Stop,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let db = req.db;
    let source_target = crate::pg::parse(db.url.as_str())?;
    let mut report = Report {
        source: source_target.shown.clone(),
        ..Report::default()
    };
    let pg_restore = tools::pg_restore()?;
    let pg_dump = if req.dump.is_none() {
        Some(tools::pg_dump()?)
    } else {
        None
    };

    // The source: tables and exact counts inside one read-only snapshot.
    progress(&format!(
        "reading the source {} (read-only)",
        source_target.shown
    ));
    let source = crate::pg::connect(&source_target, "the source database").await?;
    let timeout_ms = db.statement_timeout.as_millis();
    source
        .batch_execute(&format!(
            "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY; \
             SET LOCAL statement_timeout = {timeout_ms}; SET LOCAL search_path = ''"
        ))
        .await
        .map_err(|e| crate::pg::describe(&e))
        .context("cannot start a read-only transaction on the source")?;
    let snapshot = if req.dump.is_none() {
        match source
            .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
            .await
        {
            Ok(row) => Some(row.get::<_, String>(0)),
            Err(_) => None,
        }
    } else {
        None
    };
    let source_tables = tables(&source)
        .await
        .context("cannot list the source's tables")?;
    let source_counts = count_rows(&source, &source_tables)
        .await
        .context("cannot count the source's rows")?;

    // The dump.
    let (dump_path, made) = if let Some(p) = &req.dump {
        report.dump = p.display().to_string();
        (p.clone(), false)
    } else {
        std::fs::create_dir_all(&req.work_dir)
            .with_context(|| format!("cannot create {}", req.work_dir.display()))?;
        "made by pg_dump".clone_into(&mut report.dump);
        (req.work_dir.join(format!("{}.dump", req.run_id)), true)
    };
    report.dump_made = made;
    let result = dump_restore_compare(
        req,
        &mut report,
        &dump_path,
        pg_dump.as_ref(),
        &pg_restore,
        snapshot.as_deref(),
        &source_tables,
        &source_counts,
        stop,
        progress,
    )
    .await;
    let _ = source.batch_execute("ROLLBACK").await;
    if made {
        let _ = std::fs::remove_file(&dump_path);
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Err(e) if !report.cancelled => return Err(e),
        Err(e) => report.problems.push(format!("{e:#}")),
        Ok(()) => {}
    }
    report.passed = report.problems.is_empty() && !report.cancelled && report.scratch_dropped;
    Ok(report)
}

#[allow(
    clippy::too_many_arguments,
    reason = "the steps share the source's state; one struct for them would only rename it"
)]
async fn dump_restore_compare(
    req: &Request<'_>,
    report: &mut Report,
    dump_path: &Path,
    pg_dump: Option<&tools::Tool>,
    pg_restore: &tools::Tool,
    snapshot: Option<&str>,
    source_tables: &[QualifiedName],
    source_counts: &[(QualifiedName, i64)],
    stop: &Stop,
    progress: &dyn Fn(&str),
) -> anyhow::Result<()> {
    let db = req.db;
    if let Some(pg_dump) = pg_dump {
        report.pg_dump_version = Some(tools::version(pg_dump, stop).await);
        let conn = Conn::from_url(db.url.as_str(), None)?;
        let mut args = tools::dump_args(&conn, dump_path);
        if let Some(s) = snapshot {
            args.insert(0, format!("--snapshot={s}").into());
            report.same_snapshot = true;
        }
        progress("pg_dump: dumping the source");
        let t = Instant::now();
        let out = tools::run(pg_dump, &args, Some(&conn), stop).await;
        report.dump_ms = Some(t.elapsed().as_millis() as u64);
        match out {
            Err(RunError::Cancelled) => {
                report.cancelled = true;
                anyhow::bail!("cancelled while pg_dump ran");
            }
            Err(RunError::Failed(m)) => anyhow::bail!("{m}"),
            Ok(f) if !f.success => anyhow::bail!("pg_dump failed: {}", last_lines(&f.stderr)),
            Ok(_) => {}
        }
    }
    report.dump_bytes = std::fs::metadata(dump_path)
        .with_context(|| format!("cannot read the dump {}", dump_path.display()))?
        .len();

    // The table of contents: a dump whose header or catalogue is damaged stops here.
    let list = tools::run(
        pg_restore,
        &[OsString::from("--list"), dump_path.into()],
        None,
        stop,
    )
    .await;
    let toc_text = match list {
        Err(RunError::Cancelled) => {
            report.cancelled = true;
            anyhow::bail!("cancelled while reading the dump");
        }
        Err(RunError::Failed(m)) => anyhow::bail!("{m}"),
        Ok(f) if !f.success => anyhow::bail!(
            "the dump {} cannot be read: {}\nhint: it must be a whole `pg_dump -Fc` file; make a new one, or leave out --dump to let shipit make it",
            dump_path.display(),
            last_lines(&f.stderr)
        ),
        Ok(f) => f.stdout,
    };
    report.toc = toc(&toc_text);

    // The scratch database: from here on it is dropped whatever happens.
    let scratch_url = req
        .scratch
        .clone()
        .or_else(|| db.backup.scratch.as_ref().map(|t| t.as_str().to_owned()))
        .unwrap_or_else(|| db.url.as_str().to_owned());
    let scratch_target = crate::pg::parse(&scratch_url)?;
    let admin = crate::pg::connect(&scratch_target, "the scratch server").await?;
    let name = format!(
        "shipit_scratch_{}",
        req.run_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            })
            .collect::<String>()
    );
    let host = scratch_target
        .shown
        .rsplit_once('/')
        .map_or(scratch_target.shown.as_str(), |(h, _)| h);
    report.scratch = format!("{host}/{name}");
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .map_err(|e| crate::pg::describe(&e))
        .with_context(|| format!("cannot create the scratch database on {host}"))?;
    progress(&format!("created the scratch database {}", report.scratch));
    let inner = restore_and_compare(
        req,
        report,
        dump_path,
        pg_restore,
        &scratch_url,
        &name,
        source_tables,
        source_counts,
        stop,
        progress,
    )
    .await;
    report.scratch_dropped = drop_database(&admin, &name).await.is_ok();
    if report.scratch_dropped {
        progress(&format!("dropped the scratch database {}", report.scratch));
    } else {
        report.problems.push(format!(
            "the scratch database {} could not be dropped: drop it by hand",
            report.scratch
        ));
    }
    inner
}

#[allow(
    clippy::too_many_arguments,
    reason = "the steps share the source's state; one struct for them would only rename it"
)]
async fn restore_and_compare(
    req: &Request<'_>,
    report: &mut Report,
    dump_path: &Path,
    pg_restore: &tools::Tool,
    scratch_url: &str,
    name: &str,
    source_tables: &[QualifiedName],
    source_counts: &[(QualifiedName, i64)],
    stop: &Stop,
    progress: &dyn Fn(&str),
) -> anyhow::Result<()> {
    let db = req.db;
    let conn = Conn::from_url(scratch_url, Some(name))?;
    progress("pg_restore: restoring into the scratch database");
    let t = Instant::now();
    let out = tools::run(
        pg_restore,
        &tools::restore_args(&conn, dump_path, 2),
        Some(&conn),
        stop,
    )
    .await;
    report.restore_ms = Some(t.elapsed().as_millis() as u64);
    match out {
        Err(RunError::Cancelled) => {
            report.cancelled = true;
            anyhow::bail!("cancelled while pg_restore ran");
        }
        Err(RunError::Failed(m)) => anyhow::bail!("{m}"),
        Ok(f) if !f.success => {
            report.problems.push(format!(
                "the dump did not restore: {} (a missing role: create it on the scratch server)",
                last_lines(&f.stderr)
            ));
            return Ok(());
        }
        Ok(_) => {}
    }
    let mut copy_target = crate::pg::parse(scratch_url)?;
    copy_target.config.dbname(name);
    let copy = crate::pg::connect(&copy_target, "the restored copy").await?;
    copy.batch_execute(&format!(
        "SET statement_timeout = {}; SET search_path = ''",
        db.statement_timeout.as_millis()
    ))
    .await
    .map_err(|e| crate::pg::describe(&e))?;
    let copy_tables = tables(&copy)
        .await
        .context("cannot list the copy's tables")?;
    let present: Vec<QualifiedName> = source_tables
        .iter()
        .filter(|t| copy_tables.contains(t))
        .cloned()
        .collect();
    let copy_counts = count_rows(&copy, &present)
        .await
        .context("cannot count the copy's rows")?;
    for (table, source_rows) in source_counts {
        let copy_rows = copy_counts
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n);
        let tolerance = if report.same_snapshot {
            0.0
        } else {
            db.backup
                .tolerance
                .iter()
                .find(|(t, _)| t == table)
                .map_or(0.0, |(_, f)| *f)
        };
        let ok = match copy_rows {
            None => {
                report.problems.push(format!(
                    "table {table} is in the source but not in the restored copy"
                ));
                false
            }
            Some(n) => {
                let allowed = (*source_rows as f64 * tolerance).floor() as i64;
                let ok = (n - source_rows).abs() <= allowed;
                if !ok {
                    report.problems.push(format!(
                        "table {table}: {n} rows in the copy, {source_rows} in the source{}",
                        if tolerance > 0.0 {
                            format!(" (tolerance {:.1}%)", tolerance * 100.0)
                        } else {
                            String::new()
                        }
                    ));
                }
                ok
            }
        };
        report.tables.push(TableCount {
            table: table.to_string(),
            source_rows: *source_rows,
            copy_rows,
            tolerance,
            ok,
        });
    }
    // `db verify`'s expectations (tables, views, columns, RLS), on the copy.
    let mut expect_only = db.clone();
    expect_only.lints.enabled.clear();
    expect_only.lints.ignore.clear();
    let v = super::verify_with(&copy, &report.scratch, &expect_only)
        .await
        .context("cannot verify the restored copy")?;
    for f in &v.findings {
        report
            .problems
            .push(format!("on the copy: {}: {}", f.object, f.detail));
    }
    Ok(())
}

/// Drops a scratch database, ending any session still in it.
async fn drop_database(admin: &tokio_postgres::Client, name: &str) -> anyhow::Result<()> {
    let forced = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
    if forced.is_ok() {
        return Ok(());
    }
    // Before PostgreSQL 13 there is no FORCE: end the sessions, then drop.
    admin
        .execute(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    Ok(())
}

/// The application's tables (platform schemas excluded), sorted.
async fn tables(client: &tokio_postgres::Client) -> anyhow::Result<Vec<QualifiedName>> {
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND {}
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
         ORDER BY 1, 2",
        super::lints::excluded()
    );
    let rows = client
        .query(&sql, &[])
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    Ok(rows
        .iter()
        .map(|r| QualifiedName {
            schema: r.get(0),
            name: r.get(1),
        })
        .collect())
}

/// Exact `count(*)` of each table, in one round trip.
async fn count_rows(
    client: &tokio_postgres::Client,
    tables: &[QualifiedName],
) -> anyhow::Result<Vec<(QualifiedName, i64)>> {
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let sql = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "SELECT {i}, pg_catalog.count(*) FROM ONLY {}.{}",
                ident(&t.schema),
                ident(&t.name)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let messages = client
        .simple_query(&sql)
        .await
        .map_err(|e| crate::pg::describe(&e))?;
    let mut out = Vec::new();
    for m in messages {
        if let SimpleQueryMessage::Row(row) = m {
            let i: usize = row.get(0).unwrap_or("0").parse().unwrap_or(0);
            let n: i64 = row.get(1).unwrap_or("0").parse().unwrap_or(0);
            if let Some(t) = tables.get(i) {
                out.push((t.clone(), n));
            }
        }
    }
    out.sort_by_key(|(t, _)| tables.iter().position(|x| x == t));
    Ok(out)
}

/// Counts `pg_restore --list` lines by object type.
fn toc(list: &str) -> Toc {
    let mut t = Toc::default();
    for line in list
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
    {
        t.entries += 1;
        // `215; 1259 16390 TABLE public picker_earnings shipit`
        let kind = line.split_once(' ').map_or("", |(_, rest)| rest);
        let words: Vec<&str> = kind.split_whitespace().skip(2).collect();
        match words.as_slice() {
            ["TABLE", "DATA", ..] => t.table_data += 1,
            ["TABLE", ..] => t.tables += 1,
            ["VIEW", ..] => t.views += 1,
            ["INDEX", ..] => t.indexes += 1,
            ["CONSTRAINT", ..] | ["FK", "CONSTRAINT", ..] => t.constraints += 1,
            ["POLICY", ..] => t.policies += 1,
            _ => {}
        }
    }
    t
}

/// A tool's error in one line: its `error:` lines when it has them (`pg_restore: error: could
/// not execute query: ERROR: ...`, not the SQL it echoes after), else its last lines.
fn last_lines(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("error:") || l.starts_with("ERROR:"))
        .take(3)
        .collect();
    let chosen = if errors.is_empty() {
        lines[lines.len().saturating_sub(3)..].to_vec()
    } else {
        errors
    };
    if chosen.is_empty() {
        "no message".to_owned()
    } else {
        chosen.join(" / ")
    }
}

/// Milliseconds as a short duration (`1.2s`), for the output.
pub(crate) fn ms_text(ms: u64) -> String {
    crate::duration::format(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_of_contents_is_counted_by_type() {
        let list = ";\n; Archive created at 2026-01-01\n;\n\
            215; 1259 16390 TABLE public picker_earnings shipit\n\
            216; 1259 16391 TABLE public picker_payments shipit\n\
            217; 1259 16392 VIEW public picker_balances shipit\n\
            3301; 0 16390 TABLE DATA public picker_earnings shipit\n\
            3150; 2606 16395 CONSTRAINT public picker_earnings picker_earnings_pkey shipit\n\
            3160; 2606 16396 FK CONSTRAINT public picker_payments fk shipit\n\
            3151; 1259 16397 INDEX public idx shipit\n\
            3320; 3256 16398 POLICY public picker_earnings own shipit\n";
        let t = toc(list);
        assert_eq!(
            (
                t.entries,
                t.tables,
                t.views,
                t.table_data,
                t.constraints,
                t.indexes,
                t.policies
            ),
            (8, 2, 1, 1, 2, 1, 1)
        );
    }
}
