//! Read-side use cases: pages, revisions, diffs, folders and listings.
//!
//! Reads never write and hold at most one pooled connection, and never
//! while rendering: database work happens first, the connection is
//! released, then CPU work (rendering a stale page, diffing) runs.

use std::sync::Arc;

use vellum_core::acl::{Level, Permissions};
use vellum_core::{Actor, PagePath, RevisionId};
use vellum_markup::diff::{diff, LineDiff};
use vellum_markup::TocEntry;
use vellum_store::pages::PageRecord;
use vellum_store::revisions::RevisionRecord;
use vellum_store::{pages, refs, revisions, Handle};

use crate::access::visible;
use crate::hot::{digest_of, HotPage};
use crate::lists::NavLevel;
use crate::model::*;
use crate::notifications::WatchState;
use crate::{validate, App, AppError, AppResult, Code};

/// What lives at a path.
#[derive(Debug, Clone)]
pub enum Lookup<T = Page> {
    Found(Box<T>),
    /// The page moved; it lives at its new path now.
    Moved(Box<T>),
    /// Nothing lives here; `in_trash` tells whether a deleted page did.
    Missing {
        path: PagePath,
        in_trash: bool,
    },
}

/// Everything a page view shows, authorized once.
#[derive(Debug, Clone)]
pub struct PageView {
    pub page: Page,
    /// The navigation tree from the root down to the page's folder.
    pub nav: Vec<Arc<NavLevel>>,
    pub can: Capabilities,
    /// The first comments, as the reader sees them.
    pub comments: Paged<crate::comments::CommentView>,
    pub watch: WatchState,
    pub review: crate::verification::PageReview,
    /// Changes whenever anything above would show differently to this
    /// reader: a validator for HTTP caching (with what the web layer adds).
    pub version: u64,
}

/// Two revisions of a page and the difference between them.
#[derive(Debug)]
pub struct DiffView {
    pub path: PagePath,
    pub from: RevisionInfo,
    pub to: RevisionInfo,
    pub diff: LineDiff,
    /// Unified-diff text of the same change.
    pub unified: String,
}

pub(crate) fn revision_info(r: &RevisionRecord) -> RevisionInfo {
    RevisionInfo {
        id: r.id,
        page: r.page,
        number: r.number,
        parent: r.parent,
        author: r.author_name.clone(),
        author_name: r.author_display.clone(),
        created_at: r.created_at,
        kind: r.kind,
        title: r.title.clone(),
        summary: r.summary.clone(),
        size: r.size,
        size_delta: r.size_delta,
    }
}

pub(crate) fn summary(p: &PageRecord) -> PageSummary {
    PageSummary {
        path: p.path.clone(),
        title: p.title.clone(),
        updated_at: p.updated_at,
    }
}

pub(crate) fn head(p: &PageRecord) -> PageHead {
    PageHead {
        id: p.id,
        path: p.path.clone(),
        title: p.title.clone(),
        revision: p.current_revision,
        updated_at: p.updated_at,
    }
}

pub(crate) fn page_not_found(path: &PagePath) -> AppError {
    AppError::new(
        Code::PageNotFound,
        format!("There is no page at “{path}”. Check the address, or create the page."),
    )
    .with_details(serde_json::json!({ "path": path.as_str() }))
}

impl App {
    /// The page at a path, following a redirect left by a move. With
    /// `with_text`, the page's Markdown is included.
    pub async fn lookup(&self, actor: &Actor, raw_path: &str, with_text: bool) -> AppResult<Lookup> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.lookup_with(actor, &perms, path, with_text).await
    }

    async fn lookup_with(
        &self,
        actor: &Actor,
        perms: &Permissions,
        path: PagePath,
        with_text: bool,
    ) -> AppResult<Lookup> {
        Ok(match self.hot_lookup(actor, perms, path).await? {
            Lookup::Found(hot) => Lookup::Found(Box::new(self.page_from_hot(perms, &hot, with_text).await?.0)),
            Lookup::Moved(hot) => Lookup::Moved(Box::new(self.page_from_hot(perms, &hot, with_text).await?.0)),
            Lookup::Missing { path, in_trash } => Lookup::Missing { path, in_trash },
        })
    }

    /// The live page at a path from memory (read and kept on a miss),
    /// following a redirect the reader may follow.
    async fn hot_lookup(&self, actor: &Actor, perms: &Permissions, path: PagePath) -> AppResult<Lookup<Arc<HotPage>>> {
        self.need_read(actor, perms, &path)?;
        if let Some(hot) = self.hot_page(&path).await? {
            return Ok(Lookup::Found(Box::new(hot)));
        }
        let (target, in_trash) = {
            let mut conn = self.0.store.read().await?;
            // A redirect into a place the reader may not read leads
            // nowhere for them.
            match pages::resolve_redirect(&mut conn, &path)
                .await?
                .filter(|t| perms.can(Level::Read, t.path.as_str()))
            {
                Some(target) => (Some(target.path), false),
                None => (None, pages::trashed_at(&mut conn, &path).await?.is_some()),
            }
        };
        match target {
            Some(target) => match self.hot_page(&target).await? {
                Some(hot) => Ok(Lookup::Moved(Box::new(hot))),
                None => Ok(Lookup::Missing { path, in_trash: false }),
            },
            None => Ok(Lookup::Missing { path, in_trash }),
        }
    }

    /// A kept page as `perms` sees it (with its text when asked), and a
    /// digest of which of its links it shows as missing.
    async fn page_from_hot(&self, perms: &Permissions, hot: &HotPage, with_text: bool) -> AppResult<(Page, u64)> {
        let missing = self.missing_links(perms, &hot.links).await?;
        let (served, links_digest) = self.served_html(hot, &missing);
        let markdown = match with_text {
            true => Some(self.revision_text(hot.page.current_revision).await?),
            false => None,
        };
        let page = &hot.page;
        let page = Page {
            id: page.id,
            path: page.path.clone(),
            title: page.title.clone(),
            revision: page.current_revision,
            revision_number: hot.revision_number,
            markdown,
            html: served.html,
            toc: served.toc,
            tags: hot.tags.clone(),
            created_at: page.created_at,
            updated_at: page.updated_at,
            updated_by: hot.author_name.clone(),
            updated_by_name: hot.author_display.clone(),
        };
        Ok((page, links_digest))
    }

    /// The page at a path (after redirects), or `page_not_found`.
    pub async fn page(&self, actor: &Actor, raw_path: &str) -> AppResult<Page> {
        match self.lookup(actor, raw_path, true).await? {
            Lookup::Found(p) | Lookup::Moved(p) => Ok(*p),
            Lookup::Missing { path, .. } => Err(page_not_found(&path)),
        }
    }

    /// What showing a page needs: the page, the navigation tree beside it,
    /// and what the visitor may do with it.
    pub async fn page_view(&self, actor: &Actor, raw_path: &str) -> AppResult<Lookup<PageView>> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let (hot, moved) = match self.hot_lookup(actor, &perms, path).await? {
            Lookup::Found(h) => (h, false),
            Lookup::Moved(h) => (h, true),
            Lookup::Missing { path, in_trash } => return Ok(Lookup::Missing { path, in_trash }),
        };
        let (page, links_digest) = self.page_from_hot(&perms, &hot, false).await?;
        let nav = self.nav_levels(&perms, &page.path.folder()).await?;
        let can = Self::capabilities_in(&perms, &page.path);
        let watch = match actor.user_id() {
            Some(user) => self.hot_watch_state(user, &hot.page).await?,
            None => WatchState::default(),
        };
        let review = self.review_from(&hot.review, actor, &perms, &hot.page);
        let comments = self.hot_comments(actor, &perms, &hot);
        let version = digest_of(&(
            hot.digest,
            links_digest,
            nav.iter().map(|l| l.digest).collect::<Vec<_>>(),
            can,
            &watch,
            &review,
            actor.user_id(),
            perms.fingerprint(),
        ));
        let view = Box::new(PageView {
            page,
            nav,
            can,
            comments,
            watch,
            review,
            version,
        });
        Ok(if moved {
            Lookup::Moved(view)
        } else {
            Lookup::Found(view)
        })
    }

    /// The live page at a path (after redirects) without its text or
    /// rendering.
    pub async fn page_head(&self, actor: &Actor, raw_path: &str) -> AppResult<PageHead> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        Ok(head(&self.live_page(actor, &perms, &mut conn, &path).await?))
    }

    /// The live page at `path` (after a redirect) that the actor may read.
    pub(crate) async fn live_page(
        &self,
        actor: &Actor,
        perms: &Permissions,
        h: &mut impl Handle,
        path: &PagePath,
    ) -> AppResult<PageRecord> {
        self.need_read(actor, perms, path)?;
        match pages::by_path(h, path).await? {
            Some(row) => Ok(row),
            None => match pages::resolve_redirect(h, path)
                .await?
                .filter(|r| perms.can(Level::Read, r.path.as_str()))
            {
                Some(row) => Ok(row),
                None => Err(page_not_found(path)),
            },
        }
    }

    pub async fn history(&self, actor: &Actor, raw_path: &str, req: &PageRequest) -> AppResult<Paged<RevisionInfo>> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let mut conn = self.0.store.read().await?;
        let page = self.live_page(actor, &perms, &mut conn, &path).await?;
        let before = req.id_cursor()?.map(RevisionId);
        let rows = revisions::history(&mut conn, page.id, before, req.fetch()?).await?;
        let items = rows.iter().map(revision_info).collect();
        Ok(Paged::from_rows(items, req.limit()?, |r: &RevisionInfo| {
            r.id.to_string()
        }))
    }

    /// Any revision by id, rendered; readable when its page is. A caller
    /// who may not read gets the same answer whether or not it exists.
    pub async fn revision(&self, actor: &Actor, id: RevisionId) -> AppResult<Revision> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        // A revision of a page the reader may not read answers exactly as
        // an id that was never used.
        let not_found = || AppError::new(Code::RevisionNotFound, format!("There is no revision {id}."));
        let (rev, page) = {
            let mut conn = self.0.store.read().await?;
            let rev = revisions::by_id(&mut conn, id).await?.ok_or_else(not_found)?;
            let page = pages::by_id(&mut conn, rev.page).await?.ok_or_else(not_found)?;
            (rev, page)
        };
        if !perms.can(Level::Read, page.path.as_str()) {
            return Err(not_found());
        }
        let rendered = self.rendering_of(rev.id, &rev.markdown).await?;
        let mut conn = self.0.store.read().await?;
        let served = self.serve_rendered(&mut conn, &perms, &rendered, Some(page.id)).await?;
        Ok(Revision {
            info: revision_info(&rev),
            path: page.path,
            is_current: page.current_revision == rev.id && page.deleted_at.is_none(),
            markdown: rev.markdown,
            html: served.html,
        })
    }

    /// The difference between two revisions of one page.
    pub async fn diff(&self, actor: &Actor, raw_path: &str, from: RevisionId, to: RevisionId) -> AppResult<DiffView> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        let (page, a, b) = {
            let mut conn = self.0.store.read().await?;
            let page = self.live_page(actor, &perms, &mut conn, &path).await?;
            let a = revision_of(&mut conn, &page, from).await?;
            let b = revision_of(&mut conn, &page, to).await?;
            (page, a, b)
        };
        let (d, unified, a, b) = self
            .cpu(move || {
                let d = diff(&a.markdown, &b.markdown);
                let unified = d.unified();
                (d, unified, a, b)
            })
            .await?;
        Ok(DiffView {
            path: page.path,
            from: revision_info(&a),
            to: revision_info(&b),
            diff: d,
            unified,
        })
    }

    /// Live pages linking to a page (directly or through a redirect to it),
    /// by path.
    pub async fn backlinks(&self, actor: &Actor, raw_path: &str, req: &PageRequest) -> AppResult<Paged<PageSummary>> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.need_read(actor, &perms, &path)?;
        let mut conn = self.0.store.read().await?;
        let mut targets = vec![path.as_str().to_owned()];
        if let Some(row) = pages::by_path(&mut conn, &path).await? {
            targets.extend(pages::redirects_to(&mut conn, row.id).await?);
        }
        let t: Vec<&str> = targets.iter().map(String::as_str).collect();
        let rows = refs::linking_to(&mut conn, &t, visible(&perms), req.text_cursor()?, req.fetch()?).await?;
        let items = rows.iter().filter(|p| p.path != path).map(summary).collect();
        Ok(Paged::from_rows(items, req.limit()?, |p: &PageSummary| {
            p.path.to_string()
        }))
    }

    /// Renders Markdown for the editor's preview.
    pub async fn preview(&self, actor: &Actor, markdown: &str) -> AppResult<(Arc<str>, Vec<TocEntry>)> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let markdown = validate::text(markdown, "markdown")?;
        crate::edit::check_size(self, markdown)?;
        let rendered = self.render_stored_form(markdown).await?;
        crate::edit::check_links(&rendered)?;
        let mut conn = self.0.store.read().await?;
        let served = self.serve_rendered(&mut conn, &perms, &rendered, None).await?;
        Ok((served.html, rendered.toc))
    }
}

async fn revision_of(h: &mut impl Handle, page: &PageRecord, id: RevisionId) -> AppResult<RevisionRecord> {
    match revisions::by_id(h, id).await? {
        Some(r) if r.page == page.id => Ok(r),
        _ => Err(AppError::new(
            Code::RevisionNotFound,
            format!("Revision {id} is not a revision of “{}”.", page.path),
        )),
    }
}
