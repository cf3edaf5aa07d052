//! Notifications: Slack, Discord, Teams, `PagerDuty` and a signed generic webhook.
//!
//! Payloads are built by pure functions (`slack::payload`, `discord::payload`, `teams::payload`,
//! `pagerduty::requests`, `webhook::payload`) from a [`RunRecord`] and an [`Event`]; this module
//! redacts them and sends them. Sending never fails or blocks a run: every channel is posted
//! concurrently, each POST has a short timeout and a couple of retries, the whole thing is cut
//! off after [`TOTAL_CAP`], and a message that could not be delivered becomes a warning.

pub mod alert;
pub mod discord;
pub mod github_issue;
pub mod message;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod webhook;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub use message::Message;

use crate::config::{Channel, ChannelKind, Config};
use crate::event::Event;
use crate::printer::Printer;
use crate::report::{RunKind, RunRecord, ServiceRecord, ServiceResult};
use crate::secret;

/// The longest all notifications of one event may take together. Whatever has not been
/// delivered by then is given up on, so a dead receiver delays a deploy by at most this much.
pub const TOTAL_CAP: Duration = Duration::from_secs(10);
/// The cap for `cancelled`: GitHub sends SIGTERM 7.5 s after SIGINT (and shipit exits on a second
/// signal), so the message that says a run was cancelled must be out well before that.
pub const CANCELLED_CAP: Duration = Duration::from_secs(3);

/// How long the notifications of `event` may take together.
pub fn cap_for(event: Event) -> Duration {
    if event == Event::Cancelled {
        CANCELLED_CAP
    } else {
        TOTAL_CAP
    }
}
/// One POST, from connecting to the end of the response.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// Connecting alone.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Tries per request: the first and two retries, after these pauses. Only connection failures,
/// 429 and 5xx answers are retried; a timeout is not, because the receiver may have acted on it.
pub const BACKOFF: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];
/// A 429's `Retry-After` is honoured up to this long; longer, and the next event will do.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(2);

/// What happened to one channel's message.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SendResult {
    /// `slack`, `discord`, `teams`, `pagerduty`, `webhook`.
    pub channel: &'static str,
    /// The channel and its host, safe to print: `slack (hooks.slack.com)`.
    pub target: String,
    pub delivered: bool,
    /// HTTP requests this message took (`PagerDuty` may send an alert and a change event).
    pub requests: usize,
    /// Tries of the last request made.
    pub attempts: u32,
    /// The last HTTP status seen.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// One HTTP request to make. The URL is a secret as often as not: it is never printed.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Redacted JSON.
    pub body: Vec<u8>,
}

/// Tells every channel that wants `event` about the run. Failures become warnings (and GitHub
/// `::warning::` annotations); the results are returned for callers that report them.
pub async fn send_all(
    channels: &[Channel],
    event: Event,
    record: &RunRecord,
    printer: &Printer,
) -> Vec<SendResult> {
    let wanted: Vec<&Channel> = channels.iter().filter(|c| c.wants(event)).collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let results = deliver(&wanted, &Message::new(record, event)).await;
    for r in &results {
        if r.delivered {
            printer.info(&format!("notified {} ({event})", r.target));
        } else {
            let text = format!(
                "notification to {} not delivered: {}",
                r.target,
                r.error.as_deref().unwrap_or("unknown error")
            );
            printer.warn(&text);
            crate::github::annotate(
                printer,
                crate::github::Level::Warning,
                "notification not delivered",
                &text,
            );
        }
    }
    results
}

/// Sends one test message to every channel, whatever its `on:` list, and returns each result
/// without printing anything: `shipit notify test` reports them itself.
pub async fn send_test(channels: &[Channel], record: &RunRecord) -> Vec<SendResult> {
    let all: Vec<&Channel> = channels
        .iter()
        .filter(|c| !matches!(c.kind, ChannelKind::GithubIssue { .. }))
        .collect();
    let mut results = deliver(&all, &Message::test(record)).await;
    // An issue channel takes alerts only: its test is a test alert's whole life.
    for c in channels {
        if let ChannelKind::GithubIssue {
            repository,
            api_url,
            token,
        } = &c.kind
        {
            let target = github_issue::Target::resolve(
                repository.as_deref(),
                api_url.as_ref().map(crate::scalar::Text::as_str),
                token.as_ref().map(crate::scalar::Text::as_str),
            );
            let env = record.env.as_deref().unwrap_or("test");
            results.push(match client() {
                Ok(client) => {
                    github_issue::test_cycle(&client, target, env, record.run_url.clone()).await
                }
                Err(e) => failed(c.name(), target_label(c), &e, std::time::Instant::now()),
            });
        }
    }
    results
}

/// A record for test messages: the first environment's services, nothing deployed.
pub fn test_record(config: &Config, now: SystemTime) -> RunRecord {
    let env = config.environments.first();
    let services: Vec<ServiceRecord> = env
        .map(|e| {
            e.services
                .iter()
                .map(|s| {
                    let mut r = ServiceRecord::new(&s.env, &s.name, &s.app, s.url.as_str());
                    r.result = ServiceResult::Planned;
                    r
                })
                .collect()
        })
        .unwrap_or_default();
    let (run_url, sha, actor) = RunRecord::github_context();
    let at = crate::timefmt::rfc3339(now);
    RunRecord {
        id: crate::timefmt::run_id(now),
        kind: RunKind::Deploy,
        env: env.map(|e| e.name.clone()),
        started_at: at.clone(),
        finished_at: at,
        duration_ms: 0,
        outcome: crate::exit::Outcome::Success,
        event: Event::Succeeded,
        services,
        summary: "test message from `shipit notify test`".to_owned(),
        run_url,
        sha,
        actor,
    }
}

/// `slack (hooks.slack.com)`: what may be printed about a channel. A host that is (part of) a
/// secret is masked.
pub fn target_label(channel: &Channel) -> String {
    let url = match &channel.kind {
        ChannelKind::Slack { webhook_url }
        | ChannelKind::Discord { webhook_url }
        | ChannelKind::Teams { webhook_url } => webhook_url,
        ChannelKind::PagerDuty { events_url, .. } => events_url,
        ChannelKind::Webhook { url, .. } => url,
        ChannelKind::GithubIssue { repository, .. } => {
            return format!(
                "{} ({})",
                channel.name(),
                github_issue::repository_label(repository.as_deref())
            );
        }
    };
    format!("{} ({})", channel.name(), host_of(url.as_str()))
}

/// The host (and a port written in the URL) of `url`, redacted.
pub fn host_of(url: &str) -> String {
    let host = match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?").to_owned();
            match u.port() {
                Some(p) => format!("{host}:{p}"),
                None => host,
            }
        }
        Err(_) => "invalid url".to_owned(),
    };
    secret::redact(&host).into_owned()
}

/// The requests one channel makes for one message. `msg_id` and `unix_now` are the webhook's
/// `webhook-id` and `webhook-timestamp`, passed in so tests are deterministic.
pub fn requests_for(
    channel: &Channel,
    msg: &Message<'_>,
    msg_id: &str,
    unix_now: u64,
) -> anyhow::Result<Vec<Outgoing>> {
    let json =
        |v: Value| -> Vec<u8> { serde_json::to_vec(&secret::redact_json(v)).unwrap_or_default() };
    let plain = vec![("content-type".to_owned(), "application/json".to_owned())];
    Ok(match &channel.kind {
        ChannelKind::Slack { webhook_url } => {
            vec![Outgoing {
                url: webhook_url.as_str().to_owned(),
                headers: plain,
                body: json(slack::payload(msg)),
            }]
        }
        ChannelKind::Discord { webhook_url } => {
            vec![Outgoing {
                url: webhook_url.as_str().to_owned(),
                headers: plain,
                body: json(discord::payload(msg)),
            }]
        }
        ChannelKind::Teams { webhook_url } => {
            vec![Outgoing {
                url: webhook_url.as_str().to_owned(),
                headers: plain,
                body: json(teams::payload(msg)),
            }]
        }
        ChannelKind::PagerDuty {
            routing_key,
            events_url,
            change_url,
        } => pagerduty::requests(msg)
            .into_iter()
            .map(|r| {
                // The routing key goes in after redaction: it is a secret that must be sent.
                let mut body = secret::redact_json(r.body);
                if let Value::Object(map) = &mut body {
                    map.insert(
                        "routing_key".into(),
                        Value::String(routing_key.as_str().to_owned()),
                    );
                }
                let url = match r.endpoint {
                    pagerduty::Endpoint::Events => events_url,
                    pagerduty::Endpoint::Change => change_url,
                };
                Outgoing {
                    url: url.as_str().to_owned(),
                    headers: plain.clone(),
                    body: serde_json::to_vec(&body).unwrap_or_default(),
                }
            })
            .collect(),
        ChannelKind::Webhook { url, secret } => {
            let body = json(webhook::payload(msg));
            let mut headers = plain;
            headers.extend(webhook::headers(
                secret.as_ref().map(crate::scalar::Text::as_str),
                msg_id,
                unix_now,
                &body,
            )?);
            vec![Outgoing {
                url: url.as_str().to_owned(),
                headers,
                body,
            }]
        }
        // Issues are for alerts only (`notify::alert`); a deploy event has nothing to say there.
        ChannelKind::GithubIssue { .. } => Vec::new(),
    })
}

async fn deliver(channels: &[&Channel], msg: &Message<'_>) -> Vec<SendResult> {
    let started = Instant::now();
    let cap = if msg.test {
        TOTAL_CAP
    } else {
        cap_for(msg.event)
    };
    let deadline = tokio::time::Instant::now() + cap;
    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let client = client();
    let mut results: Vec<Option<SendResult>> = Vec::new();
    let mut labels = Vec::new();
    let mut set = tokio::task::JoinSet::new();
    for channel in channels {
        let outgoing = match requests_for(channel, msg, &webhook::message_id(), unix_now) {
            // Nothing to say on this channel for this event (`PagerDuty` on `started`).
            Ok(list) if list.is_empty() => continue,
            other => other,
        };
        let label = target_label(channel);
        let index = labels.len();
        labels.push((channel.name(), label.clone()));
        results.push(None);
        match (outgoing, &client) {
            (Ok(list), Ok(client)) => {
                let client = client.clone();
                let name = channel.name();
                set.spawn(async move { (index, send_channel(&client, name, label, list).await) });
            }
            (Err(e), _) => {
                results[index] = Some(failed(channel.name(), label, &format!("{e:#}"), started));
            }
            (_, Err(e)) => results[index] = Some(failed(channel.name(), label, e, started)),
        }
    }
    loop {
        match tokio::time::timeout_at(deadline, set.join_next()).await {
            Ok(Some(Ok((i, r)))) => results[i] = Some(r),
            Ok(Some(Err(_))) => {}
            Ok(None) => break,
            Err(_) => {
                set.abort_all();
                break;
            }
        }
    }
    results
        .into_iter()
        .zip(labels)
        .map(|(r, (name, label))| {
            r.unwrap_or_else(|| {
                let why = format!(
                    "gave up after {}s, shipit's limit for notifications",
                    cap.as_secs()
                );
                failed(name, label, &why, started)
            })
        })
        .collect()
}

pub(crate) fn failed(
    channel: &'static str,
    target: String,
    error: &str,
    started: Instant,
) -> SendResult {
    SendResult {
        channel,
        target,
        delivered: false,
        requests: 0,
        attempts: 0,
        status: None,
        error: Some(secret::redact(error).into_owned()),
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

pub(crate) fn client() -> Result<reqwest::Client, String> {
    // The probes' TLS: rustls with the ring provider and the OS trust roots, so notifications
    // and probes trust the same certificates.
    reqwest::Client::builder()
        .tls_backend_preconfigured(crate::probe::http::tls_config())
        .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(ATTEMPT_TIMEOUT)
        // A webhook URL that redirects is a wrong URL: say so instead of re-posting elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {}", e.without_url()))
}

/// Sends one channel's requests in order; the message is delivered when all of them are. A
/// failed request does not stop the next (another service's change event is still news).
pub(crate) async fn send_channel(
    client: &reqwest::Client,
    channel: &'static str,
    target: String,
    list: Vec<Outgoing>,
) -> SendResult {
    let started = Instant::now();
    let mut result = SendResult {
        channel,
        target,
        delivered: true,
        requests: 0,
        attempts: 0,
        status: None,
        error: None,
        elapsed_ms: 0,
    };
    for out in &list {
        result.requests += 1;
        let (attempts, status, error) = post(client, out).await;
        // Report the first failure, or else the last request.
        if result.delivered {
            result.attempts = attempts;
            result.status = status;
        }
        if let Some(e) = error {
            if result.delivered {
                result.error = Some(secret::redact(&e).into_owned());
            }
            result.delivered = false;
        }
    }
    result.elapsed_ms = started.elapsed().as_millis() as u64;
    result
}

/// The most of an error answer's body shipit reads: a receiver answering 400 with a gigabyte
/// must cost neither memory nor time (the rest is never read; the connection is dropped).
pub const ERROR_BODY_LIMIT: usize = 4096;

/// At most [`ERROR_BODY_LIMIT`] bytes of an error answer, decoded lossily.
async fn error_body(mut resp: reqwest::Response) -> String {
    let mut body = Vec::with_capacity(512);
    while body.len() < ERROR_BODY_LIMIT {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = ERROR_BODY_LIMIT - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// One request with its retries: (attempts, last status, error if not delivered).
async fn post(client: &reqwest::Client, out: &Outgoing) -> (u32, Option<u16>, Option<String>) {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let mut req = client.post(&out.url).body(out.body.clone());
        for (k, v) in &out.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let last = attempt as usize > BACKOFF.len();
        let mut pause = BACKOFF
            .get(attempt as usize - 1)
            .copied()
            .unwrap_or_default();
        match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                return (attempt, Some(resp.status().as_u16()), None);
            }
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let text = error_body(resp).await;
                // An error page can be a whole HTML document: one line of it is enough. Masked
                // before it is cut, so a cut can never leave half a secret showing.
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let text = secret::redact(&text).replace(&out.url, "<url>");
                let text =
                    crate::printer::strip_controls(&message::truncate(&text, 160)).into_owned();
                let retryable = status.as_u16() == 429 || status.is_server_error();
                if !retryable || last {
                    let tries = if attempt > 1 {
                        format!(" after {attempt} attempts")
                    } else {
                        String::new()
                    };
                    let said = if text.is_empty() {
                        String::new()
                    } else {
                        format!(": {text}")
                    };
                    return (
                        attempt,
                        Some(status.as_u16()),
                        Some(format!("HTTP {}{said}{tries}", status.as_u16())),
                    );
                }
                if let Some(ra) = retry_after {
                    pause = pause.max(ra.min(RETRY_AFTER_MAX));
                }
            }
            Err(e) => {
                if !e.is_connect() || last {
                    let tries = if attempt > 1 {
                        format!(" after {attempt} attempts")
                    } else {
                        String::new()
                    };
                    return (
                        attempt,
                        None,
                        Some(format!("{}{tries}", describe(&e, &out.url))),
                    );
                }
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// A transport error in words, without the URL (which may hold a token).
fn describe(e: &reqwest::Error, url: &str) -> String {
    if e.is_timeout() {
        return format!("no answer within {}s", ATTEMPT_TIMEOUT.as_secs());
    }
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let text = if parts.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {}", parts.join(": "))
    };
    text.replace(url, "<url>")
}
