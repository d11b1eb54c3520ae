//! Snapshots of a representative page, so any change to the rendered HTML
//! is reviewed.

use crate::renderer;

const DOCUMENT: &str = r#"# Deploy guide

How we ship **Vellum** to production. See [[Existing/Runbooks|the runbooks]]
and [[On-call rota]] first; ask in [#ops](https://chat.example/ops).

## Before you start

1. Tests pass on `main`.
2. The changelog is updated[^changelog].
3. Nobody else is deploying.

- [x] Build the image
- [ ] Push to the registry
- ~~Email the team~~ (we use chat now)

## Steps

| Step | Command | Time |
|:-----|:--------|-----:|
| Build | `make image` | 5 min |
| Deploy | `make deploy` | 2 min |

```rust
fn main() {
    println!("deployed {}", 42);
}
```

```
plain block <b>kept as text</b>
```

> Roll back with [the rollback page](/wiki/existing/rollback#steps) if
> anything looks wrong. Links to [[bad?path]] are shown as invalid.

## Steps

Repeated heading, for the anchor suffix.

[^changelog]: In `CHANGELOG.md`, under *Unreleased*.
"#;

#[test]
fn representative_document_html() {
    let rendered = renderer().render(DOCUMENT, &|path| path.as_str().starts_with("existing"));
    insta::assert_snapshot!(rendered.html);
}

#[test]
fn representative_document_toc_and_links() {
    let rendered = renderer().render(DOCUMENT, &|path| path.as_str().starts_with("existing"));
    insta::assert_debug_snapshot!((rendered.toc, rendered.links));
}
