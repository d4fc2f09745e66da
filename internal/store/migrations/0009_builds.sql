-- Where an app's code lives and how it builds; webhook secrets are AES-GCM ciphertext.
CREATE TABLE build_sources (
    tenant         TEXT NOT NULL,
    env            TEXT NOT NULL,
    app            TEXT NOT NULL,
    repo_url       TEXT NOT NULL,
    branches       TEXT NOT NULL,        -- comma-separated patterns, e.g. main,release/*
    builder        TEXT NOT NULL,        -- kaniko or buildpacks
    dockerfile     TEXT NOT NULL DEFAULT 'Dockerfile',
    secret_ct      {{BLOB}} NOT NULL,
    secret_key_id  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant, env, app)
);
CREATE INDEX build_sources_repo ON build_sources(repo_url);

CREATE TABLE builds (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    env         TEXT NOT NULL,
    app         TEXT NOT NULL,
    repo_url    TEXT NOT NULL,
    ref         TEXT NOT NULL,
    commit_sha  TEXT NOT NULL DEFAULT '',
    author      TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    image       TEXT NOT NULL,
    digest      TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,           -- pending, running, succeeded, failed
    trigger     TEXT NOT NULL,           -- webhook:<provider>, tool, api
    job         TEXT NOT NULL,
    log         TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    started_at  BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX builds_app ON builds(tenant, env, app, created_at);

-- Webhook deliveries already handled (replays are ignored).
CREATE TABLE webhook_deliveries (
    provider    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);
