//! `flyctl apps list`: every app the token can see, as full `fly.App` structs.

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::J;
use crate::output;
use crate::render;

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    ctx.require_session(&state)?;
    let org = ctx.flags.non_empty("org");
    let apps: Vec<_> = state
        .apps
        .iter()
        .filter(|(_, a)| org.is_none_or(|o| o == a.org))
        .collect();
    if ctx.json() {
        let doc = J::Arr(
            apps.iter()
                .map(|(name, app)| render::app_full(name, app))
                .collect(),
        );
        output::json(&doc.indented(), state.is_malformed("apps"));
        return Ok(());
    }
    if ctx.flags.bool("quiet") {
        for (name, _) in &apps {
            output::out_line(name);
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = apps
        .iter()
        .map(|(name, app)| {
            let latest = app
                .releases
                .iter()
                .max_by_key(|r| r.version)
                .and_then(|r| r.created_at.clone())
                .unwrap_or_default();
            vec![(*name).clone(), app.org.clone(), app.status.clone(), latest]
        })
        .collect();
    output::out(&table(&["NAME", "OWNER", "STATUS", "LATEST DEPLOY"], &rows));
    Ok(())
}
