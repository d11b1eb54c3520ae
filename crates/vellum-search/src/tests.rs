//! The index on its own: writes and positions, reopening, rebuild
//! triggers, and the visibility filter against a brute-force check.

use std::path::PathBuf;

use proptest::prelude::*;
use vellum_core::acl::{Level, NodeRules, Principal, Rules, Subject};
use vellum_core::{Role, UserId};

use super::*;

fn temp_dir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("vellum-search-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn doc(id: i64, path: &str, body: &str) -> Doc {
    Doc {
        id,
        path: path.into(),
        title: path.rsplit('/').next().unwrap_or(path).into(),
        headings: Vec::new(),
        body: body.into(),
        tags: Vec::new(),
        author: "ann".into(),
        updated: 1_700_000_000 + id,
    }
}

fn find(index: &SearchIndex, q: &str, v: &Visibility) -> Vec<String> {
    let parsed = parse(q).unwrap();
    let mut p: Vec<String> = index
        .search(q, &parsed, v, Sort::Relevance, 0, 100)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.path)
        .collect();
    p.sort();
    p
}

#[test]
fn positions_survive_reopening_and_changes_replace_by_id() {
    let dir = temp_dir("reopen");
    let (index, opened) = SearchIndex::open(&dir, Language::English, 15_000_000).unwrap();
    assert!(matches!(opened, Opened::Empty { .. }));
    index
        .apply(
            &[
                Change::Upsert(doc(1, "a/x", "apple")),
                Change::Upsert(doc(2, "b/y", "apple pie")),
            ],
            "0:7",
        )
        .unwrap();
    index.apply(&[Change::Upsert(doc(1, "a/x", "banana"))], "0:8").unwrap();
    index.apply(&[Change::Remove(2)], "0:9").unwrap();
    let all = Visibility::everything();
    assert_eq!(find(&index, "banana", &all), ["a/x"]);
    assert!(find(&index, "apple", &all).is_empty());
    drop(index);
    let (index, opened) = SearchIndex::open(&dir, Language::English, 15_000_000).unwrap();
    assert_eq!(opened, Opened::At("0:9".into()));
    assert_eq!(find(&index, "banana", &all), ["a/x"]);
    drop(index);
    // Another language: rebuilt from scratch.
    let (index, opened) = SearchIndex::open(&dir, Language::German, 15_000_000).unwrap();
    assert!(matches!(opened, Opened::Empty { .. }), "{opened:?}");
    assert!(find(&index, "banana", &all).is_empty());
    drop(index);
    // An unfinished rebuild (no position recorded) is not trusted.
    let (index, _) = SearchIndex::open(&dir, Language::German, 15_000_000).unwrap();
    index.add(&[Change::Upsert(doc(3, "c", "cherry"))]).unwrap();
    drop(index);
    let (_, opened) = SearchIndex::open(&dir, Language::German, 15_000_000).unwrap();
    assert!(matches!(opened, Opened::Empty { .. }));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_index_opens_empty_and_a_second_writer_is_refused() {
    let dir = temp_dir("damaged");
    let (index, _) = SearchIndex::open(&dir, Language::English, 15_000_000).unwrap();
    index.apply(&[Change::Upsert(doc(1, "a", "apple"))], "0:1").unwrap();
    assert!(matches!(
        SearchIndex::open(&dir, Language::English, 15_000_000),
        Err(SearchError::Locked(_))
    ));
    drop(index);
    std::fs::write(dir.join("meta.json"), "{ not json").unwrap();
    let (index, opened) = SearchIndex::open(&dir, Language::English, 15_000_000).unwrap();
    assert!(matches!(opened, Opened::Empty { .. }));
    assert!(find(&index, "apple", &Visibility::everything()).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

const PATHS: [&str; 9] = ["a", "a/b", "a/b/c", "a/b/c/d", "a/e", "f", "f/g", "f/g/h", "i/j"];

fn arb_rules() -> impl Strategy<Value = Rules> {
    let principal = prop_oneof![
        Just(Principal::User(UserId(1))),
        Just(Principal::Role(Role::Viewer)),
        Just(Principal::Authenticated),
    ];
    prop::collection::btree_map(
        prop::sample::select(vec!["", "a", "a/b", "a/b/c", "f", "f/g", "i", "a/e"]).prop_map(str::to_owned),
        (
            any::<bool>(),
            prop::collection::vec((principal, prop::sample::select(Level::ALL.to_vec())), 0..3),
        )
            .prop_map(|(inherit, rules)| NodeRules { inherit, rules }),
        0..6,
    )
    .prop_map(|nodes| Rules { nodes })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The filter inside the index finds exactly the pages the evaluator
    /// says the reader may read, whatever the rules.
    #[test]
    fn the_filter_agrees_with_the_evaluator(rules in arb_rules()) {
        let dir = temp_dir("filter");
        let (index, _) = SearchIndex::open(&dir, Language::None, 15_000_000).unwrap();
        let docs: Vec<Change> = PATHS
            .iter()
            .enumerate()
            .map(|(i, p)| Change::Upsert(doc(i as i64 + 1, p, "common")))
            .collect();
        index.apply(&docs, "0:1").unwrap();
        let subject = Subject {
            user: Some(UserId(1)),
            groups: Default::default(),
            role: Some(Role::Viewer),
            is_admin: false,
            named_only: false,
        };
        let perms = rules.permissions(&subject);
        let found = find(&index, "common", &Visibility::of(&perms));
        let mut expected: Vec<String> = PATHS
            .iter()
            .filter(|p| rules.level(&subject, p) >= Level::Read)
            .map(|p| (*p).to_owned())
            .collect();
        expected.sort();
        prop_assert_eq!(found, expected);
        drop(index);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_typo_in_a_word_with_inner_capitals_is_forgiven() {
    let dir = temp_dir("camel");
    let (index, _) = SearchIndex::open(&dir, Language::English, 15_000_000).unwrap();
    index
        .apply(
            &[
                Change::Upsert(doc(1, "db/pg", "install PostgreSQL here")),
                Change::Upsert(doc(2, "db/other", "install something else")),
            ],
            "0:1",
        )
        .unwrap();
    let all = Visibility::everything();
    assert_eq!(find(&index, "PostgreSQL", &all), ["db/pg"]);
    assert_eq!(find(&index, "PostgreSSQL", &all), ["db/pg"]);
    assert_eq!(find(&index, "PosttgreSQL install", &all), ["db/pg"]);
    drop(index);
    let _ = std::fs::remove_dir_all(&dir);
}
