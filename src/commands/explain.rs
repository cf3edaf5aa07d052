//! `shipit explain RUN|last`: one past run, readably, from its receipt: per service the release
//! from → to, the steps with their timings, the gates, the decision and what was done. With
//! `--json`, the receipt itself.

use std::fmt::Write as _;

use crate::evidence;
use crate::exit::Outcome;
use crate::notify::message::{
    human_duration, image_change, release_change, result_words, short_sha, verdict_mark,
};
use crate::printer::Printer;
use crate::report::{RunRecord, ServiceRecord};

pub(crate) fn run(ctx: &super::Ctx, run: &str) -> anyhow::Result<Outcome> {
    let settings = evidence::settings_for(&ctx.config_path)?;
    let record = evidence::receipt::find(&settings.runs, run)?;
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
        result_words(s.result)
    ));
    let mut release = release_change(s.from.as_ref(), s.to.as_ref());
    if let Some(images) = image_change(s.from.as_ref(), s.to.as_ref()) {
        let _ = write!(release, " ({images})");
    }
    if let Some(live) = &s.live {
        let _ = write!(
            release,
            " · live now: {}",
            live.version
                .map_or_else(|| live.image.clone(), |v| format!("v{v}"))
        );
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
        p.out("  gates:");
        let header = ("GATE", "RULE", "OBSERVED");
        let wn = s
            .gates
            .iter()
            .map(|g| g.name.chars().count())
            .chain([header.0.len()])
            .max()
            .unwrap_or(0);
        let wr = s
            .gates
            .iter()
            .map(|g| g.rule.chars().count())
            .chain([header.1.len()])
            .max()
            .unwrap_or(0)
            .min(60);
        let wo = s
            .gates
            .iter()
            .map(|g| g.observed.chars().count())
            .chain([header.2.len()])
            .max()
            .unwrap_or(0)
            .min(40);
        p.out(&format!(
            "    {:wn$}  {:wr$}  {:wo$}  VERDICT",
            header.0, header.1, header.2
        ));
        for g in &s.gates {
            p.out(&format!(
                "    {:wn$}  {:wr$}  {:wo$}  {} {}",
                g.name,
                g.rule,
                g.observed,
                verdict_mark(g.verdict),
                g.verdict.name()
            ));
            for d in &g.details {
                p.out(&format!("      {d}"));
            }
        }
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
            p.out(&format!("    - flyctl {}", argv.join(" ")));
        }
    }
    list(p, "warnings", &s.warnings);
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
