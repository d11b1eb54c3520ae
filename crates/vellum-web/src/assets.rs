//! Static assets compiled into the binary. Pages link them by fingerprinted
//! names (`style.3f2a9c1b0d4e.css`, the digest of the content), served as
//! immutable: a browser keeps each for a year and fetches a changed file
//! because its name changed. The plain names still answer, revalidated on
//! every use, for links kept from before.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::Digest;

const STYLE: &str = include_str!("../assets/style.css");
const SUGGEST: &str = include_str!("../assets/suggest.js");

/// The release, part of every page's validator.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

struct Asset {
    name: &'static str,
    /// `/assets/NAME.DIGEST.EXT`
    href: String,
    body: std::borrow::Cow<'static, str>,
    kind: &'static str,
    etag: String,
}

/// The addresses pages link assets by.
pub(crate) struct Hrefs {
    pub style: &'static str,
    pub highlight: &'static str,
    pub suggest: &'static str,
}

fn assets() -> &'static [Asset] {
    static ALL: OnceLock<Vec<Asset>> = OnceLock::new();
    ALL.get_or_init(|| {
        let css = "text/css; charset=utf-8";
        let js = "text/javascript; charset=utf-8";
        [
            ("style.css", STYLE.into(), css),
            ("highlight.css", vellum_markup::highlight_css().into(), css),
            ("suggest.js", SUGGEST.into(), js),
        ]
        .into_iter()
        .map(
            |(name, body, kind): (&'static str, std::borrow::Cow<'static, str>, _)| {
                let digest = hex::encode(&sha2::Sha256::digest(body.as_bytes())[..6]);
                let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
                Asset {
                    name,
                    href: format!("/assets/{stem}.{digest}.{ext}"),
                    body,
                    kind,
                    etag: format!("\"{digest}\""),
                }
            },
        )
        .collect()
    })
}

fn href(name: &str) -> &'static str {
    assets()
        .iter()
        .find(|a| a.name == name)
        .map_or("/assets/missing", |a| a.href.as_str())
}

pub(crate) fn hrefs() -> &'static Hrefs {
    static HREFS: OnceLock<Hrefs> = OnceLock::new();
    HREFS.get_or_init(|| Hrefs {
        style: href("style.css"),
        highlight: href("highlight.css"),
        suggest: href("suggest.js"),
    })
}

/// A digest of every asset's fingerprint: pages change when an asset does.
pub(crate) fn fingerprint() -> &'static str {
    static ALL: OnceLock<String> = OnceLock::new();
    ALL.get_or_init(|| assets().iter().map(|a| a.etag.as_str()).collect())
}

pub(crate) async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let by_href = assets()
        .iter()
        .find(|a| a.href.strip_prefix("/assets/") == Some(name.as_str()));
    let (asset, cache) = match by_href {
        Some(a) => (a, "public, max-age=31536000, immutable"),
        None => match assets().iter().find(|a| a.name == name) {
            Some(a) => (a, "public, no-cache"),
            None => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
        },
    };
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == asset.etag));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(asset.kind))], {
            let body: &'static str = asset.body.as_ref();
            body
        })
            .into_response()
    };
    res.headers_mut().insert(header::ETAG, etag);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprinted_names_carry_the_content_digest() {
        let h = hrefs();
        for (href, stem, ext) in [
            (h.style, "style", "css"),
            (h.highlight, "highlight", "css"),
            (h.suggest, "suggest", "js"),
        ] {
            let rest = href.strip_prefix(&format!("/assets/{stem}.")).unwrap();
            let (digest, e) = rest.split_once('.').unwrap();
            assert_eq!(e, ext);
            assert_eq!(digest.len(), 12);
            assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
        }
        assert_ne!(h.style, h.highlight);
    }
}
