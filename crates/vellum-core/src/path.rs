//! Page and folder paths.
//!
//! A page's public address is its path, e.g. `engineering/runbooks/deploy`.
//! Input is normalised once, at the edge, by [`PagePath::parse`]; everything
//! else trusts the result. The rules (documented for users in
//! `docs/user-guide.md`):
//!
//! * segments are separated by `/`; leading, trailing and repeated slashes
//!   are ignored;
//! * surrounding white space is trimmed and inner runs of white space become
//!   one `-`;
//! * letters are lower-cased (so links are case-insensitive);
//! * a segment may contain letters and digits of any script, `-`, `_` and
//!   `.`; it may not start with `.` and may not be exactly `-` (the `/-/`
//!   separator introduces sub-resources such as `/-/history`);
//! * at most [`MAX_SEGMENT_CHARS`] characters a segment, [`MAX_DEPTH`]
//!   segments and [`MAX_PATH_BYTES`] bytes in all.

use std::fmt;

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
    let mut out = String::with_capacity(trimmed.len());
    let mut in_space = false;
    for ch in trimmed.chars() {
        if ch.is_whitespace() {
            in_space = true;
            continue;
        }
        if in_space {
            out.push('-');
            in_space = false;
        }
        if ch.is_alphanumeric() {
            out.extend(ch.to_lowercase());
        } else if matches!(ch, '-' | '_' | '.') {
            out.push(ch);
        } else {
            return Err(PathError::InvalidChar {
                segment: trimmed.to_owned(),
                ch,
            });
        }
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

fn normalise(raw: &str) -> Result<String, PathError> {
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

    /// Wraps a path read back from storage, where it was stored normalised.
    pub fn from_trusted(path: String) -> Self {
        Self(path)
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

    pub fn from_trusted(path: String) -> Self {
        Self(path)
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

    proptest! {
        #[test]
        fn parse_is_idempotent_and_output_is_clean(raw in "\\PC{0,80}") {
            if let Ok(p) = PagePath::parse(&raw) {
                let again = PagePath::parse(p.as_str()).expect("normalised path parses");
                prop_assert_eq!(&again, &p);
                prop_assert!(!p.as_str().starts_with('/') && !p.as_str().ends_with('/'));
                prop_assert!(!p.as_str().contains("//"));
                prop_assert!(p.segments().all(|s| !s.is_empty() && s != "-" && !s.starts_with('.')));
                prop_assert!(!p.as_str().chars().any(|c| c.is_whitespace() || "?#%<>\"'\\&".contains(c)));
            }
        }

        #[test]
        fn segments_of_safe_words_always_parse(words in proptest::collection::vec("[A-Za-z0-9][A-Za-z0-9 _-]{0,20}", 1..6)) {
            let raw = words.join("/");
            prop_assert!(PagePath::parse(&raw).is_ok());
        }
    }
}
