//! Counts of tags and top folders over every page a query matched (after
//! the visibility filter, which is part of the query), from fast fields.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Counts per value, for each faceted field.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    pub tags: HashMap<String, u64>,
    pub tops: HashMap<String, u64>,
}

pub(crate) struct FacetCollector;

pub(crate) struct SegmentFacets {
    tags: Option<StrColumn>,
    tops: Option<StrColumn>,
    tag_counts: HashMap<u64, u64>,
    top_counts: HashMap<u64, u64>,
}

impl Collector for FacetCollector {
    type Fruit = Counts;
    type Child = SegmentFacets;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = reader.fast_fields();
        Ok(SegmentFacets {
            tags: fast.str("tags")?,
            tops: fast.str("top")?,
            tag_counts: HashMap::new(),
            top_counts: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut all = Counts::default();
        for f in fruits {
            for (k, v) in f.tags {
                *all.tags.entry(k).or_default() += v;
            }
            for (k, v) in f.tops {
                *all.tops.entry(k).or_default() += v;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(c) = &self.tags {
            for ord in c.term_ords(doc) {
                *self.tag_counts.entry(ord).or_default() += 1;
            }
        }
        if let Some(c) = &self.tops {
            for ord in c.term_ords(doc) {
                *self.top_counts.entry(ord).or_default() += 1;
            }
        }
    }

    fn harvest(self) -> Counts {
        let named = |column: &Option<StrColumn>, counts: HashMap<u64, u64>| -> HashMap<String, u64> {
            let Some(c) = column else {
                return HashMap::new();
            };
            counts
                .into_iter()
                .filter_map(|(ord, n)| {
                    let mut s = String::new();
                    c.ord_to_str(ord, &mut s).ok().filter(|found| *found).map(|_| (s, n))
                })
                .collect()
        };
        Counts {
            tags: named(&self.tags, self.tag_counts),
            tops: named(&self.tops, self.top_counts),
        }
    }
}
