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
        (vec!["watch", "staging", "--for", "0s"], "--for"),
        (
            vec!["watch", "staging", "--for", "1h", "--interval", "0ms"],
            "--interval",
        ),
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

/// A usage error's `--json` document says what clap says, not only its first line: the
/// missing argument's name and the values a flag accepts.
#[test]
fn a_json_usage_error_names_what_is_missing_or_allowed() {
    let p = project("");
    let r = p.run(&["deploy", "--json"]);
    r.code(2);
    let doc = one_document(&["deploy", "--json"], &r);
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("<ENV>"), "{doc}");
    let r = p.run(&["deploy", "staging", "--strategy", "bogus", "--json"]);
    r.code(2);
    let doc = one_document(&["--strategy", "bogus"], &r);
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.contains("possible values: rolling"), "{doc}");
    assert!(!message.contains("Usage:"), "{doc}");
}

/// Stdout of a `--json` run: exactly one JSON document (serde rejects trailing text).
fn one_document(args: &[&str], r: &crate::support::Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} (exit {}): stdout is not one JSON document ({e}):\n{}\n--- stderr\n{}",
            r.code, r.stdout, r.stderr
        )
    })
}

/// A healthy project behind a fleet server, with a smoke suite, so every command can succeed.
fn healthy_project() -> (
    Project,
    crate::support::fleet::FleetServer,
    crate::support::server::Server,
) {
    use crate::support::fleet::FleetServer;
    use crate::support::server::{Behaviour, Server};
    let p = Project::new();
    let hooks = Server::start([("/hook", Behaviour::status(204))]);
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, "registry.fly.io/hotdash-staging:deployment-v3", 2)}}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, _| {
        Behaviour::ok("{\"ok\":true}")
    });
    p.fly_toml("fly/staging.toml", APP);
    p.write(
        "smoke/web.yml",
        "checks:\n  - name: health\n    path: /health\n    expect: [\"[STATUS] == 200\"]\n",
    );
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 2, deadline: 3s }}\n  regression: {{ probes: 2 }}\n  deploy_timeout: 20s\napps:\n  web: {{ smoke: smoke/web.yml }}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/staging.toml }}\nnotify:\n  - webhook: {{ url: \"{}\" }}\n",
        fleet.url(),
        hooks.url_for("/hook")
    ));
    (p, fleet, hooks)
}

/// The commands added after the first `--json` test (releases, check, watch, drill, the
/// record's reports, cost, runbook, the database and store commands) hold the same rule: one
/// document on stdout, whether they succeed or fail, with the exit code they would have anyway.
#[test]
fn json_is_one_document_for_the_later_commands_too() {
    let (p, _fleet, _hooks) = healthy_project();
    // A line in the log buffer: `logs --no-tail` never returns on an empty one.
    let mut state = p.state();
    state["apps"][APP]["logs"] = json!([{"level": "info", "instance": "148ed193b95089", "message": "GET /health 200", "region": "iad", "timestamp": shipit::timefmt::now()}]);
    p.fly_state(&state);
    let runbook = p.file("runbook.md");
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["releases", "staging"], 0),
        (vec!["releases", "nope"], 1),
        (vec!["check", "staging"], 0),
        (vec!["check", "nope"], 1),
        (
            vec!["watch", "staging", "--for", "200ms", "--interval", "100ms"],
            0,
        ),
        (vec!["watch", "nope", "--for", "1s"], 1),
        (vec!["drill", "nope"], 1),
        (vec!["promote", "staging", "nope"], 1),
        (vec!["parity", "staging", "nope"], 1),
        (vec!["report"], 0),
        (vec!["cost", "staging"], 0),
        (vec!["cost", "nope"], 1),
        (vec!["runbook", "--out", runbook.to_str().unwrap()], 0),
        (vec!["db", "verify", "staging"], 1),
        (vec!["store", "migrate", "--from", "local"], 1),
    ];
    for (args, code) in &cases {
        let mut full = vec!["--json"];
        full.extend(args);
        let r = p.run(&full);
        assert_eq!(r.code, *code, "{args:?}\n{}\n{}", r.stdout, r.stderr);
        let doc = one_document(&full, &r);
        if *code == 0 {
            assert!(doc.get("error").is_none(), "{args:?}: {doc}");
        } else {
            assert!(doc["error"]["message"].is_string(), "{args:?}: {doc}");
        }
    }
}

#[test]
fn json_is_one_document_on_success_and_on_every_failure() {
    let (p, _fleet, _hooks) = healthy_project();
    let init_dir = p.file("fresh");
    let successes: Vec<Vec<&str>> = vec![
        vec!["config", "check"],
        vec!["status", "staging"],
        vec!["baseline", "staging"],
        vec!["health", "staging"],
        vec!["smoke", "staging"],
        vec!["plan", "staging"],
        vec![
            "deploy",
            "staging",
            "--image",
            "registry.fly.io/hotdash-staging:new",
        ],
        vec!["rollback", APP],
        vec!["history"],
        vec!["explain", "last"],
        vec!["notify", "test"],
        vec!["init", "--dir", init_dir.to_str().unwrap()],
    ];
    for args in &successes {
        let mut full = vec!["--json"];
        full.extend(args);
        let r = p.run(&full);
        assert_eq!(r.code, 0, "{args:?}\n{}\n{}", r.stdout, r.stderr);
        let doc = one_document(&full, &r);
        assert!(doc.get("error").is_none(), "{args:?}: {doc}");
    }

    // A config that does not load: every command that reads it answers with an error document
    // and keeps its exit code.
    let broken = Project::new();
    broken.config("version: 1\napps:\n  web: {}\nenvironments:\n  staging:\n    web: { app: a, url: \"http://[::1\" }\n");
    let failures: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["config", "check"], 1, "config"),
        (vec!["status", "staging"], 1, "config"),
        (vec!["baseline", "staging"], 1, "config"),
        (vec!["health", "staging"], 1, "config"),
        (vec!["smoke", "staging"], 1, "config"),
        (vec!["plan", "staging"], 1, "config"),
        (vec!["deploy", "staging"], 1, "config"),
        (vec!["rollback", "staging"], 1, "config"),
        (vec!["notify", "test"], 1, "config"),
        (vec!["explain", "nope"], 1, "error"),
        (vec!["deploy"], 2, "usage"),
        (vec!["deploy", "staging", "--strategy", "bogus"], 2, "usage"),
        (vec!["frobnicate"], 2, "usage"),
    ];
    for (args, code, kind) in &failures {
        let mut full = vec!["--json"];
        full.extend(args);
        let r = broken.run(&full);
        assert_eq!(r.code, *code, "{args:?}\n{}\n{}", r.stdout, r.stderr);
        let doc = one_document(&full, &r);
        assert_eq!(doc["error"]["kind"], *kind, "{args:?}: {doc}");
        assert!(
            doc["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{args:?}: {doc}"
        );
        assert!(doc["error"].get("hint").is_some(), "{args:?}: {doc}");
    }
    // init into a folder that already holds the files.
    let r = p.run(&["--json", "init", "--dir", init_dir.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(one_document(&["init"], &r)["error"]["message"].is_string());

    // flyctl missing: the platform's kind and its install hint.
    let r = crate::support::Run::from(
        p.shipit(&["--json", "status", "staging"])
            .env("SHIPIT_FLYCTL", p.file("no-such-flyctl"))
            .output()
            .unwrap(),
    );
    let doc = one_document(&["status"], &r);
    assert_ne!(r.code, 0);
    assert!(doc.get("error").is_some() || doc.is_array(), "{doc}");
}

#[test]
fn demo_prints_one_document_and_never_overwrites_a_project() {
    let p = Project::new();
    let dir = p.file("demo");
    let dir_s = dir.to_str().unwrap();
    let r = p.run(&["--json", "demo", "--dir", dir_s]);
    r.code(0);
    let doc = one_document(&["demo"], &r);
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(2), "{doc}");
    assert_eq!(doc["as_expected"], true);

    // Its own folder again: not without --force.
    p.run(&["demo", "--dir", dir_s])
        .code(1)
        .stderr_has("is not empty")
        .stderr_has("--force");

    // A project's folder: never, not even with --force, and nothing in it changes.
    let project = project("");
    project.write("feedback/deployment.md", "# our log\n");
    let before = project.read("shipit.yml");
    let here = project.path().to_str().unwrap().to_owned();
    for args in [
        vec!["demo", "--dir", &here],
        vec!["demo", "--dir", &here, "--force"],
    ] {
        project.run(&args).code(1).stderr_has("holds a project");
    }
    assert_eq!(project.read("shipit.yml"), before);
    assert_eq!(project.read("feedback/deployment.md"), "# our log\n");
    assert!(!project.file(".shipit/runs").exists());
}

#[test]
fn a_run_refused_by_the_lock_notifies_nobody_and_is_in_the_evidence() {
    use crate::support::server::{Behaviour, Server};
    let hooks = Server::start([("/hook", Behaviour::status(204))]);
    let p = project("");
    let yaml = p.read("shipit.yml");
    p.config(&format!(
        "{yaml}notify:\n  - webhook: {{ url: \"{}\" }}\n",
        hooks.url_for("/hook")
    ));
    // Another process holds the lock (its OS lock is what counts).
    std::fs::create_dir_all(p.file(".shipit/locks")).unwrap();
    let lock_file = p.file(&format!(".shipit/locks/{APP}.lock"));
    std::fs::write(&lock_file, "pid 4242 started 2026-12-01T00:00:00Z\n").unwrap();
    let held = std::fs::File::open(&lock_file).unwrap();
    held.lock().unwrap();
    p.run(&["deploy", "staging", "--image", "registry.fly.io/a:b"])
        .code(1)
        .stderr_has("pid 4242");
    assert_eq!(hooks.hits("/hook"), 0, "a refused run sent notifications");
    assert!(p.deploy_calls().is_empty());
    assert!(
        p.read("feedback/deployment.md")
            .contains("locked by another shipit run"),
        "{}",
        p.read("feedback/deployment.md")
    );
}

#[test]
fn runs_started_together_are_refused_with_the_holders_pid() {
    let p = project("");
    let mut state = p.state();
    state["deploys"] = json!([{"outcome": "hang"}]);
    p.fly_state(&state);
    // Nothing answers the health URL, so the baseline fails every probe: forced past that
    // refusal, since this test is about the lock.
    let children: Vec<_> = (0..8)
        .map(|_| {
            p.shipit(&[
                "deploy",
                "staging",
                "--image",
                "registry.fly.io/a:b",
                "--force-unhealthy-baseline",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    // Every run but the holder is refused; the holder hangs in flyctl until it is cancelled.
    assert!(crate::support::eventually(
        std::time::Duration::from_secs(20),
        || !p.deploy_calls().is_empty()
    ));
    let mut running: Vec<_> = children.into_iter().map(Some).collect();
    let mut refused = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while refused < 7 && std::time::Instant::now() < deadline {
        for slot in &mut running {
            let done = slot
                .as_mut()
                .is_some_and(|c| c.try_wait().unwrap().is_some());
            if done {
                let out = slot.take().unwrap().wait_with_output().unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                assert!(
                    stderr.contains("locked by another shipit run in this checkout (pid "),
                    "{stderr}"
                );
                refused += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let holder = running.into_iter().flatten().next();
    let mut holder = holder.expect("one run holds the lock");
    let _ = std::process::Command::new("kill")
        .args(["-INT", &holder.id().to_string()])
        .status();
    let _ = holder.wait();
    assert_eq!(refused, 7);
}

#[test]
fn a_receivers_huge_error_body_is_read_a_little_and_shown_without_escapes() {
    use crate::support::server::{Behaviour, Reply, Server};
    let mut body = b"\x1b]0;pwned\x07\x1b[2J\x1b[31mbad request\r".to_vec();
    body.resize(8 * 1024 * 1024, b'x');
    let hooks = Server::start([("/hook", Behaviour::Reply(Reply::new(400, body)))]);
    let p = project("");
    let yaml = p.read("shipit.yml");
    p.config(&format!(
        "{yaml}notify:\n  - webhook: {{ url: \"{}\" }}\n",
        hooks.url_for("/hook")
    ));
    let r = p.run(&["notify", "test"]);
    r.code(1).stdout_has("HTTP 400: bad request");
    let both = format!("{}{}", r.stdout, r.stderr);
    assert!(
        !both.contains('\u{1b}') && !both.contains('\u{7}'),
        "{both:?}"
    );
    assert!(both.len() < 8 * 1024, "{} bytes of output", both.len());
}

#[test]
fn a_config_error_on_a_huge_line_quotes_a_line_s_worth() {
    let p = project("");
    let huge = "y".repeat(5 * 1024 * 1024);
    let yaml = p.read("shipit.yml").replace(
        "defaults:\n",
        &format!("defaults:\n  strategy: \"{huge}\"\n"),
    );
    p.config(&yaml);
    let r = p.run(&["config", "check"]);
    r.code(1)
        .stderr_has("shipit.yml:3:")
        .stderr_has("unknown strategy");
    assert!(r.stderr.len() < 4096, "{} bytes on stderr", r.stderr.len());
    assert!(r.stderr.contains('…'), "{}", r.stderr);
}

/// Sends SIGINT to a running shipit and returns (exit code, seconds it took, stderr).
fn interrupt(p: &Project, child: std::process::Child) -> (i32, f64, String) {
    let pid = child.id().to_string();
    let sent = std::time::Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status();
    let out = child.wait_with_output().unwrap();
    let _ = p;
    (
        out.status.code().unwrap_or(-1),
        sent.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn sigint_during_a_hung_preflight_query_exits_130_at_once_saying_nothing_changed() {
    let p = project("");
    let mut state = p.state();
    state["hang"] = json!(["status"]);
    p.fly_state(&state);
    let child = p
        .shipit(&["deploy", "staging", "--image", "registry.fly.io/a:b"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(crate::support::eventually(
        std::time::Duration::from_secs(20),
        || p.fly_calls()
            .iter()
            .any(|c| c.first().is_some_and(|a| a == "status"))
    ));
    let (code, secs, stderr) = interrupt(&p, child);
    assert_eq!(code, 130, "{stderr}");
    assert!(secs < 10.0, "took {secs}s after SIGINT\n{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("nothing was changed"),
        "last line: {last}\n{stderr}"
    );
    assert!(p.deploy_calls().is_empty());
}

#[test]
fn a_hung_flyctl_query_is_named_when_it_is_cut_short() {
    let p = project("");
    let mut state = p.state();
    state["hang"] = json!(["status"]);
    p.fly_state(&state);
    let child = p
        .shipit(&["status", "staging"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(crate::support::eventually(
        std::time::Duration::from_secs(20),
        || !p.fly_calls().is_empty()
    ));
    let (_, secs, stderr) = interrupt(&p, child);
    assert!(secs < 10.0, "took {secs}s after SIGINT\n{stderr}");
    assert!(stderr.contains("`flyctl status"), "{stderr}");
}

#[test]
fn build_output_that_is_not_utf8_is_drained_and_the_deploy_goes_on() {
    let (p, _fleet, _hooks) = healthy_project();
    let mut state = p.state();
    state["deploys"] = json!([{"outcome": "ok", "noise_kb": 512}]);
    p.fly_state(&state);
    let r = p.run(&[
        "deploy",
        "staging",
        "--image",
        "registry.fly.io/hotdash-staging:new",
    ]);
    r.code(0).stderr_has("caf\u{fffd}");
    assert!(!r.stderr.contains("deploy_timeout"), "{}", r.stderr);
}

#[test]
fn every_unset_or_empty_variable_is_reported_in_one_run() {
    let p = project("");
    let yaml = p.read("shipit.yml");
    p.config(&format!(
        "{yaml}notify:\n  - slack: {{ webhook_url: \"${{HOSTILE_SLACK}}\" }}\n  - webhook: {{ url: \"${{HOSTILE_HOOK}}\", secret: \"${{HOSTILE_SECRET}}\" }}\n"
    ));
    let r = crate::support::Run::from(
        p.shipit(&["config", "check"])
            .env_remove("HOSTILE_SLACK")
            .env_remove("HOSTILE_HOOK")
            .env("HOSTILE_SECRET", "")
            .output()
            .unwrap(),
    );
    r.code(1)
        .stderr_has("3 environment variables")
        .stderr_has("`HOSTILE_SLACK` is not set (line 10)")
        .stderr_has("`HOSTILE_HOOK` is not set (line 11)")
        .stderr_has("`HOSTILE_SECRET` is empty (line 11)")
        .stderr_has("GitHub passes an unset secret as an empty string");
}

/// A smoke suite's variables get the same check as the config's: every one at once, and an
/// empty one is not sent as a value (`Authorization: Bearer ` with nothing after it).
#[test]
fn every_unset_or_empty_variable_of_a_smoke_suite_is_reported_in_one_run() {
    let p = project("");
    let yaml = p
        .read("shipit.yml")
        .replace("web: {}", "web: { smoke: smoke/web.yml }");
    p.config(&yaml);
    p.write(
        "smoke/web.yml",
        "checks:\n  - name: api\n    path: /api\n    headers: { Authorization: \"Bearer ${HOSTILE_API_TOKEN}\", X-Other: \"${HOSTILE_OTHER}\" }\n    json: { key: \"${HOSTILE_JSON}\" }\n",
    );
    let r = crate::support::Run::from(
        p.shipit(&["config", "check"])
            .env("HOSTILE_API_TOKEN", "")
            .env_remove("HOSTILE_OTHER")
            .env_remove("HOSTILE_JSON")
            .output()
            .unwrap(),
    );
    r.code(1)
        .stderr_has("smoke/web.yml:4:")
        .stderr_has("3 environment variables")
        .stderr_has("`HOSTILE_API_TOKEN` is empty (line 4)")
        .stderr_has("`HOSTILE_OTHER` is not set (line 4)")
        .stderr_has("`HOSTILE_JSON` is not set (line 5)")
        .stderr_has("GitHub passes an unset secret as an empty string");
}

/// The commands that read only the record's settings (`history`, `explain`) say an empty
/// variable is empty too: the workflows pass `SHIPIT_STORE_URL: ${{ secrets.SHIPIT_STORE_URL }}`,
/// which is an empty string when the secret does not exist, never an unset variable.
#[test]
fn an_empty_store_variable_is_called_empty_by_the_record_commands() {
    let p = project("");
    let yaml = p.read("shipit.yml");
    p.config(&format!(
        "{yaml}store: {{ postgres: {{ url: \"${{HOSTILE_STORE_URL}}\" }} }}\n"
    ));
    for args in [&["history"][..], &["explain", "last"]] {
        let r = crate::support::Run::from(
            p.shipit(args)
                .env("HOSTILE_STORE_URL", "")
                .output()
                .unwrap(),
        );
        r.code(1)
            .stderr_has("`HOSTILE_STORE_URL` is empty")
            .stderr_has("GitHub passes");
    }
}

#[test]
fn a_staging_service_on_productions_fly_toml_is_a_warning() {
    let p = Project::new();
    p.fly_toml("fly/staging.toml", "hotdash-staging");
    p.fly_toml("fly/production.toml", "hotdash-production");
    p.config("version: 1\napps:\n  web: {}\nenvironments:\n  staging:\n    web: { app: hotdash-staging, url: \"http://127.0.0.1:9\", fly_config: fly/production.toml }\n  production:\n    web: { app: hotdash-production, url: \"http://127.0.0.1:9\", fly_config: fly/production.toml }\n");
    p.run(&["config", "check"])
        .code(0)
        .stderr_has("warning: staging/web (hotdash-staging) uses fly/production.toml, which is production's fly.toml")
        .stderr_has("share fly/production.toml");
    // Each on its own file: no warning.
    p.config("version: 1\napps:\n  web: {}\nenvironments:\n  staging:\n    web: { app: hotdash-staging, url: \"http://127.0.0.1:9\", fly_config: fly/staging.toml }\n  production:\n    web: { app: hotdash-production, url: \"http://127.0.0.1:9\", fly_config: fly/production.toml }\n");
    let r = p.run(&["config", "check"]);
    r.code(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

#[test]
fn rollback_refuses_an_app_outside_the_environment_it_was_told() {
    let p = Project::new();
    p.fly_state(&json!({"apps": {
        "hotdash-staging": fly_app("hotdash-staging", 3, "registry.fly.io/hotdash-staging:deployment-v3", 1),
        "hotdash-production": fly_app("hotdash-production", 5, "registry.fly.io/hotdash-production:deployment-v5", 1),
    }}));
    p.config("version: 1\napps:\n  web: {}\nenvironments:\n  staging:\n    web: { app: hotdash-staging, url: \"http://127.0.0.1:9\" }\n  production:\n    web: { app: hotdash-production, url: \"http://127.0.0.1:9\" }\n");
    p.run(&["rollback", "hotdash-production", "--env", "staging"])
        .code(1)
        .stderr_has("production/web (hotdash-production) belongs to environment `production`, not `staging`");
    p.run(&["rollback", "production", "--env", "staging"])
        .code(1)
        .stderr_has("not `staging`");
    p.run(&["rollback", "staging", "--env", "stagign"])
        .code(1)
        .stderr_has("--env `stagign` is not an environment");
    assert!(p.deploy_calls().is_empty());
}

#[test]
fn init_ignores_shipits_local_state_and_keeps_the_users_gitignore() {
    let p = Project::new();
    p.run(&["init"]).code(0).stdout_has("created .gitignore");
    assert!(p.read(".gitignore").lines().any(|l| l == ".shipit/"));
    let q = Project::new();
    q.write(".gitignore", "target");
    q.run(&["init"]).code(0).stdout_has("updated .gitignore");
    let text = q.read(".gitignore");
    assert!(text.starts_with("target\n"), "{text}");
    assert_eq!(text.matches(".shipit/").count(), 1, "{text}");
    q.run(&["init", "--force"]).code(0);
    assert_eq!(q.read(".gitignore").matches(".shipit/").count(), 1);
}

#[test]
fn a_response_time_without_a_unit_suggests_milliseconds() {
    let p = project(", expect: [\"[RESPONSE_TIME] < 2000\"]");
    p.run(&["config", "check"])
        .code(1)
        .stderr_has("write `2000ms`");
}

#[test]
fn foreign_text_in_the_evidence_log_is_escaped() {
    use crate::support::server::{Behaviour, Server};
    let app = Server::start([("/health", Behaviour::ok("<script>alert(1)</script> | x"))]);
    let p = Project::new();
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, expect: [\"[BODY] == ok\"] }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\" }}\n",
        app.url()
    ));
    p.run(&["health", "staging"]);
    let log = p.read("feedback/deployment.md");
    assert!(log.contains("&lt;script&gt;"), "{log}");
    assert!(!log.contains("<script>"), "{log}");
    assert!(!log.contains("</script> |"), "{log}");
}

#[test]
fn an_echoed_basic_authorization_header_is_masked_everywhere() {
    use crate::support::server::{Behaviour, Server};
    // What a server that echoes its request headers answers to http://ops:s3cret-pw-42@host.
    const ENCODED: &str = "b3BzOnMzY3JldC1wdy00Mg==";
    let app = Server::start([(
        "/health",
        Behaviour::ok(&format!("authorization: Basic {ENCODED}")),
    )]);
    let url = app.url().replace("http://", "http://ops:s3cret-pw-42@");
    let p = Project::new();
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, expect: [\"[BODY] == ok\"] }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"${{HOSTILE_APP_URL}}\" }}\n"
    ));
    let r = crate::support::Run::from(
        p.shipit(&["health", "staging"])
            .env("HOSTILE_APP_URL", &url)
            .output()
            .unwrap(),
    );
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("[BODY]") || r.stdout.contains("[BODY]"),
        "{}",
        r.stderr
    );
    for (what, text) in [
        ("stdout", r.stdout.clone()),
        ("stderr", r.stderr.clone()),
        ("evidence", p.read("feedback/deployment.md")),
    ] {
        assert!(
            !text.contains(ENCODED),
            "{what} leaks the encoded credentials:\n{text}"
        );
        assert!(!text.contains("s3cret-pw-42"), "{what}:\n{text}");
    }
}

#[test]
fn flyctl_success_with_no_machine_changed_is_its_own_outcome() {
    let (p, _fleet, _hooks) = healthy_project();
    let mut state = p.state();
    state["deploys"] = json!([{"outcome": "unchanged"}]);
    p.fly_state(&state);
    let r = p.run(&[
        "deploy",
        "staging",
        "--image",
        "registry.fly.io/hotdash-staging:new",
    ]);
    r.code(1)
        .stderr_has("flyctl reported success but changed nothing")
        .stderr_has("nothing was changed");
    assert_eq!(
        p.deploy_calls().len(),
        1,
        "no redeploy of an untouched fleet"
    );
}

#[test]
fn a_scheduled_check_tells_chat_only_when_its_verdict_changes() {
    use crate::support::server::{Behaviour, Server};
    let app = Server::start([("/health", Behaviour::ok("up"))]);
    let hooks = Server::start([("/hook", Behaviour::status(204))]);
    let p = Project::new();
    p.config(&format!(
        "version: 1\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\" }}\nnotify:\n  - webhook: {{ url: \"{}\" }}\n",
        app.url(),
        hooks.url_for("/hook")
    ));
    // Healthy with nothing on record, healthy again: nothing to say.
    p.run(&["health", "staging"]).code(0);
    p.run(&["health", "staging"])
        .code(0)
        .stderr_has("verdict unchanged");
    assert_eq!(hooks.hits("/hook"), 0);
    // Down: said once, not again while it stays down.
    app.set("/health", Behaviour::status(503));
    p.run(&["health", "staging"]).code(1);
    assert_eq!(hooks.hits("/hook"), 1);
    p.run(&["health", "staging"]).code(1);
    assert_eq!(hooks.hits("/hook"), 1);
    // Back: the recovery is said.
    app.set("/health", Behaviour::ok("up"));
    p.run(&["health", "staging"]).code(0);
    assert_eq!(hooks.hits("/hook"), 2);
}

#[test]
fn plan_without_flyctl_or_token_says_so_with_the_way_out() {
    let p = project("");
    let r = crate::support::Run::from(
        p.shipit(&["plan", "staging"])
            .env("SHIPIT_FLYCTL", p.file("missing-flyctl"))
            .output()
            .unwrap(),
    );
    r.code(1)
        .stdout_has("1. preflight: would refuse:")
        .stderr_has("hint: install flyctl");
    assert!(
        !r.stdout.contains("flyctl found, token present"),
        "{}",
        r.stdout
    );
    let r = crate::support::Run::from(
        p.shipit(&["plan", "staging"])
            .env_remove("FLY_API_TOKEN")
            .output()
            .unwrap(),
    );
    r.code(1)
        .stdout_has("preflight: would refuse: no Fly API token")
        .stderr_has("hint: set FLY_API_TOKEN");
}

#[test]
fn init_and_demo_refuse_a_config_flag_they_would_ignore() {
    let p = Project::new();
    for args in [
        vec!["init", "--config", "other.yml"],
        vec!["--config=other.yml", "demo"],
    ] {
        p.run(&args)
            .code(2)
            .stderr_has("--config is not used by `init` or `demo`");
    }
    assert!(!p.file("shipit.yml").exists());
}

#[test]
fn every_flag_in_help_is_in_the_readme() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let p = Project::new();
    // Every command and subcommand, as `--help` lists them (`Commands:` sections), so a command
    // added later is checked without anyone remembering to list it here.
    let mut commands = vec![String::new()];
    let mut i = 0;
    while i < commands.len() {
        let mut args: Vec<&str> = commands[i].split_whitespace().collect();
        args.push("--help");
        let help = p.run(&args).stdout;
        let subcommands: Vec<String> = help
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|c| *c != "help")
            .map(|c| format!("{} {c}", commands[i]).trim().to_owned())
            .collect();
        commands.extend(subcommands);
        i += 1;
    }
    assert!(commands.len() > 25, "{commands:?}");
    for cmd in &commands {
        let mut args: Vec<&str> = cmd.split_whitespace().collect();
        args.push("--help");
        let r = p.run(&args);
        r.code(0);
        // Options are the lines that start with a flag: `  -q, --quiet  ...`, `  --app <SERVICE>`.
        let flags = r
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
            .flat_map(|l| {
                l.split_whitespace()
                    .take_while(|w| w.starts_with('-'))
                    .map(|w| w.trim_end_matches([',', ')']).to_owned())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        for flag in &flags {
            let flag = flag.as_str();
            if ["--help", "-h", "--show-settings"].contains(&flag) {
                continue;
            }
            assert!(
                readme.match_indices(flag).any(|(i, _)| {
                    let after = readme[i + flag.len()..].chars().next().unwrap_or(' ');
                    let before = readme[..i].chars().next_back().unwrap_or(' ');
                    let word = |c: char| c.is_alphanumeric() || c == '-';
                    !word(after) && !word(before)
                }),
                "`shipit {cmd} --help` lists {flag}, which README.md does not document"
            );
        }
    }
}

/// What the README says of `CI` is what the printer does: it turns the spinner into plain
/// lines and leaves colour alone (only `NO_COLOR` and `--color` change colour), in the flag
/// table and in the environment table alike.
#[test]
fn the_readme_says_what_ci_does_to_colour_in_every_place() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for line in readme
        .lines()
        .filter(|l| l.starts_with('|') && l.contains("`CI`"))
    {
        let first_cell = line.split('|').nth(1).unwrap_or_default();
        let says = line.split('|').nth(2).unwrap_or_default();
        if first_cell.contains("`CI`") {
            assert!(
                !says.contains("no colour"),
                "README says CI turns colour off, which it does not: {line}"
            );
        }
    }
}

/// A newcomer can open every Markdown file the README names: each is in the repository, or is
/// one that shipit itself writes into a project (the evidence log, the runbook, the log's lock).
#[test]
fn the_readme_names_no_markdown_file_that_is_not_in_the_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let written_by_shipit = [
        "feedback/deployment.md",
        "docs/runbook.md",
        ".deployment.md",
    ];
    for word in readme.split(|c: char| !(c.is_alphanumeric() || "./_-".contains(c))) {
        let word = word.trim_end_matches('.');
        if !word.ends_with(".md") || written_by_shipit.contains(&word) {
            continue;
        }
        assert!(
            root.join(word).is_file(),
            "README.md names {word}, which is not in the repository"
        );
    }
}

#[test]
fn machines_that_report_no_image_take_the_rollback_target_from_the_releases() {
    let p = project("");
    let mut state = p.state();
    for m in state["apps"][APP]["machines"].as_array_mut().unwrap() {
        m["image"] = json!("");
    }
    p.fly_state(&state);
    p.run(&["plan", "staging"])
        .stdout_has("rollback target: v3 (registry.fly.io/hotdash-staging:deployment-v3)");
}

#[test]
fn a_baseline_where_every_probe_fails_refuses_the_deploy_unless_forced() {
    // Nothing answers the health URL: the live app is already down.
    let p = project(", interval: 50ms, timeout: 200ms");
    let r = p.run(&["deploy", "staging", "--image", "registry.fly.io/a:b"]);
    r.code(1)
        .stderr_has("already fails all")
        .stderr_has("the app is already down; nothing was deployed")
        .stderr_has("hint: ")
        .stderr_has("--force-unhealthy-baseline");
    assert!(p.deploy_calls().is_empty(), "{:?}", p.deploy_calls());
    // Forced: deployed (and, since nothing ever answers, not recovered), with the warning kept.
    let forced = p.run(&[
        "deploy",
        "staging",
        "--image",
        "registry.fly.io/a:b",
        "--force-unhealthy-baseline",
    ]);
    forced
        .code(4)
        .stderr_has("deploying anyway (--force-unhealthy-baseline)");
    assert!(!p.deploy_calls().is_empty());
    // The flag goes through the settings layer and is shown there.
    let shown = p.run(&[
        "deploy",
        "staging",
        "--force-unhealthy-baseline",
        "--show-settings",
    ]);
    shown.code(0);
    let doc = shown.json();
    assert_eq!(doc["settings"]["force_unhealthy_baseline"], true, "{doc}");
    assert_eq!(
        doc["resolved"][0]["force_unhealthy_baseline"], true,
        "{doc}"
    );
}
