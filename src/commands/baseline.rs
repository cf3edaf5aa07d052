//! `shipit baseline ENV|APP [--app SERVICE] [--probes N]`: records where each app stands now (the
//! release, the image the fleet runs, machines and Fly checks) plus outside probe figures of its
//! health endpoint, and writes it to `.shipit/baseline/<app>.json`: the rollback target a deploy
//! would use and the yardstick of its regression gate. `--json` prints the baselines as an array.
//!
//! An unhealthy live release is recorded, with a warning: a baseline says what is, not what
//! should be. A service whose flyctl calls fail gets no file, and the exit code is 1.

use std::time::{Instant, SystemTime};

use crate::baseline::Baseline;
use crate::config::{Config, Service};
use crate::event::Event;
use crate::exit::Outcome;
use crate::platform::{Platform, PlatformError};
use crate::probe::HttpProber;
use crate::probe::stats::LatencyStats;
use crate::report::{GateRecord, RunKind, ServiceRecord, ServiceResult, Verdict};
use crate::settings::BaselineSettings;

pub(crate) async fn run(ctx: &super::Ctx, settings: &BaselineSettings) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services = settings.services(&config)?;
    let fly = ctx.fly()?;
    let http = if services.iter().any(|(_, n)| *n > 0) {
        Some(HttpProber::new()?)
    } else {
        None
    };
    // A target is one environment or one app, so every service shares it.
    let env = services.first().map(|(s, _)| s.env.clone());
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let mut records = Vec::new();
    let mut baselines = Vec::new();
    let mut outcome = Outcome::Success;
    for (s, probes) in services {
        let mut rec = ServiceRecord::new(&s.env, &s.name, &s.app, &s.url.to_string());
        if ctx.stop.is_stopped() {
            rec.result = ServiceResult::Cancelled;
            records.push(rec);
            outcome = Outcome::Cancelled;
            continue;
        }
        ctx.printer.step(&format!("baseline of {}", s.label()));
        let probing = http.as_ref().filter(|_| probes > 0).map(|p| (p, probes));
        match record_one(ctx, &config, &fly, probing, s, &mut rec).await {
            Ok(b) => baselines.push(b),
            Err(_) if ctx.stop.is_stopped() => {
                rec.result = ServiceResult::Cancelled;
                outcome = Outcome::Cancelled;
            }
            Err(e) => {
                let message = format!("{}: {e:#}", s.label());
                ctx.printer.error(&message);
                let hint = e
                    .chain()
                    .find_map(|c| c.downcast_ref::<PlatformError>())
                    .and_then(PlatformError::hint);
                if let Some(h) = hint {
                    ctx.printer.hint(h);
                }
                rec.result = ServiceResult::FailedBeforeChange;
                rec.issues.push(message);
                if outcome == Outcome::Success {
                    outcome = Outcome::Failed;
                }
            }
        }
        records.push(rec);
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&baselines);
    }
    let recorded = baselines.len();
    let mut record = super::new_record(RunKind::Baseline, env, started_at);
    record.summary = match outcome {
        Outcome::Success => format!("baseline recorded for {recorded} app(s)"),
        Outcome::Cancelled => format!("baseline cancelled after {recorded} app(s)"),
        _ => format!(
            "baseline recorded for {recorded} of {} app(s)",
            records.len()
        ),
    };
    record.services = records;
    Ok(super::end_check_run(ctx, &config, record, clock, outcome, Event::Failed).await)
}

/// Records, writes and prints one service's baseline, filling its part of the run record.
async fn record_one<P: Platform>(
    ctx: &super::Ctx,
    config: &Config,
    platform: &P,
    probing: Option<(&HttpProber, u32)>,
    s: &Service,
    rec: &mut ServiceRecord,
) -> anyhow::Result<Baseline> {
    let (status, releases) = tokio::join!(platform.status(&s.app), platform.releases(&s.app));
    let (status, releases) = (status?, releases?);
    let mut baseline = Baseline::from_status(&status, &releases).for_service(&s.env, &s.name);
    let mut warn = |warning: String| {
        ctx.printer.warn(&warning);
        rec.warnings.push(warning);
    };
    if baseline.image.is_none() {
        warn(format!(
            "{} has no machines: there is no image to roll back to",
            s.app
        ));
    }
    if baseline.mixed_images {
        warn(format!(
            "{}'s machines run different images (a deploy stopped half way?); the baseline is {}",
            s.app,
            baseline.image.as_deref().unwrap_or("-")
        ));
    }
    if let Some((prober, n)) = probing {
        // The URL as it may be written down: masked when it came from `${VAR}`.
        let shown_url = crate::config::join_url(&s.url.to_string(), &s.health.path);
        ctx.printer.info(&format!("probing {shown_url} {n} times"));
        let taken = crate::probe::sample(
            prober,
            &crate::probe::SystemClock::new(),
            &s.health,
            &s.health_url(),
            n,
            &ctx.stop,
        )
        .await;
        if ctx.stop.is_stopped() {
            anyhow::bail!("cancelled while probing {shown_url}");
        }
        for r in &taken {
            ctx.printer.debug(&r.line());
        }
        let figures = LatencyStats::from_records(&taken);
        if figures.failures > 0 {
            warn(format!(
                "{} of {} probes of {shown_url} failed: the live release is not fully healthy",
                figures.failures, figures.count
            ));
        }
        rec.gates.push(GateRecord {
            name: "baseline probes".to_owned(),
            rule: format!("{n} outside probes of {shown_url}"),
            observed: figures.summary(),
            verdict: if figures.failures == 0 {
                Verdict::Pass
            } else {
                Verdict::Warn
            },
            details: taken
                .iter()
                .filter(|r| !r.pass)
                .map(crate::probe::ProbeRecord::line)
                .collect(),
        });
        baseline.probe_url = Some(shown_url);
        baseline.figures = Some(figures);
    }
    let path = baseline.write(config.state_dir())?;
    ctx.printer
        .out(&format!("{}: {}", s.label(), path.display()));
    for line in summary(&baseline) {
        ctx.printer.out(&format!("  {line}"));
    }
    rec.result = ServiceResult::Succeeded;
    rec.from = baseline.release_ref();
    rec.live = baseline.release_ref();
    rec.actions
        .push(format!("recorded the baseline in {}", path.display()));
    Ok(baseline)
}

/// The human summary of a baseline, one line each.
fn summary(b: &Baseline) -> Vec<String> {
    let version = b
        .version
        .map_or_else(|| "-".to_owned(), |v| format!("v{v}"));
    let mixed = if b.mixed_images {
        " (machines run mixed images)"
    } else {
        ""
    };
    let started = b.machines.iter().filter(|m| m.state == "started").count();
    let mut lines = vec![
        format!("release   {version}"),
        format!("image     {}{mixed}", b.image.as_deref().unwrap_or("none")),
        format!("machines  {} ({started} started)", b.machines.len()),
        format!("checks    {}/{} passing", b.checks_passing, b.checks_total),
    ];
    if let Some(f) = &b.figures {
        lines.push(format!("probes    {}", f.summary()));
    }
    lines
}
