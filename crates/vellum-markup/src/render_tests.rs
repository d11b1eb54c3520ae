use std::sync::OnceLock;

use super::*;

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::new)
}

fn render(markdown: &str) -> Rendered {
    renderer().render(markdown, &|path| path.as_str().starts_with("existing"))
}

fn html(markdown: &str) -> String {
    render(markdown).html
}

fn path(raw: &str) -> PagePath {
    PagePath::parse(raw).unwrap()
}

#[test]
fn renderer_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Renderer>();
}

#[test]
fn renders_paragraphs_and_emphasis() {
    assert_eq!(
        html("Hello *world* and **you**."),
        "<p>Hello <em>world</em> and <strong>you</strong>.</p>\n"
    );
}

#[test]
fn renders_tables_with_alignment() {
    let out = html("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n");
    assert!(out.contains("<table>"), "{out}");
    assert!(out.contains(r#"<th align="left">a</th>"#), "{out}");
    assert!(out.contains(r#"<th align="center">b</th>"#), "{out}");
    assert!(out.contains(r#"<td align="right">3</td>"#), "{out}");
}

#[test]
fn renders_task_lists_as_disabled_checkboxes() {
    let out = html("- [x] done\n- [ ] todo\n");
    assert!(out.contains(r#"<ul class="contains-task-list">"#), "{out}");
    assert!(out.contains(
        r#"<li class="task-list-item"><input type="checkbox" class="task-list-item-checkbox" checked="" disabled=""> done</li>"#
    ), "{out}");
    assert!(out.contains(
        r#"<li class="task-list-item"><input type="checkbox" class="task-list-item-checkbox" disabled=""> todo</li>"#
    ), "{out}");
}

#[test]
fn renders_strikethrough() {
    assert_eq!(html("~~gone~~"), "<p><del>gone</del></p>\n");
}

#[test]
fn autolinks_bare_urls_and_emails_as_external_links() {
    let out = html("Visit https://example.com/a, www.example.org or mail a@example.net.");
    assert!(
        out.contains(r#"<a href="https://example.com/a" rel="noopener noreferrer nofollow">https://example.com/a</a>"#),
        "{out}"
    );
    assert!(
        out.contains(r#"<a href="http://www.example.org" rel="noopener noreferrer nofollow">www.example.org</a>"#),
        "{out}"
    );
    assert!(
        out.contains(r#"<a href="mailto:a@example.net" rel="noopener noreferrer nofollow">a@example.net</a>"#),
        "{out}"
    );
}

#[test]
fn renders_footnotes_with_links_both_ways() {
    let out = html("Claim[^src].\n\n[^src]: The source.\n");
    assert!(
        out.contains(r##"<sup class="footnote-ref"><a href="#fn-src" id="fnref-src">1</a></sup>"##),
        "{out}"
    );
    assert!(out.contains(r#"<section class="footnotes">"#), "{out}");
    assert!(out.contains(r#"<li id="fn-src">"#), "{out}");
    assert!(
        out.contains(r##"<a href="#fnref-src" class="footnote-backref" aria-label="Back to reference 1">↩</a>"##),
        "{out}"
    );
}

#[test]
fn headings_get_anchors_and_toc_entries_with_unique_suffixes() {
    let out = render("# Intro\n\n## Set *up*\n\n## Set up\n\n### Set up\n\ntext\n");
    assert_eq!(
        out.toc,
        [
            TocEntry {
                level: 1,
                text: "Intro".into(),
                anchor: "intro".into()
            },
            TocEntry {
                level: 2,
                text: "Set up".into(),
                anchor: "set-up".into()
            },
            TocEntry {
                level: 2,
                text: "Set up".into(),
                anchor: "set-up-1".into()
            },
            TocEntry {
                level: 3,
                text: "Set up".into(),
                anchor: "set-up-2".into()
            },
        ]
    );
    assert!(
        out.html.contains(
            r##"<h2><a href="#set-up" aria-hidden="true" class="anchor" id="set-up"></a>Set <em>up</em></h2>"##
        ),
        "{}",
        out.html
    );
    assert!(out.html.contains(r#"id="set-up-1""#), "{}", out.html);
    assert!(out.html.contains(r#"id="set-up-2""#), "{}", out.html);
}

#[test]
fn toc_anchors_match_what_comrak_header_ids_would_produce() {
    let markdown =
        "# A\n\n# A\n\n# a-1\n\n# A\n\n## Ticks aren't in\n\n# Ünïcödé 日本\n\n# `code` & *more*\n\n#\n\n#\n";
    let mut options = crate::parse::markdown_options().clone();
    options.extension.header_ids = Some(String::new());
    let comrak_html = comrak::markdown_to_html(markdown, &options);
    let comrak_ids: Vec<&str> = comrak_html
        .split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let ours: Vec<String> = render(markdown).toc.into_iter().map(|e| e.anchor).collect();
    assert_eq!(ours, comrak_ids);
    assert_eq!(ours[..4], ["a", "a-1", "a-1-1", "a-2"]);
}

#[test]
fn many_identical_headings_get_sequential_anchors() {
    let out = render(&"# Same\n".repeat(3000));
    assert_eq!(out.toc.len(), 3000);
    assert_eq!(out.toc[0].anchor, "same");
    assert_eq!(out.toc[2999].anchor, "same-2999");
}

#[test]
fn headings_cannot_take_reserved_chrome_ids() {
    let out = render("# v-toc\n\n# V-Toc\n");
    let anchors: Vec<_> = out.toc.iter().map(|e| e.anchor.as_str()).collect();
    assert_eq!(anchors, ["h-v-toc", "h-v-toc-1"]);
    assert!(!out.html.contains(r#"id="v-"#), "{}", out.html);
    assert!(out.html.contains(r#"id="h-v-toc""#), "{}", out.html);
}

#[test]
fn unicode_headings_keep_their_anchor() {
    let out = render("## Überblick 日本\n");
    assert_eq!(out.toc[0].anchor, "überblick-日本");
    assert!(out.html.contains(r#"id="überblick-日本""#), "{}", out.html);
}

#[test]
fn wiki_link_to_existing_page() {
    let out = render("See [[Existing/Page]].");
    assert_eq!(
        out.html,
        "<p>See <a href=\"/wiki/existing/page\" class=\"wikilink\">Existing/Page</a>.</p>\n"
    );
    assert_eq!(out.links, [path("existing/page")]);
}

#[test]
fn wiki_link_to_missing_page_invites_creation() {
    let out = render("[[New Idea]]");
    assert_eq!(
        out.html,
        "<p><a href=\"/wiki/new-idea\" class=\"wikilink missing\" title=\"This page does not exist yet. Follow the link to create it.\">New Idea</a></p>\n"
    );
    assert_eq!(out.links, [path("new-idea")]);
}

#[test]
fn wiki_link_with_label_shows_the_label() {
    let out = render("[[existing/deploy|the deploy guide]]");
    assert_eq!(
        out.html,
        "<p><a href=\"/wiki/existing/deploy\" class=\"wikilink\">the deploy guide</a></p>\n"
    );
}

#[test]
fn wiki_link_with_invalid_target_explains_why() {
    let out = render("[[what?|odd]]");
    assert_eq!(
        out.html,
        "<p><span class=\"wikilink invalid\" title=\"the path segment `what?` contains `?`; use letters, digits, `-`, `_` or `.`\">odd</span></p>\n"
    );
    assert!(out.links.is_empty());
}

#[test]
fn wiki_link_with_non_ascii_path_is_percent_encoded() {
    let out = render("[[Équipe/日本語]]");
    assert!(
        out.html
            .contains(r#"<a href="/wiki/%C3%A9quipe/%E6%97%A5%E6%9C%AC%E8%AA%9E" class="wikilink missing""#),
        "{}",
        out.html
    );
    assert!(out.html.contains(">Équipe/日本語</a>"), "{}", out.html);
    assert_eq!(out.links, [path("équipe/日本語")]);
}

#[test]
fn exists_is_asked_about_the_normalised_path() {
    let asked = std::cell::RefCell::new(Vec::new());
    renderer().render("[[ Team / Run Books ]]", &|p| {
        asked.borrow_mut().push(p.clone());
        true
    });
    assert_eq!(asked.into_inner(), [path("team/run-books")]);
}

#[test]
fn markdown_links_under_wiki_are_internal_links() {
    let out = render(
        "[a](/wiki/Foo%20Bar#section) [b](/wiki/baz?rev=3) [c](https://example.com/wiki/x) [d](/wiki/x/-/history)",
    );
    assert_eq!(out.links, [path("baz"), path("foo-bar")]);
    assert!(
        out.html.contains(r##"<a href="/wiki/Foo%20Bar#section">a</a>"##),
        "{}",
        out.html
    );
}

#[test]
fn render_and_extract_links_agree() {
    let md = "[[B]] [[a|x]] [y](/wiki/c) [[bad?]] [[b]]\n\n# [[In heading]]\n";
    assert_eq!(render(md).links, crate::extract_links(md));
    assert_eq!(render(md).links, [path("a"), path("b"), path("c"), path("in-heading")]);
}

#[test]
fn wiki_link_in_heading_keeps_heading_text() {
    let out = render("## See [[Existing|the page]]\n");
    assert_eq!(out.toc[0].text, "See the page");
    assert_eq!(out.toc[0].anchor, "see-the-page");
}

#[test]
fn code_blocks_are_highlighted_with_classes() {
    let out = html("```rust\nfn main() {}\n```\n");
    assert!(
        out.starts_with(r#"<pre class="syntax-highlighting"><code class="language-rust"><span class="source rust">"#),
        "{out}"
    );
    assert!(
        out.contains(r#"<span class="storage type function rust">fn</span>"#),
        "{out}"
    );
    assert!(!out.contains("style="), "{out}");
}

#[test]
fn unknown_language_falls_back_to_plain_text() {
    let out = html("```nosuchlang\nlet <b>x</b> = 1;\n```\n");
    assert_eq!(
        out,
        "<pre class=\"syntax-highlighting\"><code class=\"language-nosuchlang\"><span class=\"text plain\">let &lt;b&gt;x&lt;/b&gt; = 1;\n</span></code></pre>\n"
    );
}

#[test]
fn inline_code_is_escaped() {
    assert_eq!(
        html("`<script>alert(1)</script>`"),
        "<p><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></p>\n"
    );
}

#[test]
fn safe_raw_html_is_kept() {
    assert_eq!(
        html("<div class=\"note\">Hi <kbd>Ctrl</kbd></div>\n"),
        "<div class=\"note\">Hi <kbd>Ctrl</kbd></div>\n"
    );
}

#[test]
fn empty_input_renders_nothing() {
    let out = render("");
    assert_eq!(out.html, "");
    assert!(out.toc.is_empty() && out.links.is_empty());
}

#[test]
fn pathologically_nested_page_shows_its_source() {
    let markdown = format!("{} [[a]] <b>", ">".repeat(crate::parse::MAX_NESTING + 10));
    let out = render(&markdown);
    assert!(
        out.html
            .starts_with("<p>This page is nested too deeply or has a table too wide"),
        "{}",
        out.html
    );
    assert!(out.html.contains("&gt;&gt;&gt; [[a]] &lt;b&gt;"), "{}", out.html);
    assert!(out.links.is_empty() && out.toc.is_empty());
    assert!(crate::extract_links(&markdown).is_empty());
}

#[test]
fn too_wide_table_shows_the_source() {
    let columns = crate::parse::MAX_TABLE_COLUMNS + 1;
    let markdown = format!("|{}\n|{}\n", "a|".repeat(columns), "-|".repeat(columns));
    let out = html(&markdown);
    assert!(out.starts_with("<p>This page is nested too deeply or has a table too wide"));
    assert!(!out.contains("<table>"));
}

#[test]
fn too_much_raw_html_is_shown_as_text() {
    let markdown = format!("{}x\n\n[[a]]", "<div>".repeat(10_000));
    let out = render(&markdown);
    assert!(out.html.starts_with("&lt;div&gt;&lt;div&gt;"), "{}", &out.html[..200]);
    assert!(!out.html.contains("<div>"));
    assert_eq!(out.links, [path("a")]);
}

#[test]
fn raw_html_within_budget_is_kept() {
    let markdown = "<div>".repeat(100) + "x";
    let out = html(&markdown);
    assert_eq!(out.matches("<div>").count(), 100, "{out}");
}

#[test]
fn marking_missing_links_later_matches_rendering_with_the_existence_check() {
    let md = "[[existing/a]] [[gone/b|label]] [[Équipe/Übersicht]] [x](/wiki/gone/b) [[existing/a|again]]\n\n# Head";
    let stored = renderer().render(md, &|_| true);
    let missing: Vec<PagePath> = stored
        .links
        .iter()
        .filter(|p| !p.as_str().starts_with("existing"))
        .cloned()
        .collect();
    assert_eq!(mark_missing(&stored.html, &missing), html(md));
    assert_eq!(mark_missing(&stored.html, &[]), stored.html);
    assert!(mark_missing(&stored.html, &missing).contains("class=\"wikilink missing\""));
}

#[test]
fn marking_twenty_thousand_missing_links_matches_rendering_with_the_existence_check() {
    let mut md = String::new();
    for i in 0..20_000 {
        md.push_str(&format!("[[gone/page-{i}]] "));
        if i % 1000 == 0 {
            md.push_str(&format!("[[existing/{i}|kept {i}]]\n\n"));
        }
    }
    let stored = renderer().render(&md, &|_| true);
    let missing: Vec<PagePath> = stored
        .links
        .iter()
        .filter(|p| !p.as_str().starts_with("existing"))
        .cloned()
        .collect();
    assert_eq!(missing.len(), 20_000);
    let marked = mark_missing(&stored.html, &missing);
    assert_eq!(marked.matches("class=\"wikilink missing\"").count(), 20_000);
    assert_eq!(marked, html(&md));
}

/// The quadratic implementation `mark_missing` replaced: its output is the
/// specification.
fn mark_missing_one_path_at_a_time(html: &str, missing: &[PagePath]) -> String {
    let mut out = html.to_owned();
    for path in missing {
        let href = escape_html(&crate::links::wiki_href(path));
        let existing = format!(r#"<a href="{href}" class="wikilink">"#);
        let marked = format!(r#"<a href="{href}" class="wikilink missing" title="{MISSING_PAGE_TITLE}">"#);
        out = out.replace(&existing, &marked);
    }
    out
}

mod mark_missing_props {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of wiki link tags, whole and broken, to be glued together.
    const PIECES: &[&str] = &[
        r#"<a href=""#,
        r#"" class="wikilink">"#,
        r#"" class="wikilink missing" title="x">"#,
        r#"<a href="/wiki/a" class="wikilink">"#,
        r#"<a href="/wiki/b/c" class="wikilink">"#,
        r#"<a href="/wiki/%C3%A9" class="wikilink">"#,
        r#"<a href="/wiki/a" class="other">"#,
        "/wiki/a",
        "/wiki/b/c",
        "/wiki/%C3%A9",
        "/wiki/",
        "a",
        "\"",
        "<",
        ">",
        "</a>",
        " ",
        "é",
    ];

    proptest! {
        #[test]
        fn single_pass_matches_one_path_at_a_time(
            html in prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.concat()),
            missing in prop::collection::vec(prop::sample::select(&["a", "b/c", "é", "d", "a/b"][..]), 0..4),
        ) {
            let missing: Vec<PagePath> = missing.iter().map(|raw| path(raw)).collect();
            prop_assert_eq!(mark_missing(&html, &missing), mark_missing_one_path_at_a_time(&html, &missing));
        }
    }
}

#[test]
fn a_leading_heading_is_split_off() {
    let r = renderer();
    let page = r.render("# Deploy guide\n\nSteps.\n\n# Later\n", &|_| true);
    let (title, rest) = split_leading_heading(&page.html, &page.toc).expect("a leading heading");
    assert_eq!(title, "Deploy guide");
    assert!(rest.starts_with("<p>Steps.</p>"), "{rest}");
    assert!(rest.contains("Later"));
    let page = r.render("Intro.\n\n# Deploy guide\n", &|_| true);
    assert_eq!(split_leading_heading(&page.html, &page.toc), None);
    let page = r.render("## Only a sub-heading\n", &|_| true);
    assert_eq!(split_leading_heading(&page.html, &page.toc), None);
    let page = r.render("# A <b>&amp;</b> title\n", &|_| true);
    let (title, rest) = split_leading_heading(&page.html, &page.toc).unwrap();
    assert_eq!(title, "A & title");
    assert_eq!(rest, "");
}

#[test]
fn file_references_point_at_the_pages_own_files() {
    let out = html("![Diagram](file:diagram.png) and [the PDF](<file:spec v2.pdf>)");
    assert!(out.contains(r#"<img src="/-/file/diagram.png" alt="Diagram""#), "{out}");
    assert!(out.contains(r#"<a href="/-/file/spec%20v2.pdf">the PDF</a>"#), "{out}");
    // Not a file reference: left alone (and a `file:` image is dropped by
    // the sanitizer as before).
    let other = html("![x](file:a/b.png)");
    assert!(!other.contains("/-/file/"), "{other}");
}

#[test]
fn file_references_are_listed_for_where_used() {
    let page = Renderer::new().render(
        "![a](file:b.png) [b](<file:spec v2.pdf>) ![again](file:b.png) \
         [theirs](/files/42/3/x.pdf) ![latest](/files/7/latest/y.png) [not a file](/files/abc) [page](/wiki/files)",
        &|_| true,
    );
    assert_eq!(page.file_names, ["b.png", "spec v2.pdf"]);
    assert_eq!(page.file_ids, [7, 42]);
}
