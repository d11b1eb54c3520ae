//! Running a query (compiled in `compile.rs`): the visibility filter
//! joins as one more required clause, one pass collects the best matches,
//! the total and the facets, the phrase bonus is added to the best, and
//! the page of hits gets its snippets.

use std::cmp::Reverse;
use std::collections::HashMap;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, Scorer};
use tantivy::schema::{Field, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DateTime, DocAddress, DocId, DocSet, Order, Score, Searcher, SeekDangerResult, SegmentReader, TantivyDocument,
};

use crate::facets::FacetCollector;
use crate::query::Parsed;
use crate::{Result, SearchIndex, Visibility};

/// The phrase bonus is added to this many best matches (or the next
/// multiple of it that holds the page asked for), not to every match:
/// checking word positions in every matching page was most of the cost
/// of a query of several common words.
const RESCORE_WINDOW: usize = 200;
/// Bytes at the start of a body searched first for a snippet.
const SNIPPET_SCAN: usize = 4096;
/// Characters of body text in a snippet.
const SNIPPET_CHARS: usize = 200;
/// Facet values returned per facet.
const FACET_VALUES: usize = 20;

/// Order of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    /// Most recently updated first.
    Updated,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub path: String,
    pub title: String,
    /// Plain text around the best match in the body.
    pub snippet: String,
    /// Byte ranges of `snippet` that matched.
    pub highlights: Vec<(usize, usize)>,
    pub tags: Vec<String>,
    pub author: String,
    pub updated: i64,
    pub score: f32,
}

/// Counts over every result, not only the page shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    /// Tags, most frequent first.
    pub tags: Vec<(String, u64)>,
    /// Top-level folders (`""` for pages at the top), most frequent first.
    pub folders: Vec<(String, u64)>,
}

/// A query that would find something, when this one found nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion(pub String);

#[derive(Debug, Clone, Default)]
pub struct Results {
    pub hits: Vec<Hit>,
    pub total: usize,
    pub facets: Facets,
    pub did_you_mean: Option<Suggestion>,
}

impl SearchIndex {
    /// Runs `parsed` (from `raw`, kept for suggestions) for a reader who
    /// sees `visible`, and returns `limit` hits from `offset`.
    pub fn search(
        &self,
        raw: &str,
        parsed: &Parsed,
        visible: &Visibility,
        sort: Sort,
        offset: usize,
        limit: usize,
    ) -> Result<Results> {
        let searcher = self.reader.searcher();
        let (matched, bonus) = self.compiler(&searcher).query(&parsed.items);
        let query = self.visible_only(&searcher, matched, visible);
        let limit = limit.max(1);
        let (addresses, total, counts): (Vec<(f32, DocAddress)>, usize, _) = match sort {
            Sort::Relevance => {
                // Equal scores in page id order, so the order does not
                // depend on how documents fell into segments (a rebuilt
                // index answers as the incremental one).
                let window = (offset + limit).next_multiple_of(RESCORE_WINDOW);
                let top = TopDocs::with_limit(window).tweak_score(|segment: &SegmentReader| {
                    let ids = segment.fast_fields().u64("id").ok();
                    move |doc: DocId, score: Score| {
                        let id = ids.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
                        (score, Reverse(id))
                    }
                });
                let (best, total, counts) = searcher.search(&query, &(top, Count, FacetCollector))?;
                let mut best: Vec<(f32, u64, DocAddress)> =
                    best.into_iter().map(|((s, Reverse(id)), a)| (s, id, a)).collect();
                if let Some(bonus) = &bonus {
                    rescore(&searcher, bonus, &mut best)?;
                }
                best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                let page = best.into_iter().skip(offset).take(limit).map(|(s, _, a)| (s, a));
                (page.collect(), total, counts)
            }
            Sort::Updated => {
                let top = TopDocs::with_limit(limit)
                    .and_offset(offset)
                    .order_by_fast_field::<DateTime>("updated", Order::Desc);
                let (hits, total, counts) = searcher.search(&query, &(top, Count, FacetCollector))?;
                (hits.into_iter().map(|(_, a)| (0.0, a)).collect(), total, counts)
            }
        };
        let mut snippets = SnippetGenerator::create(&searcher, &query, self.fields.body)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            hits.push(self.hit(&doc, &snippets, score));
        }
        let facets = Facets {
            tags: top_counts(counts.tags),
            folders: top_counts(counts.tops),
        };
        // A suggestion is made from every page's words; it is offered only
        // when it finds a page this reader may read (else it would tell
        // them a word of a page they cannot see).
        let did_you_mean = match self.compiler(&searcher).suggestion(raw, parsed) {
            Some(better) if total == 0 && self.finds_any(&searcher, &better, visible)? => Some(Suggestion(better)),
            _ => None,
        };
        Ok(Results {
            hits,
            total,
            facets,
            did_you_mean,
        })
    }

    /// `matched`, restricted to the pages `visible` lets through.
    fn visible_only(&self, searcher: &Searcher, matched: Box<dyn Query>, visible: &Visibility) -> BooleanQuery {
        let mut clauses = vec![(Occur::Must, matched)];
        if let Some(filter) = visible.query(self.fields.node, searcher.schema(), &self.filters) {
            clauses.push((Occur::Must, filter));
        }
        BooleanQuery::new(clauses)
    }

    /// Whether the query `q` finds a page `visible` lets through.
    fn finds_any(&self, searcher: &Searcher, q: &str, visible: &Visibility) -> Result<bool> {
        let Ok(parsed) = crate::parse(q) else {
            return Ok(false);
        };
        let (matched, _) = self.compiler(searcher).query(&parsed.items);
        Ok(searcher.search(&self.visible_only(searcher, matched, visible), &Count)? > 0)
    }

    fn hit(&self, doc: &TantivyDocument, snippets: &SnippetGenerator, score: f32) -> Hit {
        let f = self.fields;
        let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let body = text(f.body);
        // Analysing the whole of every shown body was the largest cost of
        // a query: the snippet comes from the start of the body when the
        // words are there, from the whole body only when they are not.
        let head = &body[..floor_char_boundary(&body, SNIPPET_SCAN)];
        let mut snippet = snippets.snippet(head);
        if snippet.fragment().is_empty() && head.len() < body.len() {
            snippet = snippets.snippet(&body);
        }
        let (snippet, highlights) = if snippet.fragment().is_empty() {
            let cut = body.char_indices().nth(SNIPPET_CHARS).map_or(body.len(), |(i, _)| i);
            (body[..cut].to_owned(), Vec::new())
        } else {
            (
                snippet.fragment().to_owned(),
                snippet.highlighted().iter().map(|r| (r.start, r.end)).collect(),
            )
        };
        Hit {
            id: doc
                .get_first(f.id)
                .and_then(|v| v.as_u64())
                .and_then(|v| i64::try_from(v).ok())
                .unwrap_or(0),
            path: text(f.path),
            title: text(f.title),
            snippet,
            highlights,
            tags: doc
                .get_all(f.tags)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            author: text(f.author),
            updated: doc
                .get_first(f.updated)
                .and_then(|v| v.as_datetime())
                .map_or(0, |d| d.into_timestamp_secs()),
            score,
        }
    }

    /// Pages whose title (or path) words start with what was typed, for a
    /// reader who sees `visible`: `(path, title)`, best first.
    pub fn titles(&self, typed: &str, visible: &Visibility, limit: usize) -> Result<Vec<(String, String)>> {
        let searcher = self.reader.searcher();
        let Some(matched) = self.compiler(&searcher).titles(typed) else {
            return Ok(Vec::new());
        };
        let query = self.visible_only(&searcher, matched, visible);
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
            out.push((text(self.fields.path), text(self.fields.title)));
        }
        Ok(out)
    }
}

/// The largest character boundary of `s` at or below `at`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// Adds the scores of the `bonus` queries to each of `best` they match.
/// Each query's scorer visits only those pages, in order ("seek danger":
/// a page that does not match is not searched past), so the positions
/// of the words are read for them alone.
fn rescore(searcher: &Searcher, bonus: &[Box<dyn Query>], best: &mut [(f32, u64, DocAddress)]) -> Result<()> {
    let mut order: Vec<usize> = (0..best.len()).collect();
    order.sort_by_key(|&i| best[i].2);
    for q in bonus {
        let weight = q.weight(EnableScoring::enabled_from_searcher(searcher))?;
        // The scorer of the current segment, and the first document it can
        // still match (a seek that misses tells where the next match may
        // be; a target below that is not a match, and must not be sought).
        let mut current: Option<(u32, Box<dyn Scorer>, DocId)> = None;
        for &i in &order {
            let DocAddress { segment_ord, doc_id } = best[i].2;
            let found = match &mut current {
                Some((ord, s, floor)) if *ord == segment_ord => {
                    if doc_id < *floor {
                        continue;
                    }
                    match s.seek_danger(doc_id) {
                        SeekDangerResult::Found => {
                            *floor = doc_id + 1;
                            true
                        }
                        SeekDangerResult::SeekLowerBound(next) => {
                            *floor = next;
                            false
                        }
                    }
                }
                _ => {
                    let (res, s) = weight.scorer_danger(searcher.segment_reader(segment_ord), doc_id, 1.0)?;
                    let (found, floor) = match res {
                        SeekDangerResult::Found => (true, doc_id + 1),
                        SeekDangerResult::SeekLowerBound(next) => (false, next),
                    };
                    current = Some((segment_ord, s, floor));
                    found
                }
            };
            if let (true, Some((_, s, _))) = (found, &mut current) {
                best[i].0 += s.score();
            }
        }
    }
    Ok(())
}

fn top_counts(counts: HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(FACET_VALUES);
    v
}
