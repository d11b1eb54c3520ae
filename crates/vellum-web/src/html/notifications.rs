//! `/notifications`: the notification centre (read, mark read, the
//! "watch what I create" setting), and the watch button of pages
//! (`POST /wiki/{path}/-/watch`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use vellum_app::{AppError, Code, NotificationView, PageRequest};

use super::pages::canonical;
use super::{render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, see_other, wiki_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/notifications",
            class(RouteClass::Small, get(notifications).post(notifications_post)),
        )
        .route("/.sub/wiki/watch/{*path}", class(RouteClass::Small, post(watch_post)))
        .route("/watch-folder", class(RouteClass::Small, post(watch_folder_post)))
        .route(
            "/notifications/unsubscribe",
            class(RouteClass::Small, get(unsubscribe_form).post(unsubscribe)),
        )
}

pub(crate) struct NotificationRow {
    pub href: String,
    pub title: String,
    pub what: String,
    pub who: String,
    pub when: String,
    pub when_rfc3339: String,
    pub read: bool,
}

fn row(n: &NotificationView) -> NotificationRow {
    let mut href = wiki_href(&n.path);
    if let Some(c) = n.comment_id {
        href.push_str(&format!("#c{c}"));
    }
    NotificationRow {
        href,
        title: n.title.clone(),
        what: match n.kind.as_str() {
            "comment" => "commented on",
            "reply" => "replied on",
            "mention" => "mentioned you on",
            "review" => "review due:",
            _ => "changed",
        }
        .to_owned(),
        who: match n.kind.as_str() {
            "review" => "Reminder,".into(),
            _ => n
                .actor_display
                .clone()
                .or_else(|| n.actor.clone())
                .unwrap_or_else(|| "Someone".into()),
        },
        when: crate::fmt::short(n.created_at),
        when_rfc3339: crate::fmt::rfc3339(n.created_at),
        read: n.read,
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsTemplate {
    chrome: Chrome,
    rows: Vec<NotificationRow>,
    unread: i64,
    unread_only: bool,
    next: Option<String>,
    watch_created: bool,
    email: String,
    mail_enabled: bool,
    message: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct NotificationsQuery {
    #[serde(default)]
    unread: String,
    cursor: Option<String>,
    done: Option<String>,
}

async fn notifications(State(s): State<AppState>, v: Visitor, Query(q): Query<NotificationsQuery>) -> HtmlResult {
    let unread_only = q.unread == "1";
    let req = PageRequest {
        cursor: q.cursor.clone(),
        limit: Some(50),
    };
    let n = s.app.notifications(&v.actor, unread_only, &req).await?;
    let next = n
        .page
        .next_cursor
        .map(|c| format!("/notifications?unread={}&cursor={}", q.unread, encode_query(&c)));
    Ok(render_status(
        &NotificationsTemplate {
            chrome: Chrome::new(&v, "Notifications"),
            rows: n.page.items.iter().map(row).collect(),
            unread: n.unread,
            unread_only,
            next,
            watch_created: s.app.watch_created(&v.actor).await?,
            email: s.app.email_mode(&v.actor).await?.as_str().to_owned(),
            mail_enabled: s.app.mail_enabled(),
            message: q.done,
        },
        StatusCode::OK,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct NotificationsForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    watch_created: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

async fn notifications_post(
    State(s): State<AppState>,
    v: Visitor,
    axum::Form(f): axum::Form<NotificationsForm>,
) -> HtmlResult {
    let message = match f.action.as_str() {
        "read_all" => {
            s.app.mark_notifications_read(&v.actor, None).await?;
            "Everything is marked read."
        }
        "settings" => {
            s.app.set_watch_created(&v.actor, f.watch_created.is_some()).await?;
            if let Some(mode) = &f.email {
                s.app.set_email_mode(&v.actor, mode).await?;
            }
            "Settings saved."
        }
        _ => return Err(AppError::new(Code::InvalidRequest, "That form action is unknown. Reload the page.").into()),
    };
    Ok(see_other(&format!("/notifications?done={}", encode_query(message))))
}

#[derive(serde::Deserialize)]
pub(crate) struct WatchForm {
    #[serde(default)]
    action: String,
}

async fn watch_post(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    axum::Form(f): axum::Form<WatchForm>,
) -> HtmlResult {
    let path = match canonical(&raw, Some("watch"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    let on = match f.action.as_str() {
        "watch" => true,
        "unwatch" => false,
        _ => return Err(AppError::new(Code::InvalidRequest, "That form action is unknown. Reload the page.").into()),
    };
    s.app.watch_page(&v.actor, path.as_str(), on).await?;
    Ok(see_other(&wiki_href(&path)))
}

#[derive(serde::Deserialize)]
pub(crate) struct WatchFolderForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    folder: String,
}

/// The watch button of folder pages (`""`: the whole wiki).
async fn watch_folder_post(
    State(s): State<AppState>,
    v: Visitor,
    axum::Form(f): axum::Form<WatchFolderForm>,
) -> HtmlResult {
    let on = match f.action.as_str() {
        "watch" => true,
        "unwatch" => false,
        _ => return Err(AppError::new(Code::InvalidRequest, "That form action is unknown. Reload the page.").into()),
    };
    s.app.watch_folder(&v.actor, &f.folder, on).await?;
    let folder = vellum_core::FolderPath::parse(f.folder.trim_matches('/')).map_err(AppError::from)?;
    Ok(see_other(&crate::urls::folder_href(&folder)))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct UnsubscribeQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribeTemplate {
    chrome: Chrome,
    token: String,
    done: Option<String>,
}

/// The link in every notification mail: a button (a GET changes nothing,
/// so that mail scanners following links do not unsubscribe anyone).
async fn unsubscribe_form(v: Visitor, Query(q): Query<UnsubscribeQuery>) -> HtmlResult {
    Ok(render_status(
        &UnsubscribeTemplate {
            chrome: Chrome::new(&v, "Stop notification mail"),
            token: q.token,
            done: None,
        },
        StatusCode::OK,
    ))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct UnsubscribeForm {
    #[serde(default)]
    token: String,
}

/// The button, and mail programs' one-click unsubscribe (RFC 8058: a form
/// post of `List-Unsubscribe=One-Click` to the link, token in the address).
async fn unsubscribe(
    State(s): State<AppState>,
    v: Visitor,
    Query(q): Query<UnsubscribeQuery>,
    axum::Form(f): axum::Form<UnsubscribeForm>,
) -> HtmlResult {
    let token = if q.token.is_empty() { f.token } else { q.token };
    let name = s.app.unsubscribe(&token).await?;
    Ok(render_status(
        &UnsubscribeTemplate {
            chrome: Chrome::new(&v, "Stop notification mail"),
            token: String::new(),
            done: Some(name),
        },
        StatusCode::OK,
    ))
}
