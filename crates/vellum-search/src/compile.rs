//! From a parsed query to a tantivy query: each word expanded by typos
//! (against the words as written) and prefixes (against the index's own
//! terms), searched in every field with its weight; phrases, filters and
//! groups; and the phrase bonus of the query's words in a row.

use std::collections::HashMap;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Searcher, Term};

use crate::analyzer::terms;
use crate::expand::{near, starting_with, typos_for};
use crate::query::{Item, Node, Parsed, Scope};
use crate::{Fields, SearchIndex, PREFIX, TEXT};

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
/// The phrase bonus: one query per field.
pub(crate) type Bonus = Vec<Box<dyn Query>>;

pub(crate) struct Compiler<'a> {
    searcher: &'a Searcher,
    f: Fields,
    text: TextAnalyzer,
    prefix: TextAnalyzer,
    /// The phrase bonus of the query's top level, once compiled (`None`
    /// inside: nested groups keep theirs in their query).
    bonus: Option<Option<Bonus>>,
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

impl Compiler<'_> {
    /// The query for `items`, and the phrase bonus of its words in a row
    /// (to add to the best matches only).
    pub(crate) fn query(&mut self, items: &[Item]) -> (Box<dyn Query>, Option<Bonus>) {
        self.bonus = Some(None);
        let matched = self.items(items);
        (matched, self.bonus.take().flatten())
    }

    /// Pages whose title (or path) words start with `typed`; `None` when
    /// nothing was typed.
    pub(crate) fn titles(&mut self, typed: &str) -> Option<Box<dyn Query>> {
        let mut parts: Vec<String> = terms(&mut self.prefix, typed).into_iter().map(|(_, t)| t).collect();
        let last = parts.pop()?;
        let words = self.f.words;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            parts.iter().map(|p| (Occur::Must, term_query(words, p, 1.0))).collect();
        let completions = starting_with(self.searcher, words, &last, PREFIX_TERMS)
            .into_iter()
            .map(|(t, _)| {
                // The word itself ranks above longer words it starts.
                let weight = if t == last { 2.0 } else { 1.0 };
                term_query(words, &t, weight)
            })
            .collect();
        clauses.push((Occur::Must, should(completions)));
        Some(boxed(BooleanQuery::new(clauses)))
    }

    /// For a query that found nothing: each word the index does not know
    /// replaced by the most common known word within two typos.
    pub(crate) fn suggestion(&mut self, raw: &str, parsed: &Parsed) -> Option<String> {
        let mut out = raw.to_owned();
        let mut changed = false;
        for word in parsed.words() {
            let t = terms(&mut self.prefix, word);
            let [(_, lower)] = t.as_slice() else {
                continue;
            };
            let known = self
                .searcher
                .doc_freq(&Term::from_field_text(self.f.vocab, lower))
                .unwrap_or(0)
                > 0;
            if known || lower.chars().count() < 3 {
                continue;
            }
            let typos = if lower.chars().count() >= 5 { 2 } else { 1 };
            if let Some((better, _)) = near(self.searcher, self.f.vocab, lower, typos, 1).into_iter().next() {
                out = out.replacen(word, &better, 1);
                changed = true;
            }
        }
        changed.then_some(out)
    }
}

impl SearchIndex {
    pub(crate) fn compiler<'a>(&self, searcher: &'a Searcher) -> Compiler<'a> {
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
}
