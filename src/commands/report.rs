//! `shipit report [--html DIR] [--env ENV] [--since DUR]`: the dashboard, made from the record.
//! `--html` writes the static site; `--json` prints the dashboard document; otherwise a terminal
//! summary.

use std::time::SystemTime;

use crate::dashboard::{self, Filter};
use crate::exit::Outcome;
use crate::settings::ReportSettings;

pub(crate) fn run(ctx: &super::Ctx, settings: &ReportSettings) -> anyhow::Result<Outcome> {
    let p = &ctx.printer;
    let record = read_record(ctx)?;
    let filter = Filter {
        env: settings.env.clone(),
        since: settings.since,
    };
    let now = SystemTime::now();
    let input = dashboard::Input {
        store: record.describe,
        runs: &record.runs,
        alerts: &record.alerts,
        promotions: record.promotions,
        now,
        filter: &filter,
    };
    let board = dashboard::build(&input);
    if let Some(dir) = &settings.html {
        let started = std::time::Instant::now();
        let runs = dashboard::select(&record.runs, &filter, now);
        let files = dashboard::html::render(&board, &runs);
        let index = dashboard::html::write(dir, &files)?;
        p.success(&format!(
            "wrote {} pages to {} in {} ({} runs)",
            files.len(),
            crate::evidence::display_path(dir),
            crate::duration::human(started.elapsed()),
            board.runs
        ));
        p.info(&format!("open {}", crate::evidence::display_path(&index)));
    }
    if p.json_mode() {
        p.json(&board);
    } else if settings.html.is_none() {
        p.out(&dashboard::terminal::summary(&board));
    }
    Ok(Outcome::Success)
}

/// What the dashboard reads from the record.
struct Record {
    describe: String,
    runs: Vec<crate::report::RunRecord>,
    alerts: Vec<(
        crate::store::AlertKey,
        crate::store::Versioned<crate::store::AlertState>,
    )>,
    promotions: Vec<crate::store::Promotion>,
}

/// Reads the receipts of the config's record; unreadable receipts are warnings.
fn read_record(ctx: &super::Ctx) -> anyhow::Result<Record> {
    let settings = crate::evidence::settings_for(&ctx.config_path)?;
    let (runs, bad) = crate::evidence::receipt::load_all(&settings.runs)?;
    for (path, why) in &bad {
        ctx.printer.warn(&format!(
            "skipped {}: {why}",
            crate::evidence::display_path(path)
        ));
    }
    Ok(Record {
        describe: format!("local ({})", crate::evidence::display_path(&settings.runs)),
        runs,
        alerts: Vec::new(),
        promotions: Vec::new(),
    })
}
