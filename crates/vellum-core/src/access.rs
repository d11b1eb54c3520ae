//! Who may do what. Every read and write in the service layer goes through
//! [`authorize`]; handlers never decide access themselves.
//!
//! Today the decision uses the actor's role and the site's anonymous-read
//! setting. Folder and page access rules will plug in here, which is why the
//! target of every check is the page or folder path it concerns.

use crate::{FolderPath, PagePath, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User { id: UserId, name: String, role: Role },
}

impl Actor {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::Anonymous => None,
            Actor::User { id, .. } => Some(*id),
        }
    }

    /// The user name, for a signed-in actor.
    pub fn name(&self) -> Option<&str> {
        match self {
            Actor::Anonymous => None,
            Actor::User { name, .. } => Some(name),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::Anonymous => None,
            Actor::User { role, .. } => Some(*role),
        }
    }
}

/// What is being done, and to what.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    ReadPage(&'a PagePath),
    WritePage(&'a PagePath),
    ReadFolder(&'a FolderPath),
    /// Site-wide listings (recent changes, tags, all pages, trash).
    ReadSite,
    /// Users, roles and settings.
    Administer,
}

/// Site-wide settings that the decision depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    pub anonymous_read: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("sign in to do this")]
    SignInRequired,
    #[error("your role does not allow this")]
    Forbidden,
}

pub fn authorize(actor: &Actor, action: Action<'_>, policy: Policy) -> Result<(), Denied> {
    let needed = match action {
        Action::ReadPage(_) | Action::ReadFolder(_) | Action::ReadSite => Role::Viewer,
        Action::WritePage(_) => Role::Editor,
        Action::Administer => Role::Admin,
    };
    match actor.role() {
        Some(role) if role >= needed => Ok(()),
        Some(_) => Err(Denied::Forbidden),
        None if needed == Role::Viewer && policy.anonymous_read => Ok(()),
        None => Err(Denied::SignInRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role) -> Actor {
        Actor::User {
            id: UserId(1),
            name: "u".into(),
            role,
        }
    }

    #[test]
    fn roles_and_anonymous_reading() {
        let p = PagePath::parse("a").unwrap();
        let closed = Policy { anonymous_read: false };
        let open = Policy { anonymous_read: true };
        assert_eq!(
            authorize(&Actor::Anonymous, Action::ReadPage(&p), closed),
            Err(Denied::SignInRequired)
        );
        assert_eq!(authorize(&Actor::Anonymous, Action::ReadPage(&p), open), Ok(()));
        assert_eq!(
            authorize(&Actor::Anonymous, Action::WritePage(&p), open),
            Err(Denied::SignInRequired)
        );
        assert_eq!(authorize(&user(Role::Viewer), Action::ReadPage(&p), closed), Ok(()));
        assert_eq!(
            authorize(&user(Role::Viewer), Action::WritePage(&p), closed),
            Err(Denied::Forbidden)
        );
        assert_eq!(authorize(&user(Role::Editor), Action::WritePage(&p), closed), Ok(()));
        assert_eq!(
            authorize(&user(Role::Editor), Action::Administer, closed),
            Err(Denied::Forbidden)
        );
        assert_eq!(authorize(&user(Role::Admin), Action::Administer, closed), Ok(()));
    }
}
