//! The service layer's error: every failure a user can cause has a stable
//! machine code, a human message that says what to do, and optional details.
//! The web layer maps [`ErrorKind`] to an HTTP status; internal causes are
//! logged there and never shown to the client.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    TooLarge,
    Invalid,
    Internal,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            code,
            message: message.into(),
            details: None,
            source: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message).with_details(serde_json::json!({ "field": field }))
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError {
            kind: ErrorKind::Internal,
            code: "internal",
            message: "something went wrong on the server; the error has been logged".into(),
            details: None,
            source: Some(Box::new(source)),
        }
    }
}

impl From<vellum_store::StoreError> for AppError {
    fn from(err: vellum_store::StoreError) -> Self {
        AppError::internal(err)
    }
}

impl From<vellum_core::access::Denied> for AppError {
    fn from(d: vellum_core::access::Denied) -> Self {
        match d {
            vellum_core::access::Denied::SignInRequired => {
                AppError::new(ErrorKind::Unauthenticated, "unauthenticated", "sign in to do this")
            }
            vellum_core::access::Denied::Forbidden => {
                AppError::new(ErrorKind::Forbidden, "forbidden", "your role does not allow this")
            }
        }
    }
}

impl From<vellum_core::PathError> for AppError {
    fn from(e: vellum_core::PathError) -> Self {
        AppError::invalid("invalid_path", "path", e.to_string())
    }
}

impl From<vellum_core::TitleError> for AppError {
    fn from(e: vellum_core::TitleError) -> Self {
        AppError::invalid("invalid_title", "title", e.to_string())
    }
}
