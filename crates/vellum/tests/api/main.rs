#![allow(clippy::unwrap_used)]
//! Integration tests: the real server over HTTP on a free port, on the
//! backend named by `VELLUM_TEST_BACKEND` (`.ci/run` runs them on SQLite and
//! on PostgreSQL).

mod access;
mod accounts;
mod auth;
mod caching;
mod comments;
mod errors;
mod feed;
mod files;
mod hardening;
mod html;
mod jobs;
mod links;
mod mail;
mod nodes;
mod notifications;
mod pages;
mod previews;
mod reads;
mod revisions;
mod schema;
mod search;
mod sso;
mod verification;
