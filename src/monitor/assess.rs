//! One app's observations turned into findings, before escalation: the fleet (`status`), the
//! machine events, the recent logs, one health probe and, when configured, the metrics.
//!
//! Rules (the names findings and alert keys carry):
//! - `app_missing` (critical): Fly does not know the app.
//! - `down` (critical): the health endpoint gave no answer or a 5xx, or the app has no machines.
//! - `health_failing` (alert after `health_failing.alert_after`): an answer cut short, one that
//!   fails the app's conditions, or a Fly check `critical` on a started machine.
//! - `slow` (alert after `latency.alert_after`): the health latency is over `latency.alert`;
//!   `latency` (warning): over `latency.target`.
//! - `oom_killed`, `crash`, `restart_loop` (alert): from machine events and log lines.
//! - every log pattern by its name (`http_5xx`, `proxy_error`, the `chatwoot` set, the app's own).
//! - `metrics_5xx` (critical), `memory` (alert): from Prometheus, when configured.
//! - `logs_unreadable`, `status_unreadable`, `metrics_unreadable`, `host_unreachable`
//!   (warnings): something shipit could not see; the rules it would have judged keep their state.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::escalation::{Observed, Policy};
use super::{Finding, Level, events, merge};
use crate::logscan::Scanner;
use crate::platform::{AppStatus, ErrorKind, LogEntry, PlatformError};
use crate::probe::condition::Condition;
use crate::probe::{ProbeResult, short};

/// How many log entries one pass scans at most (the newest).
pub const MAX_LOG_ENTRIES: usize = 20_000;

pub use crate::metrics::Metrics;

/// Everything one pass saw of one app.
pub struct Inputs<'a> {
    pub app: &'a str,
    pub status: Result<&'a AppStatus, &'a PlatformError>,
    /// `None`: not read (the app is missing).
    pub logs: Option<Result<&'a [LogEntry], &'a PlatformError>>,
    /// The health probe and the app's conditions; `None` when the app has no URL to probe.
    pub probe: Option<(&'a ProbeResult, &'a [Condition])>,
    /// `None`: metrics are not configured. `Some(Err)`: they could not be read.
    pub metrics: Option<Result<Metrics, String>>,
    pub scanner: &'a Scanner,
    pub policy: &'a Policy,
    pub now: SystemTime,
}

/// The findings for one app.
pub fn assess(i: &Inputs<'_>) -> Observed {
    let app = i.app;
    let mut findings = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let log_rules = || i.scanner.patterns().iter().map(|p| p.name.clone());
    match i.status {
        Err(e) if e.kind == ErrorKind::AppNotFound => {
            findings.push(
                Finding::new(
                    app,
                    "app_missing",
                    Level::Critical,
                    format!("Fly does not know the app {app}"),
                )
                .evidence(&e.message),
            );
            return Observed {
                app: app.to_owned(),
                findings,
                unknown: vec!["*".to_owned()],
            };
        }
        Err(e) => {
            findings.push(
                Finding::new(
                    app,
                    "status_unreadable",
                    Level::Warning,
                    format!(
                        "`{}` failed: machines and Fly checks were not seen",
                        e.command
                    ),
                )
                .evidence(&e.message),
            );
            unknown.extend(
                [
                    "oom_killed",
                    "crash",
                    "restart_loop",
                    "health_failing",
                    "host_unreachable",
                ]
                .map(str::to_owned),
            );
        }
        Ok(status) => fleet(app, status, i, &mut findings),
    }
    match i.logs {
        None => unknown.extend(log_rules()),
        Some(Err(e)) => {
            let denied = e.kind == ErrorKind::NotAuthenticated
                || e.message.to_lowercase().contains("not authorized");
            let summary = if denied {
                "the token may not read this app's logs (deploy tokens often cannot): logs were not scanned".to_owned()
            } else {
                format!("`{}` failed: logs were not scanned", e.command)
            };
            let mut f =
                Finding::new(app, "logs_unreadable", Level::Warning, summary).evidence(&e.message);
            if denied {
                f.push_evidence("hint: give the check job a token that may read logs, e.g. `fly tokens create readonly`");
            }
            findings.push(f);
            unknown.extend(log_rules());
        }
        Some(Ok(entries)) => findings.extend(scan_logs(app, entries, i)),
    }
    if let Some((result, expect)) = i.probe {
        findings.extend(probe(app, result, expect, i.policy));
    }
    match &i.metrics {
        None => {}
        Some(Err(e)) => {
            findings.push(
                Finding::new(
                    app,
                    "metrics_unreadable",
                    Level::Warning,
                    "metrics were not read",
                )
                .evidence(e),
            );
            unknown.extend(["metrics_5xx", "memory"].map(str::to_owned));
        }
        Some(Ok(m)) => findings.extend(metrics(app, m, i.policy)),
    }
    Observed {
        app: app.to_owned(),
        findings: merge(findings),
        unknown,
    }
}

fn fleet(app: &str, status: &AppStatus, i: &Inputs<'_>, findings: &mut Vec<Finding>) {
    if status.machines.is_empty() {
        findings.push(Finding::new(
            app,
            "down",
            Level::Critical,
            "the app has no machines: nothing can answer",
        ));
        return;
    }
    let mut failing = Finding::new(app, "health_failing", Level::Alert, "");
    let mut failing_count = 0;
    let mut unreachable = Vec::new();
    for m in &status.machines {
        if m.host_status != "ok" && !m.host_status.is_empty() {
            unreachable.push(format!("machine {} host_status={}", m.id, m.host_status));
        }
        if !m.is_started() {
            continue;
        }
        for c in m.checks.iter().filter(|c| c.status == "critical") {
            failing_count += 1;
            failing.push_evidence(&format!(
                "machine {} check {}: critical: {}",
                m.id, c.name, c.output
            ));
        }
    }
    if failing_count > 0 {
        failing.summary = format!("{failing_count} Fly check(s) critical on started machines");
        findings.push(failing);
    }
    if !unreachable.is_empty() {
        let mut f = Finding::new(
            app,
            "host_unreachable",
            Level::Warning,
            "Fly cannot reach the host of some machines",
        );
        for u in &unreachable {
            f.push_evidence(u);
        }
        findings.push(f);
    }
    let now_ms = u64::try_from(
        i.now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    findings.extend(events::findings(
        app,
        &status.machines,
        now_ms,
        i.policy.logs_window,
    ));
}

/// Scans the entries of the window (the newest [`MAX_LOG_ENTRIES`]); evidence lines are the
/// entries as `flyctl logs` prints them.
fn scan_logs(app: &str, entries: &[LogEntry], i: &Inputs<'_>) -> Vec<Finding> {
    let since = i
        .now
        .checked_sub(i.policy.logs_window)
        .unwrap_or(UNIX_EPOCH);
    let recent: Vec<&LogEntry> = entries
        .iter()
        .filter(|e| crate::timefmt::parse_rfc3339(&e.timestamp).is_none_or(|t| t >= since))
        .collect();
    let recent = &recent[recent.len().saturating_sub(MAX_LOG_ENTRIES)..];
    let mut text = String::new();
    let mut starts = Vec::with_capacity(recent.len());
    for e in recent {
        starts.push(text.len());
        text.extend(
            e.message
                .chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
        text.push('\n');
    }
    let scan = i.scanner.scan(&text);
    scan.hits
        .iter()
        .map(|h| {
            let p = &i.scanner.patterns()[h.pattern];
            let mut f = Finding::new(
                app,
                &p.name,
                p.level,
                format!("{} log line(s) match `{}`", h.count, p.name),
            );
            for &(start, _) in &h.examples {
                let idx = starts.partition_point(|&s| s <= start) - 1;
                let e = recent[idx];
                f.push_evidence(&format!(
                    "{} [{}] {} [{}] {}",
                    e.timestamp, e.instance, e.region, e.level, e.message
                ));
            }
            f
        })
        .collect()
}

fn probe(app: &str, r: &ProbeResult, expect: &[Condition], policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    let line = crate::probe::ProbeResult::summary(r);
    match r.status {
        None => {
            out.push(
                Finding::new(
                    app,
                    "down",
                    Level::Critical,
                    "the health endpoint gave no answer",
                )
                .evidence(&line),
            );
            return out;
        }
        Some(s) if s >= 500 => {
            out.push(
                Finding::new(
                    app,
                    "down",
                    Level::Critical,
                    format!("the health endpoint answered {s}"),
                )
                .evidence(&line),
            );
            return out;
        }
        Some(_) => {}
    }
    let mut failed: Vec<String> = expect
        .iter()
        .map(|c| c.evaluate(r))
        .filter(|c| !c.pass && !c.display.starts_with("[RESPONSE_TIME]"))
        .map(|c| c.display)
        .collect();
    // An answer cut short fails, as the health gate's `ProbeRecord::judge` fails it.
    if let Some(e) = &r.error {
        failed.push(format!("incomplete answer ({e})"));
    }
    if !failed.is_empty() {
        let mut f = Finding::new(
            app,
            "health_failing",
            Level::Alert,
            format!("health conditions failed: {}", failed.join(", ")),
        );
        f.push_evidence(&line);
        out.push(f);
    }
    if r.latency > policy.latency_alert {
        out.push(
            Finding::new(
                app,
                "slow",
                Level::Alert,
                format!(
                    "health latency {} > {}",
                    short(r.latency),
                    crate::duration::format(policy.latency_alert)
                ),
            )
            .evidence(&line),
        );
    } else if r.latency > policy.latency_target {
        out.push(
            Finding::new(
                app,
                "latency",
                Level::Warning,
                format!(
                    "health latency {} > the {} target",
                    short(r.latency),
                    crate::duration::format(policy.latency_target)
                ),
            )
            .evidence(&line),
        );
    }
    out
}

fn metrics(app: &str, m: &Metrics, policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(ratio) = m.ratio_5xx.filter(|r| *r > policy.max_5xx_ratio) {
        out.push(Finding::new(
            app,
            "metrics_5xx",
            Level::Critical,
            format!(
                "{:.2}% of responses were 5xx over 5 minutes (limit {:.2}%)",
                ratio * 100.0,
                policy.max_5xx_ratio * 100.0
            ),
        ));
    }
    if let Some(used) = m.memory.filter(|u| *u > policy.max_memory) {
        out.push(Finding::new(
            app,
            "memory",
            Level::Alert,
            format!(
                "an instance uses {:.0}% of its memory (limit {:.0}%)",
                used * 100.0,
                policy.max_memory * 100.0
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logscan as patterns;
    use crate::platform::{Check, Machine};

    const NOW: u64 = 1_787_313_600;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn status(machines: Vec<Machine>) -> AppStatus {
        AppStatus {
            app: "web".into(),
            version: 3,
            status: "deployed".into(),
            hostname: "web.fly.dev".into(),
            machines,
        }
    }

    fn machine(check: &str) -> Machine {
        Machine {
            id: "148ed193b95089".into(),
            name: "m".into(),
            state: "started".into(),
            region: "iad".into(),
            image: "img".into(),
            release_version: Some(3),
            process_group: None,
            host_status: "ok".into(),
            checks: vec![Check {
                name: "servicecheck-00-http-3000".into(),
                status: check.into(),
                output: "HTTP GET /health: 500".into(),
            }],
            events: Vec::new(),
        }
    }

    fn answer(code: u16, ms: u64) -> ProbeResult {
        ProbeResult {
            connected: true,
            status: Some(code),
            latency: Duration::from_millis(ms),
            ..ProbeResult::default()
        }
    }

    fn log(ago_s: u64, message: &str) -> LogEntry {
        LogEntry {
            timestamp: crate::timefmt::rfc3339(now() - Duration::from_secs(ago_s)),
            level: "info".into(),
            instance: "148ed193b95089".into(),
            region: "iad".into(),
            message: message.into(),
        }
    }

    fn run(
        st: Result<&AppStatus, &PlatformError>,
        logs: Option<Result<&[LogEntry], &PlatformError>>,
        probe: Option<&ProbeResult>,
    ) -> Observed {
        let scanner = Scanner::new(
            patterns::fly()
                .into_iter()
                .chain(patterns::chatwoot())
                .collect(),
        );
        let policy = Policy::default();
        let expect = vec![Condition::parse("[STATUS] == 200").unwrap()];
        assess(&Inputs {
            app: "web",
            status: st,
            logs,
            probe: probe.map(|p| (p, expect.as_slice())),
            metrics: None,
            scanner: &scanner,
            policy: &policy,
            now: now(),
        })
    }

    fn rules(o: &Observed) -> Vec<(&str, Level)> {
        o.findings
            .iter()
            .map(|f| (f.rule.as_str(), f.level))
            .collect()
    }

    #[test]
    fn a_clean_app_has_no_findings() {
        let st = status(vec![machine("passing")]);
        let logs = [log(10, "GET /health 200 - - 2.1 ms")];
        let o = run(Ok(&st), Some(Ok(&logs)), Some(&answer(200, 40)));
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        assert!(o.unknown.is_empty());
    }

    #[test]
    fn an_answer_cut_short_fails_the_health_conditions() {
        // A status line and a body that never fully arrived: the health gate fails such a
        // probe, so `check` and the watch window call it failing too.
        let st = status(vec![machine("passing")]);
        let mut cut = answer(200, 40);
        cut.error = Some("the body was cut short: connection reset".into());
        let o = run(Ok(&st), Some(Ok(&[])), Some(&cut));
        assert_eq!(rules(&o), [("health_failing", Level::Alert)]);
        assert!(
            o.findings[0].summary.contains("cut short"),
            "{:?}",
            o.findings
        );
    }

    #[test]
    fn probe_levels_follow_the_runbook() {
        let st = status(vec![machine("passing")]);
        let o = run(Ok(&st), Some(Ok(&[])), Some(&answer(503, 40)));
        assert_eq!(rules(&o), [("down", Level::Critical)]);
        let o = run(
            Ok(&st),
            Some(Ok(&[])),
            Some(&ProbeResult::failed(Duration::from_secs(5), "timed out")),
        );
        assert_eq!(rules(&o), [("down", Level::Critical)]);
        let o = run(Ok(&st), Some(Ok(&[])), Some(&answer(404, 40)));
        assert_eq!(rules(&o), [("health_failing", Level::Alert)]);
        let o = run(Ok(&st), Some(Ok(&[])), Some(&answer(200, 6000)));
        assert_eq!(rules(&o), [("slow", Level::Alert)]);
        let o = run(Ok(&st), Some(Ok(&[])), Some(&answer(200, 2500)));
        assert_eq!(rules(&o), [("latency", Level::Warning)]);
    }

    #[test]
    fn log_lines_become_findings_with_their_lines_as_evidence() {
        let st = status(vec![machine("passing")]);
        let logs = [
            log(7200 * 3, "Out of memory: Killed process 1 (old)"),
            log(
                60,
                "[  258.930660] Out of memory: Killed process 476 (beam.smp)",
            ),
            log(59, " INFO Process appears to have been OOM killed!"),
            log(30, "Completed 500 Internal Server Error in 12ms"),
        ];
        let o = run(Ok(&st), Some(Ok(&logs)), Some(&answer(200, 40)));
        assert_eq!(
            rules(&o),
            [("http_5xx", Level::Critical), ("oom_killed", Level::Alert)]
        );
        let oom = &o.findings[1];
        assert_eq!(
            oom.summary, "2 log line(s) match `oom_killed`",
            "the 12-hour-old line is outside the window"
        );
        assert!(
            oom.evidence[0].starts_with(
                "2026-08-21T11:59:00Z [148ed193b95089] iad [info] [  258.930660] Out of memory"
            ),
            "{:?}",
            oom.evidence
        );
    }

    #[test]
    fn logs_a_token_may_not_read_are_a_warning_and_keep_the_log_rules() {
        let st = status(vec![machine("passing")]);
        let denied = PlatformError {
            kind: ErrorKind::Other,
            command: "flyctl logs --no-tail --json --app web".into(),
            message: "Error: not authorized to retrieve app logs (this can happen when using deploy tokens)".into(),
        };
        let o = run(Ok(&st), Some(Err(&denied)), Some(&answer(200, 40)));
        assert_eq!(rules(&o), [("logs_unreadable", Level::Warning)]);
        assert!(
            o.findings[0]
                .summary
                .contains("may not read this app's logs")
        );
        assert!(
            o.unknown.contains(&"oom_killed".to_owned())
                && o.unknown.contains(&"smtp_auth".to_owned())
        );
    }

    #[test]
    fn fleet_findings() {
        let o = run(Ok(&status(Vec::new())), Some(Ok(&[])), None);
        assert_eq!(rules(&o), [("down", Level::Critical)]);
        assert!(o.findings[0].summary.contains("no machines"));
        let o = run(
            Ok(&status(vec![machine("critical")])),
            Some(Ok(&[])),
            Some(&answer(200, 40)),
        );
        assert_eq!(rules(&o), [("health_failing", Level::Alert)]);
        let missing = PlatformError {
            kind: ErrorKind::AppNotFound,
            command: "flyctl status --json --app web".into(),
            message: "Error: failed to get app: Could not find App \"web\"".into(),
        };
        let o = run(Err(&missing), None, None);
        assert_eq!(rules(&o), [("app_missing", Level::Critical)]);
    }

    #[test]
    fn metrics_over_their_limits() {
        let p = Policy::default();
        let f = metrics(
            "web",
            &Metrics {
                ratio_5xx: Some(0.05),
                memory: Some(0.95),
            },
            &p,
        );
        let r: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(r, ["metrics_5xx", "memory"]);
        assert!(f[0].summary.starts_with("5.00% of responses"));
        assert!(
            metrics(
                "web",
                &Metrics {
                    ratio_5xx: Some(0.0),
                    memory: Some(0.5)
                },
                &p
            )
            .is_empty()
        );
    }
}
