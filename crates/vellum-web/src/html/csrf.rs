//! Cross-site request forgery protection for the HTML forms, without
//! reading the request body (so uploads and raw bodies are covered alike).
//!
//! A form post is accepted when the browser says it came from this site:
//! `Sec-Fetch-Site: same-origin` (sent by every current browser), or,
//! without fetch metadata, an `Origin` naming this host or the configured
//! public address. A request with neither header did not come from a
//! current browser; it is accepted only without a session (there is nothing
//! to forge with) or with the session's token in `X-CSRF-Token` (scripts).
//! The session cookie is also `SameSite=Lax`, so current browsers do not
//! send it on cross-site posts at all.

use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName};

use crate::extract::Visitor;
use crate::WebOptions;

pub(crate) const CSRF_HEADER: HeaderName = HeaderName::from_static("x-csrf-token");
const FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Set on a form post that failed the check but whose handler must still
/// see its body: the editor shows the text again instead of losing it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CsrfRejected;

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn same_host(origin: &str, headers: &HeaderMap, opts: &WebOptions) -> bool {
    if opts.public_origin().is_some_and(|p| p.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    url::Url::parse(origin).is_ok_and(|u| {
        let origin_host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return false,
        };
        origin_host.eq_ignore_ascii_case(host)
    })
}

/// Whether an unsafe request may proceed.
pub(crate) fn allowed(parts: &Parts, visitor: &Visitor, opts: &WebOptions) -> bool {
    allowed_headers(&parts.headers, visitor, opts)
}

/// [`allowed`], from the request's headers alone (for API routes that take
/// bodies other than JSON, such as uploads).
pub(crate) fn allowed_headers(headers: &HeaderMap, visitor: &Visitor, opts: &WebOptions) -> bool {
    // A bearer token is sent by a program, never by a browser on its own.
    if visitor.bearer {
        return true;
    }
    let token_ok = || {
        !visitor.csrf.is_empty()
            && headers
                .get(CSRF_HEADER)
                .is_some_and(|t| constant_time_eq(t.as_bytes(), visitor.csrf.as_bytes()))
    };
    if let Some(site) = headers.get(FETCH_SITE).and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none") || token_ok();
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return same_host(origin, headers, opts) || token_ok();
    }
    visitor.session_token.is_none() || token_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use vellum_app::Actor;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().method("POST").uri("/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn visitor(signed_in: bool) -> Visitor {
        Visitor {
            actor: Actor::Anonymous,
            csrf: if signed_in { "tok".into() } else { String::new() },
            session_token: signed_in.then(|| "s".into()),
            ..Visitor::anonymous()
        }
    }

    #[test]
    fn browsers_are_judged_by_fetch_metadata_then_origin() {
        let o = WebOptions::default();
        let v = visitor(true);
        assert!(allowed(&parts(&[("sec-fetch-site", "same-origin")]), &v, &o));
        assert!(!allowed(&parts(&[("sec-fetch-site", "cross-site")]), &v, &o));
        assert!(!allowed(&parts(&[("sec-fetch-site", "same-site")]), &v, &o));
        assert!(allowed(
            &parts(&[("origin", "http://w:3000"), ("host", "w:3000")]),
            &v,
            &o
        ));
        assert!(!allowed(
            &parts(&[("origin", "https://evil.example"), ("host", "w:3000")]),
            &v,
            &o
        ));
        assert!(!allowed(&parts(&[("origin", "null"), ("host", "w:3000")]), &v, &o));
        let public = WebOptions {
            public_url: Some("https://wiki.example.com/".into()),
            ..WebOptions::default()
        };
        assert!(allowed(
            &parts(&[("origin", "https://wiki.example.com"), ("host", "10.0.0.5:3000")]),
            &v,
            &public
        ));
    }

    #[test]
    fn scripts_need_the_token_when_signed_in() {
        let o = WebOptions::default();
        assert!(!allowed(&parts(&[]), &visitor(true), &o));
        assert!(allowed(&parts(&[("x-csrf-token", "tok")]), &visitor(true), &o));
        assert!(!allowed(&parts(&[("x-csrf-token", "nope")]), &visitor(true), &o));
        assert!(allowed(&parts(&[]), &visitor(false), &o));
        assert!(allowed(
            &parts(&[("sec-fetch-site", "cross-site"), ("x-csrf-token", "tok")]),
            &visitor(true),
            &o
        ));
    }
}
