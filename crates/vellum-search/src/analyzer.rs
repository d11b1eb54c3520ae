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

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language as Stem, LowerCaser, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream,
    Tokenizer,
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

    fn stemmer(self) -> Option<Stem> {
        Some(match self {
            Language::None => return None,
            Language::English => Stem::English,
            Language::German => Stem::German,
            Language::French => Stem::French,
            Language::Spanish => Stem::Spanish,
            Language::Portuguese => Stem::Portuguese,
            Language::Italian => Stem::Italian,
            Language::Dutch => Stem::Dutch,
            Language::Swedish => Stem::Swedish,
            Language::Norwegian => Stem::Norwegian,
            Language::Danish => Stem::Danish,
            Language::Finnish => Stem::Finnish,
            Language::Russian => Stem::Russian,
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
        Some(stem) => builder.filter_dynamic(Stemmer::new(stem)).build(),
        None => builder.build(),
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

pub(crate) struct WordStream {
    tokens: Vec<Token>,
    next: usize,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream {
        WordStream {
            tokens: tokenize(text),
            next: 0,
        }
    }
}

impl TokenStream for WordStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

fn token(text: &str, from: usize, to: usize, position: usize) -> Token {
    Token {
        offset_from: from,
        offset_to: to,
        position,
        text: text[from..to].to_owned(),
        position_length: 1,
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut position = 0;
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if is_cjk(c) {
            let mut run = Vec::new();
            while let Some(&(i, c)) = chars.peek() {
                if !is_cjk(c) {
                    break;
                }
                run.push((i, i + c.len_utf8()));
                chars.next();
            }
            if run.len() == 1 {
                out.push(token(text, run[0].0, run[0].1, position));
                position += 1;
            } else {
                for pair in run.windows(2) {
                    out.push(token(text, pair[0].0, pair[1].1, position));
                    position += 1;
                }
            }
        } else if c.is_alphanumeric() {
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if !c.is_alphanumeric() || is_cjk(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            let parts = case_parts(&text[start..end]);
            out.push(token(text, start, end, position));
            if parts.len() > 1 {
                let n = parts.len();
                for (k, (from, to)) in parts.into_iter().enumerate() {
                    out.push(token(text, start + from, start + to, position + k));
                }
                position += n;
            } else {
                position += 1;
            }
        } else {
            chars.next();
        }
    }
    out
}

/// Where a word's inner capitals split it: `CamelCase` → `Camel`, `Case`;
/// `HTTPServer` → `HTTP`, `Server`; `parseJSON` → `parse`, `JSON`. Byte
/// ranges within the word; one range for a word without inner capitals.
fn case_parts(word: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut parts = Vec::new();
    let mut start = 0;
    for k in 1..chars.len() {
        let (i, c) = chars[k];
        let prev = chars[k - 1].1;
        let next_lower = chars.get(k + 1).is_some_and(|(_, n)| n.is_lowercase());
        let boundary = c.is_uppercase() && (prev.is_lowercase() || (prev.is_uppercase() && next_lower));
        if boundary {
            parts.push((start, i));
            start = i;
        }
    }
    parts.push((start, word.len()));
    parts
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
