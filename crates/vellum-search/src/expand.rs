//! Terms of the index near a query word: within a few typos (Levenshtein
//! automata over each segment's term dictionary), or starting with a
//! prefix. Each comes with its document frequency, so callers keep the
//! most common.

use std::collections::HashMap;
use std::sync::OnceLock;

use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA, SINK_STATE};
use tantivy::schema::Field;
use tantivy::Searcher;
use tantivy_fst::Automaton;

/// Typos forgiven in a word of this many characters: none below five,
/// one up to eight, two from nine (what users of typo-tolerant search
/// engines expect: short words are too easily another word).
pub(crate) fn typos_for(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

fn builder(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    let cell = if distance <= 1 { &ONE } else { &TWO };
    cell.get_or_init(|| LevenshteinAutomatonBuilder::new(distance.clamp(1, 2), true))
}

struct Typos<'a>(&'a DFA);

impl Automaton for Typos<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

/// Terms of `field` within `distance` edits of `term` (itself excluded),
/// nearest first and, at the same distance, most frequent first: at most
/// `limit`, as `(term, edits)`.
pub(crate) fn near(searcher: &Searcher, field: Field, term: &str, distance: u8, limit: usize) -> Vec<(String, u8)> {
    if distance == 0 {
        return Vec::new();
    }
    let dfa = builder(distance).build_dfa(term);
    let mut found: HashMap<String, (u8, u64)> = HashMap::new();
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inverted.terms().search(Typos(&dfa)).into_stream() else {
            continue;
        };
        while stream.advance() {
            let Ok(t) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if t == term {
                continue;
            }
            let edits = match dfa.eval(t) {
                Distance::Exact(d) => d,
                Distance::AtLeast(_) => continue,
            };
            let e = found.entry(t.to_owned()).or_insert((edits, 0));
            e.1 += u64::from(stream.value().doc_freq);
        }
    }
    let mut v: Vec<(String, (u8, u64))> = found.into_iter().collect();
    v.sort_by(|a, b| {
        a.1 .0
            .cmp(&b.1 .0)
            .then(b.1 .1.cmp(&a.1 .1))
            .then_with(|| a.0.cmp(&b.0))
    });
    v.truncate(limit);
    v.into_iter().map(|(t, (d, _))| (t, d)).collect()
}

/// Terms of `field` starting with `prefix`, most frequent first, at most
/// `limit`.
pub(crate) fn starting_with(searcher: &Searcher, field: Field, prefix: &str, limit: usize) -> Vec<(String, u64)> {
    let mut found: HashMap<String, u64> = HashMap::new();
    let mut end = prefix.as_bytes().to_vec();
    end.push(0xFF);
    for segment in searcher.segment_readers() {
        let Ok(inverted) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inverted.terms().range().ge(prefix.as_bytes()).lt(&end).into_stream() else {
            continue;
        };
        let mut seen = 0;
        while stream.advance() {
            if let Ok(t) = std::str::from_utf8(stream.key()) {
                *found.entry(t.to_owned()).or_default() += u64::from(stream.value().doc_freq);
            }
            // A one-letter prefix can have tens of thousands of terms:
            // the first few thousand (in order) are plenty to choose from.
            seen += 1;
            if seen > 5_000 {
                break;
            }
        }
    }
    most_frequent(found, limit)
}

fn most_frequent(found: HashMap<String, u64>, limit: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = found.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(limit);
    v
}
