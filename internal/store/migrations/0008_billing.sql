-- Metering ledger: what each tenant environment's apps requested over each interval
-- (append-only; one row per app, resource and interval start, so re-sampling cannot double count).
CREATE TABLE usage_ledger (
    tenant     TEXT NOT NULL,
    env        TEXT NOT NULL,
    app        TEXT NOT NULL,
    resource   TEXT NOT NULL,         -- cpu (cores), memory (GiB), storage (GiB)
    quantity   DOUBLE PRECISION NOT NULL,
    from_ms    BIGINT NOT NULL,
    to_ms      BIGINT NOT NULL,
    PRIMARY KEY (tenant, env, app, resource, from_ms)
);
CREATE INDEX usage_ledger_tenant_time ON usage_ledger(tenant, from_ms);

CREATE TABLE meter_state (
    name    TEXT PRIMARY KEY,
    last_ms BIGINT NOT NULL
);
