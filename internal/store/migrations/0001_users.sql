-- Platform users: every surface identity (web login, Slack user, DingTalk staff id, API token)
-- maps to one of these. Times are Unix milliseconds (BIGINT) on both engines.
CREATE TABLE users (
    id           {{ID}},
    email        TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    platform_admin INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
