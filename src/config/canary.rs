//! `canary:` under `defaults:` or `apps.NAME:` (shipit's own `strategy: canary`): how many
//! machines get the new release first, how long and how often both sides are probed, and the
//! bounds of the judgement (`crate::canary`). An app's keys override the defaults key by key.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{ConfigError, Loader};
use crate::canary::{CanarySpec, Inconclusive, Machines};
use crate::duration::Dur;

/// The `canary:` block as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCanary {
    pub machines: Option<Spanned<RawAmount>>,
    pub duration: Option<Spanned<Dur>>,
    pub interval: Option<Spanned<Dur>>,
    pub min_samples: Option<Spanned<i64>>,
    pub alpha: Option<Spanned<f64>>,
    pub max_latency_increase: Option<Spanned<RawAmount>>,
    pub max_error_rate_increase: Option<Spanned<RawAmount>>,
    pub inconclusive: Option<Spanned<String>>,
}

/// A number (`1`, `0.2`) or a percentage written as text (`"25%"`).
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum RawAmount {
    Number(f64),
    Text(String),
}

impl RawAmount {
    /// The value as a share when written `N%`, else the number as written.
    fn read(&self) -> Result<(f64, bool), String> {
        match self {
            RawAmount::Number(n) => Ok((*n, false)),
            RawAmount::Text(t) => match t.trim().strip_suffix('%') {
                Some(p) => p
                    .trim()
                    .parse::<f64>()
                    .map(|p| (p / 100.0, true))
                    .map_err(|_| format!("`{t}` is not a percentage")),
                None => t
                    .trim()
                    .parse::<f64>()
                    .map(|n| (n, false))
                    .map_err(|_| format!("`{t}` is not a number or a percentage")),
            },
        }
    }
}

/// Resolves the defaults' and the app's `canary:` blocks, validating every key.
pub(super) fn resolve(
    l: &Loader<'_>,
    d: Option<&RawCanary>,
    a: Option<&RawCanary>,
) -> Result<CanarySpec, ConfigError> {
    fn get<'r, T>(
        d: Option<&'r RawCanary>,
        a: Option<&'r RawCanary>,
        f: impl Fn(&'r RawCanary) -> Option<T>,
    ) -> Option<T> {
        a.and_then(&f).or_else(|| d.and_then(&f))
    }
    let mut spec = CanarySpec::default();
    let amount = |s: &Spanned<RawAmount>, key: &str| {
        s.value
            .read()
            .map_err(|m| l.err(s, format!("`canary.{key}`: {m}")))
    };
    if let Some(m) = get(d, a, |c| c.machines.as_ref()) {
        spec.machines = match amount(m, "machines")? {
            (share, true) if share > 0.0 && share < 1.0 => Machines::Share(share),
            (n, false) if n >= 1.0 && n.fract() == 0.0 && n <= 10_000.0 => {
                Machines::Count(n as u32)
            }
            _ => {
                return Err(l
                    .err(m, "`canary.machines` must be a whole number of machines (1 or more) or a share of the fleet between 0% and 100%")
                    .hint("e.g. `machines: 1` or `machines: \"25%\"`"));
            }
        };
    }
    if let Some(dur) = get(d, a, |c| c.duration.as_ref()) {
        if dur.value.0.is_zero() {
            return Err(l
                .err(dur, "`canary.duration` must be longer than 0s")
                .hint("e.g. `duration: 2m`"));
        }
        spec.duration = dur.value.0;
    }
    if let Some(i) = get(d, a, |c| c.interval.as_ref()) {
        if i.value.0.is_zero() || i.value.0 > spec.duration {
            return Err(l
                .err(
                    i,
                    "`canary.interval` must be longer than 0s and at most `canary.duration`",
                )
                .hint("e.g. `interval: 1s`"));
        }
        spec.interval = i.value.0;
    }
    if let Some(n) = get(d, a, |c| c.min_samples.as_ref()) {
        if !(5..=10_000).contains(&n.value) {
            return Err(l
                .err(
                    n,
                    format!(
                        "`canary.min_samples: {}` must be between 5 and 10000",
                        n.value
                    ),
                )
                .hint("30 answered probes per side is the default"));
        }
        spec.min_samples = n.value as u32;
    }
    if let Some(p) = get(d, a, |c| c.alpha.as_ref()) {
        if !(p.value > 0.0 && p.value <= 0.5) {
            return Err(l
                .err(
                    p,
                    format!(
                        "`canary.alpha: {}` must be above 0 and at most 0.5",
                        p.value
                    ),
                )
                .hint(
                    "0.01 means a 1 % chance of failing a canary that is as good as the baseline",
                ));
        }
        spec.alpha = p.value;
    }
    if let Some(m) = get(d, a, |c| c.max_latency_increase.as_ref()) {
        let (v, _) = amount(m, "max_latency_increase")?;
        if !(v > 0.0 && v <= 10.0) {
            return Err(l
                .err(
                    m,
                    "`canary.max_latency_increase` must be above 0% and at most 1000%",
                )
                .hint("e.g. `max_latency_increase: 20%` (or 0.2)"));
        }
        spec.max_latency_increase = v;
    }
    if let Some(m) = get(d, a, |c| c.max_error_rate_increase.as_ref()) {
        let (v, _) = amount(m, "max_error_rate_increase")?;
        if !(0.0..=1.0).contains(&v) {
            return Err(l
                .err(
                    m,
                    "`canary.max_error_rate_increase` must be between 0% and 100%",
                )
                .hint("e.g. `max_error_rate_increase: 0.5%` (or 0.005)"));
        }
        spec.max_error_rate_increase = v;
    }
    if let Some(i) = get(d, a, |c| c.inconclusive.as_ref()) {
        spec.inconclusive = match i.value.as_str() {
            "fail" => Inconclusive::Fail,
            "pass" => Inconclusive::Pass,
            other => {
                return Err(l
                    .err(i, format!("`canary.inconclusive: {other}` is not valid"))
                    .hint("use `fail` (the default) or `pass`"));
            }
        };
    }
    let per_side = spec.probes_per_side();
    if per_side < u64::from(spec.min_samples) {
        let at = get(d, a, |c| {
            c.duration
                .as_ref()
                .map(|s| (s.referenced.line(), s.referenced.column()))
        })
        .or_else(|| {
            get(d, a, |c| {
                c.min_samples
                    .as_ref()
                    .map(|s| (s.referenced.line(), s.referenced.column()))
            })
        })
        .unwrap_or((0, 0));
        return Err(ConfigError::at(
            l.path,
            l.text,
            at.0,
            at.1,
            format!(
                "the canary window is too short: {} every {} gives {per_side} probes per side, and `canary.min_samples` is {}",
                crate::duration::format(spec.duration),
                crate::duration::format(spec.interval),
                spec.min_samples
            ),
        )
        .hint("lengthen `canary.duration`, shorten `canary.interval`, or lower `canary.min_samples`"));
    }
    Ok(spec)
}
