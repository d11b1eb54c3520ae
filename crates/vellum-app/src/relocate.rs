//! Moving pages: to a new path (leaving a redirect), to the trash, and
//! back from it.

use vellum_core::acl::Level;
use vellum_core::{Actor, Event, PageId, PagePath};
use vellum_store::pages::{self, PageRecord};
use vellum_store::Constraint;

use crate::read::{head, page_not_found};
use crate::uow::UnitOfWork;
use crate::{validate, App, AppError, AppResult, Code, PageHead};

/// Gives the page `path`, which must be free of live pages; a redirect
/// there gives way. `hint` tells the user what to do when it is taken.
async fn claim_path(uow: &mut UnitOfWork, page: PageId, path: &PagePath, hint: &str) -> AppResult<()> {
    let taken = || {
        AppError::new(Code::PathTaken, format!("A page already lives at “{path}”. {hint}"))
            .with_details(serde_json::json!({ "field": "to", "path": path.as_str() }))
    };
    if pages::by_path(uow, path).await?.is_some() {
        return Err(taken());
    }
    pages::delete_redirect(uow, path).await?;
    let now = uow.now();
    pages::set_path(uow, page, path, now)
        .await
        .map_err(|e| match e.unique() {
            Some(Constraint::LivePagePath) => taken(),
            _ => e.into(),
        })
}

impl App {
    /// Moves a page to a new path, leaving a redirect at the old one.
    pub async fn move_page(&self, actor: &Actor, raw_from: &str, raw_to: &str) -> AppResult<PageHead> {
        let from = PagePath::parse(raw_from)?;
        let to = PagePath::parse(validate::single_line(raw_to, "to")?)
            .map_err(|e| AppError::invalid(Code::InvalidPath, "to", crate::sentence(&e.to_string())))?;
        let perms = self.permissions(actor).await?;
        self.need_edit(actor, &perms, &from)?;
        self.need_edit_target(actor, &perms, &to)?;
        if from == to {
            return Err(AppError::invalid(
                Code::SamePath,
                "to",
                "The page already lives at that path. Choose a different one.",
            ));
        }
        let mut uow = self.begin(actor.user_id()).await?;
        let page = pages::lock_by_path(&mut uow, &from)
            .await?
            .ok_or_else(|| page_not_found(&from))?;
        claim_path(
            &mut uow,
            page.id,
            &to,
            "Move or delete that page first, or choose another path.",
        )
        .await?;
        let now = uow.now();
        pages::put_redirect(&mut uow, &from, page.id, now).await?;
        let event = Event::PageMoved {
            page: page.id,
            from,
            to: to.clone(),
        };
        settle(uow, &page, to, event).await
    }

    /// Moves a page to the trash.
    pub async fn delete_page(&self, actor: &Actor, raw_path: &str) -> AppResult<()> {
        let path = PagePath::parse(raw_path)?;
        let perms = self.permissions(actor).await?;
        self.need_edit(actor, &perms, &path)?;
        let mut uow = self.begin(actor.user_id()).await?;
        let page = pages::lock_by_path(&mut uow, &path)
            .await?
            .ok_or_else(|| page_not_found(&path))?;
        let now = uow.now();
        pages::trash(&mut uow, page.id, actor.user_id(), now).await?;
        uow.record(Event::PageDeleted {
            page: page.id,
            path,
            title: page.title.as_str().to_owned(),
        })
        .await?;
        uow.commit().await
    }

    /// Brings a page back from the trash, at its old path or at `to`.
    pub async fn restore_page(&self, actor: &Actor, page_id: PageId, to: Option<&str>) -> AppResult<PageHead> {
        let perms = self.permissions(actor).await?;
        self.need_any_read(actor, &perms)?;
        let target = match to.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => Some(
                PagePath::parse(validate::single_line(t, "to")?)
                    .map_err(|e| AppError::invalid(Code::InvalidPath, "to", crate::sentence(&e.to_string())))?,
            ),
            None => None,
        };
        let mut uow = self.begin(actor.user_id()).await?;
        // A trashed page the actor may not read answers as an id that is
        // not in the trash.
        let page = pages::by_id(&mut uow, page_id)
            .await?
            .filter(|p| p.deleted_at.is_some() && perms.can(Level::Read, p.path.as_str()))
            .ok_or_else(|| {
                AppError::new(
                    Code::NotInTrash,
                    format!("Page {page_id} is not in the trash. It may have been restored already."),
                )
            })?;
        // Restoring is undoing a delete: it needs the right to edit where
        // the page was, and where it goes.
        self.need_edit(actor, &perms, &page.path)?;
        let target = target.unwrap_or_else(|| page.path.clone());
        self.need_edit_target(actor, &perms, &target)?;
        claim_path(&mut uow, page.id, &target, "Restore this one to another path.").await?;
        let now = uow.now();
        pages::untrash(&mut uow, page.id, now).await?;
        let event = Event::PageRestored {
            page: page.id,
            from: page.path.clone(),
            to: target.clone(),
        };
        settle(uow, &page, target, event).await
    }
}

/// Finishes a move or restore: records the folders above the page's new
/// path and the event, commits, and describes the page where it lives now.
async fn settle(mut uow: UnitOfWork, page: &PageRecord, to: PagePath, event: Event) -> AppResult<PageHead> {
    let now = uow.now();
    pages::ensure_folders(&mut uow, &to.folder(), now).await?;
    uow.record(event).await?;
    uow.commit().await?;
    let mut settled = head(page);
    settled.path = to;
    settled.updated_at = now;
    Ok(settled)
}
