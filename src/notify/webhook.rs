//! A generic JSON webhook, signed the Standard Webhooks way (<https://www.standardwebhooks.com>):
//! `webhook-id` (one id per message, the same across retries, so receivers can deduplicate),
//! `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`. A secret written `whsec_<base64>` is the base64-decoded key, as
//! the spec's libraries do; any other secret is used as raw bytes.

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::message::Message;
use crate::report::ServiceRecord;

/// The JSON body: `{type, timestamp, data}` as the spec suggests. `data` is a compact view of the
/// run (the receipt, without per-probe details, stays under the spec's advised 20 KB).
pub fn payload(msg: &Message<'_>) -> Value {
    let r = msg.record;
    let timestamp = if r.finished_at.is_empty() {
        &r.started_at
    } else {
        &r.finished_at
    };
    let services: Vec<Value> = r.services.iter().map(service).collect();
    json!({
        "type": msg.type_name(),
        "timestamp": timestamp,
        "data": {
            "event": msg.event.name(),
            "test": msg.test,
            "title": msg.title(),
            "summary": msg.summary(),
            "run": {
                "id": r.id,
                "kind": r.kind.name(),
                "env": r.env,
                "outcome": r.outcome,
                "exit_code": r.outcome.code(),
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "duration_ms": r.duration_ms,
                "run_url": r.run_url,
                "sha": r.sha,
                "actor": r.actor,
            },
            "services": services,
        },
    })
}

fn service(s: &ServiceRecord) -> Value {
    let gates: Vec<Value> = s
        .gates
        .iter()
        .map(|g| json!({"name": g.name, "rule": g.rule, "observed": g.observed, "verdict": g.verdict}))
        .collect();
    json!({
        "env": s.env,
        "service": s.service,
        "app": s.app,
        "url": s.url,
        "result": s.result,
        "from": s.from,
        "to": s.to,
        "live": s.live,
        "decision": s.decision,
        "reason": s.reason,
        "issues": s.issues,
        "actions": s.actions,
        "gates": gates,
    })
}

/// The signing key a secret stands for.
pub fn key(secret: &str) -> anyhow::Result<Vec<u8>> {
    match secret.strip_prefix("whsec_") {
        Some(b64) => STANDARD
            .decode(b64.trim())
            .context("the webhook secret starts with `whsec_` but the rest is not base64\nhint: use the secret exactly as your receiver shows it, or one without the `whsec_` prefix (raw bytes)"),
        None => Ok(secret.as_bytes().to_vec()),
    }
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn signature(key: &[u8], msg_id: &str, timestamp: u64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(msg_id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("v1,{}", STANDARD.encode(ctx.sign().as_ref()))
}

/// The headers of one signed (or, without a secret, unsigned) message.
pub fn headers(
    secret: Option<&str>,
    msg_id: &str,
    timestamp: u64,
    body: &[u8],
) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = vec![
        ("webhook-id".to_owned(), msg_id.to_owned()),
        ("webhook-timestamp".to_owned(), timestamp.to_string()),
    ];
    if let Some(secret) = secret {
        out.push((
            "webhook-signature".to_owned(),
            signature(&key(secret)?, msg_id, timestamp, body),
        ));
    }
    Ok(out)
}

/// A fresh message id: `msg_` and 32 random hex digits.
pub fn message_id() -> String {
    format!("msg_{}", crate::random::hex(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks libraries' own tests.
    #[test]
    fn signs_like_the_reference_implementation() {
        let key = key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_without_the_prefix_is_raw_bytes_and_a_bad_prefix_is_an_error() {
        assert_eq!(key("plain-secret").unwrap(), b"plain-secret");
        assert!(key("whsec_%%%").is_err());
    }
}
