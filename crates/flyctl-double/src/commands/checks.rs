//! `flyctl checks list`: health checks of the active machines, keyed by machine id.

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::{J, map};
use crate::output;
use crate::render;
use crate::state::{Check, Machine};

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (name, app) = ctx.require_app(&state, |n| {
        format!("failed to get app: Could not find App \"{n}\"")
    })?;
    let mut machines: Vec<&Machine> = app.active_machines().collect();
    machines.sort_by(|a, b| a.id.cmp(&b.id));
    let checks_of = |m: &Machine| -> Vec<Check> {
        let mut checks: Vec<Check> = m
            .checks
            .iter()
            .filter(|c| !c.name.starts_with("bg_deployments_compat"))
            .cloned()
            .collect();
        checks.sort_by(|a, b| a.name.cmp(&b.name));
        checks
    };
    if ctx.json() {
        // `--check-name` is ignored in JSON mode, as in flyctl.
        let doc = map(machines.iter().filter_map(|m| {
            let checks = checks_of(m);
            (!checks.is_empty()).then(|| {
                (
                    m.id.clone(),
                    J::Arr(checks.iter().map(render::check_status).collect()),
                )
            })
        }));
        output::json(&doc.indented(), state.is_malformed("checks"));
        return Ok(());
    }
    let filter = ctx.flags.non_empty("check-name");
    let mut rows = Vec::new();
    for m in &machines {
        for c in checks_of(m) {
            if filter.is_some_and(|f| f != c.name) {
                continue;
            }
            rows.push(vec![
                c.name.clone(),
                c.status.clone(),
                m.id.clone(),
                c.updated_at
                    .clone()
                    .unwrap_or_else(|| render::DEFAULT_CHECK_UPDATED_AT.to_owned()),
                c.output.clone().unwrap_or_default(),
            ]);
        }
    }
    output::out(&format!(
        "Health Checks for {name}\n{}",
        table(
            &["NAME", "STATUS", "MACHINE", "LAST UPDATED", "OUTPUT"],
            &rows
        )
    ));
    Ok(())
}
