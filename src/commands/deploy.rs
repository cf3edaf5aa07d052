//! `shipit deploy ENV [--app SERVICE]`: every service of the environment through the pipeline,
//! in the config's order; the first one that fails stops the rest, and the ones deployed before
//! it are rolled back too (newest first) unless the environment says `on_partial: keep`.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::config::partial::OnPartial;
use crate::event::Event;
use crate::exit::Outcome;
use crate::pipeline::{self, ClockSeam, PlatformSeam, ProberSeam, ServicePlan};
use crate::probe::{HttpProber, SystemClock};
use crate::report::{RunKind, RunRecord, ServiceRecord, ServiceResult};
use crate::settings::DeploySettings;
use crate::store::{DeployLock, LockHolder, take_deploy_lock};

pub(crate) async fn run(ctx: &super::Ctx, s: DeploySettings) -> anyhow::Result<Outcome> {
    // Flags after `--` that flyctl deploy does not have, or that shipit owns: a usage error.
    if let Err(e) = s.flyctl_args() {
        super::report_error_text(ctx, &e);
        let (message, hint) = e.split_once("\nhint: ").unwrap_or((&e, ""));
        ctx.printer
            .json_error("usage", message, Some(hint).filter(|h| !h.is_empty()));
        return Ok(Outcome::Usage);
    }
    if s.dry_run {
        return super::plan::run(ctx, s).await;
    }
    let config = ctx.config()?;
    let plans = s.service_plans(&config)?;
    // `--require-promoted`: refused before anything runs unless the record proves the image.
    let proofs = if s.require_promoted {
        let from = match &s.promoted_from {
            Some(f) => f.clone(),
            None => previous_environment(&config, &s.env)?,
        };
        let services: Vec<&crate::config::Service> = plans.iter().map(|p| &p.service).collect();
        Some(super::promote::require(&config, &from, s.image.as_deref(), &services).await?)
    } else {
        None
    };
    let fly = ctx.fly()?;
    let prober = HttpProber::new()?;
    let run = deploy_services_as(
        ctx,
        &config,
        &plans,
        proofs.as_deref(),
        s.wait_lock,
        &fly,
        &prober,
        &SystemClock::new(),
    )
    .await;
    // `demo` prints its own document holding both of its runs, so the run is printed here.
    if ctx.printer.json_mode() {
        ctx.printer.json(&run);
    }
    Ok(run.outcome)
}

/// The deploy of a list of services, on any platform: `shipit deploy` runs it with flyctl,
/// `shipit demo` with its in-process platform. Records, announces and reports the run.
pub(crate) async fn deploy_services(
    ctx: &super::Ctx,
    config: &Config,
    plans: &[ServicePlan],
    wait_lock: Option<Duration>,
    platform: &dyn PlatformSeam,
    prober: &dyn ProberSeam,
    clock: &dyn ClockSeam,
) -> RunRecord {
    deploy_services_as(ctx, config, plans, None, wait_lock, platform, prober, clock).await
}

/// [`deploy_services`], or with `proofs` (one per plan, in order, each plan deploying its
/// proof's image) a promotion: a `promote` run whose services name the proving run.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn deploy_services_as(
    ctx: &super::Ctx,
    config: &Config,
    plans: &[ServicePlan],
    proofs: Option<&[crate::store::Promotion]>,
    wait_lock: Option<Duration>,
    platform: &dyn PlatformSeam,
    prober: &dyn ProberSeam,
    clock: &dyn ClockSeam,
) -> RunRecord {
    let started = Instant::now();
    let env = plans
        .first()
        .map(|p| p.service.env.clone())
        .unwrap_or_default();
    let kind = if proofs.is_some() {
        RunKind::Promote
    } else {
        RunKind::Deploy
    };
    let mut run = super::new_record(kind, Some(env.clone()), std::time::SystemTime::now());
    ctx.printer.step(&format!(
        "deploy {env}: {} ({} service{})",
        plans
            .iter()
            .map(|p| p.service.app.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        plans.len(),
        if plans.len() == 1 { "" } else { "s" }
    ));
    // Every service's lock first: a run refused by the lock has changed nothing and announced
    // nothing, so it notifies nobody; its refusal is kept in the evidence.
    let mut locks = Vec::with_capacity(plans.len());
    for (i, svc) in plans.iter().map(|p| &p.service).enumerate() {
        match pipeline::lock::acquire(config.state_dir(), &svc.app, wait_lock).await {
            Ok(l) => locks.push(l),
            Err(e) => {
                drop(locks);
                super::report_error_text(ctx, &format!("{e:#}"));
                for (j, other) in plans.iter().map(|p| &p.service).enumerate() {
                    // A read-only look, so the record says what each app is left running.
                    let mut r = super::not_started(platform, other).await;
                    if j == i {
                        r.result = ServiceResult::FailedBeforeChange;
                        r.reason = Some(format!("{e:#}"));
                        r.issues.push(format!("{e:#}"));
                    }
                    run.services.push(r);
                }
                super::close_record(&mut run, started.elapsed());
                super::finish::record_only(ctx, config, &run).await;
                super::last_words(ctx, &run);
                return run;
            }
        }
    }
    super::announce(ctx, config, Event::Started, &run).await;
    let the_record = crate::store::open(config);
    // `metrics:`: the regression gate's 5xx comparison and the watch window read Prometheus.
    let metrics = super::check::metrics_reader(config).unwrap_or_else(|e| {
        ctx.printer
            .warn(&format!("metrics will not be read: {e:#}"));
        None
    });
    let mut stopped_after: Option<usize> = None;
    let mut record_locks = Vec::with_capacity(plans.len());
    for (i, plan) in plans.iter().enumerate() {
        let svc = &plan.service;
        if stopped_after.is_some() {
            run.services.push(super::not_started(platform, svc).await);
            continue;
        }
        // The record's cross-machine lock (postgres), held until the run ends: a service may
        // still be rolled back with its environment after a later one fails.
        let record_lock = match &the_record {
            Ok(store) => {
                let holder = LockHolder::here(&run.id, run.run_url.clone(), &run.started_at);
                match take_deploy_lock(store.as_ref(), &svc.app, &holder, wait_lock).await {
                    DeployLock::Held(guard) => guard,
                    DeployLock::Refused(why) => {
                        let mut r =
                            ServiceRecord::new(&svc.env, &svc.name, &svc.app, svc.url.shown());
                        r.result = ServiceResult::FailedBeforeChange;
                        r.reason = Some(why.clone());
                        r.issues.push(why.clone());
                        super::report_error_text(ctx, &why);
                        run.services.push(r);
                        stopped_after = Some(i);
                        continue;
                    }
                    DeployLock::Unavailable(why) => {
                        ctx.printer.warn(&why);
                        None
                    }
                }
            }
            Err(_) => None,
        };
        record_locks.push(record_lock);
        let mut deps = super::pipeline_deps(ctx, platform, prober, clock, config.state_dir());
        deps.metrics = metrics
            .as_ref()
            .map(|m| m as &dyn crate::metrics::MetricsSource);
        if let (Ok(store), false) = (&the_record, config.store.is_local()) {
            // The rollback target also goes to the record, after the local file.
            deps.state = Box::new(crate::pipeline::deps::RecordTarget {
                local: pipeline::deps::StateDir(config.state_dir().to_owned()),
                store: store.as_ref(),
            });
        }
        let mut record = pipeline::deploy_service(&deps, plan).await;
        if let Some(p) = proofs.and_then(|p| p.get(i)) {
            record.proved_by = Some(p.run_id.clone());
            record.actions.insert(
                0,
                format!("promoted {}: proved by {} run {}", p.image, p.env, p.run_id),
            );
        }
        if record.result != ServiceResult::Succeeded {
            stopped_after = Some(i);
        }
        // A cancel after the deploy call keeps the pipeline's line (the rollback command): an
        // exit at once may come before the record says anything.
        if record.result != ServiceResult::Cancelled || record.flyctl.is_empty() {
            ctx.stop.set_standing(
                &record.app,
                format!("{}: {}", record.app, super::service_line(run.kind, &record)),
            );
        }
        run.services.push(record);
    }
    if let Some(failed) = stopped_after {
        undo_partial(
            ctx, config, plans, &mut run, failed, platform, prober, clock,
        )
        .await;
    }
    drop(record_locks);
    super::close_record(&mut run, started.elapsed());
    if run.services.len() > 1 {
        for r in &run.services {
            ctx.printer.info(&format!(
                "  {}/{} ({}): {}",
                r.env,
                r.service,
                r.app,
                super::service_line(run.kind, r)
            ));
        }
    }
    drop(locks);
    // A record that could not be written where shipit.yml says is said after the last words,
    // so it is what the log shows last, except for a cancelled run: its last line stays what is
    // live and the rollback command (DESIGN.md's exit 130).
    let not_recorded = super::finish::finish(ctx, config, &run).await;
    let cancelled = run.outcome == Outcome::Cancelled;
    if let Some(note) = not_recorded.as_ref().filter(|_| cancelled) {
        super::report_warning_text(ctx, note);
    }
    super::last_words(ctx, &run);
    if let Some(note) = not_recorded.as_ref().filter(|_| !cancelled) {
        super::report_warning_text(ctx, note);
    }
    run
}

/// An environment ends all-new or all-old: after service `failed` failed (its gates, or before
/// its deploy call), the services this run deployed before it are rolled back too, newest
/// first, each through its health gate, unless the environment says `on_partial: keep`. A
/// cancelled run rolls nothing back by itself: its last line says how to go back.
#[allow(clippy::too_many_arguments)]
async fn undo_partial(
    ctx: &super::Ctx,
    config: &Config,
    plans: &[ServicePlan],
    run: &mut RunRecord,
    failed: usize,
    platform: &dyn PlatformSeam,
    prober: &dyn ProberSeam,
    clock: &dyn ClockSeam,
) {
    let Some(f) = run.services.get(failed) else {
        return;
    };
    let deployed: Vec<usize> = (0..failed)
        .rev()
        .filter(|&j| run.services[j].result == ServiceResult::Succeeded)
        .collect();
    if f.result == ServiceResult::Cancelled || deployed.is_empty() {
        return;
    }
    let because = format!("{}/{} ({}) failed", f.env, f.service, f.app);
    let on_partial = config
        .environment(&f.env)
        .map(|e| e.on_partial)
        .unwrap_or_default();
    if on_partial == OnPartial::Keep {
        for j in deployed {
            let r = &mut run.services[j];
            let text = format!(
                "{}/{} ({}): kept on its new release although {because} (on_partial: keep)",
                r.env, r.service, r.app
            );
            ctx.printer.warn(&text);
            r.warnings.push(text);
        }
        return;
    }
    for j in deployed {
        if ctx.stop.is_stopped() {
            break;
        }
        let deps = super::pipeline_deps(ctx, platform, prober, clock, config.state_dir());
        let record = run.services[j].clone();
        run.services[j] = pipeline::undo_service(&deps, &plans[j], record, &because).await;
    }
}

/// The environment listed just before `env` in shipit.yml: where an image is proved before it
/// reaches `env`.
fn previous_environment(config: &Config, env: &str) -> anyhow::Result<String> {
    let at = config
        .environments
        .iter()
        .position(|e| e.name == env)
        .unwrap_or(0);
    match at.checked_sub(1).and_then(|i| config.environments.get(i)) {
        Some(e) => Ok(e.name.clone()),
        None => anyhow::bail!(
            "--require-promoted: no environment comes before `{env}` in shipit.yml to have proved the image\nhint: name it with --from ENV"
        ),
    }
}
