//! Heading anchors: the ids comrak's `header_ids` would give, made unique
//! the same way (`intro`, `intro-1`, `intro-2`, ...), in linear time.
//!
//! comrak's [`Anchorizer`] makes a repeated heading try every suffix from
//! `-1` up, so a page of n identical headings costs n² (50,000 one-line
//! headings take minutes). Here comrak still turns the text into an anchor,
//! and the suffix search resumes where it last stopped for that anchor.
//! Taken anchors never become free, so the result is the same.

use std::collections::{HashMap, HashSet};

use comrak::Anchorizer;

use crate::sanitize::RESERVED_ID_PREFIX;

/// Put in front of an anchor that would start with the reserved id prefix,
/// so the heading keeps a working anchor.
const RESERVED_ANCHOR_ESCAPE: &str = "h-";

#[derive(Debug, Default)]
pub(crate) struct UniqueAnchors {
    taken: HashSet<String>,
    /// For each base anchor, the first suffix not yet known to be taken.
    next_suffix: HashMap<String, usize>,
}

impl UniqueAnchors {
    /// The anchor for a heading with this plain text, unique in the page.
    pub(crate) fn anchor_for(&mut self, heading_text: &str) -> String {
        // A fresh anchorizer never suffixes: this is comrak's normalisation.
        let mut base = Anchorizer::new().anchorize(heading_text.to_owned());
        if base.starts_with(RESERVED_ID_PREFIX) {
            base.insert_str(0, RESERVED_ANCHOR_ESCAPE);
        }
        let mut suffix = self.next_suffix.get(&base).copied().unwrap_or(0);
        let anchor = loop {
            let candidate = if suffix == 0 {
                base.clone()
            } else {
                format!("{base}-{suffix}")
            };
            if !self.taken.contains(&candidate) {
                break candidate;
            }
            suffix += 1;
        };
        self.next_suffix.insert(base, suffix + 1);
        self.taken.insert(anchor.clone());
        anchor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_comrak_anchorizer_including_tricky_suffixes() {
        let headings = [
            "Intro",
            "Intro",
            "intro-1",
            "Intro",
            "Intro-2",
            "Intro",
            "Ticks aren't in",
            "a-1",
            "a",
            "a",
            "a-1",
            "",
            "",
            "Ünïcödé 日本",
            "Ünïcödé 日本",
        ];
        let mut ours = UniqueAnchors::default();
        let mut comraks = Anchorizer::new();
        for heading in headings {
            assert_eq!(
                ours.anchor_for(heading),
                comraks.anchorize(heading.to_owned()),
                "{heading}"
            );
        }
    }

    #[test]
    fn reserved_prefix_is_escaped_and_still_unique() {
        let mut anchors = UniqueAnchors::default();
        assert_eq!(anchors.anchor_for("V-Toc"), "h-v-toc");
        assert_eq!(anchors.anchor_for("v-toc"), "h-v-toc-1");
        assert_eq!(anchors.anchor_for("h-v-toc"), "h-v-toc-2");
    }
}
