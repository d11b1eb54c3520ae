//! Addresses: how paths become URLs and how a redirect target is checked.
//! Every `Location` header is built from percent-encoded parts here, so no
//! user input can put a control character (or a second header) into one.

use axum::http::HeaderValue;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use vellum_core::{FolderPath, PagePath};

/// Characters kept as they are in a path URL (the rest is percent-encoded).
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const QUERY_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub(crate) fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_KEEP).to_string()
}

pub(crate) fn encode_query(value: &str) -> String {
    utf8_percent_encode(value, QUERY_KEEP).to_string()
}

pub(crate) fn wiki_href(path: &PagePath) -> String {
    format!("/wiki/{}", encode_path(path.as_str()))
}

/// The address of a page's sub-resource, e.g. `/wiki/a/b/-/history`.
pub(crate) fn wiki_sub_href(path: &PagePath, sub: &str) -> String {
    format!("/wiki/{}/-/{sub}", encode_path(path.as_str()))
}

pub(crate) fn folder_href(path: &FolderPath) -> String {
    if path.is_root() {
        "/folders".to_owned()
    } else {
        format!("/folders/{}", encode_path(path.as_str()))
    }
}

pub(crate) fn api_page_href(path: &PagePath) -> String {
    format!("/api/v1/pages/{}", encode_path(path.as_str()))
}

/// A header value for a URL this module built (always visible ASCII).
pub(crate) fn location(url: &str) -> HeaderValue {
    HeaderValue::from_str(&utf8_percent_encode(url, CONTROLS).to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("/"))
}

/// Where to go after signing in: only a path on this site. `next` is
/// parsed as a URL relative to this site; anything that resolves to another
/// origin, or is not a plain absolute path, gives `/`. The result is
/// re-encoded, so it cannot carry control characters or white space (which
/// browsers strip, turning `/\t/evil` into `//evil`).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    const BASE: &str = "http://vellum.invalid";
    let Some(next) = next else {
        return "/".into();
    };
    if !next.starts_with('/') || next.starts_with("//") || next.chars().any(|c| c.is_control() || c == '\\') {
        return "/".into();
    }
    let Ok(base) = url::Url::parse(BASE) else {
        return "/".into();
    };
    match base.join(next) {
        Ok(u) if u.origin() == base.origin() && !u.path().starts_with("//") => {
            let mut out = u.path().to_owned();
            if let Some(q) = u.query() {
                out.push('?');
                out.push_str(q);
            }
            out
        }
        _ => "/".into(),
    }
}

/// `303 See Other` to a URL built here (axum's `Redirect` panics on a
/// value that is not a valid header; this cannot).
pub(crate) fn see_other(url: &str) -> axum::response::Response {
    redirect(axum::http::StatusCode::SEE_OTHER, url)
}

/// `308 Permanent Redirect`, for non-canonical spellings of an address.
pub(crate) fn permanent(url: &str) -> axum::response::Response {
    redirect(axum::http::StatusCode::PERMANENT_REDIRECT, url)
}

fn redirect(status: axum::http::StatusCode, url: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, [(axum::http::header::LOCATION, location(url))]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_for_urls() {
        assert_eq!(encode_path("a/b-c_d.e"), "a/b-c_d.e");
        assert_eq!(encode_path("équipe/日本"), "%C3%A9quipe/%E6%97%A5%E6%9C%AC");
        assert_eq!(encode_query("/wiki/a?x=1&y"), "%2Fwiki%2Fa%3Fx%3D1%26y");
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/wiki/a?x=1")), "/wiki/a?x=1");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil",
            "/\n/x",
            "/\r/x",
            "/\u{1}x",
            "/\u{7f}x",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil",
        ] {
            let got = safe_next(Some(bad));
            assert!(
                got == "/" || (got.starts_with('/') && !got.starts_with("//") && !got.contains('\t')),
                "{bad:?} gave {got:?}"
            );
            assert!(location(&got).to_str().is_ok());
        }
        assert_eq!(safe_next(Some("/%09/evil")), "/%09/evil");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn locations_never_carry_control_characters() {
        assert_eq!(location("/a\nb").to_str().unwrap(), "/a%0Ab");
    }
}
