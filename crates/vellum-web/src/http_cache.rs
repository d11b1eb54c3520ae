//! HTTP caching: validators, conditional requests, and compressed bodies
//! made once.
//!
//! - Page views carry an `ETag` computed from what the service says the
//!   view shows ([`vellum_app::PageView::version`]) and what the chrome
//!   adds (who is signed in, the unread count), before anything is
//!   rendered; a matching `If-None-Match` is answered `304` without
//!   rendering and, when the page is in memory, without the database.
//! - API reads carry an `ETag` that is a digest of the JSON body
//!   ([`api_validators`]); a match is answered `304` without the body.
//! - A page view's gzip body is kept by its validator, so the same bytes
//!   are not compressed again for every reader who sees the same thing
//!   (every anonymous reader of a public page, say).
//!
//! A representation sent gzip-encoded carries the validator with `-gzip`
//! appended (a strong validator names one representation, RFC 9110
//! 8.8.3.3); conditional requests compare without it.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::Digest;

/// gzip bodies of page views by validator.
pub(crate) struct Compressed(moka::sync::Cache<u64, Bytes>);

impl Compressed {
    pub(crate) fn new(max_bytes: u64) -> Compressed {
        Compressed(
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, b: &Bytes| u32::try_from(b.len() + 64).unwrap_or(u32::MAX))
                .time_to_idle(std::time::Duration::from_secs(600))
                .build(),
        )
    }
}

/// The entity tag for a digest.
fn tag(digest: u64) -> String {
    format!("\"{digest:016x}\"")
}

/// Whether `If-None-Match` names the representation whose tag is `etag`
/// (weak comparison, as RFC 9110 13.1.2 asks for `If-None-Match`).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| {
        let t = t.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        let t = t.trim_matches('"');
        t.strip_suffix("-gzip").unwrap_or(t).to_owned()
    };
    let ours = bare(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || bare(t) == ours)
}

/// Whether the client takes gzip (`Accept-Encoding`, with `q=0` meaning
/// no).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let q_zero = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
}

fn not_modified(etag: &str) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

fn gzip(body: &[u8]) -> Option<Bytes> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::default());
    enc.write_all(body).ok()?;
    enc.finish().ok().map(Bytes::from)
}

/// A page view: `304` when the client has it, else the HTML `render`
/// makes, gzip-encoded from the kept copy when the client takes gzip.
/// `digest` must change whenever the rendered bytes would.
pub(crate) async fn page_response(
    compressed: &Compressed,
    req: &HeaderMap,
    digest: u64,
    render: impl FnOnce() -> Response,
) -> Response {
    let etag = tag(digest);
    if none_match(req, &etag) {
        return not_modified(&etag);
    }
    let gzip_ok = accepts_gzip(req);
    if gzip_ok {
        if let Some(body) = compressed.0.get(&digest) {
            return gzip_response(&etag, body);
        }
    }
    let res = render();
    if res.status() != StatusCode::OK {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    if !gzip_ok {
        if let Ok(v) = HeaderValue::from_str(&etag) {
            parts.headers.insert(header::ETAG, v);
        }
        parts
            .headers
            .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        return Response::from_parts(parts, body);
    }
    // The body of a rendered template is already in memory.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match gzip(&bytes) {
        Some(z) => {
            compressed.0.insert(digest, z.clone());
            gzip_response(&etag, z)
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

fn gzip_response(etag: &str, body: Bytes) -> Response {
    let mut res = Response::new(Body::from(body));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let gz = format!("{}-gzip\"", etag.trim_end_matches('"'));
    if let Ok(v) = HeaderValue::from_str(&gz) {
        h.insert(header::ETAG, v);
    }
    res
}

/// The largest API body given a validator (bigger ones are sent without).
const MAX_TAGGED_BODY: usize = 4 * 1024 * 1024;

/// Middleware for the API: successful reads get an `ETag` (a digest of
/// the body) and a matching `If-None-Match` gets `304`.
pub(crate) async fn api_validators(req: Request, next: Next) -> Response {
    let is_read = matches!(*req.method(), Method::GET | Method::HEAD);
    // Only the validators the client sent are needed after the handler.
    let mut conditions = HeaderMap::new();
    if is_read {
        for v in req.headers().get_all(header::IF_NONE_MATCH) {
            conditions.append(header::IF_NONE_MATCH, v.clone());
        }
    }
    let res = next.run(req).await;
    if !is_read || res.status() != StatusCode::OK || res.headers().contains_key(header::ETAG) {
        return res;
    }
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json {
        return res;
    }
    let small = {
        use axum::body::HttpBody;
        res.body()
            .size_hint()
            .upper()
            .is_some_and(|n| n <= MAX_TAGGED_BODY as u64)
    };
    if !small {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_TAGGED_BODY).await {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let digest = sha2::Sha256::digest(&bytes);
    let etag = format!("\"{}\"", hex::encode(&digest[..12]));
    if none_match(&conditions, &etag) {
        let mut nm = not_modified(&etag);
        if let Some(cc) = parts.headers.get(header::CACHE_CONTROL) {
            nm.headers_mut().insert(header::CACHE_CONTROL, cc.clone());
        }
        return nm;
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, v);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Outermost: a strong validator names one representation, so a body
/// the compression layer encoded gets the encoding in its tag.
pub(crate) async fn tag_encodings(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let encoding = res
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let (Some(enc), Some(etag)) = (encoding, res.headers().get(header::ETAG).and_then(|v| v.to_str().ok())) {
        let suffix = format!("-{enc}\"");
        if !etag.starts_with("W/") && !etag.ends_with(&suffix) {
            let tagged = format!("{}{suffix}", etag.trim_end_matches('"'));
            if let Ok(v) = HeaderValue::from_str(&tagged) {
                res.headers_mut().insert(header::ETAG, v);
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn if_none_match_compares_weakly_and_ignores_our_encoding_suffix() {
        let etag = tag(0xabc);
        assert!(none_match(&headers(&[("if-none-match", &etag)]), &etag));
        assert!(none_match(
            &headers(&[("if-none-match", "W/\"0000000000000abc\"")]),
            &etag
        ));
        assert!(none_match(
            &headers(&[("if-none-match", "\"0000000000000abc-gzip\"")]),
            &etag
        ));
        assert!(none_match(
            &headers(&[("if-none-match", "\"x\", \"0000000000000abc\"")]),
            &etag
        ));
        assert!(none_match(&headers(&[("if-none-match", "*")]), &etag));
        assert!(!none_match(
            &headers(&[("if-none-match", "\"0000000000000abd\"")]),
            &etag
        ));
        assert!(!none_match(&headers(&[]), &etag));
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip, deflate, br")])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "br;q=1.0, gzip;q=0.5")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&headers(&[])));
    }
}
