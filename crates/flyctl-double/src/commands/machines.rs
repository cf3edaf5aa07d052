//! `flyctl machines list`: the raw `flaps.List` result, neither filtered nor sorted.

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::J;
use crate::output;
use crate::render::{self, View};

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (name, app) =
        ctx.require_app(&state, |_| "failed to list VMs: app not found".to_owned())?;
    let view = View {
        app_name: &name,
        app,
        flyctl_version: state.flyctl_version(),
    };
    if ctx.json() {
        let doc = J::Arr(
            app.machines
                .iter()
                .map(|m| render::machine(&view, m))
                .collect(),
        );
        output::json(&doc.indented(), state.is_malformed("machines"));
        return Ok(());
    }
    if app.machines.is_empty() {
        output::out_line(&format!("No machines are available on this app {name}"));
        return Ok(());
    }
    if ctx.flags.bool("quiet") {
        for m in &app.machines {
            output::out_line(&m.id);
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = app
        .machines
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.name
                    .clone()
                    .unwrap_or_else(|| crate::ids::machine_name(&m.id)),
                m.state.clone(),
                m.region.clone(),
                m.image.clone(),
                m.process_group().to_owned(),
            ]
        })
        .collect();
    output::out(&format!(
        "{} machines have been retrieved from app {name}.\n\n{}",
        app.machines.len(),
        table(
            &["ID", "NAME", "STATE", "REGION", "IMAGE", "PROCESS GROUP"],
            &rows
        )
    ));
    Ok(())
}
