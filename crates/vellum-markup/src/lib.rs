//! Everything Vellum does with page text: Markdown to safe HTML (with wiki
//! links, a table of contents and syntax highlighting), the internal links a
//! page makes, line diffs between revisions and three-way merges of
//! concurrent edits.
//!
//! Nothing here does I/O. Whether a linked page exists is asked through the
//! `exists` callback given to [`Renderer::render`], so callers decide how to
//! look pages up.
#![forbid(unsafe_code)]

mod anchors;
pub mod diff;
mod highlight;
mod links;
pub mod merge;
mod parse;
mod render;
mod sanitize;
mod text;

pub use highlight::highlight_css;
pub use links::extract_links;
pub use render::{mark_missing, split_leading_heading, Rendered, Renderer, TocEntry, FILE_PREFIX, RENDER_VERSION};
pub use sanitize::sanitize_html;
pub use text::{plain_text, PlainText};
