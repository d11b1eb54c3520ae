//! Comments under a page (`/wiki/{path}`, section `#comments`) and their
//! forms (`POST /wiki/{path}/-/comments`): new threads, replies, edits,
//! deletions, resolving and reopening, all without JavaScript.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use vellum_app::{AppError, Code, CommentView, ErrorKind, Lookup, Paged};

use super::pages::{canonical, show_with};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{see_other, wiki_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new().route(
        "/.sub/wiki/comments/{*path}",
        class(RouteClass::Page, post(comments_post)),
    )
}

pub(crate) struct CommentRow {
    pub id: i64,
    pub author: String,
    pub author_name: String,
    pub when: String,
    pub when_rfc3339: String,
    pub html: String,
    pub markdown: String,
    pub edited: bool,
    pub deleted: bool,
    pub can_edit: bool,
    pub can_delete: bool,
}

pub(crate) struct ThreadRow {
    pub first: CommentRow,
    pub replies: Vec<CommentRow>,
    pub resolved: bool,
    pub resolved_by: String,
    pub can_resolve: bool,
}

/// The comments section: threads with their replies, and the counts.
#[derive(Default)]
pub(crate) struct CommentsSection {
    pub threads: Vec<ThreadRow>,
    pub count: usize,
    pub open: usize,
    /// More comments than are shown (the API pages through all).
    pub more: bool,
    /// A form that failed: its error, the comment it was about (0: a new
    /// thread) and the text, kept.
    pub error: Option<String>,
    pub error_for: i64,
    pub draft: String,
}

fn row(c: &CommentView) -> CommentRow {
    CommentRow {
        id: c.id,
        author: c
            .author_display
            .clone()
            .or_else(|| c.author.clone())
            .unwrap_or_else(|| "Deleted comment".into()),
        author_name: c.author.clone().unwrap_or_default(),
        when: crate::fmt::short(c.created_at),
        when_rfc3339: crate::fmt::rfc3339(c.created_at),
        html: c.html.clone(),
        markdown: c.markdown.clone(),
        edited: c.edited_at.is_some(),
        deleted: c.deleted,
        can_edit: c.can_edit,
        can_delete: c.can_delete,
    }
}

/// The comments under a page, from what its view holds (at most
/// [`vellum_app::PAGE_VIEW_COMMENTS`]; the API has them all).
pub(crate) fn section(page: &Paged<CommentView>) -> CommentsSection {
    let mut threads: Vec<ThreadRow> = Vec::new();
    let mut count = 0;
    for c in &page.items {
        if !c.deleted {
            count += 1;
        }
        if c.parent_id.is_none() {
            threads.push(ThreadRow {
                first: row(c),
                replies: Vec::new(),
                resolved: c.resolved,
                resolved_by: c.resolved_by.clone().unwrap_or_default(),
                can_resolve: c.can_resolve,
            });
        } else if let Some(t) = threads.last_mut().filter(|t| t.first.id == c.thread_id) {
            t.replies.push(row(c));
        }
    }
    // A thread whose every comment was deleted says nothing any more.
    threads.retain(|t| !(t.first.deleted && t.replies.iter().all(|r| r.deleted)));
    let open = threads.iter().filter(|t| !t.resolved).count();
    CommentsSection {
        threads,
        count,
        open,
        more: page.next_cursor.is_some(),
        ..CommentsSection::default()
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct CommentForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    markdown: String,
}

async fn comments_post(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    axum::Form(f): axum::Form<CommentForm>,
) -> HtmlResult {
    let path = match canonical(&raw, Some("comments"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    let id = match f.id.trim() {
        "" => None,
        n => Some(
            n.parse::<i64>()
                .map_err(|_| AppError::new(Code::InvalidId, "That comment id is not a number. Reload the page."))?,
        ),
    };
    let need_id = || id.ok_or_else(|| AppError::new(Code::InvalidId, "The form names no comment. Reload the page."));
    let result = match f.action.as_str() {
        "add" => s
            .app
            .add_comment(&v.actor, path.as_str(), &f.markdown, id)
            .await
            .map(|c| c.id),
        "edit" => match need_id() {
            Ok(id) => s.app.edit_comment(&v.actor, id, &f.markdown).await.map(|c| c.id),
            Err(e) => Err(e),
        },
        "delete" => match need_id() {
            Ok(id) => s.app.delete_comment(&v.actor, id).await.map(|()| 0),
            Err(e) => Err(e),
        },
        "resolve" | "reopen" => match need_id() {
            Ok(id) => s
                .app
                .resolve_comment(&v.actor, id, f.action == "resolve")
                .await
                .map(|c| c.id),
            Err(e) => Err(e),
        },
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(0) => Ok(see_other(&format!("{}#comments", wiki_href(&path)))),
        Ok(id) => Ok(see_other(&format!("{}#c{id}", wiki_href(&path)))),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Invalid | ErrorKind::BadRequest | ErrorKind::Forbidden
            ) =>
        {
            // The page again, with the reason beside the form and the text kept.
            let Lookup::Found(view) = s.app.page_view(&v.actor, path.as_str()).await? else {
                return Err(e.into());
            };
            let status = if e.kind() == ErrorKind::Forbidden {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let mut section = section(&view.comments);
            section.error = Some(e.message);
            section.error_for = id.unwrap_or(0);
            section.draft = f.markdown;
            Ok(show_with(&v, *view, None, section, status))
        }
        Err(e) => Err(e.into()),
    }
}
