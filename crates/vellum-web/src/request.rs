//! What every request goes through before its route: who is asking (the
//! session cookie, or an `Authorization: Bearer` token), from which address
//! (`X-Forwarded-For` believed only from configured proxies), whether they
//! are over a rate limit, and whether two-factor sign-in must be set up
//! first. The address and user agent are then known to the audit log for
//! the rest of the request (`vellum_app::with_request`).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use vellum_app::{AppError, Code, RequestMeta};

use crate::error::ApiError;
use crate::extract::{visitor_from_parts, Visitor};
use crate::AppState;

/// A network (`10.0.0.0/8`, `::1/128`) or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| format!("“{s}” is not an address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("“{s}” has a prefix length outside 0 to {max}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy (a client can prepend anything to that header, so the
/// entries left of the first untrusted one are not believed).
pub(crate) fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(v) = value.to_str() else { return Some(peer) };
        for part in v.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                Err(_) => return Some(peer),
            }
        }
    }
    Some(
        hops.iter()
            .rev()
            .copied()
            .find(|ip| !is_trusted(*ip))
            .or(hops.first().copied())
            .unwrap_or(peer),
    )
}

/// Requests per minute allowed per client, by kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sign-in, token and refresh requests, per address.
    pub sign_in_per_minute: u32,
    /// Requests that change something.
    pub write_per_minute: u32,
    /// Everything else.
    pub read_per_minute: u32,
}

impl RateLimits {
    /// What `vellum serve` uses unless configured otherwise.
    pub const DEFAULT: RateLimits = RateLimits {
        sign_in_per_minute: 30,
        write_per_minute: 600,
        read_per_minute: 6000,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Class {
    SignIn,
    Write,
    Read,
}

fn class_of(method: &Method, path: &str) -> Class {
    let sign_in = matches!(
        path,
        "/login"
            | "/login/code"
            | "/api/v1/auth/login"
            | "/api/v1/auth/token"
            | "/api/v1/auth/refresh"
            | "/setup"
            // Asking for and using password reset links, like signing in.
            | "/reset-password"
            | "/api/v1/auth/password-reset"
            | "/api/v1/auth/password-reset/confirm"
    );
    match method {
        &Method::POST if sign_in => Class::SignIn,
        &Method::GET | &Method::HEAD | &Method::OPTIONS => Class::Read,
        _ => Class::Write,
    }
}

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// One limiter per class, keyed by client (address or token).
pub(crate) struct Limiters {
    sign_in: Keyed,
    write: Keyed,
    read: Keyed,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    // The whole minute's allowance may come at once, then it refills
    // evenly.
    Quota::per_minute(n).allow_burst(n)
}

impl Limiters {
    pub(crate) fn new(l: RateLimits) -> Limiters {
        Limiters {
            sign_in: RateLimiter::keyed(quota(l.sign_in_per_minute)),
            write: RateLimiter::keyed(quota(l.write_per_minute)),
            read: RateLimiter::keyed(quota(l.read_per_minute)),
        }
    }

    /// `Err(seconds)` when `key` is over the class's limit.
    fn check(&self, class: Class, key: &str) -> Result<(), u64> {
        let limiter = match class {
            Class::SignIn => &self.sign_in,
            Class::Write => &self.write,
            Class::Read => &self.read,
        };
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + 1
        })
    }

    /// Drops the state of clients that are back at full allowance.
    pub(crate) fn tidy(&self) {
        self.sign_in.retain_recent();
        self.write.retain_recent();
        self.read.retain_recent();
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// May a session that still has to set up two-factor sign-in go here?
fn allowed_before_enrolment(path: &str) -> bool {
    path.starts_with("/account/two-factor")
        || path.starts_with("/assets/")
        || matches!(
            path,
            "/logout" | "/api/v1/auth/logout" | "/api/v1/auth/me" | "/healthz" | "/readyz" | "/api/v1/auth/totp"
        )
        || path.starts_with("/api/v1/auth/totp/")
}

/// See the module documentation.
pub(crate) async fn context(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let ip = client_ip(peer, &parts.headers, &s.opts.trusted_proxies);
    let request_id = request_id(&parts.headers);
    tracing::Span::current().record("request_id", request_id.as_str());
    let meta = RequestMeta {
        request_id: Some(request_id.clone()),
        ip,
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path().to_owned(), |o| o.0.path().to_owned());
    let method = parts.method.clone();
    let mut res = vellum_app::with_request(meta, async move {
        let checked = admit(&s, &parts, &method, &path, ip).await;
        match checked {
            Ok(visitor) => {
                parts.extensions.insert(visitor);
                next.run(Request::from_parts(parts, body)).await
            }
            Err(Refusal::Error(e, _)) if is_api(&path) => ApiError(e).into_response(),
            // Pages show the refusal in the visitor's frame.
            Err(Refusal::Error(e, visitor)) => {
                let v = visitor.unwrap_or_else(Visitor::anonymous);
                let mut res = crate::html::error_page(&v, crate::error::status_of(e.kind()), e.code, &e.message);
                if let Some(secs) = e.retry_after {
                    if let Ok(h) = HeaderValue::from_str(&secs.to_string()) {
                        res.headers_mut().insert(header::RETRY_AFTER, h);
                    }
                }
                res
            }
            Err(Refusal::Response(r)) => r,
        }
    })
    .await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

const REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// The request's id: the one a proxy in front set (`X-Request-Id`, as
/// nginx's `$request_id`), when it is a plausible id, or a new one. It is
/// in the request's log lines, in its response, and in the logs of the
/// jobs it enqueues.
fn request_id(headers: &HeaderMap) -> String {
    let given = headers
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    match given {
        Some(v) => v.to_owned(),
        None => {
            let mut r = [0u8; 8];
            let _ = getrandom::getrandom(&mut r);
            r.iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}

enum Refusal {
    /// The error, and who was asking when that is known.
    Error(AppError, Option<Visitor>),
    Response(Response),
}

/// The visitor, if they may go on.
async fn admit(
    s: &AppState,
    parts: &axum::http::request::Parts,
    method: &Method,
    path: &str,
    ip: Option<IpAddr>,
) -> Result<Visitor, Refusal> {
    let visitor = visitor_from_parts(parts, s)
        .await
        .map_err(|e| Refusal::Error(e, None))?;
    if let Some(limiters) = &s.limiters {
        let class = class_of(method, path);
        let key = match (&visitor.rate_key, class) {
            // Sign-in is limited by address whatever the credential.
            (Some(k), Class::Read | Class::Write) => k.clone(),
            _ => ip.map_or_else(|| "unknown".to_owned(), |ip| format!("ip:{ip}")),
        };
        if let Err(secs) = limiters.check(class, &key) {
            return Err(Refusal::Error(
                AppError::new(
                    Code::RateLimited,
                    format!(
                        "Too many requests. Wait {secs} second{} and try again.",
                        if secs == 1 { "" } else { "s" }
                    ),
                )
                .with_retry_after(secs),
                Some(visitor),
            ));
        }
    }
    if visitor.must_enroll_totp && !allowed_before_enrolment(path) {
        if is_api(path) {
            return Err(Refusal::Error(
                AppError::new(
                    Code::TotpEnrollmentRequired,
                    "This wiki requires two-factor sign-in. Set it up first (POST /api/v1/auth/totp, or Account → \
                     Two-factor sign-in in the browser).",
                ),
                None,
            ));
        }
        let mut res = StatusCode::SEE_OTHER.into_response();
        res.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/account/two-factor"));
        return Err(Refusal::Response(res));
    }
    Ok(visitor)
}

/// Keeps the limiters' memory bounded.
pub(crate) async fn tidy_limiters(limiters: Arc<Limiters>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        limiters.tidy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks() {
        let n = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(n.contains(ip("10.1.2.3")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped IPv6");
        assert!(IpNet::parse("::1").unwrap().contains(ip("::1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("nope").is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = [IpNet::parse("127.0.0.1").unwrap(), IpNet::parse("10.0.0.0/8").unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 1.2.3.4, 10.0.0.7"),
        );
        // From a trusted proxy: the right-most untrusted hop.
        assert_eq!(client_ip(Some(ip("127.0.0.1")), &h, &trusted), Some(ip("1.2.3.4")));
        // From anyone else: the header is ignored.
        assert_eq!(client_ip(Some(ip("5.5.5.5")), &h, &trusted), Some(ip("5.5.5.5")));
        assert_eq!(client_ip(Some(ip("127.0.0.1")), &h, &[]), Some(ip("127.0.0.1")));
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", HeaderValue::from_static("not an address"));
        assert_eq!(client_ip(Some(ip("127.0.0.1")), &bad, &trusted), Some(ip("127.0.0.1")));
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), &HeaderMap::new(), &trusted),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn classes() {
        assert_eq!(class_of(&Method::POST, "/api/v1/auth/login"), Class::SignIn);
        assert_eq!(class_of(&Method::GET, "/login"), Class::Read);
        assert_eq!(class_of(&Method::PUT, "/api/v1/pages/x"), Class::Write);
    }

    #[test]
    fn limits_refuse_past_the_allowance_with_a_wait() {
        let l = Limiters::new(RateLimits {
            sign_in_per_minute: 2,
            write_per_minute: 5,
            read_per_minute: 5,
        });
        assert!(l.check(Class::SignIn, "ip:1").is_ok());
        assert!(l.check(Class::SignIn, "ip:1").is_ok());
        let wait = l.check(Class::SignIn, "ip:1").unwrap_err();
        assert!((1..=31).contains(&wait), "{wait}");
        assert!(l.check(Class::SignIn, "ip:2").is_ok(), "other clients are not affected");
        assert!(l.check(Class::Read, "ip:1").is_ok(), "other classes are not affected");
        for _ in 0..4 {
            assert!(l.check(Class::Read, "ip:9").is_ok());
        }
        assert!(l.check(Class::Read, "ip:9").is_ok());
        assert!(l.check(Class::Read, "ip:9").is_err(), "the sixth read in a minute");
    }
}
