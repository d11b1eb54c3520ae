//! The change-feed follower: one task per process reads the event log in
//! commit order (`vellum_store::feed`), applies each event's effects to
//! this node's caches, and publishes it on the [`EventBus`](crate::ports::EventBus).

use std::sync::Arc;
use std::time::Duration;

use vellum_store::feed::{self, FeedPosition};

use crate::ports::Published;
use crate::App;

/// Events read per round trip.
const BATCH: i64 = 500;
/// How long the follower sleeps without a wake-up before looking anyway.
const POLL: Duration = Duration::from_millis(500);

pub(crate) async fn follow(app: App) {
    let mut position = loop {
        match start_position(&app).await {
            Ok(p) => break p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the change feed's position; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        match read_batch(&app, position).await {
            Ok((next, full)) => {
                position = next;
                if full {
                    continue;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the change feed failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        app.store().wait_for_feed(POLL).await;
    }
}

async fn start_position(app: &App) -> vellum_store::Result<FeedPosition> {
    let mut conn = app.store().read().await?;
    feed::head(&mut conn).await
}

/// Reads and applies one batch; returns the new position and whether the
/// batch was full (more may be waiting).
async fn read_batch(app: &App, after: FeedPosition) -> vellum_store::Result<(FeedPosition, bool)> {
    let entries = {
        let mut conn = app.store().read().await?;
        feed::read(&mut conn, after, BATCH).await?
    };
    let full = entries.len() as i64 == BATCH;
    let mut position = after;
    for entry in entries {
        position = entry.position;
        match entry.event {
            Ok(event) => {
                app.apply_effects(&event);
                app.0.bus.publish(Arc::new(Published {
                    seq: entry.seq,
                    at: entry.at,
                    actor: entry.actor,
                    event,
                }));
            }
            Err(e) => tracing::warn!(seq = entry.seq, error = %e, "skipping an event this version cannot read"),
        }
    }
    Ok((position, full))
}
