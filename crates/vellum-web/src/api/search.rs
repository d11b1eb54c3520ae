//! `/api/v1/search`: full-text search, title completion and the index's
//! state. Results only ever hold pages the caller may read.

use axum::extract::State;
use axum::routing::get;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vellum_app::{Code, PageRequest, SearchSort};

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Visitor};
use crate::fmt::rfc3339;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/search", class(RouteClass::Small, get(search)))
        .route("/search/titles", class(RouteClass::Small, get(titles)))
        .route("/search/status", class(RouteClass::Small, get(status)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The query (see the search syntax in docs/search.md): words, "phrases", prefix*, -exclusion, OR,
    /// title:, tag:, path:, author:, updated:>2025-01-01.
    pub q: Option<String>,
    /// `relevance` (default) or `updated` (most recently updated first).
    pub sort: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Results per page (1 to 100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// One result.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitJson {
    pub path: String,
    pub title: String,
    /// Plain text around the best match in the page's text.
    pub snippet: String,
    /// Byte ranges `[start, end)` of `snippet` that matched.
    pub highlights: Vec<[usize; 2]>,
    pub tags: Vec<String>,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacetJson {
    /// A tag, or a top-level folder (`""`: pages at the top level).
    pub value: String,
    /// Matching pages with it.
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsJson {
    pub tags: Vec<FacetJson>,
    pub folders: Vec<FacetJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchJson {
    pub items: Vec<SearchHitJson>,
    /// Matching pages the caller may read, over all pages of results.
    pub total: usize,
    pub facets: FacetsJson,
    /// A query that may find something, when this one found nothing.
    pub did_you_mean: Option<String>,
    /// Pass as `cursor` for the next results; absent on the last page.
    pub next_cursor: Option<String>,
}

pub(crate) fn sort_of(raw: Option<&str>) -> ApiResult<SearchSort> {
    match raw {
        None | Some("" | "relevance") => Ok(SearchSort::Relevance),
        Some("updated") => Ok(SearchSort::Updated),
        Some(other) => Err(ApiError::new(
            Code::InvalidSearch,
            format!("The sort order “{other}” is not one search knows. Use sort=relevance or sort=updated."),
        )),
    }
}

fn facets(v: Vec<(String, u64)>) -> Vec<FacetJson> {
    v.into_iter().map(|(value, count)| FacetJson { value, count }).collect()
}

/// Full-text search over the pages the caller may read: ranked, typo-tolerant, with snippets and facets.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchJson),
              (status = 400, body = ErrorBody, description = "`invalid_cursor`, `invalid_query`"),
              (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_search` (empty or unreadable query), `invalid_limit`"),
              (status = 503, body = ErrorBody, description = "`search_unavailable`")))]
pub(crate) async fn search(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchJson>> {
    let sort = sort_of(q.sort.as_deref())?;
    let req = PageRequest {
        cursor: q.cursor.clone(),
        limit: Some(q.limit.unwrap_or(20)),
    };
    if req.limit.is_some_and(|l| !(1..=100).contains(&l)) {
        return Err(ApiError::new(
            Code::InvalidLimit,
            "Ask for 1 to 100 results per page (the default is 20).",
        ));
    }
    let page = s.app.search(&v.actor, q.q.as_deref().unwrap_or(""), sort, &req).await?;
    Ok(Json(SearchJson {
        items: page
            .items
            .into_iter()
            .map(|h| SearchHitJson {
                path: h.path.as_str().to_owned(),
                title: h.title,
                snippet: h.snippet,
                highlights: h.highlights.into_iter().map(|(a, b)| [a, b]).collect(),
                tags: h.tags,
                updated_at: rfc3339(h.updated_at),
            })
            .collect(),
        total: page.total,
        facets: FacetsJson {
            tags: facets(page.tags),
            folders: facets(page.folders),
        },
        did_you_mean: page.did_you_mean,
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TitleParams {
    /// What was typed so far.
    pub q: Option<String>,
    /// Suggestions (1 to 20, default 8).
    #[param(minimum = 1, maximum = 20)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TitleJson {
    pub path: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TitlesJson {
    pub items: Vec<TitleJson>,
}

/// Pages whose title or path words start with what was typed (for autocomplete), best first.
#[utoipa::path(get, path = "/api/v1/search/titles", tag = "search", params(TitleParams),
    responses((status = 200, body = TitlesJson), (status = 400, body = ErrorBody, description = "`invalid_query`"),
              (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "`invalid_limit`"),
              (status = 503, body = ErrorBody, description = "`search_unavailable`")))]
pub(crate) async fn titles(
    State(s): State<AppState>,
    v: Visitor,
    ApiQuery(q): ApiQuery<TitleParams>,
) -> ApiResult<Json<TitlesJson>> {
    let limit = q.limit.unwrap_or(8);
    if !(1..=20).contains(&limit) {
        return Err(ApiError::new(
            Code::InvalidLimit,
            "Ask for 1 to 20 suggestions (the default is 8).",
        ));
    }
    let found = s
        .app
        .complete_titles(&v.actor, q.q.as_deref().unwrap_or(""), limit)
        .await?;
    Ok(Json(TitlesJson {
        items: found
            .into_iter()
            .map(|(p, title)| TitleJson {
                path: p.as_str().to_owned(),
                title,
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchStatusJson {
    /// Pages in this process's index.
    pub pages: u64,
    /// Index size on disk.
    pub bytes: u64,
    /// Committed events not yet in the index (0 when up to date).
    pub lag_events: i64,
    /// A full rebuild is running.
    pub rebuilding: bool,
    /// The stemming language.
    pub language: String,
}

/// This process's search index: size, lag behind the change feed, rebuild state (administrators).
#[utoipa::path(get, path = "/api/v1/search/status", tag = "search",
    responses((status = 200, body = SearchStatusJson), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 503, body = ErrorBody, description = "`search_unavailable`")))]
pub(crate) async fn status(State(s): State<AppState>, v: Visitor) -> ApiResult<Json<SearchStatusJson>> {
    let st = s.app.search_status(&v.actor).await?;
    Ok(Json(SearchStatusJson {
        pages: st.pages,
        bytes: st.bytes,
        lag_events: st.lag_events,
        rebuilding: st.rebuilding,
        language: st.language.as_str().to_owned(),
    }))
}
