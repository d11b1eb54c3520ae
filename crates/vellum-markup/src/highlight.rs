//! The stylesheet for highlighted code blocks.
//!
//! Code blocks are highlighted with CSS classes named after syntect's scopes
//! (`keyword`, `string`, `invalid`, ...), which are common words, so every
//! rule here is scoped under the `syntax-highlighting` class comrak puts on
//! the `<pre>`: the styles cannot leak onto the page chrome or onto other
//! page content (a wiki link marked `invalid`, say).

use syntect::highlighting::{Theme, ThemeSet};
use syntect::html::{css_for_theme_with_class_style, ClassStyle};

const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";
/// The class comrak's syntect adapter puts on highlighted `<pre>` elements.
const CODE_BLOCK_CLASS: &str = "syntax-highlighting";

/// CSS for highlighted code: a light theme, and a dark one under
/// `prefers-color-scheme: dark`. Loads the themes on every call; call it once
/// at startup and serve the result.
pub fn highlight_css() -> String {
    let themes = ThemeSet::load_defaults();
    let mut css = String::new();
    if let Some(light) = themes.themes.get(LIGHT_THEME).and_then(theme_css) {
        css.push_str(&light);
    }
    if let Some(dark) = themes.themes.get(DARK_THEME).and_then(theme_css) {
        css.push_str("\n@media (prefers-color-scheme: dark) {\n");
        css.push_str(&dark);
        css.push_str("}\n");
    }
    css
}

fn theme_css(theme: &Theme) -> Option<String> {
    css_for_theme_with_class_style(theme, ClassStyle::Spaced)
        .ok()
        .map(|css| scope_rules(&css))
}

/// Rewrites syntect's stylesheet so every selector applies only inside a
/// highlighted code block. syntect writes each rule's selector list on one
/// line ending in ` {`, and its base rule as `.code {`.
fn scope_rules(css: &str) -> String {
    let mut out = String::with_capacity(css.len() * 2);
    for line in css.lines() {
        match line.strip_suffix(" {") {
            Some(".code") => {
                out.push_str("pre.");
                out.push_str(CODE_BLOCK_CLASS);
                out.push_str(" {");
            }
            Some(selectors) if selectors.starts_with('.') => {
                for (i, selector) in selectors.split(", ").enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('.');
                    out.push_str(CODE_BLOCK_CLASS);
                    out.push(' ');
                    out.push_str(selector);
                }
                out.push_str(" {");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_has_scoped_light_and_dark_rules() {
        let css = highlight_css();
        let (light, dark) = css
            .split_once("@media (prefers-color-scheme: dark) {")
            .expect("dark variant present");
        assert!(light.contains("pre.syntax-highlighting {"), "{light}");
        assert!(dark.contains("pre.syntax-highlighting {"), "{dark}");
        assert!(light.contains(".syntax-highlighting .keyword"), "{light}");
        assert!(dark.contains(".syntax-highlighting .keyword"), "{dark}");
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

    #[test]
    fn scoping_rewrites_each_selector_of_a_list() {
        assert_eq!(
            scope_rules(".code {\n color: #000;\n}\n.comment, .string.quoted {\n}\n"),
            "pre.syntax-highlighting {\n color: #000;\n}\n\
             .syntax-highlighting .comment, .syntax-highlighting .string.quoted {\n}\n"
        );
    }
}
