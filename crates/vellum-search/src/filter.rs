//! The reader's visibility filter, as part of every query.
//!
//! The index does not store a page's scope (which changes with every rule
//! change above it). It stores the page's path and every folder above it
//! (the `node` field: `/`, `/eng`, `/eng/runbooks`, `/eng/runbooks/deploy`),
//! and the filter is built at query time from the reader's
//! [`Permissions`]: a page's level is that of its nearest node with rules,
//! so the pages with scope `s` are those under `s` and under none of the
//! scopes directly below `s`. The filter is the union of that set over the
//! readable scopes, or (when that is shorter) everything minus the union
//! over the unreadable ones. A rule change gives new permissions, so the
//! next query filters by the new rules without re-indexing a page.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::query::{
    AllQuery, BitSetDocSet, BooleanQuery, ConstScorer, EmptyQuery, EnableScoring, Explanation, Occur, Query, Scorer,
    TermQuery, TermSetQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption, Schema};
use tantivy::{BitSet, DocId, Score, SegmentReader, TantivyError, Term};
use vellum_core::acl::{Level, Permissions};

/// Which pages a reader may find.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Visibility(Inner);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Inner {
    All,
    /// Pages whose scope is one of `scopes` (each with the scopes directly
    /// below it, whose pages are decided there), or, when `exclude`,
    /// every page but those.
    Scopes {
        exclude: bool,
        scopes: Vec<(String, Vec<String>)>,
    },
}

/// The term of a node (the root is `/`).
pub(crate) fn node_term(path: &str) -> String {
    format!("/{path}")
}

/// A page's path and every folder above it, as node terms.
pub(crate) fn node_terms(path: &str) -> Vec<String> {
    let mut out = vec![node_term("")];
    for (i, _) in path.match_indices('/') {
        out.push(node_term(&path[..i]));
    }
    if !path.is_empty() {
        out.push(node_term(path));
    }
    out
}

impl Visibility {
    /// Every page.
    pub fn everything() -> Visibility {
        Visibility(Inner::All)
    }

    pub fn of(perms: &Permissions) -> Visibility {
        if perms.reads_everything() {
            return Visibility(Inner::All);
        }
        let levels: BTreeMap<&str, bool> = perms.levels().map(|(s, l)| (s, l >= Level::Read)).collect();
        let mut below: BTreeMap<&str, Vec<String>> = levels.keys().map(|s| (*s, Vec::new())).collect();
        for scope in levels.keys().filter(|s| !s.is_empty()) {
            let parent = ancestors(scope).rev().find(|a| levels.contains_key(a)).unwrap_or("");
            below.entry(parent).or_default().push(node_term(scope));
        }
        let cost = |readable: bool| -> usize {
            levels
                .iter()
                .filter(|(_, r)| **r == readable)
                .map(|(s, _)| 1 + below.get(s).map_or(0, Vec::len))
                .sum()
        };
        let exclude = cost(false) < cost(true);
        let scopes = levels
            .iter()
            .filter(|(_, r)| **r != exclude)
            .map(|(s, _)| (node_term(s), below.remove(s).unwrap_or_default()))
            .collect();
        Visibility(Inner::Scopes { exclude, scopes })
    }

    pub fn is_everything(&self) -> bool {
        matches!(self.0, Inner::All)
    }

    /// The filter as a query on the `node` field (`None`: no filter),
    /// its document set per segment kept in `cache`.
    pub(crate) fn query(&self, node: Field, schema: &Schema, cache: &Arc<FilterCache>) -> Option<Box<dyn Query>> {
        let filter = self.terms(node)?;
        Some(Box::new(CachedFilter {
            visibility: Arc::new(self.clone()),
            filter: Arc::from(filter),
            schema: schema.clone(),
            cache: cache.clone(),
        }))
    }

    /// The filter as term queries on the `node` field.
    fn terms(&self, node: Field) -> Option<Box<dyn Query>> {
        let Inner::Scopes { exclude, scopes } = &self.0 else {
            return None;
        };
        let union: Vec<(Occur, Box<dyn Query>)> = scopes
            .iter()
            .map(|(scope, below)| {
                let term = TermQuery::new(Term::from_field_text(node, scope), IndexRecordOption::Basic);
                let q: Box<dyn Query> = if below.is_empty() {
                    Box::new(term)
                } else {
                    Box::new(BooleanQuery::new(vec![
                        (Occur::Must, Box::new(term) as Box<dyn Query>),
                        (
                            Occur::MustNot,
                            Box::new(TermSetQuery::new(below.iter().map(|b| Term::from_field_text(node, b)))),
                        ),
                    ]))
                };
                (Occur::Should, q)
            })
            .collect();
        Some(match (exclude, union.is_empty()) {
            (false, true) => Box::new(EmptyQuery),
            (true, true) => Box::new(AllQuery),
            (false, false) => Box::new(BooleanQuery::new(union)),
            (true, false) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, Box::new(BooleanQuery::new(union))),
            ])),
        })
    }
}

/// Segments whose filter document sets are kept, over all readers
/// (then all are dropped and computed again as needed).
const FILTER_SETS: usize = 1024;

/// The documents each reader's filter lets through, per segment. A
/// segment never changes, so its set for one [`Visibility`] stays right
/// for as long as the segment lives; a rule change gives the reader
/// another `Visibility`, so another set. A search under rules then costs
/// one bit set per segment instead of evaluating hundreds of terms.
type SetsByReader = HashMap<Arc<Visibility>, HashMap<SegmentId, Arc<BitSet>>>;

#[derive(Default)]
pub(crate) struct FilterCache {
    /// How many sets, and the sets by reader and segment.
    sets: Mutex<(usize, SetsByReader)>,
}

impl FilterCache {
    fn get(&self, v: &Visibility, segment: SegmentId) -> Option<Arc<BitSet>> {
        let sets = self.sets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sets.1.get(v)?.get(&segment).cloned()
    }

    fn put(&self, v: &Arc<Visibility>, segment: SegmentId, set: Arc<BitSet>) {
        let mut sets = self.sets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if sets.0 >= FILTER_SETS {
            *sets = (0, HashMap::new());
        }
        if sets.1.entry(v.clone()).or_default().insert(segment, set).is_none() {
            sets.0 += 1;
        }
    }
}

/// The visibility filter as one query, answered from the [`FilterCache`].
#[derive(Clone)]
struct CachedFilter {
    visibility: Arc<Visibility>,
    filter: Arc<dyn Query>,
    schema: Schema,
    cache: Arc<FilterCache>,
}

impl std::fmt::Debug for CachedFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedFilter").field("filter", &self.filter).finish()
    }
}

impl Query for CachedFilter {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl CachedFilter {
    fn set(&self, reader: &SegmentReader) -> tantivy::Result<Arc<BitSet>> {
        let segment = reader.segment_id();
        if let Some(set) = self.cache.get(&self.visibility, segment) {
            return Ok(set);
        }
        let weight = self.filter.weight(EnableScoring::disabled_from_schema(&self.schema))?;
        let mut set = BitSet::with_max_value(reader.max_doc());
        weight.for_each_no_score(reader, &mut |docs| {
            for d in docs {
                set.insert(*d);
            }
        })?;
        let set = Arc::new(set);
        self.cache.put(&self.visibility, segment, set.clone());
        Ok(set)
    }
}

impl Weight for CachedFilter {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let set = self.set(reader)?;
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from((*set).clone()), 0.0)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self.set(reader)?.contains(doc) {
            Ok(Explanation::new("visible to the reader", 0.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} is not visible to the reader"
            )))
        }
    }
}

/// The proper ancestors of a path, from the root down (`a/b/c` → `""`,
/// `a`, `a/b`).
fn ancestors(path: &str) -> impl DoubleEndedIterator<Item = &str> {
    let cuts: BTreeSet<usize> = path.match_indices('/').map(|(i, _)| i).collect();
    std::iter::once("").chain(cuts.into_iter().map(move |i| &path[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_terms_cover_the_path_and_every_folder_above() {
        assert_eq!(node_terms("a/b/c"), ["/", "/a", "/a/b", "/a/b/c"]);
        assert_eq!(node_terms("top"), ["/", "/top"]);
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["", "a", "a/b"]);
    }
}
