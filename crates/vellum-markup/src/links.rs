//! Which links in a page are internal, and how internal links are written.
//!
//! One rule serves both [`crate::Renderer::render`] (which also styles the
//! links) and [`extract_links`] (the cheap path used when a page is saved), so
//! the link graph stored on save always matches what readers see.

use comrak::nodes::NodeValue;
use comrak::Arena;
use vellum_core::{PagePath, PathError};

use crate::parse::parse;

/// Where pages are served; ordinary Markdown links under it are internal.
const WIKI_PREFIX: &str = "/wiki/";

/// The internal link target of every wiki link and `/wiki/` link in
/// `markdown`, sorted and without duplicates. Targets that are not valid
/// page paths are left out.
pub fn extract_links(markdown: &str) -> Vec<PagePath> {
    let arena = Arena::new();
    // A page too complex to render shows no links, so it has none.
    let Some(root) = parse(&arena, markdown) else {
        return Vec::new();
    };
    let targets = root
        .descendants()
        .filter_map(|node| link_target(&node.data.borrow().value))
        .filter_map(Result::ok)
        .collect();
    sorted_unique(targets)
}

/// The page a node links to, if it is an internal link. Wiki links are always
/// internal, so their target is returned even when it does not parse (the
/// renderer shows why); a Markdown link counts only when it points under
/// `/wiki/` at a valid path.
pub(crate) fn link_target(value: &NodeValue) -> Option<Result<PagePath, PathError>> {
    match value {
        NodeValue::WikiLink(link) => Some(PagePath::parse(&link.url)),
        NodeValue::Link(link) => markdown_link_target(&link.url).map(Ok),
        _ => None,
    }
}

pub(crate) fn sorted_unique<T: Ord>(mut paths: Vec<T>) -> Vec<T> {
    paths.sort_unstable();
    paths.dedup();
    paths
}

/// The address of a page: `/wiki/` followed by the path, percent-encoded.
pub(crate) fn wiki_href(path: &PagePath) -> String {
    let mut href = String::with_capacity(WIKI_PREFIX.len() + path.as_str().len());
    href.push_str(WIKI_PREFIX);
    percent_encode_path(path.as_str(), &mut href);
    href
}

fn markdown_link_target(url: &str) -> Option<PagePath> {
    let rest = url.strip_prefix(WIKI_PREFIX)?;
    let path = rest.find(['#', '?']).map_or(rest, |end| &rest[..end]);
    PagePath::parse(&percent_decode(path)?).ok()
}

/// Encodes every byte outside RFC 3986's unreserved set, keeping `/`.
fn percent_encode_path(path: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it
/// is. `None` when the decoded bytes are not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some([b'%', high, low]) => hex_value(*high).zip(hex_value(*low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(raw: &[&str]) -> Vec<PagePath> {
        raw.iter().map(|p| PagePath::parse(p).unwrap()).collect()
    }

    #[test]
    fn href_percent_encodes_non_ascii_but_keeps_slashes() {
        let path = PagePath::parse("Équipe/日本").unwrap();
        assert_eq!(wiki_href(&path), "/wiki/%C3%A9quipe/%E6%97%A5%E6%9C%AC");
        let plain = PagePath::parse("team/run_books-2.0~x").unwrap_err();
        assert!(matches!(plain, PathError::InvalidChar { ch: '~', .. }));
        let plain = PagePath::parse("team/run_books-2.0").unwrap();
        assert_eq!(wiki_href(&plain), "/wiki/team/run_books-2.0");
    }

    #[test]
    fn percent_decoding_round_trips_and_tolerates_stray_percent() {
        assert_eq!(percent_decode("%C3%A9quipe").as_deref(), Some("équipe"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%FF"), None);
    }

    #[test]
    fn extracts_wiki_and_markdown_links_sorted_and_deduplicated() {
        let md = "See [[Zeta]], [[alpha|the first]], [[Alpha]] and [b](/wiki/Beta%20Page#top).\n\
                  Also [q](/wiki/gamma?rev=2), [ext](https://example.com/wiki/nope), \
                  [hist](/wiki/alpha/-/history), [[bad?path]] and [rel](wiki/x).";
        assert_eq!(extract_links(md), paths(&["alpha", "beta-page", "gamma", "zeta"]));
    }

    #[test]
    fn links_in_code_are_not_links() {
        assert!(extract_links("`[[a]]`\n\n```\n[[b]]\n[c](/wiki/c)\n```\n").is_empty());
    }

    #[test]
    fn empty_document_has_no_links() {
        assert!(extract_links("").is_empty());
    }
}
