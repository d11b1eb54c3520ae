use super::*;
use crate::FolderPath;
use proptest::prelude::*;

fn user(id: i64, groups: &[i64], role: &str) -> Subject {
    Subject {
        user: Some(UserId(id)),
        groups: groups.iter().map(|g| GroupId(*g)).collect(),
        role: Some(Role::parse(role).unwrap()),
        is_admin: false,
        named_only: false,
    }
}

type NodeSpec<'a> = (&'a str, bool, Vec<(Principal, Level)>);

fn rules(nodes: &[NodeSpec<'_>]) -> Rules {
    Rules {
        nodes: nodes
            .iter()
            .map(|(path, inherit, rules)| {
                (
                    (*path).to_owned(),
                    NodeRules {
                        inherit: *inherit,
                        rules: rules.clone(),
                    },
                )
            })
            .collect(),
    }
}

fn site() -> Rules {
    rules(&[
        (
            "",
            true,
            vec![
                (Principal::Role(Role::Viewer), Level::Read),
                (Principal::Role(Role::Editor), Level::Edit),
            ],
        ),
        // HR is closed: only its group reads and edits there.
        ("hr", false, vec![(Principal::Group(GroupId(7)), Level::Edit)]),
        // One HR page is open to every signed-in user.
        ("hr/holidays", true, vec![(Principal::Authenticated, Level::Read)]),
        // A rule for Bob alone: it does not take away what his role gives.
        ("eng/launch", true, vec![(Principal::User(UserId(2)), Level::Read)]),
        // `none` for a principal is not a deny.
        ("drafts", true, vec![(Principal::Authenticated, Level::None)]),
    ])
}

#[test]
fn worked_examples_from_the_guide() {
    let r = site();
    let ann = user(1, &[], "viewer");
    let bob = user(2, &[], "editor");
    let hana = user(3, &[7], "viewer");
    assert_eq!(r.level(&ann, "eng/deploy"), Level::Read);
    assert_eq!(r.level(&bob, "eng/deploy"), Level::Edit);
    // A restricted sub-tree: roles from the root no longer apply.
    assert_eq!(r.level(&ann, "hr/salaries"), Level::None);
    assert_eq!(r.level(&bob, "hr/salaries"), Level::None);
    assert_eq!(r.level(&hana, "hr/salaries"), Level::Edit);
    // A page below it adds to what it inherits.
    assert_eq!(r.level(&ann, "hr/holidays"), Level::Read);
    assert_eq!(r.level(&hana, "hr/holidays/2027"), Level::Edit);
    assert_eq!(r.level(&Subject::anonymous(), "hr/holidays"), Level::None);
    // A rule for a user replaces that principal's level only: Bob's
    // editor role still gives him edit on the launch plan.
    assert_eq!(r.level(&bob, "eng/launch"), Level::Edit);
    assert_eq!(r.level(&ann, "drafts/x"), Level::Read);
    let admin = Subject {
        is_admin: true,
        ..Subject::anonymous()
    };
    assert_eq!(r.level(&admin, "hr/salaries"), Level::Manage);
}

#[test]
fn a_limited_credential_caps_every_level() {
    let r = site();
    let bob = user(2, &[], "editor");
    let p = r.permissions(&bob).capped(Level::Read);
    assert_eq!(p.level("eng/deploy"), Level::Read);
    assert_eq!(p.level("hr/salaries"), Level::None);
    let admin = Subject {
        is_admin: true,
        ..Subject::anonymous()
    };
    let p = r.permissions(&admin).capped(Level::Read);
    assert_eq!(
        p.level("hr/salaries"),
        Level::Read,
        "an administrator's read token reads everything"
    );
    assert!(!p.is_admin() && p.reads_everything());
}

#[test]
fn what_a_node_inherits() {
    let r = site();
    assert_eq!(
        r.inherited("eng/launch"),
        vec![
            ("".into(), Principal::Role(Role::Viewer), Level::Read),
            ("".into(), Principal::Role(Role::Editor), Level::Edit),
        ]
    );
    // HR stops inheriting: nothing comes from above it.
    assert_eq!(r.inherited("hr"), vec![]);
    assert_eq!(
        r.inherited("hr/holidays"),
        vec![("hr".into(), Principal::Group(GroupId(7)), Level::Edit)]
    );
}

#[test]
fn principals_have_a_stored_form() {
    for p in [
        Principal::User(UserId(12)),
        Principal::Group(GroupId(3)),
        Principal::Role(Role::Editor),
        Principal::Role(Role::parse("qa").unwrap()),
        Principal::Authenticated,
        Principal::Anyone,
    ] {
        assert_eq!(p.to_string().parse::<Principal>(), Ok(p.clone()));
    }
    for bad in [
        "", "user:", "user:x", "group:-", "role:", "role:Bad", "everyone", "anyone:1",
    ] {
        assert!(bad.parse::<Principal>().is_err(), "{bad}");
    }
}

#[test]
fn a_none_rule_takes_away_what_that_principal_had() {
    let r = rules(&[
        ("", true, vec![(Principal::Authenticated, Level::Read)]),
        ("drafts", true, vec![(Principal::Authenticated, Level::None)]),
    ]);
    let ann = user(1, &[], "viewer");
    assert_eq!(r.level(&ann, "notes"), Level::Read);
    assert_eq!(r.level(&ann, "drafts/x"), Level::None);
}

#[test]
fn explanations_list_the_rules_that_decided_in_order() {
    let r = site();
    let hana = user(3, &[7], "viewer");
    let d = r.decide(&hana, "hr/holidays");
    assert_eq!(d.level, Level::Edit);
    assert_eq!(
        d.reasons,
        vec![
            Reason::StopsInheriting { node: "hr".into() },
            Reason::Rule {
                node: "hr".into(),
                principal: Principal::Group(GroupId(7)),
                level: Level::Edit
            },
            Reason::Rule {
                node: "hr/holidays".into(),
                principal: Principal::Authenticated,
                level: Level::Read
            },
        ]
    );
}

#[test]
fn scopes_and_permissions_agree_with_decisions() {
    let r = site();
    assert_eq!(r.scope_of("hr/salaries/2026"), "hr");
    assert_eq!(r.scope_of("hr/holidays/x"), "hr/holidays");
    assert_eq!(r.scope_of("misc"), "");
    let ann = user(1, &[], "viewer");
    let p = r.permissions(&ann);
    assert_eq!(
        p.scopes_with(Level::Read),
        vec!["", "drafts", "eng/launch", "hr/holidays"]
    );
    assert!(!p.reads_everything());
    assert!(p.may_read_within(&FolderPath::parse("hr").unwrap()));
    assert!(!p.may_read_within(&FolderPath::parse("hr/salaries").unwrap()));
}

const PATHS: [&str; 8] = ["", "a", "a/b", "a/b/c", "a/d", "e", "e/f", "a/b/c/g"];

fn arb_principal() -> impl Strategy<Value = Principal> {
    prop_oneof![
        (1i64..4).prop_map(|u| Principal::User(UserId(u))),
        (1i64..3).prop_map(|g| Principal::Group(GroupId(g))),
        prop::sample::select(vec![Role::Viewer, Role::Editor]).prop_map(Principal::Role),
        Just(Principal::Authenticated),
        Just(Principal::Anyone),
    ]
}

fn arb_rules() -> impl Strategy<Value = Rules> {
    prop::collection::btree_map(
        prop::sample::select(PATHS[..7].to_vec()).prop_map(str::to_owned),
        (
            any::<bool>(),
            prop::collection::vec((arb_principal(), prop::sample::select(Level::ALL.to_vec())), 0..4),
        )
            .prop_map(|(inherit, rules)| NodeRules { inherit, rules }),
        0..6,
    )
    .prop_map(|nodes| Rules { nodes })
}

fn arb_subject() -> impl Strategy<Value = Subject> {
    prop_oneof![
        Just(Subject::anonymous()),
        (
            1i64..4,
            prop::collection::btree_set(1i64..3, 0..3),
            prop::sample::select(vec![Role::Viewer, Role::Editor])
        )
            .prop_map(|(u, g, r)| Subject {
                user: Some(UserId(u)),
                groups: g.into_iter().map(GroupId).collect(),
                role: Some(r),
                is_admin: false,
                named_only: false,
            }),
    ]
}

/// The rules with one node narrowed: a rule's level lowered, or the
/// node set to stop inheriting.
fn narrow(rules: &Rules, node: &str, which: usize, stop: bool) -> Rules {
    let mut out = rules.clone();
    let n = out.nodes.entry(node.to_owned()).or_default();
    if stop {
        n.inherit = false;
    } else {
        let len = n.rules.len().max(1);
        if let Some((_, level)) = n.rules.get_mut(which % len) {
            *level = Level::ALL[(*level as usize).saturating_sub(1)];
        }
    }
    out
}

proptest! {
    #[test]
    fn narrowing_a_node_never_widens_anything(
        rules in arb_rules(),
        subject in arb_subject(),
        node in prop::sample::select(PATHS[1..7].to_vec()),
        which in 0usize..4,
        stop in any::<bool>(),
    ) {
        let narrowed = narrow(&rules, node, which, stop);
        for path in PATHS {
            prop_assert!(
                narrowed.level(&subject, path) <= rules.level(&subject, path),
                "{path} widened after narrowing {node}"
            );
        }
    }

    #[test]
    fn a_path_has_the_level_of_its_scope(rules in arb_rules(), subject in arb_subject()) {
        let perms = rules.permissions(&subject);
        for path in PATHS {
            let level = rules.level(&subject, path);
            prop_assert_eq!(level, rules.level(&subject, rules.scope_of(path)));
            prop_assert_eq!(level, perms.level(path));
            let readable = perms.scopes_with(Level::Read).contains(&rules.scope_of(path));
            prop_assert_eq!(readable, level >= Level::Read);
        }
    }

    #[test]
    fn rules_below_a_path_do_not_change_it(rules in arb_rules(), subject in arb_subject()) {
        // Dropping every rule strictly below `a` leaves `a` and the
        // paths outside it as they were.
        let mut above = rules.clone();
        above.nodes.retain(|k, _| !k.starts_with("a/"));
        for path in ["", "a", "e", "e/f"] {
            prop_assert_eq!(above.level(&subject, path), rules.level(&subject, path));
        }
    }

    #[test]
    fn a_folder_list_filters_by_the_scopes_its_pages_can_have(
        rules in arb_rules(),
        subject in arb_subject(),
    ) {
        let perms = rules.permissions(&subject);
        let all = perms.readable_scopes();
        for folder in ["", "a", "a/b", "e", "x"] {
            let folder = FolderPath::parse(folder).unwrap();
            let direct = perms.readable_within(&folder, Within::Direct);
            let subtree = perms.readable_within(&folder, Within::Subtree);
            prop_assert!(direct.iter().all(|s| all.contains(s)));
            prop_assert!(subtree.iter().all(|s| all.contains(s)));
            for page in PATHS.iter().copied().filter(|p| !p.is_empty()).chain(["a/b/c/g/h", "e/z", "x/y", "x/y/z"]) {
                let page_folder = page.rsplit_once('/').map_or("", |(f, _)| f);
                let in_subtree = folder.is_root() || page_folder == folder.as_str()
                    || page_folder.starts_with(&format!("{}/", folder.as_str()));
                let scope = rules.scope_of(page).to_owned();
                let readable = rules.level(&subject, page) >= Level::Read;
                if page_folder == folder.as_str() {
                    prop_assert_eq!(direct.contains(&scope), readable, "{} in {}", page, folder);
                }
                if in_subtree {
                    prop_assert_eq!(subtree.contains(&scope), readable, "{} below {}", page, folder);
                }
            }
        }
    }
}
