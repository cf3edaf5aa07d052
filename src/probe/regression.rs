//! The regression gate: the new release's probe sample against the baseline's. No metrics
//! backend: both samples are outside probes of the same health endpoint, taken by shipit.
//!
//! Rules: the sample's error rate may be at most `max_error_rate`; when `p95_ratio` is set, its
//! p95 latency may be at most `baseline p95 × p95_ratio + p95_slack`. The slack keeps a fast
//! endpoint (a 4ms baseline) from failing on network noise.

use super::short;
use super::stats::{LatencyStats, percent};
use crate::probe::RegressionSpec;
use crate::report::{GateRecord, Verdict};

/// Judges `current` against `baseline`.
pub fn evaluate(
    baseline: &LatencyStats,
    current: &LatencyStats,
    spec: &RegressionSpec,
) -> GateRecord {
    let mut rule = vec![format!("error rate ≤ {}", percent(spec.max_error_rate))];
    let mut observed = Vec::new();
    let mut details = Vec::new();
    let mut verdict = Verdict::Pass;
    let mut worsen = |v: Verdict| {
        verdict = match (verdict, v) {
            (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
            (Verdict::Warn, _) | (_, Verdict::Warn) => Verdict::Warn,
            _ => Verdict::Pass,
        };
    };

    if current.count == 0 {
        observed.push("no probes in the sample".to_owned());
        worsen(Verdict::Fail);
    } else {
        observed.push(format!(
            "error rate {} ({}/{} failed)",
            percent(current.error_rate),
            current.failures,
            current.count
        ));
        // A tiny tolerance so that 1/20 against a limit of 0.05 is not lost to rounding.
        if current.error_rate > spec.max_error_rate + 1e-9 {
            details.push(format!(
                "error rate {} is over the limit of {}",
                percent(current.error_rate),
                percent(spec.max_error_rate)
            ));
            worsen(Verdict::Fail);
        }
    }

    if let Some(ratio) = spec.p95_ratio {
        let limit = baseline.p95.mul_f64(ratio) + spec.p95_slack;
        rule.push(format!(
            "p95 ≤ {ratio} × baseline p95 + {}",
            crate::duration::format(spec.p95_slack)
        ));
        if baseline.answered == 0 {
            observed.push("p95 not compared".to_owned());
            details.push(
                "the baseline has no answered probes, so there is no latency to compare with"
                    .to_owned(),
            );
            worsen(Verdict::Warn);
        } else if current.answered == 0 {
            observed.push("no answered probes".to_owned());
            details.push("no probe of the new release got an answer".to_owned());
            worsen(Verdict::Fail);
        } else {
            observed.push(format!(
                "p95 {} (limit {} from baseline p95 {})",
                short(current.p95),
                short(limit),
                short(baseline.p95)
            ));
            if current.p95 > limit {
                details.push(format!(
                    "p95 {} is over {} = {ratio} × {} + {}: the new release is slower than the baseline",
                    short(current.p95),
                    short(limit),
                    short(baseline.p95),
                    crate::duration::format(spec.p95_slack)
                ));
                worsen(Verdict::Fail);
            }
        }
    }
    details.push(format!("baseline: {}", baseline.summary()));
    details.push(format!("new release: {}", current.summary()));

    GateRecord {
        name: "regression".to_owned(),
        rule: rule.join(", "),
        observed: observed.join(", "),
        verdict,
        details,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn stats(p95_ms: u64, failures: u32, count: u32) -> LatencyStats {
        LatencyStats {
            count,
            failures,
            error_rate: if count == 0 {
                0.0
            } else {
                f64::from(failures) / f64::from(count)
            },
            answered: count,
            p50: Duration::from_millis(p95_ms / 2),
            p95: Duration::from_millis(p95_ms),
            max: Duration::from_millis(p95_ms),
        }
    }

    fn spec(ratio: Option<f64>, slack_ms: u64, max_error_rate: f64) -> RegressionSpec {
        RegressionSpec {
            probes: 10,
            p95_ratio: ratio,
            p95_slack: Duration::from_millis(slack_ms),
            max_error_rate,
        }
    }

    #[test]
    fn a_healthy_but_twice_as_slow_release_is_refused() {
        let g = evaluate(
            &stats(100, 0, 10),
            &stats(200, 0, 10),
            &spec(Some(1.5), 20, 0.0),
        );
        assert_eq!(g.verdict, Verdict::Fail);
        assert_eq!(g.rule, "error rate ≤ 0%, p95 ≤ 1.5 × baseline p95 + 20ms");
        assert_eq!(
            g.observed,
            "error rate 0% (0/10 failed), p95 200ms (limit 170ms from baseline p95 100ms)"
        );
        assert!(
            g.details[0].contains("p95 200ms is over 170ms = 1.5 × 100ms + 20ms"),
            "{:?}",
            g.details
        );
    }

    #[test]
    fn a_release_within_the_ratio_passes() {
        let g = evaluate(
            &stats(100, 0, 10),
            &stats(160, 0, 10),
            &spec(Some(1.5), 20, 0.0),
        );
        assert_eq!(g.verdict, Verdict::Pass, "{g:?}");
        // Exactly at the limit passes too.
        let g = evaluate(
            &stats(100, 0, 10),
            &stats(170, 0, 10),
            &spec(Some(1.5), 20, 0.0),
        );
        assert_eq!(g.verdict, Verdict::Pass);
    }

    #[test]
    fn the_slack_absorbs_noise_on_fast_endpoints() {
        let g = evaluate(
            &stats(4, 0, 10),
            &stats(30, 0, 10),
            &spec(Some(1.5), 100, 0.0),
        );
        assert_eq!(g.verdict, Verdict::Pass);
    }

    #[test]
    fn error_rate_over_the_limit_fails_even_without_a_latency_rule() {
        let g = evaluate(
            &stats(100, 0, 10),
            &stats(100, 2, 10),
            &spec(None, 100, 0.1),
        );
        assert_eq!(g.verdict, Verdict::Fail);
        assert_eq!(g.rule, "error rate ≤ 10%");
        assert!(g.details[0].contains("error rate 20% is over the limit of 10%"));
        let g = evaluate(
            &stats(100, 0, 10),
            &stats(100, 1, 20),
            &spec(None, 100, 0.05),
        );
        assert_eq!(g.verdict, Verdict::Pass, "1 in 20 is exactly 5%");
    }

    #[test]
    fn empty_or_unanswered_samples() {
        let g = evaluate(
            &stats(100, 0, 10),
            &stats(0, 0, 0),
            &spec(Some(1.5), 100, 0.0),
        );
        assert_eq!(g.verdict, Verdict::Fail);
        assert!(g.observed.starts_with("no probes in the sample"));
        let mut no_answers = stats(0, 10, 10);
        no_answers.answered = 0;
        let g = evaluate(&stats(100, 0, 10), &no_answers, &spec(Some(1.5), 100, 1.0));
        assert_eq!(g.verdict, Verdict::Fail);
        let g = evaluate(&no_answers, &stats(100, 0, 10), &spec(Some(1.5), 100, 0.0));
        assert_eq!(
            g.verdict,
            Verdict::Warn,
            "nothing to compare with is a warning, not a pass"
        );
    }
}
