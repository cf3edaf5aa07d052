//! `shipit report` without `--html`: the dashboard as a short terminal summary.

use std::fmt::Write as _;

use super::{Dashboard, age};
use crate::report::ReleaseRef;

fn release(r: Option<&ReleaseRef>) -> String {
    crate::report::Release(r).to_string()
}

/// The summary's lines (without a trailing newline); every value is already redacted.
pub(crate) fn summary(d: &Dashboard) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} runs in {}{}",
        d.runs,
        d.store,
        d.since
            .as_ref()
            .map(|s| format!(", the last {s}"))
            .unwrap_or_default()
    );
    if d.environments.is_empty() {
        out.push_str("the record holds no runs yet");
        return out;
    }
    for env in &d.environments {
        let _ = writeln!(out, "\n{}", env.name);
        for a in &env.apps {
            let last = a.last.as_ref().map_or_else(
                || "no verdict".to_owned(),
                |v| format!("{} {} at {}", v.kind, v.result, v.at),
            );
            let alerts = if a.open_alerts > 0 {
                format!(", {} open alert(s)", a.open_alerts)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {:<8} {:<10} {}  last: {last}{alerts}",
                a.health,
                a.service,
                release(a.live.as_ref()),
            );
        }
    }
    if !d.alerts.is_empty() {
        out.push_str("\nopen alerts\n");
        for a in &d.alerts {
            let _ = writeln!(
                out,
                "  {:<8} {}/{} {} for {}: {}",
                a.level,
                a.env,
                a.app,
                a.rule,
                age(a.age_secs),
                a.summary
            );
        }
    }
    if let Some(last) = d.timeline.first() {
        let _ = write!(
            out,
            "\nlast deploy: {} {} {} ({})",
            last.started_at, last.kind, last.outcome, last.run_id
        );
    }
    out.trim_end().to_owned()
}
