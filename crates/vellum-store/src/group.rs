//! Group commit on SQLite.
//!
//! SQLite has one writer, and a durable commit costs a WAL sync. Writers
//! that queue behind each other share one transaction: each works inside a
//! savepoint of it (so one that fails or is dropped undoes only its own
//! writes), and the last of a run commits for all of them. Every member's
//! `commit` returns only after that commit, with its result, so "Ok"
//! still means durable. A member waits for its group on a task of its own
//! that commits the group itself if nobody has after a while (the writer
//! behind may have given up, or the waiting request been cancelled), and a
//! member dropped without committing commits what the others released.

use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::{Result, StoreError};

/// Members a group takes at most before it commits.
const MAX_GROUP: usize = 64;
/// How long a member waits for its group's commit before it looks why.
const GROUP_PATIENCE: Duration = Duration::from_millis(20);

type GroupResult = Option<std::result::Result<(), String>>;

/// The writer's turn, and writers waiting for it.
#[derive(Default)]
pub(crate) struct Gate {
    writer: Arc<Mutex<Writer>>,
    queued: std::sync::atomic::AtomicUsize,
    /// Groups committed, and the transactions in them.
    groups: std::sync::atomic::AtomicU64,
    grouped: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Writer {
    /// The open group's transaction.
    tx: Option<Transaction<'static, Sqlite>>,
    /// Tells the group's members how its commit went.
    done: Option<tokio::sync::watch::Sender<GroupResult>>,
    /// Numbers groups, so that a member can tell whether its group is
    /// still the open one.
    group: u64,
    /// Members whose work is in the open transaction.
    members: usize,
}

/// One member's turn at the writer.
pub(crate) struct SqliteWork {
    writer: Option<OwnedMutexGuard<Writer>>,
    gate: Arc<Gate>,
}

/// How SQLite's writes were grouped (see [`crate::Store::group_commits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommits {
    /// Commits made.
    pub groups: u64,
    /// Transactions they committed.
    pub transactions: u64,
    /// Writers waiting for their turn now.
    pub waiting: usize,
}

impl Gate {
    pub(crate) fn stats(&self) -> GroupCommits {
        use std::sync::atomic::Ordering;
        GroupCommits {
            groups: self.groups.load(Ordering::Relaxed),
            transactions: self.grouped.load(Ordering::Relaxed),
            waiting: self.queued.load(Ordering::Relaxed),
        }
    }

    pub(crate) async fn enter(self: &Arc<Self>, pool: &SqlitePool, wait: Duration) -> Result<SqliteWork> {
        use std::sync::atomic::Ordering;
        self.queued.fetch_add(1, Ordering::SeqCst);
        let turn = tokio::time::timeout(wait, self.writer.clone().lock_owned()).await;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let mut w = turn.map_err(|_| StoreError::Busy(sqlx::Error::PoolTimedOut))?;
        if w.tx.is_none() {
            // Take the write lock at BEGIN, so a writer in another
            // process (`vellum user create`) makes this wait for the busy
            // timeout instead of failing a lock upgrade.
            w.tx = Some(pool.begin_with("BEGIN IMMEDIATE").await?);
            w.group += 1;
            w.done = Some(tokio::sync::watch::channel(None).0);
            w.members = 0;
        }
        let mut work = SqliteWork {
            writer: Some(w),
            gate: self.clone(),
        };
        sqlx::query("SAVEPOINT uow").execute(&mut *work.connection()).await?;
        if let Some(w) = work.writer.as_mut() {
            w.members += 1;
        }
        Ok(work)
    }
}

impl Writer {
    /// Commits the open group and tells its members.
    async fn finish(&mut self, gate: &Gate) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.tx.is_some() {
            gate.groups.fetch_add(1, Ordering::Relaxed);
            gate.grouped.fetch_add(self.members as u64, Ordering::Relaxed);
        }
        let result = match self.tx.take() {
            Some(tx) => tx.commit().await.map_err(|e| e.to_string()),
            None => Ok(()),
        };
        self.members = 0;
        if let Some(done) = self.done.take() {
            done.send_replace(Some(result.clone()));
        }
        result.map_err(StoreError::Group)
    }

    /// Undoes the current member's savepoint; if that fails, the whole
    /// group is rolled back (and its members told).
    async fn undo_member(&mut self) {
        let undone = match self.tx.as_mut() {
            Some(tx) => {
                sqlx::query("ROLLBACK TO uow").execute(&mut **tx).await.is_ok()
                    && sqlx::query("RELEASE uow").execute(&mut **tx).await.is_ok()
            }
            None => true,
        };
        self.members = self.members.saturating_sub(1);
        if !undone {
            self.abort("a rolled-back change could not be undone alone");
        } else if self.members == 0 {
            // Nothing of anyone's is in the transaction.
            self.tx = None;
            self.done = None;
        }
    }

    fn abort(&mut self, why: &str) {
        self.tx = None;
        self.members = 0;
        if let Some(done) = self.done.take() {
            done.send_replace(Some(Err(format!("the group commit was rolled back: {why}"))));
        }
    }
}

impl SqliteWork {
    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        match self.writer.as_mut().and_then(|w| w.tx.as_mut()) {
            Some(tx) => tx,
            // A member holds the writer and its transaction from `enter`
            // to `commit` or drop.
            None => unreachable!("a unit of work outlived its transaction"),
        }
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        use std::sync::atomic::Ordering;
        let Some(mut w) = self.writer.take() else {
            return Err(StoreError::Group("the transaction was already finished".into()));
        };
        let released = match w.tx.as_mut() {
            Some(tx) => sqlx::query("RELEASE uow").execute(&mut **tx).await.map(drop),
            None => Ok(()),
        };
        if let Err(e) = released {
            w.undo_member().await;
            if w.members > 0 {
                let _ = w.finish(&self.gate).await;
            }
            return Err(e.into());
        }
        if self.gate.queued.load(Ordering::SeqCst) == 0 || w.members >= MAX_GROUP {
            return w.finish(&self.gate).await;
        }
        // Others are waiting: let the next one work in this transaction,
        // and wait for whoever commits it.
        let group = w.group;
        let Some(done) = w.done.as_ref().map(|d| d.subscribe()) else {
            return w.finish(&self.gate).await;
        };
        drop(w);
        // On its own task: if this caller goes away (a request cancelled
        // while it waits), the group still gets committed.
        let gate = self.gate.clone();
        tokio::spawn(await_group(gate, group, done))
            .await
            .map_err(|e| StoreError::Group(e.to_string()))?
    }
}

/// Waits for group `group` to be committed, committing it if nobody has
/// after a while (the writer queued behind may have given up).
async fn await_group(gate: Arc<Gate>, group: u64, mut done: tokio::sync::watch::Receiver<GroupResult>) -> Result<()> {
    loop {
        if let Some(result) = done.borrow_and_update().clone() {
            return result.map_err(StoreError::Group);
        }
        if tokio::time::timeout(GROUP_PATIENCE, done.changed()).await.is_ok() {
            continue;
        }
        let mut w = gate.writer.clone().lock_owned().await;
        if w.group == group && w.tx.is_some() {
            return w.finish(&gate).await;
        }
    }
}

impl Drop for SqliteWork {
    fn drop(&mut self) {
        let Some(mut w) = self.writer.take() else {
            return;
        };
        // Dropped without commit: undo this member's writes (async, so on
        // a task that keeps the writer's turn until done), and commit the
        // others'.
        let gate = self.gate.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    w.undo_member().await;
                    // Commit what others released into the group now: the
                    // writer queued behind may never come.
                    if w.members > 0 {
                        let _ = w.finish(&gate).await;
                    }
                });
            }
            Err(_) => w.abort("a unit of work was dropped outside the runtime"),
        }
    }
}
