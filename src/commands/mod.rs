//! One file per subcommand. Each takes the shared [`Ctx`] and its own plain arguments, and
//! returns the [`Outcome`] that picks the exit code. Domain logic lives in the modules named for
//! what they are (`pipeline`, `probe`, `smoke`, `notify`, `evidence`, `platform`).

pub(crate) mod baseline;
pub(crate) mod config_check;
pub(crate) mod demo;
pub(crate) mod deploy;
pub(crate) mod explain;
pub(crate) mod finish;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod init;
pub(crate) mod notify_test;
pub(crate) mod plan;
pub(crate) mod rollback;
pub(crate) mod smoke;
pub(crate) mod status;

use std::path::PathBuf;

use anyhow::Context as _;

use crate::config::Config;
use crate::exit::Outcome;
use crate::platform::fly::Fly;
use crate::printer::Printer;
use crate::stop::Stop;

/// What every command gets: how to print, where the config is, and the run's stop signal.
pub(crate) struct Ctx {
    pub(crate) printer: Printer,
    pub(crate) config_path: PathBuf,
    /// Fires on SIGINT/SIGTERM.
    pub(crate) stop: Stop,
    /// Running as a GitHub Actions step.
    pub(crate) github: bool,
}

impl Ctx {
    /// Loads and validates the config; every error names the file and place.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        Ok(crate::config::load(&self.config_path)?)
    }

    /// The Fly adapter, with flyctl located (SHIPIT_FLYCTL, then flyctl, then fly on PATH).
    pub(crate) fn fly(&self) -> anyhow::Result<Fly> {
        Fly::locate().context("cannot run flyctl")
    }
}

/// Runs the parsed command line.
pub(crate) async fn dispatch(ctx: &Ctx, command: crate::cli::Command) -> anyhow::Result<Outcome> {
    use crate::cli::{Command, ConfigCommand, NotifyCommand};
    match command {
        Command::Deploy(args) => deploy::run(ctx, args.into()).await,
        Command::Rollback(args) => rollback::run(ctx, args.into()).await,
        Command::Status(args) => status::run(ctx, args.target.as_deref(), args.app.as_deref()).await,
        Command::Baseline(args) => baseline::run(ctx, &args.target.target, args.target.app.as_deref(), args.probes).await,
        Command::Health(args) => health::run(ctx, &args.target, args.app.as_deref()).await,
        Command::Smoke(args) => smoke::run(ctx, &args.target.target, args.target.app.as_deref(), args.junit.as_deref()).await,
        Command::Plan(args) => plan::run(ctx, args.into()).await,
        Command::Notify(NotifyCommand::Test) => notify_test::run(ctx).await,
        Command::History(args) => history::run(ctx, args.app.as_deref(), args.limit),
        Command::Explain(args) => explain::run(ctx, &args.run),
        Command::Config(ConfigCommand::Check) => config_check::run(ctx),
        Command::Init(args) => init::run(ctx, args.dir.as_deref(), &args.name, args.force),
        Command::Demo(args) => demo::run(ctx, args.dir.as_deref()).await,
    }
}
