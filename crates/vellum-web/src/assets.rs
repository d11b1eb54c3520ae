//! Static assets compiled into the binary, served with long cache lifetimes
//! (their URLs carry a version query so a new release is fetched anew).

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const STYLE: &str = include_str!("../assets/style.css");
const SUGGEST: &str = include_str!("../assets/suggest.js");

fn highlight() -> &'static str {
    static CSS: OnceLock<String> = OnceLock::new();
    CSS.get_or_init(vellum_markup::highlight_css)
}

/// Appended to asset URLs so browsers fetch new files after an upgrade.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static str, &str) = match name.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "highlight.css" => (highlight(), "text/css; charset=utf-8"),
        "suggest.js" => (SUGGEST, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
