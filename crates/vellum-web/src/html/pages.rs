//! `/wiki/{path}` and its sub-pages after `/-/`: view, edit (with preview
//! and conflict resolution), history, diff, backlinks, move, delete, revert.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use vellum_app::{AppError, DiffView, ErrorKind, Lookup, Page, PageRequest, PageSummary, RevisionInfo, SaveRequest};
use vellum_core::PagePath;
use vellum_markup::diff::LineKind;
use vellum_markup::TocEntry;

use super::{crumbs, encode_query, nav_for, render, wiki_href, Chrome, Crumb, HtmlError, HtmlResult, NavItem, St};
use crate::csrf::CsrfRejected;
use crate::extract::Visitor;

fn split(path: &str) -> (&str, Option<&str>) {
    match path.split_once("/-/") {
        Some((p, sub)) => (p, Some(sub)),
        None => (path, None),
    }
}

/// Redirects non-canonical spellings (`/wiki/Team/Hand Book`) to the
/// normalised path, keeping the sub-page.
fn canonical(raw: &str, sub: Option<&str>) -> Result<Option<Response>, HtmlError> {
    let path = PagePath::parse(raw).map_err(AppError::from)?;
    if path.as_str() == raw {
        return Ok(None);
    }
    let suffix = sub.map(|s| format!("/-/{s}")).unwrap_or_default();
    Ok(Some(
        Redirect::permanent(&format!("{}{suffix}", wiki_href(path.as_str()))).into_response(),
    ))
}

#[derive(Template)]
#[template(path = "page.html")]
struct PageTemplate {
    chrome: Chrome,
    page: Page,
    href: String,
    crumbs: Vec<Crumb>,
    nav: Vec<NavItem>,
    toc: Vec<TocEntry>,
    redirected_from: Option<String>,
}

#[derive(Template)]
#[template(path = "missing.html")]
struct MissingTemplate {
    chrome: Chrome,
    path: String,
    href: String,
    in_trash: bool,
    crumbs: Vec<Crumb>,
}

pub(crate) async fn get_wiki(
    State(s): St,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> HtmlResult {
    let (raw_page, sub) = split(&raw);
    if let Some(redirect) = canonical(raw_page, sub)? {
        return Ok(redirect);
    }
    match sub {
        None => view(&s, &v, raw_page, q.get("from").cloned()).await,
        Some("edit") => edit_form(&s, &v, raw_page).await,
        Some("history") => history(&s, &v, raw_page, q.get("cursor").cloned()).await,
        Some("diff") => diff(&s, &v, raw_page, &q).await,
        Some("backlinks") => backlinks(&s, &v, raw_page).await,
        Some("move") => move_form(&s, &v, raw_page, None, None).await,
        Some("delete") => delete_form(&s, &v, raw_page).await,
        Some(_) => Ok(super::not_found().await),
    }
}

async fn view(s: &crate::AppState, v: &Visitor, path: &str, from: Option<String>) -> HtmlResult {
    match s.app.lookup_for_reading(&v.actor, path).await? {
        Lookup::Found(page) => Ok(show(s, v, *page, from).await),
        Lookup::Moved(page) => {
            // Send the browser to the new address, saying where it came from.
            let to = format!("{}?from={}", wiki_href(&page.path), encode_query(path));
            Ok(Redirect::permanent(&to).into_response())
        }
        Lookup::Missing { path, in_trash } => {
            let t = MissingTemplate {
                chrome: Chrome::new(v, path.clone()),
                href: wiki_href(&path),
                crumbs: crumbs(PagePath::from_trusted(path.clone()).folder().as_str()),
                path,
                in_trash,
            };
            let mut res = render(&t);
            *res.status_mut() = axum::http::StatusCode::NOT_FOUND;
            Ok(res)
        }
    }
}

async fn show(s: &crate::AppState, v: &Visitor, page: Page, redirected_from: Option<String>) -> Response {
    let p = PagePath::from_trusted(page.path.clone());
    let nav = nav_for(s, v, &p.folder(), Some(&page.path)).await;
    let t = PageTemplate {
        chrome: Chrome::new(v, page.title.clone()),
        href: wiki_href(&page.path),
        crumbs: crumbs(p.folder().as_str()),
        nav,
        toc: page.toc.iter().filter(|e| e.level <= 3).cloned().collect(),
        page,
        redirected_from,
    };
    render(&t)
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditTemplate {
    chrome: Chrome,
    path: String,
    href: String,
    is_new: bool,
    title: String,
    markdown: String,
    summary: String,
    tags: String,
    base_revision: String,
    preview: Option<String>,
    error: Option<String>,
    conflict: Option<Conflict>,
}

struct Conflict {
    theirs: String,
    merged_with_markers: String,
}

async fn edit_form(s: &crate::AppState, v: &Visitor, path: &str) -> HtmlResult {
    let path = PagePath::parse(path).map_err(AppError::from)?;
    s.app.check_write(&v.actor, path.as_str()).await?;
    let t = match s.app.lookup(&v.actor, path.as_str()).await? {
        Lookup::Found(page) | Lookup::Moved(page) => EditTemplate {
            chrome: Chrome::new(v, format!("Editing {}", page.title)),
            href: wiki_href(&page.path),
            path: page.path.clone(),
            is_new: false,
            title: page.title.clone(),
            markdown: page.markdown.clone(),
            summary: String::new(),
            tags: page.tags.join(", "),
            base_revision: page.revision.to_string(),
            preview: None,
            error: None,
            conflict: None,
        },
        Lookup::Missing { path, .. } => EditTemplate {
            chrome: Chrome::new(v, format!("Creating {path}")),
            href: wiki_href(&path),
            title: PagePath::from_trusted(path.clone()).default_title(),
            path,
            is_new: true,
            markdown: String::new(),
            summary: String::new(),
            tags: String::new(),
            base_revision: String::new(),
            preview: None,
            error: None,
            conflict: None,
        },
    };
    Ok(render(&t))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct WikiForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    base_revision: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    revision: String,
}

pub(crate) async fn post_wiki(
    State(s): St,
    v: Visitor,
    Path(raw): Path<String>,
    rejected: Option<Extension<CsrfRejected>>,
    axum::Form(form): axum::Form<WikiForm>,
) -> HtmlResult {
    let (path, sub) = split(&raw);
    match sub {
        Some("edit") => save(&s, &v, path, form, rejected.is_some()).await,
        Some("move") => match s.app.move_page(&v.actor, path, &form.to).await {
            Ok(page) => Ok(Redirect::to(&wiki_href(&page.path)).into_response()),
            Err(e) if matches!(e.kind, ErrorKind::Conflict | ErrorKind::Invalid) => {
                move_form(&s, &v, path, Some(form.to), Some(e.message)).await
            }
            Err(e) => Err(e.into()),
        },
        Some("delete") => {
            s.app.delete_page(&v.actor, path).await?;
            Ok(Redirect::to("/trash").into_response())
        }
        Some("revert") => {
            let revision = form
                .revision
                .parse::<i64>()
                .map_err(|_| AppError::invalid("invalid_revision", "revision", "choose a revision to revert to"))?;
            let saved = s.app.revert(&v.actor, path, revision, Some(&form.summary)).await?;
            Ok(Redirect::to(&wiki_href(&saved.page.path)).into_response())
        }
        _ => Ok(super::not_found().await),
    }
}

async fn save(s: &crate::AppState, v: &Visitor, path: &str, form: WikiForm, csrf_rejected: bool) -> HtmlResult {
    let path = PagePath::parse(path).map_err(AppError::from)?;
    let base_revision = form.base_revision.trim().parse::<i64>().ok();
    let mut t = EditTemplate {
        chrome: Chrome::new(v, format!("Editing {}", form.title)),
        href: wiki_href(path.as_str()),
        path: path.as_str().to_owned(),
        is_new: base_revision.is_none(),
        title: form.title.clone(),
        markdown: form.markdown.clone(),
        summary: form.summary.clone(),
        tags: form.tags.clone(),
        base_revision: form.base_revision.clone(),
        preview: None,
        error: None,
        conflict: None,
    };
    if csrf_rejected {
        t.error = Some(
            "Your session changed while you were editing (you may have been signed out). Your text is below: \
             sign in again in another tab, then save."
                .into(),
        );
        return Ok(render(&t));
    }
    if form.action == "preview" {
        match s.app.preview(&v.actor, &form.markdown).await {
            Ok((html, _)) => t.preview = Some(html),
            Err(e) => t.error = Some(e.message),
        }
        return Ok(render(&t));
    }
    let req = SaveRequest {
        title: Some(form.title.clone()).filter(|t| !t.trim().is_empty()),
        markdown: form.markdown.clone(),
        summary: Some(form.summary.clone()),
        tags: Some(vellum_app::split_tags(&form.tags)),
        base_revision,
    };
    match s.app.save_page(&v.actor, path.as_str(), req).await {
        Ok(saved) => Ok(Redirect::to(&wiki_href(&saved.page.path)).into_response()),
        Err(e) if e.code == "edit_conflict" && e.details.is_some() => {
            let d = e.details.clone().unwrap_or_default();
            let field = |k: &str| d.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
            t.base_revision = d.get("current_revision").map(ToString::to_string).unwrap_or_default();
            t.error = Some(e.message);
            t.conflict = Some(Conflict {
                theirs: field("theirs"),
                merged_with_markers: field("merged_with_markers"),
            });
            let mut res = render(&t);
            *res.status_mut() = axum::http::StatusCode::CONFLICT;
            Ok(res)
        }
        Err(e) if !matches!(e.kind, ErrorKind::Internal | ErrorKind::Unauthenticated) => {
            // Keep the text on the screen whatever was wrong.
            let status = crate::error::status_of(e.kind);
            t.error = Some(e.message);
            let mut res = render(&t);
            *res.status_mut() = status;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryTemplate {
    chrome: Chrome,
    page: PageSummary,
    href: String,
    revisions: Vec<RevisionInfo>,
    current: i64,
    next: Option<String>,
}

async fn history(s: &crate::AppState, v: &Visitor, path: &str, cursor: Option<String>) -> HtmlResult {
    let page = s.app.page(&v.actor, path).await?;
    let list = s
        .app
        .history(
            &v.actor,
            path,
            &PageRequest {
                cursor,
                limit: Some(50),
            },
        )
        .await?;
    let href = wiki_href(&page.path);
    let t = HistoryTemplate {
        chrome: Chrome::new(v, format!("History of {}", page.title)),
        next: list.next_cursor.map(|c| format!("{href}/-/history?cursor={c}")),
        href,
        current: page.revision,
        page: PageSummary {
            path: page.path,
            title: page.title,
            updated_at: None,
        },
        revisions: list.items,
    };
    Ok(render(&t))
}

pub(crate) struct DiffRow {
    pub class: &'static str,
    pub sign: &'static str,
    pub old_no: String,
    pub new_no: String,
    /// Sanitized: built from escaped text and `<mark>` only.
    pub html: String,
}

#[derive(Template)]
#[template(path = "diff.html")]
struct DiffTemplate {
    chrome: Chrome,
    href: String,
    title: String,
    view: DiffView,
    hunks: Vec<Vec<DiffRow>>,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn diff_rows(view: &DiffView) -> Vec<Vec<DiffRow>> {
    view.diff
        .hunks
        .iter()
        .map(|h| {
            h.lines
                .iter()
                .map(|l| {
                    let (class, sign) = match l.kind {
                        LineKind::Added => ("add", "+"),
                        LineKind::Removed => ("del", "−"),
                        LineKind::Context => ("ctx", " "),
                    };
                    let html = l
                        .segments
                        .iter()
                        .map(|seg| {
                            let text = escape(seg.text.trim_end_matches('\n'));
                            if seg.emphasized {
                                format!("<mark>{text}</mark>")
                            } else {
                                text
                            }
                        })
                        .collect();
                    DiffRow {
                        class,
                        sign,
                        old_no: l.old_no.map(|n| n.to_string()).unwrap_or_default(),
                        new_no: l.new_no.map(|n| n.to_string()).unwrap_or_default(),
                        html,
                    }
                })
                .collect()
        })
        .collect()
}

async fn diff(s: &crate::AppState, v: &Visitor, path: &str, q: &HashMap<String, String>) -> HtmlResult {
    let num = |k: &str| {
        q.get(k).and_then(|x| x.parse::<i64>().ok()).ok_or_else(|| {
            AppError::new(
                ErrorKind::BadRequest,
                "invalid_query",
                "choose two revisions to compare on the history page",
            )
        })
    };
    let view = s.app.diff(&v.actor, path, num("from")?, num("to")?).await?;
    let hunks = diff_rows(&view);
    let t = DiffTemplate {
        chrome: Chrome::new(v, format!("Changes to {}", view.to.title)),
        href: wiki_href(&view.path),
        title: view.to.title.clone(),
        hunks,
        view,
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "list.html")]
pub(crate) struct ListTemplate {
    pub chrome: Chrome,
    pub heading: String,
    pub intro: String,
    pub items: Vec<ListItem>,
    pub next: Option<String>,
    pub empty: String,
}

pub(crate) struct ListItem {
    pub href: String,
    pub title: String,
    pub meta: String,
    pub missing: bool,
}

impl ListItem {
    pub(crate) fn page(p: &PageSummary) -> ListItem {
        ListItem {
            href: wiki_href(&p.path),
            title: p.title.clone(),
            meta: p.path.clone(),
            missing: false,
        }
    }
}

async fn backlinks(s: &crate::AppState, v: &Visitor, path: &str) -> HtmlResult {
    let page = s.app.page(&v.actor, path).await?;
    let items = s.app.backlinks(&v.actor, &page.path).await?;
    let t = ListTemplate {
        chrome: Chrome::new(v, format!("Links to {}", page.title)),
        heading: format!("What links to “{}”", page.title),
        intro: format!("Pages that link to {}.", page.path),
        items: items.iter().map(ListItem::page).collect(),
        next: None,
        empty: "No page links here yet.".into(),
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "move.html")]
struct MoveTemplate {
    chrome: Chrome,
    page: PageSummary,
    href: String,
    to: String,
    error: Option<String>,
}

async fn move_form(
    s: &crate::AppState,
    v: &Visitor,
    path: &str,
    to: Option<String>,
    error: Option<String>,
) -> HtmlResult {
    let page = s.app.page(&v.actor, path).await?;
    let t = MoveTemplate {
        chrome: Chrome::new(v, format!("Move {}", page.title)),
        href: wiki_href(&page.path),
        to: to.unwrap_or_else(|| page.path.clone()),
        page: PageSummary {
            path: page.path,
            title: page.title,
            updated_at: None,
        },
        error,
    };
    let mut res = render(&t);
    if t.error.is_some() {
        *res.status_mut() = axum::http::StatusCode::CONFLICT;
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeleteTemplate {
    chrome: Chrome,
    page: PageSummary,
    href: String,
}

async fn delete_form(s: &crate::AppState, v: &Visitor, path: &str) -> HtmlResult {
    let page = s.app.page(&v.actor, path).await?;
    let t = DeleteTemplate {
        chrome: Chrome::new(v, format!("Delete {}", page.title)),
        href: wiki_href(&page.path),
        page: PageSummary {
            path: page.path,
            title: page.title,
            updated_at: None,
        },
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "revision.html")]
struct RevisionTemplate {
    chrome: Chrome,
    rev: vellum_app::Revision,
    href: String,
}

pub(crate) async fn revision(State(s): St, v: Visitor, Path(id): Path<String>) -> HtmlResult {
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::new(ErrorKind::NotFound, "revision_not_found", "there is no such revision"))?;
    let rev = s.app.revision(&v.actor, id).await?;
    let t = RevisionTemplate {
        chrome: Chrome::new(&v, format!("{} (revision {})", rev.info.title, rev.info.id)),
        href: wiki_href(&rev.path),
        rev,
    };
    Ok(render(&t))
}
