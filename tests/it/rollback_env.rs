//! `shipit rollback ENV` over an environment of two services: every target is chosen before
//! anything is put back (a service with nothing to go back to refuses the whole rollback before
//! any change), and a service that fails once the first was put back leaves a complete record:
//! receipt, evidence entry, job summary, notification, and exit 4.

use serde_json::{Value, json};

use crate::support::fleet::FleetServer;
use crate::support::server::{Behaviour, Server};
use crate::support::{Project, fly_app};

const WEB: &str = "hotdash-staging";
const WEB_V3: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const AGENT: &str = "hotdash-agent-service";

/// staging: web (`WEB`, v3, healthy on v2 and v3) then agent (`AGENT`, live on release
/// `agent_version`, its health endpoint answering `agent_health`), with a webhook channel.
fn project(agent_version: u64, agent_health: Behaviour) -> (Project, FleetServer, Server, Server) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {
        WEB: fly_app(WEB, 3, WEB_V3, 1),
        AGENT: fly_app(AGENT, agent_version, &format!("registry.fly.io/{AGENT}:deployment-v{agent_version}"), 1),
    }}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), WEB, |_, _| Behaviour::ok("up"));
    let agent = Server::start([("/health", agent_health)]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    p.fly_toml("fly/web.toml", WEB);
    p.fly_toml("fly/agent.toml", AGENT);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 2, unhealthy_after: 2, deadline: 3s }}\napps:\n  web: {{}}\n  agent: {{}}\nenvironments:\n  staging:\n    web: {{ app: {WEB}, url: \"{}\", fly_config: fly/web.toml }}\n    agent: {{ app: {AGENT}, url: \"{}\", fly_config: fly/agent.toml }}\nnotify:\n  - webhook: {{ url: \"{}\" }}\n",
        fleet.url(),
        agent.url(),
        hook.url_for("/hook"),
    ));
    (p, fleet, agent, hook)
}

fn receipt(p: &Project) -> Option<Value> {
    let mut files: Vec<_> = std::fs::read_dir(p.file(".shipit/runs"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    serde_json::from_str(&std::fs::read_to_string(files.last()?).ok()?).ok()
}

#[test]
fn a_later_service_with_nothing_to_go_back_to_refuses_before_anything_is_put_back() {
    // The agent has only its first release: there is nothing to roll it back to.
    let (p, _f, _a, _h) = project(1, Behaviour::ok("up"));
    let run = p.run(&["rollback", "staging"]);
    run.code(1)
        .stderr_has(
            "staging/agent (hotdash-agent-service): there is no complete release older than v1",
        )
        .stderr_has("nothing was deployed");
    assert!(
        p.deploy_calls().is_empty(),
        "web was put back although the rollback of the environment was refused: {:?}",
        p.deploy_calls()
    );
}

#[test]
fn a_later_service_failing_its_rollback_leaves_a_complete_record_and_exits_4() {
    // The agent's way back (v4 → v3) deploys, but its health endpoint never answers 200.
    let (p, _f, _a, hook) = project(4, Behaviour::status(503));
    let summary = p.file("step-summary.md");
    let run = crate::support::Run::from(
        p.shipit(&["rollback", "staging"])
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap(),
    );
    run.code(4);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("rollback failed and NOT recovered")
            && last.contains("hotdash-staging: v4 (the image of v2) live")
            && last.contains("hotdash-agent-service: failed, not recovered"),
        "{last}"
    );
    let r = receipt(&p).expect("a receipt of the rollback");
    assert_eq!(r["kind"], "rollback");
    assert_eq!(r["outcome"], "needs_human", "{r}");
    assert_eq!(r["services"][0]["result"], "succeeded", "{r}");
    assert_eq!(r["services"][1]["result"], "rollback_failed", "{r}");
    let evidence = p.read("feedback/deployment.md");
    assert!(
        evidence.contains(r["id"].as_str().unwrap()) && evidence.contains("rollback"),
        "{evidence}"
    );
    let job_summary = std::fs::read_to_string(&summary).unwrap_or_default();
    assert!(
        job_summary.contains("hotdash-agent-service"),
        "{job_summary}"
    );
    let bodies: Vec<Value> = hook
        .requests()
        .iter()
        .filter_map(|q| serde_json::from_slice(&q.body).ok())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b["data"]["event"] == "rollback_failed"),
        "{bodies:?}"
    );
}
