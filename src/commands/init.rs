//! `shipit init`: writes shipit.yml, fly/*.toml, a smoke suite, the GitHub workflows and the
//! action that installs shipit, from the templates in `crate::init`.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;

use crate::exit::Outcome;
use crate::init::{self, AlreadyExists, ProjectOptions, WriteStatus};

/// How the test command of the deploy workflows is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TestChoice {
    /// `--test CMD`.
    Given(String),
    /// `--no-test`.
    Without,
    /// Neither: detected from the project's files, and asked when a person is at a terminal.
    Detect,
}

impl TestChoice {
    pub(crate) fn from_flags(test: Option<String>, no_test: bool) -> TestChoice {
        match (test, no_test) {
            (Some(command), _) => TestChoice::Given(command),
            (None, true) => TestChoice::Without,
            (None, false) => TestChoice::Detect,
        }
    }
}

pub(crate) fn run(
    ctx: &super::Ctx,
    dir: Option<&Path>,
    name: &str,
    force: bool,
    test: TestChoice,
    store: init::StoreChoice,
) -> anyhow::Result<Outcome> {
    let dir = dir.unwrap_or_else(|| Path::new("."));
    init::check_name(name).map_err(|e| {
        anyhow::anyhow!(
            "{e}\nhint: pass e.g. --name hotdash; apps become hotdash-staging and hotdash-production"
        )
    })?;
    let test = test_command(ctx, dir, test)?;
    let options = ProjectOptions { test, store };
    let files = init::project_files_with(name, &options).map_err(|e| {
        anyhow::anyhow!(
            "{e}\nhint: pass the command the tests run with, e.g. --test \"npm test\", or --no-test"
        )
    })?;
    let written = init::write(dir, &files, force).map_err(|err| {
        match err.downcast_ref::<AlreadyExists>() {
            Some(exists) => anyhow::anyhow!(
                "{exists}\nhint: pass --force to overwrite them, or --dir to write somewhere else"
            ),
            None => err,
        }
    })?;
    let mut written = written;
    // The health-check workflow checks that the runbook is current, so the project starts with one.
    match super::runbook::first_runbook(&dir.join("shipit.yml")) {
        Ok((path, body)) => {
            let existed = path.exists();
            if existed && !force {
                ctx.printer
                    .info(&format!("kept the existing {}", init::RUNBOOK));
            } else {
                super::runbook::write(&path, &body)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                written.push(init::Written {
                    path: init::RUNBOOK.into(),
                    status: if existed {
                        WriteStatus::Overwritten
                    } else {
                        WriteStatus::Created
                    },
                });
            }
        }
        Err(e) => ctx.printer.warn(&format!(
            "the runbook was not written ({e:#}); run `shipit runbook` once shipit.yml loads"
        )),
    }
    let p = &ctx.printer;
    if p.json_mode() {
        p.json(&serde_json::json!({
            "dir": dir,
            "name": name,
            "files": written,
            "release_repository": init::release_repository(),
            "test": options.test,
        }));
    } else {
        for file in &written {
            let verb = match file.status {
                WriteStatus::Created => "created",
                WriteStatus::Overwritten => "overwrote",
                WriteStatus::Updated => "updated",
            };
            p.out(&format!("{verb} {}", file.path.display()));
        }
    }
    if init::release_repository().is_none() {
        p.warn(&format!(
            "this shipit was not built by the release workflow, so it does not know which GitHub repository \
             publishes shipit: set `repository:` (owner/name) in {}/action.yml",
            init::PROJECT_ACTION_DIR
        ));
    }
    match &options.test {
        Some(command) => p.info(&format!(
            "the deploy workflows run `{}` first: a push whose tests fail never deploys",
            command.lines().collect::<Vec<_>>().join(" && ")
        )),
        None => p.warn(
            "the deploy workflows run no tests before deploying (they say where to add a test job); \
             `shipit init --test CMD --force` writes one",
        ),
    }
    p.success(&format!(
        "wrote {} files into {}",
        written.len(),
        dir.display()
    ));
    p.info("next:");
    p.info(&format!("  1. create the Fly apps ({name}-staging, {name}-production) and adjust fly/*.toml and shipit.yml"));
    p.info("  2. run `shipit config check`, then `shipit plan staging`");
    p.info(
        "  3. on GitHub, create the environments `staging` and `production` (give production required reviewers) \
         and set FLY_API_TOKEN in each (`fly tokens create deploy -a APP`)",
    );
    p.info(
        "  4. for the scheduled health check, add the repository secret FLY_READONLY_TOKEN (`fly tokens create readonly`) \
         and, if shipit.yml notifies, its variables (e.g. SLACK_WEBHOOK_URL) as repository secrets too",
    );
    Ok(Outcome::Success)
}

/// The test command to write: `--test`, nothing with `--no-test`, otherwise what the project's
/// files show, confirmed or replaced by the person at the terminal when there is one.
fn test_command(
    ctx: &super::Ctx,
    dir: &Path,
    choice: TestChoice,
) -> anyhow::Result<Option<String>> {
    let detected = match choice {
        TestChoice::Given(command) => return Ok(Some(command)),
        TestChoice::Without => return Ok(None),
        TestChoice::Detect => init::detect::test_command(dir),
    };
    let p = &ctx.printer;
    let asking =
        !p.json_mode() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !asking {
        if let Some(d) = &detected {
            p.info(&format!(
                "test command from {}: {}",
                d.from,
                d.command.replace('\n', " && ")
            ));
        }
        return Ok(detected.map(|d| d.command));
    }
    let question = match &detected {
        Some(d) => format!(
            "test command to run before every deploy (from {}) [{}] (Enter keeps it, `none` for no tests):",
            d.from,
            d.command.replace('\n', " && ")
        ),
        None => "test command to run before every deploy (Enter for none):".to_owned(),
    };
    p.info(&question);
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| anyhow::anyhow!("cannot read the answer: {e}"))?;
    Ok(match answer.trim() {
        "" => detected.map(|d| d.command),
        "none" | "-" => None,
        typed => Some(typed.to_owned()),
    })
}
