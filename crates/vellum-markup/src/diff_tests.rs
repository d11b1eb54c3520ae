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

/// About `bytes` of one-character lines, drawn from `alphabet` by a fixed
/// pseudo-random sequence.
fn one_character_lines(bytes: usize, alphabet: &[u8], seed: u64) -> String {
    let mut state = seed;
    let mut text = String::with_capacity(bytes);
    while text.len() < bytes {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let pick = usize::try_from(state >> 33).unwrap() % alphabet.len();
        text.push(char::from(alphabet[pick]));
        text.push('\n');
    }
    text
}

#[test]
fn diff_of_two_megabyte_texts_of_one_character_lines_stays_small() {
    let old = one_character_lines(1_000_000, b"abcd", 1);
    let new = one_character_lines(1_000_000, b"abcd", 2);
    let d = diff(&old, &new);
    assert!(d.truncated);
    assert!(d.omitted_lines > 100_000, "{}", d.omitted_lines);
    let shown: usize = d.hunks.iter().map(|h| h.lines.len()).sum();
    assert!(shown <= MAX_DIFF_LINES, "{shown}");
    assert!(d.hunks.len() <= MAX_HUNKS);
    // The totals still describe the whole change.
    let shown_changed = d
        .hunks
        .iter()
        .flat_map(|h| &h.lines)
        .filter(|l| l.kind != LineKind::Context)
        .count();
    assert!(d.added + d.removed > shown_changed + 100_000);

    let json = serde_json::to_string(&d).unwrap();
    assert!(json.len() < 400_000, "{} bytes of JSON", json.len());
    assert!(json.contains(r#""truncated":true"#));
    let unified = d.unified();
    assert!(unified.len() < 50_000, "{} bytes of unified diff", unified.len());
}

#[test]
fn a_change_too_big_to_show_is_cut_within_its_hunk() {
    let old: String = (0..4_000).map(|i| format!("old {i}\n")).collect();
    let new: String = (0..4_000).map(|i| format!("new {i}\n")).collect();
    let d = diff(&old, &new);
    let [hunk] = d.hunks.as_slice() else {
        panic!("one hunk expected, got {}", d.hunks.len());
    };
    assert_eq!(hunk.lines.len(), MAX_DIFF_LINES);
    assert_eq!((hunk.old_len, hunk.new_len), (MAX_DIFF_LINES, 0));
    assert_eq!((d.added, d.removed), (4_000, 4_000));
    assert!(d.truncated);
    assert_eq!(d.omitted_lines, 8_000 - MAX_DIFF_LINES);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["omitted_lines"], 8_000 - MAX_DIFF_LINES);
}

#[test]
fn hunks_stop_at_the_hunk_limit() {
    // A change every tenth line: each one a hunk of its own.
    let old: String = (0..10 * (MAX_HUNKS + 50)).map(|i| format!("{i}\n")).collect();
    let new: String = (0..10 * (MAX_HUNKS + 50))
        .map(|i| {
            if i % 10 == 5 {
                format!("changed {i}\n")
            } else {
                format!("{i}\n")
            }
        })
        .collect();
    let d = diff(&old, &new);
    assert_eq!(d.hunks.len(), MAX_HUNKS);
    assert!(d.truncated);
    // Each left-out hunk: three lines of context on each side and the change.
    assert_eq!(d.omitted_lines, 50 * 8);
    assert_eq!((d.added, d.removed), (MAX_HUNKS + 50, MAX_HUNKS + 50));
}

#[test]
fn complete_diffs_say_they_are_complete() {
    let d = diff("a\nb\n", "a\nc\n");
    assert!(!d.truncated);
    assert_eq!(d.omitted_lines, 0);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["truncated"], false);
    assert_eq!(json["omitted_lines"], 0);
}

#[test]
fn very_long_lines_are_not_compared_word_by_word() {
    let words: Vec<String> = (0..300).map(|i| format!("w{i}")).collect();
    let old = words.join(" ") + "\n";
    let new = old.replacen("w150", "CHANGED", 1);
    assert!(old.len() > 1_000);
    let d = diff(&old, &new);
    let lines = &d.hunks[0].lines;
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| emphasized(l).is_empty()), "{lines:?}");
    assert_eq!(text_of(&lines[1]), new.trim_end());
}

#[test]
fn lines_cut_into_too_many_pieces_are_not_emphasized() {
    let old: String = (0..40).map(|i| format!("a{i} ")).collect::<String>() + "\n";
    let new: String = (0..40).map(|i| format!("a{i}x ")).collect::<String>() + "\n";
    let d = diff(&old, &new);
    // Every other word changed: the comparison would cut each line in 80.
    let lines = &d.hunks[0].lines;
    assert!(lines.iter().all(|l| l.segments.len() == 1), "{lines:?}");
}
