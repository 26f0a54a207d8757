//! TLS and mutual TLS with certificates generated here (rcgen), plain text refused on a TLS
//! port, and the scrub API requiring a scrubber token when configured.

mod support;

use claimscrub::config::TlsFiles;
use claimscrub::proto::v1::claim_scrubber_client::ClaimScrubberClient;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use support::{TestServer, bundled_rules, clean_claim, config, request};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["billing-system".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    std::fs::write(dir.path().join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        dir,
    }
}

async fn tls_client(
    server: &TestServer,
    pki: &Pki,
    with_cert: bool,
) -> Result<ClaimScrubberClient<Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    if with_cert {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    let channel = Channel::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(ClaimScrubberClient::new(channel))
}

fn tls_files(pki: &Pki, client_ca: bool) -> TlsFiles {
    TlsFiles {
        cert: pki.dir.path().join("server.pem"),
        key: pki.dir.path().join("server.key"),
        client_ca: client_ca.then(|| pki.dir.path().join("ca.pem")),
        client_auth_optional: false,
    }
}

#[tokio::test]
async fn tls_serves_and_plain_text_is_refused() {
    let pki = pki();
    let mut cfg = config(&bundled_rules());
    cfg.tls = Some(tls_files(&pki, false));
    let server = TestServer::start(cfg).await;
    let mut c = tls_client(&server, &pki, false).await.unwrap();
    let resp = c
        .scrub_claim(request(clean_claim("TLS-1")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.claim_id, "TLS-1");
    let mut plain = ClaimScrubberClient::connect(server.url()).await.unwrap();
    assert!(
        plain
            .scrub_claim(request(clean_claim("PLAIN")))
            .await
            .is_err(),
        "plain text is not served on a TLS port"
    );
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    let pki = pki();
    let mut cfg = config(&bundled_rules());
    cfg.tls = Some(tls_files(&pki, true));
    let server = TestServer::start(cfg).await;
    let mut with_cert = tls_client(&server, &pki, true).await.unwrap();
    assert!(
        with_cert
            .scrub_claim(request(clean_claim("MTLS-1")))
            .await
            .is_ok()
    );
    let refused = match tls_client(&server, &pki, false).await {
        Err(_) => true,
        Ok(mut c) => c.scrub_claim(request(clean_claim("MTLS-2"))).await.is_err(),
    };
    assert!(refused, "a client without a certificate is refused");
}

#[tokio::test]
async fn scrub_api_can_require_a_scrubber_token() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        "scrubber billing scrubber-token-0123456789\nviewer ana viewer-token-0123456789\n",
    )
    .unwrap();
    let mut cfg = config(&bundled_rules());
    cfg.auth_tokens = Some(tokens);
    cfg.scrub_requires_token = true;
    let server = TestServer::start(cfg).await;
    let mut c = server.client().await;
    let none = c
        .scrub_claim(request(clean_claim("T-0")))
        .await
        .unwrap_err();
    assert_eq!(none.code(), tonic::Code::Unauthenticated);
    let with = |token: &str| {
        let mut r = tonic::Request::new(request(clean_claim("T-1")));
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        r
    };
    assert_eq!(
        c.scrub_claim(with("viewer-token-0123456789"))
            .await
            .unwrap_err()
            .code(),
        tonic::Code::PermissionDenied
    );
    assert!(
        c.scrub_claim(with("scrubber-token-0123456789"))
            .await
            .is_ok()
    );
}

/// The JSON/HTTP listener uses the gRPC port's certificate: HTTPS works with the CA, plain
/// HTTP gets no answer.
#[tokio::test]
async fn the_json_http_listener_serves_https_with_the_same_certificate() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = pki();
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut c = config(&bundled_rules());
    c.tls = Some(tls_files(&pki, false));
    c.http_listen = Some(http);
    let _server = TestServer::start(c).await;
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let body = r#"{"claim": {"claimId": "TLS-HTTP", "lines": [{"procedureCode": "99213", "units": 1, "serviceDate": "2024-07-01"}]}}"#;
    let request = format!(
        "POST /claimscrub.v1.ClaimScrubber/ScrubClaim HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    for _ in 0..100 {
        let Ok(tcp) = tokio::net::TcpStream::connect(http).await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client.clone()));
        let mut tls = connector
            .connect("localhost".try_into().unwrap(), tcp)
            .await
            .expect("TLS handshake with the gRPC port's certificate");
        tls.write_all(request.as_bytes()).await.unwrap();
        tls.read_to_string(&mut answer).await.ok();
        break;
    }
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"claimId\":\"TLS-HTTP\""), "{answer}");

    // Plain HTTP on the TLS port: no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(http).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut plain = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut plain),
    )
    .await;
    assert!(!String::from_utf8_lossy(&plain).contains("claimId"));
}
