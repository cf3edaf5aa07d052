//! `shipit health ENV|APP [--app SERVICE]`: one spot check of each app's health endpoint with the
//! runbook's escalation levels (see `probe::spot`): a latency over 2s is a warning, over 5s an
//! alert; a failed `expect` condition is an alert; any 5xx or no answer is critical.
//!
//! Human output is one verdict line per app on stdout. `--json` prints one array:
//!
//! ```json
//! [{"env": "staging", "service": "web", "app": "hotdash-staging", "url": "https://.../health",
//!   "level": "critical", "status": 503, "latency_ms": 81.2,
//!   "failed": ["[STATUS] (503) == 200"], "reasons": ["server error 503"]}]
//! ```
//!
//! Exit 0 when no app is at alert or critical, 1 otherwise (130 when cancelled).

use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::config::Service;
use crate::event::Event;
use crate::exit::Outcome;
use crate::probe::spot::{self, Level, Spot};
use crate::probe::{HttpProber, ProbeSpec, Prober};
use crate::report::{GateRecord, RunKind, ServiceRecord, ServiceResult, Verdict};

/// One app's verdict, as `--json` prints it.
#[derive(Debug, Serialize)]
struct AppVerdict {
    env: String,
    service: String,
    app: String,
    /// The health URL, masked when it came from `${VAR}`.
    url: String,
    #[serde(flatten)]
    spot: Spot,
}

pub(crate) async fn run(
    ctx: &super::Ctx,
    target: &str,
    service: Option<&str>,
) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services = crate::config::resolve(&config, target, service)?;
    let prober = HttpProber::new()?;
    let started_at = SystemTime::now();
    let started = Instant::now();
    let p = &ctx.printer;

    let mut verdicts = Vec::new();
    let mut records = Vec::new();
    let mut cancelled = false;
    for s in &services {
        let url = s.health_url();
        let shown_url = crate::config::join_url(s.url.shown(), &s.health.path);
        p.progress(&format!("{}: GET {shown_url}", s.label()));
        let spec = ProbeSpec::health(&s.health, &url);
        let result = tokio::select! {
            biased;
            () = ctx.stop.stopped() => None,
            r = prober.probe(&spec) => Some(r),
        };
        let Some(result) = result else {
            cancelled = true;
            let mut rec = ServiceRecord::new(&s.env, &s.name, &s.app, &shown_url);
            rec.result = ServiceResult::Cancelled;
            records.push(rec);
            break;
        };
        let verdict = spot::judge(&result, &s.health.expect);
        p.out(&format!(
            "{:<8}  {}  {}",
            verdict.level.name(),
            s.label(),
            verdict.line()
        ));
        records.push(service_record(s, &shown_url, &verdict));
        verdicts.push(AppVerdict {
            env: s.env.clone(),
            service: s.name.clone(),
            app: s.app.clone(),
            url: shown_url,
            spot: verdict,
        });
    }
    p.finish_progress();
    if p.json_mode() {
        p.json(&verdicts);
    }

    let worst = verdicts
        .iter()
        .map(|v| v.spot.level)
        .max()
        .unwrap_or(Level::Ok);
    let outcome = if cancelled {
        Outcome::Cancelled
    } else if worst.needs_action() {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    let summary = summary(target, &verdicts, cancelled);
    let mut record = super::new_record(
        RunKind::Health,
        services.first().map(|s| s.env.clone()),
        started_at,
    );
    record.services = records;
    record.summary = summary;
    Ok(super::end_check_run(ctx, &config, record, started, outcome, Event::Alert).await)
}

/// The service's part of the run record: one `health` gate with the spot check's verdict.
fn service_record(s: &Service, url: &str, v: &Spot) -> ServiceRecord {
    let mut rec = ServiceRecord::new(&s.env, &s.name, &s.app, url);
    rec.result = if v.level.needs_action() {
        ServiceResult::Unhealthy
    } else {
        ServiceResult::Succeeded
    };
    rec.gates.push(GateRecord {
        name: "health".to_owned(),
        rule: spot::rule(&s.health.expect),
        observed: format!("{}: {}", v.level.name(), v.line()),
        verdict: match v.level {
            Level::Ok => Verdict::Pass,
            Level::Warning => Verdict::Warn,
            Level::Alert | Level::Critical => Verdict::Fail,
        },
        details: v.failed.clone(),
    });
    // One probe is a sample of one: it still draws the latency trend between deploys.
    let answered = v.status.is_some();
    rec.latency.push(crate::report::LatencySample {
        what: "check".into(),
        at: crate::timefmt::now(),
        stats: crate::probe::stats::LatencyStats {
            count: 1,
            failures: u32::from(v.level.needs_action()),
            error_rate: if v.level.needs_action() { 1.0 } else { 0.0 },
            answered: u32::from(answered),
            p50: v.latency,
            p95: v.latency,
            max: v.latency,
        },
    });
    if v.level != Level::Ok {
        let issue = format!("{}: {}", v.level.name(), v.line());
        if v.level.needs_action() {
            rec.issues.push(issue);
        } else {
            rec.warnings.push(issue);
        }
    }
    rec
}

/// `health staging: 2 ok, 1 warning (agent)`.
fn summary(target: &str, verdicts: &[AppVerdict], cancelled: bool) -> String {
    let mut parts = Vec::new();
    for level in [Level::Critical, Level::Alert, Level::Warning, Level::Ok] {
        let names: Vec<&str> = verdicts
            .iter()
            .filter(|v| v.spot.level == level)
            .map(|v| v.service.as_str())
            .collect();
        if names.is_empty() {
            continue;
        }
        if level == Level::Ok {
            parts.push(format!("{} ok", names.len()));
        } else {
            parts.push(format!(
                "{} {} ({})",
                names.len(),
                level.name(),
                names.join(", ")
            ));
        }
    }
    let mut text = format!(
        "health {target}: {}",
        if parts.is_empty() {
            "nothing checked".to_owned()
        } else {
            parts.join(", ")
        }
    );
    if cancelled {
        text.push_str(" (cancelled)");
    }
    text
}
