//! The shape of shipit.yml as written, one struct per mapping, unknown keys rejected. Nothing
//! here is validated beyond types: `config::load` turns it into the resolved model.

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::duration::Dur;
use crate::scalar::{OrderedMap, Text};

/// `environments:`: environment name -> service name -> where it deploys, in file order (and
/// the reserved `database:` key, read by `config/database.rs`).
pub(crate) type RawEnvironments = OrderedMap<Spanned<super::database::RawEnvironment>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub version: Spanned<i64>,
    #[serde(default)]
    pub defaults: Option<RawSettings>,
    #[serde(default)]
    pub apps: Option<OrderedMap<Spanned<RawSettings>>>,
    #[serde(default)]
    pub environments: Option<Spanned<RawEnvironments>>,
    #[serde(default)]
    pub notify: Option<Vec<Spanned<RawChannel>>>,
    #[serde(default)]
    pub evidence: Option<RawEvidence>,
    /// `gates:` (`config/gates.rs`).
    #[serde(default)]
    pub gates: Option<super::gates::RawGates>,
    #[serde(default)]
    pub parity: Option<super::parity::RawParity>,
    #[serde(default)]
    pub promote: Option<super::promote::RawPromote>,
    #[serde(default)]
    pub monitor: Option<super::monitor::RawMonitor>,
    #[serde(default)]
    pub metrics: Option<super::monitor::RawMetrics>,
    #[serde(default)]
    pub store: Option<Spanned<super::store::RawStore>>,
    pub cost: Option<super::cost::RawCost>,
}

/// Settings that `defaults:` sets for every app and an app may override.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    pub strategy: Option<Spanned<String>>,
    pub health: Option<RawHealth>,
    pub regression: Option<RawRegression>,
    pub rollback: Option<Spanned<String>>,
    pub watch: Option<Dur>,
    pub smoke: Option<Spanned<String>>,
    pub deploy_timeout: Option<Dur>,
    pub wait_timeout: Option<Dur>,
    pub skip_release_command_on_rollback: Option<bool>,
    pub canary: Option<super::canary::RawCanary>,
    pub logs: Option<super::monitor::RawLogs>,
    /// `on_partial:` (`config/partial.rs`); under `defaults:` only.
    pub on_partial: Option<Spanned<String>>,
    /// `deploy_args:` (`config/deploy_args.rs`).
    pub deploy_args: Option<Vec<Spanned<Text>>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    pub path: Option<Spanned<String>>,
    pub interval: Option<Dur>,
    pub timeout: Option<Dur>,
    pub healthy_after: Option<Spanned<i64>>,
    pub unhealthy_after: Option<Spanned<i64>>,
    pub deadline: Option<Dur>,
    pub expect: Option<Vec<Spanned<String>>>,
    pub headers: Option<OrderedMap<Text>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegression {
    pub probes: Option<Spanned<i64>>,
    pub p95_ratio: Option<Spanned<f64>>,
    pub p95_slack: Option<Dur>,
    pub max_error_rate: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    pub app: Option<Spanned<String>>,
    pub url: Option<Spanned<Text>>,
    pub fly_config: Option<Spanned<String>>,
    pub image: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawChannel {
    Slack(RawChatChannel),
    Discord(RawChatChannel),
    Teams(RawChatChannel),
    Pagerduty(RawPagerDuty),
    Webhook(RawWebhook),
    #[serde(rename = "github_issue")]
    GithubIssue(RawGithubIssue),
}

/// `github_issue:` every key optional: under Actions the repository, API URL and token come
/// from `GITHUB_REPOSITORY`, `GITHUB_API_URL` and `GITHUB_TOKEN`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGithubIssue {
    pub on: Option<Vec<Spanned<String>>>,
    pub repository: Option<Spanned<String>>,
    pub api_url: Option<Text>,
    pub token: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChatChannel {
    pub webhook_url: Spanned<Text>,
    pub on: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPagerDuty {
    pub routing_key: Spanned<Text>,
    pub on: Option<Vec<Spanned<String>>>,
    /// Events API v2 endpoint; configurable so tests and proxies can point elsewhere.
    pub events_url: Option<Text>,
    /// Change Events endpoint.
    pub change_url: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub url: Spanned<Text>,
    pub secret: Option<Text>,
    pub on: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEvidence {
    pub log: Option<String>,
    pub runs: Option<String>,
}
