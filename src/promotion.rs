//! The promotion rule: an image may go to the next environment only when the record holds a
//! successful run of exactly that image in the environment it comes from, with every gate the
//! config enables run and passed and none skipped by a flag, recently enough when
//! `promote.max_age` is set. Pure logic over `store::Promotion`s and `RunRecord`s, read
//! through the `Store` trait by [`check`]; `shipit promote` and `deploy --require-promoted`
//! apply it before anything remote changes.
//!
//! **Invariant:** a refusal names what is missing (no run, a failed or skipped gate, a
//! different image, a run too old, more than one image), so the person reading it knows what
//! to run next.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::report::{RunKind, RunRecord, ServiceRecord, ServiceResult, Verdict};
use crate::store::{Promotion, RunQuery, Store};

/// Why an image may not be promoted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub(crate) enum Refusal {
    /// The record has no run of this image in the environment.
    #[error(
        "no {env} run of {image} is in the record\nhint: deploy it to {env} first (`shipit deploy {env} --app {service} --image {image}`); a promotion needs a run that passed {env}'s gates"
    )]
    NoRun {
        env: String,
        service: String,
        image: String,
    },
    /// The newest run of this image failed a gate (or did not finish).
    #[error(
        "{env} run {run_id} of {image} did not pass its gates: {failed}\nhint: fix it and deploy to {env} again; only an image that passed every gate is promoted"
    )]
    FailedGate {
        env: String,
        service: String,
        image: String,
        run_id: String,
        /// The failed gates, or how the run ended when no gate failed.
        failed: String,
    },
    /// The image passed, but not every gate ran: one was skipped.
    #[error(
        "{env} run {run_id} of {image} skipped a gate: {skipped}\nhint: deploy it to {env} again with every gate enabled"
    )]
    SkippedGate {
        env: String,
        service: String,
        image: String,
        run_id: String,
        skipped: String,
    },
    /// The record proves a different image than the one FROM's machines run.
    #[error(
        "{env} runs {image}, but the record proves {proved} (run {run_id}), a different image\nhint: deploy {image} to {env} through the pipeline first, or find out who deployed it outside shipit"
    )]
    DifferentImage {
        env: String,
        service: String,
        image: String,
        proved: String,
        run_id: String,
    },
    /// The proving run is older than `promote.max_age`.
    #[error(
        "the {env} run that proved {image} ({run_id}, finished {at}) is older than promote.max_age ({max_age})\nhint: deploy it to {env} again to prove it afresh"
    )]
    Stale {
        env: String,
        service: String,
        image: String,
        run_id: String,
        at: String,
        max_age: String,
    },
    /// FROM's machines do not all run one image.
    #[error(
        "{env}'s {service} machines run more than one image: {images}\nhint: finish or roll back {env}'s deploy first (`shipit status {env} --app {service}`)"
    )]
    MixedImages {
        env: String,
        service: String,
        images: String,
    },
    /// FROM's app has no machine running an image.
    #[error("{env}'s {service} runs no machine, so there is no image to promote")]
    NoImage { env: String, service: String },
}

/// The gates of a service's run that keep it from proving its image: failed ones, and skipped
/// ones other than `unconfigured` (gates the config does not enable for the service, such as
/// `smoke` without a suite). `Warn` passes (a warning is a verdict, not a gap).
fn gate_gaps(s: &ServiceRecord, unconfigured: &[&str]) -> (Vec<String>, Vec<String>) {
    let names = |v: Verdict| {
        s.gates
            .iter()
            .filter(|g| g.verdict == v && !unconfigured.contains(&g.name.as_str()))
            .map(|g| g.name.clone())
            .collect::<Vec<_>>()
    };
    (names(Verdict::Fail), names(Verdict::Skipped))
}

/// The gates the config does not enable for a service, whose `skipped` verdict is no gap.
pub(crate) fn unconfigured_gates(
    config: &crate::config::Config,
    svc: Option<&crate::config::Service>,
) -> Vec<&'static str> {
    let Some(s) = svc else {
        return Vec::new();
    };
    let mut off = Vec::new();
    if s.smoke.is_none() {
        off.push("smoke");
    }
    let has_database = config
        .environment(&s.env)
        .is_some_and(|e| e.database.is_some());
    if !config.gates.database || !has_database {
        off.push("database");
    }
    off
}

/// The `Promotion` a finished deploy writes for one service: `None` unless it succeeded.
/// `all_gates_passed` is false when an enabled gate was skipped or none ran at all.
pub(crate) fn promotion_for(
    run: &RunRecord,
    s: &ServiceRecord,
    proved_by: Option<String>,
    unconfigured: &[&str],
) -> Option<Promotion> {
    if s.result != ServiceResult::Succeeded {
        return None;
    }
    let image = s.live.as_ref().or(s.to.as_ref())?;
    let (failed, skipped) = gate_gaps(s, unconfigured);
    Some(Promotion {
        env: s.env.clone(),
        service: s.service.clone(),
        app: s.app.clone(),
        image: image.image.clone(),
        version: image.version,
        run_id: run.id.clone(),
        at: if run.finished_at.is_empty() {
            crate::timefmt::now()
        } else {
            run.finished_at.clone()
        },
        all_gates_passed: !s.gates.is_empty() && failed.is_empty() && skipped.is_empty(),
        proved_by,
    })
}

/// What the rule needs to know about one service of the environment an image comes from.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<'a> {
    pub env: &'a str,
    pub service: &'a str,
    /// The distinct images its started machines run now (from `status`).
    pub images: &'a [String],
}

/// The rule. `promotions` and `runs` are the record's, newest first (any order works: the
/// newest is chosen by time).
pub(crate) fn judge(
    c: &Candidate<'_>,
    promotions: &[Promotion],
    runs: &[RunRecord],
    max_age: Option<Duration>,
    now: SystemTime,
) -> Result<Promotion, Box<Refusal>> {
    judge_inner(c, promotions, runs, max_age, now).map_err(Box::new)
}

#[allow(
    clippy::result_large_err,
    reason = "boxed once by `judge`; inside, the refusals read better unboxed"
)]
fn judge_inner(
    c: &Candidate<'_>,
    promotions: &[Promotion],
    runs: &[RunRecord],
    max_age: Option<Duration>,
    now: SystemTime,
) -> Result<Promotion, Refusal> {
    let (env, service) = (c.env.to_owned(), c.service.to_owned());
    let image = match c.images {
        [] => return Err(Refusal::NoImage { env, service }),
        [one] => one.clone(),
        many => {
            return Err(Refusal::MixedImages {
                env,
                service,
                images: many.join(", "),
            });
        }
    };
    let mine = |p: &&Promotion| p.env == c.env && p.service == c.service;
    let newest = |a: &&Promotion, b: &&Promotion| a.at.cmp(&b.at).then(a.run_id.cmp(&b.run_id));
    let proving = promotions
        .iter()
        .filter(mine)
        .filter(|p| p.image == image && p.all_gates_passed)
        .max_by(newest);
    // The newest run of this very image: when it came after the proof and failed, the latest
    // word on the image is a failure, and that is what counts.
    let run_of_image = runs
        .iter()
        .filter(|r| matches!(r.kind, RunKind::Deploy | RunKind::Promote))
        .flat_map(|r| r.services.iter().map(move |s| (r, s)))
        .filter(|(_, s)| s.env == c.env && s.service == c.service)
        .filter(|(_, s)| s.to.as_ref().is_some_and(|t| t.image == image))
        .max_by(|a, b| {
            a.0.started_at
                .cmp(&b.0.started_at)
                .then(a.0.id.cmp(&b.0.id))
        });
    let failed_since = |p: &Promotion| {
        run_of_image.filter(|(r, s)| {
            r.id != p.run_id && r.started_at > p.at && s.result != ServiceResult::Succeeded
        })
    };
    if let Some(p) = proving.filter(|p| failed_since(p).is_none()) {
        if let Some(max) = max_age {
            let finished = crate::timefmt::parse_rfc3339(&p.at);
            let too_old = finished.is_none_or(|t| now.duration_since(t).unwrap_or_default() > max);
            if too_old {
                return Err(Refusal::Stale {
                    env,
                    service,
                    image,
                    run_id: p.run_id.clone(),
                    at: p.at.clone(),
                    max_age: crate::duration::format(max),
                });
            }
        }
        return Ok(p.clone());
    }
    // Not proved. Say why: the newest run of this very image, if there is one.
    if let Some((run, s)) = run_of_image {
        let (failed, skipped) = gate_gaps(s, &[]);
        if s.result == ServiceResult::Succeeded && failed.is_empty() {
            let skipped = if skipped.is_empty() {
                "no gate ran".to_owned()
            } else {
                skipped.join(", ")
            };
            return Err(Refusal::SkippedGate {
                env,
                service,
                image,
                run_id: run.id.clone(),
                skipped,
            });
        }
        let failed = if failed.is_empty() {
            format!("the run ended {}", s.result.name())
        } else {
            failed.join(", ")
        };
        return Err(Refusal::FailedGate {
            env,
            service,
            image,
            run_id: run.id.clone(),
            failed,
        });
    }
    // A recorded promotion of this image that did not pass every gate, without its run.
    if let Some(p) = promotions
        .iter()
        .filter(mine)
        .filter(|p| p.image == image)
        .max_by(newest)
    {
        return Err(Refusal::SkippedGate {
            env,
            service,
            image,
            run_id: p.run_id.clone(),
            skipped: "not every gate ran".into(),
        });
    }
    if let Some(other) = promotions
        .iter()
        .filter(mine)
        .filter(|p| p.all_gates_passed)
        .max_by(newest)
    {
        return Err(Refusal::DifferentImage {
            env,
            service,
            image,
            proved: other.image.clone(),
            run_id: other.run_id.clone(),
        });
    }
    Err(Refusal::NoRun {
        env,
        service,
        image,
    })
}

/// The rule, read through the record: the environment's promotions of this service and its
/// deploy and promote runs.
pub(crate) async fn check(
    store: &dyn Store,
    c: &Candidate<'_>,
    max_age: Option<Duration>,
    now: SystemTime,
) -> anyhow::Result<Result<Promotion, Box<Refusal>>> {
    let promotions = store.promotions(c.env, Some(c.service)).await?;
    let query = RunQuery {
        env: Some(c.env.to_owned()),
        app: Some(c.service.to_owned()),
        kinds: vec![RunKind::Deploy, RunKind::Promote],
        ..RunQuery::default()
    };
    let runs = store.runs(&query).await?.runs;
    Ok(judge(c, &promotions, &runs, max_age, now))
}

#[cfg(test)]
#[path = "promotion_tests.rs"]
mod tests;
