//! The unit of work: one transaction per use case, the typed events that
//! describe what it did, and what follows from them after commit.
//!
//! A use case opens one with [`App::begin`], writes through it (it is a
//! store [`Handle`](vellum_store::Handle)), states each change with
//! [`UnitOfWork::record`] (appended to the event log inside the
//! transaction), and ends with [`UnitOfWork::commit`]. After the commit the
//! events' effects run on this node at once (cache invalidation, see
//! `effects.rs`) and the change feed is rung, so every other node applies
//! the same effects when it reads them. Dropping a unit of work rolls back:
//! no event, no effect.

use vellum_core::{Event, Timestamp, UserId};
use vellum_store::{events, AsTx, Tx};

use crate::{App, AppResult};

pub(crate) struct UnitOfWork {
    app: App,
    tx: Tx,
    actor: Option<UserId>,
    now: Timestamp,
    events: Vec<Event>,
    /// Jobs were enqueued: wake the workers after the commit.
    jobs: bool,
}

impl AsTx for UnitOfWork {
    fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }
}

impl App {
    /// Starts a unit of work for `actor` (`None`: the system or the command
    /// line).
    pub(crate) async fn begin(&self, actor: Option<UserId>) -> AppResult<UnitOfWork> {
        let tx = self.0.store.begin().await?;
        Ok(UnitOfWork {
            app: self.clone(),
            tx,
            actor,
            now: self.now(),
            events: Vec::new(),
            jobs: false,
        })
    }
}

impl UnitOfWork {
    /// The time of this unit of work: every row and event it writes carries
    /// the same one.
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    /// Names who acts from here on (setup learns it only once the first
    /// account exists).
    pub(crate) fn act_as(&mut self, actor: UserId) {
        self.actor = Some(actor);
    }

    /// Appends an event to the log, inside the transaction, and an audit
    /// entry when the event is a security-relevant one (`audit.rs`).
    pub(crate) async fn record(&mut self, event: Event) -> AppResult<i64> {
        let seq = events::append(&mut self.tx, &event, self.actor, self.now).await?;
        if let Some((action, target)) = crate::audit::audited(&event) {
            let details = serde_json::to_value(&event).unwrap_or_default();
            crate::audit::append(
                &mut self.tx,
                self.actor,
                None,
                action,
                Some(&target),
                &details,
                self.now,
            )
            .await?;
        }
        // Watchers hear of it through a job that commits with the change.
        if let Some(job) = crate::notifications::fanout_job(&event, seq) {
            self.enqueue(job).await?;
        }
        self.events.push(event);
        Ok(seq)
    }

    /// Appends an audit entry for an action that is not an event (a
    /// sign-in, an export), inside the transaction.
    pub(crate) async fn audit(
        &mut self,
        action: &str,
        target: Option<&str>,
        details: serde_json::Value,
    ) -> AppResult<()> {
        crate::audit::append(&mut self.tx, self.actor, None, action, target, &details, self.now).await
    }

    /// Notes that this unit of work enqueued (or made runnable) jobs.
    pub(crate) fn jobs_enqueued(&mut self) {
        self.jobs = true;
    }

    /// Commits, then applies the events' effects here and rings the feed.
    /// Nothing after the commit can fail: a caller that sees `Ok` knows the
    /// change is durable and visible.
    pub(crate) async fn commit(self) -> AppResult<()> {
        self.tx.commit().await?;
        for event in &self.events {
            self.app.apply_effects(event);
        }
        if !self.events.is_empty() {
            self.app.store().ring_feed();
        }
        if self.jobs {
            self.app.store().ring_jobs();
        }
        Ok(())
    }
}
