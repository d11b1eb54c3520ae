//! Integration tests for the markup crate: the XSS suite, property tests
//! (of rendering and of merging) and rendering snapshots, in one test
//! binary.

mod check;
mod merge;
mod props;
mod snapshots;
mod xss;

use std::sync::OnceLock;

use vellum_markup::Renderer;

/// Building a renderer loads syntax definitions; share one across tests.
pub fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

/// Renders with every path starting with `existing` counting as a page.
pub fn render_html(markdown: &str) -> String {
    renderer()
        .render(markdown, &|path| path.as_str().starts_with("existing"))
        .html
}
