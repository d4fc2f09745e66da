-- Local users' passwords (argon2id, PHC string) and web sessions (only the SHA-256 of the
-- session secret is stored; csrf is the double-submit token of cookie sessions).
CREATE TABLE user_passwords (
    user_email TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE web_sessions (
    id_hash    TEXT PRIMARY KEY,
    user_email TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_email);
CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);
