//! Known XSS vectors, each rendered as Markdown and sanitized as raw HTML:
//! none may leave anything that runs script.

use vellum_markup::sanitize_html;

use crate::check::{parse_tags, script_free};
use crate::render_html;

const VECTORS: &[&str] = &[
    // Script elements, plain and disguised.
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>alert(1);//<</script>",
    // Event handlers.
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" OnErRoR=\"alert(1)\">",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>",
    "<input autofocus onfocus=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<a href=\"#\" onclick=\"alert(1)\">x</a>",
    "<x onclick=alert(1)>x</x>",
    "<div/onmouseover='alert(1)'>x</div>",
    // SVG and MathML.
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<svg><animate href=#x attributeName=href values=javascript:alert(1) /><a id=x>x</a></svg>",
    "<math href=\"javascript:alert(1)\">CLICK</math>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><mi><svg><style><img src=x onerror=alert(1)></style></svg></mi></math>",
    // Dangerous URLs in Markdown links, images and autolinks.
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click][ref]\n\n[ref]: javascript:alert(1)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "[x](https://ok.example \"title\\\" onmouseover=\\\"alert(1)\")",
    "![x\" onerror=\"alert(1)](https://ok.example/i.png)",
    // Dangerous URLs in raw HTML.
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<a href=\"java\nscript:alert(1)\">x</a>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<img src=\"jav\tascript:alert(1)\">",
    "<img srcset=\"javascript:alert(1)\">",
    "<table background=\"javascript:alert(1)\"><tr><td>x</td></tr></table>",
    // Active content, forms and document-level elements.
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<button formaction=\"javascript:alert(1)\">x</button>",
    "<isindex action=javascript:alert(1) type=image>",
    "<base href=\"javascript:alert(1)//\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=\"stylesheet\" href=\"javascript:alert(1)\">",
    // Styles.
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<div style=\"width: expression(alert(1))\">x</div>",
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<a href=\"https://ok.example\" style=\"position:fixed;inset:0\">x</a>",
    // Wiki links: attribute breakout in targets and labels.
    "[[a\" onmouseover=\"alert(1)]]",
    "[[x|<img src=x onerror=alert(1)>]]",
    "[[x\" onmouseover=\"alert(1)|label]]",
    "[[javascript:alert(1)]]",
    "[[x|\"><script>alert(1)</script>]]",
    // Markup inside code.
    "```html\n<script>alert(1)</script>\n```",
    "```\"><script>alert(1)</script>\ncode\n```",
    "`<img src=x onerror=alert(1)>`",
    // Clobbering the page chrome's ids.
    "<h1 id=\"v-toc\">x</h1>",
    "<div id=\"v-sidebar\">x</div>",
    "<a href=\"/wiki/x\" id=\"v-toc\">x</a>",
    "<section id=\"V-main\"><sup id=\"v-1\">x</sup></section>",
    "<img name=\"v-toc\" src=\"/x.png\">",
    "# v-toc",
    "<div class=\"v-content v-banner\">Your session expired, sign in again below</div>",
    // Unclosed tags.
    "<img src=x onerror=alert(1)",
    "<a href=\"javascript:alert(1)\"",
    "<div><p title=\"x",
    // Mutation XSS.
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<template><img src=x onerror=alert(1)></template>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<title><img src=x onerror=alert(1)></title>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<select><style><img src=x onerror=alert(1)></style></select>",
    "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
];

#[test]
fn the_suite_is_broad() {
    assert!(VECTORS.len() >= 40, "only {} vectors", VECTORS.len());
}

#[test]
fn rendered_vectors_cannot_run_script() {
    for vector in VECTORS {
        let html = render_html(vector);
        if let Err(why) = script_free(&html) {
            panic!("render({vector:?}) is unsafe: {why}");
        }
    }
}

#[test]
fn sanitized_vectors_cannot_run_script() {
    for vector in VECTORS {
        let html = sanitize_html(vector);
        if let Err(why) = script_free(&html) {
            panic!("sanitize_html({vector:?}) is unsafe: {why}");
        }
    }
}

#[test]
fn vectors_inside_other_markup_cannot_run_script() {
    for vector in VECTORS {
        for wrapped in [
            format!("> {vector}"),
            format!("- {vector}"),
            format!("| a |\n|---|\n| {vector} |"),
            format!("## {vector}"),
            format!("Text[^n].\n\n[^n]: {vector}"),
        ] {
            let html = render_html(&wrapped);
            if let Err(why) = script_free(&html) {
                panic!("render({wrapped:?}) is unsafe: {why}");
            }
        }
    }
}

#[test]
fn the_checker_rejects_known_bad_html() {
    for bad in [
        "<script>alert(1)</script>",
        r#"<img src="x" onerror="alert(1)">"#,
        r#"<a href="javascript:alert(1)">x</a>"#,
        r#"<a href="JAVA&#x09;SCRIPT:x">x</a>"#,
        r#"<a href=" data:text/html,x">x</a>"#,
        r#"<p style="color:red">x</p>"#,
        r#"<h1 id="v-toc">x</h1>"#,
        r#"<div class="note v-banner">x</div>"#,
        r#"<input type="text">"#,
        r#"<iframe src="/x"></iframe>"#,
        "<p>1 < 2</p>",
    ] {
        assert!(script_free(bad).is_err(), "checker accepted {bad}");
    }
    assert!(script_free(r#"<p><a href="/wiki/x" class="wikilink">x</a> &lt;script&gt;</p>"#).is_ok());
}

#[test]
fn wiki_link_target_breakout_stays_inside_the_title() {
    let html = render_html("[[a\" onmouseover=\"alert(1)]]");
    let tags = parse_tags(&html).unwrap();
    let span = tags.iter().find(|t| t.name == "span").expect("invalid link span");
    let names: Vec<_> = span.attributes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["class", "title"], "{html}");
    assert!(html.contains("a&quot; onmouseover=&quot;alert(1)"), "{html}");
}

#[test]
fn wiki_link_label_html_is_shown_as_text() {
    let html = render_html("[[existing/x|<img src=x onerror=alert(1)>]]");
    assert_eq!(
        html,
        "<p><a href=\"/wiki/existing/x\" class=\"wikilink\">&lt;img src=x onerror=alert(1)&gt;</a></p>\n"
    );
}

#[test]
fn code_fences_show_html_as_text() {
    let html = render_html("```html\n<script>alert(1)</script>\n```");
    assert!(html.contains("&lt;"), "{html}");
    assert!(html.contains("script"), "{html}");
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
}

#[test]
fn javascript_links_keep_their_text_but_lose_the_href() {
    assert_eq!(render_html("[click](javascript:alert(1))"), "<p><a>click</a></p>\n");
    assert_eq!(sanitize_html("<a href=\"jav&#x09;ascript:alert(1)\">x</a>"), "<a>x</a>");
}

#[test]
fn reserved_ids_are_dropped_and_other_ids_kept() {
    assert_eq!(
        sanitize_html("<h2 id=\"v-toc\">a</h2><h2 id=\"setup\">b</h2>"),
        "<h2>a</h2><h2 id=\"setup\">b</h2>"
    );
}
