//! `shipit rollback APP|ENV [--to VERSION] [--dry-run]`: put a previous release back and gate
//! it. The default target skips every release whose image shipit's record shows failing a gate
//! or being rolled back; the command says what it chose, why, and what it skipped.

use std::time::Instant;

use crate::baseline::Baseline;
use crate::config::resolve;
use crate::event::Event;
use crate::exit::Outcome;
use crate::pipeline;
use crate::platform::Platform as _;
use crate::probe::{HttpProber, SystemClock};
use crate::release_verdict::Verdicts;
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
    // The record says which images failed a gate or were rolled back: a default target never
    // goes back to one. Without it the choice would be blind, so only `--to` goes on.
    let store = match crate::store::open(&config) {
        Ok(store) => Some(store),
        Err(e) if s.to.is_some() => {
            ctx.printer
                .warn(&format!("cannot open shipit's record: {e:#}"));
            None
        }
        Err(e) => return Err(unknown_rejections(&s.target, &format!("{e:#}"))),
    };
    let prober = HttpProber::new()?;
    let clock = SystemClock::new();
    let started = Instant::now();
    let mut run = super::new_record(
        RunKind::Rollback,
        Some(services[0].env.clone()),
        std::time::SystemTime::now(),
    );
    // Every target is chosen before anything is put back: a service with nothing to go back
    // to (or that flyctl cannot be asked about) refuses the whole rollback while nothing has
    // changed, so the environment is never left half rolled back by a refusal.
    let mut planned = Vec::new();
    let mut chosen = Vec::with_capacity(services.len());
    let mut cancelled = None;
    for svc in &services {
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
                cancelled = Some(r);
                break;
            }
            Err(e) => return Err(e.into()),
        };
        let current = Baseline::from_status(&status, &releases);
        let verdicts = match &store {
            Some(store) => match super::releases::verdicts(store.as_ref(), &svc.app).await {
                Ok(v) => v,
                Err(e) if s.to.is_some() => {
                    ctx.printer.warn(&format!("{e:#}"));
                    Verdicts::new(&svc.app, &[])
                }
                Err(e) => return Err(unknown_rejections(&svc.app, &format!("{e:#}"))),
            },
            None => Verdicts::new(&svc.app, &[]),
        };
        let rejected = |image: &str| verdicts.rejected(image).map(|r| r.why);
        let choice = pipeline::choose_rollback_target(&releases, current.version, current.image.as_deref(), s.to, &rejected)
            .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was deployed\nhint: `shipit releases {}` lists the releases with shipit's verdict; pick one with --to VERSION", svc.label(), svc.app))?;
        say_choice(ctx, svc, &choice, s.dry_run);
        let from = current.image.clone().map(|image| ReleaseRef {
            version: current.version,
            image,
        });
        if s.dry_run {
            planned.push(serde_json::json!({
                "env": svc.env, "service": svc.name, "app": svc.app, "current": from,
                "target": {"version": choice.target.version, "image": choice.target.image},
                "why": choice.why, "skipped": choice.skipped, "warning": choice.warning,
            }));
            continue;
        }
        chosen.push((svc, from, choice));
    }
    // Every app's lock too, before the first change: a lock held by another run refuses the
    // rollback while nothing has changed.
    let mut locks = Vec::with_capacity(chosen.len());
    if !s.dry_run && cancelled.is_none() {
        for (svc, _, _) in &chosen {
            locks.push(pipeline::lock::acquire(config.state_dir(), &svc.app, s.wait_lock).await?);
        }
    }
    let mut failed = cancelled.is_some();
    let mut chosen = chosen.into_iter();
    for svc in &services {
        if s.dry_run {
            break;
        }
        if let Some(r) = cancelled.take_if(|r| r.app == svc.app) {
            run.services.push(r);
            continue;
        }
        if failed {
            run.services.push(super::not_started(&fly, svc).await);
            continue;
        }
        let Some((svc, from, choice)) = chosen.next() else {
            break;
        };
        let deps = super::pipeline_deps(ctx, &fly, &prober, &clock, config.state_dir());
        let record = pipeline::rollback_service(&deps, svc, from, &choice).await;
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
    if s.dry_run {
        ctx.printer
            .success("dry run: nothing was deployed (run it without --dry-run to put it back)");
        if ctx.printer.json_mode() {
            ctx.printer
                .json(&serde_json::json!({ "dry_run": true, "apps": planned }));
        }
        return Ok(Outcome::Success);
    }
    super::close_record(&mut run, started.elapsed());
    // A requested rollback that worked is a success; one that did not leaves a human to act.
    if run.outcome == Outcome::Success {
        run.event = Event::RolledBack;
    }
    drop(locks);
    // A record that could not be written where shipit.yml says is said after the last words,
    // so it is what the log shows last, except for a cancelled run: its last line stays what is
    // live and the rollback command (DESIGN.md's exit 130).
    let not_recorded = super::finish::finish(ctx, &config, &run).await;
    let cancelled = run.outcome == Outcome::Cancelled;
    if let Some(note) = not_recorded.as_ref().filter(|_| cancelled) {
        super::report_warning_text(ctx, note);
    }
    super::last_words(ctx, &run);
    if let Some(note) = not_recorded.as_ref().filter(|_| !cancelled) {
        super::report_warning_text(ctx, note);
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&run);
    }
    Ok(run.outcome)
}

/// Says which release goes back and why, and what was skipped on the way.
fn say_choice(
    ctx: &super::Ctx,
    svc: &crate::config::Service,
    choice: &pipeline::TargetChoice,
    dry_run: bool,
) {
    let p = &ctx.printer;
    let verb = if dry_run {
        "would put back"
    } else {
        "puts back"
    };
    p.step(&format!(
        "{}: {verb} v{} ({}): {}",
        svc.label(),
        choice.target.version,
        choice.target.image,
        choice.why
    ));
    for skipped in &choice.skipped {
        p.info(&format!(
            "  skipped v{} ({}): {}",
            skipped.version, skipped.image, skipped.why
        ));
    }
    if let Some(w) = &choice.warning {
        p.warn(w);
    }
}

/// The refusal when the record cannot be read and no `--to` was given.
fn unknown_rejections(target: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{why}, so the releases shipit rejected are unknown; nothing was deployed\nhint: pick a release yourself with `shipit rollback {target} --to VERSION` (`flyctl releases --app APP` lists them)"
    )
}
