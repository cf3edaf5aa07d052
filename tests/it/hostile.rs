//! What a new user and a hostile input hit (issue 10): each test runs the real binary on input
//! that once panicked, misled or reached flyctl, and holds the fix in place.

use serde_json::json;

use crate::support::{Project, fly_app};

const APP: &str = "hotdash-staging";

/// A one-service project on the double, live on release 3; nothing listens at its URL.
fn project(health: &str) -> Project {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, "registry.fly.io/hotdash-staging:deployment-v3", 2)}}));
    p.fly_toml("fly/staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health{health} }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"http://127.0.0.1:9\", fly_config: fly/staging.toml }}\n"
    ));
    p
}

#[test]
fn an_out_of_range_duration_is_an_error_not_a_panic() {
    let p = project(", deadline: 99999999999999999999h");
    let r = p.run(&["config", "check"]);
    r.code(1).stderr_has("shipit.yml:3:").stderr_has("too long");
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let p = project("");
    p.run(&["deploy", "staging", "--wait-lock", "99999999999999999999h"])
        .code(2)
        .stderr_has("--wait-lock")
        .stderr_has("too long");
    assert!(p.fly_calls().is_empty());
}

#[test]
fn flag_values_flyctl_would_misread_are_usage_errors_before_any_call() {
    let p = project("");
    for (args, names) in [
        (vec!["deploy", "staging", "--image", ""], "--image"),
        (
            vec!["deploy", "staging", "--image", "reg/app:\u{1b}[2J"],
            "--image",
        ),
        (
            vec!["deploy", "staging", "--image", "--build-only"],
            "--build-only",
        ),
        (vec!["plan", "staging", "--image", " "], "--image"),
        (
            vec!["deploy", "staging", "--strategy", "bogus"],
            "--strategy",
        ),
        (vec!["plan", "staging", "--strategy", "bogus"], "--strategy"),
        (vec!["explain", ""], "RUN"),
        (vec!["rollback", APP, "--to", "latest"], "--to"),
    ] {
        let r = p.run(&args);
        r.code(2).stderr_has(names);
        assert!(
            !r.stderr.contains('\u{1b}'),
            "{args:?}: raw escape echoed: {}",
            r.stderr
        );
    }
    assert!(p.fly_calls().is_empty(), "{:?}", p.fly_calls());
}

#[test]
fn rollback_to_accepts_the_v_form_shipit_writes() {
    let p = project("");
    let r = p.run(&["--show-settings", "rollback", APP, "--to", "v2"]);
    r.code(0);
    assert_eq!(r.json()["settings"]["to"], 2);
}
