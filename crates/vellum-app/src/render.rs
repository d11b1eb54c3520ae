//! Rendering page text, and where the results are kept.
//!
//! A revision's text never changes, and the only part of its HTML that
//! depends on the rest of the wiki is the "missing page" style of wiki links.
//! So a page is rendered once when it is saved, as if every link target
//! existed, and stored with the page (`page_renders`); serving the page
//! restyles the links whose targets are missing now, which one indexed query
//! finds. Nothing needs invalidating when other pages come and go.
//!
//! Reads never write: when a page's stored rendering is missing or was made
//! by an older renderer (after an upgrade), the reader renders it (once, if
//! many read at the same time), serves it, and hands it to a background
//! writer that stores it after the reader's connection is released.
//!
//! Rendering, diffing and merging are CPU work: they run on the blocking
//! thread pool, at most a few at a time ([`App::cpu`]), so a hostile page
//! cannot stall the async workers that serve everyone else.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, OnceCell};
use vellum_core::{PageId, RevisionId};
use vellum_markup::{mark_missing, Rendered, TocEntry, RENDER_VERSION};
use vellum_store::renders::{self, StoredRender};
use vellum_store::{pages, Handle};

use crate::ports::{Cache, MemoryCache};
use crate::{App, AppError, AppResult};

/// The HTML of a revision as served now, with its table of contents.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub html: Arc<str>,
    pub toc: Arc<[TocEntry]>,
}

type Pending = Arc<OnceCell<Arc<Rendered>>>;

/// A rendering for the background writer to store.
pub(crate) type RenderJob = (PageId, RevisionId, Arc<Rendered>);

pub(crate) struct Renders {
    /// Stored-form renderings by revision (old revisions, and current ones
    /// whose stored rendering is stale).
    pub(crate) by_revision: MemoryCache<RevisionId, Arc<Rendered>>,
    /// Renderings in progress, so concurrent readers of one revision wait
    /// for one rendering instead of each making their own.
    in_flight: Mutex<std::collections::HashMap<RevisionId, Pending>>,
    /// Renderings waiting to be stored by the background writer.
    to_store: mpsc::Sender<RenderJob>,
    queued: Mutex<HashSet<RevisionId>>,
}

fn weigh(_k: &RevisionId, v: &Arc<Rendered>) -> u32 {
    u32::try_from(v.html.len()).unwrap_or(u32::MAX)
}

impl Renders {
    pub(crate) fn new() -> (Renders, mpsc::Receiver<RenderJob>) {
        let (tx, rx) = mpsc::channel(1024);
        let renders = Renders {
            by_revision: MemoryCache::weighted(16 * 1024 * 1024, weigh, Duration::from_secs(600)),
            in_flight: Mutex::new(Default::default()),
            to_store: tx,
            queued: Mutex::new(HashSet::new()),
        };
        (renders, rx)
    }
}

pub(crate) fn toc_json(toc: &[TocEntry]) -> serde_json::Value {
    serde_json::to_value(toc).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()))
}

impl App {
    /// Runs CPU-heavy work on the blocking pool, a few at a time.
    pub(crate) async fn cpu<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let _permit = self.0.cpu.acquire().await.map_err(AppError::internal)?;
        tokio::task::spawn_blocking(f).await.map_err(AppError::internal)
    }

    /// Renders as if every linked page existed (the stored form).
    pub(crate) async fn render_stored_form(&self, markdown: &str) -> AppResult<Rendered> {
        let renderer = self.0.renderer.clone();
        let markdown = markdown.to_owned();
        self.cpu(move || renderer.render(&markdown, &|_| true)).await
    }

    /// A revision's stored-form rendering from memory, or rendered from
    /// `markdown` once however many ask at the same time.
    pub(crate) async fn rendering_of(&self, revision: RevisionId, markdown: &str) -> AppResult<Arc<Rendered>> {
        if let Some(hit) = self.0.renders.by_revision.get(&revision) {
            return Ok(hit);
        }
        let cell = {
            let mut in_flight = self
                .0
                .renders
                .in_flight
                .lock()
                .map_err(|_| AppError::bug("render lock poisoned"))?;
            in_flight.entry(revision).or_default().clone()
        };
        let rendered = cell
            .get_or_try_init(|| async { self.render_stored_form(markdown).await.map(Arc::new) })
            .await?
            .clone();
        self.0.renders.by_revision.insert(revision, rendered.clone());
        if let Ok(mut in_flight) = self.0.renders.in_flight.lock() {
            in_flight.remove(&revision);
        }
        Ok(rendered)
    }

    /// The cached stored-form rendering of a revision, if any.
    pub(crate) fn cached_rendering(&self, revision: RevisionId) -> Option<Arc<Rendered>> {
        self.0.renders.by_revision.get(&revision)
    }

    /// Asks the background writer to store a current revision's rendering.
    /// Never waits: when the queue is full the next reader asks again.
    pub(crate) fn store_later(&self, page: PageId, revision: RevisionId, rendered: Arc<Rendered>) {
        let Ok(mut queued) = self.0.renders.queued.lock() else {
            return;
        };
        if !queued.insert(revision) {
            return;
        }
        if self.0.renders.to_store.try_send((page, revision, rendered)).is_err() {
            queued.remove(&revision);
        }
    }

    /// Restyles links to pages that do not exist now, in a stored-form
    /// rendering, and wraps the result for serving.
    pub(crate) fn serve_with_missing(
        html: &str,
        toc: Arc<[TocEntry]>,
        missing: &[vellum_core::PagePath],
        page: Option<vellum_core::PageId>,
    ) -> Served {
        let mut html: Arc<str> = if missing.is_empty() {
            html.into()
        } else {
            mark_missing(html, missing).into()
        };
        // `file:NAME` references become the page's file addresses. The
        // prefix can only occur in attribute values of sanitized HTML
        // (text has its quotes escaped).
        let marker = format!("\"{}", vellum_markup::FILE_PREFIX);
        if let Some(id) = page.filter(|_| html.contains(&marker)) {
            html = html.replace(&marker, &format!("\"/embed/{}/", id.0)).into();
        }
        Served { html, toc }
    }

    /// Any revision's HTML as served now (old revisions, previews).
    /// Links to pages the reader may not read look like links to missing
    /// pages, so the styling says nothing about what is there.
    pub(crate) async fn serve_rendered(
        &self,
        h: &mut impl Handle,
        perms: &vellum_core::Permissions,
        rendered: &Rendered,
        page: Option<vellum_core::PageId>,
    ) -> AppResult<Served> {
        let readable: Vec<&str> = rendered
            .links
            .iter()
            .map(|p| p.as_str())
            .filter(|p| perms.can(vellum_core::Level::Read, p))
            .collect();
        let existing = pages::existing_paths(h, &readable).await?;
        let missing: Vec<vellum_core::PagePath> = rendered
            .links
            .iter()
            .filter(|p| !existing.contains(p.as_str()))
            .cloned()
            .collect();
        Ok(Self::serve_with_missing(
            &rendered.html,
            rendered.toc.clone().into(),
            &missing,
            page,
        ))
    }
}

/// Stores renderings handed over by readers, a batch per transaction.
pub(crate) async fn store_renderings(app: App, mut rx: mpsc::Receiver<RenderJob>) {
    let store = app.store().clone();
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 64).await > 0 {
        let result = async {
            let mut tx = store.begin().await?;
            for (page, revision, rendered) in &batch {
                let stored = StoredRender {
                    html: rendered.html.clone(),
                    toc: toc_json(&rendered.toc),
                };
                renders::store(&mut tx, *page, *revision, RENDER_VERSION, &stored).await?;
            }
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "storing refreshed page renderings failed; they will be made again on view");
        }
        if let Ok(mut queued) = app.0.renders.queued.lock() {
            for (_, revision, _) in &batch {
                queued.remove(revision);
            }
        }
        batch.clear();
    }
}
