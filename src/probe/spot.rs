//! One health spot check judged with the runbook's escalation levels: a latency over 2s is a
//! warning and over 5s an alert; any 5xx or no answer is critical; a failed `expect` condition
//! is an alert. `shipit health` reports one of these per app.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::condition::Condition;
use super::{ProbeResult, millis, short};

/// A latency above this is a warning.
pub const WARN_LATENCY: Duration = Duration::from_secs(2);
/// A latency above this is an alert.
pub const ALERT_LATENCY: Duration = Duration::from_secs(5);

/// How bad it is, in the runbook's words. Ordered: `Ok < Warning < Alert < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warning,
    Alert,
    Critical,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Alert => "alert",
            Level::Critical => "critical",
        }
    }

    /// Alert and critical need someone; warning and ok do not.
    pub fn needs_action(self) -> bool {
        self >= Level::Alert
    }
}

/// One spot check's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spot {
    pub level: Level,
    pub status: Option<u16>,
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// Failed conditions, as Gatus displays them.
    pub failed: Vec<String>,
    /// Why the level is what it is, one short phrase each.
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The rule `shipit health` applies, for reports.
pub fn rule(expect: &[Condition]) -> String {
    let expect: Vec<&str> = expect.iter().map(|c| c.text.as_str()).collect();
    format!(
        "no answer or 5xx: critical; failed condition or latency > {}: alert; latency > {}: warning; conditions: {}",
        crate::duration::format(ALERT_LATENCY),
        crate::duration::format(WARN_LATENCY),
        expect.join(", ")
    )
}

/// The reason given when a probe got no answer at all.
const NO_ANSWER: &str = "no answer";

/// Judges one probe of a health endpoint.
pub fn judge(result: &ProbeResult, expect: &[Condition]) -> Spot {
    let failed: Vec<String> = expect
        .iter()
        .map(|c| c.evaluate(result))
        .filter(|r| !r.pass)
        .map(|r| r.display)
        .collect();
    let mut level = if failed.is_empty() {
        Level::Ok
    } else {
        Level::Alert
    };
    let mut reasons = Vec::new();
    let mut raise = |to: Level, why: String| {
        level = level.max(to);
        reasons.push(why);
    };
    match result.status {
        None => raise(Level::Critical, NO_ANSWER.to_owned()),
        Some(s) if s >= 500 => raise(Level::Critical, format!("server error {s}")),
        Some(_) => {
            if let Some(e) = &result.error {
                raise(Level::Alert, format!("incomplete answer ({e})"));
            }
            if result.latency > ALERT_LATENCY {
                raise(
                    Level::Alert,
                    format!(
                        "latency {} > {}",
                        short(result.latency),
                        crate::duration::format(ALERT_LATENCY)
                    ),
                );
            } else if result.latency > WARN_LATENCY {
                raise(
                    Level::Warning,
                    format!(
                        "latency {} > {}",
                        short(result.latency),
                        crate::duration::format(WARN_LATENCY)
                    ),
                );
            }
        }
    }
    Spot {
        level,
        status: result.status,
        latency: result.latency,
        failed,
        reasons,
        error: result.error.clone(),
    }
}

impl Spot {
    /// `200 in 42ms`, `503 in 80ms: server error 503, [STATUS] (503) == 200`,
    /// `no answer in 5s (timed out after 5s): [STATUS] (no answer) == 200`.
    pub fn line(&self) -> String {
        let mut text = match (self.status, &self.error) {
            (Some(s), _) => format!("{s} in {}", short(self.latency)),
            (None, Some(e)) => format!("no answer in {} ({e})", short(self.latency)),
            (None, None) => format!("no answer in {}", short(self.latency)),
        };
        let parts: Vec<&str> = self
            .reasons
            .iter()
            .filter(|r| r.as_str() != NO_ANSWER)
            .chain(&self.failed)
            .map(String::as_str)
            .collect();
        if !parts.is_empty() {
            text.push_str(": ");
            text.push_str(&parts.join(", "));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, ms: u64) -> ProbeResult {
        ProbeResult {
            connected: true,
            status: Some(status),
            latency: Duration::from_millis(ms),
            ..ProbeResult::default()
        }
    }

    fn expect(list: &[&str]) -> Vec<Condition> {
        list.iter().map(|c| Condition::parse(c).unwrap()).collect()
    }

    #[test]
    fn the_runbook_thresholds() {
        let e = expect(&["[STATUS] < 500"]);
        assert_eq!(judge(&answer(200, 40), &e).level, Level::Ok);
        assert_eq!(
            judge(&answer(200, 2000), &e).level,
            Level::Ok,
            "exactly 2s is not over 2s"
        );
        assert_eq!(judge(&answer(200, 2001), &e).level, Level::Warning);
        assert_eq!(judge(&answer(200, 5001), &e).level, Level::Alert);
        assert_eq!(
            judge(&answer(404, 10), &e).level,
            Level::Ok,
            "4xx is the conditions' business"
        );
        assert_eq!(judge(&answer(500, 10), &e).level, Level::Critical);
        assert_eq!(judge(&answer(503, 6000), &e).level, Level::Critical);
        let refused = ProbeResult::failed(Duration::from_millis(1), "connection refused");
        let s = judge(&refused, &e);
        assert_eq!(s.level, Level::Critical);
        assert_eq!(s.reasons, vec!["no answer".to_owned()]);
        assert_eq!(
            s.line(),
            "no answer in 1ms (connection refused): [STATUS] (no answer) < 500"
        );
        assert_eq!(
            judge(&answer(503, 80), &e).line(),
            "503 in 80ms: server error 503, [STATUS] (503) < 500"
        );
    }

    #[test]
    fn failed_conditions_are_alerts() {
        let e = expect(&["[STATUS] == 200", "[RESPONSE_TIME] < 1s"]);
        let s = judge(&answer(404, 1500), &e);
        assert_eq!(s.level, Level::Alert);
        assert_eq!(
            s.failed,
            vec![
                "[STATUS] (404) == 200".to_owned(),
                "[RESPONSE_TIME] (1.5s) < 1s".to_owned()
            ]
        );
        assert_eq!(
            s.line(),
            "404 in 1.5s: [STATUS] (404) == 200, [RESPONSE_TIME] (1.5s) < 1s"
        );
        assert!(s.level.needs_action() && !Level::Warning.needs_action());
        let s = judge(&answer(200, 2500), &expect(&["[STATUS] == 200"]));
        assert_eq!(s.line(), "200 in 2.5s: latency 2.5s > 2s");
    }

    #[test]
    fn serializes_the_level_in_lower_case() {
        let s = judge(&answer(200, 12), &expect(&["[STATUS] == 200"]));
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["level"], "ok");
        assert_eq!(v["latency_ms"], 12.0);
        assert!(rule(&expect(&["[STATUS] == 200"])).ends_with("conditions: [STATUS] == 200"));
    }
}
