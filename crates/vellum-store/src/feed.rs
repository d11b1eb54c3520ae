//! The change feed: the event log read in commit order, so that a follower
//! (cache invalidation on every node, and later search indexing and live
//! updates) sees every committed event exactly once, while writers commit
//! concurrently.
//!
//! **SQLite** has one writer at a time, so sequence numbers are handed out
//! in commit order and a follower reads `seq > last`.
//!
//! **PostgreSQL** hands out `seq` at insert time, and transactions commit in
//! any order: a follower that read `seq > 41` could see 43 committed while 42
//! is still in flight, move on, and never see 42. Each event therefore
//! records its transaction id (`tx_id`, a 64-bit `xid8`), and the follower
//! reads in `(tx_id, seq)` order, only rows whose `tx_id` is below `xmin`,
//! the oldest transaction id still running (`pg_snapshot_xmin(
//! pg_current_snapshot())`). Why nothing is skipped or repeated:
//!
//! 1. every transaction with an id below `xmin` has ended, so all its rows
//!    are visible in the follower's snapshot (if it committed) or will
//!    never be (if it rolled back): the set of rows with `tx_id < xmin` is
//!    final when read;
//! 2. `xmin` never decreases, and new transactions get ids at or above it;
//! 3. so after reading everything below `xmin₁` (cursor at its largest
//!    `(tx_id, seq)`), every row that appears later has `tx_id ≥ xmin₁`,
//!    which is above every `tx_id` read: it sorts after the cursor, so the
//!    next read finds it, and nothing before the cursor can appear.
//!
//! The cost is lag: an event waits until every transaction that started
//! before its own ended (writes are short; a long-running writing
//! transaction anywhere in the cluster holds the feed back while it runs).
//!
//! Wake-ups: a commit rings the local bell at once; on PostgreSQL a
//! background task also sends `NOTIFY vellum_feed` (coalesced, outside the
//! write transaction, so commits do not queue on the notification lock),
//! and every process listens. Followers also poll, so a lost notification
//! only delays them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use vellum_core::{Event, Timestamp, UserId};

use crate::db::{with_db, Columns, Handle, Sql};
use crate::{Result, Store};

/// Where a follower is in the feed: everything at or before it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedPosition {
    tx: i64,
    seq: i64,
}

impl FeedPosition {
    /// The sequence number of the last event seen.
    pub fn seq(self) -> i64 {
        self.seq
    }

    /// The position as text, for followers that keep it outside the
    /// database (the search index records it in its own commits).
    pub fn encode(self) -> String {
        format!("{}:{}", self.tx, self.seq)
    }

    /// Reads [`encode`](Self::encode)'s text.
    pub fn decode(s: &str) -> Option<FeedPosition> {
        let (tx, seq) = s.split_once(':')?;
        Some(FeedPosition {
            tx: tx.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// One event read from the feed.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub position: FeedPosition,
    pub seq: i64,
    pub at: Timestamp,
    pub actor: Option<UserId>,
    /// The event, or why it could not be decoded (an event written by a
    /// newer version, say): followers skip those.
    pub event: std::result::Result<Event, String>,
}

/// The position just before events that may still commit: a process that
/// starts with empty caches follows from here.
pub async fn head(h: &mut impl Handle) -> Result<FeedPosition> {
    const SQL: Sql = Sql {
        sqlite: "SELECT 0, COALESCE(MAX(seq), 0) FROM events",
        postgres: "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1, 9223372036854775807",
    };
    let (tx, seq): (i64, i64) = with_db!(h, |c, b| sqlx::query_as(SQL.of(b)).fetch_one(&mut *c).await)?;
    Ok(FeedPosition { tx, seq })
}

/// Up to `limit` events after `after`, in commit order.
pub async fn read(h: &mut impl Handle, after: FeedPosition, limit: i64) -> Result<Vec<FeedEntry>> {
    const SQL: Sql = Sql {
        sqlite: "SELECT seq, tx_id, created_at, actor_id, details FROM events \
                 WHERE seq > $2 AND $1 = $1 ORDER BY seq LIMIT $3",
        postgres: "SELECT seq, tx_id, created_at, actor_id, details FROM events \
                   WHERE (tx_id, seq) > ($1, $2) \
                   AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                   ORDER BY tx_id, seq LIMIT $3",
    };
    with_db!(h, |c, b| {
        let rows = sqlx::query(SQL.of(b))
            .bind(after.tx)
            .bind(after.seq)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        rows.iter()
            .map(|r| {
                let seq = r.int("seq")?;
                Ok(FeedEntry {
                    position: FeedPosition {
                        tx: r.int("tx_id")?,
                        seq,
                    },
                    seq,
                    at: r.time("created_at")?,
                    actor: r.opt_id("actor_id")?,
                    event: r.json_as::<Event>("details").map_err(|e| e.to_string()),
                })
            })
            .collect()
    })
}

/// How many committed events come after `after`: a follower's lag.
///
/// Not the difference of sequence numbers: on PostgreSQL a follower's
/// position is in commit order, and the event it read last need not carry
/// the highest `seq` (an older transaction may have appended after a
/// younger one), so `MAX(seq) - position.seq` can stay above zero forever.
pub async fn pending(h: &mut impl Handle, after: FeedPosition) -> Result<i64> {
    const SQL: Sql = Sql {
        sqlite: "SELECT COUNT(*) FROM events WHERE seq > $2 AND $1 = $1",
        postgres: "SELECT COUNT(*) FROM events WHERE (tx_id, seq) > ($1, $2)",
    };
    Ok(with_db!(h, |c, b| sqlx::query_scalar(SQL.of(b))
        .bind(after.tx)
        .bind(after.seq)
        .fetch_one(&mut *c)
        .await)?)
}

/// The channels of the wake-ups between processes: the change feed, and
/// the job queue (jobs.rs).
const CHANNELS: [&str; 2] = ["vellum_feed", "vellum_jobs"];

/// One kind of wake-up: this process's waiters, and whether a NOTIFY is
/// owed to the other processes.
#[derive(Default)]
struct Bell {
    local: Notify,
    owed: AtomicBool,
}

impl Bell {
    fn ring_here(&self) {
        self.local.notify_waiters();
        self.local.notify_one();
    }
}

/// Wakes this process's followers (and workers) after a commit, and
/// (PostgreSQL) tells the other processes.
#[derive(Default)]
pub(crate) struct FeedBell {
    /// In the order of [`CHANNELS`].
    bells: [Bell; 2],
    sender: Notify,
}

impl FeedBell {
    fn ring(&self, which: usize, postgres: bool) {
        self.bells[which].ring_here();
        if postgres {
            self.bells[which].owed.store(true, Ordering::Release);
            self.sender.notify_one();
        }
    }
}

impl Store {
    /// Call after committing a transaction that appended events.
    pub fn ring_feed(&self) {
        self.bell.ring(0, self.backend() == crate::Backend::Postgres);
    }

    /// Waits until the feed may have new events, or `timeout` passed.
    pub async fn wait_for_feed(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.bell.bells[0].local.notified()).await;
    }

    /// Call after committing a transaction that enqueued jobs: wakes the
    /// workers here and (PostgreSQL) in every other process.
    pub fn ring_jobs(&self) {
        self.bell.ring(1, self.backend() == crate::Backend::Postgres);
    }

    /// Waits until a job may have been enqueued, or `timeout` passed.
    pub async fn wait_for_jobs(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.bell.bells[1].local.notified()).await;
    }

    /// Starts the wake-ups between processes (PostgreSQL only; a no-op on
    /// SQLite, where one process owns the database). Call once per process.
    pub fn start_feed_signals(&self) {
        let Some(pool) = self.pool.postgres().cloned() else {
            return;
        };
        let bell = self.bell.clone();
        let listen = tokio::spawn({
            let bell = bell.clone();
            let pool = pool.clone();
            async move { listen_loop(pool, bell).await }
        });
        let send = tokio::spawn(async move { send_loop(pool, bell).await });
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(listen);
            tasks.push(send);
        }
    }
}

async fn listen_loop(pool: sqlx::PgPool, bell: Arc<FeedBell>) {
    loop {
        match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen_all(CHANNELS).await {
                    tracing::warn!(error = %e, "cannot LISTEN for wake-ups; followers and workers poll meanwhile");
                } else {
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(n)) => {
                                if let Some(i) = CHANNELS.iter().position(|c| *c == n.channel()) {
                                    bell.bells[i].ring_here();
                                }
                            }
                            // Reconnected after a lost connection: wake-ups
                            // may have been missed, so look now.
                            Ok(None) => bell.bells.iter().for_each(Bell::ring_here),
                            Err(e) => {
                                tracing::warn!(error = %e, "wake-up listener failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect the wake-up listener; retrying"),
        }
        if pool.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn send_loop(pool: sqlx::PgPool, bell: Arc<FeedBell>) {
    loop {
        bell.sender.notified().await;
        // Coalesce a burst of commits into one notification per channel.
        tokio::time::sleep(Duration::from_millis(5)).await;
        for (i, channel) in CHANNELS.iter().enumerate() {
            if bell.bells[i].owed.swap(false, Ordering::AcqRel) {
                if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
                    .bind(*channel)
                    .execute(&pool)
                    .await
                {
                    tracing::debug!(error = %e, "NOTIFY failed; other processes will poll");
                }
            }
        }
        if pool.is_closed() {
            return;
        }
    }
}
