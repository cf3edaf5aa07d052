//! The platform shipit deploys to, as a trait: the pipeline only ever talks to this. `fly` is the
//! real adapter (it spawns flyctl); the demo has an in-process one.

pub mod deploy_args;
pub mod fly;
pub mod inventory;
pub mod strategy;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::stop::Stop;
pub use strategy::Strategy;

/// An app as `status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppStatus {
    pub app: String,
    /// The app's current release version (0 when it has none).
    pub version: u64,
    pub status: String,
    pub hostname: String,
    pub machines: Vec<Machine>,
}

/// One Fly machine.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Machine {
    pub id: String,
    pub name: String,
    pub state: String,
    pub region: String,
    /// The image this machine actually runs (`config.image`).
    pub image: String,
    /// `config.metadata.fly_release_version`.
    pub release_version: Option<u64>,
    pub process_group: Option<String>,
    pub host_status: String,
    pub checks: Vec<Check>,
    /// The machine's recent events, newest first (`events` in `machines list --json`).
    pub events: Vec<MachineEvent>,
}

impl Machine {
    /// Machines that serve (or should serve) traffic; stopped machines of an autostopped app
    /// do not count against a release.
    pub fn is_started(&self) -> bool {
        self.state == "started"
    }

    /// A machine that has given up: it should be running the new image and is not.
    pub fn is_down(&self) -> bool {
        matches!(
            self.state.as_str(),
            "stopped" | "failed" | "destroyed" | "suspended"
        )
    }

    pub fn checks_passing(&self) -> bool {
        self.checks.iter().all(|c| c.status == "passing")
    }
}

/// One machine event (fly-go `MachineEvent`): a launch, start, exit...
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct MachineEvent {
    /// `launch`, `start`, `exit`, `update`...
    pub kind: String,
    pub status: String,
    pub source: String,
    /// Unix milliseconds.
    pub timestamp_ms: u64,
    /// Set on `exit` events.
    pub exit: Option<ExitEvent>,
    /// `request.restart_count`.
    pub restart_count: Option<u32>,
}

/// How a machine exited (`request.exit_event`, `MonitorEvent.exit_event` preferred).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ExitEvent {
    pub exit_code: i64,
    pub oom_killed: bool,
    pub requested_stop: bool,
    pub restarting: bool,
    pub signal: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    /// `passing`, `warning` or `critical`.
    pub status: String,
    pub output: String,
}

/// One entry of `releases --json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Release {
    pub version: u64,
    /// `running`, `complete`, `failed`, `interrupted`...
    pub status: String,
    pub in_progress: bool,
    pub image: String,
    pub created_at: String,
    pub description: String,
    pub user: String,
}

impl Release {
    /// A release with only what tests look at: version, status and image.
    #[cfg(test)]
    pub(crate) fn for_test(version: u64, status: &str, image: &str) -> Release {
        Release {
            version,
            status: status.into(),
            in_progress: false,
            image: image.into(),
            created_at: String::new(),
            description: String::new(),
            user: String::new(),
        }
    }

    /// A release that is still being rolled out (DESIGN.md: `running` or `InProgress`).
    pub fn is_in_progress(&self) -> bool {
        self.in_progress || self.status == "running" || self.status == "pending"
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogEntry {
    pub timestamp: String,
    pub level: String,
    pub instance: String,
    pub region: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SecretInfo {
    pub name: String,
    pub digest: String,
    pub status: Option<String>,
}

/// What a machine runs on (`config.guest` in `machines list --json`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, serde::Deserialize, Default)]
pub struct Guest {
    /// `shared` or `performance`.
    #[serde(default)]
    pub cpu_kind: String,
    #[serde(default)]
    pub cpus: u64,
    #[serde(default)]
    pub memory_mb: u64,
}

/// One machine as `machines list --json` shows it, with what parity compares: its process
/// group, size and the exact image (digest) it runs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MachineSpec {
    pub id: String,
    pub state: String,
    pub region: String,
    pub process_group: String,
    pub image: String,
    /// `image_ref.digest`, when flaps reports it.
    pub digest: Option<String>,
    pub guest: Guest,
}

impl MachineSpec {
    /// What `flaps.ListActive` keeps: not destroyed, not a release-command or console machine.
    pub fn is_active(&self) -> bool {
        !matches!(self.state.as_str(), "destroyed" | "destroying")
            && !matches!(
                self.process_group.as_str(),
                "fly_app_release_command" | "fly_app_console"
            )
    }
}

/// What to deploy.
#[derive(Debug, Clone, Serialize)]
pub struct DeployRequest {
    pub app: String,
    pub fly_config: Option<PathBuf>,
    pub image: Option<String>,
    pub strategy: Option<Strategy>,
    pub wait_timeout: Option<Duration>,
    pub skip_release_command: bool,
    /// shipit's own limit on the whole call.
    pub timeout: Duration,
    /// Which machines the deploy updates (the canary's `--only-machines`); empty: all of them.
    #[serde(skip_serializing_if = "MachineFilter::is_empty")]
    pub machines: MachineFilter,
    /// flyctl deploy flags passed through (`deploy_args:`, `deploy -- ARGS`), already checked
    /// by `deploy_args::parse`; appended after shipit's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<String>,
}

/// flyctl's `--only-machines` / `--exclude-machines` (comma-separated machine IDs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MachineFilter {
    pub only: Vec<String>,
    pub exclude: Vec<String>,
}

impl MachineFilter {
    pub fn is_empty(&self) -> bool {
        self.only.is_empty() && self.exclude.is_empty()
    }
}

/// The release line flyctl prints with `FLY_EMIT_RELEASE_JSON`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, serde::Deserialize)]
pub struct ReleaseLine {
    pub id: String,
    pub version: u64,
    pub image_ref: String,
}

/// How a deploy call ended. Not a verdict: the pipeline looks at the fleet and probes.
#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    pub argv: Vec<String>,
    pub exit_code: Option<i32>,
    pub release: Option<ReleaseLine>,
    pub error: Option<PlatformError>,
    /// shipit's own timeout fired and the call was stopped.
    pub timed_out: bool,
    /// The call was stopped on request (cancel, or a crashed machine).
    pub stopped: bool,
    pub elapsed: Duration,
}

impl DeployOutcome {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && !self.stopped
    }
}

/// Why a platform call failed, classified so the pipeline can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// flyctl is not installed or cannot be run.
    NotInstalled,
    NotAuthenticated,
    AppNotFound,
    /// `Unrecoverable error: timeout reached waiting for health checks`.
    HealthCheckTimeout,
    ReleaseCommandFailed,
    ImageNotFound,
    /// flyctl exited 127: interrupted.
    Interrupted,
    /// The output could not be parsed.
    Malformed,
    /// shipit's own timeout fired.
    Timeout,
    Other,
}

impl ErrorKind {
    /// The kind as `--json` error documents and receipts spell it (`not_installed`...).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::NotInstalled => "not_installed",
            ErrorKind::NotAuthenticated => "not_authenticated",
            ErrorKind::AppNotFound => "app_not_found",
            ErrorKind::HealthCheckTimeout => "health_check_timeout",
            ErrorKind::ReleaseCommandFailed => "release_command_failed",
            ErrorKind::ImageNotFound => "image_not_found",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct PlatformError {
    pub kind: ErrorKind,
    /// The command that failed, e.g. `flyctl status --json --app web`.
    pub command: String,
    /// flyctl's own words, kept.
    pub message: String,
}

impl PlatformError {
    /// A hint for the person reading the error, when there is an obvious next step.
    pub fn hint(&self) -> Option<&'static str> {
        match self.kind {
            ErrorKind::NotInstalled => Some(
                "install flyctl (https://fly.io/docs/flyctl/install/, or superfly/flyctl-actions/setup-flyctl in GitHub Actions), or set SHIPIT_FLYCTL to its path",
            ),
            ErrorKind::NotAuthenticated => Some(
                "set FLY_API_TOKEN (e.g. `fly tokens create deploy`, stored as a repository secret) or run `flyctl auth login`",
            ),
            ErrorKind::AppNotFound => Some(
                "check the `app:` name in shipit.yml, or create the app with `flyctl apps create`",
            ),
            ErrorKind::Malformed => Some(
                "flyctl printed something shipit cannot read; check `flyctl version` and report it with the output",
            ),
            _ => None,
        }
    }
}

/// A line of flyctl's output as it streams.
#[derive(Debug, Clone, Copy)]
pub enum OutputLine<'a> {
    Stdout(&'a str),
    Stderr(&'a str),
}

/// The `flyctl deploy` command line for a request: what the Fly adapter runs, what `plan` shows
/// and what the demo's platform reports, so all three agree.
pub fn flyctl_deploy_argv(req: &DeployRequest) -> Vec<String> {
    let mut argv = vec![
        "flyctl".to_owned(),
        "deploy".into(),
        "--app".into(),
        req.app.clone(),
    ];
    if let Some(c) = &req.fly_config {
        argv.extend(["--config".into(), c.display().to_string()]);
    }
    // `--local-only` among the passed-through flags builds locally instead.
    if !req.extra_args.iter().any(|a| a == "--local-only") {
        argv.push("--remote-only".into());
    }
    argv.push("--yes".into());
    if let Some(i) = &req.image {
        argv.extend(["--image".into(), i.clone()]);
    }
    if let Some(s) = &req.strategy {
        argv.extend(["--strategy".into(), s.as_str().into()]);
    }
    if !req.machines.only.is_empty() {
        argv.extend(["--only-machines".into(), req.machines.only.join(",")]);
    }
    if !req.machines.exclude.is_empty() {
        argv.extend(["--exclude-machines".into(), req.machines.exclude.join(",")]);
    }
    if let Some(w) = req.wait_timeout {
        argv.extend(["--wait-timeout".into(), format!("{}s", w.as_secs().max(1))]);
    }
    if req.skip_release_command {
        argv.push("--skip-release-command".into());
    }
    argv.extend(req.extra_args.iter().cloned());
    argv
}

/// The platform operations shipit needs. Implementations: `fly::Fly` (flyctl) and the demo's.
#[allow(async_fn_in_trait)]
pub trait Platform {
    /// What to call the platform tool in messages: `flyctl`, `demo`.
    fn name(&self) -> &str;
    /// Whether an API token is available to the platform tool.
    fn has_token(&self) -> bool;
    async fn status(&self, app: &str) -> Result<AppStatus, PlatformError>;
    async fn releases(&self, app: &str) -> Result<Vec<Release>, PlatformError>;
    async fn secrets(&self, app: &str) -> Result<Vec<SecretInfo>, PlatformError>;
    /// The app's configuration as Fly has it (`config show`: the current release's fly.toml,
    /// as JSON). Platforms without one say so.
    async fn app_config(&self, app: &str) -> Result<serde_json::Value, PlatformError> {
        Err(unsupported(self.name(), "config show", app))
    }
    /// Every machine with its size and image digest (`machines list --json`, unfiltered).
    async fn machine_specs(&self, app: &str) -> Result<Vec<MachineSpec>, PlatformError> {
        Err(unsupported(self.name(), "machines list", app))
    }
    /// Recent logs; returns what came within `wait` (flyctl never returns on an empty buffer).
    async fn logs(&self, app: &str, wait: Duration) -> Result<Vec<LogEntry>, PlatformError>;
    /// The exact argv a deploy would run, for `plan` and receipts.
    fn deploy_argv(&self, req: &DeployRequest) -> Vec<String>;
    /// Deploys, streaming output lines to `on_line`, until done, `req.timeout`, or `stop`.
    async fn deploy(
        &self,
        req: &DeployRequest,
        on_line: &mut dyn FnMut(OutputLine<'_>),
        stop: &Stop,
    ) -> DeployOutcome;
}

/// The error a platform returns for a call it does not offer.
fn unsupported(platform: &str, call: &str, app: &str) -> PlatformError {
    PlatformError {
        kind: ErrorKind::Other,
        command: format!("{platform} {call} --app {app}"),
        message: format!("the {platform} platform cannot answer `{call}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> DeployRequest {
        DeployRequest {
            app: "web".into(),
            fly_config: None,
            image: Some("registry.fly.io/web:new".into()),
            strategy: None,
            wait_timeout: None,
            skip_release_command: false,
            timeout: Duration::from_secs(60),
            machines: MachineFilter::default(),
            extra_args: Vec::new(),
        }
    }

    #[test]
    fn machine_filters_become_flyctls_flags() {
        let mut req = request();
        assert!(
            !flyctl_deploy_argv(&req)
                .iter()
                .any(|a| a.contains("machines"))
        );
        req.machines.only = vec!["148ed193b95089".into(), "d8d9e0f1a2b3c4".into()];
        let argv = flyctl_deploy_argv(&req);
        let at = argv.iter().position(|a| a == "--only-machines").unwrap();
        assert_eq!(argv[at + 1], "148ed193b95089,d8d9e0f1a2b3c4");
        req.machines = MachineFilter {
            only: Vec::new(),
            exclude: vec!["148ed193b95089".into()],
        };
        let argv = flyctl_deploy_argv(&req);
        let at = argv.iter().position(|a| a == "--exclude-machines").unwrap();
        assert_eq!(argv[at + 1], "148ed193b95089");
        assert!(!argv.contains(&"--only-machines".to_owned()));
        let json = serde_json::to_value(&req).unwrap();
        assert_eq!(json["machines"]["exclude"][0], "148ed193b95089");
        assert!(
            serde_json::to_value(request())
                .unwrap()
                .get("machines")
                .is_none()
        );
    }
}
