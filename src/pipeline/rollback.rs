//! The way back: `flyctl deploy --image <baseline image>` for the same app and config, then the
//! health gate on it. Used automatically after a failed gate and by `shipit rollback`.

use std::time::Instant;

use super::deps::Deps;
use super::plan::{PlanView, RollbackPolicy, ServicePlan, rollback_request};
use super::release_text;
use super::stage::{health_gate_report, relay};
use crate::config::Service;
use crate::platform::{OutputLine, Release};
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
            format!(
                "on failure: rollback: {}, then the health gate again (exit 3 healthy, 4 not)",
                argv.join(" ")
            )
        }
        (None, RollbackPolicy::Auto) => "on failure: no rollback target: exit 4".into(),
    }
}

/// After a failure past the deploy call: roll back when allowed and possible, and say what
/// runs now. Ends as `RolledBack` (exit 3) or `RollbackFailed` (exit 4).
pub(super) async fn after_failure(
    deps: &Deps<'_>,
    plan: &ServicePlan,
    mut record: ServiceRecord,
    target: Option<ReleaseRef>,
    reason: &str,
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
    record.decision = Some(format!(
        "roll back to {}: {reason}",
        release_text(Some(&target))
    ));
    deps.printer.step(&format!(
        "{}: rollback to {}",
        svc.label(),
        release_text(Some(&target))
    ));
    redeploy(deps, svc, &target, &mut record, "rollback").await;
    record
}

/// Deploys `target` and gates it; fills the record's result, live release, steps and gates.
async fn redeploy(
    deps: &Deps<'_>,
    svc: &Service,
    target: &ReleaseRef,
    record: &mut ServiceRecord,
    step_name: &str,
) {
    let started = Instant::now();
    let started_at = crate::timefmt::now();
    let req = rollback_request(svc, &target.image);
    let printer = deps.printer;
    let mut on_line = |line: OutputLine<'_>| relay(printer, line);
    (deps.group)(Some(&format!("flyctl deploy {} (rollback)", svc.app)));
    let call_stop = deps.stop.child();
    let outcome = deps.platform.deploy(&req, &mut on_line, &call_stop).await;
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

/// The default target of `shipit rollback`: the newest release older than the current one with
/// status `complete` and an image different from what the machines run now.
pub(crate) fn choose_rollback_target(
    releases: &[Release],
    current_version: Option<u64>,
    current_image: Option<&str>,
    to: Option<u64>,
) -> Result<Release, String> {
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
        return Ok(r.clone());
    }
    let newest = current_version
        .or_else(|| releases.iter().map(|r| r.version).max())
        .unwrap_or(0);
    releases
        .iter()
        .filter(|r| r.version < newest && r.status == "complete" && !r.image.trim().is_empty())
        .filter(|r| current_image.is_none_or(|c| r.image != c))
        .max_by_key(|r| r.version)
        .cloned()
        .ok_or_else(|| {
            format!(
                "there is no complete release older than v{newest} with another image to go back to"
            )
        })
}

/// `shipit rollback`: puts `target` back and gates it. Ends as `Succeeded` or `RollbackFailed`.
pub(crate) async fn rollback_service(
    deps: &Deps<'_>,
    svc: &Service,
    from: Option<ReleaseRef>,
    target: &Release,
) -> ServiceRecord {
    let mut record = ServiceRecord::new(&svc.env, &svc.name, &svc.app, svc.url.shown());
    record.from = from;
    let to = ReleaseRef {
        version: Some(target.version),
        image: target.image.clone(),
    };
    record.to = Some(to.clone());
    record.decision = Some(format!(
        "roll back to {} on request",
        release_text(Some(&to))
    ));
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
    redeploy(deps, svc, &to, &mut record, "rollback").await;
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
        let t = choose_rollback_target(&releases, Some(4), Some("i3"), None).unwrap();
        assert_eq!(t.version, 2);
        assert!(choose_rollback_target(&releases[..1], Some(5), Some("i5"), None).is_err());
        assert_eq!(
            choose_rollback_target(&releases, Some(4), Some("i3"), Some(3))
                .unwrap()
                .version,
            3
        );
        assert!(
            choose_rollback_target(&releases, None, None, Some(9))
                .unwrap_err()
                .contains("no release v9")
        );
        assert!(choose_rollback_target(&[rel(1, "complete", "")], None, None, Some(1)).is_err());
    }
}
