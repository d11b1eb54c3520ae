//! The signed-in user's own account: profile, password, two-factor
//! sign-in, sessions and personal API tokens (`/account`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use vellum_app::{AccountDetail, ApiToken, AppError, Code, ErrorKind, SessionView, TotpSetup, TotpStatus};

use super::{render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, see_other};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/account", class(RouteClass::Small, get(account).post(account_post)))
        .route(
            "/account/two-factor",
            class(RouteClass::Small, get(two_factor).post(two_factor_post)),
        )
}

pub(crate) struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub revoked: bool,
}

fn token_row(t: ApiToken) -> TokenRow {
    TokenRow {
        id: t.id,
        name: t.name,
        scopes: t.scopes.names().join(", "),
        created: crate::fmt::short(t.created_at),
        expires: t.expires_at.map_or_else(|| "never".to_owned(), crate::fmt::short),
        last_used: t.last_used_at.map_or_else(|| "never".to_owned(), crate::fmt::short),
        revoked: t.revoked,
    }
}

pub(crate) struct SessionRow {
    pub id: i64,
    pub created: String,
    pub ip: String,
    pub agent: String,
    pub current: bool,
}

fn session_row(s: SessionView) -> SessionRow {
    SessionRow {
        id: s.id.0,
        created: crate::fmt::short(s.created_at),
        ip: s.ip.unwrap_or_else(|| "unknown".into()),
        agent: s.user_agent.map_or_else(|| "unknown".into(), |a| browser_name(&a)),
        current: s.current,
    }
}

/// A short name for a user agent (`Firefox on Linux`), or the agent.
fn browser_name(ua: &str) -> String {
    let browser = ["Firefox", "Edg", "Chrome", "Safari", "curl", "HeadlessChrome"]
        .iter()
        .find(|b| ua.contains(*b))
        .map(|b| match *b {
            "Edg" => "Edge",
            other => other,
        });
    let os = ["Windows", "Mac OS X", "Android", "iPhone", "Linux"]
        .iter()
        .find(|o| ua.contains(*o))
        .map(|o| if *o == "Mac OS X" { "macOS" } else { o });
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        _ => ua.chars().take(60).collect(),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountTemplate {
    chrome: Chrome,
    me: AccountDetail,
    totp: TotpStatus,
    sessions: Vec<SessionRow>,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn account_page(
    s: &AppState,
    v: &Visitor,
    message: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
    status: StatusCode,
) -> HtmlResult {
    let me = s.app.me(&v.actor).await?;
    let totp = s.app.totp_status(&v.actor).await?;
    let sessions = s.app.my_sessions(&v.actor, v.session_id).await?;
    let tokens = s.app.api_tokens(&v.actor).await?;
    Ok(render_status(
        &AccountTemplate {
            chrome: Chrome::new(v, "Your account"),
            me,
            totp,
            sessions: sessions.into_iter().map(session_row).collect(),
            tokens: tokens.into_iter().map(token_row).collect(),
            new_token,
            message,
            error,
        },
        status,
    ))
}

async fn account(State(s): State<AppState>, v: Visitor, Query(q): Query<DoneQuery>) -> HtmlResult {
    account_page(&s, &v, q.done, None, None, StatusCode::OK).await
}

#[derive(serde::Deserialize)]
pub(crate) struct AccountForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_again: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    expires: String,
}

async fn account_post(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<AccountForm>) -> HtmlResult {
    let id = || f.id.parse::<i64>().unwrap_or(-1);
    let result: Result<String, AppError> = match f.action.as_str() {
        "profile" => s
            .app
            .update_me(&v.actor, Some(&f.display_name), Some(&f.email))
            .await
            .map(|_| "Saved.".to_owned()),
        "password" if f.new_password != f.new_password_again => Err(AppError::invalid(
            Code::InvalidPassword,
            "new_password",
            "The two new passwords differ. Type the same one twice.",
        )),
        "password" => s
            .app
            .change_password(&v.actor, &f.current_password, &f.new_password, v.session_id)
            .await
            .map(|()| "Your password is changed. Your other sessions have ended.".to_owned()),
        "end_session" => s
            .app
            .end_session(&v.actor, vellum_core::SessionId(id()))
            .await
            .map(|()| "The session has ended.".to_owned()),
        "revoke_token" => s
            .app
            .revoke_api_token(&v.actor, id())
            .await
            .map(|()| "The token is revoked.".to_owned()),
        "create_token" => {
            let scopes = vec![f.scope.clone()];
            let expires = (!f.expires.trim().is_empty()).then_some(f.expires.as_str());
            match s.app.create_api_token(&v.actor, &f.name, &scopes, expires).await {
                Ok(t) => {
                    return account_page(
                        &s,
                        &v,
                        Some(format!(
                            "Made the token “{}”. Copy it now: it is not shown again.",
                            t.info.name
                        )),
                        None,
                        Some(t.token),
                        StatusCode::OK,
                    )
                    .await
                }
                Err(e) => Err(e),
            }
        }
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(m) => Ok(see_other(&format!("/account?done={}", encode_query(&m)))),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Invalid | ErrorKind::BadRequest | ErrorKind::NotFound | ErrorKind::Forbidden
            ) =>
        {
            account_page(&s, &v, None, Some(e.message), None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorTemplate {
    chrome: Chrome,
    status: TotpStatus,
    setup: Option<TotpSetup>,
    recovery_codes: Vec<String>,
    must_enroll: bool,
    message: Option<String>,
    error: Option<String>,
}

async fn two_factor_page(
    s: &AppState,
    v: &Visitor,
    recovery_codes: Vec<String>,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> HtmlResult {
    let st = s.app.totp_status(&v.actor).await?;
    let setup = if st.enabled {
        None
    } else {
        s.app.pending_totp(&v.actor).await?
    };
    Ok(render_status(
        &TwoFactorTemplate {
            chrome: Chrome::new(v, "Two-factor sign-in"),
            status: st,
            setup,
            recovery_codes,
            must_enroll: v.must_enroll_totp,
            message,
            error,
        },
        status,
    ))
}

async fn two_factor(State(s): State<AppState>, v: Visitor, Query(q): Query<DoneQuery>) -> HtmlResult {
    two_factor_page(&s, &v, Vec::new(), q.done, None, StatusCode::OK).await
}

#[derive(serde::Deserialize)]
pub(crate) struct TwoFactorForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn two_factor_post(
    State(s): State<AppState>,
    v: Visitor,
    axum::Form(f): axum::Form<TwoFactorForm>,
) -> HtmlResult {
    let result = match f.action.as_str() {
        "begin" => s.app.begin_totp(&v.actor).await.map(|_| None),
        "confirm" => s.app.confirm_totp(&v.actor, &f.code).await.map(Some),
        "disable" => s.app.disable_totp(&v.actor, &f.password).await.map(|()| None),
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match result {
        Ok(Some(codes)) => {
            two_factor_page(
                &s,
                &v,
                codes,
                Some("Two-factor sign-in is on.".into()),
                None,
                StatusCode::OK,
            )
            .await
        }
        Ok(None) if f.action == "disable" => Ok(see_other(&format!(
            "/account/two-factor?done={}",
            encode_query("Two-factor sign-in is off.")
        ))),
        Ok(None) => Ok(see_other("/account/two-factor")),
        Err(e) if matches!(e.kind(), ErrorKind::Invalid | ErrorKind::BadRequest) => {
            two_factor_page(
                &s,
                &v,
                Vec::new(),
                None,
                Some(e.message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_short_names() {
        assert_eq!(
            browser_name("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            "Firefox on Linux"
        );
        assert_eq!(
            browser_name("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0"),
            "Edge on Windows"
        );
        assert_eq!(browser_name("curl/8.5.0"), "curl");
    }
}
