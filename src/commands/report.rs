//! `shipit report [--html DIR] [--env ENV] [--since DUR]`: the dashboard, made from the record.
//! `--html` writes the static site; `--json` prints the dashboard document; otherwise a terminal
//! summary.

use std::time::SystemTime;

use crate::dashboard::{self, Filter};
use crate::exit::Outcome;
use crate::settings::ReportSettings;

pub(crate) async fn run(ctx: &super::Ctx, settings: &ReportSettings) -> anyhow::Result<Outcome> {
    let p = &ctx.printer;
    let record = read_record(ctx).await?;
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

/// Reads runs, alert states and promotions from the config's record; unreadable items are
/// warnings, a record that cannot be reached is an error naming it.
async fn read_record(ctx: &super::Ctx) -> anyhow::Result<Record> {
    use anyhow::Context as _;
    let store = crate::store::open_for_reading(&ctx.config_path)?;
    let describe = store.describe();
    let cannot = || format!("cannot read the record from {describe}");
    let list = store
        .runs(&crate::store::RunQuery::default())
        .await
        .with_context(cannot)?;
    for (place, why) in &list.unreadable {
        ctx.printer.warn(&format!("skipped {place}: {why}"));
    }
    let alerts = store.alerts(None).await.with_context(cannot)?;
    // Promotions are kept per environment: those of every environment the runs name.
    let mut envs: Vec<String> = list
        .runs
        .iter()
        .flat_map(|r| r.services.iter().map(|s| s.env.clone()))
        .collect();
    envs.sort();
    envs.dedup();
    let mut promotions = Vec::new();
    for env in &envs {
        promotions.extend(store.promotions(env, None).await.with_context(cannot)?);
    }
    Ok(Record {
        describe,
        runs: list.runs,
        alerts,
        promotions,
    })
}
