//! A gate that always passes, compiled only with `--cfg shipit_noop_gate`: the proof that adding
//! a gate is this one file and one line in `STAGES` (`scripts/check-gate-recipe` builds and tests
//! it). It is also the smallest example of the `Gate` shape.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Gate, Judged, gate_record};
use crate::report::Verdict;

pub(super) struct NoopGate;

impl Gate for NoopGate {
    fn name(&self) -> &'static str {
        "noop gate"
    }

    fn plan(&self, _view: &PlanView<'_>) -> String {
        "noop gate: always passes".into()
    }

    fn judge<'a>(&'a self, _cx: &'a mut Cx<'_>) -> Fut<'a, Option<Judged>> {
        Box::pin(async {
            Some(Judged {
                record: gate_record("noop", "always passes", "nothing to look at", Verdict::Pass),
                failure: String::new(),
                cancelled: false,
            })
        })
    }
}
