//! Sign-in, sign-out, first-run setup and the administration page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use vellum_app::{AppError, NewAccount, NewSession, Role};

use super::{render, Chrome, HtmlResult, St};
use crate::api::session_cookie;
use crate::extract::Visitor;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    chrome: Chrome,
    next: String,
    username: String,
    error: Option<String>,
}

/// Only local paths are allowed as a post-login destination.
fn safe_next(next: Option<&String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n.clone(),
        _ => "/".into(),
    }
}

pub(crate) async fn login_form(v: Visitor, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
    let t = LoginTemplate {
        chrome: Chrome::new(&v, "Sign in"),
        next: safe_next(q.get("next")),
        username: String::new(),
        error: None,
    };
    Ok(render(&t))
}

#[derive(serde::Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn signed_in(s: &crate::AppState, new: &NewSession, to: &str) -> Response {
    let mut res = Redirect::to(to).into_response();
    if let Some(c) = session_cookie(&new.token, s.app.config().session_ttl.as_secs(), s.opts.secure_cookies) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

pub(crate) async fn login(State(s): St, v: Visitor, axum::Form(f): axum::Form<LoginForm>) -> HtmlResult {
    let next = safe_next(Some(&f.next));
    match s.app.login(&f.username, &f.password).await {
        Ok(new) => Ok(signed_in(&s, &new, &next)),
        Err(e) if e.kind == vellum_app::ErrorKind::Unauthenticated => {
            let t = LoginTemplate {
                chrome: Chrome::new(&v, "Sign in"),
                next,
                username: f.username,
                error: Some(e.message),
            };
            let mut res = render(&t);
            *res.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn logout(State(s): St, v: Visitor) -> HtmlResult {
    if let Some(token) = &v.session_token {
        s.app.logout(token).await?;
    }
    let mut res = Redirect::to("/login").into_response();
    if let Some(c) = session_cookie("", 0, s.opts.secure_cookies) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupTemplate {
    chrome: Chrome,
    token: String,
    username: String,
    display_name: String,
    error: Option<String>,
}

pub(crate) async fn setup_form(State(s): St, v: Visitor, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
    let token = q.get("token").cloned().unwrap_or_default();
    s.app.check_setup_token(&token).await?;
    let t = SetupTemplate {
        chrome: Chrome::new(&v, "Set up Vellum"),
        token,
        username: String::new(),
        display_name: String::new(),
        error: None,
    };
    Ok(render(&t))
}

#[derive(serde::Deserialize)]
pub(crate) struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

pub(crate) async fn setup(State(s): St, v: Visitor, axum::Form(f): axum::Form<SetupForm>) -> HtmlResult {
    let again = |msg: String| {
        let t = SetupTemplate {
            chrome: Chrome::new(&v, "Set up Vellum"),
            token: f.token.clone(),
            username: f.username.clone(),
            display_name: f.display_name.clone(),
            error: Some(msg),
        };
        let mut res = render(&t);
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        res
    };
    if f.password != f.password_again {
        return Ok(again("The two passwords differ; type the same password twice.".into()));
    }
    let account = NewAccount {
        username: &f.username,
        display_name: Some(&f.display_name),
        password: &f.password,
        role: Role::Admin,
    };
    match s.app.complete_setup(&f.token, account).await {
        Ok(new) => Ok(signed_in(&s, &new, "/wiki/home")),
        Err(e) if e.kind == vellum_app::ErrorKind::Invalid => Ok(again(e.message)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminTemplate {
    chrome: Chrome,
    anonymous_read: bool,
    message: Option<String>,
    error: Option<String>,
}

pub(crate) async fn admin(State(s): St, v: Visitor, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
    let policy = s.app.site_settings(&v.actor).await?;
    let t = AdminTemplate {
        chrome: Chrome::new(&v, "Administration"),
        anonymous_read: policy.anonymous_read,
        message: q.get("done").cloned(),
        error: None,
    };
    Ok(render(&t))
}

#[derive(serde::Deserialize)]
pub(crate) struct AdminForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    anonymous_read: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

pub(crate) async fn admin_post(State(s): St, v: Visitor, axum::Form(f): axum::Form<AdminForm>) -> HtmlResult {
    let result: Result<String, AppError> = match f.action.as_str() {
        "settings" => s
            .app
            .set_anonymous_read(&v.actor, f.anonymous_read.is_some())
            .await
            .map(|()| "Settings saved.".to_owned()),
        "create_user" => {
            let role = Role::parse(&f.role).unwrap_or(Role::Viewer);
            let account = NewAccount {
                username: &f.username,
                display_name: None,
                password: &f.password,
                role,
            };
            s.app
                .create_user(Some(&v.actor), account)
                .await
                .map(|_| format!("Created {} as {}.", f.username.trim(), role.as_str()))
        }
        _ => Err(AppError::invalid("invalid_action", "action", "unknown action")),
    };
    match result {
        Ok(msg) => Ok(Redirect::to(&format!("/admin?done={}", super::encode_query(&msg))).into_response()),
        Err(e) if matches!(e.kind, vellum_app::ErrorKind::Invalid | vellum_app::ErrorKind::Conflict) => {
            let policy = s.app.site_settings(&v.actor).await?;
            let t = AdminTemplate {
                chrome: Chrome::new(&v, "Administration"),
                anonymous_read: policy.anonymous_read,
                message: None,
                error: Some(e.message),
            };
            let mut res = render(&t);
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}
