-- Alertmanager notifications, one row per alert state (fingerprint + startsAt + status): written
-- before the webhook answers 200, worked off by the diagnosis worker.
CREATE TABLE alert_queue (
    id          TEXT PRIMARY KEY,
    dedupe_key  TEXT NOT NULL UNIQUE,
    group_key   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      TEXT NOT NULL,            -- firing or resolved
    receiver    TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL,            -- JSON object
    annotations TEXT NOT NULL,            -- JSON object
    starts_at   TEXT NOT NULL,
    state       TEXT NOT NULL,            -- queued, working, done, suppressed, unrouted, failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,          -- unix ms: not before
    claimed_at  BIGINT NOT NULL DEFAULT 0,
    received_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_queue_due ON alert_queue(state, next_at);
CREATE INDEX alert_queue_group ON alert_queue(group_key, state, finished_at);

-- One chat thread per alert group and channel.
CREATE TABLE alert_threads (
    group_key  TEXT NOT NULL,
    surface    TEXT NOT NULL,
    channel    TEXT NOT NULL,
    thread     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_key, surface, channel)
);

-- Chat events already handled, by surface (redeliveries and double deliveries are dropped).
CREATE TABLE chat_events_seen (
    surface  TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at  BIGINT NOT NULL,
    PRIMARY KEY (surface, event_id)
);
CREATE INDEX chat_events_seen_at ON chat_events_seen(seen_at);
