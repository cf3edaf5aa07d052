//! Monitoring: what `shipit check` and `shipit watch` find on a running app, and the runbook's
//! escalation over time.
//!
//! - the log scanner and its built-in pattern sets are [`crate::logscan`] (config compiles a
//!   user's patterns when it loads, so the scanner is a leaf below both).
//! - [`events`]: findings from machine events (OOM kills, crashes, restart loops).
//! - [`assess`]: one app's observations (fleet, logs, health probe, metrics) turned into findings.
//! - [`escalation`]: findings + the stored alert state + a time → what to report, what to store
//!   and what to send. Pure: no clock, no store, no network.
//!
//! **Invariant:** nothing in this module does I/O; the commands gather observations through the
//! platform, the prober and the store, and hand plain data in.

pub mod alerting;
pub mod assess;
pub mod check;
pub mod escalation;
pub mod events;
#[cfg(test)]
mod testing;

use serde::Serialize;

pub use crate::level::Level;

/// The longest evidence line kept, in characters.
pub const EVIDENCE_LINE: usize = 300;
/// How many evidence lines one finding keeps.
pub const EVIDENCE_LINES: usize = 8;

/// One thing a pass found on one app, before escalation: the level is what the observation
/// alone says (a latency over 5 s is `alert` here, and only becomes one after `alert_after`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The Fly app.
    pub app: String,
    pub rule: String,
    pub level: Level,
    /// One line: what was found.
    pub summary: String,
    /// The lines that caused it, masked and cut to [`EVIDENCE_LINE`] characters.
    pub evidence: Vec<String>,
}

impl Finding {
    pub fn new(app: &str, rule: &str, level: Level, summary: impl Into<String>) -> Finding {
        Finding {
            app: app.to_owned(),
            rule: rule.to_owned(),
            level,
            summary: crate::secret::redact(&summary.into()).into_owned(),
            evidence: Vec::new(),
        }
    }

    /// Adds an evidence line (masked, cut), up to [`EVIDENCE_LINES`].
    #[must_use]
    pub fn evidence(mut self, line: &str) -> Finding {
        self.push_evidence(line);
        self
    }

    pub fn push_evidence(&mut self, line: &str) {
        if self.evidence.len() < EVIDENCE_LINES {
            self.evidence.push(evidence_line(line));
        }
    }
}

/// A line as evidence keeps it: masked, on one line, at most [`EVIDENCE_LINE`] characters.
pub fn evidence_line(line: &str) -> String {
    let masked = crate::secret::redact(line);
    let one: String = masked
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.trim();
    if one.chars().count() > EVIDENCE_LINE {
        let cut: String = one.chars().take(EVIDENCE_LINE - 1).collect();
        format!("{cut}…")
    } else {
        one.to_owned()
    }
}

/// Merges findings of the same app and rule (a log line and a machine event both saying "OOM"
/// are one finding): the higher level, both summaries' first, evidence from both.
pub fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        if let Some(same) = out.iter_mut().find(|o| o.app == f.app && o.rule == f.rule) {
            if f.level > same.level {
                same.level = f.level;
                same.summary = f.summary;
            }
            for e in f.evidence {
                if same.evidence.len() < EVIDENCE_LINES && !same.evidence.contains(&e) {
                    same.evidence.push(e);
                }
            }
        } else {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_order_and_name() {
        assert!(Level::Info < Level::Warning && Level::Alert < Level::Critical);
        assert!(Level::Alert.needs_action() && !Level::Warning.needs_action());
        assert_eq!(Level::parse("critical"), Some(Level::Critical));
        assert_eq!(Level::parse("error"), None);
        assert_eq!(serde_json::to_value(Level::Warning).unwrap(), "warning");
    }

    #[test]
    fn evidence_is_masked_flattened_and_cut() {
        crate::secret::register("hunter2-monitor-secret");
        let long = format!("password=hunter2-monitor-secret\tat {}", "x".repeat(400));
        let line = evidence_line(&long);
        assert!(!line.contains("hunter2-monitor-secret"));
        assert!(!line.contains('\t'));
        assert_eq!(line.chars().count(), EVIDENCE_LINE);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn merge_keeps_one_finding_per_app_and_rule() {
        let a = Finding::new("web", "oom_killed", Level::Alert, "log").evidence("Out of memory");
        let b = Finding::new("web", "oom_killed", Level::Alert, "event").evidence("exit oom");
        let c = Finding::new("api", "oom_killed", Level::Alert, "other app");
        let merged = merge(vec![a, b, c]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].summary, "log");
        assert_eq!(merged[0].evidence, vec!["Out of memory", "exit oom"]);
    }
}
