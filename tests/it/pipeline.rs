//! The deploy pipeline end to end, one test per case: the real binary, the flyctl double, and a
//! health endpoint on 127.0.0.1 that serves whatever image the double's fleet runs.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fleet::FleetServer;
use crate::support::server::{Behaviour, Server};
use crate::support::{Project, Run, eventually, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const NEW: &str = "registry.fly.io/hotdash-staging:new";

/// A project whose staging/web is `APP`, live on `GOOD` (release 3, two machines), with a
/// health endpoint that answers 200 for `GOOD` and `new_behaviour` for any other image.
fn project(
    deploys: Value,
    new_behaviour: fn() -> Behaviour,
    extra_health: &str,
) -> (Project, FleetServer) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}, "deploys": deploys}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, move |_, image| {
        if image == GOOD || image.ends_with("deployment-v2") {
            Behaviour::ok("{\"ok\":true}")
        } else {
            new_behaviour()
        }
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 3, unhealthy_after: 3, deadline: 3s{extra_health} }}\n  regression: {{ probes: 3 }}\n  deploy_timeout: 30s\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n",
        fleet.url()
    ));
    (p, fleet)
}

fn deploy(p: &Project) -> Run {
    p.run(&["deploy", "staging", "--image", NEW])
}

fn healthy() -> Behaviour {
    Behaviour::ok("{\"ok\":true}")
}

fn receipt(p: &Project) -> Value {
    let dir = p.file(".shipit/runs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("receipts folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    serde_json::from_str(&std::fs::read_to_string(files.last().expect("a receipt")).unwrap())
        .unwrap()
}

/// The images every machine of APP runs now.
fn fleet_images(p: &Project) -> Vec<String> {
    p.state()["apps"][APP]["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["image"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_good_release_passes_every_gate() {
    let (p, _f) = project(json!([]), healthy, "");
    deploy(&p).code(0).stderr_has("passed every gate");
    assert_eq!(p.deploy_calls().len(), 1);
    assert!(fleet_images(&p).iter().all(|i| i == NEW));
    let r = receipt(&p);
    assert_eq!(r["outcome"], "success");
    assert_eq!(r["services"][0]["from"]["image"], GOOD);
    // The rollback target was on disk before the deploy call.
    let target: Value =
        serde_json::from_str(&p.read(".shipit/baseline/hotdash-staging.json")).unwrap();
    assert_eq!(target["image"], GOOD);
}

#[test]
fn a_release_answering_500_is_rolled_back() {
    let (p, _f) = project(json!([]), || Behaviour::status(500), "");
    let run = deploy(&p);
    run.code(3)
        .stderr_has("[STATUS] (500) == 200")
        .stderr_has("live again and healthy");
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 2, "deploy, then rollback: {calls:?}");
    assert!(
        calls[1]
            .windows(2)
            .any(|w| w[0] == "--image" && w[1] == GOOD),
        "rollback deploys the baseline image: {:?}",
        calls[1]
    );
    assert!(fleet_images(&p).iter().all(|i| i == GOOD));
    assert_eq!(receipt(&p)["services"][0]["result"], "rolled_back");
}

#[test]
fn a_slow_release_over_the_latency_condition_is_rolled_back() {
    let (p, _f) = project(
        json!([]),
        || Behaviour::slow(Duration::from_millis(300), "ok"),
        ", expect: [\"[STATUS] == 200\", \"[RESPONSE_TIME] < 150ms\"]",
    );
    deploy(&p).code(3).stderr_has("[RESPONSE_TIME]");
}

#[test]
fn a_flapping_release_never_opens_the_gate() {
    let (p, _f) = project(json!([]), || Behaviour::statuses([200, 200, 500]), "");
    deploy(&p).code(3).stderr_has("health gate failed");
}

#[test]
fn a_crashed_release_refusing_connections_is_rolled_back() {
    let (p, _f) = project(json!([]), || Behaviour::Close, "");
    deploy(&p).code(3);
    assert!(fleet_images(&p).iter().all(|i| i == GOOD));
}

#[test]
fn flyctl_failing_with_a_half_updated_fleet_is_rolled_back() {
    // Rolling: the first machine took the new image, then flyctl gave up; the app still answers.
    let (p, _f) = project(
        json!([{"outcome": "fail_health", "updated": 1}]),
        healthy,
        "",
    );
    let run = deploy(&p);
    run.code(3)
        .stderr_has("half-updated")
        .stderr_has("timeout reached waiting for health checks");
    assert_eq!(p.deploy_calls().len(), 2);
    assert!(
        fleet_images(&p).iter().all(|i| i == GOOD),
        "{:?}",
        fleet_images(&p)
    );
}

#[test]
fn flyctl_failing_while_the_app_is_healthy_is_a_warning_not_a_rollback() {
    let (p, _f) = project(json!([{"outcome": "fail_but_healthy"}]), healthy, "");
    let run = deploy(&p);
    run.code(0)
        .stderr_has("warning:")
        .stderr_has("request canceled");
    assert_eq!(p.deploy_calls().len(), 1);
    let r = receipt(&p);
    assert!(
        r["services"][0]["decision"]
            .as_str()
            .unwrap()
            .contains("healthy from outside"),
        "{r}"
    );
}

#[test]
fn flyctl_hanging_past_the_deploy_timeout_is_stopped() {
    let (p, _f) = project(json!([{"outcome": "hang"}]), healthy, "");
    let yaml = p
        .read("shipit.yml")
        .replace("deploy_timeout: 30s", "deploy_timeout: 1s");
    p.config(&yaml);
    let start = Instant::now();
    let run = deploy(&p);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
    // flyctl never touched a machine: nothing to roll back, the previous release is still live.
    run.code(1)
        .stderr_has("deploy_timeout")
        .stderr_has("before any machine was updated");
    let state = p.state();
    let newest = &state["apps"][APP]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|r| r["version"].as_u64())
        .unwrap()
        .clone();
    assert_eq!(
        newest["status"], "interrupted",
        "flyctl got SIGINT and marked its release"
    );
}

#[test]
fn a_new_machine_that_crashes_ends_the_wait_early() {
    // flyctl would wait out a 60 s wait-timeout on a stopped machine (superfly/flyctl#2653).
    let (p, _f) = project(
        json!([{"outcome": "crash", "updated": 1, "wait_ms": 60000}]),
        || Behaviour::Close,
        "",
    );
    let start = Instant::now();
    let run = deploy(&p);
    let took = start.elapsed();
    run.code(3)
        .stderr_has("not waiting for flyctl's wait-timeout");
    assert!(
        took < Duration::from_secs(30),
        "the fast path did not fire: {took:?}"
    );
}

#[test]
fn a_failing_rollback_deploy_needs_a_human() {
    let (p, _f) = project(
        json!([{"outcome": "ok"}, {"outcome": "image_not_found"}]),
        || Behaviour::status(500),
        "",
    );
    deploy(&p)
        .code(4)
        .stderr_has("the rollback deploy failed")
        .stderr_has("a human must act now");
}

#[test]
fn an_unhealthy_baseline_after_rollback_needs_a_human() {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}}));
    // Healthy until the first deploy, then down whatever runs (the database went away).
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |state, _| {
        let deployed = state["apps"][APP]["releases"]
            .as_array()
            .is_some_and(|r| r.len() > 3);
        if deployed {
            Behaviour::status(502)
        } else {
            Behaviour::ok("up")
        }
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ interval: 50ms, timeout: 500ms, deadline: 2s }}\n  regression: {{ probes: 2 }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n",
        fleet.url()
    ));
    deploy(&p).code(4).stderr_has("unhealthy too");
}

#[test]
fn no_rollback_flag_leaves_the_release_and_exits_4() {
    let (p, _f) = project(json!([]), || Behaviour::status(500), "");
    p.run(&["deploy", "staging", "--image", NEW, "--no-rollback"])
        .code(4)
        .stderr_has("--no-rollback");
    assert_eq!(p.deploy_calls().len(), 1);
}

#[test]
fn a_release_in_progress_refuses_before_any_change() {
    let p = Project::new();
    let mut app = fly_app(APP, 3, GOOD, 2);
    app["releases"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"version": 4, "status": "running", "image": NEW}));
    p.fly_state(&json!({"apps": {APP: app}}));
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!("version: 1\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"http://127.0.0.1:9\", fly_config: fly/hotdash-staging.toml }}\n"));
    deploy(&p)
        .code(1)
        .stderr_has("still in progress")
        .stderr_has("nothing was changed");
    assert!(p.deploy_calls().is_empty());
}

#[test]
fn a_missing_app_or_token_refuses_before_any_change() {
    let (p, _f) = project(json!([]), healthy, "");
    p.fly_state(&json!({"apps": {}}));
    deploy(&p).code(1).stderr_has("Could not find App");
    let run = Run::from(
        p.shipit(&["deploy", "staging"])
            .env_remove("FLY_API_TOKEN")
            .env("HOME", p.path())
            .output()
            .unwrap(),
    );
    run.code(1).stderr_has("no Fly API token");
    assert!(p.deploy_calls().is_empty());
}

#[test]
fn manual_rollback_picks_the_previous_good_release_or_the_one_asked_for() {
    let (p, _f) = project(json!([]), healthy, "");
    p.run(&["rollback", APP]).code(0).stderr_has("v2");
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0]
            .iter()
            .any(|a| a == "registry.fly.io/hotdash-staging:deployment-v2"),
        "{:?}",
        calls[0]
    );
    p.run(&["rollback", "staging", "--app", "web", "--to", "1"])
        .code(0);
    assert!(
        p.deploy_calls()[1]
            .iter()
            .any(|a| a == "registry.fly.io/hotdash-staging:deployment-v1")
    );
}

#[test]
fn manual_rollback_with_no_earlier_release_deploys_nothing() {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 1, GOOD, 1)}}));
    p.config(&format!("version: 1\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"http://127.0.0.1:9\" }}\n"));
    p.run(&["rollback", APP])
        .code(1)
        .stderr_has("no complete release older than v1")
        .stderr_has("nothing was deployed");
    p.run(&["rollback", APP, "--to", "7"])
        .code(1)
        .stderr_has("no release v7");
    assert!(p.deploy_calls().is_empty());
}

#[test]
fn the_lock_held_by_another_run_is_named() {
    let (p, _f) = project(json!([]), healthy, "");
    let lock = p.file(".shipit/locks/hotdash-staging.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "pid 4242 started 2026-11-27T10:00:00Z\n").unwrap();
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&lock)
        .unwrap();
    held.try_lock().unwrap();
    deploy(&p)
        .code(1)
        .stderr_has("pid 4242")
        .stderr_has("--wait-lock");
    assert!(p.deploy_calls().is_empty());
    drop(held);
    deploy(&p).code(0);
}

fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} {pid}");
}

fn interrupt(pid: u32) {
    signal(pid, "INT");
}

/// Starts `shipit deploy staging` in the background and waits until `ready` holds.
fn deploy_until(p: &Project, ready: impl Fn() -> bool) -> std::process::Child {
    let child = p
        .shipit(&["deploy", "staging", "--image", NEW])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(20), ready),
        "the run never got there"
    );
    child
}

/// Starts a deploy, waits for `ready`, sends SIGINT, and returns the run and how long it took
/// to exit after the signal.
fn cancel_when(p: &Project, ready: impl Fn(&Project) -> bool) -> (Run, Duration) {
    let child = deploy_until(p, || ready(p));
    let sent = Instant::now();
    interrupt(child.id());
    let out = child.wait_with_output().unwrap();
    (Run::from(out), sent.elapsed())
}

#[test]
fn cancelling_during_the_deploy_call_exits_130_with_the_rollback_command() {
    let (p, _f) = project(json!([{"outcome": "hang"}]), healthy, "");
    let (run, took) = cancel_when(&p, |p| !p.deploy_calls().is_empty());
    run.code(130)
        .stderr_has("cancelled")
        .stderr_has("shipit rollback hotdash-staging --to 3");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // flyctl was stopped before it touched a machine: v3 is still live, nothing to go back to.
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("live: v3") && !last.contains("to go back"),
        "last line: {last}"
    );
}

#[test]
fn a_cancelled_deploy_whose_record_cannot_be_written_still_ends_with_the_rollback_command() {
    // A postgres record nothing listens for: the run goes to the local files with a warning,
    // and that warning comes before the last line, which says what is live and how to go back.
    let (p, f) = project(json!([]), || Behaviour::status(500), "");
    let port = crate::support::server::refused_url()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    p.config(
        &p.read("shipit.yml")
            .replace(
                "unhealthy_after: 3, deadline: 3s",
                "unhealthy_after: 1000, deadline: 60s",
            )
            .replace(
                "version: 1\n",
                &format!(
                    "version: 1\nstore: {{ postgres: {{ url: \"postgres://shipit:pw@127.0.0.1:{port}/record?sslmode=disable\" }} }}\n"
                ),
            ),
    );
    let (run, _) = cancel_when(&p, |_| f.server.hits("/health") > 6);
    run.code(130).stderr_has("warning");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("to go back: shipit rollback hotdash-staging --to 3"),
        "last line: {last}\n{}",
        run.stderr
    );
}

#[test]
fn cancelling_during_the_health_gate_exits_130() {
    let (p, f) = project(json!([]), || Behaviour::status(500), "");
    p.config(&p.read("shipit.yml").replace(
        "unhealthy_after: 3, deadline: 3s",
        "unhealthy_after: 1000, deadline: 60s",
    ));
    let (run, took) = cancel_when(&p, |_| f.server.hits("/health") > 6);
    run.code(130)
        .stderr_has("shipit rollback hotdash-staging --to 3");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("live:")
            && last.contains("to go back: shipit rollback hotdash-staging --to 3"),
        "last line: {last}"
    );
    assert_eq!(receipt(&p)["outcome"], "cancelled");
}

/// Two services: `agent` (healthy) then `web` (its new release answers 500), in that order.
fn two_services(web_first: bool) -> (Project, FleetServer, Server) {
    let p = Project::new();
    let agent = "hotdash-agent-service";
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2), agent: fly_app(agent, 7, "registry.fly.io/agent:deployment-v7", 1)}}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, image| {
        if image == GOOD {
            Behaviour::ok("up")
        } else {
            Behaviour::status(500)
        }
    });
    let agent_server = Server::start([("/health", Behaviour::ok("up"))]);
    let web = format!("    web: {{ app: {APP}, url: \"{}\" }}\n", fleet.url());
    let agent_line = format!(
        "    agent: {{ app: {agent}, url: \"{}\" }}\n",
        agent_server.url()
    );
    let services = if web_first {
        format!("{web}{agent_line}")
    } else {
        format!("{agent_line}{web}")
    };
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ interval: 50ms, timeout: 500ms, deadline: 3s }}\n  regression: {{ probes: 2 }}\napps:\n  web: {{}}\n  agent: {{}}\nenvironments:\n  staging:\n{services}"
    ));
    (p, fleet, agent_server)
}

#[test]
fn services_deploy_in_config_order_and_a_failure_stops_the_rest() {
    let (p, _f, _a) = two_services(true);
    let run = deploy(&p);
    run.code(3);
    let calls = p.deploy_calls();
    assert!(
        calls.iter().all(|c| c.contains(&APP.to_owned())),
        "the agent was not deployed: {calls:?}"
    );
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("hotdash-staging: v4 failed; back on v5 (the image of v3)"),
        "{last}"
    );
    assert!(
        last.contains("hotdash-agent-service: not started, v7 still live"),
        "{last}"
    );
    let r = receipt(&p);
    assert_eq!(r["services"][1]["result"], "not_started");
}

/// The Fly app and `--image` of every deploy call, in order.
fn deployed(p: &Project) -> Vec<(String, String)> {
    let arg = |c: &[String], flag: &str| {
        c.iter()
            .position(|a| a == flag)
            .map(|i| c[i + 1].clone())
            .unwrap_or_default()
    };
    p.deploy_calls()
        .iter()
        .map(|c| (arg(c, "--app"), arg(c, "--image")))
        .collect()
}

const AGENT: &str = "hotdash-agent-service";
const AGENT_V7: &str = "registry.fly.io/agent:deployment-v7";

#[test]
fn services_deploy_in_the_order_the_config_lists_them() {
    let (p, _f, _a) = two_services(false);
    // The agent goes first and succeeds; web then fails and is rolled back, and so is the
    // agent (newest first), each through its gate: the environment ends all-old, exit 3.
    let run = deploy(&p);
    run.code(3);
    let calls = deployed(&p);
    assert_eq!(
        calls,
        [
            (AGENT.to_owned(), NEW.to_owned()),
            (APP.to_owned(), NEW.to_owned()),
            (APP.to_owned(), GOOD.to_owned()),
            (AGENT.to_owned(), AGENT_V7.to_owned()),
        ]
    );
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(
            "hotdash-agent-service: v8 rolled back with the environment; back on v9 (the image of v7)"
        ),
        "{last}"
    );
    assert!(
        last.contains("hotdash-staging: v4 failed; back on v5 (the image of v3)"),
        "{last}"
    );
    run.stderr_has("staging/agent (hotdash-agent-service): rollback to v7");
    let r = receipt(&p);
    assert_eq!(r["outcome"], "rolled_back");
    let agent = &r["services"][0];
    assert_eq!(agent["result"], "rolled_back");
    assert_eq!(agent["live"]["image"], AGENT_V7);
    assert!(
        agent["reason"]
            .as_str()
            .unwrap()
            .contains("rolled back with the environment: staging/web (hotdash-staging) failed"),
        "{agent}"
    );
    assert!(
        agent["gates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "rollback health" && g["verdict"] == "pass"),
        "the agent went back through its gate: {agent}"
    );
}

#[test]
fn on_partial_keep_leaves_the_earlier_services_on_their_new_release() {
    let (p, _f, _a) = two_services(false);
    let yaml = p.read("shipit.yml").replace(
        "environments:\n  staging:\n",
        "environments:\n  staging:\n    on_partial: keep\n",
    );
    p.config(&yaml);
    let run = deploy(&p);
    run.code(3)
        .stderr_has("kept on its new release although staging/web (hotdash-staging) failed");
    let apps: Vec<String> = deployed(&p).into_iter().map(|(a, _)| a).collect();
    assert_eq!(apps, [AGENT, APP, APP]);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("hotdash-agent-service: v8 live"), "{last}");
    // The agent runs its new release: the run may not say the previous release is live.
    assert!(!last.contains("the previous release is live"), "{last}");
    assert!(last.contains("part way"), "{last}");
    let receipt = receipt(&p);
    assert_eq!(receipt["services"][0]["result"], "succeeded");
    assert!(
        !receipt["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("the previous release is live"),
        "{receipt}"
    );
}

#[test]
fn a_later_service_refused_before_its_deploy_call_rolls_back_the_earlier_ones() {
    // web's app does not exist on Fly: refused in preflight, after the agent was deployed.
    let (p, _f, _a) = two_services(false);
    let mut state = p.state();
    state["apps"].as_object_mut().unwrap().remove(APP);
    p.fly_state(&state);
    let run = deploy(&p);
    run.code(3);
    assert_eq!(
        deployed(&p),
        [
            (AGENT.to_owned(), NEW.to_owned()),
            (AGENT.to_owned(), AGENT_V7.to_owned()),
        ]
    );
    assert!(
        !run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("hotdash-agent-service: v8 rolled back with the environment"),
        "{last}"
    );

    // With `on_partial: keep` the agent stays new, the run fails (exit 1), and the last line
    // never claims that nothing was changed.
    let (p, _f, _a) = two_services(false);
    let mut state = p.state();
    state["apps"].as_object_mut().unwrap().remove(APP);
    p.fly_state(&state);
    let yaml = p
        .read("shipit.yml")
        .replace("defaults:\n", "defaults:\n  on_partial: keep\n");
    p.config(&yaml);
    let run = deploy(&p);
    run.code(1);
    assert_eq!(deployed(&p).len(), 1);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(!last.contains("nothing was changed"), "{last}");
    assert!(last.contains("failed part way"), "{last}");
    assert!(last.contains("hotdash-agent-service: v8 live"), "{last}");
}

/// A project whose health gate fails forever and whose webhook receiver never answers, so a
/// cancelled run spends its last seconds recording and notifying.
fn slow_to_cancel() -> (Project, FleetServer, Server) {
    let (p, f) = project(json!([]), || Behaviour::status(500), "");
    let hook = Server::start([("/hook", Behaviour::Hang)]);
    let yaml = p.read("shipit.yml").replace(
        "unhealthy_after: 3, deadline: 3s",
        "unhealthy_after: 1000, deadline: 60s",
    );
    p.config(&format!(
        "{yaml}notify:\n  - webhook: {{ url: \"{}/hook\" }}\n",
        hook.url()
    ));
    (p, f, hook)
}

#[test]
fn githubs_sigterm_after_sigint_still_lets_the_run_record_itself() {
    // GitHub: SIGINT, SIGTERM 7.5 s later, kill 2.5 s after. Here the SIGTERM comes at once,
    // while shipit is still notifying; it must not cut the record short.
    let (p, f, _hook) = slow_to_cancel();
    let child = deploy_until(&p, || f.server.hits("/health") > 6);
    let sent = Instant::now();
    signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "TERM");
    let run = Run::from(child.wait_with_output().unwrap());
    let took = sent.elapsed();
    run.code(130);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(receipt(&p)["outcome"], "cancelled");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("to go back: shipit rollback hotdash-staging --to 3"),
        "last line: {last}"
    );
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let (p, f, _hook) = slow_to_cancel();
    let child = deploy_until(&p, || f.server.hits("/health") > 6);
    signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    signal(child.id(), "INT");
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(130);
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "took {:?} after the second Ctrl-C",
        sent.elapsed()
    );
}

#[test]
fn wait_lock_waits_for_the_other_run_and_then_deploys() {
    let (p, _f) = project(json!([]), healthy, "");
    let lock = p.file(".shipit/locks/hotdash-staging.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock)
        .unwrap();
    held.try_lock().unwrap();
    let child = p
        .shipit(&["deploy", "staging", "--image", NEW, "--wait-lock", "20s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        p.deploy_calls().is_empty(),
        "it waited while the lock was held"
    );
    drop(held);
    let run = Run::from(child.wait_with_output().unwrap());
    run.code(0);
    assert_eq!(p.deploy_calls().len(), 1);
}

#[test]
fn on_partial_takes_rollback_or_keep_under_an_environment_or_defaults_only() {
    let (p, _f, _a) = two_services(false);
    let base = p.read("shipit.yml");
    p.config(&base.replace("defaults:\n", "defaults:\n  on_partial: maybe\n"));
    p.run(&["config", "check"])
        .code(1)
        .stderr_has("shipit.yml:3")
        .stderr_has("`on_partial: maybe` is not valid")
        .stderr_has("use `rollback`");
    p.config(&base.replace("  web: {}\n", "  web: { on_partial: keep }\n"));
    p.run(&["config", "check"])
        .code(1)
        .stderr_has("`apps.web.on_partial` is not an app setting")
        .stderr_has("environments.ENV");
    p.config(&base.replace(
        "environments:\n  staging:\n",
        "environments:\n  staging:\n    on_partial: keep\n",
    ));
    p.run(&["config", "check"]).code(0);
    assert!(p.deploy_calls().is_empty());
}

/// APP's log buffer holds one line, stamped a minute from now: written after the deploy call.
fn logs_after_the_deploy(p: &Project, message: &str) {
    let mut state = p.state();
    let later = std::time::SystemTime::now() + Duration::from_secs(60);
    state["apps"][APP]["logs"] = json!([{"level": "info", "instance": "148ed193b95089", "region": "iad",
        "message": message, "timestamp": shipit::timefmt::rfc3339(later)}]);
    p.fly_state(&state);
}

#[test]
fn deploy_watch_runs_the_checks_and_a_critical_finding_rolls_back() {
    let (p, _f) = project(json!([]), healthy, "");
    logs_after_the_deploy(&p, "Completed 500 Internal Server Error in 12ms");
    p.run(&["deploy", "staging", "--image", NEW, "--watch", "2s"])
        .code(3)
        .stderr_has("a critical finding during the watch window: http_5xx");
    let deploys = p.deploy_calls();
    assert_eq!(deploys.len(), 2, "the deploy and its rollback: {deploys:?}");
    assert!(
        deploys[1].windows(2).any(|w| w == ["--image", GOOD]),
        "{:?}",
        deploys[1]
    );
    assert!(fleet_images(&p).iter().all(|i| i == GOOD));
    let r = receipt(&p);
    let watch = r["services"][0]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "watch")
        .cloned()
        .expect("the watch gate");
    assert_eq!(watch["verdict"], "fail", "{watch}");

    // Clean logs and a healthy endpoint: the window passes, and `plan --watch` says it.
    let (p, _f) = project(json!([]), healthy, "");
    logs_after_the_deploy(&p, "GET /health 200 - - 2.1 ms");
    p.run(&["deploy", "staging", "--image", NEW, "--watch", "300ms"])
        .code(0);
    let r = receipt(&p);
    let watch = r["services"][0]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "watch")
        .cloned()
        .expect("the watch gate");
    assert_eq!(watch["verdict"], "pass", "{watch}");
    p.run(&["plan", "staging", "--watch", "5m"])
        .code(0)
        .stdout_has("watch: 5m, a check every 50ms; a critical finding rolls back");
}
