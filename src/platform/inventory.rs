//! What an app is billed for, as Fly reports it: each machine's guest size, state and autostop
//! setting, and the app's volumes (`machines list --json` and `volumes list --json`, shapes in
//! `reference/canary-and-cost.md` §D). `cost` reads this through [`InventorySource`]; the real
//! source is `fly::Fly`.

use serde::Serialize;

use super::PlatformError;

/// The proxy's autostop setting of a machine's services (`config.services[].autostop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Autostop {
    /// `false`: the proxy never stops it.
    Off,
    /// `true`: stopped when idle.
    Stop,
    /// `"suspend"`: suspended when idle.
    Suspend,
    /// No service: nothing routes to it, so the proxy neither starts nor stops it (a worker).
    NoService,
}

/// One machine, with what its price depends on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizedMachine {
    pub id: String,
    pub region: String,
    /// Fly's state as reported (`started`, `stopped`, `suspended`, `starting`...).
    pub state: String,
    pub process_group: Option<String>,
    /// `shared` or `performance`.
    pub cpu_kind: String,
    pub cpus: u32,
    pub memory_mb: u32,
    pub autostop: Autostop,
    /// The largest `min_machines_running` of its services (0 when none says).
    pub min_machines_running: u32,
    /// `config.rootfs.size_gb` when the machine says it; the image size is not in the JSON.
    pub rootfs_gb: Option<u32>,
    /// Volume ids from `config.mounts[]`.
    pub mounts: Vec<String>,
    /// The smallest `concurrency.soft_limit` of its services: how many requests one machine is
    /// meant to take (the excess-machines finding's divisor). `None` when no service says.
    pub soft_limit: Option<u32>,
}

/// How a machine in a state is billed (`reference/canary-and-cost.md` §C3, §D1): transient
/// states are billed as the state they lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// CPU and memory, per second.
    Running,
    /// Only its root filesystem.
    RootfsOnly,
    /// Nothing: gone or going.
    Nothing,
}

impl SizedMachine {
    pub fn billing(&self) -> Billing {
        match self.state.as_str() {
            "started" | "starting" | "restarting" | "updating" | "replacing" => Billing::Running,
            "destroying" | "destroyed" | "replaced" | "migrated" => Billing::Nothing,
            // stopped, suspended, created, failed, launch_failed, stopping, suspending, creating
            _ => Billing::RootfsOnly,
        }
    }
}

/// One volume of an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    pub id: String,
    pub name: String,
    pub state: String,
    pub size_gb: u32,
    pub region: String,
    pub attached_machine_id: Option<String>,
}

/// Everything about one app that has a price.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    pub machines: Vec<SizedMachine>,
    pub volumes: Vec<Volume>,
}

/// Where inventories come from: flyctl, or a test's fake.
#[allow(async_fn_in_trait)]
pub trait InventorySource {
    async fn inventory(&self, app: &str) -> Result<Inventory, PlatformError>;
}
