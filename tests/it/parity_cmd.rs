//! `shipit parity` through the real binary on the repository's example (shipit.yml, fly/):
//! each app is first deployed with the flyctl double from its own fly.toml, so `config show`
//! answers with what Fly would have stored, and the machines carry the `[[vm]]` size. Then one
//! drift is planted per test, and the identical case exits 0.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Project, Run, double_bin, fly_app};

const IMAGE: &str = "registry.fly.io/hotdash-staging:deployment-01PROVEN";
const SECRET_DIGEST: &str = "d1g35t0fas3cr3tv4lu3";

/// The example project with staging and production deployed by the double; `production`
/// edits production's fly.toml before its deploy, `state` the double's world before any.
fn example(production: impl Fn(&str) -> String, state: impl Fn(&mut Value)) -> Project {
    let p = Project::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for rel in [
        "shipit.yml",
        "fly/hotdash-staging.toml",
        "fly/hotdash-production.toml",
        "fly/agent-service.toml",
        "smoke/web.yml",
    ] {
        let mut text = std::fs::read_to_string(repo.join(rel)).unwrap();
        if rel == "fly/hotdash-production.toml" {
            text = production(&text);
        }
        p.write(rel, &text);
    }
    let mut world = json!({"apps": {
        "hotdash-staging": fly_app("hotdash-staging", 41, "registry.fly.io/hotdash-staging:deployment-01AAA", 2),
        "hotdash-production": fly_app("hotdash-production", 12, "registry.fly.io/hotdash-production:deployment-01PPP", 2),
        "hotdash-agent-service": fly_app("hotdash-agent-service", 7, "registry.fly.io/hotdash-agent-service:deployment-01BBB", 1),
    }});
    for app in ["hotdash-staging", "hotdash-production"] {
        world["apps"][app]["secrets"] = json!([
            {"name": "DATABASE_URL", "digest": "5a3f9c0d2e1b4a67", "status": "Deployed"},
            {"name": "SESSION_SECRET", "digest": "0b1c2d3e4f5a6b7c", "status": "Deployed"},
        ]);
    }
    state(&mut world);
    p.fly_state(&world);
    for (app, toml) in [
        ("hotdash-staging", "fly/hotdash-staging.toml"),
        ("hotdash-production", "fly/hotdash-production.toml"),
        ("hotdash-agent-service", "fly/agent-service.toml"),
    ] {
        fly_deploy(&p, app, toml, IMAGE);
    }
    p
}

/// `flyctl deploy` with the double, as shipit would run it (the promoted image on both).
fn fly_deploy(p: &Project, app: &str, toml: &str, image: &str) {
    let out = std::process::Command::new(double_bin())
        .args([
            "deploy",
            "--app",
            app,
            "--config",
            toml,
            "--remote-only",
            "--yes",
        ])
        .args(["--image", image])
        .current_dir(p.path())
        .env("FLYCTL_DOUBLE_STATE", p.file("flyctl-state.json"))
        .env("FLY_API_TOKEN", "t")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn parity(p: &Project, args: &[&str]) -> Run {
    let mut all = vec!["parity", "staging", "production"];
    all.extend_from_slice(args);
    with_secrets(p, &all)
}

/// `shipit ARGS` with the example config's `${VAR}`s set.
fn with_secrets(p: &Project, args: &[&str]) -> Run {
    Run::from(
        p.shipit(args)
            .env(
                "SLACK_WEBHOOK_URL",
                "http://127.0.0.1:9/services/T0/B0/example",
            )
            .env("DEPLOY_WEBHOOK_URL", "http://127.0.0.1:9/hook")
            .env("DEPLOY_WEBHOOK_SECRET", "whsec_ZXhhbXBsZS1zZWNyZXQ=")
            .output()
            .unwrap(),
    )
}

fn same(text: &str) -> String {
    text.replace("hotdash-production", "hotdash-staging")
}

/// The drifts that break parity, as (kind, key).
fn breaking(doc: &Value) -> Vec<(String, String)> {
    doc["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["level"] == "breaks")
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn identical_environments_are_in_parity() {
    let p = example(same, |_| {});
    let run = parity(&p, &[]);
    run.code(0)
        .stdout_has("LEVEL")
        .stdout_has("info     web      name     app")
        .stdout_has("allowed  agent    service  agent")
        .stderr_has("parity staging vs production: in parity");
    // Only the app names differ (normalised), and production has no agent (allowed).
    let doc = parity(&p, &["--json"]).code(0).json();
    assert_eq!(doc["parity"], true);
    assert_eq!(doc["counts"], json!({"breaks": 0, "allowed": 1, "info": 1}));
    assert_eq!(doc["services"][0]["service"], "web");
    assert_eq!(doc["services"][0]["image_a"], json!([IMAGE]));
    assert_eq!(doc["services"][0]["image_b"], json!([IMAGE]));
    assert_eq!(doc["services"][1]["app_b"], Value::Null);
    // What it read: config show, machines list and secrets list of both apps.
    let calls = p.fly_calls();
    for app in ["hotdash-staging", "hotdash-production"] {
        for cmd in [
            &["config", "show"][..],
            &["machines", "list"],
            &["secrets", "list"],
        ] {
            assert!(
                calls.iter().any(|c| c
                    .starts_with(&cmd.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                    && c.contains(&app.to_owned())),
                "no {cmd:?} for {app}: {calls:?}"
            );
        }
    }
    // The run is recorded: an evidence entry naming the parity gate.
    let log = p.read("feedback/deployment.md");
    assert!(
        log.contains("parity staging vs production: in parity"),
        "{log}"
    );
}

#[test]
fn a_vm_size_drift_breaks_parity() {
    let p = example(
        |t| same(t).replace("memory = \"512mb\"", "memory = \"1gb\""),
        |_| {},
    );
    let doc = parity(&p, &["--json"]).code(1).json();
    assert_eq!(
        breaking(&doc),
        pairs(&[("vm", "guest.app.memory_mb"), ("vm", "vm[0].memory")])
    );
    let d = &doc["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "guest.app.memory_mb")
        .unwrap()
        .clone();
    assert_eq!(
        (d["a"].as_str(), d["b"].as_str()),
        (Some("512"), Some("1024"))
    );
    parity(&p, &[]).code(1).stderr_has("2 drifts break parity");
}

#[test]
fn a_services_and_ports_drift_breaks_parity() {
    let p = example(
        |t| same(t).replace("internal_port = 3000", "internal_port = 8080"),
        |_| {},
    );
    let doc = parity(&p, &["--json"]).code(1).json();
    assert_eq!(
        breaking(&doc),
        pairs(&[("services", "http_service.internal_port")])
    );
}

#[test]
fn a_health_check_drift_breaks_parity() {
    let p = example(
        |t| same(t).replace("path = \"/health\"", "path = \"/healthz\""),
        |_| {},
    );
    let doc = parity(&p, &["--json"]).code(1).json();
    assert_eq!(
        breaking(&doc),
        pairs(&[("checks", "http_service.checks[0].path")])
    );
}

#[test]
fn a_deploy_strategy_or_release_command_drift_breaks_parity() {
    let p = example(
        |t| {
            same(t)
                .replace("strategy = \"rolling\"", "strategy = \"bluegreen\"")
                .replace("npx prisma migrate deploy", "bin/migrate")
        },
        |_| {},
    );
    let doc = parity(&p, &["--json"]).code(1).json();
    assert_eq!(
        breaking(&doc),
        pairs(&[
            ("deploy", "deploy.release_command"),
            ("deploy", "deploy.strategy")
        ])
    );
}

#[test]
fn a_processes_drift_breaks_parity() {
    let p = example(
        |t| {
            format!(
                "{}\n[processes]\n  app = \"npm start\"\n  worker = \"npm run worker\"\n",
                same(t)
            )
        },
        |_| {},
    );
    let doc = parity(&p, &["--json"]).code(1).json();
    assert_eq!(
        breaking(&doc),
        pairs(&[
            ("processes", "processes.app"),
            ("processes", "processes.worker")
        ])
    );
}

#[test]
fn a_mounts_drift_breaks_parity() {
    let p = example(
        |t| {
            format!(
                "{}\n[[mounts]]\n  source = \"data\"\n  destination = \"/data\"\n",
                same(t)
            )
        },
        |_| {},
    );
    let doc = parity(&p, &["--json"]).code(1).json();
    assert_eq!(
        breaking(&doc),
        pairs(&[
            ("mounts", "mounts[0].destination"),
            ("mounts", "mounts[0].source")
        ])
    );
}

#[test]
fn an_env_key_drift_breaks_parity_but_values_are_meant_to_differ() {
    let p = example(
        |t| {
            same(t)
                .replace("PORT = \"3000\"", "PORT = \"3000\"\n  FEATURE_X = \"on\"")
                .replace("NODE_ENV = \"production\"", "NODE_ENV = \"prod\"")
        },
        |_| {},
    );
    let run = parity(&p, &["--json"]);
    let doc = run.code(1).json();
    assert_eq!(breaking(&doc), pairs(&[("env", "env.FEATURE_X")]));
    let node_env = doc["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "env.NODE_ENV")
        .unwrap()
        .clone();
    assert_eq!(node_env["level"], "info");
    assert!(
        !run.stdout.contains("\"prod\""),
        "env values are not printed: {}",
        run.stdout
    );
}

#[test]
fn a_secret_name_drift_breaks_parity_and_no_value_or_digest_is_shown() {
    let p = example(same, |w| {
        w["apps"]["hotdash-production"]["secrets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "STRIPE_KEY", "digest": SECRET_DIGEST, "status": "Deployed"}));
    });
    let json_run = parity(&p, &["--json"]);
    let doc = json_run.code(1).json();
    assert_eq!(breaking(&doc), pairs(&[("secrets", "secrets.STRIPE_KEY")]));
    let text_run = parity(&p, &[]);
    text_run.code(1).stdout_has("secrets.STRIPE_KEY");
    for (what, text) in [
        ("json stdout", json_run.stdout.as_str()),
        ("json stderr", json_run.stderr.as_str()),
        ("stdout", text_run.stdout.as_str()),
        ("stderr", text_run.stderr.as_str()),
        ("evidence", &p.read("feedback/deployment.md")),
    ] {
        for digest in [SECRET_DIGEST, "5a3f9c0d2e1b4a67", "0b1c2d3e4f5a6b7c"] {
            assert!(
                !text.contains(digest),
                "{what} shows a secret digest: {text}"
            );
        }
    }
    let receipts: String = std::fs::read_dir(p.file(".shipit/runs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(receipts.contains("secrets.STRIPE_KEY") && !receipts.contains(SECRET_DIGEST));
}

#[test]
fn a_different_image_breaks_parity_unless_allowed() {
    let p = example(same, |_| {});
    fly_deploy(
        &p,
        "hotdash-production",
        "fly/hotdash-production.toml",
        "registry.fly.io/hotdash-staging:deployment-01OLDER",
    );
    let doc = parity(&p, &["--json"]).code(1).json();
    assert_eq!(breaking(&doc), pairs(&[("image", "image")]));
    let doc = parity(&p, &["--json", "--allow-image-drift"])
        .code(0)
        .json();
    let image = doc["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "image")
        .unwrap()
        .clone();
    assert_eq!(image["level"], "allowed");
    assert_eq!(
        image["b"],
        "registry.fly.io/hotdash-staging:deployment-01OLDER"
    );
}

#[test]
fn parity_ignore_turns_a_drift_into_allowed_and_app_limits_the_comparison() {
    let p = example(
        |t| same(t).replace("npx prisma migrate deploy", "bin/migrate"),
        |_| {},
    );
    parity(&p, &[]).code(1);
    let config = p.read("shipit.yml") + "parity:\n  ignore: [deploy.release_command]\n";
    p.config(&config);
    let doc = parity(&p, &["--json", "--app", "web"]).code(0).json();
    let d = doc["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == "deploy.release_command")
        .unwrap()
        .clone();
    assert_eq!(d["level"], "allowed");
    assert_eq!(d["note"], "parity.ignore: deploy.release_command");
    assert_eq!(
        doc["services"].as_array().unwrap().len(),
        1,
        "--app web only"
    );
}

#[test]
fn bad_arguments_and_config_are_clear_errors() {
    let p = example(same, |_| {});
    parity(&p, &["--app", "nope"])
        .code(1)
        .stderr_has("neither `staging` nor `production` has a service `nope`");
    with_secrets(&p, &["parity", "staging", "prodution"])
        .code(1)
        .stderr_has("`prodution` is not an environment")
        .stderr_has("did you mean `production`?");
    let config = p.read("shipit.yml") + "parity:\n  ignore: [\"env.\"]\n";
    p.config(&config);
    parity(&p, &[])
        .code(1)
        .stderr_has("shipit.yml:")
        .stderr_has("`parity.ignore` entry `env.` is not a drift key");
}

/// The first ```json block after `heading` in the README.
pub(crate) fn readme_json(heading: &str) -> Value {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let block = readme[at..]
        .split("```json\n")
        .nth(1)
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    serde_json::from_str(block)
        .unwrap_or_else(|e| panic!("README's {heading} JSON does not parse: {e}"))
}

/// Every key path of a document (`drifts[].key`), with array elements merged.
pub(crate) fn shape(v: &Value) -> std::collections::BTreeSet<String> {
    fn walk(v: &Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    out.insert(p.clone());
                    walk(v, &p, out);
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|i| walk(i, &format!("{path}[]"), out)),
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(v, "", &mut out);
    out
}

#[test]
fn the_readme_documents_the_parity_json() {
    let p = example(same, |_| {});
    // Production's machines were resized outside fly.toml (`fly scale memory 1024`).
    let mut world = p.state();
    for m in world["apps"]["hotdash-production"]["machines"]
        .as_array_mut()
        .unwrap()
    {
        m["guest"]["memory_mb"] = json!(1024);
    }
    p.fly_state(&world);
    let doc = parity(&p, &["--json"]).code(1).json();
    let readme = readme_json("### `shipit parity`");
    assert_eq!(
        shape(&readme),
        shape(&doc),
        "README vs real --json document"
    );
    for (key, level) in [
        ("guest.app.memory_mb", "breaks"),
        ("agent", "allowed"),
        ("app", "info"),
    ] {
        let find = |d: &Value| {
            d["drifts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["key"] == key)
                .cloned()
                .unwrap()
        };
        let (r, real) = (find(&readme), find(&doc));
        assert_eq!(
            (r["level"].as_str(), r["kind"].as_str()),
            (Some(level), real["kind"].as_str())
        );
        assert_eq!(r, real, "README's {key} drift is what shipit prints");
    }
    assert_eq!(readme["counts"], doc["counts"]);
    assert_eq!(readme["services"], doc["services"]);
}
