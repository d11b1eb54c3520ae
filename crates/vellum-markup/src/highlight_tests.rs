use std::sync::OnceLock;

use super::*;
use crate::Renderer;

#[test]
fn css_has_scoped_light_and_dark_rules() {
    let css = highlight_css();
    let (light, dark) = css.split_once(DARK_SCHEME).expect("dark variant present");
    assert!(light.starts_with(LIGHT_SCHEME), "{light}");
    assert!(light.contains("pre.syntax-highlighting {"), "{light}");
    assert!(dark.contains("pre.syntax-highlighting {"), "{dark}");
    assert!(light.contains(".syntax-highlighting .keyword"), "{light}");
    assert!(dark.contains(".syntax-highlighting .keyword"), "{dark}");
    assert!(light.trim_end().ends_with('}'));
    assert!(dark.trim_end().ends_with('}'));
    // No rule may apply outside a code block.
    for line in css.lines().filter(|l| l.ends_with(" {")) {
        if line.starts_with("@media") {
            continue;
        }
        assert!(
            line.split(", ")
                .all(|selector| selector.contains("syntax-highlighting")),
            "unscoped rule: {line}"
        );
    }
}

/// A rule of a stylesheet: the media query it sits under (`None` at the
/// top level), its selectors and its declarations.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    media: Option<String>,
    selectors: String,
    declarations: String,
}

/// Enough of a CSS parser for syntect's output: comments, rules, and
/// `@media` blocks of rules.
fn parse_rules(css: &str) -> Vec<Rule> {
    let mut text = css.to_owned();
    while let Some(start) = text.find("/*") {
        let end = text[start..].find("*/").map_or(text.len(), |e| start + e + 2);
        text.replace_range(start..end, "");
    }
    let mut rules = Vec::new();
    let mut media: Option<String> = None;
    let mut rest = text.as_str();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            assert!(media.take().is_some(), "unbalanced braces in {css}");
            rest = after;
            continue;
        }
        let Some(open) = rest.find('{') else {
            assert!(rest.is_empty() && media.is_none(), "trailing CSS: {rest}");
            return rules;
        };
        let prelude = rest[..open].trim().to_owned();
        rest = &rest[open + 1..];
        if prelude.starts_with('@') {
            assert!(media.is_none(), "nested at-rule {prelude}");
            media = Some(prelude);
            continue;
        }
        let close = rest.find('}').expect("rule closed");
        rules.push(Rule {
            media: media.clone(),
            selectors: prelude,
            declarations: rest[..close].split_whitespace().collect::<Vec<_>>().join(" "),
        });
        rest = &rest[close + 1..];
    }
}

/// The rules a browser applies when the reader prefers `dark` or not.
fn applying(rules: &[Rule], dark: bool) -> Vec<(String, String)> {
    rules
        .iter()
        .filter(|rule| match rule.media.as_deref() {
            None => true,
            Some(query) if query == DARK_SCHEME => dark,
            Some(query) if query == LIGHT_SCHEME => !dark,
            Some(query) => panic!("unexpected media query {query}"),
        })
        .map(|rule| (rule.selectors.clone(), rule.declarations.clone()))
        .collect()
}

fn theme_rules(name: &str) -> Vec<(String, String)> {
    let theme = &ThemeSet::load_defaults().themes[name];
    applying(&parse_rules(&theme_css(theme).expect("theme has CSS")), false)
}

#[test]
fn each_scheme_gets_exactly_its_own_theme() {
    let rules = parse_rules(&highlight_css());
    let light = theme_rules(LIGHT_THEME);
    let dark = theme_rules(DARK_THEME);
    assert!(!light.is_empty() && !dark.is_empty());
    assert_eq!(applying(&rules, true), dark, "a light theme rule applies under dark");
    assert_eq!(applying(&rules, false), light, "a dark theme rule applies under light");
    // The defect this guards against: scopes only the light theme colours
    // kept their light colours in dark mode, such as `variable` (a
    // shell's option flags), rgb(50, 50, 50) on the dark background.
    let variable = (
        ".syntax-highlighting .variable".to_owned(),
        "color: #323232;".to_owned(),
    );
    assert!(light.contains(&variable), "{light:#?}");
    assert!(dark.iter().all(|(selectors, _)| selectors != &variable.0), "{dark:#?}");
}

#[test]
fn scoping_rewrites_each_selector_of_a_list() {
    assert_eq!(
        scope_rules(".code {\n color: #000;\n}\n.comment, .string.quoted {\n}\n"),
        "pre.syntax-highlighting {\n color: #000;\n}\n\
         .syntax-highlighting .comment, .syntax-highlighting .string.quoted {\n}\n"
    );
}

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

fn render_html(markdown: &str) -> String {
    renderer().render(markdown, &|_| true).html
}

/// A Rust code block of at least `bytes` bytes, `lines` lines at a time.
fn rust_block(bytes: usize) -> String {
    let mut code = String::new();
    let mut i = 0;
    while code.len() < bytes {
        code.push_str(&format!(
            "fn f{i}(x: &mut Vec<u8>) -> Option<u32> {{ let y = x.len() as u32 + {i}; Some(y) }}\n"
        ));
        i += 1;
    }
    format!("```rust\n{code}```\n\n")
}

fn highlighted_blocks(html: &str) -> usize {
    html.matches(r#"<code class="language-rust"><span class="source rust">"#)
        .count()
}

#[test]
fn huge_code_block_is_shown_plain_and_stays_small() {
    let md = rust_block(700 * 1024);
    let out = render_html(&md);
    assert!(
        out.len() < 3 * md.len(),
        "{} bytes of HTML for {} of Markdown",
        out.len(),
        md.len()
    );
    assert!(
        out.starts_with(
            r#"<pre class="syntax-highlighting"><code class="language-rust">fn f0(x: &amp;mut Vec&lt;u8&gt;)"#
        ),
        "{}",
        &out[..200]
    );
    assert_eq!(highlighted_blocks(&out), 0);
    assert!(!out.contains("<span"));
}

#[test]
fn code_block_with_too_many_lines_is_shown_plain() {
    let long = format!("```rust\n{}```\n", "x\n".repeat(MAX_HIGHLIGHTED_BLOCK_LINES + 1));
    assert!(!render_html(&long).contains("<span"));
    let within = format!("```rust\n{}```\n", "x\n".repeat(MAX_HIGHLIGHTED_BLOCK_LINES));
    assert_eq!(highlighted_blocks(&render_html(&within)), 1);
}

#[test]
fn highlighting_stops_when_the_code_budget_is_spent() {
    // Plain text grows little when highlighted, so only the code budget
    // counts: five blocks of a fifth of it fit, the sixth does not, and a
    // small block after it still does.
    let line = "plain words, long enough that the block stays under the line limit\n";
    let code = line.repeat(MAX_HIGHLIGHTED_PAGE_BYTES / 5 / line.len());
    let md = format!(
        "{}```rust\nfn main() {{}}\n```\n",
        format!("```text\n{code}```\n\n").repeat(6)
    );
    let out = render_html(&md);
    assert_eq!(
        out.matches(r#"<code class="language-text"><span class="text plain">"#)
            .count(),
        5
    );
    assert_eq!(out.matches(r#"<code class="language-text">plain words"#).count(), 1);
    assert_eq!(highlighted_blocks(&out), 1);
}

#[test]
fn highlighting_stops_when_the_html_budget_is_spent() {
    let block = rust_block(40 * 1024);
    let code = block.trim_start_matches("```rust\n").trim_end_matches("```\n\n");
    let mut one = Vec::new();
    renderer()
        .highlighter
        .write_highlighted(&mut one, Some("rust"), code)
        .unwrap();
    let fit = MAX_HIGHLIGHTED_PAGE_HTML_BYTES / one.len();
    assert!((1..6).contains(&fit), "the code budget would stop highlighting first");

    let md = block.repeat(10);
    let out = render_html(&md);
    assert_eq!(highlighted_blocks(&out), fit);
    assert_eq!(out.matches(r#"<code class="language-rust">fn f0"#).count(), 10 - fit);
    // Highlighted blocks come first; the rest are plain.
    let last_highlighted = out.rfind(r#"<span class="source rust">"#).unwrap();
    let first_plain = out.find(r#"<code class="language-rust">fn f0"#).unwrap();
    assert!(last_highlighted < first_plain);
    assert!(
        out.len() < MAX_HIGHLIGHTED_PAGE_HTML_BYTES + 3 * md.len(),
        "{} bytes",
        out.len()
    );
}

#[test]
fn highlighted_blocks_are_reused_by_language_and_code() {
    let r = Renderer::new();
    let page = "```rust\nfn main() { println!(\"hi\"); }\n```\n\n```python\nprint('hi')\n```\n";
    let first = r.render(page, &|_| true);
    assert_eq!(r.code_cache.len(), 2);
    // The same blocks again, around other text: nothing new is highlighted,
    // and the output is what highlighting gives.
    let again = r.render(&format!("Intro.\n\n{page}\nMore."), &|_| true);
    assert_eq!(r.code_cache.len(), 2);
    assert!(again.html.contains(first.html.trim()), "{}", again.html);
    // The same code in another language is another block.
    let other = r.render("```python\nfn main() { println!(\"hi\"); }\n```\n", &|_| true);
    assert_eq!(r.code_cache.len(), 3);
    assert_ne!(
        other.html,
        r.render("```rust\nfn main() { println!(\"hi\"); }\n```\n", &|_| true)
            .html
    );
    // Budgets still apply to cached blocks: a page of many copies of one
    // block is highlighted only up to its HTML budget.
    let block = format!("```rust\n{}```\n\n", rust_block(60 * 1024));
    let many = r.render(&block.repeat(8), &|_| true);
    assert!(highlighted_blocks(&many.html) < 8);
}
