//! Folder browsing and the site-wide lists: all pages, tags, recent
//! changes, trash, wanted and orphaned pages.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use vellum_app::{Change, PageRequest, TagCount, TrashedPage};
use vellum_core::FolderPath;

use super::pages::{ListItem, ListTemplate};
use super::{crumbs, encode_path, encode_query, nav_for, render, wiki_href, Chrome, Crumb, HtmlResult, NavItem, St};
use crate::extract::Visitor;

fn page_request(q: &HashMap<String, String>) -> PageRequest {
    PageRequest {
        cursor: q.get("cursor").cloned(),
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
    folders: Vec<(String, String, i64)>,
    pages: Vec<ListItem>,
    next: Option<String>,
}

pub(crate) async fn folder_root(s: St, v: Visitor, q: Query<HashMap<String, String>>) -> HtmlResult {
    show_folder(s, v, String::new(), q).await
}

pub(crate) async fn folder(
    s: St,
    v: Visitor,
    Path(path): Path<String>,
    q: Query<HashMap<String, String>>,
) -> HtmlResult {
    show_folder(s, v, path, q).await
}

async fn show_folder(State(s): St, v: Visitor, raw: String, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
    let folder = s.app.folder(&v.actor, &raw, &page_request(&q)).await?;
    let path = FolderPath::from_trusted(folder.path.clone());
    let nav = nav_for(&s, &v, &path, None).await;
    let name = if path.is_root() {
        "All folders".to_owned()
    } else {
        path.name().to_owned()
    };
    let t = FolderTemplate {
        chrome: Chrome::new(&v, name.clone()),
        name,
        crumbs: crumbs(
            path.parent()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default()
                .as_str(),
        )
        .into_iter()
        .take(if path.is_root() { 0 } else { usize::MAX })
        .collect(),
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
            .map(|f| {
                (
                    format!("/folders/{}", encode_path(&f.path)),
                    f.name.clone(),
                    f.page_count,
                )
            })
            .collect(),
        pages: folder.pages.iter().map(ListItem::page).collect(),
        next: folder.next_cursor.as_ref().map(|c| {
            let base = if path.is_root() {
                "/folders".to_owned()
            } else {
                format!("/folders/{}", encode_path(path.as_str()))
            };
            format!("{base}?cursor={}", encode_query(c))
        }),
    };
    Ok(render(&t))
}

pub(crate) async fn all_pages(State(s): St, v: Visitor, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
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
}

pub(crate) async fn tags(State(s): St, v: Visitor) -> HtmlResult {
    let tags = s.app.tags(&v.actor).await?;
    Ok(render(&TagsTemplate {
        chrome: Chrome::new(&v, "Tags"),
        tags,
    }))
}

pub(crate) async fn tag(
    State(s): St,
    v: Visitor,
    Path(tag): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> HtmlResult {
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
    pub when: String,
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
    let verb = match c.action.as_str() {
        "page.created" => "created",
        "page.edited" => "edited",
        "page.reverted" => "reverted",
        "page.moved" => "moved",
        "page.deleted" => "deleted",
        "page.restored" => "restored",
        "page.tags_changed" => "retagged",
        _ => "changed",
    };
    ChangeRow {
        page_href: c.path.as_deref().filter(|_| c.action != "page.deleted").map(wiki_href),
        when: super::short_time(&c.at),
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

pub(crate) async fn recent(State(s): St, v: Visitor, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
    let user = q.get("user").cloned().filter(|u| !u.is_empty());
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
        next: list.next_cursor.map(|c| format!("/recent?{user_q}cursor={c}")),
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

pub(crate) async fn trash(State(s): St, v: Visitor, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
    let list = s.app.trash(&v.actor, &page_request(&q)).await?;
    let t = TrashTemplate {
        chrome: Chrome::new(&v, "Trash"),
        pages: list.items,
        next: list.next_cursor.map(|c| format!("/trash?cursor={c}")),
        error: q.get("error").cloned(),
    };
    Ok(render(&t))
}

#[derive(serde::Deserialize)]
pub(crate) struct RestoreForm {
    #[serde(default)]
    to: String,
}

pub(crate) async fn restore(
    State(s): St,
    v: Visitor,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<RestoreForm>,
) -> HtmlResult {
    let id = id.parse::<i64>().unwrap_or(-1);
    match s.app.restore_page(&v.actor, id, Some(&f.to)).await {
        Ok(page) => Ok(Redirect::to(&wiki_href(&page.path)).into_response()),
        Err(e) if e.kind == vellum_app::ErrorKind::Conflict || e.kind == vellum_app::ErrorKind::Invalid => {
            Ok(Redirect::to(&format!("/trash?error={}", encode_query(&e.message))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn wanted(State(s): St, v: Visitor) -> HtmlResult {
    let wanted = s.app.wanted_pages(&v.actor).await?;
    let t = ListTemplate {
        chrome: Chrome::new(&v, "Wanted pages"),
        heading: "Wanted pages".into(),
        intro: "Pages that are linked to but do not exist yet. Follow one to create it.".into(),
        items: wanted
            .iter()
            .map(|w| ListItem {
                href: wiki_href(&w.path),
                title: w.path.clone(),
                meta: format!("{} link{}", w.links, if w.links == 1 { "" } else { "s" }),
                missing: true,
            })
            .collect(),
        next: None,
        empty: "Every link leads to an existing page.".into(),
    };
    Ok(render(&t))
}

pub(crate) async fn orphans(State(s): St, v: Visitor, Query(q): Query<HashMap<String, String>>) -> HtmlResult {
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
