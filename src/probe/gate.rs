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

    /// The gate's failure streak alone: `unhealthy_after` failures in a row fail it; it never
    /// opens and has no deadline. The watch window and the canary window run their probes
    /// through it, so every window counts a streak the way the health gate does.
    pub fn failure_streak(unhealthy_after: u32) -> Gate {
        Gate::new(u32::MAX, unhealthy_after, Duration::MAX)
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
#[path = "gate_tests.rs"]
pub(crate) mod tests;
