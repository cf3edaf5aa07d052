//! `flyctl volumes list`: the app's volumes from `flaps.GetVolumes`, without those being
//! destroyed unless `--all` is given (`internal/command/volumes/list.go`).

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::J;
use crate::output;
use crate::render;

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (_, app) = ctx.require_app(&state, |n| {
        format!("failed retrieving volumes: Could not find App \"{n}\"")
    })?;
    let all = ctx.flags.bool("all");
    let volumes: Vec<_> = app
        .volumes
        .iter()
        .filter(|v| all || !v.is_being_destroyed())
        .collect();
    if ctx.json() {
        let doc = J::Arr(volumes.iter().map(|v| render::volume(v)).collect());
        output::json(&doc.indented(), state.is_malformed("volumes"));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = volumes
        .iter()
        .map(|v| {
            vec![
                v.id.clone(),
                v.state.clone(),
                v.name.clone(),
                format!("{}GB", v.size_gb),
                v.region.clone(),
                v.zone.clone().unwrap_or_else(|| "a1b2".to_owned()),
                if v.encrypted.unwrap_or(true) {
                    "true"
                } else {
                    "false"
                }
                .to_owned(),
                v.attached_machine_id.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::out(&table(
        &[
            "ID",
            "STATE",
            "NAME",
            "SIZE",
            "REGION",
            "ZONE",
            "ENCRYPTED",
            "ATTACHED VM",
        ],
        &rows,
    ));
    Ok(())
}
