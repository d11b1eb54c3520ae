//! Folder browsing and the site-wide lists: all pages, tags, recent
//! changes, trash, wanted and orphaned pages.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use vellum_app::{Change, ErrorKind, PageRequest, TagCount, TrashedPage};
use vellum_core::{Event, PageId};

use super::history::{ListItem, ListTemplate};
use super::{crumbs, nav_items, render, Chrome, Crumb, NavItem};
use crate::error::HtmlResult;
use crate::extract::Visitor;
use crate::limits::{class, RouteClass};
use crate::routes::Routes;
use crate::urls::{encode_query, folder_href, see_other, wiki_href};
use crate::AppState;

pub(crate) fn router() -> Routes {
    Routes::new()
        .route("/folders", class(RouteClass::Small, get(folder_root)))
        .route("/folders/{*path}", class(RouteClass::Small, get(folder)))
        .route("/pages", class(RouteClass::Small, get(all_pages)))
        .route("/tags", class(RouteClass::Small, get(tags)))
        .route("/tags/{tag}", class(RouteClass::Small, get(tag)))
        .route("/recent", class(RouteClass::Small, get(recent)))
        .route("/trash", class(RouteClass::Small, get(trash)))
        .route("/trash/{id}/restore", class(RouteClass::Small, post(restore)))
        .route("/wanted", class(RouteClass::Small, get(wanted)))
        .route("/orphans", class(RouteClass::Small, get(orphans)))
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct ListQuery {
    cursor: Option<String>,
    user: Option<String>,
    error: Option<String>,
}

fn page_request(q: &ListQuery) -> PageRequest {
    PageRequest {
        cursor: q.cursor.clone(),
        limit: Some(100),
    }
}

#[derive(Template)]
#[template(path = "folder.html")]
struct FolderTemplate {
    chrome: Chrome,
    name: String,
    crumbs: Vec<Crumb>,
    nav: Vec<NavItem>,
    page_href: Option<String>,
    new_prefix: String,
    /// May create pages in this folder.
    can_create: bool,
    /// The folder's access page, for those who manage it.
    access_href: Option<String>,
    folders: Vec<(String, String, i64)>,
    pages: Vec<ListItem>,
    next: Option<String>,
    /// Whether the visitor watches this folder (`None`: not signed in).
    watching: Option<bool>,
    /// The folder's path, for the watch form (`""`: the whole wiki).
    folder_path: String,
}

async fn folder_root(s: State<AppState>, v: Visitor, q: Query<ListQuery>) -> HtmlResult {
    show_folder(s, v, String::new(), q).await
}

async fn folder(s: State<AppState>, v: Visitor, Path(path): Path<String>, q: Query<ListQuery>) -> HtmlResult {
    show_folder(s, v, path, q).await
}

async fn show_folder(State(s): State<AppState>, v: Visitor, raw: String, Query(q): Query<ListQuery>) -> HtmlResult {
    let folder = s.app.folder(&v.actor, &raw, &page_request(&q)).await?;
    let path = folder.path.clone();
    let nav = nav_items(&s.app.nav_tree(&v.actor, &path).await?, None);
    let name = if path.is_root() {
        "All folders".to_owned()
    } else {
        path.name().to_owned()
    };
    let can = s.app.folder_capabilities(&v.actor, &path).await?;
    let watching = match v.actor.user_id() {
        Some(_) => Some(s.app.folder_watched(&v.actor, path.as_str()).await?),
        None => None,
    };
    let t = FolderTemplate {
        watching,
        folder_path: path.as_str().to_owned(),
        can_create: can.edit,
        access_href: can.manage_access.then(|| {
            if path.is_root() {
                "/access".to_owned()
            } else {
                format!("/access/{}", crate::urls::encode_path(path.as_str()))
            }
        }),
        chrome: Chrome::new(&v, name.clone()),
        name,
        crumbs: match path.parent() {
            Some(parent) => crumbs(&parent),
            None => Vec::new(),
        },
        nav,
        page_href: folder.page.as_ref().map(|p| wiki_href(&p.path)),
        new_prefix: if path.is_root() {
            String::new()
        } else {
            format!("{}/", path.as_str())
        },
        folders: folder
            .folders
            .iter()
            .map(|f| (folder_href(&f.path), f.name.clone(), f.page_count))
            .collect(),
        pages: folder.pages.iter().map(ListItem::page).collect(),
        next: folder
            .next_cursor
            .as_ref()
            .map(|c| format!("{}?cursor={}", folder_href(&path), encode_query(c))),
    };
    Ok(render(&t))
}

async fn all_pages(State(s): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> HtmlResult {
    let list = s.app.all_pages(&v.actor, &page_request(&q)).await?;
    let t = ListTemplate {
        chrome: Chrome::new(&v, "All pages"),
        heading: "All pages".into(),
        intro: "Every page of the wiki, by path.".into(),
        items: list.items.iter().map(ListItem::page).collect(),
        next: list.next_cursor.map(|c| format!("/pages?cursor={}", encode_query(&c))),
        empty: "There are no pages yet.".into(),
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "tags.html")]
struct TagsTemplate {
    chrome: Chrome,
    tags: Vec<TagCount>,
    next: Option<String>,
}

async fn tags(State(s): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> HtmlResult {
    let list = s
        .app
        .tags(
            &v.actor,
            &PageRequest {
                cursor: q.cursor,
                limit: Some(500),
            },
        )
        .await?;
    Ok(render(&TagsTemplate {
        chrome: Chrome::new(&v, "Tags"),
        tags: list.items,
        next: list.next_cursor.map(|c| format!("/tags?cursor={}", encode_query(&c))),
    }))
}

async fn tag(State(s): State<AppState>, v: Visitor, Path(tag): Path<String>, Query(q): Query<ListQuery>) -> HtmlResult {
    let list = s.app.pages_with_tag(&v.actor, &tag, &page_request(&q)).await?;
    let t = ListTemplate {
        chrome: Chrome::new(&v, format!("Tag {tag}")),
        heading: format!("Pages tagged “{tag}”"),
        intro: String::new(),
        items: list.items.iter().map(ListItem::page).collect(),
        next: list
            .next_cursor
            .map(|c| format!("/tags/{}?cursor={}", encode_query(&tag), encode_query(&c))),
        empty: "No page carries this tag.".into(),
    };
    Ok(render(&t))
}

pub(crate) struct ChangeRow {
    pub change: Change,
    pub page_href: Option<String>,
    pub page_label: String,
    /// For a move or restore, where the page was before.
    pub from: Option<String>,
    pub when: String,
    pub datetime: String,
    pub delta_class: &'static str,
    pub delta: String,
    pub verb: &'static str,
}

fn change_row(c: Change) -> ChangeRow {
    let (delta_class, delta) = match c.size_delta {
        Some(d) if d > 0 => ("plus", format!("+{d}")),
        Some(d) if d < 0 => ("minus", format!("−{}", d.unsigned_abs())),
        Some(_) => ("zero", "0".to_owned()),
        None => ("zero", String::new()),
    };
    let (verb, from) = match &c.event {
        Event::PageCreated { .. } => ("created", None),
        Event::PageEdited { merged: true, .. } => ("edited (merged)", None),
        Event::PageEdited { .. } => ("edited", None),
        Event::PageReverted { .. } => ("reverted", None),
        Event::PageMoved { from, .. } => ("moved", Some(from.to_string())),
        Event::PageDeleted { .. } => ("deleted", None),
        Event::PageRestored { from, to, .. } if from != to => ("restored", Some(from.to_string())),
        Event::PageRestored { .. } => ("restored", None),
        Event::PageTagsChanged { .. } => ("retagged", None),
        Event::PageVerified { .. } => ("verified", None),
        _ => ("changed", None),
    };
    let path = c.event.path().cloned();
    let deleted = matches!(c.event, Event::PageDeleted { .. });
    let page_label = match (&c.title, &c.event) {
        (Some(t), _) => t.clone(),
        (None, Event::PageDeleted { title, .. }) => title.clone(),
        _ => path.as_ref().map(ToString::to_string).unwrap_or_default(),
    };
    ChangeRow {
        page_href: path.as_ref().filter(|_| !deleted).map(wiki_href),
        page_label,
        from,
        when: crate::fmt::short(c.at),
        datetime: crate::fmt::rfc3339(c.at),
        delta_class,
        delta,
        verb,
        change: c,
    }
}

#[derive(Template)]
#[template(path = "recent.html")]
struct RecentTemplate {
    chrome: Chrome,
    user: Option<String>,
    rows: Vec<ChangeRow>,
    next: Option<String>,
}

async fn recent(State(s): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> HtmlResult {
    let user = q.user.clone().filter(|u| !u.is_empty());
    let list = s
        .app
        .recent_changes(&v.actor, user.as_deref(), &page_request(&q))
        .await?;
    let user_q = user
        .as_deref()
        .map(|u| format!("user={}&", encode_query(u)))
        .unwrap_or_default();
    let t = RecentTemplate {
        chrome: Chrome::new(&v, "Recent changes"),
        next: list
            .next_cursor
            .map(|c| format!("/recent?{user_q}cursor={}", encode_query(&c))),
        rows: list.items.into_iter().map(change_row).collect(),
        user,
    };
    Ok(render(&t))
}

#[derive(Template)]
#[template(path = "trash.html")]
struct TrashTemplate {
    chrome: Chrome,
    pages: Vec<TrashedPage>,
    next: Option<String>,
    error: Option<String>,
}

async fn trash(State(s): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> HtmlResult {
    let list = s.app.trash(&v.actor, &page_request(&q)).await?;
    let t = TrashTemplate {
        chrome: Chrome::new(&v, "Trash"),
        pages: list.items,
        next: list.next_cursor.map(|c| format!("/trash?cursor={}", encode_query(&c))),
        error: q.error.clone(),
    };
    Ok(render(&t))
}

#[derive(serde::Deserialize)]
pub(crate) struct RestoreForm {
    #[serde(default)]
    to: String,
}

async fn restore(
    State(s): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<RestoreForm>,
) -> HtmlResult {
    let id = id.parse::<i64>().map(PageId).unwrap_or(PageId(-1));
    match s.app.restore_page(&v.actor, id, Some(&f.to)).await {
        Ok(page) => Ok(see_other(&wiki_href(&page.path))),
        Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::Invalid) => {
            Ok(see_other(&format!("/trash?error={}", encode_query(&e.message))))
        }
        Err(e) => Err(e.into()),
    }
}

async fn wanted(State(s): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> HtmlResult {
    let list = s.app.wanted_pages(&v.actor, &page_request(&q)).await?;
    let t = ListTemplate {
        chrome: Chrome::new(&v, "Wanted pages"),
        heading: "Wanted pages".into(),
        intro: "Pages that are linked to but do not exist yet. Follow one to create it.".into(),
        items: list
            .items
            .iter()
            .map(|w| ListItem {
                href: wiki_href(&w.path),
                title: w.path.to_string(),
                meta: format!("{} link{}", w.links, if w.links == 1 { "" } else { "s" }),
                missing: true,
            })
            .collect(),
        next: list.next_cursor.map(|c| format!("/wanted?cursor={}", encode_query(&c))),
        empty: "Every link leads to an existing page.".into(),
    };
    Ok(render(&t))
}

async fn orphans(State(s): State<AppState>, v: Visitor, Query(q): Query<ListQuery>) -> HtmlResult {
    let list = s.app.orphaned_pages(&v.actor, &page_request(&q)).await?;
    let t = ListTemplate {
        chrome: Chrome::new(&v, "Orphaned pages"),
        heading: "Orphaned pages".into(),
        intro: "Pages that no other page links to.".into(),
        items: list.items.iter().map(ListItem::page).collect(),
        next: list
            .next_cursor
            .map(|c| format!("/orphans?cursor={}", encode_query(&c))),
        empty: "Every page is linked from somewhere.".into(),
    };
    Ok(render(&t))
}
