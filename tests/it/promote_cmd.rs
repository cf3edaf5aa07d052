//! `shipit promote` and `deploy --require-promoted` through the real binary, the flyctl double
//! and one health endpoint per app: the staging run that proves an image is made by a real
//! `shipit deploy staging`, and every refusal is checked to make no `flyctl deploy` call.

use serde_json::{Value, json};

use crate::support::fleet::FleetServer;
use crate::support::server::Behaviour;
use crate::support::{Project, Run, fly_app};

const STAGING: &str = "hotdash-staging";
const PRODUCTION: &str = "hotdash-production";
const OLD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const IMG: &str = "registry.fly.io/hotdash-staging:deployment-01PROVEN";
const BROKEN: &str = "registry.fly.io/hotdash-staging:deployment-01BROKEN";

/// staging/web and production/web, each with a health endpoint that fails only `BROKEN`.
fn project(extra: &str) -> (Project, FleetServer, FleetServer) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {
        STAGING: fly_app(STAGING, 3, OLD, 2),
        PRODUCTION: fly_app(PRODUCTION, 9, "registry.fly.io/hotdash-production:deployment-v9", 2),
    }}));
    let pick = |_: &Value, image: &str| {
        if image == BROKEN {
            Behaviour::status(500)
        } else {
            Behaviour::ok("{\"ok\":true}")
        }
    };
    let staging = FleetServer::start(p.file("flyctl-state.json"), STAGING, pick);
    let production = FleetServer::start(p.file("flyctl-state.json"), PRODUCTION, pick);
    p.fly_toml("fly/staging.toml", STAGING);
    p.fly_toml("fly/production.toml", PRODUCTION);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 2, unhealthy_after: 2, deadline: 3s }}\n  regression: {{ probes: 2 }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {STAGING}, url: \"{}\", fly_config: fly/staging.toml }}\n  production:\n    web: {{ app: {PRODUCTION}, url: \"{}\", fly_config: fly/production.toml }}\n{extra}",
        staging.url(),
        production.url()
    ));
    (p, staging, production)
}

fn production_deploys(p: &Project) -> Vec<Vec<String>> {
    p.deploy_calls()
        .into_iter()
        .filter(|c| c.contains(&PRODUCTION.to_owned()))
        .collect()
}

fn images(p: &Project, app: &str) -> Vec<String> {
    p.state()["apps"][app]["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["image"].as_str().unwrap().to_owned())
        .collect()
}

fn newest_receipt(p: &Project) -> Value {
    let mut files: Vec<_> = std::fs::read_dir(p.file(".shipit/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    serde_json::from_str(&std::fs::read_to_string(files.last().unwrap()).unwrap()).unwrap()
}

#[test]
fn promote_deploys_the_image_a_staging_run_proved_and_names_the_run() {
    let (p, _s, _p) = project("");
    p.run(&["deploy", "staging", "--image", IMG]).code(0);
    let proving = newest_receipt(&p)["id"].as_str().unwrap().to_owned();
    let run = p.run(&["promote", "staging", "production"]);
    run.code(0)
        .stderr_has(&format!("web: {IMG} proved by staging run {proving}"));
    let calls = production_deploys(&p);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0]
            .windows(2)
            .any(|w| w[0] == "--image" && w[1] == IMG),
        "{:?}",
        calls[0]
    );
    assert!(images(&p, PRODUCTION).iter().all(|i| i == IMG));
    let r = newest_receipt(&p);
    assert_eq!(r["kind"], "promote");
    assert_eq!(r["services"][0]["proved_by"], proving.as_str());
    // The evidence log says which run proved it.
    let log = p.read("feedback/deployment.md");
    assert!(
        log.contains(&format!("proved by staging run {proving}")),
        "{log}"
    );
    // The promotion is itself recorded for production, pointing back at the proof.
    let promotions = p.read(".shipit/promotions.jsonl");
    let last: Value = serde_json::from_str(promotions.lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["env"].as_str(), last["proved_by"].as_str()),
        (Some("production"), Some(proving.as_str()))
    );
}

#[test]
fn promote_refuses_without_a_run_in_the_record() {
    let (p, _s, _p) = project("");
    p.run(&["promote", "staging", "production"])
        .code(1)
        .stderr_has(&format!("no staging run of {OLD} is in the record"))
        .stderr_has("hint: deploy it to staging first");
    assert!(production_deploys(&p).is_empty());
    assert!(p.deploy_calls().is_empty());
    let r = newest_receipt(&p);
    assert_eq!(
        (r["kind"].as_str(), r["outcome"].as_str()),
        (Some("promote"), Some("failed"))
    );
}

#[test]
fn promote_refuses_an_image_that_failed_a_gate() {
    let (p, _s, _p) = project("");
    // --no-rollback leaves staging on the broken image.
    p.run(&["deploy", "staging", "--image", BROKEN, "--no-rollback"])
        .code(4);
    assert!(images(&p, STAGING).iter().all(|i| i == BROKEN));
    p.run(&["promote", "staging", "production"])
        .code(1)
        .stderr_has("did not pass its gates: health");
    assert!(production_deploys(&p).is_empty());
}

#[test]
fn promote_refuses_a_different_image_than_the_proved_one() {
    let (p, _s, _p) = project("");
    p.run(&["deploy", "staging", "--image", IMG]).code(0);
    // Someone deploys to staging outside shipit.
    let mut world = p.state();
    for m in world["apps"][STAGING]["machines"].as_array_mut().unwrap() {
        m["image"] = json!("registry.fly.io/hotdash-staging:deployment-01HANDMADE");
    }
    p.fly_state(&world);
    p.run(&["promote", "staging", "production"])
        .code(1)
        .stderr_has(&format!("but the record proves {IMG}"));
    assert!(production_deploys(&p).is_empty());
}

#[test]
fn promote_refuses_a_run_older_than_max_age() {
    let (p, _s, _p) = project("promote: { max_age: 1ms }\n");
    p.run(&["deploy", "staging", "--image", IMG]).code(0);
    p.run(&["promote", "staging", "production"])
        .code(1)
        .stderr_has("is older than promote.max_age (1ms)");
    assert!(production_deploys(&p).is_empty());
}

#[test]
fn deploy_require_promoted_applies_the_same_rule() {
    let (p, _s, _p) = project("");
    p.run(&["deploy", "production", "--image", IMG, "--require-promoted"])
        .code(1)
        .stderr_has("--require-promoted: no staging run of");
    assert!(p.deploy_calls().is_empty());
    p.run(&["deploy", "staging", "--image", IMG]).code(0);
    p.run(&[
        "deploy",
        "production",
        "--image",
        IMG,
        "--require-promoted",
        "--from",
        "staging",
    ])
    .code(0);
    assert_eq!(production_deploys(&p).len(), 1);
    assert_eq!(newest_receipt(&p)["kind"], "promote");
    // Without --image there is nothing proved to deploy.
    let run: Run = p.run(&["deploy", "production", "--require-promoted"]);
    run.code(2).stderr_has("--image");
    // The first environment has nothing before it.
    p.run(&["deploy", "staging", "--image", IMG, "--require-promoted"])
        .code(1)
        .stderr_has("no environment comes before `staging`");
}

#[test]
fn the_readme_documents_the_promote_json() {
    let (p, _s, _p) = project("");
    p.run(&["deploy", "staging", "--image", IMG]).code(0);
    let doc = p
        .run(&["promote", "staging", "production", "--json"])
        .code(0)
        .json();
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `deploy`, `rollback`, `promote` |"))
        .expect("the README's run-record row names promote");
    // Every top-level key and every service key the document has is named in the row.
    let mut keys: Vec<String> = doc.as_object().unwrap().keys().cloned().collect();
    keys.extend(doc["services"][0].as_object().unwrap().keys().cloned());
    for key in keys.iter().filter(|k| {
        ![
            "sha", "actor", "env", "service", "app", "url", "live", "from", "to",
        ]
        .contains(&k.as_str())
    }) {
        let named = row.contains(&format!("`{key}`")) || row.contains(&format!("`{key}[]`"));
        assert!(named, "README's run-record row lacks `{key}`: {row}");
    }
    assert_eq!(doc["kind"], "promote");
    assert!(doc["services"][0]["proved_by"].is_string());
}

#[test]
fn promote_runs_the_gates_the_config_enables_for_the_target_as_deploy_does() {
    // production has a database and `gates: { database: true }`; staging has none, so its
    // deploy proves the image without one. The promotion's pipeline is production's own: its
    // database gate runs (and fails: nothing listens there), as `deploy production` would.
    let port = crate::support::server::refused_url()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let extra = format!(
        "    database:\n      url: \"postgres://shipit:pw@127.0.0.1:{port}/app?sslmode=disable\"\ngates: {{ database: true }}\n"
    );
    let (p, _s, _p) = project(&extra);
    p.run(&["deploy", "staging", "--image", IMG]).code(0);
    let run = p.run(&["promote", "staging", "production"]);
    run.code(3)
        .stderr_has("database gate failed")
        .stderr_has("the database schema was NOT rolled back");
    let r = newest_receipt(&p);
    assert_eq!(r["kind"], "promote");
    let gates = r["services"][0]["gates"].as_array().unwrap();
    let database = gates.iter().find(|g| g["name"] == "database").unwrap();
    assert_eq!(database["verdict"], "fail", "{database}");
}
