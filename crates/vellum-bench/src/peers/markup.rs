//! The corpus in the peers' own markup, so that each wiki is sent the same
//! page in the language it renders: MediaWiki wikitext and DokuWiki syntax.
//!
//! The corpus (`crate::corpus`) writes a small, fixed subset of Markdown:
//! paragraphs of plain words, `##`/`###` headings, `- ` lists, pipe tables
//! with a header row, fenced code with a language, and `[[path]]` /
//! `[[path|label]]` links. Only that subset is converted, line by line; a
//! change to the corpus generator that writes something else shows up in the
//! tests below.

/// The markup of one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    MediaWiki,
    DokuWiki,
}

/// The page's name on the peer: MediaWiki titles capitalise their first
/// letter and keep the slashes; DokuWiki ids use `:` between namespaces.
pub fn page_name(dialect: Dialect, path: &str) -> String {
    match dialect {
        Dialect::MediaWiki => {
            let mut c = path.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        Dialect::DokuWiki => path.replace('/', ":"),
    }
}

/// `markdown` (from the corpus) in `dialect`; tags become MediaWiki
/// categories (DokuWiki has no tags without a plugin: dropped). Code blocks
/// are highlighted on both (DokuWiki's GeSHi is built in); `highlight`
/// false sends them to MediaWiki as `<pre>`, for a MediaWiki without the
/// SyntaxHighlight extension.
pub fn convert(dialect: Dialect, markdown: &str, tags: &[String], highlight: bool) -> String {
    let mut out = String::with_capacity(markdown.len() + 256);
    let mut code = false;
    let mut table_rows = 0usize;
    for line in markdown.lines() {
        if code {
            if line == "```" {
                code = false;
                out.push_str(match dialect {
                    Dialect::MediaWiki if highlight => "</syntaxhighlight>\n",
                    Dialect::MediaWiki => "</pre>\n",
                    Dialect::DokuWiki => "</code>\n",
                });
            } else {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        if line.starts_with('|') {
            table_row(dialect, line, table_rows, &mut out);
            table_rows += 1;
            continue;
        }
        if table_rows > 0 {
            table_rows = 0;
            if dialect == Dialect::MediaWiki {
                out.push_str("|}\n");
            }
        }
        if let Some(lang) = line.strip_prefix("```") {
            code = true;
            match dialect {
                Dialect::MediaWiki if highlight => out.push_str(&format!("<syntaxhighlight lang=\"{lang}\">\n")),
                Dialect::MediaWiki => out.push_str("<pre>\n"),
                // GeSHi, DokuWiki's highlighter, calls the shell `bash`.
                Dialect::DokuWiki => out.push_str(&format!("<code {}>\n", if lang == "sh" { "bash" } else { lang })),
            }
        } else if let Some(text) = line.strip_prefix("### ") {
            out.push_str(&heading(dialect, 3, text));
        } else if let Some(text) = line.strip_prefix("## ") {
            out.push_str(&heading(dialect, 2, text));
        } else if let Some(item) = line.strip_prefix("- ") {
            out.push_str(match dialect {
                Dialect::MediaWiki => "* ",
                Dialect::DokuWiki => "  * ",
            });
            out.push_str(&links(dialect, item));
            out.push('\n');
        } else {
            out.push_str(&links(dialect, line));
            out.push('\n');
        }
    }
    if table_rows > 0 && dialect == Dialect::MediaWiki {
        out.push_str("|}\n");
    }
    if dialect == Dialect::MediaWiki && !tags.is_empty() {
        out.push('\n');
        for tag in tags {
            out.push_str(&format!("[[Category:{tag}]]\n"));
        }
    }
    out
}

/// A Markdown heading of `level` (2 or 3): MediaWiki's `==` is `<h2>`;
/// DokuWiki counts down, `=====` is `<h2>`.
fn heading(dialect: Dialect, level: usize, text: &str) -> String {
    let marks = match dialect {
        Dialect::MediaWiki => "=".repeat(level),
        Dialect::DokuWiki => "=".repeat(7 - level),
    };
    format!("{marks} {text} {marks}\n")
}

/// One line of a pipe table: the first is the header, the second the
/// `|---|` separator (dropped).
fn table_row(dialect: Dialect, line: &str, index: usize, out: &mut String) {
    let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
    match (dialect, index) {
        (_, 1) => {}
        (Dialect::MediaWiki, 0) => {
            out.push_str("{| class=\"wikitable\"\n! ");
            out.push_str(&cells.join(" !! "));
            out.push('\n');
        }
        (Dialect::MediaWiki, _) => {
            out.push_str("|-\n| ");
            out.push_str(&cells.join(" || "));
            out.push('\n');
        }
        (Dialect::DokuWiki, 0) => {
            out.push_str("^ ");
            out.push_str(&cells.join(" ^ "));
            out.push_str(" ^\n");
        }
        (Dialect::DokuWiki, _) => {
            out.push_str("| ");
            out.push_str(&cells.join(" | "));
            out.push_str(" |\n");
        }
    }
}

/// `[[path]]` and `[[path|label]]`: MediaWiki takes them as they are (the
/// path is the title); DokuWiki wants the id.
fn links(dialect: Dialect, text: &str) -> String {
    if dialect == Dialect::MediaWiki {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("]]") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let (target, label) = after[..end]
            .split_once('|')
            .map_or((&after[..end], None), |(t, l)| (t, Some(l)));
        out.push_str("[[");
        out.push_str(&page_name(dialect, target));
        if let Some(label) = label {
            out.push('|');
            out.push_str(label);
        }
        out.push_str("]]");
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str =
        "Summary: Deploy the cache.\n\n## Release owner 1\n\n- First item.\n- See [[a/b/page-2|it]].\n\n\
        | name | owner | status |\n|---|---|---|\n| x | y | z |\n| p | q | r |\n\n\
        ```sh\nlet a_0 = \"b\"; // c\n```\n\n### Details\n\nWords. See [[a/b/page-3/missing-3]]. \n\n";

    #[test]
    fn wikitext() {
        let got = convert(Dialect::MediaWiki, PAGE, &["ops".to_owned()], true);
        let want = "Summary: Deploy the cache.\n\n== Release owner 1 ==\n\n* First item.\n* See [[a/b/page-2|it]].\n\n\
            {| class=\"wikitable\"\n! name !! owner !! status\n|-\n| x || y || z\n|-\n| p || q || r\n|}\n\n\
            <syntaxhighlight lang=\"sh\">\nlet a_0 = \"b\"; // c\n</syntaxhighlight>\n\n=== Details ===\n\n\
            Words. See [[a/b/page-3/missing-3]]. \n\n\n[[Category:ops]]\n";
        assert_eq!(got, want);
        let plain = convert(Dialect::MediaWiki, PAGE, &["ops".to_owned()], false);
        let want = want
            .replace("<syntaxhighlight lang=\"sh\">", "<pre>")
            .replace("</syntaxhighlight>", "</pre>");
        assert_eq!(plain, want);
    }

    #[test]
    fn dokuwiki() {
        let got = convert(Dialect::DokuWiki, PAGE, &["ops".to_owned()], true);
        let want = "Summary: Deploy the cache.\n\n===== Release owner 1 =====\n\n  * First item.\n  * See [[a:b:page-2|it]].\n\n\
            ^ name ^ owner ^ status ^\n| x | y | z |\n| p | q | r |\n\n\
            <code bash>\nlet a_0 = \"b\"; // c\n</code>\n\n==== Details ====\n\n\
            Words. See [[a:b:page-3:missing-3]]. \n\n";
        assert_eq!(got, want);
    }

    #[test]
    fn names() {
        assert_eq!(
            page_name(Dialect::MediaWiki, "people/guides/page-7"),
            "People/guides/page-7"
        );
        assert_eq!(
            page_name(Dialect::DokuWiki, "people/guides/page-7"),
            "people:guides:page-7"
        );
    }

    /// Every line the corpus writes is one the converter knows: nothing of
    /// the Markdown syntax is left over in either dialect.
    #[test]
    fn whole_corpus_converts() {
        for i in 0..300 {
            let page = crate::corpus::page(42, i, 2000);
            for dialect in [Dialect::MediaWiki, Dialect::DokuWiki] {
                let text = convert(dialect, &page.markdown, &page.tags, true);
                for line in text.lines() {
                    assert!(
                        !line.starts_with("##")
                            && !line.starts_with("- ")
                            && !line.starts_with("```")
                            && !line.contains("|---"),
                        "{dialect:?}, page {i}: {line}"
                    );
                    if dialect == Dialect::DokuWiki && line.contains("[[") {
                        assert!(!line.contains('/'), "a path left in a DokuWiki link, page {i}: {line}");
                    }
                }
            }
        }
    }
}
