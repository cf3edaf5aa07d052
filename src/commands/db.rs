//! `shipit db verify [ENV]` and `shipit db backup-check ENV [--dump FILE] [--scratch URL]`: thin
//! wiring of `db::verify` and `db::backup::check` to the printer and the record.
//!
//! Exit 0 when the verification has no finding at `lints.fail_on` (default ERROR) or above, or
//! when the backup restored and compared clean; 1 otherwise; 130 when cancelled.

use std::time::{Instant, SystemTime};

use crate::config::database::Database;
use crate::config::{Config, Environment};
use crate::db::{self, Verification, backup};
use crate::event::Event;
use crate::exit::Outcome;
use crate::report::{GateRecord, RunKind, ServiceRecord, ServiceResult, Verdict};
use crate::settings::DbSettings;

pub(crate) async fn run(ctx: &super::Ctx, settings: DbSettings) -> anyhow::Result<Outcome> {
    match settings {
        DbSettings::Verify { env, print_sql } => verify(ctx, env.as_deref(), print_sql).await,
        DbSettings::BackupCheck { env, dump, scratch } => {
            backup_check(ctx, &env, dump.as_deref(), scratch.as_deref()).await
        }
        DbSettings::LintMigrations { env } => lint_migrations(ctx, env.as_deref()).await,
    }
}

/// The environment with a `database:` block: the one named, or the only one there is.
pub(crate) fn environment<'c>(
    config: &'c Config,
    env: Option<&str>,
) -> anyhow::Result<(&'c Environment, &'c Database)> {
    let with_db: Vec<&Environment> = config
        .environments
        .iter()
        .filter(|e| e.database.is_some())
        .collect();
    let e = match env {
        Some(name) => config.environment(name).ok_or_else(|| {
            let known: Vec<&str> = config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            anyhow::anyhow!(
                "no environment `{name}` in {}\nhint: environments: {}",
                config.path.display(),
                known.join(", ")
            )
        })?,
        None => match with_db.as_slice() {
            [one] => *one,
            [] => anyhow::bail!(
                "no environment of {} has a `database:` block\nhint: add e.g. `environments: {{ staging: {{ database: {{ url: \"${{STAGING_DB_URL}}\" }} }} }}`",
                config.path.display()
            ),
            many => anyhow::bail!(
                "more than one environment has a database ({}): name one\nhint: shipit db verify {}",
                many.iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                many[0].name
            ),
        },
    };
    let db = e.database.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "environment `{}` has no `database:` block in {}\nhint: add `database: {{ url: \"${{...}}\" }}` under `environments.{}`",
            e.name,
            config.path.display(),
            e.name
        )
    })?;
    Ok((e, db))
}

async fn verify(ctx: &super::Ctx, env: Option<&str>, print_sql: bool) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let (e, database) = environment(&config, env)?;
    let p = &ctx.printer;
    if print_sql {
        p.out(&db::lint_script(&database.lints.enabled));
        return Ok(Outcome::Success);
    }
    let started_at = SystemTime::now();
    let started = Instant::now();
    let shown = crate::pg::parse(database.url.as_str())?.shown;
    p.step(&format!(
        "db verify {}: {shown} (read-only transaction, statement timeout {})",
        e.name,
        crate::duration::format(database.statement_timeout)
    ));
    let what = format!("the {} database", e.name);
    let v = tokio::select! {
        biased;
        () = ctx.stop.stopped() => None,
        v = db::verify(database, &what) => Some(v?),
    };
    let mut record = super::new_record(RunKind::DbVerify, Some(e.name.clone()), started_at);
    let Some(v) = v else {
        let mut rec = ServiceRecord::new(&e.name, "database", &shown, &shown);
        rec.result = ServiceResult::Cancelled;
        record.services.push(rec);
        record.summary = format!("db verify {}: cancelled", e.name);
        return Ok(super::end_check_run(
            ctx,
            &config,
            record,
            started,
            Outcome::Cancelled,
            Event::Failed,
        )
        .await);
    };
    print_verification(ctx, &v);
    if p.json_mode() {
        p.json(&serde_json::json!({ "env": e.name, "verification": v }));
    }
    let outcome = if v.failed {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    record.services.push(verification_record(&e.name, &v));
    record.summary = format!(
        "db verify {}: {} ({})",
        e.name,
        if v.failed { "failed" } else { "passed" },
        v.counts()
    );
    Ok(super::end_check_run(ctx, &config, record, started, outcome, Event::Failed).await)
}

/// The findings on stdout, one per line with its remedy and key; the context on stderr.
pub(crate) fn print_verification(ctx: &super::Ctx, v: &Verification) {
    let p = &ctx.printer;
    let roles = if v.server.api_roles.is_empty() {
        "no Supabase API roles (plain PostgreSQL: every table counts as readable)".to_owned()
    } else {
        format!("API roles {}", v.server.api_roles.join(", "))
    };
    p.info(&format!(
        "PostgreSQL {}; {roles}; exposed schemas {}",
        v.server.server_version,
        v.server.exposed_schemas.join(", ")
    ));
    p.info(&format!(
        "expected: {}; {} lints; fail on {} and above",
        v.expected,
        v.lints.len(),
        v.fail_on.name()
    ));
    for f in &v.findings {
        p.out(&f.line());
        p.out(&format!("       remedy: {}", f.remedy));
        p.out(&format!("       key: {}", f.key));
    }
    if !v.ignored.is_empty() {
        p.info(&format!(
            "ignored by lints.ignore: {}",
            v.ignored.join(", ")
        ));
    }
    if v.findings.is_empty() {
        p.out("no findings");
    }
}

/// The record's view of a verification: one `database` gate.
pub(crate) fn verification_record(env: &str, v: &Verification) -> ServiceRecord {
    let mut rec = ServiceRecord::new(env, "database", &v.database, &v.database);
    rec.result = if v.failed {
        ServiceResult::Unhealthy
    } else {
        ServiceResult::Succeeded
    };
    rec.gates.push(v.gate_record());
    for f in &v.findings {
        let line = format!("{} [{}]", f.line(), f.key);
        if f.level >= v.fail_on {
            rec.issues.push(line);
        } else {
            rec.warnings.push(line);
        }
    }
    rec
}

async fn backup_check(
    ctx: &super::Ctx,
    env: &str,
    dump: Option<&std::path::Path>,
    scratch: Option<&str>,
) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let (e, database) = environment(&config, Some(env))?;
    if let Some(s) = scratch {
        // Whatever the scratch URL holds, its password is a secret from here on.
        crate::pg::parse(s)?;
    }
    if let Some(d) = dump
        && !d.is_file()
    {
        anyhow::bail!(
            "the dump {} does not exist\nhint: pass a file made with `pg_dump -Fc`, or leave out --dump",
            d.display()
        );
    }
    let p = &ctx.printer;
    let started_at = SystemTime::now();
    let started = Instant::now();
    let run_id = crate::timefmt::run_id(started_at);
    p.step(&format!("backup-check {}", e.name));
    let req = backup::Request {
        db: database,
        dump: dump.map(std::path::Path::to_path_buf),
        scratch: scratch.map(str::to_owned),
        work_dir: config.state_dir().join("backup-check"),
        run_id,
    };
    let progress = |t: &str| p.info(t);
    let report = backup::check(&req, &ctx.stop, &progress).await?;
    let ms = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), backup::ms_text);
    p.out(&format!(
        "dump     {} ({} bytes{}{})",
        report.dump,
        report.dump_bytes,
        report
            .dump_ms
            .map(|m| format!(", pg_dump {}", backup::ms_text(m)))
            .unwrap_or_default(),
        if report.same_snapshot {
            ", same snapshot as the counts"
        } else {
            ""
        }
    ));
    p.out(&format!(
        "contents {} entries: {} tables, {} views, {} indexes, {} constraints, {} policies",
        report.toc.entries,
        report.toc.tables,
        report.toc.views,
        report.toc.indexes,
        report.toc.constraints,
        report.toc.policies
    ));
    p.out(&format!(
        "restore  {} into {} (dropped: {})",
        ms(report.restore_ms),
        report.scratch,
        if report.scratch_dropped { "yes" } else { "NO" }
    ));
    for t in &report.tables {
        p.out(&format!(
            "{}  {}  source {}  copy {}",
            if t.ok { "ok  " } else { "FAIL" },
            t.table,
            t.source_rows,
            t.copy_rows
                .map_or_else(|| "missing".to_owned(), |n| n.to_string())
        ));
    }
    for problem in &report.problems {
        p.out(&format!("problem  {problem}"));
    }
    if p.json_mode() {
        p.json(&serde_json::json!({ "env": e.name, "backup_check": report }));
    }
    let outcome = if report.cancelled {
        Outcome::Cancelled
    } else if report.passed {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    let mut rec = ServiceRecord::new(&e.name, "database", &report.source, &report.source);
    rec.result = match outcome {
        Outcome::Success => ServiceResult::Succeeded,
        Outcome::Cancelled => ServiceResult::Cancelled,
        _ => ServiceResult::Unhealthy,
    };
    rec.gates.push(GateRecord {
        name: "restore".to_owned(),
        rule: "the dump restores; every table present with its row count; expected objects hold on the copy".to_owned(),
        observed: format!(
            "dump {} bytes in {}, restore {}, {} tables compared",
            report.dump_bytes,
            ms(report.dump_ms),
            ms(report.restore_ms),
            report.tables.len()
        ),
        verdict: match outcome {
            Outcome::Success => Verdict::Pass,
            Outcome::Cancelled => Verdict::Skipped,
            _ => Verdict::Fail,
        },
        details: report.problems.clone(),
    });
    rec.issues.clone_from(&report.problems);
    if report.scratch_dropped {
        rec.actions
            .push(format!("dropped the scratch database {}", report.scratch));
    }
    let mut record = super::new_record(RunKind::BackupCheck, Some(e.name.clone()), started_at);
    record.services.push(rec);
    record.summary = format!(
        "backup-check {}: {} (restore {}, {} tables)",
        e.name,
        match outcome {
            Outcome::Success => "the backup restores".to_owned(),
            Outcome::Cancelled => "cancelled".to_owned(),
            _ => format!(
                "failed: {}",
                report.problems.first().cloned().unwrap_or_default()
            ),
        },
        ms(report.restore_ms),
        report.tables.len()
    );
    Ok(super::end_check_run(ctx, &config, record, started, outcome, Event::Failed).await)
}

async fn lint_migrations(ctx: &super::Ctx, env: Option<&str>) -> anyhow::Result<Outcome> {
    use crate::db::migrations;
    let config = ctx.config()?;
    let (e, database) = environment(&config, env)?;
    let p = &ctx.printer;
    if database.migrations.is_none() {
        anyhow::bail!(
            "environment `{}` has no `database.migrations` folder\nhint: add e.g. `migrations: supabase/migrations` under `environments.{}.database`",
            e.name,
            e.name
        );
    }
    let outcome = migrations::lint(database, &e.name, &config.dir, &ctx.stop).await?;
    if p.json_mode() {
        p.json(&serde_json::json!({ "env": e.name, "migration_lint": outcome }));
    }
    Ok(print_migration_lint(ctx, &outcome))
}

/// Prints the lint's result; `Failed` when it found something (the deploy would be refused).
pub(crate) fn print_migration_lint(
    ctx: &super::Ctx,
    outcome: &crate::db::migrations::Outcome,
) -> Outcome {
    use crate::db::migrations::Outcome as Lint;
    let p = &ctx.printer;
    match outcome {
        Lint::NotConfigured => Outcome::Success,
        Lint::NothingNew => {
            p.info("migration lint: no new migration files");
            Outcome::Success
        }
        Lint::NoSquawk { notice } => {
            p.warn(notice);
            Outcome::Success
        }
        Lint::Clean { files, notice } => {
            if let Some(n) = notice {
                p.info(n);
            }
            p.success(&format!("migration lint: {} clean", files.join(", ")));
            Outcome::Success
        }
        Lint::Dangerous { files, findings } => {
            for f in findings {
                p.out(&f.line_text());
            }
            p.error(&format!(
                "migration lint: {} finding(s) in {}: these migrations would refuse the deploy",
                findings.len(),
                files.join(", ")
            ));
            Outcome::Failed
        }
    }
}
