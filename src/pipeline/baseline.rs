//! Baseline: the live release's figures (N outside probes) and the rollback target, which is
//! written through the state seam and published as step outputs before the first remote change.

use super::deps::Fut;
use super::plan::PlanView;
use super::release_text;
use super::stage::{Cx, Next, Stage};
use crate::report::ReleaseRef;

pub(super) struct BaselineStage;

impl Stage for BaselineStage {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        let svc = view.service();
        let all_failing = if view.plan.force_unhealthy_baseline {
            "only a warning (--force-unhealthy-baseline)"
        } else {
            "a refusal"
        };
        format!(
            "baseline: record what runs now and {} probes of {} (all failing: {all_failing}); rollback target: {}",
            svc.regression.probes,
            svc.health_url(),
            view.target_text()
        )
    }

    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(run(cx))
    }
}

async fn run(cx: &mut Cx<'_>) -> Next {
    let Some(mut base) = cx.st.baseline.take() else {
        return Next::Refuse("no baseline".into());
    };
    let deps = cx.deps;
    let plan = cx.plan;
    let svc = &plan.service;
    base.env = svc.env.clone();
    base.service = svc.name.clone();
    if let Some(image) = base.image.clone() {
        cx.st.record.from = Some(ReleaseRef {
            version: base.version,
            image: image.clone(),
        });
        let records = crate::probe::gate::sample(
            deps.prober,
            deps.clock,
            &svc.health,
            &svc.health_url(),
            svc.regression.probes,
            deps.stop,
        )
        .await;
        let stats = crate::probe::stats::LatencyStats::from_records(&records);
        if stats.count > 0 && stats.failures == stats.count && !deps.stop.is_stopped() {
            // Down before shipit touched it: a deploy could only be judged against, and rolled
            // back to, a release that does not work. Refused unless the operator says otherwise.
            let last = records
                .iter()
                .rev()
                .find_map(|r| r.error.clone().or_else(|| r.failed.first().cloned()))
                .unwrap_or_default();
            let what = format!(
                "the live release {} already fails all {} baseline probes of {} (last: {last})",
                release_text(cx.st.record.from.as_ref()),
                stats.count,
                svc.health_url()
            );
            if !plan.force_unhealthy_baseline {
                return Next::Refuse(format!(
                    "preflight refused: {what}: the app is already down; nothing was deployed\nhint: bring the live release back first (`shipit health {}` shows what it answers), or deploy anyway with --force-unhealthy-baseline",
                    svc.app
                ));
            }
            cx.warn(format!(
                "{}: {what}; deploying anyway (--force-unhealthy-baseline)",
                svc.label()
            ));
        } else if stats.error_rate > 0.0 {
            deps.printer.warn(&format!(
                "{}: the live release already fails {} of {} probes",
                svc.label(),
                stats.failures,
                stats.count
            ));
        }
        base.figures = Some(stats.clone());
        cx.st.record.latency.push(crate::report::LatencySample {
            what: "baseline".into(),
            at: crate::timefmt::now(),
            stats: stats.clone(),
        });
        cx.st.baseline_stats = Some(stats);
        (deps.output)(
            "previous_version",
            &base.version.map(|v| v.to_string()).unwrap_or_default(),
        );
        (deps.output)("previous_image", &image);
    }
    // The rollback target is recorded before the first remote change.
    match deps.state.put_target(&base).await {
        Ok(place) => {
            deps.printer.info(&format!(
                "rollback target: {} (written to {place})",
                release_text(cx.st.record.from.as_ref()),
            ));
            cx.st
                .record
                .actions
                .push(format!("recorded the rollback target in {place}"));
        }
        Err(e) => {
            return Next::Refuse(format!(
                "cannot write the rollback target: {e:#}; this app was not changed"
            ));
        }
    }
    cx.st.baseline = Some(base);
    Next::Continue
}
