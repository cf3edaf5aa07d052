//! `shipit init`: what it writes loads as a valid project, and it never overwrites a file
//! without `--force` (nor writes half a project when some files exist).

use std::path::Path;

use crate::support::{Project, Run};

/// Every file init writes for `--name hotdash`, relative to the folder.
fn expected_files() -> Vec<String> {
    shipit::init::project_files("hotdash")
        .expect("project files")
        .iter()
        .map(|f| f.path.display().to_string())
        .collect()
}

fn init(project: &Project, extra: &[&str]) -> Run {
    let mut args = vec!["init", "--dir", "app", "--name", "hotdash"];
    args.extend_from_slice(extra);
    project.run(&args)
}

#[test]
fn init_writes_a_project_that_loads() {
    let project = Project::new();
    let run = init(&project, &[]);
    run.code(0);
    let app = project.file("app");
    for file in expected_files() {
        assert!(app.join(&file).is_file(), "{file} was not written");
        run.stdout_has(&format!("created {file}"));
    }
    for expected in [
        "shipit.yml",
        "fly/hotdash-staging.toml",
        "fly/hotdash-production.toml",
        "smoke/web.yml",
        ".github/workflows/deploy-staging.yml",
        ".github/workflows/deploy-production.yml",
        ".github/workflows/rollback.yml",
        ".github/workflows/health-check.yml",
        ".github/workflows/watch.yml",
        ".github/actions/setup-shipit/action.yml",
    ] {
        assert!(
            expected_files().iter().any(|f| f == expected),
            "init no longer writes {expected}"
        );
    }

    let config = shipit::config::load(&app.join("shipit.yml"))
        .unwrap_or_else(|e| panic!("the written shipit.yml does not load:\n{e}"));
    let apps: Vec<(String, String, String)> = config
        .services()
        .map(|s| (s.env.clone(), s.name.clone(), s.app.clone()))
        .collect();
    assert_eq!(
        apps,
        [
            (
                "staging".to_owned(),
                "web".to_owned(),
                "hotdash-staging".to_owned()
            ),
            (
                "production".to_owned(),
                "web".to_owned(),
                "hotdash-production".to_owned()
            ),
        ]
    );
    for service in config.services() {
        assert_eq!(
            service.url.as_str(),
            format!("https://{}.fly.dev", service.app)
        );
        assert_eq!(
            service.health.path, "/health",
            "the health path comes from fly.toml's check"
        );
        assert!(
            service.smoke.as_deref().is_some_and(Path::is_file),
            "the smoke suite is wired in"
        );
        let fly = shipit::config::flytoml::read(service.fly_config.as_deref().expect("fly_config"))
            .expect("fly.toml parses");
        assert_eq!(fly.app.as_deref(), Some(service.app.as_str()));
        assert_eq!(fly.health_path.as_deref(), Some("/health"));
    }
}

#[test]
fn what_init_writes_passes_config_check_and_its_smoke_suite_loads() {
    let project = Project::new();
    init(&project, &[]).code(0);
    project
        .run(&["--config", "app/shipit.yml", "config", "check"])
        .code(0)
        .stdout_has("hotdash-staging")
        .stdout_has("hotdash-production");
    let suite = shipit::smoke::load(&project.file("app/smoke/web.yml"))
        .unwrap_or_else(|e| panic!("the written smoke suite does not load:\n{e}"));
    let names: Vec<&str> = suite.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["health endpoint answers", "home page renders"]);
}

#[test]
fn init_writes_into_the_current_folder_by_default() {
    let project = Project::new();
    project.run(&["init", "--name", "hotdash"]).code(0);
    assert!(project.file("shipit.yml").is_file());
    assert!(
        project
            .file(".github/workflows/deploy-staging.yml")
            .is_file()
    );
}

#[test]
fn a_second_init_without_force_changes_nothing() {
    let project = Project::new();
    init(&project, &[]).code(0);
    // One file edited by the user, one deleted: neither may change.
    project.write("app/shipit.yml", "# mine\n");
    std::fs::remove_file(project.file("app/smoke/web.yml")).expect("remove");

    let run = init(&project, &[]);
    run.code(1)
        .stderr_has("already exist")
        .stderr_has("--force")
        .stderr_has("shipit.yml");
    assert!(
        run.stdout.is_empty(),
        "nothing was written, so nothing is listed: {}",
        run.stdout
    );
    assert_eq!(project.read("app/shipit.yml"), "# mine\n");
    assert!(
        !project.file("app/smoke/web.yml").exists(),
        "a partial init wrote a missing file"
    );
}

#[test]
fn force_overwrites_and_says_so() {
    let project = Project::new();
    init(&project, &[]).code(0);
    project.write("app/shipit.yml", "# mine\n");
    let run = init(&project, &["--force", "--json"]);
    run.code(0);
    let doc = run.json();
    let files = doc["files"].as_array().expect("files");
    // Every template file, then the runbook rendered from the written shipit.yml.
    assert_eq!(files.len(), expected_files().len() + 1);
    assert_eq!(files[files.len() - 1]["path"], "docs/runbook.md");
    assert!(files.iter().all(|f| f["status"] == "overwritten"), "{doc}");
    assert_eq!(files[0]["path"], "shipit.yml");
    assert!(project.read("app/shipit.yml").contains("environments:"));
}

#[test]
fn a_name_that_cannot_be_a_fly_app_is_refused_before_anything_is_written() {
    let project = Project::new();
    for bad in ["Hot_Dash", "-x", "a\"b"] {
        project
            .run(&["init", "--dir", "app", &format!("--name={bad}")])
            .code(1)
            .stderr_has("Fly app name");
    }
    assert!(!project.file("app").exists());
}

#[test]
fn the_written_workflows_are_the_templates_for_a_project() {
    let project = Project::new();
    init(&project, &[]).code(0);
    for file in shipit::init::project_files("hotdash").expect("project files") {
        assert_eq!(
            project.read(&format!("app/{}", file.path.display())),
            file.contents,
            "{}",
            file.path.display()
        );
    }
    let deploy = project.read("app/.github/workflows/deploy-staging.yml");
    assert!(
        deploy.contains("uses: $/.github/actions/setup-shipit"),
        "{deploy}"
    );
    assert!(
        deploy.contains(&format!("version: {}", env!("CARGO_PKG_VERSION"))),
        "pins the shipit that wrote shipit.yml"
    );
    assert!(
        !deploy.contains("SHIPIT_DOGFOOD"),
        "the repository-only guard stays out of projects"
    );
}

/// A written workflow, parsed back.
fn workflow(project: &Project, rel: &str) -> serde_json::Value {
    serde_saphyr::from_str(&project.read(rel)).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

/// The `run:` scripts of a job's steps, in order.
fn job_scripts(job: &serde_json::Value) -> Vec<String> {
    job["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_test_command_becomes_a_job_every_deploy_needs() {
    let project = Project::new();
    init(&project, &["--test", "npm ci\nnpm test"])
        .code(0)
        .stderr_has("run `npm ci && npm test` first");
    for env in ["staging", "production"] {
        let yaml = workflow(&project, &format!("app/.github/workflows/deploy-{env}.yml"));
        let jobs = &yaml["jobs"];
        assert_eq!(jobs["deploy"]["needs"], "test", "deploy-{env}.yml: {jobs}");
        let test = &jobs["test"];
        assert_eq!(test["permissions"]["contents"], "read");
        assert!(test["timeout-minutes"].as_u64().is_some());
        assert!(
            test.get("environment").is_none(),
            "tests get no deploy secrets"
        );
        let scripts = job_scripts(test);
        assert_eq!(
            scripts[0], "npm ci\nnpm test\n",
            "the command, line by line"
        );
        // The step that says, in the job summary, which test job blocked the deploy.
        let blocked = test["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["if"] == "failure()")
            .expect("a step that runs when the tests fail");
        assert_eq!(blocked["env"]["TARGET_ENV"], env);
        let script = blocked["run"].as_str().unwrap();
        assert!(script.contains("GITHUB_STEP_SUMMARY"), "{script}");
        assert!(
            script.contains("${GITHUB_JOB}") && script.contains("did not run"),
            "{script}"
        );
    }
    let rollback = workflow(&project, "app/.github/workflows/rollback.yml");
    assert!(
        rollback["jobs"]["rollback"].get("needs").is_none(),
        "a rollback never waits for tests"
    );
    project
        .run(&["--config", "app/shipit.yml", "config", "check"])
        .code(0);
}

#[test]
fn without_a_test_command_the_workflows_say_where_to_add_one() {
    let project = Project::new();
    init(&project, &["--no-test"])
        .code(0)
        .stderr_has("run no tests before deploying");
    for env in ["staging", "production"] {
        let rel = format!("app/.github/workflows/deploy-{env}.yml");
        let yaml = workflow(&project, &rel);
        assert!(yaml["jobs"].get("test").is_none());
        assert!(yaml["jobs"]["deploy"].get("needs").is_none());
        let text = project.read(&rel);
        assert!(
            text.contains("# No test job:") && text.contains("`needs: test`"),
            "{text}"
        );
    }
}

#[test]
fn the_test_command_is_detected_from_the_project_when_nobody_is_asked() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "package.json",
            r#"{"scripts": {"test": "vitest run"}}"#,
            "npm install\nnpm test\n",
        ),
        (
            "Cargo.toml",
            "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
            "cargo test\n",
        ),
        (
            "pyproject.toml",
            "[project]\nname = \"x\"\n",
            "python -m pip install . pytest\npython -m pytest\n",
        ),
        ("go.mod", "module example.com/x\n", "go test ./...\n"),
    ];
    for (file, text, expected) in cases {
        let project = Project::new();
        project.write(&format!("app/{file}"), text);
        // stdin is not a terminal here, so nothing is asked.
        init(&project, &[])
            .code(0)
            .stderr_has(&format!("test command from {file}"));
        let yaml = workflow(&project, "app/.github/workflows/deploy-staging.yml");
        assert_eq!(job_scripts(&yaml["jobs"]["test"])[0], expected, "{file}");
        assert_eq!(yaml["jobs"]["deploy"]["needs"], "test");
    }
}

#[test]
fn a_test_command_with_an_expression_is_refused_before_anything_is_written() {
    let project = Project::new();
    init(
        &project,
        &["--test", "echo ${{ github.event.head_commit.message }}"],
    )
    .code(1)
    .stderr_has("GitHub expression");
    assert!(!project.file("app").exists());
}

#[test]
fn init_writes_a_runbook_the_health_check_finds_current() {
    let project = Project::new();
    init(&project, &[])
        .code(0)
        .stdout_has("created docs/runbook.md");
    let runbook = project.read("app/docs/runbook.md");
    assert!(
        runbook.contains("shipit rollback hotdash-production"),
        "{runbook}"
    );
    project
        .run(&["--config", "app/shipit.yml", "runbook", "--check"])
        .code(0);
}

/// `init --store git|postgres` writes the record's config, and what it writes passes
/// `config check`: git as it is, postgres once its URL secret is set (and a clear error naming
/// the variable before). With git, the recording jobs of the workflows may push; with the
/// default `local`, no job may.
#[test]
fn init_with_a_store_writes_its_config_and_passes_config_check() {
    let git = Project::new();
    init(&git, &["--store", "git", "--no-test"]).code(0);
    let yml = git.read("app/shipit.yml");
    assert!(
        yml.contains("\nstore: { git: { branch: shipit-records } }\n"),
        "{yml}"
    );
    git.run(&["--config", "app/shipit.yml", "--json", "config", "check"])
        .code(0);
    let deploy = git.read("app/.github/workflows/deploy-staging.yml");
    assert!(deploy.contains("      contents: write\n"), "{deploy}");

    let pg = Project::new();
    init(&pg, &["--store", "postgres", "--no-test"]).code(0);
    let yml = pg.read("app/shipit.yml");
    assert!(
        yml.contains("\nstore: { postgres: { url: \"${SHIPIT_STORE_URL}\" } }\n"),
        "{yml}"
    );
    let check = |url: Option<&str>| {
        let mut cmd = pg.shipit(&["--config", "app/shipit.yml", "config", "check"]);
        cmd.env_remove("SHIPIT_STORE_URL");
        if let Some(u) = url {
            cmd.env("SHIPIT_STORE_URL", u);
        }
        Run::from(cmd.output().unwrap())
    };
    check(None).code(1).stderr_has("SHIPIT_STORE_URL");
    let ok = check(Some(
        "postgres://shipit:init-store-pw@db.example.com:5432/postgres?sslmode=require",
    ));
    ok.code(0);
    assert!(
        !ok.stdout.contains("init-store-pw") && !ok.stderr.contains("init-store-pw"),
        "{}{}",
        ok.stdout,
        ok.stderr
    );
    let deploy = pg.read("app/.github/workflows/deploy-staging.yml");
    assert!(deploy.contains("      contents: read\n"), "{deploy}");
    assert!(!deploy.contains("      contents: write\n"), "{deploy}");

    let local = Project::new();
    init(&local, &["--no-test"]).code(0);
    assert!(local.read("app/shipit.yml").contains("\nstore: local\n"));
    for workflow in [
        "deploy-staging",
        "deploy-production",
        "rollback",
        "health-check",
    ] {
        let text = local.read(&format!("app/.github/workflows/{workflow}.yml"));
        assert!(!text.contains("      contents: write\n"), "{workflow}");
    }
    init(&local, &["--store", "s3"]).code(2);
}
