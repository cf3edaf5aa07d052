//! `shipit history [APP]`: past runs, newest first, read from the receipts.

use anyhow::Context as _;

use crate::exit::Outcome;
use crate::notify::message::truncate;
use crate::report::RunRecord;
use crate::store::{self, RunQuery};

pub(crate) async fn run(
    ctx: &super::Ctx,
    app: Option<&str>,
    limit: usize,
) -> anyhow::Result<Outcome> {
    let p = &ctx.printer;
    let store = store::open_for_reading(&ctx.config_path)?;
    let query = RunQuery {
        app: app.map(str::to_owned),
        limit: Some(limit),
        ..RunQuery::default()
    };
    let list = store
        .runs(&query)
        .await
        .with_context(|| format!("cannot read the record from {}", store.describe()))?;
    for (place, why) in &list.unreadable {
        p.warn(&format!("skipped {place}: {why}"));
    }
    let runs: Vec<&RunRecord> = list.runs.iter().collect();
    if p.json_mode() {
        let list: Vec<serde_json::Value> = runs.iter().map(|r| row_json(r)).collect();
        p.json(&serde_json::json!({"runs": list}));
        return Ok(Outcome::Success);
    }
    if runs.is_empty() {
        let what = app.map(|a| format!(" of {a}")).unwrap_or_default();
        p.info(&format!("no runs{what} recorded in {}", store.describe()));
        return Ok(Outcome::Success);
    }
    let rows: Vec<[String; 6]> = runs
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.started_at.clone(),
                r.kind.name().to_owned(),
                target(r),
                r.event.name().to_owned(),
                truncate(&r.summary, 80),
            ]
        })
        .collect();
    let header = ["ID", "STARTED", "KIND", "TARGET", "OUTCOME", "SUMMARY"].map(str::to_owned);
    let mut widths = [0usize; 6];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .take(5)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        p.out(&format!("{}  {}", cells.join("  "), row[5]));
    }
    Ok(Outcome::Success)
}

/// `staging/hotdash-staging`, `staging/hotdash-staging,hotdash-agent`.
fn target(r: &RunRecord) -> String {
    let apps: Vec<&str> = r.services.iter().map(|s| s.app.as_str()).collect();
    let env = r
        .env
        .clone()
        .or_else(|| r.services.first().map(|s| s.env.clone()))
        .unwrap_or_default();
    if apps.is_empty() {
        env
    } else {
        format!("{env}/{}", apps.join(","))
    }
}

fn row_json(r: &RunRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "kind": r.kind,
        "env": r.env,
        "apps": r.services.iter().map(|s| s.app.as_str()).collect::<Vec<_>>(),
        "event": r.event,
        "outcome": r.outcome,
        "exit_code": r.outcome.code(),
        "summary": r.summary,
    })
}

/// `shipit history --drills`: the rollback drills' trend, oldest first, from the record.
pub(crate) async fn drills(
    ctx: &super::Ctx,
    app: Option<&str>,
    limit: usize,
) -> anyhow::Result<Outcome> {
    let p = &ctx.printer;
    let store = store::open_for_reading(&ctx.config_path)?;
    let query = RunQuery {
        app: app.map(str::to_owned),
        kinds: vec![crate::report::RunKind::Drill],
        limit: Some(limit),
        ..RunQuery::default()
    };
    let list = store
        .runs(&query)
        .await
        .with_context(|| format!("cannot read the record from {}", store.describe()))?;
    for (place, why) in &list.unreadable {
        p.warn(&format!("skipped {place}: {why}"));
    }
    let rows = crate::drill::trend(&list.runs);
    if p.json_mode() {
        p.json(&serde_json::json!({ "drills": rows }));
        return Ok(Outcome::Success);
    }
    if rows.is_empty() {
        let what = app.map(|a| format!(" of {a}")).unwrap_or_default();
        p.info(&format!(
            "no drills{what} recorded in {}\nhint: `shipit drill staging` runs one",
            store.describe()
        ));
        return Ok(Outcome::Success);
    }
    for line in crate::drill::table(&rows) {
        p.out(&line);
    }
    Ok(Outcome::Success)
}
