//! The search language's parser: words, operators, fields, dates, odd input.

use super::*;

fn word(t: &str) -> Node {
    Node::Word {
        text: t.into(),
        scope: Scope::Everywhere,
        prefix: false,
    }
}

fn must(node: Node) -> Item {
    Item { negated: false, node }
}

fn not(node: Node) -> Item {
    Item { negated: true, node }
}

#[test]
fn words_phrases_prefixes_and_exclusions() {
    let p = parse(r#"rollback "rolling update" conf* -staging -"big bang""#).unwrap();
    assert_eq!(
        p.items,
        vec![
            must(word("rollback")),
            must(Node::Phrase {
                text: "rolling update".into(),
                scope: Scope::Everywhere
            }),
            must(Node::Word {
                text: "conf".into(),
                scope: Scope::Everywhere,
                prefix: true
            }),
            not(word("staging")),
            not(Node::Phrase {
                text: "big bang".into(),
                scope: Scope::Everywhere
            }),
        ]
    );
    assert_eq!(p.words(), vec!["rollback"]);
}

#[test]
fn or_binds_tighter_than_and() {
    let p = parse("deploy nginx OR apache OR caddy (a | b) c").unwrap();
    assert_eq!(
        p.items,
        vec![
            must(word("deploy")),
            must(Node::Or(vec![word("nginx"), word("apache"), word("caddy")])),
            must(Node::Group(vec![must(Node::Or(vec![word("a"), word("b")]))])),
            must(word("c")),
        ]
    );
}

#[test]
fn fields() {
    let p = parse(r#"title:"roll back" tag:Ops path:/eng/runbooks/ in:hr author:ann by:bob title:x*"#).unwrap();
    assert_eq!(
        p.items,
        vec![
            must(Node::Phrase {
                text: "roll back".into(),
                scope: Scope::Title
            }),
            must(Node::Tag("ops".into())),
            must(Node::Path("eng/runbooks".into())),
            must(Node::Path("hr".into())),
            must(Node::Author("ann".into())),
            must(Node::Author("bob".into())),
            must(Node::Word {
                text: "x".into(),
                scope: Scope::Title,
                prefix: true
            }),
        ]
    );
    // Not a field: read as words.
    assert_eq!(parse("std::vec").unwrap().items, vec![must(word("std::vec"))]);
}

#[test]
fn dates() {
    let day = 86_400;
    let jan1 = 1_735_689_600; // 2025-01-01
    let u = |q: &str| parse(q).unwrap().items.remove(0).node;
    assert_eq!(
        u("updated:>2025-01-01"),
        Node::Updated {
            from: Some(jan1 + day),
            to: None
        }
    );
    assert_eq!(
        u("updated:>=2025-01-01"),
        Node::Updated {
            from: Some(jan1),
            to: None
        }
    );
    assert_eq!(
        u("updated:<2025-01-01"),
        Node::Updated {
            from: None,
            to: Some(jan1)
        }
    );
    assert_eq!(
        u("updated:2025-01-01"),
        Node::Updated {
            from: Some(jan1),
            to: Some(jan1 + day)
        }
    );
    assert_eq!(
        u("updated:2025-01"),
        Node::Updated {
            from: Some(jan1),
            to: Some(jan1 + 31 * day)
        }
    );
    assert_eq!(
        u("updated:2024-12-31..2025-01-01"),
        Node::Updated {
            from: Some(jan1 - day),
            to: Some(jan1 + day)
        }
    );
    for bad in [
        "updated:yesterday",
        "updated:2025-13-01",
        "updated:>",
        "updated:2025-02-30",
    ] {
        assert!(matches!(parse(bad), Err(QueryError::BadDate(_))), "{bad}");
    }
}

#[test]
fn odd_input_never_fails() {
    for q in [
        "",
        " ",
        "-",
        "*",
        "OR",
        "\"",
        "((",
        "))",
        "a OR",
        "OR a",
        "-(",
        "\"unclosed phrase",
        "(a b",
        "a) b",
        "🎉",
        "\u{0}\u{7}x",
        "---",
        "-*",
        "title:",
        "tag:",
        "a -OR b",
    ] {
        assert!(parse(q).is_ok(), "{q:?}");
    }
    assert!(parse("").unwrap().items.is_empty());
    assert!(!parse("-a").unwrap().selects());
    assert_eq!(
        parse("(a b").unwrap().items,
        vec![must(Node::Group(vec![must(word("a")), must(word("b"))]))]
    );
    assert_eq!(parse("\u{0}x").unwrap().items, vec![must(word("x"))]);
    assert!(matches!(parse(&"a ".repeat(600)), Err(QueryError::TooLong(_))));
    assert!(matches!(parse(&"ab ".repeat(40)), Err(QueryError::TooManyTerms)));
}
