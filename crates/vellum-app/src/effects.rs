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
        match event {
            Event::PageCreated { path, .. } | Event::PageDeleted { path, .. } => self.forget_nav(path),
            Event::PageMoved { from, to, .. } | Event::PageRestored { from, to, .. } => {
                self.forget_nav(from);
                self.forget_nav(to);
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
            }
            Event::PageTagsChanged { .. }
            | Event::UserCreated { .. }
            | Event::GroupCreated { .. }
            | Event::RoleCreated { .. } => {}
            Event::SessionEnded { session, .. } => {
                let session = *session;
                self.0
                    .sessions
                    .invalidate_if(Box::new(move |_, (_, s)| s.as_ref().is_some_and(|s| s.id == session)));
            }
            // Who may see what changed: every cached permission, sidebar
            // and session of an older generation is stale from now on.
            Event::AccessChanged { .. }
            | Event::GroupDeleted { .. }
            | Event::GroupMemberAdded { .. }
            | Event::GroupMemberRemoved { .. }
            | Event::RoleDeleted { .. }
            | Event::UserUpdated { .. }
            | Event::UserDeleted { .. }
            | Event::TokenRevoked { .. }
            // `require_totp` is in every cached session.
            | Event::SettingsChanged { .. } => self.forget_access(),
            Event::TokenCreated { .. }
            | Event::CommentAdded { .. }
            | Event::CommentEdited { .. }
            | Event::CommentDeleted { .. }
            | Event::CommentResolved { .. }
            | Event::PageVerified { .. }
            | Event::ReviewPolicySet { .. }
            | Event::ReviewReminded { .. }
            | Event::FileUploaded { .. }
            | Event::FileDeleted { .. } => {}
            // Purged rows may free their ids for reuse (SQLite reuses the
            // highest rowid): nothing cached under an old id may outlive it.
            Event::TrashPurged { .. } => self.forget_renders(),
        }
    }

    fn forget_renders(&self) {
        self.0.renders.by_revision.invalidate_all();
    }

    /// Drops the cached sidebar levels a change at `path` can affect: its
    /// folder and every folder above it (their page counts).
    fn forget_nav(&self, path: &PagePath) {
        self.0.nav.invalidate(&FolderPath::root());
        for f in path.folder().lineage() {
            self.0.nav.invalidate(&f);
        }
    }
}
