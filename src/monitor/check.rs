//! One pass of `shipit check` over an environment, as orchestration over traits: every app is
//! observed concurrently (at most [`CONCURRENCY`] at once) through the `Platform` (status with
//! machines, checks and events; logs under a timeout) and the `Prober` (one health probe), each
//! observation is assessed, and the environment's alert state in the `Store` is escalated and
//! carried out through an `AlertSender`. The time is passed in, so tests move it.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::alerting::{AlertSender, Applied, apply};
use super::assess::{Inputs, assess};
use super::escalation::{self, Observed, Policy, Reported, Send, Status};
use crate::config::Service;
use crate::platform::inventory::InventorySource;
use crate::platform::{ErrorKind, Platform};
use crate::probe::{ProbeSpec, Prober};
use crate::report::RunKind;
use crate::store::{RunQuery, Store};

/// Apps observed at once. An app's flyctl calls run one after another (status, then logs
/// beside the probe, then cost's two lists), so this is also the most flyctl processes a check
/// holds at once: 32 apps are one round of Fly API round trips (30 apps took 4x one app with 8).
pub const CONCURRENCY: usize = 32;
/// How long `flyctl logs --no-tail` may take (it never returns on an empty buffer).
pub const LOG_WAIT: Duration = Duration::from_secs(8);

/// One app's part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    pub env: String,
    pub service: String,
    pub app: String,
    /// The worst level this pass makes of the app (`info` when nothing was found).
    pub level: super::Level,
    pub findings: Vec<Reported>,
    /// The health probe's latency sample (one probe), for the record's trends; not in the
    /// `--json` document.
    #[serde(skip)]
    pub latency: Option<crate::probe::stats::LatencyStats>,
}

/// A message this pass sent.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    pub key: String,
    pub message: Send,
    pub delivered: bool,
}

/// One pass over one environment.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub env: String,
    /// When the pass judged (RFC 3339): the time durations are measured to.
    pub at: String,
    pub apps: Vec<AppReport>,
    /// Findings about the schedule itself (`missed_run`).
    pub schedule: Vec<Reported>,
    pub sent: Vec<Sent>,
    pub warnings: Vec<String>,
    /// Something this pass found is at alert level or above.
    pub needs_action: bool,
}

/// What a pass reads and writes through.
pub struct Deps<'a, P, R, S> {
    pub platform: &'a P,
    pub prober: &'a R,
    pub store: &'a dyn Store,
    pub sender: &'a S,
    /// Fly's Prometheus endpoint, when `metrics:` is configured.
    pub metrics: Option<&'a dyn crate::metrics::MetricsSource>,
    /// Report `cost`'s findings at info level (`check` does; `watch`'s frequent passes do not).
    pub(crate) cost: Option<CostScope<'a>>,
}

/// What the cost findings need besides the inventory: the prices and the always-on
/// environments (`cost:`).
#[derive(Clone, Copy)]
pub(crate) struct CostScope<'a> {
    pub prices: &'a crate::cost::Prices,
    pub always_on: &'a [String],
}

impl<P, R, S> Clone for Deps<'_, P, R, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R, S> Copy for Deps<'_, P, R, S> {}

/// Observes the services, escalates and sends. A store that cannot be read is an error (check
/// reads the record); a store write that fails is a warning.
pub async fn run<P: Platform + InventorySource, R: Prober, S: AlertSender>(
    env: &str,
    services: &[&Service],
    policy: &Policy,
    now: SystemTime,
    deps: &Deps<'_, P, R, S>,
) -> anyhow::Result<CheckReport> {
    let Deps {
        platform,
        prober,
        store,
        sender,
        metrics,
        cost,
    } = *deps;
    let tasks: Vec<_> = services
        .iter()
        .map(|s| async move {
            let (observed, latency) = observe(s, policy, now, platform, prober, metrics).await;
            let savings = match cost {
                Some(scope) if !observed.unknown.iter().any(|u| u == "*") => {
                    cost_findings(s, scope, platform, metrics).await
                }
                _ => Vec::new(),
            };
            (observed, (latency, savings))
        })
        .collect();
    let mut observed: Vec<Option<(Observed, Extras)>> = vec![None; services.len()];
    crate::smoke::bounded(tasks, CONCURRENCY, &mut observed).await;
    let (observed, samples): (Vec<Observed>, Vec<Extras>) = observed.into_iter().flatten().unzip();

    let last = store
        .runs(&RunQuery {
            env: Some(env.to_owned()),
            kinds: vec![RunKind::Check],
            limit: Some(1),
            ..RunQuery::default()
        })
        .await?;
    let last_at = last
        .runs
        .first()
        .and_then(|r| crate::timefmt::parse_rfc3339(&r.started_at));
    let schedule: Vec<Reported> = escalation::missed_run(env, last_at, now, policy.every)
        .into_iter()
        .map(|f| Reported {
            app: f.app.clone(),
            rule: f.rule.clone(),
            level: f.level,
            observed: f.level,
            status: Status::Seen,
            summary: f.summary.clone(),
            evidence: f.evidence.clone(),
            first_seen: None,
            for_s: None,
        })
        .collect();

    let stored = store.alerts(Some(env)).await?;
    let plan = escalation::plan(env, now, policy, &observed, &stored);
    let Applied {
        sent,
        conflicts,
        mut warnings,
    } = apply(store, sender, &plan).await;
    for key in conflicts {
        warnings.push(format!(
            "alert {} was changed by another run while this check ran; left as that run wrote it",
            key.text()
        ));
    }
    let apps = services
        .iter()
        .zip(samples)
        .map(|(s, (latency, savings))| {
            let mut findings: Vec<Reported> = plan
                .reported
                .iter()
                .filter(|r| r.app == s.app)
                .cloned()
                .collect();
            findings.extend(savings);
            let level = findings
                .iter()
                .filter(|r| !matches!(r.status, Status::Clearing | Status::Resolved))
                .map(|r| r.level)
                .max()
                .unwrap_or(super::Level::Info);
            AppReport {
                env: s.env.clone(),
                service: s.name.clone(),
                app: s.app.clone(),
                level,
                findings,
                latency,
            }
        })
        .collect();
    Ok(CheckReport {
        env: env.to_owned(),
        at: crate::timefmt::rfc3339(now),
        apps,
        schedule,
        sent: sent
            .into_iter()
            .map(|(key, message, delivered)| Sent {
                key: key.text(),
                message,
                delivered,
            })
            .collect(),
        warnings,
        needs_action: plan.needs_action(),
    })
}

impl CheckReport {
    /// The human report: a heading per app, then one row per finding with its evidence lines
    /// (already masked), then the schedule's findings.
    pub fn table(&self) -> Vec<String> {
        let mut out = Vec::new();
        for app in &self.apps {
            out.push(format!(
                "{}/{} ({}): {}",
                app.env,
                app.service,
                app.app,
                if app
                    .findings
                    .iter()
                    .all(|f| f.level == super::Level::Info && f.status == Status::Seen)
                {
                    "clean".to_owned()
                } else {
                    app.level.name().to_owned()
                }
            ));
            for f in &app.findings {
                out.push(row(f));
                out.extend(f.evidence.iter().map(|e| format!("      | {e}")));
            }
        }
        for f in &self.schedule {
            out.push(format!("{}: schedule", self.env));
            out.push(row(f));
        }
        out
    }

    /// The job summary under Actions (Markdown; every text has been masked).
    pub fn summary_markdown(&self) -> String {
        let mut md = String::new();
        let _ = write!(md, "### shipit check {} at {}\n\n", self.env, self.at);
        md.push_str("| app | level | rule | status | for | summary |\n|---|---|---|---|---|---|\n");
        let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
        for app in &self.apps {
            if app.findings.is_empty() {
                let _ = writeln!(md, "| {} | clean | | | | |", cell(&app.app));
            }
            for f in &app.findings {
                let _ = writeln!(
                    md,
                    "| {} | {} | `{}` | {} | {} | {} |",
                    cell(&app.app),
                    f.level.name(),
                    f.rule,
                    status_name(f.status),
                    f.for_s.map_or_else(String::new, |s| crate::duration::human(
                        Duration::from_secs(s)
                    )),
                    cell(&f.summary)
                );
            }
        }
        for f in &self.schedule {
            let _ = writeln!(
                md,
                "| (schedule) | {} | `{}` | | | {} |",
                f.level.name(),
                f.rule,
                cell(&f.summary)
            );
        }
        md
    }
}

fn row(f: &Reported) -> String {
    let held = if f.for_s.is_some() {
        format!(
            " for {}",
            crate::duration::human(Duration::from_secs(f.for_s.unwrap_or(0)))
        )
    } else {
        String::new()
    };
    format!(
        "  {:<8}  {:<22} {:<8}{held}: {}",
        f.level.name(),
        f.rule,
        status_name(f.status),
        f.summary
    )
}

/// `trigger`, `update`, `resolve`.
pub fn send_name(s: Send) -> &'static str {
    match s {
        Send::Trigger => "alert",
        Send::Update => "alert update",
        Send::Resolve => "resolved message",
    }
}

/// The status as JSON names it.
pub fn status_name(s: Status) -> &'static str {
    match s {
        Status::Firing => "firing",
        Status::Open => "open",
        Status::Pending => "pending",
        Status::Held => "held",
        Status::Clearing => "clearing",
        Status::Resolved => "resolved",
        Status::Seen => "seen",
    }
}

/// Per app, besides its observation: the health probe's latency sample and the cost findings.
type Extras = (Option<crate::probe::stats::LatencyStats>, Vec<Reported>);

/// `cost`'s findings for one app, at info level and never tracked: a way to pay less is not an
/// alert. The rule is the finding's kind (`autostop_off`, `oversized_memory`...); an inventory
/// or metrics that cannot be read leaves them out (`cost` itself says why).
async fn cost_findings<P: InventorySource>(
    s: &Service,
    scope: CostScope<'_>,
    platform: &P,
    metrics: Option<&dyn crate::metrics::MetricsSource>,
) -> Vec<Reported> {
    use crate::cost::findings;
    let Ok(inventory) = platform.inventory(&s.app).await else {
        return Vec::new();
    };
    let where_ = findings::Scope {
        env: &s.env,
        app: &s.app,
        always_on: scope.always_on.contains(&s.env),
    };
    let mut found = findings::from_inventory(&where_, &inventory, scope.prices);
    if let Some(m) = metrics
        && let Ok((memory, loads)) = crate::metrics::cost_figures(m, &s.app, &inventory).await
    {
        found.extend(findings::from_metrics(
            &where_,
            &inventory,
            &memory,
            &loads,
            scope.prices,
        ));
        findings::sort(&mut found);
    }
    found
        .into_iter()
        .map(|f| Reported {
            app: f.app,
            rule: f.kind.name().to_owned(),
            level: super::Level::Info,
            observed: super::Level::Info,
            status: Status::Seen,
            summary: crate::secret::redact(&f.text).into_owned(),
            evidence: vec![format!(
                "could save {}/month",
                crate::cost::dollars(f.monthly_saving)
            )],
            first_seen: None,
            for_s: None,
        })
        .collect()
}

async fn observe<P: Platform, R: Prober>(
    s: &Service,
    policy: &Policy,
    now: SystemTime,
    platform: &P,
    prober: &R,
    metrics: Option<&dyn crate::metrics::MetricsSource>,
) -> (Observed, Option<crate::probe::stats::LatencyStats>) {
    let status = platform.status(&s.app).await;
    let missing = matches!(&status, Err(e) if e.kind == ErrorKind::AppNotFound);
    let (logs, probe, metrics) = if missing {
        (None, None, None)
    } else {
        let spec = ProbeSpec::health(&s.health, &s.health_url());
        let read_metrics = async {
            match metrics {
                Some(m) => Some(crate::metrics::app_now(m, &s.app).await),
                None => None,
            }
        };
        let (logs, probe, metrics) = tokio::join!(
            platform.logs(&s.app, LOG_WAIT),
            prober.probe(&spec),
            read_metrics
        );
        (Some(logs), Some(probe), metrics)
    };
    let scanner = s.logs.scanner();
    // The probe as a sample of one, judged like every probe (`ProbeRecord::judge`).
    let sample = probe.as_ref().map(|p| {
        let record = crate::probe::gate::ProbeRecord::judge(Duration::ZERO, p, &s.health.expect);
        crate::probe::stats::LatencyStats::from_records(std::slice::from_ref(&record))
    });
    let observed = assess(&Inputs {
        app: &s.app,
        status: status.as_ref(),
        logs: logs.as_ref().map(|l| l.as_ref().map(Vec::as_slice)),
        probe: probe.as_ref().map(|p| (p, s.health.expect.as_slice())),
        metrics,
        scanner: &scanner,
        policy,
        now,
    });
    (observed, sample)
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
