//! The domain core of Vellum: identifiers, page paths, titles, roles, the
//! authorization rules and the typed events of the change log. Nothing here
//! does I/O, so every rule is testable without a server or a database.
#![forbid(unsafe_code)]

pub mod access;
pub mod acl;
pub mod event;
pub mod ids;
pub mod path;
pub mod revision;
pub mod time;
pub mod title;

pub use access::{Actor, Role, RoleName, Scopes};
pub use acl::{GroupId, Level, Permissions, Principal};
pub use event::{Event, TargetType};
pub use ids::{PageId, RevisionId, SessionId, UserId};
pub use path::{FolderPath, PagePath, PathError};
pub use revision::RevisionKind;
pub use time::Timestamp;
pub use title::{Title, TitleError};
