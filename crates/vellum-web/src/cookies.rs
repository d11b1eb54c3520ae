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

/// Holds a single sign-on in progress (signed by the server; 10 minutes).
/// `SameSite=Lax` so that it comes back with the provider's top-level
/// redirect to the callback, and scoped to that path.
pub(crate) const SSO_COOKIE: &str = "vellum_sso";

pub(crate) fn sso_cookie(flow: &str, max_age_secs: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SSO_COOKIE}={flow}; Path=/login/sso; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}
