//! Line diffs between two revisions of a page, for the history view: hunks
//! with three lines of context, line numbers on both sides, and the words
//! that changed within a changed line marked, plus classic unified-diff
//! text.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use similar::{ChangeTag, InlineChange, TextDiff};

/// Unchanged lines shown around each change.
const CONTEXT_LINES: usize = 3;

/// Past this, the line diff settles for a correct but possibly longer
/// answer instead of the shortest one, so huge pages cannot stall a request.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

/// The changes from one text to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineDiff {
    /// Empty when the texts are identical.
    pub hunks: Vec<Hunk>,
    /// Lines added, in all hunks.
    pub added: usize,
    /// Lines removed, in all hunks.
    pub removed: usize,
}

/// A run of changes with their context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hunk {
    /// 1-based number of the hunk's first line in the old text; when
    /// `old_len` is 0, the number of the line the new lines go before.
    pub old_start: usize,
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
    /// from their counterpart to compare word by word have none.
    pub emphasized: bool,
}

/// The line diff from `old` to `new`.
pub fn diff(old: &str, new: &str) -> LineDiff {
    let text_diff = TextDiff::configure().timeout(DIFF_TIMEOUT).diff_lines(old, new);
    let mut added = 0;
    let mut removed = 0;
    let mut hunks = Vec::new();
    for group in text_diff.grouped_ops(CONTEXT_LINES) {
        let Some(first) = group.first() else {
            continue;
        };
        let mut lines = Vec::new();
        for op in &group {
            for change in text_diff.iter_inline_changes(op) {
                let line = diff_line(&change);
                match line.kind {
                    LineKind::Added => added += 1,
                    LineKind::Removed => removed += 1,
                    LineKind::Context => {}
                }
                lines.push(line);
            }
        }
        // Counted from the lines rather than taken from the ops: similar can
        // give a delete op a stale new-side index (so its own unified
        // headers can be off by the length of a preceding insert).
        let old_lines = lines.iter().filter(|l| l.kind != LineKind::Added);
        let new_lines = lines.iter().filter(|l| l.kind != LineKind::Removed);
        hunks.push(Hunk {
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
    LineDiff { hunks, added, removed }
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
    /// prefixed with ` `, `-` or `+`), without file headers.
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
