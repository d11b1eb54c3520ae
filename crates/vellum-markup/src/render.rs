//! Markdown to sanitized HTML: CommonMark with the GitHub extensions, wiki
//! links styled by whether their page exists, heading anchors with a table of
//! contents, and syntax-highlighted code blocks (up to a budget per page,
//! see `crate::highlight`).
//!
//! Rendering is comrak's, with two rewrites of its syntax tree before HTML is
//! written: wiki links become ordinary elements (so their markup is ours,
//! not comrak's), and every heading gets an anchor computed here (so the
//! table of contents and the ids in the page cannot disagree). The HTML then
//! goes through the sanitizer (`crate::sanitize`); nothing reaches a reader
//! without it.

use std::collections::HashSet;
use std::fmt;

use comrak::nodes::{AstNode, NodeHtmlBlock, NodeValue};
use comrak::plugins::syntect::{SyntectAdapter, SyntectAdapterBuilder};
use comrak::{Arena, Plugins};
use serde::Serialize;
use syntect::highlighting::ThemeSet;
use vellum_core::{PagePath, PathError};

use crate::anchors::UniqueAnchors;
use crate::highlight::BudgetedHighlighter;
use crate::links::{link_target, percent_decode, sorted_unique, wiki_href};
use crate::parse::{count_tags, markdown_options, parse, raw_html_too_costly};
use crate::sanitize::{sanitize_generated_html, sanitize_html};

/// Shown on links to pages that do not exist yet.
const MISSING_PAGE_TITLE: &str = "This page does not exist yet. Follow the link to create it.";

/// Changes whenever the HTML that [`Renderer::render`] produces changes, so
/// that HTML stored by callers can be recognised as stale and rendered anew.
/// Version 2: code beyond the highlighting budget is shown plain.
/// Version 3: `file:NAME` links and images point at the page's files.
pub const RENDER_VERSION: i64 = 3;

/// Restyles wiki links to pages that do not exist, in HTML rendered as if
/// every page existed (`render(md, &|_| true)`). The result is the HTML that
/// rendering with the real existence check would give, so callers can store
/// one rendering per revision and apply the current state of the wiki when
/// they serve it.
///
/// One pass over the HTML, whatever the number of links: it finds each
/// opening tag the renderer writes for a wiki link, `<a href="…"
/// class="wikilink">`, and looks its address up among the missing ones.
pub fn mark_missing(html: &str, missing: &[PagePath]) -> String {
    // The parts of `push_wiki_link_open(_, href, true)` around the address.
    const OPEN: &str = r#"<a href=""#;
    const CLOSE: &str = r#"" class="wikilink">"#;
    if missing.is_empty() {
        return html.to_owned();
    }
    let missing: HashSet<String> = missing.iter().map(|path| escape_html(&wiki_href(path))).collect();
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    while let Some(start) = rest.find(OPEN) {
        let (before, tag) = rest.split_at(start);
        out.push_str(before);
        let after_open = &tag[OPEN.len()..];
        // An address never contains `"` (it is percent-encoded), so the
        // first quote ends it.
        let marked = after_open.find('"').and_then(|end| {
            let href = &after_open[..end];
            let tail = after_open[end..].strip_prefix(CLOSE)?;
            missing.contains(href).then_some((href, tail))
        });
        match marked {
            Some((href, tail)) => {
                push_wiki_link_open(&mut out, href, false);
                rest = tail;
            }
            None => {
                out.push_str(OPEN);
                rest = after_open;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The page's opening `# Heading`, when its rendering begins with one: the
/// heading's text and the HTML after it. A page that starts with a heading
/// equal to its title shows the title once (the page chrome shows it), and
/// a new page without a title takes it from this heading.
pub fn split_leading_heading<'a>(html: &'a str, toc: &'a [TocEntry]) -> Option<(&'a str, &'a str)> {
    let first = toc.first().filter(|e| e.level == 1)?;
    if !html.starts_with("<h1>") {
        return None;
    }
    // The heading's own text is escaped, so its first `</h1>` ends it.
    let end = html.find("</h1>")? + "</h1>".len();
    let rest = html[end..].strip_prefix('\n').unwrap_or(&html[end..]);
    Some((first.text.as_str(), rest))
}

/// Shown instead of a page too deep or too wide to render.
const TOO_COMPLEX_NOTICE: &str = "This page is nested too deeply or has a table too wide to \
     display, so its source is shown instead.";

/// Renders Markdown pages. Building one loads the syntax definitions, which
/// is slow, so build it once at startup and share it.
pub struct Renderer {
    pub(crate) highlighter: SyntectAdapter,
    /// Highlighted code blocks by language and code (see
    /// [`crate::highlight::CodeCache`]).
    pub(crate) code_cache: crate::highlight::CodeCache,
}

/// A rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitized HTML, safe to embed in a page.
    pub html: String,
    /// Every heading, in document order.
    pub toc: Vec<TocEntry>,
    /// The pages this one links to, sorted and without duplicates.
    pub links: Vec<PagePath>,
    /// The page's own files it shows or links to (`file:NAME`), sorted and
    /// without duplicates.
    pub file_names: Vec<String>,
    /// Other files it shows or links to by address (`/files/ID/…`), sorted
    /// and without duplicates.
    pub file_ids: Vec<i64>,
}

/// One heading of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TocEntry {
    /// 1 to 6.
    pub level: u8,
    /// The heading's plain text (not HTML-escaped).
    pub text: String,
    /// The heading's id in the rendered HTML, without `#`.
    pub anchor: String,
}

impl Renderer {
    pub fn new() -> Self {
        let highlighter = SyntectAdapterBuilder::new()
            .css()
            // Class-based highlighting never reads a theme; skip loading them.
            .theme_set(ThemeSet::new())
            .build();
        Self {
            highlighter,
            code_cache: crate::highlight::CodeCache::new(),
        }
    }

    /// Markdown to sanitized HTML. `exists` says whether a page exists at a
    /// path; it is asked once per wiki link, to style links to missing pages.
    pub fn render(&self, markdown: &str, exists: &dyn Fn(&PagePath) -> bool) -> Rendered {
        let arena = Arena::new();
        let Some(root) = parse(&arena, markdown) else {
            return too_complex(markdown);
        };

        let mut rewrite = TreeRewrite {
            arena: &arena,
            exists,
            anchors: UniqueAnchors::default(),
            toc: Vec::new(),
            links: Vec::new(),
            file_names: Vec::new(),
            file_ids: Vec::new(),
            raw_html: Vec::new(),
            raw_html_tags: 0,
        };
        // Collected first: the rewrite inserts and detaches nodes, which would
        // upset a traversal in progress.
        let nodes: Vec<_> = root.descendants().collect();
        let node_count = nodes.len();
        for node in nodes {
            rewrite.visit(node);
        }
        if raw_html_too_costly(rewrite.raw_html_tags, node_count) {
            rewrite.show_raw_html_as_text();
        }

        let highlighter = BudgetedHighlighter::new(&self.highlighter, &self.code_cache);
        let mut plugins = Plugins::default();
        plugins.render.codefence_syntax_highlighter = Some(&highlighter);
        let mut html = Vec::with_capacity(markdown.len() * 2);
        let written = comrak::format_html_with_plugins(root, markdown_options(), &mut html, &plugins);
        // Writing into memory cannot fail, and the highlighter falls back to
        // plain text on its own errors.
        debug_assert!(written.is_ok(), "rendering into memory failed: {written:?}");
        let html = String::from_utf8(html).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned());

        let html = if !rewrite.raw_html.is_empty() {
            sanitize_html(&html)
        } else {
            sanitize_generated_html(&html)
        };
        Rendered {
            html,
            toc: rewrite.toc,
            links: sorted_unique(rewrite.links),
            file_names: sorted_unique(rewrite.file_names),
            file_ids: sorted_unique(rewrite.file_ids),
        }
    }
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The syntax set is large and says nothing useful.
        f.debug_struct("Renderer").finish_non_exhaustive()
    }
}

/// Where `file:NAME` links and images point in rendered HTML: a path no
/// page or route has, which the server replaces, when it serves a page,
/// with the address of that page's file (so the stored rendering holds no
/// page id and survives moves).
pub const FILE_PREFIX: &str = "/-/file/";

/// The file id in a file's address (`/files/ID/VERSION/NAME`).
fn file_address_id(url: &str) -> Option<i64> {
    let rest = url.strip_prefix("/files/")?;
    let id = rest.split(['/', '?', '#']).next()?;
    id.parse().ok().filter(|n| *n > 0)
}

/// The per-page state of the syntax tree rewrite.
struct TreeRewrite<'a, 'e> {
    arena: &'a Arena<AstNode<'a>>,
    exists: &'e dyn Fn(&PagePath) -> bool,
    anchors: UniqueAnchors,
    toc: Vec<TocEntry>,
    links: Vec<PagePath>,
    file_names: Vec<String>,
    file_ids: Vec<i64>,
    /// The raw HTML nodes. Their output may be misnested, so it needs the
    /// sanitizer's full treatment.
    raw_html: Vec<&'a AstNode<'a>>,
    raw_html_tags: usize,
}

impl<'a> TreeRewrite<'a, '_> {
    fn visit(&mut self, node: &'a AstNode<'a>) {
        let (heading_level, is_wiki_link, target) = {
            let value = &node.data.borrow().value;
            let level = match value {
                NodeValue::Heading(heading) => Some(heading.level),
                NodeValue::HtmlBlock(NodeHtmlBlock { literal, .. }) | NodeValue::HtmlInline(literal) => {
                    self.raw_html_tags += count_tags(literal);
                    self.raw_html.push(node);
                    None
                }
                _ => None,
            };
            (level, matches!(value, NodeValue::WikiLink(_)), link_target(value))
        };
        if let Some(level) = heading_level {
            self.add_heading_anchor(node, level);
        }
        // `file:NAME` (an image or a link): the page's attachment of that
        // name, by a path the server resolves against the page it serves
        // (see FILE_PREFIX).
        if let NodeValue::Link(link) | NodeValue::Image(link) = &mut node.data.borrow_mut().value {
            if let Some(name) = link
                .url
                .strip_prefix("file:")
                .filter(|n| !n.is_empty() && !n.contains('/'))
            {
                self.file_names
                    .push(percent_decode(name).unwrap_or_else(|| name.to_owned()));
                link.url = format!("{FILE_PREFIX}{name}");
            } else if let Some(id) = file_address_id(&link.url) {
                self.file_ids.push(id);
            }
        }
        match target {
            Some(target) if is_wiki_link => self.replace_wiki_link(node, target),
            Some(Ok(path)) => self.links.push(path),
            _ => {}
        }
    }

    /// Puts `<a href="#x" class="anchor" id="x"></a>` at the start of the
    /// heading, as comrak's `header_ids` would, and records it in the table of
    /// contents. The anchors are the ones comrak would make (a repeated
    /// heading gets `-1`, `-2`, ...), see [`UniqueAnchors`]. The heading's
    /// depth is bounded by the parser's guard, so collecting its text
    /// recursively is safe.
    fn add_heading_anchor(&mut self, heading: &'a AstNode<'a>, level: u8) {
        let mut text = Vec::new();
        comrak::html::collect_text(heading, &mut text);
        let text = String::from_utf8(text).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned());
        let anchor = self.anchors.anchor_for(&text);
        let escaped = escape_html(&anchor);
        heading.prepend(self.raw(format!(
            r##"<a href="#{escaped}" aria-hidden="true" class="anchor" id="{escaped}"></a>"##
        )));
        self.toc.push(TocEntry { level, text, anchor });
    }

    /// Replaces a wiki link node by our own opening and closing tags around
    /// its label, which comrak still renders (and escapes).
    fn replace_wiki_link(&mut self, link: &'a AstNode<'a>, target: Result<PagePath, PathError>) {
        let (open, close) = match target {
            Ok(path) => {
                let mut open = String::new();
                push_wiki_link_open(&mut open, &escape_html(&wiki_href(&path)), (self.exists)(&path));
                self.links.push(path);
                (open, "</a>")
            }
            Err(err) => (
                format!(
                    r#"<span class="wikilink invalid" title="{}">"#,
                    escape_html(&err.to_string())
                ),
                "</span>",
            ),
        };
        link.insert_before(self.raw(open));
        while let Some(child) = link.first_child() {
            link.insert_before(child);
        }
        link.insert_before(self.raw(close.to_owned()));
        link.detach();
    }

    /// Turns the page's raw HTML into text, escaped on output.
    fn show_raw_html_as_text(&self) {
        for node in &self.raw_html {
            let value = &mut node.data.borrow_mut().value;
            let literal = match value {
                NodeValue::HtmlBlock(block) => std::mem::take(&mut block.literal),
                NodeValue::HtmlInline(literal) => std::mem::take(literal),
                _ => continue,
            };
            *value = NodeValue::Text(literal);
        }
    }

    /// A node written out verbatim. `Raw` rather than `HtmlInline`: inside an
    /// image's alt text comrak drops raw nodes but would print inline HTML as
    /// text.
    fn raw(&self, html: String) -> &'a AstNode<'a> {
        self.arena.alloc(AstNode::from(NodeValue::Raw(html)))
    }
}

/// The opening tag of a wiki link to `href` (already escaped), styled by
/// whether its page exists. [`mark_missing`] relies on its exact form.
fn push_wiki_link_open(out: &mut String, href: &str, exists: bool) {
    out.push_str(r#"<a href=""#);
    out.push_str(href);
    if exists {
        out.push_str(r#"" class="wikilink">"#);
    } else {
        out.push_str(r#"" class="wikilink missing" title=""#);
        out.push_str(MISSING_PAGE_TITLE);
        out.push_str(r#"">"#);
    }
}

/// What a page too deep or too wide to render shows: its source.
fn too_complex(markdown: &str) -> Rendered {
    let html = format!(
        "<p>{TOO_COMPLEX_NOTICE}</p>\n<pre><code>{}</code></pre>\n",
        escape_html(markdown)
    );
    Rendered {
        html: sanitize_generated_html(&html),
        toc: Vec::new(),
        links: Vec::new(),
        file_names: Vec::new(),
        file_ids: Vec::new(),
    }
}

/// Escapes text for use in HTML content and in quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
