//! Search: this process's index (`vellum-search`), kept up to date from the
//! change feed, and the use cases that query it as a reader.
//!
//! The index is derived data. On start it opens the index in the data
//! directory and follows the feed from the position its last commit
//! recorded; a missing, unreadable or outdated index (another format or
//! language) is rebuilt from the pages table while the feed position is
//! held, then followed from there. Every process keeps its own index, so
//! several processes on one PostgreSQL each see every edit.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use vellum_core::{Actor, Event, PageId, PagePath};
use vellum_search::{Change, Doc, Language, Opened, SearchIndex, Sort, Visibility};
use vellum_store::feed::{self, FeedPosition};
use vellum_store::search as records;

use crate::{App, AppError, AppResult, Code};

/// How the index is set up.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// The wiki's language: its stemmer (other languages' words are
    /// still found, by their exact forms).
    pub language: Language,
    /// Where the index lives (default: `search/` in the data directory).
    pub dir: Option<PathBuf>,
    /// Indexing buffer in bytes.
    pub writer_memory: usize,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            language: Language::English,
            dir: None,
            writer_memory: 64 * 1024 * 1024,
        }
    }
}

/// Events read per round; pages loaded per batch when rebuilding.
const BATCH: i64 = 500;
/// While rebuilding, searches see the pages indexed so far after every
/// this many pages.
const REBUILD_COMMIT: u64 = 20_000;
/// How long the indexer waits after a wake-up for more events to come.
const GATHER: Duration = Duration::from_millis(200);
/// Deepest page of results served (offset + limit).
const MAX_DEPTH: usize = 10_000;

/// The index of this process, once opened.
#[derive(Default)]
pub(crate) struct SearchState {
    /// Taken out at shutdown, which releases the index's lock.
    index: RwLock<Option<Arc<SearchIndex>>>,
    /// Why the index could not be opened, if it could not.
    failed: OnceLock<String>,
    /// The feed position the index has reached (`None` before its first
    /// build or catch-up).
    indexed: Mutex<Option<FeedPosition>>,
    rebuilding: AtomicBool,
}

impl SearchState {
    fn reached(&self, position: FeedPosition) {
        if let Ok(mut p) = self.indexed.lock() {
            *p = Some(position);
        }
    }

    fn position(&self) -> Option<FeedPosition> {
        self.indexed.lock().ok().and_then(|p| *p)
    }
}

/// A search result for one reader.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub path: PagePath,
    pub title: String,
    pub snippet: String,
    /// Byte ranges of `snippet` that matched the query.
    pub highlights: Vec<(usize, usize)>,
    pub tags: Vec<String>,
    pub updated_at: vellum_core::Timestamp,
}

#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<SearchHit>,
    /// Matching pages the reader may read, all pages of results together.
    pub total: usize,
    pub tags: Vec<(String, u64)>,
    pub folders: Vec<(String, u64)>,
    pub did_you_mean: Option<String>,
    pub next_cursor: Option<String>,
}

/// The index's state, for monitoring.
#[derive(Debug, Clone)]
pub struct SearchStatus {
    pub pages: u64,
    pub bytes: u64,
    /// Events committed but not yet in the index.
    pub lag_events: i64,
    pub rebuilding: bool,
    pub language: Language,
}

fn unavailable(why: &str) -> AppError {
    AppError::new(
        Code::SearchUnavailable,
        format!("Search is not available on this server right now: {why}. Pages can still be opened by their path."),
    )
}

fn offset_cursor(cursor: Option<&str>) -> AppResult<usize> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .strip_prefix('o')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n < MAX_DEPTH)
            .ok_or_else(crate::model::bad_cursor),
    }
}

impl App {
    /// Index documents for pages read from the database, on every core.
    async fn to_changes(&self, mut records: Vec<records::IndexRecord>) -> AppResult<Vec<Change>> {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let chunk = records.len().div_ceil(cores).max(64);
        let mut parts = Vec::new();
        while records.len() > chunk {
            let rest = records.split_off(chunk);
            parts.push(std::mem::replace(&mut records, rest));
        }
        parts.push(records);
        let mut converting = tokio::task::JoinSet::new();
        let mut out: Vec<Vec<Change>> = parts.iter().map(|_| Vec::new()).collect();
        for (i, part) in parts.into_iter().enumerate() {
            let app = self.clone();
            converting.spawn(async move { (i, app.cpu(move || to_changes(part)).await) });
        }
        while let Some(done) = converting.join_next().await {
            let (i, changes) = done.map_err(AppError::internal)?;
            out[i] = changes?;
        }
        Ok(out.into_iter().flatten().collect())
    }

    fn search_dir(&self) -> PathBuf {
        let c = &self.0.config;
        c.search.dir.clone().unwrap_or_else(|| c.data_dir.join("search"))
    }

    /// Opens this process's index (once). Fails when another process
    /// holds it.
    pub(crate) fn open_search(&self) -> AppResult<(Arc<SearchIndex>, Opened)> {
        let mut slot = self
            .0
            .search
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = slot.as_ref() {
            return Ok((i.clone(), Opened::At(String::new())));
        }
        let c = &self.0.config.search;
        let (index, opened) =
            SearchIndex::open(&self.search_dir(), c.language, c.writer_memory).map_err(|e| match e {
                vellum_search::SearchError::Locked(_) => AppError::new(Code::SearchUnavailable, e.to_string()),
                other => AppError::internal(other),
            })?;
        let index = Arc::new(index);
        *slot = Some(index.clone());
        Ok((index, opened))
    }

    /// Closes the index (at shutdown, after the indexer stopped).
    pub(crate) fn close_search(&self) {
        let mut slot = self
            .0
            .search
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = None;
    }

    /// Starts indexing in the background (from `start`). A failure to open
    /// leaves the wiki running without search, with the reason logged and
    /// given to searchers.
    pub(crate) fn start_search(&self) -> Option<tokio::task::JoinHandle<()>> {
        match self.open_search() {
            Ok((index, opened)) => Some(tokio::spawn(follow(self.clone(), index, opened))),
            Err(e) => {
                tracing::error!(error = %e, "search is off: the index cannot be opened");
                let _ = self.0.search.failed.set(e.message);
                None
            }
        }
    }

    fn search_index(&self) -> AppResult<Arc<SearchIndex>> {
        let slot = self
            .0
            .search
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot.as_ref() {
            Some(i) => Ok(i.clone()),
            None => Err(unavailable(
                self.0
                    .search
                    .failed
                    .get()
                    .map_or("the index is not open", String::as_str),
            )),
        }
    }

    /// Rebuilds the index from every live page, reporting `(done, total)`
    /// as it goes; returns the number of pages indexed.
    pub async fn reindex(&self, progress: &(dyn Fn(u64, u64) + Sync)) -> AppResult<u64> {
        let (index, _) = self.open_search()?;
        let (_, n) = self.rebuild(&index, progress).await?;
        Ok(n)
    }

    /// Empties the index and indexes every live page; records the feed
    /// position read before the first page, so the edits made meanwhile
    /// are applied again by the follower (upserts are idempotent).
    async fn rebuild(
        &self,
        index: &Arc<SearchIndex>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> AppResult<(FeedPosition, u64)> {
        self.0.search.rebuilding.store(true, Ordering::Release);
        let result = async {
            let (start, total) = {
                let mut conn = self.0.store.read().await?;
                (feed::head(&mut conn).await?, records::count(&mut conn).await?)
            };
            let total = u64::try_from(total).unwrap_or(0);
            let idx = index.clone();
            self.cpu(move || idx.clear()).await?.map_err(AppError::internal)?;
            // One task reads the next batch while this one turns the
            // current batch into documents (on every core) and hands them
            // to the writer. Searches see the pages indexed so far every
            // `REBUILD_COMMIT` pages; the position is recorded only at the
            // end, so an interrupted rebuild starts again.
            let (tx, mut rx) = tokio::sync::mpsc::channel(2);
            let reader = {
                let app = self.clone();
                tokio::spawn(async move {
                    let mut after = PageId(0);
                    loop {
                        let batch = async {
                            let mut conn = app.0.store.read().await?;
                            AppResult::Ok(records::after(&mut conn, after, BATCH).await?)
                        }
                        .await;
                        let last = batch.as_ref().ok().and_then(|b| b.last().map(|r| r.id));
                        let end = batch.as_ref().map_or(true, Vec::is_empty);
                        if tx.send(batch).await.is_err() || end {
                            break;
                        }
                        after = last.unwrap_or(after);
                    }
                })
            };
            let mut done = 0u64;
            while let Some(batch) = rx.recv().await {
                let batch = batch?;
                if batch.is_empty() {
                    break;
                }
                done += batch.len() as u64;
                let changes = self.to_changes(batch).await?;
                let idx = index.clone();
                let checkpoint = done / REBUILD_COMMIT > (done - changes.len() as u64) / REBUILD_COMMIT;
                self.cpu(move || {
                    idx.add(&changes)?;
                    if checkpoint {
                        idx.checkpoint()?;
                    }
                    Ok::<_, vellum_search::SearchError>(())
                })
                .await?
                .map_err(AppError::internal)?;
                progress(done, total.max(done));
            }
            reader.abort();
            let idx = index.clone();
            let position = start.encode();
            self.cpu(move || idx.apply(&[], &position))
                .await?
                .map_err(AppError::internal)?;
            self.0.search.reached(start);
            Ok((start, done))
        }
        .await;
        self.0.search.rebuilding.store(false, Ordering::Release);
        result
    }

    /// Searches as `actor`: only pages they may read are found, counted
    /// and faceted.
    pub async fn search(
        &self,
        actor: &Actor,
        q: &str,
        sort: Sort,
        req: &crate::model::PageRequest,
    ) -> AppResult<SearchPage> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let limit = req.limit()?.min(100);
        let offset = offset_cursor(req.cursor.as_deref())?;
        let parsed = vellum_search::parse(q).map_err(|e| AppError::invalid(Code::InvalidSearch, "q", e.to_string()))?;
        if parsed.items.is_empty() {
            return Err(AppError::invalid(
                Code::InvalidSearch,
                "q",
                "Type some words to search for (or a filter such as tag:ops or path:engineering).",
            ));
        }
        let index = self.search_index()?;
        let visible = Visibility::of(&perms);
        let raw = q.to_owned();
        let results = self
            .cpu(move || index.search(&raw, &parsed, &visible, sort, offset, limit))
            .await?
            .map_err(AppError::internal)?;
        // The index lags the database by up to a second: a page deleted
        // or moved meanwhile is left out rather than shown as it was.
        let ids: Vec<PageId> = results.hits.iter().map(|h| PageId(h.id)).collect();
        let current: std::collections::HashMap<i64, String> = {
            let mut conn = self.0.store.read().await?;
            vellum_store::pages::live_paths(&mut conn, &ids)
                .await?
                .into_iter()
                .collect()
        };
        let items = results
            .hits
            .into_iter()
            .filter(|h| current.get(&h.id) == Some(&h.path))
            .filter(|h| perms.can(vellum_core::Level::Read, &h.path))
            .filter_map(|h| {
                Some(SearchHit {
                    path: PagePath::parse(&h.path).ok()?,
                    title: h.title,
                    snippet: h.snippet,
                    highlights: h.highlights,
                    tags: h.tags,
                    updated_at: vellum_core::Timestamp::from_millis(h.updated.saturating_mul(1000)),
                })
            })
            .collect();
        let next = offset + limit;
        Ok(SearchPage {
            items,
            total: results.total,
            tags: results.facets.tags,
            folders: results.facets.folders,
            did_you_mean: results.did_you_mean.map(|s| s.0),
            next_cursor: (next < results.total && next < MAX_DEPTH).then(|| format!("o{next}")),
        })
    }

    /// Pages whose title or path words start with what was typed, that
    /// `actor` may read: `(path, title)`, best first.
    pub async fn complete_titles(
        &self,
        actor: &Actor,
        typed: &str,
        limit: usize,
    ) -> AppResult<Vec<(PagePath, String)>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        if typed.chars().count() > vellum_search::query::MAX_QUERY_CHARS {
            return Ok(Vec::new());
        }
        let index = self.search_index()?;
        let visible = Visibility::of(&perms);
        let typed = typed.to_owned();
        let limit = limit.clamp(1, 20);
        let found = self
            .cpu(move || index.titles(&typed, &visible, limit))
            .await?
            .map_err(AppError::internal)?;
        Ok(found
            .into_iter()
            .filter(|(p, _)| perms.can(vellum_core::Level::Read, p))
            .filter_map(|(p, t)| Some((PagePath::parse(&p).ok()?, t)))
            .collect())
    }

    /// The index's size and lag (administrators).
    pub async fn search_status(&self, actor: &Actor) -> AppResult<SearchStatus> {
        self.need_admin(actor)?;
        let index = self.search_index()?;
        let reached = self.0.search.position().unwrap_or_default();
        let lag_events = {
            let mut conn = self.0.store.read().await?;
            feed::pending(&mut conn, reached).await?
        };
        let (pages, bytes) = index.stats();
        Ok(SearchStatus {
            pages,
            bytes,
            lag_events,
            rebuilding: self.0.search.rebuilding.load(Ordering::Acquire),
            language: index.language(),
        })
    }
}

/// Index documents for pages read from the database.
fn to_changes(records: Vec<records::IndexRecord>) -> Vec<Change> {
    records
        .into_iter()
        .map(|r| {
            let text = vellum_markup::plain_text(&r.markdown);
            Change::Upsert(Doc {
                id: r.id.0,
                path: r.path,
                title: r.title,
                headings: text.headings,
                body: text.body,
                tags: r.tags,
                author: r.author,
                updated: r.updated_at.as_millis() / 1000,
            })
        })
        .collect()
}

/// The pages an event changes in the index.
fn touched(event: &Event, out: &mut BTreeSet<i64>) {
    match event {
        Event::PageCreated { page, .. }
        | Event::PageEdited { page, .. }
        | Event::PageReverted { page, .. }
        | Event::PageTagsChanged { page, .. }
        | Event::PageMoved { page, .. }
        | Event::PageDeleted { page, .. }
        | Event::PageRestored { page, .. } => {
            out.insert(page.0);
        }
        _ => {}
    }
}

/// Follows the feed into the index, forever.
async fn follow(app: App, index: Arc<SearchIndex>, opened: Opened) {
    let mut position = loop {
        let start = match &opened {
            Opened::At(p) => match FeedPosition::decode(p) {
                Some(p) => Ok(p),
                None => app.rebuild(&index, &|_, _| {}).await.map(|(p, _)| p),
            },
            Opened::Empty { .. } => app.rebuild(&index, &|_, _| {}).await.map(|(p, _)| p),
        };
        match start {
            Ok(p) => break p,
            Err(e) => {
                tracing::warn!(error = %e, "building the search index failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    app.0.search.reached(position);
    let mut wake = app.subscribe();
    loop {
        match catch_up(&app, &index, position).await {
            Ok((next, full)) => {
                position = next;
                if full {
                    continue;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "updating the search index failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        // Woken by any event this process's follower published, or after
        // a while anyway; then a short pause gathers the events of a burst
        // into one commit (a commit per save would cost more than the
        // indexing itself), well within the second an edit may take.
        let _ = tokio::time::timeout(Duration::from_millis(500), wake.recv()).await;
        tokio::time::sleep(GATHER).await;
        while wake.try_recv().is_ok() {}
    }
}

/// Applies one batch of events; returns the new position and whether
/// the batch was full.
async fn catch_up(app: &App, index: &Arc<SearchIndex>, after: FeedPosition) -> AppResult<(FeedPosition, bool)> {
    let entries = {
        let mut conn = app.0.store.read().await?;
        feed::read(&mut conn, after, BATCH).await?
    };
    let Some(last) = entries.last() else {
        return Ok((after, false));
    };
    let position = last.position;
    let full = entries.len() as i64 == BATCH;
    let mut pages = BTreeSet::new();
    for e in &entries {
        if let Ok(event) = &e.event {
            touched(event, &mut pages);
        }
    }
    let ids: Vec<PageId> = pages.iter().map(|i| PageId(*i)).collect();
    let live = {
        let mut conn = app.0.store.read().await?;
        records::by_ids(&mut conn, &ids).await?
    };
    let present: BTreeSet<i64> = live.iter().map(|r| r.id.0).collect();
    let mut changes = app.to_changes(live).await?;
    changes.extend(pages.difference(&present).map(|id| Change::Remove(*id)));
    let idx = index.clone();
    let encoded = position.encode();
    app.cpu(move || idx.apply(&changes, &encoded))
        .await?
        .map_err(AppError::internal)?;
    app.0.search.reached(position);
    Ok((position, full))
}
