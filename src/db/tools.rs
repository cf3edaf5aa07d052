//! The database tools shipit runs: `pg_dump`, `pg_restore` and `squawk`. Each is found like
//! flyctl (an environment variable naming the executable, then `PATH`), gets an argv vector,
//! never a shell string, and runs in its own process group so a stop can end it cleanly.
//!
//! Passwords never go on a command line (where `ps` would show them): the connection is given
//! as `host=... port=... user=... dbname=...` and the password travels in `PGPASSWORD` on the
//! one child's environment.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::env_vars;
use crate::stop::Stop;

/// A located tool.
#[derive(Debug, Clone)]
pub(crate) struct Tool {
    /// `pg_dump`, `pg_restore`, `squawk`.
    pub name: &'static str,
    pub path: PathBuf,
}

/// Finds a tool: the variable `var` when set (it must name a file), else `name` on `PATH`.
pub(crate) fn locate(name: &'static str, var: &str, install: &str) -> anyhow::Result<Tool> {
    if let Some(p) = env_vars::non_empty(var) {
        let path = PathBuf::from(&p);
        if path.is_file() {
            return Ok(Tool { name, path });
        }
        anyhow::bail!(
            "{var} is set to {p}, which is not a file\nhint: point it at the {name} executable, or unset it to use {name} from PATH"
        );
    }
    which::which(name)
        .map(|path| Tool { name, path })
        .map_err(|_| anyhow::anyhow!("{name} is not installed: it is not on PATH\nhint: {install}, or set {var} to its path"))
}

/// `pg_dump` (`SHIPIT_PG_DUMP`, then PATH).
pub(crate) fn pg_dump() -> anyhow::Result<Tool> {
    locate(
        "pg_dump",
        env_vars::SHIPIT_PG_DUMP,
        "install PostgreSQL's client tools (e.g. `apt-get install postgresql-client`)",
    )
}

/// `pg_restore` (`SHIPIT_PG_RESTORE`, then PATH).
pub(crate) fn pg_restore() -> anyhow::Result<Tool> {
    locate(
        "pg_restore",
        env_vars::SHIPIT_PG_RESTORE,
        "install PostgreSQL's client tools (e.g. `apt-get install postgresql-client`)",
    )
}

/// `squawk` (`SHIPIT_SQUAWK`, then PATH); `None` when it is not installed.
pub(crate) fn squawk() -> anyhow::Result<Option<Tool>> {
    if env_vars::non_empty(env_vars::SHIPIT_SQUAWK).is_some() {
        return locate("squawk", env_vars::SHIPIT_SQUAWK, "pip install squawk-cli").map(Some);
    }
    Ok(which::which("squawk").ok().map(|path| Tool {
        name: "squawk",
        path,
    }))
}

/// How a tool reaches one database: a libpq keyword string without the password, and the
/// password for `PGPASSWORD`.
#[derive(Clone)]
pub(crate) struct Conn {
    pub conninfo: String,
    pub password: Option<String>,
    /// libpq's sslmode as the URL wrote it (`prefer` when it did not).
    pub sslmode: String,
}

impl Conn {
    /// From a database URL, for database `dbname` (or the URL's own when `None`).
    pub(crate) fn from_url(url: &str, dbname: Option<&str>) -> anyhow::Result<Conn> {
        use tokio_postgres::config::Host;
        let target = crate::pg::parse(url)?;
        let c = &target.config;
        let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut parts = Vec::new();
        match c.get_hosts().first() {
            Some(Host::Tcp(h)) => parts.push(format!("host={}", quote(h))),
            Some(Host::Unix(p)) => parts.push(format!("host={}", quote(&p.display().to_string()))),
            None => {}
        }
        if let Some(port) = c.get_ports().first() {
            parts.push(format!("port={port}"));
        }
        if let Some(user) = c.get_user() {
            parts.push(format!("user={}", quote(user)));
        }
        if let Some(db) = dbname.or(c.get_dbname()) {
            parts.push(format!("dbname={}", quote(db)));
        }
        parts.push("application_name=shipit".to_owned());
        let sslmode = url
            .split_once('?')
            .and_then(|(_, q)| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("sslmode=").map(str::to_owned))
            })
            .unwrap_or_else(|| "prefer".to_owned());
        Ok(Conn {
            conninfo: parts.join(" "),
            password: c
                .get_password()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            sslmode,
        })
    }
}

/// What a finished tool left: exit status, and its stderr (redacted).
pub(crate) struct Finished {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Why a tool did not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

#[allow(
    clippy::disallowed_methods,
    reason = "the database edge: the one place besides platform/fly.rs that spawns processes (pg_dump, pg_restore, squawk)"
)]
fn command(tool: &Tool) -> tokio::process::Command {
    tokio::process::Command::new(&tool.path)
}

/// Runs `tool` with `args`, the connection's environment when given, until it ends or `stop`
/// fires (then it gets SIGINT, and SIGKILL 3 s later).
pub(crate) async fn run(
    tool: &Tool,
    args: &[OsString],
    conn: Option<&Conn>,
    stop: &Stop,
) -> Result<Finished, RunError> {
    let mut cmd = command(tool);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env_remove("PGDATABASE");
    if let Some(c) = conn {
        cmd.env("PGSSLMODE", &c.sslmode);
        if let Some(pw) = &c.password {
            cmd.env("PGPASSWORD", pw);
        }
    }
    let child = cmd
        .spawn()
        .map_err(|e| RunError::Failed(format!("cannot run {}: {e}", tool.path.display())))?;
    let pid = child.id();
    let out = child.wait_with_output();
    tokio::pin!(out);
    tokio::select! {
        biased;
        r = &mut out => {
            let out = r.map_err(|e| RunError::Failed(format!("{} failed: {e}", tool.name)))?;
            Ok(Finished {
                success: out.status.success(),
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: crate::secret::redact(String::from_utf8_lossy(&out.stderr).trim()).into_owned(),
            })
        }
        () = stop.stopped() => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                interrupt_group(pid);
            }
            if tokio::time::timeout(std::time::Duration::from_secs(3), &mut out).await.is_err() {
                // Dropping the future kills the child (kill_on_drop).
            }
            Err(RunError::Cancelled)
        }
    }
}

/// SIGINT to the tool's process group.
#[allow(
    unsafe_code,
    reason = "kill(2) on the child's own process group; no safe wrapper in std"
)]
fn interrupt_group(pid: i32) {
    // SAFETY: kill has no memory effects; a stale pid only yields ESRCH.
    unsafe {
        libc::kill(-pid, libc::SIGINT);
    }
}

/// `pg_dump --version`, one line.
pub(crate) async fn version(tool: &Tool, stop: &Stop) -> String {
    match run(tool, &[OsString::from("--version")], None, stop).await {
        Ok(f) if f.success => f.stdout.trim().to_owned(),
        _ => format!("{} (version unknown)", tool.name),
    }
}

/// The argv of a custom-format dump of `conn` into `file`.
pub(crate) fn dump_args(conn: &Conn, file: &Path) -> Vec<OsString> {
    vec![
        "--format=custom".into(),
        "--no-owner".into(),
        "--file".into(),
        file.into(),
        "--dbname".into(),
        conn.conninfo.clone().into(),
    ]
}

/// The argv of a restore of `file` into `conn`, stopping at the first error.
pub(crate) fn restore_args(conn: &Conn, file: &Path, jobs: u32) -> Vec<OsString> {
    vec![
        "--no-owner".into(),
        "--exit-on-error".into(),
        format!("--jobs={jobs}").into(),
        "--dbname".into(),
        conn.conninfo.clone().into(),
        file.into(),
    ]
}
