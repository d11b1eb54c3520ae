//! What one side changed, as hunks of base lines it replaced, each widened
//! to every position a line diff could equally have put it at.
//!
//! A diff of texts with repeated lines has to choose: when a line `x` is
//! added to `x\nx\n`, it is as much the first as the third. A merge that
//! trusted one choice would apply the other side's edits around the wrong
//! lines and invent or drop text. So a side's changes are found twice
//! (Myers and Patience, which choose differently, both after the common
//! first and last lines), only the lines both match alike are kept as
//! unchanged, and each remaining hunk is slid up and down over the lines
//! equal to its own and widened to cover all its positions. The merge
//! treats anything that touches a widened hunk as touching the edit.
//!
//! A change is read as a diff reads it, in as few hunks as it can: lines
//! `y`, `x` added before an `x` are not also read as `y` before it and `x`
//! after it. With one edit a side, that reading is always right (the edit
//! covers every hunk its diff finds), which the property tests check.

use std::ops::Range;
use std::time::Instant;

use similar::{capture_diff_slices_deadline, Algorithm, DiffTag};

/// One side's change: the base lines `base` became the side's lines `side`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hunk {
    pub(super) base: Range<usize>,
    pub(super) side: Range<usize>,
    /// The change may be, or begin with, lines inserted right at
    /// `base.start`; two such insertions at one point have no order.
    pub(super) inserts_at_start: bool,
    /// As `inserts_at_start`, at `base.end`.
    pub(super) inserts_at_end: bool,
}

/// The hunks that turn `base` into `side` (both as line ids), sorted and
/// separated by at least one unchanged line.
pub(super) fn changes(base: &[u32], side: &[u32], deadline: Instant) -> Vec<Hunk> {
    let matched = matched_lines(base, side, deadline);
    let exact = hunks_between(&matched, base.len(), side.len());
    let widened = exact
        .iter()
        .enumerate()
        .map(|(i, hunk)| {
            let above = if i == 0 { 0 } else { exact[i - 1].base.end };
            let below = exact.get(i + 1).map_or(base.len(), |next| next.base.start);
            widen(hunk, base, side, above..below)
        })
        .collect();
    coalesce(widened)
}

/// For each base line, the side line it is unchanged as, if any: the
/// common prefix and suffix, and in between the lines that Myers and
/// Patience both match to the same side line.
fn matched_lines(base: &[u32], side: &[u32], deadline: Instant) -> Vec<Option<usize>> {
    let prefix = base.iter().zip(side).take_while(|(a, b)| a == b).count();
    let suffix = base[prefix..]
        .iter()
        .rev()
        .zip(side[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut matched: Vec<Option<usize>> = vec![None; base.len()];
    for (i, slot) in matched.iter_mut().enumerate().take(prefix) {
        *slot = Some(i);
    }
    for k in 0..suffix {
        matched[base.len() - 1 - k] = Some(side.len() - 1 - k);
    }
    let base_middle = &base[prefix..base.len() - suffix];
    let side_middle = &side[prefix..side.len() - suffix];
    if base_middle.is_empty() || side_middle.is_empty() {
        return matched;
    }
    let mut agreed: Option<Vec<Option<usize>>> = None;
    for algorithm in [Algorithm::Myers, Algorithm::Patience] {
        let mut found = vec![None; base_middle.len()];
        for op in capture_diff_slices_deadline(algorithm, base_middle, side_middle, Some(deadline)) {
            let (tag, old, new) = op.as_tag_tuple();
            if tag == DiffTag::Equal {
                for (b, s) in old.zip(new) {
                    found[b] = Some(s);
                }
            }
        }
        agreed = Some(match agreed {
            None => found,
            Some(earlier) => earlier
                .into_iter()
                .zip(found)
                .map(|(a, b)| if a == b { a } else { None })
                .collect(),
        });
    }
    for (b, s) in agreed.into_iter().flatten().enumerate() {
        matched[prefix + b] = s.map(|s| prefix + s);
    }
    matched
}

/// The hunks between matched lines. Matches are in order on both sides, as
/// a subset of one diff's matches always is.
fn hunks_between(matched: &[Option<usize>], base_len: usize, side_len: usize) -> Vec<Hunk> {
    let mut hunks = Vec::new();
    let (mut base_next, mut side_next) = (0, 0);
    let pairs = matched
        .iter()
        .enumerate()
        .filter_map(|(b, s)| s.map(|s| (b, s)))
        .chain([(base_len, side_len)]);
    for (b, s) in pairs {
        if b > base_next || s > side_next {
            hunks.push(Hunk {
                base: base_next..b,
                side: side_next..s,
                inserts_at_start: b == base_next,
                inserts_at_end: b == base_next,
            });
        }
        (base_next, side_next) = (b + 1, s + 1);
    }
    hunks
}

/// `hunk` widened over every position it can slide to between the lines
/// `room` (the unchanged lines up to its neighbours). A hunk slides up one
/// line when the unchanged line above it equals its own last lines on both
/// sides, so the same texts align with the hunk one line higher; and down
/// likewise.
fn widen(hunk: &Hunk, base: &[u32], side: &[u32], room: Range<usize>) -> Hunk {
    let slides = |b: &Range<usize>, s: &Range<usize>, up: bool| -> bool {
        let (from, to) = if up {
            (b.start.checked_sub(1), b.end.checked_sub(1))
        } else {
            (Some(b.start), Some(b.end))
        };
        let (side_from, side_to) = if up {
            (s.start.checked_sub(1), s.end.checked_sub(1))
        } else {
            (Some(s.start), Some(s.end))
        };
        let in_room = if up { b.start > room.start } else { b.end < room.end };
        let same = |lines: &[u32], from: Option<usize>, to: Option<usize>, empty: bool| {
            empty || matches!((from, to), (Some(f), Some(t)) if lines.get(f).is_some() && lines.get(f) == lines.get(t))
        };
        in_room && same(base, from, to, b.is_empty()) && same(side, side_from, side_to, s.is_empty())
    };
    let (mut base_up, mut side_up) = (hunk.base.clone(), hunk.side.clone());
    while slides(&base_up, &side_up, true) {
        base_up = base_up.start - 1..base_up.end - 1;
        side_up = side_up.start - 1..side_up.end - 1;
    }
    let (mut base_down, mut side_down) = (hunk.base.clone(), hunk.side.clone());
    while slides(&base_down, &side_down, false) {
        base_down = base_down.start + 1..base_down.end + 1;
        side_down = side_down.start + 1..side_down.end + 1;
    }
    Hunk {
        base: base_up.start..base_down.end,
        side: side_up.start..side_down.end,
        ..hunk.clone()
    }
}

/// Joins hunks that overlap or touch once widened: two neighbours may have
/// slid into the same unchanged lines.
fn coalesce(hunks: Vec<Hunk>) -> Vec<Hunk> {
    let mut out: Vec<Hunk> = Vec::with_capacity(hunks.len());
    for hunk in hunks {
        match out.last_mut() {
            Some(last) if hunk.base.start <= last.base.end => {
                last.base.end = last.base.end.max(hunk.base.end);
                last.side.end = last.side.end.max(hunk.side.end);
                last.inserts_at_end = hunk.inserts_at_end;
            }
            _ => out.push(hunk),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far_deadline() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    fn hunk(base: Range<usize>, side: Range<usize>) -> Hunk {
        Hunk {
            base,
            side,
            inserts_at_start: false,
            inserts_at_end: false,
        }
    }

    /// An insertion, widened over `base`.
    fn insertion(base: Range<usize>, side: Range<usize>) -> Hunk {
        Hunk {
            inserts_at_start: true,
            inserts_at_end: true,
            ..hunk(base, side)
        }
    }

    #[test]
    fn an_insertion_among_equal_lines_covers_all_of_them() {
        // x x x -> x x x x: the new x could be any of the four.
        assert_eq!(
            changes(&[1, 1, 1], &[1, 1, 1, 1], far_deadline()),
            [insertion(0..3, 0..4)]
        );
        // a x x b -> a x x x b: only the x run.
        assert_eq!(
            changes(&[0, 1, 1, 2], &[0, 1, 1, 1, 2], far_deadline()),
            [insertion(1..3, 1..4)]
        );
    }

    #[test]
    fn a_deletion_among_equal_lines_covers_all_of_them() {
        assert_eq!(
            changes(&[0, 1, 1, 1, 2], &[0, 1, 1, 2], far_deadline()),
            [hunk(1..4, 1..3)]
        );
    }

    #[test]
    fn a_replacement_among_unique_lines_stays_put() {
        assert_eq!(
            changes(&[0, 1, 2, 3, 4], &[0, 1, 9, 3, 4], far_deadline()),
            [hunk(2..3, 2..3)]
        );
        // Replacing one of five equal lines: its neighbours differ from it
        // on the side, so it cannot slide either.
        assert_eq!(
            changes(&[1, 1, 1, 1, 1], &[1, 9, 1, 1, 1], far_deadline()),
            [hunk(1..2, 1..2)]
        );
    }

    #[test]
    fn separate_changes_stay_separate() {
        assert_eq!(
            changes(&[0, 1, 2, 3, 4, 5], &[9, 1, 2, 3, 4, 8], far_deadline()),
            [hunk(0..1, 0..1), hunk(5..6, 5..6)]
        );
        // Insertions into two runs of x with a y between: each covers its
        // own run only.
        assert_eq!(
            changes(&[1, 1, 2, 1, 1], &[1, 1, 1, 2, 1, 1, 1], far_deadline()),
            [insertion(0..2, 0..3), insertion(3..5, 4..7)]
        );
    }

    #[test]
    fn widened_hunks_that_meet_become_one() {
        let joined = coalesce(vec![insertion(0..2, 0..3), hunk(2..4, 3..4), hunk(6..7, 5..5)]);
        assert_eq!(
            joined,
            [
                Hunk {
                    base: 0..4,
                    side: 0..4,
                    inserts_at_start: true,
                    inserts_at_end: false,
                },
                hunk(6..7, 5..5),
            ]
        );
    }
}
