//! The server-rendered HTML UI. Every page works without JavaScript:
//! navigation is links, actions are forms, previews are a form post.
//!
//! One middleware ([`context`]) wraps every HTML route: it resolves the
//! visitor, applies the CSRF check to unsafe methods, turns a handler's
//! [`HtmlError`] into an error page that keeps the visitor's chrome (or a
//! trip to the sign-in page), and marks pages private to shared caches.

mod access;
mod account;
mod comments;
pub(crate) mod csrf;
mod files;
mod history;
mod jobs;
mod lists;
mod manage;
mod me;
mod notifications;
mod pages;
mod reset;
mod search;
mod users;
mod verification;

use askama::Template;
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use vellum_app::{AppError, Code, ErrorKind, FolderEntry, NavLevel, PageSummary};
use vellum_core::{FolderPath, PagePath};

use crate::error::{status_of, ErrorPage, HtmlError, HtmlResult};
use crate::extract::{visitor_from_parts, Visitor};
use crate::routes::Routes;
use crate::urls::{encode_query, folder_href, location, see_other, wiki_href, wiki_sub_href};
use crate::AppState;

/// What every page's frame shows.
pub(crate) struct Chrome {
    pub title: String,
    pub user: Option<String>,
    /// May read something (the lists and the trash are worth a link).
    pub can_read: bool,
    pub is_admin: bool,
    pub version: &'static str,
    /// Where the stylesheets and scripts are (fingerprinted).
    pub assets: &'static crate::assets::Hrefs,
    /// Unread notifications (signed in).
    pub unread: i64,
}

impl Chrome {
    pub(crate) fn new(v: &Visitor, title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            user: v.name().map(str::to_owned),
            can_read: v.site.read,
            is_admin: v.site.administer,
            version: crate::assets::VERSION,
            assets: crate::assets::hrefs(),
            unread: v.unread,
        }
    }
}

/// One breadcrumb link.
pub(crate) struct Crumb {
    pub name: String,
    pub href: String,
}

/// Links to the root and every folder down to `folder`.
pub(crate) fn crumbs(folder: &FolderPath) -> Vec<Crumb> {
    std::iter::once(Crumb {
        name: "Home".into(),
        href: "/folders".into(),
    })
    .chain(folder.lineage().into_iter().map(|f| Crumb {
        name: f.name().to_owned(),
        href: folder_href(&f),
    }))
    .collect()
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
pub(crate) fn nav_items(levels: &[std::sync::Arc<NavLevel>], current_page: Option<&PagePath>) -> Vec<NavItem> {
    fn level(levels: &[std::sync::Arc<NavLevel>], i: usize, current: Option<&PagePath>, out: &mut Vec<NavItem>) {
        let Some(l) = levels.get(i) else { return };
        let next = levels.get(i + 1).map(|n| &n.folder);
        for f in &l.folders {
            let open = next == Some(&f.path);
            out.push(folder_item(i, f, open));
            if open {
                level(levels, i + 1, current, out);
            }
        }
        for p in &l.pages {
            out.push(page_item(i, p, current == Some(&p.path)));
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
        href: folder_href(&f.path),
        is_folder: true,
        open,
        current: false,
        count: f.page_count,
    }
}

fn page_item(depth: usize, p: &PageSummary, current: bool) -> NavItem {
    NavItem {
        depth,
        name: p.title.to_string(),
        href: wiki_href(&p.path),
        is_folder: false,
        open: false,
        current,
        count: 0,
    }
}

pub(crate) fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown; the error has been logged.",
            )
                .into_response()
        }
    }
}

/// A rendered page with a status other than 200.
pub(crate) fn render_status<T: Template>(t: &T, status: StatusCode) -> Response {
    let mut res = render(t);
    *res.status_mut() = status;
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    chrome: Chrome,
    heading: &'a str,
    message: &'a str,
}

fn heading_of(code: Code) -> &'static str {
    match code {
        Code::SetupDone => return "Already set up",
        Code::InvalidSetupToken => return "This setup link does not work",
        Code::CsrfRejected => return "Request refused",
        Code::PathTaken => return "That path is taken",
        _ => {}
    }
    match code.kind() {
        ErrorKind::NotFound => "Not found",
        ErrorKind::Forbidden => "Not allowed",
        ErrorKind::Unauthenticated => "Please sign in",
        ErrorKind::Conflict => "Could not do that",
        ErrorKind::TooLarge => "Too large",
        ErrorKind::MethodNotAllowed => "Not possible here",
        ErrorKind::Invalid | ErrorKind::BadRequest => "That did not work",
        ErrorKind::TooManyRequests => "Too many attempts",
        ErrorKind::Unavailable => "Busy, try again",
        ErrorKind::Internal => "Something went wrong",
    }
}

/// An error page in the visitor's chrome.
pub(crate) fn error_page(v: &Visitor, status: StatusCode, code: Code, message: &str) -> Response {
    let heading = heading_of(code);
    render_status(
        &ErrorTemplate {
            chrome: Chrome::new(v, heading),
            heading,
            message,
        },
        status,
    )
}

fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// See the module documentation.
async fn context(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let original = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
    let mut visitor = match visitor_from_parts(&parts, &s).await {
        Ok(v) => v,
        Err(e) => {
            return HtmlError(e).into_response_for(&Visitor::anonymous(), &original);
        }
    };
    // The header's unread count (a page still shows without it).
    if parts.method == Method::GET && visitor.actor.user_id().is_some() {
        visitor.unread = s.app.unread_badge(&visitor.actor).await.unwrap_or(0);
    }
    parts.extensions.insert(visitor.clone());
    if unsafe_method(&parts.method) && !csrf::allowed(&parts, &visitor, &s.opts) {
        if original.path().ends_with("/-/edit") {
            parts.extensions.insert(csrf::CsrfRejected);
        } else {
            return error_page(
                &visitor,
                StatusCode::FORBIDDEN,
                Code::CsrfRejected,
                "This form was sent from another site, or without the headers a browser sends, so it was refused. Go back, reload the page and send it again.",
            );
        }
    }
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if let Some(page) = res.extensions_mut().remove::<ErrorPage>() {
        res = finish_error(&visitor, &original, res, page);
    } else if res.status() == StatusCode::METHOD_NOT_ALLOWED {
        res = error_page(
            &visitor,
            StatusCode::METHOD_NOT_ALLOWED,
            Code::MethodNotAllowed,
            "This address does not take that kind of request. Use the links and forms on the pages.",
        );
    }
    // Pages depend on who is signed in: never let a shared cache keep them.
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-cache"));
    res
}

/// Shows an error left by a handler: the sign-in page for a visitor who
/// must sign in, otherwise the error page (keeping headers such as
/// `Retry-After`).
fn finish_error(v: &Visitor, original: &axum::http::Uri, res: Response, page: ErrorPage) -> Response {
    if page.code.kind() == ErrorKind::Unauthenticated && v.session_token.is_none() {
        let next = original.path_and_query().map_or("/", |p| p.as_str());
        let mut r = StatusCode::SEE_OTHER.into_response();
        r.headers_mut().insert(
            header::LOCATION,
            location(&format!("/login?next={}", encode_query(next))),
        );
        return r;
    }
    let status = res.status();
    let headers = res.headers().clone();
    let mut out = error_page(v, status, page.code, &page.message);
    for (k, val) in &headers {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), val.clone());
        }
    }
    out
}

impl HtmlError {
    /// The error as a page for `v`, outside the middleware.
    fn into_response_for(self, v: &Visitor, original: &axum::http::Uri) -> Response {
        let res = self.into_response();
        let mut res = res;
        match res.extensions_mut().remove::<ErrorPage>() {
            Some(page) => finish_error(v, original, res, page),
            None => res,
        }
    }
}

/// Addresses that match no route.
pub(crate) async fn not_found(State(s): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let v = visitor_from_parts(&parts, &s)
        .await
        .unwrap_or_else(|_| Visitor::anonymous());
    error_page(
        &v,
        StatusCode::NOT_FOUND,
        Code::NotFound,
        "There is nothing at this address. Check it, or look for the page under Browse.",
    )
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
    let path = PagePath::parse(&raw).map_err(AppError::from)?;
    let to = if q.edit.is_some() {
        wiki_sub_href(&path, "edit")
    } else {
        wiki_href(&path)
    };
    Ok(see_other(&to))
}

/// The front door: the home page, or, before the first account exists, a
/// page that says where the setup link is.
async fn home(State(s): State<AppState>, v: Visitor) -> HtmlResult {
    if s.app.setup_required().await? {
        return Ok(account::setup_pending(&v));
    }
    Ok(see_other("/wiki/home"))
}

/// Text escaped for HTML (for markup built outside a template, such as
/// diff rows and search snippets).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Every HTML route (without the middleware; see [`router`]).
pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/", get(home))
        .route("/go", get(go))
        .merge(pages::router())
        .merge(history::router())
        .merge(manage::router())
        .merge(lists::router())
        .merge(account::router())
        .merge(access::router())
        .merge(me::router())
        .merge(users::router())
        .merge(jobs::router())
        .merge(comments::router())
        .merge(notifications::router())
        .merge(reset::router())
        .merge(search::router())
        .merge(verification::router())
        .merge(files::router())
}

pub(crate) fn router(state: AppState) -> Routes {
    routes().map(|r| r.layer(middleware::from_fn_with_state(state, context)))
}

/// The status an error's kind maps to (for handlers that show a form
/// again with the error on it).
pub(crate) fn status_for(e: &AppError) -> StatusCode {
    status_of(e.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breadcrumbs() {
        let c = crumbs(&FolderPath::parse("a/b").unwrap());
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Home", "a", "b"]);
        assert_eq!(c[2].href, "/folders/a/b");
    }
}
