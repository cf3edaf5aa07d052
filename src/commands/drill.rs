//! `shipit drill ENV [--app SERVICE] [--to VERSION] [--allow-production]`: a rollback
//! rehearsal. For each service, in the config's order: record the live release, roll back to
//! the previous good release through the pipeline's rollback (its health gate included), then
//! deploy the original image forward again through the full pipeline (`--image`). Each step is
//! timed into a `drill::DrillRecord` on the service's record; the run is a `drill` run.
//!
//! A production environment is refused before any flyctl call unless `--allow-production`.
//! A drill whose rollback gate or forward step fails stops there (exit 4): the last lines are the
//! commands that finish it by hand.

use std::time::{Instant, SystemTime};

use crate::baseline::Baseline;
use crate::config::{Config, Service, resolve};
use crate::drill::{self, DrillRecord};
use crate::event::Event;
use crate::exit::Outcome;
use crate::pipeline::{self, ClockSeam, PlatformSeam, ProberSeam, ServicePlan};
use crate::platform::fly::Fly;
use crate::probe::{HttpProber, SystemClock};
use crate::release_verdict::Verdicts;
use crate::report::{ReleaseRef, RunKind, ServiceRecord, ServiceResult};
use crate::settings::{DeploySettings, DrillSettings};
use crate::store::{DeployLock, LockHolder, take_deploy_lock};

pub(crate) async fn run(ctx: &super::Ctx, s: DrillSettings) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    refuse_unless_drillable(&config, &s)?;
    let services = resolve(&config, &s.env, s.service.as_deref())?;
    if s.to.is_some() && services.len() > 1 {
        anyhow::bail!(
            "--to names one release, but `{}` has {} services\nhint: name one: `shipit drill {} --app SERVICE --to VERSION`",
            s.env,
            services.len(),
            s.env
        );
    }
    // Every forward plan is made (smoke suites loaded) before anything remote changes, and
    // kept: nothing is parsed again after the rollback's deploy call.
    let mut forward = Vec::with_capacity(services.len());
    for svc in &services {
        forward.extend(forward_settings(svc).service_plans(&config)?);
    }
    let fly = ctx.fly()?;
    let prober = HttpProber::new()?;
    let clock = SystemClock::new();
    let started = Instant::now();
    let mut run = super::new_record(RunKind::Drill, Some(s.env.clone()), SystemTime::now());
    ctx.printer.step(&format!(
        "drill {}: {}",
        s.env,
        services
            .iter()
            .map(|svc| svc.app.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut locks = Vec::with_capacity(services.len());
    for svc in &services {
        locks.push(pipeline::lock::acquire(config.state_dir(), &svc.app, s.wait_lock).await?);
    }
    super::announce(ctx, &config, Event::Started, &run).await;
    let the_record = crate::store::open(&config);
    let mut stopped = false;
    for (svc, forward) in services.iter().zip(&forward) {
        if stopped {
            run.services.push(super::not_started(&fly, svc).await);
            continue;
        }
        let _record_lock = match &the_record {
            Ok(store) => {
                let holder = LockHolder::here(&run.id, run.run_url.clone(), &run.started_at);
                match take_deploy_lock(store.as_ref(), &svc.app, &holder, s.wait_lock).await {
                    DeployLock::Held(guard) => guard,
                    DeployLock::Refused(why) => {
                        super::report_error_text(ctx, &why);
                        run.services.push(refused(svc, &why));
                        stopped = true;
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
        let seams = Seams {
            platform: &fly,
            prober: &prober,
            clock: &clock,
            // A `git`/`postgres` record also gets the rollback target, after the local file.
            record: match &the_record {
                Ok(store) if !config.store.is_local() => Some(store.as_ref()),
                _ => None,
            },
        };
        // The way back skips what the record rejected, as `shipit rollback` does.
        let verdicts = match &the_record {
            Ok(store) => super::releases::verdicts(store.as_ref(), &svc.app).await,
            Err(e) => Err(anyhow::anyhow!("cannot open shipit's record: {e:#}")),
        };
        let verdicts = match verdicts {
            Ok(v) => v,
            Err(e) if s.to.is_some() => {
                ctx.printer.warn(&format!("{e:#}"));
                Verdicts::new(&svc.app, &[])
            }
            Err(e) => {
                let why = format!(
                    "{}: {e:#}, so the releases shipit rejected are unknown; nothing was changed\nhint: pick the release to drill back to with --to VERSION (`shipit releases {}` lists them)",
                    svc.label(),
                    svc.app
                );
                super::report_error_text(ctx, &why);
                run.services.push(refused(svc, &why));
                stopped = true;
                continue;
            }
        };
        let record = drill_service(ctx, &config, &seams, forward, s.to, &verdicts).await;
        stopped = record.result != ServiceResult::Succeeded;
        run.services.push(record);
    }
    super::close_record(&mut run, started.elapsed());
    run.summary = summary(&s.env, &run.services, run.outcome);
    drop(locks);
    let not_recorded = super::finish::finish(ctx, &config, &run).await;
    if let Some(note) = not_recorded {
        super::report_warning_text(ctx, &note);
    }
    last_words(ctx, &run);
    if ctx.printer.json_mode() {
        ctx.printer.json(&drill::document(&run));
    }
    Ok(run.outcome)
}

/// Refuses, before any flyctl call, an environment that is not one, or production without
/// `--allow-production`.
fn refuse_unless_drillable(config: &Config, s: &DrillSettings) -> anyhow::Result<()> {
    if config.environment(&s.env).is_none() {
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        let hint = crate::config::closest(&s.env, names.iter().copied()).map_or_else(
            || format!("environments: {}", names.join(", ")),
            |b| format!("did you mean `{b}`?"),
        );
        anyhow::bail!(
            "`{}` is not an environment: a drill rehearses an environment's way back\nhint: {hint}",
            s.env
        );
    }
    if drill::is_production(config, &s.env) && !s.allow_production {
        anyhow::bail!(
            "refusing to drill {}: {}, and a drill rolls it back on purpose; nothing was changed\nhint: drill staging, or pass --allow-production when production may run the previous release for a few minutes",
            s.env,
            drill::production_reason(config, &s.env)
        );
    }
    Ok(())
}

/// `shipit deploy ENV --app SERVICE --image IMAGE`, as settings: the forward step is exactly
/// that deploy, database gate included.
fn forward_settings(svc: &Service) -> DeploySettings {
    DeploySettings {
        env: svc.env.clone(),
        service: Some(svc.name.clone()),
        image: None,
        strategy: None,
        rollback: true,
        dry_run: false,
        wait_lock: None,
        require_promoted: false,
        promoted_from: None,
        flyctl_args: Vec::new(),
        force_unhealthy_baseline: false,
        watch: None,
    }
}

struct Seams<'a> {
    platform: &'a Fly,
    prober: &'a HttpProber,
    clock: &'a SystemClock,
    record: Option<&'a dyn crate::store::Store>,
}

/// One service's drill: look, roll back, gate, restore forward. Never fails: every problem ends
/// in the record (`FailedBeforeChange` before any change, `RollbackFailed` when a human must
/// finish, `Cancelled`).
async fn drill_service(
    ctx: &super::Ctx,
    config: &Config,
    seams: &Seams<'_>,
    forward: &ServicePlan,
    to: Option<u64>,
    verdicts: &Verdicts,
) -> ServiceRecord {
    let svc = &forward.service;
    let platform: &dyn PlatformSeam = seams.platform;
    let prober: &dyn ProberSeam = seams.prober;
    let clock: &dyn ClockSeam = seams.clock;
    let mut deps = super::pipeline_deps(ctx, platform, prober, clock, config.state_dir());
    if let Some(store) = seams.record {
        deps.state = Box::new(crate::pipeline::deps::RecordTarget {
            local: pipeline::deps::StateDir(config.state_dir().to_owned()),
            store,
        });
    }
    let (current, choice) = match look(seams.platform, svc, to, verdicts).await {
        Ok(found) => found,
        Err(why) => {
            super::report_error_text(ctx, &why);
            return refused(svc, &why);
        }
    };
    let original = current.release_ref().expect("look checks the image");
    // The way back of a drill is the original release: on disk before the first remote change.
    if let Err(e) = deps.state.put_target(&current).await {
        let why = format!("{}: cannot record the live release: {e:#}", svc.label());
        super::report_error_text(ctx, &why);
        return refused(svc, &why);
    }
    let back = ReleaseRef {
        version: Some(choice.target.version),
        image: choice.target.image.clone(),
    };
    ctx.printer.info(&format!(
        "{}: live {}; drilling the way back to {}",
        svc.label(),
        pipeline_text(&original),
        pipeline_text(&back)
    ));
    let mut drill = DrillRecord {
        original: original.clone(),
        rolled_back_to: back.clone(),
        detect_ms: 0,
        rollback_ms: None,
        rollback_healthy_ms: None,
        restore_ms: None,
        rollback_healthy: false,
        restore_healthy: None,
        finish_by_hand: Vec::new(),
    };
    let forward_cmd = drill::forward_command(&svc.env, &svc.name, &original);

    let t0 = Instant::now();
    let mut record = pipeline::rollback_service(&deps, svc, Some(original.clone()), &choice).await;
    drill.rollback_ms = record
        .steps
        .iter()
        .find(|st| st.name == "rollback")
        .map(|st| st.duration_ms);
    drill.rollback_healthy = record.result == ServiceResult::Succeeded;
    if drill.rollback_healthy {
        drill.rollback_healthy_ms = Some(millis(t0));
    }
    record.decision = Some(format!(
        "drill: roll back to {}, then restore {}",
        pipeline_text(&back),
        pipeline_text(&original)
    ));
    if ctx.stop.is_stopped() {
        return cancelled(ctx, record, drill, forward_cmd);
    }
    if !drill.rollback_healthy {
        record.result = ServiceResult::RollbackFailed;
        record.issues.push(format!(
            "the drill's rollback to {} did not pass its health gate: the way back does not work",
            pipeline_text(&back)
        ));
        drill.finish_by_hand.push(forward_cmd);
        record.drill = Some(drill);
        return record;
    }

    ctx.printer.step(&format!(
        "{}: restore forward: {} through the full pipeline",
        svc.label(),
        pipeline_text(&original)
    ));
    // The plan made before the drill began, with the original image as `--image`.
    let plan = forward.clone().with_image(&original.image);
    let t1 = Instant::now();
    let fwd = pipeline::deploy_service(&deps, &plan).await;
    drill.restore_ms = Some(millis(t1));
    merge_forward(&mut record, &fwd);
    match fwd.result {
        ServiceResult::Succeeded => {
            drill.restore_healthy = Some(true);
            record.result = ServiceResult::Succeeded;
            record
                .actions
                .push(format!("restored {} forward", pipeline_text(&original)));
        }
        ServiceResult::Cancelled => {
            drill.restore_ms = None;
            return cancelled(ctx, record, drill, forward_cmd);
        }
        _ => {
            drill.restore_healthy = Some(false);
            record.result = ServiceResult::RollbackFailed;
            record.issues.push(format!(
                "the forward deploy of {} did not pass its gates: {}",
                pipeline_text(&original),
                fwd.reason.as_deref().unwrap_or("see its steps")
            ));
            drill.finish_by_hand.push(forward_cmd);
        }
    }
    record.drill = Some(drill);
    record
}

/// What runs now and where the drill goes back to: the live release (one image on every
/// machine that counts) and the rollback target (`--to`, or the previous good release).
async fn look(
    fly: &Fly,
    svc: &Service,
    to: Option<u64>,
    verdicts: &Verdicts,
) -> Result<(Baseline, pipeline::TargetChoice), String> {
    use crate::platform::Platform;
    let releases = Platform::releases(fly, &svc.app)
        .await
        .map_err(|e| format!("{}: `{}`: {e}; nothing was changed", svc.label(), e.command))?;
    let status = Platform::status(fly, &svc.app)
        .await
        .map_err(|e| format!("{}: `{}`: {e}; nothing was changed", svc.label(), e.command))?;
    let mut current = Baseline::from_status(&status, &releases);
    current.env.clone_from(&svc.env);
    current.service.clone_from(&svc.name);
    if current.image.is_none() {
        return Err(format!(
            "{}: no machine runs an image, so there is no live release to drill; nothing was changed",
            svc.label()
        ));
    }
    if current.mixed_images {
        return Err(format!(
            "{}: the machines run more than one image, so the live release is not one to restore; nothing was changed\nhint: finish the deploy in progress (`shipit status {}`), then drill",
            svc.label(),
            svc.app
        ));
    }
    let rejected = |image: &str| verdicts.rejected(image).map(|r| r.why);
    let choice = pipeline::choose_rollback_target(
        &releases,
        current.version,
        current.image.as_deref(),
        to,
        &rejected,
    )
    .map_err(|e| {
        format!(
            "{}: {e}; nothing was changed\nhint: `shipit releases {}` lists them; pick one with --to VERSION",
            svc.label(),
            svc.app
        )
    })?;
    Ok((current, choice))
}

/// The forward pipeline's steps, gates and calls after the rollback's, named as the drill's
/// forward step so the two are told apart.
fn merge_forward(record: &mut ServiceRecord, fwd: &ServiceRecord) {
    for st in &fwd.steps {
        let mut st = st.clone();
        st.name = format!("forward {}", st.name);
        record.steps.push(st);
    }
    for g in &fwd.gates {
        let mut g = g.clone();
        g.name = format!("forward {}", g.name);
        record.gates.push(g);
    }
    record.flyctl.extend(fwd.flyctl.iter().cloned());
    record.actions.extend(fwd.actions.iter().cloned());
    record.issues.extend(fwd.issues.iter().cloned());
    record.warnings.extend(fwd.warnings.iter().cloned());
    record.latency.extend(fwd.latency.iter().cloned());
    record.reason.clone_from(&fwd.reason);
    if fwd.live.is_some() {
        record.live.clone_from(&fwd.live);
    }
}

/// Cancelled by a signal: the record keeps what is live as far as the steps saw it (flyctl
/// queries end at once once the stop fired, so no new look is taken), and the command that
/// restores forward.
fn cancelled(
    ctx: &super::Ctx,
    mut record: ServiceRecord,
    mut drill: DrillRecord,
    forward_cmd: String,
) -> ServiceRecord {
    record.result = ServiceResult::Cancelled;
    let reason = ctx.stop.reason().unwrap_or_else(|| "cancelled".into());
    record.reason = Some(reason.clone());
    record.issues.push(reason);
    drill.finish_by_hand.push(forward_cmd);
    record.drill = Some(drill);
    record
}

fn refused(svc: &Service, why: &str) -> ServiceRecord {
    let (message, _) = why.split_once("\nhint: ").unwrap_or((why, ""));
    let mut r = ServiceRecord::new(&svc.env, &svc.name, &svc.app, svc.url.shown());
    r.result = ServiceResult::FailedBeforeChange;
    r.reason = Some(message.to_owned());
    r.issues.push(message.to_owned());
    r
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn pipeline_text(r: &ReleaseRef) -> String {
    r.version
        .map_or_else(|| r.image.clone(), |v| format!("v{v} ({})", r.image))
}

/// The run's one line: per service, what the drill measured, or where it stopped.
fn summary(env: &str, services: &[ServiceRecord], outcome: Outcome) -> String {
    let parts: Vec<String> = services
        .iter()
        .map(|s| match &s.drill {
            Some(d) if d.healthy() => format!(
                "{}: back on v{} and healthy in {}, restored in {}",
                s.app,
                d.rolled_back_to.version.unwrap_or_default(),
                drill::seconds(d.rollback_healthy_ms),
                drill::seconds(d.restore_ms)
            ),
            Some(_) if s.result == ServiceResult::Cancelled => format!(
                "{}: cancelled, live: {}",
                s.app,
                s.live
                    .as_ref()
                    .map_or_else(|| "unknown (see `shipit status`)".to_owned(), pipeline_text)
            ),
            Some(d) if !d.rollback_healthy => format!(
                "{}: the rollback to v{} failed its gates, live: {}",
                s.app,
                d.rolled_back_to.version.unwrap_or_default(),
                s.live
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), pipeline_text)
            ),
            Some(_) => format!(
                "{}: not restored forward, live: {}",
                s.app,
                s.live
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), pipeline_text)
            ),
            None => format!("{}: {}", s.app, super::service_line(RunKind::Drill, s)),
        })
        .collect();
    let head = match outcome {
        Outcome::Success => "succeeded",
        Outcome::NeedsHuman => "did NOT finish: a human must act now",
        Outcome::Cancelled => "cancelled",
        _ => "failed; nothing was changed",
    };
    format!("drill {env} {head} ({})", parts.join("; "))
}

/// The last lines: the verdict, then the commands that finish the drill by hand, if any.
fn last_words(ctx: &super::Ctx, run: &crate::report::RunRecord) {
    super::last_words(ctx, run);
    for s in &run.services {
        if let Some(d) = &s.drill {
            for cmd in &d.finish_by_hand {
                ctx.printer.hint(&format!("to finish by hand, run: {cmd}"));
            }
        }
    }
}
