//! Routes with their address templates kept: every router of the site is
//! built through [`Routes`], so [`crate::route_table`] lists every address
//! the site answers (tests walk it; a new route is covered without anyone
//! adding it to a list).

use axum::routing::MethodRouter;
use axum::Router;

use crate::AppState;

/// A router and the address templates it routes.
pub(crate) struct Routes {
    router: Router<AppState>,
    paths: Vec<String>,
}

impl Routes {
    pub(crate) fn new() -> Routes {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }

    pub(crate) fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Routes {
        self.router = self.router.route(path, method_router);
        self.paths.push(path.to_owned());
        self
    }

    pub(crate) fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// Mounts `other` under `prefix`.
    pub(crate) fn nest(mut self, prefix: &str, other: Routes) -> Routes {
        self.router = self.router.nest(prefix, other.router);
        self.paths
            .extend(other.paths.into_iter().map(|p| format!("{prefix}{p}")));
        self
    }

    /// Applies `f` to the router (layers, fallbacks), keeping the paths.
    pub(crate) fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Routes {
        self.router = f(self.router);
        self
    }

    pub(crate) fn into_parts(self) -> (Router<AppState>, Vec<String>) {
        (self.router, self.paths)
    }
}

/// The address a client uses for a routed template: sub-resource routes
/// (see `subroutes.rs`) back in their public `…/{*path}/-/sub` form.
pub(crate) fn public_form(routed: &str) -> String {
    for (public, mount) in [
        ("/wiki/", "/.sub/wiki/"),
        ("/api/v1/pages/", "/api/v1/.sub/pages/"),
        ("/api/v1/access/", "/api/v1/.sub/access/"),
        ("/api/v1/folders/", "/api/v1/.sub/folders/"),
        ("/api/v1/files/", "/api/v1/.sub/files/"),
    ] {
        if let Some(rest) = routed.strip_prefix(mount) {
            return match rest.split_once('/') {
                Some((sub, page)) => format!("{public}{page}/-/{sub}"),
                None => format!("{public}-/{rest}"),
            };
        }
    }
    routed.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_routes_have_a_public_form() {
        assert_eq!(public_form("/.sub/wiki/history/{*path}"), "/wiki/{*path}/-/history");
        assert_eq!(public_form("/api/v1/.sub/access/explain"), "/api/v1/access/-/explain");
        assert_eq!(public_form("/tags/{tag}"), "/tags/{tag}");
    }
}
