//! Rendered HTML, cached by revision id. A revision's text never changes, so
//! the only thing that can make an entry stale is a linked page appearing or
//! disappearing (a wiki link's "missing" style); writes that do that
//! invalidate the entries of the pages linking to the path.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use vellum_markup::{extract_links, TocEntry};
use vellum_store::{pages, refs, AnyConnection};

use crate::{App, AppResult};

#[derive(Debug)]
pub(crate) struct RenderedPage {
    pub html: Arc<str>,
    pub toc: Arc<[TocEntry]>,
}

pub(crate) struct RenderCache(moka::sync::Cache<i64, Arc<RenderedPage>>);

impl RenderCache {
    pub(crate) fn new() -> Self {
        RenderCache(
            moka::sync::Cache::builder()
                .weigher(|_k, v: &Arc<RenderedPage>| u32::try_from(v.html.len()).unwrap_or(u32::MAX))
                // 64 MiB of HTML; the bound on staleness below covers the
                // rare race between a render and an invalidation.
                .max_capacity(64 * 1024 * 1024)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        )
    }
}

impl App {
    /// Renders Markdown, resolving wiki links against the pages that exist.
    pub(crate) async fn render_markdown(&self, conn: &mut AnyConnection, markdown: &str) -> AppResult<RenderedPage> {
        let links = extract_links(markdown);
        let wanted: Vec<&str> = links.iter().map(|p| p.as_str()).collect();
        let existing: HashSet<String> = pages::existing_paths(conn, &wanted).await?;
        let rendered = self.0.renderer.render(markdown, &|p| existing.contains(p.as_str()));
        Ok(RenderedPage {
            html: rendered.html.into(),
            toc: rendered.toc.into(),
        })
    }

    pub(crate) async fn rendered_revision(
        &self,
        conn: &mut AnyConnection,
        revision_id: i64,
        markdown: &str,
    ) -> AppResult<Arc<RenderedPage>> {
        if let Some(hit) = self.0.renders.0.get(&revision_id) {
            return Ok(hit);
        }
        let rendered = Arc::new(self.render_markdown(conn, markdown).await?);
        self.0.renders.0.insert(revision_id, rendered.clone());
        Ok(rendered)
    }

    /// After a page appeared at or vanished from `paths`, drops the cached
    /// HTML of the pages linking there.
    pub(crate) async fn invalidate_linkers(&self, paths: &[&str]) -> AppResult<()> {
        let mut conn = self.0.store.read().await?;
        for page in refs::linking_to(&mut conn, paths).await? {
            self.0.renders.0.invalidate(&page.current_revision_id);
        }
        Ok(())
    }
}
