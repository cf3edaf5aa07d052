//! `shipit config check` on bad configs: every mistake exits 1 with an error that names the file
//! and the place (`shipit.yml:LINE:COL`, or the key when there is no single place) and, where
//! there is an obvious fix, a hint. Then a good config's summary and its `--json`.

use crate::support::Project;

/// The services every case starts from; a case replaces the part it breaks.
const APPS: &str = "apps:\n  web: {}\n  agent: {}\n";

/// Writes `yaml` as shipit.yml, runs `config check`, and asserts exit 1 and that stderr has each
/// of `expected`. Returns stderr for further checks.
fn rejects(yaml: &str, expected: &[&str]) -> String {
    let project = Project::new();
    project.config(yaml);
    rejects_in(&project, expected)
}

fn rejects_in(project: &Project, expected: &[&str]) -> String {
    let run = project.run(&["config", "check"]);
    run.code(1);
    assert!(
        run.stdout.is_empty(),
        "a failed check prints no summary:\n{}",
        run.stdout
    );
    run.stderr_has("shipit.yml");
    for e in expected {
        run.stderr_has(e);
    }
    run.stderr
}

#[test]
fn unknown_top_level_key() {
    let yaml = format!(
        "version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\nbogus: 1\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:8:1:",
            "unknown field `bogus`",
            "hint: valid keys here",
        ],
    );
}

#[test]
fn misspelt_key_gets_a_suggestion() {
    let yaml = "version: 1\napps:\n  web: { helth: { path: /x } }\nenvironments:\n  staging:\n    web: { app: a, url: https://a.fly.dev }\n";
    rejects(
        yaml,
        &[
            "shipit.yml:3:10:",
            "unknown field `helth`",
            "did you mean `health`?",
        ],
    );
}

#[test]
fn duration_without_a_unit() {
    let yaml = format!(
        "version: 1\ndefaults:\n  health:\n    interval: 5\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(&yaml, &["shipit.yml:4:15:", "`5` has no unit", "5s"]);
}

#[test]
fn duration_in_words() {
    let yaml = format!(
        "version: 1\ndefaults:\n  watch: 2 weeks\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(&yaml, &["shipit.yml:3:10:", "`2 weeks`"]);
}

#[test]
fn unset_variable_is_named() {
    let yaml = format!(
        "version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: \"${{SHIPIT_TEST_SURELY_UNSET_VAR}}\" }}\n"
    );
    let stderr = rejects(
        &yaml,
        &["shipit.yml:7:", "`SHIPIT_TEST_SURELY_UNSET_VAR` is not set"],
    );
    assert!(!stderr.contains("url: \"\""), "never an empty string");
}

#[test]
fn unknown_service_in_an_environment_gets_a_suggestion() {
    let yaml = format!(
        "version: 1\n{APPS}environments:\n  staging:\n    wbe: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:7:10:",
            "service `wbe`, which is not defined under `apps:`",
            "did you mean `web`?",
        ],
    );
}

#[test]
fn missing_url() {
    let yaml =
        format!("version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: web-staging }}\n");
    rejects(
        &yaml,
        &[
            "shipit.yml:7:10:",
            "`environments.staging.web` has no `url:`",
            "url: https://web-staging.fly.dev",
        ],
    );
}

#[test]
fn url_without_a_scheme() {
    let yaml = format!(
        "version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &["shipit.yml:7:25:", "must start with http:// or https://"],
    );
}

#[test]
fn negative_healthy_after() {
    let yaml = format!(
        "version: 1\ndefaults:\n  health:\n    healthy_after: -1\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:4:20:",
            "`health.healthy_after: -1` must be between 1 and 1000",
        ],
    );
}

#[test]
fn zero_unhealthy_after() {
    let yaml = format!(
        "version: 1\n{APPS}  api:\n    health: {{ unhealthy_after: 0 }}\nenvironments:\n  staging:\n    api: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:6:32:",
            "`health.unhealthy_after: 0` must be between 1 and 1000",
        ],
    );
}

#[test]
fn empty_environments() {
    rejects(
        &format!("version: 1\n{APPS}environments: {{}}\n"),
        &["shipit.yml:5:15:", "`environments:` is empty"],
    );
}

#[test]
fn no_environments_section_names_the_key() {
    rejects(
        &format!("version: 1\n{APPS}"),
        &["no `environments:` section"],
    );
}

#[test]
fn environment_without_services() {
    rejects(
        &format!("version: 1\n{APPS}environments:\n  staging: {{}}\n"),
        &["shipit.yml:6:12:", "environment `staging` has no services"],
    );
}

#[test]
fn fly_config_that_does_not_exist() {
    let yaml = format!(
        "version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev, fly_config: fly/nope.toml }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:7:56:",
            "fly_config `fly/nope.toml` does not exist",
            "hint:",
        ],
    );
}

#[test]
fn fly_toml_that_does_not_parse() {
    let project = Project::new();
    project.write("fly/bad.toml", "app = \"a\"\n[http_service\n");
    project.config(&format!(
        "version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev, fly_config: fly/bad.toml }}\n"
    ));
    rejects_in(
        &project,
        &[
            "shipit.yml:7:56:",
            "fly_config `fly/bad.toml` cannot be read",
            "line 2",
            "not valid TOML",
        ],
    );
}

#[test]
fn unknown_strategy() {
    let yaml = format!(
        "version: 1\ndefaults:\n  strategy: yolo\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:3:13:",
            "unknown strategy `yolo`",
            "rolling, canary, immediate, bluegreen",
        ],
    );
}

#[test]
fn bad_rollback_value() {
    let yaml = format!(
        "version: 1\ndefaults:\n  rollback: maybe\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:3:13:",
            "`rollback: maybe` is not valid",
            "`auto` or `off`",
        ],
    );
}

#[test]
fn unknown_notify_channel_kind() {
    let yaml = format!(
        "version: 1\n{APPS}notify:\n  - pigeon: {{ url: https://x.example }}\nenvironments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:6:5:",
            "unknown variant `pigeon`",
            "slack, discord, teams, pagerduty, webhook",
        ],
    );
}

#[test]
fn misspelt_notify_channel_kind_gets_a_suggestion() {
    let yaml = format!(
        "version: 1\n{APPS}notify:\n  - slakc: {{ webhook_url: https://x.example }}\nenvironments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(&yaml, &["shipit.yml:6:5:", "did you mean `slack`?"]);
}

#[test]
fn unknown_event_in_on() {
    let yaml = format!(
        "version: 1\n{APPS}notify:\n  - slack: {{ webhook_url: https://x.example, on: [deploy_failed] }}\nenvironments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:6:51:",
            "unknown event `deploy_failed` in `on:`",
            "hint:",
        ],
    );
}

#[test]
fn condition_that_does_not_parse() {
    let yaml = format!(
        "version: 1\napps:\n  web: {{ health: {{ expect: [\"\"] }} }}\nenvironments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(&yaml, &["shipit.yml:3:29:", "condition", "does not parse"]);
}

#[test]
fn condition_errors_point_into_the_condition() {
    // The second condition is the bad one: the error is at its place in the list, and the hint
    // repeats it with a caret under the offending part.
    let yaml = "version: 1\napps:\n  web:\n    health:\n      expect:\n        - \"[STATUS] == 200\"\n        - \"[STATSU] == 200\"\nenvironments:\n  staging:\n    web: { app: a, url: https://a.fly.dev }\n";
    let stderr = rejects(
        yaml,
        &[
            "shipit.yml:7:11:",
            "condition `[STATSU] == 200` does not parse",
            "did you mean `[STATUS]`?",
        ],
    );
    assert!(
        stderr.contains("hint: [STATSU] == 200") && stderr.contains("^ here"),
        "{stderr}"
    );
    // In CI every stderr line carries a timestamp; the caret must still sit under the unknown name.
    let hint = stderr
        .lines()
        .find(|l| l.contains("hint: [STATSU]"))
        .unwrap();
    let caret = stderr.lines().find(|l| l.contains("^ here")).unwrap();
    assert_eq!(
        hint.find("STATSU"),
        caret.find('^'),
        "misaligned caret:\n{hint}\n{caret}"
    );

    let yaml = "version: 1\ndefaults:\n  health: { expect: [\"[STATUS] === 200\"] }\napps:\n  web: {}\nenvironments:\n  staging:\n    web: { app: a, url: https://a.fly.dev }\n";
    let stderr = rejects(
        yaml,
        &[
            "shipit.yml:3:22:",
            "condition `[STATUS] === 200` does not parse",
        ],
    );
    assert!(stderr.contains("^ here"), "{stderr}");
}

#[test]
fn duplicate_key() {
    let yaml = format!(
        "version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n    web: {{ app: b, url: https://b.fly.dev }}\n"
    );
    rejects(&yaml, &["shipit.yml:8:5:", "duplicate mapping key"]);
}

#[test]
fn tab_indentation() {
    let yaml = "version: 1\napps:\n\tweb: {}\nenvironments:\n  staging:\n    web: { app: a, url: https://a.fly.dev }\n";
    rejects(yaml, &["shipit.yml:3:", "tabs"]);
}

#[test]
fn unsupported_version() {
    let yaml = format!(
        "version: 2\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:1:10:",
            "`version: 2` is not supported",
            "hint: this shipit reads `version: 1`",
        ],
    );
}

#[test]
fn deadline_shorter_than_interval_names_both_keys() {
    let yaml = format!(
        "version: 1\ndefaults:\n  health: {{ interval: 10s, deadline: 5s }}\n{APPS}environments:\n  staging:\n    web: {{ app: a, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &["`health.deadline` (5s) is shorter than `health.interval` (10s)"],
    );
}

#[test]
fn missing_config_file_suggests_init() {
    let project = Project::new();
    let run = project.run(&["config", "check"]);
    run.code(1)
        .stderr_has("shipit.yml")
        .stderr_has("cannot read the config file")
        .stderr_has("shipit init");
}

#[test]
fn same_fly_app_twice() {
    let yaml = format!(
        "version: 1\n{APPS}environments:\n  staging:\n    web: {{ app: shared, url: https://a.fly.dev }}\n  production:\n    web: {{ app: shared, url: https://a.fly.dev }}\n"
    );
    rejects(
        &yaml,
        &[
            "shipit.yml:9:10:",
            "Fly app `shared` is used by both staging.web and production.web",
        ],
    );
}

#[test]
fn config_flag_names_the_file_it_was_given() {
    let project = Project::new();
    project.write("deploy/other.yml", "version: 3\n");
    let run = project.run(&["config", "check", "--config", "deploy/other.yml"]);
    run.code(1)
        .stderr_has("other.yml:1:10:")
        .stderr_has("`version: 3` is not supported");
}

/// A config that uses most of what the format offers.
fn good_project() -> Project {
    let project = Project::new();
    project
        .fly_toml("fly/web-staging.toml", "web-staging")
        .write("smoke/web.yml", "checks:\n  - name: home\n    path: /\n")
        .config(
            "version: 1
defaults:
  strategy: rolling
  health:
    interval: 2s
    timeout: 5s
    healthy_after: 3
    unhealthy_after: 2
    deadline: 5m
    expect: [\"[STATUS] == 200\"]
  rollback: auto
apps:
  web:
    smoke: smoke/web.yml
    watch: 10m
  agent:
    health: { path: /healthz }
    rollback: off
environments:
  staging:
    web:   { app: web-staging, url: https://web-staging.fly.dev, fly_config: fly/web-staging.toml }
    agent: { app: agent-staging, url: \"${SHIPIT_TEST_AGENT_URL}\" }
  production:
    web:   { app: web-production, url: https://web-production.fly.dev }
notify:
  - slack: { webhook_url: \"${SHIPIT_TEST_SLACK_HOOK}\", on: [failure, rollback] }
  - webhook: { url: https://hooks.example.com/deploys }
evidence:
  log: feedback/deployment.md
",
        );
    project
}

const AGENT_URL: &str = "https://agent-secret-host.example.com";
const SLACK_HOOK: &str = "https://hooks.slack.com/services/T000/B000/secretsecret";

#[test]
fn good_config_summary() {
    let project = good_project();
    let run = run_good(&project, &["config", "check"]);
    run.code(0)
        .stdout_has("staging (2 services, deployed in this order)")
        .stdout_has("1. web  →  Fly app web-staging")
        .stdout_has("2. agent  →  Fly app agent-staging")
        .stdout_has("fly_config  fly/web-staging.toml")
        .stdout_has("health      /health (from fly.toml) = https://web-staging.fly.dev/health")
        .stdout_has("health      /healthz (from shipit.yml)")
        .stdout_has("health      /health (default)")
        .stdout_has("healthy after 3, unhealthy after 2, deadline 5m")
        .stdout_has("smoke       smoke/web.yml")
        .stdout_has("rollback    auto, watch 10m")
        .stdout_has("rollback    off, watch off")
        .stdout_has("strategy rolling")
        .stdout_has("slack")
        .stdout_has("webhook")
        .stdout_has("log       feedback/deployment.md")
        .stderr_has("is valid: 2 environments, 3 services, 2 notification channels");
    // The order of services is the file's order: web before agent.
    let web = run.stdout.find("1. web").unwrap();
    let agent = run.stdout.find("2. agent").unwrap();
    assert!(web < agent);
    // Values that came from ${VAR} are secrets and never printed.
    for out in [&run.stdout, &run.stderr] {
        assert!(
            !out.contains(AGENT_URL) && !out.contains(SLACK_HOOK),
            "a secret leaked:\n{out}"
        );
    }
    run.stdout_has("url         ***");
}

#[test]
fn good_config_json_is_the_resolved_config() {
    let project = good_project();
    let run = run_good(&project, &["config", "check", "--json"]);
    run.code(0);
    let v = run.json();
    let envs = v["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2);
    assert_eq!(envs[0]["name"], "staging");
    let web = &envs[0]["services"][0];
    assert_eq!(web["app"], "web-staging");
    assert_eq!(web["health"]["path"], "/health");
    assert_eq!(web["health"]["path_source"], "fly_toml");
    assert_eq!(web["health"]["unhealthy_after"], 2);
    assert_eq!(web["strategy"], "rolling");
    assert_eq!(web["rollback"], true);
    assert_eq!(envs[0]["services"][1]["rollback"], false);
    assert_eq!(envs[0]["services"][1]["url"], "***");
    assert_eq!(v["notify"].as_array().unwrap().len(), 2);
    assert!(
        !run.stdout.contains(AGENT_URL) && !run.stdout.contains(SLACK_HOOK),
        "a secret leaked:\n{}",
        run.stdout
    );
}

fn run_good(project: &Project, args: &[&str]) -> crate::support::Run {
    let out = project
        .shipit(args)
        .env("SHIPIT_TEST_AGENT_URL", AGENT_URL)
        .env("SHIPIT_TEST_SLACK_HOOK", SLACK_HOOK)
        .output()
        .expect("run shipit");
    crate::support::Run::from(out)
}

/// The YAML parser's own errors (`expected mapping start`, `invalid i64`, an empty file) are
/// terse; each comes with its file and line, the line itself, and a hint that says what the key
/// takes or what YAML wants.
#[test]
fn raw_yaml_parser_errors_get_a_hint() {
    let cases: [(&str, &str); 6] = [
        ("version: 1\napps:\n  web: [\n", "hint: "),
        (
            "version: 1\ndefaults:\n  health: { healthy_after: three }\n",
            "a whole number",
        ),
        (
            "version: 1\ndefaults:\n  strategy: [rolling]\n",
            "one value",
        ),
        ("version: 1\napps:\n  - web\n", "key: value"),
        ("version: 1\ndefaults: {\n", "closed"),
        ("", "empty"),
    ];
    for (yaml, hint) in cases {
        let project = Project::new();
        project.config(yaml);
        let run = project.run(&["config", "check"]);
        run.code(1);
        run.stderr_has("shipit.yml:");
        assert!(
            run.stderr.contains("hint: ") && run.stderr.contains(hint),
            "{yaml:?}: no hint with {hint:?}:\n{}",
            run.stderr
        );
    }
}
