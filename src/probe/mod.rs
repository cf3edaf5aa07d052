//! Outside probes: how shipit judges a release the way a user reaches it. One HTTP request is a
//! probe ([`Prober`]); conditions judge its result ([`condition`]); the health gate decides from a
//! series of them ([`gate`]); [`stats`] and [`regression`] compare a sample with the baseline's.
//!
//! Everything that waits or measures time goes through [`Clock`], and everything that touches
//! the network goes through [`Prober`], so the gate logic is tested without either.

mod cert;
pub mod condition;
pub mod gate;
pub mod http;
mod json_path;
pub mod regression;
mod spec;
pub mod spot;
pub mod stats;

use std::time::Duration;

pub use gate::{GateReport, ProbeRecord, run_gate, sample};
pub use http::HttpProber;
pub use spec::{HealthSpec, PathSource, RegressionSpec};

pub(crate) use crate::duration::millis;
pub use crate::duration::short;

/// The header Fly's proxy reads to send a request to one machine.
pub const FORCE_INSTANCE_HEADER: &str = "Fly-Force-Instance-Id";

/// How much of a response body a probe keeps; the rest is read and dropped.
pub const BODY_LIMIT: usize = 64 * 1024;

/// One request to make.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// The limit for the whole probe: connecting, sending, and reading the full body.
    pub timeout: Duration,
    /// When set, Fly's proxy routes the request to this machine (`Fly-Force-Instance-Id`).
    pub machine_id: Option<String>,
}

impl ProbeSpec {
    /// A plain `GET url`.
    pub fn get(url: &str, timeout: Duration) -> ProbeSpec {
        ProbeSpec {
            url: url.to_owned(),
            method: "GET".to_owned(),
            headers: Vec::new(),
            body: None,
            timeout,
            machine_id: None,
        }
    }

    /// The health probe a [`HealthSpec`] describes, against `url`.
    pub fn health(spec: &HealthSpec, url: &str) -> ProbeSpec {
        let mut probe = ProbeSpec::get(url, spec.timeout);
        probe.headers = spec
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
            .collect();
        probe
    }

    /// The headers to send: the configured ones plus the machine pin, when there is one.
    pub fn all_headers(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        if let Some(id) = &self.machine_id {
            headers.push((FORCE_INSTANCE_HEADER.to_owned(), id.clone()));
        }
        headers
    }
}

/// What one probe saw.
#[derive(Debug, Clone, Default)]
pub struct ProbeResult {
    /// An HTTP response arrived (a status line and headers). False for a refused or reset
    /// connection, a DNS failure, a TLS failure, or a timeout before the response.
    pub connected: bool,
    pub status: Option<u16>,
    /// From sending the request to the last byte of the body (or to the failure).
    pub latency: Duration,
    /// Response headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, at most [`BODY_LIMIT`] bytes.
    pub body: Vec<u8>,
    /// The body was longer than [`BODY_LIMIT`] and was cut.
    pub body_truncated: bool,
    /// Time left before the server certificate's `notAfter` (HTTPS only).
    pub cert_expires_in: Option<Duration>,
    /// The address the connection went to (`[IP]`), when an answer arrived.
    pub ip: Option<std::net::IpAddr>,
    /// What went wrong, in a few words, when the probe got no full answer.
    pub error: Option<String>,
}

impl ProbeResult {
    /// A probe that got no answer at all.
    pub fn failed(latency: Duration, error: impl Into<String>) -> ProbeResult {
        ProbeResult {
            latency,
            error: Some(error.into()),
            ..ProbeResult::default()
        }
    }

    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `200 in 12ms`, or `no answer in 5s (connection refused)`.
    pub fn summary(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), None) => format!("{s} in {}", short(self.latency)),
            (Some(s), Some(e)) => format!("{s} in {} ({e})", short(self.latency)),
            (None, Some(e)) => format!("no answer in {} ({e})", short(self.latency)),
            (None, None) => format!("no answer in {}", short(self.latency)),
        }
    }
}

/// Makes one probe. Implemented over HTTP by [`HttpProber`] and by fakes in tests.
#[allow(async_fn_in_trait)]
pub trait Prober {
    /// Never fails: a probe that gets no answer says so in its result.
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult;
}

impl<P: Prober> Prober for &P {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        (**self).probe(spec).await
    }
}

impl<P: Prober> Prober for std::sync::Arc<P> {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        (**self).probe(spec).await
    }
}

/// Time as the gates see it: a monotonic offset and a way to wait. The real one is
/// [`SystemClock`]; tests use a fake one that jumps instead of waiting.
#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Time since an arbitrary fixed start; only differences matter.
    fn now(&self) -> Duration;
    async fn sleep(&self, d: Duration);
}

/// The real clock: `tokio::time`, monotonic.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: tokio::time::Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations_read_well() {
        assert_eq!(short(Duration::from_micros(800)), "0.8ms");
        assert_eq!(short(Duration::from_millis(5)), "5ms");
        assert_eq!(short(Duration::from_millis(12)), "12ms");
        assert_eq!(short(Duration::from_millis(2400)), "2.4s");
        assert_eq!(short(Duration::from_millis(2410)), "2.41s");
        assert_eq!(short(Duration::from_secs(61)), "61s");
    }

    #[test]
    fn machine_pin_adds_the_fly_header() {
        let mut spec = ProbeSpec::get("http://x/health", Duration::from_secs(1));
        assert!(spec.all_headers().is_empty());
        spec.machine_id = Some("148e21".into());
        assert_eq!(
            spec.all_headers(),
            vec![("Fly-Force-Instance-Id".to_owned(), "148e21".to_owned())]
        );
    }

    #[test]
    fn headers_are_found_in_any_case() {
        let r = ProbeResult {
            headers: vec![("content-type".into(), "text/html".into())],
            ..ProbeResult::default()
        };
        assert_eq!(r.header("Content-Type"), Some("text/html"));
        assert_eq!(r.header("x-nope"), None);
    }
}
