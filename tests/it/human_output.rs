//! What a user reads, compared whole: the human output (exit code, stdout, stderr) of `deploy`
//! (success, rolled back, needs human, cancelled), `rollback`, `status`, `health` and `smoke`
//! against snapshots in `tests/it/snapshots/human/` (`support::snapshot`: times, ports, paths,
//! run ids and measured durations filtered). `UPDATE_SNAPSHOTS=1` rewrites them; a change of
//! wording shows in review as a change of these files.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::support::fleet::FleetServer;
use crate::support::server::Behaviour;
use crate::support::snapshot::assert_snapshot;
use crate::support::{Project, Run, eventually, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const NEW: &str = "registry.fly.io/hotdash-staging:new";

/// staging/web is APP on GOOD (release 3, two machines); `/health` answers 200 for GOOD and
/// v2's image, `new` for any other; `/` serves the smoke suite's page.
fn project(new: fn() -> Behaviour, health: &str) -> (Project, FleetServer) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, move |_, image| {
        if image == GOOD || image.ends_with("deployment-v2") {
            Behaviour::ok("{\"ok\":true}")
        } else {
            new()
        }
    });
    fleet.server.set("/", Behaviour::ok("<h1>HotDash</h1>"));
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.write(
        "smoke/web.yml",
        // One at a time: the progress lines come in the order checks finish.
        "concurrency: 1\nchecks:\n  - name: home page renders\n    path: /\n    expect: [\"[STATUS] == 200\", \"[BODY] contains HotDash\"]\n  - name: status api\n    path: /health\n    expect: [\"[STATUS] == 200\", \"[BODY].ok == true\"]\n",
    );
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, {health} }}\n  regression: {{ probes: 3 }}\napps:\n  web:\n    smoke: smoke/web.yml\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n",
        fleet.url()
    ));
    (p, fleet)
}

const QUICK: &str = "healthy_after: 3, unhealthy_after: 3, deadline: 3s";

fn ok() -> Behaviour {
    Behaviour::ok("{\"ok\":true}")
}

fn fails() -> Behaviour {
    Behaviour::status(500)
}

#[test]
fn deploy_success() {
    let (p, _f) = project(ok, QUICK);
    let run = p.run(&["deploy", "staging", "--image", NEW]);
    assert_snapshot("deploy_success", &p, &run);
}

#[test]
fn deploy_rolled_back() {
    let (p, _f) = project(fails, QUICK);
    let run = p.run(&["deploy", "staging", "--image", NEW]);
    assert_snapshot("deploy_rolled_back", &p, &run);
}

#[test]
fn deploy_needs_human() {
    let (p, _f) = project(fails, QUICK);
    let run = p.run(&["deploy", "staging", "--image", NEW, "--no-rollback"]);
    assert_snapshot("deploy_needs_human", &p, &run);
}

#[test]
fn deploy_cancelled() {
    // The new release's gate never decides; SIGINT comes once it has failed a few probes.
    let (p, f) = project(
        fails,
        "healthy_after: 3, unhealthy_after: 1000, deadline: 60s",
    );
    let child = p
        .shipit(&["deploy", "staging", "--image", NEW])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(eventually(Duration::from_secs(20), || f
        .server
        .hits("/health")
        > 8));
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let mut run = Run::from(child.wait_with_output().unwrap());
    // How many probes failed before the signal landed depends on the machine's load: the
    // snapshot keeps the first three and says where the others were.
    let mut kept = Vec::new();
    let mut cut = false;
    for line in run.stderr.lines() {
        let later_probe = line.contains(") probe ")
            && line
                .split(") probe ")
                .nth(1)
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > 3);
        if later_probe {
            if !cut {
                kept.push("[more failing probes]".to_owned());
                cut = true;
            }
        } else {
            kept.push(line.to_owned());
        }
    }
    assert!(
        cut,
        "SIGINT came after more than three probes:\n{}",
        run.stderr
    );
    run.stderr = kept.join("\n") + "\n";
    assert_snapshot("deploy_cancelled", &p, &run);
}

#[test]
fn rollback() {
    let (p, _f) = project(ok, QUICK);
    let run = p.run(&["rollback", APP]);
    assert_snapshot("rollback", &p, &run);
}

#[test]
fn status() {
    let (p, _f) = project(ok, QUICK);
    let run = p.run(&["status", "staging"]);
    assert_snapshot("status", &p, &run);
}

#[test]
fn health() {
    let (p, _f) = project(ok, QUICK);
    let run = p.run(&["health", "staging"]);
    assert_snapshot("health", &p, &run);
}

#[test]
fn smoke() {
    let (p, _f) = project(ok, QUICK);
    let run = p.run(&["smoke", "staging"]);
    assert_snapshot("smoke", &p, &run);
}
