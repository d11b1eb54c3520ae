//! Request extractors: who is asking ([`Visitor`]), and JSON/query input
//! whose rejections use the API's error format.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use axum_extra::extract::cookie::CookieJar;
use serde::de::DeserializeOwned;
use vellum_app::{Actor, AppError, ErrorKind};

use crate::error::ApiError;
use crate::AppState;

pub(crate) const SESSION_COOKIE: &str = "vellum_session";
pub(crate) const CSRF_COOKIE: &str = "vellum_csrf";

/// A CSRF token minted for an anonymous visitor by the CSRF middleware
/// (set as a cookie on the response).
#[derive(Clone)]
pub(crate) struct FreshCsrf(pub String);

/// The visitor behind a request: signed in through the session cookie, or
/// anonymous.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub actor: Actor,
    /// The token HTML forms must carry back.
    pub csrf: String,
    pub session_token: Option<String>,
}

impl Visitor {
    pub fn name(&self) -> Option<&str> {
        match &self.actor {
            Actor::User { name, .. } => Some(name),
            Actor::Anonymous => None,
        }
    }

    pub fn can_edit(&self) -> bool {
        self.actor.role().is_some_and(|r| r >= vellum_app::Role::Editor)
    }

    pub fn is_admin(&self) -> bool {
        self.actor.role() == Some(vellum_app::Role::Admin)
    }
}

pub(crate) async fn visitor_from_parts(parts: &Parts, state: &AppState) -> Result<Visitor, AppError> {
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) {
        if let Some(session) = state.app.session(&token).await? {
            return Ok(Visitor {
                actor: session.actor,
                csrf: session.csrf_token,
                session_token: Some(token),
            });
        }
    }
    let csrf = match (parts.extensions.get::<FreshCsrf>(), jar.get(CSRF_COOKIE)) {
        (Some(fresh), _) => fresh.0.clone(),
        (None, Some(c)) => c.value().to_owned(),
        (None, None) => String::new(),
    };
    Ok(Visitor {
        actor: Actor::Anonymous,
        csrf,
        session_token: None,
    })
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(v) = parts.extensions.get::<Visitor>() {
            return Ok(v.clone());
        }
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

fn json_rejection(r: axum::extract::rejection::JsonRejection) -> ApiError {
    use axum::extract::rejection::JsonRejection as R;
    match r {
        R::MissingJsonContentType(_) => ApiError::new(
            ErrorKind::BadRequest,
            "unsupported_media_type",
            "send the body as JSON with the header `Content-Type: application/json`",
        ),
        R::JsonSyntaxError(e) => ApiError::new(
            ErrorKind::BadRequest,
            "invalid_json",
            format!("the body is not valid JSON: {}", e.body_text()),
        ),
        R::JsonDataError(e) => ApiError::new(ErrorKind::Invalid, "invalid_body", e.body_text()),
        R::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            ErrorKind::TooLarge,
            "payload_too_large",
            "the request body is larger than the server accepts",
        ),
        other => ApiError::new(ErrorKind::BadRequest, "invalid_body", other.body_text()),
    }
}

/// Path parameters whose rejections are API errors (for example a path
/// whose percent-encoding is not UTF-8).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError(AppError::invalid(
                "invalid_path",
                "path",
                format!(
                    "the address is not valid: {}; percent-encode paths as UTF-8",
                    e.body_text()
                ),
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
            Err(e) => Err(ApiError::new(ErrorKind::BadRequest, "invalid_query", e.body_text())),
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
