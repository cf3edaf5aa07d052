//! `flyctl-double`: a stateful stand-in for Fly.io's `flyctl`, for shipit's tests only.
//!
//! shipit runs flyctl as a child process; its tests point `SHIPIT_FLYCTL` at this binary and
//! script the platform through a JSON state file. The double reproduces flyctl v0.4.87's
//! command line, JSON shapes (field names, casing, order, 4-space indent), error text and exit
//! codes as described in `shared/reference/flyctl.md`, including the quirks a wrapper has to
//! survive: `logs --no-tail` hanging on an empty buffer, `image show` printing `null`, health
//! failures that leave machines on the new image, exit 127 with no output on SIGINT.
//!
//! # Environment
//!
//! * `FLYCTL_DOUBLE_STATE` (required): path of the JSON state file. Unset: stderr
//!   `Error: FLYCTL_DOUBLE_STATE is not set`, exit 1. A missing or empty file is an empty world.
//! * `FLYCTL_DOUBLE_LOG` (optional): every invocation first appends one line
//!   `{"argv":[...args after argv0...],"emit_release_json":bool,"time_ms":<unix ms>}` with a
//!   single `O_APPEND` write, before anything else (hung calls are logged too).
//! * Auth as in flyctl: `-t/--access-token`, else `FLY_ACCESS_TOKEN`, else `FLY_API_TOKEN`
//!   (non-empty). Without one, and unless the state says `"token_required": false`, every
//!   command but `version` fails: `Error: no access token available. Please login with
//!   'flyctl auth login'`, exit 1.
//! * `FLY_APP`, `FLY_JSON`, `FLY_REGION` (default `logs` region filter) and
//!   `FLY_EMIT_RELEASE_JSON` behave as in flyctl.
//!
//! # State file
//!
//! ```json
//! {"token_required": true, "flyctl_version": "0.4.87", "user_email": "ci@example.com",
//!  "apps": {"NAME": {"org": "personal", "status": "deployed", "deployed": true,
//!    "releases": [{"id": "rel_..", "version": 41, "status": "complete", "image": "..",
//!                  "created_at": "..", "reason": "deploy", "description": "Deploy image",
//!                  "user_email": "..", "user_name": "..", "stable": true, "error": "..",
//!                  "config": {"app": "..", "http_service": {..}, "vm": [..]}}],
//!    "machines": [{"id": "..", "name": "..", "region": "iad", "state": "started", "image": "..",
//!                  "release_version": 41, "process_group": "app", "host_status": "ok",
//!                  "checks": [{"name": "..", "status": "passing", "output": "..", "updated_at": ".."}],
//!                  "autostop": true|false|"suspend", "digest": "sha256:..", "labels": {..},
//!                  "env": {..}, "created_at": "..", "updated_at": "..", "cordoned": false,
//!                  "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 512},
//!                  (or flat: "cpu_kind": "shared", "cpus": 1, "memory_mb": 512),
//!                  "min_machines_running": 1, "autostart": true,
//!                  "concurrency": {"type": "requests", "soft_limit": 20, "hard_limit": 25},
//!                  "mounts": [{"volume": "vol_..", "path": "/data", "size_gb": 10, "name": "data"}]}],
//!    "volumes": [{"id": "vol_..", "name": "data", "state": "created", "size_gb": 10, "region": "iad",
//!                 "zone": "..", "encrypted": true, "attached_machine_id": "..", "created_at": "..",
//!                 "snapshot_retention": 5, "auto_backup_enabled": true}],
//!                  "events": [{"type": "exit", "status": "stopped", "timestamp": <unix ms>,
//!                              "exit_code": 137, "oom_killed": true, "requested_stop": false,
//!                              "restarting": true, "restart_count": 3}]}],
//!    "secrets": [{"name": "..", "digest": "..", "status": "Deployed"}],
//!    "logs": [{"level": "info", "instance": "..", "message": "..", "region": "iad", "timestamp": ".."}]}},
//!  "deploys": [{"outcome": "ok"}, {"outcome": "fail_health", "updated": 1,
//!               "machine_state": "started", "check_status": "critical", "wait_ms": 0}],
//!  "malformed": ["status"], "hang": ["status"], "api_latency_ms": 0,
//!  "log_denied_tokens": ["a deploy token"]}
//! ```
//!
//! Machine `events` are listed newest first, as flaps does; an `exit` event renders its fields
//! under `request.exit_event` and `restart_count` under `request`. Without them a machine has
//! one event matching its state. `logs` with a token in `log_denied_tokens` fails with
//! `Error: not authorized to retrieve app logs (this can happen when using deploy tokens)`
//! (the wording of flyctl's deploy warning; the logs API's own 401 text is unverified).
//!
//! Only `apps.*.releases[].version` and `apps.*.machines[].id` are required. Unknown keys are
//! kept. Read-modify-writes hold an exclusive `flock` on `<state>.lock` and replace the file by
//! renaming a temp file from the same directory. `malformed` lists command names (`status`,
//! `releases`, `machines`, `checks`, `secrets`, `logs`, `image`, `apps`, `version`, `deploy`,
//! `volumes`) whose JSON output is cut to its first half (exit 0). `api_latency_ms` makes every command
//! but `version` wait that long before it acts, as a round trip to Fly's API would (benches
//! use it; tests leave it at 0). `hang` lists read commands (the same names, not
//! `deploy`) that never answer until killed or interrupted, like a flyctl stuck on an API call.
//!
//! # Deploy outcomes
//!
//! Each `deploy` that passes flag/app validation pops the first `deploys` entry (none: `ok`)
//! and creates release max+1 with status `running` before acting it out:
//!
//! * `ok`: every active machine gets the image, the new release, `started`, checks
//!   `passing`; release `complete`; with `FLY_EMIT_RELEASE_JSON` set, prints
//!   `{"id":..,"version":N,"image_ref":..}`. An app without machines gets new ones.
//! * `fail_health`: the first `updated` (default 1) machines get the image with
//!   `machine_state` (default `started`) and checks `check_status` (default `critical`), saved
//!   at once; then it sleeps `wait_ms`, marks the release `failed` and exits 1 with
//!   `failed to update machine ID: Unrecoverable error: timeout reached waiting for health
//!   checks to pass for machine ID: context deadline exceeded`.
//! * `crash`: `fail_health` with `machine_state` `stopped`.
//! * `fail_but_healthy`: machines as for `ok`, release `failed`, exit 1 (`...: failed to get
//!   VM ID: net/http: request canceled`).
//! * `release_command`: machines untouched, release `failed`, exit 1 (skipped, so `ok`, with
//!   `--skip-release-command`).
//! * `image_not_found`: `failed to fetch an image or build from source: could not find image
//!   "I"`, exit 1, no release.
//! * `hang`: prints progress, then blocks until killed.
//! * `unchanged`: release `complete`, exit 0 (and the release line), but no machine touched:
//!   what shipit must not take for a deploy (rolling, canary and immediate strategies).
//!
//! Any outcome may carry `"noise_kb": N`: N KiB of build output first, its first line holding
//! a byte that is not UTF-8.
//!
//! The machine filters `--regions`/`--only-regions`, `--exclude-regions`, `--only-machines`,
//! `--exclude-machines` and `--process-groups` (comma-separated or repeated) choose which active
//! machines a deploy updates, as flyctl's `setMachinesForDeployment` does, and print
//! `--only-machines filter applied, deploying to 1/3 machines` on stderr. Outcomes act on the
//! chosen machines only; the others keep their image and release. A filter that matches no
//! machine updates none (only an app without machines gets new ones).
//! A deploy stores the fly.toml it read (as JSON) with its release, which `config show`
//! prints back (two-space indent, appconfig's struct order, Go durations); a release without
//! one (written by hand) makes `config show` rebuild the config from the machines. `[[vm]]` in
//! that file resizes the machines of its process group (`guest`), `size` presets included.
//!
//! As in flyctl, `--strategy immediate` and `--detach` do not wait for health checks, so the
//! health outcomes end with exit 0 and a `complete` release while the machines stay as
//! scripted; `bluegreen` creates new machines and, on a health failure, deletes them again.
//! SIGINT/SIGTERM during a deploy marks its release `interrupted` and exits 127 silently.
//! `--build-only` stops after the image step (it still consumes an outcome, so
//! `image_not_found` applies to it).
//!
//! # Where flyctl's source beats intuition
//!
//! * `-c PATH` that does not exist is skipped silently, exactly like `LoadAppConfigIfPresent`
//!   (it tries `PATH`, then `PATH/fly.toml`, and ignores "not exist"); the app name then has
//!   to come from `-a` or `FLY_APP`. Only an unreadable path fails:
//!   `failed loading app config from PATH: read PATH: is a directory`. Without `-c`,
//!   `fly.toml` in the working directory (deploy: `WORKDIR`) is read.
//! * `version` prints the executable's basename (`buildinfo.Name()`), in text and JSON, so a
//!   copy or symlink named `flyctl` prints `flyctl v0.4.87 ...`.

mod appconfig;
mod cli;
mod clock;
mod commands;
mod context;
mod gojson;
mod ids;
mod output;
mod render;
mod signals;
mod state;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{Command, Invocation};
use crate::context::Ctx;
use crate::gojson::{J, obj};
use crate::state::Store;

/// The flyctl release the double imitates.
pub const FLYCTL_VERSION: &str = "0.4.87";

/// How a command ended when it did not succeed: flyctl's `printError` plus an exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub exit: u8,
    /// cobra's `Run 'flyctl --help' for usage.`, which goes to stdout.
    pub stdout_hint: Option<String>,
    /// Lines printed to stderr before the `Error: ` line.
    pub preamble: Vec<String>,
    /// Exit without printing anything (an interrupted flyctl).
    pub silent: bool,
}

impl Failure {
    pub fn new(message: String) -> Failure {
        Failure {
            message,
            exit: 1,
            stdout_hint: None,
            preamble: Vec::new(),
            silent: false,
        }
    }

    pub fn interrupted() -> Failure {
        Failure {
            exit: 127,
            silent: true,
            ..Failure::new(String::new())
        }
    }

    pub fn with_stdout_hint(mut self, hint: String) -> Failure {
        self.stdout_hint = Some(hint);
        self
    }

    pub fn with_preamble(mut self, lines: Vec<String>) -> Failure {
        self.preamble = lines;
        self
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let args = argv.get(1..).unwrap_or_default();
    log_invocation(args);
    let program = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map_or_else(|| "flyctl".to_owned(), |n| n.to_string_lossy().into_owned());
    match run(program, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.silent {
                for line in &failure.preamble {
                    output::err_line(line);
                }
                output::err_line(&format!("Error: {}", failure.message));
                if let Some(hint) = &failure.stdout_hint {
                    output::out_line(hint);
                }
            }
            ExitCode::from(failure.exit)
        }
    }
}

fn run(program: String, args: &[String]) -> Result<(), Failure> {
    let Some(state_path) = std::env::var_os("FLYCTL_DOUBLE_STATE").filter(|p| !p.is_empty()) else {
        return Err(Failure::new("FLYCTL_DOUBLE_STATE is not set".to_owned()));
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let store = Store::new(cwd.join(state_path));
    let (command, flags) = match cli::parse(args)? {
        Invocation::Run { command, flags } => (command, flags),
        Invocation::Help(path) => {
            output::out(&cli::help(&path));
            return Ok(());
        }
    };
    let ctx = Ctx {
        flags,
        store,
        program,
        cwd,
    };
    let name = match command {
        Command::Version => "version",
        Command::Status => "status",
        Command::Releases => "releases",
        Command::MachinesList => "machines",
        Command::ChecksList => "checks",
        Command::SecretsList => "secrets",
        Command::ImageShow => "image",
        Command::AppsList => "apps",
        Command::Logs => "logs",
        Command::Deploy => "deploy",
        Command::VolumesList => "volumes",
        Command::ConfigShow => "config",
    };
    // One read of the state for both questions below: the state holds every app of the
    // world, and a bench with many apps must not pay for parsing it more often than the
    // command itself does (real flyctl's cost does not grow with the size of the org).
    let world = ctx.store.load()?;
    if name != "deploy" && world.hang.iter().any(|c| c == name) {
        // No signal handler here: SIGINT or SIGTERM ends the process, as it ends flyctl's.
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    // A real call goes to Fly's API first; `api_latency_ms` models that round trip (outside
    // the state lock, so concurrent calls overlap the way real ones do).
    if command != Command::Version
        && let Some(ms) = world.api_latency_ms.filter(|ms| *ms > 0)
    {
        drop(world);
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    match command {
        Command::Version => commands::version::run(&ctx),
        Command::Status => commands::status::run(&ctx),
        Command::Releases => commands::releases::run(&ctx),
        Command::MachinesList => commands::machines::run(&ctx),
        Command::ChecksList => commands::checks::run(&ctx),
        Command::SecretsList => commands::secrets::run(&ctx),
        Command::ImageShow => commands::image::run(&ctx),
        Command::AppsList => commands::apps::run(&ctx),
        Command::Logs => commands::logs::run(&ctx),
        Command::Deploy => commands::deploy::run(&ctx),
        Command::VolumesList => commands::volumes::run(&ctx),
        Command::ConfigShow => commands::config::run(&ctx),
    }
}

/// Appends this invocation to `FLYCTL_DOUBLE_LOG` in one `O_APPEND` write, so concurrent
/// invocations never interleave within a line.
fn log_invocation(args: &[String]) {
    let Some(path) = std::env::var_os("FLYCTL_DOUBLE_LOG").filter(|p| !p.is_empty()) else {
        return;
    };
    let line = obj([
        ("argv", J::Arr(args.iter().map(J::from).collect())),
        (
            "emit_release_json",
            J::Bool(context::env("FLY_EMIT_RELEASE_JSON").is_some()),
        ),
        ("time_ms", J::Int(clock::now_ms())),
    ])
    .compact()
        + "\n";
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}
