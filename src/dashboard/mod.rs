//! The dashboard: what `shipit report` shows, made from the record alone. [`build`] turns runs,
//! alert states and promotions into one [`Dashboard`] (pure: the same input and clock give the
//! same document); `--json` prints it, `html` renders it as a static site, `terminal` as a
//! summary.
//!
//! **Invariant:** the page and `--json` show the same data: both are views of one `Dashboard`,
//! and charts are downsampled here, before either view sees them.
//!
//! **Invariant:** every string that reaches a page or the JSON has passed `secret::redact` (in
//! [`build`]), and the HTML escapes it again on output.

pub(crate) mod cost;
pub(crate) mod html;
mod run_page;
pub(crate) mod svg;
pub(crate) mod terminal;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::report::{ReleaseRef, RunRecord, ServiceResult};
use crate::store::{AlertKey, AlertState, Promotion, Versioned};
use crate::timefmt;

/// At most this many points per chart series: enough to see a trend on a wide screen, small
/// enough that 10,000 runs over 20 apps stay a small page.
pub(crate) const MAX_POINTS: usize = 120;

/// What the dashboard is asked to show.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub env: Option<String>,
    /// Only runs younger than this.
    pub since: Option<Duration>,
}

/// The whole dashboard: the `--json` document, and what the page renders.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Dashboard {
    pub generated_at: String,
    /// Where the data came from (`local (.shipit/)`, ...).
    pub store: String,
    pub env: Option<String>,
    pub since: Option<String>,
    /// Runs read (after the filter).
    pub runs: usize,
    /// Per environment, per app: what runs there now.
    pub environments: Vec<EnvStatus>,
    /// Every open alert, oldest first.
    pub alerts: Vec<OpenAlert>,
    /// Deploys, rollbacks, promotions and drills, newest first.
    pub timeline: Vec<TimelineEntry>,
    /// Latency and error rate over time per app, downsampled to at most [`MAX_POINTS`].
    pub latency: Vec<AppSeries>,
    /// Rollback drills: time to roll back, oldest first.
    pub drills: Vec<DrillPoint>,
    /// Database verifications: findings per run, oldest first.
    pub database: Vec<DatabasePoint>,
    /// Images promoted from one environment to the next, newest first.
    pub promotions: Vec<Promotion>,
    /// The newest cost estimate of each app and its savings findings; `null` without a `cost`
    /// run in the record.
    pub cost: Option<cost::CostSection>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnvStatus {
    pub name: String,
    pub apps: Vec<AppStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppStatus {
    pub env: String,
    pub service: String,
    pub app: String,
    /// What runs now, as the newest run that knew said.
    pub live: Option<ReleaseRef>,
    /// When and by which run the live release was deployed (or rolled back to).
    pub deployed_at: Option<String>,
    pub deployed_by: Option<String>,
    /// The newest run's verdict on this app, of any kind.
    pub last: Option<Verdict>,
    /// Open alerts on this app.
    pub open_alerts: usize,
    /// `ok`, `warning`, `failing`: the app's colour on the page.
    pub health: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verdict {
    pub run_id: String,
    pub kind: String,
    pub result: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct OpenAlert {
    pub env: String,
    pub app: String,
    pub rule: String,
    pub level: String,
    pub first_seen: String,
    /// Seconds since `first_seen` when the dashboard was made.
    pub age_secs: u64,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TimelineEntry {
    pub run_id: String,
    pub kind: String,
    pub env: Option<String>,
    pub started_at: String,
    pub duration_ms: u64,
    /// `success`, `rolled_back`, `needs_human`, `cancelled`, `failed`.
    pub outcome: String,
    pub summary: String,
    pub services: Vec<TimelineService>,
    pub run_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct TimelineService {
    pub service: String,
    pub app: String,
    pub result: String,
    pub from: Option<ReleaseRef>,
    pub to: Option<ReleaseRef>,
}

/// One app's latency history.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppSeries {
    pub env: String,
    pub app: String,
    /// Samples before downsampling.
    pub samples: usize,
    pub points: Vec<LatencyPoint>,
}

/// One point of a latency chart: a time bucket's median p50, worst p95 and mean error rate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct LatencyPoint {
    /// Unix seconds (the bucket's first sample).
    pub t: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Percent of probes that failed.
    pub error_pct: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct DrillPoint {
    pub run_id: String,
    pub env: Option<String>,
    pub at: String,
    pub t: u64,
    /// Time from the start of the rollback until the old release passed its gates.
    pub rollback_secs: f64,
    pub healthy: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct DatabasePoint {
    pub run_id: String,
    pub env: Option<String>,
    pub at: String,
    pub t: u64,
    /// Failed gates (ERROR findings) and warned ones.
    pub errors: usize,
    pub warnings: usize,
    pub findings: Vec<String>,
}

/// Everything `build` reads: the record's runs (any order), its alert states and promotions.
pub(crate) struct Input<'a> {
    pub store: String,
    pub runs: &'a [RunRecord],
    pub alerts: &'a [(AlertKey, Versioned<AlertState>)],
    pub promotions: Vec<Promotion>,
    pub now: SystemTime,
    pub filter: &'a Filter,
}

/// Kinds of run that change what runs: they make the timeline.
const DEPLOY_KINDS: [&str; 5] = ["deploy", "rollback", "promote", "drill", "demo"];

/// The runs a filter keeps, newest first (ids sort by time too, so they break ties between
/// runs of one second). The page's run pages are made for exactly these.
pub(crate) fn select<'a>(
    runs: &'a [RunRecord],
    filter: &Filter,
    now: SystemTime,
) -> Vec<&'a RunRecord> {
    let cutoff = filter
        .since
        .and_then(|d| now.checked_sub(d))
        .map(timefmt::rfc3339);
    let mut runs: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| {
            filter.env.as_deref().is_none_or(|e| {
                r.env.as_deref() == Some(e) || r.services.iter().any(|s| s.env == e)
            })
        })
        .filter(|r| cutoff.as_deref().is_none_or(|c| r.started_at.as_str() >= c))
        .collect();
    runs.sort_by(|a, b| (&b.started_at, &b.id).cmp(&(&a.started_at, &a.id)));
    runs
}

/// Builds the dashboard. Pure: no clock or store is read here.
pub(crate) fn build(input: &Input<'_>) -> Dashboard {
    let filter = input.filter;
    let runs = select(input.runs, filter, input.now);

    let alerts = open_alerts(input, filter);
    let environments = statuses(&runs, &alerts);
    let timeline = runs
        .iter()
        .filter(|r| DEPLOY_KINDS.contains(&r.kind.name()))
        .map(|r| timeline_entry(r))
        .collect();
    let mut promotions = input.promotions.clone();
    promotions.sort_by(|a, b| b.at.cmp(&a.at));
    for p in &mut promotions {
        p.image = redact(&p.image);
    }
    Dashboard {
        generated_at: timefmt::rfc3339(input.now),
        store: redact(&input.store),
        env: filter.env.clone(),
        since: filter.since.map(crate::duration::format),
        runs: runs.len(),
        environments,
        alerts,
        timeline,
        latency: latency(&runs),
        drills: drills(&runs),
        database: database(&runs),
        promotions,
        cost: cost::build(&runs),
    }
}

fn redact(text: &str) -> String {
    crate::secret::redact(text).into_owned()
}

fn redact_release(r: Option<&ReleaseRef>) -> Option<ReleaseRef> {
    r.map(|r| ReleaseRef {
        version: r.version,
        image: redact(&r.image),
    })
}

fn unix(at: &str) -> Option<u64> {
    timefmt::parse_rfc3339(at)?
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

fn open_alerts(input: &Input<'_>, filter: &Filter) -> Vec<OpenAlert> {
    let now = input
        .now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut out: Vec<OpenAlert> = input
        .alerts
        .iter()
        .filter(|(k, v)| v.value.open && filter.env.as_deref().is_none_or(|e| k.env == e))
        .map(|(k, v)| OpenAlert {
            env: k.env.clone(),
            app: k.app.clone(),
            rule: k.rule.clone(),
            level: v.value.level.clone(),
            first_seen: v.value.first_seen.clone(),
            age_secs: unix(&v.value.first_seen).map_or(0, |t| now.saturating_sub(t)),
            summary: redact(&v.value.summary),
        })
        .collect();
    out.sort_by(|a, b| b.age_secs.cmp(&a.age_secs).then(a.app.cmp(&b.app)));
    out
}

/// The newest knowledge of every (env, service): runs are newest first.
fn statuses(runs: &[&RunRecord], alerts: &[OpenAlert]) -> Vec<EnvStatus> {
    let mut apps: BTreeMap<(String, String), AppStatus> = BTreeMap::new();
    for run in runs {
        for s in &run.services {
            let entry = apps
                .entry((s.env.clone(), s.service.clone()))
                .or_insert_with(|| AppStatus {
                    env: s.env.clone(),
                    service: s.service.clone(),
                    app: s.app.clone(),
                    live: None,
                    deployed_at: None,
                    deployed_by: None,
                    last: None,
                    open_alerts: 0,
                    health: "ok",
                });
            if entry.last.is_none() && s.result != ServiceResult::Planned {
                entry.last = Some(Verdict {
                    run_id: run.id.clone(),
                    kind: run.kind.name().to_owned(),
                    result: s.result.name().to_owned(),
                    at: run.finished_at.clone(),
                });
            }
            if entry.live.is_none() && s.live.is_some() {
                entry.live = redact_release(s.live.as_ref());
            }
            let changed_what_runs = matches!(
                s.result,
                ServiceResult::Succeeded | ServiceResult::RolledBack
            ) && DEPLOY_KINDS.contains(&run.kind.name());
            if entry.deployed_by.is_none() && changed_what_runs {
                entry.deployed_by = Some(run.id.clone());
                entry.deployed_at = Some(run.finished_at.clone());
            }
        }
    }
    for status in apps.values_mut() {
        status.open_alerts = alerts
            .iter()
            .filter(|a| a.env == status.env && (a.app == status.app || a.app == status.service))
            .count();
        let last_bad = status.last.as_ref().is_some_and(|v| {
            matches!(
                v.result.as_str(),
                "rollback_failed" | "unhealthy" | "failed_before_change" | "cancelled"
            )
        });
        status.health = if status.open_alerts > 0 || last_bad {
            "failing"
        } else if status
            .last
            .as_ref()
            .is_some_and(|v| v.result == "rolled_back")
        {
            "warning"
        } else {
            "ok"
        };
    }
    let mut envs: Vec<EnvStatus> = Vec::new();
    for ((env, _), status) in apps {
        match envs.iter_mut().find(|e| e.name == env) {
            Some(e) => e.apps.push(status),
            None => envs.push(EnvStatus {
                name: env,
                apps: vec![status],
            }),
        }
    }
    envs
}

fn timeline_entry(r: &RunRecord) -> TimelineEntry {
    TimelineEntry {
        run_id: r.id.clone(),
        kind: r.kind.name().to_owned(),
        env: r.env.clone(),
        started_at: r.started_at.clone(),
        duration_ms: r.duration_ms,
        outcome: outcome_name(r),
        summary: redact(&r.summary),
        services: r
            .services
            .iter()
            .map(|s| TimelineService {
                service: s.service.clone(),
                app: s.app.clone(),
                result: s.result.name().to_owned(),
                from: redact_release(s.from.as_ref()),
                to: redact_release(s.to.as_ref()),
            })
            .collect(),
        run_url: r.run_url.clone(),
    }
}

/// The run's outcome in the timeline's words.
pub(crate) fn outcome_name(r: &RunRecord) -> String {
    serde_json::to_value(r.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "failed".to_owned())
}

/// Per app, every latency sample of every run, downsampled into at most [`MAX_POINTS`] equal
/// time buckets (median p50, worst p95, mean error rate per bucket).
fn latency(runs: &[&RunRecord]) -> Vec<AppSeries> {
    let mut by_app: BTreeMap<(String, String), Vec<Sample>> = BTreeMap::new();
    for run in runs {
        for s in &run.services {
            for l in &s.latency {
                let Some(t) = unix(&l.at) else { continue };
                by_app
                    .entry((s.env.clone(), s.app.clone()))
                    .or_default()
                    .push((
                        t,
                        l.stats.p50.as_secs_f64() * 1000.0,
                        l.stats.p95.as_secs_f64() * 1000.0,
                        l.stats.error_rate * 100.0,
                    ));
            }
        }
    }
    by_app
        .into_iter()
        .map(|((env, app), mut samples)| {
            samples.sort_by_key(|s| s.0);
            AppSeries {
                env,
                app,
                samples: samples.len(),
                points: downsample(&samples, MAX_POINTS),
            }
        })
        .collect()
}

/// One latency sample as the charts take it: (unix seconds, p50 ms, p95 ms, error %).
pub(crate) type Sample = (u64, f64, f64, f64);

/// Buckets time-sorted samples `(t, p50, p95, error %)` into at most `max` equal spans of time.
pub(crate) fn downsample(samples: &[Sample], max: usize) -> Vec<LatencyPoint> {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Vec::new();
    };
    if samples.len() <= max {
        return samples
            .iter()
            .map(|&(t, p50, p95, e)| LatencyPoint {
                t,
                p50_ms: round1(p50),
                p95_ms: round1(p95),
                error_pct: round1(e),
            })
            .collect();
    }
    let span = (last.0 - first.0).max(1) as f64;
    let mut buckets: Vec<Vec<&Sample>> = vec![Vec::new(); max];
    for s in samples {
        let i = (((s.0 - first.0) as f64 / span) * (max as f64 - 1.0)).round() as usize;
        buckets[i.min(max - 1)].push(s);
    }
    buckets
        .into_iter()
        .filter(|b| !b.is_empty())
        .map(|b| {
            let mut p50: Vec<f64> = b.iter().map(|s| s.1).collect();
            p50.sort_by(f64::total_cmp);
            let p95 = b.iter().map(|s| s.2).fold(0.0, f64::max);
            let err = b.iter().map(|s| s.3).sum::<f64>() / b.len() as f64;
            LatencyPoint {
                t: b[0].0,
                p50_ms: round1(p50[p50.len() / 2]),
                p95_ms: round1(p95),
                error_pct: round1(err),
            }
        })
        .collect()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Drill runs, oldest first: the time from the start of the rollback until the previous release
/// passed its gates (summed over the drilled services, which go back one after another), and
/// whether every step ended healthy. The time is the one each service's `drill::DrillRecord`
/// measured; a drill whose rollback never became healthy counts its rollback steps' time.
fn drills(runs: &[&RunRecord]) -> Vec<DrillPoint> {
    let mut out: Vec<DrillPoint> = runs
        .iter()
        .filter(|r| r.kind.name() == "drill")
        .filter_map(|r| {
            let t = unix(&r.started_at)?;
            let rollback_ms: u64 = r
                .services
                .iter()
                .map(|s| {
                    s.drill
                        .as_ref()
                        .and_then(|d| d.rollback_healthy_ms)
                        .unwrap_or_else(|| {
                            s.steps
                                .iter()
                                .filter(|st| st.name.starts_with("rollback"))
                                .map(|st| st.duration_ms)
                                .sum()
                        })
                })
                .sum();
            Some(DrillPoint {
                run_id: r.id.clone(),
                env: r.env.clone(),
                at: r.started_at.clone(),
                t,
                rollback_secs: round1(rollback_ms as f64 / 1000.0),
                healthy: r.outcome == crate::exit::Outcome::Success,
            })
        })
        .collect();
    out.reverse();
    out
}

/// Database verification runs, oldest first.
fn database(runs: &[&RunRecord]) -> Vec<DatabasePoint> {
    use crate::report::Verdict as V;
    let mut out: Vec<DatabasePoint> = runs
        .iter()
        .filter(|r| r.kind.name() == "db verify")
        .filter_map(|r| {
            let t = unix(&r.started_at)?;
            let gates = r.services.iter().flat_map(|s| &s.gates);
            let (mut errors, mut warnings, mut findings) = (0, 0, Vec::new());
            for g in gates {
                // `db verify` keeps one finding a detail line, its level first (`ERROR`,
                // `WARN`, `INFO`); other database gates only have their verdict.
                let leveled: Vec<&String> = g
                    .details
                    .iter()
                    .filter(|l| l.starts_with("ERROR") || l.starts_with("WARN"))
                    .collect();
                if leveled.is_empty() {
                    match g.verdict {
                        V::Fail => errors += 1,
                        V::Warn => warnings += 1,
                        V::Pass | V::Skipped => continue,
                    }
                    findings.push(redact(&format!("{}: {}", g.name, g.observed)));
                    continue;
                }
                for l in leveled {
                    if l.starts_with("ERROR") {
                        errors += 1;
                    } else {
                        warnings += 1;
                    }
                    findings.push(redact(l));
                }
            }
            Some(DatabasePoint {
                run_id: r.id.clone(),
                env: r.env.clone(),
                at: r.started_at.clone(),
                t,
                errors,
                warnings,
                findings,
            })
        })
        .collect();
    out.reverse();
    out
}

/// `3d 4h`, `2h 5m`, `4m`: an age for people.
pub(crate) fn age(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests;
