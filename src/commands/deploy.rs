//! `shipit deploy ENV [--app SERVICE]`: every service of the environment through the pipeline,
//! in the config's order; the first one that fails stops the rest.

use std::time::{Duration, Instant};

use crate::config::{Config, Service, resolve};
use crate::event::Event;
use crate::exit::Outcome;
use crate::pipeline::{self, DeployOptions};
use crate::platform::Platform;
use crate::probe::{Clock, HttpProber, Prober, SystemClock};
use crate::report::{RunKind, RunRecord, ServiceResult};
use crate::settings::DeploySettings;

pub(crate) async fn run(ctx: &super::Ctx, s: DeploySettings) -> anyhow::Result<Outcome> {
    if s.dry_run {
        return super::plan::run(ctx, s).await;
    }
    let config = ctx.config()?;
    let services = resolve(&config, &s.env, s.service.as_deref())?;
    super::check_strategy(s.strategy.as_deref())?;
    let fly = ctx.fly()?;
    let prober = HttpProber::new()?;
    let opts = DeployOptions {
        image: s.image.clone(),
        strategy: s.strategy.clone(),
        rollback: s.rollback,
    };
    let run = deploy_services(
        ctx,
        &config,
        &services,
        &opts,
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
#[allow(clippy::too_many_arguments)]
pub(crate) async fn deploy_services<P: Platform, R: Prober, C: Clock>(
    ctx: &super::Ctx,
    config: &Config,
    services: &[&Service],
    opts: &DeployOptions,
    wait_lock: Option<Duration>,
    platform: &P,
    prober: &R,
    clock: &C,
) -> RunRecord {
    let started = Instant::now();
    let env = services.first().map(|s| s.env.clone()).unwrap_or_default();
    let mut run = super::new_record(
        RunKind::Deploy,
        Some(env.clone()),
        std::time::SystemTime::now(),
    );
    ctx.printer.step(&format!(
        "deploy {env}: {} ({} service{})",
        services
            .iter()
            .map(|s| s.app.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        services.len(),
        if services.len() == 1 { "" } else { "s" }
    ));
    // Every service's lock first: a run refused by the lock has changed nothing and announced
    // nothing, so it notifies nobody; its refusal is kept in the evidence.
    let mut locks = Vec::with_capacity(services.len());
    for (i, svc) in services.iter().enumerate() {
        match pipeline::lock::acquire(config.state_dir(), &svc.app, wait_lock).await {
            Ok(l) => locks.push(l),
            Err(e) => {
                drop(locks);
                super::report_error_text(ctx, &format!("{e:#}"));
                for (j, other) in services.iter().enumerate() {
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
                super::finish::record_only(ctx, config, &run);
                super::last_words(ctx, &run);
                return run;
            }
        }
    }
    super::announce(ctx, config, Event::Started, &run).await;
    let mut stopped_after: Option<usize> = None;
    for (i, svc) in services.iter().enumerate() {
        if stopped_after.is_some() {
            run.services.push(super::not_started(platform, svc).await);
            continue;
        }
        let deps = super::pipeline_deps(ctx, platform, prober, clock, config.state_dir());
        let record = pipeline::deploy_service(&deps, svc, opts).await;
        if record.result != ServiceResult::Succeeded {
            stopped_after = Some(i);
        }
        run.services.push(record);
    }
    super::close_record(&mut run, started.elapsed());
    if run.services.len() > 1 {
        for r in &run.services {
            ctx.printer.info(&format!(
                "  {}/{} ({}): {}",
                r.env,
                r.service,
                r.app,
                super::service_line(r)
            ));
        }
    }
    drop(locks);
    super::finish::finish(ctx, config, &run).await;
    super::last_words(ctx, &run);
    run
}
