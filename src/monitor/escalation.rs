//! The runbook's escalation as pure logic: this pass's findings, the alert state kept in the
//! record and a time in, what to report, store and send out.
//!
//! - A finding at alert level or above is tracked under its [`AlertKey`] (environment, app,
//!   rule). Its durations run from the stored `first_seen`, never from a count of runs: a rule
//!   with `alert_after` (failing health 5 min, latency over 5 s 15 min) is a pending warning until
//!   the condition has held that long, and one clean check inside the window resets it
//!   (Prometheus `for:`).
//! - An alert opens once and is sent once; a trigger whose send failed is sent again on the next
//!   pass (Gatus's lazy retry); a change of level while open is sent as an update.
//! - An open alert whose condition has cleared resolves after `resolve_after` clean checks in a
//!   row; the state is cleared even when the resolved message fails (Gatus), so there are no
//!   zombie alerts.
//! - While an app is down its other findings are held back: tracked, never opened or sent (one
//!   outage, one alert; Alertmanager inhibition).
//! - Findings below alert level are reported and not stored.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{Finding, Level};
use crate::store::{AlertKey, AlertState, Versioned};
use crate::timefmt;

/// Rules that mean the app is down; while one is present, the app's other findings are held.
pub const DOWN_RULES: [&str; 2] = ["down", "app_missing"];

pub use crate::config::monitor::Policy;

/// What one pass saw of one app.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub app: String,
    pub findings: Vec<Finding>,
    /// Rules this pass could not judge (logs unreadable: the log rules): their state is kept as
    /// it is, neither cleared nor counted as a clean check.
    pub unknown: Vec<String>,
}

/// Where a reported finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Opened by this pass: the alert is sent now.
    Firing,
    /// Open since an earlier pass; not sent again.
    Open,
    /// At alert level but not for `alert_after` yet: a warning for now.
    Pending,
    /// Held back while the app is down.
    Held,
    /// The condition cleared; waiting for `resolve_after` clean checks.
    Clearing,
    /// Resolved by this pass: the resolved message is sent now.
    Resolved,
    /// Below alert level: reported, not tracked.
    Seen,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reported {
    pub app: String,
    pub rule: String,
    /// After escalation: what this pass makes of it.
    pub level: Level,
    /// What the observation alone said.
    pub observed: Level,
    pub status: Status,
    pub summary: String,
    pub evidence: Vec<String>,
    /// When the condition was first seen in its current stretch (tracked findings only).
    pub first_seen: Option<String>,
    /// Seconds since `first_seen`.
    pub for_s: Option<u64>,
}

impl Reported {
    /// Whether it makes `check` exit 1: at alert level and not clearing or resolved.
    pub fn needs_action(&self) -> bool {
        self.level.needs_action() && !matches!(self.status, Status::Clearing | Status::Resolved)
    }
}

/// A message to send for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Send {
    /// The alert opened (or its earlier trigger was not delivered).
    Trigger,
    /// The level of an open, delivered alert changed.
    Update,
    /// It resolved.
    Resolve,
}

/// What to do with one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub key: AlertKey,
    /// The version the compare-and-set must find (`None`: the key must not exist).
    pub expected: Option<u64>,
    /// What to store (before any send); `None`: delete it (after the send, for a resolve).
    pub state: Option<AlertState>,
    pub send: Option<Send>,
    /// The state a message describes (for a resolve: the last one, with its issue number).
    pub about: AlertState,
}

/// The outcome of one pass.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub reported: Vec<Reported>,
    /// Only keys whose stored state changes.
    pub decisions: Vec<Decision>,
}

impl Plan {
    pub fn needs_action(&self) -> bool {
        self.reported.iter().any(Reported::needs_action)
    }
}

/// Records a send's result in the state to store after it: a delivered trigger or update is not
/// sent again; an undelivered one is retried next pass.
pub fn delivered(state: &mut AlertState, ok: bool) {
    if ok {
        state.notified = true;
        state.notified_level = Some(state.level.clone());
    }
}

/// One pass of escalation for environment `env` at `now`. `stored` is every alert state of
/// `env`; keys of apps not in `observed` are left alone (another `--app`, or a removed app).
pub fn plan(
    env: &str,
    now: SystemTime,
    policy: &Policy,
    observed: &[Observed],
    stored: &[(AlertKey, Versioned<AlertState>)],
) -> Plan {
    let now_text = timefmt::rfc3339(now);
    let mut out = Plan::default();
    for obs in observed {
        let down = obs
            .findings
            .iter()
            .any(|f| DOWN_RULES.contains(&f.rule.as_str()) && f.level.needs_action());
        let mut seen_rules = BTreeSet::new();
        for f in &obs.findings {
            seen_rules.insert(f.rule.clone());
            let key = AlertKey {
                env: env.to_owned(),
                app: obs.app.clone(),
                rule: f.rule.clone(),
            };
            let current = stored.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
            if !f.level.needs_action() && current.is_none() {
                out.reported
                    .push(reported(f, f.level, Status::Seen, None, now));
                continue;
            }
            let held = down && !DOWN_RULES.contains(&f.rule.as_str());
            let (decision, report) = present(&key, f, current, held, policy, now, &now_text);
            out.reported.push(report);
            out.decisions.extend(decision);
        }
        for (key, stored) in stored.iter().filter(|(k, _)| k.app == obs.app) {
            if seen_rules.contains(&key.rule)
                || obs.unknown.iter().any(|u| u == "*" || *u == key.rule)
            {
                continue;
            }
            // While the app is down its other checks say little; an open alert stays as it is.
            if down && stored.value.open {
                continue;
            }
            let (decision, report) = absent(key, stored, policy, now);
            out.reported.extend(report);
            out.decisions.push(decision);
        }
    }
    out
}

/// A tracked finding that is present this pass.
fn present(
    key: &AlertKey,
    f: &Finding,
    current: Option<&Versioned<AlertState>>,
    held: bool,
    policy: &Policy,
    now: SystemTime,
    now_text: &str,
) -> (Option<Decision>, Reported) {
    let mut state = current.map_or_else(
        || AlertState {
            first_seen: now_text.to_owned(),
            ..AlertState::default()
        },
        |c| c.value.clone(),
    );
    let first = timefmt::parse_rfc3339(&state.first_seen).unwrap_or(now);
    if timefmt::parse_rfc3339(&state.first_seen).is_none() {
        now_text.clone_into(&mut state.first_seen);
    }
    let lasted = now.duration_since(first).unwrap_or(Duration::ZERO);
    // Below alert level the finding only keeps a stretch open (an alert clearing to a warning
    // is not clean yet); at alert level it escalates once it has lasted `alert_after`.
    let due = f.level.needs_action() && lasted >= policy.alert_after(&f.rule);
    let level = if due || state.open {
        f.level
    } else {
        f.level.min(Level::Warning)
    };
    now_text.clone_into(&mut state.last_seen);
    state.clean_checks = 0;
    state.summary.clone_from(&f.summary);
    state.evidence.clone_from(&f.evidence);
    let mut send = None;
    let status = if held && !state.open {
        Status::Held
    } else if state.open {
        if !state.notified {
            send = Some(Send::Trigger);
            Status::Firing
        } else if state.notified_level.as_deref() != Some(level.name()) && level.needs_action() {
            send = Some(Send::Update);
            Status::Open
        } else {
            Status::Open
        }
    } else if due {
        state.open = true;
        state.notified = false;
        send = Some(Send::Trigger);
        Status::Firing
    } else {
        Status::Pending
    };
    level.name().clone_into(&mut state.level);
    let report = reported(f, level, status, Some(&state.first_seen), now);
    let decision = Decision {
        key: key.clone(),
        expected: current.map(|c| c.version),
        about: state.clone(),
        state: Some(state),
        send,
    };
    (Some(decision), report)
}

/// A tracked key whose finding is absent from a pass that could judge it: a clean check.
fn absent(
    key: &AlertKey,
    stored: &Versioned<AlertState>,
    policy: &Policy,
    now: SystemTime,
) -> (Decision, Option<Reported>) {
    let mut state = stored.value.clone();
    let decision = |about: &AlertState, state: Option<AlertState>, send| Decision {
        key: key.clone(),
        expected: Some(stored.version),
        about: about.clone(),
        state,
        send,
    };
    if !state.open {
        // A pending condition that passes once starts over (Prometheus `for:`).
        return (decision(&state, None, None), None);
    }
    state.clean_checks += 1;
    let level = Level::parse(&state.level).unwrap_or(Level::Alert);
    let first = Some(state.first_seen.clone());
    let report = |status| Reported {
        app: key.app.clone(),
        rule: key.rule.clone(),
        level,
        observed: Level::Info,
        status,
        summary: format!(
            "cleared: {} clean check(s) of {} ({})",
            state.clean_checks, policy.resolve_after, state.summary
        ),
        evidence: Vec::new(),
        first_seen: first.clone(),
        for_s: for_seconds(first.as_deref(), now),
    };
    if state.clean_checks >= policy.resolve_after {
        let r = report(Status::Resolved);
        // Deleted even when the resolved message fails: no zombie alerts.
        let send = state.notified.then_some(Send::Resolve);
        (decision(&state, None, send), Some(r))
    } else {
        let r = report(Status::Clearing);
        (decision(&state, Some(state.clone()), None), Some(r))
    }
}

fn reported(
    f: &Finding,
    level: Level,
    status: Status,
    first_seen: Option<&str>,
    now: SystemTime,
) -> Reported {
    Reported {
        app: f.app.clone(),
        rule: f.rule.clone(),
        level,
        observed: f.level,
        status,
        summary: f.summary.clone(),
        evidence: f.evidence.clone(),
        first_seen: first_seen.map(str::to_owned),
        for_s: for_seconds(first_seen, now),
    }
}

fn for_seconds(first_seen: Option<&str>, now: SystemTime) -> Option<u64> {
    let first = timefmt::parse_rfc3339(first_seen?)?;
    Some(
        now.duration_since(first)
            .unwrap_or(Duration::ZERO)
            .as_secs(),
    )
}

/// The "scheduled check did not run" finding: the last recorded check is older than twice the
/// schedule's period (GitHub delays and drops scheduled runs, and disables them after 60 days
/// without activity in public repositories).
pub fn missed_run(
    env: &str,
    last: Option<SystemTime>,
    now: SystemTime,
    every: Duration,
) -> Option<Finding> {
    let last = last?;
    let gap = now.duration_since(last).ok()?;
    if gap <= every * 2 {
        return None;
    }
    let f = Finding::new(
        "",
        "missed_run",
        Level::Warning,
        format!(
            "the scheduled check of {env} did not run between {} and {} ({} without a check; the schedule is every {})",
            timefmt::rfc3339(last),
            timefmt::rfc3339(now),
            crate::duration::human(gap),
            crate::duration::format(every)
        ),
    );
    Some(f.evidence("GitHub delays and drops scheduled runs, and disables them after 60 days without activity in a public repository"))
}

#[cfg(test)]
mod tests;
