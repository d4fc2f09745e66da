-- API tokens (only their SHA-256 is stored) and surface identities mapped to platform users.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_email TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens(user_email);
