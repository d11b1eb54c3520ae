//! Property tests: rendering never panics and never lets script through,
//! the sanitizer is idempotent, and trivial merges are clean.

use proptest::prelude::*;
use vellum_markup::diff::{diff, LineKind};
use vellum_markup::merge::{merge3, MergeOutcome};
use vellum_markup::{extract_links, sanitize_html};

use crate::check::script_free;
use crate::{render_html, renderer};

/// Pieces of Markdown and of dangerous HTML, to be glued together at random.
const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "\n\n",
    "\t",
    "`",
    "```",
    "```js\n",
    "[",
    "]",
    "(",
    ")",
    "[[",
    "]]",
    "|",
    "![",
    "# ",
    "- ",
    "- [ ] ",
    "> ",
    "| a |\n|---|\n",
    "[^1]",
    "[^1]: ",
    "*",
    "_",
    "~~",
    "&",
    "&#",
    "&#x09;",
    "&#106;",
    "&colon;",
    "\\",
    "javascript:",
    "JaVaScRiPt:",
    "vbscript:",
    "data:text/html,",
    "http://x.example",
    "/wiki/",
    "v-toc",
    "<script>",
    "</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg>",
    "</svg>",
    "<math>",
    "<mtext>",
    "<mglyph>",
    "<style>",
    "</style>",
    "<noscript>",
    "</noscript>",
    "<template>",
    "<iframe srcdoc=",
    "<a href=",
    "<a href=\"",
    "<a>",
    "</a>",
    "<p title=\"",
    "</p>",
    "<table>",
    "<td>",
    "<form>",
    "<input ",
    "type=text ",
    "onclick=",
    " onerror=",
    "style=",
    "id=",
    "class=",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<base href=",
    "<meta http-equiv=refresh content=",
    "<object data=",
    "<embed src=",
    "<h1 id=v-x>",
];

/// Pieces of Markdown with no raw HTML, which the renderer sanitizes in a
/// single pass.
const MARKDOWN_FRAGMENTS: &[&str] = &[
    "# ",
    "## ",
    "- ",
    "1. ",
    "- [x] ",
    "> ",
    "*",
    "**",
    "_",
    "~~",
    "`",
    "```",
    "```rust\n",
    "[",
    "]",
    "(",
    ")",
    "[[",
    "]]",
    "|",
    "![",
    "| a | b |\n|---|:-:|\n",
    "[^1]",
    "[^1]: ",
    "http://x.example",
    "www.x.example",
    "a@b.example",
    "/wiki/",
    "word",
    " ",
    "\n",
    "\n\n",
    "    ",
    "---\n",
    "\\",
    "&amp;",
    "&",
    "javascript:",
    "v-toc",
    "\"",
    "'",
    "Ü",
    "日本",
];

fn markdown_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(MARKDOWN_FRAGMENTS), 0..32).prop_map(|parts| parts.concat())
}

fn fragment_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..24).prop_map(|parts| parts.concat())
}

/// Text made of a few short lines, sometimes without a final newline.
fn lines() -> impl Strategy<Value = String> {
    (prop::collection::vec("[a-c]{0,3}", 0..8), any::<bool>()).prop_map(|(lines, trailing_newline)| {
        let mut text = lines.join("\n");
        if trailing_newline && !text.is_empty() {
            text.push('\n');
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn render_of_any_text_is_script_free(markdown in "\\PC{0,200}") {
        let html = render_html(&markdown);
        prop_assert!(script_free(&html).is_ok(), "{:?}", script_free(&html));
    }

    #[test]
    fn render_of_dangerous_fragments_is_script_free(markdown in fragment_soup()) {
        let html = render_html(&markdown);
        prop_assert!(script_free(&html).is_ok(), "{:?}", script_free(&html));
    }

    #[test]
    fn sanitize_of_dangerous_fragments_is_script_free(html in fragment_soup()) {
        let clean = sanitize_html(&html);
        prop_assert!(script_free(&clean).is_ok(), "{:?}", script_free(&clean));
    }

    #[test]
    fn sanitize_is_idempotent(html in prop_oneof![fragment_soup(), "\\PC{0,200}".boxed()]) {
        let once = sanitize_html(&html);
        prop_assert_eq!(sanitize_html(&once), once);
    }

    #[test]
    fn rendered_html_is_a_fixed_point_of_the_sanitizer(
        markdown in prop_oneof![markdown_soup(), fragment_soup()]
    ) {
        let html = render_html(&markdown);
        prop_assert_eq!(sanitize_html(&html), html);
    }

    #[test]
    fn render_links_match_extract_links(
        markdown in prop_oneof![markdown_soup(), fragment_soup()]
    ) {
        let rendered = renderer().render(&markdown, &|_| true);
        prop_assert_eq!(rendered.links, extract_links(&markdown));
    }

    #[test]
    fn merge_with_one_side_unchanged_takes_the_other(base in lines(), edit in lines()) {
        prop_assert_eq!(merge3(&base, &base, &edit), MergeOutcome::Clean(edit.clone()));
        prop_assert_eq!(merge3(&base, &edit, &base), MergeOutcome::Clean(edit.clone()));
    }

    #[test]
    fn merge_of_identical_edits_is_that_edit(base in lines(), edit in lines()) {
        prop_assert_eq!(merge3(&base, &edit, &edit), MergeOutcome::Clean(edit.clone()));
    }

    #[test]
    fn diff_counts_match_its_lines(old in lines(), new in lines()) {
        let d = diff(&old, &new);
        let count = |kind| d.hunks.iter().flat_map(|h| &h.lines).filter(|l| l.kind == kind).count();
        prop_assert_eq!(d.added, count(LineKind::Added));
        prop_assert_eq!(d.removed, count(LineKind::Removed));
        prop_assert_eq!(d.hunks.is_empty(), old == new);
        prop_assert!(!d.truncated);
        prop_assert_eq!(d.omitted_lines, 0);
        for hunk in &d.hunks {
            let old_lines = hunk.lines.iter().filter(|l| l.kind != LineKind::Added).count();
            let new_lines = hunk.lines.iter().filter(|l| l.kind != LineKind::Removed).count();
            prop_assert_eq!(hunk.old_len, old_lines);
            prop_assert_eq!(hunk.new_len, new_lines);
        }
    }
}
