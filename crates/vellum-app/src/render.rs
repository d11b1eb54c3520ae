//! Rendering page text, and where the results are kept.
//!
//! A revision's text never changes, and the only part of its HTML that
//! depends on the rest of the wiki is the "missing page" style of wiki links.
//! So a page is rendered once when it is saved, as if every link target
//! existed, and stored with the page (`page_renders`); serving the page
//! restyles the links whose targets are missing now, which one indexed query
//! finds. Nothing needs invalidating when other pages come and go. Old
//! revisions are rendered on demand and kept in a small in-memory cache.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use vellum_core::PagePath;
use vellum_markup::{mark_missing, Rendered, TocEntry, RENDER_VERSION};
use vellum_store::{pages, refs, revisions, AnyConnection};

use crate::{App, AppError, AppResult};

#[derive(Debug)]
pub(crate) struct RenderedPage {
    pub html: Arc<str>,
    pub toc: Arc<[TocEntry]>,
}

/// Renderings of old revisions, with every link treated as existing.
pub(crate) struct RevisionCache(moka::sync::Cache<i64, Arc<Rendered>>);

impl RevisionCache {
    pub(crate) fn new() -> Self {
        RevisionCache(
            moka::sync::Cache::builder()
                .weigher(|_k, v: &Arc<Rendered>| u32::try_from(v.html.len()).unwrap_or(u32::MAX))
                .max_capacity(16 * 1024 * 1024)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        )
    }
}

fn toc_json(toc: &[TocEntry]) -> String {
    serde_json::to_string(toc).unwrap_or_else(|_| "[]".into())
}

impl App {
    /// Renders as if every linked page existed (the stored form), on a
    /// blocking thread: highlighting a large page takes milliseconds.
    pub(crate) async fn render_stored_form(&self, markdown: &str) -> AppResult<Rendered> {
        let app = self.clone();
        let markdown = markdown.to_owned();
        tokio::task::spawn_blocking(move || app.0.renderer.render(&markdown, &|_| true))
            .await
            .map_err(AppError::internal)
    }

    /// Stores a page's rendering (inside the save's transaction).
    pub(crate) async fn store_render(
        conn: &mut AnyConnection,
        page_id: i64,
        revision_id: i64,
        rendered: &Rendered,
    ) -> AppResult<()> {
        pages::store_render(
            conn,
            page_id,
            revision_id,
            RENDER_VERSION,
            &rendered.html,
            &toc_json(&rendered.toc),
        )
        .await?;
        Ok(())
    }

    /// The current revision's HTML as served now: the stored rendering (made
    /// anew if it is missing or older than this code), with links to pages
    /// that do not exist restyled.
    pub(crate) async fn serve_current(
        &self,
        conn: &mut AnyConnection,
        page_id: i64,
        revision_id: i64,
        markdown: Option<&str>,
        stored: Option<(String, String)>,
    ) -> AppResult<RenderedPage> {
        let (html, toc) = match stored {
            Some((html, toc)) => (html, serde_json::from_str(&toc).unwrap_or_default()),
            None => {
                let fetched;
                let markdown = match markdown {
                    Some(m) => m,
                    None => {
                        fetched = revisions::by_id(conn, revision_id)
                            .await?
                            .map(|r| r.markdown)
                            .unwrap_or_default();
                        &fetched
                    }
                };
                let rendered = self.render_stored_form(markdown).await?;
                let mut tx = self.0.store.begin().await?;
                Self::store_render(&mut tx, page_id, revision_id, &rendered).await?;
                tx.commit().await?;
                (rendered.html, rendered.toc)
            }
        };
        let missing: Vec<PagePath> = refs::missing_targets(conn, page_id)
            .await?
            .into_iter()
            .map(PagePath::from_trusted)
            .collect();
        let html = if missing.is_empty() {
            html
        } else {
            mark_missing(&html, &missing)
        };
        Ok(RenderedPage {
            html: html.into(),
            toc: toc.into(),
        })
    }

    /// Any revision's HTML as served now (for old revisions).
    pub(crate) async fn serve_revision(
        &self,
        conn: &mut AnyConnection,
        revision_id: i64,
        markdown: &str,
    ) -> AppResult<RenderedPage> {
        let rendered = match self.0.revisions.0.get(&revision_id) {
            Some(hit) => hit,
            None => {
                let r = Arc::new(self.render_stored_form(markdown).await?);
                self.0.revisions.0.insert(revision_id, r.clone());
                r
            }
        };
        let html = Self::with_existence(conn, &rendered).await?;
        Ok(RenderedPage {
            html: html.into(),
            toc: rendered.toc.clone().into(),
        })
    }

    /// Restyles a stored-form rendering's links to pages that do not exist.
    async fn with_existence(conn: &mut AnyConnection, rendered: &Rendered) -> AppResult<String> {
        let wanted: Vec<&str> = rendered.links.iter().map(PagePath::as_str).collect();
        let existing: HashSet<String> = pages::existing_paths(conn, &wanted).await?;
        let missing: Vec<PagePath> = rendered
            .links
            .iter()
            .filter(|p| !existing.contains(p.as_str()))
            .cloned()
            .collect();
        Ok(mark_missing(&rendered.html, &missing))
    }

    /// Renders Markdown resolving wiki links against the pages that exist
    /// (previews).
    pub(crate) async fn render_markdown(&self, conn: &mut AnyConnection, markdown: &str) -> AppResult<RenderedPage> {
        let rendered = self.render_stored_form(markdown).await?;
        let html = Self::with_existence(conn, &rendered).await?;
        Ok(RenderedPage {
            html: html.into(),
            toc: rendered.toc.into(),
        })
    }
}
