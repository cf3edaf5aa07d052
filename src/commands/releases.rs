//! `shipit releases APP|ENV [--app SERVICE]`: Fly's releases of each app (`flyctl releases
//! --json`, the last 25, newest first) with shipit's verdict on each from the record: passed
//! every gate, rejected (failed a gate or rolled back: never a default rollback target),
//! restored by a rollback, cancelled, or unknown to the record.
//!
//! `--json` prints one document:
//!
//! ```json
//! {"apps": [{"env": "staging", "service": "web", "app": "hotdash-staging",
//!            "current": {"version": 5, "image": "registry.fly.io/..."},
//!            "releases": [{"version": 5, "status": "complete", "image": "registry.fly.io/...",
//!                          "created_at": "2026-11-20T09:00:00Z", "user": "ci@example.com",
//!                          "verdict": "restored", "reason": "...", "run_id": "20261120-..."}]}]}
//! ```

use std::fmt::Write as _;

use serde::Serialize;

use crate::baseline::Baseline;
use crate::config::resolve;
use crate::exit::Outcome;
use crate::platform::Platform as _;
use crate::release_verdict::{ReleaseVerdict, Verdicts};
use crate::report::{ReleaseRef, RunKind};
use crate::store::{RunQuery, Store};

#[derive(Serialize)]
struct AppReleases {
    env: String,
    service: String,
    app: String,
    /// What the machines run now.
    current: Option<ReleaseRef>,
    releases: Vec<ReleaseRow>,
}

#[derive(Serialize)]
struct ReleaseRow {
    version: u64,
    status: String,
    image: String,
    created_at: String,
    user: String,
    #[serde(flatten)]
    verdict: ReleaseVerdict,
}

pub(crate) async fn run(
    ctx: &super::Ctx,
    target: &str,
    service: Option<&str>,
) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services = resolve(&config, target, service)?;
    let store = crate::store::open(&config)?;
    let fly = ctx.fly()?;
    let mut apps = Vec::new();
    for svc in &services {
        let releases = fly.releases(&svc.app).await?;
        let status = fly.status(&svc.app).await?;
        let current = Baseline::from_status(&status, &releases).release_ref();
        let verdicts = verdicts(store.as_ref(), &svc.app).await?;
        let rows = releases
            .iter()
            .map(|r| ReleaseRow {
                version: r.version,
                status: r.status.clone(),
                image: r.image.clone(),
                created_at: r.created_at.clone(),
                user: r.user.clone(),
                verdict: verdicts.of(r),
            })
            .collect();
        apps.push(AppReleases {
            env: svc.env.clone(),
            service: svc.name.clone(),
            app: svc.app.clone(),
            current,
            releases: rows,
        });
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&serde_json::json!({ "apps": apps }));
    } else {
        for a in &apps {
            print_table(ctx, a);
        }
    }
    Ok(Outcome::Success)
}

/// What the record says of `app`'s releases, read through the store so that a fresh runner
/// knows what another one saw. Unreadable items are warnings; an unreachable store is the error.
pub(crate) async fn verdicts(store: &dyn Store, app: &str) -> anyhow::Result<Verdicts> {
    let query = RunQuery {
        app: Some(app.to_owned()),
        kinds: vec![RunKind::Deploy, RunKind::Promote, RunKind::Rollback],
        ..RunQuery::default()
    };
    let list = store.runs(&query).await.map_err(|e| {
        anyhow::anyhow!("cannot read shipit's record ({}): {e:#}", store.describe())
    })?;
    Ok(Verdicts::new(app, &list.runs))
}

fn print_table(ctx: &super::Ctx, a: &AppReleases) {
    let p = &ctx.printer;
    p.out(&format!("{}/{} ({})", a.env, a.service, a.app));
    let rows: Vec<[String; 5]> = a
        .releases
        .iter()
        .map(|r| {
            let now = a
                .current
                .as_ref()
                .is_some_and(|c| c.version == Some(r.version));
            [
                format!("{}v{}", if now { "* " } else { "  " }, r.version),
                r.status.clone(),
                serde_json::to_value(&r.verdict.verdict)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                r.verdict.reason.clone(),
                r.image.clone(),
            ]
        })
        .collect();
    let header = ["  VERSION", "STATUS", "VERDICT", "WHY", "IMAGE"];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
        out
    };
    p.out(&line(&header.map(str::to_owned)));
    for row in &rows {
        p.out(&line(row));
    }
    if a.releases.is_empty() {
        p.out("  (no releases)");
    }
    p.out("  * what the machines run now");
}
