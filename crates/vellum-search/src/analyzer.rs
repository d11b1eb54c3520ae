//! How text becomes terms: one tokenizer for every language, then lower
//! case, accents folded and the language's stemmer.
//!
//! The tokenizer splits on anything that is not a letter or digit, so
//! identifiers and paths are findable by their parts (`rolling-update`,
//! `snake_case_name`, `engineering/runbooks`); a word with inner capitals
//! also gives its parts (`CamelCase` → `camelcase`, `camel`, `case`,
//! `HTTPServer` → `httpserver`, `http`, `server`). Chinese, Japanese and
//! Korean text, which has no spaces, becomes overlapping pairs of
//! characters (`数据库` → `数据`, `据库`), the usual way to index CJK
//! without a dictionary: a query's pairs must then appear in a row.

use std::cell::RefCell;
use std::collections::HashMap;

use frostem::Algorithm;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// The languages the index can stem. Any language's words are findable
/// (stemming only merges word forms), so mixed-language pages still match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// No stemming: words match as written (accents and case aside).
    None,
    English,
    German,
    French,
    Spanish,
    Portuguese,
    Italian,
    Dutch,
    Swedish,
    Norwegian,
    Danish,
    Finnish,
    Russian,
}

impl Language {
    pub const ALL: [Language; 13] = [
        Language::None,
        Language::English,
        Language::German,
        Language::French,
        Language::Spanish,
        Language::Portuguese,
        Language::Italian,
        Language::Dutch,
        Language::Swedish,
        Language::Norwegian,
        Language::Danish,
        Language::Finnish,
        Language::Russian,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::None => "none",
            Language::English => "english",
            Language::German => "german",
            Language::French => "french",
            Language::Spanish => "spanish",
            Language::Portuguese => "portuguese",
            Language::Italian => "italian",
            Language::Dutch => "dutch",
            Language::Swedish => "swedish",
            Language::Norwegian => "norwegian",
            Language::Danish => "danish",
            Language::Finnish => "finnish",
            Language::Russian => "russian",
        }
    }

    /// By name or ISO 639-1 code (`english`, `en`, `de`, …).
    pub fn parse(s: &str) -> Option<Language> {
        let s = s.trim().to_ascii_lowercase();
        Language::ALL.into_iter().find(|l| {
            l.as_str() == s
                || match l {
                    Language::None => s == "simple",
                    Language::English => s == "en",
                    Language::German => s == "de",
                    Language::French => s == "fr",
                    Language::Spanish => s == "es",
                    Language::Portuguese => s == "pt",
                    Language::Italian => s == "it",
                    Language::Dutch => s == "nl",
                    Language::Swedish => s == "sv",
                    Language::Norwegian => s == "no" || s == "nb",
                    Language::Danish => s == "da",
                    Language::Finnish => s == "fi",
                    Language::Russian => s == "ru",
                }
        })
    }

    fn stemmer(self) -> Option<Algorithm> {
        Some(match self {
            Language::None => return None,
            Language::English => Algorithm::English,
            Language::German => Algorithm::German,
            Language::French => Algorithm::French,
            Language::Spanish => Algorithm::Spanish,
            Language::Portuguese => Algorithm::Portuguese,
            Language::Italian => Algorithm::Italian,
            Language::Dutch => Algorithm::Dutch,
            Language::Swedish => Algorithm::Swedish,
            Language::Norwegian => Algorithm::Norwegian,
            Language::Danish => Algorithm::Danish,
            Language::Finnish => Algorithm::Finnish,
            Language::Russian => Algorithm::Russian,
        })
    }
}

/// Words longer than this are not indexed (hashes, base64 blobs).
const MAX_TERM_BYTES: usize = 60;

/// The analyzer for titles, headings and body text.
pub(crate) fn text_analyzer(language: Language) -> TextAnalyzer {
    let builder = TextAnalyzer::builder(WordTokenizer)
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .dynamic();
    match language.stemmer() {
        Some(stem) => builder.filter_dynamic(CachedStemmer(stem)).build(),
        None => builder.build(),
    }
}

/// The language's Snowball stemmer, remembering the stems of the words
/// it saw last (one cache per thread): stemming was the largest cost of
/// analysing text, for indexing and for snippets, and a wiki's text
/// repeats its words.
#[derive(Clone, Copy)]
struct CachedStemmer(Algorithm);

/// Words whose stems a thread remembers (then it forgets them all).
const STEM_CACHE: usize = 50_000;

thread_local! {
    static STEMS: RefCell<(Option<Algorithm>, HashMap<String, String, Fnv>)> =
        RefCell::new((None, HashMap::default()));
}

/// FNV-1a: the stem cache's keys are short words hashed per token, where
/// the standard SipHash cost as much as the lookup saved (no untrusted
/// input can hurt a per-thread cache that clears itself when full).
#[derive(Clone, Copy, Default)]
struct Fnv;

struct FnvHasher(u64);

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;

    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Clone)]
struct CachedStemmerFilter<T> {
    algorithm: Algorithm,
    inner: T,
}

struct CachedStemmerStream<T> {
    tail: T,
    algorithm: Algorithm,
    stemmer: frostem::Stemmer,
}

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            algorithm: self.0,
            inner,
        }
    }
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            algorithm: self.algorithm,
            stemmer: frostem::Stemmer::new(self.algorithm),
        }
    }
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        STEMS.with_borrow_mut(|(language, cache)| {
            if *language != Some(self.algorithm) {
                cache.clear();
                *language = Some(self.algorithm);
            }
            if let Some(stem) = cache.get(token.text.as_str()) {
                token.text.clear();
                token.text.push_str(stem);
                return;
            }
            let stem = self.stemmer.stem(&token.text).into_owned();
            if cache.len() >= STEM_CACHE {
                cache.clear();
            }
            let word = std::mem::replace(&mut token.text, stem.clone());
            cache.insert(word, stem);
        });
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The analyzer for prefixes typed so far (autocomplete, `word*`): the
/// same words, not stemmed (a stemmer would cut a half-typed word
/// anywhere).
pub(crate) fn prefix_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer)
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The terms `text` gives under `analyzer`, with their positions.
pub(crate) fn terms(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        out.push((t.position, t.text.clone()));
    }
    out
}

/// Whether `c` is written without spaces between words (CJK).
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x31F0..=0x31FF    // Katakana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0x20000..=0x2FA1F) // CJK extensions B and later
}

/// Splits text into words, word parts and CJK character pairs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WordTokenizer;

/// Tokens come one at a time into one reused [`Token`]; the parts of a
/// word with inner capitals and the pairs of a CJK run wait in `pending`
/// (byte ranges and positions).
pub(crate) struct WordStream<'a> {
    text: &'a str,
    /// Where scanning goes on, in bytes.
    at: usize,
    /// The position of the next word.
    position: usize,
    token: Token,
    pending: std::collections::VecDeque<(usize, usize, usize)>,
    /// Character boundaries of the current CJK run (reused).
    run: Vec<usize>,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        WordStream {
            text,
            at: 0,
            position: 0,
            token: Token::default(),
            pending: std::collections::VecDeque::new(),
            run: Vec::new(),
        }
    }
}

impl WordStream<'_> {
    fn emit(&mut self, (from, to, position): (usize, usize, usize)) {
        let t = &mut self.token;
        t.offset_from = from;
        t.offset_to = to;
        t.position = position;
        t.position_length = 1;
        t.text.clear();
        t.text.push_str(&self.text[from..to]);
    }

    /// Queues the tokens of the next word or CJK run; false at the end.
    fn scan(&mut self) -> bool {
        let text = self.text;
        let mut chars = text[self.at..].char_indices().map(|(i, c)| (i + self.at, c)).peekable();
        while let Some(&(start, c)) = chars.peek() {
            if is_cjk(c) {
                self.run.clear();
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if !is_cjk(c) {
                        break;
                    }
                    self.run.push(i);
                    end = i + c.len_utf8();
                    chars.next();
                }
                self.run.push(end);
                self.at = end;
                if self.run.len() == 2 {
                    self.pending.push_back((self.run[0], self.run[1], self.position));
                    self.position += 1;
                } else {
                    for k in 0..self.run.len() - 2 {
                        self.pending.push_back((self.run[k], self.run[k + 2], self.position));
                        self.position += 1;
                    }
                }
                return true;
            }
            if c.is_alphanumeric() {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if !c.is_alphanumeric() || is_cjk(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                self.at = end;
                self.pending.push_back((start, end, self.position));
                let before = self.pending.len();
                let mut position = self.position;
                for_case_parts(&text[start..end], |from, to| {
                    self.pending.push_back((start + from, start + to, position));
                    position += 1;
                });
                if self.pending.len() - before == 1 {
                    // One part: the word itself, already queued.
                    self.pending.pop_back();
                    self.position += 1;
                } else {
                    self.position = position;
                }
                return true;
            }
            chars.next();
        }
        self.at = text.len();
        false
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        if self.pending.is_empty() && !self.scan() {
            return false;
        }
        match self.pending.pop_front() {
            Some(next) => {
                self.emit(next);
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Where a word's inner capitals split it: `CamelCase` → `Camel`, `Case`;
/// `HTTPServer` → `HTTP`, `Server`; `parseJSON` → `parse`, `JSON`. Calls
/// `part` with byte ranges within the word, once with the whole word
/// when it has no inner capitals.
fn for_case_parts(word: &str, mut part: impl FnMut(usize, usize)) {
    let mut start = 0;
    let mut chars = word.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if let Some(p) = prev {
            let next_lower = chars.peek().is_some_and(|(_, n)| n.is_lowercase());
            if c.is_uppercase() && (p.is_lowercase() || (p.is_uppercase() && next_lower)) {
                part(start, i);
                start = i;
            }
        }
        prev = Some(c);
    }
    part(start, word.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(language: Language, text: &str) -> Vec<String> {
        terms(&mut text_analyzer(language), text)
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    #[test]
    fn identifiers_and_paths_split_into_their_parts() {
        assert_eq!(words(Language::None, "rolling-update"), ["rolling", "update"]);
        assert_eq!(words(Language::None, "snake_case_name"), ["snake", "case", "name"]);
        assert_eq!(
            words(Language::None, "engineering/runbooks"),
            ["engineering", "runbooks"]
        );
        assert_eq!(words(Language::None, "CamelCase"), ["camelcase", "camel", "case"]);
        assert_eq!(
            words(Language::None, "HTTPServer v2"),
            ["httpserver", "http", "server", "v2"]
        );
        assert_eq!(words(Language::None, "parseJSON"), ["parsejson", "parse", "json"]);
    }

    #[test]
    fn camel_case_parts_keep_phrase_positions() {
        let t = terms(&mut text_analyzer(Language::None), "use CamelCase here");
        assert_eq!(
            t,
            [
                (0, "use".to_owned()),
                (1, "camelcase".to_owned()),
                (1, "camel".to_owned()),
                (2, "case".to_owned()),
                (3, "here".to_owned())
            ]
        );
    }

    #[test]
    fn cached_stems_are_the_stemmers_own_in_every_language() {
        let text = "Rollbacks running configurations Häuser maisons canciones configuração";
        for language in [Language::English, Language::German, Language::French, Language::English] {
            let algorithm = language.stemmer().unwrap();
            let direct: Vec<String> = terms(&mut prefix_analyzer(), text)
                .into_iter()
                .map(|(_, w)| frostem::Stemmer::new(algorithm).stem(&w).into_owned())
                .collect();
            // Twice: from the stemmer, then from the cache.
            assert_eq!(words(language, text), direct, "{language:?}");
            assert_eq!(words(language, text), direct, "{language:?} (cached)");
        }
    }

    #[test]
    fn stemming_and_folding_per_language() {
        assert_eq!(words(Language::English, "Rollbacks running"), ["rollback", "run"]);
        assert_eq!(words(Language::German, "Häuser"), words(Language::German, "Hauser"));
        assert_eq!(words(Language::French, "café"), words(Language::French, "cafe"));
        assert_eq!(words(Language::None, "Café"), ["cafe"]);
        assert_eq!(
            words(Language::Spanish, "canciones"),
            words(Language::Spanish, "canción")
        );
    }

    #[test]
    fn cjk_becomes_character_pairs() {
        assert_eq!(words(Language::English, "数据库"), ["数据", "据库"]);
        assert_eq!(words(Language::English, "東京タワー"), ["東京", "京タ", "タワ", "ワー"]);
        assert_eq!(words(Language::English, "中"), ["中"]);
        assert_eq!(
            words(Language::English, "用Rust写数据库"),
            ["用", "rust", "写数", "数据", "据库"]
        );
    }

    #[test]
    fn odd_text_gives_no_terms_or_sensible_ones() {
        assert!(words(Language::English, "").is_empty());
        assert!(words(Language::English, "-- * ( ) \" 🎉 \u{0} \u{7}").is_empty());
        assert!(words(Language::English, &"x".repeat(100)).is_empty());
    }

    #[test]
    fn languages_parse_by_name_and_code() {
        assert_eq!(Language::parse("de"), Some(Language::German));
        assert_eq!(Language::parse("English"), Some(Language::English));
        assert_eq!(Language::parse("klingon"), None);
        for l in Language::ALL {
            assert_eq!(Language::parse(l.as_str()), Some(l));
        }
    }
}
