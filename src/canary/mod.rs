//! The canary judgement (`strategy: canary`): the new release on some machines, the old one on
//! the rest, both probed alternately over the same window (each probe pinned to its machine
//! with `Fly-Force-Instance-Id`), then judged side by side. Pure logic: the canary stage feeds
//! it probe outcomes and asks for a verdict; nothing here waits, probes or reads a clock.
//!
//! The rules, after Kayenta (Mann-Whitney on a metric, with an effect-size gate) and Argo
//! Rollouts (pass, fail or inconclusive), in the order they are tried:
//!
//! 1. Any critical canary answer (no answer, or a 5xx) fails at once, as in the health gate; so
//!    do `unhealthy_after` canary probes in a row that fail a health condition (the health
//!    gate's own rule; the stage counts them and sets [`Window::unhealthy`]).
//! 2. Fewer than `min_samples` answered probes on a side: inconclusive.
//! 3. Errors (probes whose conditions failed): the canary's rate is higher with p < `alpha`
//!    (Fisher's exact test when an expected cell count is under 5, else the two-proportion z
//!    test, one-sided) and the increase is over `max_error_rate_increase`: fail. Over the bound
//!    but not significant: inconclusive.
//! 4. Latency: the canary is slower with p < `alpha` (one-sided Mann-Whitney U) and the
//!    one-sided upper confidence limit of its increase (Hodges-Lehmann on the latency ratio)
//!    reaches `max_latency_increase`: fail. Significant but surely under the bound (a 1 ms
//!    change): pass. Not significant but the estimated increase is over the bound (a large,
//!    noisy difference): inconclusive.
//! 5. Otherwise: pass.
//!
//! Inconclusive extends the window once; a second inconclusive follows `canary.inconclusive`.

mod spec;
pub mod stats;

use serde::{Deserialize, Serialize};

pub use self::spec::{CanarySpec, Inconclusive, Machines};
use self::stats::{Fisher, MannWhitney, TwoProportion};

/// Which side of the comparison a probe belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Canary,
    Baseline,
}

/// One pinned probe, as the judgement sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Latency in milliseconds, when an answer arrived.
    pub latency_ms: Option<f64>,
    /// Every health condition held.
    pub pass: bool,
    /// No answer or a 5xx: the runbook's critical level.
    pub critical: bool,
}

/// What the window has seen of one side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideSample {
    /// Latencies of the answered probes, in milliseconds, in arrival order.
    pub latencies_ms: Vec<f64>,
    pub probes: u64,
    /// Probes whose conditions failed (critical ones included).
    pub errors: u64,
}

impl SideSample {
    pub fn record(&mut self, o: &Outcome) {
        self.probes += 1;
        if !o.pass {
            self.errors += 1;
        }
        if let Some(ms) = o.latency_ms {
            self.latencies_ms.push(ms);
        }
    }

    pub fn summary(&self) -> SideSummary {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        SideSummary {
            probes: self.probes,
            answered: sorted.len() as u64,
            errors: self.errors,
            error_rate: if self.probes == 0 {
                0.0
            } else {
                self.errors as f64 / self.probes as f64
            },
            median_ms: nearest_rank(&sorted, 0.5),
            p95_ms: nearest_rank(&sorted, 0.95),
        }
    }
}

/// Nearest-rank percentile of sorted values, as the probe statistics report them.
fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// One side's figures, as the receipt, the job summary and `explain` show them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideSummary {
    pub probes: u64,
    pub answered: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub median_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// The canary's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
}

/// How the error rates were compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "test", rename_all = "snake_case")]
pub enum ErrorTest {
    Fisher(Fisher),
    TwoProportion(TwoProportion),
}

impl ErrorTest {
    pub fn p_greater(&self) -> f64 {
        match self {
            ErrorTest::Fisher(f) => f.p_greater,
            ErrorTest::TwoProportion(z) => z.p_greater,
        }
    }
}

/// The latency comparison: the test and the effect size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyTest {
    #[serde(flatten)]
    pub test: MannWhitney,
    /// The canary's typical latency increase as a share (Hodges-Lehmann estimate of the
    /// latency ratio, minus one): 0.31 is 31 % slower.
    pub increase: f64,
    /// The one-sided upper confidence limit of that increase, at 1 − alpha.
    pub increase_upper: f64,
}

/// The judgement of a window: the verdict, the rule that decided it in words, and every figure
/// behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub verdict: Verdict,
    pub rule: String,
    pub canary: SideSummary,
    pub baseline: SideSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyTest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<ErrorTest>,
}

/// What the record keeps of a canary (`ServiceRecord.canary`): the machines on each side, the
/// window, the judgement with every figure, and how long the release ran on the canary alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryReport {
    pub machines: Vec<String>,
    pub baseline_machines: Vec<String>,
    /// Machines in the fleet when the canary was chosen.
    pub fleet: usize,
    /// How long the probing took, extension included.
    pub window_ms: u64,
    /// The first window was inconclusive and a second one followed.
    pub extended: bool,
    pub judgement: Judgement,
    /// How long only the canary machines ran the new release: until the rest of the fleet was
    /// deployed (a pass) or the canary was put back (a fail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure_ms: Option<u64>,
}

impl CanaryReport {
    /// The figures as lines, for the receipt's gate details, the job summary and `explain`.
    pub fn lines(&self) -> Vec<String> {
        let j = &self.judgement;
        let side = |name: &str, s: &SideSummary| {
            format!(
                "{name}: {} probes, {} answered, {} errors ({}), median {}, p95 {}",
                s.probes,
                s.answered,
                s.errors,
                percent(s.error_rate),
                ms(s.median_ms),
                ms(s.p95_ms)
            )
        };
        let mut lines = vec![
            format!(
                "machines: canary {} ({} of {}), baseline {}",
                self.machines.join(", "),
                self.machines.len(),
                self.fleet,
                self.baseline_machines.join(", ")
            ),
            side("canary", &j.canary),
            side("baseline", &j.baseline),
        ];
        if let Some(l) = &j.latency {
            lines.push(format!(
                "latency: Mann-Whitney U = {:.1} ({}), p = {} (one-sided), effect size {:+.1} % (upper limit {:+.1} %), P(canary slower) = {:.3}",
                l.test.u,
                match l.test.method {
                    stats::Method::Exact => "exact",
                    stats::Method::Asymptotic => "normal approximation",
                },
                p_value(l.test.p_greater),
                l.increase * 100.0,
                l.increase_upper * 100.0,
                l.test
                    .cles(j.canary.answered as usize, j.baseline.answered as usize)
            ));
        }
        match &j.errors {
            Some(ErrorTest::Fisher(f)) => lines.push(format!(
                "errors: Fisher's exact test, p = {} (one-sided)",
                p_value(f.p_greater)
            )),
            Some(ErrorTest::TwoProportion(z)) => lines.push(format!(
                "errors: two-proportion z = {:.2}, p = {} (one-sided)",
                z.z,
                p_value(z.p_greater)
            )),
            None => {}
        }
        lines.push(format!(
            "window: {:.1}s{}; deciding rule: {}",
            self.window_ms as f64 / 1000.0,
            if self.extended {
                " (extended once)"
            } else {
                ""
            },
            j.rule
        ));
        lines
    }
}

/// The probes of one window, both sides.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub canary: SideSample,
    pub baseline: SideSample,
    /// The first critical canary answer, described; it decides the window at once.
    pub critical: Option<String>,
    /// The canary failed its health conditions `unhealthy_after` times in a row (the health
    /// gate's rule, on the canary's pinned probes), described; it decides the window at once.
    pub unhealthy: Option<String>,
}

impl Window {
    /// Records one probe. Returns true when it is a critical canary answer, which fails the
    /// canary at once.
    pub fn record(&mut self, side: Side, outcome: &Outcome, described: &str) -> bool {
        match side {
            Side::Canary => {
                self.canary.record(outcome);
                if outcome.critical && self.critical.is_none() {
                    self.critical = Some(described.to_owned());
                }
                outcome.critical
            }
            Side::Baseline => {
                self.baseline.record(outcome);
                false
            }
        }
    }

    /// Judges the window with the rules in this module's documentation.
    pub fn judge(&self, spec: &CanarySpec) -> Judgement {
        let mut j = Judgement {
            verdict: Verdict::Pass,
            rule: String::new(),
            canary: self.canary.summary(),
            baseline: self.baseline.summary(),
            latency: None,
            errors: None,
        };
        let decide = |mut j: Judgement, verdict, rule: String| {
            j.verdict = verdict;
            j.rule = rule;
            j
        };
        if let Some(what) = &self.critical {
            return decide(
                j,
                Verdict::Fail,
                format!("a canary probe was critical: {what}"),
            );
        }
        if let Some(what) = &self.unhealthy {
            return decide(
                j,
                Verdict::Fail,
                format!("the canary failed its health conditions {what}"),
            );
        }
        let min = u64::from(spec.min_samples);
        if j.canary.answered < min || j.baseline.answered < min {
            let rule = format!(
                "too few answered probes to compare: canary {}, baseline {} (min_samples {min})",
                j.canary.answered, j.baseline.answered
            );
            return decide(j, Verdict::Inconclusive, rule);
        }

        let errors = error_test(&self.canary, &self.baseline);
        j.errors = Some(errors);
        let increase = j.canary.error_rate - j.baseline.error_rate;
        let p = errors.p_greater();
        if increase > spec.max_error_rate_increase + 1e-12 {
            let what = format!(
                "canary error rate {} against baseline {} (+{}, bound {}, p = {})",
                percent(j.canary.error_rate),
                percent(j.baseline.error_rate),
                percent(increase),
                percent(spec.max_error_rate_increase),
                p_value(p)
            );
            return if p < spec.alpha {
                decide(j, Verdict::Fail, format!("{what}: more errors"))
            } else {
                decide(
                    j,
                    Verdict::Inconclusive,
                    format!("{what}: over the bound but not significant"),
                )
            };
        }

        let Some(latency) = latency_test(
            &self.canary.latencies_ms,
            &self.baseline.latencies_ms,
            spec.alpha,
        ) else {
            return decide(
                j,
                Verdict::Inconclusive,
                "no latencies to compare".to_owned(),
            );
        };
        j.latency = Some(latency);
        let bound = spec.max_latency_increase;
        let p = latency.test.p_greater;
        let what = format!(
            "canary median {} against baseline {} (estimated {:+.1} %, upper limit {:+.1} %, bound {:.0} %, p = {})",
            ms(j.canary.median_ms),
            ms(j.baseline.median_ms),
            latency.increase * 100.0,
            latency.increase_upper * 100.0,
            bound * 100.0,
            p_value(p)
        );
        if p < spec.alpha && latency.increase_upper >= bound {
            decide(j, Verdict::Fail, format!("{what}: slower"))
        } else if p < spec.alpha {
            decide(
                j,
                Verdict::Pass,
                format!("{what}: slower, but surely within the bound"),
            )
        } else if latency.increase > bound {
            decide(
                j,
                Verdict::Inconclusive,
                format!("{what}: a large difference that is not significant"),
            )
        } else {
            decide(
                j,
                Verdict::Pass,
                format!("{what}: no significant difference"),
            )
        }
    }
}

/// Fisher's exact test when any expected cell is under 5 (the usual rule for the normal
/// approximation), else the two-proportion z test; both one-sided, "the canary errs more".
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook names of the formula (a, b, c, d cells; m, n sizes; x, y samples) read better than long ones"
)]
fn error_test(canary: &SideSample, baseline: &SideSample) -> ErrorTest {
    let (a, b) = (canary.errors, canary.probes - canary.errors);
    let (c, d) = (baseline.errors, baseline.probes - baseline.errors);
    let total = (a + b + c + d) as f64;
    let rows = [(a + b) as f64, (c + d) as f64];
    let cols = [(a + c) as f64, (b + d) as f64];
    let smallest = rows
        .iter()
        .flat_map(|r| cols.iter().map(move |c| r * c / total))
        .fold(f64::INFINITY, f64::min);
    if smallest < 5.0 {
        ErrorTest::Fisher(stats::fisher_exact([[a, b], [c, d]]))
    } else {
        match stats::two_proportion(a, a + b, c, c + d) {
            Some(z) => ErrorTest::TwoProportion(z),
            None => ErrorTest::Fisher(stats::fisher_exact([[a, b], [c, d]])),
        }
    }
}

/// The Mann-Whitney test of canary against baseline latencies, with the Hodges-Lehmann
/// estimate of the log-latency shift and its one-sided upper confidence limit (Moses: the
/// order statistic of the pairwise differences at rank mn − k, k from U's null distribution,
/// normal approximation), both turned back into a ratio.
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook names of the formula (a, b, c, d cells; m, n sizes; x, y samples) read better than long ones"
)]
pub fn latency_test(canary: &[f64], baseline: &[f64], alpha: f64) -> Option<LatencyTest> {
    let test = stats::mann_whitney(canary, baseline)?;
    // The estimate and its limit look at every pair of values; past `PAIR_SIDE` values a side
    // is thinned to evenly spaced order statistics (the same distribution, a wider interval),
    // so an hour-long window stays a few megabytes. The test itself uses every value.
    let log = |v: &[f64]| -> Vec<f64> {
        let mut logs: Vec<f64> = v.iter().map(|x| x.max(1e-6).ln()).collect();
        if logs.len() > PAIR_SIDE {
            logs.sort_by(f64::total_cmp);
            let step = logs.len() as f64 / PAIR_SIDE as f64;
            logs = (0..PAIR_SIDE)
                .map(|i| logs[(i as f64 * step) as usize])
                .collect();
        }
        logs
    };
    let (x, y) = (log(canary), log(baseline));
    let mut diffs: Vec<f64> = x
        .iter()
        .flat_map(|a| y.iter().map(move |b| a - b))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let mn = diffs.len();
    let median = if mn % 2 == 1 {
        diffs[mn / 2]
    } else {
        f64::midpoint(diffs[mn / 2 - 1], diffs[mn / 2])
    };
    let (m, n) = (x.len() as f64, y.len() as f64);
    let sd = (m * n * (m + n + 1.0) / 12.0).sqrt();
    let k = (m * n / 2.0 - normal_quantile(1.0 - alpha) * sd)
        .floor()
        .max(0.0) as usize;
    let upper = diffs[(mn - 1).saturating_sub(k)];
    Some(LatencyTest {
        test,
        increase: median.exp() - 1.0,
        increase_upper: upper.exp() - 1.0,
    })
}

/// The most values per side the Hodges-Lehmann estimate pairs up (a million pairs).
const PAIR_SIDE: usize = 1000;

/// The standard normal quantile by bisection on [`stats::normal_sf`] (used once per judgement).
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0_f64, 40.0_f64);
    for _ in 0..200 {
        let mid = f64::midpoint(lo, hi);
        if 1.0 - stats::normal_sf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    f64::midpoint(lo, hi)
}

/// How many machines get the canary: `machines` of the fleet (a count, or a share rounded up),
/// at least one and never the whole fleet. `None` for a fleet of one: there is nothing to
/// compare the canary with, and the plain pipeline runs instead.
pub fn canary_count(spec: &CanarySpec, fleet: usize) -> Option<usize> {
    if fleet < 2 {
        return None;
    }
    let wanted = match spec.machines {
        Machines::Count(n) => n as usize,
        Machines::Share(share) => (share * fleet as f64).ceil() as usize,
    };
    Some(wanted.clamp(1, fleet - 1))
}

/// The order of the window's probes: canary and baseline alternately, each side cycling
/// through its machines, so both see the same minutes of traffic.
pub fn schedule<'m>(
    canary: &'m [String],
    baseline: &'m [String],
) -> impl Iterator<Item = (Side, &'m str)> + 'm {
    (0usize..).map_while(move |i| {
        let (side, machines) = if i % 2 == 0 {
            (Side::Canary, canary)
        } else {
            (Side::Baseline, baseline)
        };
        if machines.is_empty() {
            return None;
        }
        Some((side, machines[(i / 2) % machines.len()].as_str()))
    })
}

fn percent(x: f64) -> String {
    let text = format!("{:.2}", x * 100.0);
    format!("{} %", text.trim_end_matches('0').trim_end_matches('.'))
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}ms"))
}

fn p_value(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

#[cfg(test)]
mod tests;
