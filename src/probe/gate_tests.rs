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

pub(crate) fn spec(healthy: u32, unhealthy: u32, interval_ms: u64, deadline_ms: u64) -> HealthSpec {
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
        lines[3]
            .ends_with("staging/web probe 4: 500 in 12ms ✗ [STATUS] (500) == 200 (2/3 failures)"),
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
        lines[0].contains("no answer in 1ms (connection refused) ✗ [STATUS] (no answer) == 200"),
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
