//! `shipit status` against the flyctl double: what runs where, as a table and as one JSON
//! document, including a fleet left half updated by a failed rolling deploy and an app that
//! does not exist.

use serde_json::{Value, json};

use crate::support::{Project, fly_app};

pub(crate) const CONFIG: &str = "version: 1
apps:
  web: {}
  agent: {}
environments:
  staging:
    web:   { app: web-staging, url: https://web-staging.fly.dev, fly_config: fly/web-staging.toml }
    agent: { app: agent-staging, url: https://agent-staging.fly.dev }
  production:
    web:   { app: web-production, url: https://web-production.fly.dev }
";

pub(crate) const WEB_V3: &str = "registry.fly.io/web-staging:deployment-v3";
pub(crate) const WEB_V4: &str = "registry.fly.io/web-staging:deployment-01J5Z1AAAAAAAAAAAAAAAAAAAA";

/// A project with the three-app config and the double's state holding `apps`.
pub(crate) fn project(apps: &Value) -> Project {
    let project = Project::new();
    project
        .fly_toml("fly/web-staging.toml", "web-staging")
        .config(CONFIG)
        .fly_state(&json!({ "apps": apps }));
    project
}

/// Every app of the config, healthy.
pub(crate) fn healthy_apps() -> Value {
    json!({
        "web-staging": fly_app("web-staging", 3, WEB_V3, 2),
        "agent-staging": fly_app("agent-staging", 7, "registry.fly.io/agent-staging:deployment-v7", 1),
        "web-production": fly_app("web-production", 12, "registry.fly.io/web-production:deployment-v12", 3),
    })
}

/// web-staging after a rolling deploy of release 4 failed its health checks on the first
/// machine: that one runs the new image with a critical check, the other two the old one.
pub(crate) fn half_updated_apps() -> Value {
    let mut web = fly_app("web-staging", 4, WEB_V4, 3);
    web["releases"][0]["status"] = json!("failed");
    let machines = web["machines"].as_array_mut().unwrap();
    machines[0]["checks"][0]["status"] = json!("critical");
    machines[0]["checks"][0]["output"] = json!("connection refused");
    for m in &mut machines[1..] {
        m["image"] = json!(WEB_V3);
        m["release_version"] = json!(3);
    }
    let mut apps = healthy_apps();
    apps["web-staging"] = web;
    apps
}

#[test]
fn every_environment_as_a_table() {
    let project = project(&healthy_apps());
    let run = project.run(&["status"]);
    run.code(0)
        .stdout_has("staging/web  web-staging  v3  deployed  https://web-staging.fly.dev")
        .stdout_has("staging/agent  agent-staging  v7  deployed")
        .stdout_has("production/web  web-production  v12  deployed")
        .stdout_has(&format!("image     {WEB_V3}"))
        .stdout_has("regions   ams: 1 started · iad: 1 started")
        .stdout_has("checks    3 passing, 0 warning, 0 critical")
        .stdout_has("ID              REGION  STATE    VERSION  CHECKS       IMAGE")
        .stdout_has(&format!(
            "148ed193b95089  iad     started  3        1/1 passing  {WEB_V3}"
        ));
    assert!(!run.stdout.contains("MIXED"), "{}", run.stdout);
    // Config order: staging's services, then production's.
    let order: Vec<usize> = ["staging/web", "staging/agent", "production/web"]
        .iter()
        .map(|s| run.stdout.find(s).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", run.stdout);
    // Read-only: status never deploys.
    assert!(project.deploy_calls().is_empty());
}

#[test]
fn json_is_one_documented_array() {
    let project = project(&healthy_apps());
    let run = project.run(&["status", "--json"]);
    run.code(0);
    let v = run.json();
    let apps = v.as_array().expect("an array");
    assert_eq!(apps.len(), 3);
    let web = &apps[0];
    for key in [
        "env",
        "service",
        "app",
        "url",
        "version",
        "status",
        "image",
        "mixed_images",
        "machines",
        "checks",
    ] {
        assert!(web.get(key).is_some(), "`{key}` missing from {web:#}");
    }
    assert_eq!(web["env"], "staging");
    assert_eq!(web["service"], "web");
    assert_eq!(web["app"], "web-staging");
    assert_eq!(web["url"], "https://web-staging.fly.dev");
    assert_eq!(web["version"], 3);
    assert_eq!(web["status"], "deployed");
    assert_eq!(web["image"], WEB_V3);
    assert_eq!(web["mixed_images"], false);
    assert_eq!(
        web["checks"],
        json!({"passing": 2, "warning": 0, "critical": 0})
    );
    assert!(web.get("error").is_none() && web.get("logs").is_none());
    let m = &web["machines"][0];
    assert_eq!(m["region"].as_str().map(str::len), Some(3));
    assert_eq!(m["state"], "started");
    assert_eq!(m["image"], WEB_V3);
    assert_eq!(m["release_version"], 3);
    assert_eq!(
        m["checks"],
        json!({"passing": 1, "warning": 0, "critical": 0})
    );
    assert_eq!(apps[2]["machines"].as_array().unwrap().len(), 3);
    assert_eq!(apps[2]["env"], "production");
}

#[test]
fn half_updated_fleet_is_reported_mixed() {
    let project = project(&half_updated_apps());
    let run = project.run(&["status", "staging", "--app", "web"]);
    run.code(0)
        .stdout_has(&format!("MIXED: 2 on {WEB_V3} (v3); 1 on {WEB_V4} (v4)"))
        .stdout_has("checks    2 passing, 0 warning, 1 critical")
        .stdout_has("0/1 passing, 1 critical");
    assert!(
        !run.stdout.contains("agent-staging"),
        "only the one service:\n{}",
        run.stdout
    );

    let run = project.run(&["status", "web-staging", "--json"]);
    run.code(0);
    let web = &run.json()[0];
    assert_eq!(web["mixed_images"], true);
    assert_eq!(
        web["image"], WEB_V3,
        "the image of the last complete release the machines run, as `baseline` records it"
    );
    assert_eq!(
        web["checks"],
        json!({"passing": 2, "warning": 0, "critical": 1})
    );
    let images: Vec<&str> = web["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["image"].as_str().unwrap())
        .collect();
    assert!(
        images.contains(&WEB_V3) && images.contains(&WEB_V4),
        "{images:?}"
    );
}

#[test]
fn missing_app_fails_after_printing_the_others() {
    let mut apps = healthy_apps();
    apps.as_object_mut().unwrap().remove("agent-staging");
    let project = project(&apps);
    let run = project.run(&["status"]);
    run.code(1)
        .stdout_has("staging/web  web-staging")
        .stdout_has("production/web  web-production")
        .stderr_has("staging/agent (agent-staging)")
        .stderr_has("flyctl status --json --app agent-staging")
        .stderr_has("Could not find App \"agent-staging\"")
        .stderr_has("hint: check the `app:` name");
    assert!(!run.stdout.contains("agent-staging"), "{}", run.stdout);

    // In JSON the failed app is in the document, with its error.
    let run = project.run(&["status", "--json"]);
    run.code(1);
    let v = run.json();
    let agent = &v[1];
    assert_eq!(agent["app"], "agent-staging");
    assert_eq!(agent["error"]["kind"], "app_not_found");
    assert_eq!(
        agent["error"]["command"],
        "flyctl status --json --app agent-staging"
    );
    assert_eq!(v[0]["version"], 3);
}

#[test]
fn targets_resolve_like_every_other_command() {
    let project = project(&healthy_apps());
    let run = project.run(&["status", "production"]);
    run.code(0).stdout_has("web-production");
    assert!(!run.stdout.contains("web-staging"));

    // `--app` alone picks that service in every environment.
    let run = project.run(&["status", "--app", "web", "--json"]);
    run.code(0);
    let apps: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(apps, ["web-staging", "web-production"]);

    project
        .run(&["status", "stagign"])
        .code(1)
        .stderr_has("did you mean `staging`?");
    project
        .run(&["status", "--app", "wbe"])
        .code(1)
        .stderr_has("did you mean `web`?");
    assert!(
        project
            .fly_calls()
            .iter()
            .all(|c| c.first().is_some_and(|c| c == "status" || c == "releases")),
        "status only reads: {:?}",
        project.fly_calls()
    );
}

#[test]
fn an_app_without_machines() {
    let mut apps = healthy_apps();
    apps["agent-staging"]["machines"] = json!([]);
    let project = project(&apps);
    let run = project.run(&["status", "staging", "--app", "agent"]);
    run.code(0).stdout_has("machines  none");
    let run = project.run(&["status", "agent-staging", "--json"]);
    let agent = &run.code(0).json()[0];
    assert_eq!(agent["image"], Value::Null);
    assert_eq!(agent["machines"], json!([]));
}

#[test]
fn a_tie_goes_to_the_last_complete_release() {
    // Two machines, one on the failed release 4 and one on release 3: the fleet's image is the
    // one a rollback would put back, and it is listed first.
    let mut web = fly_app("web-staging", 4, WEB_V4, 2);
    web["releases"][0]["status"] = json!("failed");
    web["machines"][1]["image"] = json!(WEB_V3);
    web["machines"][1]["release_version"] = json!(3);
    let project = project(&json!({ "web-staging": web }));
    let run = project.run(&["status", "web-staging"]);
    run.code(0)
        .stdout_has(&format!("MIXED: 1 on {WEB_V3} (v3); 1 on {WEB_V4} (v4)"));
    let run = project.run(&["status", "web-staging", "--json"]);
    assert_eq!(run.code(0).json()[0]["image"], WEB_V3);
}
