//! Smoke suites: a service's list of checks (a request and its conditions), run concurrently
//! with a bound, judged with the same conditions as the health gate, reported in file order as
//! text, JSON or `JUnit` XML.

mod junit;
mod suite;

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use junit::{junit, junit_all};
pub use suite::{Body, Check, DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, Suite, Target, load, parse};

use crate::printer::Printer;
use crate::probe::gate::ProbeRecord;
use crate::probe::{ProbeSpec, Prober, millis, short};
use crate::report::{GateRecord, Verdict};
use crate::stop::Stop;

/// One check's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub method: String,
    /// The path (or the URL, secrets masked) as the suite wrote it.
    pub target: String,
    pub status: Option<u16>,
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    pub passed: bool,
    /// Not run, or cut short, because the run was stopped.
    #[serde(default)]
    pub cancelled: bool,
    /// The failed conditions' displays, and the error when there was no full answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl CheckResult {
    /// `200 in 12ms`, `no answer in 2s (timed out after 2s)`, or `cancelled`.
    pub fn summary(&self) -> String {
        if self.cancelled {
            return "cancelled".to_owned();
        }
        match (self.status, &self.error) {
            (Some(s), None) => format!("{s} in {}", short(self.latency)),
            (Some(s), Some(e)) => format!("{s} in {} ({e})", short(self.latency)),
            (None, Some(e)) => format!("no answer in {} ({e})", short(self.latency)),
            (None, None) => format!("no answer in {}", short(self.latency)),
        }
    }

    /// The reasons it failed, without repeating the error the summary already shows.
    pub fn reasons(&self) -> Vec<&str> {
        self.failed
            .iter()
            .map(String::as_str)
            .filter(|f| Some(*f) != self.error.as_deref())
            .collect()
    }

    /// `✓ home page  GET /  200 in 12ms` or `✗ api  GET /api  500 in 8ms: [STATUS] (500) == 200`.
    pub fn line(&self) -> String {
        let mark = if self.passed {
            "✓"
        } else if self.cancelled {
            "-"
        } else {
            "✗"
        };
        let mut line = format!(
            "{mark} {}  {} {}  {}",
            self.name,
            self.method,
            self.target,
            self.summary()
        );
        let reasons = self.reasons();
        if !self.passed && !reasons.is_empty() {
            line.push_str(": ");
            line.push_str(&reasons.join(", "));
        }
        line
    }
}

/// A suite's run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmokeReport {
    /// What the suite is for; the command sets it to the service's label.
    pub name: String,
    /// The suite file.
    pub suite: String,
    pub base_url: String,
    pub concurrency: usize,
    /// In the suite's order.
    pub checks: Vec<CheckResult>,
    #[serde(rename = "elapsed_ms", with = "millis")]
    pub elapsed: Duration,
    pub cancelled: bool,
}

impl SmokeReport {
    /// Every check ran and passed.
    pub fn passed(&self) -> bool {
        !self.cancelled && self.checks.iter().all(|c| c.passed)
    }

    pub fn passed_count(&self) -> usize {
        self.checks.iter().filter(|c| c.passed).count()
    }

    /// Checks that ran and failed (cancelled ones are not failures).
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed && !c.cancelled)
    }

    /// `11/12 checks passed in 1.2s`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{}/{} checks passed in {}",
            self.passed_count(),
            self.checks.len(),
            short(self.elapsed)
        );
        if self.cancelled {
            text.push_str(" (cancelled)");
        }
        text
    }

    /// The suite as a gate of the run record.
    pub fn gate_record(&self) -> GateRecord {
        let failed: Vec<&CheckResult> = self.failed().collect();
        let mut observed = self.summary();
        if !failed.is_empty() {
            let names: Vec<&str> = failed.iter().map(|c| c.name.as_str()).collect();
            observed.push_str("; failed: ");
            observed.push_str(&names.join(", "));
        }
        GateRecord {
            name: "smoke".to_owned(),
            rule: format!(
                "every check of {} passes ({} checks, {} at a time)",
                self.suite,
                self.checks.len(),
                self.concurrency
            ),
            observed,
            verdict: if self.passed() {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            details: failed.iter().map(|c| c.line()).collect(),
        }
    }
}

/// Runs every check of `suite` against `base_url`, at most `suite.concurrency` at a time, and
/// reports each as it finishes through `printer.progress`. Results are in the suite's order.
/// When `stop` fires, checks not finished are marked cancelled and the run returns at once.
pub async fn run<P: Prober + ?Sized>(
    prober: &P,
    base_url: &str,
    suite: &Suite,
    stop: &Stop,
    printer: &Printer,
) -> SmokeReport {
    let started = Instant::now();
    let total = suite.checks.len();
    let done = std::cell::Cell::new(0usize);
    let tasks: Vec<_> = suite
        .checks
        .iter()
        .map(|check| {
            let spec = probe_spec(check, base_url);
            let done = &done;
            async move {
                let result = prober.probe(&spec).await;
                let record = ProbeRecord::judge(Duration::ZERO, &result, &check.expect);
                let out = CheckResult {
                    name: check.name.clone(),
                    method: check.method.clone(),
                    target: check.target.shown(),
                    status: record.status,
                    latency: record.latency,
                    passed: record.pass,
                    cancelled: false,
                    failed: record.failed,
                    error: record.error,
                };
                done.set(done.get() + 1);
                printer.progress(&format!("smoke {}/{total}: {}", done.get(), out.line()));
                out
            }
        })
        .collect();
    let mut results: Vec<Option<CheckResult>> = (0..total).map(|_| None).collect();
    let cancelled = tokio::select! {
        biased;
        () = stop.stopped() => true,
        () = bounded(tasks, suite.concurrency, &mut results) => false,
    };
    let checks = suite
        .checks
        .iter()
        .zip(results)
        .map(|(check, r)| {
            r.unwrap_or_else(|| CheckResult {
                name: check.name.clone(),
                method: check.method.clone(),
                target: check.target.shown(),
                status: None,
                latency: Duration::ZERO,
                passed: false,
                cancelled: true,
                failed: Vec::new(),
                error: None,
            })
        })
        .collect();
    SmokeReport {
        name: suite
            .path
            .file_stem()
            .map_or_else(|| "smoke".to_owned(), |s| s.to_string_lossy().into_owned()),
        suite: suite.path.display().to_string(),
        base_url: base_url.to_owned(),
        concurrency: suite.concurrency,
        checks,
        elapsed: started.elapsed(),
        cancelled,
    }
}

/// The request a check makes.
fn probe_spec(check: &Check, base_url: &str) -> ProbeSpec {
    ProbeSpec {
        url: check.target.url(base_url),
        method: check.method.clone(),
        headers: check
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
            .collect(),
        body: check.body.as_ref().map(|b| b.bytes.clone()),
        timeout: check.timeout,
        machine_id: None,
    }
}

/// Drives `tasks` with at most `limit` in flight, storing each output at its index in `out` as
/// it finishes. A small in-place stand-in for `futures::stream::buffered`: the tasks borrow the
/// prober and the suite, so they cannot be spawned onto a `JoinSet` (which needs `'static`), and
/// the current-thread runtime gains nothing from spawning anyway.
pub(crate) async fn bounded<F: Future>(tasks: Vec<F>, limit: usize, out: &mut [Option<F::Output>]) {
    let limit = limit.max(1);
    let mut waiting = tasks.into_iter().enumerate();
    let mut in_flight: Vec<(usize, Pin<Box<F>>)> = Vec::with_capacity(limit);
    std::future::poll_fn(|cx| {
        loop {
            while in_flight.len() < limit {
                match waiting.next() {
                    Some((i, task)) => in_flight.push((i, Box::pin(task))),
                    None => break,
                }
            }
            if in_flight.is_empty() {
                return Poll::Ready(());
            }
            let mut finished = false;
            let mut k = 0;
            while k < in_flight.len() {
                if let Poll::Ready(value) = in_flight[k].1.as_mut().poll(cx) {
                    out[in_flight[k].0] = Some(value);
                    in_flight.swap_remove(k);
                    finished = true;
                } else {
                    k += 1;
                }
            }
            // Every task still in flight has just been polled with this waker; if none
            // finished there is nothing to do until one wakes us.
            if !finished {
                return Poll::Pending;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::fmt::Write as _;
    use std::path::Path;

    use super::*;
    use crate::probe::ProbeResult;

    /// Answers after a delay that depends on the path, counting requests in flight.
    struct Slow {
        in_flight: Cell<usize>,
        max_in_flight: Cell<usize>,
    }

    impl Prober for Slow {
        async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
            self.in_flight.set(self.in_flight.get() + 1);
            self.max_in_flight
                .set(self.max_in_flight.get().max(self.in_flight.get()));
            // Later checks answer sooner, so completion order is not the suite's order.
            let n: u64 = spec.url.rsplit('/').next().unwrap().parse().unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(30 - n)).await;
            self.in_flight.set(self.in_flight.get() - 1);
            let status = if n == 3 { 500 } else { 200 };
            ProbeResult {
                connected: true,
                status: Some(status),
                latency: Duration::from_millis(30 - n),
                ..ProbeResult::default()
            }
        }
    }

    fn suite(n: usize, concurrency: usize) -> Suite {
        let mut text = format!("concurrency: {concurrency}\nchecks:\n");
        for i in 0..n {
            let _ = writeln!(text, "  - {{ name: check {i}, path: /{i} }}");
        }
        parse(Path::new("smoke/web.yml"), &text).unwrap()
    }

    #[tokio::test]
    async fn runs_concurrently_within_the_bound_and_keeps_the_order() {
        let prober = Slow {
            in_flight: Cell::new(0),
            max_in_flight: Cell::new(0),
        };
        let printer = Printer::capturing();
        let report = run(&prober, "http://app", &suite(20, 4), &Stop::new(), &printer).await;
        assert_eq!(prober.max_in_flight.get(), 4);
        let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            (0..20).map(|i| format!("check {i}")).collect::<Vec<_>>()
        );
        assert!(!report.passed());
        assert_eq!(report.passed_count(), 19);
        assert_eq!(
            report.checks[3].failed,
            vec!["[STATUS] (500) == 200".to_owned()]
        );
        assert_eq!(
            report.checks[3].line(),
            "✗ check 3  GET /3  500 in 27ms: [STATUS] (500) == 200"
        );
        assert_eq!(printer.captured().len(), 20, "one progress line per check");
        let gate = report.gate_record();
        assert_eq!(gate.verdict, Verdict::Fail);
        assert_eq!(
            gate.rule,
            "every check of smoke/web.yml passes (20 checks, 4 at a time)"
        );
        assert!(
            gate.observed.starts_with("19/20 checks passed in "),
            "{}",
            gate.observed
        );
        assert!(
            gate.observed.ends_with("; failed: check 3"),
            "{}",
            gate.observed
        );
    }

    #[tokio::test]
    async fn one_at_a_time_is_sequential() {
        let prober = Slow {
            in_flight: Cell::new(0),
            max_in_flight: Cell::new(0),
        };
        let report = run(
            &prober,
            "http://app",
            &suite(3, 1),
            &Stop::new(),
            &Printer::capturing(),
        )
        .await;
        assert_eq!(prober.max_in_flight.get(), 1);
        assert!(report.passed());
        assert_eq!(report.gate_record().verdict, Verdict::Pass);
    }

    #[tokio::test]
    async fn a_stop_cancels_what_has_not_finished() {
        let prober = Slow {
            in_flight: Cell::new(0),
            max_in_flight: Cell::new(0),
        };
        let stop = Stop::new();
        let trigger = stop.clone();
        let printer = Printer::capturing();
        let suite = suite(10, 2);
        let (report, ()) = tokio::join!(
            run(&prober, "http://app", &suite, &stop, &printer),
            async move {
                tokio::time::sleep(Duration::from_millis(40)).await;
                trigger.trigger("cancelled by SIGINT");
            }
        );
        assert!(report.cancelled && !report.passed());
        let cancelled = report.checks.iter().filter(|c| c.cancelled).count();
        assert!(cancelled >= 6, "{cancelled} cancelled");
        assert_eq!(
            report.failed().count(),
            0,
            "cancelled checks are not failures"
        );
        assert_eq!(
            report.checks.last().unwrap().line(),
            "- check 9  GET /9  cancelled"
        );
    }

    #[test]
    fn reports_serialize_for_json_output() {
        let report = SmokeReport {
            name: "staging/web".into(),
            suite: "smoke/web.yml".into(),
            base_url: "http://app".into(),
            concurrency: 8,
            checks: vec![CheckResult {
                name: "home".into(),
                method: "GET".into(),
                target: "/".into(),
                status: Some(200),
                latency: Duration::from_millis(12),
                passed: true,
                cancelled: false,
                failed: vec![],
                error: None,
            }],
            elapsed: Duration::from_millis(15),
            cancelled: false,
        };
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["checks"][0]["latency_ms"], 12.0);
        assert_eq!(v["elapsed_ms"], 15.0);
        assert_eq!(v["checks"][0]["passed"], true);
    }
}
