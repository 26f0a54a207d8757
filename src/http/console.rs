//! The web console for revenue-cycle staff: plain HTML, CSS and a JavaScript module written
//! here (no libraries, no CDN), embedded in the binary at build time and served at `/` on the
//! JSON/HTTP listener. It talks to the API through the same JSON/HTTP face, with the token the
//! user signs in with (kept in session storage, sent as a bearer header, never in an address).

use axum::body::Body;
use axum::http::{HeaderValue, Response, header};

const INDEX: &str = include_str!("console/index.html");
const APP: &str = include_str!("console/app.js");
const STYLE: &str = include_str!("console/style.css");
/// The bundled demo claims, offered as samples for dry runs.
const SAMPLES: &str = include_str!("../../samples/demo-claims.json");

/// What every answer of the HTTP listener carries: scripts and styles from this server only,
/// no inline script, no third-party requests, no framing, no referrer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn file(text: &'static str, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(Body::from(text));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The console's routes: `/`, `/console/app.js`, `/console/style.css`,
/// `/console/samples.json`.
pub fn router() -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route(
            "/",
            get(|| async { file(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/console/app.js",
            get(|| async { file(APP, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/console/style.css",
            get(|| async { file(STYLE, "text/css; charset=utf-8") }),
        )
        .route(
            "/console/samples.json",
            get(|| async { file(SAMPLES, "application/json") }),
        )
}

/// Adds the security headers to an answer of the HTTP listener.
pub async fn secure(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
