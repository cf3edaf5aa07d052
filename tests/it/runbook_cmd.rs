//! `shipit runbook`: the runbook of the repository's example config is snapshot-tested against
//! the repository's own `docs/runbook.md` (`UPDATE_SNAPSHOTS=1` rewrites it; review the diff),
//! `--check` fails with a diff on a stale file, and the record's part comes from the receipts
//! and survives a machine that has none.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Project, Run};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example() -> Project {
    let p = Project::new();
    for rel in [
        "shipit.yml",
        "fly/hotdash-staging.toml",
        "fly/hotdash-production.toml",
        "fly/agent-service.toml",
        "smoke/web.yml",
    ] {
        p.write(rel, &std::fs::read_to_string(repo().join(rel)).unwrap());
    }
    p
}

fn runbook(p: &Project, args: &[&str]) -> Run {
    let mut all = vec!["runbook"];
    all.extend_from_slice(args);
    Run::from(
        p.shipit(&all)
            .env(
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T0/B0/runbooksecret",
            )
            .env("DEPLOY_WEBHOOK_URL", "https://hooks.example.com/deploy")
            .env("DEPLOY_WEBHOOK_SECRET", "whsec_cnVuYm9vaw==")
            .output()
            .unwrap(),
    )
}

#[test]
fn the_example_config_gives_the_committed_runbook() {
    let p = example();
    runbook(&p, &[]).code(0).stdout_has("docs/runbook.md");
    let written = p.read("docs/runbook.md");
    let snapshot = repo().join("docs/runbook.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        std::fs::write(&snapshot, &written).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert!(
        written == expected,
        "the example's runbook differs from docs/runbook.md (UPDATE_SNAPSHOTS=1 rewrites it):\n{}",
        shipit::runbook::diff(&expected, &written)
    );
    for must in [
        "shipit deploy staging --app agent",
        "shipit rollback hotdash-production --to VERSION",
        "address from `${SLACK_WEBHOOK_URL}`",
        "| critical | any 5xx answer",
    ] {
        assert!(written.contains(must), "lacks {must:?}");
    }
    for secret in ["runbooksecret", "hooks.example.com", "whsec_"] {
        assert!(
            !written.contains(secret),
            "a secret's value reached the runbook: {secret}"
        );
    }
    // The same inputs give the same bytes.
    runbook(&p, &["--check"]).code(0).stderr_has("is current");
}

#[test]
fn check_mode_fails_with_a_diff_on_a_stale_or_missing_file() {
    let p = example();
    runbook(&p, &["--check"])
        .code(1)
        .stderr_has("docs/runbook.md does not exist")
        .stderr_has("hint: run `shipit runbook`");
    runbook(&p, &[]).code(0);
    let config = p
        .read("shipit.yml")
        .replace("healthy_after: 3", "healthy_after: 5");
    p.config(&config);
    let run = runbook(&p, &["--check"]);
    run.code(1)
        .stderr_has("docs/runbook.md is stale")
        .stdout_has(
            "- - `hotdash-staging`: health gate on `/health` every 2s: open after 3 passing probes",
        )
        .stdout_has(
            "+ - `hotdash-staging`: health gate on `/health` every 2s: open after 5 passing probes",
        );
    let before = p.read("docs/runbook.md");
    assert!(
        before.contains("open after 3"),
        "check mode changed the file"
    );
    let doc = runbook(&p, &["--check", "--json"]).json();
    assert_eq!(doc["status"], "stale");
    assert!(doc["diff"].as_str().unwrap().contains("+ "));
    runbook(&p, &[]).code(0);
    runbook(&p, &["--check"]).code(0);
}

fn rollback_receipt(id: &str, app: &str, env: &str) -> Value {
    json!({
        "id": id, "kind": "deploy", "env": env, "started_at": "2026-11-27T10:23:20Z",
        "finished_at": "2026-11-27T10:25:10Z", "duration_ms": 110000, "outcome": "rolled_back",
        "event": "rolled_back", "summary": "deploy failed and rolled back", "run_url": null,
        "sha": null, "actor": null,
        "services": [{"env": env, "service": "web", "app": app, "url": "https://x", "result": "rolled_back",
            "from": {"version": 41, "image": "img:41"}, "to": {"version": 42, "image": "img:42"},
            "live": {"version": 43, "image": "img:41"}, "gates": [], "steps": [], "flyctl": [],
            "decision": null, "reason": "health gate failed", "issues": [], "actions": [], "warnings": []}]
    })
}

#[test]
fn the_record_part_comes_from_the_receipts_and_survives_a_machine_without_them() {
    let p = example();
    p.write(
        ".shipit/runs/20261127T102320Z-ab12.json",
        &rollback_receipt("20261127T102320Z-ab12", "hotdash-staging", "staging").to_string(),
    );
    runbook(&p, &[]).code(0);
    let with_record = p.read("docs/runbook.md");
    assert!(
        with_record.contains("| `hotdash-staging` | staging | 2026-11-27T10:23:20Z | automatic | "),
        "{with_record}"
    );
    assert!(with_record.contains("`20261127T102320Z-ab12`"));
    // A fresh runner has no receipts: it keeps the record part and finds the file current.
    std::fs::remove_dir_all(p.file(".shipit")).unwrap();
    runbook(&p, &["--check"]).code(0);
    runbook(&p, &[]).code(0);
    assert_eq!(p.read("docs/runbook.md"), with_record);
}
