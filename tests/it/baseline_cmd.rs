//! `shipit baseline` against the flyctl double and a health endpoint on 127.0.0.1: the file it
//! writes (image, version, machines, checks, probe figures), a fleet left half updated, an
//! unhealthy live release, and an app that does not exist.

use std::time::Duration;

use serde_json::{Value, json};

use crate::status_cmd::{WEB_V3, half_updated_apps, healthy_apps};
use crate::support::Project;
use crate::support::server::{Behaviour, Server};

/// A health endpoint answering `/health` with `behaviour`.
struct Endpoint(Server);

impl Endpoint {
    fn start(status: u16) -> Endpoint {
        let behaviour = if status == 200 {
            Behaviour::ok("ok")
        } else {
            Behaviour::status(status)
        };
        Endpoint::with(behaviour)
    }

    fn with(behaviour: Behaviour) -> Endpoint {
        Endpoint(Server::start([("/health", behaviour)]))
    }

    fn url(&self) -> String {
        self.0.url()
    }

    fn hits(&self) -> usize {
        self.0.hits("/health")
    }
}

/// A project whose two staging services are probed at `web` and `agent`.
fn project(apps: &Value, web: &Endpoint, agent: &Endpoint, probes: u32) -> Project {
    let project = Project::new();
    project
        .fly_toml("fly/web-staging.toml", "web-staging")
        .fly_state(&json!({ "apps": apps }))
        .config(&format!(
            "version: 1
defaults:
  regression: {{ probes: {probes} }}
apps:
  web: {{}}
  agent:
    health: {{ path: /health, timeout: 2s }}
environments:
  staging:
    web:   {{ app: web-staging, url: {}, fly_config: fly/web-staging.toml }}
    agent: {{ app: agent-staging, url: {} }}
",
            web.url(),
            agent.url()
        ));
    project
}

fn baseline_file(project: &Project, app: &str) -> Value {
    let text = project.read(&format!(".shipit/baseline/{app}.json"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("baseline of {app} ({e}):\n{text}"))
}

#[test]
fn writes_the_baseline_with_probe_figures() {
    let (web, agent) = (Endpoint::start(200), Endpoint::start(200));
    let project = project(&healthy_apps(), &web, &agent, 3);
    let run = project.run(&["baseline", "staging", "--app", "web", "--probes", "5"]);
    run.code(0)
        .stdout_has("staging/web (web-staging): ")
        .stdout_has(".shipit/baseline/web-staging.json")
        .stdout_has("release   v3")
        .stdout_has(&format!("image     {WEB_V3}"))
        .stdout_has("machines  2 (2 started)")
        .stdout_has("checks    2/2 passing")
        .stdout_has("probes    5 probes, 0 failed (0%), p50 ");
    assert_eq!(web.hits(), 5);
    assert_eq!(agent.hits(), 0, "only the one service");

    let b = baseline_file(&project, "web-staging");
    assert_eq!(b["app"], "web-staging");
    assert_eq!(b["env"], "staging");
    assert_eq!(b["service"], "web");
    assert_eq!(b["version"], 3);
    assert_eq!(b["image"], WEB_V3);
    assert_eq!(b["mixed_images"], false);
    assert_eq!(b["checks_passing"], 2);
    assert_eq!(b["checks_total"], 2);
    assert!(
        b["captured_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{b:#}"
    );
    let m = &b["machines"][0];
    assert_eq!(m["image"], WEB_V3);
    assert_eq!(m["release_version"], 3);
    assert_eq!(m["checks"], "1/1 passing");
    assert_eq!(b["probe_url"], format!("{}/health", web.url()));
    let f = &b["figures"];
    assert_eq!(f["count"], 5);
    assert_eq!(f["failures"], 0);
    assert_eq!(f["error_rate"], 0.0);
    let (p50, p95, max) = (
        f["p50_ms"].as_f64().unwrap(),
        f["p95_ms"].as_f64().unwrap(),
        f["max_ms"].as_f64().unwrap(),
    );
    assert!(p50 > 0.0 && p50 <= p95 && p95 <= max, "{f:#}");
    // Read-only towards Fly: status and releases, no deploy.
    let calls = project.fly_calls();
    assert!(
        calls.iter().any(|c| c[..2] == ["status", "--json"])
            && calls.iter().any(|c| c[..2] == ["releases", "--json"])
    );
    assert!(project.deploy_calls().is_empty());
}

#[test]
fn figures_are_the_measured_latency() {
    let (web, agent) = (
        Endpoint::with(Behaviour::slow(Duration::from_millis(40), "ok")),
        Endpoint::start(200),
    );
    let project = project(&healthy_apps(), &web, &agent, 3);
    project.run(&["baseline", "web-staging"]).code(0);
    let f = &baseline_file(&project, "web-staging")["figures"];
    assert_eq!(
        (f["count"].as_u64(), f["answered"].as_u64()),
        (Some(3), Some(3))
    );
    let p50 = f["p50_ms"].as_f64().unwrap();
    assert!(
        (40.0..2000.0).contains(&p50),
        "p50 {p50}ms for a 40ms endpoint: {f:#}"
    );
}

#[test]
fn probe_count_defaults_to_the_config() {
    let (web, agent) = (Endpoint::start(200), Endpoint::start(200));
    let project = project(&healthy_apps(), &web, &agent, 3);
    project.run(&["baseline", "staging"]).code(0);
    assert_eq!((web.hits(), agent.hits()), (3, 3));
    assert_eq!(
        baseline_file(&project, "agent-staging")["figures"]["count"],
        3
    );
    assert_eq!(
        baseline_file(&project, "web-staging")["figures"]["count"],
        3
    );
}

#[test]
fn no_probes_means_no_figures() {
    let (web, agent) = (Endpoint::start(200), Endpoint::start(200));
    let project = project(&healthy_apps(), &web, &agent, 3);
    project
        .run(&["baseline", "web-staging", "--probes", "0"])
        .code(0);
    assert_eq!(web.hits(), 0);
    let b = baseline_file(&project, "web-staging");
    assert_eq!(b["figures"], Value::Null);
    assert_eq!(b["image"], WEB_V3);
}

#[test]
fn json_prints_the_baselines() {
    let (web, agent) = (Endpoint::start(200), Endpoint::start(200));
    let project = project(&healthy_apps(), &web, &agent, 2);
    let run = project.run(&["baseline", "staging", "--json"]);
    run.code(0);
    let v = run.json();
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["app"], "web-staging");
    assert_eq!(all[1]["app"], "agent-staging");
    assert_eq!(all[1]["version"], 7);
    assert_eq!(all[1]["figures"]["count"], 2);
    // The document is what was written.
    assert_eq!(all[0], baseline_file(&project, "web-staging"));
}

#[test]
fn half_updated_fleet_records_the_last_complete_release() {
    let (web, agent) = (Endpoint::start(200), Endpoint::start(200));
    let project = project(&half_updated_apps(), &web, &agent, 2);
    let run = project.run(&["baseline", "staging", "--app", "web"]);
    run.code(0)
        .stderr_has("machines run different images")
        .stdout_has("(machines run mixed images)");
    let b = baseline_file(&project, "web-staging");
    assert_eq!(
        b["image"], WEB_V3,
        "release 4 failed: the rollback target is release 3's image"
    );
    assert_eq!(b["version"], 3);
    assert_eq!(b["mixed_images"], true);
    assert_eq!(
        (b["checks_passing"].as_u64(), b["checks_total"].as_u64()),
        (Some(2), Some(3))
    );
    let mut machine_images: Vec<&str> = b["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["image"].as_str().unwrap())
        .collect();
    machine_images.dedup();
    assert!(
        machine_images.len() >= 2,
        "every machine is recorded with its own image: {machine_images:?}"
    );
}

#[test]
fn an_unhealthy_live_release_is_recorded_with_a_warning() {
    let (web, agent) = (Endpoint::start(503), Endpoint::start(200));
    let project = project(&healthy_apps(), &web, &agent, 4);
    let run = project.run(&["baseline", "staging", "--app", "web"]);
    run.code(0)
        .stderr_has("4 of 4 probes")
        .stderr_has("not fully healthy");
    let f = &baseline_file(&project, "web-staging")["figures"];
    assert_eq!(f["failures"], 4);
    assert_eq!(f["error_rate"], 1.0);
}

#[test]
fn a_missing_app_gets_no_file_and_exit_1() {
    let (web, agent) = (Endpoint::start(200), Endpoint::start(200));
    let mut apps = healthy_apps();
    apps.as_object_mut().unwrap().remove("web-staging");
    let project = project(&apps, &web, &agent, 2);
    let run = project.run(&["baseline", "staging"]);
    run.code(1)
        .stderr_has("staging/web (web-staging)")
        .stderr_has("flyctl ")
        .stderr_has("--app web-staging")
        .stderr_has("Could not find App \"web-staging\"")
        .stdout_has("agent-staging.json");
    assert!(!project.file(".shipit/baseline/web-staging.json").exists());
    assert_eq!(baseline_file(&project, "agent-staging")["version"], 7);
    assert_eq!(web.hits(), 0, "no probes for an app that failed");
}

#[test]
fn an_app_without_machines_has_no_rollback_target() {
    let (web, agent) = (Endpoint::start(200), Endpoint::start(200));
    let mut apps = healthy_apps();
    apps["agent-staging"]["machines"] = json!([]);
    let project = project(&apps, &web, &agent, 1);
    project
        .run(&["baseline", "agent-staging"])
        .code(0)
        .stderr_has("no image to roll back to");
    let b = baseline_file(&project, "agent-staging");
    assert_eq!(b["image"], Value::Null);
    assert_eq!(b["version"], 7);
}
