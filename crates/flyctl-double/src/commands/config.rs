//! `flyctl config show`: the app's configuration as JSON (`json.MarshalIndent`, two spaces).
//!
//! Without `--local` it is the current release's stored config (the newest release, whatever
//! its status: GraphQL `currentReleaseUnprocessed`), else one rebuilt from the machines. With
//! `--local` it is the local fly.toml (`-c`, else `./fly.toml`).

use crate::appconfig;
use crate::context::Ctx;
use crate::{Failure, output};

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    ctx.require_session(&state)?;
    if !ctx.flags.positionals.is_empty() {
        return Err(Failure::new(format!(
            "unknown command \"{}\" for \"flyctl config show\"",
            ctx.flags.positionals[0]
        )));
    }
    if ctx.flags.bool("yaml") || ctx.flags.bool("toml") {
        return Err(Failure::new(
            "flyctl-double: config show --yaml/--toml is not implemented".to_owned(),
        ));
    }
    let local = ctx.load_app_config(&ctx.cwd)?;
    let name = ctx.require_app_name(local.as_ref())?;
    let (name, config) = if ctx.flags.bool("local") {
        let Some(document) = local.and_then(|c| c.document) else {
            return Err(Failure::new("No local fly.toml found".to_owned()));
        };
        // The file's own `app` stays; `-a` only fills it in when the file has none.
        let shown = document
            .get("app")
            .and_then(|a| a.as_str())
            .map_or(name, str::to_owned);
        (shown, document)
    } else {
        let Some(app) = state.apps.get(&name) else {
            return Err(Failure::new(format!(
                "error getting app: Could not find App \"{name}\""
            )));
        };
        let config = app
            .releases
            .iter()
            .max_by_key(|r| r.version)
            .and_then(|r| r.config.clone())
            .unwrap_or_else(|| appconfig::from_machines(app));
        (name, config)
    };
    let mut text = appconfig::render(&name, &config).indented_by("  ");
    text.push('\n');
    output::json(&text, state.is_malformed("config"));
    Ok(())
}
