//! Page sub-resources (`/wiki/a/b/-/history`, `/api/v1/pages/a/b/-/diff`)
//! as routes. A page path has any number of segments, and the router
//! matches a wildcard only at the end of a route, so before routing the
//! address is rewritten to put the sub-resource first:
//! `/wiki/a/b/-/history?x` is routed as `/.sub/wiki/history/a/b?x`, and
//! `/api/v1/pages/a/b/-/diff` as `/api/v1/.sub/pages/diff/a/b`. Handlers
//! and middleware still see the address the client sent as
//! [`OriginalUri`](axum::extract::OriginalUri).

use axum::extract::{OriginalUri, Request};
use axum::http::Uri;

/// The prefixes whose paths can carry a `/-/` sub-resource, and where the
/// rewritten route lives.
const MOUNTS: &[(&str, &str)] = &[
    ("/wiki/", "/.sub/wiki/"),
    ("/api/v1/pages/", "/api/v1/.sub/pages/"),
    ("/api/v1/access/", "/api/v1/.sub/access/"),
    ("/api/v1/folders/", "/api/v1/.sub/folders/"),
    ("/api/v1/files/", "/api/v1/.sub/files/"),
];

/// The routed form of a path, when it names a page sub-resource.
pub(crate) fn routed_path(path: &str) -> Option<String> {
    for (prefix, mount) in MOUNTS {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        // Access rules and watches have the root (the whole wiki) as a
        // node too: `/api/v1/access/-/explain`, `/api/v1/folders/-/watch`.
        if let Some(sub) = rest
            .strip_prefix("-/")
            .filter(|_| prefix.starts_with("/api/v1/access/") || prefix.starts_with("/api/v1/folders/"))
        {
            // `-/-/watch` is the sub-resource of a node named `-`.
            if !sub.is_empty() && !sub.contains('/') {
                return Some(format!("{mount}{sub}"));
            }
        }
        let (page, sub) = rest.split_once("/-/")?;
        if page.is_empty() || sub.is_empty() || sub.contains('/') {
            return None;
        }
        return Some(format!("{mount}{sub}/{page}"));
    }
    None
}

/// Rewrites a request's URI as [`routed_path`] says, keeping the original.
pub(crate) fn rewrite(mut req: Request) -> Request {
    let uri = req.uri().clone();
    let Some(routed) = routed_path(uri.path()) else {
        return req;
    };
    let with_query = match uri.query() {
        Some(q) => format!("{routed}?{q}"),
        None => routed,
    };
    if let Ok(new) = with_query.parse::<Uri>() {
        req.extensions_mut().insert(OriginalUri(uri));
        *req.uri_mut() = new;
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_resources_are_routed_first() {
        assert_eq!(
            routed_path("/wiki/a/b/-/history").as_deref(),
            Some("/.sub/wiki/history/a/b")
        );
        assert_eq!(
            routed_path("/api/v1/pages/a/-/diff").as_deref(),
            Some("/api/v1/.sub/pages/diff/a")
        );
        assert_eq!(routed_path("/wiki/a/b"), None);
        assert_eq!(routed_path("/wiki/-/history"), None);
        assert_eq!(routed_path("/wiki/a/-/b/-/c"), None);
        assert_eq!(routed_path("/wiki/a/-/"), None);
        assert_eq!(routed_path("/folders/a/-/x"), None);
        // The root node, and a node named `-`.
        assert_eq!(
            routed_path("/api/v1/folders/-/watch").as_deref(),
            Some("/api/v1/.sub/folders/watch")
        );
        assert_eq!(
            routed_path("/api/v1/folders/-/-/watch").as_deref(),
            Some("/api/v1/.sub/folders/watch/-")
        );
        assert_eq!(
            routed_path("/api/v1/files/7/-/restore").as_deref(),
            Some("/api/v1/.sub/files/restore/7")
        );
    }
}
