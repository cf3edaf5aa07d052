//! Deploy: the one `flyctl deploy` call, its output relayed, with the fleet watcher beside it: a
//! machine on the new release that stops and does not answer a pinned probe is a crash, and the
//! call is cut short instead of waiting out flyctl's `--wait-timeout`.

use super::deps::{Deps, Fut};
use super::plan::PlanView;
use super::stage::{Cx, Next, Stage, refusal, relay};
use crate::config::Service;
use crate::duration::format as dur;
use crate::platform::{DeployRequest, ErrorKind, Machine, OutputLine};
use crate::stop::Stop;

pub(super) struct Deploy;

impl Stage for Deploy {
    fn name(&self) -> &'static str {
        "deploy"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        format!(
            "deploy: {}   (FLY_EMIT_RELEASE_JSON=1, shipit timeout {})",
            crate::platform::flyctl_deploy_argv(&view.deploy_request()).join(" "),
            dur(view.service().deploy_timeout)
        )
    }

    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(async move {
            // After a canary passed, the rest of the fleet: every machine but the canaries.
            let req = match &cx.st.canary {
                Some(c) if c.passed => cx
                    .plan
                    .rest_request(&c.machines, cx.st.new_image.as_deref()),
                _ => cx.plan.request.clone(),
            };
            call(cx, &req).await
        })
    }

    fn changes_the_app(&self) -> bool {
        true
    }
}

/// One `flyctl deploy` call with the fleet watcher beside it: the argv and the action go into
/// the record, the outcome, the new image and version (as flyctl reported them) into the run.
/// `Continue` unless the run was cancelled or flyctl refused before changing anything.
pub(super) async fn call(cx: &mut Cx<'_>, req: &DeployRequest) -> Next {
    let deps = cx.deps;
    let svc = &cx.plan.service;
    let base_version = cx.st.base_version();
    let call_stop = deps.stop.child();
    let printer = deps.printer;
    let mut on_line = |line: OutputLine<'_>| relay(printer, line);
    (deps.group)(Some(&format!("flyctl deploy {}", svc.app)));
    let watcher = watch_fleet(deps, svc, base_version, &call_stop);
    let call = async {
        let outcome = deps.platform.deploy(req, &mut on_line, &call_stop).await;
        // Ends the fleet watcher; this stop is the call's own, not the run's.
        call_stop.trigger("the deploy call finished");
        outcome
    };
    let (outcome, crashed) = tokio::join!(call, watcher);
    (deps.group)(None);
    let st = &mut cx.st;
    st.record.flyctl.push(outcome.argv.clone());
    st.record
        .actions
        .push(format!("ran `{}`", outcome.argv.join(" ")));
    st.crashed = crashed;
    if deps.stop.is_stopped() {
        st.deploy = Some(outcome);
        return Next::Cancelled;
    }
    st.new_image = outcome
        .release
        .as_ref()
        .map(|r| r.image_ref.clone())
        .or_else(|| req.image.clone());
    st.new_version = outcome.release.as_ref().map(|r| r.version);
    if let Some(e) = &outcome.error
        && !outcome.stopped
    {
        let warn = format!("flyctl: {e}");
        deps.printer.warn(&warn);
        st.record.warnings.push(warn);
    }
    let failed_early = outcome.error.as_ref().filter(|e| {
        matches!(
            e.kind,
            ErrorKind::NotAuthenticated | ErrorKind::AppNotFound | ErrorKind::NotInstalled
        )
    });
    if let Some(e) = failed_early {
        let reason = refusal(e);
        st.deploy = Some(outcome);
        return Next::Refuse(reason);
    }
    st.deploy = Some(outcome);
    Next::Continue
}

/// While flyctl deploys, looks at the fleet every `fleet_poll`. A machine on the new release
/// that has stopped means the release crashed: flyctl would still wait out its whole
/// `--wait-timeout` (superfly/flyctl#2653), so the call is stopped and the pipeline moves on.
async fn watch_fleet(
    deps: &Deps<'_>,
    svc: &Service,
    base_version: u64,
    call_stop: &Stop,
) -> Option<String> {
    // Machines already confirmed alive: an autostopped machine that woke up for its probe.
    let mut woke: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            () = call_stop.stopped() => return None,
            () = deps.clock.sleep_boxed(deps.fleet_poll) => {}
        }
        let Ok(status) = deps.platform.status(&svc.app).await else {
            continue;
        };
        let down: Vec<&Machine> = status
            .machines
            .iter()
            .filter(|m| {
                m.release_version.is_some_and(|v| v > base_version)
                    && m.is_down()
                    && !woke.contains(&m.id)
            })
            .collect();
        for m in down {
            // Fly's autostop also stops idle machines. A probe pinned to the machine tells the two
            // apart: the proxy wakes an autostopped machine and it answers; a crashed one does not.
            let mut probe = crate::probe::ProbeSpec::health(&svc.health, &svc.health_url());
            probe.machine_id = Some(m.id.clone());
            let result = deps.prober.probe_boxed(&probe).await;
            // Judged as every gate judges a probe: an answer cut short is no answer.
            if crate::probe::gate::ProbeRecord::judge(
                std::time::Duration::ZERO,
                &result,
                &svc.health.expect,
            )
                .pass
            {
                deps.printer.debug(&format!(
                    "machine {} was {} and woke for a probe: not a crash",
                    m.id, m.state
                ));
                woke.push(m.id.clone());
                continue;
            }
            let reason = format!(
                "machine {} ({}) on the new release is {} and does not answer ({})",
                m.id,
                m.region,
                m.state,
                result.summary()
            );
            deps.printer
                .warn(&format!("{reason}: not waiting for flyctl's wait-timeout"));
            call_stop.trigger(&reason);
            return Some(reason);
        }
    }
}
