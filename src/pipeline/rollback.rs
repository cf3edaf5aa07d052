//! The way back: `flyctl deploy --image <baseline image>` for the same app and config, then the
//! health gate on it. Used automatically after a failed gate and by `shipit rollback`.

use std::time::Instant;

use super::deps::Deps;
use super::plan::{PlanView, RollbackPolicy, ServicePlan, rollback_request};
use super::release_text;
use super::stage::{CanaryRun, health_gate_report, relay};
use crate::config::Service;
use crate::platform::{DeployRequest, OutputLine, Release};
use crate::report::{ReleaseRef, ServiceRecord, ServiceResult, StepRecord};

/// The `plan` line for what happens when a stage fails.
pub(super) fn plan(view: &PlanView<'_>) -> String {
    let target = view.target.as_ref().and_then(Option::as_ref);
    match (target, view.plan.rollback) {
        (_, RollbackPolicy::OffInConfig | RollbackPolicy::OffByFlag) => {
            "on failure: no rollback (rollback: off): exit 4".into()
        }
        (Some(target), RollbackPolicy::Auto) => {
            let argv =
                crate::platform::flyctl_deploy_argv(&view.plan.rollback_request(&target.image));
            let schema = if view.plan.database.is_some() {
                "; the app only: the database schema is not rolled back (a migration the new release ran stays applied)"
            } else {
                ""
            };
            format!(
                "on failure: rollback: {}, then the health gate again (exit 3 healthy, 4 not){schema}",
                argv.join(" ")
            )
        }
        (None, RollbackPolicy::Auto) => "on failure: no rollback target: exit 4".into(),
    }
}

/// After a failure past the deploy call: roll back when allowed and possible, and say what
/// runs now. Ends as `RolledBack` (exit 3) or `RollbackFailed` (exit 4).
///
/// During a canary (`canary` with machines still `exposed`), only the canary machines go back
/// (`--only-machines`); the rest of the fleet never left the baseline and is not touched.
pub(super) async fn after_failure(
    deps: &Deps<'_>,
    plan: &ServicePlan,
    mut record: ServiceRecord,
    target: Option<ReleaseRef>,
    reason: &str,
    canary: Option<&CanaryRun>,
) -> ServiceRecord {
    let svc = &plan.service;
    let refuse = |mut record: ServiceRecord, why: &str| {
        // The failure itself was just printed by the loop; this line says why nothing undoes it.
        deps.printer
            .error(&format!("{}: no rollback: {why}", svc.label()));
        deps.printer.error(&format!(
            "{}: a human must act now: what runs is {}",
            svc.label(),
            release_text(record.to.as_ref())
        ));
        record.result = ServiceResult::RollbackFailed;
        record.decision = Some(format!("no rollback: {why}"));
        record.live = record.to.clone();
        record
    };
    match plan.rollback {
        RollbackPolicy::Auto => {}
        RollbackPolicy::OffInConfig => {
            return refuse(record, "rollback is off in shipit.yml (`rollback: off`)");
        }
        RollbackPolicy::OffByFlag => return refuse(record, "--no-rollback was given"),
    }
    let Some(target) = target else {
        return refuse(
            record,
            "there is no rollback target (first deploy of this app)",
        );
    };
    if let Some(run) = canary
        && let Some(machines) = run.exposed()
    {
        return canary_back(deps, plan, record, &target, reason, run, machines).await;
    }
    record.decision = Some(format!(
        "roll back to {}: {reason}",
        release_text(Some(&target))
    ));
    deps.printer.step(&format!(
        "{}: rollback to {}",
        svc.label(),
        release_text(Some(&target))
    ));
    let req = rollback_request(svc, &target.image);
    redeploy(deps, svc, &req, &target, &mut record, "rollback").await;
    record
}

/// A failed canary: the baseline image back on the canary machines only, then verified (each
/// canary machine runs the baseline image again and answers a pinned probe, then the health
/// gate on the app); the record says what share of the fleet had the release and for how long.
async fn canary_back(
    deps: &Deps<'_>,
    plan: &ServicePlan,
    mut record: ServiceRecord,
    target: &ReleaseRef,
    reason: &str,
    run: &CanaryRun,
    machines: &[String],
) -> ServiceRecord {
    let svc = &plan.service;
    record.decision = Some(format!(
        "put only the canary ({}) back on {}: {reason}",
        machines.join(", "),
        release_text(Some(target))
    ));
    deps.printer.step(&format!(
        "{}: rollback of the canary ({}) to {}",
        svc.label(),
        machines.join(", "),
        release_text(Some(target))
    ));
    let req = plan.rollback_only_request(&target.image, machines);
    redeploy(deps, svc, &req, target, &mut record, "rollback").await;
    let exposure = deps.clock.now_offset().saturating_sub(run.since);
    if let Some(c) = &mut record.canary {
        c.exposure_ms = Some(exposure.as_millis() as u64);
    }
    let line = super::canary::exposure_line(run, exposure, record.to.as_ref());
    if record.result == ServiceResult::RolledBack {
        if let Some(problem) = verify_canary(deps, svc, target, machines).await {
            record.result = ServiceResult::RollbackFailed;
            record.issues.push(problem.clone());
            deps.printer
                .error(&format!("{}: {problem}: a human must act now", svc.label()));
        } else {
            record.actions.push(format!(
                "put the canary machines {} back on {}; the other machines never left it",
                machines.join(", "),
                release_text(Some(target))
            ));
        }
    }
    deps.printer.info(&format!("{}: {line}", svc.label()));
    record.actions.push(line);
    record
}

/// Each canary machine runs `target`'s image again and answers a probe pinned to it; the
/// problem in words otherwise.
async fn verify_canary(
    deps: &Deps<'_>,
    svc: &Service,
    target: &ReleaseRef,
    machines: &[String],
) -> Option<String> {
    let status = match deps.platform.status(&svc.app).await {
        Ok(s) => s,
        Err(e) => {
            return Some(format!(
                "cannot see the canary machines after the rollback: {e}"
            ));
        }
    };
    for id in machines {
        let Some(m) = status.machines.iter().find(|m| &m.id == id) else {
            return Some(format!("canary machine {id} is gone after the rollback"));
        };
        if m.image != target.image {
            return Some(format!(
                "canary machine {id} still runs {} after the rollback",
                m.image
            ));
        }
        let mut probe = crate::probe::ProbeSpec::health(&svc.health, &svc.health_url());
        probe.machine_id = Some(id.clone());
        let result = deps.prober.probe_boxed(&probe).await;
        let failed: Vec<String> = svc
            .health
            .expect
            .iter()
            .map(|c| c.evaluate(&result))
            .filter(|e| !e.pass)
            .map(|e| e.display)
            .collect();
        if !failed.is_empty() {
            return Some(format!(
                "canary machine {id} is back on {} but fails a pinned probe ({})",
                release_text(Some(target)),
                failed.join(", ")
            ));
        }
    }
    None
}

/// A service this run deployed, put back because a later service of its environment failed
/// (`on_partial: rollback`): its baseline goes back through the health gate, as after its own
/// failure. Kept as it is, with a warning, when rollback is off for it or it has no previous
/// release. `because` names the failed service.
pub async fn undo_service(
    deps: &Deps<'_>,
    plan: &ServicePlan,
    mut record: ServiceRecord,
    because: &str,
) -> ServiceRecord {
    let svc = &plan.service;
    let kept = |mut record: ServiceRecord, why: &str| {
        let text = format!(
            "{}: kept on {} although {because}: {why}",
            svc.label(),
            release_text(record.live.as_ref())
        );
        deps.printer.warn(&text);
        record.warnings.push(text);
        record
    };
    match plan.rollback {
        RollbackPolicy::Auto => {}
        RollbackPolicy::OffInConfig => {
            return kept(record, "rollback is off in shipit.yml (`rollback: off`)");
        }
        RollbackPolicy::OffByFlag => return kept(record, "--no-rollback was given"),
    }
    let Some(target) = record.from.clone() else {
        return kept(record, "it has no previous release (first deploy)");
    };
    record.reason = Some(format!(
        "{}: {because}",
        crate::release_verdict::WITH_THE_ENVIRONMENT
    ));
    record.decision = Some(format!(
        "roll back to {}: {because}, and the environment ends all-old (on_partial: rollback)",
        release_text(Some(&target))
    ));
    deps.printer.step(&format!(
        "{}: rollback to {} because {because}",
        svc.label(),
        release_text(Some(&target))
    ));
    let req = rollback_request(svc, &target.image);
    redeploy(deps, svc, &req, &target, &mut record, "rollback").await;
    record
}

/// Deploys `target` and gates it; fills the record's result, live release, steps and gates.
async fn redeploy(
    deps: &Deps<'_>,
    svc: &Service,
    req: &DeployRequest,
    target: &ReleaseRef,
    record: &mut ServiceRecord,
    step_name: &str,
) {
    let started = Instant::now();
    let started_at = crate::timefmt::now();
    let printer = deps.printer;
    let mut on_line = |line: OutputLine<'_>| relay(printer, line);
    (deps.group)(Some(&format!("flyctl deploy {} (rollback)", svc.app)));
    let call_stop = deps.stop.child();
    let outcome = deps.platform.deploy(req, &mut on_line, &call_stop).await;
    (deps.group)(None);
    record.flyctl.push(outcome.argv.clone());
    record
        .actions
        .push(format!("ran `{}`", outcome.argv.join(" ")));
    let call_ok = outcome.succeeded();
    record.steps.push(StepRecord {
        name: step_name.to_owned(),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        ok: call_ok,
        detail: outcome
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    });
    if !call_ok && deps.stop.is_stopped() {
        // Cancelled while flyctl put the target back: not a failed rollback. What runs is
        // whatever the call had reached; the last line offers the rollback again.
        super::cancel::mark_cancelled(deps, record);
        record.live = super::cancel::live_look(deps, svc).await;
        return;
    }
    if !call_ok {
        let why = outcome
            .error
            .as_ref()
            .map_or_else(|| "flyctl failed".to_owned(), ToString::to_string);
        record
            .issues
            .push(format!("the rollback deploy failed: {why}"));
        record.result = ServiceResult::RollbackFailed;
        deps.printer.error(&format!(
            "{}: the rollback deploy failed: {why}",
            svc.label()
        ));
        deps.printer.error(&format!(
            "{}: a human must act now; try `shipit rollback {}{}`",
            svc.label(),
            svc.app,
            target
                .version
                .map(|v| format!(" --to {v}"))
                .unwrap_or_default()
        ));
        return;
    }
    let started = Instant::now();
    let started_at = crate::timefmt::now();
    let report = health_gate_report(deps, svc).await;
    record
        .gates
        .push(report.gate_record(&format!("{step_name} health"), &svc.health));
    record.steps.push(StepRecord {
        name: format!("{step_name} health gate"),
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        ok: report.opened,
        detail: report.reason.clone(),
    });
    let live = ReleaseRef {
        version: outcome
            .release
            .as_ref()
            .map(|r| r.version)
            .or(target.version),
        image: target.image.clone(),
    };
    if report.cancelled {
        // Stopped before the gate had a verdict: the target is deployed but not proven, which
        // is neither a rollback that worked nor one that failed (no `needs_human`).
        super::cancel::mark_cancelled(deps, record);
        deps.printer.warn(&format!(
            "{}: cancelled during the {step_name} health gate: {} is deployed, its health not yet proven",
            svc.label(),
            release_text(Some(&live)),
        ));
        record.live = Some(live);
        return;
    }
    if report.opened {
        record.result = ServiceResult::RolledBack;
        record.actions.push(format!(
            "rolled back to {} and it passed the health gate",
            release_text(Some(target))
        ));
        deps.printer.success(&format!(
            "{}: {} is live again and healthy",
            svc.label(),
            release_text(Some(target))
        ));
    } else {
        record.result = ServiceResult::RollbackFailed;
        record.issues.push(format!(
            "after the rollback the app is still unhealthy: {}",
            report.reason
        ));
        deps.printer.error(&format!(
            "{}: rolled back to {} but it is unhealthy too ({}): a human must act now",
            svc.label(),
            release_text(Some(target)),
            report.reason
        ));
    }
    record.live = Some(live);
}

/// The release `shipit rollback` puts back, why, and the newer releases it passed over.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetChoice {
    pub target: Release,
    /// Why this one: `the newest complete release older than v5 ...`, or `asked for with --to`.
    pub why: String,
    /// Releases passed over on the way, newest first, each with why.
    pub skipped: Vec<Skipped>,
    /// Said before a release asked for with `--to` is deployed although the record rejects it.
    pub warning: Option<String>,
}

/// A release the default target passed over.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    pub version: u64,
    pub image: String,
    pub why: String,
}

/// The target of `shipit rollback`. With `to`, that release (a warning when the record rejects
/// its image). Without, the newest release older than the current one with status `complete`,
/// an image, an image different from what the machines run now, and an image shipit's record
/// does not reject (`rejected` says why it does: it failed a gate or was rolled back).
pub fn choose_rollback_target(
    releases: &[Release],
    current_version: Option<u64>,
    current_image: Option<&str>,
    to: Option<u64>,
    rejected: &dyn Fn(&str) -> Option<String>,
) -> Result<TargetChoice, String> {
    if let Some(v) = to {
        let r = releases.iter().find(|r| r.version == v).ok_or_else(|| {
            let known: Vec<String> = releases
                .iter()
                .take(10)
                .map(|r| format!("v{}", r.version))
                .collect();
            format!(
                "there is no release v{v} (recent releases: {})",
                known.join(", ")
            )
        })?;
        if r.image.trim().is_empty() {
            return Err(format!(
                "release v{v} has no image reference, so it cannot be deployed again"
            ));
        }
        return Ok(TargetChoice {
            target: r.clone(),
            why: "asked for with --to".into(),
            skipped: Vec::new(),
            warning: rejected(&r.image).map(|why| {
                format!("v{v}'s image {why}; deploying it because --to {v} asks for it")
            }),
        });
    }
    let newest = current_version
        .or_else(|| releases.iter().map(|r| r.version).max())
        .unwrap_or(0);
    let mut older: Vec<&Release> = releases.iter().filter(|r| r.version < newest).collect();
    older.sort_by_key(|r| std::cmp::Reverse(r.version));
    let mut skipped = Vec::new();
    for r in older {
        let why = if r.status != "complete" {
            Some(format!("its status is {}", r.status))
        } else if r.image.trim().is_empty() {
            Some("it has no image reference".to_owned())
        } else if current_image.is_some_and(|c| r.image == c) {
            Some("it runs the image the machines run now".to_owned())
        } else {
            rejected(&r.image).map(|why| format!("its image {why}"))
        };
        match why {
            Some(why) => skipped.push(Skipped {
                version: r.version,
                image: r.image.clone(),
                why,
            }),
            None => {
                return Ok(TargetChoice {
                    target: r.clone(),
                    why: format!(
                        "the newest complete release older than v{newest} with another image that shipit's record does not reject"
                    ),
                    skipped,
                    warning: None,
                });
            }
        }
    }
    let passed_over = if skipped.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = skipped
            .iter()
            .map(|s| format!("v{}: {}", s.version, s.why))
            .collect();
        format!(" (skipped {})", list.join("; "))
    };
    Err(format!(
        "there is no complete release older than v{newest} with another image that shipit's record does not reject{passed_over}"
    ))
}

/// `shipit rollback`: puts `target` back and gates it. Ends as `Succeeded` or `RollbackFailed`.
pub async fn rollback_service(
    deps: &Deps<'_>,
    svc: &Service,
    from: Option<ReleaseRef>,
    choice: &TargetChoice,
) -> ServiceRecord {
    let target = &choice.target;
    let mut record = ServiceRecord::new(&svc.env, &svc.name, &svc.app, svc.url.shown());
    record.from = from;
    let to = ReleaseRef {
        version: Some(target.version),
        image: target.image.clone(),
    };
    record.to = Some(to.clone());
    record.decision = Some(format!(
        "roll back to {} on request: {}",
        release_text(Some(&to)),
        choice.why
    ));
    for s in &choice.skipped {
        record
            .actions
            .push(format!("skipped v{} ({}): {}", s.version, s.image, s.why));
    }
    record.warnings.extend(choice.warning.clone());
    deps.printer.step(&format!(
        "{}: rollback to {}",
        svc.label(),
        release_text(Some(&to))
    ));
    deps.stop.set_standing(
        &svc.app,
        format!(
            "{}: the rollback to {} may be half done; to finish it, run: {}",
            svc.app,
            release_text(Some(&to)),
            super::cancel::rollback_command(&svc.app, &to)
        ),
    );
    let req = rollback_request(svc, &to.image);
    redeploy(deps, svc, &req, &to, &mut record, "rollback").await;
    if record.result == ServiceResult::RolledBack {
        // Asked for and done: for a manual rollback that is success.
        record.result = ServiceResult::Succeeded;
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(version: u64, status: &str, image: &str) -> Release {
        Release::for_test(version, status, image)
    }

    #[test]
    fn default_target_skips_failed_releases_and_the_running_image() {
        let releases = [
            rel(5, "failed", "i5"),
            rel(4, "complete", "i3"),
            rel(3, "complete", "i3"),
            rel(2, "complete", "i2"),
        ];
        let none = |_: &str| None;
        let t = choose_rollback_target(&releases, Some(4), Some("i3"), None, &none).unwrap();
        assert_eq!(t.target.version, 2);
        assert_eq!(
            t.skipped.len(),
            1,
            "v3 runs the current image: {:?}",
            t.skipped
        );
        assert!(choose_rollback_target(&releases[..1], Some(5), Some("i5"), None, &none).is_err());
        assert_eq!(
            choose_rollback_target(&releases, Some(4), Some("i3"), Some(3), &none)
                .unwrap()
                .target
                .version,
            3
        );
        assert!(
            choose_rollback_target(&releases, None, None, Some(9), &none)
                .unwrap_err()
                .contains("no release v9")
        );
        assert!(
            choose_rollback_target(&[rel(1, "complete", "")], None, None, Some(1), &none).is_err()
        );
    }

    #[test]
    fn default_target_skips_images_the_record_rejects() {
        // After an automatic rollback: v5 put i3 back, v4 (i4) failed its gates yet is `complete`.
        let releases = [
            rel(5, "complete", "i3"),
            rel(4, "complete", "i4"),
            rel(3, "complete", "i3"),
            rel(2, "complete", "i2"),
        ];
        let rejected =
            |image: &str| (image == "i4").then(|| "failed the health gate in run r1".to_owned());
        let t = choose_rollback_target(&releases, Some(5), Some("i3"), None, &rejected).unwrap();
        assert_eq!(t.target.version, 2);
        let skipped: Vec<u64> = t.skipped.iter().map(|s| s.version).collect();
        assert_eq!(skipped, [4, 3]);
        assert!(
            t.skipped[0].why.contains("failed the health gate"),
            "{:?}",
            t.skipped
        );
        // Asked for by version, a rejected release is deployed with a warning.
        let asked =
            choose_rollback_target(&releases, Some(5), Some("i3"), Some(4), &rejected).unwrap();
        assert!(asked.warning.unwrap().contains("--to 4"));
        // Nothing left: the error names what it skipped.
        let err = choose_rollback_target(&releases[..3], Some(5), Some("i3"), None, &rejected)
            .unwrap_err();
        assert!(
            err.contains("v4: its image failed the health gate"),
            "{err}"
        );
    }
}
