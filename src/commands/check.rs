//! `shipit check [ENV] [--app SERVICE]`: the scheduled health procedure. One pass over every
//! app of the environment (all environments when none is named): machines, Fly checks, machine
//! events, recent logs, a health spot check; findings escalated against the alert state in the
//! record; alerts and resolves sent to the channels. Each pass is recorded (a missed schedule
//! is itself reported next time).
//!
//! `--json` prints one document (README "`shipit check` and `shipit watch` JSON"):
//! `{"kind": "check", "environments": [CheckReport...], "needs_action": bool, "exit_code": n}`.
//!
//! Exit 0 when nothing this pass found is at alert level or above, 1 otherwise.

use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::config::{Config, Service};
use crate::event::Event;
use crate::exit::Outcome;
use crate::monitor::check::{self, CheckReport, Deps};
use crate::notify::alert::ChannelSender;
use crate::probe::HttpProber;
use crate::report::{RunKind, ServiceRecord, ServiceResult};

/// Refuses a check that could not see anything: without a token flyctl answers no question, and
/// a pass of warnings only would end as "nothing at alert level" every time.
pub(crate) fn require_token(platform: &impl crate::platform::Platform) -> anyhow::Result<()> {
    if platform.has_token() {
        return Ok(());
    }
    Err(crate::platform::PlatformError {
        kind: crate::platform::ErrorKind::NotAuthenticated,
        command: String::new(),
        message: "no Fly API token: the check reads machines, Fly checks, events and logs through flyctl, and would see none of them\n\
                  hint: set FLY_API_TOKEN (a read-only token is enough: `fly tokens create readonly`; the health-check workflow takes the repository secret FLY_READONLY_TOKEN) or run `flyctl auth login`"
            .to_owned(),
    }
    .into())
}

/// The `--json` document of `check` (and, with `kind: watch`, of every `watch` pass).
#[derive(Debug, Serialize)]
pub(crate) struct Document<'a> {
    pub(crate) kind: &'static str,
    pub(crate) environments: &'a [CheckReport],
    pub(crate) needs_action: bool,
    pub(crate) exit_code: u8,
}

pub(crate) async fn run(
    ctx: &super::Ctx,
    env: Option<&str>,
    service: Option<&str>,
) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let targets = targets(&config, env, service)?;
    let store = crate::store::open(&config)?;
    let platform = ctx.fly()?;
    require_token(&platform)?;
    let prober = HttpProber::new()?;
    let (run_url, _, _) = crate::report::RunRecord::github_context();
    let sender = ChannelSender::new(&config.notify, run_url);
    let metrics = metrics_reader(&config)?;
    let prices = crate::cost::Prices::shipped().with_overrides(&config.cost.prices);
    let deps = Deps {
        platform: &platform,
        prober: &prober,
        store: store.as_ref(),
        sender: &sender,
        metrics: metrics
            .as_ref()
            .map(|m| m as &dyn crate::metrics::MetricsSource),
        cost: Some(check::CostScope {
            prices: &prices,
            always_on: &config.cost.always_on,
        }),
    };
    let p = &ctx.printer;
    let mut reports = Vec::new();
    for (env, services) in &targets {
        let started_at = SystemTime::now();
        let started = Instant::now();
        p.progress(&format!("checking {env}: {} app(s)", services.len()));
        let pass = tokio::select! {
            biased;
            () = ctx.stop.stopped() => None,
            r = check::run(env, services, &config.monitor, started_at, &deps) => Some(r),
        };
        p.finish_progress();
        let Some(report) = pass else {
            return Ok(Outcome::Cancelled);
        };
        let report = report.map_err(|e| {
            e.context(format!(
                "cannot check {env}: the record ({}) could not be read",
                store.describe()
            ))
        })?;
        show(ctx, &report);
        record(
            ctx,
            store.as_ref(),
            &report,
            services,
            RunKind::Check,
            started_at,
            started,
        )
        .await;
        reports.push(report);
    }
    let needs_action = reports.iter().any(|r| r.needs_action);
    let outcome = if needs_action {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    if p.json_mode() {
        p.json(&Document {
            kind: "check",
            environments: &reports,
            needs_action,
            exit_code: outcome.code(),
        });
    }
    if needs_action {
        p.error("check found something at alert level or above");
    } else {
        p.success("check found nothing at alert level");
    }
    Ok(outcome)
}

/// The Prometheus reader of `metrics:`, when it is configured.
pub(crate) fn metrics_reader(
    config: &Config,
) -> anyhow::Result<Option<crate::metrics::prometheus::Prometheus>> {
    config
        .metrics
        .as_ref()
        .map(crate::metrics::prometheus::Prometheus::new)
        .transpose()
}

/// The environments and services to check, in the config's order.
pub(crate) fn targets<'c>(
    config: &'c Config,
    env: Option<&str>,
    service: Option<&str>,
) -> anyhow::Result<Vec<(String, Vec<&'c Service>)>> {
    let envs: Vec<_> = match env {
        Some(name) => {
            let Some(e) = config.environment(name) else {
                let known: Vec<&str> = config
                    .environments
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect();
                anyhow::bail!(
                    "no environment `{name}` in {}\nhint: environments: {}",
                    config.path.display(),
                    known.join(", ")
                );
            };
            vec![e]
        }
        None => config.environments.iter().collect(),
    };
    let mut out = Vec::new();
    for e in envs {
        let services: Vec<&Service> = e
            .services
            .iter()
            .filter(|s| service.is_none_or(|name| s.name == name))
            .collect();
        if !services.is_empty() {
            out.push((e.name.clone(), services));
        }
    }
    if out.is_empty()
        && let Some(name) = service
    {
        anyhow::bail!(
            "no service `{name}` in {}\nhint: pass one of the keys under `apps:`",
            env.unwrap_or("any environment")
        );
    }
    Ok(out)
}

/// The human report on stdout, warnings on stderr.
pub(crate) fn show(ctx: &super::Ctx, report: &CheckReport) {
    let p = &ctx.printer;
    show_table(ctx, report);
    for w in &report.warnings {
        p.warn(w);
    }
    for s in &report.sent {
        if s.delivered {
            p.info(&format!(
                "sent {} for {}",
                crate::monitor::check::send_name(s.message),
                s.key
            ));
        }
    }
}

/// The per-app table on stdout (not under `--json`).
pub(crate) fn show_table(ctx: &super::Ctx, report: &CheckReport) {
    if !ctx.printer.json_mode() {
        for line in report.table() {
            ctx.printer.out(&line);
        }
    }
}

/// Records the pass: a run in the record (so the next check can tell a missed schedule), and
/// under Actions the job summary. Failures are warnings.
pub(crate) async fn record(
    ctx: &super::Ctx,
    store: &dyn crate::store::Store,
    report: &CheckReport,
    services: &[&Service],
    kind: RunKind,
    started_at: SystemTime,
    started: Instant,
) {
    let p = &ctx.printer;
    let mut record = super::new_record(kind, Some(report.env.clone()), started_at);
    for s in services {
        let mut rec = ServiceRecord::new(&s.env, &s.name, &s.app, s.url.shown());
        let app = report.apps.iter().find(|a| a.app == s.app);
        if let Some(stats) = app.and_then(|a| a.latency.clone()) {
            rec.latency.push(crate::report::LatencySample {
                what: "check".into(),
                at: report.at.clone(),
                stats,
            });
        }
        let findings = app.map(|a| a.findings.as_slice()).unwrap_or_default();
        rec.result = if findings
            .iter()
            .any(crate::monitor::escalation::Reported::needs_action)
        {
            ServiceResult::Unhealthy
        } else {
            ServiceResult::Succeeded
        };
        for f in findings {
            let line = format!(
                "{} {} ({}): {}",
                f.level,
                f.rule,
                crate::monitor::check::status_name(f.status),
                f.summary
            );
            if f.needs_action() {
                rec.issues.push(line);
            } else if f.level > crate::monitor::Level::Info {
                rec.warnings.push(line);
            }
        }
        record.services.push(rec);
    }
    let alerts = report
        .apps
        .iter()
        .flat_map(|a| &a.findings)
        .filter(|f| f.needs_action())
        .count();
    record.summary = if alerts == 0 {
        format!("{} {}: nothing at alert level", kind.name(), report.env)
    } else {
        format!(
            "{} {}: {alerts} finding(s) at alert level or above",
            kind.name(),
            report.env
        )
    };
    record.finished_at = crate::timefmt::now();
    record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    record.outcome = if report.needs_action {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    record.event = if report.needs_action {
        Event::Alert
    } else {
        Event::Succeeded
    };
    if let Err(e) = store.append_run(&record).await {
        p.warn(&format!("this check was not recorded: {e:#}"));
    }
    if ctx.github
        && let Err(e) = crate::github::append_summary(&report.summary_markdown())
    {
        p.warn(&format!("job summary not written: {e:#}"));
    }
}
