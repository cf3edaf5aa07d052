//! Command-line arguments resolved into plain settings: clap types stop here, and commands below
//! take these.

use std::time::Duration;

use crate::cli;

/// What `shipit deploy` (and `plan`, which is its dry run) was asked to do.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DeploySettings {
    pub env: String,
    pub service: Option<String>,
    pub image: Option<String>,
    pub strategy: Option<String>,
    pub rollback: bool,
    pub dry_run: bool,
    pub wait_lock: Option<Duration>,
    /// `--require-promoted`: the image must be proved by an earlier environment.
    pub require_promoted: bool,
    /// `--from`: that environment (default: the one before `env` in shipit.yml).
    pub promoted_from: Option<String>,
}

impl From<cli::DeployArgs> for DeploySettings {
    fn from(a: cli::DeployArgs) -> Self {
        DeploySettings {
            env: a.env,
            service: a.app,
            image: a.image,
            strategy: a.strategy,
            rollback: !a.no_rollback,
            dry_run: a.dry_run,
            wait_lock: a.wait_lock.map(|d| d.0),
            require_promoted: a.require_promoted,
            promoted_from: a.from,
        }
    }
}

impl From<cli::PlanArgs> for DeploySettings {
    fn from(a: cli::PlanArgs) -> Self {
        DeploySettings {
            env: a.env,
            service: a.app,
            image: a.image,
            strategy: a.strategy,
            rollback: true,
            dry_run: true,
            wait_lock: None,
            require_promoted: false,
            promoted_from: None,
        }
    }
}

/// What `shipit rollback` was asked to do.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RollbackSettings {
    pub target: String,
    pub service: Option<String>,
    pub to: Option<u64>,
    pub wait_lock: Option<Duration>,
}

impl From<cli::RollbackArgs> for RollbackSettings {
    fn from(a: cli::RollbackArgs) -> Self {
        RollbackSettings {
            target: a.target.target,
            service: a.target.app,
            to: a.to,
            wait_lock: a.wait_lock.map(|d| d.0),
        }
    }
}

/// What `shipit parity` was asked to compare.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParityOptions {
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct PromoteOptions {
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
