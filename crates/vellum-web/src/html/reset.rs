//! `/reset-password`: asking for a password reset link, and setting the
//! new password from it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use vellum_app::{AppError, Code, ErrorKind};

use super::{render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new().route("/reset-password", class(RouteClass::Small, get(form).post(post)))
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetTemplate {
    chrome: Chrome,
    token: String,
    login: String,
    sent: bool,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ResetQuery {
    #[serde(default)]
    token: String,
}

async fn form(v: Visitor, Query(q): Query<ResetQuery>) -> HtmlResult {
    Ok(render_status(
        &ResetTemplate {
            chrome: Chrome::new(&v, "Reset password"),
            token: q.token,
            login: String::new(),
            sent: false,
            message: None,
            error: None,
        },
        StatusCode::OK,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn post(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<ResetForm>) -> HtmlResult {
    let page = |token: String, login: String, sent: bool, message: Option<String>, error: Option<String>, status| {
        render_status(
            &ResetTemplate {
                chrome: Chrome::new(&v, "Reset password"),
                token,
                login,
                sent,
                message,
                error,
            },
            status,
        )
    };
    match f.action.as_str() {
        "request" => match s.app.request_password_reset(&f.login).await {
            Ok(()) => Ok(page(
                String::new(),
                String::new(),
                true,
                Some(
                    "If that names an account with an e-mail address, a link to set a new password is on its way. \
                     Check your mail (and its spam folder)."
                        .into(),
                ),
                None,
                StatusCode::OK,
            )),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Invalid | ErrorKind::BadRequest | ErrorKind::Unavailable
                ) =>
            {
                let status = crate::error::status_of(e.kind());
                Ok(page(String::new(), f.login, false, None, Some(e.message), status))
            }
            Err(e) => Err(e.into()),
        },
        "set" => match s.app.reset_password_with_token(&f.token, &f.password).await {
            Ok(name) => Ok(page(
                String::new(),
                String::new(),
                true,
                Some(format!(
                    "The new password of {name} is set, and every earlier sign-in ended. Sign in with it."
                )),
                None,
                StatusCode::OK,
            )),
            Err(e) if e.code == Code::InvalidToken => Ok(page(
                String::new(),
                String::new(),
                false,
                None,
                Some(e.message),
                StatusCode::UNAUTHORIZED,
            )),
            Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::BadRequest) => Ok(page(
                f.token,
                String::new(),
                false,
                None,
                Some(e.message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )),
            Err(e) => Err(e.into()),
        },
        _ => Err(AppError::new(Code::InvalidRequest, "That form action is unknown. Reload the page.").into()),
    }
}
