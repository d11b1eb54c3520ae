//! Running a parsed query: each node becomes a tantivy query (words
//! expanded by typos and prefixes against the index's own terms), the
//! visibility filter joins as one more required clause, and one pass
//! collects the page of hits, the total and the facets.

use std::cmp::Reverse;
use std::collections::HashMap;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, EnableScoring, Occur, PhraseQuery, Query, RangeQuery, Scorer,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DateTime, DocAddress, DocId, DocSet, Order, Score, Searcher, SeekDangerResult, SegmentReader, TantivyDocument, Term,
};

use crate::analyzer::terms;
use crate::expand::{near, starting_with, typos_for};
use crate::facets::FacetCollector;
use crate::query::{Item, Node, Parsed, Scope};
use crate::{Fields, Result, SearchIndex, Visibility, PREFIX, TEXT};

/// Relative weight of a match in each field.
const TITLE: f32 = 4.0;
const HEADINGS: f32 = 2.0;
const PATH: f32 = 2.0;
const BODY: f32 = 1.0;
/// The first words of the body, where a page says what it is about.
const LEAD: f32 = 2.0;
/// A word matched through a typo counts this much of an exact match,
/// by the number of edits.
const TYPO_WEIGHT: [f32; 2] = [0.4, 0.2];
/// Extra weight of a query's words found together, in order.
const PHRASE_BONUS: f32 = 1.5;
/// Words as written looked at for the corrections of a word with a typo.
const TYPO_WORDS: usize = 12;
/// Corrections (stems) kept per word.
const TYPO_TERMS: usize = 4;
/// Completions kept per prefix and field.
const PREFIX_TERMS: usize = 24;
/// The phrase bonus is added to this many best matches (or the next
/// multiple of it that holds the page asked for), not to every match:
/// checking word positions in every matching page was most of the cost
/// of a query of several common words.
const RESCORE_WINDOW: usize = 200;
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

struct Compiler<'a> {
    searcher: &'a Searcher,
    f: Fields,
    text: TextAnalyzer,
    prefix: TextAnalyzer,
    /// The phrase bonus of the query's top level, once compiled (`None`
    /// inside: nested groups keep theirs in their query).
    bonus: Option<Option<Vec<Box<dyn Query>>>>,
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

fn should(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.is_empty() {
        return boxed(EmptyQuery);
    }
    boxed(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn term_query(field: Field, text: &str, weight: f32) -> Box<dyn Query> {
    let q = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
    boxed(BoostQuery::new(boxed(q), weight))
}

fn filter_query(field: Field, text: &str) -> Box<dyn Query> {
    let q = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic);
    boxed(ConstScoreQuery::new(boxed(q), 0.0))
}

/// The first term at each position (a word with inner capitals also
/// gives its parts at the same positions; a query needs the word only).
fn one_per_position(mut t: Vec<(usize, String)>) -> Vec<(usize, String)> {
    t.dedup_by(|b, a| a.0 == b.0);
    let mut last = None;
    t.retain(|(p, _)| {
        let keep = last.is_none_or(|l| *p > l);
        last = Some(*p);
        keep
    });
    t
}

impl Compiler<'_> {
    fn fields(&self, scope: Scope) -> Vec<(Field, f32)> {
        match scope {
            Scope::Title => vec![(self.f.title, TITLE)],
            Scope::Everywhere => vec![
                (self.f.title, TITLE),
                (self.f.headings, HEADINGS),
                (self.f.path_text, PATH),
                (self.f.lead, LEAD),
                (self.f.body, BODY),
            ],
        }
    }

    fn items(&mut self, items: &[Item]) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut positive = 0;
        for item in items {
            // A term with nothing to look for (only punctuation or
            // emoji) is left out.
            let Some(q) = self.node(&item.node) else { continue };
            if !item.negated {
                positive += 1;
            }
            clauses.push((if item.negated { Occur::MustNot } else { Occur::Must }, q));
        }
        if positive == 0 {
            // Only exclusions: everything else. Only terms without words:
            // nothing.
            let only_exclusions = items.iter().all(|i| i.negated);
            clauses.push((
                Occur::Must,
                if only_exclusions {
                    boxed(AllQuery)
                } else {
                    boxed(EmptyQuery)
                },
            ));
        }
        // Words that also stand in this order rank above the same words
        // scattered over the page (a word the index does not know as
        // its best correction, so that a typo keeps the bonus).
        let words: Vec<String> = items
            .iter()
            .filter_map(|i| match &i.node {
                Node::Word {
                    text,
                    scope: Scope::Everywhere,
                    prefix: false,
                } if !i.negated => Some(self.corrected(text)),
                _ => None,
            })
            .collect();
        if words.len() > 1 {
            let together = one_per_position(terms(&mut self.text, &words.join(" ")));
            if together.len() > 1 {
                let per_field = self.phrases_of(together, Scope::Everywhere);
                match self.bonus.as_mut() {
                    // The whole query's words: added to the best matches
                    // only (see `rescore`).
                    Some(slot @ None) => {
                        *slot = Some(
                            per_field
                                .into_iter()
                                .map(|q| boxed(BoostQuery::new(q, PHRASE_BONUS)))
                                .collect(),
                        );
                    }
                    _ => clauses.push((Occur::Should, boxed(BoostQuery::new(should(per_field), PHRASE_BONUS)))),
                }
            }
        }
        boxed(BooleanQuery::new(clauses))
    }

    fn node(&mut self, node: &Node) -> Option<Box<dyn Query>> {
        let f = self.f;
        Some(match node {
            Node::Word {
                text,
                scope,
                prefix: false,
            } => self.word(text, *scope)?,
            Node::Word {
                text,
                scope,
                prefix: true,
            } => self.prefix(text, *scope)?,
            Node::Phrase { text, scope } => self.phrase(text, *scope)?,
            // Filters select and do not rank (and their scores would
            // count pages deleted but not yet merged away, so that a
            // rebuilt index would order them otherwise).
            Node::Tag(t) => filter_query(f.tags, t),
            Node::Path(p) => filter_query(f.node, &crate::filter::node_term(p)),
            Node::Author(a) => filter_query(f.author, &a.to_lowercase()),
            Node::Updated { from, to } => {
                let bound = |s: &Option<i64>, inclusive: bool| match s {
                    None => std::ops::Bound::Unbounded,
                    Some(s) => {
                        let t = Term::from_field_date_for_search(f.updated, DateTime::from_timestamp_secs(*s));
                        if inclusive {
                            std::ops::Bound::Included(t)
                        } else {
                            std::ops::Bound::Excluded(t)
                        }
                    }
                };
                boxed(RangeQuery::new(bound(from, true), bound(to, false)))
            }
            Node::Or(alternatives) => {
                let alts: Vec<Box<dyn Query>> = alternatives.iter().filter_map(|n| self.node(n)).collect();
                if alts.is_empty() {
                    return None;
                }
                should(alts)
            }
            Node::Group(items) => {
                let top = self.bonus.take();
                let q = self.items(items);
                self.bonus = top;
                q
            }
        })
    }

    /// A word: exact in each field, or within a few typos.
    fn word(&mut self, text: &str, scope: Scope) -> Option<Box<dyn Query>> {
        let t = one_per_position(terms(&mut self.text, text));
        let written = terms(&mut self.prefix, text).into_iter().next().map(|(_, w)| w);
        Some(match (t.as_slice(), written) {
            ([], _) | (_, None) => return None,
            // One CJK character: the start of the character pairs it is
            // indexed in.
            ([(_, term)], _) if term.chars().count() == 1 && term.chars().all(crate::analyzer::is_cjk) => {
                return self.prefix(text, scope);
            }
            ([(_, term)], Some(written)) => self.single(term, &written, typos_for(text), scope),
            // An identifier, a path or CJK text: its parts in a row. A
            // word with inner capitals or digits ("PostgreSQL") is also
            // indexed whole, first at its position: a typo in it
            // ("PostgreSSQL") is forgiven there.
            (_, Some(written)) => {
                let whole = t[0].1.clone();
                let typos = typos_for(text);
                let parts = self.phrase_of(t, scope);
                if typos > 0 && text.chars().all(char::is_alphanumeric) {
                    let whole = self.single(&whole, &written, typos, scope);
                    should(vec![parts, whole])
                } else {
                    parts
                }
            }
        })
    }

    /// One term (`stem`, from `written`): exact in each field, or within
    /// `typos` edits of a word the index holds.
    fn single(&mut self, stem: &str, written: &str, typos: u8, scope: Scope) -> Box<dyn Query> {
        let fields = self.fields(scope);
        let typos = self.typos(written, typos);
        let mut clauses: Vec<Box<dyn Query>> = fields.iter().map(|&(f, w)| term_query(f, stem, w)).collect();
        for (better, edits) in self.corrections(stem, written, typos) {
            let typo = TYPO_WEIGHT[usize::from(edits.clamp(1, 2) - 1)];
            for &(field, weight) in &fields {
                if field != self.f.path_text {
                    clauses.push(term_query(field, &better, weight * typo));
                }
            }
        }
        should(clauses)
    }

    /// The stems of the words within `typos` edits of `written` (as
    /// typed, lower case), other than `stem`, nearest and most frequent
    /// first. Typos are matched on words as written, not on stems: a
    /// typo often changes what the stemmer cuts (`configuraton` is not
    /// near the stem `configur`, but is one edit from `configuration`).
    fn corrections(&mut self, stem: &str, written: &str, typos: u8) -> Vec<(String, u8)> {
        let mut out: Vec<(String, u8)> = Vec::new();
        for (word, edits) in near(self.searcher, self.f.vocab, written, typos, TYPO_WORDS) {
            let Some((_, s)) = terms(&mut self.text, &word).into_iter().next() else {
                continue;
            };
            if s != stem && !out.iter().any(|(o, _)| *o == s) {
                out.push((s, edits));
                if out.len() == TYPO_TERMS {
                    break;
                }
            }
        }
        out
    }

    /// Whether some page holds `written` as it is.
    fn known(&self, written: &str) -> bool {
        self.searcher
            .doc_freq(&Term::from_field_text(self.f.vocab, written))
            .unwrap_or(0)
            > 0
    }

    /// The typos forgiven in `written`: `typos` (by its length), and one
    /// in a short word no page holds (a letter left out of a five-letter
    /// word leaves four: "tble" finds "table" rather than nothing).
    fn typos(&self, written: &str, typos: u8) -> u8 {
        if typos == 0 && written.chars().count() >= 3 && !self.known(written) {
            1
        } else {
            typos
        }
    }

    /// `text`, or when the index holds none of its words, the nearest
    /// word it holds.
    fn corrected(&mut self, text: &str) -> String {
        let Some((_, written)) = terms(&mut self.prefix, text).into_iter().next() else {
            return text.to_owned();
        };
        let typos = self.typos(&written, typos_for(text));
        if typos == 0 || self.known(&written) {
            return text.to_owned();
        }
        near(self.searcher, self.f.vocab, &written, typos, 1)
            .into_iter()
            .next()
            .map_or_else(|| text.to_owned(), |(w, _)| w)
    }

    fn phrase(&mut self, text: &str, scope: Scope) -> Option<Box<dyn Query>> {
        let t = one_per_position(terms(&mut self.text, text));
        Some(match t.as_slice() {
            [] => return None,
            [(_, term)] => should(
                self.fields(scope)
                    .into_iter()
                    .map(|(field, weight)| term_query(field, term, weight))
                    .collect(),
            ),
            _ => self.phrase_of(t, scope),
        })
    }

    fn phrase_of(&self, t: Vec<(usize, String)>, scope: Scope) -> Box<dyn Query> {
        should(self.phrases_of(t, scope))
    }

    /// The terms `t` in a row, one query per field.
    fn phrases_of(&self, t: Vec<(usize, String)>, scope: Scope) -> Vec<Box<dyn Query>> {
        let first = t[0].0;
        self.fields(scope)
            .into_iter()
            .map(|(field, weight)| {
                let terms = t
                    .iter()
                    .map(|(p, s)| (p - first, Term::from_field_text(field, s)))
                    .collect();
                boxed(BoostQuery::new(boxed(PhraseQuery::new_with_offset(terms)), weight))
            })
            .collect()
    }

    /// Words starting with what was typed (the last part of it, the
    /// earlier parts as words).
    fn prefix(&mut self, text: &str, scope: Scope) -> Option<Box<dyn Query>> {
        let mut parts: Vec<String> = terms(&mut self.prefix, text).into_iter().map(|(_, t)| t).collect();
        parts.dedup();
        let last = parts.pop()?;
        let stemmed = terms(&mut self.text, &last).into_iter().next().map(|(_, t)| t);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for p in &parts {
            if let Some(q) = self.word(p, scope) {
                clauses.push((Occur::Must, q));
            }
        }
        let mut completions = Vec::new();
        for (field, weight) in self.fields(scope) {
            let mut seen: HashMap<String, u64> = HashMap::new();
            for p in std::iter::once(&last).chain(stemmed.as_ref()) {
                for (t, n) in starting_with(self.searcher, field, p, PREFIX_TERMS) {
                    seen.insert(t, n);
                }
            }
            completions.extend(seen.keys().map(|t| term_query(field, t, weight)));
        }
        clauses.push((Occur::Must, should(completions)));
        Some(boxed(BooleanQuery::new(clauses)))
    }
}

impl SearchIndex {
    fn compiler<'a>(&self, searcher: &'a Searcher) -> Compiler<'a> {
        let get = |name: &str| {
            self.index
                .tokenizers()
                .get(name)
                .unwrap_or_else(crate::analyzer::prefix_analyzer)
        };
        Compiler {
            searcher,
            f: self.fields,
            text: get(TEXT),
            prefix: get(PREFIX),
            bonus: None,
        }
    }

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
        let mut c = self.compiler(&searcher);
        c.bonus = Some(None);
        let matched = c.items(&parsed.items);
        let bonus = c.bonus.take().flatten();
        let mut clauses = vec![(Occur::Must, matched)];
        if let Some(filter) = visible.query(self.fields.node, &searcher.schema().clone(), &self.filters) {
            clauses.push((Occur::Must, filter));
        }
        let query = BooleanQuery::new(clauses);
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
        let did_you_mean = if total == 0 {
            self.suggest(&searcher, raw, parsed)
        } else {
            None
        };
        Ok(Results {
            hits,
            total,
            facets,
            did_you_mean,
        })
    }

    fn hit(&self, doc: &TantivyDocument, snippets: &SnippetGenerator, score: f32) -> Hit {
        let f = self.fields;
        let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let body = text(f.body);
        let snippet = snippets.snippet(&body);
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

    /// For a query that found nothing: each word the index does not know
    /// replaced by the most common known word within two typos.
    fn suggest(&self, searcher: &Searcher, raw: &str, parsed: &Parsed) -> Option<Suggestion> {
        let mut prefix = self.compiler(searcher).prefix;
        let mut out = raw.to_owned();
        let mut changed = false;
        for word in parsed.words() {
            let t = terms(&mut prefix, word);
            let [(_, lower)] = t.as_slice() else {
                continue;
            };
            let known = searcher
                .doc_freq(&Term::from_field_text(self.fields.vocab, lower))
                .unwrap_or(0)
                > 0;
            if known || lower.chars().count() < 3 {
                continue;
            }
            let typos = if lower.chars().count() >= 5 { 2 } else { 1 };
            if let Some((better, _)) = near(searcher, self.fields.vocab, lower, typos, 1).into_iter().next() {
                out = out.replacen(word, &better, 1);
                changed = true;
            }
        }
        changed.then_some(Suggestion(out))
    }

    /// Pages whose title (or path) words start with what was typed, for a
    /// reader who sees `visible`: `(path, title)`, best first.
    pub fn titles(&self, typed: &str, visible: &Visibility, limit: usize) -> Result<Vec<(String, String)>> {
        let searcher = self.reader.searcher();
        let mut c = self.compiler(&searcher);
        let mut parts: Vec<String> = terms(&mut c.prefix, typed).into_iter().map(|(_, t)| t).collect();
        let Some(last) = parts.pop() else {
            return Ok(Vec::new());
        };
        let words = self.fields.words;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            parts.iter().map(|p| (Occur::Must, term_query(words, p, 1.0))).collect();
        let completions = starting_with(&searcher, words, &last, PREFIX_TERMS)
            .into_iter()
            .map(|(t, _)| {
                // The word itself ranks above longer words it starts.
                let weight = if t == last { 2.0 } else { 1.0 };
                term_query(words, &t, weight)
            })
            .collect();
        clauses.push((Occur::Must, should(completions)));
        if let Some(filter) = visible.query(self.fields.node, &searcher.schema().clone(), &self.filters) {
            clauses.push((Occur::Must, filter));
        }
        let query = BooleanQuery::new(clauses);
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

/// Adds the scores of the `bonus` queries to each of `best` they match.
/// Each query's scorer visits only those pages, in order ("seek danger":
/// a page that does not match is not searched past), so the positions
/// of the words are read for them alone.
fn rescore(searcher: &Searcher, bonus: &[Box<dyn Query>], best: &mut [(f32, u64, DocAddress)]) -> Result<()> {
    let mut order: Vec<usize> = (0..best.len()).collect();
    order.sort_by_key(|&i| best[i].2);
    for q in bonus {
        let weight = q.weight(EnableScoring::enabled_from_searcher(searcher))?;
        let mut current: Option<(u32, Box<dyn Scorer>)> = None;
        for &i in &order {
            let DocAddress { segment_ord, doc_id } = best[i].2;
            let s = match &mut current {
                Some((ord, s)) if *ord == segment_ord => {
                    if s.seek_danger(doc_id) != SeekDangerResult::Found {
                        continue;
                    }
                    s
                }
                _ => {
                    let (found, s) = weight.scorer_danger(searcher.segment_reader(segment_ord), doc_id, 1.0)?;
                    let s = &mut current.insert((segment_ord, s)).1;
                    if found != SeekDangerResult::Found {
                        continue;
                    }
                    s
                }
            };
            best[i].0 += s.score();
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
