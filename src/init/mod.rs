//! The files `shipit init` writes, rendered from the templates under `src/init/templates/`.
//!
//! The templates are the single source of shipit's GitHub integration: `shipit init` renders them
//! for a project ([`Flavor::Project`]), and shipit's own repository carries the same templates
//! rendered for itself ([`Flavor::ShipitRepository`]) as `.github/workflows/*.yml` and
//! `action.yml`. A test compares those checked-in copies with [`repository_files`], so the
//! workflows users get and the ones this repository runs cannot drift apart.
//!
//! Placeholders are `%%KEY%%`, which cannot be mistaken for a GitHub `${{ }}` expression. A line
//! that holds only a placeholder is a block: each line of the value is indented like the
//! placeholder, and an empty value removes the line.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub mod detect;

/// The project's config, with the `web` service in staging and production.
const SHIPIT_YML: &str = include_str!("templates/shipit.yml");
/// One Fly config per app; rendered once per environment.
const FLY_TOML: &str = include_str!("templates/fly.toml");
const SMOKE_WEB: &str = include_str!("templates/smoke-web.yml");
/// The composite action that installs shipit and flyctl on a runner.
const ACTION: &str = include_str!("templates/action.yml");
/// The script the action runs (download, checksum, or build from source).
pub const INSTALL_SCRIPT: &str = include_str!("templates/install-shipit.sh");

/// The workflows a project gets, by file name under `.github/workflows/`. shipit's own `ci.yml`
/// and `release.yml` build shipit itself and are not generated.
const WORKFLOWS: [(&str, &str); 7] = [
    (
        "deploy-staging.yml",
        include_str!("templates/workflows/deploy-staging.yml"),
    ),
    (
        "deploy-production.yml",
        include_str!("templates/workflows/deploy-production.yml"),
    ),
    (
        "rollback.yml",
        include_str!("templates/workflows/rollback.yml"),
    ),
    (
        "health-check.yml",
        include_str!("templates/workflows/health-check.yml"),
    ),
    ("report.yml", include_str!("templates/workflows/report.yml")),
    ("drill.yml", include_str!("templates/workflows/drill.yml")),
    ("watch.yml", include_str!("templates/workflows/watch.yml")),
];

/// The test job the deploy workflows get when the project has a test command; rendered in place
/// of `%%TEST_JOB%%`, with the deploy job's `%%DEPLOY_NEEDS%%` naming it.
const TEST_JOB: &str = include_str!("templates/workflows/test-job.yml");
/// What the deploy workflows say instead when there is no test command.
const NO_TEST_JOB: &str = "\
# No test job: this workflow deploys without running the project's tests first. To gate the
# deploy on them, add a `test:` job here (check out, run the tests) and `needs: test` to the
# deploy job below, or let `shipit init --test \"CMD\"` write both.";
/// The deploy job's dependency on the test job.
const DEPLOY_NEEDS: &str = "\
# The tests must pass first: a push whose tests fail never deploys.
needs: test";

/// Where shipit's own repository keeps the action's script (the action is the repository root).
pub const REPOSITORY_INSTALL_SCRIPT: &str = "scripts/install-shipit.sh";
/// Where a project's copy of the install action lives; its workflows `uses:` this path.
pub const PROJECT_ACTION_DIR: &str = ".github/actions/setup-shipit";
/// The runbook `shipit init` writes after the other files (it is rendered from the written
/// shipit.yml, so it is not in [`project_files`]).
pub const RUNBOOK: &str = "docs/runbook.md";
/// The folder of workflows, in a project and in shipit's repository.
pub const WORKFLOWS_DIR: &str = ".github/workflows";

/// The GitHub repository (`owner/name`) that publishes this build's releases. The release
/// workflow sets `SHIPIT_RELEASE_REPOSITORY` when it compiles shipit, so a released binary writes
/// a project action that downloads from the right place; a local build does not know it.
pub fn release_repository() -> Option<&'static str> {
    option_env!("SHIPIT_RELEASE_REPOSITORY")
        .filter(|r| is_repository_slug(r))
        .or_else(cargo_repository)
}

/// `owner/name` of the GitHub repository Cargo.toml's `repository` names, when it names one.
fn cargo_repository() -> Option<&'static str> {
    option_env!("CARGO_PKG_REPOSITORY")
        .and_then(|url| url.strip_prefix("https://github.com/"))
        .map(|slug| slug.trim_end_matches('/').trim_end_matches(".git"))
        .filter(|r| is_repository_slug(r))
}

fn is_repository_slug(s: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    matches!(s.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
}

/// Whose copy of the templates is being rendered.
#[derive(Debug, Clone, Copy)]
pub enum Flavor {
    /// A user's project, as `shipit init` writes it.
    Project,
    /// shipit's own repository: its root `action.yml` and its copies of the workflows.
    ShipitRepository,
}

impl Flavor {
    /// The values of the placeholders the action and the workflows use.
    fn github_vars(self) -> Vec<(&'static str, String)> {
        match self {
            Flavor::Project => vec![
                // `$/` is the action in this repository at the workflow's own commit: unlike
                // `./`, no earlier step can change what it runs.
                ("SETUP_SHIPIT", format!("$/{PROJECT_ACTION_DIR}")),
                // The version that wrote shipit.yml is the one that reads it in CI.
                ("SHIPIT_VERSION", env!("CARGO_PKG_VERSION").to_owned()),
                ("JOB_IF", String::new()),
                ("SHIPIT_REPOSITORY", release_repository().unwrap_or_default().to_owned()),
                ("INSTALL_SCRIPT", "install-shipit.sh".to_owned()),
            ],
            Flavor::ShipitRepository => vec![
                // The action is the repository's root, which `$/` cannot name (actionlint
                // rejects `$/` without a path), so this copy keeps `./` and tells zizmor why.
                (
                    "SETUP_SHIPIT",
                    "./ # zizmor: ignore[self-repository] the action is at the root, which `$/` cannot name".to_owned(),
                ),
                ("SHIPIT_VERSION", "latest".to_owned()),
                (
                    "JOB_IF",
                    "# shipit's own repository has no app to deploy: its copy of this workflow runs\n\
                     # only where the repository variable SHIPIT_DOGFOOD is 'true'.\n\
                     if: vars.SHIPIT_DOGFOOD == 'true'"
                        .to_owned(),
                ),
                // Empty: the action finds the repository it was fetched from by itself.
                ("SHIPIT_REPOSITORY", String::new()),
                ("INSTALL_SCRIPT", REPOSITORY_INSTALL_SCRIPT.to_owned()),
            ],
        }
    }
}

/// One file to write: its path relative to the target folder, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: PathBuf,
    pub contents: String,
}

/// Replaces every `%%KEY%%` with its value (see the module docs for block placeholders).
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 512);
    for line in template.split_inclusive('\n') {
        let trimmed = line.trim();
        let block = trimmed
            .strip_prefix("%%")
            .and_then(|s| s.strip_suffix("%%"))
            .and_then(|key| vars.iter().find(|(k, _)| *k == key));
        if let Some((_, value)) = block {
            let indent = &line[..line.len() - line.trim_start().len()];
            for value_line in value.lines() {
                // A blank line stays blank: no indent left dangling at its end.
                if !value_line.is_empty() {
                    out.push_str(indent);
                    out.push_str(value_line);
                }
                out.push('\n');
            }
            continue;
        }
        let mut line = line.to_owned();
        for (key, value) in vars {
            line = line.replace(&format!("%%{key}%%"), value);
        }
        out.push_str(&line);
    }
    out
}

/// Checks `--name`: it becomes part of Fly app names (`NAME-staging`) and of URLs and file names,
/// so it is held to Fly's rules for app names, with room for the longest suffix.
pub fn check_name(name: &str) -> Result<(), String> {
    const MAX: usize = 40;
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if name.is_empty()
        || !chars_ok
        || name.starts_with('-')
        || name.ends_with('-')
        || name.len() > MAX
    {
        return Err(format!(
            "`{name}` cannot prefix a Fly app name: use lowercase letters, digits and inner dashes, at most {MAX} characters"
        ));
    }
    Ok(())
}

/// What `shipit init` was asked for beyond the name.
#[derive(Debug, Clone, Default)]
pub struct ProjectOptions {
    /// The project's test command: the deploy workflows get a test job their deploy job needs.
    pub test: Option<String>,
    /// Where the record is kept (`store:` in shipit.yml, and what the workflows' recording jobs
    /// may do).
    pub store: StoreChoice,
}

/// The record `shipit init --store` writes shipit.yml and the workflows for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreChoice {
    #[default]
    Local,
    Git,
    Postgres,
}

impl StoreChoice {
    /// shipit.yml's `store:` block.
    fn config_block(self) -> &'static str {
        match self {
            StoreChoice::Local => {
                "\
# Where the record of every run is kept (receipts, the evidence log, alert state, promotions).
# `local` is files in this folder, which a GitHub runner throws away when its job ends: for the
# workflows, pick `git` (a branch of this repository; `shipit init --store git`) or `postgres`.
store: local
# store: { git: { branch: shipit-records } }
# store: { postgres: { url: \"${SHIPIT_STORE_URL}\" } }"
            }
            StoreChoice::Git => {
                "\
# Where the record of every run is kept (receipts, the evidence log, alert state, promotions):
# the orphan branch shipit-records of this repository, never the branch that deploys. The
# workflows' recording jobs push to it with their own token (`contents: write` on those jobs).
store: { git: { branch: shipit-records } }"
            }
            StoreChoice::Postgres => {
                "\
# Where the record of every run is kept (receipts, the evidence log, alert state, promotions):
# schema `shipit` of a PostgreSQL database (e.g. your Supabase project), created by shipit. The
# URL is a secret: the workflows pass the repository or environment secret SHIPIT_STORE_URL
# (add `?sslmode=require` for a server across the internet).
store: { postgres: { url: \"${SHIPIT_STORE_URL}\" } }"
            }
        }
    }

    /// The `contents:` permission of a workflow job that records a run, with why.
    fn recording_contents(self) -> &'static str {
        match self {
            StoreChoice::Git => {
                "\
# This job writes the record: with `store: git` shipit commits the run to the shipit-records
# branch and pushes it with this job's GITHUB_TOKEN (sent as a header on that push only, never
# saved in .git/config). Only the jobs that record a run get `write`.
contents: write"
            }
            StoreChoice::Local | StoreChoice::Postgres => {
                "\
# With `store: git` in shipit.yml this job writes the record (a commit pushed to the
# shipit-records branch): make this `contents: write`, here and only in the jobs that record.
contents: read"
            }
        }
    }
}

/// Checks a test command before it is written into a workflow's `run:` script.
pub fn check_test_command(command: &str) -> Result<(), String> {
    if command.trim().is_empty() {
        return Err("the test command is empty".to_owned());
    }
    // The workflows never expand an expression inside a script (ARCHITECTURE.md): a value from
    // the event would become shell code.
    if command.contains("${{") {
        return Err(format!(
            "the test command `{command}` holds a GitHub expression (`${{{{ }}}}`), which must never be expanded inside a script"
        ));
    }
    Ok(())
}

/// Everything `shipit init --name NAME` writes, in the order it is written.
pub fn project_files(name: &str) -> Result<Vec<File>, String> {
    project_files_with(name, &ProjectOptions::default())
}

/// [`project_files`] with the test command (and whatever else `init` was asked for).
pub fn project_files_with(name: &str, options: &ProjectOptions) -> Result<Vec<File>, String> {
    check_name(name)?;
    if let Some(test) = &options.test {
        check_test_command(test)?;
    }
    let flavor = Flavor::Project;
    let mut files = vec![File {
        path: "shipit.yml".into(),
        contents: render(
            SHIPIT_YML,
            &[
                ("NAME", name.to_owned()),
                ("STORE", options.store.config_block().to_owned()),
            ],
        ),
    }];
    for (env, min_machines) in [("staging", "1"), ("production", "2")] {
        let app = format!("{name}-{env}");
        let vars = [
            ("APP", app.clone()),
            ("ENV", env.to_owned()),
            ("MIN_MACHINES", min_machines.to_owned()),
        ];
        files.push(File {
            path: PathBuf::from("fly").join(format!("{app}.toml")),
            contents: render(FLY_TOML, &vars),
        });
    }
    files.push(File {
        path: PathBuf::from("smoke/web.yml"),
        contents: SMOKE_WEB.to_owned(),
    });
    files.extend(workflow_files(
        flavor,
        options.test.as_deref(),
        options.store,
    ));
    files.push(File {
        path: Path::new(PROJECT_ACTION_DIR).join("action.yml"),
        contents: action_file(flavor),
    });
    files.push(File {
        path: Path::new(PROJECT_ACTION_DIR).join("install-shipit.sh"),
        contents: INSTALL_SCRIPT.to_owned(),
    });
    Ok(files)
}

/// The files shipit's own repository carries that come from the templates: its root
/// `action.yml` and its copies of the workflows a project gets.
pub fn repository_files() -> Vec<File> {
    let flavor = Flavor::ShipitRepository;
    // shipit's own tests run in ci.yml; its dogfood deploys have no test job of their own.
    let mut files = workflow_files(flavor, None, StoreChoice::Local);
    files.push(File {
        path: "action.yml".into(),
        contents: action_file(flavor),
    });
    files.push(File {
        path: REPOSITORY_INSTALL_SCRIPT.into(),
        contents: INSTALL_SCRIPT.to_owned(),
    });
    files
}

fn workflow_files(flavor: Flavor, test: Option<&str>, store: StoreChoice) -> Vec<File> {
    let mut vars = flavor.github_vars();
    vars.push(("RECORD_CONTENTS", store.recording_contents().to_owned()));
    WORKFLOWS
        .iter()
        .map(|(file, template)| {
            let mut vars = vars.clone();
            vars.extend(test_job_vars(file, &flavor.github_vars(), test));
            File {
                path: Path::new(WORKFLOWS_DIR).join(file),
                contents: render(template, &vars),
            }
        })
        .collect()
}

/// The test job of a deploy workflow (`deploy-ENV.yml`), or the comment saying where one goes.
fn test_job_vars(
    file: &str,
    github_vars: &[(&'static str, String)],
    test: Option<&str>,
) -> Vec<(&'static str, String)> {
    let Some(env) = file
        .strip_prefix("deploy-")
        .and_then(|f| f.strip_suffix(".yml"))
    else {
        return Vec::new();
    };
    match test {
        None => vec![
            ("TEST_JOB", NO_TEST_JOB.to_owned()),
            ("DEPLOY_NEEDS", String::new()),
        ],
        Some(command) => {
            let mut vars = github_vars.to_vec();
            vars.push(("ENV", env.to_owned()));
            vars.push(("TEST_COMMAND", command.trim().to_owned()));
            vec![
                ("TEST_JOB", render(TEST_JOB, &vars)),
                ("DEPLOY_NEEDS", DEPLOY_NEEDS.to_owned()),
            ]
        }
    }
}

fn action_file(flavor: Flavor) -> String {
    render(ACTION, &flavor.github_vars())
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteStatus {
    Created,
    Overwritten,
    /// An existing file kept, with a line added (`.gitignore`).
    Updated,
}

/// One file written, with its path relative to the target folder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub path: PathBuf,
    pub status: WriteStatus,
}

/// Files that are already there, so nothing was written.
#[derive(Debug)]
pub struct AlreadyExists {
    pub dir: PathBuf,
    pub existing: Vec<PathBuf>,
}

impl std::fmt::Display for AlreadyExists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.existing.len() == 1 {
            "1 file already exists".to_owned()
        } else {
            format!("{} files already exist", self.existing.len())
        };
        let list: Vec<String> = self
            .existing
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        write!(
            f,
            "{what} in {}, so nothing was written: {}",
            self.dir.display(),
            list.join(", ")
        )
    }
}

impl std::error::Error for AlreadyExists {}

/// Writes `files` under `dir`. Without `force`, nothing is written when any of them exists, so
/// a second `init` never leaves a project half old and half new.
pub fn write(dir: &Path, files: &[File], force: bool) -> anyhow::Result<Vec<Written>> {
    let existing: Vec<PathBuf> = files
        .iter()
        .filter(|f| dir.join(&f.path).exists())
        .map(|f| f.path.clone())
        .collect();
    if !force && !existing.is_empty() {
        return Err(AlreadyExists {
            dir: dir.to_owned(),
            existing,
        }
        .into());
    }
    let mut written = Vec::with_capacity(files.len());
    for file in files {
        let path = dir.join(&file.path);
        write_one(&path, &file.contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let status = if existing.contains(&file.path) {
            WriteStatus::Overwritten
        } else {
            WriteStatus::Created
        };
        written.push(Written {
            path: file.path.clone(),
            status,
        });
    }
    if let Some(w) = ignore_state_dir(dir).context("cannot update .gitignore")? {
        written.push(w);
    }
    Ok(written)
}

/// The line `.gitignore` gets: shipit's local state (baselines, receipts, locks) is per machine
/// and must never be committed (a committed lock or baseline would mislead the next run).
pub const GITIGNORE_LINE: &str = ".shipit/";

/// Adds [`GITIGNORE_LINE`] to `dir/.gitignore` (created when missing) unless an entry for
/// `.shipit` is already there; the rest of the file is kept as it is.
fn ignore_state_dir(dir: &Path) -> std::io::Result<Option<Written>> {
    let path = dir.join(".gitignore");
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let text = existing.clone().unwrap_or_default();
    let covered = text.lines().map(str::trim).any(|l| {
        matches!(
            l,
            ".shipit" | ".shipit/" | "/.shipit" | "/.shipit/" | ".shipit/*" | "/.shipit/*"
        )
    });
    if covered {
        return Ok(None);
    }
    let mut contents = text;
    if !contents.is_empty() && !contents.ends_with('\n') {
        contents.push('\n');
    }
    contents.push_str("# shipit's local state: baselines, receipts, locks (`shipit init`)\n");
    contents.push_str(GITIGNORE_LINE);
    contents.push('\n');
    write_one(&path, &contents)?;
    Ok(Some(Written {
        path: PathBuf::from(".gitignore"),
        status: if existing.is_some() {
            WriteStatus::Updated
        } else {
            WriteStatus::Created
        },
    }))
}

/// Writes through a temporary file in the same folder and renames it, so a file is either its
/// old self or complete.
fn write_one(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".shipit-init.tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests;
