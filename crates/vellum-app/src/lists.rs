//! Listings: folders and the sidebar, all pages, tags, recent changes,
//! trash, wanted and orphaned pages, accounts.

use std::sync::{Arc, Mutex};

use vellum_core::acl::{Permissions, Within};
use vellum_core::{Actor, FolderPath, PageId, PagePath};
use vellum_store::{events, pages, refs, users, Handle};

use crate::access::{visible, visible_among};
use crate::model::*;
use crate::ports::Cache;
use crate::read::summary;
use crate::{validate, App, AppError, AppResult, Code};

/// Pages listed per folder in the sidebar (the folder page lists all).
const NAV_PAGES: i64 = 100;

/// One folder's children, as the navigation tree beside a page shows them.
#[derive(Debug, Clone)]
pub struct NavLevel {
    pub folder: FolderPath,
    pub folders: Vec<FolderEntry>,
    pub pages: Vec<PageSummary>,
    /// A digest of the above, for validators.
    pub digest: u64,
}

/// A folder's cached sidebar levels, one per (access generation, readable
/// scopes): readers who may read the same scopes share one.
#[derive(Default)]
pub(crate) struct NavVariants(Mutex<Vec<(NavKey, Arc<NavLevel>)>>);

/// (access generation, permissions fingerprint).
type NavKey = (u64, u64);

/// Variants kept per folder; the oldest goes first.
const NAV_VARIANTS: usize = 16;

impl NavVariants {
    fn get(&self, key: NavKey) -> Option<Arc<NavLevel>> {
        let v = self.0.lock().ok()?;
        v.iter().find(|(k, _)| *k == key).map(|(_, l)| l.clone())
    }

    fn put(&self, key: NavKey, level: Arc<NavLevel>) {
        if let Ok(mut v) = self.0.lock() {
            v.retain(|(k, _)| *k != key && k.0 == key.0);
            if v.len() >= NAV_VARIANTS {
                v.remove(0);
            }
            v.push((key, level));
        }
    }
}

impl App {
    /// A folder's sub-folders and (a page of) its pages.
    pub async fn folder(&self, actor: &Actor, raw_path: &str, req: &PageRequest) -> AppResult<Folder> {
        let folder = FolderPath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        if folder.is_root() {
            self.need_any_read(actor, &perms)?;
        } else {
            self.need_read_within(actor, &perms, &folder)?;
        }
        let folders = self
            .nav_levels(&perms, &folder)
            .await?
            .last()
            .map(|l| l.folders.clone())
            .unwrap_or_default();
        let direct = perms.readable_within(&folder, Within::Direct);
        let mut conn = self.0.store.read().await?;
        let rows = pages::in_folder(
            &mut conn,
            &folder,
            visible_among(&perms, &direct),
            req.text_cursor()?,
            req.fetch()?,
        )
        .await?;
        let listed = Paged::from_rows(rows.iter().map(summary).collect(), req.limit()?, |p: &PageSummary| {
            p.path.to_string()
        });
        let page = match PagePath::parse(folder.as_str()) {
            Ok(own) if perms.can(vellum_core::Level::Read, own.as_str()) => {
                pages::by_path(&mut conn, &own).await?.as_ref().map(summary)
            }
            _ => None,
        };
        // A folder exists for the reader when something they may read is
        // in it: one holding only pages they may not read looks like no
        // folder at all.
        let known = folder.is_root()
            || page.is_some()
            || !listed.items.is_empty()
            || !folders.is_empty()
            || pages::folder_has_visible(
                &mut conn,
                &folder,
                visible_among(&perms, &perms.readable_within(&folder, Within::Subtree)),
            )
            .await?;
        if !known {
            return Err(AppError::new(
                Code::FolderNotFound,
                format!("There is no folder “{folder}”. Check the address."),
            ));
        }
        Ok(Folder {
            path: folder,
            page,
            folders,
            pages: listed.items,
            next_cursor: listed.next_cursor,
        })
    }

    /// One level of the sidebar as `perms` sees it: sub-folders with the
    /// number of pages they may read, and the first such pages.
    async fn nav_level(
        &self,
        h: &mut impl Handle,
        perms: &Permissions,
        folder: &FolderPath,
    ) -> AppResult<Arc<NavLevel>> {
        let key = (self.0.access.generation(), perms.fingerprint());
        if let Some(hit) = self.0.nav.get(folder).and_then(|v| v.get(key)) {
            return Ok(hit);
        }
        let stamp = self.0.hot.nav_stamps.of(folder);
        let below = perms.readable_within(folder, Within::Subtree);
        let folders = pages::child_folders(h, folder, visible_among(perms, &below))
            .await?
            .into_iter()
            .map(|f| FolderEntry {
                name: f.path.name().to_owned(),
                path: f.path,
                page_count: f.page_count,
            })
            .collect();
        let direct = perms.readable_within(folder, Within::Direct);
        let pages = pages::in_folder(h, folder, visible_among(perms, &direct), None, NAV_PAGES)
            .await?
            .iter()
            .map(summary)
            .collect();
        let digest = crate::hot::digest_of(&(folder, &folders, &pages));
        let level = Arc::new(NavLevel {
            folder: folder.clone(),
            folders,
            pages,
            digest,
        });
        // Stored only if no access change, and no change to the folder,
        // happened meanwhile.
        if self.0.access.generation() == key.0 && self.0.hot.nav_stamps.of(folder) == stamp {
            let variants = match self.0.nav.get(folder) {
                Some(v) => v,
                None => {
                    let v = Arc::new(NavVariants::default());
                    self.0.nav.insert(folder.clone(), v.clone());
                    v
                }
            };
            variants.put(key, level.clone());
        }
        Ok(level)
    }

    /// The navigation levels from the root down to `folder`, as `perms`
    /// sees them (the caller has authorized reading there).
    pub(crate) async fn nav_levels(&self, perms: &Permissions, folder: &FolderPath) -> AppResult<Vec<Arc<NavLevel>>> {
        let path: Vec<FolderPath> = std::iter::once(FolderPath::root()).chain(folder.lineage()).collect();
        // The usual case on a page view: every level cached, no database.
        let key = (self.0.access.generation(), perms.fingerprint());
        if let Some(cached) = path
            .iter()
            .map(|f| self.0.nav.get(f).and_then(|v| v.get(key)))
            .collect::<Option<Vec<_>>>()
        {
            return Ok(cached);
        }
        let mut conn = self.0.store.read().await?;
        let mut levels = Vec::with_capacity(path.len());
        for f in &path {
            levels.push(self.nav_level(&mut conn, perms, f).await?);
        }
        Ok(levels)
    }

    /// The navigation tree from the root down to `folder`.
    pub async fn nav_tree(&self, actor: &Actor, folder: &FolderPath) -> AppResult<Vec<Arc<NavLevel>>> {
        let perms = self.permissions(actor).await?;
        if folder.is_root() {
            self.need_any_read(actor, &perms)?;
        } else {
            self.need_read_within(actor, &perms, folder)?;
        }
        self.nav_levels(&perms, folder).await
    }

    pub async fn all_pages(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<PageSummary>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let mut conn = self.0.store.read().await?;
        let rows = pages::list(&mut conn, visible(&perms), req.text_cursor()?, req.fetch()?).await?;
        Ok(Paged::from_rows(
            rows.iter().map(summary).collect(),
            req.limit()?,
            |p: &PageSummary| p.path.to_string(),
        ))
    }

    pub async fn tags(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<TagCount>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let mut conn = self.0.store.read().await?;
        let rows = refs::tag_counts(&mut conn, visible(&perms), req.text_cursor()?, req.fetch()?).await?;
        let items = rows.into_iter().map(|(tag, count)| TagCount { tag, count }).collect();
        Ok(Paged::from_rows(items, req.limit()?, |t: &TagCount| t.tag.clone()))
    }

    pub async fn pages_with_tag(&self, actor: &Actor, tag: &str, req: &PageRequest) -> AppResult<Paged<PageSummary>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let tag = validate::tag(tag)?;
        let mut conn = self.0.store.read().await?;
        let rows = refs::pages_with_tag(&mut conn, &tag, visible(&perms), req.text_cursor()?, req.fetch()?).await?;
        let items = rows.iter().map(summary).collect();
        Ok(Paged::from_rows(items, req.limit()?, |p: &PageSummary| {
            p.path.to_string()
        }))
    }

    /// Recent page changes site-wide, or by one user.
    pub async fn recent_changes(
        &self,
        actor: &Actor,
        user: Option<&str>,
        req: &PageRequest,
    ) -> AppResult<Paged<Change>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let mut conn = self.0.store.read().await?;
        let user_id = match user.map(str::trim).filter(|u| !u.is_empty()) {
            Some(name) => {
                let name = validate::single_line(name, "user")?;
                Some(
                    users::by_username_key(&mut conn, &name.to_lowercase())
                        .await?
                        .ok_or_else(|| AppError::new(Code::UserNotFound, format!("There is no user “{name}”.")))?
                        .id,
                )
            }
            None => None,
        };
        let rows = events::page_changes(&mut conn, user_id, visible(&perms), req.id_cursor()?, req.fetch()?).await?;
        let items = rows
            .into_iter()
            .map(|r| Change {
                seq: r.seq,
                at: r.at,
                user: r.actor_name,
                user_name: r.actor_display,
                event: r.event,
                title: r.title,
                revision: r.revision,
                summary: r.summary,
                size_delta: r.size_delta,
            })
            .collect();
        Ok(Paged::from_rows(items, req.limit()?, |c: &Change| c.seq.to_string()))
    }

    pub async fn trash(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<TrashedPage>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let mut conn = self.0.store.read().await?;
        let before = req.id_cursor()?.map(PageId);
        let rows = pages::trashed(&mut conn, visible(&perms), before, req.fetch()?).await?;
        let items = rows
            .iter()
            .map(|p| TrashedPage {
                id: p.id,
                path: p.path.clone(),
                title: p.title.clone(),
                deleted_at: p.deleted_at.unwrap_or(p.updated_at),
                can_restore: perms.can(vellum_core::Level::Edit, p.path.as_str()),
            })
            .collect();
        Ok(Paged::from_rows(items, req.limit()?, |p: &TrashedPage| {
            p.id.to_string()
        }))
    }

    /// Link targets where no page exists, most linked first.
    pub async fn wanted_pages(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<WantedPage>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let after = match req.cursor.as_deref() {
            None => None,
            Some(c) => {
                let (n, target) = c.split_once(':').ok_or_else(bad_cursor)?;
                let n: i64 = n.parse().map_err(|_| bad_cursor())?;
                Some((n, validate::single_line(target, "cursor")?))
            }
        };
        let mut conn = self.0.store.read().await?;
        let rows = pages::wanted(&mut conn, visible(&perms), after, req.fetch()?).await?;
        let items = rows
            .into_iter()
            .map(|w| WantedPage {
                path: w.target,
                links: w.links,
            })
            .collect();
        Ok(Paged::from_rows(items, req.limit()?, |w: &WantedPage| {
            format!("{}:{}", w.links, w.path)
        }))
    }

    /// Pages no other page links to.
    pub async fn orphaned_pages(&self, actor: &Actor, req: &PageRequest) -> AppResult<Paged<PageSummary>> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let mut conn = self.0.store.read().await?;
        let rows = pages::orphans(&mut conn, visible(&perms), req.text_cursor()?, req.fetch()?).await?;
        Ok(Paged::from_rows(
            rows.iter().map(summary).collect(),
            req.limit()?,
            |p: &PageSummary| p.path.to_string(),
        ))
    }
}
