//! The health gate: outside probes of the health URL every `interval` until `healthy_after`
//! passes in a row open it, or `unhealthy_after` failures in a row or the deadline fail it.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Gate, Judged, health_gate_report};
use crate::duration::format as dur;

pub(super) struct HealthGate;

impl Gate for HealthGate {
    fn name(&self) -> &'static str {
        "health gate"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        let svc = view.service();
        let health = &svc.health;
        let expect: Vec<&str> = health.expect.iter().map(|c| c.text.as_str()).collect();
        format!(
            "health gate: GET {} every {}, timeout {}; open after {} passes in a row, fail after {} failures in a row or at {}; expect {}",
            svc.health_url(),
            dur(health.interval),
            dur(health.timeout),
            health.healthy_after,
            health.unhealthy_after,
            dur(health.deadline),
            expect.join(", ")
        )
    }

    fn judge<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Option<Judged>> {
        Box::pin(async move {
            let report = health_gate_report(cx.deps, cx.svc()).await;
            let record = report.gate_record("health", &cx.svc().health);
            if report.opened && !report.cancelled && cx.st.record.decision.is_some() {
                // The fleet check went on although flyctl reported failure; this is why.
                let d = "go on: the app is healthy from outside although flyctl reported failure"
                    .to_owned();
                cx.st.record.warnings.push(d.clone());
                cx.st.record.decision = Some(d);
            }
            Some(Judged {
                record,
                failure: format!("health gate failed: {}", report.reason),
                cancelled: report.cancelled,
            })
        })
    }
}
