//! The deploy pipeline: the stage table below, walked in order for one service.
//!
//! ```text
//! preflight -> baseline -> deploy -> fleet check -> health gate -> regression gate -> smoke -> watch -> done
//!                              \___________ any failure ___________/                     /
//!                                               -> rollback -> health gate (baseline image) -> exit 3 | 4
//! ```
//!
//! Each stage is one file and one line of [`STAGES`]; gates share one shape (`stage::Gate`).
//! It does no I/O of its own: it runs on the seams in [`Deps`], so every path, rollback
//! included, runs in unit tests without a network or flyctl. What it saw and decided goes into a
//! [`ServiceRecord`]. `shipit plan` is derived from the same table ([`plan::describe`]).

mod cancel;
pub mod deps;
pub mod lock;
pub mod plan;
mod rollback;
mod stage;

use std::time::Instant;

use crate::report::{ReleaseRef, ServiceRecord, ServiceResult, StepRecord};

pub use deps::{
    ClockSeam, DatabaseSeam, Deps, GroupFn, LiveDatabase, OutputFn, PlatformSeam, ProberSeam,
    StateDir, TargetState,
};
pub use plan::{PlanView, RollbackPolicy, ServicePlan};
pub use rollback::{Skipped, TargetChoice, choose_rollback_target, rollback_service, undo_service};
use stage::{Cx, Next, RunState, Stage};

/// Declares each stage's file and lists the stages in the order a deploy walks them.
macro_rules! stages {
    ($($(#[$attr:meta])* $file:ident :: $stage:ident,)*) => {
        $($(#[$attr])* mod $file;)*
        /// The pipeline, in order. A failure anywhere after the deploy call leads to rollback.
        pub(crate) static STAGES: &[&dyn Stage] = &[$($(#[$attr])* &$file::$stage,)*];
    };
}

stages! {
    preflight::Preflight,
    migration_lint::MigrationLint,
    baseline::BaselineStage,
    canary::Canary,
    deploy::Deploy,
    fleet_check::FleetCheck,
    health_gate::HealthGate,
    regression_gate::RegressionGate,
    smoke_gate::SmokeGate,
    database_gate::DatabaseGate,
    #[cfg(shipit_noop_gate)] noop_gate::NoopGate,
    watch::Watch,
}

/// Deploys one service through every stage; rolls back on failure when allowed.
pub async fn deploy_service(deps: &Deps<'_>, plan: &ServicePlan) -> ServiceRecord {
    let svc = &plan.service;
    let mut cx = Cx {
        deps,
        plan,
        st: RunState::new(svc),
    };
    for stage in STAGES {
        if deps.stop.is_stopped() {
            return cancel::cancelled(cx).await;
        }
        deps.stop
            .set_standing(&svc.app, standing(&cx.st.record, stage.changes_the_app()));
        deps.printer
            .step(&format!("{}: {}", svc.label(), stage.name()));
        let started = Instant::now();
        let started_at = crate::timefmt::now();
        let next = stage.run(&mut cx).await;
        // A stage that ended in a refusal because the run was stopped (a flyctl query cut
        // short by SIGINT) was cancelled, not refused: exit 130 and the cancelled record.
        let next = match next {
            Next::Refuse(_) | Next::FailUnchanged(_) if deps.stop.is_stopped() => Next::Cancelled,
            other => other,
        };
        let (ok, detail) = match &next {
            Next::Continue => (true, String::new()),
            Next::Refuse(r) | Next::Fail(r) | Next::FailUnchanged(r) => (false, r.clone()),
            Next::Cancelled => (false, "cancelled".to_owned()),
        };
        cx.st.record.steps.push(StepRecord {
            name: stage.name().to_owned(),
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            ok,
            detail,
        });
        let record = &mut cx.st.record;
        match next {
            Next::Continue => {}
            Next::Refuse(reason) => {
                deps.printer.error(&format!("{}: {reason}", svc.label()));
                record.result = ServiceResult::FailedBeforeChange;
                record.reason = Some(reason.clone());
                record.issues.push(reason);
                record.live = record.from.clone();
                return cx.st.record;
            }
            Next::FailUnchanged(reason) => {
                deps.printer.error(&format!("{}: {reason}", svc.label()));
                record.result = ServiceResult::FailedBeforeChange;
                record.decision = Some(
                    "no rollback needed: every machine still runs the previous release".into(),
                );
                record.reason = Some(reason.clone());
                record.issues.push(reason);
                record.live = record.from.clone();
                return cx.st.record;
            }
            Next::Fail(reason) => {
                deps.printer.error(&format!("{}: {reason}", svc.label()));
                record.issues.push(reason.clone());
                record.reason = Some(reason.clone());
                let target = cx
                    .st
                    .baseline
                    .as_ref()
                    .and_then(crate::baseline::Baseline::release_ref);
                let canary = cx.st.canary.clone();
                return rollback::after_failure(
                    deps,
                    plan,
                    cx.st.record,
                    target,
                    &reason,
                    canary.as_ref(),
                )
                .await;
            }
            Next::Cancelled => return cancel::cancelled(cx).await,
        }
    }
    let record = &mut cx.st.record;
    record.result = ServiceResult::Succeeded;
    record.live = record.to.clone();
    record
        .actions
        .push(format!("deployed {}", release_text(record.to.as_ref())));
    deps.printer.success(&format!(
        "{}: {} is live and passed every gate",
        svc.label(),
        release_text(record.to.as_ref())
    ));
    cx.st.record
}

/// Where a service stands if the run ended now with no time to look (a second Ctrl-C): before
/// the deploy call nothing changed; from it on, the way back is the rollback command.
fn standing(record: &ServiceRecord, changing: bool) -> String {
    let app = &record.app;
    if record.flyctl.is_empty() && !changing {
        let live = match &record.from {
            Some(from) => format!(", {} still live", release_text(Some(from))),
            None => String::new(),
        };
        return format!("{app}: nothing was changed{live}");
    }
    match &record.from {
        Some(from) => format!(
            "{app}: the deploy may have changed machines; to put {} back, run: {}",
            release_text(Some(from)),
            cancel::rollback_command(app, from)
        ),
        None => format!(
            "{app}: the first deploy may have changed machines; there is no earlier release to go back to"
        ),
    }
}

/// A release as the log says it: `report::Release`, the one wording (`v42 (image)`, the image
/// alone, or `unknown`).
pub(crate) fn release_text(r: Option<&ReleaseRef>) -> String {
    crate::report::Release(r).to_string()
}

#[cfg(test)]
mod tests;
