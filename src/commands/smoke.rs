//! `shipit smoke ENV|APP [--app SERVICE] [--junit FILE]`: the smoke suite of each targeted
//! service, alone. Services without `smoke:` are skipped with a note; a target with none at all
//! is an error. Every suite loads before the first request, so a typo fails fast.
//!
//! Human output is one line per check (mark, name, request, status and latency, and the failed
//! conditions spelled out), then one summary line per suite. `--json` prints one array of
//! suite reports (see `smoke::SmokeReport`); `--junit FILE` also writes `JUnit` XML.
//!
//! Exit 0 when every check of every suite passed, 1 otherwise (130 when cancelled).

use std::path::Path;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;

use crate::event::Event;
use crate::exit::Outcome;
use crate::probe::HttpProber;
use crate::report::{GateRecord, RunKind, ServiceRecord, ServiceResult, Verdict};
use crate::smoke::{self, SmokeReport};

pub(crate) async fn run(
    ctx: &super::Ctx,
    target: &str,
    service: Option<&str>,
    junit: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services = crate::config::resolve(&config, target, service)?;
    let p = &ctx.printer;

    let mut suites = Vec::new();
    let mut skipped = Vec::new();
    for s in &services {
        if let Some(path) = &s.smoke {
            suites.push((*s, smoke::load(path)?));
        } else {
            p.info(&format!(
                "{}: no smoke suite (`smoke:` is not set), skipped",
                s.label()
            ));
            skipped.push(*s);
        }
    }
    if suites.is_empty() {
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "no smoke suite to run for `{target}`: {} {} no `smoke:`\nhint: add e.g. `smoke: smoke/{}.yml` under `apps.{}` in {}, with `checks: [{{ name: home, path: /, expect: [\"[STATUS] == 200\"] }}]` in that file",
            names.join(", "),
            if names.len() == 1 { "has" } else { "have" },
            names[0],
            names[0],
            config.path.display()
        );
    }

    let prober = HttpProber::new()?;
    let started_at = SystemTime::now();
    let started = Instant::now();
    let mut reports: Vec<SmokeReport> = Vec::new();
    let mut records = Vec::new();
    for (s, suite) in &suites {
        if ctx.stop.is_stopped() {
            break;
        }
        let file = suite
            .path
            .strip_prefix(&config.dir)
            .unwrap_or(&suite.path)
            .display()
            .to_string();
        p.step(&format!(
            "smoke {}: {} checks from {file}, {} at a time",
            s.label(),
            suite.checks.len(),
            suite.concurrency
        ));
        let mut report = smoke::run(&prober, s.url.as_str(), suite, &ctx.stop, p).await;
        p.finish_progress();
        report.name = format!("{}/{}", s.env, s.name);
        report.suite = file;
        s.url.shown().clone_into(&mut report.base_url);
        for check in &report.checks {
            p.out(&format!("  {}", check.line()));
        }
        p.out(&format!("{}: {}", s.label(), report.summary()));
        let mut rec = ServiceRecord::new(&s.env, &s.name, &s.app, s.url.shown());
        rec.result = if report.cancelled {
            ServiceResult::Cancelled
        } else if report.passed() {
            ServiceResult::Succeeded
        } else {
            ServiceResult::Unhealthy
        };
        rec.issues.extend(
            report
                .failed()
                .map(|c| format!("smoke check failed: {}", c.line())),
        );
        rec.gates.push(report.gate_record());
        records.push(rec);
        reports.push(report);
    }
    for s in &skipped {
        let mut rec = ServiceRecord::new(&s.env, &s.name, &s.app, s.url.shown());
        rec.result = ServiceResult::Succeeded;
        rec.gates.push(GateRecord {
            name: "smoke".to_owned(),
            rule: "the service's smoke suite passes".to_owned(),
            observed: "no smoke suite configured".to_owned(),
            verdict: Verdict::Skipped,
            details: Vec::new(),
        });
        records.push(rec);
    }

    if p.json_mode() {
        p.json(&reports);
    }
    if let Some(path) = junit {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(path, smoke::junit_all(&reports))
            .with_context(|| format!("cannot write the JUnit report {}", path.display()))?;
        p.info(&format!("JUnit report: {}", path.display()));
    }

    let cancelled = ctx.stop.is_stopped() || reports.iter().any(|r| r.cancelled);
    let all_passed = reports.iter().all(SmokeReport::passed);
    let outcome = if cancelled {
        Outcome::Cancelled
    } else if all_passed {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    let checks: usize = reports.iter().map(|r| r.checks.len()).sum();
    let passed: usize = reports.iter().map(SmokeReport::passed_count).sum();
    let summary = format!(
        "smoke {target}: {passed}/{checks} checks passed{}",
        if cancelled { " (cancelled)" } else { "" }
    );
    let mut record = super::new_record(
        RunKind::Smoke,
        services.first().map(|s| s.env.clone()),
        started_at,
    );
    record.services = records;
    record.summary = summary;
    Ok(super::end_check_run(ctx, &config, record, started, outcome, Event::Failed).await)
}
