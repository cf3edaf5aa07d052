//! The record of one run: what was checked, what was seen, what was decided and done. The
//! pipeline and the spot-check commands fill it; evidence, notifications and the GitHub job
//! summary only read it.

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::{millis, short};
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

impl ReleaseRef {
    /// The short form, where the image is said elsewhere: `v42`, or the image when Fly gave no
    /// version.
    pub fn short(&self) -> String {
        match self.version {
            Some(v) => format!("v{v}"),
            None => self.image.clone(),
        }
    }
}

/// The one wording of a release: `v42 (registry.fly.io/app:tag)`, or the image alone. Every
/// printer, summary, log entry, notification and page says a release this way (or its
/// [`ReleaseRef::short`] form), so a reader meets one wording everywhere.
impl fmt::Display for ReleaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "v{v} ({})", self.image),
            None => f.write_str(&self.image),
        }
    }
}

/// A release that may be unknown: the [`ReleaseRef`] wording, or `unknown`.
pub struct Release<'a>(pub Option<&'a ReleaseRef>);

impl fmt::Display for Release<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => r.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}

/// A service's result in words (`ServiceResult::words`).
impl fmt::Display for ServiceResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

/// `v41 → v42`, `v41 (unchanged)` when nothing was deployed, `unchanged` when neither is known.
pub fn release_change(from: Option<&ReleaseRef>, to: Option<&ReleaseRef>) -> String {
    let short = |r: Option<&ReleaseRef>| r.map_or_else(|| "unknown".to_owned(), ReleaseRef::short);
    match (from, to) {
        (None, None) => "unchanged".to_owned(),
        (Some(_), None) => format!("{} (unchanged)", short(from)),
        _ => format!("{} → {}", short(from), short(to)),
    }
}

/// `registry.fly.io/app:deployment-01 → registry.fly.io/app:deployment-02`, when known.
pub fn image_change(from: Option<&ReleaseRef>, to: Option<&ReleaseRef>) -> Option<String> {
    match (from, to) {
        (Some(f), Some(t)) => Some(format!("{} → {}", f.image, t.image)),
        (None, Some(t)) => Some(format!("? → {}", t.image)),
        (Some(f), None) => Some(f.image.clone()),
        (None, None) => None,
    }
}

/// A run's duration as a person writes it: `850ms`, `12.3s`, `2m 3s`, `1h 4m`.
pub fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 60_000 {
        let tenths = ms / 100;
        return if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        };
    }
    let secs = ms / 1000;
    if secs < 3600 {
        return format!("{}m {}s", secs / 60, secs % 60);
    }
    format!("{}h {}m", secs / 3600, (secs % 3600) / 60)
}

/// A commit as shown: its first seven hex digits.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
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
    /// The mark a gate's verdict gets beside its name: `health ✗`.
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Pass => "✓",
            Verdict::Warn => "!",
            Verdict::Fail => "✗",
            Verdict::Skipped => "–",
        }
    }

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
    /// The result in words, as every output says it: `rolled back`, `failed before any change`.
    pub fn words(self) -> &'static str {
        match self {
            ServiceResult::Succeeded => "succeeded",
            ServiceResult::FailedBeforeChange => "failed before any change",
            ServiceResult::RolledBack => "rolled back",
            ServiceResult::RollbackFailed => "rollback failed",
            ServiceResult::NotStarted => "not started",
            ServiceResult::Cancelled => "cancelled",
            ServiceResult::Unhealthy => "unhealthy",
            ServiceResult::Planned => "planned",
        }
    }

    /// The machine name (`rolled_back`), as in the JSON documents and the dashboard's badges.
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
    /// For a drill: what it measured for this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillRecord>,
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
    pub stats: LatencyStats,
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

/// Latency and error figures of a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Probes in the sample.
    pub count: u32,
    /// Probes that did not pass.
    pub failures: u32,
    /// `failures / count`, 0 for an empty sample.
    pub error_rate: f64,
    /// Probes that got an answer; the latency figures are over these.
    #[serde(default)]
    pub answered: u32,
    #[serde(rename = "p50_ms", with = "millis")]
    pub p50: Duration,
    #[serde(rename = "p95_ms", with = "millis")]
    pub p95: Duration,
    #[serde(rename = "max_ms", with = "millis")]
    pub max: Duration,
}

impl LatencyStats {
    /// `10 probes, 1 failed (10%), p50 12ms, p95 40ms, max 41ms`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} probes, {} failed ({})",
            self.count,
            self.failures,
            percent(self.error_rate)
        );
        if self.answered > 0 {
            let _ = write!(
                text,
                ", p50 {}, p95 {}, max {}",
                short(self.p50),
                short(self.p95),
                short(self.max)
            );
        } else {
            text.push_str(", no answers");
        }
        text
    }
}

/// A count with its noun: `1 service`, `2 services`, `0 notification channels`.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A share as a percentage: `0%`, `5%`, `12.5%`.
pub fn percent(share: f64) -> String {
    let text = format!("{:.1}", share * 100.0);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// What one service's drill measured. Times are milliseconds from the start of the step named;
/// `None` when the step did not get that far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRecord {
    /// The release that was live when the drill began, and the one it restores.
    pub original: ReleaseRef,
    /// The previous good release it rolled back to.
    pub rolled_back_to: ReleaseRef,
    /// Time to detect: zero, the failure is planned. Kept so a drill's figures line up with an
    /// incident's (detect, roll back, healthy, restore).
    pub detect_ms: u64,
    /// The rollback deploy call (`flyctl deploy --image <previous>`), start to end.
    pub rollback_ms: Option<u64>,
    /// From the start of the rollback until the previous release passed its health gate.
    pub rollback_healthy_ms: Option<u64>,
    /// The forward deploy of the original image through the full pipeline, start to end.
    pub restore_ms: Option<u64>,
    /// The previous release passed its health gate after the rollback.
    pub rollback_healthy: bool,
    /// The original image passed every gate of the forward deploy (`None`: not attempted).
    pub restore_healthy: Option<bool>,
    /// The commands that finish the drill by hand, when it did not finish by itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_by_hand: Vec<String>,
}

impl DrillRecord {
    /// Every step ended healthy: rolled back, old release healthy, original restored healthy.
    pub fn healthy(&self) -> bool {
        self.rollback_healthy && self.restore_healthy == Some(true)
    }
}

/// One line per gate that failed or warned: `health: [STATUS] == 200 · observed 503 (fail)`.
pub fn gate_problems(s: &ServiceRecord) -> Vec<String> {
    s.gates
        .iter()
        .filter(|g| matches!(g.verdict, Verdict::Fail | Verdict::Warn))
        .map(|g| {
            format!(
                "{}: {} · observed {} ({})",
                g.name,
                g.rule,
                g.observed,
                g.verdict.name()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(v: u64) -> ReleaseRef {
        ReleaseRef {
            version: Some(v),
            image: format!("img:{v}"),
        }
    }

    #[test]
    fn releases_have_one_wording() {
        assert_eq!(r(42).to_string(), "v42 (img:42)");
        assert_eq!(r(42).short(), "v42");
        let unversioned = ReleaseRef {
            version: None,
            image: "img:x".into(),
        };
        assert_eq!(unversioned.to_string(), "img:x");
        assert_eq!(unversioned.short(), "img:x");
        assert_eq!(Release(None).to_string(), "unknown");
        assert_eq!(Release(Some(&r(3))).to_string(), "v3 (img:3)");
        assert_eq!(ServiceResult::RolledBack.to_string(), "rolled back");
        assert_eq!(Verdict::Fail.mark(), "✗");
    }

    #[test]
    fn release_changes() {
        assert_eq!(release_change(Some(&r(41)), Some(&r(42))), "v41 → v42");
        assert_eq!(release_change(Some(&r(41)), None), "v41 (unchanged)");
        assert_eq!(release_change(None, None), "unchanged");
        assert_eq!(
            image_change(Some(&r(41)), Some(&r(42))).unwrap(),
            "img:41 → img:42"
        );
    }

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(12_340), "12.3s");
        assert_eq!(human_duration(5_000), "5s");
        assert_eq!(human_duration(123_000), "2m 3s");
        assert_eq!(human_duration(3_840_000), "1h 4m");
    }
}
