-- Config center: every version of every key of an app's configuration. Secret values are kept
-- only as AES-GCM ciphertext (value is empty for them); key_id names the encryption key.
CREATE TABLE config_versions (
    id         {{ID}},
    tenant     TEXT NOT NULL,
    env        TEXT NOT NULL,
    app        TEXT NOT NULL,
    item       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    secret     INTEGER NOT NULL DEFAULT 0,
    value      TEXT NOT NULL DEFAULT '',
    ciphertext {{BLOB}},
    key_id     TEXT NOT NULL DEFAULT '',
    deleted    INTEGER NOT NULL DEFAULT 0,
    author     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX config_versions_key ON config_versions(tenant, env, app, item, version);
