use super::*;

const BASE: &str = "title\n\nalpha\nbeta\ngamma\ndelta\nepsilon\n";

fn clean(text: &str) -> MergeOutcome {
    MergeOutcome::Clean(text.to_owned())
}

fn conflict(text: &str) -> MergeOutcome {
    MergeOutcome::Conflict {
        merged_with_markers: text.to_owned(),
    }
}

#[test]
fn edits_to_different_lines_merge_cleanly() {
    let ours = BASE.replace("alpha", "ALPHA");
    let theirs = BASE.replace("epsilon", "EPSILON");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        clean("title\n\nALPHA\nbeta\ngamma\ndelta\nEPSILON\n")
    );
}

#[test]
fn edits_to_adjacent_lines_merge_cleanly() {
    let ours = BASE.replace("alpha", "ALPHA");
    let theirs = BASE.replace("beta", "BETA");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        clean("title\n\nALPHA\nBETA\ngamma\ndelta\nepsilon\n")
    );
    // A deletion next to a change, and an insertion right before one.
    let ours = BASE.replace("beta\n", "");
    let theirs = BASE.replace("gamma", "GAMMA");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        clean("title\n\nalpha\nGAMMA\ndelta\nepsilon\n")
    );
    let ours = BASE.replace("gamma\n", "new\ngamma\n");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        clean("title\n\nalpha\nbeta\nnew\nGAMMA\ndelta\nepsilon\n")
    );
}

#[test]
fn edits_to_the_same_line_conflict_with_both_sides_kept() {
    let ours = BASE.replace("gamma", "gamma (ours)");
    let theirs = BASE.replace("gamma", "gamma (theirs)");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        conflict(
            "title\n\nalpha\nbeta\n\
             <<<<<<< ours\ngamma (ours)\n=======\ngamma (theirs)\n>>>>>>> theirs\n\
             delta\nepsilon\n"
        )
    );
}

#[test]
fn identical_edits_are_not_a_conflict() {
    let edit = BASE.replace("beta", "BETA");
    assert_eq!(merge3(BASE, &edit, &edit), MergeOutcome::Clean(edit.clone()));
}

#[test]
fn the_same_change_within_different_edits_is_left_to_the_editor() {
    // Both add `beta (again)`: one line meant, or two?
    let ours = BASE.replace("title", "TITLE").replace("beta\n", "beta\nbeta (again)\n");
    let theirs = BASE
        .replace("epsilon", "EPSILON")
        .replace("beta\n", "beta\nbeta (again)\n");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        conflict(
            "TITLE\n\nalpha\nbeta\n\
             <<<<<<< ours\nbeta (again)\n=======\nbeta (again)\n>>>>>>> theirs\n\
             gamma\ndelta\nEPSILON\n"
        )
    );
}

#[test]
fn overlapping_edits_conflict_with_each_side_whole() {
    // Both change beta alike, but ours changes alpha with it: one edit of
    // two lines against an edit of one of them.
    let ours = BASE.replace("alpha\nbeta", "ALPHA\nBETA");
    let theirs = BASE.replace("beta", "BETA");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        conflict(
            "title\n\n<<<<<<< ours\nALPHA\nBETA\n=======\nalpha\nBETA\n>>>>>>> theirs\n\
             gamma\ndelta\nepsilon\n"
        )
    );
}

#[test]
fn different_insertions_at_the_same_point_conflict() {
    let ours = BASE.replace("gamma\n", "gamma\nours\n");
    let theirs = BASE.replace("gamma\n", "gamma\ntheirs\n");
    assert_eq!(
        merge3(BASE, &ours, &theirs),
        conflict(
            "title\n\nalpha\nbeta\ngamma\n\
             <<<<<<< ours\nours\n=======\ntheirs\n>>>>>>> theirs\n\
             delta\nepsilon\n"
        )
    );
}

/// The review's case: in five equal lines, changing one line on each side
/// gave a clean merge with six lines.
#[test]
fn edits_among_repeated_lines_merge_to_exactly_both_edits() {
    let base = "x\nx\nx\nx\nx\n";
    let edit = |i: usize, to: &str| -> String {
        base.lines()
            .enumerate()
            .map(|(j, line)| if j == i { format!("{to}\n") } else { format!("{line}\n") })
            .collect()
    };
    for i in 0..5 {
        for j in (0..5).filter(|&j| j != i) {
            let expected: String = (0..5)
                .map(|k| match k {
                    _ if k == i => "A\n",
                    _ if k == j => "B\n",
                    _ => "x\n",
                })
                .collect();
            assert_eq!(merge3(base, &edit(i, "A"), &edit(j, "B")), clean(&expected), "{i} {j}");
        }
    }
}

#[test]
fn an_edit_that_could_be_read_two_ways_conflicts_instead_of_guessing() {
    // Ours adds an `x` to a run of them: before or after the line theirs
    // changes? Each reading gives other text.
    let base = "a\nx\nx\nb\n";
    assert!(matches!(
        merge3(base, "a\nx\nx\nx\nb\n", "a\nx\nX\nb\n"),
        MergeOutcome::Conflict { .. }
    ));
    // Ours deletes one of two blank lines, and theirs changes the second.
    let base = "\n\nq\n";
    let ours = "\nq\n";
    let theirs = "\nX\nq\n";
    assert!(matches!(merge3(base, ours, theirs), MergeOutcome::Conflict { .. }));
}

#[test]
fn blank_lines_around_an_unambiguous_edit_still_merge() {
    // Ours adds a blank line to a run of one: which of the two is new does
    // not matter to theirs, who changed the line before the run.
    let base = "a\n\nb\n\nc\n";
    let ours = "a\n\nb\n\n\nc\n";
    let theirs = "a\n\nB\n\nc\n";
    assert_eq!(merge3(base, ours, theirs), clean("a\n\nB\n\n\nc\n"));
    // Ours deletes the last of the blank lines: it can be no other.
    assert_eq!(merge3("\nq\n\n", "\nq\n", "\nQ\n\n"), clean("\nQ\n"));
}

#[test]
fn markers_start_lines_even_when_the_text_lacks_a_final_newline() {
    assert_eq!(
        merge3("a\nb", "a\nB", "a\nC"),
        conflict("a\n<<<<<<< ours\nB\n=======\nC\n>>>>>>> theirs\n")
    );
    assert_eq!(
        merge3("a\nb", "a\n", "a\nB"),
        conflict("a\n<<<<<<< ours\n=======\nB\n>>>>>>> theirs\n")
    );
    // Lines the two sides end with alike stay after the markers.
    assert_eq!(
        merge3("a\nb\nz", "a\nB\nz", "a\nC\nz"),
        conflict("a\n<<<<<<< ours\nB\n=======\nC\n>>>>>>> theirs\nz")
    );
}

#[test]
fn a_last_line_without_newline_can_be_edited_next_to_and_added_after() {
    assert_eq!(merge3("a\nb", "a\nb\nc", "A\nb"), clean("A\nb\nc"));
    assert_eq!(merge3("a\nb", "a\nb\nc", "a\nB"), clean("a\nB\nc"));
    // Adding or removing the final newline is an edit of its own.
    assert_eq!(merge3("a\nb\n", "a\nb", "A\nb\n"), clean("A\nb"));
    assert_eq!(merge3("a\nb", "a\nb\n", "a\nB"), clean("a\nB\n"));
}

/// Cases the property tests found, around texts without a final newline.
#[test]
fn edits_that_delete_everything_or_all_but_a_last_line_without_newline() {
    assert_eq!(merge3("line 0\nline 1", "line 1", "line 0"), clean(""));
    assert_eq!(merge3("line 0\nline 1", "new\nline 0\nline 1", ""), clean("new"));
    assert_eq!(merge3("x", "", "y\nx"), clean("y"));
    // Was the added x put before or after the one ours deleted?
    assert!(matches!(merge3("x", "", "x\nx"), MergeOutcome::Conflict { .. }));
}
