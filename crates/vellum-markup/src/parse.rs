//! Markdown into comrak's syntax tree, with the guards that keep
//! pathological pages from taking the server down.
//!
//! Two costs grow badly with nesting depth, and a page is a few bytes per
//! level: comrak's footnote pass recurses once per level (deep enough, it
//! overflows the stack, which aborts the process), and the HTML parser
//! inside the sanitizer does work proportional to the depth for every
//! block element (so 20,000 nested `>` take seconds). Real pages nest a few
//! levels, so the guards below only ever reject pages built to hurt.

use std::sync::OnceLock;

use comrak::arena_tree::NodeEdge;
use comrak::nodes::AstNode;
use comrak::{Arena, Options};

/// Deeper documents are not rendered (see [`parse`]).
pub(crate) const MAX_NESTING: usize = 256;

/// Pages whose raw HTML holds more tags than this have it shown as text
/// instead: every raw tag can deepen the sanitizer's element stack.
pub(crate) const MAX_RAW_HTML_TAGS: usize = 4096;

/// Parses a page, or returns `None` when it nests deeper than
/// [`MAX_NESTING`]. It is parsed without footnotes first, which is
/// iterative and so safe at any depth; only a page that passes, and could
/// have footnotes at all, is parsed again with them.
pub(crate) fn parse<'a>(arena: &'a Arena<AstNode<'a>>, markdown: &str) -> Option<&'a AstNode<'a>> {
    let root = comrak::parse_document(arena, markdown, options_without_footnotes());
    if nesting_depth(root) > MAX_NESTING {
        return None;
    }
    if !markdown.contains("[^") {
        return Some(root);
    }
    Some(comrak::parse_document(arena, markdown, markdown_options()))
}

/// The comrak options for every page, built once.
pub(crate) fn markdown_options() -> &'static Options<'static> {
    static OPTIONS: OnceLock<Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = Options::default();
        options.extension.strikethrough = true;
        options.extension.table = true;
        options.extension.autolink = true;
        options.extension.tasklist = true;
        options.extension.footnotes = true;
        options.extension.wikilinks_title_after_pipe = true;
        // Raw HTML is let through here and judged by the sanitizer, which sees
        // all of the output anyway.
        options.render.unsafe_ = true;
        options.render.tasklist_classes = true;
        options
    })
}

fn options_without_footnotes() -> &'static Options<'static> {
    static OPTIONS: OnceLock<Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = markdown_options().clone();
        options.extension.footnotes = false;
        options
    })
}

fn nesting_depth<'a>(root: &'a AstNode<'a>) -> usize {
    let mut depth = 0_usize;
    let mut deepest = 0;
    for edge in root.traverse() {
        match edge {
            NodeEdge::Start(_) => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            NodeEdge::End(_) => depth = depth.saturating_sub(1),
        }
    }
    deepest
}

/// An upper bound on the number of tags in raw HTML: every `<` followed by
/// a letter.
pub(crate) fn count_tags(html: &str) -> usize {
    html.as_bytes()
        .windows(2)
        .filter(|pair| pair[0] == b'<' && pair[1].is_ascii_alphabetic())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of(markdown: &str) -> Option<usize> {
        let arena = Arena::new();
        parse(&arena, markdown).map(nesting_depth)
    }

    #[test]
    fn ordinary_nesting_parses() {
        // Document, quote, list, item, paragraph, emphasis, text.
        assert_eq!(depth_of("> - *a*"), Some(7));
        // The document and one node a `>`.
        assert_eq!(depth_of(&">".repeat(MAX_NESTING - 1)), Some(MAX_NESTING));
    }

    #[test]
    fn pathological_nesting_is_refused_even_with_footnotes() {
        let deep = format!(
            "{}x{} [^n]\n\n[^n]: note",
            "*a ".repeat(30_000),
            " b*".repeat(30_000)
        );
        // Run on a small stack, as request handlers do: the footnote pass
        // would overflow it.
        let refused = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || depth_of(&deep).is_none())
            .unwrap()
            .join()
            .unwrap();
        assert!(refused);
        assert_eq!(depth_of(&">".repeat(MAX_NESTING)), None);
    }

    #[test]
    fn counts_tags_not_comparisons() {
        assert_eq!(count_tags("<div><b>x</b> 1 < 2 <3</div>"), 2);
    }
}
