//! `shipit drill` and `shipit history --drills` through the real binary, the flyctl double and
//! one health endpoint per app that answers by the image the double's fleet runs, so the
//! rollback and the forward deploy really change what the probes see.

use serde_json::{Value, json};

use crate::parity_cmd::{readme_json, shape};
use crate::support::fleet::FleetServer;
use crate::support::server::Behaviour;
use crate::support::{Project, fly_app};

const STAGING: &str = "hotdash-staging";
const PRODUCTION: &str = "hotdash-production";
/// What staging runs: release v3.
const LIVE: &str = "registry.fly.io/hotdash-staging:deployment-01LIVE";
/// The previous good release, v2 (`fly_app`'s naming).
const PREVIOUS: &str = "registry.fly.io/hotdash-staging:deployment-v2";

/// staging/web and production/web; `unhealthy` is the image their health endpoints fail.
fn project(unhealthy: &'static str) -> (Project, FleetServer, FleetServer) {
    project_with(move |_: &Value, image: &str| image == unhealthy)
}

/// The same, with `fails(state, image)` deciding when the health endpoints answer 503.
fn project_with(
    fails: impl Fn(&Value, &str) -> bool + Clone + Send + 'static,
) -> (Project, FleetServer, FleetServer) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {
        STAGING: fly_app(STAGING, 3, LIVE, 2),
        PRODUCTION: fly_app(PRODUCTION, 9, "registry.fly.io/hotdash-production:deployment-v9", 2),
    }}));
    let pick = move |state: &Value, image: &str| {
        if fails(state, image) {
            Behaviour::status(503)
        } else {
            Behaviour::ok("{\"ok\":true}")
        }
    };
    let staging = FleetServer::start(p.file("flyctl-state.json"), STAGING, pick.clone());
    let production = FleetServer::start(p.file("flyctl-state.json"), PRODUCTION, pick.clone());
    p.fly_toml("fly/staging.toml", STAGING);
    p.fly_toml("fly/production.toml", PRODUCTION);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 2, unhealthy_after: 2, deadline: 3s }}\n  regression: {{ probes: 2 }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {STAGING}, url: \"{}\", fly_config: fly/staging.toml }}\n  production:\n    web: {{ app: {PRODUCTION}, url: \"{}\", fly_config: fly/production.toml }}\n",
        staging.url(),
        production.url()
    ));
    (p, staging, production)
}

fn images(p: &Project, app: &str) -> Vec<String> {
    p.state()["apps"][app]["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["image"].as_str().unwrap().to_owned())
        .collect()
}

fn image_of(call: &[String]) -> Option<&str> {
    call.windows(2)
        .find(|w| w[0] == "--image")
        .map(|w| w[1].as_str())
}

fn receipt(p: &Project, id: &str) -> Value {
    let text = p.read(&format!(".shipit/runs/{id}.json"));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_drill_on_a_healthy_staging_rolls_back_restores_and_records_its_timings() {
    let (p, _s, _p) = project("none");
    let run = p.run(&["drill", "staging", "--json"]);
    run.code(0)
        .stderr_has("drilling the way back to v2")
        .stderr_has("restore forward");
    let doc = run.json();
    assert_eq!(doc["outcome"], "success");
    assert_eq!(doc["exit_code"], 0);
    let s = &doc["services"][0];
    assert_eq!(
        (
            s["original"]["image"].as_str(),
            s["original"]["version"].as_u64()
        ),
        (Some(LIVE), Some(3))
    );
    assert_eq!(
        (
            s["rolled_back_to"]["image"].as_str(),
            s["rolled_back_to"]["version"].as_u64()
        ),
        (Some(PREVIOUS), Some(2))
    );
    assert_eq!(s["detect_ms"], 0);
    let rollback = s["rollback_ms"].as_u64().unwrap();
    let healthy = s["rollback_healthy_ms"].as_u64().unwrap();
    // The gate needs two passes 50 ms apart after the rollback call.
    assert!(healthy >= rollback + 50, "{s}");
    assert!(s["restore_ms"].as_u64().unwrap() > 0);
    assert_eq!(
        (
            s["rollback_healthy"].as_bool(),
            s["restore_healthy"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(s["finish_by_hand"], json!([]));
    assert_eq!(s["live"]["image"], LIVE);

    // Two deploys, the way back and the way forward, in that order; staging ends where it began.
    let deploys = p.deploy_calls();
    let imgs: Vec<Option<&str>> = deploys.iter().map(|c| image_of(c)).collect();
    assert_eq!(imgs, [Some(PREVIOUS), Some(LIVE)], "{deploys:?}");
    assert!(images(&p, STAGING).iter().all(|i| i == LIVE));
    assert!(
        deploys.iter().all(|c| !c.contains(&PRODUCTION.to_owned())),
        "{deploys:?}"
    );

    // The record: a drill run whose service carries the same figures, and an evidence entry.
    let id = doc["run_id"].as_str().unwrap();
    let r = receipt(&p, id);
    assert_eq!(r["kind"], "drill");
    assert_eq!(r["services"][0]["drill"]["rollback_healthy_ms"], healthy);
    assert!(p.read("feedback/deployment.md").contains(id));

    // `history --drills` lists it, as a table and as JSON.
    let table = p.run(&["history", "--drills"]);
    table.code(0).stdout_has("ROLLBACK").stdout_has(id);
    let line = table.stdout.lines().find(|l| l.contains(id)).unwrap();
    assert!(
        line.contains("staging/web (hotdash-staging)") && line.ends_with("healthy"),
        "{line}"
    );
    let trend = p.run(&["history", "--drills", "--json"]).json();
    let rows = trend["drills"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{trend}");
    assert_eq!(
        (
            rows[0]["run_id"].as_str(),
            rows[0]["rollback_healthy_ms"].as_u64(),
            rows[0]["healthy"].as_bool()
        ),
        (Some(id), Some(healthy), Some(true))
    );

    // The dashboard charts it from the same record.
    let dash = p.run(&["report", "--json"]).json();
    assert_eq!(dash["drills"][0]["run_id"], id);
    assert_eq!(dash["drills"][0]["healthy"], true);
}

#[test]
fn a_drill_whose_rollback_gate_fails_exits_4_and_ends_with_the_forward_command() {
    let (p, _s, _p) = project(PREVIOUS);
    let run = p.run(&["drill", "staging"]);
    run.code(4)
        .stderr_has("did NOT finish: a human must act now");
    let forward =
        format!("shipit deploy staging --app web --image {LIVE} --force-unhealthy-baseline");
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.ends_with(&forward),
        "last line: {last}\n{}",
        run.stderr
    );
    // No forward deploy was attempted: the rollback's failure is left for a human to look at.
    let deploys = p.deploy_calls();
    assert_eq!(deploys.len(), 1, "{deploys:?}");
    assert_eq!(image_of(&deploys[0]), Some(PREVIOUS));
    let trend = p.run(&["history", "--drills", "--json"]).json();
    let row = &trend["drills"][0];
    assert_eq!(
        (
            row["rollback_healthy"].as_bool(),
            row["restore_healthy"].as_bool(),
            row["exit_code"].as_u64()
        ),
        (Some(false), None, Some(4)),
        "{trend}"
    );
    // The command it printed finishes the drill.
    let words: Vec<&str> = forward.split(' ').skip(1).collect();
    p.run(&words).code(0);
    assert!(images(&p, STAGING).iter().all(|i| i == LIVE));
}

#[test]
fn a_drill_whose_forward_step_fails_exits_4_with_the_forward_command() {
    // The way back works; the original image fails its health gate once it is deployed again
    // (release v5 onwards), and the forward pipeline rolls back to the release the drill went
    // back to.
    let (p, _s, _p) = project_with(|state: &Value, image: &str| {
        let releases = state["apps"][STAGING]["releases"]
            .as_array()
            .map_or(0, Vec::len);
        image == LIVE && releases >= 5
    });
    let run = p.run(&["drill", "staging", "--json"]);
    run.code(4);
    let forward =
        format!("shipit deploy staging --app web --image {LIVE} --force-unhealthy-baseline");
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.ends_with(&forward),
        "last line: {last}\n{}",
        run.stderr
    );
    let doc = run.json();
    let s = &doc["services"][0];
    assert_eq!(
        (
            s["rollback_healthy"].as_bool(),
            s["restore_healthy"].as_bool()
        ),
        (Some(true), Some(false)),
        "{doc}"
    );
    assert_eq!(s["finish_by_hand"], json!([forward]));
    // Back, forward (failed), and the forward pipeline's own rollback to v2's image.
    let imgs: Vec<Option<String>> = p
        .deploy_calls()
        .iter()
        .map(|c| image_of(c).map(str::to_owned))
        .collect();
    assert_eq!(
        imgs,
        [
            Some(PREVIOUS.to_owned()),
            Some(LIVE.to_owned()),
            Some(PREVIOUS.to_owned())
        ]
    );
    assert!(images(&p, STAGING).iter().all(|i| i == PREVIOUS));
}

#[test]
fn a_drill_on_production_is_refused_without_the_flag_and_calls_no_flyctl() {
    let (p, _s, _p) = project("none");
    let run = p.run(&["drill", "production"]);
    run.code(1)
        .stderr_has("refusing to drill production")
        .stderr_has("--allow-production");
    assert!(p.fly_calls().is_empty(), "{:?}", p.fly_calls());
    // The last environment in shipit.yml counts as production whatever its name.
    let run = p.run(&["drill", "nowhere"]);
    run.code(1).stderr_has("`nowhere` is not an environment");
    assert!(p.fly_calls().is_empty());
    // With the flag it runs.
    p.run(&["drill", "production", "--allow-production"])
        .code(0);
    assert_eq!(p.deploy_calls().len(), 2);
}

#[test]
fn the_readme_documents_the_drill_json() {
    let (p, _s, _p) = project("none");
    let real = p.run(&["drill", "staging", "--json"]).json();
    let documented = readme_json("### `shipit drill`");
    assert_eq!(
        shape(&documented),
        shape(&real),
        "README vs real --json document"
    );
    let trend = p.run(&["history", "--drills", "--json"]).json();
    let documented = readme_json("`shipit history --drills --json`");
    assert_eq!(
        shape(&documented),
        shape(&trend),
        "README vs real trend document"
    );
}

#[test]
fn a_cancelled_drill_exits_130_with_what_is_live_and_the_forward_command() {
    // The way back works; the forward deploy hangs until shipit is interrupted.
    let (p, _s, _p) = project("none");
    let mut world = p.state();
    world["deploys"] = json!([{"outcome": "ok"}, {"outcome": "hang"}]);
    p.fly_state(&world);
    let child = p
        .shipit(&["drill", "staging"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        crate::support::eventually(std::time::Duration::from_secs(20), || p
            .deploy_calls()
            .len()
            == 2),
        "the forward deploy never started"
    );
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let run = crate::support::Run::from(child.wait_with_output().unwrap());
    run.code(130).stderr_has("drill staging cancelled");
    let lines: Vec<&str> = run.stderr.lines().collect();
    let last = lines.last().unwrap();
    assert!(
        last.ends_with(&format!(
            "shipit deploy staging --app web --image {LIVE} --force-unhealthy-baseline"
        )),
        "last line: {last}\n{}",
        run.stderr
    );
    assert!(lines[lines.len() - 2].contains("live:"), "{}", run.stderr);
    let trend = p.run(&["history", "--drills", "--json"]).json();
    assert_eq!(trend["drills"][0]["outcome"], "cancelled", "{trend}");
}

#[test]
fn a_smoke_suite_edited_during_the_drill_is_not_read_again_after_the_rollback() {
    // The forward plan, smoke suite and all, is made before the drill changes anything: a suite
    // broken while the rollback deploys is never parsed, and the restore goes on with the suite
    // the drill began with.
    let (p, _s, _p) = project("none");
    let config = p
        .read("shipit.yml")
        .replace("  web: {}\n", "  web: { smoke: smoke/web.yml }\n");
    p.config(&config);
    p.write(
        "smoke/web.yml",
        "checks:\n  - name: up\n    path: /health\n    expect: [\"[STATUS] == 200\"]\n",
    );
    let mut world = p.state();
    world["deploys"] = json!([{"outcome": "ok", "wait_ms": 1500}]);
    p.fly_state(&world);
    let child = p
        .shipit(&["drill", "staging"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        crate::support::eventually(std::time::Duration::from_secs(20), || !p
            .deploy_calls()
            .is_empty()),
        "the drill's rollback never started"
    );
    p.write(
        "smoke/web.yml",
        "checks:\n  - name: up\n    path: /health\n    expect: [\"[STATUS] === 200\"]\n",
    );
    let run = crate::support::Run::from(child.wait_with_output().unwrap());
    run.code(0);
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 2, "the rollback and the restore: {calls:?}");
    assert_eq!(image_of(&calls[1]), Some(LIVE));
    assert_eq!(images(&p, STAGING), [LIVE, LIVE]);
}
