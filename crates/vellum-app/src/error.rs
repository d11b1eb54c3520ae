//! The service layer's error: every failure a user can cause has a stable
//! machine [`Code`], a human message that says what to do, and optional
//! details. [`Code`] is the one table of error codes: it knows each code's
//! wire name and [`ErrorKind`] (which the web layer maps to an HTTP status);
//! `docs/api.md` and the OpenAPI document are tested against it. Internal
//! causes are logged by the web layer and never shown to the client.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    TooLarge,
    Invalid,
    /// Too many attempts: wait `retry_after` seconds.
    TooManyRequests,
    /// Temporarily unable to serve (database busy); nothing was written.
    Unavailable,
    Internal,
}

macro_rules! codes {
    ($($variant:ident = $wire:literal, $kind:ident;)*) => {
        /// Every error code of the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as the API writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $wire,)*
                }
            }

            pub fn kind(self) -> ErrorKind {
                match self {
                    $(Code::$variant => ErrorKind::$kind,)*
                }
            }
        }
    };
}

codes! {
    InvalidJson = "invalid_json", BadRequest;
    UnsupportedMediaType = "unsupported_media_type", BadRequest;
    InvalidQuery = "invalid_query", BadRequest;
    InvalidCursor = "invalid_cursor", BadRequest;
    InvalidId = "invalid_id", BadRequest;
    InvalidRequest = "invalid_request", BadRequest;
    Unauthenticated = "unauthenticated", Unauthenticated;
    InvalidCredentials = "invalid_credentials", Unauthenticated;
    TotpRequired = "totp_required", Unauthenticated;
    InvalidTotp = "invalid_totp", Unauthenticated;
    InvalidToken = "invalid_token", Unauthenticated;
    SsoFailed = "sso_failed", Unauthenticated;
    Forbidden = "forbidden", Forbidden;
    CsrfRejected = "csrf_rejected", Forbidden;
    InvalidSetupToken = "invalid_setup_token", Forbidden;
    TotpEnrollmentRequired = "totp_enrollment_required", Forbidden;
    SsoNoAccount = "sso_no_account", Forbidden;
    NotFound = "not_found", NotFound;
    PageNotFound = "page_not_found", NotFound;
    RevisionNotFound = "revision_not_found", NotFound;
    FolderNotFound = "folder_not_found", NotFound;
    UserNotFound = "user_not_found", NotFound;
    GroupNotFound = "group_not_found", NotFound;
    RoleNotFound = "role_not_found", NotFound;
    NotInTrash = "not_in_trash", NotFound;
    TokenNotFound = "token_not_found", NotFound;
    SessionNotFound = "session_not_found", NotFound;
    JobNotFound = "job_not_found", NotFound;
    CommentNotFound = "comment_not_found", NotFound;
    FileNotFound = "file_not_found", NotFound;
    MethodNotAllowed = "method_not_allowed", MethodNotAllowed;
    EditConflict = "edit_conflict", Conflict;
    PageGone = "page_gone", Conflict;
    PathTaken = "path_taken", Conflict;
    UsernameTaken = "username_taken", Conflict;
    GroupTaken = "group_taken", Conflict;
    RoleTaken = "role_taken", Conflict;
    RoleInUse = "role_in_use", Conflict;
    SetupDone = "setup_done", Conflict;
    LastAdmin = "last_admin", Conflict;
    TotpAlreadyOn = "totp_already_on", Conflict;
    TotpNotStarted = "totp_not_started", Conflict;
    JobRunning = "job_running", Conflict;
    MailUnavailable = "mail_unavailable", Conflict;
    NoReview = "no_review", Conflict;
    FileNameTaken = "file_name_taken", Conflict;
    JobDuplicate = "job_duplicate", Conflict;
    PageTooLarge = "page_too_large", TooLarge;
    PayloadTooLarge = "payload_too_large", TooLarge;
    FileTooLarge = "file_too_large", TooLarge;
    InvalidBody = "invalid_body", Invalid;
    InvalidText = "invalid_text", Invalid;
    InvalidPath = "invalid_path", Invalid;
    InvalidTitle = "invalid_title", Invalid;
    InvalidTag = "invalid_tag", Invalid;
    TooManyTags = "too_many_tags", Invalid;
    TooManyLinks = "too_many_links", Invalid;
    InvalidSummary = "invalid_summary", Invalid;
    InvalidBaseRevision = "invalid_base_revision", Invalid;
    InvalidLimit = "invalid_limit", Invalid;
    SamePath = "same_path", Invalid;
    InvalidUsername = "invalid_username", Invalid;
    InvalidPassword = "invalid_password", Invalid;
    InvalidDisplayName = "invalid_display_name", Invalid;
    InvalidRole = "invalid_role", Invalid;
    InvalidGroupName = "invalid_group_name", Invalid;
    InvalidPrincipal = "invalid_principal", Invalid;
    InvalidLevel = "invalid_level", Invalid;
    InvalidRules = "invalid_rules", Invalid;
    InvalidEmail = "invalid_email", Invalid;
    InvalidScopes = "invalid_scopes", Invalid;
    InvalidExpiry = "invalid_expiry", Invalid;
    InvalidCode = "invalid_code", Invalid;
    InvalidName = "invalid_name", Invalid;
    InvalidSetting = "invalid_setting", Invalid;
    InvalidComment = "invalid_comment", Invalid;
    InvalidReview = "invalid_review", Invalid;
    InvalidFileName = "invalid_file_name", Invalid;
    FileTypeRefused = "file_type_refused", Invalid;
    FileInfected = "file_infected", Invalid;
    InvalidSearch = "invalid_search", Invalid;
    RateLimited = "rate_limited", TooManyRequests;
    Busy = "busy", Unavailable;
    SsoUnavailable = "sso_unavailable", Unavailable;
    SearchUnavailable = "search_unavailable", Unavailable;
    StorageUnavailable = "storage_unavailable", Unavailable;
    ScanUnavailable = "scan_unavailable", Unavailable;
    Internal = "internal", Internal;
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: Code,
    pub message: String,
    pub details: Option<Value>,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            source: None,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.code.kind()
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Tells the client to wait `secs` seconds before trying again.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// A field of the input is not valid.
    pub fn invalid(code: Code, field: &str, message: impl Into<String>) -> Self {
        Self::new(code, message).with_details(serde_json::json!({ "field": field }))
    }

    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError {
            code: Code::Internal,
            message: "Something went wrong on the server. The error has been logged; try again, and tell the \
                      administrator if it keeps happening."
                .into(),
            details: None,
            retry_after: None,
            source: Some(Box::new(source)),
        }
    }

    /// An internal error described by a message (an invariant that broke).
    pub fn bug(message: impl Into<String>) -> Self {
        Self::internal(std::io::Error::other(message.into()))
    }
}

impl From<vellum_store::StoreError> for AppError {
    fn from(err: vellum_store::StoreError) -> Self {
        match err {
            vellum_store::StoreError::Busy(_) => AppError {
                code: Code::Busy,
                message: "The wiki is busy right now and did not save or change anything. Try again in a moment."
                    .into(),
                details: None,
                retry_after: Some(1),
                source: Some(Box::new(err)),
            },
            vellum_store::StoreError::InvalidText(m) => AppError {
                code: Code::InvalidText,
                message:
                    "The text contains characters that cannot be stored (such as U+0000). Remove them and try again."
                        .into(),
                details: None,
                retry_after: None,
                source: Some(Box::new(vellum_store::StoreError::InvalidText(m))),
            },
            other => AppError::internal(other),
        }
    }
}

impl From<vellum_core::PathError> for AppError {
    fn from(e: vellum_core::PathError) -> Self {
        AppError::invalid(Code::InvalidPath, "path", sentence(&e.to_string()))
    }
}

impl From<vellum_core::TitleError> for AppError {
    fn from(e: vellum_core::TitleError) -> Self {
        AppError::invalid(Code::InvalidTitle, "title", sentence(&e.to_string()))
    }
}

/// Makes a lower-case fragment ("the path is empty; …") a sentence, with
/// `quoted` words in typographic quotes.
pub fn sentence(fragment: &str) -> String {
    let mut quoted = String::with_capacity(fragment.len());
    let mut open = true;
    for c in fragment.chars() {
        if c == '`' {
            quoted.push(if open { '“' } else { '”' });
            open = !open;
        } else {
            quoted.push(c);
        }
    }
    let mut chars = quoted.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {}", c.as_str());
            assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'));
        }
    }

    #[test]
    fn fragments_become_sentences() {
        assert_eq!(sentence("the path is empty; give one"), "The path is empty; give one.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(
            sentence("the segment `a?b` contains `?`"),
            "The segment “a?b” contains “?”."
        );
    }
}
