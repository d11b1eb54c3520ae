//! Password reset by mail: `POST /api/v1/auth/password-reset` and
//! `…/confirm`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/auth/password-reset", class(RouteClass::Small, post(request)))
        .route("/auth/password-reset/confirm", class(RouteClass::Small, post(confirm)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestJson {
    /// The user name or the e-mail address of the account.
    pub login: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRequestedJson {
    pub message: String,
}

/// Mails a link to set a new password (valid for an hour, once) to the
/// account's address. Answers the same whether or not there is such an
/// account.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = ResetRequestJson,
    responses((status = 202, body = ResetRequestedJson), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`mail_unavailable`: the wiki sends no mail")))]
pub(crate) async fn request(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<ResetRequestJson>,
) -> ApiResult<(StatusCode, Json<ResetRequestedJson>)> {
    s.app.request_password_reset(&body.login).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetRequestedJson {
            message: "If that names an account with an e-mail address, a link to set a new password is on its way."
                .into(),
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmJson {
    /// The `token` of the link in the mail.
    pub token: String,
    pub password: String,
}

/// Sets the new password with a link's token; every session and token of
/// the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirmJson,
    responses((status = 204), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "`invalid_token`: unknown, used or expired"),
              (status = 422, body = ErrorBody, description = "`invalid_password`"), (status = 429, body = ErrorBody)))]
pub(crate) async fn confirm(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmJson>,
) -> ApiResult<StatusCode> {
    s.app.reset_password_with_token(&body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
