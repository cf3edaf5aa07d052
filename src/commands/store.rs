//! `shipit store migrate --from local`: the checkout's record copied into the store shipit.yml
//! names (`store::migrate` does the work).

use crate::cli::MigrateSource;
use crate::config::store::StoreSettings;
use crate::exit::Outcome;
use crate::store::local::LocalStore;
use crate::store::migrate::{self, Counts};

pub(crate) async fn migrate(ctx: &super::Ctx, from: MigrateSource) -> anyhow::Result<Outcome> {
    let p = &ctx.printer;
    let MigrateSource::Local = from;
    if matches!(
        crate::config::store::light(&ctx.config_path)?,
        StoreSettings::Local
    ) {
        anyhow::bail!(
            "{} keeps the record in local files already: there is nowhere to copy it to\nhint: set `store:` to `{{ git: {{}} }}` or `{{ postgres: {{ url: \"${{SHIPIT_STORE_URL}}\" }} }}` first",
            crate::evidence::display_path(&ctx.config_path)
        );
    }
    let source = LocalStore::new(&crate::evidence::settings_for(&ctx.config_path)?);
    let target = crate::store::open_for_reading(&ctx.config_path)?;
    let (from_name, to_name) = (crate::store::Store::describe(&source), target.describe());
    p.step(&format!("copying {from_name} into {to_name}"));
    let done = migrate::migrate(&source, target.as_ref()).await?;
    for (place, why) in &done.unreadable {
        p.warn(&format!("not copied: {place} is unreadable: {why}"));
    }
    if !done.entries_without_receipt.is_empty() {
        let n = done.entries_without_receipt.len();
        p.warn(&format!(
            "not copied: {n} evidence {} without a receipt ({}): a run is copied as its receipt and its entry together",
            if n == 1 { "entry" } else { "entries" },
            list(&done.entries_without_receipt)
        ));
    }
    if p.json_mode() {
        p.json(&serde_json::json!({
            "from": from_name,
            "to": to_name,
            "runs": done.runs,
            "alerts": done.alerts,
            "promotions": done.promotions,
            "entries_without_receipt": done.entries_without_receipt,
            "unreadable": done.unreadable.iter().map(|(place, why)| serde_json::json!({"place": place, "why": why})).collect::<Vec<_>>(),
        }));
        return Ok(Outcome::Success);
    }
    let held = |c: Counts| c.copied + c.present;
    if done.copied_nothing() {
        p.success(&format!(
            "nothing to copy: {to_name} already holds {} of {from_name}",
            what(
                held(done.runs),
                held(done.alerts),
                held(done.promotions),
                "everything"
            )
        ));
    } else {
        let already = what(
            done.runs.present,
            done.alerts.present,
            done.promotions.present,
            "",
        );
        let already = if already.is_empty() {
            String::new()
        } else {
            format!(" ({already} were there already)")
        };
        p.success(&format!(
            "copied {} into {to_name}{already}",
            what(
                done.runs.copied,
                done.alerts.copied,
                done.promotions.copied,
                "nothing"
            )
        ));
    }
    Ok(Outcome::Success)
}

/// `3 runs, 1 alert state and 2 promotions`; `none` when every count is zero.
fn what(runs: usize, alerts: usize, promotions: usize, none: &str) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let parts: Vec<String> = [
        (runs, "run", "runs"),
        (alerts, "alert state", "alert states"),
        (promotions, "promotion", "promotions"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| plural(n, one, many))
    .collect();
    match parts.as_slice() {
        [] => none.to_owned(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// At most five ids, then `...`.
fn list(ids: &[String]) -> String {
    let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
    let more = if ids.len() > 5 { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}
