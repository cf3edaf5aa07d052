//! `shipit plan`: every step with the exact flyctl argv and the rollback target, on the example
//! project `shipit init` writes, and never a deploy call.

use serde_json::json;

use crate::support::{Project, fly_app};

const IMAGE: &str = "registry.fly.io/myapp-staging:deployment-v3";

fn example() -> Project {
    let p = Project::new();
    p.run(&["init", "--name", "myapp"]).code(0);
    p.fly_state(&json!({"apps": {"myapp-staging": fly_app("myapp-staging", 3, IMAGE, 2)}}));
    p
}

#[test]
fn plan_prints_the_flyctl_argv_and_the_rollback_target_and_changes_nothing() {
    let p = example();
    let before = p.state();
    let run = p.run(&["plan", "staging"]);
    run.code(0)
        .stdout_has("flyctl deploy --app myapp-staging --config ")
        .stdout_has("fly/myapp-staging.toml --remote-only --yes")
        .stdout_has(&format!("rollback target: v3 ({IMAGE})"))
        .stdout_has(&format!("--image {IMAGE}"))
        .stdout_has("health gate: GET https://myapp-staging.fly.dev/health");
    assert!(
        p.deploy_calls().is_empty(),
        "plan must not deploy: {:?}",
        p.fly_calls()
    );
    assert!(
        p.fly_calls()
            .iter()
            .all(|c| matches!(c[0].as_str(), "status" | "releases")),
        "{:?}",
        p.fly_calls()
    );
    assert_eq!(p.state(), before, "the double's state is unchanged");
}

#[test]
fn plan_json_and_deploy_dry_run_say_the_same() {
    let p = example();
    let plan = p.run(&["plan", "staging", "--json"]);
    plan.code(0);
    let doc = plan.json();
    let web = &doc["services"][0];
    assert_eq!(web["app"], "myapp-staging");
    assert_eq!(web["rollback_target"]["version"], 3);
    assert_eq!(web["flyctl_argv"][1], "deploy");
    let dry = p.run(&["deploy", "staging", "--dry-run", "--json"]);
    dry.code(0);
    assert_eq!(dry.json()["services"][0]["flyctl_argv"], web["flyctl_argv"]);
    assert!(p.deploy_calls().is_empty());
}

#[test]
fn plan_says_what_preflight_would_refuse() {
    let p = example();
    p.fly_state(&json!({"apps": {}}));
    p.run(&["plan", "staging"])
        .code(1)
        .stdout_has("preflight would refuse")
        .stdout_has("Could not find App");
    assert!(p.deploy_calls().is_empty());
}

#[test]
fn show_settings_dumps_the_resolved_flags_and_config_without_running() {
    let p = example();
    let run = p.run(&[
        "--show-settings",
        "deploy",
        "staging",
        "--no-rollback",
        "--wait-lock",
        "90s",
        "--image",
        "r:1",
    ]);
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["settings"]["rollback"], false);
    assert_eq!(doc["settings"]["image"], "r:1");
    assert_eq!(doc["settings"]["wait_lock"]["secs"], 90);
    let web = &doc["config"]["environments"][0]["services"][0];
    assert_eq!(web["app"], "myapp-staging");
    assert_eq!(web["health"]["path_source"], "fly_toml");
    assert!(p.fly_calls().is_empty(), "nothing ran");
}

#[test]
fn show_settings_covers_every_command_and_the_resolved_deploy_plan() {
    let p = example();
    let cases: [(&[&str], &str); 6] = [
        (&["status", "staging", "--app", "web"], "status"),
        (&["smoke", "staging", "--junit", "out.xml"], "smoke"),
        (&["history", "--limit", "3"], "history"),
        (&["notify", "test"], "notify_test"),
        (&["config", "check"], "config_check"),
        (&["plan", "staging", "--strategy", "immediate"], "plan"),
    ];
    for (args, command) in cases {
        let mut argv = vec!["--show-settings"];
        argv.extend_from_slice(args);
        let run = p.run(&argv);
        run.code(0);
        let doc = run.json();
        assert_eq!(doc["settings"]["command"], command, "{args:?}");
    }
    let doc = p
        .run(&[
            "--show-settings",
            "plan",
            "staging",
            "--strategy",
            "immediate",
        ])
        .json();
    assert_eq!(doc["settings"]["strategy"], "immediate");
    let web = &doc["resolved"][0];
    assert_eq!(web["request"]["strategy"], "immediate", "the flag wins");
    assert_eq!(web["rollback"], "auto");
    p.run(&["--show-settings", "deploy", "staging", "--strategy", "yolo"])
        .code(2);
    assert!(p.fly_calls().is_empty(), "nothing ran");
}

/// A smoke suite is read with the config: a bad condition in it stops `config check`, `plan` and
/// `deploy` with the file, line and what to do, before any deploy call.
#[test]
fn a_smoke_file_with_a_bad_condition_fails_before_any_deploy_call() {
    let p = example();
    p.write(
        "smoke/web.yml",
        "checks:\n  - name: home\n    path: /\n    expect: [\"[STATUS] === 200\"]\n",
    );
    for args in [
        &["config", "check"][..],
        &["plan", "staging"][..],
        &["deploy", "staging"][..],
    ] {
        p.run(args)
            .code(1)
            .stderr_has("smoke/web.yml:4")
            .stderr_has("[STATUS] === 200");
    }
    assert!(p.deploy_calls().is_empty(), "{:?}", p.deploy_calls());
}
