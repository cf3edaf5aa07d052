//! `flyctl secrets list`: names, digests and deployment status; values are never shown.

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::{J, obj};
use crate::output;

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (_, app) = ctx.require_app(&state, |n| format!("Could not find App \"{n}\""))?;
    // Without machines nothing has been deployed, so flyctl reports every secret as Staged.
    let default_status = if app.active_machines().next().is_some() {
        "Deployed"
    } else {
        "Staged"
    };
    let rows: Vec<(String, String, String)> = app
        .secrets
        .iter()
        .map(|s| {
            let status = s
                .status
                .clone()
                .unwrap_or_else(|| default_status.to_owned());
            (s.name.clone(), s.digest.clone(), status)
        })
        .collect();
    if ctx.json() {
        let doc = J::Arr(
            rows.iter()
                .map(|(n, d, s)| {
                    obj([
                        ("name", J::from(n)),
                        ("digest", J::from(d)),
                        ("status", J::from(s)),
                    ])
                })
                .collect(),
        );
        output::json(&doc.indented(), state.is_malformed("secrets"));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = rows.into_iter().map(|(n, d, s)| vec![n, d, s]).collect();
    output::out(&table(&["NAME", "DIGEST", "STATUS"], &rows));
    Ok(())
}
