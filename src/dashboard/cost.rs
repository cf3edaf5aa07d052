//! The dashboard's cost section, from the newest `cost` run that estimated each app: its
//! monthly estimate (the `cost` gate's observed `$X/month`), the totals per environment, and
//! the savings findings (the gate's detail lines, each with the money it names last).

use std::fmt::Write as _;

use serde::Serialize;

use super::html::esc;
use crate::report::RunRecord;

/// What the record says the apps cost; absent when no `cost` run is recorded.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CostSection {
    /// Per app, from the newest cost run that read it.
    pub apps: Vec<CostApp>,
    /// US dollars per 30 days, per environment (sorted by name), and in all.
    pub environments: Vec<EnvCost>,
    pub total: f64,
    /// Most money first.
    pub findings: Vec<CostFinding>,
    pub possible_saving: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CostApp {
    pub env: String,
    pub service: String,
    pub app: String,
    pub monthly: f64,
    pub run_id: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EnvCost {
    pub env: String,
    pub total: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CostFinding {
    pub env: String,
    pub app: String,
    pub text: String,
    /// The saving the text names, US dollars per 30 days.
    pub monthly_saving: f64,
}

/// The last `$N/month` in a text: what a cost finding's text says it saves (or an estimate).
fn money(text: &str) -> Option<f64> {
    let at = text.rfind('$')?;
    let figure: String = text[at + 1..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    figure.trim_end_matches('.').parse().ok()
}

/// The section from runs newest first.
pub(crate) fn build(runs: &[&RunRecord]) -> Option<CostSection> {
    let mut apps: Vec<CostApp> = Vec::new();
    let mut findings: Vec<CostFinding> = Vec::new();
    for run in runs.iter().filter(|r| r.kind.name() == "cost") {
        for s in &run.services {
            let Some(gate) = s.gates.iter().find(|g| g.name == "cost") else {
                continue;
            };
            if apps
                .iter()
                .any(|a| a.env == s.env && a.service == s.service)
            {
                continue;
            }
            let Some(monthly) = money(&gate.observed) else {
                continue;
            };
            apps.push(CostApp {
                env: s.env.clone(),
                service: s.service.clone(),
                app: s.app.clone(),
                monthly,
                run_id: run.id.clone(),
                at: run.started_at.clone(),
            });
            findings.extend(gate.details.iter().map(|text| CostFinding {
                env: s.env.clone(),
                app: s.app.clone(),
                monthly_saving: money(text).unwrap_or(0.0),
                text: crate::secret::redact(text).into_owned(),
            }));
        }
    }
    if apps.is_empty() {
        return None;
    }
    apps.sort_by(|a, b| (&a.env, &a.service).cmp(&(&b.env, &b.service)));
    findings.sort_by(|a, b| {
        b.monthly_saving
            .total_cmp(&a.monthly_saving)
            .then_with(|| a.app.cmp(&b.app))
    });
    let mut environments: Vec<EnvCost> = Vec::new();
    for a in &apps {
        match environments.iter_mut().find(|e| e.env == a.env) {
            Some(e) => e.total = crate::cost::round_cents(e.total + a.monthly),
            None => environments.push(EnvCost {
                env: a.env.clone(),
                total: a.monthly,
            }),
        }
    }
    let total = crate::cost::round_cents(apps.iter().map(|a| a.monthly).sum());
    let possible_saving = crate::cost::round_cents(findings.iter().map(|f| f.monthly_saving).sum());
    Some(CostSection {
        apps,
        environments,
        total,
        findings,
        possible_saving,
    })
}

/// The page's section: the estimate per environment and app, then the findings.
pub(crate) fn render(b: &mut String, section: Option<&CostSection>) {
    let Some(c) = section else {
        return;
    };
    let dollars = crate::cost::dollars;
    let _ = write!(
        b,
        r#"<section aria-labelledby="cost"><h2 id="cost">Cost</h2><p>{}/month in all; the findings below could save {}/month.</p><div class="scroll"><table class="cost"><thead><tr><th scope="col">Environment</th><th scope="col">Service</th><th scope="col">App</th><th scope="col">Per month</th><th scope="col">Estimated</th></tr></thead><tbody>"#,
        esc(&dollars(c.total)),
        esc(&dollars(c.possible_saving))
    );
    for env in &c.environments {
        for a in c.apps.iter().filter(|a| a.env == env.env) {
            let _ = write!(
                b,
                r#"<tr class="cost-row"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href="{}">{}</a></td></tr>"#,
                esc(&a.env),
                esc(&a.service),
                esc(&a.app),
                esc(&dollars(a.monthly)),
                esc(&super::run_page::run_file(&a.run_id)),
                esc(&a.at)
            );
        }
        let _ = write!(
            b,
            r#"<tr class="cost-total"><th scope="row" colspan="3">{} in all</th><td>{}</td><td></td></tr>"#,
            esc(&env.env),
            esc(&dollars(env.total))
        );
    }
    b.push_str("</tbody></table></div>");
    if !c.findings.is_empty() {
        b.push_str(r#"<h3>Ways to pay less</h3><ul class="cost-findings">"#);
        for f in &c.findings {
            let _ = write!(
                b,
                "<li><strong>{}/month</strong> {}/{}: {}</li>",
                esc(&dollars(f.monthly_saving)),
                esc(&f.env),
                esc(&f.app),
                esc(&f.text)
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saving_is_the_last_figure_a_text_names() {
        assert_eq!(money("$12.34/month"), Some(12.34));
        assert_eq!(
            money("volume vol_2 (40 GB): $6.00/month; `flyctl volumes destroy vol_2`"),
            Some(6.0)
        );
        assert_eq!(money("saving up to $1,234.50/month"), Some(1234.5));
        assert_eq!(money("no money here"), None);
    }
}
