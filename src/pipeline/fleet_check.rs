//! Fleet check: after the deploy call, every started machine must run the new release. flyctl's
//! exit code is evidence here, not the verdict: a failed call on an updated fleet goes on to the
//! outside probes, a failed call that touched no machine needs no rollback.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Next, Stage};
use crate::platform::Machine;
use crate::report::{ReleaseRef, Verdict};

pub(super) struct FleetCheck;

impl Stage for FleetCheck {
    fn name(&self) -> &'static str {
        "fleet check"
    }

    fn plan(&self, _view: &PlanView<'_>) -> String {
        "fleet check: every started machine runs the new image; Fly checks passing; a stopped new machine ends the wait early".into()
    }

    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(run(cx))
    }
}

async fn run(cx: &mut Cx<'_>) -> Next {
    let deps = cx.deps;
    let app = cx.svc().app.clone();
    let Some(outcome) = cx.st.deploy.clone() else {
        return Next::Fail("the deploy call left no outcome".into());
    };
    let base_image = cx.st.baseline.as_ref().and_then(|b| b.image.clone());
    let base_version = cx.st.base_version();
    let status = match deps.platform.status(&app).await {
        Ok(s) => s,
        Err(e) => return Next::Fail(format!("cannot see the fleet after the deploy: {e}")),
    };
    let started: Vec<&Machine> = status.machines.iter().filter(|m| m.is_started()).collect();
    let st = &mut cx.st;
    // The new image: what flyctl reported, else what machines on a newer release run.
    if st.new_image.is_none() {
        st.new_image = status
            .machines
            .iter()
            .filter(|m| m.release_version.unwrap_or(0) > base_version)
            .map(|m| m.image.clone())
            .next();
    }
    if st.new_version.is_none() {
        st.new_version = status
            .machines
            .iter()
            .filter_map(|m| m.release_version)
            .max()
            .filter(|v| Some(*v) > st.baseline.as_ref().and_then(|b| b.version));
    }
    let new_image = st.new_image.clone();
    st.record.to = new_image.as_ref().map(|i| ReleaseRef {
        version: st.new_version,
        image: i.clone(),
    });
    if let Some(i) = &new_image {
        (deps.output)("image", i);
        (deps.output)(
            "version",
            &st.new_version.map(|v| v.to_string()).unwrap_or_default(),
        );
    }
    // On the new release: runs the new image and, when the image did not change (a config-only
    // deploy of the running image), carries a newer release version than the baseline.
    let image_changed = new_image != base_image;
    let on_new = |m: &&Machine| {
        new_image.as_deref().is_some_and(|i| m.image == i)
            && (image_changed || m.release_version.is_some_and(|v| v > base_version))
    };
    let updated = status.machines.iter().filter(on_new).count();
    let total = status.machines.len();
    let flyctl_failed = !outcome.succeeded();
    let reason_flyctl = outcome
        .error
        .as_ref()
        .map_or_else(|| "flyctl failed".to_owned(), ToString::to_string);
    if let Some(crash) = cx.st.crashed.clone() {
        cx.record_gate(
            "fleet",
            "every started machine runs the new image and stays up",
            &crash,
            Verdict::Fail,
        );
        return Next::Fail(format!("the new release crashed: {crash}"));
    }
    // No machine moved: the fleet is the previous release, whole, whatever flyctl's exit code
    // says. Nothing to roll back (a redeploy would only risk it); exit 1, as after exit 1.
    if updated == 0 {
        cx.record_gate(
            "fleet",
            "every started machine runs the new image",
            &format!("0 of {total} machines updated"),
            Verdict::Fail,
        );
        return Next::FailUnchanged(if flyctl_failed {
            format!("the deploy failed before any machine was updated: {reason_flyctl}")
        } else {
            format!(
                "flyctl reported success but changed nothing: 0 of {total} machines run the new release"
            )
        });
    }
    // Started machines are the fleet that serves; when Fly's autostop has stopped them all, the
    // whole fleet is what must carry the new release (the outside probe wakes it).
    let judged: Vec<&Machine> = if started.is_empty() {
        status.machines.iter().collect()
    } else {
        started.clone()
    };
    let all_started_new = !judged.is_empty() && judged.iter().all(on_new);
    let checks_ok = started.iter().all(|m| m.checks_passing());
    let observed = format!(
        "{updated} of {total} machines on the new image, {} started, Fly checks {}",
        started.len(),
        if checks_ok { "passing" } else { "failing" }
    );
    if !all_started_new {
        cx.record_gate(
            "fleet",
            "every started machine runs the new image",
            &observed,
            Verdict::Fail,
        );
        let why = if flyctl_failed {
            format!("{reason_flyctl}; ")
        } else {
            String::new()
        };
        return Next::Fail(format!("{why}the fleet is half-updated: {observed}"));
    }
    let rule = "every started machine runs the new image; Fly checks passing";
    if checks_ok {
        cx.record_gate("fleet", rule, &observed, Verdict::Pass);
    } else {
        // Fly's own checks can lag; the outside probe is the verdict, so this is a warning.
        cx.warn(format!("Fly checks are not all passing yet: {observed}"));
        cx.record_gate("fleet", rule, &observed, Verdict::Warn);
    }
    if flyctl_failed {
        cx.st.record.decision = Some(format!(
            "go on: flyctl reported failure but the fleet is updated ({reason_flyctl}); the outside probes decide"
        ));
    }
    Next::Continue
}
