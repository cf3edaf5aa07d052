//! The watch window (`watch:` in shipit.yml, or `deploy --watch DUR`): after every gate passed,
//! the monitoring window of `shipit watch` on the new release, every health `interval`. Each
//! pass is one check of the app (`monitor::assess`: machines, Fly checks, machine events, the
//! logs since the deploy call, the health probe, with `metrics:` the 5xx share and memory),
//! judged by `monitor:`. A critical finding fails the window and rolls back like any failed
//! gate, except that the health probe must fail `unhealthy_after` times in a row, so one lost
//! probe is not a rollback and a failing condition still is: the probe is judged by
//! `ProbeRecord::judge` and counted by the health gate's own streak (`Gate::failure_streak`),
//! never a copy. Other findings are kept as warnings. Off when `watch` is 0.

use std::time::{Duration, SystemTime};

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Next, Stage};
use crate::duration;
use crate::monitor::Level;
use crate::monitor::Finding;
use crate::monitor::assess::{Inputs, assess};
use crate::probe::gate::{Gate, GateState, ProbeRecord};
use crate::report::Verdict;

/// How long one pass waits for `flyctl logs --no-tail` (it never returns on an empty buffer).
const LOG_WAIT: Duration = crate::monitor::check::LOG_WAIT;

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
            format!(
                "watch: {}, a check every {}; a critical finding rolls back",
                duration::format(watch),
                duration::format(view.service().health.interval)
            )
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
    let spec = crate::probe::ProbeSpec::health(&svc.health, &svc.health_url());
    let scanner = svc.logs.scanner();
    // Logs and machine events count from the deploy call on: what the old release logged is not
    // the new release's finding.
    let deploy_called = cx
        .st
        .record
        .steps
        .iter()
        .find(|s| s.name == "deploy")
        .and_then(|s| crate::timefmt::parse_rfc3339(&s.started_at));
    let start = deps.clock.now_offset();
    let mut passes = 0u32;
    let mut streak = Gate::failure_streak(svc.health.unhealthy_after);
    let mut seen: Vec<String> = Vec::new();
    let rule = format!(
        "{} of checks every {}: no critical finding, health not failing {} times in a row",
        duration::format(svc.watch),
        duration::format(svc.health.interval),
        svc.health.unhealthy_after
    );
    while deps.clock.now_offset().saturating_sub(start) < svc.watch {
        let now = SystemTime::now();
        let mut policy = plan.monitor.clone();
        policy.logs_window = deploy_called
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_secs(1));
        // A pass waits for flyctl's logs (up to LOG_WAIT): a stop ends the window at once.
        let pass = async {
            tokio::join!(
                deps.platform.status(&svc.app),
                deps.platform.logs(&svc.app, LOG_WAIT),
                deps.prober.probe_boxed(&spec),
                async {
                    match deps.metrics {
                        Some(m) => Some(crate::metrics::app_now(m, &svc.app).await),
                        None => None,
                    }
                }
            )
        };
        let (status, logs, probe, metrics) = tokio::select! {
            () = deps.stop.stopped() => return Next::Cancelled,
            answers = pass => answers,
        };
        passes += 1;
        // The probe is judged as the health gate judges it (an answer cut short fails) and
        // counted by the gate's own streak: `unhealthy_after` failures in a row fail the window.
        let at = deps.clock.now_offset().saturating_sub(start);
        let judged = ProbeRecord::judge(at, &probe, &svc.health.expect);
        let streak_failed = matches!(
            streak.observe(at, judged.pass, &judged.failed),
            GateState::Failed(_)
        );
        let observed = assess(&Inputs {
            app: &svc.app,
            status: status.as_ref(),
            logs: Some(logs.as_ref().map(Vec::as_slice)),
            probe: Some((&probe, svc.health.expect.as_slice())),
            metrics,
            scanner: &scanner,
            policy: &policy,
            now,
        });
        let probe_rule = |r: &str| r == "down" || r == "health_failing";
        let critical = if streak_failed {
            Some(
                observed
                    .findings
                    .iter()
                    .find(|f| probe_rule(&f.rule))
                    .map_or_else(
                        || {
                            format!(
                                "health_failing after {passes} check(s): {}",
                                judged.line()
                            )
                        },
                        |f| finding_text(f, passes),
                    ),
            )
        } else {
            observed
                .findings
                .iter()
                .find(|f| !probe_rule(&f.rule) && f.level == Level::Critical)
                .map(|f| finding_text(f, passes))
        };
        if let Some(observed_text) = critical {
            cx.record_gate("watch", &rule, &observed_text, Verdict::Fail);
            cx.st.record.decision = Some(format!(
                "roll back: a critical finding during the watch window: {observed_text}"
            ));
            return Next::Fail(format!(
                "a critical finding during the watch window: {observed_text}"
            ));
        }
        for f in &observed.findings {
            let line = format!("{} {}: {}", f.level, f.rule, f.summary);
            if !seen.contains(&line) {
                deps.printer.warn(&format!("{} watch: {line}", svc.label()));
                seen.push(line);
            }
        }
        tokio::select! {
            () = deps.stop.stopped() => return Next::Cancelled,
            () = deps.clock.sleep_boxed(svc.health.interval) => {}
        }
    }
    let verdict = if seen.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Warn
    };
    let observed_text = format!("{passes} check(s), {} other finding(s)", seen.len());
    cx.record_gate("watch", &rule, &observed_text, verdict);
    cx.st.record.warnings.extend(
        seen.into_iter()
            .map(|l| format!("{} watch: {l}", svc.label())),
    );
    Next::Continue
}

/// A finding as the window's verdict says it: `down after 3 check(s): ... (evidence)`.
fn finding_text(f: &Finding, passes: u32) -> String {
    format!(
        "{} after {passes} check(s): {}{}",
        f.rule,
        f.summary,
        f.evidence
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    )
}
