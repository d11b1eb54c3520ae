//! Moving a page and moving it to the trash.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use vellum_app::{ErrorKind, PageHead};

use super::pages::canonical;
use super::{render, render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{see_other, wiki_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/.sub/wiki/move/{*path}",
            class(RouteClass::Small, get(move_form).post(move_page)),
        )
        .route(
            "/.sub/wiki/delete/{*path}",
            class(RouteClass::Small, get(delete_form).post(delete)),
        )
}

#[derive(Template)]
#[template(path = "move.html")]
struct MoveTemplate {
    chrome: Chrome,
    page: PageHead,
    href: String,
    to: String,
    error: Option<String>,
}

async fn move_form(State(s): State<AppState>, v: Visitor, Path(raw): Path<String>) -> HtmlResult {
    let path = match canonical(&raw, Some("move"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    s.app.check_write(&v.actor, path.as_str()).await?;
    let page = s.app.page_head(&v.actor, path.as_str()).await?;
    Ok(render(&MoveTemplate {
        chrome: Chrome::new(&v, format!("Move {}", page.title)),
        href: wiki_href(&page.path),
        to: page.path.to_string(),
        page,
        error: None,
    }))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct MoveForm {
    #[serde(default)]
    to: String,
}

async fn move_page(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<MoveForm>,
) -> HtmlResult {
    match s.app.move_page(&v.actor, &raw, &form.to).await {
        Ok(page) => Ok(see_other(&wiki_href(&page.path))),
        Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::Invalid) => {
            let page = s.app.page_head(&v.actor, &raw).await?;
            let status = if e.kind() == ErrorKind::Conflict {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(render_status(
                &MoveTemplate {
                    chrome: Chrome::new(&v, format!("Move {}", page.title)),
                    href: wiki_href(&page.path),
                    page,
                    to: form.to,
                    error: Some(e.message),
                },
                status,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeleteTemplate {
    chrome: Chrome,
    page: PageHead,
    href: String,
}

async fn delete_form(State(s): State<AppState>, v: Visitor, Path(raw): Path<String>) -> HtmlResult {
    let path = match canonical(&raw, Some("delete"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    s.app.check_write(&v.actor, path.as_str()).await?;
    let page = s.app.page_head(&v.actor, path.as_str()).await?;
    Ok(render(&DeleteTemplate {
        chrome: Chrome::new(&v, format!("Delete {}", page.title)),
        href: wiki_href(&page.path),
        page,
    }))
}

async fn delete(State(s): State<AppState>, v: Visitor, Path(raw): Path<String>) -> HtmlResult {
    s.app.delete_page(&v.actor, &raw).await?;
    Ok(see_other("/trash"))
}
