//! A page's words for the search index: the text a reader sees, headings
//! apart (they rank higher), without Markdown syntax, link targets or HTML
//! tags.

use comrak::arena_tree::NodeEdge;
use comrak::nodes::NodeValue;
use comrak::Arena;

use crate::parse::parse;

/// What a page says, as plain text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlainText {
    /// Each heading's text, in order.
    pub headings: Vec<String>,
    /// Everything else, one line per block.
    pub body: String,
}

/// The plain text of a page. A page too deep or too wide to parse gives
/// its source as the body (still findable by its words).
pub fn plain_text(markdown: &str) -> PlainText {
    let arena = Arena::new();
    let Some(root) = parse(&arena, markdown) else {
        return PlainText {
            headings: Vec::new(),
            body: markdown.to_owned(),
        };
    };
    let mut out = PlainText::default();
    let mut heading: Option<String> = None;
    for edge in root.traverse() {
        match edge {
            NodeEdge::Start(node) => {
                let value = &node.data.borrow().value;
                let text: Option<&str> = match value {
                    NodeValue::Heading(_) => {
                        heading = Some(String::new());
                        None
                    }
                    NodeValue::Text(t) => Some(t),
                    NodeValue::Code(c) => Some(&c.literal),
                    NodeValue::CodeBlock(c) => Some(&c.literal),
                    // Raw HTML: its text between tags.
                    NodeValue::HtmlBlock(h) => {
                        push_line(&mut out.body, &strip_tags(&h.literal));
                        None
                    }
                    NodeValue::HtmlInline(h) => {
                        let inner = strip_tags(h);
                        if !inner.trim().is_empty() {
                            push_words(&mut out.body, heading.as_mut(), &inner);
                        }
                        None
                    }
                    NodeValue::SoftBreak | NodeValue::LineBreak => Some(" "),
                    _ => None,
                };
                if let Some(t) = text {
                    push_words(&mut out.body, heading.as_mut(), t);
                }
            }
            NodeEdge::End(node) => match &node.data.borrow().value {
                NodeValue::Heading(_) => {
                    if let Some(h) = heading.take() {
                        let h = h.trim();
                        if !h.is_empty() {
                            out.headings.push(h.to_owned());
                        }
                    }
                }
                NodeValue::Paragraph
                | NodeValue::Item(_)
                | NodeValue::TableCell
                | NodeValue::CodeBlock(_)
                | NodeValue::BlockQuote => end_line(&mut out.body),
                _ => {}
            },
        }
    }
    out.body.truncate(out.body.trim_end().len());
    out
}

fn push_words(body: &mut String, heading: Option<&mut String>, text: &str) {
    match heading {
        Some(h) => h.push_str(text),
        None => body.push_str(text),
    }
}

fn push_line(body: &mut String, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        end_line(body);
        body.push_str(text);
        end_line(body);
    }
}

fn end_line(body: &mut String) {
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
}

/// Raw HTML's text: what lies between tags (entities left as written).
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_apart_and_no_syntax() {
        let t = plain_text(
            "# Rolling updates\n\nUse **kubectl** `rollout` with [[ops/deploy|the deploy guide]] and \
             [docs](https://example.com/x).\n\n## Roll back\n\n- one\n- two\n\n```sh\nkubectl rollout undo\n```\n\n<div>raw <b>html</b></div>\n",
        );
        assert_eq!(t.headings, vec!["Rolling updates", "Roll back"]);
        assert!(
            t.body.contains("Use kubectl rollout with the deploy guide and docs."),
            "{}",
            t.body
        );
        assert!(t.body.contains("kubectl rollout undo"));
        assert!(t.body.contains("raw  html"), "{}", t.body);
        assert!(!t.body.contains("https://"));
        assert!(!t.body.contains("**"));
        assert!(!t.body.contains("ops/deploy"));
    }

    #[test]
    fn a_page_too_deep_to_parse_keeps_its_words() {
        let deep = format!("{}deep words", ">".repeat(300));
        let t = plain_text(&deep);
        assert!(t.body.contains("deep words"));
    }
}
