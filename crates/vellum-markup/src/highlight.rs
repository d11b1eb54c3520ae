//! Highlighted code blocks: how much of a page gets highlighted, and the
//! stylesheet for the result.
//!
//! Highlighting multiplies the size of code many times over (a span with
//! scope classes around every token), so a page's code is highlighted only
//! up to a budget, see [`BudgetedHighlighter`]; the rest is shown as plain,
//! escaped text in the same kind of block.
//!
//! Code blocks are highlighted with CSS classes named after syntect's scopes
//! (`keyword`, `string`, `invalid`, ...), which are common words, so every
//! rule here is scoped under the `syntax-highlighting` class comrak puts on
//! the `<pre>`: the styles cannot leak onto the page chrome or onto other
//! page content (a wiki link marked `invalid`, say).

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use comrak::adapters::SyntaxHighlighterAdapter;
use comrak::plugins::syntect::SyntectAdapter;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::html::{css_for_theme_with_class_style, ClassStyle};

/// Larger code blocks are never highlighted.
pub(crate) const MAX_HIGHLIGHTED_BLOCK_BYTES: usize = 64 * 1024;
/// Code blocks with more lines are never highlighted.
pub(crate) const MAX_HIGHLIGHTED_BLOCK_LINES: usize = 2_000;
/// Bytes of code highlighted on one page at most; blocks that do not fit in
/// what is left are shown plain.
pub(crate) const MAX_HIGHLIGHTED_PAGE_BYTES: usize = 256 * 1024;
/// Bytes of highlighted HTML on one page at most, whatever the code: dense
/// code grows about 30 times when highlighted. A block whose highlighted
/// HTML would not fit in what is left is shown plain.
pub(crate) const MAX_HIGHLIGHTED_PAGE_HTML_BYTES: usize = 4 * 1024 * 1024;

/// The highlighter for one rendering: it highlights code blocks with
/// syntect while the page's budgets last and writes the others as plain
/// escaped text, inside the same `<pre class="syntax-highlighting">` and
/// `<code>` tags (which comrak asks for before it shows the code).
pub(crate) struct BudgetedHighlighter<'h> {
    syntect: &'h SyntectAdapter,
    cache: &'h CodeCache,
    /// Bytes of code that may still be highlighted.
    code_left: AtomicUsize,
    /// Bytes of highlighted HTML that may still be written.
    html_left: AtomicUsize,
}

impl<'h> BudgetedHighlighter<'h> {
    pub(crate) fn new(syntect: &'h SyntectAdapter, cache: &'h CodeCache) -> Self {
        Self {
            syntect,
            cache,
            code_left: AtomicUsize::new(MAX_HIGHLIGHTED_PAGE_BYTES),
            html_left: AtomicUsize::new(MAX_HIGHLIGHTED_PAGE_HTML_BYTES),
        }
    }

    /// `code` highlighted, if it is small enough and fits in the budgets.
    fn highlight(&self, lang: Option<&str>, code: &str) -> io::Result<Option<Vec<u8>>> {
        if code.len() > MAX_HIGHLIGHTED_BLOCK_BYTES
            || code.lines().count() > MAX_HIGHLIGHTED_BLOCK_LINES
            || !take(&self.code_left, code.len())
        {
            return Ok(None);
        }
        let key = (lang.map(str::to_owned), code.to_owned());
        let html = match self.cache.blocks.get(&key) {
            Some(html) => html,
            None => {
                let mut html = Vec::with_capacity(code.len() * 8);
                self.syntect.write_highlighted(&mut html, lang, code)?;
                let html: Arc<[u8]> = html.into();
                self.cache.blocks.insert(key, Arc::clone(&html));
                html
            }
        };
        Ok(take(&self.html_left, html.len()).then(|| html.to_vec()))
    }
}

/// Code blocks already highlighted, by language and code: an edit of a
/// page with code highlights only the blocks that changed (highlighting is
/// most of a rendering's time). Bounded by the bytes held.
pub(crate) struct CodeCache {
    blocks: moka::sync::Cache<(Option<String>, String), Arc<[u8]>>,
}

/// Bytes of code and highlighted HTML the cache holds at most.
const CODE_CACHE_BYTES: u64 = 32 * 1024 * 1024;

impl CodeCache {
    pub(crate) fn new() -> CodeCache {
        CodeCache {
            blocks: moka::sync::Cache::builder()
                .max_capacity(CODE_CACHE_BYTES)
                .weigher(|(lang, code): &(Option<String>, String), html: &Arc<[u8]>| {
                    let bytes = lang.as_ref().map_or(0, String::len) + code.len() + html.len();
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    /// How many blocks are held (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.blocks.run_pending_tasks();
        self.blocks.entry_count()
    }
}

/// Takes `amount` from `budget` if that much is left.
fn take(budget: &AtomicUsize, amount: usize) -> bool {
    // Atomic only because comrak requires highlighters to be `Sync`; one
    // rendering, on one thread, uses a budget.
    budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(amount))
        .is_ok()
}

impl SyntaxHighlighterAdapter for BudgetedHighlighter<'_> {
    fn write_highlighted(&self, output: &mut dyn Write, lang: Option<&str>, code: &str) -> io::Result<()> {
        match self.highlight(lang, code)? {
            Some(html) => output.write_all(&html),
            None => comrak::html::escape(output, code.as_bytes()),
        }
    }

    fn write_pre_tag(&self, output: &mut dyn Write, attributes: HashMap<String, String>) -> io::Result<()> {
        self.syntect.write_pre_tag(output, attributes)
    }

    fn write_code_tag(&self, output: &mut dyn Write, attributes: HashMap<String, String>) -> io::Result<()> {
        self.syntect.write_code_tag(output, attributes)
    }
}

const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";
/// The class comrak's syntect adapter puts on highlighted `<pre>` elements.
const CODE_BLOCK_CLASS: &str = "syntax-highlighting";

/// The media query under which the light theme applies: every scheme but
/// dark, so also browsers that state no preference. (In the MQ3 form
/// `not all and (…)`, which every browser that knows the feature parses.)
const LIGHT_SCHEME: &str = "@media not all and (prefers-color-scheme: dark)";
const DARK_SCHEME: &str = "@media (prefers-color-scheme: dark)";

/// CSS for highlighted code: a light theme, and a dark one under
/// `prefers-color-scheme: dark`. Each theme's rules sit under its own media
/// query, so a scope only the light theme colours (shell option flags, say)
/// cannot keep its light colour on the dark background. Loads the themes on
/// every call; call it once at startup and serve the result.
pub fn highlight_css() -> String {
    let themes = ThemeSet::load_defaults();
    let mut css = String::new();
    for (name, media) in [(LIGHT_THEME, LIGHT_SCHEME), (DARK_THEME, DARK_SCHEME)] {
        if let Some(rules) = themes.themes.get(name).and_then(theme_css) {
            css.push_str(media);
            css.push_str(" {\n");
            css.push_str(&rules);
            css.push_str("}\n");
        }
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
#[path = "highlight_tests.rs"]
mod tests;
