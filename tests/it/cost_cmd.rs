//! `shipit cost` against the flyctl double: known machines and volumes give the expected
//! monthly totals and one finding of each kind Fly's report shows; `cost.prices` overrides
//! apply; an app Fly cannot find fails the command but not the others' estimates.

use serde_json::{Value, json};

use crate::support::{Project, fly_app};

const CONFIG: &str = "version: 1
apps:
  web: {}
  agent: {}
environments:
  staging:
    web:   { app: web-staging, url: https://web-staging.fly.dev }
    agent: { app: agent-staging, url: https://agent-staging.fly.dev }
  production:
    web:   { app: web-production, url: https://web-production.fly.dev }
";

fn sized(id: &str, state: &str, extra: Value) -> Value {
    let mut m = json!({"id": id, "state": state, "region": "iad", "image": "registry.fly.io/x:v1",
                       "release_version": 1, "process_group": "app"});
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    m
}

/// staging/web: two shared-1x 1 GB machines with autostop off. staging/agent: a stopped machine
/// with a 10 GB volume, a 40 GB volume nobody mounts, and one being destroyed (Fly hides it).
/// production/web: two performance-2x 4 GB machines in sjc with autostop off (production is
/// meant to run around the clock, so that is no finding).
fn apps() -> Value {
    let mut web = fly_app("web-staging", 1, "registry.fly.io/x:v1", 0);
    web["machines"] = json!([
        sized(
            "e784079b449483",
            "started",
            json!({"memory_mb": 1024, "autostop": false, "min_machines_running": 0})
        ),
        sized(
            "d8d9e0f1a2b3c4",
            "started",
            json!({"memory_mb": 1024, "autostop": false, "min_machines_running": 0})
        ),
    ]);
    let mut agent = fly_app("agent-staging", 1, "registry.fly.io/x:v1", 0);
    agent["machines"] = json!([sized(
        "3d8d9e0f1a2b3c",
        "stopped",
        json!({"memory_mb": 256, "mounts": [{"volume": "vol_agentdata1", "path": "/data", "size_gb": 10}]})
    )]);
    agent["volumes"] = json!([
        {"id": "vol_agentdata1", "name": "data", "size_gb": 10, "attached_machine_id": "3d8d9e0f1a2b3c"},
        {"id": "vol_forgotten2", "name": "old", "size_gb": 40, "region": "ams"},
        {"id": "vol_goingaway3", "name": "gone", "size_gb": 5, "state": "pending_destroy"},
    ]);
    let mut prod = fly_app("web-production", 1, "registry.fly.io/x:v1", 0);
    prod["machines"] = json!([
        sized(
            "148ed193b95089",
            "started",
            json!({"cpu_kind": "performance", "cpus": 2, "memory_mb": 4096, "region": "sjc", "autostop": false})
        ),
        sized(
            "5683945f7d9e08",
            "started",
            json!({"cpu_kind": "performance", "cpus": 2, "memory_mb": 4096, "region": "sjc", "autostop": false})
        ),
    ]);
    json!({"web-staging": web, "agent-staging": agent, "web-production": prod})
}

fn project(config: &str) -> Project {
    let project = Project::new();
    project.config(config).fly_state(&json!({"apps": apps()}));
    project
}

fn app<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == name)
        .unwrap_or_else(|| panic!("no {name} in {doc}"))
}

#[test]
fn known_machines_and_volumes_give_the_expected_totals_and_findings() {
    let project = project(CONFIG);
    let run = project.run(&["cost", "--json"]);
    run.code(0);
    let doc = run.json();
    // 2 × shared-cpu-1x 1 GB in iad: 2 × 5.69592.
    assert_eq!(app(&doc, "web-staging")["compute"], 11.39);
    assert_eq!(app(&doc, "web-staging")["total"], 11.39);
    // A stopped machine's 1 GB rootfs, a 10 GB and a 40 GB volume; the one being destroyed is
    // not listed by Fly and costs nothing.
    let agent = app(&doc, "agent-staging");
    assert_eq!(agent["stopped"], 0.15);
    assert_eq!(agent["storage"], 7.5);
    assert_eq!(agent["total"], 7.65);
    assert_eq!(agent["volumes"].as_array().unwrap().len(), 2);
    // 2 × performance-2x 4 GB in sjc: 2 × 62.00064 × 1.1923.
    assert_eq!(app(&doc, "web-production")["total"], 147.85);
    assert_eq!(
        doc["environments"],
        json!([{"env": "staging", "total": 19.04}, {"env": "production", "total": 147.85}])
    );
    assert_eq!(doc["total"], 166.89);
    assert_eq!(doc["prices"]["read_on"], "2026-08-21");

    let findings: Vec<(String, String, f64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["subject"].as_str().unwrap().to_owned(),
                f["monthly_saving"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            // Both staging machines could stop when idle, each then paying its rootfs only.
            ("autostop_off".to_owned(), "web-staging".to_owned(), 11.09),
            (
                "unattached_volume".to_owned(),
                "vol_forgotten2".to_owned(),
                6.0
            ),
            (
                "stopped_with_volume".to_owned(),
                "3d8d9e0f1a2b3c".to_owned(),
                1.65
            ),
        ]
    );
    assert_eq!(doc["possible_saving"], 18.74);
    assert!(doc["metrics"].as_str().unwrap().contains("not configured"));
    // Fly was only asked, never told.
    for call in project.fly_calls() {
        assert!(
            call[..2] == ["machines", "list"] || call[..2] == ["volumes", "list"],
            "{call:?}"
        );
    }
}

#[test]
fn the_human_report_and_the_evidence_name_totals_and_savings() {
    let project = project(CONFIG);
    let run = project.run(&["cost", "staging"]);
    run.code(0)
        .stdout_has("staging  $19.04/month")
        .stdout_has("findings (could save $18.74/month):")
        .stdout_has("auto_stop_machines = \"stop\"")
        .stdout_has("flyctl volumes destroy vol_forgotten2 --app agent-staging")
        .stderr_has("cost staging: $19.04/month for 2 apps; 3 findings could save $18.74/month");
    assert!(!run.stdout.contains("web-production"), "{}", run.stdout);
    let receipts: Vec<_> = std::fs::read_dir(project.file(".shipit/runs"))
        .expect("receipts")
        .collect();
    assert_eq!(receipts.len(), 1);
    let receipt: Value = serde_json::from_str(
        &std::fs::read_to_string(receipts[0].as_ref().unwrap().path()).unwrap(),
    )
    .unwrap();
    assert_eq!(receipt["kind"], "cost");
    assert_eq!(
        receipt["services"][0]["gates"][0]["observed"],
        "$11.39/month"
    );
    assert!(
        project
            .read("feedback/deployment.md")
            .contains("cost staging")
    );
}

#[test]
fn cost_prices_in_the_config_override_the_shipped_table() {
    let config = format!(
        "{CONFIG}cost:\n  prices: {{ shared_cpu: 2.0, volume_gb: 0.2, regions: {{ sjc: 1.0 }} }}\n  always_on: [production]\n"
    );
    let project = project(&config);
    let doc = project.run(&["cost", "--json"]).code(0).json();
    // 2 × (2.0 + 0.75 GB × 5.00256).
    assert_eq!(app(&doc, "web-staging")["total"], 11.5);
    // 0.15 rootfs + 50 GB × 0.2.
    assert_eq!(app(&doc, "agent-staging")["total"], 10.15);
    assert_eq!(app(&doc, "web-production")["total"], 124.0);
    assert_eq!(
        doc["prices"]["overridden"],
        json!(["shared_cpu", "volume_gb", "regions.sjc"])
    );
}

#[test]
fn a_staging_environment_named_always_on_has_no_autostop_finding() {
    let config = format!("{CONFIG}cost:\n  always_on: [staging, production]\n");
    let doc = project(&config).run(&["cost", "--json"]).code(0).json();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["kind"] != "autostop_off"),
        "{doc}"
    );
}

#[test]
fn an_app_fly_cannot_find_fails_the_run_but_not_the_other_estimates() {
    let project = project(CONFIG);
    let mut state = json!({"apps": apps()});
    state["apps"]
        .as_object_mut()
        .unwrap()
        .remove("agent-staging");
    project.fly_state(&state);
    let run = project.run(&["cost", "--json"]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["errors"][0]["app"], "agent-staging");
    assert!(
        doc["errors"][0]["error"]
            .as_str()
            .unwrap()
            .contains("agent-staging"),
        "{doc}"
    );
    assert_eq!(app(&doc, "web-staging")["total"], 11.39);
}

#[test]
fn bad_cost_settings_name_the_key() {
    project(&format!("{CONFIG}cost:\n  prices: {{ volume_gb: -1 }}\n"))
        .run(&["cost"])
        .code(1)
        .stderr_has("`cost.prices.volume_gb: -1` must be a price of 0 or more");
    project(&format!("{CONFIG}cost:\n  always_on: [prodution]\n"))
        .run(&["cost"])
        .code(1)
        .stderr_has("`cost.always_on` names `prodution`")
        .stderr_has("did you mean `production`?");
    project(&format!(
        "{CONFIG}cost:\n  prices: {{ regions: {{ Sjc: 1.2 }} }}\n"
    ))
    .run(&["cost"])
    .code(1)
    .stderr_has("is not a Fly region code");
}

/// A Prometheus vector with one series per (label value, value).
fn series(label: &str, values: &[(&str, f64)]) -> crate::support::server::Behaviour {
    let result: Vec<Value> = values
        .iter()
        .map(|(l, v)| json!({"metric": {label: l}, "value": [1_787_313_600, v.to_string()]}))
        .collect();
    crate::support::server::Behaviour::json(
        &json!({"status": "success", "data": {"resultType": "vector", "result": result}})
            .to_string(),
    )
}

#[test]
fn with_metrics_memory_above_its_p95_and_machines_beyond_the_load_are_findings() {
    use crate::support::server::{Behaviour, Server};
    let token = "fm2_cost-metrics-token-31d0";
    // staging/web: one machine used at most 200 MB of its 1 GB; iad served a p95 of 5
    // concurrent requests where each machine takes 25.
    let prometheus = Server::start([(
        "/prometheus/acme/api/v1/query",
        Behaviour::ByQuery {
            cases: vec![
                (
                    "mem_available{app=\"web-staging\"}".into(),
                    series("instance", &[("e784079b449483", 200.0 * 1024.0 * 1024.0)]),
                ),
                (
                    "fly_app_concurrency{app=\"web-staging\"}".into(),
                    series("region", &[("iad", 5.0)]),
                ),
            ],
            otherwise: Box::new(series("instance", &[])),
        },
    )]);
    let project = project(&format!(
        "{CONFIG}metrics: {{ prometheus: {{ url: \"{}/prometheus/acme/\", token: \"${{FLY_METRICS_TOKEN}}\" }} }}\n",
        prometheus.url()
    ));
    let mut state = project.state();
    for m in state["apps"]["web-staging"]["machines"]
        .as_array_mut()
        .unwrap()
    {
        m["concurrency"] = json!({"type": "requests", "soft_limit": 25, "hard_limit": 30});
    }
    project.fly_state(&state);
    let run = crate::support::Run::from(
        project
            .shipit(&["cost", "staging", "--json"])
            .env("FLY_METRICS_TOKEN", token)
            .output()
            .unwrap(),
    );
    run.code(0);
    let doc = run.json();
    let kinds: Vec<(String, String, f64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["app"] == "web-staging")
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["subject"].as_str().unwrap().to_owned(),
                f["monthly_saving"].as_f64().unwrap(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("excess_machines".to_owned(), "iad".to_owned(), 5.55)),
        "one machine of 5.70 less its rootfs: {kinds:?}"
    );
    assert!(
        kinds.contains(&(
            "oversized_memory".to_owned(),
            "e784079b449483".to_owned(),
            2.5
        )),
        "1 GB → 512 MB at the per-second prices: {kinds:?}"
    );
    assert_eq!(doc["metrics"], Value::Null, "{doc}");
    for r in prometheus.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("FlyV1 {token}").as_str())
        );
    }
    assert!(!run.stdout.contains(token) && !run.stderr.contains(token));

    // An endpoint that cannot be reached: the other findings stand and `metrics` says why the
    // metric ones are missing.
    let project = self::project(&format!(
        "{CONFIG}metrics: {{ prometheus: {{ url: \"{}/\" }} }}\n",
        crate::support::server::refused_url()
    ));
    let run = project.run(&["cost", "staging", "--json"]);
    run.code(0);
    let doc = run.json();
    let why = doc["metrics"].as_str().unwrap();
    assert!(
        why.contains("web-staging: cannot reach the metrics endpoint"),
        "{why}"
    );
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "autostop_off")
    );
}
