//! The search page (`/search`), which works without JavaScript: the
//! header's box submits here, an exact page path jumps to the page, and
//! anything else is searched with filters, highlights, facets and pages of
//! results. The box's title suggestions come from
//! `/api/v1/search/titles` through a small script.

use askama::Template;
use axum::extract::{Query, State};
use axum::routing::get;
use vellum_app::{Lookup, PageRequest, SearchPage, SearchSort};
use vellum_core::PagePath;

use super::{escape, render, render_status, status_for, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::fmt::{rfc3339, short};
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, see_other, wiki_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new().route("/search", class(RouteClass::Small, get(search)))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct SearchQuery {
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

pub(crate) struct ResultItem {
    href: String,
    title: String,
    path: String,
    /// Escaped text with the matches in `<mark>`.
    snippet_html: String,
    tags: Vec<(String, String)>,
    updated: String,
    updated_title: String,
}

pub(crate) struct FacetLink {
    label: String,
    count: u64,
    href: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchTemplate {
    chrome: Chrome,
    q: String,
    by_updated: bool,
    error: Option<String>,
    searched: bool,
    total: usize,
    items: Vec<ResultItem>,
    tags: Vec<FacetLink>,
    folders: Vec<FacetLink>,
    did_you_mean: Option<(String, String)>,
    next: Option<String>,
    sort_href: String,
}

/// The snippet escaped, with each highlighted range in `<mark>`.
pub(crate) fn snippet_html(snippet: &str, highlights: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(snippet.len() + 32);
    let mut at = 0;
    for &(a, b) in highlights {
        let (Some(before), Some(hit)) = (snippet.get(at..a), snippet.get(a..b)) else {
            continue;
        };
        out.push_str(&escape(before));
        out.push_str("<mark>");
        out.push_str(&escape(hit));
        out.push_str("</mark>");
        at = b;
    }
    out.push_str(&escape(snippet.get(at..).unwrap_or("")));
    out
}

fn search_href(q: &str, sort: SearchSort, cursor: Option<&str>) -> String {
    let mut href = format!("/search?q={}", encode_query(q));
    if sort == SearchSort::Updated {
        href.push_str("&sort=updated");
    }
    if let Some(c) = cursor {
        href.push_str("&cursor=");
        href.push_str(&encode_query(c));
    }
    href
}

/// A query with one more filter (quoted when it has spaces).
fn refine(q: &str, field: &str, value: &str) -> String {
    let value = if value.contains(char::is_whitespace) {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    };
    format!("{} {field}:{value}", q.trim())
}

/// Whether `q` names a page directly (a path, not words): then the box
/// jumps there.
fn as_path(q: &str) -> Option<PagePath> {
    let q = q.trim();
    if q.is_empty() || q.contains(char::is_whitespace) || q.contains(':') || q.contains('"') {
        return None;
    }
    PagePath::parse(q.trim_start_matches('/')).ok()
}

async fn search(State(s): State<AppState>, v: Visitor, Query(params): Query<SearchQuery>) -> HtmlResult {
    let q = params.q.clone().unwrap_or_default();
    let sort = match params.sort.as_deref() {
        Some("updated") => SearchSort::Updated,
        _ => SearchSort::Relevance,
    };
    // An exact path jumps to the page (as the old "go to page" box did).
    if params.cursor.is_none() {
        if let Some(path) = as_path(&q) {
            if let Ok(Lookup::Found(p) | Lookup::Moved(p)) = s.app.lookup(&v.actor, path.as_str(), false).await {
                return Ok(see_other(&wiki_href(&p.path)));
            }
        }
    }
    let mut t = SearchTemplate {
        chrome: Chrome::new(
            &v,
            if q.trim().is_empty() {
                "Search".into()
            } else {
                format!("{} – search", q.trim())
            },
        ),
        q: q.clone(),
        by_updated: sort == SearchSort::Updated,
        error: None,
        searched: false,
        total: 0,
        items: Vec::new(),
        tags: Vec::new(),
        folders: Vec::new(),
        did_you_mean: None,
        next: None,
        sort_href: search_href(
            &q,
            if sort == SearchSort::Updated {
                SearchSort::Relevance
            } else {
                SearchSort::Updated
            },
            None,
        ),
    };
    if q.trim().is_empty() {
        return Ok(render(&t));
    }
    let req = PageRequest {
        cursor: params.cursor.clone(),
        limit: Some(20),
    };
    let page: SearchPage = match s.app.search(&v.actor, &q, sort, &req).await {
        Ok(p) => p,
        Err(e)
            if matches!(
                e.kind(),
                vellum_app::ErrorKind::Invalid | vellum_app::ErrorKind::BadRequest
            ) || e.code == vellum_app::Code::SearchUnavailable =>
        {
            let status = status_for(&e);
            t.error = Some(e.message);
            return Ok(render_status(&t, status));
        }
        Err(e) => return Err(e.into()),
    };
    t.searched = true;
    t.total = page.total;
    t.items = page
        .items
        .into_iter()
        .map(|h| ResultItem {
            href: wiki_href(&h.path),
            path: h.path.as_str().to_owned(),
            title: h.title,
            snippet_html: snippet_html(&h.snippet, &h.highlights),
            tags: h
                .tags
                .into_iter()
                .map(|tag| (format!("/tags/{}", encode_query(&tag)), tag))
                .collect(),
            updated: short(h.updated_at),
            updated_title: rfc3339(h.updated_at),
        })
        .collect();
    t.tags = page
        .tags
        .into_iter()
        .map(|(tag, count)| FacetLink {
            href: search_href(&refine(&q, "tag", &tag), sort, None),
            label: tag,
            count,
        })
        .collect();
    t.folders = page
        .folders
        .into_iter()
        .map(|(folder, count)| FacetLink {
            href: if folder.is_empty() {
                String::new()
            } else {
                search_href(&refine(&q, "path", &folder), sort, None)
            },
            label: if folder.is_empty() {
                "(top level)".into()
            } else {
                folder
            },
            count,
        })
        .collect();
    t.did_you_mean = page.did_you_mean.map(|d| (search_href(&d, sort, None), d));
    t.next = page.next_cursor.map(|c| search_href(&q, sort, Some(&c)));
    Ok(render(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_escaped_and_marked() {
        assert_eq!(
            snippet_html("a <b> rollback & more", &[(6, 14)]),
            "a &lt;b&gt; <mark>rollback</mark> &amp; more"
        );
        // Ranges off a character boundary are skipped, never a panic.
        assert_eq!(snippet_html("é", &[(1, 2)]), "é");
    }

    #[test]
    fn paths_jump_and_words_search() {
        assert!(as_path("ops/deploy").is_some());
        assert!(as_path("/ops/deploy").is_some());
        assert!(as_path("rolling update").is_none());
        assert!(as_path("tag:ops").is_none());
        assert_eq!(refine("deploy", "tag", "ops"), "deploy tag:ops");
        assert_eq!(refine("deploy", "path", "a b"), "deploy path:\"a b\"");
    }
}
