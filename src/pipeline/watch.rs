//! The watch window: after every gate passed, the health URL is probed every `interval` for
//! `watch`; `unhealthy_after` failures in a row still roll back. Off when `watch` is 0.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Next, Stage};
use crate::duration;
use crate::report::Verdict;

pub(super) struct Watch;

impl Stage for Watch {
    fn name(&self) -> &'static str {
        "watch"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        let watch = view.service().watch;
        if watch.is_zero() {
            "watch: off".into()
        } else {
            format!("watch: {}", duration::format(watch))
        }
    }

    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(run(cx))
    }
}

async fn run(cx: &mut Cx<'_>) -> Next {
    let deps = cx.deps;
    let plan = cx.plan;
    let svc = &plan.service;
    if svc.watch.is_zero() {
        return Next::Continue;
    }
    let url = svc.health_url();
    let spec = crate::probe::ProbeSpec {
        url: url.clone(),
        method: "GET".into(),
        headers: svc
            .health
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
            .collect(),
        body: None,
        timeout: svc.health.timeout,
        machine_id: None,
    };
    let start = deps.clock.now_offset();
    let (mut probes, mut failures_in_row, mut failures) = (0u32, 0u32, 0u32);
    let rule = format!(
        "healthy for {}: fewer than {} failures in a row, probing every {}",
        duration::format(svc.watch),
        svc.health.unhealthy_after,
        duration::format(svc.health.interval)
    );
    while deps.clock.now_offset().saturating_sub(start) < svc.watch {
        let result = deps.prober.probe_boxed(&spec).await;
        probes += 1;
        let failed: Vec<String> = svc
            .health
            .expect
            .iter()
            .filter_map(|c| {
                let o = c.evaluate(&result);
                (!o.pass).then_some(o.display)
            })
            .collect();
        if failed.is_empty() {
            failures_in_row = 0;
        } else {
            failures_in_row += 1;
            failures += 1;
            deps.printer.warn(&format!(
                "{} watch probe {probes}: {}",
                svc.label(),
                failed.join(", ")
            ));
        }
        if failures_in_row >= svc.health.unhealthy_after {
            let observed = format!(
                "{failures_in_row} failures in a row after {probes} probes: {}",
                failed.join(", ")
            );
            cx.record_gate("watch", &rule, &observed, Verdict::Fail);
            cx.st.record.decision = Some(format!(
                "roll back: failed during the watch window: {observed}"
            ));
            return Next::Fail(format!("failed during the watch window: {observed}"));
        }
        tokio::select! {
            () = deps.stop.stopped() => return Next::Cancelled,
            () = deps.clock.sleep_boxed(svc.health.interval) => {}
        }
    }
    cx.record_gate(
        "watch",
        &rule,
        &format!("{probes} probes, {failures} failed"),
        Verdict::Pass,
    );
    Next::Continue
}
