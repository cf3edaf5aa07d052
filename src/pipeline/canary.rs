//! Canary (`strategy: canary`, shipit's own): the new release goes to some machines only
//! (`flyctl deploy --only-machines`), then the canary and the machines still on the old release
//! are probed alternately over the same window, each probe pinned to its machine with
//! `Fly-Force-Instance-Id`, and judged side by side (`crate::canary`); a critical canary answer,
//! or `health.unhealthy_after` canary probes in a row failing a condition, decide at once. Pass: the deploy stage
//! updates the rest of the fleet (`--exclude-machines`) and the usual gates run. Fail: only the
//! canary machines go back (`rollback::after_failure` with the canary's machines). A fleet of one
//! machine (or a first deploy) has nothing to compare with: the plain pipeline runs, with a
//! notice. Without `strategy: canary` the stage does nothing.

use std::time::Duration;

use super::deps::{Deps, Fut};
use super::plan::PlanView;
use super::release_text;
use super::stage::{CanaryRun, Cx, Next, Stage};
use crate::baseline::MachineSummary;
use crate::canary::{CanaryReport, Outcome, Side, Verdict, Window, schedule};
use crate::config::Service;
use crate::canary::{CanarySpec, Inconclusive};
use crate::duration::format as dur;
use crate::probe::{ProbeResult, ProbeSpec};
use crate::report::{GateRecord, ReleaseRef};

pub(super) struct Canary;

impl Stage for Canary {
    fn name(&self) -> &'static str {
        "canary"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        plan(view)
    }

    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(run(cx))
    }
}

/// The machines that get the canary and the ones it is compared with: of the machines on the
/// baseline image, started ones first (in the order Fly lists them), `canary.machines` of them.
/// `Err` says why there is no canary (a first deploy, a fleet of one).
pub(crate) fn split(
    spec: &CanarySpec,
    machines: &[MachineSummary],
    image: Option<&str>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let Some(image) = image else {
        return Err("first deploy: no machine runs a release to compare a canary with".into());
    };
    let mut on_base: Vec<&MachineSummary> = machines.iter().filter(|m| m.image == image).collect();
    on_base.sort_by_key(|m| m.state != "started");
    let Some(count) = crate::canary::canary_count(spec, on_base.len()) else {
        return Err(format!(
            "a fleet of {} machine{} on the live release leaves nothing to compare a canary with",
            on_base.len(),
            if on_base.len() == 1 { "" } else { "s" }
        ));
    };
    let ids: Vec<String> = on_base.iter().map(|m| m.id.clone()).collect();
    let (canaries, others) = ids.split_at(count);
    Ok((canaries.to_vec(), others.to_vec()))
}

fn plan(view: &PlanView<'_>) -> String {
    let Some(spec) = &view.plan.canary else {
        return "canary: off (strategy is not canary)".into();
    };
    let window = format!(
        "probe canary and baseline machines alternately, pinned (Fly-Force-Instance-Id), {} every {} ({} per side), once more if inconclusive, then {}; fail on a critical canary answer, errors +{} (p < {}), or latency +{:.0} % (Mann-Whitney p < {}); pass: deploy the rest; fail: put only the canary back",
        dur(spec.duration),
        dur(spec.interval),
        spec.probes_per_side(),
        match spec.inconclusive {
            Inconclusive::Fail => "fail",
            Inconclusive::Pass => "pass",
        },
        percent(spec.max_error_rate_increase),
        spec.alpha,
        spec.max_latency_increase * 100.0,
        spec.alpha,
    );
    let target = view.target.as_ref().and_then(Option::as_ref);
    match (&view.fleet, target) {
        (Some(fleet), target) => {
            match split(spec, fleet, target.map(|t| t.image.as_str())) {
                Ok((canaries, _)) => {
                    let argv = crate::platform::flyctl_deploy_argv(
                        &view.plan.only_request(&canaries),
                    );
                    let back = target.map_or_else(String::new, |t| {
                        format!(
                            " ({})",
                            crate::platform::flyctl_deploy_argv(
                                &view.plan.rollback_only_request(&t.image, &canaries)
                            )
                            .join(" ")
                        )
                    });
                    format!(
                        "canary: {} of {} machines: {}; {window}{back}",
                        canaries.len(),
                        fleet.len(),
                        argv.join(" ")
                    )
                }
                Err(why) => format!("canary: {why}: the plain pipeline deploys every machine"),
            }
        }
        (None, _) => format!(
            "canary: the machines are chosen when the deploy starts (flyctl could not be asked); {window}"
        ),
    }
}

async fn run(cx: &mut Cx<'_>) -> Next {
    let Some(spec) = cx.plan.canary.clone() else {
        return Next::Continue;
    };
    let deps = cx.deps;
    let label = cx.svc().label();
    let Some(base) = cx.st.baseline.clone() else {
        return Next::Refuse("no baseline".into());
    };
    let (machines, others) = match split(&spec, &base.machines, base.image.as_deref()) {
        Ok(s) => s,
        Err(why) => {
            cx.warn(format!(
                "{label}: no canary: {why}; the plain pipeline deploys every machine"
            ));
            return Next::Continue;
        }
    };
    let run = CanaryRun {
        machines: machines.clone(),
        fleet: base.machines.len(),
        since: deps.clock.now_offset(),
        passed: false,
    };
    deps.printer.info(&format!(
        "canary: the new release goes to {} first, {}; compared with {}",
        machines.join(", "),
        run.share(),
        others.join(", ")
    ));
    cx.st.canary = Some(run);
    let req = cx.plan.only_request(&machines);
    match super::deploy::call(cx, &req).await {
        Next::Continue => {}
        other => return other,
    }
    if let Some(next) = check_canaries(cx, &machines, &others).await {
        return next;
    }
    let judged = window(deps, cx.svc(), &spec, &machines, &others).await;
    let Some((judgement, elapsed, extended)) = judged else {
        return Next::Cancelled;
    };
    let mut report = CanaryReport {
        machines: machines.clone(),
        baseline_machines: others.clone(),
        fleet: base.machines.len(),
        window_ms: elapsed.as_millis() as u64,
        extended,
        judgement,
        exposure_ms: None,
    };
    let verdict = report.judgement.verdict;
    let (gate_verdict, rule) = match verdict {
        Verdict::Pass => (crate::report::Verdict::Pass, report.judgement.rule.clone()),
        Verdict::Fail => (crate::report::Verdict::Fail, report.judgement.rule.clone()),
        Verdict::Inconclusive => match spec.inconclusive {
            Inconclusive::Pass => (
                crate::report::Verdict::Warn,
                format!(
                    "inconclusive twice ({}); `canary.inconclusive: pass`",
                    report.judgement.rule
                ),
            ),
            Inconclusive::Fail => (
                crate::report::Verdict::Fail,
                format!(
                    "inconclusive twice ({}); `canary.inconclusive: fail`",
                    report.judgement.rule
                ),
            ),
        },
    };
    report.judgement.rule.clone_from(&rule);
    let passed = gate_verdict != crate::report::Verdict::Fail;
    let exposure = deps
        .clock
        .now_offset()
        .saturating_sub(cx.st.canary.as_ref().map_or(Duration::ZERO, |c| c.since));
    if passed {
        report.exposure_ms = Some(exposure.as_millis() as u64);
    }
    cx.st.record.gates.push(GateRecord {
        name: "canary".into(),
        rule: format!(
            "canary against baseline over the same window: no critical answer, errors at most +{}, latency at most +{:.0} % (alpha {})",
            percent(spec.max_error_rate_increase),
            spec.max_latency_increase * 100.0,
            spec.alpha
        ),
        observed: rule.clone(),
        verdict: gate_verdict,
        details: report.lines(),
    });
    cx.st.record.canary = Some(report);
    if passed {
        if let Some(c) = &mut cx.st.canary {
            c.passed = true;
        }
        deps.printer.success(&format!(
            "{label}: canary passed: {rule}; deploying the other {} machine{}",
            others.len(),
            if others.len() == 1 { "" } else { "s" }
        ));
        Next::Continue
    } else {
        let failure = format!("canary failed: {rule}");
        cx.st.record.decision = Some(format!("put only the canary back: {failure}"));
        Next::Fail(failure)
    }
}

/// After the canary call: the canary machines run the new release and nothing else moved.
/// `None` to go on; otherwise where the run goes (the record's `to` is set either way).
async fn check_canaries(cx: &mut Cx<'_>, canaries: &[String], others: &[String]) -> Option<Next> {
    let deps = cx.deps;
    let app = cx.svc().app.clone();
    let base_version = cx.st.base_version();
    let base_image = cx.st.baseline.as_ref().and_then(|b| b.image.clone());
    let status = match deps.platform.status(&app).await {
        Ok(s) => s,
        Err(e) => {
            return Some(Next::Fail(format!(
                "cannot see the fleet after the canary deploy: {e}"
            )));
        }
    };
    let moved = |id: &String| {
        status.machines.iter().any(|m| {
            &m.id == id
                && (m.release_version.is_some_and(|v| v > base_version)
                    || base_image.as_deref().is_some_and(|i| m.image != i))
        })
    };
    let updated: Vec<&String> = canaries.iter().filter(|id| moved(id)).collect();
    let st = &mut cx.st;
    if st.new_image.is_none() {
        st.new_image = status
            .machines
            .iter()
            .find(|m| updated.contains(&&m.id))
            .map(|m| m.image.clone());
    }
    if st.new_version.is_none() {
        st.new_version = status
            .machines
            .iter()
            .filter(|m| updated.contains(&&m.id))
            .filter_map(|m| m.release_version)
            .max();
    }
    st.record.to = st.new_image.as_ref().map(|i| ReleaseRef {
        version: st.new_version,
        image: i.clone(),
    });
    if let Some(i) = st.new_image.clone() {
        (deps.output)("image", &i);
        (deps.output)(
            "version",
            &st.new_version.map(|v| v.to_string()).unwrap_or_default(),
        );
    }
    let flyctl = st
        .deploy
        .as_ref()
        .and_then(|o| o.error.as_ref())
        .map(ToString::to_string);
    let observed = format!(
        "{} of {} canary machines on the new release",
        updated.len(),
        canaries.len()
    );
    let rule = "every canary machine runs the new release; no other machine moved";
    if let Some(crash) = st.crashed.clone() {
        cx.record_gate(
            "canary fleet",
            rule,
            &crash,
            crate::report::Verdict::Fail,
        );
        return Some(Next::Fail(format!("the canary crashed: {crash}")));
    }
    if updated.is_empty() {
        cx.record_gate(
            "canary fleet",
            rule,
            &observed,
            crate::report::Verdict::Fail,
        );
        return Some(Next::FailUnchanged(match flyctl {
            Some(e) => format!("the canary deploy failed before any machine was updated: {e}"),
            None => format!(
                "flyctl reported success but changed nothing: 0 of {} canary machines run the new release",
                canaries.len()
            ),
        }));
    }
    let strays: Vec<&String> = others.iter().filter(|id| moved(id)).collect();
    if updated.len() < canaries.len() || !strays.is_empty() {
        let mut what = observed.clone();
        if !strays.is_empty() {
            let names: Vec<&str> = strays.iter().map(|s| s.as_str()).collect();
            what = format!("{what}, and {} outside the canary moved too", names.join(", "));
        }
        cx.record_gate("canary fleet", rule, &what, crate::report::Verdict::Fail);
        return Some(Next::Fail(format!("the canary deploy went wrong: {what}")));
    }
    cx.record_gate("canary fleet", rule, &observed, crate::report::Verdict::Pass);
    None
}

/// Probes the window, extends it once when inconclusive, and returns the judgement, how long
/// the probing took, and whether it was extended; `None` when the run's stop fired.
async fn window(
    deps: &Deps<'_>,
    svc: &Service,
    spec: &CanarySpec,
    canaries: &[String],
    others: &[String],
) -> Option<(crate::canary::Judgement, Duration, bool)> {
    let started = deps.clock.now_offset();
    let mut w = Window::default();
    let label = svc.label();
    deps.printer.info(&format!(
        "{label}: canary window: {} every {}, canary and baseline alternately",
        dur(spec.duration),
        dur(spec.interval)
    ));
    probe_window(deps, svc, spec, canaries, others, &mut w).await?;
    let mut judgement = w.judge(spec);
    let mut extended = false;
    if judgement.verdict == Verdict::Inconclusive {
        extended = true;
        deps.printer.info(&format!(
            "{label}: canary inconclusive ({}); extending the window once by {}",
            judgement.rule,
            dur(spec.duration)
        ));
        probe_window(deps, svc, spec, canaries, others, &mut w).await?;
        judgement = w.judge(spec);
    }
    Some((
        judgement,
        deps.clock.now_offset().saturating_sub(started),
        extended,
    ))
}

/// One window: `duration / interval` probes, one every `interval` (back to back when answers
/// are slower than that), alternating canary and baseline and cycling through each side's
/// machines. A critical canary answer ends it at once. `None` when the run's stop fired.
async fn probe_window(
    deps: &Deps<'_>,
    svc: &Service,
    spec: &CanarySpec,
    canaries: &[String],
    others: &[String],
    w: &mut Window,
) -> Option<()> {
    let start = deps.clock.now_offset();
    let total = spec.duration.as_nanos() / spec.interval.as_nanos().max(1);
    let base = ProbeSpec::health(&svc.health, &svc.health_url());
    // Canary probes in a row that failed a condition: the health gate's own streak, over its
    // `unhealthy_after`.
    let mut streak = crate::probe::gate::Gate::failure_streak(svc.health.unhealthy_after);
    for (k, (side, id)) in schedule(canaries, others).enumerate() {
        if k as u128 >= total {
            break;
        }
        let due = start + spec.interval * k as u32;
        let wait = due.saturating_sub(deps.clock.now_offset());
        if !wait.is_zero() {
            tokio::select! {
                () = deps.stop.stopped() => return None,
                () = deps.clock.sleep_boxed(wait) => {}
            }
        }
        if deps.stop.is_stopped() {
            return None;
        }
        let mut probe = base.clone();
        probe.machine_id = Some(id.to_owned());
        let result = tokio::select! {
            () = deps.stop.stopped() => return None,
            r = deps.prober.probe_boxed(&probe) => r,
        };
        let (outcome, described) = outcome(svc, id, &result);
        if w.record(side, &outcome, &described) {
            deps.printer.warn(&format!(
                "{}: critical canary answer: {described}",
                svc.label()
            ));
            return Some(());
        }
        if side == Side::Canary {
            let at = deps.clock.now_offset().saturating_sub(start);
            let state = streak.observe(at, outcome.pass, &[]).clone();
            if !outcome.pass {
                deps.printer.debug(&format!("canary probe failed: {described}"));
            }
            if let crate::probe::gate::GateState::Failed(_) = state {
                let what = format!("{} times in a row (last: {described})", streak.failures());
                deps.printer.warn(&format!(
                    "{}: the canary failed its health conditions {what}",
                    svc.label()
                ));
                w.unhealthy = Some(what);
                return Some(());
            }
        }
    }
    Some(())
}

/// One pinned probe as the judgement sees it: its latency when answered, whether every health
/// condition held, whether it was critical (no answer or a 5xx), and the words for it.
fn outcome(svc: &Service, machine: &str, r: &ProbeResult) -> (Outcome, String) {
    // Judged as the health gate judges a probe: an answer cut short fails.
    let judged = crate::probe::gate::ProbeRecord::judge(Duration::ZERO, r, &svc.health.expect);
    // The error is in the summary already.
    let failed: Vec<&str> = judged
        .failed
        .iter()
        .map(String::as_str)
        .filter(|f| Some(*f) != r.error.as_deref())
        .collect();
    let critical = !r.connected || r.status.is_none_or(|s| s >= 500);
    let o = Outcome {
        latency_ms: r
            .status
            .map(|_| r.latency.as_secs_f64() * 1000.0),
        pass: judged.pass && !critical,
        critical,
    };
    let described = if failed.is_empty() {
        format!("machine {machine}: {}", r.summary())
    } else {
        format!("machine {machine}: {} ({})", r.summary(), failed.join(", "))
    };
    (o, described)
}

/// After a failed canary was put back: how much of the fleet had the release and how long.
pub(super) fn exposure_line(run: &CanaryRun, for_how_long: Duration, new: Option<&ReleaseRef>) -> String {
    format!(
        "{} reached only {} for {}",
        release_text(new),
        run.share(),
        dur(for_how_long)
    )
}

fn percent(x: f64) -> String {
    let text = format!("{:.2}", x * 100.0);
    format!("{} %", text.trim_end_matches('0').trim_end_matches('.'))
}
