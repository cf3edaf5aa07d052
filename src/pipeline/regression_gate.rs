//! The regression gate: the new release's probe latency and error rate against the baseline's,
//! from the same number of probes (no metrics backend needed).

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Gate, Judged, sample};
use crate::duration::format as dur;

pub(super) struct RegressionGate;

impl Gate for RegressionGate {
    fn name(&self) -> &'static str {
        "regression gate"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        let r = &view.service().regression;
        match r.p95_ratio {
            Some(ratio) => format!(
                "regression gate: {} probes; p95 <= {ratio} x baseline p95 + {}; error rate <= {}",
                r.probes,
                dur(r.p95_slack),
                r.max_error_rate
            ),
            None => format!(
                "regression gate: {} probes; error rate <= {} (p95 comparison off)",
                r.probes, r.max_error_rate
            ),
        }
    }

    fn judge<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Option<Judged>> {
        Box::pin(async move {
            let Some(base) = cx.st.baseline_stats.clone() else {
                return Some(Judged::skipped(
                    "regression",
                    "compare with the baseline",
                    "no baseline (first deploy)",
                ));
            };
            let current = sample(cx.deps, cx.svc()).await;
            if cx.deps.stop.is_stopped() {
                return None;
            }
            let record = crate::probe::regression::evaluate(&base, &current, &cx.svc().regression);
            cx.st.record.latency.push(crate::report::LatencySample {
                what: "release".into(),
                at: crate::timefmt::now(),
                stats: current,
            });
            let failure = format!("regression gate failed: {}", record.observed);
            Some(Judged {
                record,
                failure,
                cancelled: false,
            })
        })
    }
}
