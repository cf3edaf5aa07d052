//! One service's deploy as resolved from the config and the command line ([`ServicePlan`]), and
//! the dry run derived from it and from the stage table ([`describe`]): `shipit plan` prints the
//! steps the pipeline would walk, one line per stage, from the same values the run uses.

use crate::baseline::MachineSummary;
use crate::canary::CanarySpec;
use crate::config::{ConfigError, Service};
use crate::platform::{DeployRequest, MachineFilter, Strategy, flyctl_deploy_argv};
use crate::report::ReleaseRef;
use crate::smoke::Suite;

/// Whether a failure past the deploy call is rolled back, and if not, who said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackPolicy {
    Auto,
    /// `rollback: off` in shipit.yml.
    OffInConfig,
    /// `--no-rollback`.
    OffByFlag,
}

/// One service's deploy: the service, the exact deploy request (the flags merged over the
/// config) and the rollback policy. The pipeline runs it; `plan` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServicePlan {
    pub service: Service,
    pub request: DeployRequest,
    pub rollback: RollbackPolicy,
    /// The smoke suite, read and validated when the plan is made: nothing is parsed after the
    /// deploy call, so a typo in a suite is a config error, never a rollback of a live app.
    #[serde(skip)]
    pub smoke: Option<Suite>,
    /// The environment's database when `gates: { database: true }` (the migration lint before
    /// the deploy, `db verify` after it); set by `DeploySettings::service_plans`.
    #[serde(skip)]
    pub database: Option<crate::config::database::Database>,
    /// shipit's own canary (`strategy: canary` in shipit.yml or `--strategy canary`): the
    /// window's settings. flyctl never gets `--strategy canary` (its canary destroys its canary
    /// machine); every call of a canary deploy is `--strategy rolling` over chosen machines.
    pub canary: Option<CanarySpec>,
    /// `--force-unhealthy-baseline`: a live release that fails every baseline probe does not
    /// refuse the deploy.
    pub force_unhealthy_baseline: bool,
    /// With `metrics:` configured: the largest rise in the share of 5xx answers the regression
    /// gate allows (`monitor.metrics.max_5xx_ratio`); set by `DeploySettings::service_plans`.
    pub metrics_5xx: Option<f64>,
    /// `monitor:`: the levels and limits the watch window judges its findings by.
    #[serde(skip)]
    pub monitor: crate::monitor::escalation::Policy,
}

impl ServicePlan {
    /// `--image` and `--strategy` win over the service's `image:` and `strategy:`;
    /// `--no-rollback` (`rollback_flag = false`) over `rollback: auto`. Reads the service's
    /// smoke suite; a suite that does not load is the error.
    pub fn new(
        svc: &Service,
        image: Option<&str>,
        strategy: Option<Strategy>,
        rollback_flag: bool,
    ) -> Result<ServicePlan, ConfigError> {
        let rollback = if !rollback_flag {
            RollbackPolicy::OffByFlag
        } else if !svc.rollback {
            RollbackPolicy::OffInConfig
        } else {
            RollbackPolicy::Auto
        };
        let smoke = svc.smoke.as_deref().map(crate::smoke::load).transpose()?;
        let strategy = strategy.or(svc.strategy);
        let canary = (strategy == Some(Strategy::Canary)).then(|| svc.canary.clone());
        Ok(ServicePlan {
            service: svc.clone(),
            request: DeployRequest {
                app: svc.app.clone(),
                fly_config: svc.fly_config.clone(),
                image: image.map(str::to_owned).or_else(|| svc.image.clone()),
                strategy: flyctl_strategy(strategy),
                wait_timeout: svc.wait_timeout,
                skip_release_command: false,
                timeout: svc.deploy_timeout,
                machines: MachineFilter::default(),
                extra_args: svc.deploy_args.argv(),
            },
            rollback,
            smoke,
            database: None,
            canary,
            force_unhealthy_baseline: false,
            metrics_5xx: None,
            monitor: crate::monitor::escalation::Policy::default(),
        })
    }

    /// The flags given after `--` on the command line, after the config's `deploy_args:`
    /// (the deploy only: its rollback takes the config's runtime flags alone).
    #[must_use]
    pub fn with_flyctl_args(mut self, args: &crate::platform::deploy_args::DeployArgs) -> Self {
        self.request.extra_args = self.service.deploy_args.then(args).argv();
        self
    }

    /// The same plan deploying `image`, as `--image` would have made it.
    #[must_use]
    pub fn with_image(mut self, image: &str) -> Self {
        self.request.image = Some(image.to_owned());
        self
    }

    /// The request that puts `image` back: the service's own config and strategy (never the
    /// flags of the failed deploy), the release command skipped when the config says so.
    pub fn rollback_request(&self, image: &str) -> DeployRequest {
        rollback_request(&self.service, image)
    }

    /// The flyctl argv the deploy call runs.
    pub fn argv(&self) -> Vec<String> {
        flyctl_deploy_argv(&self.request)
    }

    /// The deploy request restricted to some machines (`--only-machines`): the canary's call.
    pub fn only_request(&self, machines: &[String]) -> DeployRequest {
        let mut req = self.request.clone();
        req.machines = MachineFilter {
            only: machines.to_vec(),
            exclude: Vec::new(),
        };
        req
    }

    /// The deploy request for every machine but some (`--exclude-machines`): the rest of the
    /// fleet after a canary passed, with the very image the canary ran (`image`, once known),
    /// so a build from source is not built a second time into another image.
    pub fn rest_request(&self, canaries: &[String], image: Option<&str>) -> DeployRequest {
        let mut req = self.request.clone();
        if let Some(image) = image {
            req.image = Some(image.to_owned());
        }
        req.machines = MachineFilter {
            only: Vec::new(),
            exclude: canaries.to_vec(),
        };
        req
    }

    /// The request that puts `image` back on some machines only: a failed canary's way back.
    pub fn rollback_only_request(&self, image: &str, machines: &[String]) -> DeployRequest {
        let mut req = self.rollback_request(image);
        req.machines = MachineFilter {
            only: machines.to_vec(),
            exclude: Vec::new(),
        };
        req
    }
}

/// The `--strategy` flyctl gets: shipit's canary is carried out with rolling deploys of chosen
/// machines, never with flyctl's own `canary`.
fn flyctl_strategy(strategy: Option<Strategy>) -> Option<Strategy> {
    match strategy {
        Some(Strategy::Canary) => Some(Strategy::Rolling),
        other => other,
    }
}

/// The request that puts `image` back on `svc`, for an automatic and a manual rollback alike.
pub fn rollback_request(svc: &Service, image: &str) -> DeployRequest {
    DeployRequest {
        app: svc.app.clone(),
        fly_config: svc.fly_config.clone(),
        image: Some(image.to_owned()),
        strategy: flyctl_strategy(svc.strategy),
        wait_timeout: svc.wait_timeout,
        skip_release_command: svc.skip_release_command_on_rollback,
        timeout: svc.deploy_timeout,
        machines: MachineFilter::default(),
        // The release's own runtime flags, never a build flag: a rollback never rebuilds.
        extra_args: svc.deploy_args.rollback_argv(),
    }
}

/// What a dry run knows besides the plan: the rollback target a read-only look found.
pub struct PlanView<'a> {
    pub plan: &'a ServicePlan,
    /// `None`: flyctl could not be asked; `Some(None)`: a first deploy, no target.
    pub target: Option<Option<ReleaseRef>>,
    /// The machines a read-only look found (what a canary is chosen from); `None` when flyctl
    /// could not be asked.
    pub fleet: Option<Vec<MachineSummary>>,
}

impl PlanView<'_> {
    pub fn service(&self) -> &Service {
        &self.plan.service
    }

    /// The canary split this look gives: (canaries, the others), `None` when the plan has no
    /// canary, the fleet is unknown, or a fleet of one falls back to the plain pipeline.
    pub fn canary_split(&self) -> Option<(Vec<String>, Vec<String>)> {
        let spec = self.plan.canary.as_ref()?;
        let image = self.target.as_ref()?.as_ref()?.image.as_str();
        super::canary::split(spec, self.fleet.as_deref()?, Some(image)).ok()
    }

    /// The request of the deploy stage: every machine, or after a canary every other machine.
    pub fn deploy_request(&self) -> DeployRequest {
        match self.canary_split() {
            Some((canaries, _)) => self.plan.rest_request(&canaries, None),
            None => self.plan.request.clone(),
        }
    }

    /// The rollback target as the baseline step says it.
    pub fn target_text(&self) -> String {
        match &self.target {
            Some(Some(r)) => super::release_text(Some(r)),
            Some(None) => "none: first deploy, nothing to roll back to".into(),
            None => "unknown (flyctl could not be asked)".into(),
        }
    }
}

/// The steps a deploy of `view.plan` walks, one line per stage of the table, then what happens
/// on failure.
pub fn describe(view: &PlanView<'_>) -> Vec<String> {
    let mut lines: Vec<String> = super::STAGES.iter().map(|s| s.plan(view)).collect();
    lines.push(super::rollback::plan(view));
    lines
}

/// The names of the stages a successful deploy records, in order.
pub fn stage_names() -> Vec<&'static str> {
    super::STAGES.iter().map(|s| s.name()).collect()
}
