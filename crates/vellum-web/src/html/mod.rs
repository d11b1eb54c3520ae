//! The server-rendered HTML UI. Every page works without JavaScript:
//! navigation is links, actions are forms with a CSRF token, previews are
//! a form post.

mod account;
mod lists;
mod pages;

use askama::Template;
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use vellum_app::{AppError, ErrorKind, FolderEntry, NavLevel, PageSummary};
use vellum_core::FolderPath;

use crate::extract::Visitor;
use crate::AppState;

/// Characters kept as they are in a path URL (the rest is percent-encoded).
const PATH_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const QUERY_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub(crate) fn encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_KEEP).to_string()
}

pub(crate) fn encode_query(value: &str) -> String {
    utf8_percent_encode(value, QUERY_KEEP).to_string()
}

pub(crate) fn wiki_href(path: &str) -> String {
    format!("/wiki/{}", encode_path(path))
}

/// `2026-11-21T23:25:06.123Z` as `2026-11-21 23:25` (UTC), for tables and
/// page meta lines; the full time stays in the `<time datetime>` attribute.
pub(crate) fn short_time(rfc3339: &str) -> String {
    rfc3339.replacen('T', " ", 1).chars().take(16).collect()
}

/// What every page's frame shows.
pub(crate) struct Chrome {
    pub title: String,
    pub user: Option<String>,
    pub can_edit: bool,
    pub is_admin: bool,
    pub csrf: String,
    pub version: &'static str,
}

impl Chrome {
    pub(crate) fn new(v: &Visitor, title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            user: v.name().map(str::to_owned),
            can_edit: v.can_edit(),
            is_admin: v.is_admin(),
            csrf: v.csrf.clone(),
            version: crate::assets::VERSION,
        }
    }

    fn bare(title: &str) -> Chrome {
        Chrome {
            title: title.to_owned(),
            user: None,
            can_edit: false,
            is_admin: false,
            csrf: String::new(),
            version: crate::assets::VERSION,
        }
    }
}

/// One breadcrumb link.
pub(crate) struct Crumb {
    pub name: String,
    pub href: String,
}

pub(crate) fn crumbs(path: &str) -> Vec<Crumb> {
    let mut out = vec![Crumb {
        name: "Home".into(),
        href: "/folders".into(),
    }];
    let mut acc = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(seg);
        out.push(Crumb {
            name: seg.to_owned(),
            href: format!("/folders/{}", encode_path(&acc)),
        });
    }
    out
}

/// One row of the navigation tree beside a page.
pub(crate) struct NavItem {
    pub depth: usize,
    pub name: String,
    pub href: String,
    pub is_folder: bool,
    pub open: bool,
    pub current: bool,
    pub count: i64,
}

/// Flattens the levels from the root down to the current folder into an
/// indented list, each open folder followed by its children.
pub(crate) fn nav_items(levels: &[std::sync::Arc<NavLevel>], current_page: Option<&str>) -> Vec<NavItem> {
    fn level(levels: &[std::sync::Arc<NavLevel>], i: usize, current: Option<&str>, out: &mut Vec<NavItem>) {
        let Some(l) = levels.get(i) else { return };
        let next = levels.get(i + 1).map(|n| n.folder.as_str().to_owned());
        for f in &l.folders {
            let open = next.as_deref() == Some(f.path.as_str());
            out.push(folder_item(i, f, open));
            if open {
                level(levels, i + 1, current, out);
            }
        }
        for p in &l.pages {
            out.push(page_item(i, p, current == Some(p.path.as_str())));
        }
    }
    let mut out = Vec::new();
    level(levels, 0, current_page, &mut out);
    out
}

fn folder_item(depth: usize, f: &FolderEntry, open: bool) -> NavItem {
    NavItem {
        depth,
        name: f.name.clone(),
        href: format!("/folders/{}", encode_path(&f.path)),
        is_folder: true,
        open,
        current: false,
        count: f.page_count,
    }
}

fn page_item(depth: usize, p: &PageSummary, current: bool) -> NavItem {
    NavItem {
        depth,
        name: p.title.clone(),
        href: wiki_href(&p.path),
        is_folder: false,
        open: false,
        current,
        count: 0,
    }
}

pub(crate) async fn nav_for(s: &AppState, v: &Visitor, folder: &FolderPath, current: Option<&str>) -> Vec<NavItem> {
    match s.app.nav_tree(&v.actor, folder).await {
        Ok(levels) => nav_items(&levels, current),
        Err(_) => Vec::new(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
}

pub(crate) fn error_page(status: u16, heading: &str, message: &str) -> Response {
    let t = ErrorTemplate {
        chrome: Chrome::bare(heading),
        heading,
        message,
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match t.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(_) => (status, heading.to_owned()).into_response(),
    }
}

pub(crate) fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            error_page(
                500,
                "Something went wrong",
                "The page could not be shown; the error has been logged.",
            )
        }
    }
}

/// Marks a response that should send the visitor to the sign-in page.
#[derive(Clone, Copy)]
struct NeedsSignIn;

/// An error shown as an HTML page.
pub(crate) struct HtmlError(pub AppError);

impl From<AppError> for HtmlError {
    fn from(e: AppError) -> Self {
        HtmlError(e)
    }
}

impl From<crate::error::ApiError> for HtmlError {
    fn from(e: crate::error::ApiError) -> Self {
        HtmlError(e.0)
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        crate::error::log_internal(&self.0);
        let status = crate::error::status_of(self.0.kind).as_u16();
        let heading = match self.0.kind {
            ErrorKind::NotFound => "Not found",
            ErrorKind::Forbidden => "Not allowed",
            ErrorKind::Unauthenticated => "Please sign in",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::TooLarge => "Too large",
            ErrorKind::Invalid | ErrorKind::BadRequest => "That did not work",
            ErrorKind::Internal => "Something went wrong",
        };
        let mut res = error_page(status, heading, &self.0.message);
        if self.0.kind == ErrorKind::Unauthenticated {
            res.extensions_mut().insert(NeedsSignIn);
        }
        res
    }
}

pub(crate) type HtmlResult = Result<Response, HtmlError>;

/// Sends visitors who must sign in to the sign-in page, then back.
async fn sign_in_redirect(OriginalUri(uri): OriginalUri, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.extensions().get::<NeedsSignIn>().is_some() {
        let next = uri.path_and_query().map_or("/", |p| p.as_str());
        return Redirect::to(&format!("/login?next={}", encode_query(next))).into_response();
    }
    res
}

pub(crate) async fn not_found() -> Response {
    error_page(404, "Not found", "There is nothing at this address.")
}

#[derive(serde::Deserialize)]
struct GoQuery {
    path: Option<String>,
    edit: Option<String>,
}

/// The "go to page" box and the "new page" form: normalise a typed path and
/// go there (to the editor with `edit`).
async fn go(Query(q): Query<GoQuery>) -> HtmlResult {
    let raw = q.path.unwrap_or_default();
    let path = vellum_core::PagePath::parse(&raw).map_err(AppError::from)?;
    let suffix = if q.edit.is_some() { "/-/edit" } else { "" };
    Ok(Redirect::to(&format!("{}{suffix}", wiki_href(path.as_str()))).into_response())
}

pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/wiki/home") }))
        .route("/go", get(go))
        .route("/wiki/{*path}", get(pages::get_wiki).post(pages::post_wiki))
        .route("/revisions/{id}", get(pages::revision))
        .route("/folders", get(lists::folder_root))
        .route("/folders/{*path}", get(lists::folder))
        .route("/pages", get(lists::all_pages))
        .route("/tags", get(lists::tags))
        .route("/tags/{tag}", get(lists::tag))
        .route("/recent", get(lists::recent))
        .route("/trash", get(lists::trash))
        .route("/trash/{id}/restore", post(lists::restore))
        .route("/wanted", get(lists::wanted))
        .route("/orphans", get(lists::orphans))
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route("/setup", get(account::setup_form).post(account::setup))
        .route("/admin", get(account::admin).post(account::admin_post))
        .layer(middleware::from_fn(sign_in_redirect))
        .layer(middleware::from_fn_with_state(state, crate::csrf::guard))
        .layer(axum::middleware::map_response(|mut res: Response| async move {
            // Pages depend on who is signed in: never let a shared cache keep them.
            res.headers_mut()
                .entry(header::CACHE_CONTROL)
                .or_insert(header::HeaderValue::from_static("private, no-cache"));
            res
        }))
}

/// Shared state handle for handlers.
pub(crate) type St = State<AppState>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_for_urls() {
        assert_eq!(encode_path("a/b-c_d.e"), "a/b-c_d.e");
        assert_eq!(encode_path("équipe/日本"), "%C3%A9quipe/%E6%97%A5%E6%9C%AC");
        assert_eq!(encode_query("/wiki/a?x=1&y"), "%2Fwiki%2Fa%3Fx%3D1%26y");
    }

    #[test]
    fn breadcrumbs() {
        let c = crumbs("a/b");
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Home", "a", "b"]);
        assert_eq!(c[2].href, "/folders/a/b");
    }
}
