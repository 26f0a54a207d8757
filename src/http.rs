//! The JSON/HTTP face of the API (`--http-listen`): every RPC as JSON over HTTP following the
//! Connect protocol ([`gateway`], [`connect`]), an OpenAPI description generated from the
//! protos ([`openapi`]), and the web console for rule authors ([`console`]). It calls the gRPC services in process, so tokens, roles, audit, limits
//! and error details are the gRPC port's own.

pub mod connect;
pub mod console;
pub mod gateway;
pub mod openapi;
pub mod tls;

pub use crate::claim::json::descriptors;
pub use gateway::Gateway;

/// Serves `gateway` on `listener` (with TLS when `tls` is set) until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gateway: Gateway,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(config) => {
            axum::serve(tls::TlsListener::new(listener, config)?, gateway.router())
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, gateway.router())
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
