use super::*;

fn text_of(line: &DiffLine) -> String {
    line.segments.iter().map(|s| s.text.as_str()).collect()
}

fn emphasized(line: &DiffLine) -> Vec<&str> {
    line.segments
        .iter()
        .filter(|s| s.emphasized)
        .map(|s| s.text.as_str())
        .collect()
}

#[test]
fn identical_texts_have_no_hunks() {
    let d = diff("a\nb\n", "a\nb\n");
    assert!(d.hunks.is_empty());
    assert_eq!((d.added, d.removed), (0, 0));
    assert_eq!(d.unified(), "");
    assert!(diff("", "").hunks.is_empty());
}

#[test]
fn word_emphasis_marks_exactly_the_changed_word() {
    let d = diff(
        "intro\nthe quick brown fox jumps\noutro\n",
        "intro\nthe quick red fox jumps\noutro\n",
    );
    assert_eq!((d.added, d.removed), (1, 1));
    let [hunk] = d.hunks.as_slice() else {
        panic!("one hunk expected: {d:?}");
    };
    let kinds: Vec<_> = hunk.lines.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [LineKind::Context, LineKind::Removed, LineKind::Added, LineKind::Context]
    );
    let removed = &hunk.lines[1];
    let added = &hunk.lines[2];
    assert_eq!(emphasized(removed), ["brown"]);
    assert_eq!(emphasized(added), ["red"]);
    assert_eq!(text_of(removed), "the quick brown fox jumps");
    assert_eq!(text_of(added), "the quick red fox jumps");
    assert_eq!(
        added.segments,
        [
            Segment {
                text: "the quick ".into(),
                emphasized: false
            },
            Segment {
                text: "red".into(),
                emphasized: true
            },
            Segment {
                text: " fox jumps".into(),
                emphasized: false
            },
        ]
    );
    assert!(emphasized(&hunk.lines[0]).is_empty());
}

#[test]
fn line_numbers_are_one_based_on_each_side() {
    let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let new = old.replace("line 10\n", "line 10\ninserted\n");
    let d = diff(&old, &new);
    let [hunk] = d.hunks.as_slice() else {
        panic!("one hunk expected: {d:?}");
    };
    assert_eq!(
        (hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len),
        (8, 6, 8, 7)
    );
    let numbers: Vec<_> = hunk.lines.iter().map(|l| (l.kind, l.old_no, l.new_no)).collect();
    assert_eq!(numbers[0], (LineKind::Context, Some(8), Some(8)));
    assert_eq!(numbers[3], (LineKind::Added, None, Some(11)));
    assert_eq!(numbers[4], (LineKind::Context, Some(11), Some(12)));
    assert_eq!((d.added, d.removed), (1, 0));
}

#[test]
fn distant_changes_make_separate_hunks() {
    let old: String = (1..=30).map(|i| format!("{i}\n")).collect();
    let new: String = (1..=30)
        .map(|i| match i {
            2 => "two\n".to_owned(),
            25 => "twenty-five\n".to_owned(),
            _ => format!("{i}\n"),
        })
        .collect();
    let d = diff(&old, &new);
    assert_eq!(d.hunks.len(), 2);
    assert_eq!(d.hunks[0].old_start, 1);
    assert_eq!(d.hunks[1].old_start, 22);
    assert_eq!((d.added, d.removed), (2, 2));
}

#[test]
fn trailing_newline_differences_are_reported_not_fatal() {
    let d = diff("a\nb", "a\nb\n");
    assert_eq!((d.added, d.removed), (1, 1));
    assert_eq!(
        d.unified(),
        "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
    );
    let removed = &d.hunks[0].lines[1];
    assert!(removed.missing_newline);
    assert_eq!(text_of(removed), "b");

    let d = diff("", "only\n");
    assert_eq!(d.unified(), "@@ -0,0 +1 @@\n+only\n");
    let d = diff("gone", "");
    assert_eq!(d.unified(), "@@ -1 +0,0 @@\n-gone\n\\ No newline at end of file\n");
}

#[test]
fn unified_matches_similar_for_newline_terminated_texts() {
    let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
    let new = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n";
    let expected = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .to_string();
    assert_eq!(diff(old, new).unified(), expected);
}

#[test]
fn unified_snapshot() {
    let old = "# Deploy guide\n\nRun the tests.\nBuild the image.\nPush to the registry.\nRoll out to staging.\nCheck the dashboards.\nRoll out to production.\n";
    let new = "# Deploy guide\n\nRun all the tests.\nBuild the image.\nPush to the registry.\nRoll out to staging.\nWait ten minutes.\nCheck the dashboards.\nRoll out to production.\nAnnounce in #ops.\n";
    insta::assert_snapshot!(diff(old, new).unified());
}

#[test]
fn serializes_for_templates_with_snake_case_kinds() {
    let d = diff("a\n", "b\n");
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["added"], 1);
    assert_eq!(json["hunks"][0]["lines"][0]["kind"], "removed");
    assert_eq!(json["hunks"][0]["lines"][1]["kind"], "added");
    assert_eq!(json["hunks"][0]["lines"][1]["new_no"], 1);
    assert_eq!(json["hunks"][0]["lines"][1]["segments"][0]["text"], "b");
}

#[test]
fn hunk_lengths_count_the_lines_shown() {
    // similar reports the delete op here with a stale new-side index, which
    // would make the new range one line short.
    let d = diff("\nc\n\n\na", "\na\nc\nc\n");
    let [hunk] = d.hunks.as_slice() else {
        panic!("one hunk expected: {d:?}");
    };
    assert_eq!(
        (hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len),
        (1, 5, 1, 4)
    );
}
