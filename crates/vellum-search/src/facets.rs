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
    /// Matches per term ordinal of each column.
    tag_counts: Vec<u64>,
    top_counts: Vec<u64>,
}

fn zeros(column: &Option<StrColumn>) -> Vec<u64> {
    vec![0; column.as_ref().map_or(0, |c| c.num_terms())]
}

impl Collector for FacetCollector {
    type Fruit = Counts;
    type Child = SegmentFacets;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = reader.fast_fields();
        let (tags, tops) = (fast.str("tags")?, fast.str("top")?);
        Ok(SegmentFacets {
            tag_counts: zeros(&tags),
            top_counts: zeros(&tops),
            tags,
            tops,
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
        for (column, counts) in [(&self.tags, &mut self.tag_counts), (&self.tops, &mut self.top_counts)] {
            if let Some(c) = column {
                for ord in c.term_ords(doc) {
                    if let Some(n) = usize::try_from(ord).ok().and_then(|o| counts.get_mut(o)) {
                        *n += 1;
                    }
                }
            }
        }
    }

    fn harvest(self) -> Counts {
        let named = |column: &Option<StrColumn>, counts: Vec<u64>| -> HashMap<String, u64> {
            let Some(c) = column else {
                return HashMap::new();
            };
            (0u64..)
                .zip(counts)
                .filter(|(_, n)| *n > 0)
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
