//! What every command shares: the parsed flags, the state store, and flyctl's preparers
//! (`RequireSession`, `LoadAppConfigIfPresent`, `RequireAppName`) with their real error text.

use std::path::{Path, PathBuf};

use crate::Failure;
use crate::cli::Parsed;
use crate::state::{App, State, Store};

pub struct Ctx {
    pub flags: Parsed,
    pub store: Store,
    /// Basename of argv0, which flyctl reports as its own name.
    pub program: String,
    pub cwd: PathBuf,
}

/// The parts of fly.toml the double reads.
#[derive(Debug, Default)]
pub struct AppConfig {
    pub path: PathBuf,
    pub app: Option<String>,
    pub strategy: Option<String>,
    pub release_command: Option<String>,
    /// The whole file as JSON, as flyctl stores it with the release (`None`: not TOML).
    pub document: Option<serde_json::Value>,
}

impl Ctx {
    /// JSON output: `-j/--json`, or a truthy `FLY_JSON` like `cfg.JSONOutput`.
    pub fn json(&self) -> bool {
        self.flags.bool("json") || env("FLY_JSON").is_some_and(|v| is_truthy(&v))
    }

    /// The token flyctl would use: `-t`, else `FLY_ACCESS_TOKEN`, else `FLY_API_TOKEN`.
    pub fn token(&self) -> Option<String> {
        self.flags
            .non_empty("access-token")
            .map(str::to_owned)
            .or_else(|| env("FLY_ACCESS_TOKEN"))
            .or_else(|| env("FLY_API_TOKEN"))
    }

    /// `RequireSession` when not interactive: a token from `-t`, `FLY_ACCESS_TOKEN` or
    /// `FLY_API_TOKEN`, else `fly.ErrNoAuthToken`.
    pub fn require_session(&self, state: &State) -> Result<(), Failure> {
        let has_token = self.flags.non_empty("access-token").is_some()
            || env("FLY_ACCESS_TOKEN").is_some()
            || env("FLY_API_TOKEN").is_some();
        if has_token || state.token_required == Some(false) {
            Ok(())
        } else {
            Err(Failure::new(
                "no access token available. Please login with 'flyctl auth login'".to_owned(),
            ))
        }
    }

    /// `RequireAppName`: `-a` beats `FLY_APP`, which beats `app` in the loaded fly.toml.
    pub fn require_app_name(&self, config: Option<&AppConfig>) -> Result<String, Failure> {
        self.flags
            .non_empty("app")
            .map(str::to_owned)
            .or_else(|| env("FLY_APP"))
            .or_else(|| config.and_then(|c| c.app.clone()))
            .ok_or_else(|| {
                Failure::new(
                    "the config for your app is missing an app name, add an app field to the fly.toml file or specify with the -a flag"
                        .to_owned(),
                )
            })
    }

    /// `LoadAppConfigIfPresent`: with `-c P` it tries `P` then `P/fly.toml`, otherwise
    /// `fly.toml` in the working directory. Like the real preparer, a path that does not exist
    /// is skipped silently; only other read errors (a directory, no permission) fail.
    pub fn load_app_config(&self, workdir: &Path) -> Result<Option<AppConfig>, Failure> {
        let candidates: Vec<(String, PathBuf)> = match self.flags.non_empty("config") {
            Some(p) => {
                let shown = p.to_owned();
                let nested = Path::new(p).join("fly.toml").to_string_lossy().into_owned();
                vec![
                    (shown, workdir.join(p)),
                    (nested.clone(), workdir.join(nested)),
                ]
            }
            None => {
                let p = workdir.join("fly.toml");
                vec![(p.to_string_lossy().into_owned(), p)]
            }
        };
        for (shown, path) in candidates {
            match std::fs::read_to_string(&path) {
                Ok(text) => return Ok(Some(parse_fly_toml(&text, path))),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) => {}
                Err(e) => {
                    return Err(Failure::new(format!(
                        "failed loading app config from {shown}: {}",
                        go_read_error(&shown, &e)
                    )));
                }
            }
        }
        Ok(None)
    }

    /// The session and app-name preparers together, returning the app from the state.
    pub fn require_app<'s>(
        &self,
        state: &'s State,
        missing: impl FnOnce(&str) -> String,
    ) -> Result<(String, &'s App), Failure> {
        self.require_session(state)?;
        let config = self.load_app_config(&self.cwd)?;
        let name = self.require_app_name(config.as_ref())?;
        match state.apps.get(&name) {
            Some(app) => Ok((name, app)),
            None => Err(Failure::new(missing(&name))),
        }
    }
}

/// A non-empty environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// flyctl's `env.IsTruthy`.
pub fn is_truthy(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "t" | "true" | "y" | "yes" | "on"
    )
}

/// The text Go's `os.ReadFile` error would carry for `path`.
fn go_read_error(path: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => format!("open {path}: permission denied"),
        std::io::ErrorKind::IsADirectory => format!("read {path}: is a directory"),
        _ => format!("open {path}: {e}"),
    }
}

/// Reads the top-level `app` and `[deploy]` `strategy`/`release_command` keys, which is all the
/// double acts on; anything else in fly.toml is ignored.
fn parse_fly_toml(text: &str, path: PathBuf) -> AppConfig {
    let mut config = AppConfig {
        path,
        document: crate::appconfig::from_toml(text),
        ..AppConfig::default()
    };
    let mut table = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('[') {
            table = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        let Some(value) = toml_string(value.trim()) else {
            continue;
        };
        match (table.as_str(), key) {
            ("", "app") => config.app = Some(value).filter(|v| !v.is_empty()),
            ("deploy", "strategy") => config.strategy = Some(value),
            ("deploy", "release_command") => config.release_command = Some(value),
            _ => {}
        }
    }
    config
}

/// A TOML basic (`"..."`) or literal (`'...'`) string at the start of `value`.
fn toml_string(value: &str) -> Option<String> {
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &value[1..];
    let end = body.find(quote)?;
    Some(body[..end].replace("\\\"", "\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_app_and_deploy_keys() {
        let c = parse_fly_toml(
            "# comment\napp = \"my-app\" # trailing\nprimary_region = 'iad'\n\n[deploy]\n  strategy = \"canary\"\n  release_command = 'bin/migrate'\n[env]\napp = \"not-this\"\n",
            PathBuf::from("fly.toml"),
        );
        assert_eq!(c.app.as_deref(), Some("my-app"));
        assert_eq!(c.strategy.as_deref(), Some("canary"));
        assert_eq!(c.release_command.as_deref(), Some("bin/migrate"));
    }
}
