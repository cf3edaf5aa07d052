//! `shipit promote FROM TO [--app SERVICE]`: deploys to TO, service by service, the image FROM's
//! machines run now, and only when the record proves it (see `promotion`). Every refusal is
//! decided before anything remote changes: one refused service stops the whole promotion, and
//! no `flyctl deploy` runs.
//!
//! `deploy ENV --require-promoted [--from ENV]` applies the same rule to the image given with
//! `--image` ([`require`]).

use std::time::{Instant, SystemTime};

use crate::config::{Config, Service, resolve};
use crate::event::Event;
use crate::exit::Outcome;
use crate::platform::Platform;
use crate::probe::{HttpProber, SystemClock};
use crate::promotion::{self, Candidate, Refusal};
use crate::report::{RunKind, ServiceRecord, ServiceResult};
use crate::settings::PromoteOptions;
use crate::store::Promotion;

pub(crate) async fn run(ctx: &super::Ctx, o: PromoteOptions) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    if o.from == o.to {
        anyhow::bail!(
            "promote takes an image from one environment to another, and `{}` was given twice\nhint: e.g. `shipit promote staging production`",
            o.from
        );
    }
    let targets = resolve(&config, &o.to, o.service.as_deref())?;
    if config.environment(&o.to).is_none() {
        anyhow::bail!(
            "`{}` is not an environment\nhint: promote takes environment names, e.g. `shipit promote staging production`",
            o.to
        );
    }
    let sources = sources(&config, &o, &targets)?;
    let fly = ctx.fly()?;
    let store = crate::store::open(&config)?;
    ctx.printer.step(&format!(
        "promote {} -> {}: {}",
        o.from,
        o.to,
        targets
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let started = Instant::now();
    let started_at = SystemTime::now();
    let mut proofs = Vec::new();
    let mut refusals: Vec<(&Service, Refusal)> = Vec::new();
    for (target, source) in targets.iter().zip(&sources) {
        let images = running_images(&fly, source).await?;
        let c = Candidate {
            env: &source.env,
            service: &source.name,
            images: &images,
        };
        match promotion::check(
            store.as_ref(),
            &c,
            config.promote.max_age,
            SystemTime::now(),
        )
        .await?
        {
            Ok(p) => {
                ctx.printer.info(&format!(
                    "{}: {} proved by {} run {} ({})",
                    source.name, p.image, p.env, p.run_id, p.at
                ));
                proofs.push(p);
            }
            Err(refusal) => refusals.push((target, *refusal)),
        }
    }
    if !refusals.is_empty() {
        return Ok(refuse(ctx, &config, &o, &targets, &refusals, started, started_at).await);
    }
    // TO's own pipeline, with the proved image as `--image`.
    let images: Vec<(&str, &str)> = targets
        .iter()
        .zip(&proofs)
        .map(|(svc, p)| (svc.name.as_str(), p.image.as_str()))
        .collect();
    let plans = o.service_plans(&config, &images)?;
    let prober = HttpProber::new()?;
    let run = super::deploy::deploy_services_as(
        ctx,
        &config,
        &plans,
        Some(&proofs),
        o.wait_lock,
        &fly,
        &prober,
        &SystemClock::new(),
    )
    .await;
    if ctx.printer.json_mode() {
        ctx.printer.json(&run);
    }
    Ok(run.outcome)
}

/// FROM's service for each of TO's: the same key under `apps:`.
fn sources<'c>(
    config: &'c Config,
    o: &PromoteOptions,
    targets: &[&Service],
) -> anyhow::Result<Vec<&'c Service>> {
    let Some(from) = config.environment(&o.from) else {
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        let hint = crate::config::closest(&o.from, names.iter().copied()).map_or_else(
            || format!("environments: {}", names.join(", ")),
            |b| format!("did you mean `{b}`?"),
        );
        anyhow::bail!("`{}` is not an environment\nhint: {hint}", o.from);
    };
    targets
        .iter()
        .map(|t| {
            from.services.iter().find(|s| s.name == t.name).ok_or_else(|| {
                anyhow::anyhow!(
                    "{} has no service `{}`, so nothing proves an image for {}\nhint: add `{}` to environments.{} in shipit.yml, or promote one service with --app",
                    o.from,
                    t.name,
                    t.label(),
                    t.name,
                    o.from
                )
            })
        })
        .collect()
}

/// The distinct images FROM's machines run now: the started ones, or every machine when
/// none is started (an autostopped app still has an image).
async fn running_images<P: Platform>(platform: &P, s: &Service) -> anyhow::Result<Vec<String>> {
    let status = platform
        .status(&s.app)
        .await
        .map_err(|e| anyhow::anyhow!("{}: `{}`: {e}", s.label(), e.command))?;
    let started: Vec<_> = status.machines.iter().filter(|m| m.is_started()).collect();
    let machines = if started.is_empty() {
        status.machines.iter().collect()
    } else {
        started
    };
    let mut images: Vec<String> = machines
        .iter()
        .map(|m| m.image.clone())
        .filter(|i| !i.is_empty())
        .collect();
    images.sort();
    images.dedup();
    Ok(images)
}

/// Records and reports a refused promotion: nothing was deployed.
async fn refuse(
    ctx: &super::Ctx,
    config: &Config,
    o: &PromoteOptions,
    targets: &[&Service],
    refusals: &[(&Service, Refusal)],
    started: Instant,
    started_at: SystemTime,
) -> Outcome {
    let mut record = super::new_record(RunKind::Promote, Some(o.to.clone()), started_at);
    for t in targets {
        let mut r = ServiceRecord::new(&t.env, &t.name, &t.app, t.url.shown());
        r.result = ServiceResult::FailedBeforeChange;
        match refusals.iter().find(|(s, _)| s.name == t.name) {
            Some((_, refusal)) => {
                let text = refusal.to_string();
                let (message, _) = text.split_once("\nhint: ").unwrap_or((&text, ""));
                super::report_error_text(ctx, &format!("{}: {text}", t.label()));
                r.reason = Some(format!("promotion refused: {message}"));
                r.issues.push(message.to_owned());
            }
            None => {
                r.reason = Some("not promoted: another service's promotion was refused".into());
            }
        }
        record.services.push(r);
    }
    record.summary = format!(
        "promote {} -> {} refused; nothing was deployed ({})",
        o.from,
        o.to,
        refusals
            .iter()
            .map(|(s, _)| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if ctx.printer.json_mode() {
        ctx.printer.json(&record);
    }
    super::end_check_run(ctx, config, record, started, Outcome::Failed, Event::Failed).await
}

/// `deploy --require-promoted`: the image given with `--image` must be proved in `from` for
/// every service, else the deploy is refused before anything changes. Returns the proofs.
pub(crate) async fn require(
    config: &Config,
    from: &str,
    image: Option<&str>,
    services: &[&Service],
) -> anyhow::Result<Vec<Promotion>> {
    let Some(image) = image else {
        anyhow::bail!(
            "--require-promoted needs --image: a freshly built image has passed no gates\nhint: name the image {from} proved, or use `shipit promote {from} {}`",
            services.first().map_or("ENV", |s| s.env.as_str())
        );
    };
    let store = crate::store::open(config)?;
    let images = vec![image.to_owned()];
    let mut proofs = Vec::new();
    for s in services {
        let c = Candidate {
            env: from,
            service: &s.name,
            images: &images,
        };
        match promotion::check(
            store.as_ref(),
            &c,
            config.promote.max_age,
            SystemTime::now(),
        )
        .await?
        {
            Ok(p) => proofs.push(p),
            Err(refusal) => anyhow::bail!("{}: --require-promoted: {refusal}", s.label()),
        }
    }
    Ok(proofs)
}
