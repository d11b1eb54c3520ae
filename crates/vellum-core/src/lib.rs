//! The domain core of Vellum: identifiers, page paths, titles, roles and the
//! authorization rules. Nothing here does I/O, so every rule is testable
//! without a server or a database.
#![forbid(unsafe_code)]

pub mod access;
pub mod ids;
pub mod path;
pub mod title;

pub use access::{Action, Actor, Role};
pub use ids::{PageId, RevisionId, UserId};
pub use path::{FolderPath, PagePath, PathError};
pub use title::{Title, TitleError};
