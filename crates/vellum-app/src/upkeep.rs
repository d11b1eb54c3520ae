//! The built-in periodic jobs, each fired once per schedule across the
//! cluster (worker.rs): planner statistics, removing what expired
//! (sessions, refresh tokens, sign-in failures, audit entries past their
//! retention), emptying the trash after the site's retention, and the
//! broken-link report.

use std::time::Duration;

use vellum_core::{Event, Timestamp};
use vellum_store::{pages, settings, Handle};

use crate::jobs::{JobError, JobSpec, UPKEEP_QUEUE};
use crate::worker::{Schedule, When};
use crate::{App, AppResult};

pub(crate) const NOOP: &str = "noop";
pub(crate) const STATISTICS: &str = "upkeep.statistics";
pub(crate) const EXPIRED: &str = "upkeep.expired";
pub(crate) const TRASH: &str = "upkeep.trash";
pub(crate) const LINK_REPORT: &str = "report.broken_links";

/// The setting that keeps trashed pages this many days (0: until an
/// administrator removes them).
pub(crate) const TRASH_RETENTION_KEY: &str = "trash_retention_days";
pub const DEFAULT_TRASH_RETENTION_DAYS: i64 = 30;
/// Where the last broken-link report is kept.
pub(crate) const LINK_REPORT_KEY: &str = "report.broken_links";

/// Pages purged per transaction.
const PURGE_BATCH: i64 = 200;

pub(crate) fn schedules() -> Vec<Schedule> {
    let upkeep = |kind: &str| {
        JobSpec::new(kind, serde_json::json!({}))
            .queue(UPKEEP_QUEUE)
            .attempts(3)
    };
    vec![
        Schedule {
            name: STATISTICS.into(),
            when: When::Every(vellum_store::MAINTENANCE_INTERVAL),
            job: upkeep(STATISTICS),
        },
        Schedule {
            name: EXPIRED.into(),
            when: When::Every(Duration::from_secs(600)),
            job: upkeep(EXPIRED),
        },
        Schedule {
            name: TRASH.into(),
            when: When::Every(Duration::from_secs(3600)),
            job: upkeep(TRASH),
        },
        Schedule {
            name: LINK_REPORT.into(),
            when: When::Every(Duration::from_secs(86_400)),
            job: upkeep(LINK_REPORT),
        },
        crate::files::gc_schedule(),
        Schedule {
            name: crate::verification::REMIND.into(),
            when: When::Every(Duration::from_secs(3600)),
            job: JobSpec::new(crate::verification::REMIND, serde_json::json!({}))
                .queue(crate::notifications::NOTIFY_QUEUE)
                .attempts(3),
        },
    ]
}

impl App {
    pub(crate) fn register_builtin_jobs(&self) {
        self.register_job(NOOP, crate::jobs::DEFAULT_QUEUE, |_, _| async { Ok(()) });
        self.register_job(STATISTICS, UPKEEP_QUEUE, |app: App, _| async move {
            let analysed = app.0.store.maintain().await.map_err(crate::AppError::from)?;
            if !analysed.is_empty() {
                tracing::info!(tables = ?analysed, "planner statistics refreshed");
            }
            Ok(())
        });
        self.register_job(EXPIRED, UPKEEP_QUEUE, |app: App, _| async move {
            let gone = app.remove_expired().await?;
            if gone.iter().any(|(_, n)| *n > 0) {
                tracing::info!(?gone, "expired records removed");
            }
            Ok(())
        });
        self.register_job(TRASH, UPKEEP_QUEUE, |app: App, _| async move {
            let n = app.empty_old_trash(app.now()).await?;
            if n > 0 {
                tracing::info!(pages = n, "trashed pages past the retention removed");
            }
            Ok(())
        });
        self.register_job(LINK_REPORT, UPKEEP_QUEUE, |app: App, _| async move {
            app.refresh_link_report().await.map(|_| ()).map_err(JobError::from)
        });
    }

    /// Removes expired sessions and refresh tokens, sign-in failures older
    /// than a day and audit entries past their retention; answers how many
    /// of each.
    pub async fn remove_expired(&self) -> AppResult<Vec<(&'static str, u64)>> {
        let audit = self.purge_audit().await?;
        let now = self.now();
        let mut tx = self.0.store.begin().await?;
        let sessions = vellum_store::sessions::delete_expired(&mut tx, now).await?;
        let throttle =
            vellum_store::throttle::purge_before(&mut tx, Timestamp::from_millis(now.as_millis() - 86_400_000)).await?;
        let refresh = vellum_store::tokens::purge_refresh_before(&mut tx, now).await?;
        let resets = vellum_store::tokens::purge_password_resets_before(&mut tx, now).await?;
        tx.commit().await?;
        Ok(vec![
            ("audit entries", audit),
            ("sessions", sessions),
            ("sign-in failures", throttle),
            ("refresh tokens", refresh),
            ("password reset links", resets),
        ])
    }

    pub(crate) async fn trash_retention_days(&self, h: &mut impl Handle) -> AppResult<i64> {
        Ok(settings::get(h, TRASH_RETENTION_KEY)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_TRASH_RETENTION_DAYS))
    }

    /// Removes for good the pages (and files) trashed longer ago than the
    /// retention setting (as of `now`); answers how many pages.
    pub async fn empty_old_trash(&self, now: Timestamp) -> AppResult<u64> {
        let days = {
            let mut conn = self.0.store.read().await?;
            self.trash_retention_days(&mut conn).await?
        };
        if days <= 0 {
            return Ok(0);
        }
        let cutoff = Timestamp::from_millis(now.as_millis().saturating_sub(days.saturating_mul(86_400_000)));
        // Files in the trash go after the same time (their contents are
        // collected by files.gc once nothing points at them).
        loop {
            let mut tx = self.0.store.begin().await?;
            let n = vellum_store::files::purge_trashed_before(&mut tx, cutoff, PURGE_BATCH).await?;
            tx.commit().await?;
            if n < PURGE_BATCH as u64 {
                break;
            }
        }
        let mut total = 0;
        loop {
            let mut uow = self.begin(None).await?;
            let gone = pages::purge_trashed_before(&mut uow, cutoff, PURGE_BATCH).await?;
            if gone.is_empty() {
                return Ok(total);
            }
            total += gone.len() as u64;
            let full = gone.len() as i64 == PURGE_BATCH;
            let (pages, paths) = gone.into_iter().unzip();
            uow.record(Event::TrashPurged { pages, paths }).await?;
            uow.commit().await?;
            if !full {
                return Ok(total);
            }
        }
    }
}

/// The broken-link report: link targets where no page lives, as of its
/// last refresh (daily, and on demand), for administrators.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct LinkReport {
    pub generated_at: Timestamp,
    /// Links (from live pages) whose target does not exist.
    pub broken_links: i64,
    /// Distinct missing targets.
    pub missing_pages: i64,
    /// The most linked missing targets (at most [`LinkReport::TOP`]).
    pub top: Vec<(String, i64)>,
}

impl LinkReport {
    pub const TOP: usize = 100;
}

impl App {
    /// Recomputes the broken-link report and keeps it.
    pub(crate) async fn refresh_link_report(&self) -> AppResult<LinkReport> {
        let mut wanted = Vec::new();
        let mut after: Option<(i64, String)> = None;
        {
            let mut conn = self.0.store.read().await?;
            loop {
                let batch = pages::wanted(
                    &mut conn,
                    vellum_store::Visible::All,
                    after.as_ref().map(|(n, t)| (*n, t.as_str())),
                    1000,
                )
                .await?;
                let done = batch.len() < 1000;
                after = batch.last().map(|w| (w.links, w.target.to_string()));
                wanted.extend(batch);
                if done {
                    break;
                }
            }
        }
        let report = LinkReport {
            generated_at: self.now(),
            broken_links: wanted.iter().map(|w| w.links).sum(),
            missing_pages: wanted.len() as i64,
            top: wanted
                .iter()
                .take(LinkReport::TOP)
                .map(|w| (w.target.to_string(), w.links))
                .collect(),
        };
        let json = serde_json::to_string(&report).map_err(crate::AppError::internal)?;
        let mut tx = self.0.store.begin().await?;
        settings::set(&mut tx, LINK_REPORT_KEY, &json).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// The last broken-link report (administrators); `None` before the
    /// first one ran.
    pub async fn link_report(&self, actor: &vellum_core::Actor) -> AppResult<Option<LinkReport>> {
        self.need_admin(actor)?;
        let mut conn = self.0.store.read().await?;
        Ok(settings::get(&mut conn, LINK_REPORT_KEY)
            .await?
            .and_then(|v| serde_json::from_str(&v).ok()))
    }
}
