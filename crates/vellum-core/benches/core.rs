//! Micro-benchmarks of the domain core: path normalisation (every
//! request), an access check with a user's permissions (every request),
//! and working those permissions out from the rules (once per user and
//! change of rules), at the size the benchmark harness uses: 1,000 nodes
//! with 2,000 rules naming 100 groups.
#![allow(clippy::unwrap_used)]

use divan::black_box;
use vellum_core::acl::{GroupId, Level, NodeRules, Principal, Rules, Subject};
use vellum_core::{Actor, PagePath, Role, UserId};

fn main() {
    divan::main();
}

#[divan::bench]
fn parse_path() -> PagePath {
    PagePath::parse(black_box("Engineering/Run Books/Deploy Guide")).unwrap()
}

/// 1,000 nodes (`team-N/area-M`), two rules each, a tenth of them closed.
fn big_rules() -> Rules {
    let mut rules = Rules::default();
    rules.nodes.insert(
        String::new(),
        NodeRules {
            inherit: true,
            rules: vec![
                (Principal::Role(Role::Viewer), Level::Read),
                (Principal::Role(Role::Editor), Level::Edit),
            ],
        },
    );
    for i in 0..1000_i64 {
        rules.nodes.insert(
            format!("team-{}/area-{}", i % 100, i / 100),
            NodeRules {
                inherit: i % 10 != 0,
                rules: vec![
                    (Principal::Group(GroupId(i % 100)), Level::Edit),
                    (Principal::User(UserId(i % 1000)), Level::Read),
                ],
            },
        );
    }
    rules
}

fn subject() -> Subject {
    let actor = Actor::User {
        id: UserId(7),
        name: "ed".into(),
        role: Role::Editor,
        scopes: vellum_core::Scopes::ALL,
    };
    Subject::of(&actor, [GroupId(3), GroupId(42)].into_iter().collect())
}

#[divan::bench]
fn check_edit_with_permissions(bencher: divan::Bencher) {
    let perms = big_rules().permissions(&subject());
    bencher.bench(|| perms.can(Level::Edit, black_box("team-42/area-3/runbooks/deploy")));
}

#[divan::bench]
fn permissions_from_2000_rules(bencher: divan::Bencher) {
    let rules = big_rules();
    let s = subject();
    bencher.bench(|| rules.permissions(black_box(&s)));
}
