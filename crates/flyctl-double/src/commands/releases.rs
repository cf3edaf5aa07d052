//! `flyctl releases` / `flyctl apps releases`: the last 25 releases, newest first.

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::J;
use crate::output;
use crate::render;
use crate::state::Release;

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (name, app) = ctx.require_app(&state, |n| format!("Could not find App \"{n}\""))?;
    let mut releases: Vec<&Release> = app.releases.iter().collect();
    releases.sort_by_key(|r| std::cmp::Reverse(r.version));
    releases.truncate(25);
    if ctx.json() {
        // `--image` only adds a table column; the JSON always carries ImageRef.
        let doc = J::Arr(releases.iter().map(|r| render::release(&name, r)).collect());
        output::json(&doc.indented(), state.is_malformed("releases"));
        return Ok(());
    }
    let with_image = ctx.flags.bool("image");
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            let mut row = vec![
                format!("v{}", r.version),
                r.status.clone(),
                r.description
                    .clone()
                    .unwrap_or_else(|| "Deploy image".to_owned()),
                r.user_email.clone().unwrap_or_default(),
                r.created_at
                    .clone()
                    .unwrap_or_else(|| render::DEFAULT_RELEASE_CREATED_AT.to_owned()),
            ];
            if with_image {
                row.push(r.image.clone());
            }
            row
        })
        .collect();
    let mut header = vec!["VERSION", "STATUS", "DESCRIPTION", "USER", "DATE"];
    if with_image {
        header.push("DOCKER IMAGE");
    }
    output::out(&table(&header, &rows));
    Ok(())
}
