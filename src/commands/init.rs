//! `shipit init`: writes shipit.yml, fly/*.toml, a smoke suite, the GitHub workflows and the
//! action that installs shipit, from the templates in `crate::init`.

use std::path::Path;

use crate::exit::Outcome;
use crate::init::{self, AlreadyExists, WriteStatus};

pub(crate) fn run(
    ctx: &super::Ctx,
    dir: Option<&Path>,
    name: &str,
    force: bool,
) -> anyhow::Result<Outcome> {
    let dir = dir.unwrap_or_else(|| Path::new("."));
    let files = init::project_files(name)
        .map_err(|e| anyhow::anyhow!("{e}\nhint: pass e.g. --name hotdash; apps become hotdash-staging and hotdash-production"))?;
    let written = init::write(dir, &files, force).map_err(|err| {
        match err.downcast_ref::<AlreadyExists>() {
            Some(exists) => anyhow::anyhow!(
                "{exists}\nhint: pass --force to overwrite them, or --dir to write somewhere else"
            ),
            None => err,
        }
    })?;
    let p = &ctx.printer;
    if p.json_mode() {
        p.json(&serde_json::json!({
            "dir": dir,
            "name": name,
            "files": written,
            "release_repository": init::release_repository(),
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
    p.info("  4. if shipit.yml notifies, add its variables (e.g. SLACK_WEBHOOK_URL) as repository secrets for the scheduled health check too");
    Ok(Outcome::Success)
}
