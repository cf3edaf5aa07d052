//! `shipit notify test`: one test message per configured channel, whatever its `on:` list, and
//! one line per result. Unlike during a deploy, a channel that fails fails the command: finding
//! that out is the point.

use std::time::SystemTime;

use crate::exit::Outcome;
use crate::notify;

pub(crate) async fn run(ctx: &super::Ctx) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let p = &ctx.printer;
    if config.notify.is_empty() {
        anyhow::bail!(
            "{} has no notification channels\nhint: add e.g. `notify: [{{ slack: {{ webhook_url: \"${{SLACK_WEBHOOK_URL}}\" }} }}]`",
            config.path.display()
        );
    }
    let record = notify::test_record(&config, SystemTime::now());
    let n = config.notify.len();
    p.step(&format!(
        "sending a test message to {n} channel{}",
        if n == 1 { "" } else { "s" }
    ));
    let results = notify::send_test(&config.notify, &record).await;
    let delivered = results.iter().filter(|r| r.delivered).count();
    if p.json_mode() {
        p.json(&serde_json::json!({"delivered": delivered == results.len(), "channels": results}));
    } else {
        let width = results
            .iter()
            .map(|r| r.target.chars().count())
            .max()
            .unwrap_or(0);
        for r in &results {
            let status = r.status.map(|s| format!("HTTP {s} · ")).unwrap_or_default();
            let line = if r.delivered {
                format!("ok    {:width$}  {status}{}ms", r.target, r.elapsed_ms)
            } else {
                format!(
                    "FAIL  {:width$}  {}",
                    r.target,
                    r.error.as_deref().unwrap_or("not delivered")
                )
            };
            p.out(&line);
        }
    }
    if delivered == results.len() {
        p.success(&format!("{delivered} of {n} channels delivered"));
        Ok(Outcome::Success)
    } else {
        p.error(&format!(
            "{} of {n} channels not delivered",
            results.len() - delivered
        ));
        p.hint("check each failing channel's URL (and secret or routing key) in shipit.yml and the variables it uses");
        Ok(Outcome::Failed)
    }
}
