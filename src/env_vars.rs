//! Every environment variable shipit reads, in one place, each with what it is for.

/// Path of the config file when `--config` is not given.
pub(crate) const SHIPIT_CONFIG: &str = "SHIPIT_CONFIG";
/// Absolute path of the flyctl executable; wins over `flyctl` and `fly` on `PATH`.
pub(crate) const SHIPIT_FLYCTL: &str = "SHIPIT_FLYCTL";
/// Fly's access token; flyctl prefers it over `FLY_API_TOKEN`.
pub(crate) const FLY_ACCESS_TOKEN: &str = "FLY_ACCESS_TOKEN";
/// Fly's API token, what the docs and GitHub Actions examples use.
pub(crate) const FLY_API_TOKEN: &str = "FLY_API_TOKEN";
/// Set on `flyctl deploy` so it prints its release as one JSON line on success.
pub(crate) const FLY_EMIT_RELEASE_JSON: &str = "FLY_EMIT_RELEASE_JSON";
/// The job's token: the git store sends it as an `http.extraheader` on its fetch and push, and
/// the `github_issue` notifier opens and closes issues with it.
pub(crate) const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// `true` when running as a GitHub Actions step.
pub(crate) const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
/// File that receives step outputs (`key=value` or heredoc blocks).
pub(crate) const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
/// File that receives the job summary in Markdown.
pub(crate) const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
/// `https://github.com`, or the GitHub Enterprise host; part of the run URL.
pub(crate) const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
/// `owner/repo`; part of the run URL.
pub(crate) const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// The workflow run's id; part of the run URL.
pub(crate) const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
/// The commit being deployed, recorded in evidence.
pub(crate) const GITHUB_SHA: &str = "GITHUB_SHA";
/// Who triggered the run, recorded in evidence.
pub(crate) const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
/// The REST API's base URL (`https://api.github.com`, or GitHub Enterprise's).
pub(crate) const GITHUB_API_URL: &str = "GITHUB_API_URL";
/// `1` when the workflow was re-run with debug logging: turns on verbose output.
pub(crate) const RUNNER_DEBUG: &str = "RUNNER_DEBUG";
/// Any non-empty value turns colour off (<https://no-color.org>).
pub(crate) const NO_COLOR: &str = "NO_COLOR";
/// Set by most CI systems; selects plain timestamped progress lines.
pub(crate) const CI: &str = "CI";

/// Absolute path of `pg_dump` for `shipit db backup-check`; wins over `pg_dump` on `PATH`.
pub(crate) const SHIPIT_PG_DUMP: &str = "SHIPIT_PG_DUMP";
/// Absolute path of `pg_restore` for `shipit db backup-check`; wins over `pg_restore` on `PATH`.
pub(crate) const SHIPIT_PG_RESTORE: &str = "SHIPIT_PG_RESTORE";
/// Absolute path of `squawk` for the migration lint; wins over `squawk` on `PATH`.
pub(crate) const SHIPIT_SQUAWK: &str = "SHIPIT_SQUAWK";

/// Reads a variable, treating an empty value as unset (as flyctl and `NO_COLOR` do).
pub(crate) fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether this process runs as a GitHub Actions step.
pub(crate) fn in_github_actions() -> bool {
    std::env::var(GITHUB_ACTIONS).is_ok_and(|v| v == "true")
}
