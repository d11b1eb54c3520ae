-- Image previews and where files are used (files.rs, previews.rs). Keep
-- in step with ../sqlite/0011_file_previews.sql.
--
-- A preview is derived from a blob (so the same image uploaded twice
-- gets its previews once) and is itself a blob. A row with an error
-- and no blob says why no preview can be made (too many pixels, not
-- decodable), so the job does not try again.
CREATE TABLE previews (
    source TEXT NOT NULL REFERENCES blobs (sha256),
    size TEXT NOT NULL,
    blob TEXT REFERENCES blobs (sha256),
    width BIGINT,
    height BIGINT,
    content_type TEXT,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, size)
);
CREATE INDEX previews_blob ON previews (blob);

-- The files a page's current text refers to: `file:NAME` (a file of the
-- page itself) or the address of another page's file, by the owning
-- page and the name, so a reference may come before the upload.
CREATE TABLE file_uses (
    page_id BIGINT NOT NULL REFERENCES pages (id),
    owner_page_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (page_id, owner_page_id, name)
);
CREATE INDEX file_uses_file ON file_uses (owner_page_id, name);
