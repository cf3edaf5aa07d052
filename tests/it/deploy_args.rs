//! `deploy_args:` and `shipit deploy ENV -- FLAGS`: flyctl deploy flags passed through, checked
//! against flyctl's own, shown by `plan`, secrets masked, and never a build flag on the rollback.

use serde_json::json;

use crate::support::fleet::FleetServer;
use crate::support::server::Behaviour;
use crate::support::{Project, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const NPM_TOKEN: &str = "npm_sekrit_token_4242";

/// staging/web on `GOOD`; any other image answers 500, so a deploy is rolled back.
fn project(deploy_args: &str) -> (Project, FleetServer) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, image| {
        if image == GOOD {
            Behaviour::ok("ok")
        } else {
            Behaviour::status(500)
        }
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, deadline: 3s }}\n  regression: {{ probes: 2 }}\n  deploy_args: [\"--build-arg\", \"NODE_ENV=production\"]\napps:\n  web: {{ {deploy_args} }}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n",
        fleet.url()
    ));
    (p, fleet)
}

const WEB_ARGS: &str = "deploy_args: [\"--build-secret\", \"NPM_TOKEN=${NPM_TOKEN}\", \"--local-only\", \"-e\", \"FEATURE=on\"]";

fn has_pair(argv: &[String], flag: &str, value: &str) -> bool {
    argv.windows(2).any(|w| w[0] == flag && w[1] == value)
}

#[test]
fn deploy_args_reach_flyctl_the_rollback_never_rebuilds_and_secrets_stay_masked() {
    let (p, _f) = project(WEB_ARGS);
    // `plan` shows them, from the same per-service plan the run uses, the secret masked.
    let plan = p
        .shipit(&["plan", "staging", "--", "--build-arg", "GIT_SHA=abc123"])
        .env("NPM_TOKEN", NPM_TOKEN)
        .output()
        .unwrap();
    let plan = crate::support::Run::from(plan);
    plan.code(0)
        .stdout_has("--build-secret ***")
        .stdout_has("--local-only")
        .stdout_has("--build-arg GIT_SHA=abc123");
    assert!(!plan.stdout.contains(NPM_TOKEN) && !plan.stderr.contains(NPM_TOKEN));
    assert!(p.deploy_calls().is_empty());

    let out = p
        .shipit(&[
            "deploy",
            "staging",
            "--",
            "--build-arg",
            "GIT_SHA=abc123",
            "--no-cache",
        ])
        .env("NPM_TOKEN", NPM_TOKEN)
        .output()
        .unwrap();
    let run = crate::support::Run::from(out);
    run.code(3);
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let deploy = &calls[0];
    // The app's list replaces the defaults'; the command line's come after it.
    assert!(
        !has_pair(deploy, "--build-arg", "NODE_ENV=production"),
        "{deploy:?}"
    );
    assert!(
        has_pair(deploy, "--build-secret", &format!("NPM_TOKEN={NPM_TOKEN}")),
        "{deploy:?}"
    );
    assert!(
        has_pair(deploy, "--build-arg", "GIT_SHA=abc123"),
        "{deploy:?}"
    );
    assert!(has_pair(deploy, "--env", "FEATURE=on"), "{deploy:?}");
    assert!(deploy.iter().any(|a| a == "--local-only") && deploy.iter().any(|a| a == "--no-cache"));
    assert!(
        !deploy.iter().any(|a| a == "--remote-only"),
        "--local-only replaces it: {deploy:?}"
    );
    let rollback = &calls[1];
    assert!(has_pair(rollback, "--image", GOOD), "{rollback:?}");
    assert!(
        has_pair(rollback, "--env", "FEATURE=on"),
        "the release's runtime flags stay: {rollback:?}"
    );
    for build in [
        "--build-secret",
        "--build-arg",
        "--local-only",
        "--no-cache",
    ] {
        assert!(
            !rollback.iter().any(|a| a == build),
            "the rollback never rebuilds: {rollback:?}"
        );
    }
    // The secret is nowhere shipit writes.
    let receipts: String = std::fs::read_dir(p.file(".shipit/runs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    for (what, text) in [
        ("stdout", run.stdout.as_str()),
        ("stderr", run.stderr.as_str()),
        ("receipt", receipts.as_str()),
        ("evidence", &p.read("feedback/deployment.md")),
    ] {
        assert!(!text.contains(NPM_TOKEN), "{what} leaks the build secret");
    }
    assert!(
        receipts.contains("\"--build-secret\"") && receipts.contains("***"),
        "the receipt keeps the argv, masked"
    );
}

#[test]
fn unknown_and_owned_flags_are_refused_before_anything_runs() {
    let (p, _f) = project("deploy_args: [\"--build-args\", \"X=1\"]");
    p.run(&["config", "check"])
        .code(1)
        .stderr_has("`apps.web.deploy_args`: `--build-args` is not a flag of flyctl deploy (did you mean `--build-arg`?)")
        .stderr_has("shipit.yml:7:24");
    let (p, _f) = project("deploy_args: [\"--image\", \"x\"]");
    p.run(&["deploy", "staging"])
        .code(1)
        .stderr_has("`--image` cannot be passed through: set `image:`");
    let (p, _f) = project("");
    p.run(&["deploy", "staging", "--", "--strategy", "canary"])
        .code(2)
        .stderr_has("after `--`: `--strategy` cannot be passed through")
        .stderr_has("hint:");
    let doc = p
        .run(&["deploy", "staging", "--json", "--", "--detach"])
        .code(2)
        .json();
    assert_eq!(doc["error"]["kind"], "usage");
    assert!(p.deploy_calls().is_empty());
}
