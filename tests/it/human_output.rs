//! What a user reads, compared whole: the human output (exit code, stdout, stderr) of `deploy`
//! (success, rolled back, needs human, cancelled), `rollback`, `status`, `health`, `smoke`,
//! `plan`, `config check` errors and `--help` against snapshots in
//! `tests/it/snapshots/human/` (`support::snapshot`: times, ports, paths, run ids and measured
//! durations filtered; `plan`, `config check` and `--help` measure nothing, so their configured
//! durations stay). `UPDATE_SNAPSHOTS=1` rewrites them; a change of
//! wording shows in review as a change of these files.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::support::fleet::FleetServer;
use crate::support::server::Behaviour;
use crate::support::snapshot::{assert_settled_snapshot, assert_snapshot};
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

// `shipit plan`: the dry run a reviewer reads before approving a deploy.

#[test]
fn plan() {
    let (p, _f) = project(ok, QUICK);
    let run = p.run(&["plan", "staging", "--image", NEW]);
    assert_settled_snapshot("plan", &p, &run);
}

#[test]
fn plan_canary() {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 3)}}));
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  strategy: canary\n  canary: {{ machines: 1, duration: 2m }}\n  health: {{ path: /health }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: https://{APP}.fly.dev, fly_config: fly/hotdash-staging.toml }}\n"
    ));
    let run = p.run(&["plan", "staging", "--image", NEW]);
    assert_settled_snapshot("plan_canary", &p, &run);
}

#[test]
fn plan_database() {
    // The database's URL comes from the job's environment; plan reads it, connects to nothing
    // (nothing listens on port 1) and never shows the password.
    const PASSWORD: &str = "plan-snapshot-db-password";
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}}));
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.write(
        "supabase/migrations/20260101000000_init.sql",
        "CREATE TABLE notes (id bigint);\n",
    );
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: https://{APP}.fly.dev, fly_config: fly/hotdash-staging.toml }}\n    database:\n      url: \"${{STAGING_DB_URL}}\"\n      migrations: supabase/migrations\ngates: {{ database: true }}\n"
    ));
    let run = Run::from(
        p.shipit(&["plan", "staging", "--image", NEW])
            .env(
                "STAGING_DB_URL",
                format!("postgres://app:{PASSWORD}@127.0.0.1:1/app"),
            )
            .output()
            .expect("run shipit"),
    );
    assert!(
        !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
        "the password leaked:\n{}{}",
        run.stdout,
        run.stderr
    );
    assert_settled_snapshot("plan_database", &p, &run);
}

// `shipit config check` on realistic mistakes: the exit code and the error whole.

/// A project whose staging/web is otherwise valid; `web` is the app's block, `smoke` the smoke
/// file's text.
fn bad_config(web: &str, smoke: &str, extra: &str) -> Project {
    let p = Project::new();
    p.write("smoke/web.yml", smoke);
    p.config(&format!(
        "version: 1\napps:\n  web:\n{web}    smoke: smoke/web.yml\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: https://{APP}.fly.dev }}\n{extra}"
    ));
    p
}

const SMOKE: &str =
    "checks:\n  - name: home page renders\n    path: /\n    expect: [\"[STATUS] == 200\"]\n";

#[test]
fn config_check_misspelt_key() {
    let p = bad_config("    helth: { path: /health }\n", SMOKE, "");
    let run = p.run(&["config", "check"]);
    assert_settled_snapshot("config_check_misspelt_key", &p, &run);
}

#[test]
fn config_check_bad_condition_in_a_smoke_file() {
    let p = bad_config(
        "    health: { path: /health }\n",
        "checks:\n  - name: home page renders\n    path: /\n    expect: [\"[STATUS] == 200\", \"[BODY] contians HotDash\"]\n",
        "",
    );
    let run = p.run(&["config", "check"]);
    assert_settled_snapshot("config_check_bad_condition_in_a_smoke_file", &p, &run);
}

#[test]
fn config_check_unset_variable() {
    let p = bad_config(
        "    health: { path: /health }\n",
        SMOKE,
        "notify:\n  - slack: { webhook_url: \"${SHIPIT_SNAPSHOT_UNSET_SLACK_HOOK}\" }\n",
    );
    let run = p.run(&["config", "check"]);
    assert_settled_snapshot("config_check_unset_variable", &p, &run);
}

#[test]
fn config_check_yaml_syntax_error() {
    let p = bad_config("    health: { path: /health\n", SMOKE, "");
    let run = p.run(&["config", "check"]);
    assert_settled_snapshot("config_check_yaml_syntax_error", &p, &run);
}

// `--help`: what a user reads first. clap wraps help at the width of the first of stdout,
// stderr and stdin that is a terminal, else at COLUMNS: none is one here (stdin is null, the
// others piped), so COLUMNS, set on the one command, fixes the width.

fn help(args: &[&str]) -> (Project, Run) {
    let p = Project::new();
    let run = Run::from(
        p.shipit(args)
            .env("COLUMNS", "100")
            .output()
            .expect("run shipit"),
    );
    (p, run)
}

#[test]
fn help_top_level() {
    let (p, run) = help(&["--help"]);
    assert_settled_snapshot("help", &p, &run);
}

#[test]
fn help_deploy() {
    let (p, run) = help(&["deploy", "--help"]);
    assert_settled_snapshot("help_deploy", &p, &run);
}

#[test]
fn help_rollback() {
    let (p, run) = help(&["rollback", "--help"]);
    assert_settled_snapshot("help_rollback", &p, &run);
}

#[test]
fn help_check() {
    let (p, run) = help(&["check", "--help"]);
    assert_settled_snapshot("help_check", &p, &run);
}
