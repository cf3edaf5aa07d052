//! `flyctl status [--json]`: the app, its organization and its active machines.

use crate::Failure;
use crate::commands::table;
use crate::context::Ctx;
use crate::gojson::{J, map};
use crate::output;
use crate::render::{self, View};
use crate::state::{App, Machine};

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    let state = ctx.store.load()?;
    let (name, app) = ctx.require_app(&state, |n| {
        format!("failed to get app: Could not find App \"{n}\"")
    })?;
    if ctx.flags.bool("watch") && ctx.json() {
        return Err(Failure::new(
            "--watch and --json are not supported together".to_owned(),
        ));
    }
    let view = View {
        app_name: &name,
        app,
        flyctl_version: state.flyctl_version(),
    };
    // flaps.ListActive, then sorted by ID descending as renderMachineJSONStatus does.
    let mut machines: Vec<&Machine> = app.active_machines().collect();
    machines.sort_by(|a, b| b.id.cmp(&a.id));
    if ctx.json() {
        let mut fields = vec![
            ("AppURL", J::from(app.app_url.clone().unwrap_or_default())),
            ("Deployed", J::Bool(render::deployed(app))),
            ("Hostname", J::from(format!("{name}.fly.dev"))),
            ("ID", J::from(&name)),
            (
                "Machines",
                J::Arr(machines.iter().map(|m| render::machine(&view, m)).collect()),
            ),
            ("Name", J::from(&name)),
            ("Organization", render::organization_basic(app)),
            ("PlatformVersion", J::from("machines")),
            ("Status", J::from(&app.status)),
            ("Version", J::from(current_version(app))),
        ];
        if let Some(network) = app.network.as_ref().filter(|n| !n.is_empty()) {
            fields.push(("Network", J::from(network)));
        }
        // The top level is a Go map[string]any, so its keys come out sorted.
        output::json(&map(fields).indented(), state.is_malformed("status"));
        return Ok(());
    }
    let image = machines
        .iter()
        .max_by_key(|m| m.release_version)
        .map(|m| {
            let p = render::parse_image(&m.image);
            format!("{}:{}", p.repository, p.tag)
        })
        .unwrap_or_default();
    let mut text = format!(
        "App\n  Name     = {name}\n  Owner    = {}\n  Hostname = {name}.fly.dev\n  Image    = {image}\n\nMachines\n",
        app.org
    );
    let rows: Vec<Vec<String>> = machines
        .iter()
        .map(|m| {
            let passing = m.checks.iter().filter(|c| c.status == "passing").count();
            vec![
                m.process_group().to_owned(),
                m.id.clone(),
                m.release_version.map(|v| v.to_string()).unwrap_or_default(),
                m.region.clone(),
                m.state.clone(),
                format!("{} total, {passing} passing", m.checks.len()),
                m.updated_at
                    .clone()
                    .unwrap_or_else(|| render::DEFAULT_MACHINE_UPDATED_AT.to_owned()),
            ]
        })
        .collect();
    text.push_str(&table(
        &[
            "PROCESS",
            "ID",
            "VERSION",
            "REGION",
            "STATE",
            "CHECKS",
            "LAST UPDATED",
        ],
        &rows,
    ));
    output::out(&text);
    Ok(())
}

/// The app's current release version: the newest complete release, or the release the active
/// machines run if that is newer (a half-finished rolling deploy), 0 without either.
fn current_version(app: &App) -> u64 {
    let complete = app
        .releases
        .iter()
        .filter(|r| r.status == "complete")
        .map(|r| r.version)
        .max()
        .unwrap_or(0);
    let running = app
        .active_machines()
        .filter_map(|m| m.release_version)
        .max()
        .unwrap_or(0);
    complete.max(running)
}
