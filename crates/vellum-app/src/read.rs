//! Read-side use cases: pages, revisions, diffs, folders and listings.

use std::sync::Arc;

use vellum_core::access::Action;
use vellum_core::{Actor, FolderPath, PagePath};
use vellum_markup::diff::{diff, LineDiff};
use vellum_store::{events, pages, refs, revisions, users, AnyConnection};

use crate::model::*;
use crate::{format_time, App, AppError, AppResult};

/// What lives at a path.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Box<Page>),
    /// The page moved; it lives at this path now.
    Moved(Box<Page>),
    /// Nothing lives here; `in_trash` tells whether a deleted page did.
    Missing {
        path: String,
        in_trash: bool,
    },
}

/// Two revisions of a page and the difference between them.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DiffView {
    pub path: String,
    pub from: RevisionInfo,
    pub to: RevisionInfo,
    #[schema(value_type = Object)]
    pub diff: LineDiff,
    /// Unified-diff text of the same change.
    pub unified: String,
}

/// Pages listed per folder in the sidebar (the folder page lists all).
const NAV_PAGES: i64 = 100;

/// The folders from the root down to one folder, each with its children:
/// the navigation tree shown beside a page.
#[derive(Debug, Clone)]
pub struct NavLevel {
    pub folder: FolderPath,
    pub folders: Vec<FolderEntry>,
    pub pages: Vec<PageSummary>,
}

pub(crate) fn revision_info(r: &revisions::RevisionRow) -> RevisionInfo {
    RevisionInfo {
        id: r.id,
        page_id: r.page_id,
        parent_id: r.parent_id,
        author: r.author_name.clone(),
        created_at: format_time(r.created_at),
        kind: r.kind.clone(),
        title: r.title.clone(),
        summary: r.summary.clone(),
        size: r.size,
        size_delta: r.size_delta,
    }
}

fn summary(p: &pages::PageRow) -> PageSummary {
    PageSummary {
        path: p.path.clone(),
        title: p.title.clone(),
        updated_at: Some(format_time(p.updated_at)),
    }
}

fn linking_summary(p: &refs::LinkingPage) -> PageSummary {
    PageSummary {
        path: p.path.clone(),
        title: p.title.clone(),
        updated_at: None,
    }
}

fn page_not_found(path: &str) -> AppError {
    AppError::not_found("page_not_found", format!("there is no page at `{path}`"))
        .with_details(serde_json::json!({ "path": path }))
}

impl App {
    /// The live page at `path`, rendered as served now; `markdown` is empty
    /// unless `with_text`.
    pub(crate) async fn load_page(
        &self,
        conn: &mut AnyConnection,
        path: &str,
        with_text: bool,
    ) -> AppResult<Option<Page>> {
        let Some(view) = pages::view_by_path(conn, path, vellum_markup::RENDER_VERSION, with_text).await? else {
            return Ok(None);
        };
        let row = view.page;
        let tags = refs::tags_of(conn, row.id).await?;
        let text = with_text.then_some(view.markdown.as_str());
        let rendered = self
            .serve_current(conn, row.id, row.current_revision_id, text, view.render)
            .await?;
        Ok(Some(Page {
            id: row.id,
            path: row.path,
            title: row.title,
            revision: row.current_revision_id,
            markdown: view.markdown,
            html: rendered.html,
            toc: rendered.toc,
            tags,
            created_at: format_time(row.created_at),
            updated_at: format_time(row.updated_at),
            updated_by: view.author_name,
        }))
    }

    /// The page at a path, following a redirect left by a move.
    pub async fn lookup(&self, actor: &Actor, raw_path: &str) -> AppResult<Lookup> {
        self.lookup_with(actor, raw_path, true).await
    }

    /// Like [`App::lookup`], for showing the page: its Markdown is left
    /// empty (the rendering is all a reader sees).
    pub async fn lookup_for_reading(&self, actor: &Actor, raw_path: &str) -> AppResult<Lookup> {
        self.lookup_with(actor, raw_path, false).await
    }

    async fn lookup_with(&self, actor: &Actor, raw_path: &str, with_text: bool) -> AppResult<Lookup> {
        let path = PagePath::parse(raw_path)?;
        self.authorize(actor, Action::ReadPage(&path)).await?;
        let mut conn = self.0.store.read().await?;
        if let Some(page) = self.load_page(&mut conn, path.as_str(), with_text).await? {
            return Ok(Lookup::Found(Box::new(page)));
        }
        if let Some(row) = pages::resolve_redirect(&mut conn, path.as_str()).await? {
            let target = PagePath::from_trusted(row.path.clone());
            self.authorize(actor, Action::ReadPage(&target)).await?;
            if let Some(page) = self.load_page(&mut conn, &row.path, with_text).await? {
                return Ok(Lookup::Moved(Box::new(page)));
            }
        }
        let in_trash = pages::trashed_at(&mut conn, path.as_str()).await?.is_some();
        Ok(Lookup::Missing {
            path: path.into_string(),
            in_trash,
        })
    }

    /// The page at a path (after redirects), or `page_not_found`.
    pub async fn page(&self, actor: &Actor, raw_path: &str) -> AppResult<Page> {
        match self.lookup(actor, raw_path).await? {
            Lookup::Found(p) | Lookup::Moved(p) => Ok(*p),
            Lookup::Missing { path, .. } => Err(page_not_found(&path)),
        }
    }

    async fn live_page(&self, actor: &Actor, conn: &mut AnyConnection, raw_path: &str) -> AppResult<pages::PageRow> {
        let path = PagePath::parse(raw_path)?;
        self.authorize(actor, Action::ReadPage(&path)).await?;
        match pages::by_path(conn, path.as_str()).await? {
            Some(row) => Ok(row),
            None => match pages::resolve_redirect(conn, path.as_str()).await? {
                Some(row) => Ok(row),
                None => Err(page_not_found(path.as_str())),
            },
        }
    }

    pub async fn history(&self, actor: &Actor, raw_path: &str, req: &PageRequest) -> AppResult<Paged<RevisionInfo>> {
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &mut conn, raw_path).await?;
        let rows = revisions::history(&mut conn, page.id, req.id_cursor()?, req.fetch()).await?;
        let items = rows.iter().map(revision_info).collect();
        Ok(Paged::from_rows(items, req.limit(), |r: &RevisionInfo| {
            r.id.to_string()
        }))
    }

    /// Any revision by id, rendered; readable when its page is.
    pub async fn revision(&self, actor: &Actor, id: i64) -> AppResult<Revision> {
        let mut conn = self.0.store.read().await?;
        let not_found = || AppError::not_found("revision_not_found", format!("there is no revision {id}"));
        let rev = revisions::by_id(&mut conn, id).await?.ok_or_else(not_found)?;
        let page = pages::by_id(&mut conn, rev.page_id).await?.ok_or_else(not_found)?;
        let path = PagePath::from_trusted(page.path.clone());
        self.authorize(actor, Action::ReadPage(&path)).await?;
        let rendered = self.serve_revision(&mut conn, rev.id, &rev.markdown).await?;
        Ok(Revision {
            info: revision_info(&rev),
            path: page.path,
            is_current: page.current_revision_id == rev.id,
            markdown: rev.markdown,
            html: rendered.html.clone(),
        })
    }

    /// The difference between two revisions of one page.
    pub async fn diff(&self, actor: &Actor, raw_path: &str, from: i64, to: i64) -> AppResult<DiffView> {
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &mut conn, raw_path).await?;
        let mut load = async |id: i64| -> AppResult<revisions::RevisionRow> {
            match revisions::by_id(&mut conn, id).await? {
                Some(r) if r.page_id == page.id => Ok(r),
                _ => Err(AppError::not_found(
                    "revision_not_found",
                    format!("revision {id} is not a revision of `{}`", page.path),
                )),
            }
        };
        let a = load(from).await?;
        let b = load(to).await?;
        let d = diff(&a.markdown, &b.markdown);
        let unified = d.unified();
        Ok(DiffView {
            path: page.path.clone(),
            from: revision_info(&a),
            to: revision_info(&b),
            diff: d,
            unified,
        })
    }

    /// Live pages linking to a page (directly or through a redirect to it).
    pub async fn backlinks(&self, actor: &Actor, raw_path: &str) -> AppResult<Vec<PageSummary>> {
        let path = PagePath::parse(raw_path)?;
        self.authorize(actor, Action::ReadPage(&path)).await?;
        let mut conn = self.0.store.read().await?;
        let mut targets = vec![path.as_str().to_owned()];
        if let Some(row) = pages::by_path(&mut conn, path.as_str()).await? {
            targets.extend(refs::redirects_to(&mut conn, row.id).await?);
        }
        let t: Vec<&str> = targets.iter().map(String::as_str).collect();
        let found = refs::linking_to(&mut conn, &t).await?;
        Ok(found
            .iter()
            .filter(|p| p.path != path.as_str())
            .map(linking_summary)
            .collect())
    }

    /// A folder's sub-folders and (a page of) its pages.
    pub async fn folder(&self, actor: &Actor, raw_path: &str, req: &PageRequest) -> AppResult<Folder> {
        let folder = FolderPath::parse(raw_path)?;
        self.authorize(actor, Action::ReadFolder(&folder)).await?;
        let mut conn = self.0.store.read().await?;
        let folders = self.nav_level(&mut conn, &folder).await?.folders.clone();
        let rows = pages::in_folder(&mut conn, folder.as_str(), req.cursor.as_deref(), req.fetch()).await?;
        let listed = Paged::from_rows(rows.iter().map(summary).collect(), req.limit(), |p: &PageSummary| {
            p.path.clone()
        });
        let page = match folder.is_root() {
            true => None,
            false => pages::by_path(&mut conn, folder.as_str()).await?.as_ref().map(summary),
        };
        let known = folder.is_root()
            || page.is_some()
            || !listed.items.is_empty()
            || !folders.is_empty()
            || pages::folder_exists(&mut conn, folder.as_str()).await?;
        if !known {
            return Err(AppError::not_found(
                "folder_not_found",
                format!("there is no folder `{folder}`"),
            ));
        }
        Ok(Folder {
            path: folder.as_str().to_owned(),
            page,
            folders,
            pages: listed.items,
            next_cursor: listed.next_cursor,
        })
    }

    /// One level of the sidebar: sub-folders with page counts and the first
    /// pages of the folder. Cached for a few seconds.
    async fn nav_level(&self, conn: &mut AnyConnection, folder: &FolderPath) -> AppResult<Arc<NavLevel>> {
        if let Some(hit) = self.0.nav.get(folder.as_str()) {
            return Ok(hit);
        }
        let folders = pages::child_folders(conn, folder.as_str())
            .await?
            .into_iter()
            .filter(|f| f.page_count > 0)
            .map(|f| {
                let name = FolderPath::from_trusted(f.path.clone()).name().to_owned();
                FolderEntry {
                    path: f.path,
                    name,
                    page_count: f.page_count,
                }
            })
            .collect();
        let pages = pages::in_folder(conn, folder.as_str(), None, NAV_PAGES)
            .await?
            .iter()
            .map(summary)
            .collect();
        let level = Arc::new(NavLevel {
            folder: folder.clone(),
            folders,
            pages,
        });
        self.0.nav.insert(folder.as_str().to_owned(), level.clone());
        Ok(level)
    }

    /// Drops the cached sidebar levels a change at `path` can affect: its
    /// folder and every folder above it (their page counts).
    pub(crate) fn forget_nav(&self, path: &PagePath) {
        self.0.nav.invalidate(FolderPath::root().as_str());
        for f in path.folder().lineage() {
            self.0.nav.invalidate(f.as_str());
        }
    }

    /// The navigation tree from the root down to `folder`.
    pub async fn nav_tree(&self, actor: &Actor, folder: &FolderPath) -> AppResult<Vec<Arc<NavLevel>>> {
        self.authorize(actor, Action::ReadFolder(folder)).await?;
        let path: Vec<FolderPath> = std::iter::once(FolderPath::root()).chain(folder.lineage()).collect();
        // The usual case on a page view: every level cached, no database.
        if let Some(cached) = path
            .iter()
            .map(|f| self.0.nav.get(f.as_str()))
            .collect::<Option<Vec<_>>>()
        {
            return Ok(cached);
        }
        let mut conn = self.0.store.read().await?;
        let mut levels = Vec::with_capacity(path.len());
        for f in &path {
            levels.push(self.nav_level(&mut conn, f).await?);
        }
        Ok(levels)
    }

    pub async fn all_pages(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<PageSummary>> {
        self.authorize(actor, Action::ReadSite).await?;
        let mut conn = self.0.store.read().await?;
        let rows = pages::list(&mut conn, req.cursor.as_deref(), req.fetch()).await?;
        Ok(Paged::from_rows(
            rows.iter().map(summary).collect(),
            req.limit(),
            |p: &PageSummary| p.path.clone(),
        ))
    }

    pub async fn tags(&self, actor: &Actor) -> AppResult<Vec<TagCount>> {
        self.authorize(actor, Action::ReadSite).await?;
        let mut conn = self.0.store.read().await?;
        Ok(refs::tag_counts(&mut conn)
            .await?
            .into_iter()
            .map(|(tag, count)| TagCount { tag, count })
            .collect())
    }

    pub async fn pages_with_tag(&self, actor: &Actor, tag: &str, req: &PageRequest) -> AppResult<Paged<PageSummary>> {
        self.authorize(actor, Action::ReadSite).await?;
        let tag = tag.trim().to_lowercase();
        let mut conn = self.0.store.read().await?;
        let rows = refs::pages_with_tag(&mut conn, &tag, req.cursor.as_deref(), req.fetch()).await?;
        let items = rows.iter().map(linking_summary).collect();
        Ok(Paged::from_rows(items, req.limit(), |p: &PageSummary| p.path.clone()))
    }

    /// Recent page changes site-wide, or by one user.
    pub async fn recent_changes(
        &self,
        actor: &Actor,
        user: Option<&str>,
        req: &PageRequest,
    ) -> AppResult<Paged<Change>> {
        self.authorize(actor, Action::ReadSite).await?;
        let mut conn = self.0.store.read().await?;
        let user_id = match user.map(str::trim).filter(|u| !u.is_empty()) {
            Some(name) => Some(
                users::by_username_key(&mut conn, &name.to_lowercase())
                    .await?
                    .ok_or_else(|| AppError::not_found("user_not_found", format!("there is no user `{name}`")))?
                    .id,
            ),
            None => None,
        };
        let rows = events::page_changes(&mut conn, user_id, req.id_cursor()?, req.fetch()).await?;
        let items = rows
            .into_iter()
            .map(|r| Change {
                seq: r.seq,
                at: format_time(r.created_at),
                user: r.actor_name,
                action: r.action,
                path: r.path,
                title: r.title,
                revision: r.revision_id,
                summary: r.summary,
                size_delta: r.size_delta,
                details: serde_json::from_str(&r.details).unwrap_or_default(),
            })
            .collect();
        Ok(Paged::from_rows(items, req.limit(), |c: &Change| c.seq.to_string()))
    }

    pub async fn trash(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<TrashedPage>> {
        self.authorize(actor, Action::ReadSite).await?;
        let mut conn = self.0.store.read().await?;
        let rows = pages::trashed(&mut conn, req.id_cursor()?, req.fetch()).await?;
        let items = rows
            .iter()
            .map(|p| TrashedPage {
                id: p.id,
                path: p.path.clone(),
                title: p.title.clone(),
                deleted_at: format_time(p.deleted_at.unwrap_or_default()),
            })
            .collect();
        Ok(Paged::from_rows(items, req.limit(), |p: &TrashedPage| p.id.to_string()))
    }

    /// Link targets where no page exists, most linked first.
    pub async fn wanted_pages(&self, actor: &Actor) -> AppResult<Vec<WantedPage>> {
        self.authorize(actor, Action::ReadSite).await?;
        let mut conn = self.0.store.read().await?;
        let rows = pages::wanted(&mut conn, 500).await?;
        Ok(rows
            .into_iter()
            .map(|w| WantedPage {
                path: w.target,
                links: w.links,
            })
            .collect())
    }

    /// Pages no other page links to.
    pub async fn orphaned_pages(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<PageSummary>> {
        self.authorize(actor, Action::ReadSite).await?;
        let mut conn = self.0.store.read().await?;
        let rows = pages::orphans(&mut conn, req.cursor.as_deref(), req.fetch()).await?;
        Ok(Paged::from_rows(
            rows.iter().map(summary).collect(),
            req.limit(),
            |p: &PageSummary| p.path.clone(),
        ))
    }

    /// Renders Markdown for the editor's preview.
    pub async fn preview(&self, actor: &Actor, markdown: &str) -> AppResult<(String, Vec<vellum_markup::TocEntry>)> {
        self.authorize(actor, Action::ReadSite).await?;
        crate::edit::check_size(self, markdown)?;
        let mut conn = self.0.store.read().await?;
        let r = self.render_markdown(&mut conn, markdown).await?;
        Ok((r.html.to_string(), r.toc.to_vec()))
    }
}
