//! The command line as clap sees it. These types stop at `settings`: commands never see them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::duration::Dur;
use crate::platform::Strategy;
use crate::printer::ColorChoice;

/// Safe, unattended Fly.io deploys: baseline, deploy, outside health gates, automatic rollback.
#[derive(Debug, Parser)]
#[command(name = "shipit", version, about, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 failed before any remote change or error, 2 usage, \
3 failed and rolled back (previous release live and healthy), 4 failed and not recovered (act now), \
130 cancelled"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The heading `--help` lists the flags every command takes under, after the command's own.
const GLOBAL: &str = "Global options";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: ./shipit.yml]; relative paths inside it are relative to its folder
    #[arg(long, global = true, help_heading = GLOBAL, env = crate::env_vars::SHIPIT_CONFIG, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print one JSON document on stdout and nothing else there
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// Say less on stderr: only warnings, errors and the verdict
    #[arg(short, long, global = true, help_heading = GLOBAL, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more on stderr (also turned on by `RUNNER_DEBUG=1`)
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
    /// When to use colours; `NO_COLOR` turns them off under `auto`
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print the resolved settings (command line merged with the config) as JSON and exit
    /// without doing anything
    #[arg(long, global = true, help_heading = GLOBAL, hide = true)]
    pub show_settings: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy an environment (or one service of it), gate it from outside, roll back on failure
    Deploy(DeployArgs),
    /// Put a previous release back: by Fly app name or environment
    Rollback(RollbackArgs),
    /// What runs where: release, image, machines by region, Fly checks (with -v: recent logs)
    Status(StatusArgs),
    /// Record the current release, its image and health figures as the rollback target
    Baseline(BaselineArgs),
    /// One health spot check per app, with an escalation verdict
    Health(TargetArgs),
    /// Run the smoke suite of an environment or app
    Smoke(SmokeArgs),
    /// Dry run: every step, flyctl command, gate and the rollback target, with no remote change
    Plan(PlanArgs),
    /// Notification channels
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// List past runs from the evidence receipts
    History(HistoryArgs),
    /// Print one past run readably
    Explain(ExplainArgs),
    /// The configuration file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write shipit.yml, fly/*.toml, smoke suites and GitHub workflows into this folder
    Init(InitArgs),
    /// Run the whole pipeline on this machine: no account, no network
    Demo(DemoArgs),
    /// The dashboard from the record: a terminal summary, `--json`, or a static site (`--html`)
    Report(ReportArgs),
    /// Monthly cost estimate per app from Fly's machines and volumes, with ways to save
    Cost(CostArgs),
    /// Write the operator's runbook from shipit.yml and the record (--check: fail when stale)
    Runbook(RunbookArgs),
    /// The environment's database: verify the schema and advisor lints, prove a backup restores
    #[command(subcommand)]
    Db(DbCommand),
    /// Compare two environments app by app: fly.toml, VM size, services, checks, secrets, image
    Parity(ParityArgs),
    /// Deploy to TO the exact image FROM runs, when the record shows it passed FROM's gates
    Promote(PromoteArgs),
    /// The scheduled health procedure: machines, events, logs, latency; alerts that open once and resolve
    Check(CheckArgs),
    /// A monitoring window: `check` every interval, alerts and resolves sent as they happen
    Watch(WatchArgs),
    /// Fly's releases of an app or environment, with shipit's verdict on each from the record
    Releases(TargetArgs),
    /// Rollback drill: roll back to the previous good release, gate it, restore forward; timed
    Drill(DrillArgs),
    /// The record (`store:` in shipit.yml)
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, Args, Clone)]
pub struct DrillArgs {
    /// The environment to drill (e.g. staging)
    #[arg(value_name = "ENV")]
    pub env: String,
    /// Only this service of the environment (a key under `apps:`)
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
    /// Release version to roll back to [default: the newest complete release older than the
    /// live one that runs a different image]
    #[arg(long, value_name = "VERSION", value_parser = crate::input::release_version)]
    pub to: Option<u64>,
    /// Drill a production environment (named production/prod, or the last in shipit.yml)
    #[arg(long)]
    pub allow_production: bool,
    /// Wait this long for another shipit run in this checkout to release the app's lock
    #[arg(long, value_name = "DUR")]
    pub wait_lock: Option<Dur>,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy the runs, evidence, alert states and promotions kept in local files into the store
    /// shipit.yml names (idempotent: a second run copies nothing)
    Migrate(StoreMigrateArgs),
}

#[derive(Debug, Args)]
pub struct StoreMigrateArgs {
    /// Where the record was kept until now
    #[arg(long, value_enum, value_name = "STORE")]
    pub from: MigrateSource,
}

/// A store `shipit store migrate` can copy from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrateSource {
    /// The files under .shipit/ and the evidence log (`store: local`)
    Local,
}

#[derive(Debug, Args, Clone)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How long to watch (e.g. 1h)
    #[arg(long = "for", value_name = "DUR", value_parser = crate::input::positive_duration)]
    pub window: Dur,
    /// Time between the starts of two checks
    #[arg(long, value_name = "DUR", default_value = "1m", value_parser = crate::input::positive_duration)]
    pub interval: Dur,
    /// Roll an app back (the pipeline's own rollback) when a finding on it reaches this level;
    /// only when the watch follows a deploy of that app
    #[arg(long = "rollback-on", value_name = "LEVEL", value_parser = ["critical"])]
    pub rollback_on: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Environment to check [default: every environment]
    #[arg(value_name = "ENV")]
    pub env: Option<String>,
    /// Only this service of the environment (a key under `apps:`)
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
}

/// An environment, an environment's service (`ENV --app SERVICE`), or a Fly app name.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// Environment name (e.g. staging) or Fly app name (e.g. hotdash-staging)
    #[arg(value_name = "ENV|APP")]
    pub target: String,
    /// Only this service of the environment (a key under `apps:`)
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct DeployArgs {
    /// Environment to deploy (e.g. staging)
    #[arg(value_name = "ENV")]
    pub env: String,
    /// Only this service of the environment
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
    /// Deploy this pre-built image instead of building (flyctl deploy --image)
    #[arg(long, value_name = "REF", value_parser = crate::input::image_ref)]
    pub image: Option<String>,
    /// Deploy strategy: rolling, immediate and bluegreen are Fly's own; canary is shipit's (a few
    /// machines first, judged against the rest)
    #[arg(long, value_name = "S", value_enum)]
    pub strategy: Option<Strategy>,
    /// Do not roll back on failure (the failure still exits 4)
    #[arg(long)]
    pub no_rollback: bool,
    /// Show what would happen and stop; the same as `shipit plan`
    #[arg(long)]
    pub dry_run: bool,
    /// Wait this long for another shipit run in this checkout to release the app's lock
    #[arg(long, value_name = "DUR")]
    pub wait_lock: Option<Dur>,
    /// Refuse unless the record shows --image passed every gate of the environment before
    /// this one (or of --from)
    #[arg(long, requires = "image")]
    pub require_promoted: bool,
    /// With --require-promoted: the environment that must have proved the image
    #[arg(long, value_name = "ENV", requires = "require_promoted")]
    pub from: Option<String>,
    /// Flags for flyctl deploy, given after `--` and passed on after the config's
    /// `deploy_args:` (build args, build secrets, a local build...); checked against flyctl's own
    #[arg(last = true, value_name = "FLYCTL_DEPLOY_FLAGS")]
    pub flyctl_args: Vec<String>,
    /// Deploy even when every baseline probe of the live release fails (the app is already
    /// down; by default that refuses before any change)
    #[arg(long)]
    pub force_unhealthy_baseline: bool,
    /// After every gate passed, watch the release for DUR (a check's findings every health
    /// interval; a critical one rolls back); replaces the config's `watch:`
    #[arg(long = "watch", value_name = "DUR")]
    pub watch: Option<Dur>,
}

#[derive(Debug, Args, Clone)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Release version to go back to, as 41 or v41 [default: the newest complete release older
    /// than the current one that runs a different image and that shipit's record does not
    /// reject]
    #[arg(long, value_name = "VERSION", value_parser = crate::input::release_version)]
    pub to: Option<u64>,
    /// Refuse unless the target belongs to this environment (what a workflow run in one
    /// GitHub environment passes, so it can never act on another's apps)
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Wait this long for another shipit run in this checkout to release the app's lock
    #[arg(long, value_name = "DUR")]
    pub wait_lock: Option<Dur>,
    /// Show the release it would put back, and the ones it skips and why; deploy nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Environment or Fly app name [default: every environment]
    #[arg(value_name = "ENV|APP")]
    pub target: Option<String>,
    /// Only this service of the environment
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How many outside probes to take of the live release [default: from config, else 10]
    #[arg(long, value_name = "N")]
    pub probes: Option<u32>,
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also write a `JUnit` XML report here
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    /// Environment to plan (e.g. staging)
    #[arg(value_name = "ENV")]
    pub env: String,
    /// Only this service of the environment
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
    /// Plan a deploy of this pre-built image
    #[arg(long, value_name = "REF", value_parser = crate::input::image_ref)]
    pub image: Option<String>,
    /// Plan with this deploy strategy (as `deploy --strategy`)
    #[arg(long, value_name = "S", value_enum)]
    pub strategy: Option<Strategy>,
    /// flyctl deploy flags the deploy would pass through after `--`, as `shipit deploy` takes them
    #[arg(last = true, value_name = "FLYCTL_DEPLOY_FLAGS")]
    pub flyctl_args: Vec<String>,
    /// Plan a watch window of DUR after the gates, as `deploy --watch DUR`
    #[arg(long = "watch", value_name = "DUR")]
    pub watch: Option<Dur>,
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test message to every configured channel and report each result
    Test,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only runs of this Fly app or service
    #[arg(value_name = "APP")]
    pub app: Option<String>,
    /// How many runs to list, newest first
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// The rollback drills' trend instead: time to roll back, to healthy, to restore, per drill
    #[arg(long)]
    pub drills: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Run id, as listed by `shipit history` (a unique prefix is enough), or `last`
    #[arg(value_name = "RUN", value_parser = crate::input::run_id)]
    pub run: String,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate shipit.yml and print a short summary of what it found
    Check,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
    /// Folder to write into [default: the current folder]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Fly app name prefix used in the examples (apps become PREFIX-staging, PREFIX-production)
    #[arg(long, value_name = "NAME", default_value = "myapp")]
    pub name: String,
    /// The project's test command: the deploy workflows get a test job that must pass first
    /// [default: detected from package.json, Cargo.toml, pyproject.toml or go.mod; asked on a
    /// terminal]
    #[arg(long, value_name = "CMD", conflicts_with = "no_test")]
    pub test: Option<String>,
    /// Write no test job (the workflows say where to add one)
    #[arg(long)]
    pub no_test: bool,
    /// Where the record is kept: `local` files, a `git` branch of this repository (the
    /// recording jobs get `contents: write`), or `postgres` (its URL from a secret)
    #[arg(long, value_enum, value_name = "STORE", default_value = "local")]
    pub store: InitStore,
}

/// The record `shipit init` sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InitStore {
    Local,
    Git,
    Postgres,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's config, evidence and receipts [default: a new temporary folder]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Use a --dir that is not empty (never one holding a project's own shipit.yml)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Write a self-contained static site (index.html, run pages) into this folder
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
    /// Only this environment
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Only runs younger than this (e.g. 30d, 12h)
    #[arg(long, value_name = "DUR")]
    pub since: Option<Dur>,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Environment or Fly app name [default: every environment]
    #[arg(value_name = "ENV|APP")]
    pub target: Option<String>,
    /// Only this service of the environment
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// Where the runbook goes [default: docs/runbook.md beside shipit.yml]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Change nothing: exit 1 with a diff when the file differs from what would be written
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Check expected tables, views, columns and row-level security, and run the advisor lints
    /// (read-only transaction, statement timeout)
    Verify(DbVerifyArgs),
    /// Prove a backup restores: dump (or take --dump), restore into a scratch database, compare
    BackupCheck(BackupCheckArgs),
    /// Lint the new files of `database.migrations` with squawk (what a deploy does before
    /// `flyctl deploy`)
    LintMigrations(DbLintArgs),
}

#[derive(Debug, Args)]
pub struct DbLintArgs {
    /// Environment whose migrations to lint [default: the only one with a database]
    #[arg(value_name = "ENV")]
    pub env: Option<String>,
}

#[derive(Debug, Args)]
pub struct DbVerifyArgs {
    /// Environment whose `database:` to verify [default: the only one that has one]
    #[arg(value_name = "ENV")]
    pub env: Option<String>,
    /// Print the catalog queries it would send, and exit
    #[arg(long, hide = true)]
    pub print_sql: bool,
}

#[derive(Debug, Args)]
pub struct BackupCheckArgs {
    /// Environment whose database the backup is of
    #[arg(value_name = "ENV")]
    pub env: String,
    /// An existing `pg_dump -Fc` file to check [default: make one now with `pg_dump`]
    #[arg(long, value_name = "FILE")]
    pub dump: Option<PathBuf>,
    /// The scratch server to restore on (postgres:// URL; a database is created and dropped
    /// there) [default: `database.backup.scratch`, else the source's server]
    #[arg(long, value_name = "URL")]
    pub scratch: Option<String>,
}

#[derive(Debug, Args)]
pub struct ParityArgs {
    /// The first environment (e.g. staging)
    #[arg(value_name = "ENV_A")]
    pub env_a: String,
    /// The second environment (e.g. production)
    #[arg(value_name = "ENV_B")]
    pub env_b: String,
    /// Only this service (a key under `apps:`)
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
    /// A different image on each side is allowed drift, not broken parity
    #[arg(long)]
    pub allow_image_drift: bool,
}

#[derive(Debug, Args, Clone)]
pub struct PromoteArgs {
    /// The environment whose running image is promoted (e.g. staging)
    #[arg(value_name = "FROM")]
    pub from: String,
    /// The environment it is deployed to (e.g. production)
    #[arg(value_name = "TO")]
    pub to: String,
    /// Only this service (a key under `apps:`)
    #[arg(long, value_name = "SERVICE")]
    pub app: Option<String>,
    /// Wait this long for another shipit run in this checkout to release the app's lock
    #[arg(long, value_name = "DUR")]
    pub wait_lock: Option<Dur>,
}
