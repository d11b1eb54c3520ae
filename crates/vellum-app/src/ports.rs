//! Ports: what the services need from the outside world, as traits, with
//! the in-process implementations of the embedded mode. The scaled-out
//! mode adds implementations (a Redis L2 cache, a Redis or PostgreSQL
//! bus) without touching the services.
//!
//! - [`Cache`]: a bounded key-value cache of derived data. Entries are
//!   invalidated from typed events (see `effects.rs`) on this node right
//!   after commit and on every node by the change feed.
//! - [`EventBus`]: fan-out of committed events to in-process subscribers
//!   (live updates, later search and notifications). It is fed by the change
//!   feed follower, so subscribers see events from every node, in commit
//!   order, once each.
//!
//! The store (`vellum-store`), the renderer (`vellum-markup`) and, as their
//! issues land, the search index, blob store and job queue are the other
//! ports; see DESIGN.md.

use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use vellum_core::{Event, Timestamp, UserId};

/// Which entries to drop, for [`Cache::invalidate_if`].
pub type Predicate<K, V> = Box<dyn Fn(&K, &V) -> bool + Send + Sync + 'static>;

/// A cache of derived values.
pub trait Cache<K, V>: Send + Sync {
    fn get(&self, key: &K) -> Option<V>;
    fn insert(&self, key: K, value: V);
    fn invalidate(&self, key: &K);
    /// Drops every entry for which `pred` holds.
    fn invalidate_if(&self, pred: Predicate<K, V>);
    fn invalidate_all(&self);
}

/// An in-process cache (moka): bounded by entry count or by a weigher,
/// with an optional time to live as a safety net.
pub struct MemoryCache<K, V>(moka::sync::Cache<K, V>);

impl<K, V> MemoryCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(capacity: u64, ttl: Option<Duration>) -> Self {
        let mut b = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .support_invalidation_closures();
        if let Some(ttl) = ttl {
            b = b.time_to_live(ttl);
        }
        MemoryCache(b.build())
    }

    /// Bounded by total weight (bytes, say) instead of entry count.
    pub fn weighted(max_weight: u64, weigh: fn(&K, &V) -> u32, idle: Duration) -> Self {
        MemoryCache(
            moka::sync::Cache::builder()
                .max_capacity(max_weight)
                .weigher(weigh)
                .time_to_idle(idle)
                .support_invalidation_closures()
                .build(),
        )
    }
}

impl<K, V> Cache<K, V> for MemoryCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn get(&self, key: &K) -> Option<V> {
        self.0.get(key)
    }

    fn insert(&self, key: K, value: V) {
        self.0.insert(key, value);
    }

    fn invalidate(&self, key: &K) {
        self.0.invalidate(key);
    }

    fn invalidate_if(&self, pred: Predicate<K, V>) {
        if self.0.invalidate_entries_if(move |k, v| pred(k, v)).is_err() {
            // Only when closures are not supported, which `new` enables.
            self.0.invalidate_all();
        }
    }

    fn invalidate_all(&self) {
        self.0.invalidate_all();
    }
}

/// A committed event, as subscribers receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: Option<UserId>,
    pub event: Event,
}

/// Fan-out of committed events to subscribers in this process.
pub trait EventBus: Send + Sync {
    fn publish(&self, event: Arc<Published>);
    /// Events published from now on. A subscriber that falls more than the
    /// bus's capacity behind is told it lagged.
    fn subscribe(&self) -> broadcast::Receiver<Arc<Published>>;
}

/// The in-process bus: a tokio broadcast channel.
pub struct LocalBus(broadcast::Sender<Arc<Published>>);

impl LocalBus {
    pub fn new(capacity: usize) -> Self {
        LocalBus(broadcast::channel(capacity).0)
    }
}

impl EventBus for LocalBus {
    fn publish(&self, event: Arc<Published>) {
        // No subscribers is not an error.
        let _ = self.0.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_cache_invalidates_by_key_and_predicate() {
        let c: MemoryCache<u32, u32> = MemoryCache::new(100, None);
        for i in 0..10 {
            c.insert(i, i * 10);
        }
        c.invalidate(&1);
        assert_eq!(c.get(&1), None);
        c.invalidate_if(Box::new(|_, v| *v >= 50));
        assert_eq!(c.get(&4), Some(40));
        assert_eq!(c.get(&5), None);
        assert_eq!(c.get(&9), None);
        c.invalidate_all();
        assert_eq!(c.get(&4), None);
    }
}
