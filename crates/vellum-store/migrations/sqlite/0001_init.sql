-- Vellum schema, version 1 (SQLite). Keep in step with ../postgres/0001_init.sql:
-- the same tables, columns, nullability and index names (a test compares them).
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
CREATE UNIQUE INDEX users_username_key ON users (username_key);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE folders (
    path TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX folders_parent ON folders (parent);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    folder TEXT NOT NULL,
    title TEXT NOT NULL,
    current_revision_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by BIGINT REFERENCES users (id)
);
CREATE UNIQUE INDEX pages_live_path ON pages (path) WHERE deleted_at IS NULL;
CREATE INDEX pages_folder ON pages (folder, path) WHERE deleted_at IS NULL;
CREATE INDEX pages_deleted ON pages (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    parent_id BIGINT REFERENCES revisions (id),
    author_id BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    markdown TEXT NOT NULL,
    summary TEXT NOT NULL,
    size BIGINT NOT NULL,
    size_delta BIGINT NOT NULL
);
CREATE INDEX revisions_page ON revisions (page_id, id);
CREATE INDEX revisions_author ON revisions (author_id, id);

CREATE TABLE page_links (
    page_id BIGINT NOT NULL REFERENCES pages (id),
    target TEXT NOT NULL,
    PRIMARY KEY (page_id, target)
);
CREATE INDEX page_links_target ON page_links (target);

CREATE TABLE page_tags (
    page_id BIGINT NOT NULL REFERENCES pages (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (page_id, tag)
);
CREATE INDEX page_tags_tag ON page_tags (tag);

CREATE TABLE redirects (
    path TEXT PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX redirects_page ON redirects (page_id);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    created_at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT,
    target_path TEXT,
    revision_id BIGINT,
    details TEXT NOT NULL
);
CREATE INDEX events_actor ON events (actor_id, seq);
CREATE INDEX events_target ON events (target_type, target_id, seq);
CREATE INDEX events_type_seq ON events (target_type, seq);

-- The current revision of each page rendered with every wiki link treated
-- as existing (links to missing pages are restyled when served). Derived
-- data: rows are replaced on save and re-made when `renderer` is older than
-- the running code's version.
CREATE TABLE page_renders (
    page_id BIGINT PRIMARY KEY REFERENCES pages (id),
    revision_id BIGINT NOT NULL,
    renderer BIGINT NOT NULL,
    html TEXT NOT NULL,
    toc TEXT NOT NULL
);
