//! The price table: Fly's published prices shipped in `fly-prices.toml` (with their source and
//! the date they were read), overridden by shipit.yml's `cost.prices:`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::PriceOverrides;

/// The shipped table, compiled in.
const SHIPPED: &str = include_str!("fly-prices.toml");

/// Monthly (30-day) US dollar prices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Prices {
    pub source: String,
    pub read_on: String,
    pub shared_cpu: f64,
    pub performance_cpu: f64,
    pub extra_ram_gb: f64,
    pub shared_included_mb: u32,
    pub performance_included_mb: u32,
    pub volume_gb: f64,
    pub stopped_rootfs_gb: f64,
    pub assumed_rootfs_gb: f64,
    pub regions: BTreeMap<String, f64>,
    /// The `cost.prices` keys that replaced a shipped value.
    pub overridden: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    source: String,
    read_on: String,
    compute: Compute,
    storage: Storage,
    regions: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Compute {
    shared_cpu: f64,
    performance_cpu: f64,
    extra_ram_gb: f64,
    shared_included_mb: u32,
    performance_included_mb: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    clippy::struct_field_names,
    reason = "the keys of the data file's [storage] table"
)]
struct Storage {
    volume_gb: f64,
    stopped_rootfs_gb: f64,
    assumed_rootfs_gb: f64,
}

impl Prices {
    /// The table that ships with shipit.
    pub(crate) fn shipped() -> Prices {
        let t: Table =
            toml::from_str(SHIPPED).expect("the shipped price table parses (a unit test holds it)");
        Prices {
            source: t.source,
            read_on: t.read_on,
            shared_cpu: t.compute.shared_cpu,
            performance_cpu: t.compute.performance_cpu,
            extra_ram_gb: t.compute.extra_ram_gb,
            shared_included_mb: t.compute.shared_included_mb,
            performance_included_mb: t.compute.performance_included_mb,
            volume_gb: t.storage.volume_gb,
            stopped_rootfs_gb: t.storage.stopped_rootfs_gb,
            assumed_rootfs_gb: t.storage.assumed_rootfs_gb,
            regions: t.regions,
            overridden: Vec::new(),
        }
    }

    /// The shipped table with the config's overrides applied.
    #[must_use]
    pub(crate) fn with_overrides(mut self, o: &PriceOverrides) -> Prices {
        let mut set = |key: &str, slot: &mut f64, value: Option<f64>| {
            if let Some(v) = value {
                *slot = v;
                self.overridden.push(key.to_owned());
            }
        };
        set("shared_cpu", &mut self.shared_cpu, o.shared_cpu);
        set(
            "performance_cpu",
            &mut self.performance_cpu,
            o.performance_cpu,
        );
        set("extra_ram_gb", &mut self.extra_ram_gb, o.extra_ram_gb);
        set("volume_gb", &mut self.volume_gb, o.volume_gb);
        set(
            "stopped_rootfs_gb",
            &mut self.stopped_rootfs_gb,
            o.stopped_rootfs_gb,
        );
        set(
            "assumed_rootfs_gb",
            &mut self.assumed_rootfs_gb,
            o.assumed_rootfs_gb,
        );
        for (region, factor) in &o.regions {
            self.regions.insert(region.clone(), *factor);
            self.overridden.push(format!("regions.{region}"));
        }
        self
    }

    /// The region's multiple of the base price, when the table knows the region.
    pub(crate) fn markup(&self, region: &str) -> Option<f64> {
        self.regions.get(region).copied()
    }

    /// A started machine for 30 days: per vCPU with its included memory, plus the memory above
    /// that, times the region's markup (1.0 for a region the table does not know).
    pub(crate) fn running(&self, cpu_kind: &str, cpus: u32, memory_mb: u32, region: &str) -> f64 {
        let (per_cpu, included_mb) = if cpu_kind == "performance" {
            (self.performance_cpu, self.performance_included_mb)
        } else {
            (self.shared_cpu, self.shared_included_mb)
        };
        let included = f64::from(cpus) * f64::from(included_mb);
        let extra_gb = (f64::from(memory_mb) - included).max(0.0) / 1024.0;
        self.markup(region).unwrap_or(1.0)
            * (f64::from(cpus) * per_cpu + extra_gb * self.extra_ram_gb)
    }

    /// A stopped or suspended machine for 30 days: its root filesystem only.
    pub(crate) fn rootfs(&self, size_gb: Option<u32>) -> f64 {
        size_gb.map_or(self.assumed_rootfs_gb, f64::from) * self.stopped_rootfs_gb
    }

    /// A volume for 30 days, attached or not.
    pub(crate) fn volume(&self, size_gb: u32) -> f64 {
        f64::from(size_gb) * self.volume_gb
    }
}

/// Money as people read it: `$12.34`.
pub(crate) fn dollars(amount: f64) -> String {
    format!("${:.2}", round_cents(amount))
}

/// Rounded to the cent, for JSON and sums people compare.
pub(crate) fn round_cents(amount: f64) -> f64 {
    // `+ 0.0` turns the -0.0 of an empty `sum()` into 0.0, so nothing prints as `$-0.00`.
    (amount * 100.0).round() / 100.0 + 0.0
}

#[cfg(test)]
#[allow(
    clippy::float_cmp,
    reason = "every figure compared is rounded to the cent first"
)]
mod tests {
    use super::*;

    fn cents(x: f64) -> f64 {
        round_cents(x)
    }

    #[test]
    fn the_shipped_table_reproduces_the_published_matrix() {
        let p = Prices::shipped();
        assert!(p.source.contains("fly.io/docs/about/pricing"));
        assert_eq!(p.read_on, "2026-08-21");
        // Rows of the iad matrix (reference/canary-and-cost.md §C1).
        for (kind, cpus, mb, expected) in [
            ("shared", 1, 256, 1.94),
            ("shared", 1, 512, 3.19),
            ("shared", 1, 1024, 5.70),
            ("shared", 1, 2048, 10.70),
            ("shared", 2, 4096, 21.40),
            ("shared", 4, 8192, 42.79),
            ("shared", 8, 16384, 85.59),
            ("performance", 1, 2048, 31.00),
            ("performance", 2, 8192, 82.01),
            ("performance", 4, 32768, 244.06),
            ("performance", 16, 131_072, 976.25),
        ] {
            assert_eq!(
                cents(p.running(kind, cpus, mb, "iad")),
                expected,
                "{kind} {cpus}x {mb}MB"
            );
        }
        // The docs' own sjc examples: shared-1x 256MB $2.32, three shared-1x 1GB $20.37.
        assert_eq!(cents(p.running("shared", 1, 256, "sjc")), 2.32);
        assert_eq!(
            cents(3.0 * cents(p.running("shared", 1, 1024, "sjc"))),
            20.37
        );
        // The billing page: a 1 GB rootfs stopped for 10 days costs $0.05.
        assert_eq!(cents(p.rootfs(Some(1)) / 3.0), 0.05);
        assert_eq!(p.volume(10), 1.5);
    }

    #[test]
    fn unknown_regions_cost_the_base_price_and_overrides_replace_values() {
        let p = Prices::shipped();
        assert_eq!(p.markup("zzz"), None);
        assert_eq!(
            p.running("shared", 1, 256, "zzz"),
            p.running("shared", 1, 256, "iad")
        );
        let o = PriceOverrides {
            shared_cpu: Some(3.0),
            volume_gb: Some(0.2),
            regions: vec![("zzz".to_owned(), 2.0)],
            ..PriceOverrides::default()
        };
        let p = p.with_overrides(&o);
        assert_eq!(p.running("shared", 1, 256, "iad"), 3.0);
        assert_eq!(p.running("shared", 1, 256, "zzz"), 6.0);
        assert_eq!(p.volume(10), 2.0);
        assert_eq!(p.overridden, ["shared_cpu", "volume_gb", "regions.zzz"]);
        assert_eq!(dollars(1.005_1), "$1.01");
        assert_eq!(dollars(std::iter::empty::<f64>().sum()), "$0.00");
    }
}
