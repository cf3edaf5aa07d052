//! The monitoring parts of shipit.yml: `monitor:` (the escalation timings, defaulting to the
//! runbook's numbers), `metrics:` (Fly's Prometheus endpoint) and an app's `logs:` (built-in
//! pattern sets by name and its own `{name, match, level}` patterns).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{ConfigError, Loader, closest};
use crate::duration::Dur;
use crate::level::Level;
use crate::logscan::{self as patterns, Pattern, Scanner};
use crate::scalar::Text;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMonitor {
    pub every: Option<Dur>,
    pub latency: Option<RawLatency>,
    pub health_failing: Option<RawAfter>,
    pub down: Option<RawAfter>,
    pub resolve_after: Option<Spanned<i64>>,
    pub logs: Option<RawWindow>,
    pub metrics: Option<RawThresholds>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLatency {
    pub target: Option<Dur>,
    pub alert: Option<Dur>,
    pub alert_after: Option<Dur>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAfter {
    pub alert_after: Option<Dur>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub window: Option<Dur>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThresholds {
    pub max_5xx_ratio: Option<Spanned<f64>>,
    pub max_memory: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub prometheus: RawPrometheus,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrometheus {
    pub url: Spanned<Text>,
    pub token: Option<Text>,
}

/// An app's `logs:`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogs {
    pub patterns: Option<Vec<Spanned<RawLogPattern>>>,
}

/// A set name, or a pattern of one's own.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawLogPattern {
    Set(String),
    Own(RawOwnPattern),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOwnPattern {
    pub name: String,
    #[serde(rename = "match")]
    pub expr: String,
    pub level: Option<String>,
}

/// Fly's Prometheus-compatible endpoint (`https://api.fly.io/prometheus/<org>/`), read with
/// `Authorization: FlyV1 <token>`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MetricsSpec {
    pub url: Text,
    pub token: Option<Text>,
}

/// An app's log patterns: the `fly` set always, then the named sets and its own, in order.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogSpec {
    pub sets: Vec<String>,
    /// (name, expression, level).
    pub own: Vec<(String, String, Level)>,
}

impl LogSpec {
    /// The scanner for these patterns (every expression was compiled once at load).
    pub fn scanner(&self) -> Scanner {
        let mut list = patterns::fly();
        for s in &self.sets {
            list.extend(patterns::set(s).unwrap_or_default());
        }
        for (name, expr, level) in &self.own {
            if let Ok(p) = Pattern::new(name, expr, *level) {
                list.push(p);
            }
        }
        Scanner::new(list)
    }
}

impl Loader<'_> {
    pub(crate) fn monitor(&self, raw: Option<&RawMonitor>) -> Result<Policy, ConfigError> {
        let mut p = Policy::default();
        let Some(raw) = raw else {
            return Ok(p);
        };
        let set = |slot: &mut Duration, v: Option<Dur>| {
            if let Some(d) = v {
                *slot = d.0;
            }
        };
        set(&mut p.every, raw.every);
        if let Some(l) = &raw.latency {
            set(&mut p.latency_target, l.target);
            set(&mut p.latency_alert, l.alert);
            set(&mut p.latency_alert_after, l.alert_after);
        }
        set(
            &mut p.health_failing_after,
            raw.health_failing.as_ref().and_then(|a| a.alert_after),
        );
        set(
            &mut p.down_after,
            raw.down.as_ref().and_then(|a| a.alert_after),
        );
        set(&mut p.logs_window, raw.logs.as_ref().and_then(|w| w.window));
        if let Some(r) = &raw.resolve_after {
            if !(1..=100).contains(&r.value) {
                return Err(self
                    .err(r, format!("`monitor.resolve_after: {}` must be between 1 and 100", r.value))
                    .hint("the number of clean checks in a row before an alert resolves; the default is 2"));
            }
            p.resolve_after = r.value as u32;
        }
        if p.latency_alert < p.latency_target {
            return Err(self
                .err_nowhere(format!(
                    "`monitor.latency.alert` ({}) is below `monitor.latency.target` ({})",
                    crate::duration::format(p.latency_alert),
                    crate::duration::format(p.latency_target)
                ))
                .hint("the target is the warning line, the alert line is above it (defaults: 2s and 5s)"));
        }
        if p.every < Duration::from_secs(5 * 60) {
            return Err(self
                .err_nowhere(format!(
                    "`monitor.every: {}` is shorter than GitHub's shortest schedule (5m)",
                    crate::duration::format(p.every)
                ))
                .hint("set it to the period of the workflow's `schedule:` (the default is 4h)"));
        }
        if let Some(t) = &raw.metrics {
            for (slot, v, key) in [
                (&mut p.max_5xx_ratio, &t.max_5xx_ratio, "max_5xx_ratio"),
                (&mut p.max_memory, &t.max_memory, "max_memory"),
            ] {
                if let Some(v) = v {
                    if !(0.0..=1.0).contains(&v.value) {
                        return Err(self
                            .err(
                                v,
                                format!(
                                    "`monitor.metrics.{key}: {}` must be a share between 0 and 1",
                                    v.value
                                ),
                            )
                            .hint("e.g. 0.01 for 1%"));
                    }
                    *slot = v.value;
                }
            }
        }
        Ok(p)
    }

    pub(crate) fn metrics(
        &self,
        raw: Option<RawMetrics>,
    ) -> Result<Option<MetricsSpec>, ConfigError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let url = &raw.prometheus.url;
        let s = url.value.as_str();
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            return Err(self
                .err(
                    url,
                    format!(
                        "`metrics.prometheus.url` must be an http:// or https:// URL, not `{}`",
                        url.value
                    ),
                )
                .hint("Fly's is https://api.fly.io/prometheus/<org-slug>/"));
        }
        Ok(Some(MetricsSpec {
            url: url.value.clone(),
            token: raw.prometheus.token,
        }))
    }

    /// An app's `logs:` (the app's own list replaces `defaults:`'s).
    pub(crate) fn logs(
        &self,
        defaults: Option<&RawLogs>,
        app: Option<&RawLogs>,
    ) -> Result<LogSpec, ConfigError> {
        let mut spec = LogSpec::default();
        let Some(list) = app.or(defaults).and_then(|l| l.patterns.as_ref()) else {
            return Ok(spec);
        };
        for item in list {
            match &item.value {
                RawLogPattern::Set(name) => {
                    if patterns::set(name).is_none() {
                        let mut e = self.err(item, format!("unknown log pattern set `{name}`"));
                        e = match closest(name, patterns::SETS.iter().copied()) {
                            Some(best) => e.hint(format!("did you mean `{best}`? or write your own: {{ name: ..., match: ..., level: alert }}")),
                            None => e.hint(format!("built-in sets: {}; or write your own: {{ name: ..., match: ..., level: alert }}", patterns::SETS.join(", "))),
                        };
                        return Err(e);
                    }
                    if name != "fly" && !spec.sets.contains(name) {
                        spec.sets.push(name.clone());
                    }
                }
                RawLogPattern::Own(own) => {
                    if own.name.is_empty()
                        || !own
                            .name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    {
                        return Err(self
                            .err(item, format!("log pattern name `{}` must be letters, digits, `_` or `-`", own.name))
                            .hint("it names the alert (and the GitHub issue label), e.g. `stripe_errors`"));
                    }
                    let level = match own.level.as_deref() {
                        None => Level::Alert,
                        Some(l) => Level::parse(l).ok_or_else(|| {
                            self.err(
                                item,
                                format!("log pattern `{}`: unknown level `{l}`", own.name),
                            )
                            .hint("use info, warning, alert or critical")
                        })?,
                    };
                    Pattern::new(&own.name, &own.expr, level).map_err(|e| {
                        self.err(item, format!("log pattern `{}`: {e}", own.name))
                            .hint("patterns are regular expressions (regex-lite syntax), e.g. `Stripe::(Card|API)Error`")
                    })?;
                    spec.own.push((own.name.clone(), own.expr.clone(), level));
                }
            }
        }
        Ok(spec)
    }
}

/// The escalation timings (`monitor:` in shipit.yml; defaults are the runbook's numbers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// The schedule's period: no check for twice this long is itself reported.
    #[serde(with = "crate::duration::text")]
    pub every: Duration,
    /// A health latency over this is a warning.
    #[serde(with = "crate::duration::text")]
    pub latency_target: Duration,
    /// Over this is an alert once it has lasted `latency_alert_after`.
    #[serde(with = "crate::duration::text")]
    pub latency_alert: Duration,
    #[serde(with = "crate::duration::text")]
    pub latency_alert_after: Duration,
    /// Failing health conditions (an answer, but the wrong one) alert after this long.
    #[serde(with = "crate::duration::text")]
    pub health_failing_after: Duration,
    /// A 5xx or no answer alerts after this long (0: at once).
    #[serde(with = "crate::duration::text")]
    pub down_after: Duration,
    /// Clean checks in a row before an open alert resolves.
    pub resolve_after: u32,
    /// How far back logs and machine events are read.
    #[serde(with = "crate::duration::text")]
    pub logs_window: Duration,
    /// Metrics (when configured): a 5xx share above this is critical.
    pub max_5xx_ratio: f64,
    /// Metrics: memory use above this share of the total is an alert.
    pub max_memory: f64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            every: Duration::from_secs(4 * 3600),
            latency_target: Duration::from_secs(2),
            latency_alert: Duration::from_secs(5),
            latency_alert_after: Duration::from_secs(15 * 60),
            health_failing_after: Duration::from_secs(5 * 60),
            down_after: Duration::ZERO,
            resolve_after: 2,
            logs_window: Duration::from_secs(4 * 3600),
            max_5xx_ratio: 0.01,
            max_memory: 0.9,
        }
    }
}

impl Policy {
    /// How long a rule's condition must hold before it is an alert.
    pub fn alert_after(&self, rule: &str) -> Duration {
        match rule {
            "down" => self.down_after,
            "health_failing" => self.health_failing_after,
            "slow" => self.latency_alert_after,
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn load(extra: &str, app: &str) -> Result<crate::config::Config, ConfigError> {
        let text = format!(
            "version: 1\napps:\n  web: {app}\nenvironments:\n  staging:\n    web: {{ app: web-staging, url: http://127.0.0.1:9 }}\n{extra}"
        );
        crate::config::parse(Path::new("/nonexistent/shipit.yml"), &text)
    }

    #[test]
    fn monitor_defaults_are_the_runbooks_numbers() {
        let c = load("", "{}").unwrap();
        assert_eq!(c.monitor, Policy::default());
        assert!(c.metrics.is_none());
        let s = c.services().next().unwrap();
        assert!(s.logs.sets.is_empty() && s.logs.own.is_empty());
        let names: Vec<String> = s
            .logs
            .scanner()
            .patterns()
            .iter()
            .map(|p| p.name.clone())
            .collect();
        assert!(
            names.contains(&"oom_killed".to_owned()),
            "the fly set is always on"
        );
    }

    #[test]
    fn every_monitor_key_is_read() {
        let c = load(
            "monitor:\n  every: 1h\n  latency: { target: 1s, alert: 3s, alert_after: 10m }\n  health_failing: { alert_after: 2m }\n  down: { alert_after: 30s }\n  resolve_after: 3\n  logs: { window: 1h }\n  metrics: { max_5xx_ratio: 0.05, max_memory: 0.8 }\nmetrics: { prometheus: { url: https://api.fly.io/prometheus/acme/ } }\n",
            "{ logs: { patterns: [chatwoot, { name: stripe, match: 'Stripe::(Card|API)Error', level: warning }] } }",
        )
        .unwrap();
        let p = &c.monitor;
        assert_eq!(p.every, Duration::from_secs(3600));
        assert_eq!(
            (p.latency_target, p.latency_alert, p.latency_alert_after),
            (
                Duration::from_secs(1),
                Duration::from_secs(3),
                Duration::from_secs(600)
            )
        );
        assert_eq!(
            (p.health_failing_after, p.down_after),
            (Duration::from_secs(120), Duration::from_secs(30))
        );
        assert_eq!(
            (p.resolve_after, p.logs_window),
            (3, Duration::from_secs(3600))
        );
        assert!((p.max_5xx_ratio - 0.05).abs() < 1e-9 && (p.max_memory - 0.8).abs() < 1e-9);
        assert_eq!(
            c.metrics.as_ref().unwrap().url.as_str(),
            "https://api.fly.io/prometheus/acme/"
        );
        let logs = &c.services().next().unwrap().logs;
        assert_eq!(logs.sets, ["chatwoot"]);
        assert_eq!(
            logs.own,
            [(
                "stripe".to_owned(),
                "Stripe::(Card|API)Error".to_owned(),
                Level::Warning
            )]
        );
        assert!(
            logs.scanner()
                .patterns()
                .iter()
                .any(|p| p.name == "smtp_auth")
        );
    }

    #[test]
    fn bad_monitor_config_is_named() {
        let cases = [
            (
                "monitor: { resolve_after: 0 }\n",
                "{}",
                "`monitor.resolve_after: 0` must be between 1 and 100",
            ),
            (
                "monitor: { latency: { target: 6s } }\n",
                "{}",
                "`monitor.latency.alert` (5s) is below `monitor.latency.target` (6s)",
            ),
            (
                "monitor: { every: 1m }\n",
                "{}",
                "shorter than GitHub's shortest schedule",
            ),
            (
                "monitor: { metrics: { max_memory: 90 } }\n",
                "{}",
                "`monitor.metrics.max_memory: 90` must be a share between 0 and 1",
            ),
            ("monitor: { latncy: {} }\n", "{}", "latncy"),
            (
                "",
                "{ logs: { patterns: [chatwot] } }",
                "unknown log pattern set `chatwoot`",
            ),
            (
                "",
                "{ logs: { patterns: [{ name: x, match: 'a(' }] } }",
                "log pattern `x`: `a(` is not a valid pattern",
            ),
            (
                "",
                "{ logs: { patterns: [{ name: 'a b', match: x }] } }",
                "must be letters, digits",
            ),
            (
                "",
                "{ logs: { patterns: [{ name: x, match: boom, level: fatal }] } }",
                "unknown level `fatal`",
            ),
            (
                "metrics: { prometheus: { url: ftp://x } }\n",
                "{}",
                "must be an http:// or https:// URL",
            ),
            (
                "notify:\n  - github_issue: { on: [failure] }\n",
                "{}",
                "opens issues for alerts only",
            ),
            (
                "notify:\n  - github_issue: { repository: acme }\n",
                "{}",
                "is not `owner/name`",
            ),
        ];
        for (extra, app, want) in cases {
            let err = load(extra, app).expect_err(want).to_string();
            let want = want.replace("chatwoot`", "chatwot`");
            assert!(
                err.contains(&want) || err.contains(want.as_str()),
                "{extra}{app}: {err}"
            );
        }
    }

    #[test]
    fn github_issue_defaults_to_alert_events() {
        let c = load("notify:\n  - github_issue: {}\n", "{}").unwrap();
        assert_eq!(
            c.notify[0].on,
            [crate::event::Event::Alert, crate::event::Event::Resolved]
        );
        assert_eq!(c.notify[0].name(), "github_issue");
    }
}
