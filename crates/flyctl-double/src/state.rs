//! The scripted world the double pretends to talk to: apps, releases, machines and the queue of
//! deploy outcomes, kept in one JSON file that tests write and read back.
//!
//! Every read-modify-write holds an exclusive `flock` on a sidecar `<state>.lock` (reads a shared
//! one) and replaces the file with a rename, so a `status` run while a `deploy` is updating machines sees either
//! the old or the new document, never a torn one. Keys the double does not know are kept
//! (`extra`) so tests can annotate the file without losing their notes on write-back.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Failure;

/// The whole state file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Whether commands other than `version` need a token; absent means true, like real flyctl.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_required: Option<bool>,
    /// The version `version` reports and deploys stamp into machine metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flyctl_version: Option<String>,
    /// The e-mail recorded as the author of releases that `deploy` creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default)]
    pub apps: BTreeMap<String, App>,
    /// Scripted deploy outcomes, consumed front first; none left means `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploys: Option<Vec<DeployScript>>,
    /// Command names whose JSON output is cut in half.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub malformed: Vec<String>,
    /// Command names (as for `malformed`; not `deploy`, which has its `hang` outcome) that
    /// never answer: a flyctl stuck on the API, until it is killed or interrupted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hang: Vec<String>,
    /// Milliseconds every command but `version` waits first, like a call to Fly's API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_latency_ms: Option<u64>,
    /// Tokens that may not read logs (deploy tokens, as flyctl's deploy code warns): `logs`
    /// called with one of them fails as the logs API refuses it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_denied_tokens: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl State {
    pub fn flyctl_version(&self) -> &str {
        self.flyctl_version
            .as_deref()
            .unwrap_or(crate::FLYCTL_VERSION)
    }

    pub fn is_malformed(&self, command: &str) -> bool {
        self.malformed.iter().any(|c| c == command)
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct App {
    #[serde(default = "default_org")]
    pub org: String,
    /// App status as the API reports it (`deployed`, `suspended`, `pending`).
    #[serde(default = "default_app_status")]
    pub status: String,
    /// The API's `deployed` flag; derived from releases and machines when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default)]
    pub releases: Vec<Release>,
    #[serde(default)]
    pub machines: Vec<Machine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_org() -> String {
    "personal".to_owned()
}

fn default_app_status() -> String {
    "deployed".to_owned()
}

impl App {
    /// Machines `flaps.ListActive` returns: not destroyed, not release-command or console VMs.
    pub fn active_machines(&self) -> impl Iterator<Item = &Machine> {
        self.machines.iter().filter(|m| m.is_active())
    }

    pub fn release(&self, version: u64) -> Option<&Release> {
        self.releases.iter().find(|r| r.version == version)
    }

    pub fn max_release_version(&self) -> u64 {
        self.releases.iter().map(|r| r.version).max().unwrap_or(0)
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Release {
    /// Opaque id; releases written by hand may leave it out and get a stable derived one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub version: u64,
    /// `running`, `complete`, `failed` or `interrupted`.
    #[serde(default = "default_release_status")]
    pub status: String,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The error text flyctl stores in release metadata when a deploy fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The fly.toml this release was deployed with, as JSON (its `configDefinition`), which
    /// `config show` prints; a deploy stores the file it read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_release_status() -> String {
    "complete".to_owned()
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_machine_state")]
    pub state: String,
    #[serde(default)]
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_status: Option<String>,
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Rendered as-is into `config.services[].autostop` (true, false or a string like "suspend").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostop: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cordoned: Option<bool>,
    /// `config.guest.cpu_kind`: `shared` (default) or `performance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_kind: Option<String>,
    /// `config.guest.cpus` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<i64>,
    /// `config.guest.memory_mb` (default 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<i64>,
    /// `config.services[].min_machines_running` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_machines_running: Option<i64>,
    /// `config.services[].concurrency` (`{"type": "requests", "soft_limit": 20, "hard_limit":
    /// 25}`), rendered as-is; absent when fly.toml sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Value>,
    /// `config.services[].autostart` (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart: Option<bool>,
    /// `config.mounts[]`: the volumes this machine mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// `config.guest`; absent means flyctl's `shared-cpu-1x` with 512 MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<Guest>,
    /// The machine's events, newest first; absent: one event matching its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<MachineEvent>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `config.mounts[]` (fly-go `MachineMount`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Mount {
    pub volume: String,
    #[serde(default = "default_mount_path")]
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_gb: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One fly-go `MachineEvent`; the exit fields fill `request.exit_event` of an `exit` event.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct MachineEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub status: String,
    #[serde(default = "default_event_source")]
    pub source: String,
    /// Unix milliseconds.
    pub timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub oom_killed: bool,
    #[serde(default)]
    pub requested_stop: bool,
    #[serde(default)]
    pub restarting: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_count: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_mount_path() -> String {
    "/data".to_owned()
}

/// One volume as `volumes list --json` prints it (fly-go `Volume`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    #[serde(default = "default_volume_name")]
    pub name: String,
    /// `created` by default; `pending_destroy` and friends are hidden without `--all`.
    #[serde(default = "default_volume_state")]
    pub state: String,
    #[serde(default = "default_volume_size")]
    pub size_gb: i64,
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// The machine it is attached to; absent or null when unattached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_machine_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_retention: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_backup_enabled: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_volume_name() -> String {
    "data".to_owned()
}

fn default_volume_state() -> String {
    "created".to_owned()
}

fn default_volume_size() -> i64 {
    1
}

impl Volume {
    /// States `flaps.GetVolumes` drops unless `--all` is given (`flaps/flaps_volumes.go`).
    pub fn is_being_destroyed(&self) -> bool {
        matches!(
            self.state.as_str(),
            "scheduling_destroy"
                | "fork_cleanup"
                | "waiting_for_detach"
                | "pending_destroy"
                | "destroying"
        )
    }
}

/// `fly.MachineGuest`: what a machine runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guest {
    #[serde(default = "default_cpu_kind")]
    pub cpu_kind: String,
    #[serde(default = "default_cpus")]
    pub cpus: u64,
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
}

impl Default for Guest {
    fn default() -> Self {
        Guest {
            cpu_kind: default_cpu_kind(),
            cpus: default_cpus(),
            memory_mb: default_memory_mb(),
        }
    }
}

impl Machine {
    /// The machine's guest: `guest` when set (a deploy's `[[vm]]` sets it), else the flat
    /// `cpu_kind`/`cpus`/`memory_mb` a state file may give, else flyctl's `shared-cpu-1x`.
    pub fn effective_guest(&self) -> Guest {
        self.guest.clone().unwrap_or_else(|| Guest {
            cpu_kind: self.cpu_kind.clone().unwrap_or_else(default_cpu_kind),
            cpus: self
                .cpus
                .and_then(|c| u64::try_from(c).ok())
                .unwrap_or_else(default_cpus),
            memory_mb: self
                .memory_mb
                .and_then(|m| u64::try_from(m).ok())
                .unwrap_or_else(default_memory_mb),
        })
    }
}

fn default_cpu_kind() -> String {
    "shared".to_owned()
}

fn default_cpus() -> u64 {
    1
}

fn default_memory_mb() -> u64 {
    512
}

fn default_event_source() -> String {
    "flyd".to_owned()
}

fn default_region() -> String {
    "iad".to_owned()
}

fn default_machine_state() -> String {
    "started".to_owned()
}

impl Machine {
    pub fn process_group(&self) -> &str {
        self.process_group.as_deref().unwrap_or("app")
    }

    pub fn host_status(&self) -> &str {
        self.host_status.as_deref().unwrap_or("ok")
    }

    /// `fly.Machine.IsActive` plus the release-command and console exclusions of `ListActive`.
    pub fn is_active(&self) -> bool {
        self.state != "destroyed"
            && self.state != "destroying"
            && self.process_group() != "fly_app_release_command"
            && self.process_group() != "fly_app_console"
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Secret {
    pub name: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub instance: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One scripted deploy outcome; see the crate docs for what each `outcome` does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployScript {
    #[serde(default = "default_outcome")]
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
    /// Exit status of the failing release command (`release_command` outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Build output to print before the deploy acts: this many KiB of lines, the first holding
    /// a byte that is not UTF-8 (as a Latin-1 build tool prints `é`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_kb: Option<usize>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_outcome() -> String {
    "ok".to_owned()
}

impl Default for DeployScript {
    fn default() -> Self {
        DeployScript {
            outcome: default_outcome(),
            updated: None,
            machine_state: None,
            check_status: None,
            wait_ms: None,
            exit_code: None,
            noise_kb: None,
            extra: Map::new(),
        }
    }
}

/// Where the state lives, resolved to an absolute path once at start-up.
pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(path: PathBuf) -> Store {
        Store { path }
    }

    /// Reads the state under a shared lock (readers overlap; a writer waits for them and
    /// they for it); a missing or empty file is an empty world.
    pub fn load(&self) -> Result<State, Failure> {
        let _lock = self.lock(libc::LOCK_SH)?;
        self.read()
    }

    /// Reads, lets `change` edit, and writes back, all under one exclusive lock.
    pub fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> Result<R, Failure> {
        let _lock = self.lock(libc::LOCK_EX)?;
        let mut state = self.read()?;
        let result = change(&mut state);
        self.write(&state)?;
        Ok(result)
    }

    fn read(&self) -> Result<State, Failure> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => {
                return Err(internal(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )));
            }
        };
        if text.trim().is_empty() {
            return Ok(State::default());
        }
        serde_json::from_str(&text)
            .map_err(|e| internal(format!("invalid state file {}: {e}", self.path.display())))
    }

    fn write(&self, state: &State) -> Result<(), Failure> {
        let mut text = serde_json::to_string_pretty(state)
            .map_err(|e| internal(format!("cannot encode state: {e}")))?;
        text.push('\n');
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let name = self
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let written = File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        written.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            internal(format!("cannot write {}: {e}", self.path.display()))
        })
    }

    fn lock(&self, mode: libc::c_int) -> Result<Lock, Failure> {
        let mut lock_path = self.path.clone().into_os_string();
        lock_path.push(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                internal(format!(
                    "cannot open {}: {e}",
                    Path::new(&lock_path).display()
                ))
            })?;
        loop {
            // SAFETY: flock on a descriptor we own; it is released when `file` closes.
            let rc = unsafe { libc::flock(file.as_raw_fd(), mode) };
            if rc == 0 {
                return Ok(Lock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            // A signal handler may interrupt the wait; the caller checks for the signal later.
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(internal(format!("cannot lock state: {err}")));
            }
        }
    }
}

/// Holds the state lock until dropped; closing the descriptor releases the flock.
struct Lock {
    _file: File,
}

fn internal(message: String) -> Failure {
    Failure::new(format!("flyctl-double: {message}"))
}
