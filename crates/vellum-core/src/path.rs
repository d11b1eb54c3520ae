//! Page and folder paths.
//!
//! A page's public address is its path, e.g. `engineering/runbooks/deploy`.
//! Input is normalised once, at the edge, by [`PagePath::parse`]; everything
//! else trusts the result. A normalised path parses back to itself, so a path
//! stored once is found again by every later request. The rules (documented
//! for users in `docs/user-guide.md`):
//!
//! * the input is put in Unicode Normalization Form C (NFC), so `é` typed as
//!   one character and as `e` plus a combining accent is the same path;
//! * segments are separated by `/`; leading, trailing and repeated slashes
//!   are ignored;
//! * surrounding white space is trimmed and inner runs of white space become
//!   one `-`;
//! * letters are lower-cased with Unicode's full, context-aware mapping (so
//!   links are case-insensitive: `ΟΔΟΣ` is `οδος`, and `İ` becomes `i`
//!   followed by a combining dot above), and the result is put in NFC again;
//! * a segment may contain letters and digits of any script (Unicode's
//!   `Alphabetic` and `Numeric` properties), `-`, `_` and `.`, and combining
//!   marks (general category `M`: accents, Indic vowel signs and viramas)
//!   directly after a letter, a digit or another such mark; nothing else,
//!   so no controls, invisible format characters, white space or
//!   punctuation such as `?#%<>"'\&`;
//! * a segment may not start with `.` and may not be exactly `-` (the `/-/`
//!   separator introduces sub-resources such as `/-/history`);
//! * at most [`MAX_SEGMENT_CHARS`] characters a segment, [`MAX_DEPTH`]
//!   segments and [`MAX_PATH_BYTES`] bytes in all, counted on the normalised
//!   path.

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

pub const MAX_SEGMENT_CHARS: usize = 100;
pub const MAX_DEPTH: usize = 16;
pub const MAX_PATH_BYTES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the page path is empty; give a path such as `team/handbook`")]
    Empty,
    #[error("the path segment `{segment}` contains `{ch}`; use letters, digits, `-`, `_` or `.`")]
    InvalidChar { segment: String, ch: char },
    #[error("the path segment `{0}` is reserved or starts with `.`; choose another name")]
    Reserved(String),
    #[error("the path segment `{segment}` is {len} characters long; the limit is {MAX_SEGMENT_CHARS}")]
    SegmentTooLong { segment: String, len: usize },
    #[error("the path has {0} segments; the limit is {MAX_DEPTH}")]
    TooDeep(usize),
    #[error("the path is {0} bytes long; the limit is {MAX_PATH_BYTES}")]
    TooLong(usize),
}

/// A normalised, non-empty page path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct PagePath(String);

/// A normalised folder path; the empty path is the root folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(transparent)]
pub struct FolderPath(String);

fn normalise_segment(raw: &str) -> Result<Option<String>, PathError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    // Lower-cased as a whole, not char by char, so that a final capital
    // sigma becomes `ς`; lower-casing can decompose (`İ`), hence NFC again.
    let lowered = nfc(&trimmed.to_lowercase()).into_owned();
    let mut out = String::with_capacity(lowered.len());
    let mut in_space = false;
    // Whether a combining mark may come next: after a letter or a digit, or
    // a mark that followed one.
    let mut mark_allowed = false;
    for ch in lowered.chars() {
        if ch.is_whitespace() {
            in_space = true;
            mark_allowed = false;
            continue;
        }
        if in_space {
            out.push('-');
            in_space = false;
        }
        if ch.is_alphanumeric() {
            mark_allowed = true;
        } else if mark_allowed && is_combining_mark(ch) {
            // Still allowed: marks stack (a vowel sign after a virama, say).
        } else if matches!(ch, '-' | '_' | '.') {
            mark_allowed = false;
        } else {
            return Err(PathError::InvalidChar {
                segment: trimmed.to_owned(),
                ch,
            });
        }
        out.push(ch);
    }
    if out == "-" || out.starts_with('.') {
        return Err(PathError::Reserved(out));
    }
    let len = out.chars().count();
    if len > MAX_SEGMENT_CHARS {
        return Err(PathError::SegmentTooLong { segment: out, len });
    }
    Ok(Some(out))
}

fn is_combining_mark(ch: char) -> bool {
    ch.general_category_group() == GeneralCategoryGroup::Mark
}

/// `text` in Normalization Form C, borrowed when it already is (as all
/// ASCII is).
fn nfc(text: &str) -> Cow<'_, str> {
    if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Whether `raw` is already a normalised path of plain ASCII (as most
/// stored paths are): then normalising it gives it back unchanged, and a
/// copy is all parsing needs. A property test holds this to the full rules.
fn is_normalised_ascii(raw: &str) -> bool {
    if raw.is_empty() || raw.len() > MAX_PATH_BYTES {
        return false;
    }
    let mut depth = 0;
    for segment in raw.split('/') {
        depth += 1;
        let plain = segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
        if !plain
            || segment.is_empty()
            || segment == "-"
            || segment.starts_with('.')
            || segment.len() > MAX_SEGMENT_CHARS
        {
            return false;
        }
    }
    depth <= MAX_DEPTH
}

fn normalise(raw: &str) -> Result<String, PathError> {
    if is_normalised_ascii(raw) {
        return Ok(raw.to_owned());
    }
    let raw = nfc(raw);
    let mut segments = Vec::new();
    for part in raw.split('/') {
        if let Some(segment) = normalise_segment(part)? {
            segments.push(segment);
        }
    }
    if segments.len() > MAX_DEPTH {
        return Err(PathError::TooDeep(segments.len()));
    }
    let joined = segments.join("/");
    if joined.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong(joined.len()));
    }
    Ok(joined)
}

impl PagePath {
    /// Normalises user input into a page path, or says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        let path = normalise(raw)?;
        if path.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(Self(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The last segment, e.g. `deploy` for `engineering/runbooks/deploy`.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The folder the page lives in (the root folder for a top-level page).
    pub fn folder(&self) -> FolderPath {
        match self.0.rfind('/') {
            Some(i) => FolderPath(self.0[..i].to_owned()),
            None => FolderPath::root(),
        }
    }

    /// The folder of the same name as this page, holding its child pages.
    pub fn as_folder(&self) -> FolderPath {
        FolderPath(self.0.clone())
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// A readable default title derived from the last segment.
    pub fn default_title(&self) -> String {
        let words = self.name().replace(['-', '_'], " ");
        let mut chars = words.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

impl FolderPath {
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Normalises user input; an empty or all-slash input is the root.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        normalise(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parent(&self) -> Option<FolderPath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => FolderPath(self.0[..i].to_owned()),
            None => FolderPath::root(),
        })
    }

    /// Every folder from the top down to this one, root excluded:
    /// `a/b/c` gives `a`, `a/b`, `a/b/c`.
    pub fn lineage(&self) -> Vec<FolderPath> {
        if self.is_root() {
            return Vec::new();
        }
        self.0
            .match_indices('/')
            .map(|(i, _)| FolderPath(self.0[..i].to_owned()))
            .chain(std::iter::once(self.clone()))
            .collect()
    }

    /// The path of a child page or folder called `name` in this folder.
    pub fn child(&self, name: &str) -> String {
        if self.is_root() {
            name.to_owned()
        } else {
            format!("{}/{}", self.0, name)
        }
    }

    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for PagePath {
    type Error = PathError;

    fn try_from(raw: String) -> Result<Self, PathError> {
        Self::parse(&raw)
    }
}

impl<'de> serde::Deserialize<'de> for PagePath {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for PagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for FolderPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    /// The rules without the ASCII shortcut.
    fn normalise_slowly(raw: &str) -> Result<String, PathError> {
        let raw = nfc(raw);
        let mut segments = Vec::new();
        for part in raw.split('/') {
            if let Some(segment) = normalise_segment(part)? {
                segments.push(segment);
            }
        }
        Ok(segments.join("/"))
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_case_space_and_slashes() {
        let p = PagePath::parse(" /Engineering//Run Books/ Deploy  Guide/ ").unwrap();
        assert_eq!(p.as_str(), "engineering/run-books/deploy-guide");
        assert_eq!(p.name(), "deploy-guide");
        assert_eq!(p.folder().as_str(), "engineering/run-books");
        assert_eq!(p.default_title(), "Deploy guide");
    }

    #[test]
    fn keeps_unicode_letters() {
        let p = PagePath::parse("Équipe/Überblick/日本語").unwrap();
        assert_eq!(p.as_str(), "équipe/überblick/日本語");
    }

    #[test]
    fn rejects_bad_input_with_specific_errors() {
        assert_eq!(PagePath::parse("//"), Err(PathError::Empty));
        assert!(matches!(
            PagePath::parse("a/b?c"),
            Err(PathError::InvalidChar { ch: '?', .. })
        ));
        assert!(matches!(PagePath::parse("a/-/b"), Err(PathError::Reserved(_))));
        assert!(matches!(PagePath::parse("a/../b"), Err(PathError::Reserved(_))));
        assert!(matches!(PagePath::parse(".hidden"), Err(PathError::Reserved(_))));
        let long = "x".repeat(MAX_SEGMENT_CHARS + 1);
        assert!(matches!(PagePath::parse(&long), Err(PathError::SegmentTooLong { .. })));
        let deep = vec!["a"; MAX_DEPTH + 1].join("/");
        assert!(matches!(PagePath::parse(&deep), Err(PathError::TooDeep(_))));
    }

    #[test]
    fn folder_lineage_and_parent() {
        let f = FolderPath::parse("a/b/c").unwrap();
        let names: Vec<_> = f.lineage().iter().map(|f| f.as_str().to_owned()).collect();
        assert_eq!(names, ["a", "a/b", "a/b/c"]);
        assert_eq!(f.parent().unwrap().as_str(), "a/b");
        assert_eq!(FolderPath::parse("a").unwrap().parent(), Some(FolderPath::root()));
        assert_eq!(FolderPath::root().parent(), None);
        assert!(FolderPath::parse("/").unwrap().is_root());
    }

    #[test]
    fn dotted_capital_i_gives_a_path_that_parses_back_to_itself() {
        let p = PagePath::parse("İstanbul").unwrap();
        assert_eq!(p.as_str(), "i\u{307}stanbul");
        assert_eq!(PagePath::parse(p.as_str()), Ok(p.clone()));
        assert_eq!(PagePath::parse("İSTANBUL"), Ok(p));
        // The dotless i is a letter of its own, and stays one.
        assert_eq!(PagePath::parse("Iı").unwrap().as_str(), "iı");
    }

    #[test]
    fn indic_scripts_with_vowel_signs_and_viramas_are_accepted() {
        for word in ["हिन्दी", "தமிழ்", "বাংলা", "ਪੰਜਾਬੀ"] {
            let p = PagePath::parse(word).unwrap_or_else(|err| panic!("{word}: {err}"));
            assert_eq!(p.as_str(), word);
            assert_eq!(PagePath::parse(p.as_str()), Ok(p));
        }
    }

    #[test]
    fn composed_and_decomposed_accents_are_the_same_path() {
        let precomposed = PagePath::parse("\u{e9}quipe/Caf\u{c9}").unwrap();
        let combining = PagePath::parse("e\u{301}quipe/Cafe\u{301}").unwrap();
        assert_eq!(precomposed, combining);
        assert_eq!(precomposed.as_str(), "\u{e9}quipe/caf\u{e9}");
        // Conjoining Hangul jamo compose into the syllable.
        assert_eq!(PagePath::parse("\u{1100}\u{1161}").unwrap().as_str(), "가");
    }

    #[test]
    fn final_capital_sigma_lowers_to_final_sigma() {
        assert_eq!(PagePath::parse("ΟΔΟΣ").unwrap().as_str(), "οδος");
        assert_eq!(PagePath::parse("ΟΔΟΣ Α").unwrap().as_str(), "οδος-α");
        assert_eq!(PagePath::parse("οδος"), PagePath::parse("ΟΔΟΣ"));
    }

    #[test]
    fn misplaced_marks_and_invisible_characters_are_refused_by_name() {
        let refused = |raw: &str| match PagePath::parse(raw) {
            Err(PathError::InvalidChar { ch, .. }) => ch,
            other => panic!("{raw:?} gave {other:?}"),
        };
        assert_eq!(refused("\u{301}abc"), '\u{301}');
        assert_eq!(refused("a/\u{307}b"), '\u{307}');
        assert_eq!(refused("a-\u{301}"), '\u{301}');
        assert_eq!(refused("a \u{301}"), '\u{301}');
        assert_eq!(refused("a\u{200d}b"), '\u{200d}');
        assert_eq!(refused("a\u{7}b"), '\u{7}');
        assert_eq!(refused("a\u{202e}b"), '\u{202e}');
        assert_eq!(refused("👩\u{200d}💻"), '👩');
        let err = PagePath::parse("a\u{301}\u{301}?").unwrap_err();
        assert!(err.to_string().contains("contains `?`"), "{err}");
    }

    #[test]
    fn every_single_character_normalises_to_a_fixed_point() {
        // Lower-casing and NFC each have exceptions (`İ`, singletons such as
        // the Kelvin sign, final sigma); check every scalar value, alone and
        // after a letter so that marks are tried too.
        for ch in (0..=0x10_FFFF_u32).filter_map(char::from_u32) {
            for raw in [ch.to_string(), format!("a{ch}"), format!("{ch}{ch}")] {
                if let Ok(once) = normalise(&raw) {
                    assert_eq!(normalise(&once).as_ref(), Ok(&once), "{raw:?}");
                }
            }
        }
    }

    /// Characters that have broken path normalisers: case mappings that
    /// change length or depend on context, compositions, invisible joiners,
    /// controls and the URL-special ASCII.
    const TRICKY: &[char] = &[
        'I',
        'i',
        'İ',
        'ı',
        'ß',
        'ẞ',
        'Σ',
        'σ',
        'ς',
        'ǅ',
        'ﬁ',
        'K',
        'Å',
        'Ω',
        'e',
        'E',
        'é',
        '\u{301}',
        '\u{307}',
        '\u{345}',
        '\u{338}',
        '\u{1100}',
        '\u{1161}',
        '\u{11a8}',
        '가',
        'क',
        '\u{94d}',
        '\u{93f}',
        '\u{958}',
        '\u{93c}',
        '👩',
        '\u{200d}',
        '💻',
        '\u{fe0f}',
        '\u{200c}',
        '\u{200b}',
        '\u{feff}',
        '\u{202e}',
        '\0',
        '\u{7}',
        '\t',
        '\n',
        '\r',
        '\u{85}',
        '\u{a0}',
        '\u{3000}',
        ' ',
        '/',
        '-',
        '_',
        '.',
        '?',
        '#',
        '%',
        '<',
        '>',
        '"',
        '\'',
        '\\',
        '&',
        '=',
        '~',
        '\u{d7ff}',
        '\u{e000}',
        '\u{10ffff}',
    ];

    fn arbitrary_text() -> impl Strategy<Value = String> {
        let ch = prop_oneof![any::<char>(), prop::sample::select(TRICKY)];
        proptest::collection::vec(ch, 0..40).prop_map(String::from_iter)
    }

    fn assert_clean(path: &str) -> Result<(), TestCaseError> {
        prop_assert!(!path.starts_with('/') && !path.ends_with('/'));
        prop_assert!(!path.contains("//"));
        for c in path.chars() {
            prop_assert!(
                !c.is_control() && !c.is_whitespace() && !"?#%<>\"'\\&".contains(c),
                "{:?} in {:?}",
                c,
                path
            );
            prop_assert!(
                !matches!(c.general_category_group(), GeneralCategoryGroup::Other),
                "{:?} in {:?}",
                c,
                path
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn the_ascii_shortcut_agrees_with_the_full_rules(raw in "[a-z0-9_./ A-Z-]{0,40}") {
            if is_normalised_ascii(&raw) {
                prop_assert_eq!(normalise_slowly(&raw), Ok(raw.clone()));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn parse_is_idempotent_and_output_is_clean(raw in "\\PC{0,80}") {
            if let Ok(p) = PagePath::parse(&raw) {
                let again = PagePath::parse(p.as_str()).expect("normalised path parses");
                prop_assert_eq!(&again, &p);
                assert_clean(p.as_str())?;
                prop_assert!(p.segments().all(|s| !s.is_empty() && s != "-" && !s.starts_with('.')));
            }
        }

        #[test]
        fn any_unicode_page_path_parses_back_to_itself(raw in arbitrary_text()) {
            if let Ok(p) = PagePath::parse(&raw) {
                prop_assert_eq!(PagePath::parse(p.as_str()), Ok(p.clone()));
                assert_clean(p.as_str())?;
                prop_assert!(p.segments().all(|s| !s.is_empty() && s != "-" && !s.starts_with('.')));
            }
        }

        #[test]
        fn any_unicode_folder_path_parses_back_to_itself(raw in arbitrary_text()) {
            if let Ok(f) = FolderPath::parse(&raw) {
                prop_assert_eq!(FolderPath::parse(f.as_str()), Ok(f.clone()));
                assert_clean(f.as_str())?;
            }
        }

        #[test]
        fn normalization_form_of_the_input_does_not_matter(raw in arbitrary_text()) {
            let decomposed: String = raw.nfd().collect();
            prop_assert_eq!(PagePath::parse(&decomposed), PagePath::parse(&raw));
        }

        #[test]
        fn segments_of_safe_words_always_parse(words in proptest::collection::vec("[A-Za-z0-9][A-Za-z0-9 _-]{0,20}", 1..6)) {
            let raw = words.join("/");
            prop_assert!(PagePath::parse(&raw).is_ok());
        }
    }
}
