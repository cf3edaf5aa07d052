//! The Fly adapter's edges, seen through `shipit status` (the simplest command that calls
//! flyctl): no token, flyctl missing or misconfigured, output shipit cannot parse, and
//! `flyctl logs --no-tail`, which never returns on an empty log buffer.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::status_cmd::{healthy_apps, project};
use crate::support::{Run, TOKEN};

#[test]
fn no_token_is_flyctls_error_with_a_hint() {
    let project = project(&healthy_apps());
    let out = project
        .shipit(&["status", "staging", "--app", "web"])
        .env_remove("FLY_API_TOKEN")
        .output()
        .unwrap();
    let run = Run::from(out);
    run.code(1)
        .stderr_has("staging/web (web-staging)")
        .stderr_has("flyctl status --json --app web-staging")
        .stderr_has("no access token available")
        .stderr_has("hint: set FLY_API_TOKEN");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn token_not_required_by_the_double_works_without_one() {
    let project = project(&healthy_apps());
    project.fly_state(&json!({"token_required": false, "apps": healthy_apps()}));
    let out = project
        .shipit(&["status", "production"])
        .env_remove("FLY_API_TOKEN")
        .output()
        .unwrap();
    Run::from(out).code(0).stdout_has("web-production");
}

#[test]
fn flyctl_not_on_path_gives_the_install_hint() {
    let project = project(&healthy_apps());
    let empty = tempfile::tempdir().unwrap();
    let out = project
        .shipit(&["status"])
        .env_remove("SHIPIT_FLYCTL")
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let run = Run::from(out);
    run.code(1)
        .stderr_has("flyctl is not installed: neither `flyctl` nor `fly` is on PATH")
        .stderr_has("hint: install flyctl")
        .stderr_has("SHIPIT_FLYCTL");
    assert!(project.fly_calls().is_empty());
}

#[test]
fn fly_on_path_is_used_when_flyctl_is_not() {
    let project = project(&healthy_apps());
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(crate::support::double_bin(), bin.path().join("fly")).unwrap();
    let out = project
        .shipit(&["status", "production"])
        .env_remove("SHIPIT_FLYCTL")
        .env("PATH", bin.path())
        .output()
        .unwrap();
    Run::from(out).code(0).stdout_has("web-production  v12");
}

#[test]
fn shipit_flyctl_pointing_at_a_missing_file() {
    let project = project(&healthy_apps());
    let missing = project.file("bin/flyctl");
    let out = project
        .shipit(&["status"])
        .env("SHIPIT_FLYCTL", &missing)
        .output()
        .unwrap();
    Run::from(out)
        .code(1)
        .stderr_has(&format!(
            "SHIPIT_FLYCTL is set to {}, which is not a file",
            missing.display()
        ))
        .stderr_has("hint: install flyctl");
}

#[test]
fn malformed_json_names_the_command() {
    let project = project(&healthy_apps());
    project.fly_state(&json!({"apps": healthy_apps(), "malformed": ["status"]}));
    let run = project.run(&["status", "staging", "--app", "web"]);
    run.code(1)
        .stderr_has("staging/web (web-staging)")
        .stderr_has("`flyctl status --json --app web-staging` printed output shipit cannot parse")
        .stderr_has("hint: flyctl printed something shipit cannot read");
}

#[test]
fn malformed_releases_json_names_the_command() {
    let project = project(&healthy_apps());
    project.fly_state(&json!({"apps": healthy_apps(), "malformed": ["releases"]}));
    project
        .run(&["baseline", "staging", "--app", "web", "--probes", "0"])
        .code(1)
        .stderr_has(
            "`flyctl releases --json --app web-staging` printed output shipit cannot parse",
        );
    assert!(!project.file(".shipit/baseline/web-staging.json").exists());
}

#[test]
fn logs_on_an_empty_app_return_within_their_timeout() {
    // `flyctl logs --no-tail` polls forever on an empty buffer; `status -v` gives it 2 s.
    let project = project(&healthy_apps());
    let started = Instant::now();
    let run = project.run(&["status", "-v"]);
    let took = started.elapsed();
    run.code(0).stdout_has("logs      none within 2s");
    assert!(took < Duration::from_secs(10), "status -v took {took:?}");
    // All three apps' logs were asked for, concurrently: well under 3 × 2 s.
    let logs_calls = project
        .fly_calls()
        .iter()
        .filter(|c| c.first().is_some_and(|c| c == "logs"))
        .count();
    assert_eq!(logs_calls, 3);
    assert!(
        took < Duration::from_secs(6),
        "the apps are asked concurrently, took {took:?}"
    );
    assert!(
        project
            .fly_calls()
            .iter()
            .any(|c| c.iter().map(String::as_str).eq([
                "logs",
                "--no-tail",
                "--json",
                "--app",
                "web-staging"
            ])),
        "{:?}",
        project.fly_calls()
    );
}

#[test]
fn logs_are_shown_with_verbose() {
    let mut apps = healthy_apps();
    apps["web-production"]["logs"] = json!([
        {"level": "info", "instance": "148ed193b95089", "region": "iad", "timestamp": "2026-11-20T09:00:01Z", "message": "GET /health 200 - - 2.1 ms"},
        {"level": "error", "instance": "148ed193b95089", "region": "iad", "timestamp": "2026-11-20T09:00:02Z", "message": "boom: connection reset"}
    ]);
    let project = project(&apps);
    let run = project.run(&["status", "production", "-v"]);
    run.code(0)
        .stdout_has("  logs")
        .stdout_has("[error] boom: connection reset")
        .stdout_has("GET /health 200");
    let run = project.run(&["status", "production", "-v", "--json"]);
    let logs = &run.code(0).json()[0]["logs"];
    assert_eq!(logs.as_array().map(Vec::len), Some(2));
    assert_eq!(logs[1]["message"], "boom: connection reset");
}

#[test]
fn the_token_never_shows() {
    let project = project(&healthy_apps());
    let mut apps = healthy_apps();
    apps.as_object_mut().unwrap().remove("web-production");
    project.fly_state(&json!({"apps": apps}));
    for args in [&["status", "-v"][..], &["status", "--json"]] {
        let run = project.run(args);
        assert!(
            !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}
