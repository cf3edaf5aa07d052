//! Ways to pay less, each with the money it would save per 30 days. Three come from what Fly
//! reports (autostop off where nobody needs the app around the clock, stopped machines still
//! paying for their volumes, volumes no machine uses); two need metrics (memory sized far above
//! its 7-day p95 use, more machines in a region than its load needs) and take the figures as
//! plain data, so they are tested without a metrics server.

use serde::Serialize;

use super::estimate::{machine_monthly, size_name};
use super::prices::{Prices, dollars, round_cents};
use crate::platform::inventory::{Autostop, Billing, Inventory, SizedMachine};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FindingKind {
    AutostopOff,
    StoppedWithVolume,
    UnattachedVolume,
    OversizedMemory,
    ExcessMachines,
}

impl FindingKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            FindingKind::AutostopOff => "autostop_off",
            FindingKind::StoppedWithVolume => "stopped_with_volume",
            FindingKind::UnattachedVolume => "unattached_volume",
            FindingKind::OversizedMemory => "oversized_memory",
            FindingKind::ExcessMachines => "excess_machines",
        }
    }
}

/// One way to save, in an app of an environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Finding {
    pub kind: FindingKind,
    pub env: String,
    pub app: String,
    /// The machine, volume or region it is about.
    pub subject: String,
    pub text: String,
    /// US dollars per 30 days.
    pub monthly_saving: f64,
}

/// Where the findings are: the app and whether its environment is meant to run all the time.
pub(crate) struct Scope<'a> {
    pub env: &'a str,
    pub app: &'a str,
    pub always_on: bool,
}

impl Scope<'_> {
    fn finding(&self, kind: FindingKind, subject: String, text: String, saving: f64) -> Finding {
        Finding {
            kind,
            env: self.env.to_owned(),
            app: self.app.to_owned(),
            subject,
            text,
            monthly_saving: round_cents(saving),
        }
    }
}

/// The findings that Fly's own report shows, most money first.
pub(crate) fn from_inventory(scope: &Scope<'_>, inv: &Inventory, prices: &Prices) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(autostop_off(scope, inv, prices));
    out.extend(stopped_with_volumes(scope, inv, prices));
    out.extend(unattached_volumes(scope, inv, prices));
    sort(&mut out);
    out
}

/// The findings metrics show (memory sized above its p95, machines beyond a region's load),
/// most money first.
pub(crate) fn from_metrics(
    scope: &Scope<'_>,
    inv: &Inventory,
    memory: &[MemoryFigure],
    loads: &[RegionLoad],
    prices: &Prices,
) -> Vec<Finding> {
    let mut out = oversized_memory(scope, inv, memory, prices);
    out.extend(excess_machines(scope, inv, loads, prices));
    sort(&mut out);
    out
}

/// Most money first, then by app and subject, so output is stable.
pub(crate) fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.monthly_saving
            .total_cmp(&a.monthly_saving)
            .then_with(|| a.app.cmp(&b.app))
            .then_with(|| a.subject.cmp(&b.subject))
    });
}

/// An app outside the always-on environments whose machines never stop: with autostop they
/// would stop when idle, keeping `min_machines_running` up. "Up to": it saves that much only
/// while the app is idle, which a staging app mostly is.
fn autostop_off(scope: &Scope<'_>, inv: &Inventory, prices: &Prices) -> Option<Finding> {
    if scope.always_on {
        return None;
    }
    let mut never_stop: Vec<&SizedMachine> = inv
        .machines
        .iter()
        .filter(|m| m.autostop == Autostop::Off && m.billing() == Billing::Running)
        .collect();
    if never_stop.is_empty() {
        return None;
    }
    // The machines kept running are the dearest ones, so the saving is not overstated.
    never_stop.sort_by(|a, b| machine_monthly(b, prices).total_cmp(&machine_monthly(a, prices)));
    let keep = never_stop
        .iter()
        .map(|m| m.min_machines_running)
        .max()
        .unwrap_or(0) as usize;
    let saving: f64 = never_stop
        .iter()
        .skip(keep)
        .map(|m| machine_monthly(m, prices) - prices.rootfs(m.rootfs_gb))
        .sum();
    if saving <= 0.0 {
        return None;
    }
    let n = never_stop.len();
    Some(scope.finding(
        FindingKind::AutostopOff,
        scope.app.to_owned(),
        format!(
            "{} ({}) runs {n} machine{} around the clock with autostop off: with `auto_stop_machines = \"stop\"` \
             in its fly.toml they stop when idle, saving up to {}/month",
            scope.app,
            scope.env,
            if n == 1 { "" } else { "s" },
            dollars(saving)
        ),
        saving,
    ))
}

/// A stopped machine that mounts volumes pays for them (and its root filesystem) every month.
fn stopped_with_volumes(scope: &Scope<'_>, inv: &Inventory, prices: &Prices) -> Vec<Finding> {
    let mut out = Vec::new();
    for m in inv
        .machines
        .iter()
        .filter(|m| m.billing() == Billing::RootfsOnly && !m.mounts.is_empty())
    {
        let volumes: Vec<_> = inv
            .volumes
            .iter()
            .filter(|v| m.mounts.contains(&v.id))
            .collect();
        if volumes.is_empty() {
            continue;
        }
        let gb: u32 = volumes.iter().map(|v| v.size_gb).sum();
        let saving = volumes
            .iter()
            .map(|v| prices.volume(v.size_gb))
            .sum::<f64>()
            + prices.rootfs(m.rootfs_gb);
        let ids: Vec<&str> = volumes.iter().map(|v| v.id.as_str()).collect();
        out.push(scope.finding(
            FindingKind::StoppedWithVolume,
            m.id.clone(),
            format!(
                "machine {} of {} is {} but still pays for its volume{} {} ({gb} GB): {}/month; if nobody needs it, \
                 `flyctl machine destroy {} --app {}`, then {}",
                m.id,
                scope.app,
                m.state,
                if ids.len() == 1 { "" } else { "s" },
                ids.join(", "),
                dollars(saving),
                m.id,
                scope.app,
                ids.iter()
                    .map(|id| format!("`flyctl volumes destroy {id} --app {}`", scope.app))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            saving,
        ));
    }
    out
}

/// A volume no machine is attached to is billed in full and serves nothing.
fn unattached_volumes(scope: &Scope<'_>, inv: &Inventory, prices: &Prices) -> Vec<Finding> {
    inv.volumes
        .iter()
        .filter(|v| v.attached_machine_id.is_none())
        .map(|v| {
            let saving = prices.volume(v.size_gb);
            scope.finding(
                FindingKind::UnattachedVolume,
                v.id.clone(),
                format!(
                    "volume {} ({}, {} GB in {}) of {} is attached to no machine: {}/month; \
                     `flyctl volumes destroy {} --app {}` once you know it holds nothing you need",
                    v.id,
                    v.name,
                    v.size_gb,
                    v.region,
                    scope.app,
                    dollars(saving),
                    v.id,
                    scope.app
                ),
                saving,
            )
        })
        .collect()
}

/// A machine's memory use over the last 7 days, from metrics.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    dead_code,
    reason = "a metric finding: tested on figures, wired into `shipit cost` once a Prometheus reader exists (README: `metrics:` is parsed but not read yet)"
)]
pub(crate) struct MemoryFigure {
    pub machine_id: String,
    /// 95th percentile of memory in use, in MB.
    pub p95_used_mb: f64,
}

/// Memory sized far above use: p95 under half of what the machine has. The suggested size is
/// the p95 with 50% headroom, rounded up to Fly's 256 MB steps and never below what the CPUs
/// include; the saving is the price difference at that size.
#[allow(
    dead_code,
    reason = "a metric finding: tested on figures, wired into `shipit cost` once a Prometheus reader exists (README: `metrics:` is parsed but not read yet)"
)]
pub(crate) fn oversized_memory(
    scope: &Scope<'_>,
    inv: &Inventory,
    figures: &[MemoryFigure],
    prices: &Prices,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in figures {
        let Some(m) = inv.machines.iter().find(|m| m.id == f.machine_id) else {
            continue;
        };
        if m.billing() != Billing::Running || f.p95_used_mb * 2.0 >= f64::from(m.memory_mb) {
            continue;
        }
        let included = if m.cpu_kind == "performance" {
            prices.performance_included_mb
        } else {
            prices.shared_included_mb
        } * m.cpus;
        let wanted = (f.p95_used_mb * 1.5 / 256.0).ceil() as u32 * 256;
        let suggested = wanted.max(included).max(256);
        if suggested >= m.memory_mb {
            continue;
        }
        let saving = prices.running(&m.cpu_kind, m.cpus, m.memory_mb, &m.region)
            - prices.running(&m.cpu_kind, m.cpus, suggested, &m.region);
        if saving <= 0.0 {
            continue;
        }
        out.push(scope.finding(
            FindingKind::OversizedMemory,
            m.id.clone(),
            format!(
                "machine {} of {} ({}) used at most {:.0} MB (p95 over 7 days): {suggested} MB would do \
                 (`[[vm]] memory = \"{suggested}mb\"` in fly.toml), saving {}/month",
                m.id,
                scope.app,
                size_name(m),
                f.p95_used_mb,
                dollars(saving)
            ),
            saving,
        ));
    }
    out
}

/// The load of one region of an app, from metrics.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    dead_code,
    reason = "a metric finding: tested on figures, wired into `shipit cost` once a Prometheus reader exists (README: `metrics:` is parsed but not read yet)"
)]
pub(crate) struct RegionLoad {
    pub region: String,
    /// 95th percentile over 7 days of the concurrent requests (or connections) the region served.
    pub p95_concurrency: f64,
    /// How many each machine is meant to take (`concurrency.soft_limit` in fly.toml).
    pub soft_limit: u32,
}

/// More started machines in a region than its load needs: needed = p95 concurrency over the
/// soft limit, rounded up, and never fewer than two in an always-on environment (one can go
/// down) or one elsewhere. The saving is the cheapest surplus machines' price.
#[allow(
    dead_code,
    reason = "a metric finding: tested on figures, wired into `shipit cost` once a Prometheus reader exists (README: `metrics:` is parsed but not read yet)"
)]
pub(crate) fn excess_machines(
    scope: &Scope<'_>,
    inv: &Inventory,
    loads: &[RegionLoad],
    prices: &Prices,
) -> Vec<Finding> {
    let floor = if scope.always_on { 2 } else { 1 };
    let mut out = Vec::new();
    for load in loads {
        let mut running: Vec<&SizedMachine> = inv
            .machines
            .iter()
            .filter(|m| m.region == load.region && m.billing() == Billing::Running)
            .collect();
        let needed = if load.soft_limit == 0 {
            continue;
        } else {
            ((load.p95_concurrency / f64::from(load.soft_limit)).ceil() as usize).max(floor)
        };
        if running.len() <= needed {
            continue;
        }
        running.sort_by(|a, b| machine_monthly(a, prices).total_cmp(&machine_monthly(b, prices)));
        let surplus = running.len() - needed;
        let saving: f64 = running
            .iter()
            .take(surplus)
            .map(|m| machine_monthly(m, prices) - prices.rootfs(m.rootfs_gb))
            .sum();
        out.push(scope.finding(
            FindingKind::ExcessMachines,
            load.region.clone(),
            format!(
                "{} runs {} machines in {} for a p95 of {:.0} concurrent requests at a soft limit of {}: {needed} would do \
                 (`flyctl scale count {needed} --region {} --app {}`), saving {}/month",
                scope.app,
                running.len(),
                load.region,
                load.p95_concurrency,
                load.soft_limit,
                load.region,
                scope.app,
                dollars(saving)
            ),
            saving,
        ));
    }
    out
}

#[cfg(test)]
#[allow(
    clippy::float_cmp,
    reason = "every figure compared is rounded to the cent first"
)]
mod tests {
    use super::*;
    use crate::platform::inventory::Volume;

    fn machine(id: &str, state: &str, mb: u32, autostop: Autostop) -> SizedMachine {
        SizedMachine {
            id: id.into(),
            region: "iad".into(),
            state: state.into(),
            process_group: Some("app".into()),
            cpu_kind: "shared".into(),
            cpus: 1,
            memory_mb: mb,
            autostop,
            min_machines_running: 0,
            rootfs_gb: None,
            mounts: Vec::new(),
            soft_limit: None,
        }
    }

    fn volume(id: &str, gb: u32, attached: Option<&str>) -> Volume {
        Volume {
            id: id.into(),
            name: "data".into(),
            state: "created".into(),
            size_gb: gb,
            region: "iad".into(),
            attached_machine_id: attached.map(str::to_owned),
        }
    }

    const STAGING: Scope<'static> = Scope {
        env: "staging",
        app: "hotdash-staging",
        always_on: false,
    };
    const PRODUCTION: Scope<'static> = Scope {
        env: "production",
        app: "hotdash-production",
        always_on: true,
    };

    #[test]
    fn autostop_off_outside_production_saves_what_would_stop() {
        let mut keep = machine("a", "started", 1024, Autostop::Off);
        keep.min_machines_running = 1;
        let inv = Inventory {
            machines: vec![keep, machine("b", "started", 1024, Autostop::Off)],
            volumes: Vec::new(),
        };
        let found = from_inventory(&STAGING, &inv, &Prices::shipped());
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::AutostopOff);
        // One machine keeps running; the other stops and pays only its 1 GB root filesystem.
        assert_eq!(f.monthly_saving, 5.55, "5.70 - 0.15");
        assert!(f.text.contains("2 machines around the clock"), "{}", f.text);
        assert!(
            f.text.contains("auto_stop_machines = \"stop\""),
            "{}",
            f.text
        );
        assert!(from_inventory(&PRODUCTION, &inv, &Prices::shipped()).is_empty());
        let autostopped = Inventory {
            machines: vec![machine("a", "started", 1024, Autostop::Stop)],
            volumes: Vec::new(),
        };
        assert!(from_inventory(&STAGING, &autostopped, &Prices::shipped()).is_empty());
        let worker = Inventory {
            machines: vec![machine("w", "started", 1024, Autostop::NoService)],
            volumes: Vec::new(),
        };
        assert!(
            from_inventory(&STAGING, &worker, &Prices::shipped()).is_empty(),
            "a machine with no service is not the proxy's to stop"
        );
    }

    #[test]
    fn a_stopped_machine_still_pays_for_its_volume() {
        let mut m = machine("m1", "stopped", 512, Autostop::Stop);
        m.mounts = vec!["vol_1".into()];
        let inv = Inventory {
            machines: vec![m],
            volumes: vec![volume("vol_1", 10, Some("m1"))],
        };
        let found = from_inventory(&PRODUCTION, &inv, &Prices::shipped());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, FindingKind::StoppedWithVolume);
        assert_eq!(found[0].monthly_saving, 1.65, "10 GB volume + 1 GB rootfs");
        assert!(found[0].text.contains("vol_1 (10 GB)"), "{}", found[0].text);
    }

    #[test]
    fn an_unattached_volume_is_its_whole_price() {
        let inv = Inventory {
            machines: Vec::new(),
            volumes: vec![volume("vol_2", 40, None), volume("vol_3", 3, Some("x"))],
        };
        let found = from_inventory(&PRODUCTION, &inv, &Prices::shipped());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, FindingKind::UnattachedVolume);
        assert_eq!(found[0].subject, "vol_2");
        assert_eq!(found[0].monthly_saving, 6.0);
    }

    #[test]
    fn memory_far_above_its_p95_is_sized_down_to_a_step_with_headroom() {
        let inv = Inventory {
            machines: vec![
                machine("big", "started", 2048, Autostop::Stop),
                machine("fit", "started", 1024, Autostop::Stop),
            ],
            volumes: Vec::new(),
        };
        let figures = [
            MemoryFigure {
                machine_id: "big".into(),
                p95_used_mb: 300.0,
            },
            MemoryFigure {
                machine_id: "fit".into(),
                p95_used_mb: 700.0,
            },
        ];
        let found = oversized_memory(&STAGING, &inv, &figures, &Prices::shipped());
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::OversizedMemory);
        assert_eq!(f.subject, "big");
        // 300 MB × 1.5 = 450 → 512 MB: 10.70 - 3.19.
        assert!(f.text.contains("512 MB would do"), "{}", f.text);
        assert_eq!(f.monthly_saving, 7.5);
    }

    #[test]
    fn more_machines_than_the_load_needs_in_a_region() {
        let inv = Inventory {
            machines: (0..4)
                .map(|i| machine(&format!("m{i}"), "started", 1024, Autostop::Stop))
                .collect(),
            volumes: Vec::new(),
        };
        let load = [RegionLoad {
            region: "iad".into(),
            p95_concurrency: 30.0,
            soft_limit: 25,
        }];
        let found = excess_machines(&PRODUCTION, &inv, &load, &Prices::shipped());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, FindingKind::ExcessMachines);
        assert!(found[0].text.contains("2 would do"), "{}", found[0].text);
        assert_eq!(
            found[0].monthly_saving, 11.09,
            "two machines of 5.70 minus their rootfs"
        );
        // Staging may go down to one.
        let found = excess_machines(
            &STAGING,
            &inv,
            &[RegionLoad {
                p95_concurrency: 3.0,
                ..load[0].clone()
            }],
            &Prices::shipped(),
        );
        assert!(found[0].text.contains("1 would do"), "{}", found[0].text);
        let busy = [RegionLoad {
            region: "iad".into(),
            p95_concurrency: 95.0,
            soft_limit: 25,
        }];
        assert!(excess_machines(&PRODUCTION, &inv, &busy, &Prices::shipped()).is_empty());
    }
}
