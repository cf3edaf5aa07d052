//! The real prober: HTTP(S) over one shared reqwest client (so connections are reused across a
//! gate's probes and a smoke suite's checks), rustls with the ring provider, the operating
//! system's trust roots, and the peer certificate kept for `[CERTIFICATE_EXPIRATION]`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::{BODY_LIMIT, ProbeResult, ProbeSpec, Prober, cert};

/// `shipit/<version>`: how shipit's probes show up in Fly's logs.
pub const USER_AGENT: &str = concat!("shipit/", env!("CARGO_PKG_VERSION"));

/// Probes over HTTP. Cheap to clone: clones share the client and its connection pool.
#[derive(Clone)]
pub struct HttpProber {
    client: reqwest::Client,
}

impl HttpProber {
    /// A prober with its own connection pool. Redirects are not followed: a probe reports what
    /// the URL itself answers, as curl and hurl do by default.
    pub fn new() -> anyhow::Result<HttpProber> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config())
            .tls_info(true)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(HttpProber { client })
    }

    async fn exchange(&self, spec: &ProbeSpec, out: &mut ProbeResult) -> Result<(), String> {
        let method = reqwest::Method::from_bytes(spec.method.as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", spec.method))?;
        let mut request = self.client.request(method, &spec.url);
        for (name, value) in spec.all_headers() {
            request = request.header(name, value);
        }
        if let Some(body) = &spec.body {
            request = request.body(body.clone());
        }
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        out.connected = true;
        out.status = Some(response.status().as_u16());
        out.ip = response.remote_addr().map(|a| a.ip());
        out.headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if let Some(der) = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|t| t.peer_certificate())
        {
            out.cert_expires_in = cert::not_after(der).map(time_left);
        }
        // Read to the end even past the limit, so the latency covers the whole body and the
        // connection can go back to the pool.
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
            let room = BODY_LIMIT - out.body.len();
            if chunk.len() > room {
                out.body.extend_from_slice(&chunk[..room]);
                out.body_truncated = true;
            } else {
                out.body.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }
}

impl Prober for HttpProber {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        let mut out = ProbeResult::default();
        let started = Instant::now();
        let outcome = tokio::time::timeout(spec.timeout, self.exchange(spec, &mut out)).await;
        out.latency = started.elapsed();
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => out.error = Some(e),
            Err(_) => {
                let limit = crate::duration::format(spec.timeout);
                out.error = Some(if out.connected {
                    format!("timed out after {limit} reading the body")
                } else {
                    format!("timed out after {limit}")
                });
            }
        }
        out
    }
}

/// Time from now to `not_after` (Unix seconds); zero when it is past.
fn time_left(not_after: i64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let left = not_after - i64::try_from(now).unwrap_or(i64::MAX);
    Duration::from_secs(u64::try_from(left).unwrap_or(0))
}

/// The innermost cause of a reqwest error, which is the useful part ("connection refused"),
/// without the URL (which may hold a secret).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    let mut text = inner.to_string();
    if let Some(first) = text.get(..1) {
        text = first.to_lowercase() + &text[1..];
    }
    if e.is_connect() && !text.contains("connect") {
        format!("cannot connect: {text}")
    } else {
        text
    }
}

/// rustls with the ring provider (no C build for aws-lc) verifying against the operating
/// system's roots. Public so that other HTTP clients of shipit (notifications) use the same TLS.
/// On a machine with no root certificates, plain HTTP still works and every HTTPS request fails
/// with an error that says why.
pub fn tls_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new(provider.clone()) {
            Ok(v) => Arc::new(v),
            Err(e) => Arc::new(NoRoots {
                reason: e.to_string(),
                schemes: provider
                    .signature_verification_algorithms
                    .supported_schemes(),
            }),
        };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// The verifier used when the system has no trust roots: every certificate is refused, saying so.
#[derive(Debug)]
struct NoRoots {
    reason: String,
    schemes: Vec<rustls::SignatureScheme>,
}

impl NoRoots {
    fn refuse(&self) -> rustls::Error {
        rustls::Error::General(format!(
            "no trusted root certificates on this machine ({})",
            self.reason
        ))
    }
}

impl ServerCertVerifier for NoRoots {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(self.refuse())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(self.refuse())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(self.refuse())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.schemes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_is_never_negative() {
        assert_eq!(time_left(0), Duration::ZERO);
        let in_a_day = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .cast_signed()
            + 86_400;
        let left = time_left(in_a_day);
        assert!(left > Duration::from_secs(86_390) && left <= Duration::from_secs(86_400));
    }

    #[test]
    fn the_tls_config_speaks_http1_with_ring() {
        let config = tls_config();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
