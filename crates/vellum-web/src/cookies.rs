//! The session cookie.

use axum::http::HeaderValue;

pub(crate) const SESSION_COOKIE: &str = "vellum_session";

/// `vellum_session=…; HttpOnly; SameSite=Lax` (and `Secure` over HTTPS).
/// SameSite keeps the cookie off cross-site form posts in current
/// browsers; the HTML layer's origin check covers the rest.
pub(crate) fn session_cookie(token: &str, max_age_secs: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

/// Clears the session cookie.
pub(crate) fn cleared(secure: bool) -> Option<HeaderValue> {
    session_cookie("", 0, secure)
}
