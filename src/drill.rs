//! Rollback drills: what one measures and records, which environment counts as production, the
//! commands that finish a drill by hand, and the trend `shipit history --drills` shows. Pure:
//! `commands/drill.rs` walks the pipeline's rollback and deploy and fills a [`DrillRecord`].
//!
//! A drill is a rehearsal of the way back: the live release is rolled back to the previous good
//! one through the pipeline's rollback (its health gate included), then the original image is
//! deployed forward again through the full pipeline. It is kept in the record as a `drill` run
//! whose services each carry a [`DrillRecord`], so every backend stores it whole or not at all,
//! exactly as it stores a receipt.

use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::report::{ReleaseRef, RunKind, RunRecord};

pub use crate::report::DrillRecord;

/// Whether `env` is a production environment, which a drill refuses without
/// `--allow-production`. shipit.yml has no production flag; what marks one is what the rest of
/// shipit already reads: an environment named `production` or `prod`, or the last environment
/// in shipit.yml's order, where promotions end (`promote` and `deploy --require-promoted` read
/// the order as the way an image travels). A config with one environment therefore counts it
/// as production: refusing there is the safe side.
pub fn is_production(config: &Config, env: &str) -> bool {
    let named = matches!(env.to_ascii_lowercase().as_str(), "production" | "prod");
    let last = config.environments.last().is_some_and(|e| e.name == env);
    named || last
}

/// Why `env` counts as production, for the refusal.
pub fn production_reason(config: &Config, env: &str) -> String {
    if matches!(env.to_ascii_lowercase().as_str(), "production" | "prod") {
        format!("`{env}` is named as production")
    } else if config.environments.len() == 1 {
        format!("`{env}` is the only environment in shipit.yml")
    } else {
        format!("`{env}` is the last environment in shipit.yml, where promotions end")
    }
}

/// The command that puts the original image back through the full pipeline. It is printed when
/// the drill did not finish, so what runs then may fail every baseline probe (a rollback whose
/// gate failed): `--force-unhealthy-baseline`, or the deploy would refuse to replace it.
pub fn forward_command(env: &str, service: &str, original: &ReleaseRef) -> String {
    format!(
        "shipit deploy {env} --app {service} --image {} --force-unhealthy-baseline",
        original.image
    )
}

/// The `--json` document of `shipit drill`: the run, and per service what the drill measured.
/// The full run record is the receipt (`shipit explain RUN --json`).
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub run_id: &'a str,
    pub env: Option<&'a str>,
    pub outcome: crate::exit::Outcome,
    pub exit_code: u8,
    pub summary: &'a str,
    pub services: Vec<DocumentService<'a>>,
}

/// One service of [`Document`]. The drill's figures are `null` for a service refused before
/// the drill began (or not started).
#[derive(Debug, Serialize)]
pub struct DocumentService<'a> {
    pub service: &'a str,
    pub app: &'a str,
    pub result: crate::report::ServiceResult,
    pub reason: Option<&'a str>,
    pub live: Option<&'a ReleaseRef>,
    pub original: Option<&'a ReleaseRef>,
    pub rolled_back_to: Option<&'a ReleaseRef>,
    pub detect_ms: Option<u64>,
    pub rollback_ms: Option<u64>,
    pub rollback_healthy_ms: Option<u64>,
    pub restore_ms: Option<u64>,
    pub rollback_healthy: Option<bool>,
    pub restore_healthy: Option<bool>,
    pub finish_by_hand: Vec<&'a str>,
}

/// The `--json` document of a drill run.
pub fn document(run: &RunRecord) -> Document<'_> {
    Document {
        run_id: &run.id,
        env: run.env.as_deref(),
        outcome: run.outcome,
        exit_code: run.outcome.code(),
        summary: &run.summary,
        services: run
            .services
            .iter()
            .map(|s| {
                let d = s.drill.as_ref();
                DocumentService {
                    service: &s.service,
                    app: &s.app,
                    result: s.result,
                    reason: s.reason.as_deref(),
                    live: s.live.as_ref(),
                    original: d.map(|d| &d.original),
                    rolled_back_to: d.map(|d| &d.rolled_back_to),
                    detect_ms: d.map(|d| d.detect_ms),
                    rollback_ms: d.and_then(|d| d.rollback_ms),
                    rollback_healthy_ms: d.and_then(|d| d.rollback_healthy_ms),
                    restore_ms: d.and_then(|d| d.restore_ms),
                    rollback_healthy: d.map(|d| d.rollback_healthy),
                    restore_healthy: d.and_then(|d| d.restore_healthy),
                    finish_by_hand: d
                        .map(|d| d.finish_by_hand.iter().map(String::as_str).collect())
                        .unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// One row of `shipit history --drills`: one service of one drill run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrendRow {
    pub run_id: String,
    pub started_at: String,
    pub env: String,
    pub service: String,
    pub app: String,
    /// The run's outcome (`success`, `needs_human`, `cancelled`...).
    pub outcome: String,
    pub exit_code: u8,
    pub detect_ms: u64,
    pub rollback_ms: Option<u64>,
    pub rollback_healthy_ms: Option<u64>,
    pub restore_ms: Option<u64>,
    pub rollback_healthy: bool,
    pub restore_healthy: Option<bool>,
    pub healthy: bool,
}

/// The drills in `runs` (any order), one row per drilled service, oldest first: a trend reads
/// left to right in time.
pub fn trend(runs: &[RunRecord]) -> Vec<TrendRow> {
    let mut drills: Vec<&RunRecord> = runs.iter().filter(|r| r.kind == RunKind::Drill).collect();
    drills.sort_by(|a, b| (&a.started_at, &a.id).cmp(&(&b.started_at, &b.id)));
    drills
        .into_iter()
        .flat_map(|r| {
            r.services.iter().filter_map(move |s| {
                let d = s.drill.as_ref()?;
                Some(TrendRow {
                    run_id: r.id.clone(),
                    started_at: r.started_at.clone(),
                    env: s.env.clone(),
                    service: s.service.clone(),
                    app: s.app.clone(),
                    outcome: serde_json::to_value(r.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    exit_code: r.outcome.code(),
                    detect_ms: d.detect_ms,
                    rollback_ms: d.rollback_ms,
                    rollback_healthy_ms: d.rollback_healthy_ms,
                    restore_ms: d.restore_ms,
                    rollback_healthy: d.rollback_healthy,
                    restore_healthy: d.restore_healthy,
                    healthy: d.healthy(),
                })
            })
        })
        .collect()
}

/// `1.2s`, or `-` for a step that did not get that far.
pub fn seconds(ms: Option<u64>) -> String {
    ms.map_or_else(
        || "-".to_owned(),
        |ms| format!("{:.1}s", Duration::from_millis(ms).as_secs_f64()),
    )
}

/// The table `shipit history --drills` prints: a header and one line per row, columns padded.
pub fn table(rows: &[TrendRow]) -> Vec<String> {
    let header = [
        "RUN", "STARTED", "TARGET", "DETECT", "ROLLBACK", "HEALTHY", "RESTORE", "RESULT",
    ]
    .map(str::to_owned);
    let lines: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let result = if r.healthy {
                "healthy".to_owned()
            } else if !r.rollback_healthy {
                "rollback failed".to_owned()
            } else if r.restore_healthy.is_none() {
                format!("not restored ({})", r.outcome)
            } else {
                "restore failed".to_owned()
            };
            [
                r.run_id.clone(),
                r.started_at.clone(),
                format!("{}/{} ({})", r.env, r.service, r.app),
                seconds(Some(r.detect_ms)),
                seconds(r.rollback_ms),
                seconds(r.rollback_healthy_ms),
                seconds(r.restore_ms),
                result,
            ]
        })
        .collect();
    let mut widths = [0usize; 8];
    for row in std::iter::once(&header).chain(lines.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(lines.iter())
        .map(|row| {
            let mut cells: Vec<String> = row
                .iter()
                .zip(widths)
                .take(7)
                .map(|(c, w)| format!("{c:w$}"))
                .collect();
            cells.push(row[7].clone());
            cells.join("  ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Outcome;
    use crate::report::ServiceRecord;

    fn config(envs: &[&str]) -> Config {
        use std::fmt::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let mut yaml = String::from("version: 1\napps:\n  web: {}\nenvironments:\n");
        for e in envs {
            let _ = writeln!(
                yaml,
                "  {e}:\n    web: {{ app: hotdash-{e}, url: \"http://127.0.0.1:9/\" }}"
            );
        }
        let path = dir.path().join("shipit.yml");
        std::fs::write(&path, yaml).unwrap();
        crate::config::load(&path).unwrap()
    }

    #[test]
    fn production_is_the_named_one_or_where_promotions_end() {
        let c = config(&["staging", "production"]);
        assert!(!is_production(&c, "staging"));
        assert!(is_production(&c, "production"));
        let c = config(&["dev", "staging", "live"]);
        assert!(!is_production(&c, "dev"));
        assert!(!is_production(&c, "staging"));
        assert!(is_production(&c, "live"));
        assert!(production_reason(&c, "live").contains("last environment"));
        let c = config(&["prod", "staging"]);
        assert!(is_production(&c, "prod"));
        assert!(production_reason(&c, "prod").contains("named as production"));
        let c = config(&["staging"]);
        assert!(is_production(&c, "staging"));
        assert!(production_reason(&c, "staging").contains("only environment"));
    }

    fn rel(v: u64) -> ReleaseRef {
        ReleaseRef {
            version: Some(v),
            image: format!("registry.fly.io/app:deployment-v{v}"),
        }
    }

    fn drill_run(id: &str, at: &str, d: Option<DrillRecord>, outcome: Outcome) -> RunRecord {
        let mut s = ServiceRecord::new("staging", "web", "hotdash-staging", "http://x/");
        s.drill = d;
        RunRecord {
            id: id.into(),
            kind: RunKind::Drill,
            env: Some("staging".into()),
            started_at: at.into(),
            finished_at: at.into(),
            duration_ms: 1,
            outcome,
            event: crate::event::Event::Succeeded,
            services: vec![s],
            summary: String::new(),
            run_url: None,
            sha: None,
            actor: None,
        }
    }

    fn record(rollback_healthy: bool, restore: Option<bool>) -> DrillRecord {
        DrillRecord {
            original: rel(3),
            rolled_back_to: rel(2),
            detect_ms: 0,
            rollback_ms: Some(1200),
            rollback_healthy_ms: rollback_healthy.then_some(1500),
            restore_ms: restore.map(|_| 2500),
            rollback_healthy,
            restore_healthy: restore,
            finish_by_hand: Vec::new(),
        }
    }

    #[test]
    fn the_trend_is_oldest_first_and_skips_other_runs() {
        let mut other = drill_run("b", "2026-11-02T00:00:00Z", None, Outcome::Success);
        other.kind = RunKind::Deploy;
        let runs = vec![
            drill_run(
                "c",
                "2026-11-03T00:00:00Z",
                Some(record(false, None)),
                Outcome::NeedsHuman,
            ),
            other,
            drill_run(
                "a",
                "2026-11-01T00:00:00Z",
                Some(record(true, Some(true))),
                Outcome::Success,
            ),
        ];
        let rows = trend(&runs);
        assert_eq!(
            rows.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
        assert!(rows[0].healthy);
        assert_eq!(
            (rows[1].exit_code, rows[1].outcome.as_str()),
            (4, "needs_human")
        );
        let t = table(&rows);
        assert_eq!(t.len(), 3);
        assert!(t[0].starts_with("RUN"), "{t:?}");
        assert!(t[1].contains("1.2s") && t[1].contains("1.5s") && t[1].ends_with("healthy"));
        assert!(
            t[2].contains("rollback failed") && t[2].contains(" -  "),
            "{t:?}"
        );
    }

    #[test]
    fn healthy_needs_both_steps() {
        assert!(record(true, Some(true)).healthy());
        assert!(!record(true, Some(false)).healthy());
        assert!(!record(true, None).healthy());
        assert!(!record(false, None).healthy());
        assert_eq!(seconds(None), "-");
        assert_eq!(seconds(Some(61_240)), "61.2s");
    }
}
