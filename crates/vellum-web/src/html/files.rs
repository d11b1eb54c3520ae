//! Files in the UI and their delivery: a page's files with an upload form
//! (`/wiki/{path}/-/files`), a file's own page (`/files/{id}`: preview,
//! versions, restore, delete), and the bytes (`/files/{id}/{version}/{name}`,
//! immutable per version; `/embed/{page}/{name}`, what `file:NAME` in a
//! page's Markdown points at). All work without JavaScript.
//!
//! Delivery: strong `ETag` (the content's SHA-256) with `If-None-Match`,
//! single `Range` requests (`206`, `416`), `nosniff`, and a sandboxing
//! content security policy on every file; only types a browser cannot run
//! script in are shown inline, everything else (HTML, SVG, XML, …) is a
//! download.

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use vellum_app::{AppError, Code, FileContent, FileDetail, FileView, PageRequest, PreviewSize};

use super::pages::canonical;
use super::{render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, see_other, wiki_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/.sub/wiki/files/{*path}",
            class(RouteClass::Upload, get(page_files).post(upload_post)),
        )
        .route("/files/{id}", class(RouteClass::Small, get(file_page).post(file_post)))
        .route("/files/{id}/{version}/{name}", class(RouteClass::Small, get(bytes)))
        .route("/embed/{page}/{name}", class(RouteClass::Small, get(embedded)))
}

/// Types shown in the browser; anything else is downloaded.
fn inline(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/avif"
            | "image/bmp"
            | "application/pdf"
            | "text/plain"
    ) || content_type.starts_with("audio/")
        || content_type.starts_with("video/")
}

/// A `Range: bytes=…` header for a body of `size` bytes: `None` to send
/// it all, `Some(Ok((first, last)))` for one range, `Some(Err(()))` when
/// unsatisfiable. Several ranges are answered with the whole body.
pub(crate) fn parse_range(raw: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = raw.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        (true, true) => return None,
        // The last `n` bytes.
        (true, false) => {
            let n: u64 = b.parse().ok()?;
            if n == 0 || size == 0 {
                return Some(Err(()));
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, _) => {
            let first: u64 = a.parse().ok()?;
            let last: u64 = if b.is_empty() { u64::MAX } else { b.parse().ok()? };
            if first >= size || last < first {
                return Some(Err(()));
            }
            (first, last.min(size - 1))
        }
    };
    Some(Ok(range))
}

fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The bytes of a file, as the module comment says.
async fn deliver(s: &AppState, headers: &HeaderMap, c: FileContent, immutable: bool) -> Result<Response, AppError> {
    let etag = format!("\"{}\"", c.sha256);
    let cache = if immutable {
        "private, max-age=31536000, immutable"
    } else {
        "private, no-cache"
    };
    let mut out = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
        );
    let matches = |h: &HeaderValue| {
        h.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    };
    if headers.get(header::IF_NONE_MATCH).is_some_and(matches) {
        return out
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|e| AppError::bug(e.to_string()));
    }
    let range_ok = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag));
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| range_ok)
        .and_then(|r| parse_range(r, c.size));
    let content_type = if c.content_type.starts_with("text/") {
        format!("{}; charset=utf-8", c.content_type)
    } else {
        c.content_type.clone()
    };
    let kind = if inline(&c.content_type) {
        "inline"
    } else {
        "attachment"
    };
    out = out
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_DISPOSITION, disposition(kind, &c.name));
    let response = match range {
        Some(Err(())) => out
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{}", c.size))
            .body(Body::empty()),
        Some(Ok((first, last))) => {
            let read = s.app.read_blob(&c.sha256, Some((first, last))).await?;
            out.status(StatusCode::PARTIAL_CONTENT)
                .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{}", c.size))
                .header(header::CONTENT_LENGTH, last - first + 1)
                .body(Body::from_stream(read.stream))
        }
        None if c.size == 0 => out.header(header::CONTENT_LENGTH, 0).body(Body::empty()),
        None => {
            let read = s.app.read_blob(&c.sha256, None).await?;
            out.header(header::CONTENT_LENGTH, c.size)
                .body(Body::from_stream(read.stream))
        }
    };
    response.map_err(|e| AppError::bug(e.to_string()))
}

/// Where a file's bytes may come from S3 itself: types shown inline (a
/// download keeps its name only when Vellum delivers it).
async fn direct(s: &AppState, c: &FileContent) -> Result<Option<Response>, AppError> {
    if !inline(&c.content_type) {
        return Ok(None);
    }
    let Some(url) = s.app.signed_url(c).await? else {
        return Ok(None);
    };
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, url)
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(Body::empty())
        .map(Some)
        .map_err(|e| AppError::bug(e.to_string()))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct BytesQuery {
    preview: Option<String>,
}

async fn bytes(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Path((id, version, _name)): Path<(String, String, String)>,
    Query(q): Query<BytesQuery>,
) -> HtmlResult {
    let not_found = || AppError::new(Code::FileNotFound, "There is no such file. Check the address.");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let version = match version.as_str() {
        "latest" => None,
        n => Some(n.parse::<i64>().map_err(|_| not_found())?),
    };
    let mut c = s.app.file_content(&v.actor, id, version).await?;
    // A numbered version never changes; `latest` does.
    let mut immutable = version.is_some();
    if let Some(raw) = q.preview.as_deref() {
        let size = PreviewSize::parse(raw).ok_or_else(|| {
            AppError::invalid(
                Code::InvalidRequest,
                "preview",
                "A preview is `small` or `large`, as in ?preview=small.",
            )
        })?;
        match s.app.preview_content(&c, size).await? {
            Some(p) => c = p,
            // Not made (yet, or ever): the file itself, for now only.
            None if c.content_type.starts_with("image/") => immutable = false,
            None => {
                return Err(AppError::new(
                    Code::FileNotFound,
                    "This file has no preview: only images do. Leave out ?preview= to get the file.",
                )
                .into())
            }
        }
    }
    if let Some(r) = direct(&s, &c).await? {
        return Ok(r);
    }
    Ok(deliver(&s, &headers, c, immutable).await?)
}

async fn embedded(
    State(s): State<AppState>,
    v: Visitor,
    headers: HeaderMap,
    Path((page, name)): Path<(String, String)>,
) -> HtmlResult {
    let page: i64 = page
        .parse()
        .map_err(|_| AppError::new(Code::FileNotFound, "There is no such file. Check the address."))?;
    let (_, c) = s
        .app
        .page_file_content(&v.actor, vellum_core::PageId(page), &name)
        .await?;
    // Still images as their large preview: upright, and without the
    // original's metadata (such as where a photo was taken).
    let c = s.app.display_content(c).await?;
    if let Some(r) = direct(&s, &c).await? {
        return Ok(r);
    }
    Ok(deliver(&s, &headers, c, false).await?)
}

pub(crate) struct FileRow {
    pub href: String,
    pub name: String,
    pub size: String,
    pub content_type: String,
    pub version: i64,
    pub updated: String,
    pub reference: String,
    pub image_url: Option<String>,
}

fn size(n: i64) -> String {
    let n = n.max(0) as f64;
    if n < 1024.0 {
        format!("{n} B")
    } else if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GiB", n / (1024.0 * 1024.0 * 1024.0))
    }
}

fn row(f: &FileView) -> FileRow {
    let reference = crate::api::markdown_file_name(&f.name);
    FileRow {
        href: format!("/files/{}", f.id),
        name: f.name.clone(),
        size: size(f.size),
        content_type: f.content_type.clone(),
        version: f.version,
        updated: crate::fmt::short(f.updated_at),
        reference: if f.content_type.starts_with("image/") {
            format!("![{}](file:{reference})", f.name)
        } else {
            format!("[{}](file:{reference})", f.name)
        },
        image_url: f.preview_url.clone().or_else(|| {
            // Not previewed (yet): the image itself, where browsers show it.
            (f.content_type.starts_with("image/") && inline(&f.content_type)).then(|| f.url.clone())
        }),
    }
}

#[derive(Template)]
#[template(path = "files.html")]
struct FilesTemplate {
    chrome: Chrome,
    title: String,
    href: String,
    rows: Vec<FileRow>,
    trashed: Vec<FileRow>,
    next: Option<String>,
    can_upload: bool,
    message: Option<String>,
    error: Option<String>,
    max_mib: u64,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct FilesQuery {
    cursor: Option<String>,
    done: Option<String>,
}

async fn files_template(
    s: &AppState,
    v: &Visitor,
    path: &vellum_core::PagePath,
    cursor: Option<String>,
) -> Result<FilesTemplate, AppError> {
    let head = s.app.page_head(&v.actor, path.as_str()).await?;
    let list = s
        .app
        .page_files(
            &v.actor,
            head.path.as_str(),
            &PageRequest {
                cursor,
                limit: Some(100),
            },
        )
        .await?;
    let can = s.app.capabilities(&v.actor, &head.path).await?;
    let trashed = if can.edit {
        s.app
            .trashed_files(&v.actor, head.path.as_str())
            .await?
            .iter()
            .map(row)
            .collect()
    } else {
        Vec::new()
    };
    let href = wiki_href(&head.path);
    Ok(FilesTemplate {
        trashed,
        chrome: Chrome::new(v, format!("Files of {}", head.title)),
        title: head.title.to_string(),
        next: list
            .next_cursor
            .map(|c| format!("{href}/-/files?cursor={}", encode_query(&c))),
        rows: list.items.iter().map(row).collect(),
        can_upload: can.edit && v.actor.user_id().is_some(),
        href,
        message: None,
        error: None,
        max_mib: s.app.config().files.max_bytes / (1024 * 1024),
    })
}

async fn page_files(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<FilesQuery>,
) -> HtmlResult {
    let path = match canonical(&raw, Some("files"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    let mut t = files_template(&s, &v, &path, q.cursor).await?;
    t.message = q.done;
    Ok(render_status(&t, StatusCode::OK))
}

/// The upload form (multipart, field `file`).
async fn upload_post(State(s): State<AppState>, v: Visitor, Path(raw): Path<String>, req: Request) -> HtmlResult {
    let path = vellum_core::PagePath::parse(&raw).map_err(AppError::from)?;
    let outcome = async {
        let mut form = Multipart::from_request(req, &s).await.map_err(|e| {
            AppError::new(
                Code::InvalidBody,
                format!("The form could not be read ({e}). Choose a file and send it again."),
            )
        })?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| AppError::new(Code::InvalidBody, format!("The upload broke off ({e}). Send it again.")))?
        {
            if field.name() != Some("file") {
                continue;
            }
            let name = field.file_name().map(str::to_owned).unwrap_or_default();
            return s.app.upload_file(&v.actor, path.as_str(), &name, field).await;
        }
        Err(AppError::invalid(Code::InvalidBody, "file", "Choose a file to upload."))
    }
    .await;
    match outcome {
        Ok((f, created)) => {
            let done = if created {
                format!("“{}” is uploaded.", f.name)
            } else {
                format!("“{}” has a new version, {}.", f.name, f.version)
            };
            Ok(see_other(&format!(
                "{}/-/files?done={}",
                wiki_href(&path),
                encode_query(&done)
            )))
        }
        Err(e)
            if matches!(
                e.code,
                Code::FileTooLarge | Code::FileTypeRefused | Code::InvalidFileName | Code::InvalidBody
            ) =>
        {
            let mut t = files_template(&s, &v, &path, None).await?;
            let status = super::status_for(&e);
            t.error = Some(e.message);
            Ok(render_status(&t, status))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "file.html")]
struct FileTemplate {
    chrome: Chrome,
    detail: FileDetail,
    row: FileRow,
    page_href: String,
    message: Option<String>,
    /// What the preview area shows: the large preview, or the image itself.
    preview_src: Option<String>,
    used_by: Vec<(String, String)>,
}

fn file_id(raw: &str) -> Result<i64, AppError> {
    raw.parse()
        .map_err(|_| AppError::new(Code::FileNotFound, "There is no such file. Check the address."))
}

async fn file_page(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    Query(q): Query<FilesQuery>,
) -> HtmlResult {
    let detail = s.app.file(&v.actor, file_id(&id)?).await?;
    Ok(render_status(
        &FileTemplate {
            chrome: Chrome::new(&v, detail.file.name.clone()),
            row: row(&detail.file),
            page_href: wiki_href(&detail.file.page),
            preview_src: detail
                .previews
                .made
                .iter()
                .find(|p| p.size == "large")
                .map(|p| p.url.clone())
                .or_else(|| {
                    (detail.file.content_type.starts_with("image/") && inline(&detail.file.content_type))
                        .then(|| detail.file.url.clone())
                }),
            used_by: detail
                .used_by
                .iter()
                .map(|p| (wiki_href(&p.path), p.title.to_string()))
                .collect(),
            detail,
            message: q.done,
        },
        StatusCode::OK,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct FileForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    version: String,
}

async fn file_post(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<FileForm>,
) -> HtmlResult {
    let id = file_id(&id)?;
    match f.action.as_str() {
        "restore" => {
            let version: i64 = f
                .version
                .parse()
                .map_err(|_| AppError::invalid(Code::InvalidRequest, "version", "Choose a version to restore."))?;
            let file = s.app.restore_file_version(&v.actor, id, version).await?;
            let done = format!("Version {version} is current again, as version {}.", file.version);
            Ok(see_other(&format!("/files/{id}?done={}", encode_query(&done))))
        }
        "untrash" => {
            let file = s.app.untrash_file(&v.actor, id).await?;
            let done = format!("“{}” is back from the trash.", file.name);
            Ok(see_other(&format!(
                "{}/-/files?done={}",
                wiki_href(&file.page),
                encode_query(&done)
            )))
        }
        "delete" => {
            let detail = s.app.file(&v.actor, id).await?;
            s.app.delete_file(&v.actor, id).await?;
            let done = format!("“{}” is in the trash.", detail.file.name);
            Ok(see_other(&format!(
                "{}/-/files?done={}",
                wiki_href(&detail.file.page),
                encode_query(&done)
            )))
        }
        _ => Err(AppError::new(Code::InvalidRequest, "That form action is unknown. Reload the page.").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(Ok((0, 99))));
        assert_eq!(parse_range("bytes=900-", 1000), Some(Ok((900, 999))));
        assert_eq!(parse_range("bytes=-100", 1000), Some(Ok((900, 999))));
        assert_eq!(parse_range("bytes=-5000", 1000), Some(Ok((0, 999))));
        assert_eq!(parse_range("bytes=990-5000", 1000), Some(Ok((990, 999))));
        assert_eq!(parse_range("bytes=1000-", 1000), Some(Err(())));
        assert_eq!(parse_range("bytes=5-2", 1000), Some(Err(())));
        assert_eq!(parse_range("bytes=-0", 1000), Some(Err(())));
        // Several ranges, other units and nonsense: the whole body.
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=x-y", 1000), None);
    }

    #[test]
    fn names_in_content_disposition_are_safe_and_exact() {
        assert_eq!(
            disposition("attachment", "a \"b\".svg"),
            "attachment; filename=\"a _b_.svg\"; filename*=UTF-8''a%20%22b%22.svg"
        );
        assert_eq!(
            disposition("inline", "über.png"),
            "inline; filename=\"_ber.png\"; filename*=UTF-8''%C3%BCber.png"
        );
        assert!(!inline("image/svg+xml") && !inline("text/html") && inline("image/png"));
    }
}
