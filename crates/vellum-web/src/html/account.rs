//! Sign-in, sign-out, first-run setup and the administration page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use vellum_app::{AppError, Code, ErrorKind, LoginStep, NewAccount, NewSession, Role, SettingsChange};

use super::{render, render_status, Chrome};
use crate::cookies::{cleared, session_cookie};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, safe_next, see_other};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/login", class(RouteClass::Small, get(login_form).post(login)))
        .route("/login/code", class(RouteClass::Small, post(login_code)))
        .route("/logout", class(RouteClass::Small, post(logout)))
        .route("/setup", class(RouteClass::Small, get(setup_form).post(setup)))
        .route("/admin", class(RouteClass::Small, get(admin).post(admin_post)))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    chrome: Chrome,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

async fn login_form(v: Visitor, Query(q): Query<NextQuery>) -> HtmlResult {
    Ok(render(&LoginTemplate {
        chrome: Chrome::new(&v, "Sign in"),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
    }))
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

fn signed_in(s: &AppState, new: &NewSession, to: &str) -> Response {
    let mut res = see_other(to);
    if let Some(c) = session_cookie(&new.token, s.app.config().session_ttl.as_secs(), s.opts.secure()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

async fn login(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<LoginForm>) -> HtmlResult {
    let next = safe_next(Some(&f.next));
    match s.app.login_step(&f.username, &f.password).await {
        Ok(LoginStep::Done(new)) => Ok(signed_in(&s, &new, &next)),
        Ok(LoginStep::SecondFactor { ticket }) => Ok(render(&LoginCodeTemplate {
            chrome: Chrome::new(&v, "Sign in"),
            next,
            ticket,
            error: None,
        })),
        Err(e) if matches!(e.kind(), ErrorKind::Unauthenticated | ErrorKind::TooManyRequests) => {
            let status = crate::error::status_of(e.kind());
            let mut res = render_status(
                &LoginTemplate {
                    chrome: Chrome::new(&v, "Sign in"),
                    next,
                    username: f.username,
                    error: Some(e.message),
                },
                status,
            );
            if let Some(secs) = e.retry_after {
                if let Ok(h) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, h);
                }
            }
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct LoginCodeTemplate {
    chrome: Chrome,
    next: String,
    ticket: String,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// The second step of signing in: the code from the app.
async fn login_code(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<CodeForm>) -> HtmlResult {
    let next = safe_next(Some(&f.next));
    match s.app.login_second_factor(&f.ticket, &f.code).await {
        Ok(new) => Ok(signed_in(&s, &new, &next)),
        // The ticket is no good: start over.
        Err(e) if e.code == Code::InvalidCredentials => Ok(render_status(
            &LoginTemplate {
                chrome: Chrome::new(&v, "Sign in"),
                next,
                username: String::new(),
                error: Some(e.message),
            },
            StatusCode::UNAUTHORIZED,
        )),
        Err(e) if matches!(e.kind(), ErrorKind::Unauthenticated | ErrorKind::TooManyRequests) => {
            let status = crate::error::status_of(e.kind());
            Ok(render_status(
                &LoginCodeTemplate {
                    chrome: Chrome::new(&v, "Sign in"),
                    next,
                    ticket: f.ticket,
                    error: Some(e.message),
                },
                status,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(State(s): State<AppState>, v: Visitor) -> HtmlResult {
    if let Some(token) = &v.session_token {
        s.app.logout(token).await?;
    }
    let mut res = see_other("/login");
    if let Some(c) = cleared(s.opts.secure()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "setup_pending.html")]
struct SetupPendingTemplate {
    chrome: Chrome,
}

/// What `/` shows before the first account exists.
pub(crate) fn setup_pending(v: &Visitor) -> Response {
    render(&SetupPendingTemplate {
        chrome: Chrome::new(v, "Set up Vellum"),
    })
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

#[derive(serde::Deserialize, Default)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

async fn setup_form(State(s): State<AppState>, v: Visitor, Query(q): Query<TokenQuery>) -> HtmlResult {
    let token = q.token.unwrap_or_default();
    s.app.check_setup_token(&token).await?;
    Ok(render(&SetupTemplate {
        chrome: Chrome::new(&v, "Set up Vellum"),
        token,
        username: String::new(),
        display_name: String::new(),
        error: None,
    }))
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

async fn setup(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<SetupForm>) -> HtmlResult {
    let again = |msg: String| {
        render_status(
            &SetupTemplate {
                chrome: Chrome::new(&v, "Set up Vellum"),
                token: f.token.clone(),
                username: f.username.clone(),
                display_name: f.display_name.clone(),
                error: Some(msg),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if f.password != f.password_again {
        return Ok(again("The two passwords differ. Type the same password twice.".into()));
    }
    let account = NewAccount {
        username: &f.username,
        display_name: Some(&f.display_name),
        password: &f.password,
        role: Role::Admin,
        email: None,
    };
    match s.app.complete_setup(&f.token, account).await {
        Ok(new) => Ok(signed_in(&s, &new, "/wiki/home")),
        Err(e) if e.kind() == ErrorKind::Invalid => Ok(again(e.message)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminTemplate {
    chrome: Chrome,
    settings: vellum_app::SiteSettings,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn admin(State(s): State<AppState>, v: Visitor, Query(q): Query<DoneQuery>) -> HtmlResult {
    let settings = s.app.site_settings(&v.actor).await?;
    Ok(render(&AdminTemplate {
        chrome: Chrome::new(&v, "Administration"),
        settings,
        message: q.done,
        error: None,
    }))
}

#[derive(serde::Deserialize)]
pub(crate) struct AdminForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    anonymous_read: Option<String>,
    #[serde(default)]
    require_totp: Option<String>,
    #[serde(default)]
    audit_retention_days: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
}

async fn admin_post(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<AdminForm>) -> HtmlResult {
    let result: Result<String, AppError> = match f.action.as_str() {
        "settings" => match f.audit_retention_days.trim().parse::<i64>() {
            Err(_) => Err(AppError::invalid(
                Code::InvalidRequest,
                "audit_retention_days",
                "Give the days to keep audit entries as a whole number.",
            )),
            Ok(days) => s
                .app
                .update_settings(
                    &v.actor,
                    SettingsChange {
                        anonymous_read: Some(f.anonymous_read.is_some()),
                        require_totp: Some(f.require_totp.is_some()),
                        audit_retention_days: Some(days),
                    },
                )
                .await
                .map(|_| "Settings saved.".to_owned()),
        },
        "create_user" => match Role::parse(f.role.trim()) {
            Err(_) => Err(AppError::invalid(
                Code::InvalidRole,
                "role",
                "Choose a role: viewer, commenter, editor, administrator or a custom role.",
            )),
            Ok(role) => s
                .app
                .create_user(
                    Some(&v.actor),
                    NewAccount {
                        username: &f.username,
                        display_name: None,
                        password: &f.password,
                        role: role.clone(),
                        email: Some(&f.email),
                    },
                )
                .await
                .map(|_| format!("Created {} as {}.", f.username.trim(), role.as_str())),
        },
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(msg) => Ok(see_other(&format!("/admin?done={}", encode_query(&msg)))),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Invalid | ErrorKind::Conflict | ErrorKind::BadRequest
            ) =>
        {
            let settings = s.app.site_settings(&v.actor).await?;
            Ok(render_status(
                &AdminTemplate {
                    chrome: Chrome::new(&v, "Administration"),
                    settings,
                    message: None,
                    error: Some(e.message),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(e) => Err(e.into()),
    }
}
