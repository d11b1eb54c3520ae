//! The web layer: the server-rendered HTML UI, the JSON API under
//! `/api/v1` with its OpenAPI document, static assets, and the middleware
//! around them. Handlers are thin: parse input, call one use case of
//! [`vellum_app::App`], present the result.
//!
//! Modules: `api` and `html` each expose a router per resource; the
//! neutral modules (`urls`, `cookies`, `fmt`, `error`, `extract`) are shared
//! by both and import neither.
#![forbid(unsafe_code)]

mod api;
mod assets;
mod cookies;
mod error;
mod extract;
mod fmt;
mod html;
mod http_cache;
mod limits;
mod request;
mod routes;
mod subroutes;
mod urls;

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt as _;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use vellum_app::App;

pub use api::openapi;
pub use error::{ErrorBody, ErrorInfo};
pub use extract::Visitor;
pub use limits::ServerLimits;
pub use request::{IpNet, RateLimits};

/// How the web layer is exposed.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// The address people reach the wiki at (`https://wiki.example.com`);
    /// `https` marks cookies `Secure` and turns on HSTS. Form posts must
    /// come from this origin or from the request's own host.
    pub public_url: Option<String>,
    /// Image hosts pages may embed from besides the wiki itself (for the
    /// `img-src` of the content security policy). Empty by default, so a
    /// page cannot make readers' browsers fetch from elsewhere.
    pub image_hosts: Vec<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    /// Empty by default: the header is ignored and the peer address is the
    /// client's.
    pub trusted_proxies: Vec<request::IpNet>,
    /// Requests per minute per client (`None`: no limits; `vellum serve`
    /// sets [`RateLimits::DEFAULT`] unless configured otherwise).
    pub rate_limits: Option<RateLimits>,
}

impl WebOptions {
    pub fn secure(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// The public URL's origin (`scheme://host[:port]`), if configured.
    pub(crate) fn public_origin(&self) -> Option<String> {
        let u = url::Url::parse(self.public_url.as_deref()?).ok()?;
        Some(u.origin().ascii_serialization())
    }

    fn content_security_policy(&self) -> String {
        let mut img = String::from("'self' data: blob:");
        for host in &self.image_hosts {
            let host = host.trim();
            if !host.is_empty() && host.chars().all(|c| c.is_ascii_graphic() && c != ';' && c != ',') {
                img.push(' ');
                img.push_str(host);
            }
        }
        format!(
            "default-src 'self'; img-src {img}; style-src 'self'; script-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub app: App,
    pub opts: Arc<WebOptions>,
    pub limiters: Option<Arc<request::Limiters>>,
    /// Page views' gzip bodies by validator (`http_cache.rs`).
    pub compressed: Arc<http_cache::Compressed>,
}

/// The whole site as one service: HTML, API, assets and health checks,
/// with sub-resource addresses routed (see `subroutes.rs`).
pub fn service(app: App, opts: WebOptions) -> Router {
    let router = router(app, opts);
    Router::new().fallback_service(tower::service_fn(move |req: Request| {
        let router = router.clone();
        async move { router.oneshot(subroutes::rewrite(req)).await }
    }))
}

fn router(app: App, opts: WebOptions) -> Router {
    let csp = opts.content_security_policy();
    let hsts = opts.secure();
    let limiters = opts.rate_limits.map(|l| Arc::new(request::Limiters::new(l)));
    if let Some(l) = &limiters {
        tokio::spawn(request::tidy_limiters(l.clone()));
    }
    let compressed = Arc::new(http_cache::Compressed::new(app.config().cache_bytes / 8));
    let state = AppState {
        app,
        opts: Arc::new(opts),
        limiters,
        compressed,
    };
    let mut headers: Vec<(HeaderName, HeaderValue)> = vec![
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
        ),
    ];
    if hsts {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    let (routes, _) = site_routes(html::router(state.clone())).into_parts();
    let mut router = routes
        .fallback(html::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), request::context))
        .with_state(state);
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    router
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(http_cache::tag_encodings))
        .layer(CatchPanicLayer::custom(|_| {
            let body = ErrorBody {
                error: ErrorInfo {
                    code: vellum_app::Code::Internal.as_str(),
                    message: "Something went wrong on the server. The error has been logged.".into(),
                    details: None,
                },
            };
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(limits::request_span))
}

/// The whole site's routes around the HTML ones.
fn site_routes(html: routes::Routes) -> routes::Routes {
    html.nest("/api/v1", api::router())
        .route("/assets/{name}", get(assets::serve))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// Every address template the site routes, as clients write them
/// (`/wiki/{*path}/-/history`), for tests that must cover every route.
pub fn route_table() -> Vec<String> {
    let (_, paths) = site_routes(html::routes()).into_parts();
    let mut out: Vec<String> = paths.iter().map(|p| routes::public_form(p)).collect();
    out.sort();
    out.dedup();
    out
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.app.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    limits::serve(listener, service, limits, shutdown).await
}
