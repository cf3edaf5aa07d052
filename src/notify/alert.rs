//! Alert messages (`alert` and `resolved` events): what `check` and `watch` send when an alert
//! opens, changes level or resolves. Pure payload builders per channel, like the deploy ones,
//! plus [`send`], which posts to every channel that wants the event and reports one
//! [`Delivery`] for the escalation engine (an undelivered trigger is retried next pass).
//!
//! `PagerDuty` gets one stable `dedup_key` per environment, app and rule
//! (`shipit:staging/hotdash-staging/http_5xx`): a trigger opens or updates that incident and a
//! resolve closes it. The webhook body is `{type: "shipit.alert"|"shipit.resolved", timestamp,
//! data: {event, env, app, rule, level, first_seen, last_seen, summary, evidence, update,
//! issue, run_url}}`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::message::truncate;
use super::{Outgoing, SendResult, github_issue, target_label, webhook};
use crate::config::{Channel, ChannelKind};
use crate::event::Event;
use crate::monitor::alerting::{AlertSender, Delivery};
use crate::monitor::escalation::Send;
use crate::secret::redact_json as redacted;
use crate::store::{AlertKey, AlertState};

/// One alert message.
#[derive(Debug, Clone)]
pub struct AlertMessage<'a> {
    pub send: Send,
    pub key: &'a AlertKey,
    pub state: &'a AlertState,
    /// The run that sent it, under Actions.
    pub run_url: Option<String>,
    /// When it is sent (RFC 3339).
    pub at: String,
}

impl AlertMessage<'_> {
    pub fn event(&self) -> Event {
        match self.send {
            Send::Trigger | Send::Update => Event::Alert,
            Send::Resolve => Event::Resolved,
        }
    }

    /// `critical: staging/hotdash-staging http_5xx`, `resolved: staging/hotdash-staging
    /// http_5xx`, `now critical: ...` for an update.
    pub fn title(&self) -> String {
        let what = format!("{}/{} {}", self.key.env, self.key.app, self.key.rule);
        match self.send {
            Send::Trigger => format!("{}: {what}", self.state.level),
            Send::Update => format!("now {}: {what}", self.state.level),
            Send::Resolve => format!("resolved: {what}"),
        }
    }

    /// The summary line and, for a resolve, since when it was open.
    pub fn text(&self) -> String {
        match self.send {
            Send::Resolve => format!(
                "{} clean check(s) in a row; first seen {}. Last finding: {}",
                self.state.clean_checks, self.state.first_seen, self.state.summary
            ),
            _ => format!(
                "{} (first seen {})",
                self.state.summary, self.state.first_seen
            ),
        }
    }

    fn evidence_block(&self, max: usize) -> String {
        truncate(&self.state.evidence.join("\n"), max)
    }
}

/// `shipit:{env}/{app}/{rule}`: one `PagerDuty` incident per alert key.
pub fn dedup_key(key: &AlertKey) -> String {
    format!("shipit:{}", key.text())
}

pub fn slack(m: &AlertMessage<'_>) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&m.title(), 150)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&m.text(), 2900)}}),
    ];
    if !m.state.evidence.is_empty() && m.send != Send::Resolve {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("```{}```", m.evidence_block(2800))}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": footer(m)}]}));
    json!({"text": truncate(&m.title(), 300), "blocks": blocks})
}

pub fn discord(m: &AlertMessage<'_>) -> Value {
    let mut description = m.text();
    if !m.state.evidence.is_empty() && m.send != Send::Resolve {
        description = format!("{description}\n```\n{}\n```", m.evidence_block(3500));
    }
    json!({
        "content": null,
        "embeds": [{
            "title": truncate(&m.title(), 256),
            "description": truncate(&description, 4096),
            "color": colour(m),
            "footer": {"text": truncate(&footer(m), 2048)},
        }],
    })
}

pub fn teams(m: &AlertMessage<'_>) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": truncate(&m.title(), 300), "weight": "Bolder", "size": "Medium", "wrap": true}),
        json!({"type": "TextBlock", "text": truncate(&m.text(), 2000), "wrap": true}),
    ];
    if !m.state.evidence.is_empty() && m.send != Send::Resolve {
        body.push(json!({"type": "TextBlock", "text": m.evidence_block(2000), "fontType": "Monospace", "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": footer(m), "isSubtle": true, "size": "Small", "wrap": true}));
    json!({
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        }}],
    })
}

/// The Events API v2 body, without `routing_key`.
pub fn pagerduty(m: &AlertMessage<'_>) -> Value {
    if m.send == Send::Resolve {
        return json!({"event_action": "resolve", "dedup_key": dedup_key(m.key)});
    }
    let severity = match m.state.level.as_str() {
        "critical" => "critical",
        "alert" => "error",
        "warning" => "warning",
        _ => "info",
    };
    let mut body = json!({
        "event_action": "trigger",
        "dedup_key": dedup_key(m.key),
        "payload": {
            "summary": truncate(&format!("{}: {}", m.title(), m.state.summary), 1024),
            "source": m.key.app,
            "severity": severity,
            "component": m.key.app,
            "group": m.key.env,
            "class": m.key.rule,
            "custom_details": {
                "first_seen": m.state.first_seen,
                "last_seen": m.state.last_seen,
                "evidence": m.state.evidence,
            },
        },
    });
    if let Some(url) = &m.run_url {
        body["links"] = json!([{"href": url, "text": "The check's run"}]);
    }
    body
}

pub fn webhook(m: &AlertMessage<'_>) -> Value {
    json!({
        "type": format!("shipit.{}", m.event().name()),
        "timestamp": m.at,
        "data": {
            "event": m.event().name(),
            "env": m.key.env,
            "app": m.key.app,
            "rule": m.key.rule,
            "level": m.state.level,
            "first_seen": m.state.first_seen,
            "last_seen": m.state.last_seen,
            "summary": m.state.summary,
            "evidence": m.state.evidence,
            "update": m.send == Send::Update,
            "issue": m.state.issue,
            "run_url": m.run_url,
        },
    })
}

fn footer(m: &AlertMessage<'_>) -> String {
    let mut text = format!("shipit check · {} · {}", m.key.text(), m.at);
    if let Some(url) = &m.run_url {
        text.push_str(" · ");
        text.push_str(url);
    }
    text
}

fn colour(m: &AlertMessage<'_>) -> u32 {
    match (m.send, m.state.level.as_str()) {
        (Send::Resolve, _) => 0x002e_a043,
        (_, "critical") => 0x00d1_242f,
        _ => 0x00bf_8700,
    }
}

/// The requests a webhook-style channel makes (none for `github_issue`, which talks to the
/// REST API in steps; see [`github_issue`]).
pub fn requests_for(
    channel: &Channel,
    m: &AlertMessage<'_>,
    msg_id: &str,
    unix_now: u64,
) -> anyhow::Result<Vec<Outgoing>> {
    let json = |v: Value| -> Vec<u8> { serde_json::to_vec(&redacted(v)).unwrap_or_default() };
    let plain = vec![("content-type".to_owned(), "application/json".to_owned())];
    let one = |url: &crate::scalar::Text, body: Vec<u8>, headers: Vec<(String, String)>| {
        vec![Outgoing {
            url: url.as_str().to_owned(),
            headers,
            body,
        }]
    };
    Ok(match &channel.kind {
        ChannelKind::Slack { webhook_url } => one(webhook_url, json(slack(m)), plain),
        ChannelKind::Discord { webhook_url } => one(webhook_url, json(discord(m)), plain),
        ChannelKind::Teams { webhook_url } => one(webhook_url, json(teams(m)), plain),
        ChannelKind::PagerDuty {
            routing_key,
            events_url,
            ..
        } => {
            let mut body = redacted(pagerduty(m));
            body["routing_key"] = Value::String(routing_key.as_str().to_owned());
            one(
                events_url,
                serde_json::to_vec(&body).unwrap_or_default(),
                plain,
            )
        }
        ChannelKind::Webhook { url, secret } => {
            let body = json(webhook(m));
            let mut headers = plain;
            headers.extend(webhook::headers(
                secret.as_ref().map(crate::scalar::Text::as_str),
                msg_id,
                unix_now,
                &body,
            )?);
            one(url, body, headers)
        }
        ChannelKind::GithubIssue { .. } => Vec::new(),
    })
}

/// Sends `m` to every channel that wants its event, concurrently, within the notification cap.
/// The delivery is `ok` when every one of them got it.
pub async fn send(channels: &[Channel], m: &AlertMessage<'_>) -> (Delivery, Vec<SendResult>) {
    let started = Instant::now();
    let event = m.event();
    let wanted: Vec<&Channel> = channels.iter().filter(|c| c.wants(event)).collect();
    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut delivery = Delivery {
        ok: true,
        issue: m.state.issue,
        problems: Vec::new(),
    };
    let deadline = tokio::time::Instant::now() + super::TOTAL_CAP;
    let client = match super::client() {
        Ok(c) => c,
        Err(e) => {
            delivery.ok = wanted.is_empty();
            delivery.problems.push(e);
            return (delivery, Vec::new());
        }
    };
    let mut results = Vec::new();
    let mut posts = Vec::new();
    for channel in &wanted {
        let label = target_label(channel);
        if let ChannelKind::GithubIssue { .. } = channel.kind {
            continue;
        }
        match requests_for(channel, m, &webhook::message_id(), unix_now) {
            Ok(list) => posts.push(super::send_channel(&client, channel.name(), label, list)),
            Err(e) => results.push(super::failed(
                channel.name(),
                label,
                &format!("{e:#}"),
                started,
            )),
        }
    }
    let issues = wanted.iter().filter_map(|c| match &c.kind {
        ChannelKind::GithubIssue {
            repository,
            api_url,
            token,
        } => Some(github_issue::Target::resolve(
            repository.as_deref(),
            api_url.as_ref().map(crate::scalar::Text::as_str),
            token.as_ref().map(crate::scalar::Text::as_str),
        )),
        _ => None,
    });
    let issues: Vec<_> = issues.collect();
    let all = async {
        let mut out = Vec::new();
        for p in posts {
            out.push(p.await);
        }
        let mut issue_results = Vec::new();
        for target in issues {
            issue_results.push(github_issue::send(&client, target, m).await);
        }
        (out, issue_results)
    };
    if let Ok((posted, opened)) = tokio::time::timeout_at(deadline, all).await {
        results.extend(posted);
        for (result, number) in opened {
            if number.is_some() {
                delivery.issue = number;
            }
            results.push(result);
        }
    } else {
        delivery.ok = false;
        delivery.problems.push(format!(
            "gave up after {}s, shipit's limit for notifications",
            super::TOTAL_CAP.as_secs()
        ));
    }
    for r in &results {
        if !r.delivered {
            delivery.ok = false;
            delivery.problems.push(format!(
                "{}: {}",
                r.target,
                r.error.as_deref().unwrap_or("not delivered")
            ));
        }
    }
    (delivery, results)
}

/// The [`AlertSender`] `check` and `watch` use: every configured channel, through [`send`].
/// Each channel result is kept for the command's report.
pub struct ChannelSender<'a> {
    pub channels: &'a [Channel],
    pub run_url: Option<String>,
    pub results: std::cell::RefCell<Vec<SendResult>>,
}

impl<'a> ChannelSender<'a> {
    pub fn new(channels: &'a [Channel], run_url: Option<String>) -> ChannelSender<'a> {
        ChannelSender {
            channels,
            run_url,
            results: std::cell::RefCell::new(Vec::new()),
        }
    }
}

impl AlertSender for ChannelSender<'_> {
    async fn send(&self, send_kind: Send, key: &AlertKey, state: &AlertState) -> Delivery {
        let m = AlertMessage {
            send: send_kind,
            key,
            state,
            run_url: self.run_url.clone(),
            at: crate::timefmt::now(),
        };
        let (delivery, results) = send(self.channels, &m).await;
        self.results.borrow_mut().extend(results);
        delivery
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> AlertKey {
        AlertKey {
            env: "staging".into(),
            app: "hotdash-staging".into(),
            rule: "http_5xx".into(),
        }
    }

    fn state() -> AlertState {
        AlertState {
            level: "critical".into(),
            open: true,
            first_seen: "2026-08-21T12:00:00Z".into(),
            last_seen: "2026-08-21T12:04:00Z".into(),
            summary: "2 log line(s) match `http_5xx`".into(),
            evidence: vec!["2026-08-21T12:00:00Z [148ed193b95089] iad [info] Completed 500 Internal Server Error in 12ms".into()],
            ..AlertState::default()
        }
    }

    fn msg<'a>(send: Send, key: &'a AlertKey, state: &'a AlertState) -> AlertMessage<'a> {
        AlertMessage {
            send,
            key,
            state,
            run_url: Some("https://github.com/acme/app/actions/runs/1".into()),
            at: "2026-08-21T12:04:00Z".into(),
        }
    }

    #[test]
    fn pagerduty_keeps_one_incident_per_env_app_and_rule() {
        let (k, s) = (key(), state());
        let t = pagerduty(&msg(Send::Trigger, &k, &s));
        assert_eq!(t["event_action"], "trigger");
        assert_eq!(t["dedup_key"], "shipit:staging/hotdash-staging/http_5xx");
        assert_eq!(t["payload"]["severity"], "critical");
        assert_eq!(t["payload"]["class"], "http_5xx");
        assert_eq!(t["payload"]["custom_details"]["evidence"][0], s.evidence[0]);
        let r = pagerduty(&msg(Send::Resolve, &k, &s));
        assert_eq!(
            r,
            json!({"event_action": "resolve", "dedup_key": "shipit:staging/hotdash-staging/http_5xx"})
        );
        let other = AlertKey {
            rule: "oom_killed".into(),
            ..key()
        };
        assert_ne!(dedup_key(&other), dedup_key(&k));
    }

    #[test]
    fn webhook_carries_the_alert_fields() {
        let (k, s) = (key(), state());
        let v = webhook(&msg(Send::Trigger, &k, &s));
        assert_eq!(v["type"], "shipit.alert");
        let d = &v["data"];
        assert_eq!(d["event"], "alert");
        for (field, want) in [
            ("env", "staging"),
            ("app", "hotdash-staging"),
            ("rule", "http_5xx"),
            ("level", "critical"),
            ("first_seen", "2026-08-21T12:00:00Z"),
        ] {
            assert_eq!(d[field], want, "{field}");
        }
        assert_eq!(d["update"], false);
        let v = webhook(&msg(Send::Resolve, &k, &s));
        assert_eq!(v["data"]["event"], "resolved");
    }

    #[test]
    fn chat_payloads_name_the_key_and_show_the_evidence() {
        let (k, s) = (key(), state());
        let m = msg(Send::Trigger, &k, &s);
        assert_eq!(m.title(), "critical: staging/hotdash-staging http_5xx");
        let sl = slack(&m).to_string();
        assert!(sl.contains("Completed 500 Internal Server Error"), "{sl}");
        assert!(
            discord(&m)["embeds"][0]["description"]
                .as_str()
                .unwrap()
                .contains("```")
        );
        assert!(teams(&m).to_string().contains("Monospace"));
        let r = msg(Send::Resolve, &k, &s);
        assert_eq!(r.title(), "resolved: staging/hotdash-staging http_5xx");
        assert!(
            !slack(&r).to_string().contains("Completed 500"),
            "a resolve has no evidence block"
        );
        assert_eq!(
            msg(Send::Update, &k, &s).title(),
            "now critical: staging/hotdash-staging http_5xx"
        );
    }

    #[test]
    fn secrets_in_evidence_are_redacted_before_sending() {
        crate::secret::register("alert-secret-5f0c9a");
        let k = key();
        let mut s = state();
        s.evidence = vec!["token=alert-secret-5f0c9a failed".into()];
        let ch = Channel {
            kind: ChannelKind::Webhook {
                url: crate::scalar::Text::literal("http://127.0.0.1:9/hook"),
                secret: None,
            },
            on: Event::ALL.to_vec(),
        };
        let out = requests_for(&ch, &msg(Send::Trigger, &k, &s), "msg_1", 1).unwrap();
        let body = String::from_utf8(out[0].body.clone()).unwrap();
        assert!(
            !body.contains("alert-secret-5f0c9a") && body.contains("***"),
            "{body}"
        );
    }
}
