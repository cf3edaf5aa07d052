//! What a service's health gate and regression gate are told to do, as the config resolves it:
//! the probe's own spec, so the probe, the gates and the monitor read it without reaching into
//! the config loader (which builds these from `defaults:` and each service's keys).

use std::time::Duration;

use crate::probe::condition::Condition;
use crate::scalar::Text;

/// Where a health path came from, for `config check` and `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathSource {
    Config,
    FlyToml,
    Default,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct HealthSpec {
    pub path: String,
    pub path_source: PathSource,
    #[serde(with = "crate::duration::text")]
    pub interval: Duration,
    /// One probe's limit.
    #[serde(with = "crate::duration::text")]
    pub timeout: Duration,
    pub healthy_after: u32,
    pub unhealthy_after: u32,
    #[serde(with = "crate::duration::text")]
    pub deadline: Duration,
    pub expect: Vec<Condition>,
    pub headers: Vec<(String, Text)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RegressionSpec {
    /// How many probes the baseline and the new release's sample take.
    pub probes: u32,
    /// The new p95 may be at most `p95_ratio × baseline p95 + p95_slack`; `None` turns the
    /// latency comparison off.
    pub p95_ratio: Option<f64>,
    #[serde(with = "crate::duration::text")]
    pub p95_slack: Duration,
    /// Largest share of failed probes (0 to 1) the new release's sample may have.
    pub max_error_rate: f64,
}
