//! Client-side TLS options shared by the commands that talk to a server.

use std::path::PathBuf;

use anyhow::Context;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// TLS options of a client command. Use an `https://` address to turn TLS on.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientTls {
    /// CA certificate (PEM) that signed the server's certificate.
    #[arg(long, env = "CLAIMSCRUB_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(
        long = "tls-client-cert",
        env = "CLAIMSCRUB_TLS_CLIENT_CERT",
        value_name = "FILE",
        requires = "tls_client_key"
    )]
    pub tls_client_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(
        long = "tls-client-key",
        env = "CLAIMSCRUB_TLS_CLIENT_KEY",
        value_name = "FILE",
        requires = "tls_client_cert"
    )]
    pub tls_client_key: Option<PathBuf>,
    /// Server name to verify (default: the address's host).
    #[arg(long, env = "CLAIMSCRUB_TLS_DOMAIN")]
    pub tls_domain: Option<String>,
}

/// A server address as every command takes it: `HOST:PORT`, `http://HOST:PORT` or
/// `https://HOST:PORT`. A bare `HOST:PORT` means TLS when a CA is given, plain text otherwise.
pub fn server_url(addr: &str, tls: &ClientTls) -> String {
    let addr = addr.trim();
    if addr.contains("://") {
        addr.to_string()
    } else if tls.tls_ca.is_some() || tls.tls_client_cert.is_some() {
        format!("https://{addr}")
    } else {
        format!("http://{addr}")
    }
}

impl ClientTls {
    /// Connects to `url` (`http://` plain, `https://` TLS).
    pub async fn connect(&self, url: &str) -> anyhow::Result<Channel> {
        let mut endpoint = Channel::from_shared(url.to_string()).with_context(|| {
            format!("{url:?} is not a server address (e.g. http://127.0.0.1:50051)")
        })?;
        if url.starts_with("https://") {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &self.tls_ca {
                let pem =
                    std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            if let (Some(cert), Some(key)) = (&self.tls_client_cert, &self.tls_client_key) {
                let c = std::fs::read(cert)
                    .with_context(|| format!("cannot read {}", cert.display()))?;
                let k =
                    std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
                tls = tls.identity(Identity::from_pem(c, k));
            }
            if let Some(d) = &self.tls_domain {
                tls = tls.domain_name(d.clone());
            }
            endpoint = endpoint.tls_config(tls).context("TLS configuration")?;
        }
        endpoint
            .connect()
            .await
            .with_context(|| format!("cannot reach the claimscrub server at {url}"))
    }
}
