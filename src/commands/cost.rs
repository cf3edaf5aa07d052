//! `shipit cost [ENV|APP] [--app SERVICE]`: what each app costs per 30 days from what Fly
//! reports (`machines list`, `volumes list`) times the price table, and the findings with the
//! money each would save. It only reports: nothing is changed.
//!
//! Exit 0 when every app could be read (findings are information, not failures), 1 when one
//! could not, 130 when cancelled.

use std::time::{Instant, SystemTime};

use crate::config::Service;
use crate::cost::findings::{self, Scope};
use crate::cost::{Prices, Report, dollars};
use crate::event::Event;
use crate::exit::Outcome;
use crate::platform::inventory::InventorySource as _;
use crate::report::{GateRecord, RunKind, ServiceRecord, ServiceResult, Verdict};

pub(crate) async fn run(
    ctx: &super::Ctx,
    target: Option<&str>,
    service: Option<&str>,
) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services: Vec<&Service> = match target {
        Some(t) => crate::config::resolve(&config, t, service)?,
        None => config.services().collect(),
    };
    let fly = ctx.fly()?;
    let prices = Prices::shipped().with_overrides(&config.cost.prices);
    let started_at = SystemTime::now();
    let started = Instant::now();
    let p = &ctx.printer;

    let mut report = Report::new(&prices);
    // The metric findings need the Prometheus reader of `metrics:`; without it (or for the apps
    // it could not be read for) they are named as missing rather than silently absent.
    let metrics = super::check::metrics_reader(&config)?;
    if metrics.is_none() {
        report.metrics = Some(
            "memory and machine-count findings need metrics (`metrics:` is not configured)"
                .to_owned(),
        );
    }
    let mut unread: Vec<String> = Vec::new();
    let mut records = Vec::new();
    let mut cancelled = false;
    for s in &services {
        p.progress(&format!("{}: machines and volumes", s.label()));
        let answer = tokio::select! {
            biased;
            () = ctx.stop.stopped() => None,
            r = fly.inventory(&s.app) => Some(r),
        };
        let Some(answer) = answer else {
            cancelled = true;
            break;
        };
        let mut rec = ServiceRecord::new(&s.env, &s.name, &s.app, s.url.shown());
        match answer {
            Ok(inventory) => {
                let estimate = crate::cost::estimate(&s.env, &s.name, &s.app, &inventory, &prices);
                let scope = Scope {
                    env: &s.env,
                    app: &s.app,
                    always_on: config.cost.always_on.contains(&s.env),
                };
                let mut found = findings::from_inventory(&scope, &inventory, &prices);
                if let Some(m) = &metrics {
                    p.progress(&format!("{}: memory and load over 7 days", s.label()));
                    match crate::metrics::cost_figures(m, &s.app, &inventory).await {
                        Ok((memory, loads)) => {
                            found.extend(findings::from_metrics(
                                &scope, &inventory, &memory, &loads, &prices,
                            ));
                            findings::sort(&mut found);
                        }
                        Err(e) => {
                            rec.warnings.push(format!("metrics not read: {e}"));
                            unread.push(format!("{}: {e}", s.app));
                        }
                    }
                }
                rec.result = ServiceResult::Succeeded;
                rec.gates.push(GateRecord {
                    name: "cost".to_owned(),
                    rule: format!("Fly prices read {}", prices.read_on),
                    observed: format!("{}/month", dollars(estimate.total)),
                    verdict: if found.is_empty() {
                        Verdict::Pass
                    } else {
                        Verdict::Warn
                    },
                    details: found.iter().map(|f| f.text.clone()).collect(),
                });
                rec.warnings.extend(estimate.notes.iter().cloned());
                report.add(estimate, found);
            }
            Err(e) => {
                p.warn(&format!("{}: {e}", s.label()));
                rec.result = ServiceResult::FailedBeforeChange;
                rec.reason = Some(format!("cannot read machines and volumes: {e}"));
                report.errors.push(crate::cost::AppError {
                    env: s.env.clone(),
                    service: s.name.clone(),
                    app: s.app.clone(),
                    error: e.to_string(),
                });
            }
        }
        records.push(rec);
    }
    p.finish_progress();
    if !unread.is_empty() {
        report.metrics = Some(format!(
            "memory and machine-count findings are missing where metrics could not be read: {}",
            unread.join("; ")
        ));
    }
    if p.json_mode() {
        p.json(&report);
    } else {
        print_report(p, &report);
    }

    let outcome = if cancelled {
        Outcome::Cancelled
    } else if report.errors.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    let mut record = super::new_record(
        RunKind::Cost,
        services
            .first()
            .filter(|_| target.is_some())
            .map(|s| s.env.clone()),
        started_at,
    );
    record.services = records;
    record.summary = report.summary(target.unwrap_or("all environments"));
    if cancelled {
        record.summary.push_str(" (cancelled)");
    }
    if outcome == Outcome::Success {
        p.success(&record.summary);
    } else {
        p.warn(&record.summary);
    }
    record.finished_at = crate::timefmt::now();
    record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    record.outcome = outcome;
    record.event = match outcome {
        Outcome::Success => Event::Succeeded,
        Outcome::Cancelled => Event::Cancelled,
        _ => Event::Failed,
    };
    super::finish::record_report(ctx, &config, &record).await;
    Ok(outcome)
}

/// The estimate as a table per environment, then the findings, most money first.
fn print_report(p: &crate::printer::Printer, r: &Report) {
    for env in &r.environments {
        p.out(&format!("{}  {}/month", env.env, dollars(env.total)));
        for a in r.apps.iter().filter(|a| a.env == env.env) {
            let started = a
                .machines
                .iter()
                .filter(|m| m.billing == crate::platform::inventory::Billing::Running)
                .count();
            let stopped = a
                .machines
                .iter()
                .filter(|m| m.billing == crate::platform::inventory::Billing::RootfsOnly)
                .count();
            let gb: u32 = a.volumes.iter().map(|v| v.size_gb).sum();
            p.out(&format!(
                "  {:<10} {:<28} {:>10}/month  ({started} started {}, {stopped} stopped {}, {} volume(s) {gb} GB {})",
                a.service,
                a.app,
                dollars(a.total),
                dollars(a.compute),
                dollars(a.stopped),
                a.volumes.len(),
                dollars(a.storage)
            ));
            for note in &a.notes {
                p.out(&format!("    note: {note}"));
            }
        }
    }
    for e in &r.errors {
        p.out(&format!(
            "  {:<10} {:<28} not read: {}",
            e.service, e.app, e.error
        ));
    }
    p.out(&format!("total  {}/month", dollars(r.total)));
    if !r.findings.is_empty() {
        p.out(&format!(
            "findings (could save {}/month):",
            dollars(r.possible_saving)
        ));
        for f in &r.findings {
            p.out(&format!(
                "  {:>9}/month  {}",
                dollars(f.monthly_saving),
                f.text
            ));
        }
    }
    if let Some(m) = &r.metrics {
        p.info(m);
    }
    let overridden = if r.prices.overridden.is_empty() {
        String::new()
    } else {
        format!(
            "; overridden by cost.prices: {}",
            r.prices.overridden.join(", ")
        )
    };
    p.info(&format!(
        "prices: Fly.io's published prices read {}{overridden}",
        r.prices.read_on
    ));
}
