//! `shipit demo`: the whole pipeline on this machine, no account and no network. It deploys a
//! healthy v1, then a v2 whose /health answers 500, and shows the automatic rollback to v1 and
//! its verification, with real HTTP on 127.0.0.1 and the same pipeline code as a real deploy.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::demo::{APP, DemoPlatform, DemoServer};
use crate::exit::Outcome;
use crate::pipeline::ServicePlan;
use crate::probe::{HttpProber, SystemClock};

/// The first line of the config the demo writes: how a later run knows the folder is its own.
const MARK: &str = "# Written by `shipit demo`.";

pub(crate) async fn run(
    ctx: &super::Ctx,
    dir: Option<&Path>,
    force: bool,
) -> anyhow::Result<Outcome> {
    let dir: PathBuf = match dir {
        Some(d) => {
            check_dir(d, force)?;
            d.to_owned()
        }
        None => std::env::temp_dir().join(format!(
            "shipit-demo-{}",
            crate::timefmt::run_id(std::time::SystemTime::now())
        )),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let platform = DemoPlatform::new();
    let server = DemoServer::start(platform.clone())
        .await
        .context("cannot start the demo server on 127.0.0.1")?;
    let base = format!("http://127.0.0.1:{}", server.port);
    let config_path = dir.join("shipit.yml");
    std::fs::write(&config_path, demo_config(&base))
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let config = crate::config::load(&config_path)?;
    let services = crate::config::resolve(&config, "demo", None)?;
    let prober = HttpProber::new()?;
    let clock = SystemClock::new();
    let p = &ctx.printer;
    p.step(&format!(
        "shipit demo: app `{APP}` served at {base}, files in {}",
        dir.display()
    ));
    p.info(
        "this is the real pipeline; only the platform is simulated (no Fly account, no network)",
    );

    p.step("1/2: deploy v1, a healthy release (the first deploy: there is nothing to roll back to yet)");
    let plans = |image: &str| -> Result<Vec<ServicePlan>, crate::config::ConfigError> {
        services
            .iter()
            .map(|svc| ServicePlan::new(svc, Some(image), None, true))
            .collect()
    };
    let v1 = plans(&format!("registry.fly.io/{APP}:v1"))?;
    let first =
        super::deploy::deploy_services(ctx, &config, &v1, None, &platform, &prober, &clock).await;

    p.step("2/2: deploy v2, whose /health answers 500: flyctl reports success, the outside health gate does not");
    let v2 = plans(&format!("registry.fly.io/{APP}:v2-broken"))?;
    let second =
        super::deploy::deploy_services(ctx, &config, &v2, None, &platform, &prober, &clock).await;

    let hooks = server
        .hooks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let hooks_file = dir.join("notifications.jsonl");
    std::fs::write(
        &hooks_file,
        hooks
            .iter()
            .flat_map(|h| [h.as_str(), "\n"])
            .collect::<String>(),
    )
    .with_context(|| format!("cannot write {}", hooks_file.display()))?;
    let live = platform.world().live_image().unwrap_or_default();
    p.step("what happened");
    p.out(&format!(
        "v1 deploy: exit {} ({})",
        first.outcome.code(),
        first.summary
    ));
    p.out(&format!(
        "v2 deploy: exit {} ({})",
        second.outcome.code(),
        second.summary
    ));
    p.out(&format!("live now:  {live}"));
    p.out(&format!("evidence:  {}", config.evidence.log.display()));
    p.out(&format!("receipts:  {}", config.evidence.runs.display()));
    p.out(&format!(
        "notices:   {} webhook notifications received at {base}/hooks, saved to {}",
        hooks.len(),
        hooks_file.display()
    ));
    p.out(&format!(
        "try:       shipit --config {} history",
        config_path.display()
    ));
    let as_expected = first.outcome == Outcome::Success
        && second.outcome == Outcome::RolledBack
        && live.ends_with(":v1");
    if ctx.printer.json_mode() {
        ctx.printer.json(&serde_json::json!({
            "dir": dir, "url": base, "runs": [first, second], "live_image": live,
            "evidence": config.evidence.log, "receipts": config.evidence.runs,
            "notifications": hooks.len(), "as_expected": as_expected,
        }));
    }
    if as_expected {
        p.success("demo finished as designed: v2 was refused from outside and v1 is live and healthy again");
        Ok(Outcome::Success)
    } else {
        p.error("the demo did not end as designed (see above)");
        Ok(Outcome::Failed)
    }
}

/// Refuses a folder the demo would damage: one holding a project's shipit.yml or evidence log
/// (never, even with `--force`), or any other non-empty folder unless `--force`. A folder an
/// earlier demo wrote may be reused with `--force`.
fn check_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(()); // missing (created below) or unreadable (creating it says why)
    };
    if entries.count() == 0 {
        return Ok(());
    }
    let config = dir.join(crate::config::DEFAULT_FILE);
    let ours = std::fs::read_to_string(&config).is_ok_and(|text| text.starts_with(MARK));
    let project = !ours && (config.exists() || dir.join("feedback/deployment.md").exists());
    if project {
        anyhow::bail!(
            "{} holds a project (its shipit.yml or evidence log): the demo would overwrite them\nhint: give the demo an empty folder, e.g. `shipit demo --dir /tmp/shipit-demo`, or leave --dir out",
            dir.display()
        );
    }
    if !force {
        anyhow::bail!(
            "{} is not empty: the demo writes shipit.yml, feedback/ and .shipit/ there\nhint: give an empty or new folder, or pass --force to use this one",
            dir.display()
        );
    }
    Ok(())
}

fn demo_config(base: &str) -> String {
    format!(
        r#"# Written by `shipit demo`. The app is served by shipit itself on 127.0.0.1.
version: 1
defaults:
  health:
    path: /health
    interval: 200ms
    timeout: 1s
    healthy_after: 3
    unhealthy_after: 3
    deadline: 15s
    expect: ["[STATUS] == 200", "[RESPONSE_TIME] < 1s"]
  regression:
    probes: 5
    p95_ratio: 3
    p95_slack: 200ms
  rollback: auto
apps:
  web: {{}}
environments:
  demo:
    web: {{ app: {APP}, url: "{base}" }}
notify:
  - webhook: {{ url: "{base}/hooks", secret: "whsec_ZGVtby1zZWNyZXQtZm9yLXNoaXBpdA==" }}
evidence:
  log: feedback/deployment.md
"#
    )
}
