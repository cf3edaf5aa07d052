//! The repository's own example (shipit.yml, fly/, smoke/: DESIGN.md's hotdash setup) stays
//! valid, and `shipit plan staging` on it prints the flyctl argv and the rollback targets without
//! deploying. The files are copied into a temp project so nothing is written into the repo.

use std::path::Path;

use serde_json::json;

use crate::support::{Project, Run, fly_app};

fn example() -> Project {
    let p = Project::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for rel in [
        "shipit.yml",
        "fly/hotdash-staging.toml",
        "fly/hotdash-production.toml",
        "fly/agent-service.toml",
        "smoke/web.yml",
    ] {
        p.write(rel, &std::fs::read_to_string(repo.join(rel)).unwrap());
    }
    p.fly_state(&json!({"apps": {
        "hotdash-staging": fly_app("hotdash-staging", 41, "registry.fly.io/hotdash-staging:deployment-01AAA", 2),
        "hotdash-agent-service": fly_app("hotdash-agent-service", 12, "registry.fly.io/hotdash-agent-service:deployment-01BBB", 1),
    }}));
    p
}

fn with_secrets(p: &Project, args: &[&str]) -> Run {
    Run::from(
        p.shipit(args)
            .env(
                "SLACK_WEBHOOK_URL",
                "http://127.0.0.1:9/services/T0/B0/example",
            )
            .env("DEPLOY_WEBHOOK_URL", "http://127.0.0.1:9/hook")
            .env("DEPLOY_WEBHOOK_SECRET", "whsec_ZXhhbXBsZS1zZWNyZXQ=")
            .output()
            .unwrap(),
    )
}

#[test]
fn the_example_config_checks_clean() {
    let p = example();
    with_secrets(&p, &["config", "check"])
        .code(0)
        .stdout_has("/health (from fly.toml)")
        .stdout_has("/healthz (from shipit.yml)");
}

#[test]
fn the_example_config_names_an_unset_secret() {
    let p = example();
    p.run(&["config", "check"])
        .code(1)
        .stderr_has("shipit.yml:")
        .stderr_has("`SLACK_WEBHOOK_URL` is not set");
}

#[test]
fn plan_staging_on_the_example_prints_argv_and_targets_and_deploys_nothing() {
    let p = example();
    let run = with_secrets(&p, &["plan", "staging"]);
    run.code(0)
        .stdout_has("flyctl deploy --app hotdash-staging --config ")
        .stdout_has("fly/hotdash-staging.toml --remote-only --yes")
        .stdout_has("rollback target: v41 (registry.fly.io/hotdash-staging:deployment-01AAA)")
        .stdout_has("flyctl deploy --app hotdash-agent-service --config ")
        .stdout_has("rollback target: v12 (registry.fly.io/hotdash-agent-service:deployment-01BBB)")
        .stdout_has("smoke: ");
    assert!(p.deploy_calls().is_empty(), "{:?}", p.fly_calls());
    assert!(!run.stdout.contains("example-secret") && !run.stdout.contains("ZXhhbXBsZS1zZWNyZXQ="));
}
