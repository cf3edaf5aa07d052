//! The statistics of the canary judgement, hand-written and tested against `SciPy`'s values
//! (`tests` below): the Mann-Whitney U test (exact for small samples without ties, else the
//! normal approximation with tie and continuity corrections, chosen as `SciPy`'s `method='auto'`
//! chooses), Fisher's exact test on a 2×2 table, and the pooled two-proportion z test.
//!
//! Conventions follow `SciPy`: `u` is the U statistic of the first sample `x`; "greater" means
//! `x` tends to be larger than `y` (for shipit: the canary slower, or erring more).

use std::cmp::Ordering;

/// How a Mann-Whitney p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The exact null distribution of U (no ties, a small sample).
    Exact,
    /// The normal approximation, with tie and continuity corrections.
    Asymptotic,
}

/// A Mann-Whitney U test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MannWhitney {
    /// U of `x`: the number of pairs (`x_i`, `y_j`) with `x_i > y_j`, ties counted as one half.
    pub u: f64,
    pub p_two_sided: f64,
    /// The p-value of "x is stochastically greater than y".
    pub p_greater: f64,
    pub method: Method,
}

impl MannWhitney {
    /// The common-language effect size P(x > y) + ½·P(x = y): 0.5 when neither side is larger.
    pub fn cles(&self, nx: usize, ny: usize) -> f64 {
        self.u / (nx as f64 * ny as f64)
    }
}

/// The largest second sample the exact distribution is computed for; beyond it (and whenever
/// both samples have more than 8 values, or there are ties) the normal approximation is used.
const EXACT_LIMIT: usize = 10_000;

/// The Mann-Whitney U test. `None` when a sample is empty or holds a value that is not finite.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    if x.is_empty() || y.is_empty() || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let (n1, n2) = (x.len(), y.len());
    let (rank_sum, tie_groups) = ranks(x, y);
    let u = rank_sum - (n1 * (n1 + 1)) as f64 / 2.0;
    let ties = tie_groups.iter().any(|&t| t > 1);
    let exact = (n1 <= 8 || n2 <= 8) && !ties && n1.max(n2) <= EXACT_LIMIT;
    let (p_two_sided, p_greater) = if exact {
        exact_p(u, n1, n2)
    } else {
        asymptotic_p(u, n1, n2, &tie_groups)
    };
    Some(MannWhitney {
        u,
        p_two_sided,
        p_greater,
        method: if exact {
            Method::Exact
        } else {
            Method::Asymptotic
        },
    })
}

/// The sum of `x`'s ranks in the pooled sample (ties get their average rank), and the size of
/// every group of equal values.
fn ranks(x: &[f64], y: &[f64]) -> (f64, Vec<usize>) {
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    let mut rank_sum = 0.0;
    let mut groups = Vec::new();
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i;
        while j + 1 < pooled.len() && pooled[j + 1].0.total_cmp(&pooled[i].0) == Ordering::Equal {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let average = (i + j + 2) as f64 / 2.0;
        rank_sum += average * pooled[i..=j].iter().filter(|(_, from_x)| *from_x).count() as f64;
        groups.push(j - i + 1);
        i = j + 1;
    }
    (rank_sum, groups)
}

/// Exact p-values from the null distribution of U: the number of orderings giving each value
/// is the coefficient of q^k in the Gaussian binomial [n1+n2 choose n1]_q, built by
/// multiplying by (1 − q^(n2+j)) and dividing by (1 − q^j) for j = 1..=n1; every intermediate is
/// itself a Gaussian binomial, so the integer arithmetic is exact.
fn exact_p(u: f64, n1: usize, n2: usize) -> (f64, f64) {
    let (small, large) = (n1.min(n2), n1.max(n2));
    let degree = small * large;
    let mut counts = vec![0i128; degree + 1];
    counts[0] = 1;
    for j in 1..=small {
        let up = large + j;
        for k in (up..=degree).rev() {
            counts[k] -= counts[k - up];
        }
        for k in j..=degree {
            counts[k] += counts[k - j];
        }
    }
    let total: f64 = counts.iter().map(|&c| c as f64).sum();
    // P(U >= k), the mass at k included.
    let survival = |k: f64| -> f64 {
        let from = k.ceil().max(0.0) as usize;
        counts.iter().skip(from).map(|&c| c as f64).sum::<f64>() / total
    };
    let mean = degree as f64 / 2.0;
    let u_max = if u >= mean { u } else { degree as f64 - u };
    ((2.0 * survival(u_max)).min(1.0), survival(u))
}

/// The normal approximation: z = (U − μ − ½·s) / σ with σ corrected for ties, s the sign that
/// moves U towards μ (the continuity correction).
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook names of the formula (a, b, c, d cells; m, n sizes; x, y samples) read better than long ones"
)]
fn asymptotic_p(u: f64, n1: usize, n2: usize, tie_groups: &[usize]) -> (f64, f64) {
    let (a, b) = (n1 as f64, n2 as f64);
    let n = a + b;
    let mean = a * b / 2.0;
    let ties: f64 = tie_groups
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum();
    let variance = a * b / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        // Every value is the same: nothing tells the samples apart.
        return (1.0, 1.0);
    }
    let sd = variance.sqrt();
    let u_max = u.max(a * b - u);
    let z_two = (u_max - mean - 0.5) / sd;
    let z_greater = (u - mean - 0.5) / sd;
    ((2.0 * normal_sf(z_two)).min(1.0), normal_sf(z_greater))
}

/// Fisher's exact test of a 2×2 table `[[a, b], [c, d]]` (rows: canary, baseline; columns:
/// errors, successes).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fisher {
    pub p_two_sided: f64,
    /// The p-value of "the first row has the larger share in the first column".
    pub p_greater: f64,
}

/// Fisher's exact test: the first cell is hypergeometric given the margins; two-sided sums
/// every table at most as likely as the observed one (with R's 1e-7 relative slack for float
/// error), `greater` sums P(X ≥ a).
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook names of the formula (a, b, c, d cells; m, n sizes; x, y samples) read better than long ones"
)]
pub fn fisher_exact(table: [[u64; 2]; 2]) -> Fisher {
    let [[a, b], [c, d]] = table;
    let total = a + b + c + d;
    let row = a + b;
    let col = a + c;
    if total == 0 || row == 0 || col == 0 || row == total || col == total {
        return Fisher {
            p_two_sided: 1.0,
            p_greater: 1.0,
        };
    }
    let ln_fact = ln_factorials(total);
    let ln_choose =
        |n: u64, k: u64| ln_fact[n as usize] - ln_fact[k as usize] - ln_fact[(n - k) as usize];
    let ln_p = |x: u64| ln_choose(row, x) + ln_choose(total - row, col - x) - ln_choose(total, col);
    let lo = (col + row).saturating_sub(total);
    let hi = col.min(row);
    let observed = ln_p(a).exp();
    let mut two = 0.0;
    let mut greater = 0.0;
    for x in lo..=hi {
        let p = ln_p(x).exp();
        if p <= observed * (1.0 + 1e-7) {
            two += p;
        }
        if x >= a {
            greater += p;
        }
    }
    Fisher {
        p_two_sided: two.min(1.0),
        p_greater: greater.min(1.0),
    }
}

fn ln_factorials(n: u64) -> Vec<f64> {
    let mut out = Vec::with_capacity(n as usize + 1);
    let mut acc = 0.0;
    out.push(0.0);
    for k in 1..=n {
        acc += (k as f64).ln();
        out.push(acc);
    }
    out
}

/// The pooled two-proportion z test of x1/n1 against x2/n2.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TwoProportion {
    pub z: f64,
    pub p_two_sided: f64,
    /// The p-value of "the first proportion is the larger".
    pub p_greater: f64,
}

/// statsmodels' `proportions_ztest` (no continuity correction). Both proportions 0 (or both 1)
/// have no variance: z = 0, p = 1.
pub fn two_proportion(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<TwoProportion> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64);
    if variance <= 0.0 {
        return Some(TwoProportion {
            z: 0.0,
            p_two_sided: 1.0,
            p_greater: 1.0,
        });
    }
    let z = (p1 - p2) / variance.sqrt();
    Some(TwoProportion {
        z,
        p_two_sided: (2.0 * normal_sf(z.abs())).min(1.0),
        p_greater: normal_sf(z),
    })
}

/// P(Z > z) for a standard normal Z, accurate in the far tail (relative error ~1e-14).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function: a Taylor series of erf near 0, Lentz's continued fraction
/// beyond, and erfc(−x) = 2 − erfc(x).
#[allow(
    clippy::many_single_char_names,
    reason = "the textbook names of the formula (a, b, c, d cells; m, n sizes; x, y samples) read better than long ones"
)]
fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        for n in 1..200 {
            term *= -x2 / f64::from(n);
            let add = term / f64::from(2 * n + 1);
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        return 1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum;
    }
    if x > 27.0 {
        return 0.0;
    }
    // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated
    // with the modified Lentz method.
    let tiny = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..500 {
        let a = f64::from(k) / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / f
}

#[cfg(test)]
pub(crate) mod tests;
