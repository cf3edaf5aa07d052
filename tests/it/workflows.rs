//! The GitHub Actions files, checked against the code they call and the rules they must keep:
//! this repository's `.github/workflows/*.yml` and `action.yml`, and what `shipit init` writes.
//!
//! - the repository's copies are the templates rendered for this repository, byte for byte
//!   (`SHIPIT_UPDATE_WORKFLOWS=1 cargo test workflows` rewrites them from the templates);
//! - every `shipit …` command line in a `run:` script parses with the real CLI;
//! - every `uses:` is pinned to a SHA from the pin table, with a version comment;
//! - no `${{ }}` inside `run:`, `permissions: {}` at the top, least permissions, timeouts,
//!   checkout without persisted credentials, and deploys and rollbacks that are never cancelled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Parser as _;
use serde_json::Value;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One GitHub Actions file: where it comes from (for messages) and its text.
struct ActionsFile {
    name: String,
    text: String,
}

impl ActionsFile {
    fn yaml(&self) -> Value {
        serde_saphyr::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", self.name))
    }

    fn is_workflow(&self) -> bool {
        !self.name.ends_with("action.yml")
    }
}

/// This repository's workflows and action, and every GitHub file `shipit init` writes.
fn all_files() -> Vec<ActionsFile> {
    let mut files = Vec::new();
    let dir = repo_root().join(".github/workflows");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read .github/workflows")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    paths.sort();
    paths.push(repo_root().join("action.yml"));
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let name = path
            .strip_prefix(repo_root())
            .unwrap_or(&path)
            .display()
            .to_string();
        files.push(ActionsFile { name, text });
    }
    for file in shipit::init::project_files("hotdash").expect("project files") {
        // The action's script (install-shipit.sh) is bash, checked by its own test and shellcheck.
        if file.path.starts_with(".github") && file.path.extension().is_some_and(|x| x == "yml") {
            files.push(ActionsFile {
                name: format!("init: {}", file.path.display()),
                text: file.contents,
            });
        }
    }
    // With a test command the deploy workflows gain a test job, held to the same rules.
    let with_tests = shipit::init::ProjectOptions {
        test: Some("npm ci\nnpm test".to_owned()),
        ..shipit::init::ProjectOptions::default()
    };
    for file in shipit::init::project_files_with("hotdash", &with_tests).expect("project files") {
        if file.path.starts_with(".github/workflows/deploy-") {
            files.push(ActionsFile {
                name: format!("init --test: {}", file.path.display()),
                text: file.contents,
            });
        }
    }
    // With `store: git` the jobs that record a run may write contents, and only they.
    let with_git = shipit::init::ProjectOptions {
        store: shipit::init::StoreChoice::Git,
        ..shipit::init::ProjectOptions::default()
    };
    for file in shipit::init::project_files_with("hotdash", &with_git).expect("project files") {
        if file.path.starts_with(".github/workflows") {
            files.push(ActionsFile {
                name: format!("init --store git: {}", file.path.display()),
                text: file.contents,
            });
        }
    }
    assert!(
        files.len() >= 12,
        "expected this repository's files and init's, found {}",
        files.len()
    );
    files
}

#[test]
fn the_repository_copies_are_the_templates_rendered_for_this_repository() {
    let update = std::env::var_os("SHIPIT_UPDATE_WORKFLOWS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for file in shipit::init::repository_files() {
        let path = repo_root().join(&file.path);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == file.contents {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
            std::fs::write(&path, &file.contents).expect("write the rendered template");
        } else {
            stale.push(file.path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "these files differ from src/init/templates rendered for this repository: {}\n\
         edit the template, then run `SHIPIT_UPDATE_WORKFLOWS=1 cargo test workflows` to rewrite them",
        stale.join(", ")
    );
}

// ---------------------------------------------------------------------------------------------
// shipit command lines

/// Sample values for the variables the scripts pass to shipit. A new variable needs a value
/// here, which keeps this test honest about what the commands receive.
fn sample(var: &str) -> &'static str {
    match var {
        "TARGET" | "ENVIRONMENT" => "staging",
        "SERVICE" => "web",
        "TARGET_ENV" => "production",
        "VERSION" => "41",
        "DURATION" => "1h",
        other => {
            panic!("no sample value for ${other}: add one to `sample` in tests/it/workflows.rs")
        }
    }
}

/// Splits one shell line into words, keeping quotes' contents together and `;`, `&&`, `||`,
/// `|` as words of their own. Enough for the simple lines the workflows hold.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else {
                word.push(c);
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                // Marks a quoted word, so `""` survives as an empty argument.
                word.push('\u{0}');
            }
            '#' if word.is_empty() => break,
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            ';' | '&' | '|' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                let mut op = c.to_string();
                if c != ';' && chars.peek() == Some(&c) {
                    op.push(c);
                    chars.next();
                }
                words.push(op);
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words.into_iter().map(|w| w.replace('\u{0}', "")).collect()
}

/// Replaces `$VAR` and `${VAR}` with sample values.
fn substitute(word: &str) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner
                .find('}')
                .unwrap_or_else(|| panic!("unclosed ${{ in {word}"));
            (&inner[..end], &inner[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        assert!(
            !name.is_empty() && !name.contains(':'),
            "only plain $VAR or ${{VAR}} may reach shipit, not {word}"
        );
        out.push_str(sample(name));
        rest = tail;
    }
    out.push_str(rest);
    out
}

const COMMAND_POSITION: [&str; 10] = [
    "exec", "then", "else", "do", "if", "!", "&&", "||", ";", "time",
];
const COMMAND_END: [&str; 5] = [";", "&&", "||", "|", "&"];

/// Every `shipit …` invocation in a script, as the argument list (without `shipit`), and whether
/// it was started with `exec`.
fn shipit_commands(script: &str) -> Vec<(Vec<String>, bool)> {
    let mut found = Vec::new();
    for line in script.lines() {
        let words = shell_words(line.trim());
        for (i, w) in words.iter().enumerate() {
            let at_command = i == 0 || COMMAND_POSITION.contains(&words[i - 1].as_str());
            if w == "shipit" && at_command {
                let args: Vec<String> = words[i + 1..]
                    .iter()
                    .take_while(|a| !COMMAND_END.contains(&a.as_str()))
                    .map(|a| substitute(a))
                    .collect();
                found.push((args, i > 0 && words[i - 1] == "exec"));
            }
        }
    }
    found
}

/// Every `run:` script in a workflow's jobs or a composite action's steps.
fn run_scripts(yaml: &Value) -> Vec<String> {
    let mut scripts = Vec::new();
    if let Some(jobs) = yaml.get("jobs").and_then(Value::as_object) {
        for job in jobs.values() {
            scripts.extend(step_scripts(job));
        }
    }
    if let Some(runs) = yaml.get("runs") {
        scripts.extend(step_scripts(runs));
    }
    scripts
}

/// The `run:` scripts of one job (or a composite action's `runs:`).
fn step_scripts(job: &Value) -> Vec<String> {
    let steps = job
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    steps
        .filter_map(|s| s.get("run").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

#[test]
fn shell_words_and_substitution_handle_the_forms_the_workflows_use() {
    assert_eq!(
        shell_words(r#"exec shipit rollback "${TARGET}" --to "$VERSION""#),
        [
            "exec",
            "shipit",
            "rollback",
            "${TARGET}",
            "--to",
            "$VERSION"
        ]
    );
    assert_eq!(
        shell_words("if a; then shipit health x && b # c"),
        ["if", "a", ";", "then", "shipit", "health", "x", "&&", "b"]
    );
    let cmds = shipit_commands(
        "if x; then\n  exec shipit rollback \"${TARGET}\" --to \"${VERSION}\"\nfi\nshipit health \"$TARGET_ENV\" || true",
    );
    assert_eq!(
        cmds,
        [
            (
                vec![
                    "rollback".to_owned(),
                    "staging".to_owned(),
                    "--to".to_owned(),
                    "41".to_owned()
                ],
                true
            ),
            (vec!["health".to_owned(), "production".to_owned()], false),
        ]
    );
    assert!(shipit_commands("echo shipit deploy\n# shipit nope").is_empty());
}

#[test]
fn every_shipit_command_in_the_workflows_parses_with_the_real_cli() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for file in all_files() {
        for script in run_scripts(&file.yaml()) {
            for (args, exec) in shipit_commands(&script) {
                let line = args.join(" ");
                if let Err(e) = shipit::cli::Cli::try_parse_from(
                    std::iter::once("shipit".to_owned()).chain(args.clone()),
                ) {
                    panic!(
                        "{}: `shipit {line}` does not parse with shipit's CLI:\n{e}",
                        file.name
                    );
                }
                let sub = args.first().cloned().unwrap_or_default();
                if ["deploy", "rollback", "promote", "drill"].contains(&sub.as_str()) {
                    assert!(
                        exec,
                        "{}: `shipit {line}` must be started with `exec` so that shipit gets the runner's signals",
                        file.name
                    );
                }
                *seen.entry(sub).or_default() += 1;
            }
        }
    }
    // The three copies (this repository's, init's and init --store git's) of: deploy staging +
    // production, three rollback forms (the environment; one service, with and without a
    // version), and the health check.
    assert_eq!(
        seen.get("deploy"),
        Some(&3),
        "deploy commands found: {seen:?}"
    );
    assert_eq!(
        seen.get("promote"),
        Some(&3),
        "promote commands found: {seen:?}"
    );
    assert_eq!(
        seen.get("rollback"),
        Some(&9),
        "rollback commands found: {seen:?}"
    );
    assert_eq!(
        seen.get("check"),
        Some(&3),
        "check commands found: {seen:?}"
    );
    assert_eq!(
        seen.get("drill"),
        Some(&3),
        "drill commands found: {seen:?}"
    );
}

/// A step that runs a shipit command that asks flyctl (a deploy, a rollback, the scheduled
/// check...) gives it a Fly token in its `env:`; without one the command sees nothing of Fly
/// (the scheduled check would report a fleet it cannot see as fine every four hours).
#[test]
fn every_step_that_asks_fly_gets_a_fly_token() {
    // Commands that only read files, the record or the network, never flyctl.
    const NO_FLY: &[&str] = &[
        "runbook", "report", "config", "history", "explain", "init", "store", "db",
    ];
    let mut checked = 0;
    for file in all_files() {
        let yaml = file.yaml();
        let Some(jobs) = yaml.get("jobs").and_then(Value::as_object) else {
            continue;
        };
        for (job_name, job) in jobs {
            let steps = job
                .get("steps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for step in steps {
                let Some(script) = step.get("run").and_then(Value::as_str) else {
                    continue;
                };
                for (args, _) in shipit_commands(script) {
                    let sub = args.first().cloned().unwrap_or_default();
                    if NO_FLY.contains(&sub.as_str()) {
                        continue;
                    }
                    let env = step.get("env").or_else(|| job.get("env"));
                    let token = env
                        .and_then(|e| e.get("FLY_API_TOKEN").or_else(|| e.get("FLY_ACCESS_TOKEN")))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    assert!(
                        token.contains("secrets."),
                        "{}: job `{job_name}` runs `shipit {}` without a Fly token in its env",
                        file.name,
                        args.join(" ")
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 15, "only {checked} shipit commands checked");
}

// ---------------------------------------------------------------------------------------------
// pins

/// `(action, sha)` rows of a pin table in Markdown: `| owner/repo[/path] | version | sha |`.
fn pin_rows(table: &str) -> Vec<(String, String)> {
    table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let sha = cells.iter().rev().find(|c| !c.is_empty())?;
            (sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| (cells[1].to_owned(), (*sha).to_owned()))
        })
        .collect()
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

#[test]
fn every_uses_is_pinned_to_a_sha_from_the_pin_table() {
    let table = std::fs::read_to_string(repo_root().join(".github/action-pins.md"))
        .expect("read .github/action-pins.md");
    let pins = pin_rows(&table);
    assert!(pins.len() >= 6, "the pin table has too few rows: {pins:?}");
    let mut checked = 0;
    for file in all_files() {
        for (n, line) in file.text.lines().enumerate() {
            let trimmed = line.trim_start().trim_start_matches("- ");
            let Some(value) = trimmed.strip_prefix("uses:") else {
                continue;
            };
            let (reference, comment) = match value.split_once('#') {
                Some((r, c)) => (r.trim(), c.trim()),
                None => (value.trim(), ""),
            };
            let at = format!("{}:{}", file.name, n + 1);
            if reference.starts_with("./") || reference.starts_with("$/") {
                continue;
            }
            let (action, sha) = reference
                .split_once('@')
                .unwrap_or_else(|| panic!("{at}: `{reference}` has no @ref"));
            assert!(
                is_sha(sha),
                "{at}: `{reference}` is not pinned to a full 40-hex commit SHA"
            );
            assert!(
                pins.iter().any(|(a, s)| a == action && s == sha),
                "{at}: {action}@{sha} is not in .github/action-pins.md; take SHAs only from the maintainers' pin table"
            );
            assert!(
                !comment.is_empty(),
                "{at}: add the version as a comment, e.g. `# v7.0.1`"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} pinned uses found");
}

#[test]
fn the_checked_in_pin_table_agrees_with_the_maintainers_table() {
    // CI runs from a fresh clone with shared/ beside it; elsewhere it may be absent.
    let shared = repo_root().join("../shared/reference/action-pins.md");
    let Ok(reference) = std::fs::read_to_string(&shared) else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "note: {} is absent; the checked-in pin table is not compared with it",
                shared.display()
            );
        }
        return;
    };
    let ours = std::fs::read_to_string(repo_root().join(".github/action-pins.md"))
        .expect("read .github/action-pins.md");
    let theirs = pin_rows(&reference);
    // Rows under this heading were read with the search tool and are not in the maintainers'
    // table yet; the file says where each came from.
    let checked = ours
        .split("## Pins the maintainers' table does not carry yet")
        .next()
        .unwrap_or(&ours);
    for (action, sha) in pin_rows(checked) {
        assert!(
            theirs.iter().any(|(a, s)| *a == action && *s == sha),
            ".github/action-pins.md pins {action}@{sha}, which {} does not list",
            shared.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// rules every workflow keeps

#[test]
fn no_expression_is_expanded_inside_a_run_script() {
    for file in all_files() {
        for script in run_scripts(&file.yaml()) {
            assert!(
                !script.contains("${{"),
                "{}: a run: script contains ${{{{ }}}}; pass the value through env: instead:\n{script}",
                file.name
            );
        }
    }
}

#[test]
fn workflows_start_with_no_permissions_and_each_job_asks_for_the_least() {
    for file in all_files().iter().filter(|f| f.is_workflow()) {
        let yaml = file.yaml();
        let top = yaml
            .get("permissions")
            .unwrap_or_else(|| panic!("{}: no top-level permissions", file.name));
        assert_eq!(
            top,
            &serde_json::json!({}),
            "{}: top-level permissions must be {{}}",
            file.name
        );
        for (name, job) in yaml["jobs"].as_object().expect("jobs") {
            let at = format!("{} job {name}", file.name);
            // A job that calls a reusable workflow takes its timeouts from that workflow's jobs.
            let calls_workflow = job.get("uses").is_some();
            assert!(
                calls_workflow || job.get("timeout-minutes").and_then(Value::as_u64).is_some(),
                "{at}: no timeout-minutes"
            );
            let perms = job
                .get("permissions")
                .and_then(Value::as_object)
                .unwrap_or_else(|| panic!("{at}: no permissions"));
            for (scope, level) in perms {
                let allowed = match scope.as_str() {
                    "contents" if name == "publish" => level == "write",
                    // `store: git`: the jobs that record a run push to the records branch.
                    "contents" if records_a_run(job) => level == "write" || level == "read",
                    "contents" => level == "read",
                    // Publishing the dashboard: report.yml's publish job, and the jobs that call
                    // report.yml (a called workflow gets at most its caller's permissions).
                    "pages" | "id-token"
                        if (name == "publish" && file.name.ends_with("report.yml"))
                            || job.get("uses").and_then(Value::as_str)
                                == Some("$/.github/workflows/report.yml") =>
                    {
                        level == "write"
                    }
                    // The scheduled check's `github_issue` notifier, and only there.
                    "issues"
                        if file.name.ends_with("health-check.yml")
                            || file.name.ends_with("watch.yml") =>
                    {
                        level == "write"
                    }
                    _ => false,
                };
                assert!(
                    allowed,
                    "{at}: permission {scope}: {level} is more than it needs"
                );
            }
            for step in job
                .get("steps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let uses = step.get("uses").and_then(Value::as_str).unwrap_or_default();
                if uses.starts_with("actions/checkout@") {
                    assert_eq!(
                        step.pointer("/with/persist-credentials"),
                        Some(&Value::Bool(false)),
                        "{at}: checkout must not persist credentials"
                    );
                }
            }
        }
    }
}

/// Whether a job runs a shipit command that writes the record (a deploy, promotion, rollback or
/// scheduled check).
fn records_a_run(job: &Value) -> bool {
    step_scripts(job).iter().any(|script| {
        shipit_commands(script).iter().any(|(args, _)| {
            args.first()
                .is_some_and(|c| ["deploy", "promote", "rollback", "check"].contains(&c.as_str()))
        })
    })
}

/// With `store: git` (`shipit init --store git`), exactly the jobs that record a run have
/// `contents: write`, each with the comment that says why and how its token is used, and every
/// shipit step that touches the record gets the job's token; with `store: local` none writes.
#[test]
fn with_store_git_exactly_the_recording_jobs_may_push_and_say_why() {
    for (store, writes) in [
        (shipit::init::StoreChoice::Git, true),
        (shipit::init::StoreChoice::Local, false),
        (shipit::init::StoreChoice::Postgres, false),
    ] {
        let options = shipit::init::ProjectOptions {
            store,
            ..shipit::init::ProjectOptions::default()
        };
        let mut recording = 0;
        for file in shipit::init::project_files_with("hotdash", &options).unwrap() {
            if !file.path.starts_with(".github/workflows") {
                continue;
            }
            let yaml: Value = serde_saphyr::from_str(&file.contents).unwrap();
            for (name, job) in yaml["jobs"].as_object().unwrap() {
                let at = format!("{store:?} {} job {name}", file.path.display());
                let contents = job.pointer("/permissions/contents").and_then(Value::as_str);
                if records_a_run(job) {
                    recording += 1;
                    let expected = if writes { "write" } else { "read" };
                    assert_eq!(contents, Some(expected), "{at}");
                    for step in job["steps"].as_array().unwrap() {
                        if step.get("run").is_some_and(|r| {
                            r.as_str().is_some_and(|r| !shipit_commands(r).is_empty())
                        }) {
                            assert_eq!(
                                step.pointer("/env/GITHUB_TOKEN").and_then(Value::as_str),
                                Some("${{ github.token }}"),
                                "{at}: the token reaches shipit"
                            );
                            assert_eq!(
                                step.pointer("/env/SHIPIT_STORE_URL")
                                    .and_then(Value::as_str),
                                Some("${{ secrets.SHIPIT_STORE_URL }}"),
                                "{at}: the postgres URL reaches shipit"
                            );
                        }
                    }
                } else {
                    assert_ne!(contents, Some("write"), "{at}: it records nothing");
                }
            }
            let why = "This job writes the record: with `store: git` shipit commits the run";
            let how = "make this `contents: write`, here and only in the jobs that record";
            let recorders = yaml["jobs"]
                .as_object()
                .unwrap()
                .values()
                .filter(|j| records_a_run(j))
                .count();
            assert_eq!(
                file.contents
                    .matches(if writes { why } else { how })
                    .count(),
                recorders,
                "{store:?} {}: one comment per recording job",
                file.path.display()
            );
        }
        assert_eq!(
            recording, 4,
            "deploy staging, deploy production, rollback, health"
        );
    }
}

#[test]
fn deploys_and_rollbacks_run_one_at_a_time_and_are_never_cancelled() {
    for file in all_files().iter().filter(|f| f.is_workflow()) {
        let yaml = file.yaml();
        for (name, job) in yaml["jobs"].as_object().expect("jobs") {
            let changes_fly = step_scripts(job)
                .iter()
                .flat_map(|s| shipit_commands(s))
                .any(|(args, _)| {
                    args.first()
                        .is_some_and(|a| ["deploy", "rollback", "drill"].contains(&a.as_str()))
                });
            if !changes_fly {
                continue;
            }
            let at = format!("{} job {name}", file.name);
            let group = job
                .pointer("/concurrency/group")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{at}: no concurrency group"));
            assert!(
                group.starts_with("shipit-"),
                "{at}: concurrency group `{group}` should be shipit-<env>"
            );
            assert_eq!(
                job.pointer("/concurrency/cancel-in-progress"),
                Some(&Value::Bool(false)),
                "{at}: a deploy must never be cancelled halfway"
            );
            assert!(
                job.pointer("/environment/name").is_some(),
                "{at}: name the GitHub environment, so its reviewers and secrets apply"
            );
            let keeps_evidence = job["steps"].as_array().expect("steps").iter().any(|s| {
                s.get("if").and_then(Value::as_str) == Some("failure() || cancelled()")
                    && s.get("uses")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
            });
            assert!(
                keeps_evidence,
                "{at}: upload .shipit/ and feedback/ when the job fails or is cancelled"
            );
        }
    }
}

#[test]
fn production_deploys_go_through_the_production_environment() {
    let files = all_files();
    let production: Vec<&ActionsFile> = files
        .iter()
        .filter(|f| f.name.ends_with("deploy-production.yml"))
        .collect();
    assert_eq!(
        production.len(),
        3,
        "this repository's copy, init's and init --store git's"
    );
    for file in production {
        let yaml = file.yaml();
        let job = &yaml["jobs"]["deploy"];
        assert_eq!(
            job.pointer("/environment/name").and_then(Value::as_str),
            Some("production"),
            "{}",
            file.name
        );
        assert_eq!(
            job.pointer("/environment/url").and_then(Value::as_str),
            Some("${{ steps.deploy.outputs.url }}"),
            "{}",
            file.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// the release archive and the action that installs it

/// The `run:` script of the step called `name`, in a workflow job or an action's `runs:`.
fn step_script(holder: &Value, name: &str) -> String {
    let steps = holder
        .get("steps")
        .and_then(Value::as_array)
        .expect("steps");
    let step = steps
        .iter()
        .find(|s| s.get("name").and_then(Value::as_str) == Some(name));
    step.and_then(|s| s.get("run"))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no step `{name}` with a run: script"))
        .to_owned()
}

/// Runs a step's script the way the runner does (`bash --noprofile --norc -eo pipefail`).
fn run_step(
    script: &str,
    dir: &Path,
    env: &[(&str, &Path)],
    vars: &[(&str, &str)],
) -> std::process::Output {
    let file = dir.join("step.sh");
    std::fs::write(&file, script).expect("write the step script");
    let mut cmd = std::process::Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&file)
        .current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run bash")
}

/// The action's install script (`install-shipit.sh`) against a fake release server on
/// 127.0.0.1 serving what release.yml's Package step builds: a good checksum installs it (and
/// the token went in a header, the release was asked of the named repository), a bad one refuses
/// and installs nothing, and a repository with no such release builds from the source path with
/// cargo.
#[test]
fn the_action_installs_what_the_release_workflow_packages() {
    use crate::support::server::{Behaviour, Reply, Server};
    let tmp = tempfile::tempdir().expect("temp dir");
    let target = "x86_64-unknown-linux-gnu";

    // The release job: a built binary and a README, packaged by the workflow's own script.
    let build = tmp.path().join("build");
    std::fs::create_dir_all(build.join(format!("target/{target}/release"))).expect("mkdir");
    let binary = build.join(format!("target/{target}/release/shipit"));
    std::fs::write(&binary, "#!/bin/sh\necho \"shipit 9.8.7\"\n").expect("fake binary");
    make_executable(&binary);
    std::fs::write(build.join("README.md"), "# shipit\n").expect("readme");
    let release: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_root().join(".github/workflows/release.yml"))
            .expect("read release.yml"),
    )
    .expect("release.yml parses");
    let out = run_step(
        &step_script(&release["jobs"]["build"], "Package"),
        &build,
        &[],
        &[("TARGET", target)],
    );
    assert!(
        out.status.success(),
        "Package failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asset = format!("shipit-{target}.tar.xz");
    let archive = std::fs::read(build.join("dist").join(&asset)).expect("the archive");
    let checksum =
        std::fs::read(build.join("dist").join(format!("{asset}.sha256"))).expect("the checksum");

    // GitHub's API as the script uses it: the release by tag, then each asset by its API URL.
    let server = Server::start([
        (
            "/assets/1",
            Behaviour::Reply(Reply::new(200, archive.clone())),
        ),
        ("/assets/2", Behaviour::Reply(Reply::new(200, checksum))),
        (
            "/repos/acme/shipit/releases/tags/v0.0.1",
            Behaviour::status(404),
        ),
        (
            "/repos/acme/shipit/releases/tags/v9.9.9",
            Behaviour::json("{\"assets\": []}"),
        ),
    ]);
    server.set(
        "/repos/acme/shipit/releases/tags/v9.8.7",
        Behaviour::json(&format!(
            "{{\"tag_name\": \"v9.8.7\", \"assets\": [{{\"name\": \"{asset}\", \"url\": \"{}\"}}, {{\"name\": \"{asset}.sha256\", \"url\": \"{}\"}}]}}",
            server.url_for("/assets/1"),
            server.url_for("/assets/2")
        )),
    );

    let script = repo_root().join("scripts/install-shipit.sh");
    let install = |name: &str, version: &str, mode: &str, extra: &[(&str, &str)]| {
        let runner = tmp.path().join(name);
        std::fs::create_dir_all(runner.join("temp")).expect("mkdir");
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(&script)
            .arg(mode)
            .current_dir(&runner)
            .env("RUNNER_TEMP", runner.join("temp"))
            .env("GITHUB_PATH", runner.join("path.txt"))
            .env("GITHUB_OUTPUT", runner.join("output.txt"))
            .env("GITHUB_API_URL", server.url())
            .env("GITHUB_ACTION_PATH", runner.join("no-source-here"))
            .env("GITHUB_REPOSITORY", "someone/their-app")
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("INPUT_VERSION", version)
            .env("INPUT_REPOSITORY", "acme/shipit")
            .env("GH_TOKEN", "gh-token-never-in-argv");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run the install script");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), said, runner)
    };
    let read = |runner: &Path, f: &str| std::fs::read_to_string(runner.join(f)).unwrap_or_default();

    // A good checksum: installed, on PATH, its version an output.
    let (ok, said, runner) = install("runner-ok", "v9.8.7", "download", &[]);
    assert!(ok, "install failed:\n{said}");
    assert!(runner.join("temp/shipit/bin/shipit").is_file(), "{said}");
    assert_eq!(
        read(&runner, "path.txt").trim(),
        runner.join("temp/shipit/bin").display().to_string()
    );
    assert_eq!(
        read(&runner, "output.txt").lines().collect::<Vec<_>>(),
        ["build=false", "version=9.8.7"]
    );
    let asked = server.requests();
    assert!(
        asked
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer gh-token-never-in-argv")),
        "the token goes in a header"
    );
    assert!(!said.contains("gh-token-never-in-argv"), "{said}");
    assert!(
        !runner.join("temp/shipit/headers").exists(),
        "the header file is removed"
    );

    // A tampered archive: refused, nothing installed, PATH untouched, nothing built instead.
    let mut bad = archive;
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    server.set("/assets/1", Behaviour::Reply(Reply::new(200, bad)));
    let (ok, said, runner) = install("runner-tampered", "9.8.7", "download", &[]);
    assert!(!ok, "a checksum mismatch must fail the install:\n{said}");
    assert!(
        said.contains("::error title=shipit::the checksum of shipit-x86_64-unknown-linux-gnu.tar.xz does not match"),
        "{said}"
    );
    assert!(!runner.join("temp/shipit/bin/shipit").exists());
    assert!(read(&runner, "path.txt").is_empty());
    assert!(!read(&runner, "output.txt").contains("build=true"));

    // No such release, and no source beside the action: a clear error.
    let (ok, said, _) = install("runner-nothing", "0.0.1", "download", &[]);
    assert!(!ok);
    assert!(
        said.contains("acme/shipit has no release 0.0.1, and there is no shipit source"),
        "{said}"
    );

    // No such release (and a release without this runner's asset), with shipit's source at the
    // action's path: the download says to build, and the build installs what cargo built.
    let source = tmp.path().join("source");
    std::fs::create_dir_all(source.join("src")).expect("mkdir");
    std::fs::write(
        source.join("Cargo.toml"),
        "[package]\nname = \"shipit\"\nversion = \"0.0.1\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("Cargo.toml");
    std::fs::write(
        source.join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"shipit\"\nversion = \"0.0.1\"\n",
    )
    .expect("Cargo.lock");
    std::fs::write(
        source.join("src/main.rs"),
        "fn main() { println!(\"shipit 0.0.1-from-source\"); }\n",
    )
    .expect("main.rs");
    let source_str = source.display().to_string();
    for (name, version) in [("runner-build", "0.0.1"), ("runner-no-asset", "9.9.9")] {
        let (ok, said, runner) = install(
            name,
            version,
            "download",
            &[("GITHUB_ACTION_PATH", &source_str)],
        );
        assert!(ok, "{said}");
        let outputs = read(&runner, "output.txt");
        let target_dir = runner.join("temp/shipit-build").display().to_string();
        assert_eq!(
            outputs.lines().collect::<Vec<_>>(),
            [
                "build=true".to_owned(),
                format!("source={source_str}"),
                format!("target-dir={target_dir}")
            ],
            "{said}"
        );
        assert!(!runner.join("temp/shipit/bin/shipit").exists());
        if name == "runner-build" {
            let (ok, said, runner) = install(
                name,
                version,
                "build",
                &[
                    ("SHIPIT_SOURCE", &source_str),
                    ("SHIPIT_TARGET_DIR", &target_dir),
                    ("CARGO_TARGET_DIR", ""),
                ],
            );
            assert!(ok, "the build failed:\n{said}");
            assert!(runner.join("temp/shipit/bin/shipit").is_file());
            assert!(
                read(&runner, "output.txt").contains("version=0.0.1-from-source"),
                "{said}"
            );
        }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
