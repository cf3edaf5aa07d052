//! The record of one run: what was checked, what was seen, what was decided and done. The
//! pipeline and the spot-check commands fill it; evidence, notifications and the GitHub job
//! summary only read it.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::exit::Outcome;

/// What kind of run this was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Deploy,
    Rollback,
    Health,
    Smoke,
    Baseline,
    Demo,
    Cost,
    /// `shipit db verify`.
    DbVerify,
    /// `shipit db backup-check`.
    BackupCheck,
    Parity,
    Promote,
    Drill,
    Check,
    Watch,
}

impl RunKind {
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Deploy => "deploy",
            RunKind::Rollback => "rollback",
            RunKind::Health => "health",
            RunKind::Smoke => "smoke",
            RunKind::Baseline => "baseline",
            RunKind::Demo => "demo",
            RunKind::Cost => "cost",
            RunKind::DbVerify => "db verify",
            RunKind::BackupCheck => "backup-check",
            RunKind::Parity => "parity",
            RunKind::Promote => "promote",
            RunKind::Drill => "drill",
            RunKind::Check => "check",
            RunKind::Watch => "watch",
        }
    }
}

/// A release as shipit refers to it: Fly's version number and the image the machines run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRef {
    pub version: Option<u64>,
    pub image: String,
}

/// One gate's rule, what was observed, and the verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateRecord {
    /// `health`, `regression`, `smoke`, `fleet`, `watch`, `rollback health`...
    pub name: String,
    pub rule: String,
    pub observed: String,
    pub verdict: Verdict,
    /// Extra lines: failed conditions, per-probe results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    Skipped,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
        }
    }
}

/// A step of the pipeline with its timing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// How one service's part of the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceResult {
    /// The new release passed every gate (or the spot check found it healthy).
    Succeeded,
    /// Refused before any remote change.
    FailedBeforeChange,
    /// Failed, and the previous release is live and healthy again.
    RolledBack,
    /// Failed, and the way back failed too or there was none.
    RollbackFailed,
    /// Not started because an earlier service failed.
    NotStarted,
    Cancelled,
    /// A spot check found a problem (health, smoke).
    Unhealthy,
    /// The plan only; nothing was changed.
    Planned,
}

impl ServiceResult {
    pub fn name(self) -> &'static str {
        match self {
            ServiceResult::Succeeded => "succeeded",
            ServiceResult::FailedBeforeChange => "failed_before_change",
            ServiceResult::RolledBack => "rolled_back",
            ServiceResult::RollbackFailed => "rollback_failed",
            ServiceResult::NotStarted => "not_started",
            ServiceResult::Cancelled => "cancelled",
            ServiceResult::Unhealthy => "unhealthy",
            ServiceResult::Planned => "planned",
        }
    }
}

/// One service's part of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub env: String,
    pub service: String,
    pub app: String,
    pub url: String,
    pub result: ServiceResult,
    /// What ran before the run (the rollback target).
    pub from: Option<ReleaseRef>,
    /// What the run deployed.
    pub to: Option<ReleaseRef>,
    /// What runs now, as far as shipit knows at the end.
    pub live: Option<ReleaseRef>,
    pub gates: Vec<GateRecord>,
    pub steps: Vec<StepRecord>,
    /// Every flyctl command line that changed something, as argv, program name first
    /// (`["flyctl", "deploy", "--app", ...]`).
    pub flyctl: Vec<Vec<String>>,
    /// The decision taken after the deploy call and why: "healthy: go on", "roll back: ...".
    pub decision: Option<String>,
    pub reason: Option<String>,
    /// Problems seen, one line each.
    pub issues: Vec<String>,
    /// What shipit did, one line each.
    pub actions: Vec<String>,
    pub warnings: Vec<String>,
    /// Latency samples measured in the run (the baseline's, the new release's, a spot check's),
    /// kept for trends: the dashboard charts them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<LatencySample>,
    /// For a promotion: the run that proved this image in the environment it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proved_by: Option<String>,
    /// A canary deploy's judgement (`strategy: canary`): both sides' figures and the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::canary::CanaryReport>,
    /// For a drill: what it measured for this service (`drill::DrillRecord`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<crate::drill::DrillRecord>,
}

/// One latency sample of a run: what was measured, when, and its figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LatencySample {
    /// `baseline` (the live release before a deploy), `release` (the new release after it),
    /// `check` (a spot check or a scheduled check).
    pub what: String,
    /// RFC 3339.
    pub at: String,
    #[serde(flatten)]
    pub stats: crate::probe::stats::LatencyStats,
}

impl ServiceRecord {
    pub fn new(env: &str, service: &str, app: &str, url: &str) -> ServiceRecord {
        ServiceRecord {
            env: env.to_owned(),
            service: service.to_owned(),
            app: app.to_owned(),
            url: url.to_owned(),
            result: ServiceResult::Planned,
            from: None,
            to: None,
            live: None,
            gates: Vec::new(),
            steps: Vec::new(),
            flyctl: Vec::new(),
            decision: None,
            reason: None,
            issues: Vec::new(),
            actions: Vec::new(),
            warnings: Vec::new(),
            latency: Vec::new(),
            proved_by: None,
            canary: None,
            drill: None,
        }
    }
}

/// A whole run: one command invocation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub kind: RunKind,
    pub env: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// The event that sums the run up for notifications.
    pub event: Event,
    pub services: Vec<ServiceRecord>,
    /// One line: what happened, for the last line of output and the notification title.
    pub summary: String,
    /// Under GitHub Actions: the run's URL, commit and actor.
    pub run_url: Option<String>,
    pub sha: Option<String>,
    pub actor: Option<String>,
}

impl RunRecord {
    /// The run URL, commit and actor from the GitHub Actions environment, when there is one.
    pub fn github_context() -> (Option<String>, Option<String>, Option<String>) {
        use crate::env_vars::{
            GITHUB_ACTOR, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_SERVER_URL, GITHUB_SHA,
            non_empty,
        };
        let url = match (
            non_empty(GITHUB_SERVER_URL),
            non_empty(GITHUB_REPOSITORY),
            non_empty(GITHUB_RUN_ID),
        ) {
            (Some(server), Some(repo), Some(id)) => {
                Some(format!("{server}/{repo}/actions/runs/{id}"))
            }
            _ => None,
        };
        (url, non_empty(GITHUB_SHA), non_empty(GITHUB_ACTOR))
    }
}
