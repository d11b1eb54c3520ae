//! Who is asking, and in which role. What they may do at a path is decided
//! by the access rules ([`crate::acl`]); a role is one of the principals a
//! rule can name, and administrators manage everything.

use crate::UserId;

/// A custom role's name: lower-case ASCII letters, digits, `-` and `_`,
/// starting with a letter, at most 32 characters, and not a built-in name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleName(String);

impl RoleName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's role. The built-in roles' site-wide levels are root rules
/// (viewer: read, commenter: comment, editor: edit), which an
/// administrator may change like any other rule; a custom role starts
/// with none. Administrators manage everything.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Commenter,
    Editor,
    Admin,
    Custom(RoleName),
}

/// Why a role name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleNameError {
    #[error("a role name has 1 to 32 characters")]
    Length,
    #[error("a role name starts with a lower-case letter and has only lower-case letters, digits, “-” and “_”")]
    Characters,
}

impl Role {
    pub const BUILTIN: [Role; 4] = [Role::Viewer, Role::Commenter, Role::Editor, Role::Admin];

    /// A built-in role by name, or a well-formed custom role name (whether
    /// that custom role exists is the store's question).
    pub fn parse(s: &str) -> Result<Role, RoleNameError> {
        if let Some(r) = Self::BUILTIN.into_iter().find(|r| r.as_str() == s) {
            return Ok(r);
        }
        if s.is_empty() || s.len() > 32 {
            return Err(RoleNameError::Length);
        }
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
            return Err(RoleNameError::Characters);
        }
        Ok(Role::Custom(RoleName(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Commenter => "commenter",
            Role::Viewer => "viewer",
            Role::Custom(n) => n.as_str(),
        }
    }

    pub fn is_builtin(&self) -> bool {
        !matches!(self, Role::Custom(_))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Role::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a credential may be used for. A browser session and an access
/// token from `POST /api/v1/auth/token` may do all the user may; a personal
/// API token only what its scopes say: `read` (look), `write` (also create,
/// edit, move, delete, comment), `admin` (also administer and manage
/// access, when the user is allowed to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scopes {
    pub read: bool,
    pub write: bool,
    pub admin: bool,
}

impl Scopes {
    pub const ALL: Scopes = Scopes {
        read: true,
        write: true,
        admin: true,
    };

    /// Parses scope names (`read`, `write`, `admin`); `write` implies
    /// `read`, `admin` implies both.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Scopes, String> {
        let mut s = Scopes {
            read: false,
            write: false,
            admin: false,
        };
        for n in names {
            match n.trim() {
                "read" => s.read = true,
                "write" => {
                    s.read = true;
                    s.write = true;
                }
                "admin" => s = Scopes::ALL,
                other => return Err(other.to_owned()),
            }
        }
        Ok(s)
    }

    /// The names, smallest first: `read`, `read,write`, `read,write,admin`.
    pub fn names(self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.read {
            out.push("read");
        }
        if self.write {
            out.push("write");
        }
        if self.admin {
            out.push("admin");
        }
        out
    }

    /// The highest level the credential may use anywhere.
    pub fn cap(self) -> crate::acl::Level {
        use crate::acl::Level;
        match (self.read, self.write, self.admin) {
            (_, _, true) => Level::Manage,
            (_, true, false) => Level::Edit,
            (true, false, false) => Level::Read,
            _ => Level::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anonymous,
    User {
        id: UserId,
        name: String,
        role: Role,
        /// What the credential behind this request may be used for.
        scopes: Scopes,
    },
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

    pub fn role(&self) -> Option<&Role> {
        match self {
            Actor::Anonymous => None,
            Actor::User { role, .. } => Some(role),
        }
    }

    /// An administrator acting with a credential that may administer.
    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::User { role: Role::Admin, scopes, .. } if scopes.admin)
    }

    /// What the request's credential may be used for (everything, for an
    /// anonymous visitor: their rules already say what they may do).
    pub fn scopes(&self) -> Scopes {
        match self {
            Actor::Anonymous => Scopes::ALL,
            Actor::User { scopes, .. } => *scopes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        assert_eq!(Role::parse("editor"), Ok(Role::Editor));
        assert_eq!(Role::parse("commenter"), Ok(Role::Commenter));
        let custom = Role::parse("qa-team_2").unwrap();
        assert_eq!(custom.as_str(), "qa-team_2");
        assert!(!custom.is_builtin());
        assert_eq!(Role::parse(""), Err(RoleNameError::Length));
        assert_eq!(Role::parse(&"a".repeat(33)), Err(RoleNameError::Length));
        for bad in ["Editor", "2fa", "-x", "a b", "é", "a/b"] {
            assert_eq!(Role::parse(bad), Err(RoleNameError::Characters), "{bad}");
        }
        assert_eq!(serde_json::to_string(&Role::Admin).unwrap(), "\"admin\"");
        let back: Role = serde_json::from_str("\"qa\"").unwrap();
        assert_eq!(back.as_str(), "qa");
        assert!(serde_json::from_str::<Role>("\"Q A\"").is_err());
    }

    #[test]
    fn scopes_imply_the_smaller_ones() {
        let w = Scopes::from_names(["write"]).unwrap();
        assert_eq!(w.names(), ["read", "write"]);
        assert_eq!(w.cap(), crate::acl::Level::Edit);
        assert_eq!(Scopes::from_names(["admin"]).unwrap(), Scopes::ALL);
        assert_eq!(Scopes::from_names(["read"]).unwrap().cap(), crate::acl::Level::Read);
        assert_eq!(Scopes::from_names(["delete"]), Err("delete".to_owned()));
    }
}
