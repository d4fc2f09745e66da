-- The tenant an alert was routed to (empty until the worker resolved it), so a tenant's
-- members can list their alerts with the diagnosis.
ALTER TABLE alert_queue ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
CREATE INDEX alert_queue_tenant ON alert_queue(tenant, received_at);
