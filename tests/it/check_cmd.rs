//! `shipit check` through the real binary: the flyctl double for the fleet, its events and logs;
//! servers on 127.0.0.1 for the health endpoints, a webhook receiver and a fake GitHub API; the
//! record's local store, whose stored first-seen time a test moves to cross a window.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::server::{Behaviour, Server};
use crate::support::{Project, Run, fly_app};

const IMAGE: &str = "registry.fly.io/web-staging:deployment-01";

/// A project whose two apps answer at `web` and `api`, a webhook receiver at `hook`, and the
/// issue notifier at `github` (when given).
fn project(web: &str, api: &str, hook: &str, github: Option<&str>, extra: &str) -> Project {
    let p = Project::new();
    let issue = github.map_or_else(String::new, |g| {
        format!("  - github_issue: {{ repository: acme/shop, api_url: \"{g}\" }}\n")
    });
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ timeout: 2s, expect: ['[STATUS] == 200'] }}\napps:\n  web: {{}}\n  api: {{}}\nenvironments:\n  staging:\n    web: {{ app: web-staging, url: {web} }}\n    api: {{ app: api-staging, url: {api} }}\nnotify:\n  - webhook: {{ url: \"{hook}/hook\", on: [alert, resolved] }}\n{issue}{extra}"
    ));
    let mut web_app = fly_app("web-staging", 3, IMAGE, 1);
    web_app["logs"] = json!([{"level": "info", "instance": "148ed193b95089", "message": "GET /health 200 - - 2.1 ms", "region": "iad", "timestamp": shipit::timefmt::now()}]);
    // Each app has a line in its log buffer: `logs --no-tail` never returns on an empty one.
    let mut api_app = fly_app(
        "api-staging",
        2,
        "registry.fly.io/api-staging:deployment-01",
        1,
    );
    api_app["logs"] = web_app["logs"].clone();
    p.fly_state(&json!({"apps": {"web-staging": web_app, "api-staging": api_app}}));
    p
}

fn hook_events(hook: &Server) -> Vec<String> {
    hook.requests()
        .iter()
        .filter(|r| r.target == "/hook")
        .map(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            format!(
                "{} {}/{}",
                v["data"]["event"].as_str().unwrap(),
                v["data"]["app"].as_str().unwrap(),
                v["data"]["rule"].as_str().unwrap()
            )
        })
        .collect()
}

fn finding<'a>(doc: &'a Value, app: &str, rule: &str) -> Option<&'a Value> {
    doc["environments"][0]["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == app)?["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
}

/// The shape README documents for `check --json`.
fn assert_documented_shape(doc: &Value) {
    assert_eq!(doc["kind"], "check");
    for key in ["environments", "needs_action", "exit_code"] {
        assert!(doc.get(key).is_some(), "{key} missing: {doc}");
    }
    for env in doc["environments"].as_array().unwrap() {
        for key in [
            "env",
            "at",
            "apps",
            "schedule",
            "sent",
            "warnings",
            "needs_action",
        ] {
            assert!(
                env.get(key).is_some(),
                "environments[].{key} missing: {env}"
            );
        }
        for app in env["apps"].as_array().unwrap() {
            for key in ["env", "service", "app", "level", "findings"] {
                assert!(app.get(key).is_some(), "apps[].{key} missing: {app}");
            }
            for f in app["findings"].as_array().unwrap() {
                for key in [
                    "app",
                    "rule",
                    "level",
                    "observed",
                    "status",
                    "summary",
                    "evidence",
                    "first_seen",
                    "for_s",
                ] {
                    assert!(f.get(key).is_some(), "findings[].{key} missing: {f}");
                }
                let status = f["status"].as_str().unwrap();
                assert!(
                    [
                        "firing", "open", "pending", "held", "clearing", "resolved", "seen"
                    ]
                    .contains(&status),
                    "{status}"
                );
                let level = f["level"].as_str().unwrap();
                assert!(
                    ["info", "warning", "alert", "critical"].contains(&level),
                    "{level}"
                );
            }
        }
    }
}

#[test]
fn a_clean_environment_exits_zero_and_records_the_check() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &up.url(), &hook.url(), None, "");
    let run = p.run(&["check", "staging", "--json"]);
    run.code(0);
    let doc = run.json();
    assert_documented_shape(&doc);
    assert_eq!(doc["needs_action"], false);
    assert_eq!(doc["exit_code"], 0);
    assert!(
        doc["environments"][0]["apps"][0]["findings"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{doc}"
    );
    assert!(hook_events(&hook).is_empty());
    let human = p.run(&["check", "staging"]);
    human.code(0).stdout_has("staging/web (web-staging): clean");
    assert!(
        p.run(&["history"]).stdout.contains("check"),
        "the check is in the record"
    );
    // Each check keeps its health probe as a latency sample, for the dashboard's trends.
    let last = p.run(&["explain", "last", "--json"]).json();
    let sample = &last["services"][0]["latency"][0];
    assert_eq!(sample["what"], "check", "{last}");
    assert_eq!(sample["count"], 1);
    assert_eq!(sample["failures"], 0);
    assert!(
        sample["p95_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{sample}"
    );
}

#[test]
fn a_5xx_app_alerts_once_and_resolves_once_when_it_heals() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let broken = Server::start([("/health", Behaviour::status(503))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &broken.url(), &hook.url(), None, "");
    let run = p.run(&["check", "staging", "--json"]);
    run.code(1);
    let doc = run.json();
    assert_documented_shape(&doc);
    let down = finding(&doc, "api-staging", "down").expect("down");
    assert_eq!(down["level"], "critical");
    assert_eq!(down["status"], "firing");
    assert_eq!(hook_events(&hook), ["alert api-staging/down"]);
    p.run(&["check", "staging"]).code(1).stdout_has("critical");
    assert_eq!(
        hook_events(&hook).len(),
        1,
        "an open alert is not sent again"
    );
    broken.set("/health", Behaviour::ok("up"));
    let first_clean = p.run(&["check", "staging", "--json"]);
    first_clean.code(0);
    assert_eq!(
        finding(&first_clean.json(), "api-staging", "down").unwrap()["status"],
        "clearing"
    );
    p.run(&["check", "staging"]).code(0);
    p.run(&["check", "staging"]).code(0);
    assert_eq!(
        hook_events(&hook),
        ["alert api-staging/down", "resolved api-staging/down"]
    );
}

#[test]
fn a_slow_app_alerts_once_its_stored_first_seen_time_is_fifteen_minutes_old() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let slow = Server::start([("/health", Behaviour::slow(Duration::from_millis(400), "up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(
        &up.url(),
        &slow.url(),
        &hook.url(),
        None,
        "monitor: { latency: { target: 100ms, alert: 250ms } }\n",
    );
    let run = p.run(&["check", "staging", "--json"]);
    run.code(0);
    let slow_finding = finding(&run.json(), "api-staging", "slow").unwrap().clone();
    assert_eq!(slow_finding["status"], "pending");
    assert_eq!(slow_finding["level"], "warning");
    // Move the clock through the record: the condition was first seen 16 minutes ago.
    let rel = ".shipit/alerts/staging/api-staging/slow.json";
    let mut doc: Value = serde_json::from_str(&p.read(rel)).unwrap();
    let earlier = std::time::SystemTime::now() - Duration::from_secs(16 * 60);
    doc["state"]["first_seen"] = json!(shipit::timefmt::rfc3339(earlier));
    p.write(rel, &serde_json::to_string_pretty(&doc).unwrap());
    let run = p.run(&["check", "staging", "--json"]);
    run.code(1);
    let f = finding(&run.json(), "api-staging", "slow").unwrap().clone();
    assert_eq!(
        (f["status"].as_str(), f["level"].as_str()),
        (Some("firing"), Some("alert"))
    );
    assert!(f["for_s"].as_u64().unwrap() >= 16 * 60);
    assert_eq!(hook_events(&hook), ["alert api-staging/slow"]);
}

#[test]
fn logs_a_token_may_not_read_are_a_warning_not_a_failure() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &up.url(), &hook.url(), None, "");
    let mut state = p.state();
    state["log_denied_tokens"] = json!([crate::support::TOKEN]);
    p.fly_state(&state);
    let run = p.run(&["check", "staging", "--json"]);
    run.code(0);
    let f = finding(&run.json(), "web-staging", "logs_unreadable")
        .unwrap()
        .clone();
    assert_eq!(f["level"], "warning");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("may not read this app's logs"),
        "{f}"
    );
}

/// Without any Fly token the check can see neither machines nor logs: it says so and fails
/// (exit 1) before asking flyctl anything, instead of calling a fleet it never saw fine.
#[test]
fn without_a_fly_token_the_check_refuses_instead_of_seeing_nothing() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &up.url(), &hook.url(), None, "");
    let home = p.file("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = crate::support::Run::from(
        p.shipit(&["check", "staging"])
            .env_remove("FLY_API_TOKEN")
            .env("HOME", &home)
            .output()
            .unwrap(),
    );
    run.code(1)
        .stderr_has("no Fly API token")
        .stderr_has("hint: ")
        .stderr_has("fly tokens create readonly");
    assert!(
        !run.stderr.contains("nothing at alert level"),
        "{}",
        run.stderr
    );
    assert!(p.fly_calls().is_empty(), "{:?}", p.fly_calls());
    let doc = crate::support::Run::from(
        p.shipit(&["check", "staging", "--json"])
            .env_remove("FLY_API_TOKEN")
            .env("HOME", &home)
            .output()
            .unwrap(),
    );
    doc.code(1);
    assert_eq!(
        doc.json()["error"]["kind"],
        "not_authenticated",
        "{}",
        doc.stdout
    );
}

#[test]
fn log_lines_and_machine_events_become_alerts_with_evidence() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &up.url(), &hook.url(), None, "");
    let mut state = p.state();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    state["apps"]["web-staging"]["logs"] = json!([
        {"level": "info", "instance": "148ed193b95089", "region": "iad", "timestamp": shipit::timefmt::now(),
         "message": "[  258.930660] Out of memory: Killed process 476 (node) total-vm:2110000kB"}
    ]);
    state["apps"]["api-staging"]["machines"][0]["events"] = json!([
        {"type": "exit", "status": "stopped", "timestamp": now_ms - 5_000, "exit_code": 1, "restarting": true, "restart_count": 4},
        {"type": "start", "status": "started", "timestamp": now_ms - 60_000}
    ]);
    p.fly_state(&state);
    let run = p.run(&["check", "staging", "--json"]);
    run.code(1);
    let doc = run.json();
    let oom = finding(&doc, "web-staging", "oom_killed").unwrap();
    assert_eq!(oom["level"], "alert");
    assert!(
        oom["evidence"][0]
            .as_str()
            .unwrap()
            .contains("Out of memory: Killed process 476"),
        "{oom}"
    );
    let looping = finding(&doc, "api-staging", "restart_loop").unwrap();
    assert!(
        looping["evidence"][0]
            .as_str()
            .unwrap()
            .contains("restart_count 4"),
        "{looping}"
    );
}

#[test]
fn an_app_with_no_machines_is_down_and_a_missing_app_is_critical() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &up.url(), &hook.url(), None, "");
    let mut state = p.state();
    state["apps"]["web-staging"]["machines"] = json!([]);
    state["apps"].as_object_mut().unwrap().remove("api-staging");
    p.fly_state(&state);
    let run = p.run(&["check", "staging", "--json"]);
    run.code(1);
    let doc = run.json();
    let down = finding(&doc, "web-staging", "down").unwrap();
    assert!(
        down["summary"].as_str().unwrap().contains("no machines"),
        "{down}"
    );
    let missing = finding(&doc, "api-staging", "app_missing").unwrap();
    assert_eq!(missing["level"], "critical");
    let mut events = hook_events(&hook);
    events.sort();
    assert_eq!(
        events,
        ["alert api-staging/app_missing", "alert web-staging/down"]
    );
}

#[test]
fn the_issue_notifier_opens_and_closes_exactly_one_issue() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let broken = Server::start([("/health", Behaviour::status(500))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let github = Server::start([
        (
            "/repos/acme/shop/issues",
            Behaviour::seq([Behaviour::json("[]"), Behaviour::json(r#"{"number": 7}"#)]),
        ),
        ("/repos/acme/shop/issues/7/comments", Behaviour::json("{}")),
        (
            "/repos/acme/shop/issues/7",
            Behaviour::json(r#"{"number": 7, "state": "closed"}"#),
        ),
    ]);
    let p = project(
        &up.url(),
        &broken.url(),
        &hook.url(),
        Some(&github.url()),
        "monitor: { resolve_after: 1 }\n",
    );
    let check = |code: i32| {
        p.shipit(&["check", "staging"])
            .env("GITHUB_TOKEN", "ghs_issue_token_123")
            .output()
            .map(crate::support::Run::from)
            .unwrap()
            .code(code)
            .stderr
            .clone()
    };
    check(1);
    check(1);
    broken.set("/health", Behaviour::ok("up"));
    let stderr = check(0);
    assert!(!stderr.contains("ghs_issue_token_123"));
    let calls: Vec<String> = github
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target.split('?').next().unwrap()))
        .collect();
    assert_eq!(
        calls,
        [
            "GET /repos/acme/shop/issues",
            "POST /repos/acme/shop/issues",
            "POST /repos/acme/shop/issues/7/comments",
            "PATCH /repos/acme/shop/issues/7",
        ],
        "one issue opened, commented and closed"
    );
    let created = &github.requests()[1];
    assert_eq!(
        created.header("authorization"),
        Some("Bearer ghs_issue_token_123")
    );
    let body: Value = serde_json::from_slice(&created.body).unwrap();
    assert_eq!(body["title"], "alert(shipit): staging/api-staging/down");
    assert_eq!(
        body["labels"],
        json!(["shipit-alert", "shipit:staging/api-staging/down"])
    );
    let close: Value = serde_json::from_slice(&github.requests()[3].body).unwrap();
    assert_eq!(close["state"], "closed");
    assert_eq!(
        hook_events(&hook),
        ["alert api-staging/down", "resolved api-staging/down"]
    );
}

#[test]
fn a_missed_scheduled_run_is_reported() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(
        &up.url(),
        &up.url(),
        &hook.url(),
        None,
        "monitor: { every: 1h }\n",
    );
    p.run(&["check", "staging"]).code(0);
    // Make the recorded check three hours old.
    let runs = p.file(".shipit/runs");
    for entry in std::fs::read_dir(&runs).unwrap() {
        let path = entry.unwrap().path();
        let mut r: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let old =
            shipit::timefmt::rfc3339(std::time::SystemTime::now() - Duration::from_secs(3 * 3600));
        r["started_at"] = json!(old);
        r["finished_at"] = json!(old);
        std::fs::write(&path, serde_json::to_string(&r).unwrap()).unwrap();
    }
    let run = p.run(&["check", "staging", "--json"]);
    run.code(0);
    let doc = run.json();
    let missed = &doc["environments"][0]["schedule"][0];
    assert_eq!(missed["rule"], "missed_run");
    assert_eq!(missed["level"], "warning");
    assert!(
        missed["summary"]
            .as_str()
            .unwrap()
            .starts_with("the scheduled check of staging did not run between"),
        "{missed}"
    );
}

#[test]
fn watch_checks_every_interval_for_the_window_and_alerts_once() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let broken = Server::start([("/health", Behaviour::status(502))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &broken.url(), &hook.url(), None, "");
    let run = p.run(&[
        "watch",
        "staging",
        "--for",
        "1500ms",
        "--interval",
        "500ms",
        "--json",
    ]);
    run.code(1);
    let doc = run.json();
    assert_eq!(doc["kind"], "watch");
    assert_eq!(doc["for"], "1.5s");
    assert!(doc["passes"].as_u64().unwrap() >= 2, "{doc}");
    assert_eq!(doc["needs_action"], true);
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(
        finding(&doc, "api-staging", "down").unwrap()["status"],
        "open"
    );
    assert_eq!(
        hook_events(&hook),
        ["alert api-staging/down"],
        "sent once over every pass"
    );
    let clean = project(&up.url(), &up.url(), &hook.url(), None, "");
    clean
        .run(&["watch", "staging", "--for", "500ms", "--interval", "250ms"])
        .code(0)
        .stdout_has("staging/web (web-staging): clean")
        .stderr_has("nothing reached alert level");
    p.run(&["watch", "staging", "--for", "0s"])
        .code(2)
        .stderr_has("must be longer than 0s");
}

const METRICS_TOKEN: &str = "fm2_metrics-token-7f3c9a";

/// A Prometheus API answer with one series.
fn prom(value: &str) -> Behaviour {
    Behaviour::json(&format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1787313600,"{value}"]}}]}}}}"#
    ))
}

fn metrics_config(prom: &str) -> String {
    format!(
        "metrics: {{ prometheus: {{ url: \"{prom}/prometheus/acme/\", token: \"${{FLY_METRICS_TOKEN}}\" }} }}\n"
    )
}

#[test]
fn metrics_from_prometheus_are_findings_and_the_token_stays_secret() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    // web-staging: 4% of its answers are 5xx; api-staging: an instance at 95% of its memory.
    let prometheus = Server::start([(
        "/prometheus/acme/api/v1/query",
        Behaviour::ByQuery {
            cases: vec![
                ("app=\"web-staging\",status=~\"5..\"".into(), prom("0.04")),
                ("mem_available{app=\"api-staging\"}".into(), prom("0.95")),
            ],
            otherwise: Box::new(prom("0")),
        },
    )]);
    let p = project(
        &up.url(),
        &up.url(),
        &hook.url(),
        None,
        &metrics_config(&prometheus.url()),
    );
    let run = Run::from(
        p.shipit(&["check", "staging", "--json"])
            .env("FLY_METRICS_TOKEN", METRICS_TOKEN)
            .output()
            .unwrap(),
    );
    run.code(1);
    let doc = run.json();
    assert_documented_shape(&doc);
    let f = finding(&doc, "web-staging", "metrics_5xx").expect("metrics_5xx");
    assert_eq!(f["level"], "critical");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .starts_with("4.00% of responses were 5xx"),
        "{f}"
    );
    let m = finding(&doc, "api-staging", "memory").expect("memory");
    assert_eq!(m["level"], "alert");
    assert!(finding(&doc, "api-staging", "metrics_5xx").is_none());
    let requests = prometheus.requests();
    assert_eq!(
        requests.len(),
        8,
        "per app: the 5xx share and memory now, memory and load over 7 days for cost"
    );
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("FlyV1 {METRICS_TOKEN}").as_str())
        );
    }
    assert!(!run.stdout.contains(METRICS_TOKEN) && !run.stderr.contains(METRICS_TOKEN));
    assert!(!hook_events(&hook).is_empty());
    for r in hook.requests() {
        assert!(!String::from_utf8_lossy(&r.body).contains(METRICS_TOKEN));
    }
    for file in [".shipit/evidence.log", "feedback/deployment.md"] {
        if p.file(file).exists() {
            assert!(!p.read(file).contains(METRICS_TOKEN), "{file}");
        }
    }
}

#[test]
fn a_metrics_endpoint_that_refuses_the_token_or_is_down_is_a_warning_on_each_app() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let prometheus = Server::start([(
        "/prometheus/acme/api/v1/query",
        Behaviour::Reply(crate::support::server::Reply::new(
            401,
            format!("{{\"error\":\"unauthorized token {METRICS_TOKEN}\"}}"),
        )),
    )]);
    for url in [prometheus.url(), crate::support::server::refused_url()] {
        let p = project(
            &up.url(),
            &up.url(),
            &hook.url(),
            None,
            &metrics_config(&url),
        );
        let run = Run::from(
            p.shipit(&["check", "staging", "--json"])
                .env("FLY_METRICS_TOKEN", METRICS_TOKEN)
                .output()
                .unwrap(),
        );
        run.code(0);
        let doc = run.json();
        for app in ["web-staging", "api-staging"] {
            let f = finding(&doc, app, "metrics_unreadable").expect("metrics_unreadable");
            assert_eq!(f["level"], "warning");
            let evidence = f["evidence"].to_string();
            if url == prometheus.url() {
                assert!(evidence.contains("refused the token (401)"), "{evidence}");
            } else {
                assert!(
                    evidence.contains("cannot reach the metrics endpoint"),
                    "{evidence}"
                );
            }
        }
        assert!(!run.stdout.contains(METRICS_TOKEN) && !run.stderr.contains(METRICS_TOKEN));
    }
}

#[test]
fn cost_findings_are_information_in_the_check_table_and_json() {
    let up = Server::start([("/health", Behaviour::ok("up"))]);
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let p = project(&up.url(), &up.url(), &hook.url(), None, "");
    let mut state = p.state();
    state["apps"]["web-staging"]["machines"][0]["autostop"] = json!(false);
    state["apps"]["web-staging"]["machines"][0]["min_machines_running"] = json!(0);
    p.fly_state(&state);
    let run = p.run(&["check", "staging", "--json"]);
    run.code(0);
    let doc = run.json();
    assert_documented_shape(&doc);
    let f = finding(&doc, "web-staging", "autostop_off")
        .unwrap_or_else(|| panic!("no autostop_off: {doc}\n{:?}", p.fly_calls()));
    assert_eq!(
        (f["level"].as_str(), f["status"].as_str()),
        (Some("info"), Some("seen"))
    );
    assert!(
        f["summary"].as_str().unwrap().contains("autostop off"),
        "{f}"
    );
    assert!(
        f["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("could save $"),
        "{f}"
    );
    assert_eq!(doc["environments"][0]["apps"][0]["level"], "info");
    assert!(hook_events(&hook).is_empty(), "information is never sent");
    let table = p.run(&["check", "staging"]);
    table
        .code(0)
        .stdout_has("staging/web (web-staging): clean")
        .stdout_has("autostop_off");
    assert!(
        p.fly_calls()
            .iter()
            .all(|c| !c.iter().any(|a| a == "deploy" || a == "scale"))
    );
}

const PREVIOUS: &str = "registry.fly.io/web-staging:deployment-v2";

/// One app, web-staging at v3 (`IMAGE`), whose health endpoint answers 503 for `IMAGE` and 200
/// for any other image the double's fleet runs; a webhook at `hook`.
fn watched(hook: &str) -> (Project, crate::support::fleet::FleetServer) {
    let p = Project::new();
    let mut app = fly_app("web-staging", 3, IMAGE, 1);
    app["logs"] = json!([{"level": "info", "instance": "148ed193b95089", "message": "GET /health 200 - - 2.1 ms", "region": "iad", "timestamp": shipit::timefmt::now()}]);
    p.fly_state(&json!({"apps": {"web-staging": app}}));
    let fleet = crate::support::fleet::FleetServer::start(
        p.file("flyctl-state.json"),
        "web-staging",
        |_, image| {
            if image == IMAGE {
                Behaviour::status(503)
            } else {
                Behaviour::ok("up")
            }
        },
    );
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ interval: 100ms, timeout: 2s, healthy_after: 2, expect: ['[STATUS] == 200'] }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: web-staging, url: {} }}\nnotify:\n  - webhook: {{ url: \"{hook}/hook\" }}\n",
        fleet.url()
    ));
    (p, fleet)
}

/// A successful deploy of web-staging from v2 to v3 in the record, finished `ago` earlier.
fn deployed(p: &Project, ago: Duration) {
    use shipit::report::{ReleaseRef, RunKind, RunRecord, ServiceRecord, ServiceResult};
    let mut s = ServiceRecord::new(
        "staging",
        "web",
        "web-staging",
        "https://web-staging.fly.dev",
    );
    s.result = ServiceResult::Succeeded;
    s.from = Some(ReleaseRef {
        version: Some(2),
        image: PREVIOUS.into(),
    });
    s.to = Some(ReleaseRef {
        version: Some(3),
        image: IMAGE.into(),
    });
    s.live = s.to.clone();
    let at = std::time::SystemTime::now() - ago;
    let record = RunRecord {
        id: "20261202T040000Z-d1".into(),
        kind: RunKind::Deploy,
        env: Some("staging".into()),
        started_at: shipit::timefmt::rfc3339(at - Duration::from_secs(60)),
        finished_at: shipit::timefmt::rfc3339(at),
        duration_ms: 60_000,
        outcome: shipit::exit::Outcome::Success,
        event: shipit::event::Event::Succeeded,
        services: vec![s],
        summary: "deploy staging: succeeded".into(),
        run_url: None,
        sha: None,
        actor: None,
    };
    shipit::evidence::receipt::write(&p.file(".shipit/runs"), &record).expect("write a receipt");
}

#[test]
fn watch_rolls_back_on_a_critical_finding_after_a_deploy() {
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let (p, _fleet) = watched(&hook.url());
    deployed(&p, Duration::from_secs(30));
    let run = p.run(&[
        "watch",
        "staging",
        "--for",
        "1m",
        "--interval",
        "500ms",
        "--rollback-on",
        "critical",
        "--json",
    ]);
    run.code(3)
        .stderr_has("a critical finding during the watch");
    let doc = run.json();
    assert_eq!(doc["kind"], "rollback");
    assert_eq!(doc["outcome"], "rolled_back");
    assert_eq!(doc["services"][0]["to"]["image"], PREVIOUS);
    let deploys = p.deploy_calls();
    assert_eq!(deploys.len(), 1, "{deploys:?}");
    assert!(
        deploys[0].windows(2).any(|w| w == ["--image", PREVIOUS]),
        "the rollback deploys the release before the deploy: {:?}",
        deploys[0]
    );
    let events: Vec<String> = hook
        .requests()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|v| v["data"]["event"].as_str().map(str::to_owned))
        .collect();
    assert!(events.contains(&"alert".to_owned()), "{events:?}");
    assert!(events.contains(&"rolled_back".to_owned()), "{events:?}");
}

#[test]
fn watch_refuses_to_roll_back_what_it_does_not_follow() {
    let hook = Server::start([("/hook", Behaviour::ok("ok"))]);
    let (p, _fleet) = watched(&hook.url());
    let args = [
        "watch",
        "staging",
        "--for",
        "10m",
        "--rollback-on",
        "critical",
    ];
    p.run(&args)
        .code(1)
        .stderr_has("the record holds no deploy of staging/web");
    deployed(&p, Duration::from_secs(2 * 3600));
    p.run(&args)
        .code(1)
        .stderr_has("longer ago than the 10m window");
    assert!(
        p.fly_calls().is_empty(),
        "refused before the window: {:?}",
        p.fly_calls()
    );
    p.run(&["watch", "staging", "--for", "1s", "--rollback-on", "alert"])
        .code(2);
}
