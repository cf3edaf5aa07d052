//! The judgement over synthetic windows: every rule, and the properties the issue asks for
//! (identical sides pass; a shifted canary fails once its increase exceeds the bound).

use super::stats::tests::Rng;
use super::*;
use crate::canary::{Inconclusive, Machines};

fn spec() -> CanarySpec {
    CanarySpec::default()
}

fn ok(ms: f64) -> Outcome {
    Outcome {
        latency_ms: Some(ms),
        pass: true,
        critical: false,
    }
}

/// A window of `n` probes per side, latencies log-normal around the given medians.
fn window(rng: &mut Rng, n: usize, canary_ms: f64, baseline_ms: f64, sigma: f64) -> Window {
    let mut w = Window::default();
    for _ in 0..n {
        w.record(Side::Canary, &ok(rng.latency(canary_ms, sigma)), "");
        w.record(Side::Baseline, &ok(rng.latency(baseline_ms, sigma)), "");
    }
    w
}

#[test]
fn an_identical_canary_passes() {
    let w = window(&mut Rng::new(1), 60, 40.0, 40.0, 0.15);
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Pass, "{}", j.rule);
    assert!(j.rule.contains("no significant difference"), "{}", j.rule);
    assert_eq!((j.canary.probes, j.baseline.probes), (60, 60));
    let l = j.latency.unwrap();
    assert!(l.test.p_greater > 0.01);
    assert!(l.increase.abs() < 0.1);
}

#[test]
fn a_canary_30_percent_slower_fails_with_the_figures() {
    let w = window(&mut Rng::new(2), 60, 52.0, 40.0, 0.15);
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Fail, "{}", j.rule);
    assert!(j.rule.contains("slower"), "{}", j.rule);
    assert!(j.rule.contains("bound 20 %"), "{}", j.rule);
    let l = j.latency.unwrap();
    assert!(l.test.p_greater < 1e-6);
    assert!((0.2..0.45).contains(&l.increase), "{}", l.increase);
    assert!(j.canary.median_ms.unwrap() > j.baseline.median_ms.unwrap());
    assert!(j.canary.p95_ms.unwrap() >= j.canary.median_ms.unwrap());
}

#[test]
fn a_significant_one_millisecond_change_is_not_a_failure() {
    // Very steady latencies: 1 ms on 40 ms is significant, and far within the 20 % bound.
    let w = window(&mut Rng::new(3), 200, 41.0, 40.0, 0.01);
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Pass, "{}", j.rule);
    assert!(j.latency.unwrap().test.p_greater < 0.01);
    assert!(j.rule.contains("surely within the bound"), "{}", j.rule);
}

#[test]
fn a_noisy_but_equal_canary_does_not_fail() {
    let mut rng = Rng::new(4);
    for _ in 0..50 {
        let w = window(&mut rng, 60, 40.0, 40.0, 0.6);
        assert_ne!(w.judge(&spec()).verdict, Verdict::Fail);
    }
}

#[test]
fn a_large_but_unproven_difference_is_inconclusive() {
    // 30 probes a side of very noisy latencies, medians 25 % apart: not significant.
    let mut rng = Rng::new(5);
    let mut seen = false;
    for _ in 0..40 {
        let w = window(&mut rng, 30, 50.0, 40.0, 1.2);
        let j = w.judge(&spec());
        if j.verdict == Verdict::Inconclusive {
            assert!(j.rule.contains("not significant"), "{}", j.rule);
            seen = true;
        }
    }
    assert!(seen);
}

#[test]
fn too_few_samples_are_inconclusive() {
    let w = window(&mut Rng::new(6), 10, 40.0, 40.0, 0.1);
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert!(
        j.rule.contains("canary 10, baseline 10 (min_samples 30)"),
        "{}",
        j.rule
    );
}

#[test]
fn a_critical_canary_answer_fails_at_once() {
    let mut w = window(&mut Rng::new(7), 40, 40.0, 40.0, 0.1);
    let bad = Outcome {
        latency_ms: Some(3.0),
        pass: false,
        critical: true,
    };
    assert!(w.record(Side::Canary, &bad, "503 in 3ms on 148ed193b95089"));
    assert!(
        !w.record(Side::Baseline, &bad, "baseline 503"),
        "the baseline never fails the canary"
    );
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Fail);
    assert_eq!(
        j.rule,
        "a canary probe was critical: 503 in 3ms on 148ed193b95089"
    );
}

#[test]
fn more_failed_conditions_on_the_canary_fail_it() {
    let mut rng = Rng::new(8);
    let mut w = window(&mut rng, 200, 40.0, 40.0, 0.1);
    for _ in 0..8 {
        w.record(
            Side::Canary,
            &Outcome {
                latency_ms: Some(40.0),
                pass: false,
                critical: false,
            },
            "",
        );
        w.record(Side::Baseline, &ok(40.0), "");
    }
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Fail, "{}", j.rule);
    assert!(j.rule.contains("more errors"), "{}", j.rule);
    assert!(
        matches!(j.errors, Some(ErrorTest::Fisher(_))),
        "expected cells under 5 use Fisher"
    );
    // One failed condition in 60 is over the bound but proves nothing: inconclusive.
    let mut w = window(&mut rng, 59, 40.0, 40.0, 0.1);
    w.record(
        Side::Canary,
        &Outcome {
            latency_ms: Some(40.0),
            pass: false,
            critical: false,
        },
        "",
    );
    w.record(Side::Baseline, &ok(40.0), "");
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Inconclusive, "{}", j.rule);
}

#[test]
fn many_errors_on_both_sides_use_the_z_test() {
    let mut w = Window::default();
    for i in 0..400 {
        let fail = |k: usize| Outcome {
            latency_ms: Some(40.0 + (i % 7) as f64),
            pass: i % k != 0,
            critical: false,
        };
        w.record(Side::Canary, &fail(10), "");
        w.record(Side::Baseline, &fail(10), "");
    }
    let j = w.judge(&spec());
    assert!(matches!(j.errors, Some(ErrorTest::TwoProportion(_))));
    assert_eq!(j.verdict, Verdict::Pass, "{}", j.rule);
}

#[test]
fn property_a_shifted_canary_fails_once_its_increase_exceeds_the_bound() {
    let mut rng = Rng::new(9);
    let runs = 40;
    let rate = |rng: &mut Rng, shift: f64| {
        (0..runs)
            .filter(|_| {
                window(rng, 60, 40.0 * shift, 40.0, 0.15)
                    .judge(&spec())
                    .verdict
                    == Verdict::Fail
            })
            .count()
    };
    let identical = rate(&mut rng, 1.0);
    let small = rate(&mut rng, 1.03);
    let over = rate(&mut rng, 1.3);
    assert!(
        identical <= 2,
        "{identical}/{runs} identical canaries failed"
    );
    assert!(small <= 4, "{small}/{runs} canaries 3 % slower failed");
    assert_eq!(over, runs, "every canary 30 % slower fails");
}

#[test]
fn the_machine_count_and_the_probe_order() {
    let mut s = spec();
    assert_eq!(canary_count(&s, 1), None, "a fleet of one falls back");
    assert_eq!(canary_count(&s, 4), Some(1));
    s.machines = Machines::Share(0.25);
    assert_eq!(canary_count(&s, 10), Some(3));
    s.machines = Machines::Count(5);
    assert_eq!(canary_count(&s, 3), Some(2), "never the whole fleet");
    let canary = vec!["c1".to_owned()];
    let baseline = vec!["b1".to_owned(), "b2".to_owned()];
    let order: Vec<(Side, &str)> = schedule(&canary, &baseline).take(6).collect();
    assert_eq!(
        order,
        vec![
            (Side::Canary, "c1"),
            (Side::Baseline, "b1"),
            (Side::Canary, "c1"),
            (Side::Baseline, "b2"),
            (Side::Canary, "c1"),
            (Side::Baseline, "b1"),
        ]
    );
    assert_eq!(s.inconclusive, Inconclusive::Fail);
    assert_eq!(s.probes_per_side(), 60);
}

#[test]
fn judgements_serialize_with_every_figure() {
    let j = window(&mut Rng::new(10), 40, 40.0, 40.0, 0.1).judge(&spec());
    let v = serde_json::to_value(&j).unwrap();
    for key in ["verdict", "rule", "canary", "baseline", "latency", "errors"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    for key in [
        "u",
        "p_two_sided",
        "p_greater",
        "method",
        "increase",
        "increase_upper",
    ] {
        assert!(v["latency"].get(key).is_some(), "latency.{key} in {v}");
    }
    assert_eq!(v["canary"]["probes"], 40);
    assert!(v["canary"]["median_ms"].is_number());
    assert_eq!(v["errors"]["test"], "fisher");
}

#[test]
fn long_windows_are_thinned_for_the_estimate_but_keep_their_verdict() {
    let mut rng = Rng::new(12);
    let slow: Vec<f64> = (0..3000).map(|_| rng.latency(52.0, 0.2)).collect();
    let base: Vec<f64> = (0..3000).map(|_| rng.latency(40.0, 0.2)).collect();
    let l = latency_test(&slow, &base, 0.01).unwrap();
    assert!((0.25..0.35).contains(&l.increase), "{}", l.increase);
    assert!(l.increase_upper >= l.increase);
    assert!(l.test.p_greater < 1e-20);
}

#[test]
fn a_canary_failing_its_conditions_in_a_row_fails_at_once() {
    let mut w = window(&mut Rng::new(7), 40, 40.0, 40.0, 0.1);
    w.unhealthy = Some("3 times in a row (last: machine m1: 200 in 130ms)".into());
    let j = w.judge(&spec());
    assert_eq!(j.verdict, Verdict::Fail);
    assert_eq!(
        j.rule,
        "the canary failed its health conditions 3 times in a row (last: machine m1: 200 in 130ms)"
    );
}
