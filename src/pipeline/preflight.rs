//! Preflight: a token, the app, no release in progress, and what runs now (the baseline's
//! release and image, read from the machines). Refuses before any remote change.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Next, Stage, refusal};
use crate::baseline::Baseline;

pub(super) struct Preflight;

impl Stage for Preflight {
    fn name(&self) -> &'static str {
        "preflight"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        format!(
            "preflight: flyctl found, token present, {} exists, no release in progress",
            view.service().app
        )
    }

    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(run(cx))
    }
}

async fn run(cx: &mut Cx<'_>) -> Next {
    let p = cx.deps.platform;
    let app = cx.svc().app.clone();
    if !p.has_token() {
        return Next::Refuse(format!(
            "no Fly API token: set FLY_API_TOKEN (or FLY_ACCESS_TOKEN) for {}; this app was not changed",
            p.name()
        ));
    }
    let releases = match p.releases(&app).await {
        Ok(r) => r,
        Err(e) => return Next::Refuse(refusal(&e)),
    };
    if let Some(r) = releases.iter().find(|r| r.is_in_progress()) {
        return Next::Refuse(format!(
            "release v{} of {app} is still in progress (status `{}`): another deploy is running; this app was not changed",
            r.version, r.status
        ));
    }
    let status = match p.status(&app).await {
        Ok(s) => s,
        Err(e) => return Next::Refuse(refusal(&e)),
    };
    let baseline = Baseline::from_status(&status, &releases);
    if baseline.image.is_none() {
        cx.printer().warn(&format!(
            "{}: first deploy: no machine runs a release yet, so there is nothing to roll back to",
            cx.svc().label()
        ));
        cx.st
            .record
            .warnings
            .push("first deploy: no rollback target".into());
    }
    cx.st.baseline = Some(baseline);
    Next::Continue
}
