//! The statistics against values computed independently of this code. Source of
//! `testdata/stats-vectors.json`: `SciPy` 1.17.1 (`scipy.stats.mannwhitneyu(x, y,
//! use_continuity=True)`, `scipy.stats.fisher_exact`, a pooled two-proportion z test), copied
//! from the project's shared reference `stats-vectors.json` (its `source` field says how each
//! value was computed). The docstring examples of `SciPy` and R cited per test are from their
//! documentation, as quoted in the shared reference `canary-and-cost.md` §B.

use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!("../testdata/stats-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Relative closeness; p-values as small as 1e-19 are compared relatively.
fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300) || (got - want).abs() < 1e-15
}

#[test]
fn mann_whitney_matches_scipy_on_every_vector() {
    let doc = vectors();
    assert!(doc["source"].as_str().unwrap().contains("SciPy"));
    let cases = doc["mann_whitney"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let got = mann_whitney(&x, &y).unwrap();
        let method = match case["method"].as_str().unwrap() {
            "exact" => Method::Exact,
            _ => Method::Asymptotic,
        };
        assert_eq!(got.method, method, "{name}");
        assert!(
            close(got.u, case["U_x"].as_f64().unwrap(), 1e-12),
            "{name}: U {}",
            got.u
        );
        let (two, greater) = (
            case["p_two_sided"].as_f64().unwrap(),
            case["p_greater"].as_f64().unwrap(),
        );
        assert!(
            close(got.p_two_sided, two, 1e-9),
            "{name}: two-sided {} vs {two}",
            got.p_two_sided
        );
        assert!(
            close(got.p_greater, greater, 1e-9),
            "{name}: greater {} vs {greater}",
            got.p_greater
        );
    }
}

/// `SciPy`'s `mannwhitneyu` docstring example: x = [19,22,16,29,24], y = [20,11,17,12]: U1 = 17,
/// exact two-sided p = 0.1111111111111111; one-sided `mannwhitneyu(y, x, alternative='less')`
/// exact p = 0.05555555555555555 (here: the same tail as "x greater").
#[test]
fn mann_whitney_scipy_docstring_example() {
    let x = [19.0, 22.0, 16.0, 29.0, 24.0];
    let y = [20.0, 11.0, 17.0, 12.0];
    let r = mann_whitney(&x, &y).unwrap();
    assert!(close(r.u, 17.0, 1e-12));
    assert_eq!(r.method, Method::Exact);
    assert!(close(r.p_two_sided, 0.111_111_111_111_111_1, 1e-12));
    assert!(close(r.p_greater, 0.055_555_555_555_555_55, 1e-12));
    let back = mann_whitney(&y, &x).unwrap();
    assert!(close(back.u, 3.0, 1e-12));
    assert!(close(back.p_two_sided, r.p_two_sided, 1e-12));
    // The asymptotic form with continuity on the same data: p = 0.11134688653314041.
    let (two, _) = asymptotic_p(17.0, 5, 4, &[1; 9]);
    assert!(close(two, 0.111_346_886_533_140_41, 1e-9), "{two}");
}

#[test]
fn fisher_and_two_proportion_match_scipy_on_every_vector() {
    for case in vectors()["proportions"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let t = &case["table"];
        let cell = |r: usize, c: usize| t[r][c].as_u64().unwrap();
        let table = [[cell(0, 0), cell(0, 1)], [cell(1, 0), cell(1, 1)]];
        let f = fisher_exact(table);
        let want_two = case["fisher_p_two_sided"].as_f64().unwrap();
        let want_greater = case["fisher_p_greater"].as_f64().unwrap();
        assert!(
            close(f.p_two_sided, want_two, 1e-9),
            "{name}: fisher {} vs {want_two}",
            f.p_two_sided
        );
        assert!(
            close(f.p_greater, want_greater, 1e-9),
            "{name}: fisher greater {} vs {want_greater}",
            f.p_greater
        );
        let z = two_proportion(
            cell(0, 0),
            cell(0, 0) + cell(0, 1),
            cell(1, 0),
            cell(1, 0) + cell(1, 1),
        )
        .unwrap();
        let want_z = case["two_proportion_z"].as_f64().unwrap();
        let want_p = case["two_proportion_p_two_sided"].as_f64().unwrap();
        assert!(close(z.z, want_z, 1e-9), "{name}: z {} vs {want_z}", z.z);
        assert!(
            close(z.p_two_sided, want_p, 1e-9),
            "{name}: z p {} vs {want_p}",
            z.p_two_sided
        );
    }
}

/// `SciPy`'s `fisher_exact` docstring values: [[6,2],[1,4]] → two-sided 0.10256410256410257,
/// greater 0.08624708624708627; [[8,2],[1,5]] → 0.034965034965034975.
#[test]
fn fisher_scipy_docstring_examples() {
    let f = fisher_exact([[6, 2], [1, 4]]);
    assert!(close(f.p_two_sided, 0.102_564_102_564_102_57, 1e-12));
    assert!(close(f.p_greater, 0.086_247_086_247_086_27, 1e-12));
    assert!(close(
        fisher_exact([[8, 2], [1, 5]]).p_two_sided,
        0.034_965_034_965_034_975,
        1e-12
    ));
    assert!(
        close(fisher_exact([[0, 10], [0, 10]]).p_two_sided, 1.0, 0.0),
        "no errors anywhere"
    );
}

#[test]
fn degenerate_samples_are_guarded() {
    assert!(mann_whitney(&[], &[1.0]).is_none());
    assert!(mann_whitney(&[f64::NAN], &[1.0]).is_none());
    let same = [5.0; 20];
    let r = mann_whitney(&same, &same).unwrap();
    assert!(close(r.p_two_sided, 1.0, 0.0) && close(r.p_greater, 1.0, 0.0));
    assert!(close(
        two_proportion(0, 50, 0, 50).unwrap().p_two_sided,
        1.0,
        0.0
    ));
    assert!(two_proportion(1, 0, 0, 5).is_none());
}

#[test]
fn the_normal_tail_is_accurate() {
    // Φ̄(1.959963984540054) = 0.025; Φ̄(0) = 0.5; Φ̄(−1) = 0.8413447460685429;
    // Φ̄(8) = 6.220960574271785e-16 (standard tables).
    assert!(close(normal_sf(1.959_963_984_540_054), 0.025, 1e-12));
    assert!(close(normal_sf(0.0), 0.5, 1e-15));
    assert!(close(normal_sf(-1.0), 0.841_344_746_068_542_9, 1e-12));
    assert!(close(normal_sf(8.0), 6.220_960_574_271_785e-16, 1e-10));
    assert!(close(normal_sf(2.0), 0.022_750_131_948_179_21, 1e-12));
}

/// A small deterministic generator for the property tests (xorshift64*), so a failure is
/// reproducible from its seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// A latency-like value: log-normal around `median`.
    pub(crate) fn latency(&mut self, median: f64, sigma: f64) -> f64 {
        let (a, b) = (self.uniform(), self.uniform());
        let normal = (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos();
        median * (sigma * normal).exp()
    }
}

#[test]
fn property_identical_distributions_rarely_look_different() {
    // Under the null hypothesis p is uniform: at alpha 0.01, about 1 run in 100 rejects.
    let mut rng = Rng::new(7);
    let runs = 400;
    let mut rejected = 0;
    for _ in 0..runs {
        let x: Vec<f64> = (0..60).map(|_| rng.latency(40.0, 0.2)).collect();
        let y: Vec<f64> = (0..60).map(|_| rng.latency(40.0, 0.2)).collect();
        let r = mann_whitney(&x, &y).unwrap();
        assert!((0.0..=1.0).contains(&r.p_two_sided) && (0.0..=1.0).contains(&r.p_greater));
        if r.p_greater < 0.01 {
            rejected += 1;
        }
    }
    assert!(
        rejected <= 12,
        "{rejected} of {runs} identical pairs rejected at alpha 0.01"
    );
}

#[test]
fn property_a_shift_is_found_and_p_falls_as_it_grows() {
    let mut rng = Rng::new(11);
    let base: Vec<f64> = (0..60).map(|_| rng.latency(40.0, 0.1)).collect();
    let noise: Vec<f64> = (0..60).map(|_| rng.latency(40.0, 0.1)).collect();
    let mut last = 1.0;
    for shift in [1.0, 1.05, 1.1, 1.2, 1.4] {
        let x: Vec<f64> = noise.iter().map(|v| v * shift).collect();
        let r = mann_whitney(&x, &base).unwrap();
        assert!(
            r.p_greater <= last + 1e-12,
            "shift {shift}: {} after {last}",
            r.p_greater
        );
        last = r.p_greater;
    }
    assert!(
        last < 1e-10,
        "a 40% slower sample is unmistakable: p {last}"
    );
    // Swapping the samples mirrors U and keeps the two-sided p.
    let (a, b) = (&noise[..20], &base[..25]);
    let (ab, ba) = (mann_whitney(a, b).unwrap(), mann_whitney(b, a).unwrap());
    assert!(close(ab.u + ba.u, 20.0 * 25.0, 1e-12));
    assert!(close(ab.p_two_sided, ba.p_two_sided, 1e-12));
}

#[test]
fn property_exact_and_normal_agree_where_both_apply() {
    let mut rng = Rng::new(3);
    for _ in 0..50 {
        let x: Vec<f64> = (0..8).map(|_| rng.latency(40.0, 0.3)).collect();
        let y: Vec<f64> = (0..8).map(|_| rng.latency(44.0, 0.3)).collect();
        let r = mann_whitney(&x, &y).unwrap();
        assert_eq!(r.method, Method::Exact);
        let (_, groups) = ranks(&x, &y);
        let (two, _) = asymptotic_p(r.u, 8, 8, &groups);
        assert!(
            (r.p_two_sided - two).abs() < 0.03,
            "exact {} normal {two}",
            r.p_two_sided
        );
        // The exact distribution sums to one: P(U >= 0) = 1.
        assert!(close(exact_p(0.0, 8, 8).1, 1.0, 1e-12));
    }
}
