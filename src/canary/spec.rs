//! What a canary is told to do (`canary:` in shipit.yml, resolved by the config loader): how
//! many machines, how long, and the judgement's bounds. The judge's own spec, so it reads no
//! config.

use std::time::Duration;

use serde::Serialize;

/// How many machines take the canary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Machines {
    Count(u32),
    /// A share of the fleet, rounded up to whole machines.
    Share(f64),
}

/// What a second inconclusive window means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Inconclusive {
    Fail,
    Pass,
}

/// The resolved `canary:` settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanarySpec {
    pub machines: Machines,
    #[serde(with = "crate::duration::text")]
    pub duration: Duration,
    #[serde(with = "crate::duration::text")]
    pub interval: Duration,
    /// Answered probes each side needs before a verdict.
    pub min_samples: u32,
    /// Significance level of the latency and error tests.
    pub alpha: f64,
    /// The largest latency increase (a share: 0.2 is 20 %) a canary may show.
    pub max_latency_increase: f64,
    /// The largest error-rate increase (a share of probes: 0.005 is 0.5 points).
    pub max_error_rate_increase: f64,
    pub inconclusive: Inconclusive,
}

impl Default for CanarySpec {
    fn default() -> Self {
        CanarySpec {
            machines: Machines::Count(1),
            duration: Duration::from_secs(120),
            interval: Duration::from_secs(1),
            min_samples: 30,
            alpha: 0.01,
            max_latency_increase: 0.2,
            max_error_rate_increase: 0.005,
            inconclusive: Inconclusive::Fail,
        }
    }
}

impl CanarySpec {
    /// Probes each side gets in one window: the window's probes alternate between the sides.
    pub fn probes_per_side(&self) -> u64 {
        let total = self.duration.as_millis() / self.interval.as_millis().max(1);
        (total / 2) as u64
    }
}
