//! `shipit plan ENV`: every step a deploy would take, with the exact flyctl argv, the gates and
//! their thresholds, and the rollback target. Read-only calls only: it never deploys.

use crate::baseline::Baseline;
use crate::config::resolve;
use crate::duration::format as dur;
use crate::exit::Outcome;
use crate::pipeline::deploy_request;
use crate::platform::Platform;
use crate::settings::DeploySettings;

pub(crate) async fn run(ctx: &super::Ctx, s: DeploySettings) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services = resolve(&config, &s.env, s.service.as_deref())?;
    super::check_strategy(s.strategy.as_deref())?;
    let fly = ctx.fly();
    let printer = &ctx.printer;
    let mut plans = Vec::new();
    let mut blocked = false;
    printer.out(&format!(
        "plan: deploy {} ({} service(s), in this order; nothing will be changed)",
        s.env,
        services.len()
    ));
    for svc in &services {
        let req = deploy_request(svc, s.image.as_deref(), s.strategy.as_deref());
        let mut problems: Vec<String> = Vec::new();
        let mut hints: Vec<&'static str> = Vec::new();
        let mut target: Option<Baseline> = None;
        let argv = crate::platform::flyctl_deploy_argv(&req);
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
        let health = &svc.health;
        let rollback_target = target
            .as_ref()
            .and_then(|b| b.image.clone().map(|i| (b.version, i)));
        let target_text = match &rollback_target {
            Some((Some(v), i)) => format!("v{v} ({i})"),
            Some((None, i)) => i.clone(),
            None if target.is_some() => "none: first deploy, nothing to roll back to".into(),
            None => "unknown (flyctl could not be asked)".into(),
        };
        let expect: Vec<String> = health
            .expect
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let steps = vec![
            if problems.is_empty() {
                format!("preflight: flyctl found, token present, {} exists, no release in progress", svc.app)
            } else {
                format!("preflight: would refuse: {}", problems.join("; "))
            },
            format!("baseline: record what runs now and {} probes of {}; rollback target: {target_text}", svc.regression.probes, svc.health_url()),
            format!("deploy: {}   (FLY_EMIT_RELEASE_JSON=1, shipit timeout {})", argv.join(" "), dur(svc.deploy_timeout)),
            "fleet check: every started machine runs the new image; Fly checks passing; a stopped new machine ends the wait early".into(),
            format!(
                "health gate: GET {} every {}, timeout {}; open after {} passes in a row, fail after {} failures in a row or at {}; expect {}",
                svc.health_url(), dur(health.interval), dur(health.timeout), health.healthy_after, health.unhealthy_after, dur(health.deadline), expect.join(", ")
            ),
            match svc.regression.p95_ratio {
                Some(r) => format!("regression gate: {} probes; p95 <= {r} x baseline p95 + {}; error rate <= {}", svc.regression.probes, dur(svc.regression.p95_slack), svc.regression.max_error_rate),
                None => format!("regression gate: {} probes; error rate <= {} (p95 comparison off)", svc.regression.probes, svc.regression.max_error_rate),
            },
            match &svc.smoke {
                Some(path) => format!("smoke: {}", path.display()),
                None => "smoke: none configured".into(),
            },
            if svc.watch.is_zero() { "watch: off".into() } else { format!("watch: {}", dur(svc.watch)) },
            match (&rollback_target, svc.rollback && s.rollback) {
                (_, false) => "on failure: no rollback (rollback: off): exit 4".into(),
                (Some((_, image)), true) => {
                    let mut rollback_req = deploy_request(svc, Some(image), None);
                    rollback_req.skip_release_command = svc.skip_release_command_on_rollback;
                    let argv = crate::platform::flyctl_deploy_argv(&rollback_req);
                    format!("on failure: rollback: {}, then the health gate again (exit 3 healthy, 4 not)", argv.join(" "))
                }
                (None, true) => "on failure: no rollback target: exit 4".into(),
            },
        ];
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
        plans.push(serde_json::json!({
            "env": svc.env, "service": svc.name, "app": svc.app,
            "flyctl_argv": argv, "rollback_target": rollback_target.as_ref().map(|(v, i)| serde_json::json!({"version": v, "image": i})),
            "steps": steps, "problems": problems,
        }));
    }
    if printer.json_mode() {
        printer.json(&serde_json::json!({ "env": s.env, "services": plans }));
    }
    Ok(if blocked {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}
