//! Secrets never leak, in the style of hurl's `assert_secret` test: a deploy that fails and is
//! rolled back, under GitHub Actions with `-v`, with known fake secrets in the Fly token, a Slack
//! URL, a webhook signing secret, a health-check header and a database URL whose password the bad
//! release even echoes in its error page. Every output, file and notification body is searched.

use serde_json::json;

use crate::support::fleet::FleetServer;
use crate::support::server::{Behaviour, Server};
use crate::support::{Project, Run, TOKEN, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const SLACK_PATH: &str = "/services/T0AAAA/B0BBBB/slackpathsecret9f8e7d";
const WEBHOOK_SECRET: &str = "whsec_c2hpcGl0LWxlYWstdGVzdC1zZWNyZXQ=";
const DB_PASSWORD: &str = "pg-pass-S3cr3t-4711";
const HEALTH_TOKEN: &str = "health-bearer-0a1b2c3d4e";

#[test]
fn a_failing_deploy_under_actions_leaks_no_secret_anywhere() {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}}));
    let database_url = format!("postgres://app:{DB_PASSWORD}@db.internal:5432/app");
    // Apps do print connection strings in their error pages; shipit shows a failed body condition
    // with the start of the body, so the password reaches an output path and must be masked.
    let error_page = format!("auth failed for {DB_PASSWORD} at {database_url}");
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, move |_, image| {
        if image == GOOD {
            Behaviour::ok("{\"ok\":true,\"status\":\"healthy\"}")
        } else {
            Behaviour::Reply(crate::support::server::Reply::new(500, error_page.clone()))
        }
    });
    let hooks = Server::start([
        (SLACK_PATH, Behaviour::ok("ok")),
        ("/hook", Behaviour::ok("")),
    ]);
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        r#"version: 1
defaults:
  health:
    interval: 50ms
    timeout: 500ms
    deadline: 3s
    headers: {{ Authorization: "Bearer ${{HEALTH_TOKEN}}", X-Database: "${{DATABASE_URL}}" }}
    expect: ["[STATUS] == 200", "[BODY] contains healthy"]
  regression: {{ probes: 2 }}
apps:
  web: {{}}
environments:
  staging:
    web: {{ app: {APP}, url: "{}", fly_config: fly/hotdash-staging.toml }}
notify:
  - slack: {{ webhook_url: "${{SLACK_WEBHOOK_URL}}" }}
  - webhook: {{ url: "{}/hook", secret: "${{DEPLOY_WEBHOOK_SECRET}}" }}
"#,
        fleet.url(),
        hooks.url()
    ));
    let outputs = p.file("github-output");
    let summary = p.file("github-summary.md");
    let run = Run::from(
        p.shipit(&[
            "-v",
            "deploy",
            "staging",
            "--image",
            "registry.fly.io/hotdash-staging:bad",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/hotdash")
        .env("GITHUB_RUN_ID", "42")
        .env("SLACK_WEBHOOK_URL", format!("{}{SLACK_PATH}", hooks.url()))
        .env("DEPLOY_WEBHOOK_SECRET", WEBHOOK_SECRET)
        .env("DATABASE_URL", &database_url)
        .env("HEALTH_TOKEN", HEALTH_TOKEN)
        .output()
        .unwrap(),
    );
    run.code(3);

    // The probes really carried the secrets, and the bad release really showed its password.
    let probe = fleet
        .server
        .requests()
        .into_iter()
        .find(|r| r.header("x-database").is_some())
        .expect("a probe");
    assert_eq!(probe.header("x-database"), Some(database_url.as_str()));
    assert_eq!(
        probe.header("authorization"),
        Some(format!("Bearer {HEALTH_TOKEN}").as_str())
    );
    assert!(
        hooks.hits(SLACK_PATH) >= 2 && hooks.hits("/hook") >= 2,
        "notifications were sent"
    );

    let secrets = [
        TOKEN,
        SLACK_PATH.trim_start_matches('/'),
        WEBHOOK_SECRET,
        DB_PASSWORD,
        HEALTH_TOKEN,
    ];
    // The runner must be told to mask each one: `::add-mask::` is the only place a value may be.
    for s in [TOKEN, WEBHOOK_SECRET, HEALTH_TOKEN, DB_PASSWORD] {
        assert!(
            run.stderr.contains(&format!("::add-mask::{s}")),
            "{s} was not masked for the runner"
        );
    }
    let stderr: String = run
        .stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .map(|l| format!("{l}\n"))
        .collect();

    let mut places: Vec<(String, String)> = vec![
        ("stdout".into(), run.stdout.clone()),
        ("stderr".into(), stderr),
        (
            "step summary".into(),
            std::fs::read_to_string(&summary).expect("a step summary"),
        ),
        (
            "outputs".into(),
            std::fs::read_to_string(&outputs).expect("step outputs"),
        ),
        ("evidence log".into(), p.read("feedback/deployment.md")),
    ];
    assert!(places[4].1.contains(APP), "the evidence log was written");
    for entry in std::fs::read_dir(p.file(".shipit")).unwrap().flatten() {
        walk(&entry.path(), &mut places);
    }
    // The dashboard made from this record, and its JSON, with the secrets still in the
    // environment of the report run too.
    let report = Run::from(
        p.shipit(&["report", "--html", "site", "--json"])
            .env("HEALTH_TOKEN", HEALTH_TOKEN)
            .env("DATABASE_URL", &database_url)
            .output()
            .unwrap(),
    );
    report.code(0);
    places.push(("report --json".into(), report.stdout.clone()));
    walk(&p.file("site"), &mut places);
    assert!(
        places
            .iter()
            .any(|(n, t)| n.ends_with("index.html") && t.contains(APP)),
        "the dashboard was written"
    );
    for r in hooks.requests() {
        places.push((
            format!(
                "notification body to {}",
                r.target.split('/').nth(1).unwrap_or("")
            ),
            String::from_utf8_lossy(&r.body).into_owned(),
        ));
    }
    assert!(
        places.iter().any(|(_, t)| t.contains("***")),
        "secrets show in their masked form:\n{}",
        places[1].1
    );
    for (place, text) in &places {
        for s in secrets {
            assert!(
                !text.contains(s),
                "secret {s:?} leaked into {place}:\n{text}"
            );
        }
    }
}

/// Every file under `dir` (receipts, baselines, locks), as a place to search.
fn walk(path: &std::path::Path, places: &mut Vec<(String, String)>) {
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap().flatten() {
            walk(&e.path(), places);
        }
    } else if let Ok(text) = std::fs::read_to_string(path) {
        places.push((path.display().to_string(), text));
    }
}

/// A password written straight into a URL of shipit.yml (not through `${VAR}`) is a secret
/// too: `config check`, `plan`, `health --json`, a deploy's receipt and the evidence log show
/// the URL without it.
#[test]
fn a_literal_url_password_in_the_config_is_masked() {
    const PASSWORD: &str = "literal-pass-7781";
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, _| Behaviour::ok("ok"));
    p.fly_toml("fly/hotdash-staging.toml", APP);
    let url = fleet
        .url()
        .replace("http://", &format!("http://bob:{PASSWORD}@"));
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ interval: 50ms, timeout: 500ms, deadline: 3s }}\n  regression: {{ probes: 2 }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{url}\", fly_config: fly/hotdash-staging.toml }}\n"
    ));
    let mut seen = String::new();
    for args in [
        &["config", "check"][..],
        &["config", "check", "--json"],
        &["plan", "staging"],
        &["health", "staging", "--json"],
        &["deploy", "staging"],
    ] {
        let run = p.run(args);
        assert!(run.code <= 1, "{args:?}: {}", run.stderr);
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    let mut places = Vec::new();
    walk(p.path(), &mut places);
    for (name, text) in places {
        seen.push_str(&format!("\n--- {name}\n{text}"));
    }
    // shipit.yml itself holds it, of course.
    let seen = seen.replace(&p.read("shipit.yml"), "");
    assert!(!seen.contains(PASSWORD), "the password leaked:\n{seen}");
    assert!(seen.contains("http://bob:***@127.0.0.1"), "{seen}");
}
