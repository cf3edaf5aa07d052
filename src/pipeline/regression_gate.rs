//! The regression gate: the new release's probe latency and error rate against the baseline's,
//! from the same number of probes (no metrics backend needed). When `metrics:` is configured it
//! also compares the share of 5xx answers Fly's proxy counted for the app
//! (`fly_app_http_responses_count`): the five minutes before the deploy call against the time
//! since it finished (at least the last minute). An endpoint that cannot be read is a warning,
//! never a failure.

use std::fmt::Write as _;

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Gate, Judged, sample};
use crate::duration::format as dur;
use crate::report::Verdict;

pub(super) struct RegressionGate;

impl Gate for RegressionGate {
    fn name(&self) -> &'static str {
        "regression gate"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        let r = &view.service().regression;
        let line = match r.p95_ratio {
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
        };
        match view.plan.metrics_5xx {
            Some(limit) => format!("{line}; {}", metrics_rule(limit)),
            None => line,
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
            let mut record =
                crate::probe::regression::evaluate(&base, &current, &cx.svc().regression);
            cx.st.record.latency.push(crate::report::LatencySample {
                what: "release".into(),
                at: crate::timefmt::now(),
                stats: current,
            });
            if let Some(limit) = cx.plan.metrics_5xx {
                compare_5xx(cx, limit, &mut record).await;
            }
            let failure = format!("regression gate failed: {}", record.observed);
            Some(Judged {
                record,
                failure,
                cancelled: false,
            })
        })
    }
}

/// `5xx share <= baseline's + 1.00% (Prometheus)`.
fn metrics_rule(limit: f64) -> String {
    format!("5xx share <= baseline's + {:.2}% (Prometheus)", limit * 100.0)
}

fn share(v: Option<f64>) -> String {
    v.map_or_else(|| "no traffic".to_owned(), |r| format!("{:.2}%", r * 100.0))
}

/// Adds the 5xx comparison to the probes' record: fails it when the new release's share is
/// more than `limit` above the baseline's; a read that fails or a window without traffic is
/// noted, and the probes' verdict stands.
async fn compare_5xx(cx: &mut Cx<'_>, limit: f64, record: &mut crate::report::GateRecord) {
    use std::time::{Duration, SystemTime};
    record.rule = format!("{}; {}", record.rule, metrics_rule(limit));
    let Some(source) = cx.deps.metrics else {
        record.observed.push_str("; 5xx share not compared: no metrics reader");
        return;
    };
    let deploy = cx.st.record.steps.iter().find(|s| s.name == "deploy");
    let Some((called, finished)) = deploy.and_then(|s| {
        let at = crate::timefmt::parse_rfc3339(&s.started_at)?;
        Some((at, at + Duration::from_millis(s.duration_ms)))
    }) else {
        record.observed.push_str("; 5xx share not compared: no deploy call recorded");
        return;
    };
    let app = cx.plan.service.app.clone();
    let since = SystemTime::now()
        .duration_since(finished)
        .unwrap_or(Duration::ZERO)
        .min(crate::metrics::RATE_WINDOW);
    let (before, after) = tokio::join!(
        crate::metrics::ratio_5xx(source, &app, crate::metrics::RATE_WINDOW, Some(called)),
        crate::metrics::ratio_5xx(source, &app, since, None)
    );
    match (before, after) {
        (Ok(before), Ok(after)) => {
            let _ = write!(
                record.observed,
                "; 5xx share {} before, {} since the deploy",
                share(before),
                share(after)
            );
            if let Some(now) = after
                && now > before.unwrap_or(0.0) + limit
            {
                record.verdict = Verdict::Fail;
                record.details.push(format!(
                    "Prometheus ({}): the 5xx share rose from {} to {}, more than {:.2}%",
                    source.describe(),
                    share(before),
                    share(after),
                    limit * 100.0
                ));
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            record.observed.push_str("; 5xx share not compared: metrics unreadable");
            if record.verdict == Verdict::Pass {
                record.verdict = Verdict::Warn;
            }
            cx.warn(format!(
                "{}: the regression gate could not read metrics: {e}",
                cx.plan.service.label()
            ));
        }
    }
}
