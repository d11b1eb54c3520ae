//! Errors on the wire. The JSON API answers
//! `{"error":{"code","message","details"}}` with the status of the code's
//! kind; HTML pages show the same message on an error page that keeps the
//! visitor's chrome (rendered by the HTML layer's middleware from the
//! [`ErrorPage`] an [`HtmlError`] leaves on its response). Internal causes
//! are logged here and never shown.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use vellum_app::{AppError, Code, ErrorKind};

pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub(crate) fn log_internal(err: &AppError) {
    match err.kind() {
        ErrorKind::Internal => match &err.source {
            Some(source) => tracing::error!(error = %source, "internal error"),
            None => tracing::error!(error = %err.message, "internal error"),
        },
        ErrorKind::Unavailable => match &err.source {
            Some(source) => tracing::warn!(error = %source, "answered busy"),
            None => tracing::warn!("answered busy"),
        },
        _ => {}
    }
}

/// The error document of the JSON API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorInfo {
    /// Stable, snake_case; one of the `ErrorCode` values (see docs/api.md).
    #[schema(schema_with = error_code_schema)]
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// Every error code, as an OpenAPI string enum.
pub(crate) fn error_code_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(Code::ALL.iter().map(|c| c.as_str())))
        .description(Some("Stable machine-readable error code"))
        .build()
}

/// `Retry-After` for busy answers (1 s) and throttled ones (as long as
/// the lock lasts).
fn with_retry_after(mut res: Response, err: &AppError) -> Response {
    let secs = err.retry_after.or((err.kind() == ErrorKind::Unavailable).then_some(1));
    if let Some(secs) = secs {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

/// An error answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError(AppError::new(code, message))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_internal(&self.0);
        let kind = self.0.kind();
        let res = with_retry_after(status_of(kind).into_response(), &self.0);
        let body = ErrorBody {
            error: ErrorInfo {
                code: self.0.code.as_str(),
                message: self.0.message,
                details: self.0.details,
            },
        };
        let (parts, _) = res.into_parts();
        (parts, Json(body)).into_response()
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// The error an HTML handler failed with, left on its response for the
/// HTML layer to show with the visitor's chrome.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPage {
    pub code: Code,
    pub message: String,
}

/// An error shown as an HTML page.
#[derive(Debug)]
pub(crate) struct HtmlError(pub AppError);

impl From<AppError> for HtmlError {
    fn from(e: AppError) -> Self {
        HtmlError(e)
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        log_internal(&self.0);
        let kind = self.0.kind();
        let res = with_retry_after(status_of(kind).into_response(), &self.0);
        let mut res = res;
        res.extensions_mut().insert(ErrorPage {
            code: self.0.code,
            message: self.0.message,
        });
        res
    }
}

pub(crate) type HtmlResult = Result<Response, HtmlError>;
