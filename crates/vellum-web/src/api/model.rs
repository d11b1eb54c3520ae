//! The API's own models: what `/api/v1` sends and takes, described in the
//! OpenAPI document. They are built from the services' types, so a change
//! in a service cannot silently change API v1.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vellum_app as app;
use vellum_core::{Event, PagePath};
use vellum_markup::TocEntry;

use crate::fmt::rfc3339;

/// A page at its current revision.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageJson {
    pub id: i64,
    /// The canonical path, e.g. `engineering/runbooks/deploy`.
    pub path: String,
    pub title: String,
    /// The current revision's id (global).
    pub revision: i64,
    /// The current revision's number within the page: 1, 2, 3 …
    pub revision_number: i64,
    pub markdown: String,
    /// Sanitized HTML of the current revision.
    pub html: String,
    #[schema(value_type = Vec<Object>)]
    pub toc: Vec<TocEntry>,
    pub tags: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
    /// The user name of whoever made the current revision.
    pub updated_by: Option<String>,
    /// Their display name.
    pub updated_by_name: Option<String>,
    /// Set when the requested path is an old path the page moved from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_from: Option<String>,
    /// Set on a save that was merged with an edit that landed first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<bool>,
    /// What the caller may do with the page.
    pub can: CapabilitiesJson,
}

/// What the caller may do with a page (each action is still checked when
/// it is taken).
#[derive(Debug, Serialize, ToSchema)]
pub struct CapabilitiesJson {
    pub comment: bool,
    pub edit: bool,
    #[serde(rename = "move")]
    pub move_page: bool,
    pub delete: bool,
    /// May see and change the page's access rules.
    pub manage_access: bool,
}

impl From<app::Capabilities> for CapabilitiesJson {
    fn from(c: app::Capabilities) -> Self {
        CapabilitiesJson {
            comment: c.comment,
            edit: c.edit,
            move_page: c.move_page,
            delete: c.delete,
            manage_access: c.manage_access,
        }
    }
}

impl PageJson {
    pub(crate) fn new(p: app::Page, can: app::Capabilities) -> Self {
        PageJson {
            id: p.id.0,
            path: p.path.into_string(),
            title: p.title.into_string(),
            revision: p.revision.0,
            revision_number: p.revision_number,
            markdown: p.markdown.unwrap_or_default(),
            html: p.html.to_string(),
            toc: p.toc.to_vec(),
            tags: p.tags,
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
            updated_by: p.updated_by,
            updated_by_name: p.updated_by_name,
            redirected_from: None,
            merged: None,
            can: can.into(),
        }
    }
}

/// A page's identity after a move or restore.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageHeadJson {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub revision: i64,
    pub updated_at: String,
}

impl From<app::PageHead> for PageHeadJson {
    fn from(h: app::PageHead) -> Self {
        PageHeadJson {
            id: h.id.0,
            path: h.path.into_string(),
            title: h.title.into_string(),
            revision: h.revision.0,
            updated_at: rfc3339(h.updated_at),
        }
    }
}

/// A page in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageSummaryJson {
    pub path: String,
    pub title: String,
    pub updated_at: String,
}

impl From<app::PageSummary> for PageSummaryJson {
    fn from(p: app::PageSummary) -> Self {
        PageSummaryJson {
            path: p.path.into_string(),
            title: p.title.into_string(),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

/// A revision's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionInfoJson {
    /// Global revision id.
    pub id: i64,
    pub page_id: i64,
    /// 1, 2, 3 … within the page.
    pub number: i64,
    pub parent_id: Option<i64>,
    /// The author's user name and display name.
    pub author: Option<String>,
    pub author_name: Option<String>,
    pub created_at: String,
    /// `create`, `edit`, `merge` or `revert`.
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub size: i64,
    pub size_delta: i64,
}

impl From<app::RevisionInfo> for RevisionInfoJson {
    fn from(r: app::RevisionInfo) -> Self {
        RevisionInfoJson {
            id: r.id.0,
            page_id: r.page.0,
            number: r.number,
            parent_id: r.parent.map(|p| p.0),
            author: r.author,
            author_name: r.author_name,
            created_at: rfc3339(r.created_at),
            kind: r.kind.as_str().to_owned(),
            title: r.title.into_string(),
            summary: r.summary,
            size: r.size,
            size_delta: r.size_delta,
        }
    }
}

/// One revision with its text and rendering.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionJson {
    #[serde(flatten)]
    pub info: RevisionInfoJson,
    /// The page's path today.
    pub path: String,
    pub is_current: bool,
    pub markdown: String,
    pub html: String,
}

impl From<app::Revision> for RevisionJson {
    fn from(r: app::Revision) -> Self {
        RevisionJson {
            info: r.info.into(),
            path: r.path.into_string(),
            is_current: r.is_current,
            markdown: r.markdown,
            html: r.html.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FolderEntryJson {
    pub path: String,
    pub name: String,
    pub page_count: i64,
}

impl From<app::FolderEntry> for FolderEntryJson {
    fn from(f: app::FolderEntry) -> Self {
        FolderEntryJson {
            path: f.path.as_str().to_owned(),
            name: f.name,
            page_count: f.page_count,
        }
    }
}

/// A folder: its sub-folders and a page of its pages.
#[derive(Debug, Serialize, ToSchema)]
pub struct FolderJson {
    /// Empty for the root folder.
    pub path: String,
    /// The page living at the folder's own path, if any.
    pub page: Option<PageSummaryJson>,
    pub folders: Vec<FolderEntryJson>,
    pub pages: Vec<PageSummaryJson>,
    /// Pass as `cursor` for the folder's next pages; absent on the last.
    pub next_cursor: Option<String>,
}

impl From<app::Folder> for FolderJson {
    fn from(f: app::Folder) -> Self {
        FolderJson {
            path: f.path.as_str().to_owned(),
            page: f.page.map(Into::into),
            folders: f.folders.into_iter().map(Into::into).collect(),
            pages: f.pages.into_iter().map(Into::into).collect(),
            next_cursor: f.next_cursor,
        }
    }
}

/// One entry of recent changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeJson {
    pub seq: i64,
    pub at: String,
    /// Who: user name and display name.
    pub user: Option<String>,
    pub user_name: Option<String>,
    /// `page.created`, `page.edited`, `page.reverted`, `page.moved`,
    /// `page.deleted`, `page.restored`, `page.tags_changed` or
    /// `page.verified`.
    pub action: String,
    /// The page's path after the change (the new path of a move).
    pub path: Option<String>,
    /// The path before a move or restore.
    pub from: Option<String>,
    pub title: Option<String>,
    pub revision: Option<i64>,
    pub summary: Option<String>,
    pub size_delta: Option<i64>,
    /// The event as recorded.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

fn from_path(e: &Event) -> Option<&PagePath> {
    match e {
        Event::PageMoved { from, .. } | Event::PageRestored { from, .. } => Some(from),
        _ => None,
    }
}

impl From<app::Change> for ChangeJson {
    fn from(c: app::Change) -> Self {
        let title = c.title.or_else(|| match &c.event {
            Event::PageDeleted { title, .. } => Some(title.clone()),
            _ => None,
        });
        ChangeJson {
            seq: c.seq,
            at: rfc3339(c.at),
            user: c.user,
            user_name: c.user_name,
            action: c.event.action().to_owned(),
            path: c.event.path().map(|p| p.as_str().to_owned()),
            from: from_path(&c.event).map(|p| p.as_str().to_owned()),
            title,
            revision: c.revision.map(|r| r.0),
            summary: c.summary,
            size_delta: c.size_delta,
            details: serde_json::to_value(&c.event).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TagCountJson {
    pub tag: String,
    pub count: i64,
}

impl From<app::TagCount> for TagCountJson {
    fn from(t: app::TagCount) -> Self {
        TagCountJson {
            tag: t.tag,
            count: t.count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WantedJson {
    pub path: String,
    pub links: i64,
}

impl From<app::WantedPage> for WantedJson {
    fn from(w: app::WantedPage) -> Self {
        WantedJson {
            path: w.path.into_string(),
            links: w.links,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrashedJson {
    pub id: i64,
    pub path: String,
    pub title: String,
    pub deleted_at: String,
    /// The caller may restore it (they may edit where it was).
    pub can_restore: bool,
}

impl From<app::TrashedPage> for TrashedJson {
    fn from(t: app::TrashedPage) -> Self {
        TrashedJson {
            id: t.id.0,
            path: t.path.into_string(),
            title: t.title.into_string(),
            deleted_at: rfc3339(t.deleted_at),
            can_restore: t.can_restore,
        }
    }
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserJson {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// `admin`, `editor`, `commenter`, `viewer` or a custom role.
    pub role: String,
    pub created_at: String,
    pub disabled: bool,
}

impl From<app::UserSummary> for UserJson {
    fn from(u: app::UserSummary) -> Self {
        UserJson {
            id: u.id.0,
            username: u.username,
            display_name: u.display_name,
            role: u.role.as_str().to_owned(),
            created_at: rfc3339(u.created_at),
            disabled: u.disabled,
        }
    }
}

/// A page of a list. Every list of the API has this shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListJson<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListJson<T> {
    pub(crate) fn from<U: Into<T>>(p: app::Paged<U>) -> Self {
        ListJson {
            items: p.items.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// Two revisions and the line diff between them.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffJson {
    pub path: String,
    pub from: RevisionInfoJson,
    pub to: RevisionInfoJson,
    /// Hunks of lines with word-level `segments`; `truncated` and
    /// `omitted_lines` tell when a huge diff was cut short.
    #[schema(value_type = Object)]
    pub diff: vellum_markup::diff::LineDiff,
    /// Unified-diff text of the same change.
    pub unified: String,
}

impl From<app::DiffView> for DiffJson {
    fn from(d: app::DiffView) -> Self {
        DiffJson {
            path: d.path.into_string(),
            from: d.from.into(),
            to: d.to.into(),
            diff: d.diff,
            unified: d.unified,
        }
    }
}

/// A page body to save.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPage {
    /// Defaults to the current title, or one made from the path.
    pub title: Option<String>,
    pub markdown: String,
    pub summary: Option<String>,
    /// Replaces the page's tags when present.
    pub tags: Option<Vec<String>>,
    /// The revision id the edit started from; enables the three-way merge.
    pub base_revision: Option<i64>,
    /// Also mark the page verified (its review owner, or someone who
    /// manages it); refused, with nothing saved, for anyone else.
    #[serde(default)]
    pub verify: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub to: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevertRequest {
    /// The revision id whose text to restore.
    pub revision: i64,
    pub summary: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// Restore to this path instead of the old one.
    pub to: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderRequest {
    pub markdown: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenderResponse {
    pub html: String,
    #[schema(value_type = Vec<Object>)]
    pub toc: Vec<TocEntry>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub password: String,
    /// `admin`, `editor`, `commenter`, `viewer` or a custom role.
    pub role: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// Whether visitors who are not signed in may read pages (the rule
    /// `anyone → read` on the whole wiki).
    pub anonymous_read: bool,
    /// Every account with a password must set up two-factor sign-in.
    pub require_totp: bool,
    /// Audit entries older than this are removed (1 to 36,500 days).
    pub audit_retention_days: i64,
    /// Pages in the trash longer than this are removed for good, with
    /// their history (0 to 36,500 days; 0 keeps them until removed by hand).
    pub trash_retention_days: i64,
}

/// Settings to change; absent ones stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    pub anonymous_read: Option<bool>,
    pub require_totp: Option<bool>,
    pub audit_retention_days: Option<i64>,
    pub trash_retention_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// A code from the authenticator app (or a recovery code), for accounts
    /// with two-factor sign-in.
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    /// `admin`, `editor`, `commenter`, `viewer` or a custom role.
    pub role: String,
    pub email: Option<String>,
    /// The groups you are in.
    pub groups: Vec<String>,
    pub totp_enabled: bool,
    /// What the credential of this request may do: `read`, `write`,
    /// `admin`.
    pub scopes: Vec<String>,
    /// Send as the `X-CSRF-Token` header on form-encoded or multipart
    /// requests made with the session cookie.
    pub csrf_token: String,
}
