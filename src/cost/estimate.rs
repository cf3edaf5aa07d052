//! One app's monthly estimate: its started machines' compute, its stopped machines' root
//! filesystems and its volumes, each priced as if it stayed as it is now for 30 days.

use serde::Serialize;

use super::prices::{Prices, round_cents};
use crate::platform::inventory::{Billing, Inventory, SizedMachine, Volume};

/// One machine's part of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MachineCost {
    pub id: String,
    pub region: String,
    pub state: String,
    pub size: String,
    pub billing: Billing,
    pub monthly: f64,
}

/// One volume's part of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct VolumeCost {
    pub id: String,
    pub name: String,
    pub size_gb: u32,
    pub region: String,
    pub attached_machine_id: Option<String>,
    pub monthly: f64,
}

/// An app's monthly estimate, in US dollars per 30 days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AppEstimate {
    pub env: String,
    pub service: String,
    pub app: String,
    pub machines: Vec<MachineCost>,
    pub volumes: Vec<VolumeCost>,
    /// Started machines: CPU and memory.
    pub compute: f64,
    /// Stopped and suspended machines: their root filesystems.
    pub stopped: f64,
    pub storage: f64,
    pub total: f64,
    /// What the estimate had to assume.
    pub notes: Vec<String>,
}

/// `shared-cpu-2x 1024MB`, the way Fly names sizes.
pub(crate) fn size_name(m: &SizedMachine) -> String {
    format!("{}-cpu-{}x {}MB", m.cpu_kind, m.cpus, m.memory_mb)
}

/// A machine's monthly price in its current state.
pub(crate) fn machine_monthly(m: &SizedMachine, prices: &Prices) -> f64 {
    match m.billing() {
        Billing::Running => prices.running(&m.cpu_kind, m.cpus, m.memory_mb, &m.region),
        Billing::RootfsOnly => prices.rootfs(m.rootfs_gb),
        Billing::Nothing => 0.0,
    }
}

pub(crate) fn volume_monthly(v: &Volume, prices: &Prices) -> f64 {
    prices.volume(v.size_gb)
}

pub(crate) fn estimate(
    env: &str,
    service: &str,
    app: &str,
    inv: &Inventory,
    prices: &Prices,
) -> AppEstimate {
    let mut notes = Vec::new();
    let mut unknown_regions: Vec<&str> = Vec::new();
    let mut assumed_rootfs = 0;
    let mut machines = Vec::new();
    let (mut compute, mut stopped) = (0.0, 0.0);
    for m in &inv.machines {
        let monthly = machine_monthly(m, prices);
        match m.billing() {
            Billing::Running => {
                compute += monthly;
                if prices.markup(&m.region).is_none()
                    && !unknown_regions.contains(&m.region.as_str())
                {
                    unknown_regions.push(&m.region);
                }
            }
            Billing::RootfsOnly => {
                stopped += monthly;
                if m.rootfs_gb.is_none() {
                    assumed_rootfs += 1;
                }
            }
            Billing::Nothing => {}
        }
        machines.push(MachineCost {
            id: m.id.clone(),
            region: m.region.clone(),
            state: m.state.clone(),
            size: size_name(m),
            billing: m.billing(),
            monthly: round_cents(monthly),
        });
    }
    let volumes: Vec<VolumeCost> = inv
        .volumes
        .iter()
        .map(|v| VolumeCost {
            id: v.id.clone(),
            name: v.name.clone(),
            size_gb: v.size_gb,
            region: v.region.clone(),
            attached_machine_id: v.attached_machine_id.clone(),
            monthly: round_cents(volume_monthly(v, prices)),
        })
        .collect();
    let storage: f64 = inv.volumes.iter().map(|v| volume_monthly(v, prices)).sum();
    for region in unknown_regions {
        notes.push(format!(
            "region `{region}` is not in the price table: priced at the base (iad) rate; set `cost.prices.regions.{region}`"
        ));
    }
    if assumed_rootfs > 0 {
        notes.push(format!(
            "{assumed_rootfs} stopped machine(s) priced with a {} GB root filesystem (Fly does not report its size)",
            prices.assumed_rootfs_gb
        ));
    }
    AppEstimate {
        env: env.to_owned(),
        service: service.to_owned(),
        app: app.to_owned(),
        machines,
        volumes,
        compute: round_cents(compute),
        stopped: round_cents(stopped),
        storage: round_cents(storage),
        total: round_cents(compute + stopped + storage),
        notes,
    }
}

#[cfg(test)]
#[allow(
    clippy::float_cmp,
    reason = "every figure compared is rounded to the cent first"
)]
mod tests {
    use super::*;
    use crate::platform::inventory::Autostop;

    pub(crate) fn machine(
        id: &str,
        state: &str,
        kind: &str,
        cpus: u32,
        mb: u32,
        region: &str,
    ) -> SizedMachine {
        SizedMachine {
            id: id.into(),
            region: region.into(),
            state: state.into(),
            process_group: Some("app".into()),
            cpu_kind: kind.into(),
            cpus,
            memory_mb: mb,
            autostop: Autostop::Stop,
            min_machines_running: 0,
            rootfs_gb: None,
            mounts: Vec::new(),
            soft_limit: None,
        }
    }

    #[test]
    fn started_machines_pay_compute_stopped_ones_their_rootfs_and_volumes_their_size() {
        let inv = Inventory {
            machines: vec![
                machine("a", "started", "shared", 1, 1024, "iad"),
                machine("b", "starting", "performance", 2, 8192, "iad"),
                machine("c", "stopped", "shared", 1, 256, "iad"),
                machine("d", "suspended", "shared", 1, 256, "ams"),
                machine("e", "destroyed", "shared", 8, 16384, "iad"),
            ],
            volumes: vec![Volume {
                id: "vol_1".into(),
                name: "data".into(),
                state: "created".into(),
                size_gb: 10,
                region: "iad".into(),
                attached_machine_id: Some("c".into()),
            }],
        };
        let e = estimate(
            "staging",
            "web",
            "hotdash-staging",
            &inv,
            &Prices::shipped(),
        );
        assert_eq!(e.compute, 87.71, "5.70 + 82.01");
        assert_eq!(e.stopped, 0.30, "two 1 GB root filesystems at 0.15");
        assert_eq!(e.storage, 1.50);
        assert_eq!(e.total, 89.51);
        assert_eq!(e.machines[4].monthly, 0.0);
        assert_eq!(e.machines[1].size, "performance-cpu-2x 8192MB");
        assert!(e.notes[0].contains("2 stopped machine(s)"), "{:?}", e.notes);
    }

    #[test]
    fn a_region_missing_from_the_table_is_said() {
        let inv = Inventory {
            machines: vec![machine("a", "started", "shared", 1, 256, "xyz")],
            volumes: Vec::new(),
        };
        let e = estimate("staging", "web", "a", &inv, &Prices::shipped());
        assert_eq!(e.total, 1.94);
        assert!(
            e.notes[0].contains("`cost.prices.regions.xyz`"),
            "{:?}",
            e.notes
        );
    }
}
