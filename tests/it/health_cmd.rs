//! `shipit health` through the real binary: one spot check per app with the runbook's levels,
//! a verdict line each, `--json`, and the exit code.

use std::time::Duration;

use crate::support::Project;
use crate::support::server::{Behaviour, Server, refused_url};

/// A project with `web`, `api` and `jobs` in staging, each at its own URL.
fn project(web: &str, api: &str, jobs: &str) -> Project {
    let p = Project::new();
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ timeout: 1s, expect: ['[STATUS] == 200'] }}\napps:\n  web: {{}}\n  api:\n    health: {{ path: /healthz, expect: ['[STATUS] == 200', '[BODY].ok == true'] }}\n  jobs: {{}}\nenvironments:\n  staging:\n    web: {{ app: web-staging, url: {web} }}\n    api: {{ app: api-staging, url: {api} }}\n    jobs: {{ app: jobs-staging, url: {jobs} }}\n"
    ));
    p
}

#[test]
fn healthy_and_slow_apps_pass_with_a_warning() {
    let server = Server::start([
        ("/health", Behaviour::ok("up")),
        ("/healthz", Behaviour::json(r#"{"ok":true}"#)),
    ]);
    let slow = Server::start([(
        "/health",
        Behaviour::slow(Duration::from_millis(2100), "up"),
    )]);
    let p = project(&server.url(), &server.url(), &slow.url());
    // The slow app needs more than the 1s default of this project to answer at all.
    p.config(
        &p.read("shipit.yml")
            .replace("jobs: {}", "jobs: { health: { timeout: 4s } }"),
    );
    let run = p.run(&["health", "staging"]);
    run.code(0)
        .stdout_has("ok        staging/web (web-staging)  200 in ")
        .stdout_has("ok        staging/api (api-staging)  200 in ")
        .stdout_has("warning   staging/jobs (jobs-staging)  200 in 2.1")
        .stdout_has(": latency 2.1")
        .stderr_has("health staging: 1 warning (jobs), 2 ok");
    assert_eq!(server.hits("/healthz"), 1);
}

#[test]
fn server_errors_and_refused_connections_are_critical_and_exit_1() {
    let server = Server::start([
        ("/health", Behaviour::status(503)),
        ("/healthz", Behaviour::json(r#"{"ok":false}"#)),
    ]);
    let p = project(&server.url(), &server.url(), &refused_url());
    let run = p.run(&["health", "staging"]);
    run.code(1)
        .stdout_has("critical  staging/web (web-staging)  503 in ")
        .stdout_has(": server error 503, [STATUS] (503) == 200")
        .stdout_has("alert     staging/api (api-staging)  200 in ")
        .stdout_has("[BODY].ok (false) == true")
        .stdout_has("critical  staging/jobs (jobs-staging)  no answer in ")
        .stderr_has("error: health staging: 2 critical (web, jobs), 1 alert (api)");
}

#[test]
fn json_is_one_array_of_verdicts_and_one_app_can_be_picked() {
    let server = Server::start([
        ("/health", Behaviour::ok("up")),
        ("/healthz", Behaviour::ok("not json")),
    ]);
    let p = project(&server.url(), &server.url(), &server.url());
    let run = p.run(&["health", "staging", "--app", "api", "--json"]);
    run.code(1);
    let doc = run.json();
    let list = doc.as_array().expect("an array");
    assert_eq!(list.len(), 1);
    let v = &list[0];
    assert_eq!(v["service"], "api");
    assert_eq!(v["app"], "api-staging");
    assert_eq!(v["level"], "alert");
    assert_eq!(v["status"], 200);
    assert_eq!(v["url"], format!("{}/healthz", server.url()));
    assert!(v["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(v["failed"][0], "[BODY].ok (not JSON) == true");
    assert_eq!(server.hits("/health"), 0, "only the picked app is probed");

    let run = p.run(&["health", "web-staging", "--json"]);
    run.code(0);
    assert_eq!(run.json()[0]["level"], "ok");
}

#[test]
fn an_unknown_target_is_an_error_with_a_suggestion() {
    let p = project(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
    );
    p.run(&["health", "stagin"])
        .code(1)
        .stderr_has("did you mean `staging`?");
}
