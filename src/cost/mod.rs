//! What the apps cost and what could be saved, from what Fly reports (`platform::inventory`)
//! times the price table (`prices`). Pure: no I/O, so every estimate and finding is tested with
//! plain figures. It only reports; nothing here changes anything.

pub(crate) mod estimate;
pub(crate) mod findings;
pub(crate) mod prices;

pub(crate) use estimate::{AppEstimate, estimate};
pub(crate) use findings::Finding;
pub(crate) use prices::{Prices, dollars, round_cents};

use std::fmt::Write as _;

use serde::Serialize;

/// The whole answer of `shipit cost`: every app's estimate, the findings, and the totals.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub prices: PriceSource,
    pub apps: Vec<AppEstimate>,
    /// Apps Fly could not be asked about, with the reason.
    pub errors: Vec<AppError>,
    pub findings: Vec<Finding>,
    /// US dollars per 30 days, per environment in config order, and in all.
    pub environments: Vec<EnvTotal>,
    pub total: f64,
    pub possible_saving: f64,
    /// Why the metric-based findings (memory, machine count) are missing, when they are.
    pub metrics: Option<String>,
}

/// Where the prices came from.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PriceSource {
    pub source: String,
    pub read_on: String,
    pub overridden: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppError {
    pub env: String,
    pub service: String,
    pub app: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnvTotal {
    pub env: String,
    pub total: f64,
}

impl Report {
    pub(crate) fn new(prices: &Prices) -> Report {
        Report {
            prices: PriceSource {
                source: prices.source.clone(),
                read_on: prices.read_on.clone(),
                overridden: prices.overridden.clone(),
            },
            apps: Vec::new(),
            errors: Vec::new(),
            findings: Vec::new(),
            environments: Vec::new(),
            total: 0.0,
            possible_saving: 0.0,
            metrics: None,
        }
    }

    /// Adds one app's estimate and findings and keeps the totals current.
    pub(crate) fn add(&mut self, estimate: AppEstimate, findings: Vec<Finding>) {
        match self.environments.iter_mut().find(|e| e.env == estimate.env) {
            Some(e) => e.total = round_cents(e.total + estimate.total),
            None => self.environments.push(EnvTotal {
                env: estimate.env.clone(),
                total: estimate.total,
            }),
        }
        self.total = round_cents(self.total + estimate.total);
        self.findings.extend(findings);
        findings::sort(&mut self.findings);
        self.possible_saving =
            round_cents(self.findings.iter().map(|f| f.monthly_saving).sum::<f64>());
        self.apps.push(estimate);
    }

    /// `cost staging: $12.34/month for 2 apps; 3 findings could save $5.67/month`.
    pub(crate) fn summary(&self, target: &str) -> String {
        let apps = self.apps.len();
        let mut text = format!(
            "cost {target}: {}/month for {apps} app{}",
            dollars(self.total),
            if apps == 1 { "" } else { "s" }
        );
        match self.findings.len() {
            0 => text.push_str("; nothing to save found"),
            n => {
                let _ = write!(
                    text,
                    "; {n} finding{} could save {}/month",
                    if n == 1 { "" } else { "s" },
                    dollars(self.possible_saving)
                );
            }
        }
        if !self.errors.is_empty() {
            let _ = write!(text, "; {} app(s) could not be read", self.errors.len());
        }
        text
    }
}
