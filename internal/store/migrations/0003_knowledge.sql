-- Knowledge chunks of the embedded vector store (vector: little-endian float32) and
-- knowledge metadata (IDF tables, vector fingerprints, revisions).
CREATE TABLE kb_chunks (
    id         TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    tenant     TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT '',
    hash       TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    section    TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL DEFAULT '',
    content    TEXT NOT NULL,
    vector     {{BLOB}} NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX kb_chunks_source ON kb_chunks(source);

CREATE TABLE kb_meta (
    key        TEXT PRIMARY KEY,
    value      {{BLOB}} NOT NULL,
    updated_at BIGINT NOT NULL
);
