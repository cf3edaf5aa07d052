//! Evidence: whole log entries from concurrent processes, receipts written by rename and read back
//! by `shipit history` and `shipit explain`, and nothing secret in either.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shipit::config::EvidenceSettings;
use shipit::evidence::{self, log, receipt};
use shipit::report::RunRecord;

use crate::notify::{rollback_failed, rolled_back, succeeded};
use crate::support::Project;

/// How a child process knows it is one: the log to append to, and its number.
const CHILD_LOG: &str = "SHIPIT_IT_EVIDENCE_CHILD_LOG";
const CHILD_N: &str = "SHIPIT_IT_EVIDENCE_CHILD_N";
const CHILDREN: usize = 8;
/// Lines of issues per entry: large entries (about 150 KB) make torn writes likely if locking or
/// single-write appends were broken.
const LINES: usize = 2000;

fn child_record(n: usize) -> RunRecord {
    let mut r = rolled_back();
    r.id = format!("20261127T102117Z-child{n}");
    r.services[0].issues = (0..LINES)
        .map(|i| format!("child {n} issue {i:04} {}", "x".repeat(60)))
        .collect();
    r
}

/// Not a test on its own: the body of each child process of
/// `eight_processes_append_whole_entries`. Without the variables it does nothing.
#[test]
fn child_appends_one_entry() {
    let (Ok(log_path), Ok(n)) = (std::env::var(CHILD_LOG), std::env::var(CHILD_N)) else {
        return;
    };
    let n: usize = n.parse().unwrap();
    // Start together: wait for the parent's go file.
    let go = PathBuf::from(format!("{log_path}.go"));
    let start = Instant::now();
    while !go.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(2));
    }
    log::append(Path::new(&log_path), &log::entry(&child_record(n))).unwrap();
}

#[test]
fn eight_processes_append_whole_entries() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("feedback/deep/deployment.md");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|n| {
            Command::new(&exe)
                .args([
                    "evidence::child_appends_one_entry",
                    "--exact",
                    "--test-threads=1",
                    "--quiet",
                ])
                .env(CHILD_LOG, &log_path)
                .env(CHILD_N, n.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::create_dir_all(log_path.parent().unwrap()).unwrap();
    std::fs::write(format!("{}.go", log_path.display()), "").unwrap();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.starts_with(log::HEADER),
        "the header is written once, first"
    );
    assert_eq!(text.matches("# Deployment log").count(), 1);

    // Read the entries back without shipit's parser: each start marker is followed by its own
    // end marker, and everything between belongs to the same child.
    let mut seen = Vec::new();
    let mut rest = text.as_str();
    while let Some(pos) = rest.find("<!-- shipit:run ") {
        let after = &rest[pos..];
        let id_end = after.find(" -->").unwrap();
        let id = &after["<!-- shipit:run ".len()..id_end];
        let end_marker = format!("<!-- /shipit:run {id} -->");
        let end = after
            .find(&end_marker)
            .unwrap_or_else(|| panic!("entry {id} is not closed"));
        let body = &after[..end];
        assert_eq!(
            body.matches("<!-- shipit:run ").count(),
            1,
            "entry {id} has another entry inside it"
        );
        let n: usize = id
            .trim_start_matches("20261127T102117Z-child")
            .parse()
            .unwrap();
        let issue_lines: Vec<&str> = body.lines().filter(|l| l.contains(" issue ")).collect();
        assert_eq!(issue_lines.len(), LINES, "entry {id} is whole");
        assert!(
            issue_lines
                .iter()
                .all(|l| l.contains(&format!("child {n} issue "))),
            "entry {id} holds only its own lines"
        );
        seen.push(n);
        rest = &after[end + end_marker.len()..];
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..CHILDREN).collect::<Vec<_>>(),
        "exactly one entry per process"
    );
    let parsed = log::entries(&text);
    assert_eq!(parsed.len(), CHILDREN);
    assert!(parsed.iter().all(|e| e.complete));
    assert!(
        log::lock_path(&log_path).exists(),
        "the lock is a sidecar file"
    );
}

#[test]
fn a_log_entry_says_when_what_health_issues_and_actions() {
    let entry = log::entry(&rolled_back());
    let stamp = regex_lite::Regex::new(
        r"## \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ · deploy staging · rolled back",
    )
    .unwrap();
    assert!(stamp.is_match(&entry), "{entry}");
    for needle in [
        "<!-- shipit:run 20261127T102117Z-1a2b3c4 -->",
        "### hotdash-staging (staging/web)",
        "- **Health status:** new release unhealthy; previous release live and healthy again",
        "- **Release:** v41 → v42",
        "live now: v41",
        "- **Decision:** roll back — health gate failed",
        "- **Issues detected:**\n  - health gate: [STATUS] (503) == 200 on 3 probes in a row",
        "- **Actions taken:**\n  - deployed v42 (flyctl deploy)",
        "exit 3 (rolled_back)",
        "<!-- /shipit:run 20261127T102117Z-1a2b3c4 -->",
    ] {
        assert!(entry.contains(needle), "entry lacks {needle:?}:\n{entry}");
    }
    let ok = log::entry(&succeeded());
    assert!(
        ok.contains("- **Health status:** healthy") && ok.contains("- **Issues detected:** none"),
        "{ok}"
    );
}

#[test]
fn evidence_is_redacted_and_receipts_are_renamed_into_place() {
    shipit::secret::register("evidence-secret-value-77");
    let dir = tempfile::tempdir().unwrap();
    let settings = EvidenceSettings {
        log: dir.path().join("feedback/deployment.md"),
        runs: dir.path().join(".shipit/runs"),
        state: dir.path().join(".shipit"),
    };
    let mut r = rolled_back();
    r.services[0].reason = Some("refused evidence-secret-value-77\n<!-- /shipit:run x -->".into());
    r.services[0].flyctl.push(vec![
        "flyctl".into(),
        "secrets".into(),
        "set".into(),
        "TOKEN=evidence-secret-value-77".into(),
    ]);
    let written = evidence::record(&settings, &r);
    let log_path = written.log.unwrap();
    let receipt_path = written.receipt.unwrap();
    assert_eq!(
        receipt_path,
        settings.runs.join("20261127T102117Z-1a2b3c4.json")
    );
    let log_text = std::fs::read_to_string(&log_path).unwrap();
    let receipt_text = std::fs::read_to_string(&receipt_path).unwrap();
    for text in [&log_text, &receipt_text] {
        assert!(!text.contains("evidence-secret-value-77"));
        assert!(text.contains("***"));
    }
    assert_eq!(
        log::entries(&log_text).len(),
        1,
        "a value cannot close the entry early"
    );
    let names: Vec<String> = std::fs::read_dir(&settings.runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["20261127T102117Z-1a2b3c4.json"],
        "no temporary file is left behind"
    );
    let back: RunRecord = serde_json::from_str(&receipt_text).unwrap();
    assert_eq!(back.services[0].gates.len(), 4);
    assert_eq!(back.services[0].flyctl[2][3], "TOKEN=***");
    assert_eq!(back.services[0].steps[2].duration_ms, 71_000);
}

#[test]
fn evidence_settings_without_loading_the_config_match_the_config() {
    let project = Project::new();
    for extra in ["", "evidence: { log: logs/deploys.md, runs: receipts }\n"] {
        let yaml = format!(
            "version: 1\napps: {{ web: {{}} }}\nenvironments:\n  staging:\n    web: {{ app: a-staging, url: https://a.fly.dev }}\n{extra}"
        );
        project.config(&yaml);
        let path = project.file("shipit.yml");
        let full = shipit::config::parse(&path, &yaml).unwrap().evidence;
        let light = evidence::settings_for(&path).unwrap();
        assert_eq!(
            (full.log, full.runs, full.state),
            (light.log, light.runs, light.state)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// history and explain through the binary

fn project_with_runs() -> Project {
    let project = Project::new();
    // The notify section uses a variable that is not set: history must not need it.
    project.config(
        "version: 1\napps: { web: {}, agent: {} }\nenvironments:\n  staging:\n    web: { app: hotdash-staging, url: https://hotdash-staging.fly.dev }\n    agent: { app: hotdash-agent-service, url: https://hotdash-agent-service.fly.dev }\nnotify:\n  - slack: { webhook_url: \"${NOT_SET_ANYWHERE_42}\" }\n",
    );
    let runs = project.file(".shipit/runs");
    for r in [rolled_back(), succeeded(), rollback_failed()] {
        receipt::write(&runs, &r).unwrap();
    }
    project.write(".shipit/runs/garbage.json", "{ not a receipt");
    project
}

#[test]
fn history_lists_runs_newest_first_and_filters_by_app() {
    let project = project_with_runs();
    let run = project.run(&["history"]);
    run.code(0).stderr_has("skipped .shipit/runs/garbage.json");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ID ") && lines[0].contains("OUTCOME"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("20261127T120000Z-9a9b9c9") && lines[1].contains("rollback_failed"),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("20261127T110000Z-5d6e7f8")
            && lines[2].contains("staging/hotdash-staging,hotdash-agent-service")
    );
    assert!(lines[3].starts_with("20261127T102117Z-1a2b3c4") && lines[3].contains("rolled_back"));
    assert_eq!(lines.len(), 4);

    let agent = project.run(&["history", "hotdash-agent-service"]);
    assert_eq!(agent.code(0).stdout.lines().count(), 2, "{}", agent.stdout);
    let limited = project.run(&["history", "--limit", "1", "--json"]);
    let doc = limited.code(0).json();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 1);
    assert_eq!(doc["runs"][0]["id"], "20261127T120000Z-9a9b9c9");
    assert_eq!(doc["runs"][0]["exit_code"], 4);

    let empty = Project::new();
    empty.config("version: 1\napps: { web: {} }\nenvironments:\n  staging:\n    web: { app: a, url: https://a.fly.dev }\n");
    empty
        .run(&["history"])
        .code(0)
        .stderr_has("no runs recorded in");
}

#[test]
fn explain_shows_one_run_by_id_prefix_or_last() {
    let project = project_with_runs();
    let run = project.run(&["explain", "20261127T1021"]);
    run.code(0);
    for needle in [
        "run 20261127T102117Z-1a2b3c4 · deploy · staging",
        "outcome: rolled_back (exit 3)",
        "web · hotdash-staging (staging) — rolled back",
        "release: v41 → v42",
        "10:21:22  deploy",
        "1m 11s",
        "health",
        "✗ fail",
        "probe 2: 503 in 98ms",
        "decision: roll back",
        "flyctl deploy --app hotdash-staging --image registry.fly.io/hotdash-staging:deployment-01JD0AAAA",
        "commit 0123456",
    ] {
        run.stdout_has(needle);
    }
    project
        .run(&["explain", "last"])
        .code(0)
        .stdout_has("run 20261127T120000Z-9a9b9c9");
    project
        .run(&["explain", "20261127T"])
        .code(1)
        .stderr_has("matches 3 runs")
        .stderr_has("hint: type more of the id");
    project
        .run(&["explain", "nope"])
        .code(1)
        .stderr_has("no run `nope`");
    let doc = project
        .run(&["explain", "--json", "20261127T110000Z-5d6e7f8"])
        .code(0)
        .json();
    let on_disk: serde_json::Value =
        serde_json::from_str(&project.read(".shipit/runs/20261127T110000Z-5d6e7f8.json")).unwrap();
    assert_eq!(doc, on_disk, "--json prints the receipt");
}
