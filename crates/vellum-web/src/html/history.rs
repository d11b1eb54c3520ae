//! A page's past: history, diffs between revisions, old revisions, what
//! links here, and reverting to an old revision (with a confirmation).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use vellum_app::{AppError, Code, DiffView, PageHead, PageRequest, Revision, RevisionInfo};
use vellum_core::RevisionId;
use vellum_markup::diff::LineKind;

use super::pages::canonical;
use super::{escape, render, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, see_other, wiki_href, wiki_sub_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/.sub/wiki/history/{*path}", class(RouteClass::Small, get(history)))
        .route("/.sub/wiki/diff/{*path}", class(RouteClass::Small, get(diff)))
        .route("/.sub/wiki/backlinks/{*path}", class(RouteClass::Small, get(backlinks)))
        .route(
            "/.sub/wiki/revert/{*path}",
            class(RouteClass::Small, get(revert_form).post(revert)),
        )
        .route("/revisions/{id}", class(RouteClass::Small, get(revision)))
}

/// Resolves a sub-page's address: the page's canonical path, or a
/// redirect to the canonical address.
macro_rules! page_or_redirect {
    ($raw:expr, $sub:literal) => {
        match canonical(&$raw, Some($sub))? {
            Ok(p) => p,
            Err(redirect) => return Ok(redirect),
        }
    };
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryTemplate {
    chrome: Chrome,
    page: PageHead,
    href: String,
    revisions: Vec<RevisionInfo>,
    next: Option<String>,
    can_revert: bool,
    /// Who confirmed the page when, newest first (page verification).
    verifications: Vec<vellum_app::VerificationView>,
}

impl HistoryTemplate {
    /// Someone marked this revision verified.
    fn verified(&self, revision: impl std::borrow::Borrow<vellum_core::RevisionId>) -> bool {
        let r = *revision.borrow();
        self.verifications.iter().any(|x| x.revision == r)
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct CursorQuery {
    cursor: Option<String>,
}

async fn history(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<CursorQuery>,
) -> HtmlResult {
    let path = page_or_redirect!(raw, "history");
    let page = s.app.page_head(&v.actor, path.as_str()).await?;
    let list = s
        .app
        .history(
            &v.actor,
            page.path.as_str(),
            &PageRequest {
                cursor: q.cursor,
                limit: Some(50),
            },
        )
        .await?;
    let can = s.app.capabilities(&v.actor, &page.path).await?;
    let verifications = s.app.page_review(&v.actor, page.path.as_str()).await?.history;
    let href = wiki_href(&page.path);
    let t = HistoryTemplate {
        verifications,
        chrome: Chrome::new(&v, format!("History of {}", page.title)),
        next: list
            .next_cursor
            .map(|c| format!("{}?cursor={}", wiki_sub_href(&page.path, "history"), encode_query(&c))),
        href,
        page,
        revisions: list.items,
        can_revert: can.edit,
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
    can_revert: bool,
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

#[derive(serde::Deserialize)]
pub(crate) struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

fn revision_param(raw: Option<&str>) -> Result<RevisionId, AppError> {
    raw.and_then(|x| x.parse::<i64>().ok()).map(RevisionId).ok_or_else(|| {
        AppError::new(
            Code::InvalidQuery,
            "Choose two revisions to compare on the page's history.",
        )
    })
}

async fn diff(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<DiffQuery>,
) -> HtmlResult {
    let path = page_or_redirect!(raw, "diff");
    let from = revision_param(q.from.as_deref())?;
    let to = revision_param(q.to.as_deref())?;
    let view = s.app.diff(&v.actor, path.as_str(), from, to).await?;
    let can = s.app.capabilities(&v.actor, &view.path).await?;
    let hunks = diff_rows(&view);
    let t = DiffTemplate {
        chrome: Chrome::new(&v, format!("Changes to {}", view.to.title)),
        href: wiki_href(&view.path),
        title: view.to.title.to_string(),
        hunks,
        view,
        can_revert: can.edit,
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
    pub(crate) fn page(p: &vellum_app::PageSummary) -> ListItem {
        ListItem {
            href: wiki_href(&p.path),
            title: p.title.to_string(),
            meta: p.path.to_string(),
            missing: false,
        }
    }
}

async fn backlinks(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<CursorQuery>,
) -> HtmlResult {
    let path = page_or_redirect!(raw, "backlinks");
    let page = s.app.page_head(&v.actor, path.as_str()).await?;
    let list = s
        .app
        .backlinks(
            &v.actor,
            page.path.as_str(),
            &PageRequest {
                cursor: q.cursor,
                limit: Some(100),
            },
        )
        .await?;
    let t = ListTemplate {
        chrome: Chrome::new(&v, format!("Links to {}", page.title)),
        heading: format!("What links to “{}”", page.title),
        intro: format!("Pages that link to {}.", page.path),
        items: list.items.iter().map(ListItem::page).collect(),
        next: list
            .next_cursor
            .map(|c| format!("{}?cursor={}", wiki_sub_href(&page.path, "backlinks"), encode_query(&c))),
        empty: "No page links here yet.".into(),
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "revision.html")]
struct RevisionTemplate {
    chrome: Chrome,
    rev: Revision,
    href: String,
    can_revert: bool,
}

async fn revision(State(s): State<AppState>, v: Visitor, Path(id): Path<String>) -> HtmlResult {
    let id = id
        .parse::<i64>()
        .map(RevisionId)
        .map_err(|_| AppError::new(Code::RevisionNotFound, "There is no such revision."))?;
    let rev = s.app.revision(&v.actor, id).await?;
    let can = s.app.capabilities(&v.actor, &rev.path).await?;
    let t = RevisionTemplate {
        chrome: Chrome::new(&v, format!("{} (revision {})", rev.info.title, rev.info.number)),
        href: wiki_href(&rev.path),
        can_revert: can.edit && !rev.is_current,
        rev,
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "revert.html")]
struct RevertTemplate {
    chrome: Chrome,
    page: PageHead,
    href: String,
    rev: RevisionInfo,
}

#[derive(serde::Deserialize)]
pub(crate) struct RevertQuery {
    revision: Option<String>,
}

/// Asks before reverting.
async fn revert_form(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<RevertQuery>,
) -> HtmlResult {
    let path = page_or_redirect!(raw, "revert");
    let id = revision_param(q.revision.as_deref())?;
    s.app.check_write(&v.actor, path.as_str()).await?;
    let page = s.app.page_head(&v.actor, path.as_str()).await?;
    let rev = s.app.revision(&v.actor, id).await?;
    if rev.info.page != page.id {
        return Err(AppError::new(
            Code::RevisionNotFound,
            format!("Revision {id} is not a revision of “{}”.", page.path),
        )
        .into());
    }
    let t = RevertTemplate {
        chrome: Chrome::new(&v, format!("Revert {}", page.title)),
        href: wiki_href(&page.path),
        page,
        rev: rev.info,
    };
    Ok(render(&t))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct RevertForm {
    #[serde(default)]
    revision: String,
    #[serde(default)]
    summary: String,
}

async fn revert(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<RevertForm>,
) -> Result<Response, crate::error::HtmlError> {
    let id = revision_param(Some(&form.revision))?;
    let saved = s.app.revert(&v.actor, &raw, id, Some(&form.summary)).await?;
    Ok(see_other(&wiki_href(&saved.page.path)))
}
