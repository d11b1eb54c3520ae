//! What one subject may read and do, decided once per rule set.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{chain, Level};
use crate::FolderPath;

/// Which pages of a folder a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Within {
    /// The pages directly in the folder.
    Direct,
    /// Every page in the folder or below it.
    Subtree,
}

/// A subject's level at every scope: answers "may they do this at this
/// path?" without walking the rules, and gives list queries the scopes to
/// keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    levels: BTreeMap<String, Level>,
    is_admin: bool,
    /// The scopes the subject may read, sorted.
    readable: Vec<String>,
    /// Identifies the set of readable scopes: two subjects with the same
    /// fingerprint see the same lists (a cache key for shared views).
    fingerprint: u64,
}

impl Permissions {
    pub(super) fn new(levels: BTreeMap<String, Level>, is_admin: bool) -> Permissions {
        use std::hash::{Hash, Hasher};
        let readable: Vec<String> = levels
            .iter()
            .filter(|(_, l)| is_admin || **l >= Level::Read)
            .map(|(s, _)| s.clone())
            .collect();
        let everything = readable.len() == levels.len();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        if everything {
            // Everyone who reads everything sees the same lists.
            0u8.hash(&mut h);
        } else {
            readable.hash(&mut h);
        }
        Permissions {
            levels,
            is_admin,
            readable,
            fingerprint: h.finish(),
        }
    }

    /// The same permissions with every level at most `max` (a credential
    /// limited to some scopes).
    pub fn capped(self, max: Level) -> Permissions {
        if max == Level::Manage {
            return self;
        }
        let admin = self.is_admin;
        let levels = self
            .levels
            .into_iter()
            .map(|(s, l)| (s, if admin { max } else { l.min(max) }))
            .collect();
        Permissions::new(levels, false)
    }

    /// The scopes the subject may read (sorted): list queries keep the
    /// pages whose scope is one of these.
    pub fn readable_scopes(&self) -> &[String] {
        &self.readable
    }

    /// The readable scopes a page in `folder` can have (directly in it, or
    /// anywhere below it): a subset of [`Permissions::readable_scopes`]
    /// that lists of one folder filter by instead of every readable scope.
    ///
    /// A page's scope is its nearest node with rules, so a page in the
    /// folder has the folder's own scope or one of a node inside the
    /// folder (for [`Within::Direct`], a node one level down: a page with
    /// rules of its own). Each answer is a subset of the readable scopes,
    /// so a list filtered by it never shows more than one filtered by all
    /// of them, even against rules newer than these permissions.
    pub fn readable_within(&self, folder: &FolderPath, within: Within) -> Cow<'_, [String]> {
        let dir = folder.as_str();
        if dir.is_empty() && within == Within::Subtree {
            return Cow::Borrowed(&self.readable);
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let start = self.readable.partition_point(|s| s.as_str() < prefix.as_str());
        let inside = self.readable[start..]
            .iter()
            .take_while(|s| s.starts_with(&prefix))
            .filter(|s| within == Within::Subtree || !s[prefix.len()..].contains('/'));
        let mut scopes: Vec<String> = Vec::new();
        if !dir.is_empty() {
            // The folder's own scope: its nearest node with rules, itself
            // or above (the root always has rules).
            let own = chain(dir).filter(|n| self.levels.contains_key(*n)).last().unwrap_or("");
            if self.readable.binary_search_by(|s| s.as_str().cmp(own)).is_ok() {
                scopes.push(own.to_owned());
            }
        }
        scopes.extend(inside.cloned());
        Cow::Owned(scopes)
    }

    /// Identifies what the subject can read; equal for subjects who see
    /// the same lists.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub fn is_admin(&self) -> bool {
        self.is_admin
    }

    /// The level at every scope (node with rules), by path.
    pub fn levels(&self) -> impl Iterator<Item = (&str, Level)> {
        self.levels
            .iter()
            .map(|(s, l)| (s.as_str(), if self.is_admin { Level::Manage } else { *l }))
    }

    /// The highest level the subject has anywhere.
    pub fn highest(&self) -> Level {
        if self.is_admin {
            return Level::Manage;
        }
        self.levels.values().copied().max().unwrap_or(Level::None)
    }

    /// Whether the subject may read anything at all.
    pub fn reads_anything(&self) -> bool {
        !self.readable.is_empty()
    }

    /// The level at `path`: the level of its scope.
    pub fn level(&self, path: &str) -> Level {
        if self.is_admin {
            return Level::Manage;
        }
        chain(path)
            .filter_map(|n| self.levels.get(n))
            .last()
            .copied()
            .unwrap_or(Level::None)
    }

    pub fn can(&self, needed: Level, path: &str) -> bool {
        self.level(path) >= needed
    }

    /// The scopes where the subject's level is at least `needed`: list
    /// queries keep pages whose scope is one of these.
    pub fn scopes_with(&self, needed: Level) -> Vec<&str> {
        self.levels
            .iter()
            .filter(|(_, l)| **l >= needed)
            .map(|(s, _)| s.as_str())
            .collect()
    }

    /// Whether the subject may read every page (no filter needed).
    pub fn reads_everything(&self) -> bool {
        self.readable.len() == self.levels.len()
    }

    /// The level within a folder at its most generous: whether the folder
    /// has anything the subject may read (for folder listings).
    pub fn may_read_within(&self, folder: &FolderPath) -> bool {
        if self.can(Level::Read, folder.as_str()) {
            return true;
        }
        let prefix = if folder.is_root() {
            String::new()
        } else {
            format!("{}/", folder.as_str())
        };
        self.levels
            .iter()
            .any(|(s, l)| *l >= Level::Read && s.starts_with(&prefix) && !s.is_empty())
    }
}
