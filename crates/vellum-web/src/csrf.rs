//! CSRF protection for HTML forms.
//!
//! Every form carries a hidden `_csrf` field. For a signed-in visitor it must
//! equal the session's token (stored server-side); for an anonymous visitor
//! (the sign-in and setup forms) it must equal the `vellum_csrf` cookie that
//! this middleware hands out (double submit). A cross-site page can neither
//! read the token nor set the cookie. Posts whose `Origin` names another
//! host are refused outright.
//!
//! The JSON API needs no token: it only accepts `application/json` bodies,
//! which a cross-site form cannot send without a CORS preflight.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use crate::extract::{visitor_from_parts, FreshCsrf, CSRF_COOKIE, SESSION_COOKIE};
use crate::html::error_page;
use crate::AppState;

/// Form bodies larger than this are refused (a page body is at most 1 MiB,
/// which form encoding can triple).
pub(crate) const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// Set on a save whose token did not match, so the editor can show the text
/// again instead of losing it.
#[derive(Clone, Copy)]
pub(crate) struct CsrfRejected;

fn same_origin(req: &Request) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    origin == "null" && host.is_empty()
        || url::Url::parse(origin).is_ok_and(|u| {
            let origin_host = match u.port() {
                Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
                None => u.host_str().unwrap_or_default().to_owned(),
            };
            origin_host.eq_ignore_ascii_case(host)
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let has_session = jar.get(SESSION_COOKIE).is_some();
    let has_csrf_cookie = jar.get(CSRF_COOKIE).is_some();

    if req.method() != Method::POST {
        let mut req = req;
        let fresh = if !has_session && !has_csrf_cookie {
            match crate::random_token() {
                Some(t) => {
                    req.extensions_mut().insert(FreshCsrf(t.clone()));
                    Some(t)
                }
                None => None,
            }
        } else {
            None
        };
        let mut res = next.run(req).await;
        if let Some(token) = fresh {
            let secure = if state.opts.secure_cookies { "; Secure" } else { "" };
            let cookie = format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        return res;
    }

    if !same_origin(&req) {
        return error_page(
            403,
            "Request refused",
            "This form was sent from another site, so it was refused.",
        )
        .into_response();
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_page(413, "Too large", "The form is larger than the server accepts (4 MiB).").into_response()
        }
    };
    let visitor = match visitor_from_parts(&parts, &state).await {
        Ok(v) => v,
        Err(e) => return crate::html::HtmlError(e).into_response(),
    };
    let sent = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.into_owned());
    let ok = !visitor.csrf.is_empty() && sent.is_some_and(|s| constant_time_eq(s.as_bytes(), visitor.csrf.as_bytes()));
    if !ok {
        if parts.uri.path().ends_with("/-/edit") {
            parts.extensions.insert(CsrfRejected);
        } else {
            return error_page(
                403,
                "This form has expired",
                "Your session changed since this form was shown (for example you signed in or out). Go back, reload the page and send it again.",
            )
            .into_response();
        }
    }
    parts.extensions.insert(visitor);
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn origin_must_match_host() {
        let req = |origin: &str, host: &str| {
            Request::builder()
                .header(header::ORIGIN, origin)
                .header(header::HOST, host)
                .body(Body::empty())
                .unwrap()
        };
        assert!(same_origin(&req("http://127.0.0.1:3000", "127.0.0.1:3000")));
        assert!(same_origin(&req("https://wiki.example.com", "wiki.example.com")));
        assert!(!same_origin(&req("https://evil.example", "wiki.example.com")));
        assert!(same_origin(&Request::builder().body(Body::empty()).unwrap()));
    }
}
