//! Micro-benchmarks of the index on the end-to-end benchmark's corpus:
//! queries of each kind for a reader who sees everything and for one
//! under access rules, title suggestions, and indexing.
//!
//! ```sh
//! cargo bench -p vellum-search                                  # 20,000 pages
//! VELLUM_SEARCH_BENCH_PAGES=100000 cargo bench -p vellum-search # the full corpus
//! ```
//!
//! The index is built once per corpus size under the target directory and
//! reused by later runs (delete it to rebuild).
#![allow(clippy::unwrap_used)]

#[path = "../../vellum-bench/src/corpus.rs"]
#[allow(dead_code, unused_imports)]
mod corpus;

use std::path::PathBuf;
use std::sync::LazyLock;

use divan::{black_box, Bencher};
use vellum_core::acl::{Level, NodeRules, Principal, Rules, Subject};
use vellum_core::{Role, UserId};
use vellum_search::{parse, Change, Doc, Language, Opened, SearchIndex, Sort, Visibility};

fn main() {
    divan::main();
}

fn pages() -> usize {
    std::env::var("VELLUM_SEARCH_BENCH_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn doc(i: usize, n: usize) -> Doc {
    let p = corpus::page(42, i, n);
    let text = vellum_markup::plain_text(&p.markdown);
    Doc {
        id: i as i64 + 1,
        path: p.path,
        title: p.title,
        headings: text.headings,
        body: text.body,
        tags: p.tags,
        author: "bench".into(),
        updated: 1_700_000_000 + i as i64,
    }
}

static INDEX: LazyLock<SearchIndex> = LazyLock::new(|| {
    let n = pages();
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "../../target".into());
    let dir = PathBuf::from(target).join(format!("search-bench-{n}"));
    let (index, opened) = SearchIndex::open(&dir, Language::English, 200_000_000).unwrap();
    if matches!(opened, Opened::Empty { .. }) {
        eprintln!("building the index of {n} pages in {}…", dir.display());
        for start in (0..n).step_by(2000) {
            let changes: Vec<Change> = (start..(start + 2000).min(n))
                .map(|i| Change::Upsert(doc(i, n)))
                .collect();
            index.add(&changes).unwrap();
        }
        index.apply(&[], "bench").unwrap();
    }
    index
});

/// A viewer under rules: the wiki readable by signed-in users, every
/// fourth folder closed to them, one page in each closed folder opened
/// to them again (about three quarters of the pages visible).
static RESTRICTED: LazyLock<Visibility> = LazyLock::new(|| {
    let n = pages();
    let mut folders: Vec<(String, String)> = (0..n)
        .filter_map(|i| {
            let path = corpus::path_of(i, n);
            path.rsplit_once('/').map(|(f, _)| (f.to_owned(), path.clone()))
        })
        .collect();
    folders.sort();
    folders.dedup_by(|a, b| a.0 == b.0);
    let mut rules = Rules::default();
    let node = |inherit: bool, principal: Principal, level: Level| NodeRules {
        inherit,
        rules: vec![(principal, level)],
    };
    rules
        .nodes
        .insert(String::new(), node(true, Principal::Authenticated, Level::Read));
    for (i, (folder, first_page)) in folders.iter().enumerate() {
        if i % 4 == 0 {
            rules
                .nodes
                .insert(folder.clone(), node(false, Principal::Role(Role::Admin), Level::Manage));
            rules
                .nodes
                .insert(first_page.clone(), node(true, Principal::User(UserId(7)), Level::Read));
        }
    }
    let subject = Subject {
        user: Some(UserId(7)),
        groups: Default::default(),
        role: Some(Role::Viewer),
        is_admin: false,
        named_only: false,
    };
    Visibility::of(&rules.permissions(&subject))
});

const QUERIES: &[(&str, &str)] = &[
    ("one common word", "deploy"),
    ("two words", "deploy database"),
    ("phrase", "\"database migration\""),
    ("prefix", "depl*"),
    ("typo", "databsae"),
    ("exclusion", "deploy -database"),
    ("filter", "deploy tag:ops"),
    ("no match", "zebra"),
];

fn run(q: &str, v: &Visibility) -> usize {
    let parsed = parse(q).unwrap();
    INDEX.search(q, &parsed, v, Sort::Relevance, 0, 20).unwrap().total
}

#[divan::bench(args = QUERIES.iter().map(|q| q.0))]
fn search_everything(b: Bencher, name: &str) {
    let q = QUERIES.iter().find(|x| x.0 == name).unwrap().1;
    let v = Visibility::everything();
    run(q, &v);
    b.bench(|| black_box(run(q, &v)));
}

#[divan::bench(args = QUERIES.iter().map(|q| q.0))]
fn search_restricted(b: Bencher, name: &str) {
    let q = QUERIES.iter().find(|x| x.0 == name).unwrap().1;
    let (seen, all) = (run(q, &RESTRICTED), run(q, &Visibility::everything()));
    assert!(
        all == 0 || seen * 2 > all,
        "the restricted reader finds {seen} of {all}: the rules hide too much"
    );
    b.bench(|| black_box(run(q, &RESTRICTED)));
}

#[divan::bench(args = ["de", "dep", "deplo", "runbook re"])]
fn titles(b: Bencher, typed: &str) {
    let v = Visibility::everything();
    INDEX.titles(typed, &v, 8).unwrap();
    b.bench(|| black_box(INDEX.titles(typed, &v, 8).unwrap()));
}

#[divan::bench(args = ["de", "dep", "deplo"])]
fn titles_restricted(b: Bencher, typed: &str) {
    INDEX.titles(typed, &RESTRICTED, 8).unwrap();
    b.bench(|| black_box(INDEX.titles(typed, &RESTRICTED, 8).unwrap()));
}

/// Documents for the index from the corpus (plain text included), per
/// 100 pages.
#[divan::bench(sample_count = 10)]
fn documents_per_100(b: Bencher) {
    b.bench(|| black_box((0..100).map(|i| doc(i, 1000)).collect::<Vec<_>>()));
}
