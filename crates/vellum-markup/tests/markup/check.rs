//! The "can this HTML run script?" check shared by the XSS suite and the
//! property tests.
//!
//! It reads sanitized output, whose serialization is regular: every raw `<`
//! opens a tag, attribute values are double-quoted with `"` `<` `>` `&`
//! escaped. Output that breaks that shape fails the check too.

/// Elements rendered pages may contain: ammonia's defaults without image
/// maps, plus task-list checkboxes and the footnotes section.
const ALLOWED_TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "li",
    "mark",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "rp",
    "rt",
    "rtc",
    "ruby",
    "s",
    "samp",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

/// Substrings that must not appear anywhere, whatever the case.
const FORBIDDEN_MARKUP: &[&str] = &[
    "<script",
    "<iframe",
    "<object",
    "<embed",
    "<form",
    "<base",
    "<meta",
    "<style",
    "<svg",
    "<math",
    "<link",
    "<template",
    "<noscript",
    "<frame",
    "<applet",
    "<textarea",
    "<button",
    "<select",
    "<title",
    "<body",
    "<video",
    "<audio",
    "<source",
];

/// Attributes that can run script, load active content or restyle the page.
const FORBIDDEN_ATTRIBUTES: &[&str] = &[
    "style",
    "srcdoc",
    "formaction",
    "action",
    "background",
    "srcset",
    "xlink:href",
    "name",
    "content",
    "http-equiv",
    "target",
    "rel",
];

pub struct Tag {
    pub name: String,
    pub attributes: Vec<(String, String)>,
}

/// `Ok` when `html` has no element or attribute that can run script.
pub fn script_free(html: &str) -> Result<(), String> {
    let lower = html.to_ascii_lowercase();
    if let Some(bad) = FORBIDDEN_MARKUP.iter().find(|bad| lower.contains(**bad)) {
        return Err(format!("contains {bad}: {html}"));
    }
    for tag in parse_tags(html)? {
        if !ALLOWED_TAGS.contains(&tag.name.as_str()) {
            return Err(format!("element <{}> is not allowed: {html}", tag.name));
        }
        for (attribute, value) in &tag.attributes {
            check_attribute(&tag, attribute, value).map_err(|why| format!("{why}: {html}"))?;
        }
        if tag.name == "input" {
            let has = |name: &str, value: &str| tag.attributes.iter().any(|(n, v)| n == name && v == value);
            if !has("type", "checkbox") || !has("disabled", "") {
                return Err(format!("input that is not a disabled checkbox: {html}"));
            }
        }
    }
    Ok(())
}

fn check_attribute(tag: &Tag, attribute: &str, value: &str) -> Result<(), String> {
    let attribute_lower = attribute.to_ascii_lowercase();
    if attribute_lower.starts_with("on") {
        return Err(format!("event handler {attribute}"));
    }
    if FORBIDDEN_ATTRIBUTES.contains(&attribute_lower.as_str()) {
        // `rel` is allowed only as the sanitizer writes it on external links.
        let ours = attribute_lower == "rel" && tag.name == "a" && value == "noopener noreferrer nofollow";
        if !ours {
            return Err(format!("attribute {attribute}={value:?} on <{}>", tag.name));
        }
    }
    if attribute_lower == "id" && value.to_ascii_lowercase().starts_with("v-") {
        return Err(format!("reserved id {value}"));
    }
    if attribute_lower == "class"
        && value
            .split_ascii_whitespace()
            .any(|class| class.to_ascii_lowercase().starts_with("v-"))
    {
        return Err(format!("reserved class in {value}"));
    }
    if matches!(attribute_lower.as_str(), "href" | "src" | "cite") {
        let url: String = unescape(value)
            .chars()
            .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
            .collect::<String>()
            .to_ascii_lowercase();
        for scheme in ["javascript:", "vbscript:", "data:", "file:"] {
            if url.starts_with(scheme) {
                return Err(format!("{scheme} url in {attribute}"));
            }
        }
        if let Some((scheme, _)) = url.split_once(':') {
            // As browsers parse it: anything else before the `:` makes the
            // URL relative.
            let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if is_scheme && !matches!(scheme, "http" | "https" | "mailto") {
                return Err(format!("scheme {scheme} in {attribute}"));
            }
        }
    }
    Ok(())
}

/// Decodes the character references a browser would in an attribute value
/// (numeric ones and the few named ones that matter for URLs).
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "nbsp" => Some('\u{a0}'),
            "colon" => Some(':'),
            "Tab" => Some('\t'),
            "NewLine" => Some('\n'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(ch) => {
                out.push(ch);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The start tags in serialized HTML, with their attributes in order.
pub fn parse_tags(html: &str) -> Result<Vec<Tag>, String> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(end_tag) = rest.strip_prefix('/') {
            let close = end_tag
                .find('>')
                .ok_or_else(|| format!("unterminated end tag in {html}"))?;
            rest = &end_tag[close + 1..];
            continue;
        }
        let name_len = rest
            .find([' ', '>'])
            .ok_or_else(|| format!("unterminated tag in {html}"))?;
        let name = &rest[..name_len];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("raw `<` not opening a tag in {html}"));
        }
        rest = &rest[name_len..];
        let mut attributes = Vec::new();
        loop {
            if let Some(after) = rest.strip_prefix('>') {
                rest = after;
                break;
            }
            let after_space = rest
                .strip_prefix(' ')
                .ok_or_else(|| format!("unexpected attribute syntax in <{name}> in {html}"))?;
            let (attribute, value_and_rest) = after_space
                .split_once("=\"")
                .ok_or_else(|| format!("attribute without quoted value in <{name}> in {html}"))?;
            if attribute.contains([' ', '>', '"', '<']) {
                return Err(format!("malformed attribute {attribute:?} in {html}"));
            }
            let (value, after_value) = value_and_rest
                .split_once('"')
                .ok_or_else(|| format!("unterminated attribute value in {html}"))?;
            if value.contains(['<', '>']) {
                return Err(format!("unescaped < or > in attribute value in {html}"));
            }
            attributes.push((attribute.to_owned(), value.to_owned()));
            rest = after_value;
        }
        tags.push(Tag {
            name: name.to_owned(),
            attributes,
        });
    }
    Ok(tags)
}
