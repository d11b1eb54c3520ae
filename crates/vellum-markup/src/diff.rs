//! Line diffs between two revisions of a page, for the history view: hunks
//! with three lines of context, line numbers on both sides, and the words
//! that changed within a changed line marked, plus classic unified-diff
//! text.
//!
//! The output is bounded whatever the revisions: long runs of unchanged
//! lines are left out (only [`CONTEXT_LINES`] around each change are
//! shown), at most [`MAX_DIFF_LINES`] lines in [`MAX_HUNKS`] hunks are
//! reported, and word emphasis is skipped where it would cost too much. A
//! diff cut short says so ([`LineDiff::truncated`]).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;
use similar::{ChangeTag, DiffOp, DiffTag, InlineChange, TextDiff};

/// Unchanged lines shown around each change.
const CONTEXT_LINES: usize = 3;

/// Lines (changed and context) reported at most; the rest are counted in
/// [`LineDiff::omitted_lines`]. Each reported line costs about a hundred
/// bytes of JSON besides its text.
pub const MAX_DIFF_LINES: usize = 3_000;

/// Hunks reported at most (each has at least seven lines when it has context
/// on both sides, so this binds for many small, scattered changes).
pub const MAX_HUNKS: usize = 300;

/// Past this, the line diff settles for a correct but possibly longer
/// answer instead of the shortest one, so huge pages cannot stall a request.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

/// Time spent on word emphasis for a whole diff, at most.
const EMPHASIS_TIMEOUT: Duration = Duration::from_millis(200);

/// Runs of changed lines longer than this (old and new lines together) are
/// not compared word by word.
const MAX_EMPHASIS_RUN_LINES: usize = 100;

/// Lines longer than this are not compared word by word.
const MAX_EMPHASIS_LINE_BYTES: usize = 1_000;

/// A run of changed lines whose word comparison cuts a line into more
/// pieces than this is shown without emphasis: the words have little in
/// common, and the pieces would cost more than they tell.
const MAX_SEGMENTS_PER_LINE: usize = 32;

/// The changes from one text to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineDiff {
    /// Empty when the texts are identical.
    pub hunks: Vec<Hunk>,
    /// Lines added, in the whole diff (including lines not reported).
    pub added: usize,
    /// Lines removed, in the whole diff (including lines not reported).
    pub removed: usize,
    /// Some lines of the diff are not reported, to keep it small: the hunks
    /// stop after [`MAX_DIFF_LINES`] lines or [`MAX_HUNKS`] hunks.
    pub truncated: bool,
    /// The changed and context lines not reported; 0 unless `truncated`.
    pub omitted_lines: usize,
}

/// A run of changes with their context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    /// 1-based number of the hunk's first line in the old text; when
    /// `old_len` is 0, the number of the line the new lines go before.
    pub old_start: usize,
    /// The old lines the hunk shows (fewer than the change has when the
    /// diff is truncated within this hunk).
    pub old_len: usize,
    /// As `old_start`, in the new text.
    pub new_start: usize,
    pub new_len: usize,
    pub lines: Vec<DiffLine>,
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub kind: LineKind,
    /// 1-based line number in the old text; `None` for an added line.
    pub old_no: Option<usize>,
    /// 1-based line number in the new text; `None` for a removed line.
    pub new_no: Option<usize>,
    /// The line's text without its line break, in pieces.
    pub segments: Vec<Segment>,
    /// The line is the last of its text and has no line break, which is how
    /// a diff that only adds or removes the final newline shows up.
    pub missing_newline: bool,
}

#[derive(Serialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

/// A piece of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    /// The words that changed within a changed line. Lines too different
    /// from their counterpart to compare word by word, too long, or in a
    /// diff too big, have none.
    pub emphasized: bool,
}

/// The line diff from `old` to `new`.
pub fn diff(old: &str, new: &str) -> LineDiff {
    let text_diff = TextDiff::configure().timeout(DIFF_TIMEOUT).diff_lines(old, new);
    let (mut added, mut removed) = (0, 0);
    for op in text_diff.ops() {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag != DiffTag::Equal {
            added += new_range.len();
            removed += old_range.len();
        }
    }
    // A diff bigger than can be shown is not worth emphasising.
    let emphasis_deadline = (added + removed <= MAX_DIFF_LINES).then(|| Instant::now() + EMPHASIS_TIMEOUT);

    let mut out = LineDiff {
        hunks: Vec::new(),
        added,
        removed,
        truncated: false,
        omitted_lines: 0,
    };
    let mut room = MAX_DIFF_LINES;
    for group in text_diff.grouped_ops(CONTEXT_LINES) {
        let Some(first) = group.first() else {
            continue;
        };
        if room == 0 || out.hunks.len() == MAX_HUNKS {
            out.omitted_lines += group.iter().map(lines_of).sum::<usize>();
            continue;
        }
        let mut lines = Vec::new();
        for op in &group {
            let shown = lines_of(op).min(room);
            out.omitted_lines += lines_of(op) - shown;
            room -= shown;
            if shown == 0 {
                continue;
            }
            let emphasized = emphasis_deadline
                .filter(|deadline| worth_emphasis(&text_diff, op) && Instant::now() < *deadline)
                .map(|deadline| {
                    let lines: Vec<DiffLine> = text_diff
                        .iter_inline_changes_deadline(op, Some(deadline))
                        .map(|change| diff_line(&change))
                        .collect();
                    lines
                })
                .filter(|lines| lines.iter().all(|l| l.segments.len() <= MAX_SEGMENTS_PER_LINE));
            match emphasized {
                Some(op_lines) => lines.extend(op_lines.into_iter().take(shown)),
                None => lines.extend(
                    text_diff
                        .iter_changes(op)
                        .take(shown)
                        .map(|change| diff_line(&InlineChange::from(change))),
                ),
            }
        }
        // Counted from the lines rather than taken from the ops: similar can
        // give a delete op a stale new-side index (so its own unified
        // headers can be off by the length of a preceding insert).
        let old_lines = lines.iter().filter(|l| l.kind != LineKind::Added);
        let new_lines = lines.iter().filter(|l| l.kind != LineKind::Removed);
        out.hunks.push(Hunk {
            old_start: lines
                .iter()
                .find_map(|l| l.old_no)
                .unwrap_or(first.old_range().start + 1),
            old_len: old_lines.count(),
            new_start: lines
                .iter()
                .find_map(|l| l.new_no)
                .unwrap_or(first.new_range().start + 1),
            new_len: new_lines.count(),
            lines,
        });
    }
    out.truncated = out.omitted_lines > 0;
    out
}

/// The lines an op shows: both sides of a replacement.
fn lines_of(op: &DiffOp) -> usize {
    let (tag, old_range, new_range) = op.as_tag_tuple();
    match tag {
        DiffTag::Equal | DiffTag::Delete => old_range.len(),
        DiffTag::Insert => new_range.len(),
        DiffTag::Replace => old_range.len() + new_range.len(),
    }
}

/// Whether the lines of a replacement are few and short enough to compare
/// word by word. Only replacements have words to compare.
fn worth_emphasis(text_diff: &TextDiff<'_, '_, '_, str>, op: &DiffOp) -> bool {
    let (tag, old_range, new_range) = op.as_tag_tuple();
    tag == DiffTag::Replace
        && old_range.len() + new_range.len() <= MAX_EMPHASIS_RUN_LINES
        && text_diff.old_slices()[old_range]
            .iter()
            .chain(&text_diff.new_slices()[new_range])
            .all(|line| line.len() <= MAX_EMPHASIS_LINE_BYTES)
}

fn diff_line(change: &InlineChange<'_, str>) -> DiffLine {
    let kind = match change.tag() {
        ChangeTag::Equal => LineKind::Context,
        ChangeTag::Insert => LineKind::Added,
        ChangeTag::Delete => LineKind::Removed,
    };
    let mut segments: Vec<Segment> = Vec::new();
    for (emphasized, text) in change.iter_strings_lossy() {
        match segments.last_mut() {
            Some(last) if last.emphasized == emphasized => last.text.push_str(&text),
            _ => segments.push(Segment {
                text: text.into_owned(),
                emphasized,
            }),
        }
    }
    strip_line_break(&mut segments);
    DiffLine {
        kind,
        old_no: change.old_index().map(|i| i + 1),
        new_no: change.new_index().map(|i| i + 1),
        segments,
        missing_newline: change.missing_newline(),
    }
}

fn strip_line_break(segments: &mut Vec<Segment>) {
    if let Some(last) = segments.last_mut() {
        if last.text.ends_with('\n') {
            last.text.pop();
            if last.text.is_empty() {
                segments.pop();
            }
        }
    }
}

impl LineDiff {
    /// The diff as unified-diff text (`@@ -a,b +c,d @@` headers, lines
    /// prefixed with ` `, `-` or `+`), without file headers. It shows the
    /// same hunks as [`LineDiff::hunks`], so it is as bounded, and as
    /// incomplete when [`LineDiff::truncated`] says so.
    pub fn unified(&self) -> String {
        let mut out = String::new();
        for hunk in &self.hunks {
            // Writing into a String cannot fail.
            let _ = writeln!(
                out,
                "@@ -{} +{} @@",
                UnifiedRange(hunk.old_start, hunk.old_len),
                UnifiedRange(hunk.new_start, hunk.new_len)
            );
            for line in &hunk.lines {
                out.push(match line.kind {
                    LineKind::Context => ' ',
                    LineKind::Added => '+',
                    LineKind::Removed => '-',
                });
                for segment in &line.segments {
                    out.push_str(&segment.text);
                }
                out.push('\n');
                if line.missing_newline {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
        out
    }
}

/// A hunk range as unified diffs write it: `start,len`, just `start` for one
/// line, and the line before for an empty range.
struct UnifiedRange(usize, usize);

impl std::fmt::Display for UnifiedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            UnifiedRange(start, 1) => write!(f, "{start}"),
            UnifiedRange(start, 0) => write!(f, "{},0", start.saturating_sub(1)),
            UnifiedRange(start, len) => write!(f, "{start},{len}"),
        }
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
