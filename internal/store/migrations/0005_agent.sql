-- Eino graph checkpoints of paused turns (deleted when a turn completes).
CREATE TABLE checkpoints (
    id         TEXT PRIMARY KEY,
    data       {{BLOB}} NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Conversations per surface thread, and their messages (user and assistant text).
CREATE TABLE conversations (
    id         TEXT PRIMARY KEY,
    surface    TEXT NOT NULL,
    thread     TEXT NOT NULL,
    user_email TEXT NOT NULL,
    tenant     TEXT NOT NULL DEFAULT '',
    env        TEXT NOT NULL DEFAULT '',
    title      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversations_thread ON conversations(surface, thread);
CREATE INDEX conversations_user ON conversations(user_email, updated_at);

CREATE TABLE messages (
    id              {{ID}},
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    content         TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
