//! Administrators' pages for accounts (`/admin/users`) and the audit log
//! (`/admin/audit`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use vellum_app::{
    AccountChange, AccountDetail, AccountQuery, AppError, AuditQuery, Code, ErrorKind, PageRequest, UserSummary,
};

use super::{render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_path, encode_query, see_other};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/admin/users", class(RouteClass::Small, get(users)))
        .route(
            "/admin/users/{username}",
            class(RouteClass::Small, get(user).post(user_post)),
        )
        .route("/admin/audit", class(RouteClass::Small, get(audit)))
}

fn user_href(name: &str) -> String {
    format!("/admin/users/{}", encode_path(name))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct UsersQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersTemplate {
    chrome: Chrome,
    q: String,
    role: String,
    status: String,
    roles: Vec<String>,
    users: Vec<UserSummary>,
    next: Option<String>,
}

async fn users(State(s): State<AppState>, v: Visitor, Query(q): Query<UsersQuery>) -> HtmlResult {
    let query = AccountQuery {
        q: Some(q.q.clone()),
        role: (!q.role.is_empty()).then(|| q.role.clone()),
        disabled: match q.status.as_str() {
            "disabled" => Some(true),
            "enabled" => Some(false),
            _ => None,
        },
    };
    let req = PageRequest {
        cursor: q.cursor.clone(),
        limit: None,
    };
    let list = s.app.users(&v.actor, &query, &req).await?;
    let roles = s
        .app
        .roles(&v.actor)
        .await?
        .into_iter()
        .map(|r| r.role.as_str().to_owned())
        .collect();
    let next = list.next_cursor.map(|c| {
        format!(
            "/admin/users?q={}&role={}&status={}&cursor={}",
            encode_query(&q.q),
            encode_query(&q.role),
            encode_query(&q.status),
            encode_query(&c)
        )
    });
    Ok(render_status(
        &UsersTemplate {
            chrome: Chrome::new(&v, "Users"),
            q: q.q,
            role: q.role,
            status: q.status,
            roles,
            users: list.items,
            next,
        },
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserTemplate {
    chrome: Chrome,
    user: AccountDetail,
    href: String,
    roles: Vec<String>,
    is_self: bool,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn user_page(
    s: &AppState,
    v: &Visitor,
    name: &str,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HtmlResult {
    let user = s.app.user(&v.actor, name).await?;
    let roles = s
        .app
        .roles(&v.actor)
        .await?
        .into_iter()
        .map(|r| r.role.as_str().to_owned())
        .collect();
    Ok(render_status(
        &UserTemplate {
            chrome: Chrome::new(v, user.summary.username.clone()),
            href: user_href(&user.summary.username),
            is_self: v.actor.user_id() == Some(user.summary.id),
            user,
            roles,
            message,
            error,
        },
        status,
    ))
}

async fn user(
    State(s): State<AppState>,
    v: Visitor,
    Path(name): Path<String>,
    Query(q): Query<DoneQuery>,
) -> HtmlResult {
    user_page(&s, &v, &name, q.done, None, StatusCode::OK).await
}

#[derive(serde::Deserialize)]
pub(crate) struct UserForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn user_post(
    State(s): State<AppState>,
    v: Visitor,
    Path(name): Path<String>,
    axum::Form(f): axum::Form<UserForm>,
) -> HtmlResult {
    let result: Result<String, AppError> = match f.action.as_str() {
        "profile" => s
            .app
            .update_user(
                &v.actor,
                &name,
                &AccountChange {
                    role: Some(f.role.clone()),
                    display_name: Some(f.display_name.clone()),
                    email: Some(f.email.clone()),
                    disabled: None,
                },
            )
            .await
            .map(|_| "Saved.".to_owned()),
        "disable" | "enable" => s
            .app
            .update_user(
                &v.actor,
                &name,
                &AccountChange {
                    disabled: Some(f.action == "disable"),
                    ..AccountChange::default()
                },
            )
            .await
            .map(|_| {
                if f.action == "disable" {
                    "Disabled. Its sessions and tokens have ended everywhere.".to_owned()
                } else {
                    "Enabled again.".to_owned()
                }
            }),
        "password" => s
            .app
            .reset_password(&v.actor, &name, &f.password)
            .await
            .map(|()| "The password is set. Its sessions and tokens have ended.".to_owned()),
        "reset_totp" => s
            .app
            .reset_totp(&v.actor, &name)
            .await
            .map(|()| "Two-factor sign-in is off for this account.".to_owned()),
        "delete" if f.confirm.trim().to_lowercase() != name.to_lowercase() => Err(AppError::invalid(
            Code::InvalidRequest,
            "confirm",
            "Type the user name to confirm the deletion.",
        )),
        "delete" => {
            s.app.delete_user(&v.actor, &name).await?;
            return Ok(see_other(&format!(
                "/admin/users?done={}",
                encode_query(&format!("Deleted {name}."))
            )));
        }
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(m) => Ok(see_other(&format!("{}?done={}", user_href(&name), encode_query(&m)))),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Invalid | ErrorKind::Conflict | ErrorKind::BadRequest
            ) =>
        {
            user_page(&s, &v, &name, None, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct AuditFilter {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
    cursor: Option<String>,
}

pub(crate) struct AuditRow {
    pub at: String,
    pub at_rfc3339: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub agent: String,
    pub details: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTemplate {
    chrome: Chrome,
    actor: String,
    action: String,
    since: String,
    rows: Vec<AuditRow>,
    next: Option<String>,
    error: Option<String>,
}

async fn audit(State(s): State<AppState>, v: Visitor, Query(q): Query<AuditFilter>) -> HtmlResult {
    let query = AuditQuery {
        actor: Some(q.actor.clone()),
        action: Some(q.action.clone()),
        since: Some(q.since.clone()),
    };
    let req = PageRequest {
        cursor: q.cursor.clone(),
        limit: Some(100),
    };
    let (rows, next, error) = match s.app.audit_log(&v.actor, &query, &req).await {
        Ok(page) => {
            let next = page.next_cursor.map(|c| {
                format!(
                    "/admin/audit?actor={}&action={}&since={}&cursor={}",
                    encode_query(&q.actor),
                    encode_query(&q.action),
                    encode_query(&q.since),
                    encode_query(&c)
                )
            });
            let rows = page
                .items
                .into_iter()
                .map(|e| AuditRow {
                    at: crate::fmt::seconds(e.at),
                    at_rfc3339: crate::fmt::rfc3339(e.at),
                    actor: e.actor.unwrap_or_else(|| "—".into()),
                    action: e.action,
                    target: e.target.unwrap_or_default(),
                    ip: e.ip.unwrap_or_default(),
                    agent: e.user_agent.unwrap_or_default(),
                    details: readable_details(&e.details),
                })
                .collect();
            (rows, next, None)
        }
        Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::BadRequest) => (Vec::new(), None, Some(e.message)),
        Err(e) => return Err(e.into()),
    };
    Ok(render_status(
        &AuditTemplate {
            chrome: Chrome::new(&v, "Audit log"),
            actor: q.actor,
            action: q.action,
            since: q.since,
            rows,
            next,
            error,
        },
        StatusCode::OK,
    ))
}

/// An entry's details for people: `key: value` pairs, leaving out what the
/// other columns already say (the action, ids) and empty values. The API
/// has the details as recorded.
fn readable_details(details: &serde_json::Value) -> Vec<(String, String)> {
    const SHOWN_ELSEWHERE: &[&str] = &[
        "action", "user", "group", "page", "session", "token", "username", "name",
    ];
    let Some(map) = details.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(k, v)| {
            !SHOWN_ELSEWHERE.contains(&k.as_str()) && !v.is_null() && *v != &serde_json::Value::Bool(false)
        })
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(true) => "yes".into(),
                serde_json::Value::Array(items) if items.iter().all(serde_json::Value::is_string) => items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k.replace('_', " "), value)
        })
        .collect()
}
