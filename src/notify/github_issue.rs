//! The `github_issue` notifier: the repository itself as the alert board. One issue per open
//! alert, titled `alert(shipit): <env>/<app>/<rule>` and labelled `shipit-alert` plus
//! `shipit:<key>`; a comment on a change of level; a comment and `closed` on resolve. REST API
//! at `GITHUB_API_URL` with `GITHUB_TOKEN` (the job needs `permissions: issues: write`).
//!
//! The issue number is kept in the alert state; when it is missing (a record lost, an earlier
//! send that died after creating the issue) the open issue with that exact title is found
//! first, so a key never gets a second issue (the Gatus pattern, made idempotent).

use std::fmt::Write as _;
use std::time::Instant;

use serde_json::{Value, json};

use super::SendResult;
use super::alert::AlertMessage;
use crate::env_vars;
use crate::monitor::escalation::Send;
use crate::secret;
use crate::store::AlertKey;

/// Every alert issue carries this label.
pub const LABEL: &str = "shipit-alert";

/// Where issues go.
#[derive(Debug, Clone)]
pub struct Target {
    pub api: String,
    pub repository: String,
    token: String,
}

impl Target {
    /// From the channel's keys, else the Actions environment. The error says what is missing.
    pub fn resolve(
        repository: Option<&str>,
        api_url: Option<&str>,
        token: Option<&str>,
    ) -> Result<Target, String> {
        let repository = repository
            .map(str::to_owned)
            .or_else(|| env_vars::non_empty(env_vars::GITHUB_REPOSITORY))
            .ok_or("no repository: set `repository: owner/name` on the github_issue channel, or run under GitHub Actions (GITHUB_REPOSITORY)")?;
        let token = token
            .map(str::to_owned)
            .or_else(|| env_vars::non_empty(env_vars::GITHUB_TOKEN))
            .ok_or("no GitHub token: set GITHUB_TOKEN for this step (`${{ github.token }}` with `permissions: issues: write`)")?;
        secret::register(&token);
        let api = api_url
            .map(str::to_owned)
            .or_else(|| env_vars::non_empty(env_vars::GITHUB_API_URL))
            .unwrap_or_else(|| "https://api.github.com".to_owned());
        Ok(Target {
            api: api.trim_end_matches('/').to_owned(),
            repository,
            token,
        })
    }
}

/// `owner/name` for messages: the configured one, else `GITHUB_REPOSITORY`.
pub fn repository_label(repository: Option<&str>) -> String {
    repository
        .map(str::to_owned)
        .or_else(|| env_vars::non_empty(env_vars::GITHUB_REPOSITORY))
        .unwrap_or_else(|| "GITHUB_REPOSITORY".to_owned())
}

/// `alert(shipit): staging/hotdash-staging/http_5xx`.
pub fn title(key: &AlertKey) -> String {
    format!("alert(shipit): {}", key.text())
}

/// `shipit:staging/hotdash-staging/http_5xx`, cut to GitHub's 50 characters for a label.
pub fn key_label(key: &AlertKey) -> String {
    format!("shipit:{}", key.text()).chars().take(50).collect()
}

/// The issue body (masked).
pub fn body(m: &AlertMessage<'_>) -> String {
    let mut text = format!(
        "**{}** on `{}` ({}), rule `{}`.\n\n{}\n\nFirst seen: {}  \nLast seen: {}\n",
        m.state.level,
        m.key.app,
        m.key.env,
        m.key.rule,
        m.state.summary,
        m.state.first_seen,
        m.state.last_seen
    );
    if !m.state.evidence.is_empty() {
        text.push_str("\nEvidence:\n\n```\n");
        for line in &m.state.evidence {
            text.push_str(&line.replace("```", "'''"));
            text.push('\n');
        }
        text.push_str("```\n");
    }
    if let Some(url) = &m.run_url {
        let _ = write!(text, "\nFound by [this run]({url}).\n");
    }
    let _ = write!(
        text,
        "\nshipit closes this issue when the alert resolves.\n\n<!-- shipit:alert {} -->\n",
        m.key.text()
    );
    secret::redact(&text).into_owned()
}

/// Does what `m` asks on GitHub; the result, and the issue number it used.
pub async fn send(
    client: &reqwest::Client,
    target: Result<Target, String>,
    m: &AlertMessage<'_>,
) -> (SendResult, Option<u64>) {
    let started = Instant::now();
    let label = format!(
        "github_issue ({})",
        target
            .as_ref()
            .map_or_else(|_| repository_label(None), |t| t.repository.clone())
    );
    let mut result = SendResult {
        channel: "github_issue",
        target: label,
        delivered: false,
        requests: 0,
        attempts: 1,
        status: None,
        error: None,
        elapsed_ms: 0,
    };
    let outcome = match target {
        Ok(t) => steps(client, &t, m, &mut result).await,
        Err(e) => Err(e),
    };
    result.elapsed_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(number) => {
            result.delivered = true;
            (result, number)
        }
        Err(e) => {
            result.error = Some(secret::redact(&e).into_owned());
            (result, m.state.issue)
        }
    }
}

async fn steps(
    client: &reqwest::Client,
    t: &Target,
    m: &AlertMessage<'_>,
    result: &mut SendResult,
) -> Result<Option<u64>, String> {
    let repo = format!("{}/repos/{}", t.api, t.repository);
    let number = match m.state.issue {
        Some(n) => Some(n),
        None => find(client, t, &repo, m.key, result).await?,
    };
    match m.send {
        Send::Trigger => {
            if let Some(n) = number {
                return Ok(Some(n));
            }
            let created = call(
                client,
                t,
                reqwest::Method::POST,
                &format!("{repo}/issues"),
                Some(json!({
                    "title": title(m.key),
                    "body": body(m),
                    "labels": [LABEL, key_label(m.key)],
                })),
                result,
            )
            .await?;
            Ok(created["number"].as_u64())
        }
        Send::Update => {
            let Some(n) = number else {
                return Err("no open issue for this alert to comment on".into());
            };
            let text = secret::redact(&format!(
                "Level changed: now **{}**.\n\n{}\n",
                m.state.level, m.state.summary
            ))
            .into_owned();
            call(
                client,
                t,
                reqwest::Method::POST,
                &format!("{repo}/issues/{n}/comments"),
                Some(json!({"body": text})),
                result,
            )
            .await?;
            Ok(Some(n))
        }
        Send::Resolve => {
            let Some(n) = number else {
                // Nothing was opened (or someone closed it already): nothing to close.
                return Ok(None);
            };
            let text = format!(
                "Resolved at {}: {} clean check(s) in a row. First seen {}.",
                m.at, m.state.clean_checks, m.state.first_seen
            );
            call(
                client,
                t,
                reqwest::Method::POST,
                &format!("{repo}/issues/{n}/comments"),
                Some(json!({"body": text})),
                result,
            )
            .await?;
            call(
                client,
                t,
                reqwest::Method::PATCH,
                &format!("{repo}/issues/{n}"),
                Some(json!({"state": "closed", "state_reason": "completed"})),
                result,
            )
            .await?;
            Ok(Some(n))
        }
    }
}

/// `shipit notify test` for an issue channel: the whole life of a test alert, so the token's
/// `issues: write` and the repository are proved: open an issue (`staging/shipit-notify-test/
/// notify_test`), comment on it as a change of level, and resolve it (a comment, then closed).
/// Delivered when all three steps were.
pub async fn test_cycle(
    client: &reqwest::Client,
    target: Result<Target, String>,
    env: &str,
    run_url: Option<String>,
) -> SendResult {
    let key = AlertKey {
        env: env.to_owned(),
        app: "shipit-notify-test".to_owned(),
        rule: "notify_test".to_owned(),
    };
    let at = crate::timefmt::now();
    let mut state = crate::store::AlertState {
        level: "warning".to_owned(),
        open: true,
        first_seen: at.clone(),
        last_seen: at.clone(),
        summary: "a test alert from `shipit notify test`; shipit closes this issue at once"
            .to_owned(),
        ..crate::store::AlertState::default()
    };
    let mut total: Option<SendResult> = None;
    for step in [Send::Trigger, Send::Update, Send::Resolve] {
        if step == Send::Update {
            "alert".clone_into(&mut state.level);
        }
        if step == Send::Resolve {
            state.clean_checks = 1;
        }
        let m = AlertMessage {
            send: step,
            key: &key,
            state: &state,
            run_url: run_url.clone(),
            at: at.clone(),
        };
        let (result, number) = send(client, target.clone(), &m).await;
        state.issue = number.or(state.issue);
        let failed = !result.delivered;
        total = Some(match total {
            None => result,
            Some(mut t) => {
                t.requests += result.requests;
                t.elapsed_ms += result.elapsed_ms;
                t.status = result.status.or(t.status);
                t.delivered &= result.delivered;
                t.error = t.error.or(result.error);
                t
            }
        });
        if failed {
            break;
        }
    }
    total.expect("three steps ran")
}

/// The open issue titled for `key`, among the open `shipit-alert` issues.
async fn find(
    client: &reqwest::Client,
    t: &Target,
    repo: &str,
    key: &AlertKey,
    result: &mut SendResult,
) -> Result<Option<u64>, String> {
    let url = format!("{repo}/issues?state=open&labels={LABEL}&per_page=100");
    let list = call(client, t, reqwest::Method::GET, &url, None, result).await?;
    let want = title(key);
    Ok(list.as_array().and_then(|items| {
        items
            .iter()
            .find(|i| i["title"].as_str() == Some(want.as_str()) && i.get("pull_request").is_none())
            .and_then(|i| i["number"].as_u64())
    }))
}

async fn call(
    client: &reqwest::Client,
    t: &Target,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
    result: &mut SendResult,
) -> Result<Value, String> {
    result.requests += 1;
    let mut req = client
        .request(method.clone(), url)
        .header("authorization", format!("Bearer {}", t.token))
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28");
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&b).unwrap_or_default());
    }
    let path = url.strip_prefix(&t.api).unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    let resp = req
        .send()
        .await
        .map_err(|e| format!("{method} {path}: {}", describe(&e)))?;
    let status = resp.status();
    result.status = Some(status.as_u16());
    let bytes = resp.bytes().await.unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let said = value["message"].as_str().unwrap_or("").to_owned();
    let hint = if status.as_u16() == 403 || status.as_u16() == 404 {
        " (the job needs `permissions: issues: write`)"
    } else {
        ""
    };
    Err(format!(
        "{method} {path}: HTTP {}: {said}{hint}",
        status.as_u16()
    ))
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer in time".into();
    }
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        "request failed".into()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AlertState;

    #[test]
    fn the_title_and_label_carry_the_key() {
        let key = AlertKey {
            env: "production".into(),
            app: "hotdash-production-support-desk".into(),
            rule: "reauthorization_required".into(),
        };
        assert_eq!(
            title(&key),
            "alert(shipit): production/hotdash-production-support-desk/reauthorization_required"
        );
        assert_eq!(key_label(&key).chars().count(), 50);
        assert!(key_label(&key).starts_with("shipit:production/"));
    }

    #[test]
    fn the_body_is_masked_and_keeps_its_code_block() {
        crate::secret::register("issue-secret-77ab");
        let key = AlertKey {
            env: "staging".into(),
            app: "web".into(),
            rule: "crash".into(),
        };
        let state = AlertState {
            level: "alert".into(),
            summary: "crash".into(),
            evidence: vec!["```injected``` issue-secret-77ab".into()],
            ..AlertState::default()
        };
        let m = AlertMessage {
            send: Send::Trigger,
            key: &key,
            state: &state,
            run_url: None,
            at: String::new(),
        };
        let b = body(&m);
        assert!(!b.contains("issue-secret-77ab"));
        assert_eq!(b.matches("```").count(), 2, "{b}");
        assert!(b.contains("<!-- shipit:alert staging/web/crash -->"));
    }
}
