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

use std::collections::{BTreeMap, BTreeSet};

use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;
use vellum_core::acl::{Level, Permissions};

/// Which pages a reader may find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility(Inner);

#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// The filter as a query on the `node` field (`None`: no filter).
    pub(crate) fn query(&self, node: Field) -> Option<Box<dyn Query>> {
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
        let filter: Box<dyn Query> = match (exclude, union.is_empty()) {
            (false, true) => Box::new(EmptyQuery),
            (true, true) => Box::new(AllQuery),
            (false, false) => Box::new(BooleanQuery::new(union)),
            (true, false) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, Box::new(BooleanQuery::new(union))),
            ])),
        };
        Some(Box::new(ConstScoreQuery::new(filter, 0.0)))
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
