-- Files attached to pages (files.rs). Keep in step with
-- ../postgres/0010_files.sql.
--
-- A blob is content, stored once under its SHA-256 in the object store
-- (local files or S3); its row says it is there. A file is a name on a
-- page with versions; each version points at a blob, so uploading the
-- same bytes twice, anywhere, stores them once.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    created_at INTEGER_MS NOT NULL
);

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    page_id BIGINT NOT NULL REFERENCES pages (id),
    name TEXT NOT NULL,
    -- The current version's number.
    version BIGINT NOT NULL,
    created_at INTEGER_MS NOT NULL,
    updated_at INTEGER_MS NOT NULL,
    deleted_at INTEGER_MS,
    deleted_by BIGINT REFERENCES users (id)
);
CREATE UNIQUE INDEX files_live_name ON files (page_id, name) WHERE deleted_at IS NULL;
CREATE INDEX files_page ON files (page_id);

CREATE TABLE file_versions (
    file_id BIGINT NOT NULL REFERENCES files (id),
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size BIGINT NOT NULL,
    -- Decided from the bytes, not from what the uploader said.
    content_type TEXT NOT NULL,
    author_id BIGINT REFERENCES users (id),
    created_at INTEGER_MS NOT NULL,
    PRIMARY KEY (file_id, version)
);
CREATE INDEX file_versions_blob ON file_versions (sha256);
