-- Access control (SQLite): roles, groups, access rules on folders and
-- pages, and the scope of each page and link target. Keep in step with
-- ../postgres/0002_access.sql.

-- The built-in roles and the custom ones. A role's site-wide level is a
-- rule at the root naming it.
CREATE TABLE roles (
    name TEXT PRIMARY KEY,
    builtin BOOLEAN NOT NULL,
    created_at INTEGER_MS NOT NULL
);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    created_at INTEGER_MS NOT NULL
);
CREATE UNIQUE INDEX groups_name_key ON groups (name_key);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- A folder or page path with rules of its own (the root is the empty path
-- and always has a row).
CREATE TABLE access_nodes (
    path TEXT PRIMARY KEY,
    inherit BOOLEAN NOT NULL,
    updated_at INTEGER_MS NOT NULL
);

-- principal: `user:<id>`, `group:<id>`, `role:<name>`, `authenticated`, `anyone`.
CREATE TABLE access_rules (
    path TEXT NOT NULL REFERENCES access_nodes (path) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (path, principal)
);
CREATE INDEX access_rules_principal ON access_rules (principal);

-- Each page's scope: the path of its nearest node with rules, itself or
-- above (the empty path: the root). Lists keep the rows whose scope the
-- reader may read. The folder index carries the scope so folder listings
-- and counts filter without reading the table.
ALTER TABLE pages ADD COLUMN scope TEXT NOT NULL DEFAULT '';
CREATE INDEX pages_scope ON pages (scope, path) WHERE deleted_at IS NULL;
DROP INDEX pages_folder;
CREATE INDEX pages_folder ON pages (folder, path, scope) WHERE deleted_at IS NULL;
-- The scope of each link's target path (for wanted pages: a target the
-- reader may not read is never listed, whether or not a page is there).
ALTER TABLE page_links ADD COLUMN target_scope TEXT NOT NULL DEFAULT '';

INSERT INTO roles (name, builtin, created_at) VALUES
    ('admin', 1, 0), ('editor', 1, 0), ('commenter', 1, 0), ('viewer', 1, 0);
INSERT INTO access_nodes (path, inherit, updated_at) VALUES ('', 1, 0);
INSERT INTO access_rules (path, principal, level) VALUES
    ('', 'role:editor', 'edit'), ('', 'role:commenter', 'comment'), ('', 'role:viewer', 'read');
-- The old site-wide switch becomes a root rule.
INSERT INTO access_rules (path, principal, level)
    SELECT '', 'anyone', 'read' FROM settings WHERE key = 'anonymous_read' AND value = 'true';
DELETE FROM settings WHERE key = 'anonymous_read';
