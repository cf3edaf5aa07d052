//! `shipit rollback` and `shipit releases` after real deploys through the flyctl double: the
//! default target never goes back to an image shipit's record rejected, even though Fly lists
//! that release as `complete`.

use serde_json::{Value, json};

use crate::store::{clone_into, git};
use crate::support::fleet::FleetServer;
use crate::support::server::Behaviour;
use crate::support::{Project, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const OLDER: &str = "registry.fly.io/hotdash-staging:deployment-v2";
const BAD: &str = "registry.fly.io/hotdash-staging:bad";

/// staging/web is `APP`, live on `GOOD` (v3, after v1 and v2); the health endpoint answers 200
/// for `GOOD` and `OLDER` and 500 for anything else.
fn project() -> (Project, FleetServer) {
    project_with(Project::new(), "")
}

/// [`project`] in `p`, with `store` (a `store:` line, or nothing) in its shipit.yml.
fn project_with(p: Project, store: &str) -> (Project, FleetServer) {
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, image| {
        if image == GOOD || image == OLDER {
            Behaviour::ok("{\"ok\":true}")
        } else {
            Behaviour::status(500)
        }
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\n{store}defaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 3, unhealthy_after: 3, deadline: 3s }}\n  regression: {{ probes: 3 }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n",
        fleet.url()
    ));
    (p, fleet)
}

fn release(doc: &Value, version: u64) -> &Value {
    doc["apps"][0]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == version)
        .unwrap_or_else(|| panic!("no v{version} in {doc}"))
}

#[test]
fn after_an_automatic_rollback_a_manual_one_puts_back_the_last_good_release() {
    let (p, _f) = project();
    // v4 (BAD) fails the health gate; flyctl itself succeeded, so Fly calls v4 `complete`,
    // and the rollback makes v5 on GOOD.
    p.run(&["deploy", "staging", "--image", BAD]).code(3);
    let state = p.state();
    let v4 = state["apps"][APP]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == 4)
        .unwrap()
        .clone();
    assert_eq!(
        v4["status"], "complete",
        "the double reports the refused release as complete"
    );
    assert_eq!(p.deploy_calls().len(), 2);

    // The dry run says what it would do and deploys nothing.
    let dry = p.run(&["rollback", "staging", "--dry-run"]);
    dry.code(0)
        .stderr_has(&format!("would put back v2 ({OLDER})"))
        .stderr_has(&format!(
            "skipped v4 ({BAD}): its image failed the health gate"
        ))
        .stderr_has(&format!(
            "skipped v3 ({GOOD}): it runs the image the machines run now"
        ))
        .stderr_has("nothing was deployed");
    assert_eq!(p.deploy_calls().len(), 2, "a dry run makes no deploy call");
    let doc = p
        .run(&["rollback", "staging", "--dry-run", "--json"])
        .code(0)
        .json();
    assert_eq!(doc["apps"][0]["target"]["version"], 2);
    assert_eq!(doc["apps"][0]["skipped"][0]["version"], 4);

    // `releases` shows Fly's releases with shipit's verdict beside each.
    let listed = p.run(&["releases", "staging", "--json"]).code(0).json();
    assert_eq!(release(&listed, 4)["verdict"], "rejected", "{listed}");
    assert_eq!(release(&listed, 4)["status"], "complete");
    assert_eq!(release(&listed, 5)["verdict"], "restored", "{listed}");
    assert_eq!(release(&listed, 1)["verdict"], "unknown");
    assert_eq!(listed["apps"][0]["current"]["version"], 5);
    let table = p.run(&["releases", APP]);
    table.code(0).stdout_has("rejected").stdout_has("* v5");

    // The real thing: v2's image goes back, never BAD.
    let run = p.run(&["rollback", "staging"]);
    run.code(0)
        .stderr_has(&format!("puts back v2 ({OLDER})"))
        .stderr_has("skipped v4");
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 3);
    assert!(
        calls[2]
            .windows(2)
            .any(|w| w[0] == "--image" && w[1] == OLDER),
        "{:?}",
        calls[2]
    );
    assert!(!calls[2].iter().any(|a| a == BAD));

    // Asked for by version (`v4`, as shipit writes it), a rejected release is deployed, with
    // a warning that says what the record holds against it.
    p.run(&["rollback", APP, "--to", "v4", "--dry-run"])
        .code(0)
        .stderr_has("would put back v4")
        .stderr_has("deploying it because --to 4 asks for it");
}

#[test]
fn a_bad_release_version_points_at_releases() {
    let (p, _f) = project();
    p.run(&["rollback", APP, "--to", "latest"])
        .code(2)
        .stderr_has("shipit releases");
    p.run(&["rollback", APP, "--to", "9"])
        .code(1)
        .stderr_has("no release v9")
        .stderr_has("`shipit releases hotdash-staging`");
}

#[test]
fn a_fresh_runner_reads_the_rejected_release_from_the_record() {
    // Runner A deploys with a git record and rolls back; runner B is a fresh clone with no
    // `.shipit/` at all and must still skip the refused release.
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--quiet", "--bare", "-b", "main"]);
    let a = Project::new();
    clone_into(remote.path(), a.path());
    let (a, _f) = project_with(a, "store: { git: {} }\n");
    a.run(&["deploy", "staging", "--image", BAD]).code(3);
    let b = Project::new();
    clone_into(remote.path(), b.path());
    b.config(&a.read("shipit.yml"));
    b.fly_toml("fly/hotdash-staging.toml", APP);
    b.write("flyctl-state.json", &a.read("flyctl-state.json"));
    assert!(
        !b.file(".shipit").exists(),
        "runner B starts with no local record"
    );
    b.run(&["rollback", "staging", "--dry-run"])
        .code(0)
        .stderr_has("would put back v2")
        .stderr_has(&format!(
            "skipped v4 ({BAD}): its image failed the health gate"
        ));
    assert!(b.deploy_calls().is_empty());
}

#[test]
fn a_run_that_changed_nothing_says_nothing_against_the_live_release() {
    let (p, _f) = project();
    // flyctl exits 0 but touches no machine: the run fails with every machine still on v3.
    let mut state = p.state();
    state["deploys"] = json!([{"outcome": "unchanged"}]);
    p.fly_state(&state);
    p.run(&["deploy", "staging"])
        .code(1)
        .stderr_has("changed nothing");
    // A manual rollback to a release that does not exist is refused before any change.
    p.run(&["rollback", "staging", "--to", "99"]).code(1);
    let listed = p.run(&["releases", "staging", "--json"]).code(0).json();
    let live = release(&listed, 3);
    assert_ne!(live["verdict"], "rejected", "{listed}");
    assert!(
        !live["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("a rollback put this image back"),
        "no rollback ran: {listed}"
    );
    assert_eq!(release(&listed, 4)["verdict"], "rejected", "{listed}");
}
