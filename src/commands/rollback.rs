//! `shipit rollback APP|ENV [--to VERSION]`: put a previous release back and gate it.

use std::time::Instant;

use crate::baseline::Baseline;
use crate::config::resolve;
use crate::event::Event;
use crate::exit::Outcome;
use crate::pipeline;
use crate::platform::Platform as _;
use crate::probe::{HttpProber, SystemClock};
use crate::report::{ReleaseRef, RunKind, ServiceResult};
use crate::settings::RollbackSettings;

pub(crate) async fn run(ctx: &super::Ctx, s: RollbackSettings) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services = resolve(&config, &s.target, s.service.as_deref())?;
    if let Some(env) = &s.env {
        crate::config::check_membership(&config, &services, env)?;
    }
    if s.to.is_some() && services.len() > 1 {
        anyhow::bail!(
            "--to {} names one release, but `{}` has {} services\nhint: name one: `shipit rollback {} --app SERVICE --to VERSION`, or use the Fly app name",
            s.to.unwrap_or_default(),
            s.target,
            services.len(),
            s.target
        );
    }
    let fly = ctx.fly()?;
    let prober = HttpProber::new()?;
    let clock = SystemClock::new();
    let started = Instant::now();
    let mut run = super::new_record(
        RunKind::Rollback,
        Some(services[0].env.clone()),
        std::time::SystemTime::now(),
    );
    let mut failed = false;
    for svc in &services {
        if failed {
            run.services.push(super::not_started(&fly, svc).await);
            continue;
        }
        ctx.stop
            .set_standing(&svc.app, format!("{}: nothing was changed", svc.app));
        let looked = match fly.releases(&svc.app).await {
            Ok(releases) => fly.status(&svc.app).await.map(|s| (releases, s)),
            Err(e) => Err(e),
        };
        let (releases, status) = match looked {
            Ok(both) => both,
            // A query cut short by SIGINT is a cancelled run (exit 130), not a failure.
            Err(_) if ctx.stop.is_stopped() => {
                let mut r = crate::report::ServiceRecord::new(
                    &svc.env,
                    &svc.name,
                    &svc.app,
                    svc.url.shown(),
                );
                r.result = ServiceResult::Cancelled;
                r.reason = ctx.stop.reason();
                run.services.push(r);
                failed = true;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let current = Baseline::from_status(&status, &releases);
        let target = pipeline::choose_rollback_target(&releases, current.version, current.image.as_deref(), s.to)
            .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was deployed\nhint: `shipit status {}` shows the releases; pick one with --to VERSION", svc.label(), svc.app))?;
        let _lock = pipeline::lock::acquire(config.state_dir(), &svc.app, s.wait_lock).await?;
        let deps = super::pipeline_deps(ctx, &fly, &prober, &clock, config.state_dir());
        let from = current.image.clone().map(|image| ReleaseRef {
            version: current.version,
            image,
        });
        let record = pipeline::rollback_service(&deps, svc, from, &target).await;
        failed = record.result != ServiceResult::Succeeded;
        ctx.stop.set_standing(
            &record.app,
            format!(
                "{}: {}",
                record.app,
                super::service_line(RunKind::Rollback, &record)
            ),
        );
        run.services.push(record);
    }
    super::close_record(&mut run, started.elapsed());
    // A requested rollback that worked is a success; one that did not leaves a human to act.
    if run.outcome == Outcome::Success {
        run.event = Event::RolledBack;
    }
    super::finish::finish(ctx, &config, &run).await;
    super::last_words(ctx, &run);
    if ctx.printer.json_mode() {
        ctx.printer.json(&run);
    }
    Ok(run.outcome)
}
