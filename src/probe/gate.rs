//! The health gate: outside probes every `interval` until `healthy_after` consecutive passes
//! open it, `unhealthy_after` consecutive failures fail it, or the `deadline` for the whole gate
//! fails it. A flapping release (pass, fail, pass...) never opens.
//!
//! [`Gate`] is the decision alone, a pure state machine fed with probe outcomes and times.
//! [`run_gate`] drives it with a [`Prober`] and a [`Clock`], so tests run a five-minute gate with
//! a fake clock in microseconds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::{Clock, ProbeResult, ProbeSpec, Prober, millis, short};
use crate::duration::format as dur;
use crate::printer::Printer;
use crate::probe::HealthSpec;
use crate::report::{GateRecord, Verdict};
use crate::stop::Stop;

/// How many probe lines a gate record keeps in its details; the rest are counted.
const DETAIL_PROBES: usize = 20;

/// Where a gate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateState {
    Waiting,
    Open,
    /// Failed, with the reason.
    Failed(String),
}

/// The gate's decision, fed one probe outcome at a time. No I/O, no clock of its own.
#[derive(Debug, Clone)]
pub struct Gate {
    healthy_after: u32,
    unhealthy_after: u32,
    deadline: Duration,
    passes: u32,
    failures: u32,
    probes: u32,
    last_failure: Option<String>,
    state: GateState,
}

impl Gate {
    pub fn new(healthy_after: u32, unhealthy_after: u32, deadline: Duration) -> Gate {
        Gate {
            healthy_after: healthy_after.max(1),
            unhealthy_after: unhealthy_after.max(1),
            deadline,
            passes: 0,
            failures: 0,
            probes: 0,
            last_failure: None,
            state: GateState::Waiting,
        }
    }

    pub fn from_spec(spec: &HealthSpec) -> Gate {
        Gate::new(spec.healthy_after, spec.unhealthy_after, spec.deadline)
    }

    /// Records a probe that finished `at` (time since the gate started). `failed` says why it
    /// failed (the failed conditions' displays). Once decided, the gate ignores further probes.
    pub fn observe(&mut self, at: Duration, pass: bool, failed: &[String]) -> &GateState {
        if self.state != GateState::Waiting {
            return &self.state;
        }
        self.probes += 1;
        if pass {
            self.passes += 1;
            self.failures = 0;
            if self.passes >= self.healthy_after {
                self.state = GateState::Open;
                return &self.state;
            }
        } else {
            self.failures += 1;
            self.passes = 0;
            self.last_failure = Some(failed.join(", "));
            if self.failures >= self.unhealthy_after {
                let why = self.last_failure.clone().unwrap_or_default();
                self.state =
                    GateState::Failed(format!("{} failures in a row: {why}", self.failures));
                return &self.state;
            }
        }
        self.expire(at)
    }

    /// Fails the gate if `at` is at or past the deadline and it is still waiting.
    pub fn expire(&mut self, at: Duration) -> &GateState {
        if self.state == GateState::Waiting && at >= self.deadline {
            let last = match (&self.last_failure, self.passes) {
                (_, p) if p > 0 => format!(
                    "the last {p} passed, {} needed in a row",
                    self.healthy_after
                ),
                (Some(f), _) => format!("last failure: {f}"),
                (None, _) => "no probe finished".to_owned(),
            };
            let probes = match self.probes {
                1 => "1 probe".to_owned(),
                n => format!("{n} probes"),
            };
            self.state = GateState::Failed(format!(
                "no verdict within {} ({probes}; {last})",
                dur(self.deadline)
            ));
        }
        &self.state
    }

    pub fn state(&self) -> &GateState {
        &self.state
    }

    /// Consecutive passes so far.
    pub fn passes(&self) -> u32 {
        self.passes
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn probes(&self) -> u32 {
        self.probes
    }

    /// `(2/3 passes)` or `(1/3 failures)`: the streak towards a verdict.
    fn streak(&self) -> String {
        if self.failures > 0 {
            format!("({}/{} failures)", self.failures, self.unhealthy_after)
        } else {
            format!("({}/{} passes)", self.passes, self.healthy_after)
        }
    }
}

/// One probe as evidence keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// When the probe started, since the gate (or sample) started.
    #[serde(rename = "at_ms", with = "millis")]
    pub at: Duration,
    pub status: Option<u16>,
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    pub connected: bool,
    pub pass: bool,
    /// The failed conditions' displays, and the error when the probe got no full answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProbeRecord {
    /// Judges `result` against every condition. A probe passes when every condition holds and
    /// the whole answer arrived (or, for `[CONNECTED] == false`, when none did).
    pub fn judge(at: Duration, result: &ProbeResult, expect: &[Condition]) -> ProbeRecord {
        let mut failed: Vec<String> = expect
            .iter()
            .map(|c| c.evaluate(result))
            .filter(|r| !r.pass)
            .map(|r| r.display)
            .collect();
        // No answer at all is a failure, unless the conditions are about exactly that
        // (`[CONNECTED] == false`, Gatus's way of checking that a port is closed): then they
        // decide. An answer cut short stays a failure whatever the conditions say.
        let connection_judged =
            !result.connected && expect.iter().any(Condition::judges_connection);
        if let Some(e) = &result.error
            && failed.is_empty()
            && !connection_judged
        {
            failed.push(e.clone());
        }
        ProbeRecord {
            at,
            status: result.status,
            latency: result.latency,
            connected: result.connected,
            pass: failed.is_empty(),
            failed,
            error: result.error.clone(),
        }
    }

    /// `200 in 12ms`, or `no answer in 5s (timed out after 5s)`.
    pub fn summary(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), None) => format!("{s} in {}", short(self.latency)),
            (Some(s), Some(e)) => format!("{s} in {} ({e})", short(self.latency)),
            (None, Some(e)) => format!("no answer in {} ({e})", short(self.latency)),
            (None, None) => format!("no answer in {}", short(self.latency)),
        }
    }

    /// `200 in 12ms ✓` or `500 in 12ms ✗ [STATUS] (500) == 200`.
    pub fn line(&self) -> String {
        if self.pass {
            format!("{} ✓", self.summary())
        } else {
            let why: Vec<&str> = self
                .failed
                .iter()
                .map(String::as_str)
                .filter(|f| Some(*f) != self.error.as_deref())
                .collect();
            if why.is_empty() {
                format!("{} ✗", self.summary())
            } else {
                format!("{} ✗ {}", self.summary(), why.join(", "))
            }
        }
    }
}

/// How a gate ended, with every probe it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateReport {
    pub opened: bool,
    /// Stopped by the run's stop signal before a verdict.
    pub cancelled: bool,
    /// `opened after 3 probes in 4.1s`, `3 failures in a row: ...`, `cancelled: ...`.
    pub reason: String,
    pub probes: Vec<ProbeRecord>,
    #[serde(rename = "elapsed_ms", with = "millis")]
    pub elapsed: Duration,
    /// When the first failed probe started, since the gate started.
    #[serde(rename = "first_failure_at_ms", default, with = "millis::option")]
    pub first_failure_at: Option<Duration>,
}

impl GateReport {
    /// The gate as the run record keeps it: the rule, what was seen, and the verdict.
    pub fn gate_record(&self, name: &str, spec: &HealthSpec) -> GateRecord {
        let expect: Vec<&str> = spec.expect.iter().map(|c| c.text.as_str()).collect();
        let rule = format!(
            "{} passes in a row within {}, every {}; {}",
            spec.healthy_after,
            dur(spec.deadline),
            dur(spec.interval),
            expect.join(", ")
        );
        let observed = if self.opened {
            self.reason.clone()
        } else if self.cancelled {
            format!(
                "cancelled after {}: {}",
                count(self.probes.len(), "probe"),
                self.reason
            )
        } else {
            format!("failed: {}", self.reason)
        };
        let mut details = Vec::new();
        let skip = self.probes.len().saturating_sub(DETAIL_PROBES);
        if skip > 0 {
            details.push(format!("… {} earlier", count(skip, "probe")));
        }
        for (i, p) in self.probes.iter().enumerate().skip(skip) {
            details.push(format!("probe {} at {}: {}", i + 1, short(p.at), p.line()));
        }
        GateRecord {
            name: name.to_owned(),
            rule,
            observed,
            verdict: if self.opened {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            details,
        }
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Runs the health gate against `url`: probes every `spec.interval` (start to start) until the
/// gate opens or fails, reporting each probe through `printer.progress` as
/// `label probe 4: 500 in 12ms ✗ [STATUS] (500) == 200 (1/3 failures)`. Returns as soon as
/// `stop` fires, with `cancelled` set. The caller prints the verdict (`reason`).
pub async fn run_gate<P: Prober + ?Sized, C: Clock + ?Sized>(
    prober: &P,
    clock: &C,
    spec: &HealthSpec,
    url: &str,
    stop: &Stop,
    printer: &Printer,
    label: &str,
) -> GateReport {
    let mut gate = Gate::from_spec(spec);
    let origin = clock.now();
    let since = || clock.now().saturating_sub(origin);
    let mut records: Vec<ProbeRecord> = Vec::new();
    let mut first_failure_at = None;
    let mut cancelled = false;
    let base = ProbeSpec::health(spec, url);
    loop {
        if stop.is_stopped() {
            cancelled = true;
            break;
        }
        let at = since();
        if gate.expire(at) != &GateState::Waiting {
            break;
        }
        let remaining = spec.deadline.saturating_sub(at);
        let mut probe_spec = base.clone();
        probe_spec.timeout = spec.timeout.min(remaining);
        // The probe's own timeout keeps it inside the deadline; the grace only guards against a
        // prober that ignores its timeout.
        let guard = remaining + Duration::from_millis(250);
        let result = tokio::select! {
            biased;
            () = stop.stopped() => { cancelled = true; break; }
            r = prober.probe(&probe_spec) => Some(r),
            () = clock.sleep(guard) => None,
        };
        let Some(result) = result else {
            gate.expire(spec.deadline);
            break;
        };
        let record = ProbeRecord::judge(at, &result, &spec.expect);
        if !record.pass && first_failure_at.is_none() {
            first_failure_at = Some(at);
        }
        gate.observe(since(), record.pass, &record.failed);
        printer.progress(&format!(
            "{label} probe {}: {} {}",
            records.len() + 1,
            record.line(),
            gate.streak()
        ));
        records.push(record);
        if gate.state() != &GateState::Waiting {
            break;
        }
        let next = at + spec.interval;
        let now = since();
        if next > now {
            let wait = next
                .checked_sub(now)
                .unwrap()
                .min(spec.deadline.saturating_sub(now));
            tokio::select! {
                biased;
                () = stop.stopped() => { cancelled = true; break; }
                () = clock.sleep(wait) => {}
            }
        }
    }
    let elapsed = since();
    let reason = if cancelled {
        stop.reason().unwrap_or_else(|| "stopped".to_owned())
    } else {
        match gate.state() {
            GateState::Open => format!(
                "opened after {} in {}",
                count(records.len(), "probe"),
                short(elapsed)
            ),
            GateState::Failed(why) => why.clone(),
            GateState::Waiting => "stopped before a verdict".to_owned(),
        }
    };
    GateReport {
        opened: !cancelled && gate.state() == &GateState::Open,
        cancelled,
        reason,
        probes: records,
        elapsed,
        first_failure_at,
    }
}

/// `n` probes one after the other, with no wait between them: the baseline's and the new
/// release's latency sample. Stops early when `stop` fires.
pub async fn sample<P: Prober + ?Sized, C: Clock + ?Sized>(
    prober: &P,
    clock: &C,
    spec: &HealthSpec,
    url: &str,
    n: u32,
    stop: &Stop,
) -> Vec<ProbeRecord> {
    let probe_spec = ProbeSpec::health(spec, url);
    let start = clock.now();
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let at = clock.now().saturating_sub(start);
        let result = tokio::select! {
            biased;
            () = stop.stopped() => break,
            r = prober.probe(&probe_spec) => r,
        };
        out.push(ProbeRecord::judge(at, &result, &spec.expect));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    use super::*;
    use crate::probe::PathSource;

    /// A clock that jumps instead of waiting.
    #[derive(Default)]
    pub(crate) struct FakeClock {
        now: Cell<Duration>,
    }

    impl Clock for FakeClock {
        fn now(&self) -> Duration {
            self.now.get()
        }

        async fn sleep(&self, d: Duration) {
            self.now.set(self.now.get() + d);
        }
    }

    /// What a scripted probe does.
    #[derive(Clone, Copy)]
    pub(crate) enum Step {
        /// Answers with this status after this many milliseconds.
        Answer(u16, u64),
        /// No answer after this many milliseconds.
        Refused(u64),
        /// Never answers.
        Hang,
    }

    /// A prober that plays a script, advancing the fake clock by each probe's latency. When
    /// the script runs out, the last step repeats.
    pub(crate) struct Script<'c> {
        pub(crate) clock: &'c FakeClock,
        steps: RefCell<VecDeque<Step>>,
        last: Cell<Option<Step>>,
        pub(crate) calls: Cell<u32>,
    }

    impl<'c> Script<'c> {
        pub(crate) fn new(clock: &'c FakeClock, steps: &[Step]) -> Self {
            Script {
                clock,
                steps: RefCell::new(steps.iter().copied().collect()),
                last: Cell::new(None),
                calls: Cell::new(0),
            }
        }
    }

    impl Prober for Script<'_> {
        async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
            self.calls.set(self.calls.get() + 1);
            let step = self
                .steps
                .borrow_mut()
                .pop_front()
                .or(self.last.get())
                .expect("a script with steps");
            self.last.set(Some(step));
            match step {
                Step::Answer(status, ms) => {
                    let latency = Duration::from_millis(ms).min(spec.timeout);
                    self.clock.sleep(latency).await;
                    if ms > spec.timeout.as_millis() as u64 {
                        return ProbeResult::failed(latency, "timed out");
                    }
                    ProbeResult {
                        connected: true,
                        status: Some(status),
                        latency,
                        ..ProbeResult::default()
                    }
                }
                Step::Refused(ms) => {
                    self.clock.sleep(Duration::from_millis(ms)).await;
                    ProbeResult::failed(Duration::from_millis(ms), "connection refused")
                }
                Step::Hang => std::future::pending().await,
            }
        }
    }

    pub(crate) fn spec(
        healthy: u32,
        unhealthy: u32,
        interval_ms: u64,
        deadline_ms: u64,
    ) -> HealthSpec {
        HealthSpec {
            path: "/health".into(),
            path_source: PathSource::Default,
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_secs(5),
            healthy_after: healthy,
            unhealthy_after: unhealthy,
            deadline: Duration::from_millis(deadline_ms),
            expect: vec![Condition::parse("[STATUS] == 200").unwrap()],
            headers: Vec::new(),
        }
    }

    async fn gate(spec: &HealthSpec, steps: &[Step]) -> (GateReport, Vec<String>, u32) {
        let clock = FakeClock::default();
        let script = Script::new(&clock, steps);
        let printer = Printer::capturing();
        let report = run_gate(
            &script,
            &clock,
            spec,
            "http://app/health",
            &Stop::new(),
            &printer,
            "staging/web",
        )
        .await;
        (report, printer.captured(), script.calls.get())
    }

    #[test]
    fn the_state_machine_needs_streaks() {
        let f = |s: &str| vec![s.to_owned()];
        let mut g = Gate::new(3, 2, Duration::from_secs(60));
        let t = Duration::from_secs(1);
        assert_eq!(g.observe(t, true, &[]), &GateState::Waiting);
        assert_eq!(g.observe(t, true, &[]), &GateState::Waiting);
        assert_eq!(g.observe(t, false, &f("x")), &GateState::Waiting);
        assert_eq!((g.passes(), g.failures()), (0, 1));
        assert_eq!(g.observe(t, true, &[]), &GateState::Waiting);
        assert_eq!(g.observe(t, true, &[]), &GateState::Waiting);
        assert_eq!(g.observe(t, true, &[]), &GateState::Open);
        // Decided gates stay decided.
        assert_eq!(g.observe(t, false, &f("x")), &GateState::Open);
        assert_eq!(g.probes(), 6);

        let mut g = Gate::new(3, 2, Duration::from_secs(60));
        g.observe(t, false, &f("[STATUS] (500) == 200"));
        let state = g.observe(t, false, &f("[STATUS] (502) == 200")).clone();
        assert_eq!(
            state,
            GateState::Failed("2 failures in a row: [STATUS] (502) == 200".into())
        );

        let mut g = Gate::new(3, 3, Duration::from_secs(10));
        g.observe(t, true, &[]);
        let GateState::Failed(why) = g.observe(Duration::from_secs(10), true, &[]).clone() else {
            panic!()
        };
        assert_eq!(
            why,
            "no verdict within 10s (2 probes; the last 2 passed, 3 needed in a row)"
        );
    }

    #[tokio::test]
    async fn opens_after_consecutive_passes() {
        let spec = spec(3, 3, 2000, 300_000);
        let (r, lines, calls) = gate(&spec, &[Step::Answer(200, 12)]).await;
        assert!(r.opened && !r.cancelled, "{}", r.reason);
        assert_eq!(calls, 3);
        assert_eq!(r.reason, "opened after 3 probes in 4.01s");
        assert_eq!(
            r.probes
                .iter()
                .map(|p| p.at.as_millis())
                .collect::<Vec<_>>(),
            vec![0, 2000, 4000]
        );
        assert_eq!(r.first_failure_at, None);
        assert!(
            lines[0].ends_with("] staging/web probe 1: 200 in 12ms ✓ (1/3 passes)"),
            "{}",
            lines[0]
        );
        assert!(
            lines[2].ends_with("probe 3: 200 in 12ms ✓ (3/3 passes)"),
            "{}",
            lines[2]
        );
        let rec = r.gate_record("health", &spec);
        assert_eq!(
            rec.rule,
            "3 passes in a row within 5m, every 2s; [STATUS] == 200"
        );
        assert_eq!(rec.observed, "opened after 3 probes in 4.01s");
        assert_eq!(rec.verdict, Verdict::Pass);
        assert_eq!(rec.details[0], "probe 1 at 0ms: 200 in 12ms ✓");
    }

    #[tokio::test]
    async fn fails_after_consecutive_failures_and_says_why() {
        let spec = spec(3, 3, 2000, 300_000);
        let steps = [
            Step::Answer(200, 10),
            Step::Answer(200, 10),
            Step::Answer(500, 12),
        ];
        let (r, lines, _) = gate(&spec, &steps).await;
        assert!(!r.opened && !r.cancelled);
        assert_eq!(r.reason, "3 failures in a row: [STATUS] (500) == 200");
        assert_eq!(r.probes.len(), 5);
        assert_eq!(r.first_failure_at, Some(Duration::from_secs(4)));
        assert!(
            lines[3].ends_with(
                "staging/web probe 4: 500 in 12ms ✗ [STATUS] (500) == 200 (2/3 failures)"
            ),
            "{}",
            lines[3]
        );
        let rec = r.gate_record("health", &spec);
        assert_eq!(
            rec.observed,
            "failed: 3 failures in a row: [STATUS] (500) == 200"
        );
        assert_eq!(rec.verdict, Verdict::Fail);
    }

    #[tokio::test]
    async fn refused_connections_are_failures() {
        let spec = spec(2, 2, 1000, 60_000);
        let (r, lines, _) = gate(&spec, &[Step::Refused(1)]).await;
        assert!(!r.opened);
        assert_eq!(r.reason, "2 failures in a row: [STATUS] (no answer) == 200");
        assert!(
            lines[0]
                .contains("no answer in 1ms (connection refused) ✗ [STATUS] (no answer) == 200"),
            "{}",
            lines[0]
        );
    }

    #[tokio::test]
    async fn flapping_never_opens_and_fails_at_the_deadline() {
        let spec = spec(3, 3, 2000, 60_000);
        let (r, _, calls) = gate(
            &spec,
            &[Step::Answer(200, 5), Step::Answer(503, 5)].repeat(100),
        )
        .await;
        assert!(!r.opened);
        assert_eq!(calls, 30, "one probe every 2s for a minute");
        assert!(
            r.reason.starts_with("no verdict within 1m (30 probes; "),
            "{}",
            r.reason
        );
        assert!(r.elapsed <= Duration::from_secs(60), "{:?}", r.elapsed);
        assert_eq!(r.first_failure_at, Some(Duration::from_secs(2)));
    }

    #[tokio::test]
    async fn slow_probes_time_out_and_the_gate_keeps_its_deadline() {
        // Each probe takes its full 5s timeout; the interval is shorter, so probes run back to
        // back, and the gate never exceeds its 12s deadline.
        let mut s = spec(2, 10, 1000, 12_000);
        s.expect
            .push(Condition::parse("[RESPONSE_TIME] < 1s").unwrap());
        let (r, _, calls) = gate(&s, &[Step::Answer(200, 60_000)]).await;
        assert!(!r.opened);
        assert_eq!(calls, 3, "5s + 5s + the 2s left");
        assert_eq!(r.elapsed, Duration::from_secs(12));
        assert!(
            r.reason
                .starts_with("no verdict within 12s (3 probes; last failure: "),
            "{}",
            r.reason
        );
    }

    #[tokio::test]
    async fn a_latency_condition_fails_a_slow_but_successful_release() {
        let mut s = spec(2, 2, 1000, 60_000);
        s.expect
            .push(Condition::parse("[RESPONSE_TIME] < 2s").unwrap());
        let (r, _, _) = gate(&s, &[Step::Answer(200, 2400)]).await;
        assert_eq!(r.reason, "2 failures in a row: [RESPONSE_TIME] (2.4s) < 2s");
    }

    #[tokio::test]
    async fn a_prober_that_hangs_cannot_hold_the_gate_past_its_deadline() {
        let spec = spec(2, 2, 1000, 10_000);
        let (r, _, calls) = gate(&spec, &[Step::Answer(200, 5), Step::Hang]).await;
        assert!(!r.opened);
        assert_eq!(calls, 2);
        assert!(
            r.reason.starts_with("no verdict within 10s"),
            "{}",
            r.reason
        );
    }

    #[tokio::test]
    async fn recovers_from_early_failures_and_opens() {
        let spec = spec(2, 3, 1000, 60_000);
        let steps = [Step::Refused(1), Step::Answer(502, 3), Step::Answer(200, 4)];
        let (r, _, _) = gate(&spec, &steps).await;
        assert!(r.opened, "{}", r.reason);
        assert_eq!(r.probes.len(), 4);
        assert_eq!(r.first_failure_at, Some(Duration::ZERO));
    }

    #[tokio::test]
    async fn a_fired_stop_cancels_at_once() {
        let spec = spec(3, 3, 1000, 60_000);
        let clock = FakeClock::default();
        let script = Script::new(&clock, &[Step::Answer(200, 5)]);
        let stop = Stop::new();
        stop.trigger("cancelled by SIGINT");
        let r = run_gate(
            &script,
            &clock,
            &spec,
            "http://x",
            &stop,
            &Printer::capturing(),
            "x",
        )
        .await;
        assert!(r.cancelled && !r.opened);
        assert_eq!(r.reason, "cancelled by SIGINT");
        assert_eq!(script.calls.get(), 0);
        assert_eq!(
            r.gate_record("health", &spec).observed,
            "cancelled after 0 probes: cancelled by SIGINT"
        );
    }

    #[tokio::test]
    async fn a_stop_during_a_hanging_probe_returns_promptly() {
        let spec = spec(3, 3, 1000, 600_000);
        let clock = super::super::SystemClock::new();
        let hang = HangProber;
        let stop = Stop::new();
        let trigger = stop.clone();
        let started = std::time::Instant::now();
        let printer = Printer::capturing();
        let (r, ()) = tokio::join!(
            run_gate(&hang, &clock, &spec, "http://x", &stop, &printer, "x"),
            async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                trigger.trigger("cancelled by SIGTERM");
            }
        );
        assert!(r.cancelled);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    struct HangProber;

    impl Prober for HangProber {
        async fn probe(&self, _spec: &ProbeSpec) -> ProbeResult {
            std::future::pending().await
        }
    }

    #[test]
    fn long_gates_keep_the_last_probes_in_the_record() {
        let probe = ProbeRecord {
            at: Duration::ZERO,
            status: Some(200),
            latency: Duration::from_millis(3),
            connected: true,
            pass: true,
            failed: vec![],
            error: None,
        };
        let report = GateReport {
            opened: true,
            cancelled: false,
            reason: "opened".into(),
            probes: vec![probe; 25],
            elapsed: Duration::from_secs(50),
            first_failure_at: None,
        };
        let rec = report.gate_record("health", &spec(3, 3, 2000, 300_000));
        assert_eq!(rec.details.len(), DETAIL_PROBES + 1);
        assert_eq!(rec.details[0], "… 5 probes earlier");
        assert!(rec.details[1].starts_with("probe 6 at"));
    }

    #[tokio::test]
    async fn sample_takes_n_probes_without_waiting() {
        let clock = FakeClock::default();
        let script = Script::new(
            &clock,
            &[
                Step::Answer(200, 10),
                Step::Answer(500, 30),
                Step::Answer(200, 20),
            ],
        );
        let records = sample(
            &script,
            &clock,
            &spec(3, 3, 2000, 300_000),
            "http://x",
            4,
            &Stop::new(),
        )
        .await;
        assert_eq!(
            records.iter().map(|r| r.pass).collect::<Vec<_>>(),
            vec![true, false, true, true]
        );
        assert_eq!(records[1].failed, vec!["[STATUS] (500) == 200".to_owned()]);
        let stop = Stop::new();
        stop.trigger("x");
        assert!(
            sample(
                &script,
                &clock,
                &spec(3, 3, 2000, 300_000),
                "http://x",
                4,
                &stop
            )
            .await
            .is_empty()
        );
    }

    #[test]
    fn records_serialize_in_milliseconds_and_read_back() {
        let r = ProbeRecord {
            at: Duration::from_secs(2),
            status: Some(503),
            latency: Duration::from_micros(12_500),
            connected: true,
            pass: false,
            failed: vec!["[STATUS] (503) == 200".into()],
            error: None,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"at_ms":2000.0,"status":503,"latency_ms":12.5,"connected":true,"pass":false,"failed":["[STATUS] (503) == 200"]}"#
        );
        assert_eq!(serde_json::from_str::<ProbeRecord>(&json).unwrap(), r);
    }

    #[test]
    fn no_answer_passes_only_when_the_conditions_ask_for_it() {
        let refused = ProbeResult::failed(Duration::from_millis(1), "connection refused");
        let closed = [Condition::parse("[CONNECTED] == false").unwrap()];
        let r = ProbeRecord::judge(Duration::ZERO, &refused, &closed);
        assert!(r.pass, "{:?}", r.failed);
        let open = [Condition::parse("[CONNECTED] == true").unwrap()];
        assert!(!ProbeRecord::judge(Duration::ZERO, &refused, &open).pass);
        // An answer cut short is still a failure, whatever the conditions say.
        let mut cut = ProbeResult::failed(Duration::from_millis(1), "connection reset");
        cut.connected = true;
        cut.status = Some(200);
        let r = ProbeRecord::judge(Duration::ZERO, &cut, &open);
        assert_eq!(
            (r.pass, r.failed),
            (false, vec!["connection reset".to_owned()])
        );
        let answered = ProbeResult {
            connected: true,
            status: Some(200),
            ..ProbeResult::default()
        };
        assert!(!ProbeRecord::judge(Duration::ZERO, &answered, &closed).pass);
    }
}
