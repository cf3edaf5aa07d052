//! Command-line arguments resolved into plain settings: clap types stop here, and commands below
//! take these (uv's `settings.rs`). Each `From` destructures its clap struct whole, so a flag
//! added to `cli` fails to compile until it is handled here. Where a command's flags merge with
//! the config (deploy and plan: `--image`, `--strategy`, `--no-rollback` over shipit.yml), that
//! merge is here too, so the pipeline only ever sees the result.
//!
//! Adding a command: its clap struct in `cli.rs`, one settings struct and one `Settings` variant
//! here (with its arm in `From<cli::Command>`), one file in `commands/` and its arm in
//! `commands::dispatch`. `--show-settings` then prints it without further work.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::cli;
use crate::config::{Config, resolve};
use crate::pipeline::ServicePlan;
use crate::platform::Strategy;

/// One command's settings, as `commands::dispatch` takes them and `--show-settings` prints them.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub(crate) enum Settings {
    Deploy(DeploySettings),
    Rollback(RollbackSettings),
    Status(StatusSettings),
    Baseline(BaselineSettings),
    Health(TargetSettings),
    Smoke(SmokeSettings),
    Plan(DeploySettings),
    NotifyTest,
    History(HistorySettings),
    Explain(ExplainSettings),
    ConfigCheck,
    Init(InitSettings),
    Demo(DemoSettings),
    Report(ReportSettings),
    Cost(CostSettings),
    Runbook(RunbookSettings),
    Db(DbSettings),
    Parity(ParityOptions),
    Promote(PromoteOptions),
    Check(CheckSettings),
    Watch(WatchSettings),
    Releases(TargetSettings),
    Drill(DrillSettings),
    StoreMigrate(StoreMigrateSettings),
}

impl From<cli::Command> for Settings {
    fn from(command: cli::Command) -> Self {
        use cli::{Command, ConfigCommand, NotifyCommand};
        match command {
            Command::Deploy(a) => Settings::Deploy(a.into()),
            Command::Rollback(a) => Settings::Rollback(a.into()),
            Command::Status(a) => Settings::Status(a.into()),
            Command::Baseline(a) => Settings::Baseline(a.into()),
            Command::Health(a) => Settings::Health(a.into()),
            Command::Smoke(a) => Settings::Smoke(a.into()),
            Command::Plan(a) => Settings::Plan(a.into()),
            Command::Notify(NotifyCommand::Test) => Settings::NotifyTest,
            Command::History(a) => Settings::History(a.into()),
            Command::Explain(a) => Settings::Explain(a.into()),
            Command::Config(ConfigCommand::Check) => Settings::ConfigCheck,
            Command::Init(a) => Settings::Init(a.into()),
            Command::Demo(a) => Settings::Demo(a.into()),
            Command::Report(a) => Settings::Report(a.into()),
            Command::Cost(a) => Settings::Cost(a.into()),
            Command::Runbook(a) => Settings::Runbook(a.into()),
            Command::Db(c) => Settings::Db(c.into()),
            Command::Parity(a) => Settings::Parity(a.into()),
            Command::Promote(a) => Settings::Promote(a.into()),
            Command::Check(a) => Settings::Check(a.into()),
            Command::Watch(a) => Settings::Watch(a.into()),
            Command::Releases(a) => Settings::Releases(a.into()),
            Command::Drill(a) => Settings::Drill(a.into()),
            Command::Store(cli::StoreCommand::Migrate(a)) => Settings::StoreMigrate(a.into()),
        }
    }
}

impl Settings {
    /// What the settings resolve to with the config, for `--show-settings`: the per-service
    /// deploy plans of `deploy` and `plan`, the probes of `baseline`; `None` for commands whose
    /// settings are already whole.
    pub(crate) fn resolved(&self, config: &Config) -> Option<anyhow::Result<serde_json::Value>> {
        match self {
            Settings::Deploy(s) | Settings::Plan(s) => Some(
                s.service_plans(config)
                    .and_then(|p| serde_json::to_value(p).map_err(Into::into)),
            ),
            Settings::Baseline(s) => Some(s.services(config).map(|services| {
                services
                    .iter()
                    .map(|(svc, probes)| {
                        serde_json::json!({
                            "env": svc.env, "service": svc.name, "app": svc.app, "probes": probes,
                        })
                    })
                    .collect()
            })),
            _ => None,
        }
    }
}

/// An environment, one of its services, or a Fly app name, as `ENV|APP [--app SERVICE]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetSettings {
    pub target: String,
    pub service: Option<String>,
}

impl From<cli::TargetArgs> for TargetSettings {
    fn from(a: cli::TargetArgs) -> Self {
        let cli::TargetArgs { target, app } = a;
        TargetSettings {
            target,
            service: app,
        }
    }
}

/// What `shipit deploy` (and `plan`, which is its dry run) was asked to do.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct DeploySettings {
    pub env: String,
    pub service: Option<String>,
    pub image: Option<String>,
    pub strategy: Option<Strategy>,
    pub rollback: bool,
    pub dry_run: bool,
    pub wait_lock: Option<Duration>,
    /// `--require-promoted`: the image must be proved by an earlier environment.
    pub require_promoted: bool,
    /// `--from`: that environment (default: the one before `env` in shipit.yml).
    pub promoted_from: Option<String>,
    /// The flyctl deploy flags after `--`, as given (checked by [`DeploySettings::flyctl_args`]).
    pub flyctl_args: Vec<String>,
    /// `--force-unhealthy-baseline`: deploy although every baseline probe fails.
    pub force_unhealthy_baseline: bool,
    /// `--watch DUR`: the watch window, over the config's `watch:`.
    pub watch: Option<Duration>,
}

impl DeploySettings {
    /// The flags after `--`, checked against flyctl deploy's own; the error (a usage error)
    /// names the flag and why.
    pub(crate) fn flyctl_args(&self) -> Result<crate::platform::deploy_args::DeployArgs, String> {
        crate::platform::deploy_args::parse(&self.flyctl_args).map_err(|(_, why)| {
            format!("after `--`: {why}\nhint: `shipit deploy ENV -- --build-arg NAME=VALUE --local-only` passes flyctl deploy flags; `deploy_args:` in shipit.yml does it for every deploy")
        })
    }

    /// The services to deploy, in order, each with its flags merged over its config.
    pub(crate) fn service_plans(&self, config: &Config) -> anyhow::Result<Vec<ServicePlan>> {
        let services = resolve(config, &self.env, self.service.as_deref())?;
        let extra = self.flyctl_args().map_err(anyhow::Error::msg)?;
        let mut plans: Vec<ServicePlan> = services
            .into_iter()
            .map(|svc| {
                ServicePlan::new(svc, self.image.as_deref(), self.strategy, self.rollback)
                    .map(|p| p.with_flyctl_args(&extra))
            })
            .collect::<Result<_, _>>()?;
        // `gates: { database: true }`: the environment's database goes with each plan.
        for plan in &mut plans {
            plan.force_unhealthy_baseline = self.force_unhealthy_baseline;
            plan.database = config
                .gates
                .database
                .then(|| config.environment(&plan.service.env))
                .flatten()
                .and_then(|e| e.database.clone());
            // `--watch DUR` replaces the service's `watch:`; the window judges by `monitor:`.
            if let Some(w) = self.watch {
                plan.service.watch = w;
            }
            plan.monitor = config.monitor.clone();
            // `metrics:`: the regression gate also compares the 5xx share.
            plan.metrics_5xx = config
                .metrics
                .as_ref()
                .map(|_| config.monitor.max_5xx_ratio);
        }
        Ok(plans)
    }
}

impl From<cli::DeployArgs> for DeploySettings {
    fn from(a: cli::DeployArgs) -> Self {
        let cli::DeployArgs {
            env,
            app,
            image,
            strategy,
            no_rollback,
            dry_run,
            wait_lock,
            require_promoted,
            from,
            flyctl_args,
            force_unhealthy_baseline,
            watch,
        } = a;
        DeploySettings {
            env,
            service: app,
            image,
            strategy,
            rollback: !no_rollback,
            dry_run,
            wait_lock: wait_lock.map(|d| d.0),
            require_promoted,
            promoted_from: from,
            flyctl_args,
            force_unhealthy_baseline,
            watch: watch.map(|d| d.0),
        }
    }
}

impl From<cli::PlanArgs> for DeploySettings {
    fn from(a: cli::PlanArgs) -> Self {
        let cli::PlanArgs {
            env,
            app,
            image,
            strategy,
            flyctl_args,
            watch,
        } = a;
        DeploySettings {
            env,
            service: app,
            image,
            strategy,
            rollback: true,
            dry_run: true,
            wait_lock: None,
            require_promoted: false,
            promoted_from: None,
            flyctl_args,
            force_unhealthy_baseline: false,
            watch: watch.map(|d| d.0),
        }
    }
}

/// What `shipit rollback` was asked to do.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RollbackSettings {
    pub target: String,
    pub service: Option<String>,
    pub to: Option<u64>,
    pub wait_lock: Option<Duration>,
    /// The environment the target must belong to (`--env`).
    pub env: Option<String>,
    /// `--dry-run`: say what would be put back, deploy nothing.
    pub dry_run: bool,
}

impl From<cli::RollbackArgs> for RollbackSettings {
    fn from(a: cli::RollbackArgs) -> Self {
        let cli::RollbackArgs {
            target,
            to,
            env,
            wait_lock,
            dry_run,
        } = a;
        let TargetSettings { target, service } = target.into();
        RollbackSettings {
            target,
            service,
            to,
            wait_lock: wait_lock.map(|d| d.0),
            env,
            dry_run,
        }
    }
}

/// `shipit status [ENV|APP] [--app SERVICE]`: no target means every environment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StatusSettings {
    pub target: Option<String>,
    pub service: Option<String>,
}

impl From<cli::StatusArgs> for StatusSettings {
    fn from(a: cli::StatusArgs) -> Self {
        let cli::StatusArgs { target, app } = a;
        StatusSettings {
            target,
            service: app,
        }
    }
}

/// `shipit baseline ENV|APP [--probes N]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BaselineSettings {
    #[serde(flatten)]
    pub target: TargetSettings,
    /// `None`: the config's `regression.probes`.
    pub probes: Option<u32>,
}

impl BaselineSettings {
    /// The services to baseline, each with its number of probes: `--probes` over the
    /// service's `regression.probes`.
    pub(crate) fn services<'c>(
        &self,
        config: &'c Config,
    ) -> anyhow::Result<Vec<(&'c crate::config::Service, u32)>> {
        let services = resolve(config, &self.target.target, self.target.service.as_deref())?;
        Ok(services
            .into_iter()
            .map(|s| (s, self.probes.unwrap_or(s.regression.probes)))
            .collect())
    }
}

impl From<cli::BaselineArgs> for BaselineSettings {
    fn from(a: cli::BaselineArgs) -> Self {
        let cli::BaselineArgs { target, probes } = a;
        BaselineSettings {
            target: target.into(),
            probes,
        }
    }
}

/// `shipit smoke ENV|APP [--junit FILE]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SmokeSettings {
    #[serde(flatten)]
    pub target: TargetSettings,
    pub junit: Option<PathBuf>,
}

impl From<cli::SmokeArgs> for SmokeSettings {
    fn from(a: cli::SmokeArgs) -> Self {
        let cli::SmokeArgs { target, junit } = a;
        SmokeSettings {
            target: target.into(),
            junit,
        }
    }
}

/// `shipit history [APP] [--limit N]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HistorySettings {
    pub app: Option<String>,
    pub limit: usize,
    /// `--drills`: the drills' trend instead of the runs.
    pub drills: bool,
}

impl From<cli::HistoryArgs> for HistorySettings {
    fn from(a: cli::HistoryArgs) -> Self {
        let cli::HistoryArgs { app, limit, drills } = a;
        HistorySettings { app, limit, drills }
    }
}

/// `shipit explain RUN`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ExplainSettings {
    pub run: String,
}

impl From<cli::ExplainArgs> for ExplainSettings {
    fn from(a: cli::ExplainArgs) -> Self {
        let cli::ExplainArgs { run } = a;
        ExplainSettings { run }
    }
}

/// `shipit init [--dir DIR] [--name NAME] [--force]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InitSettings {
    pub dir: Option<PathBuf>,
    pub name: String,
    pub force: bool,
    /// `--test CMD`: the command the generated test job runs.
    pub test: Option<String>,
    /// `--no-test`: no test job, and no question.
    pub no_test: bool,
    /// `--store`: the record shipit.yml and the workflows are written for.
    pub store: crate::init::StoreChoice,
}

impl From<cli::InitArgs> for InitSettings {
    fn from(a: cli::InitArgs) -> Self {
        let cli::InitArgs {
            force,
            dir,
            name,
            test,
            no_test,
            store,
        } = a;
        InitSettings {
            dir,
            name,
            force,
            test,
            no_test,
            store: match store {
                cli::InitStore::Local => crate::init::StoreChoice::Local,
                cli::InitStore::Git => crate::init::StoreChoice::Git,
                cli::InitStore::Postgres => crate::init::StoreChoice::Postgres,
            },
        }
    }
}

/// `shipit cost [ENV|APP] [--app SERVICE]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CostSettings {
    pub target: Option<String>,
    pub service: Option<String>,
}

impl From<cli::CostArgs> for CostSettings {
    fn from(a: cli::CostArgs) -> Self {
        let cli::CostArgs { target, app } = a;
        CostSettings {
            target,
            service: app,
        }
    }
}

/// `shipit runbook [--out FILE] [--check]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunbookSettings {
    pub out: Option<PathBuf>,
    pub check: bool,
}

impl From<cli::RunbookArgs> for RunbookSettings {
    fn from(a: cli::RunbookArgs) -> Self {
        let cli::RunbookArgs { out, check } = a;
        RunbookSettings { out, check }
    }
}

/// `shipit demo [--dir DIR]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DemoSettings {
    pub dir: Option<PathBuf>,
    /// `--force`: use a folder that is not empty (never one holding another project).
    pub force: bool,
}

impl From<cli::DemoArgs> for DemoSettings {
    fn from(a: cli::DemoArgs) -> Self {
        let cli::DemoArgs { dir, force } = a;
        DemoSettings { dir, force }
    }
}

/// What `shipit report` was asked to do.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ReportSettings {
    /// Write the static site here.
    pub html: Option<std::path::PathBuf>,
    pub env: Option<String>,
    pub since: Option<Duration>,
}

impl From<cli::ReportArgs> for ReportSettings {
    fn from(a: cli::ReportArgs) -> Self {
        let cli::ReportArgs { html, env, since } = a;
        ReportSettings {
            html,
            env,
            since: since.map(|d| d.0),
        }
    }
}

/// `shipit db verify|lint-migrations|backup-check`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "db", rename_all = "snake_case")]
pub(crate) enum DbSettings {
    Verify {
        env: Option<String>,
        print_sql: bool,
    },
    LintMigrations {
        env: Option<String>,
    },
    BackupCheck {
        env: String,
        dump: Option<PathBuf>,
        /// A URL with a password: registered as a secret here, so no output shows it.
        scratch: Option<String>,
    },
}

impl From<cli::DbCommand> for DbSettings {
    fn from(c: cli::DbCommand) -> Self {
        match c {
            cli::DbCommand::Verify(a) => {
                let cli::DbVerifyArgs { env, print_sql } = a;
                DbSettings::Verify { env, print_sql }
            }
            cli::DbCommand::LintMigrations(a) => {
                let cli::DbLintArgs { env } = a;
                DbSettings::LintMigrations { env }
            }
            cli::DbCommand::BackupCheck(a) => {
                let cli::BackupCheckArgs { env, dump, scratch } = a;
                if let Some(url) = &scratch {
                    // Parsing registers the URL's password as a secret; a bad URL is reported
                    // by the command itself.
                    let _ = crate::pg::parse(url);
                }
                DbSettings::BackupCheck { env, dump, scratch }
            }
        }
    }
}

/// What `shipit parity` was asked to compare.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ParityOptions {
    pub env_a: String,
    pub env_b: String,
    pub service: Option<String>,
    pub allow_image_drift: bool,
}

impl From<cli::ParityArgs> for ParityOptions {
    fn from(a: cli::ParityArgs) -> Self {
        let cli::ParityArgs {
            env_a,
            env_b,
            app,
            allow_image_drift,
        } = a;
        ParityOptions {
            env_a,
            env_b,
            service: app,
            allow_image_drift,
        }
    }
}

/// What `shipit promote` was asked to do.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PromoteOptions {
    pub from: String,
    pub to: String,
    pub service: Option<String>,
    pub wait_lock: Option<Duration>,
}

impl From<cli::PromoteArgs> for PromoteOptions {
    fn from(a: cli::PromoteArgs) -> Self {
        let cli::PromoteArgs {
            from,
            to,
            app,
            wait_lock,
        } = a;
        PromoteOptions {
            from,
            to,
            service: app,
            wait_lock: wait_lock.map(|d| d.0),
        }
    }
}

impl PromoteOptions {
    /// TO's deploy plans, one per `(service, proved image)`: the merge of `deploy TO --app
    /// SERVICE --image IMAGE`, so a promotion runs every gate the config enables for TO (the
    /// database gate, the watch window's `monitor:`, the metrics comparison) as a deploy would.
    pub(crate) fn service_plans(
        &self,
        config: &Config,
        images: &[(&str, &str)],
    ) -> anyhow::Result<Vec<ServicePlan>> {
        let mut plans = Vec::with_capacity(images.len());
        for (service, image) in images {
            let deploy = DeploySettings {
                env: self.to.clone(),
                service: Some((*service).to_owned()),
                image: Some((*image).to_owned()),
                rollback: true,
                ..DeploySettings::default()
            };
            plans.extend(deploy.service_plans(config)?);
        }
        Ok(plans)
    }
}

/// `shipit check [ENV] [--app SERVICE]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckSettings {
    pub env: Option<String>,
    pub service: Option<String>,
}

impl From<cli::CheckArgs> for CheckSettings {
    fn from(a: cli::CheckArgs) -> Self {
        let cli::CheckArgs { env, app } = a;
        CheckSettings { env, service: app }
    }
}

/// `shipit watch ENV|APP --for DUR [--interval DUR]`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct WatchSettings {
    pub target: String,
    pub service: Option<String>,
    pub window: Duration,
    pub interval: Duration,
    /// `--rollback-on critical`: the level at which a finding rolls its app back.
    pub rollback_on: Option<crate::monitor::Level>,
}

impl From<cli::WatchArgs> for WatchSettings {
    fn from(a: cli::WatchArgs) -> Self {
        let cli::WatchArgs {
            target,
            window,
            interval,
            rollback_on,
        } = a;
        let cli::TargetArgs { target, app } = target;
        WatchSettings {
            target,
            service: app,
            window: window.0,
            interval: interval.0,
            rollback_on: rollback_on
                .as_deref()
                .and_then(crate::monitor::Level::parse),
        }
    }
}

/// What `shipit drill` was asked to do.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DrillSettings {
    pub env: String,
    pub service: Option<String>,
    /// `--to`: the release to roll back to instead of the previous good one.
    pub to: Option<u64>,
    pub allow_production: bool,
    pub wait_lock: Option<Duration>,
}

impl From<cli::DrillArgs> for DrillSettings {
    fn from(a: cli::DrillArgs) -> Self {
        let cli::DrillArgs {
            env,
            app,
            to,
            allow_production,
            wait_lock,
        } = a;
        DrillSettings {
            env,
            service: app,
            to,
            allow_production,
            wait_lock: wait_lock.map(|d| d.0),
        }
    }
}

/// `shipit store migrate --from local`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StoreMigrateSettings {
    pub from: cli::MigrateSource,
}

impl From<cli::StoreMigrateArgs> for StoreMigrateSettings {
    fn from(a: cli::StoreMigrateArgs) -> Self {
        let cli::StoreMigrateArgs { from } = a;
        StoreMigrateSettings { from }
    }
}
