//! `PagerDuty`: Events API v2 alerts and Change Events.
//!
//! - `trigger` when a run ends `failed`, `rollback_failed`, `cancelled` or `alert`, one per
//!   service in trouble, with the stable `dedup_key` `shipit:{app}:{env}`: no state is stored,
//!   and a second failure updates the open alert instead of opening another.
//! - `resolve` with the same key for every service that ended healthy (a deploy, a manual
//!   rollback or a health check that succeeded), and for every service on `resolved`.
//! - A Change Event (informational, never pages) for every service a deploy changed:
//!   `succeeded` and `rolled_back`.
//!
//! The bodies built here lack `routing_key`: it is a secret, added by the sender after the body
//! has been redacted.

use serde_json::{Map, Value, json};

use super::message::{Message, reason, truncate};
use crate::event::Event;
use crate::report::{RunKind, ServiceRecord, ServiceResult};
use crate::report::{gate_problems, image_change, release_change};

/// `PagerDuty`'s limit on `payload.summary`.
const SUMMARY_MAX: usize = 1024;

/// Which `PagerDuty` endpoint a body goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `events_url`: `/v2/enqueue`.
    Events,
    /// `change_url`: `/v2/change/enqueue`.
    Change,
}

/// One request to `PagerDuty`, without its routing key.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PdRequest {
    pub endpoint: Endpoint,
    pub body: Value,
}

/// `shipit:{app}:{env}`: the same key for every alert about one app of one environment.
pub fn dedup_key(app: &str, env: &str) -> String {
    format!("shipit:{app}:{env}")
}

/// Every request a message turns into, in the order they are sent.
pub fn requests(msg: &Message<'_>) -> Vec<PdRequest> {
    let r = msg.record;
    if msg.test {
        let mut details = Map::new();
        details.insert("test".into(), json!(true));
        details.insert("run_id".into(), json!(r.id));
        return vec![PdRequest {
            endpoint: Endpoint::Change,
            body: change_body(msg, &truncate(&msg.title(), SUMMARY_MAX), "shipit", details),
        }];
    }
    let deploys = matches!(
        r.kind,
        RunKind::Deploy | RunKind::Rollback | RunKind::Demo | RunKind::Promote | RunKind::Drill
    );
    let mut out = Vec::new();
    let mut triggered: Vec<&ServiceRecord> = Vec::new();
    if matches!(
        msg.event,
        Event::Failed | Event::RollbackFailed | Event::Cancelled | Event::Alert
    ) {
        let troubled: Vec<&ServiceRecord> =
            r.services.iter().filter(|s| in_trouble(s.result)).collect();
        triggered = if troubled.is_empty() {
            r.services.iter().collect()
        } else {
            troubled
        };
        for s in &triggered {
            out.push(PdRequest {
                endpoint: Endpoint::Events,
                body: trigger(msg, s),
            });
        }
    }
    // A service that ended healthy closes its alert, whatever kind of run found it healthy (a
    // scheduled health check after an alert, a manual rollback after a failed one). PagerDuty
    // ignores a resolve for a key with nothing open, so no state is needed.
    if msg.event != Event::Started {
        for s in &r.services {
            let healthy = s.result == ServiceResult::Succeeded || msg.event == Event::Resolved;
            if healthy && !triggered.iter().any(|t| std::ptr::eq(*t, s)) {
                out.push(PdRequest {
                    endpoint: Endpoint::Events,
                    body: resolve(s),
                });
            }
        }
    }
    if matches!(msg.event, Event::Succeeded | Event::RolledBack) && deploys {
        for s in r.services.iter().filter(|s| {
            matches!(
                s.result,
                ServiceResult::Succeeded | ServiceResult::RolledBack
            )
        }) {
            out.push(PdRequest {
                endpoint: Endpoint::Change,
                body: change(msg, s),
            });
        }
    }
    out
}

/// Results that open (or update) an alert. A rolled-back service is not one: the previous
/// release is live and healthy, which the change event records.
fn in_trouble(result: ServiceResult) -> bool {
    matches!(
        result,
        ServiceResult::RollbackFailed
            | ServiceResult::Unhealthy
            | ServiceResult::FailedBeforeChange
            | ServiceResult::Cancelled
    )
}

/// `critical` when nobody is serving the last good release any more, down to `warning` when
/// nothing changed.
fn severity(event: Event, result: ServiceResult) -> &'static str {
    match (event, result) {
        (_, ServiceResult::RollbackFailed) | (Event::RollbackFailed, _) => "critical",
        (_, ServiceResult::FailedBeforeChange | ServiceResult::Cancelled)
        | (Event::Cancelled, _) => "warning",
        _ => "error",
    }
}

fn trigger(msg: &Message<'_>, s: &ServiceRecord) -> Value {
    let r = msg.record;
    let why = reason(s).unwrap_or_else(|| r.summary.clone());
    let summary = truncate(
        &format!(
            "{}: {} ({}): {why}",
            msg.event.name().replace('_', " "),
            s.app,
            s.env
        ),
        SUMMARY_MAX,
    );
    let mut payload = Map::new();
    payload.insert("summary".into(), json!(summary));
    payload.insert("source".into(), json!(s.app));
    payload.insert("severity".into(), json!(severity(msg.event, s.result)));
    if let Some(t) = timestamp(msg) {
        payload.insert("timestamp".into(), json!(t));
    }
    payload.insert("component".into(), json!(s.app));
    payload.insert("group".into(), json!(s.env));
    payload.insert("class".into(), json!(msg.event.name()));
    payload.insert("custom_details".into(), Value::Object(details(msg, s)));
    let mut body = Map::new();
    body.insert("event_action".into(), json!("trigger"));
    body.insert("dedup_key".into(), json!(dedup_key(&s.app, &s.env)));
    body.insert("payload".into(), Value::Object(payload));
    body.insert("client".into(), json!("shipit"));
    if let Some(url) = &r.run_url {
        body.insert("client_url".into(), json!(url));
        body.insert(
            "links".into(),
            json!([{"href": url, "text": "GitHub Actions run"}]),
        );
    }
    Value::Object(body)
}

fn resolve(s: &ServiceRecord) -> Value {
    json!({"event_action": "resolve", "dedup_key": dedup_key(&s.app, &s.env)})
}

fn change(msg: &Message<'_>, s: &ServiceRecord) -> Value {
    let r = msg.record;
    let to =
        s.to.as_ref()
            .and_then(|t| t.version)
            .map_or_else(|| "a new image".to_owned(), |v| format!("v{v}"));
    let from = s
        .from
        .as_ref()
        .and_then(|f| f.version)
        .map_or_else(|| "the previous release".to_owned(), |v| format!("v{v}"));
    let summary = match (r.kind, s.result) {
        (_, ServiceResult::RolledBack) => {
            let why = reason(s).map(|w| format!(": {w}")).unwrap_or_default();
            format!("Rolled back {} ({}) from {to} to {from}{why}", s.app, s.env)
        }
        (RunKind::Rollback, _) => format!("Rolled back {} ({}) to {to}", s.app, s.env),
        _ => format!("Deployed {to} of {} to {}", s.app, s.env),
    };
    change_body(
        msg,
        &truncate(&summary, SUMMARY_MAX),
        &s.app,
        details(msg, s),
    )
}

fn change_body(
    msg: &Message<'_>,
    summary: &str,
    source: &str,
    details: Map<String, Value>,
) -> Value {
    let mut payload = Map::new();
    payload.insert("summary".into(), json!(summary));
    payload.insert("source".into(), json!(source));
    if let Some(t) = timestamp(msg) {
        payload.insert("timestamp".into(), json!(t));
    }
    payload.insert("custom_details".into(), Value::Object(details));
    let mut body = Map::new();
    body.insert("payload".into(), Value::Object(payload));
    if let Some(url) = &msg.record.run_url {
        body.insert(
            "links".into(),
            json!([{"href": url, "text": "GitHub Actions run"}]),
        );
    }
    Value::Object(body)
}

fn details(msg: &Message<'_>, s: &ServiceRecord) -> Map<String, Value> {
    let r = msg.record;
    let mut d = Map::new();
    d.insert("run_id".into(), json!(r.id));
    d.insert("kind".into(), json!(r.kind.name()));
    d.insert("event".into(), json!(msg.event.name()));
    d.insert("environment".into(), json!(s.env));
    d.insert("service".into(), json!(s.service));
    d.insert("result".into(), json!(s.result.words()));
    d.insert(
        "release".into(),
        json!(release_change(s.from.as_ref(), s.to.as_ref())),
    );
    if let Some(images) = image_change(s.from.as_ref(), s.to.as_ref()) {
        d.insert("image".into(), json!(images));
    }
    if let Some(decision) = &s.decision {
        d.insert("decision".into(), json!(decision));
    }
    if let Some(reason) = &s.reason {
        d.insert("reason".into(), json!(reason));
    }
    let problems = gate_problems(s);
    if !problems.is_empty() {
        d.insert("failed_gates".into(), json!(problems));
    }
    if !s.actions.is_empty() {
        d.insert("actions".into(), json!(s.actions));
    }
    d.insert("duration_ms".into(), json!(r.duration_ms));
    if let Some(url) = &r.run_url {
        d.insert("run_url".into(), json!(url));
    }
    if let Some(sha) = &r.sha {
        d.insert("commit".into(), json!(sha));
    }
    d
}

fn timestamp(msg: &Message<'_>) -> Option<String> {
    let r = msg.record;
    let t = if r.finished_at.is_empty() {
        &r.started_at
    } else {
        &r.finished_at
    };
    (!t.is_empty()).then(|| t.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_how_bad_it_is() {
        assert_eq!(
            severity(Event::RollbackFailed, ServiceResult::RollbackFailed),
            "critical"
        );
        assert_eq!(severity(Event::Failed, ServiceResult::Unhealthy), "error");
        assert_eq!(
            severity(Event::Failed, ServiceResult::FailedBeforeChange),
            "warning"
        );
        assert_eq!(
            severity(Event::Cancelled, ServiceResult::Cancelled),
            "warning"
        );
        assert_eq!(severity(Event::Alert, ServiceResult::Succeeded), "error");
    }
}
