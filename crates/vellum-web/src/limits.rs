//! The HTTP server loop and its limits: how long a client may take to send
//! a request's head (which also closes idle keep-alive connections), how
//! many connections are open at once, and per route class how large and
//! how slow a request body may be and how long a handler may run.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::routing::MethodRouter;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tower::Service;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// Connection-level limits.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// A client must send a complete request head within this time, and an
    /// idle keep-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// What a request may send and how long it may take, by route class.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RouteClass {
    /// Small bodies: sign-in, settings, moves, lists.
    Small,
    /// Page text: saves, previews (a page is at most 1 MiB; JSON and form
    /// encoding can make its body several times larger).
    Page,
    /// File uploads: the handler streams the body to storage and applies
    /// the wiki's file size limit itself (with a clear 413).
    Upload,
}

impl RouteClass {
    fn body_limit(self) -> usize {
        match self {
            RouteClass::Small => 64 * 1024,
            RouteClass::Page => 8 * 1024 * 1024,
            RouteClass::Upload => usize::MAX,
        }
    }

    fn body_timeout(self) -> Duration {
        match self {
            RouteClass::Small => Duration::from_secs(15),
            RouteClass::Page => Duration::from_secs(60),
            RouteClass::Upload => Duration::from_secs(3600),
        }
    }

    fn handler_timeout(self) -> Duration {
        match self {
            RouteClass::Small => Duration::from_secs(30),
            RouteClass::Page => Duration::from_secs(60),
            RouteClass::Upload => Duration::from_secs(3600),
        }
    }
}

/// Applies a route class's limits to a method router.
pub(crate) fn class<S: Clone + Send + Sync + 'static>(c: RouteClass, m: MethodRouter<S>) -> MethodRouter<S> {
    m.layer::<_, Infallible>(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        c.handler_timeout(),
    ))
    .layer::<_, Infallible>(RequestBodyTimeoutLayer::new(c.body_timeout()))
    .layer::<_, Infallible>(DefaultBodyLimit::max(c.body_limit()))
}

/// A span per request that names the route, not the query string (which
/// can carry a one-time setup token).
pub(crate) fn request_span(req: &Request<Body>) -> tracing::Span {
    // The id is recorded by the request context (request.rs).
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = tracing::field::Empty)
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let max = limits.max_connections.clamp(1, u32::MAX as usize);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            let mut router = router.clone();
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            async move { router.call(req).await }
        });
        let http = http.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let conn = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = async { stopping.wait_for(|s| *s).await.map(|_| ()) } => {
                    // Finish the request in flight, then close.
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot: having them all back means every
    // connection closed. A stuck client cannot hold shutdown for ever.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(Duration::from_secs(30), slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within 30 s of shutdown");
    }
    Ok(())
}
