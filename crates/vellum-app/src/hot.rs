//! The warm read path: what a page view needs, kept in memory, so that a
//! view of a page read before touches no database row.
//!
//! - **Pages** by path: the page row, its current revision's stored-form
//!   rendering (immutable per revision), tags, link targets, the first
//!   comments and the facts its review state is computed from. Bounded by
//!   bytes (the cache budget); filled once however many readers miss at
//!   the same time.
//! - **Link existence** by target path, for the "missing page" style of
//!   wiki links. A page's links are kept with the page; whether each
//!   target exists is kept here, so that creating, deleting or moving a
//!   page invalidates one entry instead of every page linking to it.
//! - **Watch state** by (user, page).
//!
//! Nothing here depends on who reads: permissions are applied per request
//! to what is kept (a link to a page the reader may not read is styled as
//! missing, exactly as before).
//!
//! **Invalidation** is by events ([`App::apply_effects`]): on this node
//! right after commit, on every other node when the change feed delivers
//! the event. A fill that ran while an invalidation of its key happened is
//! served once but not kept: each cache has [`Stamps`] bumped before an
//! entry is dropped, and a fill stores its value only if the stamp of its
//! key did not move while it read.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use vellum_core::acl::{Level, Permissions};
use vellum_core::{PageId, PagePath, RevisionId, UserId};
use vellum_markup::{TocEntry, RENDER_VERSION};
use vellum_store::comments::{self as comment_store, CommentRecord};
use vellum_store::pages::PageRecord;
use vellum_store::{pages, refs, renders, revisions, Handle};

use crate::notifications::WatchState;
use crate::render::Served;
use crate::verification::{review_facts, ReviewFacts};
use crate::{App, AppError, AppResult};

/// Comments a page view shows (and keeps); more are a page of the list.
pub const PAGE_VIEW_COMMENTS: usize = 500;

/// The default cache budget (bytes of pages, links and watch states kept).
pub const DEFAULT_CACHE_BYTES: u64 = 48 * 1024 * 1024;

/// Generation numbers by key stripe, and one for everything. Bumped before
/// an entry is dropped; a fill keeps its value only if its key's numbers
/// did not move while it read.
pub(crate) struct Stamps {
    all: AtomicU64,
    /// Bumped with every stripe: "anything changed".
    any: AtomicU64,
    stripes: Box<[AtomicU64]>,
    hasher: std::hash::RandomState,
}

const STRIPES: usize = 256;

impl Stamps {
    fn new() -> Stamps {
        Stamps {
            all: AtomicU64::new(0),
            any: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: std::hash::RandomState::new(),
        }
    }

    fn stripe(&self, key: &impl Hash) -> &AtomicU64 {
        &self.stripes[(self.hasher.hash_one(key) as usize) % STRIPES]
    }

    /// The numbers a fill of `key` compares before storing.
    pub(crate) fn of(&self, key: &impl Hash) -> (u64, u64) {
        (
            self.all.load(Ordering::Acquire),
            self.stripe(key).load(Ordering::Acquire),
        )
    }

    /// The numbers a fill of keys it does not know yet compares.
    pub(crate) fn of_any(&self) -> (u64, u64) {
        (self.all.load(Ordering::Acquire), self.any.load(Ordering::Acquire))
    }

    pub(crate) fn bump(&self, key: &impl Hash) {
        self.stripe(key).fetch_add(1, Ordering::AcqRel);
        self.any.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn bump_all(&self) {
        self.all.fetch_add(1, Ordering::AcqRel);
    }
}

/// What a page view needs about one live page, independent of the reader.
#[derive(Debug)]
pub(crate) struct HotPage {
    pub page: PageRecord,
    pub revision_number: i64,
    pub author_name: Option<String>,
    pub author_display: Option<String>,
    pub tags: Vec<String>,
    /// Wiki-link targets of the current revision, sorted.
    pub links: Vec<PagePath>,
    /// The stored-form rendering (as if every link target existed).
    pub html: Arc<str>,
    pub toc: Arc<[TocEntry]>,
    /// The first comments, in thread order (one more than shown, to tell
    /// whether there are more).
    pub comments: Vec<CommentRecord>,
    pub review: ReviewFacts,
    /// A digest of everything above except the HTML (which the revision
    /// id stands for), for validators.
    pub digest: u64,
    /// The last HTML served, by the set of links styled missing in it:
    /// readers who see the same set share it.
    served: Mutex<Option<(u64, Served)>>,
}

fn weigh_page(_: &PagePath, p: &Arc<HotPage>) -> u32 {
    let comments: usize = p.comments.iter().map(|c| c.html.len() + c.markdown.len() + 128).sum();
    let links: usize = p.links.iter().map(|l| l.as_str().len() + 32).sum();
    let bytes = p.html.len() + p.toc.len() * 64 + comments + links + 512;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

fn weigh_exists(k: &PagePath, _: &bool) -> u32 {
    u32::try_from(k.as_str().len() + 96).unwrap_or(u32::MAX)
}

type Filling = Arc<OnceCell<Option<Arc<HotPage>>>>;

pub(crate) struct Hot {
    pages: moka::sync::Cache<PagePath, Arc<HotPage>>,
    pub(crate) page_stamps: Stamps,
    filling: Mutex<HashMap<PagePath, Filling>>,
    exists: moka::sync::Cache<PagePath, bool>,
    pub(crate) exist_stamps: Stamps,
    watches: moka::sync::Cache<(UserId, PageId), WatchState>,
    pub(crate) watch_stamps: Stamps,
    /// Guards fills of the sidebar levels (`lists.rs`) the same way.
    pub(crate) nav_stamps: Stamps,
    /// Revision texts by id (immutable), for API reads.
    texts: moka::sync::Cache<RevisionId, Arc<str>>,
}

/// A safety net: entries are invalidated by events, so this only bounds
/// how long one could outlive a change feed that stalled.
const HOT_TTL: Duration = Duration::from_secs(600);

impl Hot {
    pub(crate) fn new(budget: u64) -> Hot {
        // Pages take most of the budget, revision texts a quarter, link
        // existence an eighth; watch states are small and counted.
        let pages_bytes = budget - budget / 4 - budget / 8;
        Hot {
            texts: moka::sync::Cache::builder()
                .max_capacity(budget / 4)
                .weigher(|_, t: &Arc<str>| u32::try_from(t.len() + 64).unwrap_or(u32::MAX))
                .time_to_live(HOT_TTL)
                .build(),
            pages: moka::sync::Cache::builder()
                .max_capacity(pages_bytes)
                .weigher(weigh_page)
                .time_to_live(HOT_TTL)
                .build(),
            page_stamps: Stamps::new(),
            filling: Mutex::new(HashMap::new()),
            exists: moka::sync::Cache::builder()
                .max_capacity(budget / 8)
                .weigher(weigh_exists)
                .time_to_live(HOT_TTL)
                .build(),
            exist_stamps: Stamps::new(),
            watches: moka::sync::Cache::builder()
                .max_capacity(50_000)
                .time_to_live(HOT_TTL)
                .support_invalidation_closures()
                .build(),
            watch_stamps: Stamps::new(),
            nav_stamps: Stamps::new(),
        }
    }

    /// The page at `path` changed (or moved away, or is gone).
    pub(crate) fn forget_page(&self, path: &PagePath) {
        self.page_stamps.bump(path);
        self.pages.invalidate(path);
        if let Ok(mut f) = self.filling.lock() {
            f.remove(path);
        }
    }

    /// Whether something lives at `path` may have changed.
    pub(crate) fn forget_exists(&self, path: &PagePath) {
        self.exist_stamps.bump(path);
        self.exists.invalidate(path);
    }

    pub(crate) fn forget_watches_of(&self, user: UserId) {
        self.watch_stamps.bump(&user);
        if self.watches.invalidate_entries_if(move |k, _| k.0 == user).is_err() {
            self.watches.invalidate_all();
        }
    }

    /// Every kept page (not link existence or watch states), for changes
    /// too wide to follow one by one (a display name shown on many pages,
    /// a folder's review policy).
    pub(crate) fn forget_pages(&self) {
        self.page_stamps.bump_all();
        self.pages.invalidate_all();
        if let Ok(mut f) = self.filling.lock() {
            f.clear();
        }
    }

    /// Everything (purged ids may be reused).
    pub(crate) fn forget_all(&self) {
        self.forget_pages();
        self.exist_stamps.bump_all();
        self.watch_stamps.bump_all();
        self.exists.invalidate_all();
        self.watches.invalidate_all();
        self.texts.invalidate_all();
    }
}

/// Hashes a value's debug form: a digest of plain data that needs no
/// `Hash` implementation (used for validators, never for security).
pub fn digest_of(value: &impl std::fmt::Debug) -> u64 {
    struct W(std::hash::DefaultHasher);
    impl std::fmt::Write for W {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let mut w = W(std::hash::DefaultHasher::new());
    let _ = std::fmt::write(&mut w, format_args!("{value:?}"));
    w.0.finish()
}

impl App {
    /// The live page at `path` from memory, read and kept on a miss (once
    /// however many miss at the same time). `None`: no live page there.
    /// The caller has authorized reading `path`.
    pub(crate) async fn hot_page(&self, path: &PagePath) -> AppResult<Option<Arc<HotPage>>> {
        let hot = &self.0.hot;
        if let Some(hit) = hot.pages.get(path) {
            return Ok(Some(hit));
        }
        let cell = {
            let mut filling = hot
                .filling
                .lock()
                .map_err(|_| AppError::bug("page cache lock poisoned"))?;
            filling.entry(path.clone()).or_default().clone()
        };
        let found = cell
            .get_or_try_init(|| async {
                let stamp = hot.page_stamps.of(path);
                let page = self.read_hot_page(path).await?.map(Arc::new);
                if let Some(p) = &page {
                    if hot.page_stamps.of(path) == stamp {
                        hot.pages.insert(path.clone(), p.clone());
                    }
                }
                AppResult::Ok(page)
            })
            .await?
            .clone();
        if let Ok(mut filling) = hot.filling.lock() {
            if filling.get(path).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                filling.remove(path);
            }
        }
        Ok(found)
    }

    async fn read_hot_page(&self, path: &PagePath) -> AppResult<Option<HotPage>> {
        let (view, tags, links, comments, review, stale_text) = {
            let mut conn = self.0.store.read().await?;
            let Some(view) = renders::current_view(&mut conn, path, RENDER_VERSION, false).await? else {
                return Ok(None);
            };
            let id = view.page.id;
            let tags = refs::tags_of(&mut conn, id).await?;
            let links = self.links_with_existence(&mut conn, id).await?;
            let comments = comment_store::of_page(&mut conn, id, None, PAGE_VIEW_COMMENTS as i64 + 1).await?;
            let review = review_facts(&mut conn, &view.page, 1).await?;
            let stale_text = match (&view.render, self.cached_rendering(view.page.current_revision)) {
                (Some(_), _) | (None, Some(_)) => None,
                (None, None) => Some(
                    revisions::by_id(&mut conn, view.page.current_revision)
                        .await?
                        .ok_or_else(|| AppError::bug(format!("revision {} vanished", view.page.current_revision)))?
                        .markdown,
                ),
            };
            (view, tags, links, comments, review, stale_text)
        };
        let page = view.page;
        let revision_number = view.revision_number.ok_or_else(|| {
            AppError::bug(format!(
                "page {} has no current revision {}",
                page.id, page.current_revision
            ))
        })?;
        // A stale stored rendering (after an upgrade) is made again, off
        // the connection, and handed to the background writer.
        let (html, toc): (Arc<str>, Arc<[TocEntry]>) = match view.render {
            Some(stored) => (stored.html.into(), toc_of(&stored.toc)),
            None => {
                let rendered = match self.cached_rendering(page.current_revision) {
                    Some(r) => r,
                    None => {
                        self.rendering_of(page.current_revision, stale_text.as_deref().unwrap_or_default())
                            .await?
                    }
                };
                self.store_later(page.id, page.current_revision, rendered.clone());
                (rendered.html.as_str().into(), rendered.toc.clone().into())
            }
        };
        let digest = digest_of(&(
            &page,
            revision_number,
            &view.author_name,
            &view.author_display,
            &tags,
            &links,
            &comments,
            &review,
        ));
        Ok(Some(HotPage {
            page,
            revision_number,
            author_name: view.author_name,
            author_display: view.author_display,
            tags,
            links,
            html,
            toc,
            comments,
            review,
            digest,
            served: Mutex::new(None),
        }))
    }

    /// A page's link targets, noting in the existence cache what the same
    /// read found (unless an existence changed meanwhile).
    async fn links_with_existence(&self, h: &mut impl Handle, page: PageId) -> AppResult<Vec<PagePath>> {
        let hot = &self.0.hot;
        let before = hot.exist_stamps.of_any();
        let links = refs::link_targets(h, page).await?;
        let keep = hot.exist_stamps.of_any() == before;
        Ok(links
            .into_iter()
            .map(|(target, exists)| {
                if keep {
                    hot.exists.insert(target.clone(), exists);
                }
                target
            })
            .collect())
    }

    /// Which of `links` are missing for `perms`: nothing there, or nothing
    /// the reader may read (the two look the same). From memory, with one
    /// query for the targets not known yet.
    pub(crate) async fn missing_links(&self, perms: &Permissions, links: &[PagePath]) -> AppResult<Vec<PagePath>> {
        let hot = &self.0.hot;
        let mut missing = Vec::new();
        let mut unknown: Vec<&PagePath> = Vec::new();
        for target in links {
            if !perms.can(Level::Read, target.as_str()) {
                missing.push(target.clone());
                continue;
            }
            match hot.exists.get(target) {
                Some(true) => {}
                Some(false) => missing.push(target.clone()),
                None => unknown.push(target),
            }
        }
        if !unknown.is_empty() {
            let stamps: Vec<_> = unknown.iter().map(|t| hot.exist_stamps.of(*t)).collect();
            let wanted: Vec<&str> = unknown.iter().map(|t| t.as_str()).collect();
            let existing = {
                let mut conn = self.0.store.read().await?;
                pages::existing_paths(&mut conn, &wanted).await?
            };
            for (target, stamp) in unknown.into_iter().zip(stamps) {
                let exists = existing.contains(target.as_str());
                if !exists {
                    missing.push(target.clone());
                }
                if hot.exist_stamps.of(target) == stamp {
                    hot.exists.insert(target.clone(), exists);
                }
            }
            missing.sort();
        }
        Ok(missing)
    }

    /// A hot page's HTML as served with `missing` links styled so, and a
    /// digest of `missing`.
    pub(crate) fn served_html(&self, hot: &HotPage, missing: &[PagePath]) -> (Served, u64) {
        let key = digest_of(&missing);
        if let Ok(slot) = hot.served.lock() {
            if let Some((k, served)) = slot.as_ref() {
                if *k == key {
                    return (served.clone(), key);
                }
            }
        }
        let served = Self::serve_with_missing(&hot.html, hot.toc.clone(), missing, Some(hot.page.id));
        if let Ok(mut slot) = hot.served.lock() {
            *slot = Some((key, served.clone()));
        }
        (served, key)
    }

    /// A revision's text (immutable; kept).
    pub(crate) async fn revision_text(&self, id: RevisionId) -> AppResult<String> {
        if let Some(t) = self.0.hot.texts.get(&id) {
            return Ok(t.to_string());
        }
        let text = {
            let mut conn = self.0.store.read().await?;
            revisions::by_id(&mut conn, id)
                .await?
                .ok_or_else(|| AppError::bug(format!("revision {id} vanished")))?
                .markdown
        };
        self.0.hot.texts.insert(id, text.as_str().into());
        Ok(text)
    }

    /// What `user` watches about a live page (from memory).
    pub(crate) async fn hot_watch_state(&self, user: UserId, page: &PageRecord) -> AppResult<WatchState> {
        let hot = &self.0.hot;
        let key = (user, page.id);
        if let Some(hit) = hot.watches.get(&key) {
            return Ok(hit);
        }
        let stamp = hot.watch_stamps.of(&user);
        let state = {
            let mut conn = self.0.store.read().await?;
            self.watch_state_of(&mut conn, user, page.id, &page.path).await?
        };
        if hot.watch_stamps.of(&user) == stamp {
            hot.watches.insert(key, state.clone());
        }
        Ok(state)
    }

    /// Comments kept with a hot page, as `actor` sees them.
    pub(crate) fn hot_comments(
        &self,
        actor: &vellum_core::Actor,
        perms: &Permissions,
        hot: &HotPage,
    ) -> crate::Paged<crate::comments::CommentView> {
        let items = hot
            .comments
            .iter()
            .cloned()
            .map(|c| self.comment_view(actor, perms, &hot.page.path, c))
            .collect();
        crate::Paged::from_rows(items, PAGE_VIEW_COMMENTS, |c: &crate::comments::CommentView| {
            format!("{}:{}", c.thread_id, c.id)
        })
    }
}

fn toc_of(json: &serde_json::Value) -> Arc<[TocEntry]> {
    serde_json::from_value::<Vec<TocEntry>>(json.clone())
        .unwrap_or_default()
        .into()
}
