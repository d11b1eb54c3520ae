-- Vellum schema, version 1 (SQLite). Keep in step with ../postgres/0001_init.sql:
-- the same tables, columns, nullability and index names (a test compares them).
-- Times are INTEGER_MS (milliseconds since the Unix epoch, UTC; integer
-- affinity) where PostgreSQL has timestamptz; JSON is JSON_TEXT (text
-- affinity, checked with json_valid) where PostgreSQL has jsonb.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    disabled_at INTEGER_MS
);
CREATE UNIQUE INDEX users_username_key ON users (username_key);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    expires_at INTEGER_MS NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per first-run setup link printed (one per node started on an
-- empty wiki); all are consumed by the setup that succeeds.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER_MS NOT NULL
);

CREATE TABLE folders (
    path TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    created_at INTEGER_MS NOT NULL
);
CREATE INDEX folders_parent ON folders (parent);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    folder TEXT NOT NULL,
    title TEXT NOT NULL,
    current_revision_id BIGINT,
    created_at INTEGER_MS NOT NULL,
    updated_at INTEGER_MS NOT NULL,
    deleted_at INTEGER_MS,
    deleted_by BIGINT REFERENCES users (id)
);
CREATE UNIQUE INDEX pages_live_path ON pages (path) WHERE deleted_at IS NULL;
CREATE INDEX pages_folder ON pages (folder, path) WHERE deleted_at IS NULL;
CREATE INDEX pages_deleted ON pages (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE revisions (
    id INTEGER PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    -- 1, 2, 3 … within the page.
    number BIGINT NOT NULL,
    parent_id BIGINT REFERENCES revisions (id),
    author_id BIGINT REFERENCES users (id),
    created_at INTEGER_MS NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    markdown TEXT NOT NULL,
    summary TEXT NOT NULL,
    size BIGINT NOT NULL,
    size_delta BIGINT NOT NULL
);
CREATE UNIQUE INDEX revisions_page_number ON revisions (page_id, number);
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
    created_at INTEGER_MS NOT NULL
);
CREATE INDEX redirects_page ON redirects (page_id);

-- The event log. SQLite has one writer at a time, so `seq` order is commit
-- order and the change feed follows `seq` alone; `tx_id` is 0 here (see the
-- PostgreSQL schema for why it exists).
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    tx_id BIGINT NOT NULL DEFAULT 0,
    created_at INTEGER_MS NOT NULL,
    actor_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT,
    target_path TEXT,
    revision_id BIGINT,
    details JSON_TEXT NOT NULL CHECK (json_valid(details))
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
    toc JSON_TEXT NOT NULL CHECK (json_valid(toc))
);
