//! The Fly adapter: the only module that spawns a process. It runs flyctl with an argv vector
//! (never a shell string), parses the real JSON shapes with their quirks (see
//! `reference/flyctl.md`), and classifies failures from the exit code and stderr while keeping
//! flyctl's own words.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use super::{
    AppStatus, Check, DeployOutcome, DeployRequest, ErrorKind, ExitEvent, Guest, LogEntry, Machine,
    MachineEvent, MachineSpec, OutputLine, Platform, PlatformError, Release, ReleaseLine,
    SecretInfo,
};
use crate::env_vars;
use crate::stop::Stop;

/// How long a read-only call (status, releases...) may take before shipit gives up on it.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// After SIGINT, how long flyctl gets to mark its release interrupted before it is killed.
/// GitHub kills the whole step 10 s after its first SIGINT, so this must leave room.
const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

pub struct Fly {
    /// The flyctl executable.
    pub path: PathBuf,
    /// The run's stop signal: a read-only call in flight ends (and its flyctl is killed) the
    /// moment it fires, so a cancelled preflight never waits out a hung query.
    pub stop: Option<Stop>,
}

impl Fly {
    /// Finds flyctl: `SHIPIT_FLYCTL`, else `flyctl` on PATH, else `fly` on PATH.
    pub fn locate() -> Result<Fly, PlatformError> {
        if let Some(p) = env_vars::non_empty(env_vars::SHIPIT_FLYCTL) {
            let path = PathBuf::from(&p);
            if path.is_file() {
                return Ok(Fly { path, stop: None });
            }
            return Err(PlatformError {
                kind: ErrorKind::NotInstalled,
                command: "flyctl".into(),
                message: format!("SHIPIT_FLYCTL is set to {p}, which is not a file"),
            });
        }
        which::which("flyctl")
            .or_else(|_| which::which("fly"))
            .map(|path| Fly { path, stop: None })
            .map_err(|_| PlatformError {
                kind: ErrorKind::NotInstalled,
                command: "flyctl".into(),
                message: "flyctl is not installed: neither `flyctl` nor `fly` is on PATH".into(),
            })
    }

    /// This adapter, with its read-only calls watching `stop`.
    #[must_use]
    pub fn watching(mut self, stop: Stop) -> Fly {
        self.stop = Some(stop);
        self
    }

    #[allow(
        clippy::unused_self,
        reason = "kept beside the other calls that build flyctl command lines"
    )]
    fn display(&self, args: &[&str]) -> String {
        let mut s = String::from("flyctl");
        for a in args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }

    #[allow(clippy::disallowed_methods)] // the one place that spawns flyctl
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.path);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs a read-only flyctl command and returns its stdout, or a classified error.
    async fn read(&self, args: &[&str], timeout: Duration) -> Result<String, PlatformError> {
        let command = self.display(args);
        let mut cmd = self.command(args);
        // Read-only calls are safe to kill: nothing half-done is left behind. Their own
        // process group, so a Ctrl-C in a terminal reaches shipit only, which ends them itself.
        cmd.kill_on_drop(true);
        cmd.process_group(0);
        let child = cmd.spawn().map_err(|e| spawn_error(&command, &e))?;
        // Only a stop that fires during the call cuts it short: a call made after the stop
        // (the cancelled run's last look at what is live) is bounded by its caller instead.
        let watch = self.stop.as_ref().filter(|s| !s.is_stopped());
        let stopped = async {
            match watch {
                Some(stop) => stop.stopped().await,
                None => std::future::pending().await,
            }
        };
        let answer = tokio::select! {
            answer = tokio::time::timeout(timeout, child.wait_with_output()) => answer,
            () = stopped => {
                let reason = self
                    .stop
                    .as_ref()
                    .and_then(Stop::reason)
                    .unwrap_or_else(|| "cancelled".into());
                return Err(PlatformError {
                    kind: ErrorKind::Interrupted,
                    message: format!("`{command}` was stopped: {reason}"),
                    command,
                });
            }
        };
        match answer {
            Err(_) => Err(PlatformError {
                kind: ErrorKind::Timeout,
                message: format!(
                    "`{command}` gave no answer within {}",
                    crate::duration::format(timeout)
                ),
                command,
            }),
            Ok(Err(e)) => Err(spawn_error(&command, &e)),
            Ok(Ok(out)) => {
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                if out.status.success() {
                    Ok(stdout)
                } else {
                    Err(classify(&command, out.status.code(), &stderr))
                }
            }
        }
    }

    async fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        args: &[&str],
    ) -> Result<T, PlatformError> {
        let text = self.read(args, READ_TIMEOUT).await?;
        serde_json::from_str(text.trim()).map_err(|e| malformed(&self.display(args), &e, &text))
    }
}

fn spawn_error(command: &str, e: &std::io::Error) -> PlatformError {
    PlatformError {
        kind: ErrorKind::NotInstalled,
        command: command.to_owned(),
        message: format!("cannot run flyctl: {e}"),
    }
}

fn malformed(command: &str, e: &serde_json::Error, text: &str) -> PlatformError {
    let preview: String = text.trim().chars().take(80).collect();
    PlatformError {
        kind: ErrorKind::Malformed,
        command: command.to_owned(),
        message: format!(
            "`{command}` printed output shipit cannot parse ({e}); it began: {preview:?}"
        ),
    }
}

/// Turns flyctl's exit code and stderr into an error the pipeline can branch on, keeping
/// flyctl's message (its `Error: ` lines) word for word.
pub fn classify(command: &str, code: Option<i32>, stderr: &str) -> PlatformError {
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("Error: ")
                .or_else(|| l.trim().strip_prefix("Error "))
        })
        .collect();
    let message = if error_lines.is_empty() {
        stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    } else {
        error_lines.join("; ")
    };
    let lower = stderr.to_lowercase();
    let kind = if code == Some(127) {
        ErrorKind::Interrupted
    } else if lower.contains("no access token available")
        || lower.contains("not authenticated")
        || lower.contains("unauthorized")
    {
        ErrorKind::NotAuthenticated
    } else if lower.contains("could not find app")
        || lower.contains("could not be found")
        || lower.contains("could not resolve app")
        || lower.contains("app not found")
    {
        ErrorKind::AppNotFound
    } else if lower.contains("timeout reached waiting for health checks") {
        ErrorKind::HealthCheckTimeout
    } else if lower.contains("release command failed") || lower.contains("release_command failed") {
        ErrorKind::ReleaseCommandFailed
    } else if lower.contains("could not find image") {
        ErrorKind::ImageNotFound
    } else {
        ErrorKind::Other
    };
    let message = match (message.is_empty(), code) {
        (true, Some(127)) => "flyctl was interrupted (exit 127)".to_owned(),
        (true, Some(c)) => format!("flyctl exited {c} without a message"),
        (true, None) => "flyctl was killed by a signal".to_owned(),
        (false, _) => message,
    };
    PlatformError {
        kind,
        command: command.to_owned(),
        message: format!("`{command}` failed: {message}"),
    }
}

// The JSON shapes, as flyctl prints them (PascalCase GraphQL types, snake_case Machines types).

#[derive(Deserialize)]
struct StatusJson {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Version", default)]
    version: u64,
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "Hostname", default)]
    hostname: String,
    #[serde(rename = "Machines", default)]
    machines: Option<Vec<MachineJson>>,
}

#[derive(Deserialize)]
struct MachineJson {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    host_status: String,
    #[serde(default)]
    config: Option<MachineConfigJson>,
    #[serde(default)]
    checks: Option<Vec<CheckJson>>,
    #[serde(default)]
    events: Option<Vec<EventJson>>,
}

/// fly-go `MachineEvent`: `snake_case` tags, except `MonitorEvent`, which is untagged.
#[derive(Deserialize)]
struct EventJson {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    timestamp: u64,
    #[serde(default)]
    request: Option<EventRequestJson>,
}

#[derive(Deserialize, Default)]
struct EventRequestJson {
    #[serde(default)]
    exit_event: Option<ExitEventJson>,
    #[serde(rename = "MonitorEvent", default)]
    monitor_event: Option<MonitorEventJson>,
    #[serde(default)]
    restart_count: Option<u32>,
}

#[derive(Deserialize)]
struct MonitorEventJson {
    #[serde(default)]
    exit_event: Option<ExitEventJson>,
}

#[derive(Deserialize)]
struct ExitEventJson {
    #[serde(default)]
    exit_code: i64,
    #[serde(default)]
    oom_killed: bool,
    #[serde(default)]
    requested_stop: bool,
    #[serde(default)]
    restarting: bool,
    #[serde(default)]
    signal: Option<i64>,
}

impl From<EventJson> for MachineEvent {
    fn from(e: EventJson) -> MachineEvent {
        let request = e.request.unwrap_or_default();
        // fly-go's `GetExitCode` prefers the monitor's exit event over the request's.
        let exit = request
            .monitor_event
            .and_then(|m| m.exit_event)
            .or(request.exit_event)
            .map(|x| ExitEvent {
                exit_code: x.exit_code,
                oom_killed: x.oom_killed,
                requested_stop: x.requested_stop,
                restarting: x.restarting,
                signal: x.signal,
            });
        MachineEvent {
            kind: e.kind,
            status: e.status,
            source: e.source,
            timestamp_ms: e.timestamp,
            exit,
            restart_count: request.restart_count,
        }
    }
}

#[derive(Deserialize, Default)]
struct MachineConfigJson {
    #[serde(default)]
    image: String,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

/// The parts of a `fly.Machine` parity reads (`machines list --json`, reference §2.3, D1).
#[derive(Deserialize)]
struct MachineSpecJson {
    id: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    image_ref: Option<ImageRefJson>,
    #[serde(default)]
    config: Option<MachineSpecConfigJson>,
}

#[derive(Deserialize, Default)]
struct ImageRefJson {
    #[serde(default)]
    digest: String,
}

#[derive(Deserialize, Default)]
struct MachineSpecConfigJson {
    #[serde(default)]
    image: String,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    /// Every field is `omitempty`, so a missing one is zero.
    #[serde(default)]
    guest: Option<Guest>,
}

impl From<MachineSpecJson> for MachineSpec {
    fn from(m: MachineSpecJson) -> MachineSpec {
        let config = m.config.unwrap_or_default();
        MachineSpec {
            id: m.id,
            state: m.state,
            region: m.region,
            process_group: config
                .metadata
                .as_ref()
                .and_then(|md| md.get("fly_process_group").cloned())
                .unwrap_or_else(|| "app".to_owned()),
            image: config.image,
            digest: m.image_ref.map(|r| r.digest).filter(|d| !d.is_empty()),
            guest: config.guest.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct CheckJson {
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    output: String,
}

impl From<CheckJson> for Check {
    fn from(c: CheckJson) -> Check {
        Check {
            name: c.name,
            status: c.status,
            output: c.output,
        }
    }
}

impl From<MachineJson> for Machine {
    fn from(m: MachineJson) -> Machine {
        let config = m.config.unwrap_or_default();
        let metadata = config.metadata.unwrap_or_default();
        Machine {
            id: m.id,
            name: m.name,
            state: m.state,
            region: m.region,
            image: config.image,
            // A string in the JSON ("42"), not a number.
            release_version: metadata
                .get("fly_release_version")
                .and_then(|v| v.parse().ok()),
            process_group: metadata.get("fly_process_group").cloned(),
            host_status: m.host_status,
            checks: m
                .checks
                .unwrap_or_default()
                .into_iter()
                .map(Check::from)
                .collect(),
            events: m
                .events
                .unwrap_or_default()
                .into_iter()
                .map(MachineEvent::from)
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct ReleaseJson {
    #[serde(rename = "Version")]
    version: u64,
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "InProgress", default)]
    in_progress: bool,
    #[serde(rename = "ImageRef", default)]
    image_ref: String,
    #[serde(rename = "CreatedAt", default)]
    created_at: String,
    #[serde(rename = "Description", default)]
    description: String,
    #[serde(rename = "User", default)]
    user: Option<UserJson>,
}

#[derive(Deserialize)]
struct UserJson {
    #[serde(rename = "Email", default)]
    email: String,
}

#[derive(Deserialize)]
struct LogJson {
    #[serde(default)]
    timestamp: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    instance: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct SecretJson {
    name: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    status: Option<String>,
}

/// Parses `logs --json`: pretty-printed objects one after another, not an array. A trailing
/// object cut off by the timeout is dropped.
pub fn parse_log_stream(text: &str) -> Vec<LogEntry> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<LogJson>()
        .map_while(Result::ok)
        .map(|l| LogEntry {
            timestamp: l.timestamp,
            level: l.level,
            instance: l.instance,
            region: l.region,
            message: l.message,
        })
        .collect()
}

/// Whether flyctl will find a token: in the environment, or from `flyctl auth login`.
fn token_available() -> bool {
    if env_vars::non_empty(env_vars::FLY_ACCESS_TOKEN).is_some()
        || env_vars::non_empty(env_vars::FLY_API_TOKEN).is_some()
    {
        return true;
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".fly/config.yml"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .is_some_and(|t| {
            t.lines().any(|l| {
                l.trim_start().starts_with("access_token:")
                    && l.split(':').nth(1).is_some_and(|v| !v.trim().is_empty())
            })
        })
}

impl Platform for Fly {
    fn name(&self) -> &'static str {
        "flyctl"
    }

    fn has_token(&self) -> bool {
        token_available()
    }

    async fn status(&self, app: &str) -> Result<AppStatus, PlatformError> {
        let s: StatusJson = self.read_json(&["status", "--json", "--app", app]).await?;
        Ok(AppStatus {
            app: if s.name.is_empty() {
                app.to_owned()
            } else {
                s.name
            },
            version: s.version,
            status: s.status,
            hostname: s.hostname,
            machines: s
                .machines
                .unwrap_or_default()
                .into_iter()
                .map(Machine::from)
                .collect(),
        })
    }

    async fn releases(&self, app: &str) -> Result<Vec<Release>, PlatformError> {
        let r: Option<Vec<ReleaseJson>> = self
            .read_json(&["releases", "--json", "--app", app])
            .await?;
        Ok(r.unwrap_or_default()
            .into_iter()
            .map(|r| Release {
                version: r.version,
                status: r.status,
                in_progress: r.in_progress,
                image: r.image_ref,
                created_at: r.created_at,
                description: r.description,
                user: r.user.map(|u| u.email).unwrap_or_default(),
            })
            .collect())
    }

    async fn secrets(&self, app: &str) -> Result<Vec<SecretInfo>, PlatformError> {
        let s: Option<Vec<SecretJson>> = self
            .read_json(&["secrets", "list", "--json", "--app", app])
            .await?;
        Ok(s.unwrap_or_default()
            .into_iter()
            .map(|s| SecretInfo {
                name: s.name,
                digest: s.digest,
                status: s.status,
            })
            .collect())
    }

    async fn app_config(&self, app: &str) -> Result<serde_json::Value, PlatformError> {
        // `config show` prints JSON by default (two-space indent) and has no `--json` flag.
        let config: serde_json::Value = self.read_json(&["config", "show", "--app", app]).await?;
        if config.is_object() {
            Ok(config)
        } else {
            let command = self.display(&["config", "show", "--app", app]);
            Err(PlatformError {
                kind: ErrorKind::Malformed,
                message: format!("`{command}` printed JSON that is not an object"),
                command,
            })
        }
    }

    async fn machine_specs(&self, app: &str) -> Result<Vec<MachineSpec>, PlatformError> {
        let m: Option<Vec<MachineSpecJson>> = self
            .read_json(&["machines", "list", "--json", "--app", app])
            .await?;
        Ok(m.unwrap_or_default()
            .into_iter()
            .map(MachineSpec::from)
            .collect())
    }

    async fn logs(&self, app: &str, wait: Duration) -> Result<Vec<LogEntry>, PlatformError> {
        // `logs --no-tail` never returns while the log buffer is empty (it polls forever), so
        // the call runs under `wait` and what arrived by then is the answer.
        let args = ["logs", "--no-tail", "--json", "--app", app];
        let command = self.display(&args);
        let mut cmd = self.command(&args);
        cmd.kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| spawn_error(&command, &e))?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let mut out = Vec::new();
        let mut err = Vec::new();
        let finished = tokio::time::timeout(wait, async {
            let _ = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
            child.wait().await
        })
        .await;
        match finished {
            Ok(Ok(status)) if !status.success() => Err(classify(
                &command,
                status.code(),
                &String::from_utf8_lossy(&err),
            )),
            _ => Ok(parse_log_stream(&String::from_utf8_lossy(&out))),
        }
    }

    fn deploy_argv(&self, req: &DeployRequest) -> Vec<String> {
        super::flyctl_deploy_argv(req)
    }

    async fn deploy(
        &self,
        req: &DeployRequest,
        on_line: &mut dyn FnMut(OutputLine<'_>),
        stop: &Stop,
    ) -> DeployOutcome {
        let argv = self.deploy_argv(req);
        let flags: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let command = self.display(&flags);
        let started = Instant::now();
        let mut outcome = DeployOutcome {
            argv: argv.clone(),
            exit_code: None,
            release: None,
            error: None,
            timed_out: false,
            stopped: false,
            elapsed: Duration::ZERO,
        };
        let mut cmd = self.command(&flags);
        cmd.env(env_vars::FLY_EMIT_RELEASE_JSON, "1");
        // Its own process group: a Ctrl-C in a terminal reaches shipit only, which decides
        // when flyctl is interrupted (and can still roll back).
        cmd.process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                outcome.error = Some(spawn_error(&command, &e));
                return outcome;
            }
        };
        // Bytes, not text: one invalid UTF-8 byte must not end the reading (flyctl would then
        // block on a full pipe until the deploy timeout). Each line is decoded lossily.
        let mut out = BufReader::new(child.stdout.take().expect("stdout is piped")).split(b'\n');
        let mut err = BufReader::new(child.stderr.take().expect("stderr is piped")).split(b'\n');
        let (mut out_open, mut err_open) = (true, true);
        let mut stderr_text = String::new();
        let deadline = tokio::time::sleep(req.timeout);
        tokio::pin!(deadline);
        let mut interrupted_at: Option<Instant> = None;
        let status = loop {
            let grace = async {
                match interrupted_at {
                    Some(t) => {
                        tokio::time::sleep(INTERRUPT_GRACE.saturating_sub(t.elapsed())).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                line = out.next_segment(), if out_open => match line {
                    Ok(Some(l)) => {
                        let l = decode_line(&l);
                        if let Some(release) = parse_release_line(&l) {
                            outcome.release = Some(release);
                        } else {
                            on_line(OutputLine::Stdout(&l));
                        }
                    }
                    _ => out_open = false,
                },
                line = err.next_segment(), if err_open => match line {
                    Ok(Some(l)) => {
                        let l = decode_line(&l);
                        stderr_text.push_str(&l);
                        stderr_text.push('\n');
                        on_line(OutputLine::Stderr(&l));
                    }
                    _ => err_open = false,
                },
                status = child.wait(), if !out_open && !err_open => break status.ok(),
                () = &mut deadline, if interrupted_at.is_none() => {
                    outcome.timed_out = true;
                    interrupt(&child);
                    interrupted_at = Some(Instant::now());
                }
                () = stop.stopped(), if interrupted_at.is_none() => {
                    outcome.stopped = true;
                    interrupt(&child);
                    interrupted_at = Some(Instant::now());
                }
                () = grace => {
                    let _ = child.start_kill();
                    break child.wait().await.ok();
                }
            }
        };
        outcome.elapsed = started.elapsed();
        outcome.exit_code = status.and_then(|s| s.code());
        if outcome.timed_out {
            outcome.error = Some(PlatformError {
                kind: ErrorKind::Timeout,
                command,
                message: format!(
                    "flyctl deploy did not finish within shipit's deploy_timeout ({}) and was stopped",
                    crate::duration::format(req.timeout)
                ),
            });
        } else if outcome.exit_code != Some(0) {
            outcome.error = Some(classify(&command, outcome.exit_code, &stderr_text));
        }
        outcome
    }
}

/// One line of flyctl's output as text: invalid UTF-8 replaced, the line ending dropped.
fn decode_line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Sends SIGINT to flyctl so it can mark its release interrupted (as Ctrl-C would).
#[allow(unsafe_code)]
fn interrupt(child: &tokio::process::Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a pid we spawned and still hold; no memory is touched.
        unsafe {
            libc::kill(pid, libc::SIGINT);
        }
    }
}

/// The one compact line flyctl prints with `FLY_EMIT_RELEASE_JSON` on success.
fn parse_release_line(line: &str) -> Option<ReleaseLine> {
    let t = line.trim();
    if !t.starts_with('{') || !t.contains("\"image_ref\"") {
        return None;
    }
    serde_json::from_str(t).ok()
}

// What cost estimates read: machine sizes and volumes (`reference/canary-and-cost.md` §D).

#[derive(Deserialize)]
struct SizedMachineJson {
    id: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    config: Option<SizedConfigJson>,
}

#[derive(Deserialize, Default)]
struct SizedConfigJson {
    #[serde(default)]
    guest: Option<GuestJson>,
    #[serde(default)]
    services: Option<Vec<ServiceJson>>,
    #[serde(default)]
    mounts: Option<Vec<MountJson>>,
    #[serde(default)]
    rootfs: Option<RootfsJson>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct GuestJson {
    #[serde(default)]
    cpu_kind: String,
    #[serde(default)]
    cpus: u32,
    #[serde(default)]
    memory_mb: u32,
}

#[derive(Deserialize)]
struct ServiceJson {
    /// `false`, `true` or `"suspend"` (`MachineAutostop.MarshalJSON`).
    #[serde(default)]
    autostop: Option<serde_json::Value>,
    #[serde(default)]
    min_machines_running: Option<u32>,
    #[serde(default)]
    concurrency: Option<ConcurrencyJson>,
}

#[derive(Deserialize)]
struct ConcurrencyJson {
    #[serde(default)]
    soft_limit: Option<u32>,
}

#[derive(Deserialize)]
struct MountJson {
    #[serde(default)]
    volume: String,
}

#[derive(Deserialize)]
struct RootfsJson {
    #[serde(default)]
    size_gb: Option<u32>,
}

#[derive(Deserialize)]
struct VolumeJson {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    size_gb: u32,
    #[serde(default)]
    region: String,
    #[serde(default)]
    attached_machine_id: Option<String>,
}

fn autostop_of(services: &[ServiceJson]) -> super::inventory::Autostop {
    use super::inventory::Autostop;
    if services.is_empty() {
        return Autostop::NoService;
    }
    // A machine stops when any of its services lets the proxy stop it; suspend wins over stop.
    let rank = |s: &ServiceJson| match &s.autostop {
        Some(serde_json::Value::String(v)) if v == "suspend" => 2,
        Some(serde_json::Value::Bool(true)) => 1,
        Some(serde_json::Value::String(v)) if v == "stop" => 1,
        _ => 0,
    };
    match services.iter().map(rank).max().unwrap_or(0) {
        2 => Autostop::Suspend,
        1 => Autostop::Stop,
        _ => Autostop::Off,
    }
}

impl From<SizedMachineJson> for super::inventory::SizedMachine {
    fn from(m: SizedMachineJson) -> Self {
        let config = m.config.unwrap_or_default();
        let services = config.services.unwrap_or_default();
        // A machine without a guest in its JSON is priced as flyctl's default size.
        let guest = config.guest.unwrap_or(GuestJson {
            cpu_kind: String::new(),
            cpus: 0,
            memory_mb: 0,
        });
        super::inventory::SizedMachine {
            id: m.id,
            region: m.region,
            state: m.state,
            process_group: config
                .metadata
                .and_then(|md| md.get("fly_process_group").cloned()),
            cpu_kind: if guest.cpu_kind.is_empty() {
                "shared".to_owned()
            } else {
                guest.cpu_kind
            },
            cpus: guest.cpus.max(1),
            memory_mb: if guest.memory_mb == 0 {
                256
            } else {
                guest.memory_mb
            },
            autostop: autostop_of(&services),
            min_machines_running: services
                .iter()
                .filter_map(|s| s.min_machines_running)
                .max()
                .unwrap_or(0),
            soft_limit: services
                .iter()
                .filter_map(|s| s.concurrency.as_ref()?.soft_limit)
                .filter(|l| *l > 0)
                .min(),
            rootfs_gb: config.rootfs.and_then(|r| r.size_gb),
            mounts: config
                .mounts
                .unwrap_or_default()
                .into_iter()
                .map(|mnt| mnt.volume)
                .filter(|v| !v.is_empty())
                .collect(),
        }
    }
}

impl super::inventory::InventorySource for Fly {
    async fn inventory(&self, app: &str) -> Result<super::inventory::Inventory, PlatformError> {
        let machines: Option<Vec<SizedMachineJson>> = self
            .read_json(&["machines", "list", "--json", "--app", app])
            .await?;
        let volumes: Option<Vec<VolumeJson>> = self
            .read_json(&["volumes", "list", "--json", "--app", app])
            .await?;
        Ok(super::inventory::Inventory {
            machines: machines
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            volumes: volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| super::inventory::Volume {
                    id: v.id,
                    name: v.name,
                    state: v.state,
                    size_gb: v.size_gb,
                    region: v.region,
                    attached_machine_id: v.attached_machine_id.filter(|m| !m.is_empty()),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
#[path = "fly_tests.rs"]
mod tests;
