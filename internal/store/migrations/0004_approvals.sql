-- Approval requests of mutating tool calls; status moves pending -> approved | rejected | expired once.
CREATE TABLE approvals (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    env             TEXT NOT NULL,
    requester       TEXT NOT NULL,
    tool            TEXT NOT NULL,
    args            TEXT NOT NULL,
    risk            TEXT NOT NULL,
    summary         TEXT NOT NULL,
    preview         TEXT NOT NULL,
    conversation_id TEXT NOT NULL DEFAULT '',
    checkpoint_id   TEXT NOT NULL DEFAULT '',
    interrupt_id    TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    decided_at      BIGINT NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approvals_tenant_status ON approvals(tenant, status);

-- Every tool call: who, what, arguments, approval, result, timing. Append-only.
CREATE TABLE audit_log (
    id          {{ID}},
    at          BIGINT NOT NULL,
    user_email  TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    env         TEXT NOT NULL,
    tool        TEXT NOT NULL,
    risk        TEXT NOT NULL,
    args        TEXT NOT NULL,
    approval_id TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL,
    result      TEXT NOT NULL,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX audit_log_tenant_at ON audit_log(tenant, at);
