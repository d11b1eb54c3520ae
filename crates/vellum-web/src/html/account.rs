//! Sign-in, sign-out, first-run setup and the administration page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use vellum_app::{AppError, Code, ErrorKind, LoginStep, NewAccount, NewSession, Role, SettingsChange};

use super::{render, render_status, Chrome};
use crate::cookies::{cleared, session_cookie, sso_cookie, SSO_COOKIE};
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
        .route("/login/sso", class(RouteClass::Small, get(sso_start)))
        .route("/login/sso/callback", class(RouteClass::Small, get(sso_callback)))
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
    /// "Sign in with …", when single sign-on is set up.
    sso: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

async fn login_form(State(s): State<AppState>, v: Visitor, Query(q): Query<NextQuery>) -> HtmlResult {
    Ok(render(&LoginTemplate {
        chrome: Chrome::new(&v, "Sign in"),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        sso: s.app.sso_label().map(str::to_owned),
    }))
}

/// Sends the browser to the OpenID provider, keeping the flow's secrets in
/// a signed cookie.
async fn sso_start(State(s): State<AppState>, v: Visitor, Query(q): Query<NextQuery>) -> HtmlResult {
    let next = safe_next(q.next.as_deref());
    match s.app.sso_start(&next).await {
        Ok(start) => {
            let mut res = see_other(&start.url);
            if let Some(c) = sso_cookie(&start.flow, 600, s.opts.secure()) {
                res.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(res)
        }
        Err(e) if e.code == Code::NotFound => Err(e.into()),
        Err(e) => Ok(login_refused(&s, &v, next, e)),
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// RFC 9207: which provider answered, when it says.
    iss: Option<String>,
}

/// Where the provider sends the browser back.
async fn sso_callback(
    State(s): State<AppState>,
    v: Visitor,
    jar: axum_extra::extract::cookie::CookieJar,
    Query(q): Query<CallbackQuery>,
) -> HtmlResult {
    let flow = jar.get(SSO_COOKIE).map(|c| c.value().to_owned());
    let result = match (&q.error, &q.code) {
        _ if q.iss.as_deref().is_some_and(|i| !s.app.sso_issuer_is(i)) => Err(AppError::new(
            Code::SsoFailed,
            "The answer came from a different sign-in provider than the one this wiki uses. Start again.",
        )),
        (Some(err), _) => {
            tracing::info!(error = %err, description = ?q.error_description, "single sign-on: the provider sent an error");
            Err(AppError::new(
                Code::SsoFailed,
                if err == "access_denied" {
                    "The sign-in was cancelled at the provider. Try again, or sign in with a password.".to_owned()
                } else {
                    format!(
                        "The provider could not sign you in ({}). Try again.",
                        err.chars()
                            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .take(60)
                            .collect::<String>()
                    )
                },
            ))
        }
        (None, code) => {
            s.app
                .sso_finish(
                    flow.as_deref(),
                    code.as_deref().unwrap_or_default(),
                    q.state.as_deref().unwrap_or_default(),
                )
                .await
        }
    };
    let mut res = match result {
        Ok(done) => signed_in(&s, &done.session, &safe_next(Some(&done.next))),
        Err(e) if e.code == Code::NotFound => return Err(e.into()),
        Err(e) => login_refused(&s, &v, "/".into(), e),
    };
    if let Some(c) = sso_cookie("", 0, s.opts.secure()) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(res)
}

/// The sign-in page again, with what went wrong.
fn login_refused(s: &AppState, v: &Visitor, next: String, e: AppError) -> Response {
    let status = crate::error::status_of(e.kind());
    render_status(
        &LoginTemplate {
            chrome: Chrome::new(v, "Sign in"),
            next,
            username: String::new(),
            error: Some(e.message),
            sso: s.app.sso_label().map(str::to_owned),
        },
        status,
    )
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
                    sso: s.app.sso_label().map(str::to_owned),
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
                sso: s.app.sso_label().map(str::to_owned),
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
    trash_retention_days: String,
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
        "settings" => match (
            f.audit_retention_days.trim().parse::<i64>(),
            f.trash_retention_days.trim().parse::<i64>(),
        ) {
            (Err(_), _) => Err(AppError::invalid(
                Code::InvalidRequest,
                "audit_retention_days",
                "Give the days to keep audit entries as a whole number.",
            )),
            (_, Err(_)) => Err(AppError::invalid(
                Code::InvalidRequest,
                "trash_retention_days",
                "Give the days to keep trashed pages as a whole number (0 keeps them).",
            )),
            (Ok(days), Ok(trash_days)) => s
                .app
                .update_settings(
                    &v.actor,
                    SettingsChange {
                        anonymous_read: Some(f.anonymous_read.is_some()),
                        require_totp: Some(f.require_totp.is_some()),
                        audit_retention_days: Some(days),
                        trash_retention_days: Some(trash_days),
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
