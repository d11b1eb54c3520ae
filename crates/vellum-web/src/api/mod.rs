//! The JSON API under `/api/v1`. Its OpenAPI document is generated from
//! these handlers' annotations and served at `/api/v1/openapi.json`.

pub(crate) mod auth;
mod pages;
mod site;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;
use vellum_app::ErrorKind;

use crate::error::ApiError;
use crate::AppState;
pub(crate) use auth::session_cookie;

#[derive(OpenApi)]
#[openapi(
    info(title = "Vellum API", description = "Pages, revisions, folders, tags and changes of a Vellum wiki. \
        Authenticate with `POST /api/v1/auth/login`; the session cookie it sets authorizes later calls. \
        Errors are `{\"error\":{\"code\",\"message\",\"details\"}}`."),
    paths(
        auth::login, auth::logout, auth::me,
        pages::get_page, pages::put_page, pages::delete_page, pages::list_pages,
        pages::revisions, pages::diff, pages::backlinks, pages::move_page, pages::revert,
        site::revision, site::folder_root, site::folder, site::recent_changes, site::tags, site::tag,
        site::render, site::trash, site::restore, site::wanted, site::orphans,
        site::create_user, site::get_settings, site::put_settings,
    ),
    tags((name = "pages"), (name = "site"), (name = "auth"), (name = "admin"))
)]
struct ApiDoc;

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

/// Cross-site forms can only send form encodings; requiring JSON on every
/// unsafe method is what protects cookie-authenticated API calls from CSRF.
async fn require_json(req: Request<Body>, next: Next) -> Response {
    let unsafe_method = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    if unsafe_method {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return ApiError::new(
                ErrorKind::BadRequest,
                "unsupported_media_type",
                "send the body as JSON with the header `Content-Type: application/json`",
            )
            .into_response();
        }
    }
    next.run(req).await
}

async fn api_not_found() -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "not_found",
        "no such API endpoint; see /api/v1/openapi.json",
    )
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/pages", get(pages::list_pages))
        .route(
            "/pages/{*path}",
            get(pages::get_dispatch)
                .put(pages::put_page)
                .delete(pages::delete_page)
                .post(pages::post_dispatch),
        )
        .route("/revisions/{id}", get(site::revision))
        .route("/folders", get(site::folder_root))
        .route("/folders/", get(site::folder_root))
        .route("/folders/{*path}", get(site::folder))
        .route("/recent-changes", get(site::recent_changes))
        .route("/tags", get(site::tags))
        .route("/tags/{tag}", get(site::tag))
        .route("/render", post(site::render))
        .route("/trash", get(site::trash))
        .route("/trash/{id}/restore", post(site::restore))
        .route("/wanted", get(site::wanted))
        .route("/orphans", get(site::orphans))
        .route("/users", post(site::create_user))
        .route("/settings", get(site::get_settings).put(site::put_settings))
        .fallback(api_not_found)
        .layer(middleware::from_fn(require_json))
}
