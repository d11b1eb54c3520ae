//! Page verification in the UI: the "needs review" banner on pages (built
//! here, shown by `page.html`), a page's review settings and history
//! (`/wiki/{path}/-/review`), a folder's (`/verification/folder?path=`),
//! and the report of what is due (`/verification`), all without
//! JavaScript.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use vellum_app::{AppError, Code, PageRequest, PageReview, ReviewPolicy, ReviewQuery, ReviewState, ReviewTally};
use vellum_core::FolderPath;

use super::pages::canonical;
use super::{render_status, Chrome};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::fmt::day;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, folder_href, see_other, wiki_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route(
            "/.sub/wiki/review/{*path}",
            class(RouteClass::Small, get(review_page).post(review_post)),
        )
        .route(
            "/verification/folder",
            class(RouteClass::Small, get(folder_page).post(folder_post)),
        )
        .route("/verification", class(RouteClass::Small, get(report)))
}

/// What a page shows about its review, when a policy covers it.
pub(crate) struct ReviewBanner {
    /// `current`, `due` or `overdue`.
    pub state: &'static str,
    pub due: String,
    pub due_rfc3339: String,
    pub owner: String,
    pub last: Option<(String, String, String)>,
    pub can_verify: bool,
    pub review_href: String,
}

fn who(display: &Option<String>, name: &Option<String>) -> String {
    display
        .clone()
        .or_else(|| name.clone())
        .unwrap_or_else(|| "no one (the owner's account was deleted)".into())
}

pub(crate) fn banner(r: &PageReview) -> Option<ReviewBanner> {
    let (policy, state, due) = (r.policy.as_ref()?, r.state?, r.due_at?);
    Some(ReviewBanner {
        state: state.as_str(),
        due: crate::fmt::day(due),
        due_rfc3339: crate::fmt::rfc3339(due),
        owner: who(&policy.owner_display, &policy.owner),
        last: r.last.as_ref().map(|l| {
            (
                who(&l.by_display, &l.by),
                crate::fmt::day(l.at),
                crate::fmt::rfc3339(l.at),
            )
        }),
        can_verify: r.can_verify,
        review_href: format!("{}/-/review", wiki_href(&r.path)),
    })
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewTemplate {
    chrome: Chrome,
    href: String,
    review: PageReview,
    banner: Option<ReviewBanner>,
    /// The policy's owner and interval for the form (the governing one, or
    /// blank).
    owner: String,
    interval: String,
    inherited_from: Option<String>,
    error: Option<String>,
    message: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

fn form_values(review: &PageReview) -> (String, String, Option<String>) {
    match &review.policy {
        Some(p) => (
            p.owner.clone().unwrap_or_default(),
            p.interval_days.to_string(),
            (p.scope == "folder").then(|| {
                if p.path.is_empty() {
                    "the whole wiki".to_owned()
                } else {
                    p.path.clone()
                }
            }),
        ),
        None => (String::new(), "90".into(), None),
    }
}

fn review_template(v: &Visitor, review: PageReview, error: Option<String>, message: Option<String>) -> ReviewTemplate {
    let (owner, interval, inherited_from) = form_values(&review);
    ReviewTemplate {
        chrome: Chrome::new(v, format!("Review of {}", review.title)),
        href: wiki_href(&review.path),
        banner: banner(&review),
        owner: if owner.is_empty() {
            v.actor.name().unwrap_or_default().to_owned()
        } else {
            owner
        },
        interval,
        inherited_from,
        review,
        error,
        message,
    }
}

async fn review_page(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    Query(q): Query<DoneQuery>,
) -> HtmlResult {
    let path = match canonical(&raw, Some("review"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    let review = s.app.page_review(&v.actor, path.as_str()).await?;
    Ok(render_status(
        &review_template(&v, review, None, q.done),
        StatusCode::OK,
    ))
}

#[derive(serde::Deserialize)]
pub(crate) struct ReviewForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    interval_days: String,
    /// Where to go after verifying (`page`: back to the page).
    #[serde(default)]
    back: String,
}

fn parse_days(raw: &str) -> Result<i64, AppError> {
    raw.trim().parse::<i64>().map_err(|_| {
        AppError::invalid(
            Code::InvalidReview,
            "interval_days",
            "The review interval is a whole number of days, for example 90.",
        )
    })
}

async fn review_post(
    State(s): State<AppState>,
    v: Visitor,
    Path(raw): Path<String>,
    axum::Form(f): axum::Form<ReviewForm>,
) -> HtmlResult {
    let path = match canonical(&raw, Some("review"))? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    let outcome = match f.action.as_str() {
        "verify" => s
            .app
            .verify_page(&v.actor, path.as_str())
            .await
            .map(|_| "Marked verified."),
        "set" => match parse_days(&f.interval_days) {
            Ok(days) => {
                let owner = Some(f.owner.trim()).filter(|o| !o.is_empty());
                s.app
                    .set_page_review(&v.actor, path.as_str(), owner, days)
                    .await
                    .map(|_| "Review settings saved.")
            }
            Err(e) => Err(e),
        },
        "clear" => s
            .app
            .clear_page_review(&v.actor, path.as_str())
            .await
            .map(|_| "The page's own review settings are removed."),
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match outcome {
        Ok(_) if f.action == "verify" && f.back == "page" => Ok(see_other(&wiki_href(&path))),
        Ok(message) => Ok(see_other(&format!(
            "{}/-/review?done={}",
            wiki_href(&path),
            encode_query(message)
        ))),
        // A mistake in the form is shown on the form, with what was typed.
        Err(e) if matches!(e.code, Code::InvalidReview | Code::NoReview) => {
            let review = s.app.page_review(&v.actor, path.as_str()).await?;
            let mut t = review_template(&v, review, Some(e.message), None);
            t.owner = f.owner;
            t.interval = f.interval_days;
            Ok(render_status(&t, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "review_folder.html")]
struct FolderReviewTemplate {
    chrome: Chrome,
    folder: String,
    folder_label: String,
    folder_href: String,
    policy: Option<ReviewPolicy>,
    /// The visitor manages the folder (may change its settings).
    can_set: bool,
    owner: String,
    interval: String,
    report_href: String,
    error: Option<String>,
    message: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct FolderQuery {
    #[serde(default)]
    path: String,
    done: Option<String>,
}

fn folder_template(
    v: &Visitor,
    folder: &FolderPath,
    policy: Option<ReviewPolicy>,
    error: Option<String>,
    message: Option<String>,
) -> FolderReviewTemplate {
    let label = if folder.as_str().is_empty() {
        "the whole wiki".to_owned()
    } else {
        folder.as_str().to_owned()
    };
    FolderReviewTemplate {
        chrome: Chrome::new(v, format!("Review of {label}")),
        folder: folder.as_str().to_owned(),
        folder_href: folder_href(folder),
        report_href: format!("/verification?folder={}", encode_query(folder.as_str())),
        owner: policy
            .as_ref()
            .and_then(|p| p.owner.clone())
            .unwrap_or_else(|| v.actor.name().unwrap_or_default().to_owned()),
        interval: policy
            .as_ref()
            .map_or_else(|| "90".into(), |p| p.interval_days.to_string()),
        folder_label: label,
        policy,
        can_set: false,
        error,
        message,
    }
}

fn folder_of(raw: &str) -> Result<FolderPath, AppError> {
    Ok(FolderPath::parse(raw.trim_matches('/'))?)
}

async fn folder_page(State(s): State<AppState>, v: Visitor, Query(q): Query<FolderQuery>) -> HtmlResult {
    let folder = folder_of(&q.path)?;
    let policy = s.app.folder_review(&v.actor, folder.as_str()).await?;
    let mut t = folder_template(&v, &folder, policy, None, q.done);
    t.can_set = s.app.folder_capabilities(&v.actor, &folder).await?.manage_access && v.actor.user_id().is_some();
    Ok(render_status(&t, StatusCode::OK))
}

#[derive(serde::Deserialize)]
pub(crate) struct FolderForm {
    #[serde(default)]
    path: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    interval_days: String,
}

async fn folder_post(State(s): State<AppState>, v: Visitor, axum::Form(f): axum::Form<FolderForm>) -> HtmlResult {
    let folder = folder_of(&f.path)?;
    let outcome = match f.action.as_str() {
        "set" => match parse_days(&f.interval_days) {
            Ok(days) => {
                let owner = Some(f.owner.trim()).filter(|o| !o.is_empty());
                s.app
                    .set_folder_review(&v.actor, folder.as_str(), Some((owner, days)))
                    .await
                    .map(|_| "Review settings saved.")
            }
            Err(e) => Err(e),
        },
        "clear" => s
            .app
            .set_folder_review(&v.actor, folder.as_str(), None)
            .await
            .map(|_| "The folder's review settings are removed."),
        _ => Err(AppError::new(
            Code::InvalidRequest,
            "That form action is unknown. Reload the page.",
        )),
    };
    match outcome {
        Ok(message) => Ok(see_other(&format!(
            "/verification/folder?path={}&done={}",
            encode_query(folder.as_str()),
            encode_query(message)
        ))),
        Err(e) if e.code == Code::InvalidReview => {
            let policy = s.app.folder_review(&v.actor, folder.as_str()).await?;
            let mut t = folder_template(&v, &folder, policy, Some(e.message), None);
            t.can_set = true;
            t.owner = f.owner;
            t.interval = f.interval_days;
            Ok(render_status(&t, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) struct ReportRow {
    pub href: String,
    pub title: String,
    pub path: String,
    pub owner: String,
    pub state: &'static str,
    pub due: String,
    pub due_rfc3339: String,
    pub verified: String,
}

#[derive(Template)]
#[template(path = "verification.html")]
struct ReportTemplate {
    chrome: Chrome,
    rows: Vec<ReportRow>,
    tally: ReviewTally,
    by_folder: Vec<(String, ReviewTally)>,
    by_owner: Vec<(String, ReviewTally)>,
    state: String,
    folder: String,
    owner: String,
    csv_href: String,
    next: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ReportQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    folder: String,
    #[serde(default)]
    owner: String,
    cursor: Option<String>,
}

async fn report(State(s): State<AppState>, v: Visitor, Query(q): Query<ReportQuery>) -> HtmlResult {
    let state = if q.state.trim().is_empty() {
        "attention".to_owned()
    } else {
        q.state.trim().to_owned()
    };
    let query = ReviewQuery {
        state: Some(state.clone()),
        folder: Some(q.folder.clone()),
        owner: Some(q.owner.clone()),
    };
    let req = PageRequest {
        cursor: q.cursor.clone(),
        limit: Some(100),
    };
    let r = s.app.review_report(&v.actor, &query, &req).await?;
    let filters = format!(
        "state={}&folder={}&owner={}",
        encode_query(&state),
        encode_query(&q.folder),
        encode_query(&q.owner)
    );
    let rows = r
        .page
        .items
        .iter()
        .map(|row| ReportRow {
            href: wiki_href(&row.path),
            title: row.title.clone(),
            path: row.path.to_string(),
            owner: row
                .owner_display
                .clone()
                .or_else(|| row.owner.clone())
                .unwrap_or_else(|| "—".into()),
            state: match (row.state, row.verified_at) {
                (ReviewState::Overdue, _) => "overdue",
                (ReviewState::Due, _) => "due",
                (ReviewState::Current, None) => "never verified",
                (ReviewState::Current, Some(_)) => "current",
            },
            due: day(row.due_at),
            due_rfc3339: crate::fmt::rfc3339(row.due_at),
            verified: match (&row.verified_at, &row.verified_by) {
                (Some(at), Some(by)) => format!("{} by {by}", day(*at)),
                (Some(at), None) => day(*at),
                (None, _) => "never".into(),
            },
        })
        .collect();
    Ok(render_status(
        &ReportTemplate {
            chrome: Chrome::new(&v, "Page verification"),
            rows,
            tally: r.tally,
            by_folder: r.by_folder,
            by_owner: r.by_owner,
            csv_href: format!("/api/v1/verification?{filters}&format=csv"),
            next: r
                .page
                .next_cursor
                .map(|c| format!("/verification?{filters}&cursor={}", encode_query(&c))),
            state,
            folder: q.folder,
            owner: q.owner,
        },
        StatusCode::OK,
    ))
}
