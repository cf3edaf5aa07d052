//! The metrics edge: instant queries to Fly's Prometheus-compatible endpoint
//! (`<url>api/v1/query?query=...&time=...`, `Authorization: FlyV1 <token>`), over the probes'
//! HTTP stack (reqwest, rustls with ring), each bounded by [`QUERY_TIMEOUT`]. The token is a
//! secret: registered before the first request, never in a message.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use super::{Fut, MetricsSource, Sample, parse_answer};
use crate::config::monitor::MetricsSpec;
use crate::secret;

/// How long one query may take, connection included.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read (a 7-day per-instance quantile of a big app stays far below).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The reader of one `metrics.prometheus` endpoint.
pub(crate) struct Prometheus {
    client: reqwest::Client,
    /// `.../api/v1/query`.
    endpoint: String,
    /// The URL as messages show it.
    shown: String,
    /// The whole `Authorization` value, when there is a token.
    authorization: Option<String>,
}

impl Prometheus {
    pub(crate) fn new(spec: &MetricsSpec) -> anyhow::Result<Prometheus> {
        let base = spec.url.as_str().trim_end_matches('/');
        let authorization = spec.token.as_ref().map(|t| {
            let t = t.as_str().trim();
            secret::register(t);
            // `fly tokens create` prints the token with its scheme (`FlyV1 fm2_...`).
            let value = if t.starts_with("FlyV1 ") {
                t.to_owned()
            } else {
                format!("FlyV1 {t}")
            };
            secret::register(&value);
            value
        });
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::probe::http::tls_config())
            .user_agent(crate::probe::http::USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(QUERY_TIMEOUT)
            // A redirect would carry the token elsewhere: refuse it instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot set up the HTTP client for metrics")?;
        Ok(Prometheus {
            client,
            endpoint: format!("{base}/api/v1/query"),
            shown: spec.url.shown().to_owned(),
            authorization,
        })
    }

    async fn ask(&self, query: &str, at: Option<SystemTime>) -> Result<Vec<Sample>, String> {
        let mut url = format!("{}?query={}", self.endpoint, encode(query));
        if let Some(at) = at {
            let secs = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
            let _ = write!(url, "&time={}.{:03}", secs.as_secs(), secs.subsec_millis());
        }
        let mut request = self.client.get(&url).header("Accept", "application/json");
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let shown = &self.shown;
        let mut response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                format!(
                    "the metrics endpoint {shown} did not answer within {}",
                    crate::duration::format(QUERY_TIMEOUT)
                )
            } else {
                format!(
                    "cannot reach the metrics endpoint {shown}: {}",
                    crate::probe::http::describe(&e)
                )
            }
        })?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > BODY_LIMIT {
                        return Err(format!(
                            "the metrics endpoint {shown} answered more than {} MB",
                            BODY_LIMIT / (1024 * 1024)
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(format!(
                        "the metrics endpoint {shown} broke off its answer: {}",
                        crate::probe::http::describe(&e)
                    ));
                }
            }
        }
        match status {
            200 => parse_answer(&body).map_err(|e| format!("metrics endpoint {shown}: {e}")),
            401 | 403 => Err(format!(
                "the metrics endpoint {shown} refused {} ({status}): set `metrics.prometheus.token` to a read-only org token (`fly tokens create readonly`)",
                if self.authorization.is_some() {
                    "the token"
                } else {
                    "a request without a token"
                }
            )),
            _ => Err(match parse_answer(&body) {
                Err(e) if e.starts_with("the query was refused") => {
                    format!("metrics endpoint {shown} ({status}): {e}")
                }
                _ => format!("the metrics endpoint {shown} answered {status}"),
            }),
        }
    }
}

impl MetricsSource for Prometheus {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn query<'a>(
        &'a self,
        query: &'a str,
        at: Option<SystemTime>,
    ) -> Fut<'a, Result<Vec<Sample>, String>> {
        Box::pin(async move {
            self.ask(query, at)
                .await
                .map_err(|e| secret::redact(&e).into_owned())
        })
    }
}

/// Percent-encodes a query parameter (everything but RFC 3986's unreserved characters).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            encode("sum(x{app=\"a b\"}) / 2"),
            "sum%28x%7Bapp%3D%22a%20b%22%7D%29%20%2F%202"
        );
        assert_eq!(encode("abc-_.~"), "abc-_.~");
    }
}
