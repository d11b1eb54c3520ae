//! `/wiki/{path}`: viewing a page, and the editor (preview, save,
//! conflict resolution) at `/wiki/{path}/-/edit`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Extension;
use vellum_app::{AppError, Capabilities, Code, ErrorKind, Lookup, Page, PageView, SaveRequest};
use vellum_core::{PagePath, RevisionId};
use vellum_markup::{split_leading_heading, TocEntry};

use super::csrf::CsrfRejected;
use super::{crumbs, nav_items, render, render_status, status_for, Chrome, Crumb, NavItem};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, permanent, see_other, wiki_href, wiki_sub_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/wiki/{*path}", class(RouteClass::Small, get(view)))
        .route(
            "/.sub/wiki/edit/{*path}",
            class(RouteClass::Page, get(edit_form).post(save)),
        )
}

/// The canonical spelling of a page address, or a redirect to it
/// (`/wiki/Team/Hand Book` → `/wiki/team/hand-book`), keeping the
/// sub-page.
pub(crate) fn canonical(raw: &str, sub: Option<&str>) -> Result<Result<PagePath, Response>, AppError> {
    let path = PagePath::parse(raw)?;
    if path.as_str() == raw {
        return Ok(Ok(path));
    }
    let to = match sub {
        Some(s) => wiki_sub_href(&path, s),
        None => wiki_href(&path),
    };
    Ok(Err(permanent(&to)))
}

/// The address of a page sub-resource that does not exist.
fn unknown_sub() -> AppError {
    AppError::new(
        Code::NotFound,
        "Pages have no such view. Use the links on the page (history, links here, edit).",
    )
}

#[derive(Template)]
#[template(path = "page.html")]
struct PageTemplate {
    chrome: Chrome,
    page: Page,
    /// The page's HTML as shown: without an opening heading that repeats
    /// the title shown above it.
    body: String,
    can: Capabilities,
    href: String,
    /// The page's access page (shown to those who manage it).
    access_href: String,
    crumbs: Vec<Crumb>,
    nav: Vec<NavItem>,
    toc: Vec<TocEntry>,
    redirected_from: Option<String>,
    comments: super::comments::CommentsSection,
    /// What the visitor watches about the page (signed in only).
    watch: vellum_app::WatchState,
    signed_in: bool,
    /// The "needs review" banner, when a review policy covers the page.
    banner: Option<super::verification::ReviewBanner>,
    review_href: String,
}

#[derive(Template)]
#[template(path = "missing.html")]
struct MissingTemplate {
    chrome: Chrome,
    path: PagePath,
    href: String,
    in_trash: bool,
    /// May create a page here.
    can_create: bool,
    crumbs: Vec<Crumb>,
}

#[derive(serde::Deserialize)]
pub(crate) struct ViewQuery {
    from: Option<String>,
}

async fn view(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<ViewQuery>,
    headers: axum::http::HeaderMap,
) -> HtmlResult {
    if raw.contains("/-/") {
        return Err(unknown_sub().into());
    }
    let path = match canonical(&raw, None)? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    match s.app.page_view(&v.actor, path.as_str()).await? {
        Lookup::Found(view) => {
            // Everything the page shows: the service's part, then the
            // chrome's and the request's.
            let digest = vellum_app::digest_of(&(
                view.version,
                v.actor.user_id(),
                v.name(),
                v.site,
                v.unread,
                &q.from,
                crate::assets::VERSION,
                crate::assets::fingerprint(),
            ));
            Ok(crate::http_cache::page_response(&s.compressed, &headers, digest, || {
                let comments = super::comments::section(&view.comments);
                show_with(&v, *view, q.from, comments, StatusCode::OK)
            })
            .await)
        }
        Lookup::Moved(view) => {
            // Send the browser to the new address, saying where it came from.
            let to = format!("{}?from={}", wiki_href(&view.page.path), encode_query(path.as_str()));
            Ok(permanent(&to))
        }
        Lookup::Missing { path, in_trash } => {
            let can_create = s.app.capabilities(&v.actor, &path).await?.edit;
            let t = MissingTemplate {
                can_create,
                chrome: Chrome::new(&v, path.as_str()),
                href: wiki_href(&path),
                crumbs: crumbs(&path.folder()),
                path,
                in_trash,
            };
            Ok(render_status(&t, StatusCode::NOT_FOUND))
        }
    }
}

/// A page's HTML and contents without an opening `# Heading` equal to
/// `title` (shown once, above the page, not twice).
pub(crate) fn without_repeated_title<'a>(html: &'a str, toc: &'a [TocEntry], title: &str) -> (&'a str, &'a [TocEntry]) {
    match split_leading_heading(html, toc) {
        Some((heading, rest)) if heading.trim() == title.trim() => (rest, &toc[1..]),
        _ => (html, toc),
    }
}

pub(crate) fn show_with(
    v: &Visitor,
    view: PageView,
    redirected_from: Option<String>,
    comments: super::comments::CommentsSection,
    status: StatusCode,
) -> Response {
    let PageView {
        page,
        nav,
        can,
        watch,
        review,
        ..
    } = view;
    let (body, toc) = without_repeated_title(&page.html, &page.toc, page.title.as_str());
    let t = PageTemplate {
        chrome: Chrome::new(v, page.title.as_str()),
        href: wiki_href(&page.path),
        access_href: format!("/access/{}", crate::urls::encode_path(page.path.as_str())),
        crumbs: crumbs(&page.path.folder()),
        nav: nav_items(&nav, Some(&page.path)),
        body: body.to_owned(),
        toc: toc.iter().filter(|e| e.level <= 3).cloned().collect(),
        redirected_from: redirected_from.and_then(|f| PagePath::parse(&f).ok().map(PagePath::into_string)),
        can,
        page,
        comments,
        watch,
        signed_in: v.actor.user_id().is_some(),
        banner: super::verification::banner(&review),
        review_href: format!("{}/-/review", wiki_href(&review.path)),
    };
    render_status(&t, status)
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditTemplate {
    chrome: Chrome,
    path: PagePath,
    href: String,
    is_new: bool,
    title: String,
    markdown: String,
    summary: String,
    tags: String,
    base_revision: String,
    preview: Option<String>,
    error: Option<String>,
    conflict: Option<Conflict>,
    /// The last save was refused for leftover conflict markers.
    markers_left: bool,
    /// The editor may mark the page verified with the save (`Some`: it is
    /// under review; the flag is whether the box is ticked).
    verify: Option<bool>,
}

impl EditTemplate {
    /// Where the editor's script uploads dropped and pasted files.
    fn upload_url(&self) -> String {
        format!("/api/v1/pages/{}/-/files", crate::urls::encode_path(self.path.as_str()))
    }
}

pub(crate) struct Conflict {
    pub yours: String,
    pub theirs: String,
    pub current_number: i64,
}

async fn edit_form(State(s): State<AppState>, v: Visitor, Path(raw): Path<String>) -> HtmlResult {
    let path = match canonical(&raw, Some("edit"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    s.app.check_write(&v.actor, path.as_str()).await?;
    let mut t = match s.app.lookup(&v.actor, path.as_str(), true).await? {
        Lookup::Found(page) | Lookup::Moved(page) => EditTemplate {
            chrome: Chrome::new(&v, format!("Editing {}", page.title)),
            href: wiki_href(&page.path),
            is_new: false,
            title: page.title.to_string(),
            markdown: page.markdown.clone().unwrap_or_default(),
            summary: String::new(),
            tags: page.tags.join(", "),
            base_revision: page.revision.to_string(),
            path: page.path,
            preview: None,
            error: None,
            conflict: None,
            markers_left: false,
            verify: None,
        },
        Lookup::Missing { path, .. } => EditTemplate {
            chrome: Chrome::new(&v, format!("Creating {path}")),
            href: wiki_href(&path),
            title: path.default_title(),
            path,
            is_new: true,
            markdown: String::new(),
            summary: String::new(),
            tags: String::new(),
            base_revision: String::new(),
            preview: None,
            error: None,
            conflict: None,
            markers_left: false,
            verify: None,
        },
    };
    t.verify = may_verify(&s, &v, &t).await?.then_some(false);
    Ok(render(&t))
}

/// Whether the editor may tick "verified" (an existing page under review
/// that they own or manage).
async fn may_verify(s: &AppState, v: &Visitor, t: &EditTemplate) -> Result<bool, AppError> {
    if t.is_new {
        return Ok(false);
    }
    match s.app.page_review_summary(&v.actor, t.path.as_str()).await {
        Ok(r) => Ok(r.can_verify),
        Err(e) if e.kind() == vellum_app::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct EditForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    markdown: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    base_revision: String,
    /// Save text that contains conflict-marker lines on purpose.
    keep_markers: Option<String>,
    /// "This page is still right": mark it verified with the save.
    verify: Option<String>,
}

/// Whether the text holds a conflict left by the merge (all three kinds of
/// marker line).
fn has_conflict_markers(text: &str) -> bool {
    let mut seen = [false; 3];
    for line in text.lines() {
        if line.starts_with("<<<<<<< ") {
            seen[0] = true;
        } else if line == "=======" {
            seen[1] = true;
        } else if line.starts_with(">>>>>>> ") {
            seen[2] = true;
        }
    }
    seen.iter().all(|s| *s)
}

async fn save(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    rejected: Option<Extension<CsrfRejected>>,
    axum::Form(form): axum::Form<EditForm>,
) -> HtmlResult {
    let path = PagePath::parse(&raw).map_err(AppError::from)?;
    let base_revision = form.base_revision.trim().parse::<i64>().ok().map(RevisionId);
    let mut t = EditTemplate {
        chrome: Chrome::new(&v, format!("Editing {}", form.title)),
        href: wiki_href(&path),
        path: path.clone(),
        is_new: base_revision.is_none(),
        title: form.title.clone(),
        markdown: form.markdown.clone(),
        summary: form.summary.clone(),
        tags: form.tags.clone(),
        base_revision: form.base_revision.clone(),
        preview: None,
        error: None,
        conflict: None,
        markers_left: false,
        verify: None,
    };
    t.verify = may_verify(&s, &v, &t).await?.then_some(form.verify.is_some());
    if rejected.is_some() {
        t.error = Some(
            "Your text was not saved: the form was sent without the headers your browser normally adds, or from another site. Your text is below; save again from this page."
                .into(),
        );
        return Ok(render_status(&t, StatusCode::FORBIDDEN));
    }
    if form.action == "preview" {
        match s.app.preview(&v.actor, &form.markdown).await {
            Ok((html, toc)) => {
                t.preview = Some(without_repeated_title(&html, &toc, &form.title).0.to_owned());
            }
            Err(e) => t.error = Some(e.message),
        }
        return Ok(render(&t));
    }
    if form.keep_markers.is_none() && has_conflict_markers(&form.markdown) {
        t.error = Some(
            "The text still has conflict markers (the <<<<<<< ours, ======= and >>>>>>> theirs lines). Keep what should stay, remove the markers, and save again. If the page really needs those lines, tick “Save with these lines” below."
                .into(),
        );
        t.markers_left = true;
        return Ok(render_status(&t, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let req = SaveRequest {
        title: Some(form.title.clone()).filter(|t| !t.trim().is_empty()),
        markdown: form.markdown.clone(),
        summary: Some(form.summary.clone()),
        tags: Some(vellum_app::split_tags(&form.tags)),
        base_revision,
        verify: form.verify.is_some(),
    };
    match s.app.save_page(&v.actor, path.as_str(), req).await {
        Ok(saved) => Ok(see_other(&wiki_href(&saved.page.path))),
        Err(e) if e.code == Code::EditConflict && e.details.is_some() => {
            let d = e.details.clone().unwrap_or_default();
            let field = |k: &str| d.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
            // The editor now starts from both versions combined, on top of
            // the revision the user has now seen: saving again cannot
            // overwrite the other person's change unseen.
            t.base_revision = d.get("current_revision").map(ToString::to_string).unwrap_or_default();
            t.markdown = field("merged_with_markers");
            t.conflict = Some(Conflict {
                yours: field("yours"),
                theirs: field("theirs"),
                current_number: d
                    .get("current_revision_number")
                    .and_then(|n| n.as_i64())
                    .unwrap_or_default(),
            });
            Ok(render_status(&t, StatusCode::CONFLICT))
        }
        Err(e) if e.kind() == ErrorKind::Unauthenticated => {
            t.error = Some(
                "You are not signed in any more, so your text was not saved. It is below: sign in in another tab, then save again here."
                    .into(),
            );
            Ok(render_status(&t, StatusCode::UNAUTHORIZED))
        }
        Err(e) if e.kind() != ErrorKind::Internal => {
            // Keep the text on the screen whatever was wrong.
            let status = status_for(&e);
            t.error = Some(e.message);
            Ok(render_status(&t, status))
        }
        Err(e) => Err(e.into()),
    }
}
