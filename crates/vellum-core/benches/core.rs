//! Micro-benchmarks of the domain core: path normalisation and the
//! authorization decision (both run on every request).
#![allow(clippy::unwrap_used)]

use divan::black_box;
use vellum_core::access::{authorize, Action, Policy};
use vellum_core::{Actor, PagePath, Role, UserId};

fn main() {
    divan::main();
}

#[divan::bench]
fn parse_path() -> PagePath {
    PagePath::parse(black_box("Engineering/Run Books/Deploy Guide")).unwrap()
}

#[divan::bench]
fn authorize_editor_write(bencher: divan::Bencher) {
    let actor = Actor::User {
        id: UserId(7),
        name: "ed".into(),
        role: Role::Editor,
    };
    let path = PagePath::parse("engineering/runbooks/deploy").unwrap();
    let policy = Policy { anonymous_read: false };
    bencher.bench(|| authorize(black_box(&actor), Action::WritePage(black_box(&path)), policy));
}
