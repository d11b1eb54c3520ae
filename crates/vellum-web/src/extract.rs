//! Request extractors: who is asking ([`Visitor`]), and JSON/query/path
//! input whose rejections use the API's error format with messages a
//! person can act on.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use axum_extra::extract::cookie::CookieJar;
use serde::de::DeserializeOwned;
use vellum_app::{Actor, AppError, Code, SiteCapabilities};

use crate::cookies::SESSION_COOKIE;
use crate::error::ApiError;
use crate::AppState;

/// The visitor behind a request: signed in through the session cookie or
/// an `Authorization: Bearer` token, or anonymous.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub actor: Actor,
    /// The session's token for the `X-CSRF-Token` header of scripts.
    pub csrf: String,
    pub session_token: Option<String>,
    pub session_id: Option<vellum_core::SessionId>,
    /// What the chrome may offer (from the service's permissions; each
    /// action is still authorized when taken).
    pub site: SiteCapabilities,
    /// The session may only set up two-factor sign-in (the wiki requires
    /// it).
    pub must_enroll_totp: bool,
    /// What rate limits count against for a signed-in client (`pat:ID`,
    /// `jwt:…`, `session:ID`); `None`: the address.
    pub rate_key: Option<String>,
    /// Came with a bearer token (no cookie, so no CSRF question).
    pub bearer: bool,
    /// Unread notifications, for the header of HTML pages (0 elsewhere).
    pub unread: i64,
}

impl Visitor {
    /// An anonymous visitor offered nothing (when the service could not be
    /// asked).
    pub fn anonymous() -> Visitor {
        Visitor {
            actor: Actor::Anonymous,
            csrf: String::new(),
            session_token: None,
            session_id: None,
            site: SiteCapabilities::default(),
            must_enroll_totp: false,
            rate_key: None,
            bearer: false,
            unread: 0,
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.actor.name()
    }
}

pub(crate) async fn visitor_from_parts(parts: &Parts, state: &AppState) -> Result<Visitor, AppError> {
    if let Some(v) = parts.extensions.get::<Visitor>() {
        return Ok(v.clone());
    }
    if let Some(auth) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| {
                AppError::new(
                    Code::InvalidToken,
                    "The Authorization header is not “Bearer TOKEN”. Send a personal API token or an access token.",
                )
            })?;
        let bearer = state.app.bearer(token).await?;
        let site = state.app.site_capabilities(&bearer.actor).await?;
        return Ok(Visitor {
            actor: bearer.actor,
            csrf: String::new(),
            session_token: None,
            session_id: None,
            site,
            must_enroll_totp: false,
            rate_key: Some(bearer.key),
            bearer: true,
            unread: 0,
        });
    }
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) {
        if let Some(session) = state.app.session(&token).await? {
            let site = state.app.site_capabilities(&session.actor).await?;
            return Ok(Visitor {
                actor: session.actor,
                csrf: session.csrf_token,
                session_token: Some(token),
                session_id: Some(session.id),
                site,
                must_enroll_totp: session.must_enroll_totp,
                rate_key: Some(format!("session:{}", session.id)),
                bearer: false,
                unread: 0,
            });
        }
    }
    let site = state.app.site_capabilities(&Actor::Anonymous).await?;
    Ok(Visitor {
        site,
        ..Visitor::anonymous()
    })
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let v = visitor_from_parts(parts, state).await?;
        parts.extensions.insert(v.clone());
        Ok(v)
    }
}

/// JSON body whose rejections are API errors.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// serde's "markdown: invalid type: integer `5`, expected a string at line
/// 1 column 14" as a sentence a person can act on.
fn body_problem(serde_message: &str) -> String {
    const SEE: &str = "See /api/v1/openapi.json for what this endpoint takes.";
    let core = serde_message.split(" at line ").next().unwrap_or(serde_message).trim();
    let quoted = |s: &str| fix_quotes(&s.replace('`', "“"));
    if let Some(rest) = core.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("The request body lacks the field “{field}”. {SEE}");
    }
    if let Some(rest) = core.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let known = rest
            .split_once("expected ")
            .map(|(_, list)| format!(" It takes {}.", quoted(list.trim_start_matches("one of "))))
            .unwrap_or_default();
        return format!("The request body has a field this endpoint does not take: “{field}”.{known}");
    }
    // serde_path_to_error puts the field's path first: `markdown: invalid type: …`.
    let (field, problem) = match core.split_once(": ") {
        Some((path, rest))
            if !path.is_empty() && path.chars().all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c)) =>
        {
            (Some(path), rest)
        }
        _ => (None, core),
    };
    let problem = quoted(problem);
    match field {
        Some(f) => format!("The field “{f}” of the request body is not valid: {problem}. {SEE}"),
        None => format!("The request body is not what this endpoint takes: {problem}. {SEE}"),
    }
}

/// Turns every other “ into ”, so backtick pairs become “…”.
fn fix_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut open = true;
    for c in s.chars() {
        if c == '“' {
            out.push(if open { '“' } else { '”' });
            open = !open;
        } else {
            out.push(c);
        }
    }
    out
}

fn json_rejection(r: axum::extract::rejection::JsonRejection) -> ApiError {
    use axum::extract::rejection::JsonRejection as R;
    match r {
        R::MissingJsonContentType(_) => unsupported_media_type(),
        R::JsonSyntaxError(_) => ApiError::new(
            Code::InvalidJson,
            "The request body is not valid JSON. Check for a missing quote, comma or brace.",
        ),
        R::JsonDataError(e) => {
            let message = body_problem(
                &e.body_text()
                    .replace("Failed to deserialize the JSON body into the target type: ", ""),
            );
            ApiError(AppError::new(Code::InvalidBody, message))
        }
        R::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        _ => ApiError::new(
            Code::InvalidBody,
            "The request body could not be read. Send it again, as JSON.",
        ),
    }
}

pub(crate) fn unsupported_media_type() -> ApiError {
    ApiError::new(
        Code::UnsupportedMediaType,
        "Send the body as JSON with the header “Content-Type: application/json”.",
    )
}

pub(crate) fn payload_too_large() -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        "The request body is larger than this endpoint accepts. Send less, or split it up.",
    )
}

/// Path parameters whose rejections are API errors (for example a path
/// whose percent-encoding is not UTF-8).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(_) => Err(ApiError(AppError::invalid(
                Code::InvalidPath,
                "path",
                "The address is not valid. Percent-encode paths as UTF-8.",
            ))),
        }
    }
}

/// Query string whose rejections are API errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                Err(ApiError::new(
                    Code::InvalidQuery,
                    format!(
                        "The query string is not valid: {}. See /api/v1/openapi.json for this endpoint's parameters.",
                        fix_quotes(&detail.replace('`', "“"))
                    ),
                ))
            }
        }
    }
}

/// `?cursor=&limit=` on list endpoints.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (1 to 500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

impl ListParams {
    pub(crate) fn request(&self) -> vellum_app::PageRequest {
        vellum_app::PageRequest {
            cursor: self.cursor.clone(),
            limit: self.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_sentences() {
        assert_eq!(
            body_problem("missing field `markdown` at line 1 column 20"),
            "The request body lacks the field “markdown”. See /api/v1/openapi.json for what this endpoint takes."
        );
        assert_eq!(
            body_problem("unknown field `colour`, expected one of `title`, `markdown` at line 1 column 9"),
            "The request body has a field this endpoint does not take: “colour”. It takes “title”, “markdown”."
        );
        assert_eq!(
            body_problem("markdown: invalid type: integer `5`, expected a string at line 1 column 14"),
            "The field “markdown” of the request body is not valid: invalid type: integer “5”, expected a string. See /api/v1/openapi.json for what this endpoint takes."
        );
    }
}
