//! `flyctl image show [MACHINE_ID]`: the image each machine runs.

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::J;
use crate::output;
use crate::render;

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (_, app) = ctx.require_app(&state, |n| format!("get app: Could not find App \"{n}\""))?;
    let malformed = state.is_malformed("image");
    if let Some(id) = ctx.flags.positionals.first() {
        let Some(machine) = app.machines.iter().find(|m| &m.id == id) else {
            return Err(Failure::new(format!(
                "failed to get machine {id}: machine not found"
            )));
        };
        if ctx.json() {
            output::json(&render::image_row(machine).indented(), malformed);
        } else {
            output::out_line(&machine.image);
        }
        return Ok(());
    }
    if ctx.json() {
        // flyctl appends to a nil slice, so an app without machines prints `null`, not `[]`.
        let doc = if app.machines.is_empty() {
            J::Null
        } else {
            J::Arr(app.machines.iter().map(render::image_row).collect())
        };
        output::json(&doc.indented(), malformed);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = app
        .machines
        .iter()
        .map(|m| {
            let p = render::parse_image(&m.image);
            vec![
                m.id.clone(),
                p.registry,
                p.repository,
                p.tag,
                render::machine_digest(m),
            ]
        })
        .collect();
    output::out(&table(
        &["MACHINE ID", "REGISTRY", "REPOSITORY", "TAG", "DIGEST"],
        &rows,
    ));
    Ok(())
}
