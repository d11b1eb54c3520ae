//! What the services return: plain data, serialised as-is by the JSON API
//! and read by the HTML templates.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;
use vellum_markup::TocEntry;

/// A page at its current revision, rendered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page {
    pub id: i64,
    pub path: String,
    pub title: String,
    /// Current revision id.
    pub revision: i64,
    pub markdown: String,
    /// Sanitized HTML of the current revision.
    #[schema(value_type = String)]
    pub html: Arc<str>,
    #[schema(value_type = Vec<Object>)]
    pub toc: Arc<[TocEntry]>,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: Option<String>,
}

/// A page in a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageSummary {
    pub path: String,
    pub title: String,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrashedPage {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub deleted_at: String,
}

/// One revision's metadata (its text is fetched by id).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionInfo {
    pub id: i64,
    pub page_id: i64,
    pub parent_id: Option<i64>,
    pub author: Option<String>,
    pub created_at: String,
    /// `create`, `edit`, `merge` or `revert`.
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub size: i64,
    pub size_delta: i64,
}

/// One revision with its text and rendering.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revision {
    #[serde(flatten)]
    pub info: RevisionInfo,
    /// The page's path today.
    pub path: String,
    pub is_current: bool,
    pub markdown: String,
    #[schema(value_type = String)]
    pub html: Arc<str>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FolderEntry {
    pub path: String,
    pub name: String,
    pub page_count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Folder {
    /// Empty for the root folder.
    pub path: String,
    /// The page living at the folder's own path, if any.
    pub page: Option<PageSummary>,
    pub folders: Vec<FolderEntry>,
    pub pages: Vec<PageSummary>,
    /// Pass as `cursor` for the folder's next pages; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Change {
    pub seq: i64,
    pub at: String,
    pub user: Option<String>,
    /// `page.created`, `page.edited`, `page.reverted`, `page.moved`,
    /// `page.deleted`, `page.restored` or `page.tags_changed`.
    pub action: String,
    pub path: Option<String>,
    pub title: Option<String>,
    pub revision: Option<i64>,
    pub summary: Option<String>,
    pub size_delta: Option<i64>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WantedPage {
    pub path: String,
    pub links: i64,
}

/// A page of a cursor-paginated list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row, if any,
    /// only tells that more exist.
    pub(crate) fn from_rows(mut items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(cursor_of)
        } else {
            None
        };
        Paged { items, next_cursor }
    }
}

/// The outcome of a save.
#[derive(Debug, Clone)]
pub struct Saved {
    pub page: Page,
    pub created: bool,
    /// The edit was merged with another one that landed first.
    pub merged: bool,
}

/// A list-page request.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 500;

    pub(crate) fn limit(&self) -> usize {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT).clamp(1, Self::MAX_LIMIT)
    }

    /// The row count to fetch: one more than shown, to know if more exist.
    pub(crate) fn fetch(&self) -> i64 {
        i64::try_from(self.limit() + 1).unwrap_or(i64::MAX)
    }

    pub(crate) fn id_cursor(&self) -> crate::AppResult<Option<i64>> {
        self.cursor
            .as_deref()
            .map(|c| {
                c.parse::<i64>().map_err(|_| {
                    crate::AppError::new(
                        crate::ErrorKind::BadRequest,
                        "invalid_cursor",
                        "the cursor is not one this list returned; start again without it",
                    )
                })
            })
            .transpose()
    }
}
