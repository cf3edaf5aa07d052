//! Opening a `PostgreSQL` connection: the one way the postgres store and the database module
//! connect. TLS is rustls with the ring provider (the project's one TLS stack), chosen by the
//! URL's `sslmode` the way libpq reads it:
//!
//! - `disable`: plain TCP (or a Unix socket when `host` is a folder);
//! - `prefer` (libpq's default): TLS when the server offers it, without verifying the
//!   certificate, else plain;
//! - `require`: TLS or nothing, certificate not verified (libpq's meaning; Supabase's pooler
//!   certificates are signed by Supabase's own CA, so this is what its connection strings use);
//! - `verify-ca` / `verify-full`: TLS with the certificate checked against the system's roots.
//!
//! **Invariant:** the URL's password is a secret: it is registered with `secret` before the
//! connection is tried, and errors describe the server as `host:port/db`, never the URL.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres::config::{Host, SslMode};

/// How long a connection attempt may take before it is given up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `sslmode` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    Disable,
    Prefer,
    Require,
    Verify,
}

/// A parsed connection URL: the driver's config, the TLS choice, and a printable name.
#[derive(Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: Tls,
    /// `host:port/dbname`, safe to print.
    pub shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({})", self.shown)
    }
}

/// Parses a `postgres://` / `postgresql://` URL (or a libpq key=value string). The password is
/// registered as a secret first, so no later message can show it.
pub fn parse(url: &str) -> anyhow::Result<Target> {
    let (rest, tls) = take_sslmode(url)?;
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e: tokio_postgres::Error| {
        anyhow::anyhow!(
            "cannot read the database URL: {}\nhint: write it as postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=require",
            crate::secret::redact(&e.to_string())
        )
    })?;
    if let Some(pw) = config.get_password() {
        crate::secret::register(&String::from_utf8_lossy(pw));
    }
    config.ssl_mode(match tls {
        Tls::Disable => SslMode::Disable,
        Tls::Prefer => SslMode::Prefer,
        Tls::Require | Tls::Verify => SslMode::Require,
    });
    config.connect_timeout(CONNECT_TIMEOUT);
    if config.get_application_name().is_none() {
        config.application_name("shipit");
    }
    let shown = shown(&config);
    Ok(Target { config, tls, shown })
}

/// `host:port/dbname` of a config, for messages.
fn shown(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// Removes `sslmode=...` from the URL's query (tokio-postgres knows fewer modes than libpq) and
/// returns what it asked for; libpq's default is `prefer`.
fn take_sslmode(url: &str) -> anyhow::Result<(String, Tls)> {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let mut tls = Tls::Prefer;
    let mode_of = |v: &str| -> anyhow::Result<Tls> {
        Ok(match v {
            "disable" | "allow" => Tls::Disable,
            "prefer" => Tls::Prefer,
            "require" => Tls::Require,
            "verify-ca" | "verify-full" => Tls::Verify,
            other => anyhow::bail!(
                "the database URL's sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ),
        })
    };
    if is_url {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_owned(), tls));
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", v)) => tls = mode_of(v)?,
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok((rest, tls))
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            match word.split_once('=') {
                Some(("sslmode", v)) => tls = mode_of(v)?,
                _ => kept.push(word),
            }
        }
        Ok((kept.join(" "), tls))
    }
}

/// Connects and spawns the connection's driver task; `what` names the purpose in errors
/// ("the record", "the staging database"). The returned client closes when dropped.
pub async fn connect(target: &Target, what: &str) -> anyhow::Result<tokio_postgres::Client> {
    let shown = &target.shown;
    let attempt = async {
        if target.tls == Tls::Disable {
            let (client, conn) = target.config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok::<_, tokio_postgres::Error>(client)
        } else {
            let tls = MakeRustls::new(target.tls == Tls::Verify);
            let (client, conn) = target.config.connect(tls).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(client)
        }
    };
    let client = tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(1), attempt)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "cannot connect to {what} at {shown}: no answer within {}s",
                CONNECT_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| {
            let refused_plain = target.tls == Tls::Disable
                && e.as_db_error().is_some_and(|db| {
                    db.code() == &tokio_postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                        && db.message().contains("no encryption")
                });
            let e = describe(&e);
            if refused_plain {
                // The server's pg_hba.conf has only `hostssl` lines for this client.
                anyhow::anyhow!(
                    "{e}: the server accepts this client only over TLS\nhint: set sslmode=require in the URL instead of sslmode=disable"
                )
            } else {
                e
            }
        })
        .with_context(|| format!("cannot connect to {what} at {shown}"))?;
    Ok(client)
}

/// A driver error as one line, from its causes, redacted.
pub fn describe(e: &tokio_postgres::Error) -> anyhow::Error {
    let mut text = e.to_string();
    if let Some(db) = e.as_db_error() {
        text = format!("{} ({})", db.message(), db.code().code());
    } else {
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
    }
    anyhow::anyhow!("{}", crate::secret::redact(&text))
}

/// tokio-postgres's TLS hook over tokio-rustls, with the probes' rustls setup.
#[derive(Clone)]
struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
}

impl MakeRustls {
    fn new(verify: bool) -> MakeRustls {
        let mut config = if verify {
            crate::probe::http::tls_config()
        } else {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("the ring provider supports TLS 1.2 and 1.3")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unverified { provider }))
                .with_no_client_auth()
        };
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        MakeRustls {
            config: Arc::new(config),
        }
    }
}

impl<S> tokio_postgres::tls::MakeTlsConnect<S> for MakeRustls
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        let name = ServerName::try_from(domain.to_owned())?;
        Ok(RustlsConnect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
        })
    }
}

struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl<S> tokio_postgres::tls::TlsConnect<S> for RustlsConnect
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = std::io::Result<RustlsStream<S>>> + Send>,
    >;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = self.connector.connect(self.name, stream).await?;
            Ok(RustlsStream(tls))
        })
    }
}

/// A TLS stream tokio-postgres can use.
struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S> tokio_postgres::tls::TlsStream for RustlsStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    fn channel_binding(&self) -> tokio_postgres::tls::ChannelBinding {
        tokio_postgres::tls::ChannelBinding::none()
    }
}

impl<S> tokio::io::AsyncRead for RustlsStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S> tokio::io::AsyncWrite for RustlsStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// `sslmode=require`/`prefer`: the connection is encrypted, the certificate is not checked (what
/// libpq does in these modes). The handshake's signatures are still verified.
#[derive(Debug)]
struct Unverified {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_like_libpq_and_removed_from_the_url() {
        let t = parse("postgres://u:pw-for-pg-test@db.example.com:6543/postgres?sslmode=require")
            .unwrap();
        assert_eq!(t.tls, Tls::Require);
        assert_eq!(t.shown, "db.example.com:6543/postgres");
        assert_eq!(
            parse("postgresql://u@h/d").unwrap().tls,
            Tls::Prefer,
            "libpq's default"
        );
        assert_eq!(
            parse("postgres://u@h/d?application_name=x&sslmode=verify-full")
                .unwrap()
                .tls,
            Tls::Verify
        );
        assert_eq!(
            parse("host=127.0.0.1 port=5 user=u sslmode=disable")
                .unwrap()
                .tls,
            Tls::Disable
        );
        let err = parse("postgres://u@h/d?sslmode=bogus").unwrap_err();
        assert!(err.to_string().contains("sslmode `bogus`"), "{err}");
    }

    #[test]
    fn the_password_is_a_secret_once_parsed() {
        let _ = parse("postgres://u:pg-secret-4711@h:5432/d").unwrap();
        assert!(!crate::secret::redact("x pg-secret-4711 y").contains("pg-secret-4711"));
    }
}
