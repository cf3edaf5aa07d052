//! `shipit watch ENV|APP --for DUR [--interval DUR] [--rollback-on critical]`: the monitoring
//! window after a deploy or a migration. `check` every interval until the window ends, with the
//! escalation timings honoured live (each pass is judged at its own time against the record),
//! alerts and resolves sent as they happen, a heartbeat line each minute, and the last pass's
//! table at the end.
//!
//! `--rollback-on critical`: before the window starts, every app must follow a deploy (the
//! record's newest deploy-like run of the app is a successful deploy or promotion that finished
//! within the window's length, with a release before it); otherwise the watch is refused with the
//! reason. A critical finding during the window then rolls that app back to the release before
//! the deploy through the pipeline's own rollback (`pipeline::rollback_service`: the same gates,
//! a `rollback` run with its receipt and notifications) and ends the window: exit 3 when the
//! previous release is live and healthy again, 4 when the way back failed.
//!
//! `--json` prints one document at the end: `{"kind": "watch", "for": "1h", "interval": "1m",
//! "passes": n, "environments": [the last pass's CheckReport], "needs_action": bool,
//! "exit_code": n}`. Exit 1 when any pass found something at alert level, else 0; 130 when
//! cancelled.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::config::{Config, Service};
use crate::exit::Outcome;
use crate::monitor::check::{self, CheckReport, Deps};
use crate::monitor::escalation::Status;
use crate::notify::alert::ChannelSender;
use crate::probe::HttpProber;
use crate::report::{ReleaseRef, RunKind, ServiceResult};
use crate::store::{RunQuery, Store};

/// The heartbeat's period.
const HEARTBEAT: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize)]
struct Document<'a> {
    kind: &'static str,
    #[serde(rename = "for")]
    window: String,
    interval: String,
    passes: u32,
    environments: &'a [CheckReport],
    needs_action: bool,
    exit_code: u8,
}

pub(crate) async fn run(
    ctx: &super::Ctx,
    settings: &crate::settings::WatchSettings,
) -> anyhow::Result<Outcome> {
    let (target, service) = (settings.target.as_str(), settings.service.as_deref());
    let (window, interval) = (settings.window, settings.interval);
    // Both are more than zero: `input::positive_duration` refuses 0s on the command line.
    let config = ctx.config()?;
    let services = crate::config::resolve(&config, target, service)?;
    let env = services
        .first()
        .map(|s| s.env.clone())
        .ok_or_else(|| anyhow::anyhow!("nothing to watch in `{target}`"))?;
    let store = crate::store::open(&config)?;
    // `--rollback-on`: every app's deploy to roll back from, found before the window starts.
    let mut deployed: Vec<Deployed> = Vec::new();
    if settings.rollback_on.is_some() {
        for s in &services {
            deployed.push(followed_deploy(store.as_ref(), s, window).await?);
        }
    }
    let platform = ctx.fly()?;
    super::check::require_token(&platform)?;
    let prober = HttpProber::new()?;
    let (run_url, _, _) = crate::report::RunRecord::github_context();
    let sender = ChannelSender::new(&config.notify, run_url);
    let metrics = super::check::metrics_reader(&config)?;
    let deps = Deps {
        platform: &platform,
        prober: &prober,
        store: store.as_ref(),
        sender: &sender,
        metrics: metrics
            .as_ref()
            .map(|m| m as &dyn crate::metrics::MetricsSource),
        cost: None,
    };
    let p = &ctx.printer;
    let started_at = SystemTime::now();
    let started = Instant::now();
    let mut passes = 0u32;
    let mut saw_trouble = false;
    let mut last: Option<CheckReport>;
    let mut last_beat = Instant::now();
    p.step(&format!(
        "watching {} app(s) of {env} for {}, a check every {}",
        services.len(),
        crate::duration::format(window),
        crate::duration::format(interval)
    ));
    loop {
        let pass_started = Instant::now();
        let pass = tokio::select! {
            biased;
            () = ctx.stop.stopped() => None,
            r = check::run(&env, &services, &config.monitor, SystemTime::now(), &deps) => Some(r),
        };
        let Some(report) = pass else {
            return Ok(Outcome::Cancelled);
        };
        let report = report?;
        passes += 1;
        saw_trouble |= report.needs_action;
        for s in &report.sent {
            p.info(&format!(
                "sent {} for {}",
                check::send_name(s.message),
                s.key
            ));
        }
        for w in &report.warnings {
            p.warn(w);
        }
        if let Some(level) = settings.rollback_on {
            let hit: Vec<&Deployed> = deployed
                .iter()
                .filter(|d| {
                    report.apps.iter().any(|a| {
                        a.app == d.service.app
                            && a.findings.iter().any(|f| {
                                f.level >= level
                                    && matches!(f.status, Status::Firing | Status::Open)
                            })
                    })
                })
                .collect();
            if !hit.is_empty() {
                super::check::show_table(ctx, &report);
                super::check::record(
                    ctx,
                    store.as_ref(),
                    &report,
                    &services,
                    crate::report::RunKind::Watch,
                    started_at,
                    started,
                )
                .await;
                return roll_back(ctx, &config, &platform, &hit, level).await;
            }
        }
        last = Some(report);
        let elapsed = started.elapsed();
        if elapsed >= window {
            break;
        }
        // Sleep until the next pass (start to start), with a heartbeat each minute.
        let next = pass_started + interval;
        let end = started + window;
        let wake = next.min(end);
        while Instant::now() < wake {
            if last_beat.elapsed() >= HEARTBEAT {
                let open = last.as_ref().map_or(0, |r| {
                    r.apps
                        .iter()
                        .flat_map(|a| &a.findings)
                        .filter(|f| f.needs_action())
                        .count()
                });
                p.step(&format!(
                    "watch {env}: {} of {}, {passes} check(s), {open} finding(s) at alert level",
                    crate::duration::format(Duration::from_secs(started.elapsed().as_secs())),
                    crate::duration::format(window)
                ));
                last_beat = Instant::now();
            }
            let nap = wake.saturating_duration_since(Instant::now()).min(
                HEARTBEAT
                    .saturating_sub(last_beat.elapsed())
                    .max(Duration::from_millis(10)),
            );
            tokio::select! {
                biased;
                () = ctx.stop.stopped() => return Ok(Outcome::Cancelled),
                () = tokio::time::sleep(nap) => {}
            }
        }
        if started.elapsed() >= window {
            break;
        }
    }
    let reports: Vec<CheckReport> = last.into_iter().collect();
    if let Some(r) = reports.first() {
        super::check::show_table(ctx, r);
        super::check::record(
            ctx,
            store.as_ref(),
            r,
            &services,
            crate::report::RunKind::Watch,
            started_at,
            started,
        )
        .await;
    }
    let outcome = if saw_trouble {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    if p.json_mode() {
        p.json(&Document {
            kind: "watch",
            window: crate::duration::format(window),
            interval: crate::duration::format(interval),
            passes,
            environments: &reports,
            needs_action: saw_trouble,
            exit_code: outcome.code(),
        });
    }
    let summary = format!(
        "watch {env}: {passes} check(s) over {}",
        crate::duration::format(window)
    );
    if saw_trouble {
        p.error(&format!("{summary}; something reached alert level"));
    } else {
        p.success(&format!("{summary}; nothing reached alert level"));
    }
    Ok(outcome)
}

/// A deploy the watch follows: the service, what it put live and what ran before it.
struct Deployed<'c> {
    service: &'c Service,
    run_id: String,
    live: Option<ReleaseRef>,
    previous: ReleaseRef,
}

/// The record's newest run that changed what `s` runs must be a successful deploy (or
/// promotion) that finished within `window`, with a release before it; else the refusal.
async fn followed_deploy<'c>(
    store: &dyn Store,
    s: &'c Service,
    window: Duration,
) -> anyhow::Result<Deployed<'c>> {
    let hint = format!(
        "hint: `--rollback-on` rolls back the deploy the watch follows; run `shipit watch` right after `shipit deploy {}`, or leave the flag off",
        s.env
    );
    let runs = store
        .runs(&RunQuery {
            app: Some(s.app.clone()),
            env: Some(s.env.clone()),
            kinds: vec![
                RunKind::Deploy,
                RunKind::Promote,
                RunKind::Rollback,
                RunKind::Drill,
            ],
            limit: Some(1),
            ..RunQuery::default()
        })
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "--rollback-on: the record ({}) could not be read: {e:#}\n{hint}",
                store.describe()
            )
        })?;
    let label = s.label();
    let Some(run) = runs.runs.first() else {
        anyhow::bail!("--rollback-on: the record holds no deploy of {label}\n{hint}");
    };
    let Some(rec) = run.services.iter().find(|r| r.app == s.app) else {
        anyhow::bail!("--rollback-on: the record holds no deploy of {label}\n{hint}");
    };
    if !matches!(run.kind, RunKind::Deploy | RunKind::Promote)
        || rec.result != ServiceResult::Succeeded
    {
        anyhow::bail!(
            "--rollback-on: the newest run that changed {label} is {} {} ({}), not a successful deploy\n{hint}",
            run.kind.name(),
            run.id,
            rec.result.name()
        );
    }
    let finished = crate::timefmt::parse_rfc3339(&run.finished_at);
    let age = finished.and_then(|f| SystemTime::now().duration_since(f).ok());
    if age.is_none_or(|a| a > window) {
        anyhow::bail!(
            "--rollback-on: {label} was deployed by {} at {}, longer ago than the {} window\n{hint}",
            run.id,
            run.finished_at,
            crate::duration::format(window)
        );
    }
    let Some(previous) = rec.from.clone().filter(|f| !f.image.is_empty()) else {
        anyhow::bail!(
            "--rollback-on: deploy {} of {label} was its first: there is no release to roll back to\n{hint}",
            run.id
        );
    };
    Ok(Deployed {
        service: s,
        run_id: run.id.clone(),
        live: rec.to.clone(),
        previous,
    })
}

/// Rolls back every app that reached the level, through the pipeline's own rollback, recorded
/// and announced as a `rollback` run; the outcome is that run's.
async fn roll_back(
    ctx: &super::Ctx,
    config: &Config,
    platform: &crate::platform::fly::Fly,
    hit: &[&Deployed<'_>],
    level: crate::monitor::Level,
) -> anyhow::Result<Outcome> {
    use crate::platform::Platform as _;
    let p = &ctx.printer;
    let prober = HttpProber::new()?;
    let clock = crate::probe::SystemClock::new();
    let started = Instant::now();
    let mut run = super::new_record(
        RunKind::Rollback,
        hit.first().map(|d| d.service.env.clone()),
        SystemTime::now(),
    );
    for d in hit {
        let svc = d.service;
        p.error(&format!(
            "{}: a {level} finding during the watch after deploy {}: rolling back to {}",
            svc.label(),
            d.run_id,
            crate::pipeline::release_text(Some(&d.previous))
        ));
        // The release as Fly lists it, when it still does; else as the record names it.
        let target = platform
            .releases(&svc.app)
            .await
            .ok()
            .and_then(|rs| {
                rs.into_iter()
                    .find(|r| Some(r.version) == d.previous.version && r.image == d.previous.image)
            })
            .unwrap_or_else(|| crate::platform::Release {
                version: d.previous.version.unwrap_or(0),
                status: "complete".into(),
                in_progress: false,
                image: d.previous.image.clone(),
                created_at: String::new(),
                description: String::new(),
                user: String::new(),
            });
        let _lock = crate::pipeline::lock::acquire(config.state_dir(), &svc.app, None).await?;
        let deps = super::pipeline_deps(ctx, platform, &prober, &clock, config.state_dir());
        let mut record = crate::pipeline::rollback_service(
            &deps,
            svc,
            d.live.clone(),
            &crate::pipeline::TargetChoice {
                target,
                why: format!("the release before deploy {}", d.run_id),
                skipped: Vec::new(),
                warning: None,
            },
        )
        .await;
        record.decision = Some(format!(
            "roll back to {}: a {level} finding during the watch after deploy {}",
            crate::pipeline::release_text(Some(&d.previous)),
            d.run_id
        ));
        // Done and healthy: the deploy was rolled back and the previous release is live again
        // (exit 3), as after a failed gate; `RollbackFailed` stays (exit 4: a human must act).
        if record.result == ServiceResult::Succeeded {
            record.result = ServiceResult::RolledBack;
        }
        run.services.push(record);
    }
    super::close_record(&mut run, started.elapsed());
    super::finish::finish(ctx, config, &run).await;
    super::last_words(ctx, &run);
    if p.json_mode() {
        p.json(&run);
    }
    Ok(run.outcome)
}
