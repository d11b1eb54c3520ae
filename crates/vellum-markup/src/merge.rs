//! Three-way merge of two edits made from the same revision, so an editor
//! who saved second does not lose the first editor's work: edits to
//! different lines merge cleanly, edits to the same lines are a conflict the
//! editor resolves by hand.
//!
//! Conflicts use the two-sided style (`<<<<<<<`, `=======`, `>>>>>>>`), the
//! one the user guide describes, rather than diffy's default, which also
//! shows the original lines between `|||||||` and `=======`.

use diffy::{ConflictStyle, MergeOptions};

/// The result of [`merge3`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Both edits applied.
    Clean(String),
    /// Both edits touched the same lines; the text holds both sides between
    /// diffy's conflict markers (`<<<<<<< ours`, `=======`,
    /// `>>>>>>> theirs`), the rest merged.
    Conflict { merged_with_markers: String },
}

/// Merges `ours` and `theirs`, both edited from `base`, line by line.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> MergeOutcome {
    let merged = MergeOptions::new()
        .set_conflict_style(ConflictStyle::Merge)
        .merge(base, ours, theirs);
    match merged {
        Ok(merged) => MergeOutcome::Clean(merged),
        Err(merged_with_markers) => MergeOutcome::Conflict { merged_with_markers },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "title\n\nalpha\nbeta\ngamma\ndelta\nepsilon\n";

    #[test]
    fn edits_to_different_lines_merge_cleanly() {
        let ours = BASE.replace("alpha", "ALPHA");
        let theirs = BASE.replace("epsilon", "EPSILON");
        assert_eq!(
            merge3(BASE, &ours, &theirs),
            MergeOutcome::Clean("title\n\nALPHA\nbeta\ngamma\ndelta\nEPSILON\n".to_owned())
        );
    }

    #[test]
    fn edits_to_the_same_line_conflict_with_both_sides_kept() {
        let ours = BASE.replace("gamma", "gamma (ours)");
        let theirs = BASE.replace("gamma", "gamma (theirs)");
        let MergeOutcome::Conflict { merged_with_markers } = merge3(BASE, &ours, &theirs) else {
            panic!("expected a conflict");
        };
        assert_eq!(
            merged_with_markers,
            "title\n\nalpha\nbeta\n\
             <<<<<<< ours\ngamma (ours)\n=======\ngamma (theirs)\n>>>>>>> theirs\n\
             delta\nepsilon\n"
        );
    }

    #[test]
    fn identical_edits_are_not_a_conflict() {
        let edit = BASE.replace("beta", "BETA");
        assert_eq!(merge3(BASE, &edit, &edit), MergeOutcome::Clean(edit.clone()));
    }
}
