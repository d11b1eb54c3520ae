//! What the services return: plain domain data. The web layer presents it
//! (HTML templates, and the API's own models in `vellum-web`), so these
//! types can change without silently changing API v1.

use std::sync::Arc;

use vellum_core::{Event, FolderPath, PageId, PagePath, RevisionId, RevisionKind, Timestamp, Title, UserId};
use vellum_markup::TocEntry;

/// A page at its current revision, rendered.
#[derive(Debug, Clone)]
pub struct Page {
    pub id: PageId,
    pub path: PagePath,
    pub title: Title,
    pub revision: RevisionId,
    /// The current revision's number within the page (1, 2, 3 …).
    pub revision_number: i64,
    /// The text, when the use case loaded it (editing, the API); page
    /// views do not.
    pub markdown: Option<String>,
    /// Sanitized HTML of the current revision, links to missing pages
    /// styled as such.
    pub html: Arc<str>,
    pub toc: Arc<[TocEntry]>,
    pub tags: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The user name of whoever made the current revision.
    pub updated_by: Option<String>,
    /// Their display name.
    pub updated_by_name: Option<String>,
}

/// A page's identity and title, without its text or rendering: what
/// history, move and delete screens need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHead {
    pub id: PageId,
    pub path: PagePath,
    pub title: Title,
    pub revision: RevisionId,
    pub updated_at: Timestamp,
}

/// A page in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSummary {
    pub path: PagePath,
    pub title: Title,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct TrashedPage {
    pub id: PageId,
    pub path: PagePath,
    pub title: Title,
    pub deleted_at: Timestamp,
    /// The reader may edit where the page was (restoring needs that).
    pub can_restore: bool,
}

/// One revision's metadata (its text is fetched by id).
#[derive(Debug, Clone)]
pub struct RevisionInfo {
    pub id: RevisionId,
    pub page: PageId,
    /// 1, 2, 3 … within the page.
    pub number: i64,
    pub parent: Option<RevisionId>,
    /// The author's user name and display name.
    pub author: Option<String>,
    pub author_name: Option<String>,
    pub created_at: Timestamp,
    pub kind: RevisionKind,
    pub title: Title,
    pub summary: String,
    pub size: i64,
    pub size_delta: i64,
}

/// One revision with its text and rendering.
#[derive(Debug, Clone)]
pub struct Revision {
    pub info: RevisionInfo,
    /// The page's path today.
    pub path: PagePath,
    pub is_current: bool,
    pub markdown: String,
    pub html: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    pub path: FolderPath,
    pub name: String,
    pub page_count: i64,
}

#[derive(Debug, Clone)]
pub struct Folder {
    /// The root folder is empty.
    pub path: FolderPath,
    /// The page living at the folder's own path, if any.
    pub page: Option<PageSummary>,
    pub folders: Vec<FolderEntry>,
    pub pages: Vec<PageSummary>,
    /// Pass as `cursor` for the folder's next pages; absent on the last.
    pub next_cursor: Option<String>,
}

/// One entry of recent changes.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: i64,
    pub at: Timestamp,
    /// Who: user name and display name.
    pub user: Option<String>,
    pub user_name: Option<String>,
    pub event: Event,
    /// The title, summary and size change of the revision the change made.
    pub title: Option<String>,
    pub revision: Option<RevisionId>,
    pub summary: Option<String>,
    pub size_delta: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedPage {
    pub path: PagePath,
    pub links: i64,
}

/// An account, as administrators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: vellum_core::Role,
    pub created_at: Timestamp,
    pub disabled: bool,
}

/// A page of a cursor-paginated list.
#[derive(Debug, Clone)]
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

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// The outcome of a save: exactly the revision this save wrote (or the
/// current one, when the save changed nothing).
#[derive(Debug, Clone)]
pub struct Saved {
    pub page: Page,
    pub created: bool,
    /// The edit was merged with another one that landed first.
    pub merged: bool,
}

/// What the visitor may do with a page, for the UI to offer only that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub comment: bool,
    pub edit: bool,
    pub move_page: bool,
    pub delete: bool,
    /// May see and change who may read or edit the page.
    pub manage_access: bool,
}

/// What the site's chrome may offer a visitor (each action is still
/// authorized when it is taken).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteCapabilities {
    /// May read something (the lists, the trash).
    pub read: bool,
    /// May edit somewhere (offer "New page").
    pub create: bool,
    /// Manages access somewhere.
    pub manage_access: bool,
    /// Accounts, groups, roles, settings.
    pub administer: bool,
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

    /// The checked limit.
    pub(crate) fn limit(&self) -> crate::AppResult<usize> {
        match self.limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(n) if (1..=Self::MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(crate::AppError::invalid(
                crate::Code::InvalidLimit,
                "limit",
                format!(
                    "The limit {n} is out of range. Ask for 1 to {} items (the default is {}).",
                    Self::MAX_LIMIT,
                    Self::DEFAULT_LIMIT
                ),
            )),
        }
    }

    /// The row count to fetch: one more than shown, to know if more exist.
    pub(crate) fn fetch(&self) -> crate::AppResult<i64> {
        Ok(i64::try_from(self.limit()? + 1).unwrap_or(i64::MAX))
    }

    /// The cursor as a text key (paths, tags, names).
    pub(crate) fn text_cursor(&self) -> crate::AppResult<Option<&str>> {
        match self.cursor.as_deref() {
            Some(c) => crate::validate::single_line(c, "cursor").map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn id_cursor(&self) -> crate::AppResult<Option<i64>> {
        self.cursor
            .as_deref()
            .map(|c| c.parse::<i64>().map_err(|_| bad_cursor()))
            .transpose()
    }
}

pub(crate) fn bad_cursor() -> crate::AppError {
    crate::AppError::new(
        crate::Code::InvalidCursor,
        "The cursor is not one this list gave out. Start again from the first page, without a cursor.",
    )
}
