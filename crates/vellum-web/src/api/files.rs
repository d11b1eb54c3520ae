//! Files attached to pages: upload (raw body or multipart), list, one
//! file with its versions, restore a version, delete. The bytes are served
//! by `html/files.rs` (`/files/{id}/{version}/{name}`).

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::Json;
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{AppError, Code, FileDetail, FileVersionView, FileView};

use super::model::ListJson;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ListParams, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/.sub/pages/files/{*path}",
            class(RouteClass::Upload, get(list_files).post(upload)),
        )
        .route(
            "/files/{id}",
            class(RouteClass::Small, get(get_file).delete(delete_file)),
        )
        .route("/.sub/files/restore/{id}", class(RouteClass::Small, post(restore)))
        .route("/.sub/files/untrash/{id}", class(RouteClass::Small, post(untrash)))
        .route(
            "/.sub/pages/files-trash/{*path}",
            class(RouteClass::Small, get(trashed)),
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileJson {
    pub id: i64,
    /// The page the file is attached to.
    pub page: String,
    pub name: String,
    pub version: i64,
    pub size: i64,
    pub sha256: String,
    /// Decided from the file's bytes.
    pub content_type: String,
    /// This version's bytes (never changes).
    pub url: String,
    /// How the page's Markdown shows it: `![…](file:NAME)` or `[…](file:NAME)`.
    pub reference: String,
    /// The small preview (images, once made by the preview job).
    pub preview_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<FileView> for FileJson {
    fn from(f: FileView) -> Self {
        FileJson {
            reference: format!("file:{}", markdown_name(&f.name)),
            id: f.id,
            page: f.page.into_string(),
            name: f.name,
            version: f.version,
            size: f.size,
            sha256: f.sha256,
            content_type: f.content_type,
            url: f.url,
            preview_url: f.preview_url,
            created_at: rfc3339(f.created_at),
            updated_at: rfc3339(f.updated_at),
        }
    }
}

/// A file name as Markdown link targets want it (spaces and parentheses
/// escaped).
pub(crate) fn markdown_name(name: &str) -> String {
    name.replace('%', "%25")
        .replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileVersionJson {
    pub version: i64,
    pub size: i64,
    pub sha256: String,
    pub content_type: String,
    pub author: Option<String>,
    pub created_at: String,
    pub url: String,
}

impl From<FileVersionView> for FileVersionJson {
    fn from(v: FileVersionView) -> Self {
        FileVersionJson {
            version: v.version,
            size: v.size,
            sha256: v.sha256,
            content_type: v.content_type,
            author: v.author,
            created_at: rfc3339(v.created_at),
            url: v.url,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileDetailJson {
    #[serde(flatten)]
    pub file: FileJson,
    /// Newest first.
    pub versions: Vec<FileVersionJson>,
    /// The current version's previews (images): what is made, why none
    /// can be, or that they are still to come.
    pub previews: PreviewsJson,
    /// Pages whose current text shows or links to the file (those you may
    /// read, up to 100, by path).
    pub used_by: Vec<UsedByJson>,
    /// You may upload new versions, restore and delete.
    pub can_edit: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewsJson {
    pub items: Vec<PreviewJson>,
    /// Why no preview can be made (too many pixels, a damaged image).
    pub error: Option<String>,
    /// The previews are still being made.
    pub pending: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewJson {
    /// `small` (fits 320 px) or `large` (fits 1600 px).
    pub size: String,
    pub url: String,
    pub width: i64,
    pub height: i64,
    pub content_type: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsedByJson {
    pub path: String,
    pub title: String,
}

impl From<FileDetail> for FileDetailJson {
    fn from(d: FileDetail) -> Self {
        FileDetailJson {
            file: d.file.into(),
            versions: d.versions.into_iter().map(Into::into).collect(),
            previews: PreviewsJson {
                items: d
                    .previews
                    .made
                    .into_iter()
                    .map(|p| PreviewJson {
                        size: p.size.to_owned(),
                        url: p.url,
                        width: p.width,
                        height: p.height,
                        content_type: p.content_type,
                    })
                    .collect(),
                error: d.previews.error,
                pending: d.previews.pending,
            },
            used_by: d
                .used_by
                .into_iter()
                .map(|p| UsedByJson {
                    path: p.path.into_string(),
                    title: p.title.to_string(),
                })
                .collect(),
            can_edit: d.can_edit,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name (with a raw body; a multipart upload may take it
    /// from the part's file name).
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// The version whose bytes become current again (as a new version).
    pub version: i64,
}

/// The page's files, by name.
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/files", tag = "files", params(("path" = String, Path), ListParams),
    responses((status = 200, body = ListJson<FileJson>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`, `invalid_limit`")))]
pub(crate) async fn list_files(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<ListJson<FileJson>>> {
    Ok(Json(ListJson::from(
        s.app.page_files(&v.actor, &path, &q.request()).await?,
    )))
}

fn is_multipart(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Uploads a file to the page: the raw bytes as the body (`?name=`), or a
/// multipart form with a `file` part. The same name again adds a version.
#[utoipa::path(post, path = "/api/v1/pages/{path}/-/files", tag = "files", params(("path" = String, Path), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes, or a multipart/form-data body with a `file` part"),
    responses((status = 201, body = FileJson, description = "A new file"), (status = 200, body = FileJson, description = "A new version"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 413, body = ErrorBody, description = "`file_too_large`"),
              (status = 422, body = ErrorBody, description = "`invalid_file_name`, `file_type_refused`, `invalid_path`"),
              (status = 503, body = ErrorBody, description = "`storage_unavailable`")))]
pub(crate) async fn upload(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadParams>,
    req: Request,
) -> ApiResult<(StatusCode, Json<FileJson>)> {
    if !crate::html::csrf::allowed_headers(req.headers(), &v, &s.opts) {
        return Err(AppError::new(
            Code::CsrfRejected,
            "This upload came from another site, or without the headers a browser sends. Send it from the wiki, or with an API token, or with the X-CSRF-Token header.",
        )
        .into());
    }
    let (file, created) = if is_multipart(&req) {
        let mut form = Multipart::from_request(req, &s).await.map_err(|e| {
            AppError::new(
                Code::InvalidBody,
                format!("The multipart body could not be read ({e}). Send a form with a `file` part."),
            )
        })?;
        let mut done = None;
        while let Some(field) = form.next_field().await.map_err(|e| {
            AppError::new(
                Code::InvalidBody,
                format!("The multipart body could not be read ({e}). Send a form with a `file` part."),
            )
        })? {
            if field.name() != Some("file") {
                continue;
            }
            let name = q
                .name
                .clone()
                .or_else(|| field.file_name().map(str::to_owned))
                .unwrap_or_default();
            done = Some(s.app.upload_file(&v.actor, &path, &name, field).await?);
            break;
        }
        done.ok_or_else(|| {
            AppError::invalid(
                Code::InvalidBody,
                "file",
                "The form has no `file` part. Put the file in a part named `file`.",
            )
        })?
    } else {
        let name = q.name.clone().unwrap_or_default();
        let stream = req.into_body().into_data_stream().map_err(|e| e.to_string());
        s.app.upload_file(&v.actor, &path, &name, Box::pin(stream)).await?
    };
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(file.into())))
}

/// One file, with its versions.
#[utoipa::path(get, path = "/api/v1/files/{id}", tag = "files", params(("id" = i64, Path)),
    responses((status = 200, body = FileDetailJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`: the id is not a number")))]
pub(crate) async fn get_file(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<FileDetailJson>> {
    Ok(Json(s.app.file(&v.actor, id).await?.into()))
}

/// Puts the file in the trash.
#[utoipa::path(delete, path = "/api/v1/files/{id}", tag = "files", params(("id" = i64, Path)),
    responses((status = 204, description = "In the trash"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_path`: the id is not a number")))]
pub(crate) async fn delete_file(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.delete_file(&v.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes an earlier version current again (as a new version with its bytes).
#[utoipa::path(post, path = "/api/v1/files/{id}/-/restore", tag = "files", params(("id" = i64, Path)),
    request_body = RestoreBody,
    responses((status = 200, body = FileJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_body` (no such version, or not JSON), `invalid_path` (the id is not a number)")))]
pub(crate) async fn restore(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RestoreBody>,
) -> ApiResult<Json<FileJson>> {
    Ok(Json(
        s.app.restore_file_version(&v.actor, id, body.version).await?.into(),
    ))
}

/// Takes the file out of the trash.
#[utoipa::path(post, path = "/api/v1/files/{id}/-/untrash", tag = "files", params(("id" = i64, Path)),
    responses((status = 200, body = FileJson), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`file_name_taken`: a live file has its name"), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_path`: the id is not a number")))]
pub(crate) async fn untrash(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<FileJson>> {
    Ok(Json(s.app.untrash_file(&v.actor, id).await?.into()))
}

/// The page's files in the trash, most recently deleted first (up to 100).
#[utoipa::path(get, path = "/api/v1/pages/{path}/-/files-trash", tag = "files", params(("path" = String, Path)),
    responses((status = 200, body = ListJson<FileJson>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "`invalid_path`")))]
pub(crate) async fn trashed(
    State(s): State<AppState>,
    v: Visitor,
    ApiPath(path): ApiPath<String>,
) -> ApiResult<Json<ListJson<FileJson>>> {
    let items = s.app.trashed_files(&v.actor, &path).await?;
    Ok(Json(ListJson {
        items: items.into_iter().map(Into::into).collect(),
        next_cursor: None,
    }))
}
