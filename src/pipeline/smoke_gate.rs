//! The smoke gate: the service's smoke suite (loaded with the plan, before any remote change)
//! against the new release; every check must pass.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Gate, Judged};

pub(super) struct SmokeGate;

impl Gate for SmokeGate {
    fn name(&self) -> &'static str {
        "smoke"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        match &view.service().smoke {
            Some(path) => format!("smoke: {}", path.display()),
            None => "smoke: none configured".into(),
        }
    }

    fn judge<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Option<Judged>> {
        Box::pin(async move {
            let deps = cx.deps;
            let svc = cx.svc();
            let Some(suite) = &cx.plan.smoke else {
                return Some(Judged::skipped(
                    "smoke",
                    "smoke suite passes",
                    "no smoke suite configured",
                ));
            };
            let report =
                crate::smoke::run(deps.prober, svc.url.as_str(), suite, deps.stop, deps.printer)
                    .await;
            if deps.stop.is_stopped() {
                return None;
            }
            let record = report.gate_record();
            let failure = format!("smoke failed: {}", record.observed);
            Some(Judged {
                record,
                failure,
                cancelled: false,
            })
        })
    }
}
