//! The HTML sanitizer every rendered page goes through.
//!
//! Markdown may contain raw HTML, so the renderer's output is untrusted. One
//! ammonia policy, built once, keeps what rendered Markdown needs and drops
//! everything that could run script, load active content, restyle the page
//! or clobber the page chrome's element ids. To allow something new, add it
//! to [`build_policy`] and add a case to the XSS suite in `tests/markup/xss.rs`.
//!
//! Pages without raw HTML are cleaned once; anything else is cleaned until
//! the output stops changing, see [`sanitize_html`].
//!
//! After ammonia, links that leave the wiki get
//! `rel="noopener noreferrer nofollow"`. Ammonia can only put one `rel` on
//! every link, and wiki links must not carry `nofollow`, so this is done on
//! ammonia's serialized output, whose shape (double-quoted attributes, `<`
//! `>` `"` escaped inside them) makes it a simple scan.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Element ids and classes starting with this belong to the page chrome;
/// user content may not use them.
pub(crate) const RESERVED_ID_PREFIX: &str = "v-";

const EXTERNAL_LINK_REL: &str = r#" rel="noopener noreferrer nofollow""#;

/// Cleaning passes allowed before giving up on reaching a fixed point.
const MAX_PASSES: usize = 4;

/// Sanitizes untrusted HTML with the policy used for rendered pages.
/// Sanitizing its own output returns that output unchanged.
///
/// Misnested markup can parse into a tree whose serialization parses into a
/// different tree (nested headings out of foster-parented tables, say), so
/// one pass is not always a fixed point: this cleans until the output stops
/// changing. Every pass's output is safe; repeating only makes it stable.
pub fn sanitize_html(html: &str) -> String {
    let mut clean = clean_once(html);
    for _ in 1..MAX_PASSES {
        let again = clean_once(&clean);
        if again == clean {
            break;
        }
        clean = again;
    }
    clean
}

/// One pass, for HTML the renderer wrote entirely itself (no raw HTML from
/// the page), which parses back into the same tree.
pub(crate) fn sanitize_generated_html(html: &str) -> String {
    clean_once(html)
}

fn clean_once(html: &str) -> String {
    static POLICY: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    let cleaned = POLICY.get_or_init(build_policy).clean(html).to_string();
    add_rel_to_external_links(&cleaned)
}

fn build_policy() -> ammonia::Builder<'static> {
    let mut policy = ammonia::Builder::default();
    policy
        .add_tags(["input", "section"])
        // Image maps are links that Markdown never makes.
        .rm_tags(["area", "map"])
        // Dropped with their content, rather than unwrapped to text.
        .add_clean_content_tags([
            "iframe", "noscript", "template", "object", "embed", "svg", "math", "textarea", "title", "xmp", "noembed",
            "noframes", "select",
        ])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(None)
        .add_tag_attributes("a", ["id", "class", "aria-hidden", "aria-label"])
        .add_tag_attributes("input", ["type", "checked", "disabled", "class"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .set_tag_attribute_value("input", "disabled", "")
        .attribute_filter(filter_attribute);
    for tag in ["h1", "h2", "h3", "h4", "h5", "h6", "li", "sup", "section", "div"] {
        policy.add_tag_attributes(tag, ["id"]);
    }
    for tag in ["span", "code", "pre", "div", "section", "li", "ul", "ol", "sup"] {
        policy.add_tag_attributes(tag, ["class"]);
    }
    policy
}

/// Runs after ammonia's allow-lists and URL scheme check, on every attribute
/// that passed them.
fn filter_attribute<'v>(element: &str, attribute: &str, value: &'v str) -> Option<Cow<'v, str>> {
    match attribute {
        "class" => safe_classes(value),
        "id" => is_allowed_id(value).then_some(Cow::Borrowed(value)),
        "src" if element == "img" => match url_scheme(value) {
            Some(scheme) if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") => None,
            _ => Some(Cow::Borrowed(value)),
        },
        _ => Some(Cow::Borrowed(value)),
    }
}

/// Keeps the class tokens made of `[A-Za-z0-9_-]`, except the chrome's
/// own (`v-…`), so a page cannot dress its content up as the interface;
/// none left drops the attribute.
fn safe_classes(value: &str) -> Option<Cow<'_, str>> {
    let kept: Vec<&str> = value
        .split_ascii_whitespace()
        .filter(|token| {
            !has_reserved_prefix(token)
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    let joined = kept.join(" ");
    Some(if joined == value {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(joined)
    })
}

/// Ids must not start with the chrome's reserved prefix, and may hold ASCII
/// letters, digits, `-`, `_`, `.` and `%` (footnote ids are
/// percent-encoded), and any non-ASCII character but white space and
/// controls (heading anchors keep the heading's script: `überblick-日本`).
fn is_allowed_id(id: &str) -> bool {
    !id.is_empty()
        && !has_reserved_prefix(id)
        && id.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '%')
                || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
        })
}

fn has_reserved_prefix(name: &str) -> bool {
    name.get(..RESERVED_ID_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(RESERVED_ID_PREFIX))
}

/// The scheme of an absolute URL (`https` in `https://x`), `None` for a
/// relative one.
fn url_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut bytes = scheme.bytes();
    let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then_some(scheme)
}

/// Whether a link leaves the wiki: it has a scheme, or starts with two
/// slashes (browsers read `\` as `/` and skip leading blanks, so count those
/// too).
fn is_external(href: &str) -> bool {
    let href = href.trim_start_matches(|c: char| c <= ' ');
    if url_scheme(href).is_some() {
        return true;
    }
    let mut leading = href.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).take(2);
    matches!(leading.next(), Some('/' | '\\')) && matches!(leading.next(), Some('/' | '\\'))
}

/// Adds [`EXTERNAL_LINK_REL`] to every `<a>` start tag whose `href` is
/// external. Relies on ammonia's serialization: the first `>` after `<a `
/// closes the tag, and `"` only delimits attribute values.
fn add_rel_to_external_links(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(start) = rest.find("<a ") {
        let Some(tag_len) = rest[start..].find('>') else {
            break;
        };
        let end = start + tag_len;
        let tag = &rest[start..end];
        out.push_str(&rest[..end]);
        let href = tag
            .split_once(" href=\"")
            .and_then(|(_, value)| value.split_once('"'))
            .map(|(value, _)| value);
        if href.is_some_and(is_external) {
            out.push_str(EXTERNAL_LINK_REL);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_links_get_rel_internal_links_do_not() {
        let html = sanitize_html(
            r##"<a href="https://example.com/a?b=1&amp;c=2">x</a> <a href="/wiki/a">y</a> <a href="#top">z</a> <a href="mailto:a@b.c">m</a>"##,
        );
        assert_eq!(
            html,
            r##"<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">x</a> <a href="/wiki/a">y</a> <a href="#top">z</a> <a href="mailto:a@b.c" rel="noopener noreferrer nofollow">m</a>"##
        );
    }

    #[test]
    fn protocol_relative_and_backslash_links_count_as_external() {
        for href in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            " //evil.example",
        ] {
            assert!(is_external(href), "{href}");
        }
        for href in ["/wiki/a", "#x", "page", "?q=1", "./a:b"] {
            assert!(!is_external(href), "{href}");
        }
    }

    #[test]
    fn user_supplied_rel_is_replaced() {
        let html = sanitize_html(r#"<a href="https://e.example" rel="opener">x</a>"#);
        assert_eq!(
            html,
            r#"<a href="https://e.example" rel="noopener noreferrer nofollow">x</a>"#
        );
    }

    #[test]
    fn rel_scan_is_not_fooled_by_markup_inside_attributes() {
        let html = sanitize_html(
            r#"<a title="x > <a href=&quot;https://e.example&quot;>" href="/wiki/a">y</a><img alt="<a href=https://e.example>" src="/i.png">"#,
        );
        assert!(!html.contains("nofollow"), "{html}");
        let html = sanitize_html(r#"<a title="1 > 0" href="https://e.example">y</a>"#);
        assert_eq!(
            html,
            r#"<a title="1 &gt; 0" href="https://e.example" rel="noopener noreferrer nofollow">y</a>"#
        );
    }

    #[test]
    fn classes_keep_only_safe_tokens() {
        assert_eq!(safe_classes("a b-c d_e").as_deref(), Some("a b-c d_e"));
        assert_eq!(safe_classes(" a\tb ").as_deref(), Some("a b"));
        assert_eq!(safe_classes("ok c++ x\"y").as_deref(), Some("ok"));
        assert_eq!(safe_classes("c++"), None);
        assert_eq!(safe_classes("note v-content V-quiet").as_deref(), Some("note"));
        assert_eq!(safe_classes(""), None);
    }

    #[test]
    fn ids_reject_reserved_prefix_and_odd_characters() {
        for id in [
            "intro",
            "fn-1",
            "fnref-a-2",
            "überblick",
            "日本語",
            "a.b",
            "fn-%E6%97%A5",
        ] {
            assert!(is_allowed_id(id), "{id}");
        }
        for id in ["", "v-toc", "V-toc", "v-", "a b", "a\"b", "a<b", "x:y", "a/b"] {
            assert!(!is_allowed_id(id), "{id}");
        }
    }

    #[test]
    fn task_list_inputs_are_forced_to_disabled_checkboxes() {
        assert_eq!(
            sanitize_html(r#"<input type="text" name="q" value="x" checked="">"#),
            r#"<input type="checkbox" checked="" disabled="">"#
        );
    }

    #[test]
    fn images_accept_only_http_https_and_relative_sources() {
        assert_eq!(
            sanitize_html(r#"<img src="mailto:a@b.c" alt="a"><img src="/a.png" alt="b">"#),
            r#"<img alt="a"><img src="/a.png" alt="b">"#
        );
    }
}
