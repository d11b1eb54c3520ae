//! Three-way merge of two edits made from the same revision, so an editor
//! who saved second does not lose the first editor's work.
//!
//! The rule, line by line: edits of different lines merge, even when the
//! lines are next to each other; two identical edits are that edit; edits
//! of the same lines, and different insertions at the same point, are a
//! conflict the editor resolves by hand. That includes the same change
//! made within otherwise different edits: a line added alike on both sides
//! may be meant once or twice. Where repeated or blank lines leave it open
//! which lines an edit changed (adding an `x` to `x\nx\n` adds the first,
//! second or third), the edit counts as touching all of them. So a clean
//! merge is the base with exactly both edits applied, however they are
//! read: a merge never invents or drops text (see `align`).
//!
//! Conflicts use the two-sided style (`<<<<<<< ours`, `=======`,
//! `>>>>>>> theirs`) the user guide describes, each marker on a line of its
//! own, around both sides' versions of the lines where their edits meet.

mod align;

use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use align::Hunk;

/// Past this, the line diffs settle for correct but possibly longer
/// answers, which can only turn a clean merge into a conflict.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

/// The result of [`merge3`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Both edits applied.
    Clean(String),
    /// Both edits touched the same lines; the text holds both sides between
    /// conflict markers (`<<<<<<< ours`, `=======`, `>>>>>>> theirs`), the
    /// rest merged.
    Conflict { merged_with_markers: String },
}

/// Merges `ours` and `theirs`, both edited from `base`, line by line.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> MergeOutcome {
    if ours == theirs || theirs == base {
        return MergeOutcome::Clean(ours.to_owned());
    }
    if ours == base {
        return MergeOutcome::Clean(theirs.to_owned());
    }
    let [base, ours, theirs] = [base, ours, theirs].map(Text::new);
    let mut ids = LineIds::default();
    let [base_ids, ours_ids, theirs_ids] = [&base, &ours, &theirs].map(|text| ids.of(&text.lines));
    let deadline = Instant::now() + DIFF_TIMEOUT;
    let merge = Merge {
        base: &base.lines,
        ours: Side {
            hunks: align::changes(&base_ids, &ours_ids, deadline),
            lines: &ours.lines,
        },
        theirs: Side {
            hunks: align::changes(&base_ids, &theirs_ids, deadline),
            lines: &theirs.lines,
        },
    };
    let (mut merged, conflicted) = merge.run();
    if !merged.text.is_empty() && !final_newline(&base, &ours, &theirs) && !merged.after_marker {
        merged.text.pop();
    }
    if conflicted {
        MergeOutcome::Conflict {
            merged_with_markers: merged.text,
        }
    } else {
        MergeOutcome::Clean(merged.text)
    }
}

/// A text as the merge sees it: its lines, without their line breaks, and
/// whether the last one has a line break. Whether a text ends in a line
/// break is merged on its own, as a property of the text rather than of
/// its last line, so that an edit of the last line, or lines added after
/// it, is not also an edit of the line break.
struct Text<'t> {
    lines: Vec<&'t str>,
    /// `None` for the empty text, which has no last line.
    final_newline: Option<bool>,
}

impl<'t> Text<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            lines: text
                .split_inclusive('\n')
                .map(|line| line.strip_suffix('\n').unwrap_or(line))
                .collect(),
            final_newline: (!text.is_empty()).then(|| text.ends_with('\n')),
        }
    }
}

/// Whether the merged text ends in a line break: as a side changed it, or
/// as the base has it. Only a change from one value to the other is
/// possible, so the two sides cannot disagree, except from an empty base,
/// to which both then add lines: a conflict.
fn final_newline(base: &Text<'_>, ours: &Text<'_>, theirs: &Text<'_>) -> bool {
    let changed = |side: &Text<'_>| side.final_newline.filter(|_| side.final_newline != base.final_newline);
    changed(ours)
        .or_else(|| changed(theirs))
        .or(base.final_newline)
        .unwrap_or(true)
}

/// Numbers each distinct line, so that diffs compare numbers.
#[derive(Default)]
struct LineIds<'t> {
    ids: HashMap<&'t str, u32>,
}

impl<'t> LineIds<'t> {
    fn of(&mut self, lines: &[&'t str]) -> Vec<u32> {
        lines
            .iter()
            .map(|line| {
                let next = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
                *self.ids.entry(line).or_insert(next)
            })
            .collect()
    }
}

struct Side<'m, 't> {
    lines: &'m [&'t str],
    hunks: Vec<Hunk>,
}

struct Merge<'m, 't> {
    base: &'m [&'t str],
    ours: Side<'m, 't>,
    theirs: Side<'m, 't>,
}

/// Base lines where hunks of either side interact, and those hunks (as
/// index ranges into each side's hunks).
struct Region {
    base: Range<usize>,
    ours: Range<usize>,
    theirs: Range<usize>,
}

impl<'t> Merge<'_, 't> {
    /// The merged lines, each with a line break, and whether any conflict.
    fn run(&self) -> (Output, bool) {
        let mut out = Output::default();
        let mut conflicted = false;
        let mut copied_to = 0;
        let (mut next_ours, mut next_theirs) = (0, 0);
        while let Some(region) = self.next_region(next_ours, next_theirs) {
            out.lines(&self.base[copied_to..region.base.start]);
            let ours = || self.region_lines(&self.ours, &region.base, region.ours.clone());
            let theirs = || self.region_lines(&self.theirs, &region.base, region.theirs.clone());
            match (region.ours.is_empty(), region.theirs.is_empty()) {
                (false, true) => out.lines(&ours()),
                (true, false) => out.lines(&theirs()),
                // Both sides changing a region alike is no exception: the
                // same line added on each side may be meant once or twice.
                _ => {
                    conflicted = true;
                    out.conflict(&ours(), &theirs());
                }
            }
            copied_to = region.base.end;
            (next_ours, next_theirs) = (region.ours.end, region.theirs.end);
        }
        out.lines(&self.base[copied_to..]);
        (out, conflicted)
    }

    /// The next region from the first unmerged hunk of either side: it
    /// grows while a hunk of the other side overlaps it, or starts where it
    /// ends when both may insert there.
    fn next_region(&self, next_ours: usize, next_theirs: usize) -> Option<Region> {
        let key = |hunk: &Hunk| (hunk.base.start, hunk.base.end);
        let ours_first = match (self.ours.hunks.get(next_ours), self.theirs.hunks.get(next_theirs)) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(o), Some(t)) => key(o) <= key(t),
        };
        let first = if ours_first {
            &self.ours.hunks[next_ours]
        } else {
            &self.theirs.hunks[next_theirs]
        };
        let mut region = Region {
            base: first.base.clone(),
            ours: next_ours..next_ours + usize::from(ours_first),
            theirs: next_theirs..next_theirs + usize::from(!ours_first),
        };
        // Whether the hunk that ends the region may insert at its end.
        let mut inserts_at_end = first.inserts_at_end;
        loop {
            let end = region.base.end;
            let joins = |hunk: &&Hunk| {
                hunk.base.start < end || (hunk.base.start == end && inserts_at_end && hunk.inserts_at_start)
            };
            let hunk = if let Some(hunk) = self.ours.hunks.get(region.ours.end).filter(joins) {
                region.ours.end += 1;
                hunk
            } else if let Some(hunk) = self.theirs.hunks.get(region.theirs.end).filter(joins) {
                region.theirs.end += 1;
                hunk
            } else {
                return Some(region);
            };
            if hunk.base.end > end || (hunk.base.end == end && hunk.inserts_at_end) {
                inserts_at_end = hunk.inserts_at_end;
            }
            region.base.end = end.max(hunk.base.end);
        }
    }

    /// The lines one side has for the base lines of a region.
    fn region_lines(&self, side: &Side<'_, 't>, base: &Range<usize>, hunks: Range<usize>) -> Vec<&'t str> {
        let mut lines = Vec::new();
        let mut at = base.start;
        for hunk in &side.hunks[hunks] {
            lines.extend_from_slice(&self.base[at..hunk.base.start]);
            lines.extend_from_slice(&side.lines[hunk.side.clone()]);
            at = hunk.base.end;
        }
        lines.extend_from_slice(&self.base[at..base.end]);
        lines
    }
}

/// The merged text, every line with a line break so far.
#[derive(Default)]
struct Output {
    text: String,
    /// The last line is a conflict marker, which keeps its line break even
    /// at the end of a text without one.
    after_marker: bool,
}

impl Output {
    fn lines(&mut self, lines: &[&str]) {
        for line in lines {
            self.text.push_str(line);
            self.text.push('\n');
            self.after_marker = false;
        }
    }

    fn marker(&mut self, marker: &str) {
        self.text.push_str(marker);
        self.text.push('\n');
        self.after_marker = true;
    }

    /// Both sides' lines between markers. All of them: lines the sides
    /// begin or end with alike may still be two edits rather than one.
    fn conflict(&mut self, ours: &[&str], theirs: &[&str]) {
        self.marker("<<<<<<< ours");
        self.lines(ours);
        self.marker("=======");
        self.lines(theirs);
        self.marker(">>>>>>> theirs");
    }
}

#[cfg(test)]
mod tests;
