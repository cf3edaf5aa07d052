//! `shipit plan ENV`: every step a deploy would take, with the exact flyctl argv, the gates and
//! their thresholds, and the rollback target. Read-only calls only: it never deploys. The steps
//! come from the pipeline's own stage table and service plans (`pipeline::plan::describe`).

use crate::baseline::Baseline;
use crate::exit::Outcome;
use crate::pipeline::{PlanView, plan::describe};
use crate::platform::Platform as _;
use crate::settings::DeploySettings;

pub(crate) async fn run(ctx: &super::Ctx, s: DeploySettings) -> anyhow::Result<Outcome> {
    // Flags after `--` that flyctl deploy does not have, or that shipit owns: a usage error.
    if let Err(e) = s.flyctl_args() {
        super::report_error_text(ctx, &e);
        let (message, hint) = e.split_once("\nhint: ").unwrap_or((&e, ""));
        ctx.printer
            .json_error("usage", message, Some(hint).filter(|h| !h.is_empty()));
        return Ok(Outcome::Usage);
    }
    let config = ctx.config()?;
    let plans = s.service_plans(&config)?;
    let fly = ctx.fly();
    let printer = &ctx.printer;
    let mut shown = Vec::new();
    let mut blocked = false;
    printer.out(&format!(
        "plan: deploy {} ({}, in this order; nothing will be changed)",
        s.env,
        crate::report::counted(plans.len(), "service")
    ));
    for plan in &plans {
        let svc = &plan.service;
        let mut problems: Vec<String> = Vec::new();
        let mut hints: Vec<&'static str> = Vec::new();
        let mut target: Option<Baseline> = None;
        match &fly {
            Ok(fly) if fly.has_token() => {
                match (fly.releases(&svc.app).await, fly.status(&svc.app).await) {
                    (Ok(releases), Ok(status)) => {
                        if let Some(r) = releases.iter().find(|r| r.is_in_progress()) {
                            problems.push(format!("release v{} is still in progress", r.version));
                        }
                        target = Some(Baseline::from_status(&status, &releases));
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        problems.push(e.to_string());
                        hints.extend(e.hint());
                    }
                }
            }
            Ok(_) => {
                problems.push("no Fly API token: flyctl cannot be asked what runs now".into());
                hints.extend(
                    crate::platform::PlatformError {
                        kind: crate::platform::ErrorKind::NotAuthenticated,
                        command: String::new(),
                        message: String::new(),
                    }
                    .hint(),
                );
            }
            Err(e) => {
                problems.push(format!("{e:#}"));
                hints.extend(
                    e.chain()
                        .find_map(|c| c.downcast_ref::<crate::platform::PlatformError>())
                        .and_then(crate::platform::PlatformError::hint),
                );
            }
        }
        let view = PlanView {
            plan,
            target: target.as_ref().map(Baseline::release_ref),
            fleet: target.as_ref().map(|b| b.machines.clone()),
        };
        let mut steps = describe(&view);
        // Preflight is the first stage: when it would refuse, say so instead of its plan.
        if !problems.is_empty()
            && let Some(first) = steps.first_mut()
        {
            *first = format!("preflight: would refuse: {}", problems.join("; "));
        }
        printer.out(&format!("\n{}", svc.label()));
        for (i, step) in steps.iter().enumerate() {
            printer.out(&format!("  {}. {step}", i + 1));
        }
        for problem in &problems {
            printer.out(&format!("  ! preflight would refuse: {problem}"));
        }
        hints.dedup();
        for hint in &hints {
            printer.hint(hint);
        }
        blocked |= !problems.is_empty();
        let rollback_target = view.target.clone().flatten();
        shown.push(serde_json::json!({
            "env": svc.env, "service": svc.name, "app": svc.app,
            "flyctl_argv": crate::platform::flyctl_deploy_argv(&view.deploy_request()),
            "canary_argv": view.canary_split().map(|(canaries, _)| {
                crate::platform::flyctl_deploy_argv(&plan.only_request(&canaries))
            }),
            "rollback_target": rollback_target.map(|r| serde_json::json!({"version": r.version, "image": r.image})),
            "steps": steps, "problems": problems,
        }));
    }
    if printer.json_mode() {
        printer.json(&serde_json::json!({ "env": s.env, "services": shown }));
    }
    Ok(if blocked {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}
