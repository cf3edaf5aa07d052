//! The `cost:` block of shipit.yml: overrides of the shipped price table and which environments
//! are meant to run around the clock.
//!
//! ```yaml
//! cost:
//!   prices: { shared_cpu: 1.944, extra_ram_gb: 5.0, volume_gb: 0.15, regions: { sjc: 1.1923 } }
//!   always_on: [production]
//! ```

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{ConfigError, Environment, Loader, closest};
use crate::scalar::OrderedMap;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCost {
    pub prices: Option<RawPrices>,
    pub always_on: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrices {
    pub shared_cpu: Option<Spanned<f64>>,
    pub performance_cpu: Option<Spanned<f64>>,
    pub extra_ram_gb: Option<Spanned<f64>>,
    pub volume_gb: Option<Spanned<f64>>,
    pub stopped_rootfs_gb: Option<Spanned<f64>>,
    pub assumed_rootfs_gb: Option<Spanned<f64>>,
    pub regions: Option<OrderedMap<Spanned<f64>>>,
}

/// `cost.prices`: every value replaces the shipped one; US dollars per 30 days.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PriceOverrides {
    pub shared_cpu: Option<f64>,
    pub performance_cpu: Option<f64>,
    pub extra_ram_gb: Option<f64>,
    pub volume_gb: Option<f64>,
    pub stopped_rootfs_gb: Option<f64>,
    pub assumed_rootfs_gb: Option<f64>,
    /// Region code and its multiple of the base (iad) price, in file order.
    pub regions: Vec<(String, f64)>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CostSettings {
    pub prices: PriceOverrides,
    /// Environments whose apps are meant to run all the time; the others are expected to stop
    /// when idle. Default: `production`, when the config has it.
    pub always_on: Vec<String>,
}

impl Loader<'_> {
    pub(super) fn cost(
        &self,
        raw: Option<RawCost>,
        environments: &[Environment],
    ) -> Result<CostSettings, ConfigError> {
        let raw = raw.unwrap_or_default();
        let p = raw.prices.unwrap_or_default();
        let money = |v: Option<Spanned<f64>>, key: &str| -> Result<Option<f64>, ConfigError> {
            match v {
                Some(n) if !(n.value.is_finite() && n.value >= 0.0) => Err(self
                    .err(
                        &n,
                        format!(
                            "`cost.prices.{key}: {}` must be a price of 0 or more",
                            n.value
                        ),
                    )
                    .hint("prices are US dollars per 30 days, e.g. `volume_gb: 0.15`")),
                v => Ok(v.map(|n| n.value)),
            }
        };
        let mut regions = Vec::new();
        for (code, factor) in p.regions.iter().flat_map(|r| r.0.iter()) {
            let valid_code = code.len() == 3 && code.chars().all(|c| c.is_ascii_lowercase());
            if !valid_code {
                return Err(self
                    .err(
                        factor,
                        format!("`cost.prices.regions.{code}` is not a Fly region code"),
                    )
                    .hint("use the three-letter code, e.g. `sjc: 1.1923`"));
            }
            if !(factor.value.is_finite() && factor.value > 0.0) {
                return Err(self
                    .err(
                        factor,
                        format!(
                            "`cost.prices.regions.{code}: {}` must be more than 0",
                            factor.value
                        ),
                    )
                    .hint("it is the region's price as a multiple of iad's, e.g. 1.25"));
            }
            regions.push((code.clone(), factor.value));
        }
        let prices = PriceOverrides {
            shared_cpu: money(p.shared_cpu, "shared_cpu")?,
            performance_cpu: money(p.performance_cpu, "performance_cpu")?,
            extra_ram_gb: money(p.extra_ram_gb, "extra_ram_gb")?,
            volume_gb: money(p.volume_gb, "volume_gb")?,
            stopped_rootfs_gb: money(p.stopped_rootfs_gb, "stopped_rootfs_gb")?,
            assumed_rootfs_gb: money(p.assumed_rootfs_gb, "assumed_rootfs_gb")?,
            regions,
        };
        let names: Vec<&str> = environments.iter().map(|e| e.name.as_str()).collect();
        let always_on = match raw.always_on {
            None => names
                .iter()
                .filter(|n| **n == "production")
                .map(|n| (*n).to_owned())
                .collect(),
            Some(list) => {
                let mut out = Vec::new();
                for env in list {
                    if !names.contains(&env.value.as_str()) {
                        let e = self.err(
                            &env,
                            format!(
                                "`cost.always_on` names `{}`, which is not an environment",
                                env.value
                            ),
                        );
                        return Err(match closest(&env.value, names.iter().copied()) {
                            Some(best) => e.hint(format!("did you mean `{best}`?")),
                            None => e.hint(format!("environments: {}", names.join(", "))),
                        });
                    }
                    out.push(env.value);
                }
                out
            }
        };
        Ok(CostSettings { prices, always_on })
    }
}
