//! Shared test helpers: a temporary project (shipit.yml, fly.toml files, the flyctl double's
//! state), running the real `shipit` binary with its environment set on that one `Command`
//! only, and reading back what the double was asked to do.
#![allow(dead_code, unreachable_pub)]

pub mod chromium;
pub mod fleet;
pub mod postgres;
pub mod server;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

/// The fake token every test project runs with; tests grep outputs for it.
pub const TOKEN: &str = "fo1_test_token_do_not_leak_0123456789";

/// Variables of the machine running the tests that must not reach shipit: a CI runner's own
/// GitHub files, tokens, colour settings.
const SCRUBBED: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ENV",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_SHA",
    "GITHUB_ACTOR",
    "RUNNER_DEBUG",
    "SHIPIT_CONFIG",
    "SHIPIT_FLYCTL",
    "FLY_API_TOKEN",
    "FLY_ACCESS_TOKEN",
    "FLY_APP",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "FLYCTL_DOUBLE_STATE",
    "FLYCTL_DOUBLE_LOG",
];

pub fn shipit_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_shipit"))
}

/// The flyctl double, built by `cargo test` as a workspace member (`target/<profile>/flyctl-double`).
/// When a test is run alone with `-p shipit`, it is built here once.
pub fn double_bin() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/<test>");
        let path = profile_dir.join("flyctl-double");
        if !path.is_file() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "-q", "-p", "flyctl-double"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo build -p flyctl-double");
            assert!(status.success(), "building the flyctl double failed");
        }
        assert!(
            path.is_file(),
            "flyctl double not found at {}",
            path.display()
        );
        path
    })
}

/// A temporary project folder with a shipit.yml, fly/*.toml files and a state file for the
/// flyctl double.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("shipit-test-")
            .tempdir()
            .expect("temp dir");
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.file(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap_or_default()
    }

    /// Writes shipit.yml.
    pub fn config(&self, yaml: &str) -> &Self {
        self.write("shipit.yml", yaml)
    }

    /// Writes a fly.toml for `app` with an HTTP check on `/health`.
    pub fn fly_toml(&self, rel: &str, app: &str) -> &Self {
        self.write(
            rel,
            &format!(
                "app = \"{app}\"\nprimary_region = \"iad\"\n\n[http_service]\n  internal_port = 3000\n\n  [[http_service.checks]]\n    interval = \"15s\"\n    timeout = \"5s\"\n    method = \"GET\"\n    path = \"/health\"\n"
            ),
        )
    }

    /// Writes the flyctl double's state.
    pub fn fly_state(&self, state: &Value) -> &Self {
        self.write(
            "flyctl-state.json",
            &serde_json::to_string_pretty(state).unwrap(),
        )
    }

    /// The double's state as it is now.
    pub fn state(&self) -> Value {
        serde_json::from_str(&self.read("flyctl-state.json")).unwrap_or(Value::Null)
    }

    /// Every call the double received, as argv vectors.
    pub fn fly_calls(&self) -> Vec<Vec<String>> {
        self.read("flyctl-calls.jsonl")
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| {
                v["argv"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn deploy_calls(&self) -> Vec<Vec<String>> {
        self.fly_calls()
            .into_iter()
            .filter(|a| a.first().is_some_and(|c| c == "deploy"))
            .collect()
    }

    /// `shipit ARGS` in this project, with the double as flyctl and a token set.
    pub fn shipit(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(shipit_bin());
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null());
        for v in SCRUBBED {
            cmd.env_remove(v);
        }
        cmd.env("SHIPIT_FLYCTL", double_bin())
            .env("FLYCTL_DOUBLE_STATE", self.file("flyctl-state.json"))
            .env("FLYCTL_DOUBLE_LOG", self.file("flyctl-calls.jsonl"))
            .env("FLY_API_TOKEN", TOKEN)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `shipit ARGS` and returns what it did.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.shipit(args).output().expect("run shipit"))
    }
}

/// The result of one shipit run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing both streams when it is wrong.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n--- stderr\n{}\n--- stdout\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }
}

/// A Fly app for the double: `machines` machines all running `image` at release `version`,
/// with earlier complete releases `1..version` on images `<image-base>:v<n>`.
pub fn fly_app(name: &str, version: u64, image: &str, machines: usize) -> Value {
    let releases: Vec<Value> = (1..=version)
        .rev()
        .map(|v| {
            let img = if v == version { image.to_owned() } else { format!("registry.fly.io/{name}:deployment-v{v}") };
            json!({"version": v, "status": "complete", "image": img, "created_at": "2026-11-20T09:00:00Z",
                   "reason": "deploy", "description": "Deploy image", "user_email": "ci@example.com"})
        })
        .collect();
    let regions = ["iad", "ams", "sin"];
    let ids = ["148ed193b95089", "d8d9e0f1a2b3c4", "e2865d3f1c2b77"];
    let machines: Vec<Value> = (0..machines)
        .map(|i| {
            json!({"id": ids[i % 3], "name": format!("machine-{i}"), "region": regions[i % 3], "state": "started",
                   "image": image, "release_version": version, "process_group": "app", "host_status": "ok",
                   "checks": [{"name": "servicecheck-00-http-3000", "status": "passing", "output": "Success"}]})
        })
        .collect();
    json!({"org": "personal", "status": "deployed", "releases": releases, "machines": machines,
           "secrets": [{"name": "DATABASE_URL", "digest": "5a3f9c0d2e1b4a67", "status": "Deployed"}], "logs": []})
}

/// Polls `f` until it is true or `within` passes.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < within {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
