//! The JSON API under `/api/v1`. Its OpenAPI document is generated from
//! these handlers' annotations and served at `/api/v1/openapi.json`.
//!
//! Cookie-authenticated calls are protected from cross-site request forgery
//! by requiring `application/json` on every request with a body (a
//! cross-site page cannot send that without a CORS preflight, which this
//! API never grants) and by DELETE being a non-simple method.

mod access;
mod admin;
mod auth;
mod comments;
mod files;
pub(crate) use files::markdown_name as markdown_file_name;
mod jobs;
mod model;
mod notifications;
mod pages;
mod reset;
mod search;
mod site;
mod verification;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use utoipa::OpenApi;
use vellum_app::Code;

use crate::error::ApiError;
use crate::extract::unsupported_media_type;
use crate::routes::Routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Vellum API", description = "Pages, revisions, folders, tags and changes of a Vellum wiki. \
        Authenticate with `POST /api/v1/auth/login` (a session cookie), `POST /api/v1/auth/token` (an access \
        token and a refresh token) or a personal API token (`POST /api/v1/tokens`); send tokens as \
        `Authorization: Bearer …`. \
        Errors are `{\"error\":{\"code\",\"message\",\"details\"}}` with `code` one of `ErrorCode`. \
        Lists are `{\"items\",\"next_cursor\"}`."),
    paths(
        auth::login, auth::logout, auth::me, auth::update_me, auth::token, auth::refresh, auth::change_password,
        auth::sessions, auth::end_session, auth::totp_status, auth::begin_totp, auth::confirm_totp,
        auth::disable_totp, reset::request, reset::confirm, auth::create_token, auth::list_tokens, auth::revoke_token,
        pages::get_page, pages::put_page, pages::delete_page, pages::list_pages,
        pages::revisions, pages::diff, pages::backlinks, pages::move_page, pages::revert,
        site::revision, site::folder_root, site::folder, site::recent_changes, site::tags, site::tag,
        site::render, site::trash, site::restore, site::wanted, site::orphans,
        admin::list_users, admin::create_user, admin::get_user, admin::update_user, admin::delete_user,
        admin::reset_password, admin::reset_totp, admin::audit, admin::get_settings, admin::put_settings,
        access::get_root_access, access::put_root_access, access::get_access, access::put_access,
        access::explain_root, access::explain, access::report,
        access::list_groups, access::create_group, access::get_group, access::delete_group,
        access::add_member, access::remove_member, access::list_roles, access::create_role, access::delete_role,
        search::search, search::titles, search::status,
        comments::list_comments, comments::add_comment, comments::get_comment, comments::edit_comment,
        comments::delete_comment, comments::resolve, comments::reopen, comments::mention_suggestions,
        notifications::page_watch, notifications::watch_page, notifications::unwatch_page,
        notifications::folder_watch, notifications::watch_folder, notifications::unwatch_folder,
        notifications::root_watch, notifications::watch_root, notifications::unwatch_root,
        notifications::list, notifications::mark_read, notifications::settings, notifications::put_settings,
        jobs::list_jobs, jobs::job_stats, jobs::get_job, jobs::retry_job, jobs::discard_job, jobs::broken_links,
        verification::page_review, verification::set_page_review, verification::clear_page_review,
        verification::verify, verification::folder_review, verification::set_folder_review,
        verification::clear_folder_review, verification::root_review, verification::set_root_review,
        verification::clear_root_review, verification::report,
        files::list_files, files::upload, files::get_file, files::delete_file, files::restore, files::untrash, files::trashed,
    ),
    tags((name = "pages"), (name = "site"), (name = "auth"), (name = "admin"), (name = "access"), (name = "search"), (name = "comments"), (name = "notifications"), (name = "verification"), (name = "files"))
)]
struct ApiDoc;

/// The OpenAPI document of the API, with the error code table as the
/// `ErrorCode` schema.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if let Some(components) = doc.components.as_mut() {
        components
            .schemas
            .insert("ErrorCode".into(), crate::error::error_code_schema().into());
    }
    doc
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

fn is_json(req: &Request<Body>) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// Cross-site forms can only POST, and only form encodings or plain text;
/// requiring JSON on every POST is what protects cookie-authenticated API
/// calls from CSRF (a cross-site PUT, PATCH or DELETE needs a CORS
/// preflight, which this API never grants). A PUT with a body is JSON too:
/// its handler's JSON extractor says so.
async fn require_json(req: Request<Body>, next: Next) -> Response {
    // Uploads carry the file itself; their handler makes the body-free
    // check (html/csrf.rs) instead.
    // (Inside the nested API router the path has lost its `/api/v1`.)
    let upload = req.uri().path().starts_with("/.sub/pages/files/");
    if *req.method() == Method::POST && !upload && !is_json(&req) {
        return unsupported_media_type().into_response();
    }
    next.run(req).await
}

/// Gives the router's bare 405 (which carries `Allow`) the API's error body.
async fn json_method_not_allowed(req: Request<Body>, next: Next) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    if res.status() != StatusCode::METHOD_NOT_ALLOWED {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let allowed = allow
        .as_ref()
        .and_then(|a| a.to_str().ok())
        .unwrap_or("another method")
        .to_owned();
    let mut out = ApiError::new(
        Code::MethodNotAllowed,
        format!("{method} is not allowed here; this address takes {allowed}."),
    )
    .into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

async fn api_not_found() -> ApiError {
    ApiError::new(
        Code::NotFound,
        "There is no such API endpoint. See /api/v1/openapi.json for the list.",
    )
}

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/openapi.json", get(openapi_json))
        .merge(auth::router())
        .merge(pages::router())
        .merge(site::router())
        .merge(search::router())
        .merge(admin::router())
        .merge(jobs::router())
        .merge(comments::router())
        .merge(notifications::router())
        .merge(verification::router())
        .merge(files::router())
        .merge(reset::router())
        .merge(access::router())
        .map(|r| {
            r.fallback(api_not_found)
                .layer(middleware::from_fn(require_json))
                .layer(middleware::from_fn(json_method_not_allowed))
                .layer(middleware::from_fn(crate::http_cache::api_validators))
        })
}
