-- Tenants own one namespace per environment; members hold one role per tenant.
CREATE TABLE tenants (
    id           {{ID}},
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    environments TEXT NOT NULL,           -- comma-separated, e.g. dev,test,prod
    created_at   BIGINT NOT NULL
);

CREATE TABLE tenant_members (
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,             -- viewer, developer, operator, admin
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_members_user ON tenant_members(user_id);
