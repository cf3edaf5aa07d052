//! `shipit runbook [--out FILE] [--check]`: writes the operator's runbook (`crate::runbook`)
//! from shipit.yml and the record, or with `--check` fails with a diff when the file on disk is
//! not what it would write, like a formatter check.
//!
//! Exit 0 when written (or current), 1 when `--check` finds the file stale or missing.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::config::Config;
use crate::exit::Outcome;
use crate::report::{RunKind, ServiceResult};
use crate::runbook::{self, Commands, Facts, RollbackFact};

pub(crate) fn run(ctx: &super::Ctx, out: Option<&Path>, check: bool) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let text = std::fs::read_to_string(&config.path)
        .with_context(|| format!("cannot read {}", config.path.display()))?;
    let channels = runbook::channel_lines(&config, &text);
    let facts = facts(ctx, &config);
    let fresh = runbook::render(&config, &channels, &facts, available());
    let path: PathBuf =
        out.map_or_else(|| config.dir.join(runbook::DEFAULT_PATH), Path::to_path_buf);
    let shown = crate::evidence::display_path(&path);
    let existing = std::fs::read_to_string(&path).ok();
    // Without the record's facts here, the file's record part stays what it was.
    let wanted = match (&existing, facts.is_empty()) {
        (Some(old), true) => runbook::keep_record_of(&fresh, old),
        _ => fresh,
    };
    let p = &ctx.printer;
    let (status, diff) = match &existing {
        Some(old) if *old == wanted => ("current", None),
        Some(old) => ("stale", Some(runbook::diff(old, &wanted))),
        None => ("missing", None),
    };
    if check {
        if p.json_mode() {
            p.json(&serde_json::json!({ "path": shown, "status": status, "diff": diff }));
        } else if let Some(d) = &diff {
            p.out(d.trim_end());
        }
        return match status {
            "current" => {
                p.success(&format!("{shown} is current"));
                Ok(Outcome::Success)
            }
            "missing" => Err(anyhow::anyhow!(
                "{shown} does not exist\nhint: run `shipit runbook` and commit the file"
            )),
            _ => {
                super::report_error_text(
                    ctx,
                    &format!(
                        "{shown} is stale: it differs from what shipit.yml and the record say (diff above)\n\
                         hint: run `shipit runbook` and commit the file"
                    ),
                );
                Ok(Outcome::Failed)
            }
        };
    }
    let written = if status == "current" {
        p.info(&format!("{shown} is already current"));
        "unchanged"
    } else {
        write(&path, &wanted).with_context(|| format!("cannot write {shown}"))?;
        p.success(&format!("wrote {shown}"));
        "written"
    };
    if p.json_mode() {
        p.json(&serde_json::json!({ "path": shown, "status": written }));
    } else {
        p.out(&shown);
    }
    Ok(Outcome::Success)
}

/// The runbook of a freshly written project (no record yet), for `shipit init`.
pub(crate) fn first_runbook(config_path: &Path) -> anyhow::Result<(PathBuf, String)> {
    let config = crate::config::load(config_path)?;
    let text = std::fs::read_to_string(config_path)?;
    let channels = runbook::channel_lines(&config, &text);
    let body = runbook::render(&config, &channels, &Facts::default(), available());
    Ok((config.dir.join(runbook::DEFAULT_PATH), body))
}

/// Through a temporary file and a rename: the runbook is its old self or complete.
pub(crate) fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".shipit-tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The optional commands this shipit has, read from its own command line.
fn available() -> Commands {
    let cli = crate::cli::Cli::command();
    let has = |name: &str| cli.find_subcommand(name).is_some();
    Commands {
        promote: has("promote"),
        drill: has("drill"),
        db: has("db"),
        check: has("check"),
    }
}

/// The newest rollback per app from the record (the local receipts until `store::open`
/// exists): a deploy shipit rolled back, or a manual `shipit rollback`.
fn facts(ctx: &super::Ctx, config: &Config) -> Facts {
    let (runs, unreadable) = match crate::evidence::receipt::load_all(&config.evidence.runs) {
        Ok(found) => found,
        Err(e) => {
            ctx.printer
                .warn(&format!("the record cannot be read: {e:#}"));
            return Facts::default();
        }
    };
    if !unreadable.is_empty() {
        ctx.printer.warn(&format!(
            "{} receipt(s) could not be read and were left out",
            unreadable.len()
        ));
    }
    let mut facts = Facts::default();
    for run in &runs {
        let how = match run.kind {
            RunKind::Rollback => "manual",
            RunKind::Deploy => "automatic",
            _ => continue,
        };
        for s in &run.services {
            let rolled_back = match run.kind {
                RunKind::Rollback => s.result == ServiceResult::Succeeded,
                _ => s.result == ServiceResult::RolledBack,
            };
            let known = config.services().any(|c| c.app == s.app);
            if !rolled_back || !known || facts.rollbacks.iter().any(|f| f.app == s.app) {
                continue;
            }
            facts.rollbacks.push(RollbackFact {
                env: s.env.clone(),
                app: s.app.clone(),
                at: run.started_at.clone(),
                how: how.to_owned(),
                summary: run.summary.clone(),
                duration_ms: run.duration_ms,
                run_id: run.id.clone(),
            });
        }
    }
    // Config order, so the table does not reorder itself as runs come and go.
    let order: Vec<&str> = config.services().map(|s| s.app.as_str()).collect();
    facts
        .rollbacks
        .sort_by_key(|f| order.iter().position(|a| *a == f.app));
    facts
}
