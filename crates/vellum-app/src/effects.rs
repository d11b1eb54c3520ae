//! What follows from each event for the derived data this node keeps: the
//! one place that maps events to cache invalidations. It runs right after a
//! local commit and again for every event the change feed delivers (from
//! any node), so every node's caches follow every change. Applying an
//! effect twice is harmless.

use vellum_core::{Event, FolderPath, PagePath};

use crate::ports::Cache;
use crate::App;

impl App {
    pub(crate) fn apply_effects(&self, event: &Event) {
        let hot = &self.0.hot;
        match event {
            Event::PageCreated { path, .. } | Event::PageDeleted { path, .. } => {
                self.forget_nav(path);
                hot.forget_page(path);
                hot.forget_exists(path);
            }
            Event::PageMoved { from, to, .. } | Event::PageRestored { from, to, .. } => {
                self.forget_nav(from);
                self.forget_nav(to);
                for p in [from, to] {
                    hot.forget_page(p);
                    hot.forget_exists(p);
                }
            }
            Event::PageEdited {
                path, title_changed, ..
            }
            | Event::PageReverted {
                path, title_changed, ..
            } => {
                // The sidebar lists titles.
                if *title_changed {
                    self.forget_nav(path);
                }
                hot.forget_page(path);
            }
            // What a page view shows beside the text.
            Event::PageTagsChanged { path, .. }
            | Event::CommentAdded { path, .. }
            | Event::CommentEdited { path, .. }
            | Event::CommentDeleted { path, .. }
            | Event::CommentResolved { path, .. }
            | Event::PageVerified { path, .. }
            | Event::FileUploaded { path, .. }
            | Event::FileDeleted { path, .. } => hot.forget_page(path),
            Event::ReviewPolicySet { page, path, .. } => match (page, vellum_core::PagePath::parse(path)) {
                (Some(_), Ok(p)) => hot.forget_page(&p),
                // A folder's policy governs every page below it.
                _ => hot.forget_pages(),
            },
            Event::WatchChanged { user, .. } => hot.forget_watches_of(*user),
            Event::UserCreated { .. }
            | Event::GroupCreated { .. }
            | Event::RoleCreated { .. }
            | Event::TokenCreated { .. }
            | Event::ReviewReminded { .. } => {}
            Event::SessionEnded { session, .. } => {
                let session = *session;
                self.0
                    .sessions
                    .invalidate_if(Box::new(move |_, (_, s)| s.as_ref().is_some_and(|s| s.id == session)));
            }
            // Names shown on pages (authors, commenters, owners) may have
            // changed, or authorship moved to the placeholder.
            Event::UserUpdated { .. } | Event::UserDeleted { .. } => {
                self.forget_access();
                hot.forget_pages();
            }
            // Who may see what changed: every cached permission, sidebar
            // and session of an older generation is stale from now on.
            // (Kept pages hold nothing that depends on the reader.)
            Event::AccessChanged { .. }
            | Event::GroupDeleted { .. }
            | Event::GroupMemberAdded { .. }
            | Event::GroupMemberRemoved { .. }
            | Event::RoleDeleted { .. }
            | Event::TokenRevoked { .. }
            // `require_totp` is in every cached session.
            | Event::SettingsChanged { .. } => self.forget_access(),
            // Purged rows may free their ids for reuse (SQLite reuses the
            // highest rowid): nothing cached under an old id may outlive it.
            Event::TrashPurged { .. } => {
                self.forget_renders();
                hot.forget_all();
            }
        }
    }

    fn forget_renders(&self) {
        self.0.renders.by_revision.invalidate_all();
    }

    /// Drops the cached sidebar levels a change at `path` can affect: its
    /// folder and every folder above it (their page counts).
    fn forget_nav(&self, path: &PagePath) {
        let stamps = &self.0.hot.nav_stamps;
        for f in std::iter::once(FolderPath::root()).chain(path.folder().lineage()) {
            stamps.bump(&f);
            self.0.nav.invalidate(&f);
        }
    }
}
