//! `shipit explain RUN|last`: one past run, readably, from its receipt: per service the release
//! from → to, the steps with their timings, the gates, the decision and what was done. With
//! `--json`, the receipt itself.

use std::fmt::Write as _;

use crate::exit::Outcome;
use crate::printer::Printer;
use crate::report::{GateRecord, RunRecord, ServiceRecord};
use crate::report::{human_duration, image_change, release_change, short_sha};

pub(crate) async fn run(ctx: &super::Ctx, run: &str) -> anyhow::Result<Outcome> {
    let store = crate::store::open_for_reading(&ctx.config_path)?;
    let record = store.find_run(run).await?;
    let p = &ctx.printer;
    if p.json_mode() {
        p.json(&record);
        return Ok(Outcome::Success);
    }
    header(p, &record);
    for s in &record.services {
        service(p, s);
    }
    Ok(Outcome::Success)
}

fn header(p: &Printer, r: &RunRecord) {
    let env = r
        .env
        .as_deref()
        .map(|e| format!(" · {e}"))
        .unwrap_or_default();
    p.out(&format!("run {} · {}{env}", r.id, r.kind.name()));
    p.out(&format!(
        "started {} · finished {} · {}",
        r.started_at,
        r.finished_at,
        human_duration(r.duration_ms)
    ));
    p.out(&format!(
        "outcome: {} (exit {})",
        r.event.name(),
        r.outcome.code()
    ));
    p.out(&format!("summary: {}", r.summary));
    let mut context = Vec::new();
    if let Some(url) = &r.run_url {
        context.push(format!("workflow run {url}"));
    }
    if let Some(sha) = &r.sha {
        context.push(format!("commit {}", short_sha(sha)));
    }
    if let Some(actor) = &r.actor {
        context.push(format!("by {actor}"));
    }
    if !context.is_empty() {
        p.out(&context.join(" · "));
    }
}

fn service(p: &Printer, s: &ServiceRecord) {
    p.out("");
    p.out(&format!(
        "{} · {} ({}) — {}",
        s.service,
        s.app,
        s.env,
        s.result.words()
    ));
    let mut release = release_change(s.from.as_ref(), s.to.as_ref());
    if let Some(images) = image_change(s.from.as_ref(), s.to.as_ref()) {
        let _ = write!(release, " ({images})");
    }
    if let Some(live) = &s.live {
        let _ = write!(release, " · live now: {}", live.short());
    }
    p.out(&format!("  release: {release}"));
    if !s.steps.is_empty() {
        p.out("  steps:");
        let w = s
            .steps
            .iter()
            .map(|st| st.name.chars().count())
            .max()
            .unwrap_or(0);
        for st in &s.steps {
            let at = st.started_at.get(11..19).unwrap_or(&st.started_at);
            let ok = if st.ok { "ok" } else { "FAILED" };
            let detail = if st.detail.is_empty() {
                String::new()
            } else {
                format!("  {}", st.detail)
            };
            p.out(&format!(
                "    {at}  {:w$}  {:>7}  {ok}{detail}",
                st.name,
                human_duration(st.duration_ms)
            ));
        }
    }
    if !s.gates.is_empty() {
        gates(p, &s.gates);
    }
    if let Some(d) = &s.decision {
        p.out(&format!("  decision: {d}"));
    }
    if let Some(r) = &s.reason {
        p.out(&format!("  reason: {r}"));
    }
    list(p, "issues", &s.issues);
    list(p, "actions", &s.actions);
    if !s.flyctl.is_empty() {
        p.out("  flyctl:");
        for argv in &s.flyctl {
            p.out(&format!("    - {}", argv.join(" ")));
        }
    }
    list(p, "warnings", &s.warnings);
}

/// Rule and observed value longer than these do not fit a table line: each gate gets a block.
const RULE_COLUMN: usize = 50;
const OBSERVED_COLUMN: usize = 40;

/// The gates as a table (rule, observed, verdict), or as blocks when the values are long.
fn gates(p: &Printer, gates: &[GateRecord]) {
    p.out("  gates:");
    let width = |f: fn(&GateRecord) -> &str, title: &str| {
        gates
            .iter()
            .map(|g| f(g).chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (wn, wr, wo) = (
        width(|g| &g.name, "GATE"),
        width(|g| &g.rule, "RULE"),
        width(|g| &g.observed, "OBSERVED"),
    );
    if wr <= RULE_COLUMN && wo <= OBSERVED_COLUMN {
        p.out(&format!(
            "    {:wn$}  {:wr$}  {:wo$}  VERDICT",
            "GATE", "RULE", "OBSERVED"
        ));
        for g in gates {
            let mark = g.verdict.mark();
            let verdict = g.verdict.name();
            p.out(&format!(
                "    {:wn$}  {:wr$}  {:wo$}  {mark} {verdict}",
                g.name, g.rule, g.observed
            ));
            for d in &g.details {
                p.out(&format!("      {d}"));
            }
        }
        return;
    }
    for g in gates {
        p.out(&format!(
            "    {}  {} {}",
            g.name,
            g.verdict.mark(),
            g.verdict.name()
        ));
        p.out(&format!("      rule:     {}", g.rule));
        p.out(&format!("      observed: {}", g.observed));
        for d in &g.details {
            p.out(&format!("      {d}"));
        }
    }
}

fn list(p: &Printer, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    p.out(&format!("  {title}:"));
    for i in items {
        p.out(&format!("    - {i}"));
    }
}
