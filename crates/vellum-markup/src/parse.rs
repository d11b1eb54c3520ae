//! Markdown into comrak's syntax tree, with the guards that keep
//! pathological pages from taking the server down.
//!
//! Some of comrak's and the sanitizer's costs grow badly with input built to
//! hurt, a few bytes a step:
//!
//! * comrak's footnote pass recurses once per nesting level, and its email
//!   autolinker once per address in a paragraph (copying the rest of the
//!   paragraph each time): deep enough, the stack overflows, which aborts
//!   the whole process;
//! * comrak finds each table cell's column by walking its row, so a row of
//!   n cells costs n²;
//! * the HTML parser inside the sanitizer does work proportional to the
//!   element depth for every block element (20,000 nested `>` take seconds).
//!
//! Real pages stay far below every limit here, so the guards only ever
//! change pages built to hurt: they lose email autolinks, show raw HTML as
//! text (see [`raw_html_too_costly`]) or, when too deep or too wide to render
//! at all, show their source.

use std::sync::OnceLock;

use comrak::arena_tree::NodeEdge;
use comrak::nodes::{AstNode, NodeValue};
use comrak::{Arena, Options};

/// Deeper documents are not rendered.
pub(crate) const MAX_NESTING: usize = 256;

/// Documents with a wider table are not rendered.
pub(crate) const MAX_TABLE_COLUMNS: usize = 256;

/// Past this many `@`, autolinking (of emails and so of bare URLs, which
/// share comrak's switch) is turned off for the page.
pub(crate) const MAX_AUTOLINK_AT_SIGNS: usize = 500;

/// See [`raw_html_too_costly`]; about 0.2 s of sanitizing at worst.
const MAX_RAW_HTML_WORK: usize = 50_000_000;

/// Parses a page, or returns `None` when it is too deep or too wide to
/// render. It is parsed without footnotes first, which is iterative and so
/// safe at any depth; only a page that passes, and could have footnotes at
/// all, is parsed again with them.
pub(crate) fn parse<'a>(arena: &'a Arena<AstNode<'a>>, markdown: &str) -> Option<&'a AstNode<'a>> {
    let autolink = markdown.bytes().filter(|&b| b == b'@').count() <= MAX_AUTOLINK_AT_SIGNS;
    let root = comrak::parse_document(arena, markdown, options(false, autolink));
    if too_complex(root) {
        return None;
    }
    if !markdown.contains("[^") {
        return Some(root);
    }
    Some(comrak::parse_document(arena, markdown, options(true, autolink)))
}

/// The comrak options for rendering every page.
pub(crate) fn markdown_options() -> &'static Options<'static> {
    options(true, true)
}

/// The parse options for each combination of the two switches the guards
/// flip, each built once.
fn options(footnotes: bool, autolink: bool) -> &'static Options<'static> {
    static OPTIONS: [OnceLock<Options<'static>>; 4] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = usize::from(footnotes) * 2 + usize::from(autolink);
    OPTIONS[slot].get_or_init(|| {
        let mut options = Options::default();
        options.extension.strikethrough = true;
        options.extension.table = true;
        options.extension.autolink = autolink;
        options.extension.tasklist = true;
        options.extension.footnotes = footnotes;
        options.extension.wikilinks_title_after_pipe = true;
        // Raw HTML is let through here and judged by the sanitizer, which sees
        // all of the output anyway.
        options.render.unsafe_ = true;
        options.render.tasklist_classes = true;
        options
    })
}

fn too_complex<'a>(root: &'a AstNode<'a>) -> bool {
    let mut depth = 0_usize;
    for edge in root.traverse() {
        match edge {
            NodeEdge::Start(node) => {
                depth += 1;
                let too_wide = matches!(
                    &node.data.borrow().value,
                    NodeValue::Table(table) if table.num_columns > MAX_TABLE_COLUMNS
                );
                if depth > MAX_NESTING || too_wide {
                    return true;
                }
            }
            NodeEdge::End(_) => depth = depth.saturating_sub(1),
        }
    }
    false
}

/// Whether a page's raw HTML should be shown as text rather than parsed.
/// Each raw tag can deepen the sanitizer's element stack by one (unclosed
/// `<div>`s), and each element after it may walk that stack, so the cost is
/// bounded by tags × (tags + other nodes). Pages with a big raw HTML table
/// stay well below the limit.
pub(crate) fn raw_html_too_costly(raw_html_tags: usize, nodes: usize) -> bool {
    raw_html_tags.saturating_mul(raw_html_tags.saturating_add(nodes)) > MAX_RAW_HTML_WORK
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

    fn parses(markdown: &str) -> bool {
        let arena = Arena::new();
        parse(&arena, markdown).is_some()
    }

    #[test]
    fn nesting_up_to_the_limit_parses() {
        // The document and one block quote per `>`.
        assert!(parses(&">".repeat(MAX_NESTING - 1)));
        assert!(!parses(&">".repeat(MAX_NESTING)));
    }

    #[test]
    fn pathological_nesting_is_refused_even_with_footnotes() {
        let deep = format!("{}x{} [^n]\n\n[^n]: note", "*a ".repeat(30_000), " b*".repeat(30_000));
        // Run on a small stack, as request handlers do: the footnote pass
        // would overflow it.
        let refused = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || !parses(&deep))
            .unwrap()
            .join()
            .unwrap();
        assert!(refused);
    }

    #[test]
    fn tables_up_to_the_column_limit_parse() {
        let table = |columns: usize| format!("|{}\n|{}\n", "a|".repeat(columns), "-|".repeat(columns));
        assert!(parses(&table(MAX_TABLE_COLUMNS)));
        assert!(!parses(&table(MAX_TABLE_COLUMNS + 1)));
    }

    #[test]
    fn many_emails_turn_autolinking_off_instead_of_overflowing() {
        let emails = "a@b.cd ".repeat(50_000);
        let arena = Arena::new();
        let root = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let arena = Arena::new();
                parse(&arena, &emails).is_some_and(|root| {
                    !root
                        .descendants()
                        .any(|n| matches!(n.data.borrow().value, NodeValue::Link(_)))
                })
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(root);
        let few = parse(&arena, "mail a@b.cd").unwrap();
        assert!(few
            .descendants()
            .any(|n| matches!(n.data.borrow().value, NodeValue::Link(_))));
    }

    #[test]
    fn raw_html_budget_allows_big_tables_but_not_deep_stacks_under_many_blocks() {
        // A 500-row HTML table on a page of 2,000 other nodes.
        assert!(!raw_html_too_costly(500 * 6, 2_000));
        assert!(raw_html_too_costly(4_000, 50_000));
        assert!(raw_html_too_costly(10_000, 0));
    }

    #[test]
    fn counts_tags_not_comparisons() {
        assert_eq!(count_tags("<div><b>x</b> 1 < 2 <3</div>"), 2);
    }
}
