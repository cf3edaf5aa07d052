//! GitHub Actions files and commands: outputs that survive any value (multi-line, delimiter-like,
//! ANSI, secrets), the job summary, annotation escaping, and the workflow commands of a real run.

use std::collections::HashMap;

use shipit::github::{self, Level};
use shipit::report::Verdict;

use crate::notify::{rolled_back, succeeded};
use crate::support::Project;

/// Reads `$GITHUB_OUTPUT` the way the runner does: `key=value` lines and `key<<DELIM` blocks.
fn parse_output_file(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        if let Some((key, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(key.to_owned(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            out.insert(key.to_owned(), value.to_owned());
        } else {
            panic!("malformed output line {line:?} in:\n{text}");
        }
    }
    out
}

#[test]
fn outputs_round_trip_any_value() {
    shipit::secret::register("output-secret-value-99");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("output");
    std::fs::write(&path, "earlier=kept\n").unwrap();
    let tricky = [
        ("multi", "line one\nline two\n\nline four".to_owned()),
        (
            "delimiter_like",
            "ghadelimiter_0123\nEOF\nkey<<EOF\n=".to_owned(),
        ),
        ("heredoc_looking", "a<<b".to_owned()),
        ("ansi", "\u{1b}[31mred\u{1b}[0m".to_owned()),
        ("secret", "token output-secret-value-99 here".to_owned()),
        ("empty", String::new()),
    ];
    github::write_outputs_to(
        &path,
        &tricky
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    github::write_outputs_to(&path, &[("version", "42".to_owned())]).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains('\u{1b}') && !text.contains("output-secret-value-99"));
    let parsed = parse_output_file(&text);
    assert_eq!(parsed["earlier"], "kept");
    assert_eq!(parsed["multi"], "line one\nline two\n\nline four");
    assert_eq!(
        parsed["delimiter_like"],
        "ghadelimiter_0123\nEOF\nkey<<EOF\n="
    );
    assert_eq!(parsed["heredoc_looking"], "a<<b");
    assert_eq!(parsed["ansi"], "red");
    assert_eq!(parsed["secret"], "token *** here");
    assert_eq!(parsed["empty"], "");
    assert_eq!(parsed["version"], "42");
    // Every block uses its own random delimiter.
    let delims: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once("<<ghadelimiter_").map(|(_, d)| d))
        .collect();
    assert_eq!(delims.len(), 7);
    assert!(delims.iter().all(|d| d.len() == 32), "{delims:?}");
    let mut unique = delims.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), delims.len());

    assert!(github::write_outputs_to(&path, &[("bad key", "x".to_owned())]).is_err());
}

#[test]
fn run_outputs_name_the_release_and_the_rollback() {
    let o: HashMap<&str, String> = github::outputs(&rolled_back()).into_iter().collect();
    assert_eq!(o["result"], "rolled_back");
    assert_eq!(o["version"], "42");
    assert_eq!(o["previous_version"], "41");
    assert_eq!(
        o["image"],
        "registry.fly.io/hotdash-staging:deployment-01JD0BBBB"
    );
    assert_eq!(
        o["previous_image"],
        "registry.fly.io/hotdash-staging:deployment-01JD0AAAA"
    );
    assert_eq!(o["rolled_back"], "true");
    assert_eq!(o["url"], "https://hotdash-staging.fly.dev");
    assert_eq!(o["run_id"], "20261127T102117Z-1a2b3c4");
    let ok: HashMap<&str, String> = github::outputs(&succeeded()).into_iter().collect();
    assert_eq!(
        (ok["result"].as_str(), ok["rolled_back"].as_str()),
        ("succeeded", "false")
    );
}

#[test]
fn the_job_summary_has_the_result_versions_gates_and_rollback() {
    shipit::secret::register("summary-secret-value-55");
    let mut r = rolled_back();
    r.services[0].gates[1].observed =
        "503 | 502\nthen \u{1b}[1m<b>summary-secret-value-55</b>\u{1b}[0m".into();
    let md = github::summary_markdown(&r);
    for needle in [
        "## ⚠️ shipit deploy staging: rolled back",
        "| Service | App | Result | Release | Image | Live now | Rollback |",
        "| web | hotdash-staging | rolled back | v41 → v42 |",
        "| rolled back to v41, healthy again |",
        "| Gate | Rule | Observed | Verdict |",
        "| fleet | every started machine runs the new image | 2/2 machines on deployment-01JD0BBBB | ✓ pass |",
        "| 503 \\| 502<br>then &lt;b&gt;***&lt;/b&gt; | ✗ fail |",
        "**Decision:** roll back",
        "**Rollback:** rolled back to v41, healthy again",
        "Run `20261127T102117Z-1a2b3c4`",
        "[workflow run](https://github.com/acme/hotdash/actions/runs/123456)",
        "`shipit explain 20261127T102117Z-1a2b3c4`",
    ] {
        assert!(md.contains(needle), "summary lacks {needle:?}:\n{md}");
    }
    assert!(!md.contains('\u{1b}') && !md.contains("summary-secret-value-55"));
    // Every table row has as many cells as its header.
    for line in md.lines().filter(|l| l.starts_with('|')) {
        let cells = line.replace("\\|", "").matches('|').count();
        assert!(cells == 8 || cells == 5, "row with a stray `|`: {line}");
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.md");
    github::append_summary_to(&path, &md).unwrap();
    github::append_summary_to(&path, "second").unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("## ⚠️") && text.ends_with("second\n"),
        "summaries are appended"
    );
}

#[test]
fn annotations_are_escaped_and_titled() {
    assert_eq!(
        github::annotation_command(
            Level::Error,
            "staging/web health gate failed",
            "[STATUS] == 200 · observed 503\nprobe 1: 503"
        ),
        "::error title=staging/web health gate failed::[STATUS] == 200 · observed 503%0Aprobe 1: 503"
    );
    assert_eq!(
        github::annotation_command(Level::Warning, "a,b:c", "100%\r"),
        "::warning title=a%2Cb%3Ac::100%25%0D"
    );
    assert_eq!(
        github::group_command("flyctl deploy\n::error::x"),
        "::group::flyctl deploy%0A::error::x"
    );
    assert_eq!(github::escape_data("%\n"), "%25%0A");
    assert_eq!(github::escape_property("a:b,"), "a%3Ab%2C");
}

#[test]
fn annotations_stop_at_ten_per_level_with_the_rest_in_the_log() {
    // The limit is per process (a step); this runs in a child so the counters start at zero.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "github_io::child_annotates_twelve_gates",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SHIPIT_IT_ANNOTATE_CHILD", "1")
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("::error title=").count(), 10, "{text}");
    assert_eq!(text.matches("::warning title=").count(), 2, "{text}");
    assert!(text.contains("more than 10 errors in this step"), "{text}");
    assert!(
        text.contains("gate11 gate failed"),
        "the dropped ones are in the log: {text}"
    );
}

/// The body of the child process above; does nothing without its variable.
#[test]
fn child_annotates_twelve_gates() {
    if std::env::var_os("SHIPIT_IT_ANNOTATE_CHILD").is_none() {
        return;
    }
    let mut r = rolled_back();
    let template = r.services[0].gates[1].clone();
    r.services[0].gates = (0..14)
        .map(|i| {
            let mut g = template.clone();
            g.name = format!("gate{i}");
            g.verdict = if i < 12 { Verdict::Fail } else { Verdict::Warn };
            g
        })
        .collect();
    let printer = shipit::printer::Printer::capturing();
    github::annotate_gates(&printer, &r);
    // The test harness captures stdout only with --nocapture: print what the printer kept.
    #[allow(clippy::print_stdout)]
    for line in printer.captured() {
        println!("{line}");
    }
}

#[test]
fn under_actions_masks_come_first_and_channel_urls_are_never_printed() {
    let project = Project::new();
    project.config(
        "version: 1\napps: { web: {} }\nenvironments:\n  staging:\n    web: { app: a-staging, url: https://a.fly.dev }\nnotify:\n  - slack: { webhook_url: \"${SLACK_URL}\" }\n",
    );
    let out = project
        .shipit(&["notify", "test"])
        .env("GITHUB_ACTIONS", "true")
        .env(
            "SLACK_URL",
            "http://127.0.0.1:9/services/very-secret-slack-token",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("::add-mask::"),
        "masks come first:\n{stderr}"
    );
    assert_eq!(
        stderr
            .matches("::add-mask::http://127.0.0.1:9/services/very-secret-slack-token")
            .count(),
        1,
        "the config's secrets are masked once loaded:\n{stderr}"
    );
    assert_eq!(
        stderr.matches("::add-mask::fo1_test_token").count(),
        1,
        "{stderr}"
    );
    for line in stderr
        .lines()
        .filter(|l| l.contains("very-secret-slack-token"))
    {
        assert!(
            line.starts_with("::add-mask::"),
            "a secret outside a mask:\n{stderr}"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL  slack (127.0.0.1:9)"), "{stdout}");
    assert!(!stdout.contains("very-secret-slack-token"), "{stdout}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "port 9 refuses: the test message is not delivered"
    );
}

// ---------------------------------------------------------------------------------------------
// The finish hook through a real run (`shipit health` ends with it)

#[test]
fn a_finished_run_under_actions_leaves_evidence_summary_outputs_annotations_and_messages() {
    use crate::notify::{Recorder, Reply};
    use crate::support::server::{Behaviour, Server};

    let app = Server::start([("/health", Behaviour::status(503))]);
    let hooks = Recorder::start(|_| Reply::Status(200));
    let project = Project::new();
    project.config(&format!(
        "version: 1\ndefaults:\n  health: {{ timeout: 1s }}\napps: {{ web: {{}} }}\nenvironments:\n  staging:\n    web: {{ app: hotdash-staging, url: {} }}\nnotify:\n  - webhook: {{ url: \"${{HOOK_URL}}\" }}\n  - slack: {{ webhook_url: \"${{SLACK_URL}}\", on: [success] }}\n",
        app.url()
    ));
    let gh = tempfile::tempdir().unwrap();
    let (output, summary) = (gh.path().join("output"), gh.path().join("summary.md"));
    let out = project
        .shipit(&["health", "staging"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/hotdash")
        .env("GITHUB_RUN_ID", "777")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("HOOK_URL", hooks.url("/hook/secret-path-token"))
        .env("SLACK_URL", hooks.url("/slack/secret-path-token"))
        .output()
        .unwrap();
    let run = crate::support::Run::from(out);
    run.code(1)
        .stderr_has("evidence: feedback/deployment.md, receipt .shipit/runs/")
        .stderr_has("::error title=staging/web health gate failed::")
        .stderr_has(&format!(
            "notified webhook (127.0.0.1:{}) (alert)",
            hooks.addr.port()
        ));
    // The channel URLs are secrets: masked for the runner, never printed otherwise.
    let masked = format!("::add-mask::{}", hooks.url("/hook/secret-path-token"));
    // The token (and its encoded forms) are masked before anything else is written.
    let first_other = run
        .stderr
        .lines()
        .position(|l| !l.starts_with("::add-mask::"))
        .unwrap_or(0);
    assert!(
        run.stderr
            .lines()
            .take(first_other)
            .any(|l| l == "::add-mask::fo1_test_token_do_not_leak_0123456789"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&masked), "{}", run.stderr);
    for line in run
        .stderr
        .lines()
        .filter(|l| l.contains("secret-path-token"))
    {
        assert!(line.starts_with("::add-mask::"), "{}", run.stderr);
    }

    // Evidence: one whole entry, and a receipt that `explain` reads.
    let log_text = project.read("feedback/deployment.md");
    let entries = shipit::evidence::log::entries(&log_text);
    assert_eq!(entries.len(), 1);
    assert!(entries[0].complete);
    assert!(
        entries[0].body.contains("- **Health status:** unhealthy"),
        "{log_text}"
    );
    let explained = project.run(&["explain", "last"]);
    explained
        .code(0)
        .stdout_has("web · hotdash-staging (staging) — unhealthy");
    explained.stdout_has(&entries[0].id);

    // GitHub files.
    let outputs = parse_output_file(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(outputs["result"], "alert");
    assert_eq!(outputs["rolled_back"], "false");
    assert_eq!(outputs["run_id"], entries[0].id);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("shipit health staging: alert"), "{md}");
    assert!(
        md.contains("| Gate | Rule | Observed | Verdict |") && md.contains("✗ fail"),
        "{md}"
    );
    assert!(
        md.contains("[workflow run](https://github.com/acme/hotdash/actions/runs/777)"),
        "{md}"
    );
    assert!(!md.contains('\u{1b}'));

    // Messages: the webhook wants everything, Slack only successes.
    let got = hooks.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["type"], "shipit.alert");
    assert_eq!(
        body["data"]["run"]["run_url"],
        "https://github.com/acme/hotdash/actions/runs/777"
    );
}

#[test]
fn a_dead_receiver_does_not_change_a_runs_exit_code() {
    use crate::notify::{Recorder, Reply};
    use crate::support::server::{Behaviour, Server};

    let app = Server::start([("/health", Behaviour::status(503))]);
    let hooks = Recorder::start(|path| {
        if path.starts_with("/hang") {
            Reply::Hang
        } else {
            Reply::Status(500)
        }
    });
    let project = Project::new();
    // A failed check first (no channels yet), so that the healthy one below is a change of
    // verdict, which is announced: an unchanged one would notify nobody.
    project.config(&format!(
        "version: 1\napps: {{ web: {{}} }}\nenvironments:\n  staging:\n    web: {{ app: hotdash-staging, url: {} }}\n",
        app.url()
    ));
    project.run(&["health", "staging"]).code(1);
    app.set("/health", Behaviour::ok("up"));
    project.config(&format!(
        "version: 1\napps: {{ web: {{}} }}\nenvironments:\n  staging:\n    web: {{ app: hotdash-staging, url: {} }}\nnotify:\n  - webhook: {{ url: \"{}\" }}\n  - discord: {{ webhook_url: \"{}\" }}\n",
        app.url(),
        hooks.url("/hang/hook"),
        hooks.url("/fail/discord"),
    ));
    let start = std::time::Instant::now();
    let out = project
        .shipit(&["health", "staging"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    let took = start.elapsed();
    let run = crate::support::Run::from(out);
    run.code(0)
        .stderr_has("warning: notification to webhook (127.0.0.1:")
        .stderr_has("no answer within 4s")
        .stderr_has("HTTP 500: invalid_payload after 3 attempts")
        .stderr_has("::warning title=notification not delivered::");
    assert!(
        took < shipit::notify::TOTAL_CAP + std::time::Duration::from_secs(3),
        "took {took:?}"
    );
    assert_eq!(hooks.received().len(), 4, "one timed-out POST, three 500s");
}

#[test]
fn a_rolled_back_deploy_under_actions_groups_flyctl_and_reports_the_rollback() {
    use crate::notify::{Recorder, Reply};
    use crate::support::fleet::FleetServer;
    use crate::support::server::Behaviour;
    use serde_json::json;

    const APP: &str = "hotdash-staging";
    const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
    let hooks = Recorder::start(|_| Reply::Status(202));
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: crate::support::fly_app(APP, 3, GOOD, 2)}, "deploys": []}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, image| {
        if image == GOOD {
            Behaviour::ok("ok")
        } else {
            Behaviour::status(500)
        }
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ interval: 50ms, timeout: 500ms, deadline: 3s }}\n  regression: {{ probes: 3 }}\napps: {{ web: {{}} }}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\nnotify:\n  - webhook: {{ url: \"{}\" }}\n  - pagerduty: {{ routing_key: \"${{PD_KEY}}\", events_url: \"{}\", change_url: \"{}\" }}\n",
        fleet.url(),
        hooks.url("/hook"),
        hooks.url("/pd/events"),
        hooks.url("/pd/change"),
    ));
    let gh = tempfile::tempdir().unwrap();
    let (output, summary) = (gh.path().join("output"), gh.path().join("summary.md"));
    let out = p
        .shipit(&[
            "deploy",
            "staging",
            "--image",
            "registry.fly.io/hotdash-staging:new",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("PD_KEY", "pd-routing-key-0123456789")
        .output()
        .unwrap();
    let run = crate::support::Run::from(out);
    run.code(3);

    // flyctl's output is grouped, with workflow commands paused inside each group.
    let lines: Vec<&str> = run.stderr.lines().collect();
    let opens: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("::group::flyctl deploy"))
        .collect();
    assert_eq!(
        opens.len(),
        2,
        "the deploy and the rollback:\n{}",
        run.stderr
    );
    for &i in &opens {
        let token = lines[i + 1]
            .strip_prefix("::stop-commands::")
            .unwrap_or_else(|| panic!("{}", run.stderr));
        let resume = lines
            .iter()
            .position(|l| *l == format!("::{token}::"))
            .expect("commands resumed");
        assert!(
            resume > i && lines[resume + 1] == "::endgroup::",
            "{}",
            run.stderr
        );
    }
    assert!(lines[opens[1]].contains("(rollback)"));

    // Outputs: the rollback target early, then the result.
    let outputs = parse_output_file(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(outputs["result"], "rolled_back");
    assert_eq!(outputs["rolled_back"], "true");
    assert_eq!(outputs["previous_version"], "3");
    assert_eq!(outputs["previous_image"], GOOD);
    assert_eq!(outputs["image"], "registry.fly.io/hotdash-staging:new");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("shipit deploy staging: rolled back")
            && md.contains("rolled back to v3, healthy again"),
        "{md}"
    );
    assert!(
        run.stderr
            .contains("::error title=staging/web health gate failed::"),
        "{}",
        run.stderr
    );

    // Messages: started and rolled_back to the webhook; PagerDuty records the change, pages nobody.
    let types: Vec<String> = hooks
        .received()
        .iter()
        .filter(|r| r.path == "/hook")
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(types, ["shipit.started", "shipit.rolled_back"]);
    let pd: Vec<_> = hooks
        .received()
        .into_iter()
        .filter(|r| r.path.starts_with("/pd"))
        .collect();
    assert_eq!(pd.len(), 1, "{pd:?}");
    assert_eq!(pd[0].path, "/pd/change");
    let change: serde_json::Value = serde_json::from_slice(&pd[0].body).unwrap();
    assert_eq!(change["routing_key"], "pd-routing-key-0123456789");
    assert!(
        change["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Rolled back hotdash-staging (staging) from v4 to v3"),
        "{change}"
    );

    let log_text = p.read("feedback/deployment.md");
    let entries = shipit::evidence::log::entries(&log_text);
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0]
            .body
            .contains("previous release live and healthy again"),
        "{log_text}"
    );
}
